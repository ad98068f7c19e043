/**
 * Order statistics and counting: kthvalue, median, nanmedian, quantile,
 * nanquantile, mode, cummax, cummin, unique, uniqueConsecutive, histc,
 * bincount. Values come from sort and gather, so their gradients flow
 * through those rules; the integer results (counts, inverse indices, the
 * running arg-max) are computed on the host, as their sizes or values need
 * the data.
 *
 * @module
 */
import { checkShape, fmtShape, normDim } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { floatTensorHint, isFloating } from "../dtype.ts";
import { checkIntArg, checkNumber, checkTensor, typeError } from "../args.ts";
import { checkOptions } from "../options.ts";
import { add, lerp, mul, sub, where } from "./elementwise.ts";
import { isnan } from "./unary_fns.ts";
import { any, argmax } from "./reduce.ts";
import { gather, indexSelect } from "./indexing.ts";
import { sort } from "./sort.ts";
import { tensor } from "./creation.ts";
import { movedim } from "./rearrange.ts";
import { flatten, narrow, reshape, select, squeeze, unsqueeze } from "./view.ts";
import { stack } from "./join.ts";
import { fullPrecision } from "../amp/autocast.ts";

/** Values and their int64 indices along a dim, as PyTorch's named tuples. */
export interface ValuesIndices {
  /** The values. */
  values: Tensor;
  /** Their positions along the dim. */
  indices: Tensor;
}

function lineDim(x: Tensor, dim: number, op: string): number {
  checkIntArg(dim, op, "dim");
  return normDim(dim, Math.max(x.ndim, 1), op);
}

/** x as at least 1-D (a 0-d tensor is one line of one element). */
function atLeast1d(x: Tensor): Tensor {
  return x.ndim === 0 ? reshape(x, [1]) : x;
}

function finish(r: ValuesIndices, x: Tensor, d: number, keepdim: boolean): ValuesIndices {
  if (x.ndim === 0) return { values: reshape(r.values, []), indices: reshape(r.indices, []) };
  if (keepdim) return r;
  return { values: squeeze(r.values, d), indices: squeeze(r.indices, d) };
}

/**
 * The `k`-th smallest element (1-based) along `dim` and its index, as
 * `torch.kthvalue`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.kthvalue(zn.tensor([5, 1, 4]), 2).values.item(); // 4
 * ```
 */
export function kthvalue(x: Tensor, k: number, dim = -1, keepdim = false): ValuesIndices {
  checkTensor(x, "kthvalue");
  const xs = atLeast1d(x);
  const d = lineDim(xs, dim, "kthvalue");
  const n = xs.shape[d];
  checkIntArg(k, "kthvalue", "k", 1, Math.max(n, 1));
  const s = sort(xs, d);
  const r = { values: narrow(s.values, d, k - 1, 1), indices: narrow(s.indices, d, k - 1, 1) };
  return finish(r, x, d, keepdim);
}

/** The lower median along d of a sorted line, NaN where a line holds one (median) or ignoring NaNs. */
function medianAlong(
  x: Tensor,
  d: number,
  ignoreNan: boolean,
): ValuesIndices {
  const n = x.shape[d];
  const s = sort(x, d);
  if (!isFloating(x.dtype)) {
    // No NaNs: the value keeps the input's dtype, as PyTorch's.
    const pos = (n - 1) >> 1;
    return { values: narrow(s.values, d, pos, 1), indices: narrow(s.indices, d, pos, 1) };
  }
  const nan = isnan(x);
  if (!ignoreNan) {
    const pos = (n - 1) >> 1;
    const v = narrow(s.values, d, pos, 1), i = narrow(s.indices, d, pos, 1);
    const hasNan = any(nan, d, true);
    const firstNan = unsqueeze(argmax(nan.to("int32"), d), d);
    return { values: where(hasNan, NaN, v), indices: where(hasNan, firstNan, i) };
  }
  // NaNs sort last: each line's median is at (count - 1) / 2 of its non-NaN values.
  const count = sub(n, nan.to("int64").sum(d, true));
  const pos = where(count.gt(0), sub(count, 1).floorDivide(2), 0);
  return { values: gather(s.values, d, pos), indices: gather(s.indices, d, pos) };
}

