/**
 * Selecting and placing elements: nonzero, maskedSelect, maskedScatter,
 * take, takeAlongDim, indexAdd, indexCopy, meshgrid, cartesianProd,
 * searchsorted and bucketize. The differentiable ones are composed from
 * gather, scatter, indexSelect and indexing, so their gradients come from
 * those rules; nonzero, searchsorted and bucketize compute integer results on
 * the host (reading their inputs back, as PyTorch's nonzero synchronises).
 *
 * @module
 */
import { fmtShape, normDim } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { checkArray, checkIntArg, checkNumber, checkTensor, typeError } from "../args.ts";
import { checkOptions } from "../options.ts";
import { add, mul, where } from "./elementwise.ts";
import { gather, indexSelect, scatter } from "./indexing.ts";
import { tensor } from "./creation.ts";
import { stack } from "./join.ts";
import { broadcastShapes } from "../shape.ts";
import { expand, flatten, narrow, reshape } from "./view.ts";

function checkIndex(index: unknown, op: string, name = "index"): Tensor {
  checkTensor(index, op, name);
  if (index.dtype !== "int64" && index.dtype !== "int32") {
    throw new TypeError(`${op}: ${name} must be an int64 (or int32) tensor, got ${index.dtype}`);
  }
  return index.dtype === "int64" ? index : index.to("int64");
}

/** Flat row-major positions of the true elements of a bool tensor (read back to the host). */
function truePositions(mask: Tensor): number[] {
  const data = mask.contiguous().toTypedArray() as Uint8Array;
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i]) out.push(i);
  return out;
}

function int64(values: number[], device: string, shape?: number[]): Tensor {
  const t = tensor(values, { dtype: "int64", device });
  return shape === undefined ? t : reshape(t, shape);
}

/** Options of {@link nonzero}. */
export interface NonzeroOptions {
  /** One 1-D index tensor per dim instead of one `[n, ndim]` tensor (default false). */
  asTuple?: boolean;
}
const NONZERO_KEYS = ["asTuple"] as const;

/**
 * The indices of the non-zero elements, row-major: `[n, ndim]` int64, or
 * with `asTuple` one `[n]` tensor per dim (as `torch.nonzero`). The result's
 * size depends on the values, so they are read back first.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nonzero(zn.tensor([[1, 0], [0, 2]])).toArray(); // [[0n, 0n], [1n, 1n]]
 * ```
 */
export function nonzero(x: Tensor, opts?: { asTuple?: false }): Tensor;
/**
 * With `asTuple`: one 1-D int64 tensor of indices per dim.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nonzero(zn.tensor([0, 3, 4]), { asTuple: true })[0].toArray(); // [1n, 2n]
 * ```
 */
export function nonzero(x: Tensor, opts: { asTuple: true }): Tensor[];
export function nonzero(x: Tensor, opts: NonzeroOptions = {}): Tensor | Tensor[] {
  checkTensor(x, "nonzero");
  checkOptions("nonzero", opts, NONZERO_KEYS);
  const flat = truePositions(x.dtype === "bool" ? x : x.ne(0));
  const nd = x.ndim;
  const coords = flat.map((p) => {
    const c = new Array<number>(nd);
    for (let d = nd - 1; d >= 0; d--) {
      c[d] = p % x.shape[d];
      p = Math.floor(p / x.shape[d]);
    }
    return c;
  });
  if (opts.asTuple) {
    if (nd === 0) return [int64(flat.map(() => 0), x.device)];
    return Array.from({ length: nd }, (_, d) => int64(coords.map((c) => c[d]), x.device));
  }
  return int64(coords.flat(), x.device, [coords.length, nd]);
}

/**
 * The elements of x where `mask` is true, as a 1-D tensor (x and mask
 * broadcast), as `torch.masked_select`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1, 2, 3]);
 * zn.maskedSelect(x, x.gt(1)).toArray(); // [2, 3]
 * ```
 */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  checkTensor(x, "maskedSelect", "input");
  checkTensor(mask, "maskedSelect", "mask");
  if (mask.dtype !== "bool") {
    throw new TypeError(`maskedSelect: mask must be bool, got ${mask.dtype}`);
  }
  const shape = broadcastShapes("maskedSelect", x.shape, mask.shape);
  const pos = int64(truePositions(expand(mask, shape)), x.device);
  return indexSelect(flatten(expand(x, shape)), 0, pos);
}

/**
 * x with the elements where `mask` (broadcast to x) is true replaced, in
 * row-major order, by the first elements of `source`, as
 * `torch.masked_scatter`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.zeros([3]);
 * zn.maskedScatter(x, zn.tensor([true, false, true]), zn.tensor([5, 6, 7])).toArray(); // [5, 0, 6]
 * ```
 */
