/**
 * scatterReduce: torch.scatter_reduce, every source element combined into
 * a copy of the input at its index along a dim by sum, prod, mean, amax or
 * amin. The combining runs in the backends' scatter kernel (zig/src/index.zig);
 * the rule is "scatterReduce" in autograd/rules.ts.
 *
 * @module
 */
import { record } from "../autograd/node.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import type { ScatterMode } from "../backend.ts";
import { type DType, isFloating } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { checkOptions } from "../options.ts";
import { checkTensor } from "../args.ts";
import { clone, div, maximum, toDType } from "./elementwise.ts";
import { full, ones, zeros } from "./creation.ts";
import { scatterOperands } from "./indexing.ts";

/** The reductions of {@link scatterReduce}. */
export type ScatterReduction = "sum" | "prod" | "mean" | "amax" | "amin";

/** Options of {@link scatterReduce}. */
export interface ScatterReduceOptions {
  /** Whether the input's own values take part in the reduction (default true). */
  includeSelf?: boolean;
}

const REDUCTIONS: readonly ScatterReduction[] = ["sum", "prod", "mean", "amax", "amin"];
const OPTION_KEYS = ["includeSelf"] as const;
const MODE: Record<ScatterReduction, ScatterMode> = {
  sum: "add",
  mean: "add",
  prod: "prod",
  amax: "amax",
  amin: "amin",
};

/** Each integer type's [lowest, highest] value. */
const INT_RANGE: Partial<Record<DType, [number | bigint, number | bigint]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** The value a position starts from when the input's own does not count. */
function identity(reduce: ScatterReduction, dtype: DType): number | bigint | boolean {
  if (reduce === "sum" || reduce === "mean") return dtype === "bool" ? false : 0;
  if (reduce === "prod") return dtype === "bool" ? true : 1;
  if (dtype === "bool") return reduce === "amin";
  const range = INT_RANGE[dtype];
  if (range) return reduce === "amax" ? range[0] : range[1];
  return reduce === "amax" ? -Infinity : Infinity;
}

/**
 * A copy of `x` with every element of `src` combined into the position
 * `index` names along `dim` (as torch.scatter_reduce): for dim 0,
 * `out[index[i][j]][j] = reduce(out[index[i][j]][j], src[i][j])`. `reduce`
 * is "sum", "prod", "mean", "amax" or "amin"; with `includeSelf` false the
 * positions that receive anything start from the reduction's identity
 * instead of x's value (a mean then averages only the scattered values).
 * Integer means round down, as PyTorch's do. Differentiable in `x` and `src`
 * (an amax or amin shares its gradient evenly among tied elements).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1, 2, 3, 4]);
 * const index = zn.tensor([0n, 0n, 1n, 3n]);
 * zn.scatterReduce(x, 0, index, zn.tensor([4, 5, 7, -3]), "amax").toArray(); // [5, 7, 3, 4]
 * zn.scatterReduce(x, 0, index, zn.tensor([4, 5, 7, -3]), "prod", { includeSelf: false })
 *   .toArray(); // [20, 7, 3, -3]
 * ```
 */
export function scatterReduce(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: ScatterReduction,
  options?: ScatterReduceOptions,
): Tensor {
  const op = "scatterReduce";
  checkTensor(x, op, "input");
  checkTensor(src, op, "src");
  checkOptions(op, options, OPTION_KEYS);
  if (!REDUCTIONS.includes(reduce)) {
    throw new TypeError(
      `${op}: reduce argument must be one of ${REDUCTIONS.map((r) => `"${r}"`).join(", ")}, got ${
        JSON.stringify(reduce)
      }`,
    );
  }
  const includeSelf = options?.includeSelf ?? true;
  if (typeof includeSelf !== "boolean") {
    throw new TypeError(`${op}: includeSelf must be a boolean, got ${typeof includeSelf}`);
  }
  if (src.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: expected self.dtype to be equal to src.dtype (${x.dtype} vs ${src.dtype})`,
    );
  }
  if (x.dtype === "bool" && reduce === "mean") {
    throw new TypeError(`${op}: reduce "mean" is not implemented for bool`);
  }
  const [idx, d, s] = scatterOperands(op, x, dim, index, src);
  if (x.dtype === "float16" || x.dtype === "bfloat16") {
    // Reduced in float32, as scatterAdd does (the casts carry the gradient).
    const r = scatterReduce(toDType(x, "float32"), d, idx, toDType(s, "float32"), reduce, {
      includeSelf,
    });
    return toDType(r, x.dtype);
  }
  const like = { dtype: x.dtype, device: x.device };
  const out = noGrad(() => {
    const o = clone(x);
    const be = o.backend;
    if (!includeSelf) {
      be.scatter("set", o, idx, full(idx.shape, identity(reduce, x.dtype), like), d, op);
    }
    be.scatter(MODE[reduce], o, idx, s, d, op);
    if (reduce !== "mean") return o;
    // Each position's count of terms: the scattered ones, and its own.
    const count = includeSelf ? ones(x.shape, like) : zeros(x.shape, like);
    be.scatter("add", count, idx, ones(idx.shape, like), d, op);
    const n = maximum(count, 1);
    return isFloating(x.dtype) ? div(o, n) : div(o, n, { roundingMode: "floor" });
  });
  // sum and mean need only the index; the others compare against values.
  // (src's elements past the index's shape take no part.)
  const used = s.shape.every((n, i) => n === idx.shape[i])
    ? s
    : noGrad(() => idx.shape.reduce((t, n, d) => t.narrow(d, 0, n), s));
  const saved = reduce === "sum" || reduce === "mean" ? {} : { x, src: used, out };
  return record("scatterReduce", [x, src], out, saved, { dim: d, index: idx, reduce, includeSelf });
}