/**
 * The lower median: of all elements (NaN if any is NaN), or along `dim`
 * with its index, as `torch.median`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.median(zn.tensor([3, 1, 4, 2])).item(); // 2
 * zn.median(zn.tensor([[3, 1, 4]]), 1).values.toArray(); // [3]
 * ```
 */
export function median(x: Tensor): Tensor;
/**
 * The lower median along `dim` with its index.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.median(zn.tensor([[3, 1, 4]]), 1).indices.toArray(); // [0n]
 * ```
 */
export function median(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function median(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return medianImpl("median", x, dim, keepdim, false);
}

/**
 * The lower median ignoring NaNs, as `torch.nanmedian` (for a line of only
 * NaNs the value is NaN and the index any of the line's).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nanmedian(zn.tensor([3, NaN, 1])).item(); // 1
 * ```
 */
export function nanmedian(x: Tensor): Tensor;
/**
 * The lower median along `dim` ignoring NaNs, with its index.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nanmedian(zn.tensor([[3, NaN, 1]]), 1).values.toArray(); // [1]
 * ```
 */
export function nanmedian(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function nanmedian(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return medianImpl("nanmedian", x, dim, keepdim, true);
}

function medianImpl(
  op: string,
  x: Tensor,
  dim: number | undefined,
  keepdim: boolean,
  ignoreNan: boolean,
): Tensor | ValuesIndices {
  checkTensor(x, op);
  if (x.dtype === "bool") {
    throw new TypeError(
      `${op}: not implemented for bool tensors; call .to("int64") or .to("float32")`,
    );
  }
  if (x.numel === 0) throw new RangeError(`${op}: cannot compute the median of an empty tensor`);
  if (dim === undefined) {
    return reshape(medianAlong(flatten(x), 0, ignoreNan).values, []);
  }
  const xs = atLeast1d(x);
  const d = lineDim(xs, dim, op);
  return finish(medianAlong(xs, d, ignoreNan), x, d, keepdim);
}

/** Options of {@link quantile}. */
export interface QuantileOptions {
  /** The dim (default: all elements, flattened). */
  dim?: number;
  /** Keeps the reduced dim (default false). */
  keepdim?: boolean;
  /** Between two neighbours: "linear" (default), "lower", "higher", "midpoint" or "nearest". */
  interpolation?: "linear" | "lower" | "higher" | "midpoint" | "nearest";
}
const QUANTILE_KEYS = ["dim", "keepdim", "interpolation"] as const;
const INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"];

/**
 * The `q`-th quantiles (q in [0, 1], a number or a 1-D tensor whose
 * entries become the result's first dim), as `torch.quantile`: a line with
 * a NaN gives NaN.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.quantile(zn.tensor([1, 2, 3, 4]), 0.5).item(); // 2.5
 * ```
 */
export function quantile(x: Tensor, q: number | Tensor, opts: QuantileOptions = {}): Tensor {
  [x, q] = fullPrecision(x, q) as [Tensor, number | Tensor];
  return quantileImpl("quantile", x, q, opts, false);
}

/**
 * {@link quantile} ignoring NaNs (a line of only NaNs gives NaN), as
 * `torch.nanquantile`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nanquantile(zn.tensor([1, NaN, 3]), 0.5).item(); // 2
 * ```
 */
export function nanquantile(x: Tensor, q: number | Tensor, opts: QuantileOptions = {}): Tensor {
  [x, q] = fullPrecision(x, q) as [Tensor, number | Tensor];
  return quantileImpl("nanquantile", x, q, opts, true);
}

function quantileImpl(
  op: string,
  x: Tensor,
  q: number | Tensor,
  opts: QuantileOptions,
  ignoreNan: boolean,
): Tensor {
  checkTensor(x, op);
  checkOptions(op, opts, QUANTILE_KEYS);
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `${op}: expected a floating point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  const mode = opts.interpolation ?? "linear";
  if (!INTERPOLATIONS.includes(mode)) {
    throw new RangeError(
      `${op}: interpolation must be one of ${INTERPOLATIONS.join(", ")}, got ${mode}`,
    );
  }
  let qs: number[];
  let qIsTensor = false;
  if (typeof q === "number") {
    checkNumber(q, op, "q");
    qs = [q];
  } else if (q instanceof Tensor) {
    if (q.ndim > 1) {
      throw new RangeError(`${op}: q must be a scalar or 1-D tensor, got ${fmtShape(q.shape)}`);
    }
    qs = Array.from(q.toTypedArray() as ArrayLike<number>, Number);
    qIsTensor = q.ndim === 1;
  } else {
    typeError(op, "q", "a number or a Tensor", q);
  }
  for (const v of qs) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${op}: q values must be in [0, 1], got ${v}`);
  }
  if (x.numel === 0) throw new RangeError(`${op}: input tensor must be non-empty`);
  const keepdim = opts.keepdim ?? false;
  const flat = opts.dim === undefined;
  const src = flat ? flatten(x) : atLeast1d(x);
  const d = flat ? 0 : lineDim(src, opts.dim!, op);
  const n = src.shape[d];
  const s = sort(src, d).values; // NaNs last
  const nan = isnan(src);
  const nanCount = nan.to("int64").sum(d, true);
  // The last valid position per line: n - 1, or (with nanquantile) count - 1.
  const last = ignoreNan ? sub(sub(n, nanCount), 1).clamp(0, null) : add(mul(nanCount, 0), n - 1);
  const parts = qs.map((qn, i) => {
    // A tensor q stays in the graph: the result is differentiable in q too.
    const qv = q instanceof Tensor ? (q.ndim === 0 ? q : select(q, 0, i)).to(s.dtype) : qn;
    const rank = mul(last.to(s.dtype), qv);
    let lo = rank.floor(), hi = rank.ceil();
    if (mode === "lower") hi = lo;
    else if (mode === "higher") lo = hi;
    else if (mode === "nearest") lo = hi = rank.round();
    const loI = lo.to("int64"), hiI = hi.to("int64");
    const shape = s.shape.map((v, i) => (i === d ? 1 : v));
    const gl = gather(s, d, loI.expand(shape)), gh = gather(s, d, hiI.expand(shape));
    let v: Tensor;
    if (mode === "midpoint") v = mul(add(gl, gh), 0.5);
    else if (mode === "linear") v = lerp(gl, gh, sub(rank, lo));
    else v = gl;
    const bad = ignoreNan ? nanCount.eq(n) : nanCount.gt(0);
    v = where(bad, NaN, v);
    if (flat) return keepdim ? reshape(v, x.shape.map(() => 1)) : reshape(v, []);
    if (x.ndim === 0) return reshape(v, []);
    return keepdim ? v : squeeze(v, d);
  });
  if (!qIsTensor) return parts[0];
  return stack(parts, 0);
}

