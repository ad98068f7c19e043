/**
 * Functional activations: the tensor ops under their `torch.nn.functional`
 * names (each is the same function as the top-level op, e.g.
 * `zn.nn.functional.relu === zn.relu`).
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import * as ops from "../../ops/unary_fns.ts";
import * as reduce from "../../ops/reduce.ts";
import * as ew from "../../ops/elementwise.ts";
import { narrow, reshape } from "../../ops/view.ts";
import { normDim } from "../../shape.ts";
import { checkNumber, checkTensor } from "../../args.ts";
import { lowerPrecision } from "../../amp/autocast.ts";

/**
 * max(x, 0), elementwise.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.relu(zn.tensor([-1, 2])).toArray(); // [0, 2]
 * ```
 */
export const relu: (x: Tensor) => Tensor = ops.relu;

/**
 * x for x > 0, else negativeSlope * x (default 0.01).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.leakyRelu(zn.tensor([-1.0, 2.0]), 0.1).toArray(); // [-0.1, 2]
 * ```
 */
export const leakyRelu: (x: Tensor, negativeSlope?: number) => Tensor = ops.leakyRelu;

/**
 * x for x > 0, else alpha * (e^x - 1) (alpha defaults to 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.elu(zn.tensor([-1.0, 1.0])).toArray(); // [-0.6321, 1]
 * ```
 */
export const elu: (x: Tensor, alpha?: number) => Tensor = ops.elu;

/**
 * Gaussian error linear unit; `approximate: "tanh"` for the tanh form.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.gelu(zn.tensor([1.0])).toArray(); // [0.8413]
 * zn.nn.functional.gelu(zn.tensor([1.0]), { approximate: "tanh" }).toArray(); // [0.8412]
 * ```
 */
export const gelu: (x: Tensor, opts?: { approximate?: "none" | "tanh" }) => Tensor = ops.gelu;

/**
 * x * sigmoid(x), elementwise.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.silu(zn.tensor([0.0, 1.0])).toArray(); // [0, 0.7311]
 * ```
 */
export const silu: (x: Tensor) => Tensor = ops.silu;

/**
 * log(1 + e^(beta x)) / beta (beta defaults to 1), linear above `threshold`
 * (default 20).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.softplus(zn.tensor([0.0])).toArray(); // [0.6931]
 * ```
 */
export const softplus: (x: Tensor, opts?: { beta?: number; threshold?: number }) => Tensor =
  ops.softplus;

/**
 * The logistic sigmoid 1 / (1 + e^-x), elementwise.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.sigmoid(zn.tensor([0.0])).toArray(); // [0.5]
 * ```
 */
export const sigmoid: (x: Tensor) => Tensor = ops.sigmoid;

/**
 * The hyperbolic tangent, elementwise.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.tanh(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export const tanh: (x: Tensor) => Tensor = ops.tanh;

/**
 * Softmax along `dim`, numerically stable.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.softmax(zn.tensor([[0.0, 0.0], [0.0, Math.log(3)]]), 1).toArray();
 * // [[0.5, 0.5], [0.25, 0.75]]
 * ```
 */
export const softmax: (x: Tensor, dim: number) => Tensor = reduce.softmax;

/**
 * log(softmax(x)) along `dim`, computed without forming the softmax.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.logSoftmax(zn.tensor([0.0, 0.0]), 0).toArray(); // [-0.6931, -0.6931]
 * ```
 */
export const logSoftmax: (x: Tensor, dim: number) => Tensor = reduce.logSoftmax;

// ---------------------------------------------------------------- composed activations
// Each is composed from the ops above and elementwise ones, so its gradient
// comes from their rules (PyTorch's formulas agree except on the measure-zero
// kinks, where PyTorch picks one side and so do these).

function checkFiniteNumber(v: unknown, op: string, name: string): asserts v is number {
  checkNumber(v, op, name);
}

