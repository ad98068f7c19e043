/**
 * Functional forms of the unary ops (`zn.exp(x)`, `zn.relu(x)`, ...).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { unary } from "./elementwise.ts";
import { checkOptions } from "../options.ts";

const GELU_KEYS = ["approximate"] as const;
const SOFTPLUS_KEYS = ["beta", "threshold"] as const;

/**
 * -x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.neg(zn.tensor([1, -2])).toArray(); // [-1, 2]
 * ```
 */
export const neg = (x: Tensor): Tensor => unary("neg", x);

/**
 * |x|.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.abs(zn.tensor([-1.5, 2])).toArray(); // [1.5, 2]
 * ```
 */
export const abs = (x: Tensor): Tensor => unary("abs", x);

/**
 * Sign of x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sign(zn.tensor([-2, 0, 3])).toArray(); // [-1, 0, 1]
 * ```
 */
export const sign = (x: Tensor): Tensor => unary("sign", x);

/**
 * e^x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.exp(zn.tensor([0.0, 1.0])).toArray(); // [1, 2.7183]
 * ```
 */
export const exp = (x: Tensor): Tensor => unary("exp", x);

/**
 * 2^x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.exp2(zn.tensor([3.0, -1.0])).toArray(); // [8, 0.5]
 * ```
 */
export const exp2 = (x: Tensor): Tensor => unary("exp2", x);

/**
 * Natural log.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.log(zn.tensor([1.0, Math.E])).toArray(); // [0, 1]
 * ```
 */
export const log = (x: Tensor): Tensor => unary("log", x);

/**
 * Base-2 log.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.log2(zn.tensor([8.0, 0.5])).toArray(); // [3, -1]
 * ```
 */
export const log2 = (x: Tensor): Tensor => unary("log2", x);

/**
 * log(1 + x).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.log1p(zn.tensor([0.0, 1.0])).toArray(); // [0, 0.6931]
 * ```
 */
export const log1p = (x: Tensor): Tensor => unary("log1p", x);

/**
 * e^x - 1.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.expm1(zn.tensor([0.0, 1.0])).toArray(); // [0, 1.7183]
 * ```
 */
export const expm1 = (x: Tensor): Tensor => unary("expm1", x);

/**
 * Square root.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sqrt(zn.tensor([4.0, 9.0])).toArray(); // [2, 3]
 * ```
 */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);

/**
 * 1 / sqrt(x).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.rsqrt(zn.tensor([4.0, 0.25])).toArray(); // [0.5, 2]
 * ```
 */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);

/**
 * 1 / x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.reciprocal(zn.tensor([4.0, -0.5])).toArray(); // [0.25, -2]
 * ```
 */
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", x);

/**
 * x * x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.square(zn.tensor([3, -2])).toArray(); // [9, 4]
 * ```
 */
export const square = (x: Tensor): Tensor => unary("square", x);

/**
 * Sine.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sin(zn.tensor([0.0, Math.PI / 2])).toArray(); // [0, 1]
 * ```
 */
export const sin = (x: Tensor): Tensor => unary("sin", x);

/**
 * Cosine.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cos(zn.tensor([0.0, Math.PI])).toArray(); // [1, -1]
 * ```
 */
export const cos = (x: Tensor): Tensor => unary("cos", x);

/**
 * Tangent.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tan(zn.tensor([0.0, Math.PI / 4])).toArray(); // [0, 1]
 * ```
 */
export const tan = (x: Tensor): Tensor => unary("tan", x);

/**
 * Inverse sine (arcsine), in radians; NaN outside [-1, 1].
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.asin(zn.tensor([0, 1])).toArray(); // [0, 1.5708]
 * ```
 */
export const asin = (x: Tensor): Tensor => unary("asin", x);

/**
 * Inverse cosine (arccosine), in radians; NaN outside [-1, 1].
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.acos(zn.tensor([1, 0])).toArray(); // [0, 1.5708]
 * ```
 */
export const acos = (x: Tensor): Tensor => unary("acos", x);

/**
 * Inverse tangent (arctangent), in radians.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.atan(zn.tensor([0, 1])).toArray(); // [0, 0.7854]
 * ```
 */
export const atan = (x: Tensor): Tensor => unary("atan", x);

/**
 * Hyperbolic sine.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sinh(zn.tensor([0, 1])).toArray(); // [0, 1.1752]
 * ```
 */
export const sinh = (x: Tensor): Tensor => unary("sinh", x);

/**
 * Hyperbolic cosine.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cosh(zn.tensor([0, 1])).toArray(); // [1, 1.5431]
 * ```
 */
export const cosh = (x: Tensor): Tensor => unary("cosh", x);

/**
 * Inverse hyperbolic sine.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.asinh(zn.tensor([0, 1])).toArray(); // [0, 0.8814]
 * ```
 */
export const asinh = (x: Tensor): Tensor => unary("asinh", x);

/**
 * Inverse hyperbolic cosine; NaN below 1.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.acosh(zn.tensor([1, 2])).toArray(); // [0, 1.3170]
 * ```
 */