/** Reads a tensor's elements as numbers (int64 included). */
function numbers(x: Tensor): number[] {
  return Array.from(x.contiguous().toTypedArray() as ArrayLike<number | bigint | boolean>, Number);
}

/**
 * The most frequent value along `dim` (the smallest of equally frequent
 * ones) and the index of its last occurrence, as `torch.mode`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.mode(zn.tensor([1, 3, 3, 2, 1, 3])).values.item(); // 3
 * ```
 */
export function mode(x: Tensor, dim = -1, keepdim = false): ValuesIndices {
  checkTensor(x, "mode");
  const xs = atLeast1d(x);
  const d = lineDim(xs, dim, "mode");
  const moved = movedim(xs, d, -1);
  const n = moved.shape[moved.ndim - 1];
  if (n === 0) throw new RangeError("mode: expected a non-empty dim");
  const vals = numbers(moved);
  const lines = vals.length / n;
  const idx = new Array<number>(lines);
  for (let l = 0; l < lines; l++) {
    const counts = new Map<number, { c: number; last: number }>();
    for (let j = 0; j < n; j++) {
      const v = vals[l * n + j];
      const key = Number.isNaN(v) ? NaN : v;
      const e = counts.get(key);
      if (e) {
        e.c++;
        e.last = j;
      } else counts.set(key, { c: 1, last: j });
    }
    let best: number | undefined, bestC = -1, bestLast = 0;
    for (const [v, e] of counts) {
      if (e.c > bestC || (e.c === bestC && (v < best! || Number.isNaN(best!)))) {
        best = v;
        bestC = e.c;
        bestLast = e.last;
      }
    }
    idx[l] = bestLast;
  }
  const indices = reshape(
    tensor(idx, { dtype: "int64", device: x.device }),
    [...moved.shape.slice(0, -1), 1] as number[],
  );
  const values = gather(moved, moved.ndim - 1, indices);
  const r = { values: movedim(values, -1, d), indices: movedim(indices, -1, d) };
  return finish(r, x, d, keepdim);
}