export function maskedScatter(x: Tensor, mask: Tensor, source: Tensor): Tensor {
  checkTensor(x, "maskedScatter", "input");
  checkTensor(mask, "maskedScatter", "mask");
  checkTensor(source, "maskedScatter", "source");
  if (mask.dtype !== "bool") {
    throw new TypeError(`maskedScatter: mask must be bool, got ${mask.dtype}`);
  }
  const shape = broadcastShapes("maskedScatter", x.shape, mask.shape);
  if (fmtShape(shape) !== fmtShape(x.shape)) {
    throw new RangeError(
      `maskedScatter: mask of shape ${fmtShape(mask.shape)} does not broadcast to input's ${
        fmtShape(x.shape)
      }`,
    );
  }
  const pos = truePositions(expand(mask, shape));
  if (pos.length > source.numel) {
    throw new RangeError(
      `maskedScatter: the mask has ${pos.length} true elements but source only ${source.numel}`,
    );
  }
  const src = narrow(flatten(source), 0, 0, pos.length).to(x.dtype);
  return reshape(scatter(flatten(x), 0, int64(pos, x.device), src, false), shape);
}

/** Negative indices counted from the end, as take and takeAlongDim allow. */
function wrapNegative(index: Tensor, n: number): Tensor {
  return where(index.lt(0), add(index, n), index);
}

/**
 * The elements of x, taken as 1-D, at `index` (any shape; negative counts
 * from the end), as `torch.take`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.take(zn.tensor([[1, 2], [3, 4]]), zn.tensor([0n, 3n, -1n])).toArray(); // [1, 4, 4]
 * ```
 */
export function take(x: Tensor, index: Tensor): Tensor {
  checkTensor(x, "take", "input");
  const idx = checkIndex(index, "take");
  const flat = indexSelect(flatten(x), 0, flatten(wrapNegative(idx, x.numel)));
  return reshape(flat, idx.shape as number[]);
}

/**
 * `gather` along `dim` with x and `indices` broadcast against each other in
 * the other dims (without a dim: of the flattened tensors), as
 * `torch.take_along_dim` (indices in [0, size): no negative ones).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[10, 30, 20]]);
 * zn.takeAlongDim(x, x.argsort(1), 1).toArray(); // [[10, 20, 30]]
 * ```
 */
export function takeAlongDim(x: Tensor, indices: Tensor, dim?: number): Tensor {
  checkTensor(x, "takeAlongDim", "input");
  const idx = checkIndex(indices, "takeAlongDim", "indices");
  if (dim === undefined) return gather(flatten(x), 0, flatten(idx));
  checkIntArg(dim, "takeAlongDim", "dim");
  if (idx.ndim !== x.ndim) {
    throw new RangeError(
      `takeAlongDim: input and indices should have the same number of dimensions, got ${x.ndim} and ${idx.ndim}`,
    );
  }
  const d = normDim(dim, x.ndim, "takeAlongDim");
  const xs = x.shape.slice(), is = idx.shape.slice();
  xs[d] = 1;
  is[d] = 1;
  const b = broadcastShapes("takeAlongDim", xs, is);
  const xb = expand(x, b.map((s, i) => (i === d ? x.shape[d] : s)));
  const ib = expand(idx, b.map((s, i) => (i === d ? idx.shape[d] : s)));
  return gather(xb, d, ib);
}

/** The index along `dim` repeated over source's other dims (scatter's index). */
function spread(index: Tensor, source: Tensor, d: number, op: string): Tensor {
  if (index.ndim > 1) {
    throw new RangeError(`${op}: index must be 0-D or 1-D, got ${index.ndim} dims`);
  }
  const n = index.numel;
  if (source.ndim === 0 ? n !== 1 : source.shape[d] !== n) {
    throw new RangeError(
      `${op}: source has ${
        source.ndim === 0 ? 1 : source.shape[d]
      } slices along dim ${d} but index has ${n} entries`,
    );
  }
  const view = source.shape.map((_, i) => (i === d ? n : 1));
  return expand(reshape(index, view), source.shape as number[]);
}

/** Options of {@link indexAdd}. */
export interface IndexAddOptions {
  /** Scales source (default 1). */
  alpha?: number;
}
const INDEX_ADD_KEYS = ["alpha"] as const;

function checkIndexPlacement(x: Tensor, source: Tensor, d: number, op: string): void {
  if (source.ndim !== x.ndim) {
    throw new RangeError(
      `${op}: source ${fmtShape(source.shape)} must have as many dims as input ${
        fmtShape(x.shape)
      }`,
    );
  }
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && source.shape[i] !== x.shape[i]) {
      throw new RangeError(
        `${op}: source ${fmtShape(source.shape)} and input ${
          fmtShape(x.shape)
        } must match outside dim ${d}`,
      );
    }
  }
}