export const acosh = (x: Tensor): Tensor => unary("acosh", x);

/**
 * Inverse hyperbolic tangent; ±Infinity at ±1, NaN beyond.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.atanh(zn.tensor([0, 0.5])).toArray(); // [0, 0.5493]
 * ```
 */
export const atanh = (x: Tensor): Tensor => unary("atanh", x);

/**
 * PyTorch's alias of {@link asin}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arcsin(zn.tensor([1])).item(); // 1.5708
 * ```
 */
export const arcsin: (x: Tensor) => Tensor = asin;
/**
 * PyTorch's alias of {@link acos}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arccos(zn.tensor([1])).item(); // 0
 * ```
 */
export const arccos: (x: Tensor) => Tensor = acos;
/**
 * PyTorch's alias of {@link atan}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arctan(zn.tensor([1])).item(); // 0.7854
 * ```
 */
export const arctan: (x: Tensor) => Tensor = atan;
/**
 * PyTorch's alias of {@link asinh}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arcsinh(zn.tensor([0])).item(); // 0
 * ```
 */
export const arcsinh: (x: Tensor) => Tensor = asinh;
/**
 * PyTorch's alias of {@link acosh}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arccosh(zn.tensor([1])).item(); // 0
 * ```
 */
export const arccosh: (x: Tensor) => Tensor = acosh;
/**
 * PyTorch's alias of {@link atanh}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arctanh(zn.tensor([0])).item(); // 0
 * ```
 */
export const arctanh: (x: Tensor) => Tensor = atanh;

/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tanh(zn.tensor([0.0, 1.0])).toArray(); // [0, 0.7616]
 * ```
 */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);

/**
 * Logistic sigmoid.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sigmoid(zn.tensor([0.0, 2.0])).toArray(); // [0.5, 0.8808]
 * ```
 */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);

/**
 * Error function.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.erf(zn.tensor([0.0, 1.0])).toArray(); // [0, 0.8427]
 * ```
 */
export const erf = (x: Tensor): Tensor => unary("erf", x);

/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.relu(zn.tensor([-1, 2])).toArray(); // [0, 2]
 * ```
 */
export const relu = (x: Tensor): Tensor => unary("relu", x);

/**
 * Round down.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.floor(zn.tensor([1.5, -1.5])).toArray(); // [1, -2]
 * ```
 */
export const floor = (x: Tensor): Tensor => unary("floor", x);

/**
 * Round up.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ceil(zn.tensor([1.5, -1.5])).toArray(); // [2, -1]
 * ```
 */
export const ceil = (x: Tensor): Tensor => unary("ceil", x);

/**
 * Round half to even.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.round(zn.tensor([0.5, 1.5, 2.5])).toArray(); // [0, 2, 2]
 * ```
 */
export const round = (x: Tensor): Tensor => unary("round", x);

/**
 * Round toward zero.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.trunc(zn.tensor([1.7, -1.7])).toArray(); // [1, -1]
 * ```
 */
export const trunc = (x: Tensor): Tensor => unary("trunc", x);

/**
 * NaN test.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.isnan(zn.tensor([NaN, 1.0])).toArray(); // [true, false]
 * ```
 */
export const isnan = (x: Tensor): Tensor => unary("isnan", x);

/**
 * Infinity test.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.isinf(zn.tensor([-Infinity, 1.0])).toArray(); // [true, false]
 * ```
 */
export const isinf = (x: Tensor): Tensor => unary("isinf", x);

/**
 * x for x > 0, else negativeSlope * x.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.leakyRelu(zn.tensor([-1.0, 2.0]), 0.1).toArray(); // [-0.1, 2]
 * ```
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return unary("leakyRelu", x, [negativeSlope]);
}

/**
 * x for x > 0, else alpha * (e^x - 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.elu(zn.tensor([1.0])).toArray(); // [1]
 * ```
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  return unary("elu", x, [alpha]);
}

/**
 * Gaussian error linear unit; `approximate: "tanh"` for the tanh form.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.gelu(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export function gelu(x: Tensor, opts?: { approximate?: "none" | "tanh" }): Tensor {
  checkOptions("gelu", opts, GELU_KEYS);
  const a = opts?.approximate ?? "none";
  if (a !== "none" && a !== "tanh") {
    throw new RangeError(`gelu: approximate must be "none" or "tanh", got ${a}`);
  }
  return unary(a === "tanh" ? "geluTanh" : "geluErf", x);
}

/**
 * x * sigmoid(x).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.silu(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export function silu(x: Tensor): Tensor {
  return unary("silu", x);
}

/**
 * log(1 + e^(beta x)) / beta, linear above `threshold`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.softplus(zn.tensor([0.0])).toArray(); // [0.6931]
 * ```
 */
export function softplus(x: Tensor, opts?: { beta?: number; threshold?: number }): Tensor {
  checkOptions("softplus", opts, SOFTPLUS_KEYS);
  return unary("softplus", x, [opts?.beta ?? 1, opts?.threshold ?? 20]);
}
