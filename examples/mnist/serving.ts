/**
 * The digits model as the inference server loads it: `loadModel(path)`
 * rebuilds the architecture that `deno task train` recorded in the file's
 * metadata and loads the weights. serve.ts names this module and function
 * in its model spec; every inference Worker calls it once.
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { type Architecture, buildModel } from "./model.ts";

/** One digit image: [1, 28, 28], normalised as train.ts normalises it. */
export const EXAMPLE_SHAPE: readonly number[] = [1, 28, 28];

/**
 * The trained digits model in `path` (a file `deno task train` wrote).
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./serving.ts";
 * const model = await loadModel("model.safetensors");
 * ```
 */
export async function loadModel(path: string): Promise<zn.nn.Module> {
  const meta = await zn.loadMetadata(path);
  const arch = meta?.architecture;
  if (arch !== "cnn" && arch !== "mlp") {
    throw new Error(
      `${path}: no digits architecture in its metadata; was it saved by \`deno task train\`?`,
    );
  }
  const model = buildModel(arch as Architecture);
  model.loadStateDict(await zn.load(path));
  return model.eval();
}
