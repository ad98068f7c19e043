/**
 * Reductions, scans and softmax. Every op brings its input to the kernel's
 * [outer, r, inner] form (permuting and copying only when the reduced dims
 * are not adjacent) and reshapes the result.
 *
 * @module
 */
import type { Axis3, ReduceOp, ScanOp } from "../backend.ts";
import { type DType, floatTensorHint, isFloating } from "../dtype.ts";
import { fmtShape, normDim, normDims } from "../shape.ts";
import { type Dim, emptyTensor, outputTensor, type Tensor } from "../tensor.ts";
import { clone, toDType, unary } from "./elementwise.ts";
import { permute } from "./view.ts";
import { record } from "../autograd/node.ts";
import { isGradEnabled } from "../autograd/grad_mode.ts";
import { checkFlag, checkOptions } from "../options.ts";
import { fullPrecision } from "../amp/autocast.ts";

const VAR_KEYS = ["correction", "keepdim"] as const;

interface Plan {
  x: Tensor;
  axis: Axis3;
  outShape: number[];
  /**
   * Set where the reduced dims are a leading and a trailing block around the
   * kept ones: the product of the leading block's sizes. Then `axis` is
   * [outer, r] = [kept, trailing] of each leading index, reduced first, and
   * the leading block second.
   */
  lead?: number;
}

function normalizeDims(x: Tensor, dim: Dim, op: string): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  const list = typeof dim === "number" ? [dim] : dim;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `${op}: dim must be a number or an array of numbers, got ${typeof dim} (dim and keepdim are positional: ${op}(1, true))`,
    );
  }
  // A 0-d tensor accepts dim 0 or -1 and reduces nothing.
  if (x.ndim === 0) {
    normDims(list, 1, op);
    return [];
  }
  if (list.length === 0) return x.shape.map((_, i) => i);
  return normDims(list, x.ndim, op).sort((a, b) => a - b);
}

/**
 * Lays x out as [outer, r, inner] over `dims` and gives the result shape.
 * `split` allows two passes (sum and mean, whose partial results combine)
 * where the reduced dims surround the kept ones.
 */
function plan(x: Tensor, dims: number[], keepdim: boolean, split = false): Plan {
  const nd = x.ndim;
  const red = new Set(dims);
  const outShape: number[] = [];
  for (let i = 0; i < nd; i++) {
    if (!red.has(i)) outShape.push(x.shape[i]);
    else if (keepdim) outShape.push(1);
  }
  let r = 1;
  for (const d of dims) r *= x.shape[d];
  const adjacent = dims.length === 0 || dims[dims.length - 1] - dims[0] === dims.length - 1;
  if (adjacent) {
    const c = x.isContiguous() ? x : clone(x);
    let outer = 1, inner = 1;
    for (let i = 0; i < (dims[0] ?? nd); i++) outer *= x.shape[i];
    for (let i = (dims[dims.length - 1] ?? nd - 1) + 1; i < nd; i++) inner *= x.shape[i];
    return { x: c, axis: { outer, r, inner }, outShape };
  }
  // A conv bias gradient's [0, 2, 3] of [N, C, H, W]: sum each contiguous
  // H x W plane, then the [N, C] partial sums over N, rather than copying the
  // whole input permuted.
  let lead = 0;
  while (lead < dims.length && dims[lead] === lead) lead++;
  const trail = dims.length - lead;
  if (split && lead > 0 && x.numel > 0 && dims[lead] === nd - trail) {
    const c = x.isContiguous() ? x : clone(x);
    let a = 1, outer = 1, r2 = 1;
    for (let i = 0; i < nd; i++) {
      if (i < lead) a *= x.shape[i];
      else if (i < nd - trail) outer *= x.shape[i];
      else r2 *= x.shape[i];
    }
    return { x: c, axis: { outer, r: r2, inner: 1 }, outShape, lead: a };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !red.has(i));
  const p = clone(permute(x, [...kept, ...dims]));
  let outer = 1;
  for (const k of kept) outer *= x.shape[k];
  return { x: p, axis: { outer, r, inner: 1 }, outShape };
}

/**
 * The dtype x's kernel runs in: float16/bfloat16 as they are where the
 * backend reduces them natively (widening inside the kernel), else float32.
 */
