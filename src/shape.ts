/**
 * Shapes, strides, dims and broadcasting.
 *
 * @module
 */

/** The most dims a tensor may have (the native strided kernels' limit). */
export const MAX_DIMS = 32;

/** The largest element count a tensor may hold (kernels index with i32). */
export const MAX_NUMEL = 2 ** 31 - 1;

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major strides of a contiguous tensor. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** True when the strides are those of a row-major contiguous tensor (size-1 dims ignored). */
export function isContiguous(
  shape: readonly number[],
  strides: readonly number[],
): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

/** Whether two shapes (or stride lists) are equal entry by entry. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Formats a shape as PyTorch prints it in messages: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Checks a shape's entries and size, naming `op` in the error. */
export function checkShape(shape: readonly number[], op: string): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${op}: shape must be an array of integers`);
  }
  if (shape.length > MAX_DIMS) {
    throw new RangeError(
      `${op}: ${shape.length} dims is more than the ${MAX_DIMS} supported`,
    );
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${op}: invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`,
      );
    }
  }
  const n = numel(shape);
  if (n > MAX_NUMEL) {
    throw new RangeError(
      `${op}: shape ${fmtShape(shape)} has ${n} elements, more than the ${MAX_NUMEL} supported`,
    );
  }
  return shape.slice();
}

/**
 * Reads a shape given either as one array or as separate numbers, as PyTorch
 * allows: `reshape([3, 8])` and `reshape(3, 8)`.
 */
export function shapeArgs(
  args: readonly (number | readonly number[])[],
  op: string,
): number[] {
  if (args.length === 1 && Array.isArray(args[0])) {
    return (args[0] as number[]).slice();
  }
  for (const a of args) {
    if (typeof a !== "number") {
      throw new TypeError(
        `${op}: expected a shape as an array or as separate integers`,
      );
    }
  }
  return args as number[];
}

/** Wraps a possibly negative dim into [0, ndim), or throws PyTorch's error. */
export function normDim(dim: number, ndim: number, op: string): number {
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new RangeError(
      `${op}: dimension out of range (expected to be in range of [${-n}, ${
        n - 1
      }], but got ${dim})`,
    );
  }
  return dim < 0 ? dim + n : dim;
}

/** Normalises a list of dims, rejecting repeats. */
export function normDims(
  dims: readonly number[],
  ndim: number,
  op: string,
): number[] {
  const out = dims.map((d) => normDim(d, ndim, op));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) {
      throw new RangeError(`${op}: dim ${d} appears multiple times in the list of dims`);
    }
    seen.add(d);
  }
  return out;
}

/** The broadcast shape of several shapes, or PyTorch's error. */
export function broadcastShapes(
  op: string,
  ...shapes: (readonly number[])[]
): number[] {
  let nd = 0;
  for (const s of shapes) nd = Math.max(nd, s.length);
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) {
        out[o] = d;
        continue;
      }
      throw new RangeError(
        `${op}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast (size ${
          out[o]
        } vs ${d} at dim ${o})`,
      );
    }
  }
  return out;
}

/** Strides that view a tensor of `shape`/`strides` as `target` (stride 0 on broadcast dims). */
export function broadcastStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] {
  const out = new Array<number>(target.length).fill(0);
  const off = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === 1 ? 0 : strides[i];
  }
  return out;
}