/**
 * `clamp(x, minVal, maxVal)`, as `torch.nn.functional.hardtanh`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.hardtanh(zn.tensor([-2, 0.5, 2])).toArray(); // [-1, 0.5, 1]
 * ```
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  checkTensor(x, "hardtanh");
  checkFiniteNumber(minVal, "hardtanh", "minVal");
  checkFiniteNumber(maxVal, "hardtanh", "maxVal");
  if (maxVal < minVal) {
    throw new RangeError(`hardtanh: maxVal (${maxVal}) must be at least minVal (${minVal})`);
  }
  return ew.clamp(x, minVal, maxVal);
}

/**
 * `min(max(x, 0), 6)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.relu6(zn.tensor([-1, 3, 9])).toArray(); // [0, 3, 6]
 * ```
 */
export function relu6(x: Tensor): Tensor {
  return hardtanh(x, 0, 6);
}

/**
 * `relu6(x + 3) / 6`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.hardsigmoid(zn.tensor([-4, 0, 4])).toArray(); // [0, 0.5, 1]
 * ```
 */
export function hardsigmoid(x: Tensor): Tensor {
  checkTensor(x, "hardsigmoid");
  return ew.div(relu6(ew.add(x, 3)), 6);
}

/**
 * `x * relu6(x + 3) / 6`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.hardswish(zn.tensor([-4, 1, 4])).toArray(); // [0, 0.6667, 4]
 * ```
 */
export function hardswish(x: Tensor): Tensor {
  checkTensor(x, "hardswish");
  return ew.mul(x, hardsigmoid(x));
}

/**
 * `x * tanh(softplus(x))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.mish(zn.tensor([0])).toArray(); // [0]
 * ```
 */