function computeType(x: Tensor): DType {
  const d = x.dtype;
  return (d === "float16" || d === "bfloat16") && !x.backend.halfReduce ? "float32" : d;
}

function run(
  op: ReduceOp,
  x: Tensor,
  dim: Dim,
  keepdim: boolean,
  opts: { inDType: DType; outDType: DType; p?: number; name: string; save?: "x" | "out" | "both" },
): Tensor {
  checkFlag(opts.name, "keepdim", keepdim);
  const dims = normalizeDims(x, dim, opts.name);
  const src = x.dtype === opts.inDType ? x : toDType(x, opts.inDType);
  // Reduced dims around kept ones (a conv bias gradient's [0, 2, 3]): one
  // pass over the planes where the backend has it, else two passes where
  // the partial sums keep full precision (a half tensor's would round
  // between them), else a permuted copy.
  const half = src.dtype === "float16" || src.dtype === "bfloat16";
  const sumLike = op === "sum" || op === "mean";
  const planes = sumLike && isFloating(src.dtype) && src.backend.reducePlanes !== undefined;
  const pl = plan(src, dims, keepdim, planes || (sumLike && !half));
  const out = emptyTensor(pl.outShape, opts.outDType === "bool" ? "bool" : opts.inDType, x.device);
  if (pl.lead === undefined) src.backend.reduce(op, pl.x, pl.axis, out, null, opts.p);
  else if (planes) {
    src.backend.reducePlanes!(op as "sum" | "mean", pl.x, pl.lead, pl.axis.outer, pl.axis.r, out);
  } else {
    // [lead, outer, r] -> [lead, outer] (contiguous lines) -> [outer] (columns);
    // a mean of equal-sized groups' means is the mean.
    const { outer, r } = pl.axis;
    const part = emptyTensor([pl.lead, outer], opts.inDType, x.device);
    src.backend.reduce(op, pl.x, { outer: pl.lead * outer, r, inner: 1 }, part, null, opts.p);
    src.backend.reduce(op, part, { outer: 1, r: pl.lead, inner: outer }, out, null, opts.p);
    part.dispose();
  }
  const result = opts.outDType !== out.dtype ? toDType(out, opts.outDType) : out;
  if (!x.requiresGrad) return result;
  const save = opts.save;
  return record(opts.name, [x], result, {
    x: save === "x" || save === "both" ? x : undefined,
    out: save === "out" || save === "both" ? result : undefined,
  }, {
    dims,
    keepdim,
    shape: x.shape,
    count: pl.axis.r * (pl.lead ?? 1),
    p: opts.p,
    correction: opts.p,
  });
}

function checkTensor(x: unknown, op: string): asserts x is Tensor {
  if (typeof x !== "object" || x === null || !("shape" in x)) {
    throw new TypeError(`${op}: expected a Tensor`);
  }
}

function intToInt64(x: Tensor): DType {
  return isFloating(x.dtype) ? computeType(x) : "int64";
}

/**
 * Sum over `dim` (all dims when omitted); integers and bools sum as int64.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).sum(0).toArray(); // [4, 6]
 * ```
 */
export function sum(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "sum");
  const inD = intToInt64(x);
  return run("sum", x, dim, keepdim, {
    inDType: inD,
    outDType: isFloating(x.dtype) ? x.dtype : inD,
    name: "sum",
  });
}

/**
 * Mean over `dim`; needs a floating dtype, as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 2, 3, 6]).mean().item(); // 3
 * ```
 */
export function mean(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "mean");
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `mean: could not infer output dtype. Input dtype must be a floating point dtype. Got: ${x.dtype}${
        floatTensorHint(x.dtype)
      }`,
    );
  }
  return run("mean", x, dim, keepdim, {
    inDType: computeType(x),
    outDType: x.dtype,
    name: "mean",
  });
}

/**
 * Product over `dim` (all elements when omitted).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 2, 3, 4]).prod().item(); // 24
 * ```
 */
export function prod(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  [x] = fullPrecision(x) as [Tensor];
  checkTensor(x, "prod");
  const inD = intToInt64(x);
  return run("prod", x, dim, keepdim, {
    inDType: inD,
    outDType: isFloating(x.dtype) ? x.dtype : inD,
    name: "prod",
    save: "both",
  });
}