/** The running maximum (or minimum) along `dim`: values and the index of their latest occurrence. */
function cumExtreme(op: string, x: Tensor, dim: number, max: boolean): ValuesIndices {
  checkTensor(x, op);
  const xs = atLeast1d(x);
  const d = lineDim(xs, dim, op);
  const moved = movedim(xs, d, -1);
  const n = moved.shape[moved.ndim - 1];
  const vals = numbers(moved);
  const idx = new Array<number>(vals.length);
  for (let base = 0; base < vals.length; base += n) {
    let best = 0;
    for (let j = 0; j < n; j++) {
      const v = vals[base + j], b = vals[base + best];
      // PyTorch: a NaN wins and stays; ties move to the later index.
      if (!Number.isNaN(b) && (Number.isNaN(v) || (max ? v >= b : v <= b))) best = j;
      idx[base + j] = best;
    }
  }
  const indices = reshape(
    tensor(idx, { dtype: "int64", device: x.device }),
    moved.shape as number[],
  );
  const values = gather(moved, moved.ndim - 1, indices);
  const r = { values: movedim(values, -1, d), indices: movedim(indices, -1, d) };
  return x.ndim === 0 ? { values: reshape(r.values, []), indices: reshape(r.indices, []) } : r;
}

/**
 * The running maximum along `dim` and the index of each one, as
 * `torch.cummax`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cummax(zn.tensor([1, 3, 2, 5]), 0).values.toArray(); // [1, 3, 3, 5]
 * ```
 */
export function cummax(x: Tensor, dim: number): ValuesIndices {
  return cumExtreme("cummax", x, dim, true);
}

/**
 * The running minimum along `dim` and the index of each one, as
 * `torch.cummin`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cummin(zn.tensor([3, 1, 2, 0]), 0).values.toArray(); // [3, 1, 1, 0]
 * ```
 */
export function cummin(x: Tensor, dim: number): ValuesIndices {
  return cumExtreme("cummin", x, dim, false);
}

/** Options of {@link unique} and {@link uniqueConsecutive}. */
export interface UniqueOptions {
  /** Sorted ascending (default true; unique only). */
  sorted?: boolean;
  /** Also return each element's index in the unique values. */
  returnInverse?: boolean;
  /** Also return each unique value's count. */
  returnCounts?: boolean;
  /**
   * Unique slices along this dim instead of unique elements (always sorted,
   * lexicographically; inverse and counts per slice).
   */
  dim?: number | null;
}
const UNIQUE_KEYS = ["sorted", "returnInverse", "returnCounts", "dim"] as const;
const UNIQUE_CONSECUTIVE_KEYS = ["returnInverse", "returnCounts", "dim"] as const;

/**
 * `unique` and `uniqueConsecutive` along a dim: the slices of `x` along `d`
 * compared as rows (sorted lexicographically first unless `consecutive`).
 */
