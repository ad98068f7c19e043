/**
 * Indexing: PyTorch's basic indexing (views) and advanced indexing with
 * index tensors (copies), gather, scatter, indexSelect and maskedFill.
 *
 * @module
 */
import { backendFor } from "../backend.ts";
import { deviceMismatch } from "../lifetime.ts";
import { record } from "../autograd/node.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { broadcastShapes, fmtShape, normDim } from "../shape.ts";
import {
  emptyTensor,
  type IndexItem,
  newaxis,
  outputTensor,
  type Slice,
  Tensor,
  type TensorLike,
} from "../tensor.ts";
import {
  add,
  asTensor,
  checkOperand,
  clone,
  copyInto,
  mul,
  toDevice,
  toDType,
  where,
} from "./elementwise.ts";
import { expand, permute, reshape, select, slice, unsqueeze } from "./view.ts";
import { checkOptions } from "../options.ts";
import { checkArray } from "../args.ts";
import { intTensorHint } from "../dtype.ts";

function isSlice(x: unknown): x is Slice {
  return typeof x === "object" && x !== null && !(x instanceof Tensor) && !Array.isArray(x);
}

/** Indices of the true elements of a bool tensor, one int64 tensor per dim. */
function nonzeroIndices(mask: Tensor): Tensor[] {
  const flat = mask.backend.toHost(mask) as Uint8Array;
  const nd = mask.ndim;
  const hits: number[] = [];
  for (let i = 0; i < flat.length; i++) if (flat[i]) hits.push(i);
  const cols: Float64Array[] = [];
  for (let d = 0; d < nd; d++) cols.push(new Float64Array(hits.length));
  for (let h = 0; h < hits.length; h++) {
    let rem = hits[h];
    for (let d = nd - 1; d >= 0; d--) {
      cols[d][h] = rem % mask.shape[d];
      rem = Math.floor(rem / mask.shape[d]);
    }
  }
  return cols.map((c) => fromNumbers(c, mask.device));
}

function fromNumbers(values: ArrayLike<number>, device: string): Tensor {
  const host = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) host[i] = BigInt(values[i]);
  const b = backendFor(device);
  return new Tensor(b.fromHost("int64", host), "int64", [values.length], [1], 0);
}

function sameDevice(op: string, x: Tensor, t: Tensor): void {
  if (t.device !== x.device) throw deviceMismatch(op, x.device, t.device);
}

function indexTensor(item: Tensor | number[] | boolean[], device: string): Tensor {
  if (item instanceof Tensor) {
    // As in PyTorch, CPU index tensors may index tensors on any device.
    if (item.device !== device) {
      if (item.device !== "cpu") throw deviceMismatch("index", device, item.device);
      item = toDevice(item, device);
    }
    if (item.dtype === "bool" || item.dtype === "uint8") {
      return item.dtype === "bool" ? item : toDType(item, "bool");
    }
    if (item.dtype === "int64") return item;
    if (item.dtype === "int32" || item.dtype === "int16" || item.dtype === "int8") {
      return toDType(item, "int64");
    }
    throw new TypeError(
      `index: tensors used as indices must be long, int, byte or bool tensors, got ${item.dtype}${
        intTensorHint(item.dtype)
      }`,
    );
  }
  if (item.length > 0 && typeof item[0] === "boolean") {
    const host = Uint8Array.from(item as boolean[], (b) => b ? 1 : 0);
    return new Tensor(backendFor(device).fromHost("bool", host), "bool", [item.length], [1], 0);
  }
  for (const v of item as number[]) {
    if (!Number.isInteger(v)) {
      throw new TypeError(`index: array indices must be integers, got ${v}`);
    }
    // Past int64 an index would wrap; past 2^53 it has lost its digits.
    if (!Number.isSafeInteger(v)) {
      throw new RangeError(`index: index ${v} is out of range (beyond 2^53)`);
    }
  }
  return fromNumbers(item as number[], device);
}

/** Checks advanced indices against a dim size and wraps negatives. */
function wrapIndex(idx: Tensor, size: number, dim: number): Tensor {
  if (idx.numel === 0) return idx;
  const lo = idx.amin().item() as number;
  const hi = idx.amax().item() as number;
  if (lo < -size || hi >= size) {
    const bad = lo < -size ? lo : hi;
    throw new RangeError(
      `index: index ${bad} is out of bounds for dimension ${dim} with size ${size}`,
    );
  }
  return lo < 0 ? where(idx.lt(0), add(idx, size), idx) : idx;
}

