/**
 * Elementwise math and reductions composed from the primitive ops (their
 * gradients come from those ops' rules): clampMin, clampMax, logaddexp,
 * xlogy, sinc, frac, isfinite, dot, hypot, nansum, nanmean, diff.
 *
 * @module
 */
import { normDim } from "../shape.ts";
import type { Dim, Tensor, TensorLike } from "../tensor.ts";
import { checkIntArg, checkOptionalTensor, checkTensor } from "../args.ts";
import { checkOptions } from "../options.ts";
import { floatTensorHint, isFloating } from "../dtype.ts";
import { fmtShape } from "../shape.ts";
import {
  add,
  checkOperand,
  clamp,
  div,
  eq,
  logicalAnd,
  logicalNot,
  maximum,
  mul,
  sub,
  where,
} from "./elementwise.ts";
import { abs, exp, isnan, log, log1p, sin, sqrt, trunc } from "./unary_fns.ts";
import { matmul } from "./matmul.ts";
import { onesLike } from "./creation.ts";
import { sum } from "./reduce.ts";
import { cat } from "./join.ts";
import { narrow } from "./view.ts";

/**
 * `max(x, min)` elementwise, as `torch.clamp_min`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.clampMin(zn.tensor([-1, 2]), 0).toArray(); // [0, 2]
 * ```
 */
export function clampMin(x: Tensor, min: TensorLike): Tensor {
  checkTensor(x, "clampMin");
  return clamp(x, min, null);
}

/**
 * `min(x, max)` elementwise, as `torch.clamp_max`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.clampMax(zn.tensor([-1, 2]), 1).toArray(); // [-1, 1]
 * ```
 */
export function clampMax(x: Tensor, max: TensorLike): Tensor {
  checkTensor(x, "clampMax");
  return clamp(x, null, max);
}

/**
 * `log(exp(a) + exp(b))` without overflow, as `torch.logaddexp`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logaddexp(zn.tensor([0]), zn.tensor([0])).item(); // 0.6931...
 * ```
 */
export function logaddexp(a: Tensor, b: TensorLike): Tensor {
  checkTensor(a, "logaddexp", "input");
  checkOperand(b, "logaddexp");
  const m = maximum(a, b);
  const spread = log1p(exp(mul(abs(sub(a, b)), -1)));
  // Equal infinities: |a - b| is NaN, and the answer is the infinity itself.
  return where(eq(a, b), add(a, Math.LN2), add(m, spread));
}

/**
 * `x * log(y)`, and 0 where x is 0 (unless y is NaN), as `torch.xlogy`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.xlogy(zn.tensor([0, 2]), zn.tensor([0, Math.E])).toArray(); // [0, 2]
 * ```
 */
export function xlogy(x: Tensor, y: TensorLike): Tensor {
  checkTensor(x, "xlogy", "input");
  checkOperand(y, "xlogy");
  const product = mul(x, log(y as Tensor));
  const yNan = typeof y === "number" ? Number.isNaN(y) : isnan(y as Tensor);
  const zero = typeof yNan === "boolean"
    ? eq(x, 0)
    : logicalAnd(eq(x, 0), logicalNot(yNan as Tensor));
  return where(zero, 0, product);
}

/**
 * The normalised sinc, `sin(pi x) / (pi x)`, and 1 at 0, as `torch.sinc`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sinc(zn.tensor([0, 0.5])).toArray(); // [1, 0.6366...]
 * ```
 */
export function sinc(x: Tensor): Tensor {
  checkTensor(x, "sinc");
  const px = mul(x, Math.PI);
  return where(eq(x, 0), 1, div(sin(px), px));
}

/**
 * The fractional part, `x - trunc(x)` (its sign is x's), as `torch.frac`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.frac(zn.tensor([1.5, -2.25])).toArray(); // [0.5, -0.25]
 * ```
 */
