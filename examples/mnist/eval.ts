/**
 * Loads a model saved by train.ts into a fresh model and prints the same
 * test report from the same held-out split.
 *
 *   deno task eval [--model-file model.safetensors] [--device cpu|cuda]
 *   deno task eval --help
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli, DEVICE_FLAG } from "../cli_flags.ts";
import { type Architecture, buildModel } from "./model.ts";
import { evaluate, loadSplits, report } from "./common.ts";
import { formatReport } from "./report.ts";

const cli = new Cli({
  name: "eval",
  usage: "deno task eval [flags]",
  summary: "Loads a model saved by `deno task train` and prints its test report.",
  flags: {
    "model-file": {
      default: "model.safetensors",
      metavar: "FILE",
      description: "the model to evaluate",
    },
    device: { ...DEVICE_FLAG, description: "where the model runs" },
  },
});
const { device, "model-file": path } = cli.parse();
cli.checkDevice(device);
const { model, meta } = await loadModel(path, device);
const arch = meta.architecture;
const seed = Number(meta.seed ?? "0");
const limit = meta.limit ? Number(meta.limit) : undefined;
console.log(`loaded ${path}: ${arch}, trained ${meta.epochs} epochs, seed ${seed}`);
const { test } = await loadSplits(seed, limit);
const t = evaluate(model, test);
console.log("\n" + formatReport(report(t.pred, test.y)));

/** The model in `path` on `device` and the file's metadata; fails with one line. */
async function loadModel(
  path: string,
  device: string,
): Promise<{ model: zn.nn.Module; meta: Record<string, string> }> {
  let meta: Record<string, string> | null;
  try {
    meta = await zn.loadMetadata(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return cli.fail(
        `${path} does not exist; run \`deno task train\` first (or pass --model-file)`,
      );
    }
    return cli.fail(`${path}: ${(e as Error).message}`);
  }
  if (!meta?.architecture) {
    return cli.fail(
      `${path}: no architecture in its metadata; was it saved by \`deno task train\`?`,
    );
  }
  try {
    const model = buildModel(meta.architecture as Architecture).to(device);
    model.loadStateDict(await zn.load(path, { device }));
    return { model, meta };
  } catch (e) {
    return cli.fail(`${path}: ${(e as Error).message}`);
  }
}