function badItem(it: unknown): TypeError {
  if (it === null || it === undefined) {
    return new TypeError(
      `index: ${it} is not an index item; use ":" (or {}) for a full slice, as in x.index(":", 0) for x[:, 0], and zn.newaxis for a new axis`,
    );
  }
  return new TypeError(
    `index: unsupported index item ${
      typeof it === "string" ? JSON.stringify(it) : String(it)
    }; expected an integer, ":", "...", zn.newaxis, a slice {start, stop, step}, a tensor or an array`,
  );
}

/**
 * PyTorch indexing. Basic items (numbers, `":"` and slices, `zn.newaxis`,
 * `"..."`) give a view; index tensors and arrays (int64 or bool) give a copy,
 * broadcasting together.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.arange(12).reshape(3, 4);
 * x.index(1).toArray(); // [4, 5, 6, 7]
 * x.index(":", 0).toArray(); // x[:, 0]: [0, 4, 8]
 * x.index({ start: 1 }, -1).toArray(); // [7, 11]
 * x.index([0, 2], [1, 3]).toArray(); // [1, 11]
 * x.index(zn.newaxis, "...").shape; // [1, 3, 4]
 * ```
 */
export function index(x: Tensor, items: readonly IndexItem[]): Tensor {
  // How many dims the items consume, to expand "...".
  let consumed = 0, ellipses = 0;
  for (const it of items) {
    if (it === "...") ellipses++;
    else if (it === newaxis) continue;
    else if (it === null || it === undefined) throw badItem(it);
    else if (it instanceof Tensor && (it.dtype === "bool" || it.dtype === "uint8")) {
      consumed += it.ndim;
    } else if (Array.isArray(it) && it.length > 0 && typeof it[0] === "boolean") consumed += 1;
    else consumed++;
  }
  if (ellipses > 1) throw new TypeError("index: an index can only have a single ellipsis ('...')");
  if (consumed > x.ndim) {
    throw new RangeError(`index: too many indices for tensor of dimension ${x.ndim}`);
  }
  let v = x;
  let dim = 0; // next dim of v to index
  const adv: { pos: number; idx: Tensor }[] = [];
  for (const it of items) {
    if (it === "...") {
      dim += x.ndim - consumed;
    } else if (it === ":") {
      dim++;
    } else if (it === newaxis) {
      v = unsqueeze(v, dim);
      dim++;
    } else if (typeof it === "number") {
      if (!Number.isInteger(it)) throw new TypeError(`index: expected an integer index, got ${it}`);
      const size = v.shape[dim];
      if (it < -size || it >= size) {
        throw new RangeError(
          `index: index ${it} is out of bounds for dimension ${dim} with size ${size}`,
        );
      }
      v = select(v, dim, it);
    } else if (it instanceof Tensor || Array.isArray(it)) {
      const t = indexTensor(it, x.device);
      if (t.dtype === "bool") {
        for (let k = 0; k < t.ndim; k++) {
          if (t.shape[k] !== v.shape[dim + k]) {
            throw new RangeError(
              `index: the shape of the mask ${
                fmtShape(t.shape)
              } at index ${k} does not match the shape of the indexed tensor ${
                fmtShape(v.shape)
              } at index ${dim + k}`,
            );
          }
        }
        const parts = nonzeroIndices(t);
        if (t.ndim === 0) {
          // A 0-d mask adds a dim of size 1 (true) or 0 (false).
          v = unsqueeze(v, dim);
          adv.push({ pos: dim++, idx: fromNumbers(t.item() ? [0] : [], x.device) });
        } else {
          for (const p of parts) adv.push({ pos: dim++, idx: p });
        }
      } else {
        adv.push({ pos: dim, idx: wrapIndex(t, v.shape[dim], dim) });
        dim++;
      }
    } else if (isSlice(it)) {
      v = slice(v, dim, it.start, it.stop, it.step);
      dim++;
    } else {
      throw badItem(it);
    }
  }
  if (adv.length === 0) return v;
  return advanced(v, adv);
}

