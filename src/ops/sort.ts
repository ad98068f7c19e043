/**
 * Sorting: sort (stable, NaN last ascending), argsort and topk.
 *
 * @module
 */
import { normDim } from "../shape.ts";
import { emptyTensor, type Tensor } from "../tensor.ts";
import { clone, toDType } from "./elementwise.ts";
import { narrow, reshape } from "./view.ts";
import { record } from "../autograd/node.ts";
import { checkFlag } from "../options.ts";
import { checkTensor } from "../args.ts";

/**
 * Sorted values and their int64 indices along `dim` (stable; NaN counts as
 * larger than every number, as in PyTorch).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { values, indices } = zn.tensor([3, 1, 2]).sort();
 * values.toArray(); // [1, 2, 3]
 * indices.toArray(); // [1, 2, 0]
 * ```
 */
export function sort(x: Tensor, dim = -1, descending = false): { values: Tensor; indices: Tensor } {
  checkTensor(x, "sort");
  checkFlag("sort", "descending", descending);
  const xs = x.ndim === 0 ? reshape(x, [1]) : x;
  const d = normDim(dim, xs.ndim, "sort");
  const compute = x.dtype === "float16" || x.dtype === "bfloat16" ? "float32" : x.dtype;
  let src = x.dtype === compute ? xs : toDType(xs, compute);
  if (!src.isContiguous()) src = clone(src);
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= xs.shape[i];
  for (let i = d + 1; i < xs.ndim; i++) inner *= xs.shape[i];
  const values = emptyTensor(xs.shape, compute, x.device);
  const indices = emptyTensor(xs.shape, "int64", x.device);
  values.backend.sort(src, { outer, r: xs.shape[d], inner }, values, indices, descending);
  const v0 = compute === x.dtype ? values : toDType(values, x.dtype);
  const v = x.ndim === 0 ? v0 : record("sort", [x], v0, {}, { dim: d, indices, shape: xs.shape });
  return x.ndim === 0
    ? { values: reshape(v, []), indices: reshape(indices, []) }
    : { values: v, indices };
}

/**
 * The `k` largest (or smallest) values along `dim`, sorted, with indices.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1, 9, 4, 7]).topk(2).values.toArray(); // [9, 7]
 * ```
 */
export function topk(
  x: Tensor,
  k: number,
  dim = -1,
  largest = true,
): { values: Tensor; indices: Tensor } {
  checkTensor(x, "topk");
  checkFlag("topk", "largest", largest);
  const d = normDim(dim, Math.max(x.ndim, 1), "topk");
  const size = x.ndim === 0 ? 1 : x.shape[d];
  if (!Number.isInteger(k) || k < 0 || k > size) {
    throw new RangeError(`topk: k (${k}) is out of range for dimension ${d} of size ${size}`);
  }
  const s = sort(x, d, largest);
  if (x.ndim === 0) return s;
  return { values: clone(narrow(s.values, d, 0, k)), indices: clone(narrow(s.indices, d, 0, k)) };
}