function checkNonEmpty(x: Tensor, dims: number[], op: string): void {
  for (const d of dims) {
    if (x.shape[d] === 0) {
      throw new RangeError(
        `${op}: expected reduction dim ${d} to have non-zero size (input shape ${
          fmtShape(x.shape)
        })`,
      );
    }
  }
  if (x.numel === 0 && dims.length === x.ndim) {
    throw new RangeError(
      `${op}: cannot reduce an empty tensor (shape ${fmtShape(x.shape)}) without a dim`,
    );
  }
}

function extreme(op: "max" | "min", name: string, x: Tensor, dim: Dim, keepdim: boolean): Tensor {
  checkTensor(x, name);
  checkNonEmpty(x, normalizeDims(x, dim, name), name);
  const inD = x.dtype === "bool" ? "uint8" : computeType(x);
  return run(op, x, dim, keepdim, { inDType: inD, outDType: x.dtype, name, save: "both" });
}

/**
 * Max over `dim` (values only; all elements when omitted). NaN propagates.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 5], [7, 2]]).amax(1).toArray(); // [5, 7]
 * ```
 */
export function amax(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  return extreme("max", "amax", x, dim, keepdim);
}

/**
 * Min over `dim` (values only; all elements when omitted). NaN propagates.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 5], [7, 2]]).amin(1).toArray(); // [1, 2]
 * ```
 */
export function amin(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  return extreme("min", "amin", x, dim, keepdim);
}

function withIndices(
  op: "max" | "min",
  x: Tensor,
  dim: number,
  keepdim: boolean,
): { values: Tensor; indices: Tensor } {
  checkTensor(x, op);
  checkFlag(op, "keepdim", keepdim);
  const d = normDim(dim, x.ndim, op);
  if (x.ndim > 0) checkNonEmpty(x, [d], op);
  const inD = x.dtype === "bool" ? "uint8" : computeType(x);
  const src = x.dtype === inD ? x : toDType(x, inD);
  const pl = plan(src, x.ndim === 0 ? [] : [d], keepdim);
  const values = emptyTensor(pl.outShape, inD, x.device);
  const indices = emptyTensor(pl.outShape, "int64", x.device);
  values.backend.reduce(op, pl.x, pl.axis, values, indices);
  const v = record(op === "max" ? "maxDim" : "minDim", [x], toDType(values, x.dtype), {}, {
    dim: d,
    keepdim,
    indices,
    shape: x.shape,
  });
  return { values: v, indices };
}

/**
 * Max along `dim` with the index of each max (the first one on ties).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { values, indices } = zn.tensor([[1, 5], [7, 2]]).max(1);
 * values.toArray(); // [5, 7]
 * indices.toArray(); // [1, 0]
 * ```
 */
export function maxDim(
  x: Tensor,
  dim: number,
  keepdim = false,
): { values: Tensor; indices: Tensor } {
  return withIndices("max", x, dim, keepdim);
}

/**
 * Min along `dim` with the index of each min.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 5], [7, 2]]).min(1).indices.toArray(); // [0, 1]
 * ```
 */
export function minDim(
  x: Tensor,
  dim: number,
  keepdim = false,
): { values: Tensor; indices: Tensor } {
  return withIndices("min", x, dim, keepdim);
}

function argExtreme(
  op: "argmax" | "argmin",
  x: Tensor,
  dim: number | null | undefined,
  keepdim: boolean,
): Tensor {
  checkTensor(x, op);
  checkFlag(op, "keepdim", keepdim);
  const inD = x.dtype === "bool" ? "uint8" : computeType(x);
  const src = x.dtype === inD ? x : toDType(x, inD);
  if (dim === undefined || dim === null) {
    if (x.numel === 0) {
      throw new RangeError(`${op}: expected a non-empty tensor when no dim is given`);
    }
    const flat = src.isContiguous() ? src : clone(src);
    const outShape = keepdim ? x.shape.map(() => 1) : [];
    const idx = emptyTensor(outShape, "int64", x.device);
    idx.backend.reduce(op, flat, { outer: 1, r: x.numel, inner: 1 }, null, idx);
    return idx;
  }
  const d = normDim(dim, x.ndim, op);
  if (x.ndim > 0) checkNonEmpty(x, [d], op);
  const pl = plan(src, x.ndim === 0 ? [] : [d], keepdim);
  const idx = emptyTensor(pl.outShape, "int64", x.device);
  idx.backend.reduce(op, pl.x, pl.axis, null, idx);
  return idx;
}

