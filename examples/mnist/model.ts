/**
 * The main job's models: a two-conv LeNet-style CNN and a small MLP, both
 * taking [N, 1, 28, 28] images and giving [N, 10] logits.
 *
 * @module
 */
import * as zn from "../../mod.ts";

/** The architectures the training script can build. */
export type Architecture = "cnn" | "mlp";

/**
 * Builds a fresh model with PyTorch's default initialisation.
 *
 * @example
 * ```ts
 * import { buildModel } from "./model.ts";
 * buildModel("mlp").numParameters(); // 101770
 * ```
 */
export function buildModel(arch: Architecture): zn.nn.Sequential {
  const nn = zn.nn;
  if (arch === "cnn") {
    return new nn.Sequential(
      new nn.Conv2d(1, 16, 5, { padding: 2 }), // [N, 16, 28, 28]
      new nn.ReLU(),
      new nn.MaxPool2d(2), // [N, 16, 14, 14]
      new nn.Conv2d(16, 32, 5, { padding: 2 }), // [N, 32, 14, 14]
      new nn.ReLU(),
      new nn.MaxPool2d(2), // [N, 32, 7, 7]
      new nn.Flatten(),
      new nn.Linear(32 * 7 * 7, 10),
    );
  }
  if (arch === "mlp") {
    return new nn.Sequential(
      new nn.Flatten(),
      new nn.Linear(784, 128),
      new nn.ReLU(),
      new nn.Linear(128, 10),
    );
  }
  throw new RangeError(`unknown model "${arch}"; expected "cnn" or "mlp"`);
}