export function mish(x: Tensor): Tensor {
  checkTensor(x, "mish");
  return ew.mul(x, ops.tanh(ops.softplus(x)));
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * The self-normalising ELU: `scale * elu(x, alpha)` with PyTorch's
 * constants.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.selu(zn.tensor([1])).toArray(); // [1.0507]
 * ```
 */
export function selu(x: Tensor): Tensor {
  checkTensor(x, "selu");
  return ew.mul(ops.elu(x, SELU_ALPHA), SELU_SCALE);
}

/**
 * `max(0, x) + min(0, alpha (exp(x / alpha) - 1))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.celu(zn.tensor([2])).toArray(); // [2]
 * ```
 */
export function celu(x: Tensor, alpha = 1): Tensor {
  checkTensor(x, "celu");
  checkFiniteNumber(alpha, "celu", "alpha");
  if (alpha === 0) throw new RangeError("celu: alpha must not be 0");
  return alpha === 1 ? ops.elu(x, 1) : ew.mul(ops.elu(ew.div(x, alpha), 1), alpha);
}

/**
 * The gated linear unit: splits `dim` in halves a, b and gives
 * `a * sigmoid(b)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.glu(zn.tensor([1, 0])).toArray(); // [0.5]
 * ```
 */
export function glu(x: Tensor, dim = -1): Tensor {
  checkTensor(x, "glu");
  if (x.ndim === 0) throw new RangeError("glu: cannot be applied to a 0-dim tensor");
  const d = normDim(dim, x.ndim, "glu");
  const n = x.shape[d];
  if (n % 2 !== 0) {
    throw new RangeError(`glu: halving dimension must be even, but dimension ${d} is size ${n}`);
  }
  return ew.mul(narrow(x, d, 0, n / 2), ops.sigmoid(narrow(x, d, n / 2, n / 2)));
}

/**
 * `x / (1 + |x|)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.softsign(zn.tensor([1])).toArray(); // [0.5]
 * ```
 */
export function softsign(x: Tensor): Tensor {
  checkTensor(x, "softsign");
  return ew.div(x, ew.add(ops.abs(x), 1));
}

/**
 * `x - tanh(x)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.tanhshrink(zn.tensor([0])).toArray(); // [0]
 * ```
 */
export function tanhshrink(x: Tensor): Tensor {
  checkTensor(x, "tanhshrink");
  return ew.sub(x, ops.tanh(x));
}

/**
 * 0 where `|x| <= lambd` (default 0.5), else x, as
 * `torch.nn.functional.hardshrink`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.hardshrink(zn.tensor([-1, 0.25, 0.75])).toArray(); // [-1, 0, 0.75]
 * ```
 */
export function hardshrink(x: Tensor, lambd = 0.5): Tensor {
  checkTensor(x, "hardshrink");
  checkFiniteNumber(lambd, "hardshrink", "lambd");
  return ew.where(ew.le(ops.abs(x), lambd), 0, x);
}

/**
 * x shrunk toward 0 by `lambd` (default 0.5): `x - lambd` above it,
 * `x + lambd` below `-lambd`, 0 between, as `torch.nn.functional.softshrink`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.softshrink(zn.tensor([-1, 0.25, 0.75])).toArray(); // [-0.5, 0, 0.25]
 * ```
 */
export function softshrink(x: Tensor, lambd = 0.5): Tensor {
  checkTensor(x, "softshrink");
  checkFiniteNumber(lambd, "softshrink", "lambd");
  if (lambd < 0) {
    throw new RangeError(
      `softshrink: lambda must be greater or equal to 0, but found to be ${lambd}`,
    );
  }
  // NaN falls through to the last branch, x * 0: NaN, as PyTorch's.
  return ew.where(
    ew.gt(x, lambd),
    ew.sub(x, lambd),
    ew.where(ew.lt(x, -lambd), ew.add(x, lambd), ew.mul(x, 0)),
  );
}

/**
 * x where `x > threshold`, else `value`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.threshold(zn.tensor([0.5, 2]), 1, -1).toArray(); // [-1, 2]
 * ```
 */
export function threshold(x: Tensor, threshold: number, value: number): Tensor {
  checkTensor(x, "threshold");
  checkFiniteNumber(threshold, "threshold", "threshold");
  checkFiniteNumber(value, "threshold", "value");
  return ew.where(ew.gt(x, threshold), x, value);
}

/**
 * `max(0, x) + weight * min(0, x)`, the weight per channel (dim 1) or one
 * for all, as `torch.nn.functional.prelu`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.prelu(zn.tensor([-2, 2]), zn.tensor([0.25])).toArray(); // [-0.5, 2]
 * ```
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  [x, weight] = lowerPrecision(x, weight) as [Tensor, Tensor];
  checkTensor(x, "prelu", "input");
  checkTensor(weight, "prelu", "weight");
  if (weight.ndim > 1) {
    throw new RangeError(`prelu: weight must be 0-D or 1-D, got ${weight.ndim} dims`);
  }
  const n = weight.numel;
  let w = weight;
  if (n !== 1) {
    const channels = x.ndim >= 2 ? x.shape[1] : 1;
    if (channels !== n) {
      throw new RangeError(
        `prelu: weight has ${n} entries but the input has ${channels} channels`,
      );
    }
    if (x.ndim >= 2) w = reshape(weight, [n, ...Array(x.ndim - 2).fill(1)]);
  }
  return ew.where(ew.ge(x, 0), x, ew.mul(w, x));
}

/**
 * `log(sigmoid(x))`, computed as `-softplus(-x)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.logsigmoid(zn.tensor([0])).toArray(); // [-0.6931]
 * ```
 */
export function logsigmoid(x: Tensor): Tensor {
  checkTensor(x, "logsigmoid");
  return ops.neg(ops.softplus(ops.neg(x)));
}

/**
 * `softmax(-x, dim)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.softmin(zn.tensor([0, 0]), 0).toArray(); // [0.5, 0.5]
 * ```
 */
export function softmin(x: Tensor, dim: number): Tensor {
  checkTensor(x, "softmin");
  return reduce.softmax(ops.neg(x), dim);
}
