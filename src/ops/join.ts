/**
 * Joining and splitting: cat, stack, split, chunk; triangles.
 *
 * @module
 */
import { promoteTypes } from "../dtype.ts";
import { fmtShape, normDim } from "../shape.ts";
import { emptyTensor, outputTensor, Tensor } from "../tensor.ts";
import { toDType, where } from "./elementwise.ts";
import { narrow, unsqueeze } from "./view.ts";
import { arange } from "./creation.ts";
import { record } from "../autograd/node.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { checkTensor, typeError } from "../args.ts";

function checkList(tensors: readonly Tensor[], op: string): void {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new RangeError(`${op}: expected a non-empty list of Tensors`);
  }
  for (const t of tensors) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a list of Tensors`);
    if (t.device !== tensors[0].device) {
      throw new Error(
        `${op}: expected all tensors on the same device, but found ${t.device} and ${
          tensors[0].device
        }`,
      );
    }
  }
}

/**
 * Concatenates along `dim`; the other sizes must match. Dtypes promote.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cat([zn.zeros([1, 2]), zn.ones([2, 2])]).shape; // [3, 2]
 * ```
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  checkList(tensors, "cat");
  // Like PyTorch, 1-D empty tensors are skipped.
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  if (parts.length === 0) return emptyTensor([0], dtype, tensors[0].device);
  const ref = parts[0];
  if (ref.ndim === 0) throw new RangeError("cat: zero-dimensional tensor cannot be concatenated");
  const d = normDim(dim, ref.ndim, "cat");
  let total = 0;
  for (const [i, t] of parts.entries()) {
    if (t.ndim !== ref.ndim) {
      throw new RangeError(
        `cat: tensors must have same number of dimensions: got ${ref.ndim} and ${t.ndim}`,
      );
    }
    for (let k = 0; k < ref.ndim; k++) {
      if (k !== d && t.shape[k] !== ref.shape[k]) {
        throw new RangeError(
          `cat: sizes of tensors must match except in dimension ${d}. Expected size ${
            ref.shape[k]
          } but got size ${t.shape[k]} for tensor number ${i} in the list (shapes ${
            fmtShape(ref.shape)
          } and ${fmtShape(t.shape)})`,
        );
      }
    }
    total += t.shape[d];
  }
  const shape = ref.shape.slice();
  shape[d] = total;
  const out = outputTensor(shape, dtype, ref.device);
  let at = 0;
  for (const t of parts) {
    const len = t.shape[d];
    if (len > 0) out.backend.copy(t, noGrad(() => narrow(out, d, at, len)));
    at += len;
  }
  return record("cat", parts, out, {}, { dim: d, sizes: parts.map((t) => t.shape[d]) });
}

/**
 * Stacks equal-shaped tensors along a new dim.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.stack([zn.zeros([2]), zn.ones([2])], 1).toArray(); // [[0, 1], [0, 1]]
 * ```
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  checkList(tensors, "stack");
  const ref = tensors[0];
  for (const [i, t] of tensors.entries()) {
    if (t.ndim !== ref.ndim || t.shape.some((s, k) => s !== ref.shape[k])) {
      throw new RangeError(
        `stack: expects each tensor to be equal size, but got ${
          fmtShape(ref.shape)
        } at entry 0 and ${fmtShape(t.shape)} at entry ${i}`,
      );
    }
  }
  const d = normDim(dim, ref.ndim + 1, "stack");
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/**
 * Splits into views of `size` along `dim` (the last may be smaller), or
 * into the listed sizes.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(5).split(2).map((t) => t.toArray()); // [[0, 1], [2, 3], [4]]
 * ```
 */
export function split(x: Tensor, size: number | number[], dim = 0): Tensor[] {
  checkTensor(x, "split");
  if (typeof size !== "number" && !Array.isArray(size)) {
    typeError("split", "size", "an integer or an array of integers", size);
  }
  const d = normDim(dim, x.ndim, "split");
  const n = x.shape[d];
  if (Array.isArray(size)) {
    const total = size.reduce((a, b) => a + b, 0);
    if (total !== n || size.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new RangeError(
        `split: split sizes ${
          fmtShape(size)
        } must be non-negative and sum to ${n} (dimension ${d}), but sum to ${total}`,
      );
    }
    const out: Tensor[] = [];
    let at = 0;
    for (const s of size) {
      out.push(narrow(x, d, at, s));
      at += s;
    }
    return out;
  }
  if (!Number.isInteger(size) || size <= 0) {
    if (!(size === 0 && n === 0)) {
      throw new RangeError(`split: split size must be a positive integer, got ${size}`);
    }
  }
  if (n === 0) return [x];
  const out: Tensor[] = [];
  for (let at = 0; at < n; at += size) out.push(narrow(x, d, at, Math.min(size, n - at)));
  return out;
}

/**
 * Splits into `chunks` views of nearly equal size along `dim`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(6).chunk(3).length; // 3
 * ```
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkTensor(x, "chunk");
  if (!Number.isInteger(chunks) || chunks <= 0) {
    throw new RangeError(`chunk: number of chunks must be a positive integer, got ${chunks}`);
  }
  const d = normDim(dim, x.ndim, "chunk");
  const size = Math.ceil(x.shape[d] / chunks);
  return split(x, Math.max(size, x.shape[d] === 0 ? 0 : 1), d);
}

function triangle(x: Tensor, k: number, lower: boolean, op: string): Tensor {
  checkTensor(x, op);
  if (x.ndim < 2) {
    throw new RangeError(`${op}: input tensor must have at least 2 dimensions, got ${x.ndim}`);
  }
  if (!Number.isInteger(k)) throw new TypeError(`${op}: diagonal must be an integer, got ${k}`);
  const m = x.shape[x.ndim - 2], n = x.shape[x.ndim - 1];
  const rows = unsqueeze(arange(m, { device: x.device }), 1);
  const cols = arange(n, { device: x.device });
  const diff = cols.sub(rows);
  const mask = lower ? diff.le(k) : diff.ge(k);
  return where(mask, x, toDType(emptyTensor([], x.dtype, x.device), x.dtype));
}

/**
 * The lower triangle of the last two dims (below diagonal `k`), zeros elsewhere.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ones([2, 2]).tril().toArray(); // [[1, 0], [1, 1]]
 * ```
 */
export function tril(x: Tensor, k = 0): Tensor {
  return triangle(x, k, true, "tril");
}

/**
 * The upper triangle of the last two dims (above diagonal `k`), zeros elsewhere.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ones([2, 2]).triu().toArray(); // [[1, 1], [0, 1]]
 * ```
 */
export function triu(x: Tensor, k = 0): Tensor {
  return triangle(x, k, false, "triu");
}
