/**
 * Diagonals: diagonal (a view), diag, diagEmbed, trace, and the products
 * built on whole dims: kron and cross.
 *
 * @module
 */
import { fmtShape, normDim } from "../shape.ts";
import { type Tensor, viewOf } from "../tensor.ts";
import { checkIntArg, checkTensor } from "../args.ts";
import { record } from "../autograd/node.ts";
import { mul, sub } from "./elementwise.ts";
import { sum } from "./reduce.ts";
import { eye, zeros } from "./creation.ts";
import { cat } from "./join.ts";
import { movedim } from "./rearrange.ts";
import { narrow, reshape, unsqueeze } from "./view.ts";
import { fullPrecision } from "../amp/autocast.ts";

/**
 * The diagonal `offset` (above the main one when positive) of the matrices
 * in dims `dim1` and `dim2`, as a last dim (a view, as `torch.diagonal`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.diagonal(zn.tensor([[1, 2], [3, 4]])).toArray(); // [1, 4]
 * zn.diagonal(zn.tensor([[1, 2], [3, 4]]), 1).toArray(); // [2]
 * ```
 */
export function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  checkTensor(x, "diagonal");
  checkIntArg(offset, "diagonal", "offset");
  checkIntArg(dim1, "diagonal", "dim1");
  checkIntArg(dim2, "diagonal", "dim2");
  if (x.ndim < 2) throw new RangeError(`diagonal: expected at least 2 dims, got ${x.ndim}`);
  const d1 = normDim(dim1, x.ndim, "diagonal"), d2 = normDim(dim2, x.ndim, "diagonal");
  if (d1 === d2) throw new RangeError(`diagonal: dim1 and dim2 cannot be the same (${d1})`);
  const n1 = x.shape[d1], n2 = x.shape[d2];
  const len = Math.max(0, offset >= 0 ? Math.min(n1, n2 - offset) : Math.min(n1 + offset, n2));
  let start = x.offset;
  if (len > 0) start += offset >= 0 ? offset * x.strides[d2] : -offset * x.strides[d1];
  const keep = [...Array(x.ndim).keys()].filter((d) => d !== d1 && d !== d2);
  const shape = [...keep.map((d) => x.shape[d]), len];
  const strides = [...keep.map((d) => x.strides[d]), x.strides[d1] + x.strides[d2]];
  const out = viewOf(x, shape, strides, start);
  return record("view", [x], out, {}, {
    shape: x.shape,
    place: (z: Tensor) => diagonal(z, offset, d1, d2),
  });
}

/**
 * A 1-D tensor as the diagonal `k` of a square matrix, or a 2-D tensor's
 * diagonal `k` as a new 1-D tensor, as `torch.diag`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.diag(zn.tensor([1, 2])).toArray(); // [[1, 0], [0, 2]]
 * zn.diag(zn.tensor([[1, 2], [3, 4]])).toArray(); // [1, 4]
 * ```
 */
export function diag(x: Tensor, k = 0): Tensor {
  checkTensor(x, "diag");
  checkIntArg(k, "diag", "diagonal");
  if (x.ndim === 1) return diagEmbed(x, k);
  if (x.ndim === 2) return diagonal(x, k).contiguous().clone();
  throw new RangeError(`diag: expected a 1-D or 2-D tensor, got shape ${fmtShape(x.shape)}`);
}

/**
 * Matrices whose diagonal `offset` in dims `dim1` and `dim2` holds the last
 * dim of x (zeros elsewhere), as `torch.diag_embed`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.diagEmbed(zn.tensor([[1, 2], [3, 4]])).shape; // [2, 2, 2]
 * ```
 */
