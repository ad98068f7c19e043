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

/** -x. @example `zn.neg(zn.tensor([1]))` */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** |x|. @example `zn.abs(zn.tensor([-1]))` */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/** Sign of x. @example `zn.sign(zn.tensor([-2]))` */
export const sign = (x: Tensor): Tensor => unary("sign", x);
/** e^x. @example `zn.exp(zn.tensor([0.0]))` */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** 2^x. @example `zn.exp2(zn.tensor([3.0]))` */
export const exp2 = (x: Tensor): Tensor => unary("exp2", x);
/** Natural log. @example `zn.log(zn.tensor([1.0]))` */
export const log = (x: Tensor): Tensor => unary("log", x);
/** Base-2 log. @example `zn.log2(zn.tensor([8.0]))` */
export const log2 = (x: Tensor): Tensor => unary("log2", x);
/** log(1 + x). @example `zn.log1p(zn.tensor([0.0]))` */
export const log1p = (x: Tensor): Tensor => unary("log1p", x);
/** e^x - 1. @example `zn.expm1(zn.tensor([0.0]))` */
export const expm1 = (x: Tensor): Tensor => unary("expm1", x);
/** Square root. @example `zn.sqrt(zn.tensor([4.0]))` */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** 1 / sqrt(x). @example `zn.rsqrt(zn.tensor([4.0]))` */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);
/** 1 / x. @example `zn.reciprocal(zn.tensor([4.0]))` */
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", x);
/** x * x. @example `zn.square(zn.tensor([3]))` */
export const square = (x: Tensor): Tensor => unary("square", x);
/** Sine. @example `zn.sin(zn.tensor([0.0]))` */
export const sin = (x: Tensor): Tensor => unary("sin", x);
/** Cosine. @example `zn.cos(zn.tensor([0.0]))` */
export const cos = (x: Tensor): Tensor => unary("cos", x);
/** Tangent. @example `zn.tan(zn.tensor([0.0]))` */
export const tan = (x: Tensor): Tensor => unary("tan", x);
/** Hyperbolic tangent. @example `zn.tanh(zn.tensor([0.0]))` */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/** Logistic sigmoid. @example `zn.sigmoid(zn.tensor([0.0]))` */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/** Error function. @example `zn.erf(zn.tensor([0.0]))` */
export const erf = (x: Tensor): Tensor => unary("erf", x);
/** max(x, 0). @example `zn.relu(zn.tensor([-1, 2]))` */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/** Round down. @example `zn.floor(zn.tensor([1.5]))` */
export const floor = (x: Tensor): Tensor => unary("floor", x);
/** Round up. @example `zn.ceil(zn.tensor([1.5]))` */
export const ceil = (x: Tensor): Tensor => unary("ceil", x);
/** Round half to even. @example `zn.round(zn.tensor([2.5]))` */
export const round = (x: Tensor): Tensor => unary("round", x);
/** Round toward zero. @example `zn.trunc(zn.tensor([-1.5]))` */
export const trunc = (x: Tensor): Tensor => unary("trunc", x);
/** NaN test. @example `zn.isnan(zn.tensor([NaN]))` */
export const isnan = (x: Tensor): Tensor => unary("isnan", x);
/** Infinity test. @example `zn.isinf(zn.tensor([Infinity]))` */
export const isinf = (x: Tensor): Tensor => unary("isinf", x);

/**
 * x for x > 0, else negativeSlope * x.
 *
 * @example
 * ```ts
 * import * as zn from "../../mod.ts";
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
 * import * as zn from "../../mod.ts";
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
 * import * as zn from "../../mod.ts";
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
 * import * as zn from "../../mod.ts";
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
 * import * as zn from "../../mod.ts";
 * zn.softplus(zn.tensor([0.0])).toArray(); // [0.6931]
 * ```
 */
export function softplus(x: Tensor, opts?: { beta?: number; threshold?: number }): Tensor {
  checkOptions("softplus", opts, SOFTPLUS_KEYS);
  return unary("softplus", x, [opts?.beta ?? 1, opts?.threshold ?? 20]);
}