function advanced(v: Tensor, adv: { pos: number; idx: Tensor }[]): Tensor {
  const bshape = broadcastShapes("index", ...adv.map((a) => a.idx.shape));
  const positions = adv.map((a) => a.pos);
  const adjacent = positions.every((p, i) => i === 0 || p === positions[i - 1] + 1);
  const rest = v.shape.map((_, i) => i).filter((i) => !positions.includes(i));
  // Advanced dims first, flattened into one, then a row lookup.
  const moved = permute(v, [...positions, ...rest]);
  const advSizes = positions.map((p) => v.shape[p]);
  const total = advSizes.reduce((a, b) => a * b, 1);
  const flat = reshape(moved, [total, ...rest.map((r) => v.shape[r])]);
  let lin: Tensor | undefined;
  let mult = 1;
  for (let j = adv.length - 1; j >= 0; j--) {
    const term = mult === 1 ? adv[j].idx : mul(adv[j].idx, mult);
    lin = lin === undefined ? term : add(term, lin);
    mult *= advSizes[j];
  }
  const linFlat = reshape(expand(lin!, bshape), [-1]);
  const picked = indexSelect(flat, 0, linFlat);
  const restShape = rest.map((r) => v.shape[r]);
  let out = reshape(picked, [...bshape, ...restShape]);
  if (adjacent && positions[0] > 0) {
    // PyTorch keeps adjacent advanced dims in place.
    const nb = bshape.length;
    const before = rest.filter((r) => r < positions[0]).length;
    const order: number[] = [];
    for (let i = 0; i < before; i++) order.push(nb + i);
    for (let i = 0; i < nb; i++) order.push(i);
    for (let i = nb + before; i < out.ndim; i++) order.push(i);
    out = clone(permute(out, order));
  }
  return out;
}

/**
 * Options of {@link indexPut}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.zeros([3]);
 * const opts: zn.IndexPutOptions = { accumulate: true };
 * x.indexPut_([zn.tensor([0n, 0n, 2n])], zn.tensor(1.0), opts);
 * x.toArray(); // [2, 0, 1]
 * ```
 */
export interface IndexPutOptions {
  /** Add `value` instead of writing it, summing over repeated indices (default false). */
  accumulate?: boolean;
}

const INDEX_PUT_KEYS = ["accumulate"] as const;

/**
 * Writes `value` (broadcast) into the elements that `x.index(...items)`
 * picks, in place; with `accumulate`, adds it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.zeros([3]);
 * x.indexPut_([[0, 2]], 5);
 * x.toArray(); // [5, 0, 5]
 * x.indexPut_([[0, 0]], 1, { accumulate: true });
 * x.toArray(); // [7, 0, 5]
 * ```
 */
export function indexPut(
  x: Tensor,
  items: readonly IndexItem[],
  value: TensorLike,
  opts?: IndexPutOptions,
): void {
  checkArray(items, "indexPut_", "items");
  checkOptions("indexPut_", opts, INDEX_PUT_KEYS);
  const accumulate = opts?.accumulate ?? false;
  if (typeof accumulate !== "boolean") {
    throw new TypeError(`indexPut_: accumulate must be a boolean, got ${typeof accumulate}`);
  }
  checkOperand(value, "indexPut_");
  if (accumulate && (x.dtype === "bool" || x.dtype === "float16" || x.dtype === "bfloat16")) {
    // Summed in a wider type, then stored back (bool: any hit sets true).
    const wide = toDType(x, x.dtype === "bool" ? "int64" : "float32");
    indexPut(wide, items, value instanceof Tensor ? toDType(value, wide.dtype) : value, opts);
    copyInto(x, toDType(wide, x.dtype), "indexPut_");
    return;
  }
  const basicOnly = items.every((it) => !(it instanceof Tensor) && !Array.isArray(it));
  if (basicOnly) {
    // A view: each element is picked once, so adding in place is exact.
    const view = index(x, items);
    copyInto(
      view,
      accumulate ? add(view, asTensor(value, x.dtype, x.device, "indexPut_")) : value,
      "indexPut_",
    );
    return;
  }
  // Enumerate x's elements, index the enumeration, and scatter into place.
  const n = x.numel;
  const pos = reshape(fromNumbers(Array.from({ length: n }, (_, i) => i), x.device), x.shape);
  const where_ = index(pos, items);
  const target = x.isContiguous() ? x : clone(x);
  const flatTarget = reshape(target, [n]);
  const vals = asTensor(value, x.dtype, x.device, "indexPut_");
  const shape = broadcastShapes("indexPut_", where_.shape, vals.shape);
  if (shape.length !== where_.shape.length || shape.some((d, i) => d !== where_.shape[i])) {
    throw new RangeError(
      `indexPut_: shape mismatch: value tensor of shape ${
        fmtShape(vals.shape)
      } cannot be broadcast to indexing result of shape ${fmtShape(where_.shape)}`,
    );
  }
  const idxFlat = reshape(where_, [-1]);
  const srcFlat = reshape(expand(vals, where_.shape), [-1]);
  // accumulate: a scatter-add, which sums over repeated indices.
  x.backend.scatter(accumulate ? "add" : "set", flatTarget, idxFlat, srcFlat, 0, "indexPut_");
  if (target !== x) copyInto(x, target, "indexPut_");
}