/**
 * Index of the max (over the flattened tensor when `dim` is omitted).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([3, 9, 2]).argmax().item(); // 1
 * ```
 */
export function argmax(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return argExtreme("argmax", x, dim, keepdim);
}

/**
 * Index of the min (over the flattened tensor when `dim` is omitted).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([3, 9, 2]).argmin().item(); // 2
 * ```
 */
export function argmin(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  return argExtreme("argmin", x, dim, keepdim);
}

function floatOnly(x: Tensor, op: string): DType {
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `${op}: expected a floating point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  return computeType(x);
}

/**
 * Variance over `dim` with `correction` (default 1, Bessel's).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1.0, 2.0, 3.0, 4.0]).var().item(); // 1.6667
 * ```
 */
export function variance(
  x: Tensor,
  dim?: Dim,
  opts?: { correction?: number; keepdim?: boolean },
): Tensor {
  return varianceOf("var", x, dim, opts);
}

/** The variance, its argument errors naming `op` (var or std). */
function varianceOf(
  op: string,
  x: Tensor,
  dim?: Dim,
  opts?: { correction?: number; keepdim?: boolean },
): Tensor {
  checkTensor(x, op);
  checkOptions(op, opts, VAR_KEYS);
  const c = floatOnly(x, op);
  return run("var", x, dim, opts?.keepdim ?? false, {
    inDType: c,
    outDType: x.dtype,
    p: opts?.correction ?? 1,
    name: "var",
    save: "x",
  });
}

/**
 * Standard deviation over `dim` with `correction` (default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1.0, 3.0]).std().item(); // 1.4142
 * ```
 */
export function std(
  x: Tensor,
  dim?: Dim,
  opts?: { correction?: number; keepdim?: boolean },
): Tensor {
  return unary("sqrt", varianceOf("std", x, dim, opts));
}

/**
 * log(sum(exp(x))) over `dim`, computed stably; integers compute in float32.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([0.0, 0.0]).logsumexp(0).item(); // 0.6931
 * ```
 */
export function logsumexp(x: Tensor, dim: Dim, keepdim = false): Tensor {
  checkTensor(x, "logsumexp");
  const c = isFloating(x.dtype) ? computeType(x) : "float32";
  return run("logsumexp", x, dim, keepdim, {
    inDType: c,
    outDType: isFloating(x.dtype) ? x.dtype : c,
    name: "logsumexp",
    save: "both",
  });
}

/**
 * The p-norm over `dim` (all elements when omitted): p = 2 by default; 1,
 * Infinity, -Infinity and 0 (count of non-zeros) too.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([3.0, 4.0]).norm().item(); // 5
 * ```
 */
export function norm(x: Tensor, p: number = 2, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "norm");
  const c = floatOnly(x, "norm");
  return run("norm", x, dim, keepdim, {
    inDType: c,
    outDType: x.dtype,
    p,
    name: "norm",
    save: "both",
  });
}

/**
 * True where all elements along `dim` are non-zero.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 0]).all().item(); // false
 * ```
 */
export function all(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "all");
  const inD = computeType(x);
  const out = run("all", x, dim, keepdim, { inDType: inD, outDType: "bool", name: "all" });
  // As in PyTorch, uint8 input gives uint8 output.
  return x.dtype === "uint8" ? toDType(out, "uint8") : out;
}

/**
 * True where any element along `dim` is non-zero.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 0]).any().item(); // true
 * ```
 */
export function any(x: Tensor, dim?: Dim, keepdim = false): Tensor {
  checkTensor(x, "any");
  const inD = computeType(x);
  const out = run("any", x, dim, keepdim, { inDType: inD, outDType: "bool", name: "any" });
  // As in PyTorch, uint8 input gives uint8 output.
  return x.dtype === "uint8" ? toDType(out, "uint8") : out;
}