export function frac(x: Tensor): Tensor {
  checkTensor(x, "frac");
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `frac: expected a floating point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  return sub(x, trunc(x));
}

/**
 * Whether each element is finite (not infinite and not NaN), as
 * `torch.isfinite`; integer and bool tensors are finite everywhere.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.isfinite(zn.tensor([1, Infinity, NaN])).toArray(); // [true, false, false]
 * ```
 */
export function isfinite(x: Tensor): Tensor {
  checkTensor(x, "isfinite");
  if (!isFloating(x.dtype)) return onesLike(x, { dtype: "bool" });
  // x - x is 0 for finite x, NaN for infinities and NaN.
  return eq(sub(x, x), 0);
}

/**
 * The inner product of two 1-D tensors of the same length and dtype, as
 * `torch.dot`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.dot(zn.tensor([1, 2, 3]), zn.tensor([4, 5, 6])).item(); // 32
 * ```
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "dot", "input");
  checkTensor(b, "dot", "tensor");
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new RangeError(
      `dot: 1D tensors expected, but got ${a.ndim}D and ${b.ndim}D tensors (${
        fmtShape(a.shape)
      } and ${fmtShape(b.shape)})`,
    );
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new RangeError(
      `dot: inconsistent tensor size, expected tensor [${a.shape[0]}] and src [${
        b.shape[0]
      }] to have the same number of elements, but got ${a.shape[0]} and ${
        b.shape[0]
      } elements respectively`,
    );
  }
  if (a.dtype !== b.dtype) {
    throw new TypeError(
      `dot: expected both vectors to have same dtype, but found ${a.dtype} and ${b.dtype}`,
    );
  }
  return matmul(a, b);
}

/**
 * `sqrt(a^2 + b^2)` elementwise, scaled by the larger magnitude so that it
 * neither overflows nor underflows, as `torch.hypot`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.hypot(zn.tensor([3]), zn.tensor([4])).item(); // 5
 * ```
 */
export function hypot(a: Tensor, b: TensorLike): Tensor {
  checkTensor(a, "hypot", "input");
  checkOperand(b, "hypot");
  const aa = abs(a), ab = abs(b as Tensor);
  const big = maximum(aa, ab);
  const safe = where(eq(big, 0), 1, big);
  const ra = div(aa, safe), rb = div(ab, safe);
  return mul(big, sqrt(add(mul(ra, ra), mul(rb, rb))));
}

/**
 * The sum with NaNs counted as zero, as `torch.nansum`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nansum(zn.tensor([1, NaN, 2])).item(); // 3
 * ```
 */
export function nansum(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "nansum");
  return sum(where(isnan(x), 0, x), dim, keepdim);
}

/**
 * The mean of the non-NaN elements, as `torch.nanmean`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nanmean(zn.tensor([1, NaN, 2])).item(); // 1.5
 * ```
 */
export function nanmean(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "nanmean");
  if (
    x.dtype !== "float32" && x.dtype !== "float64" && x.dtype !== "float16" &&
    x.dtype !== "bfloat16"
  ) {
    throw new TypeError(
      `nanmean: expected a floating point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  const nan = isnan(x);
  const count = sum(where(nan, 0, 1).to(x.dtype), dim, keepdim);
  return div(sum(where(nan, 0, x), dim, keepdim), count);
}

/** Options of {@link diff}. */
export interface DiffOptions {
  /** The dim to difference along (default the last). */
  dim?: number;
  /** Placed before x along dim first. */
  prepend?: Tensor;
  /** Placed after x along dim first. */
  append?: Tensor;
}
const DIFF_KEYS = ["dim", "prepend", "append"] as const;

/**
 * The `n`-th forward difference along a dim, `x[i + 1] - x[i]` applied n
 * times, as `torch.diff`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.diff(zn.tensor([1, 4, 9, 16])).toArray(); // [3, 5, 7]
 * zn.diff(zn.tensor([1, 4, 9, 16]), 2).toArray(); // [2, 2]
 * ```
 */
export function diff(x: Tensor, n = 1, opts: DiffOptions = {}): Tensor {
  checkTensor(x, "diff");
  checkIntArg(n, "diff", "n", 0);
  checkOptions("diff", opts, DIFF_KEYS);
  if (x.ndim === 0) throw new RangeError("diff: expected at least 1 dim, got 0");
  const d = normDim(opts.dim ?? -1, x.ndim, "diff");
  checkOptionalTensor(opts.prepend, "diff", "prepend");
  checkOptionalTensor(opts.append, "diff", "append");
  const parts = [opts.prepend, x, opts.append].filter((t): t is Tensor => t !== undefined);
  let y = parts.length > 1 ? cat(parts, d) : x;
  for (let i = 0; i < n && y.shape[d] > 0; i++) {
    const len = y.shape[d] - 1;
    y = y.dtype === "bool"
      ? logicalNot(eq(narrow(y, d, 1, len), narrow(y, d, 0, len)))
      : sub(narrow(y, d, 1, len), narrow(y, d, 0, len));
  }
  return n === 0 ? y.clone() : y;
}