/**
 * x plus `alpha * source[.., i, ..]` added at `x[.., index[i], ..]` along
 * `dim` (repeated indices add up), as `torch.index_add`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.indexAdd(zn.zeros([3]), 0, zn.tensor([0n, 2n, 0n]), zn.tensor([1, 2, 3])).toArray(); // [4, 0, 2]
 * ```
 */
export function indexAdd(
  x: Tensor,
  dim: number,
  index: Tensor,
  source: Tensor,
  opts: IndexAddOptions = {},
): Tensor {
  checkTensor(x, "indexAdd", "input");
  checkIntArg(dim, "indexAdd", "dim");
  checkTensor(source, "indexAdd", "source");
  checkOptions("indexAdd", opts, INDEX_ADD_KEYS);
  const alpha = opts.alpha ?? 1;
  checkNumber(alpha, "indexAdd", "alpha");
  const idx = checkIndex(index, "indexAdd");
  const d = normDim(dim, Math.max(x.ndim, 1), "indexAdd");
  checkIndexPlacement(x, source, d, "indexAdd");
  const src = alpha === 1 ? source.to(x.dtype) : mul(source, alpha).to(x.dtype);
  return scatter(x, d, spread(idx, source, d, "indexAdd"), src, true);
}

/**
 * x with `x[.., index[i], ..] = source[.., i, ..]` along `dim`, as
 * `torch.index_copy` (with repeated indices, one of the values wins).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.indexCopy(zn.zeros([3]), 0, zn.tensor([2n, 0n]), zn.tensor([5, 6])).toArray(); // [6, 0, 5]
 * ```
 */
export function indexCopy(x: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  checkTensor(x, "indexCopy", "input");
  checkIntArg(dim, "indexCopy", "dim");
  checkTensor(source, "indexCopy", "source");
  const idx = checkIndex(index, "indexCopy");
  const d = normDim(dim, Math.max(x.ndim, 1), "indexCopy");
  checkIndexPlacement(x, source, d, "indexCopy");
  return scatter(x, d, spread(idx, source, d, "indexCopy"), source.to(x.dtype), false);
}

/** Options of {@link meshgrid}. */
export interface MeshgridOptions {
  /** "ij": the first tensor varies along dim 0 (default); "xy": along dim 1. */
  indexing?: "ij" | "xy";
}
const MESHGRID_KEYS = ["indexing"] as const;

/**
 * Grids from 1-D (or 0-D) tensors: the i-th result varies along dim i and
 * repeats along the others (views), as `torch.meshgrid`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const [gx, gy] = zn.meshgrid([zn.tensor([1, 2]), zn.tensor([3, 4, 5])]);
 * gx.shape; // [2, 3]
 * ```
 */
export function meshgrid(tensors: readonly Tensor[], opts: MeshgridOptions = {}): Tensor[] {
  checkArray(tensors, "meshgrid", "tensors");
  checkOptions("meshgrid", opts, MESHGRID_KEYS);
  const indexing = opts.indexing ?? "ij";
  if (indexing !== "ij" && indexing !== "xy") {
    throw new RangeError(`meshgrid: indexing must be "ij" or "xy", got ${String(indexing)}`);
  }
  if (tensors.length === 0) throw new RangeError("meshgrid: expected at least one tensor");
  tensors.forEach((t, i) => {
    checkTensor(t, "meshgrid", `tensors[${i}]`);
    if (t.ndim > 1) {
      throw new RangeError(`meshgrid: expected 0-D or 1-D tensors, got ${fmtShape(t.shape)}`);
    }
  });
  const sizes = tensors.map((t) => t.numel);
  const swap = indexing === "xy" && tensors.length >= 2;
  // "xy" is "ij" with the first two inputs' dims exchanged.
  const order = sizes.map((_, i) => (swap && i < 2 ? 1 - i : i));
  const shape = order.map((i) => sizes[i]);
  return tensors.map((t, i) => {
    const at = order.indexOf(i);
    const view = shape.map((s, k) => (k === at ? s : 1));
    return expand(reshape(t, view), shape);
  });
}

/**
 * The cartesian product of 1-D tensors: `[n1 * n2 * ..., k]` rows in
 * row-major order (one tensor: itself), as `torch.cartesian_prod`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cartesianProd(zn.tensor([1, 2]), zn.tensor([3, 4])).toArray(); // [[1, 3], [1, 4], [2, 3], [2, 4]]
 * ```
 */
