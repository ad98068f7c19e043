/**
 * View ops: new shapes and strides over the same storage, no copies
 * (reshape copies only when no view exists, as in PyTorch).
 *
 * @module
 */
import {
  checkShape,
  contiguousStrides,
  fmtShape,
  normDim,
  normDims,
  numel,
  shapeArgs,
} from "../shape.ts";
import { type Tensor, viewOf } from "../tensor.ts";
import { checkIntList, checkTensor } from "../args.ts";
import { clone } from "./elementwise.ts";
import { record } from "../autograd/node.ts";
import { noGrad } from "../autograd/grad_mode.ts";

/** @internal Normalises a dim argument for `op`. */
export function dimArg(dim: number, ndim: number, op: string): number {
  return normDim(dim, ndim, op);
}

function inferShape(shape: number[], n: number, op: string): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be inferred`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid shape dimension ${d}`);
    } else {
      known *= d;
    }
  }
  const out = shape.slice();
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new RangeError(`${op}: shape '${fmtShape(shape)}' is invalid for input of size ${n}`);
    }
    out[infer] = n / known;
  } else if (known !== n) {
    throw new RangeError(`${op}: shape '${fmtShape(shape)}' is invalid for input of size ${n}`);
  }
  return checkShape(out, op);
}

/** Strides that view (shape, strides) as newShape, or null (ATen's computeStride). */
export function viewStrides(
  oldShape: readonly number[],
  oldStrides: readonly number[],
  newShape: readonly number[],
): number[] | null {
  if (oldShape.length === 0) return newShape.map(() => 1);
  if (numel(oldShape) === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

/**
 * The same elements with a new shape (-1 infers one size); a view whenever
 * the strides allow, else a copy.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(6).reshape(2, -1).shape; // [2, 3]
 * ```
 */
export function reshape(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  checkTensor(x, "reshape");
  const shape = inferShape(shapeArgs(args, "reshape"), x.numel, "reshape");
  const st = viewStrides(x.shape, x.strides, shape);
  const out = st
    ? viewOf(x, shape, st, x.offset)
    : viewOf(noGrad(() => clone(x)), shape, contiguousStrides(shape), 0);
  return record("reshape", [x], out, {}, { shape: x.shape });
}

/**
 * A view with a new shape; throws when the strides make that impossible.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros(4).view(2, 2).shape; // [2, 2]
 * ```
 */
export function view(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  checkTensor(x, "view");
  const shape = inferShape(shapeArgs(args, "view"), x.numel, "view");
  const st = viewStrides(x.shape, x.strides, shape);
  if (!st) {
    throw new RangeError(
      `view: size ${fmtShape(shape)} is not compatible with input tensor's size ${
        fmtShape(x.shape)
      } and stride ${
        fmtShape(x.strides)
      } (at least one dimension spans across two contiguous subspaces); use reshape instead`,
    );
  }
  return record("reshape", [x], viewOf(x, shape, st, x.offset), {}, { shape: x.shape });
}

/**
 * Swaps two dims (a view).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([2, 3]).transpose(0, 1).shape; // [3, 2]
 * ```
 */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor(x, "transpose");
  const a = normDim(dim0, x.ndim, "transpose");
  const b = normDim(dim1, x.ndim, "transpose");
  if (x.ndim === 0) return record("reshape", [x], viewOf(x, [], [], x.offset), {}, { shape: [] });
  const shape = x.shape.slice();
  const st = x.strides.slice();
  [shape[a], shape[b]] = [shape[b], shape[a]];
  [st[a], st[b]] = [st[b], st[a]];
  return record("transpose", [x], viewOf(x, shape, st, x.offset), {}, { dim0: a, dim1: b });
}

/**
 * Reorders the dims (a view).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([2, 3, 4]).permute(2, 0, 1).shape; // [4, 2, 3]
 * ```
 */
export function permute(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  checkTensor(x, "permute");
  const dims = shapeArgs(args, "permute");
  if (dims.length !== x.ndim) {
    throw new RangeError(
      `permute: number of dims don't match (input has ${x.ndim} dims, got ${dims.length}: ${
        fmtShape(dims)
      })`,
    );
  }
  const p = normDims(dims, x.ndim, "permute");
  const out = viewOf(x, p.map((d) => x.shape[d]), p.map((d) => x.strides[d]), x.offset);
  return record("permute", [x], out, {}, { dims: p });
}

/**
 * The last two dims swapped (a view); needs at least 2 dims.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([5, 2, 3]).mT.shape; // [5, 3, 2]
 * ```
 */
export function mT(x: Tensor): Tensor {
  if (x.ndim < 2) {
    throw new RangeError(
      `mT: tensor.mT is only supported on matrices or batches of matrices. Got ${x.ndim}-D tensor.`,
    );
  }
  return transpose(x, -2, -1);
}

/**
 * Broadcasts size-1 dims (and new leading dims) to `shape`; -1 keeps a size.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1], [2]]).expand(2, 3).toArray(); // [[1, 1, 1], [2, 2, 2]]
 * ```
 */
export function expand(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  checkTensor(x, "expand");
  const target = shapeArgs(args, "expand");
  if (target.length < x.ndim) {
    throw new RangeError(
      `expand: the number of sizes provided (${target.length}) must be greater or equal to the number of dimensions in the tensor (${x.ndim})`,
    );
  }
  const lead = target.length - x.ndim;
  const shape = new Array<number>(target.length);
  const st = new Array<number>(target.length);
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (i < lead) {
      if (t < 0) {
        throw new RangeError(
          `expand: the expanded size ${t} is not allowed in a leading, non-existing dimension ${i}`,
        );
      }
      shape[i] = t;
      st[i] = 0;
      continue;
    }
    const s = x.shape[i - lead];
    if (t === -1 || t === s) {
      shape[i] = s;
      st[i] = x.strides[i - lead];
    } else if (s === 1) {
      shape[i] = t;
      st[i] = 0;
    } else {
      throw new RangeError(
        `expand: the expanded size of the tensor (${t}) must match the existing size (${s}) at non-singleton dimension ${i}. Target sizes: ${
          fmtShape(target)
        }. Tensor sizes: ${fmtShape(x.shape)}`,
      );
    }
  }
  checkShape(shape, "expand");
  return record("expand", [x], viewOf(x, shape, st, x.offset), {}, { shape: x.shape });
}

