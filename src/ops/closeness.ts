/**
 * Comparing tensors as wholes or elementwise with tolerances: isclose,
 * allclose, equal.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkNumber, checkTensor } from "../args.ts";
import { checkOptions } from "../options.ts";
import { add, eq, le, logicalAnd, logicalNot, logicalOr, mul, sub, where } from "./elementwise.ts";
import { abs, isinf, isnan } from "./unary_fns.ts";
import { all } from "./reduce.ts";

/** Options of {@link isclose} and {@link allclose}. */
export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Whether NaNs in the same place count as equal (default false). */
  equalNan?: boolean;
}
const CLOSE_KEYS = ["rtol", "atol", "equalNan"] as const;

/**
 * Elementwise `|a - b| <= atol + rtol * |b|` (infinities close only to
 * themselves), as `torch.isclose`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.isclose(zn.tensor([1, 2]), zn.tensor([1.000001, 2.1])).toArray(); // [true, false]
 * ```
 */
export function isclose(a: Tensor, b: Tensor, opts: CloseOptions = {}): Tensor {
  checkTensor(a, "isclose", "input");
  checkTensor(b, "isclose", "other");
  checkOptions("isclose", opts, CLOSE_KEYS);
  const rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-8;
  checkNumber(rtol, "isclose", "rtol");
  checkNumber(atol, "isclose", "atol");
  if (rtol < 0 || atol < 0) {
    throw new RangeError(`isclose: rtol and atol must be non-negative, got ${rtol} and ${atol}`);
  }
  if (a.dtype !== b.dtype) {
    throw new TypeError(
      `isclose: expected both tensors of one dtype, got ${a.dtype} and ${b.dtype}`,
    );
  }
  const same = eq(a, b);
  if (a.dtype === "bool") return same;
  const finite = logicalNot(logicalOr(isinf(a), isinf(b)));
  const close = le(abs(sub(a, b)), add(mul(abs(b), rtol), atol));
  let out = logicalOr(same, logicalAnd(finite, close));
  if (opts.equalNan) out = logicalOr(out, logicalAnd(isnan(a), isnan(b)));
  return where(out, true, false);
}

/**
 * Whether every element is close (see {@link isclose}); the shapes broadcast.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.allclose(zn.tensor([1, 2]), zn.tensor([1, 2.0000001])); // true
 * ```
 */
export function allclose(a: Tensor, b: Tensor, opts: CloseOptions = {}): boolean {
  return all(isclose(a, b, opts)).item() as boolean;
}

/**
 * Whether the two tensors have the same shape and elements (NaN never
 * equals), as `torch.equal`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.equal(zn.tensor([1, 2]), zn.tensor([1, 2])); // true
 * ```
 */
export function equal(a: Tensor, b: Tensor): boolean {
  checkTensor(a, "equal", "input");
  checkTensor(b, "equal", "other");
  if (a.ndim !== b.ndim || a.shape.some((s, i) => s !== b.shape[i])) return false;
  return all(eq(a, b)).item() as boolean;
}