function uniqueSlices(
  x: Tensor,
  dim: number,
  opts: UniqueOptions,
  consecutive: boolean,
  op: string,
): Tensor | Tensor[] {
  checkIntArg(dim, op, "dim");
  const d = normDim(dim, Math.max(x.ndim, 1), op);
  if (x.ndim === 0) throw new RangeError(`${op}: dim ${dim} needs a tensor with at least 1 dim`);
  const n = x.shape[d];
  const rows = movedim(x, d, 0).contiguous();
  const k = n === 0 ? 0 : rows.numel / n;
  const flat = numbers(rows);
  const cmp = (a: number, b: number): number => {
    for (let j = 0; j < k; j++) {
      const u = flat[a * k + j], v = flat[b * k + j];
      if (u === v || (Number.isNaN(u) && Number.isNaN(v))) continue;
      if (Number.isNaN(u)) return 1;
      if (Number.isNaN(v)) return -1;
      return u < v ? -1 : 1;
    }
    return 0;
  };
  const order = Array.from({ length: n }, (_v, i) => i);
  if (!consecutive) order.sort((a, b) => cmp(a, b) || a - b);
  const first: number[] = [], counts: number[] = [], inverse = new Array<number>(n);
  for (const i of order) {
    if (first.length === 0 || cmp(first[first.length - 1], i) !== 0) {
      first.push(i);
      counts.push(0);
    }
    counts[counts.length - 1]++;
    inverse[i] = first.length - 1;
  }
  const values = indexSelect(x, d, tensor(first, { dtype: "int64", device: x.device }));
  if (!opts.returnInverse && !opts.returnCounts) return values;
  const out = [values];
  if (opts.returnInverse) out.push(tensor(inverse, { dtype: "int64", device: x.device }));
  if (opts.returnCounts) out.push(tensor(counts, { dtype: "int64", device: x.device }));
  return out;
}

function uniqueResult(
  x: Tensor,
  values: number[],
  inverse: number[],
  counts: number[],
  opts: UniqueOptions,
): Tensor | Tensor[] {
  const v = tensor(values, { dtype: x.dtype, device: x.device });
  if (!opts.returnInverse && !opts.returnCounts) return v;
  const out = [v];
  if (opts.returnInverse) {
    out.push(reshape(tensor(inverse, { dtype: "int64", device: x.device }), x.shape as number[]));
  }
  if (opts.returnCounts) out.push(tensor(counts, { dtype: "int64", device: x.device }));
  return out;
}

/**
 * The distinct elements of the flattened tensor, sorted (with `dim`, the
 * distinct slices along it); with `returnInverse` and `returnCounts`, an
 * array `[values, inverse?, counts?]` as PyTorch's tuple, as `torch.unique`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * (zn.unique(zn.tensor([3, 1, 3, 2])) as zn.Tensor).toArray(); // [1, 2, 3]
 * ```
 */
export function unique(x: Tensor, opts: UniqueOptions = {}): Tensor | Tensor[] {
  checkTensor(x, "unique");
  checkOptions("unique", opts, UNIQUE_KEYS);
  if (x.dtype === "float16" || x.dtype === "bfloat16") {
    throw new TypeError(`unique: ${x.dtype} is not supported; convert with .to("float32")`);
  }
  if (opts.dim !== undefined && opts.dim !== null) {
    return uniqueSlices(x, opts.dim, opts, false, "unique");
  }
  const vals = numbers(x);
  const distinct = [...new Set(vals)].sort((a, b) =>
    Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b
  );
  const at = new Map(distinct.map((v, i) => [v, i]));
  const inverse = vals.map((v) => at.get(v)!);
  const counts = new Array<number>(distinct.length).fill(0);
  for (const i of inverse) counts[i]++;
  return uniqueResult(x, distinct, inverse, counts, opts);
}

/**
 * The flattened tensor with each run of equal consecutive elements kept
 * once; with `returnInverse` and `returnCounts`, an array as
 * {@link unique}'s, as `torch.unique_consecutive`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * (zn.uniqueConsecutive(zn.tensor([1, 1, 2, 1])) as zn.Tensor).toArray(); // [1, 2, 1]
 * ```
 */
export function uniqueConsecutive(x: Tensor, opts: UniqueOptions = {}): Tensor | Tensor[] {
  checkTensor(x, "uniqueConsecutive");
  checkOptions("uniqueConsecutive", opts, UNIQUE_CONSECUTIVE_KEYS);
  if (opts.dim !== undefined && opts.dim !== null) {
    return uniqueSlices(x, opts.dim, opts, true, "uniqueConsecutive");
  }
  const vals = numbers(x);
  const values: number[] = [], inverse: number[] = [], counts: number[] = [];
  for (const v of vals) {
    if (
      values.length === 0 ||
      !Object.is(values[values.length - 1], v) && values[values.length - 1] !== v
    ) {
      values.push(v);
      counts.push(0);
    }
    counts[counts.length - 1]++;
    inverse.push(values.length - 1);
  }
  return uniqueResult(x, values, inverse, counts, opts);
}