function axisAt(x: Tensor, d: number): Axis3 {
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= x.shape[i];
  for (let i = d + 1; i < x.ndim; i++) inner *= x.shape[i];
  return { outer, r: x.ndim === 0 ? 1 : x.shape[d], inner };
}

function scan(op: ScanOp, x: Tensor, dim: number): Tensor {
  checkTensor(x, op);
  const d = normDim(dim, x.ndim, op);
  if (op === "logcumsumexp" && !isFloating(x.dtype)) {
    throw new TypeError(
      `logcumsumexp: expected a floating-point tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  const inD = op === "logcumsumexp" ? computeType(x) : intToInt64(x);
  let src = x.dtype === inD ? x : toDType(x, inD);
  if (!src.isContiguous()) src = clone(src);
  const out = outputTensor(x.shape, inD, x.device);
  out.backend.scan(op, src, axisAt(x, d), out);
  const result = isFloating(x.dtype) && x.dtype !== inD ? toDType(out, x.dtype) : out;
  if (!x.requiresGrad) return result;
  const saved = op === "cumsum" ? {} : { x, out: result };
  return record(op, [x], result, saved, { dim: d });
}

/**
 * log(cumsum(exp(x))) along `dim`, accumulated stably (each step a
 * log-add-exp in float64), so large inputs do not overflow. Floating dtypes
 * only, as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logcumsumexp(zn.tensor([0, 0, 1000]), 0).toArray(); // [0, 0.6931, 1000]
 * ```
 */
export function logcumsumexp(x: Tensor, dim: number): Tensor {
  return scan("logcumsumexp", x, dim);
}

/**
 * Cumulative sum along `dim`; integers accumulate as int64.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 2, 3]).cumsum(0).toArray(); // [1, 3, 6]
 * ```
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  return scan("cumsum", x, dim);
}

/**
 * Cumulative product along `dim`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 2, 3]).cumprod(0).toArray(); // [1, 2, 6]
 * ```
 */
export function cumprod(x: Tensor, dim: number): Tensor {
  return scan("cumprod", x, dim);
}

/**
 * @internal The gradient of softmax (or logSoftmax) along `dim` from its
 * output y and the output's gradient g in one backend kernel, or null where
 * none applies (no kernel, dtypes differ, or a graph of the backward is being
 * recorded): then the rule composes it.
 */
export function softmaxBackward(log: boolean, g: Tensor, y: Tensor, dim: number): Tensor | null {
  const be = y.backend;
  if (!be.softmaxBackward || isGradEnabled() || g.dtype !== y.dtype) return null;
  if (g.device !== y.device || computeType(y) !== y.dtype || !isFloating(y.dtype)) return null;
  const gc = g.isContiguous() ? g : clone(g);
  const yc = y.isContiguous() ? y : clone(y);
  const dx = outputTensor(y.shape, y.dtype, y.device);
  be.softmaxBackward(log, gc, yc, axisAt(y, dim), dx);
  return dx;
}

function softmaxImpl(log: boolean, x: Tensor, dim: number): Tensor {
  const name = log ? "logSoftmax" : "softmax";
  checkTensor(x, name);
  if (dim === undefined) throw new TypeError(`${name}: dim is required`);
  const d = normDim(dim, x.ndim, name);
  const c = isFloating(x.dtype) ? computeType(x) : "float32";
  let src = x.dtype === c ? x : toDType(x, c);
  if (!src.isContiguous()) src = clone(src);
  const out = outputTensor(x.shape, c, x.device);
  out.backend.softmax(log, src, axisAt(x, d), out);
  const result = isFloating(x.dtype) && x.dtype !== c ? toDType(out, x.dtype) : out;
  if (!x.requiresGrad) return result;
  return record(name, [x], result, { out: result }, { dim: d });
}

/**
 * Softmax along `dim`, numerically stable.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([0.0, 0.0]).softmax(0).toArray(); // [0.5, 0.5]
 * ```
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl(false, x, dim);
}

/**
 * log(softmax(x)) along `dim`, computed without forming softmax.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([0.0, 0.0]).logSoftmax(0).toArray(); // [-0.6931, -0.6931]
 * ```
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl(true, x, dim);
}