function checkIndexDType(index: Tensor, op: string): Tensor {
  if (!(index instanceof Tensor)) throw new TypeError(`${op}: index must be a Tensor`);
  if (index.dtype === "int64") return index;
  if (index.dtype === "int32") return toDType(index, "int64");
  throw new TypeError(
    `${op}: index must be an int64 (or int32) tensor, got ${index.dtype}${
      intTensorHint(index.dtype)
    }`,
  );
}

/**
 * Elements along `dim` at int64 `index` (torch.gather).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[1, 2], [3, 4]]);
 * x.gather(1, zn.tensor([[0n, 0n], [1n, 0n]])).toArray(); // [[1, 1], [4, 3]]
 * ```
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const idx = checkIndexDType(index, "gather");
  sameDevice("gather", x, idx);
  const d = normDim(dim, x.ndim, "gather");
  if (idx.ndim !== x.ndim && !(x.ndim === 0 && idx.ndim <= 1)) {
    throw new RangeError(
      `gather: index tensor must have the same number of dimensions as input tensor (${idx.ndim} vs ${x.ndim})`,
    );
  }
  for (let i = 0; i < x.ndim; i++) {
    if (i !== d && idx.shape[i] > x.shape[i]) {
      throw new RangeError(
        `gather: size of dimension ${i} of index ${
          fmtShape(idx.shape)
        } must not exceed that of input ${fmtShape(x.shape)} except at dimension ${d}`,
      );
    }
  }
  const out = emptyTensor(idx.shape, x.dtype, x.device);
  if (x.ndim === 0) {
    const xs = reshape(x, [1]);
    const is = reshape(idx, [-1]);
    const o = reshape(out, [-1]);
    out.backend.gather(xs, is, o, 0, "gather");
    return out;
  }
  out.backend.gather(x, idx, out, d, "gather");
  return record("gather", [x], out, {}, { dim: d, index: idx, shape: x.shape });
}

/**
 * A copy of `x` with `src` written (or added) at `index` along `dim`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([3]).scatter(0, zn.tensor([0n, 2n]), zn.tensor([5.0, 6.0])).toArray(); // [5, 0, 6]
 * ```
 */
export function scatter(
  x: Tensor,
  dim: number,
  index: Tensor,
  src: TensorLike,
  add_: boolean,
): Tensor {
  const op = add_ ? "scatterAdd" : "scatter";
  const [idx, d, s] = scatterOperands(op, x, dim, index, src);
  if (add_ && (x.dtype === "bool" || x.dtype === "float16" || x.dtype === "bfloat16")) {
    const r = scatter(
      toDType(x, x.dtype === "bool" ? "int64" : "float32"),
      dim,
      idx,
      toDType(s, x.dtype === "bool" ? "int64" : "float32"),
      true,
    );
    return toDType(r, x.dtype);
  }
  const out = noGrad(() => clone(x));
  out.backend.scatter(add_ ? "add" : "set", out, idx, s, d, op);
  return record(add_ ? "scatterAdd" : "scatter", [x, src], out, {}, { dim: d, index: idx });
}

/**
 * @internal The checked operands of a scatter: the int64 index, the
 * normalized dim and src as a tensor of x's dtype (a number expands to the
 * index's shape).
 */