/**
 * Removes size-1 dims: all of them, or only those named.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([1, 3, 1]).squeeze().shape; // [3]
 * ```
 */
export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  checkTensor(x, "squeeze");
  if (dim !== undefined) checkIntList(dim, "squeeze", "dim", { single: true });
  const which = dim === undefined
    ? x.shape.map((_, i) => i)
    : normDims(typeof dim === "number" ? [dim] : dim, x.ndim, "squeeze");
  const shape: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    if (x.shape[i] === 1 && which.includes(i)) continue;
    shape.push(x.shape[i]);
    st.push(x.strides[i]);
  }
  return record("reshape", [x], viewOf(x, shape, st, x.offset), {}, { shape: x.shape });
}

/**
 * Inserts a size-1 dim at `dim` (negative counts from the end of the result).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([3]).unsqueeze(0).shape; // [1, 3]
 * ```
 */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor(x, "unsqueeze");
  const d = normDim(dim, x.ndim + 1, "unsqueeze");
  const shape = x.shape.slice();
  const st = x.strides.slice();
  const inner = d < x.ndim ? x.strides[d] * x.shape[d] : 1;
  shape.splice(d, 0, 1);
  st.splice(d, 0, inner);
  return record("reshape", [x], viewOf(x, shape, st, x.offset), {}, { shape: x.shape });
}