export function cartesianProd(...tensors: Tensor[]): Tensor {
  if (tensors.length === 0) throw new RangeError("cartesianProd: expected at least one tensor");
  tensors.forEach((t, i) => {
    checkTensor(t, "cartesianProd", `tensors[${i}]`);
    if (t.ndim !== 1) {
      throw new RangeError(`cartesianProd: expected 1-D tensors, got ${fmtShape(t.shape)}`);
    }
  });
  if (tensors.length === 1) return tensors[0];
  return stack(meshgrid(tensors).map((g) => flatten(g)), 1);
}

/** Options of {@link searchsorted}. */
export interface SearchsortedOptions {
  /** The last suitable index instead of the first (default false). */
  right?: boolean;
  /** "left" or "right", as `right` (PyTorch's alternative spelling). */
  side?: "left" | "right";
  /** int32 indices instead of int64 (default false). */
  outInt32?: boolean;
}
const SEARCHSORTED_KEYS = ["right", "side", "outInt32"] as const;

/**
 * For each value, the index where it would be inserted into the sorted
 * last dim of `sortedSequence` to keep it sorted (`[..., M]` with values
 * `[..., N]` and the same leading dims, or a 1-D sequence for any values),
 * as `torch.searchsorted`. Computed on the host.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.searchsorted(zn.tensor([1, 3, 5]), zn.tensor([0, 3, 6])).toArray(); // [0n, 1n, 3n]
 * ```
 */
export function searchsorted(
  sortedSequence: Tensor,
  values: Tensor | number,
  opts: SearchsortedOptions = {},
): Tensor {
  checkTensor(sortedSequence, "searchsorted", "sortedSequence");
  checkOptions("searchsorted", opts, SEARCHSORTED_KEYS);
  const vals = typeof values === "number"
    ? tensor([values], { dtype: sortedSequence.dtype, device: sortedSequence.device }).reshape([])
    : values;
  if (!(vals instanceof Tensor)) {
    typeError("searchsorted", "values", "a Tensor or a number", values);
  }
  if (opts.side !== undefined && opts.side !== "left" && opts.side !== "right") {
    throw new RangeError(`searchsorted: side must be "left" or "right", got ${String(opts.side)}`);
  }
  if (
    opts.side !== undefined && opts.right !== undefined && (opts.side === "right") !== opts.right
  ) {
    throw new RangeError("searchsorted: side and right disagree");
  }
  const right = opts.side === "right" || opts.right === true;
  const seq = sortedSequence;
  if (seq.ndim === 0) throw new RangeError("searchsorted: sortedSequence must have at least 1 dim");
  const m = seq.shape[seq.ndim - 1];
  const oneD = seq.ndim === 1;
  if (!oneD) {
    const ok = vals.ndim === seq.ndim &&
      seq.shape.slice(0, -1).every((s, i) => s === vals.shape[i]);
    if (!ok) {
      throw new RangeError(
        `searchsorted: sortedSequence ${fmtShape(seq.shape)} and values ${
          fmtShape(vals.shape)
        } must share their leading dims`,
      );
    }
  }
  const s = Array.from(seq.contiguous().toTypedArray() as ArrayLike<number | bigint>, Number);
  const v = Array.from(vals.contiguous().toTypedArray() as ArrayLike<number | bigint>, Number);
  const n = vals.ndim === 0 ? 1 : vals.shape[vals.ndim - 1];
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const base = oneD ? 0 : Math.floor(i / n) * m;
    const x = v[i];
    let lo = 0, hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = s[base + mid];
      // PyTorch's comparisons, NaN included (a NaN value goes last).
      const before = right ? !(e > x) : !(e >= x);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  const t = tensor(out, { dtype: opts.outInt32 ? "int32" : "int64", device: seq.device });
  return reshape(t, vals.shape as number[]);
}

/** Options of {@link bucketize}. */
export interface BucketizeOptions {
  /** Values equal to a boundary go to the bucket after it (default false). */
  right?: boolean;
  /** int32 indices instead of int64 (default false). */
  outInt32?: boolean;
}
const BUCKETIZE_KEYS = ["right", "outInt32"] as const;

/**
 * The bucket of each value among the sorted 1-D `boundaries`, as
 * `torch.bucketize`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.bucketize(zn.tensor([0, 3, 6]), zn.tensor([1, 3, 5])).toArray(); // [0n, 1n, 3n]
 * ```
 */
export function bucketize(input: Tensor, boundaries: Tensor, opts: BucketizeOptions = {}): Tensor {
  checkTensor(input, "bucketize", "input");
  checkTensor(boundaries, "bucketize", "boundaries");
  checkOptions("bucketize", opts, BUCKETIZE_KEYS);
  if (boundaries.ndim !== 1) {
    throw new RangeError(`bucketize: boundaries must be 1-D, got ${fmtShape(boundaries.shape)}`);
  }
  return searchsorted(boundaries, input, { right: opts.right ?? false, outInt32: opts.outInt32 });
}
