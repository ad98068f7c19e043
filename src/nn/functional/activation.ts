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