/** Options of {@link histc}. */
export interface HistcOptions {
  /** Equal-width bins (default 100). */
  bins?: number;
  /** The lowest bin's edge (min and max both 0: the data's range). */
  min?: number;
  /** The highest bin's edge. */
  max?: number;
}
const HISTC_KEYS = ["bins", "min", "max"] as const;

/**
 * A histogram of equal-width bins between min and max (elements outside
 * are ignored; min = max = 0 uses the data's range), as `torch.histc`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.histc(zn.tensor([1, 2, 1]), { bins: 4, min: 0, max: 3 }).toArray(); // [0, 2, 1, 0]
 * ```
 */
export function histc(x: Tensor, opts: HistcOptions = {}): Tensor {
  checkTensor(x, "histc");
  checkOptions("histc", opts, HISTC_KEYS);
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `histc: expected a floating point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  const bins = opts.bins ?? 100;
  checkIntArg(bins, "histc", "bins", 1);
  let lo = opts.min ?? 0, hi = opts.max ?? 0;
  checkNumber(lo, "histc", "min");
  checkNumber(hi, "histc", "max");
  const vals = numbers(x);
  if (lo === 0 && hi === 0 && vals.length > 0) {
    lo = Math.min(...vals.filter((v) => !Number.isNaN(v)));
    hi = Math.max(...vals.filter((v) => !Number.isNaN(v)));
  }
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  if (!(lo < hi)) throw new RangeError(`histc: max must be larger than min, got ${lo} and ${hi}`);
  checkShape([bins], "histc");
  const counts = new Float64Array(bins);
  for (const v of vals) {
    if (!(v >= lo && v <= hi)) continue;
    let b = Math.floor(((v - lo) * bins) / (hi - lo));
    if (b === bins) b = bins - 1;
    counts[b]++;
  }
  return tensor(counts, { device: x.device }).to(x.dtype);
}

/** Options of {@link bincount}. */
export interface BincountOptions {
  /** Each element's weight (default 1 each; the result takes its dtype). */
  weights?: Tensor;
  /** The result's least length (default 0). */
  minlength?: number;
}
const BINCOUNT_KEYS = ["weights", "minlength"] as const;

/**
 * How often each value occurs in a 1-D tensor of non-negative integers
 * (or the sum of their weights), as `torch.bincount`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.bincount(zn.tensor([0n, 2n, 2n])).toArray(); // [1n, 0n, 2n]
 * ```
 */
export function bincount(x: Tensor, opts: BincountOptions = {}): Tensor {
  checkTensor(x, "bincount");
  checkOptions("bincount", opts, BINCOUNT_KEYS);
  if (x.ndim !== 1) {
    throw new RangeError(`bincount: expected a 1-D tensor, got ${fmtShape(x.shape)}`);
  }
  if (isFloating(x.dtype) || x.dtype === "bool") {
    throw new TypeError(`bincount: expected an integer tensor, got ${x.dtype}`);
  }
  const minlength = opts.minlength ?? 0;
  checkIntArg(minlength, "bincount", "minlength", 0);
  const vals = numbers(x);
  for (const v of vals) {
    if (v < 0) throw new RangeError(`bincount: expected non-negative values, got ${v}`);
  }
  const len = Math.max(minlength, vals.length === 0 ? 0 : Math.max(...vals) + 1);
  const w = opts.weights;
  if (w !== undefined) {
    checkTensor(w, "bincount", "weights");
    if (w.ndim !== 1 || w.shape[0] !== vals.length) {
      throw new RangeError(
        `bincount: weights ${fmtShape(w.shape)} must have the input's length ${vals.length}`,
      );
    }
  }
  const ws = w === undefined ? null : numbers(w);
  checkShape([len], "bincount");
  const counts = new Float64Array(len);
  vals.forEach((v, i) => counts[v] += ws === null ? 1 : ws[i]);
  const dtype = w === undefined ? "int64" : w.dtype === "float32" ? "float32" : "float64";
  return tensor(counts, { device: x.device }).to(dtype);
}
