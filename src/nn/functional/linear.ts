/**
 * The functional linear layer.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { lowerPrecision } from "../../amp/autocast.ts";

/**
 * `input @ weight^T + bias`, with `weight` of shape `[out, in]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.linear(zn.ones([2, 3]), zn.ones([4, 3]), zn.zeros([4]));
 * y.shape; // [2, 4]
 * ```
 */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  [input, weight, bias] = lowerPrecision(input, weight, bias) as [
    Tensor,
    Tensor,
    Tensor | null | undefined,
  ];
  if (!(input instanceof Tensor) || !(weight instanceof Tensor)) {
    throw new TypeError("linear: input and weight must be Tensors");
  }
  const last = input.shape[input.ndim - 1];
  const inF = weight.ndim === 1 ? weight.shape[0] : weight.shape[1];
  if (input.ndim === 0 || last !== inF) {
    throw new RangeError(
      `linear: input's last dim (${last}) does not match weight's in_features (${inF})`,
    );
  }
  const out = input.matmul(weight.ndim === 1 ? weight : weight.mT);
  return bias ? out.add(bias) : out;
}