/**
 * Merges dims `startDim..endDim` into one (a view when possible).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([2, 3, 4]).flatten(1).shape; // [2, 12]
 * ```
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor(x, "flatten");
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.ndim, "flatten");
  const e = normDim(endDim, x.ndim, "flatten");
  if (s > e) throw new RangeError("flatten: start_dim cannot come after end_dim");
  const shape = [
    ...x.shape.slice(0, s),
    x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1),
    ...x.shape.slice(e + 1),
  ];
  return reshape(x, shape);
}

/**
 * Splits `dim` into `sizes` (one may be -1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros([2, 12]).unflatten(1, [3, 4]).shape; // [2, 3, 4]
 * ```
 */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  checkTensor(x, "unflatten");
  checkIntList(sizes, "unflatten", "sizes");
  const d = normDim(dim, x.ndim, "unflatten");
  const inner = inferShape(sizes.slice(), x.shape[d], "unflatten");
  return view(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

/**
 * `length` elements of `dim` starting at `start` (a view; start may be negative).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(10).narrow(0, 2, 3).toArray(); // [2, 3, 4]
 * ```
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor(x, "narrow");
  if (x.ndim === 0) throw new RangeError("narrow: cannot be applied to a 0-dim tensor");
  const d = normDim(dim, x.ndim, "narrow");
  const size = x.shape[d];
  if (!Number.isInteger(start) || start < -size || start > size) {
    throw new RangeError(
      `narrow: start ${start} out of range for dimension ${d} of size ${size}`,
    );
  }
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(length) || length < 0 || s + length > size) {
    throw new RangeError(
      `narrow: start (${s}) + length (${length}) exceeds dimension size (${size})`,
    );
  }
  const shape = x.shape.slice();
  shape[d] = length;
  const out = viewOf(x, shape, x.strides.slice(), x.offset + s * x.strides[d]);
  return record("view", [x], out, {}, {
    shape: x.shape,
    place: (z: Tensor) => narrow(z, d, s, length),
    slice: [d, s, s + length, 1],
  });
}

/**
 * The slice at `index` along `dim`, removing the dim (a view).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).select(1, -1).toArray(); // [2, 4]
 * ```
 */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor(x, "select");
  if (x.ndim === 0) throw new RangeError("select: cannot be applied to a 0-dim tensor");
  const d = normDim(dim, x.ndim, "select");
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(
      `select: index ${index} out of range for tensor of size ${
        fmtShape(x.shape)
      } at dimension ${d}`,
    );
  }
  const i = index < 0 ? index + size : index;
  const shape = x.shape.slice();
  const st = x.strides.slice();
  shape.splice(d, 1);
  st.splice(d, 1);
  const out = viewOf(x, shape, st, x.offset + i * x.strides[d]);
  return record("view", [x], out, {}, {
    shape: x.shape,
    place: (z: Tensor) => select(z, d, i),
    select: [d, i],
  });
}

/**
 * Python slicing `start:stop:step` along `dim` (a view; step must be positive).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(10).index({ start: -3 }).toArray(); // [7, 8, 9]
 * ```
 */
export function slice(
  x: Tensor,
  dim: number,
  start: number | null | undefined,
  stop: number | null | undefined,
  step: number | null | undefined,
): Tensor {
  const d = normDim(dim, x.ndim, "slice");
  const size = x.shape[d];
  const st = step ?? 1;
  if (!Number.isInteger(st) || st <= 0) {
    throw new RangeError(`slice: step must be a positive integer, got ${st}`);
  }
  for (const v of [start, stop]) {
    if (v !== null && v !== undefined && !Number.isInteger(v)) {
      throw new TypeError(`slice: bounds must be integers, got ${v}`);
    }
  }
  const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = start === null || start === undefined ? 0 : clampIdx(start);
  const e = stop === null || stop === undefined ? size : clampIdx(stop);
  const len = e > s ? Math.ceil((e - s) / st) : 0;
  const shape = x.shape.slice();
  const strides = x.strides.slice();
  shape[d] = len;
  strides[d] = x.strides[d] * st;
  const out = viewOf(x, shape, strides, x.offset + (len > 0 ? s * x.strides[d] : 0));
  return record("view", [x], out, {}, {
    shape: x.shape,
    place: (z: Tensor) => slice(z, d, start, stop, step),
    slice: [d, s, e, st],
  });
}
