/**
 * One-hot encoding of class indices.
 *
 * @module
 */
import { intTensorHint } from "../dtype.ts";
import { Tensor } from "../tensor.ts";
import { toDType } from "./elementwise.ts";
import { unsqueeze } from "./view.ts";
import { arange } from "./creation.ts";

/**
 * One-hot encoding of int64 class indices: a new last dim of `numClasses`
 * (-1: the largest index + 1), as int64.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.oneHot(zn.tensor([0n, 2n]), 3).toArray(); // [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  if (!(indices instanceof Tensor) || indices.dtype !== "int64") {
    throw new TypeError(
      `oneHot: is only applicable to index tensor of dtype int64, got ${
        indices instanceof Tensor ? indices.dtype + intTensorHint(indices.dtype) : typeof indices
      }`,
    );
  }
  let c = numClasses;
  if (indices.numel > 0) {
    const lo = indices.amin().item() as number;
    const hi = indices.amax().item() as number;
    if (lo < 0) throw new RangeError(`oneHot: class values must be non-negative, got ${lo}`);
    if (c === -1) c = hi + 1;
    else if (hi >= c) {
      throw new RangeError(
        `oneHot: class values must be smaller than numClasses (${c}), got ${hi}`,
      );
    }
  } else if (c === -1) {
    throw new RangeError("oneHot: cannot infer the number of classes from an empty tensor");
  }
  const classes = arange(c, { device: indices.device });
  return toDType(unsqueeze(indices, -1).eq(classes), "int64");
}