export function diagEmbed(x: Tensor, offset = 0, dim1 = -2, dim2 = -1): Tensor {
  checkTensor(x, "diagEmbed");
  checkIntArg(offset, "diagEmbed", "offset");
  checkIntArg(dim1, "diagEmbed", "dim1");
  checkIntArg(dim2, "diagEmbed", "dim2");
  if (x.ndim === 0) throw new RangeError("diagEmbed: expected at least 1 dim, got 0");
  const nd = x.ndim + 1;
  const d1 = normDim(dim1, nd, "diagEmbed"), d2 = normDim(dim2, nd, "diagEmbed");
  if (d1 === d2) throw new RangeError(`diagEmbed: dim1 and dim2 cannot be the same (${d1})`);
  const n = x.shape[x.ndim - 1], k = Math.abs(offset), size = n + k;
  // Row i of the shifted identity has its one at column i + k: x[..., i] lands at (i, i + k).
  const shift = eye(n, size, { dtype: x.dtype, device: x.device });
  const shifted = offset === 0 ? shift : narrow(
    cat([zeros([n, k], { dtype: x.dtype, device: x.device }), shift], 1),
    1,
    0,
    size,
  );
  let m = mul(unsqueeze(x, -1), shifted); // [..., n, size]
  if (k > 0) {
    const lead = x.shape.slice(0, -1) as number[];
    m = cat([m, zeros([...lead, k, size], { dtype: m.dtype, device: x.device })], -2);
  }
  // Rows are dim1's index for a non-negative offset; a negative one swaps the roles.
  const [rowDim, colDim] = offset >= 0 ? [d1, d2] : [d2, d1];
  return movedim(m, [nd - 2, nd - 1], [rowDim, colDim]).contiguous();
}

/**
 * The sum of a matrix's main diagonal.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.trace(zn.tensor([[1, 2], [3, 4]])).item(); // 5
 * ```
 */
export function trace(x: Tensor): Tensor {
  [x] = fullPrecision(x) as [Tensor];
  checkTensor(x, "trace");
  if (x.ndim !== 2) {
    throw new RangeError(`trace: expected a matrix, got shape ${fmtShape(x.shape)}`);
  }
  return sum(diagonal(x));
}

/**
 * The Kronecker product: blocks `a[i] * b` laid out over every dim, as
 * `torch.kron`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.kron(zn.tensor([1, 2]), zn.tensor([1, 10])).toArray(); // [1, 10, 2, 20]
 * ```
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "kron", "input");
  checkTensor(b, "kron", "other");
  const nd = Math.max(a.ndim, b.ndim);
  const pa = [...Array(nd - a.ndim).fill(1), ...a.shape];
  const pb = [...Array(nd - b.ndim).fill(1), ...b.shape];
  const wa = reshape(a, pa.flatMap((s) => [s, 1]));
  const wb = reshape(b, pb.flatMap((s) => [1, s]));
  return reshape(mul(wa, wb), pa.map((s, i) => s * pb[i]));
}

/**
 * The cross product of 3-vectors along `dim` (default the last), as
 * `torch.linalg.cross`; a and b broadcast.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cross(zn.tensor([1, 0, 0]), zn.tensor([0, 1, 0])).toArray(); // [0, 0, 1]
 * ```
 */
export function cross(a: Tensor, b: Tensor, dim = -1): Tensor {
  checkTensor(a, "cross", "input");
  checkTensor(b, "cross", "other");
  checkIntArg(dim, "cross", "dim");
  const nd = Math.max(a.ndim, b.ndim);
  if (nd === 0) throw new RangeError("cross: expected tensors of at least 1 dim");
  const d = normDim(dim, nd, "cross");
  const size = (t: Tensor) => t.shape[d - (nd - t.ndim)];
  if (size(a) !== 3 || size(b) !== 3) {
    throw new RangeError(
      `cross: dimension ${dim} does not have size 3 (shapes ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      })`,
    );
  }
  const at = (t: Tensor, i: number) => narrow(t, d - (nd - t.ndim), i, 1);
  const c = (i: number, j: number) => sub(mul(at(a, i), at(b, j)), mul(at(a, j), at(b, i)));
  return cat([c(1, 2), c(2, 0), c(0, 1)], d);
}