export function scatterOperands(
  op: string,
  x: Tensor,
  dim: number,
  index: Tensor,
  src: TensorLike,
): [Tensor, number, Tensor] {
  const idx = checkIndexDType(index, op);
  sameDevice(op, x, idx);
  const d = normDim(dim, x.ndim, op);
  if (idx.ndim !== x.ndim) {
    throw new RangeError(
      `${op}: index tensor must have the same number of dimensions as self tensor (${idx.ndim} vs ${x.ndim})`,
    );
  }
  checkOperand(src, op);
  let s = asTensor(src, x.dtype, x.device, op);
  if (!(src instanceof Tensor)) s = expand(s, idx.shape);
  if (s.ndim !== idx.ndim) {
    throw new RangeError(
      `${op}: src must have the same number of dimensions as index (${s.ndim} vs ${idx.ndim})`,
    );
  }
  for (let i = 0; i < x.ndim; i++) {
    if (idx.shape[i] > s.shape[i] || (i !== d && idx.shape[i] > x.shape[i])) {
      throw new RangeError(
        `${op}: expected index ${fmtShape(idx.shape)} to be smaller than self ${
          fmtShape(x.shape)
        } apart from dimension ${d} and to be smaller than src ${fmtShape(s.shape)}`,
      );
    }
  }
  return [idx, d, s];
}

/**
 * A copy of `x` with `src` added at `index` along `dim` (torch.scatter_add):
 * out[index[i][j]][j] += src[i][j] for dim 0, and so on.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.scatterAdd(zn.zeros([3]), 0, zn.tensor([0n, 0n, 2n]), zn.tensor([1.0, 2.0, 3.0])).toArray(); // [3, 0, 3]
 * ```
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return scatter(x, dim, index, src, true);
}

/**
 * Slices along `dim` at the int64 indices of a 1-D `index`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).indexSelect(0, zn.tensor([1n, 1n])).toArray(); // [[3, 4], [3, 4]]
 * ```
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const idx0 = checkIndexDType(index, "indexSelect");
  sameDevice("indexSelect", x, idx0);
  if (idx0.ndim > 1) {
    throw new RangeError(
      `indexSelect: index must be 0-D or 1-D, got shape ${fmtShape(idx0.shape)}`,
    );
  }
  const idx = idx0.isContiguous() ? idx0 : clone(idx0);
  const xs = x.ndim === 0 ? noGrad(() => reshape(x, [1])) : x;
  const d = normDim(dim, xs.ndim, "indexSelect");
  const src = xs.isContiguous() ? xs : noGrad(() => clone(xs));
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= xs.shape[i];
  for (let i = d + 1; i < xs.ndim; i++) inner *= xs.shape[i];
  const n = idx.numel;
  const shape = xs.shape.slice();
  shape[d] = n;
  if (xs.shape[d] === 0 && n > 0) {
    throw new RangeError(`indexSelect: index out of range in self (dimension ${d} has size 0)`);
  }
  const out = outputTensor(shape, x.dtype, x.device);
  out.backend.indexSelect(src, idx, out, { outer, r: xs.shape[d], inner }, false, "indexSelect");
  const result = x.ndim === 0 ? noGrad(() => reshape(out, idx.ndim === 0 ? [] : [n])) : out;
  return record("indexSelect", [x], result, {}, {
    dim: d,
    index: idx,
    shape: xs.shape,
    outShape: shape,
  });
}

/**
 * A copy of `x` with `value` where `mask` (bool, broadcast to x) is true.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1.0, -2.0, 3.0]);
 * x.maskedFill(x.lt(0), 0).toArray(); // [1, 0, 3]
 * ```
 */
export function maskedFill(x: Tensor, mask: Tensor, value: TensorLike): Tensor {
  if (!(mask instanceof Tensor) || mask.dtype !== "bool") {
    throw new TypeError(
      `maskedFill: expected a bool mask, got ${mask instanceof Tensor ? mask.dtype : typeof mask}`,
    );
  }
  sameDevice("maskedFill", x, mask);
  const shape = broadcastShapes("maskedFill", x.shape, mask.shape);
  if (shape.length !== x.ndim || shape.some((s, i) => s !== x.shape[i])) {
    throw new RangeError(
      `maskedFill: mask of shape ${fmtShape(mask.shape)} cannot be broadcast to ${
        fmtShape(x.shape)
      }`,
    );
  }
  if (value instanceof Tensor && value.ndim !== 0) {
    throw new RangeError(
      `maskedFill: only supports a 0-dimensional value tensor, got shape ${fmtShape(value.shape)}`,
    );
  }
  const v = asTensor(value, x.dtype, x.device, "maskedFill");
  return where(mask, v, x);
}
