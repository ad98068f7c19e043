/**
 * Matrix multiply with PyTorch's rules: 1-D operands gain and lose a dim,
 * batch dims broadcast, transposed operands reach the kernel as strides.
 *
 * @module
 */
import { isFloating } from "../dtype.ts";
import { broadcastShapes, fmtShape } from "../shape.ts";
import { outputTensor, Tensor } from "../tensor.ts";
import { toDType } from "./elementwise.ts";
import { expand, reshape, unsqueeze } from "./view.ts";
import { record } from "../autograd/node.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { lowerPrecision } from "../amp/autocast.ts";

/**
 * Matrix product: dot for two vectors, mat-vec, mat-mat, and batched with
 * broadcast batch dims.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[1, 2], [3, 4]]);
 * zn.matmul(a, a.mT).toArray(); // [[5, 11], [11, 25]]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  [a, b] = lowerPrecision(a, b) as [Tensor, Tensor];
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) {
    throw new TypeError("matmul: both arguments must be Tensors");
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: both arguments to matmul need to be at least 1D, but they are ${a.ndim}D and ${b.ndim}D`,
    );
  }
  if (a.dtype !== b.dtype) {
    throw new TypeError(
      `matmul: expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`,
    );
  }
  if (a.dtype === "bool") throw new TypeError("matmul: bool tensors are not supported");
  if (a.device !== b.device) {
    throw new Error(
      `matmul: expected all tensors on the same device, but found ${a.device} and ${b.device}`,
    );
  }
  const aShape = a.ndim === 1 ? [1, a.shape[0]] : a.shape.slice();
  const bShape = b.ndim === 1 ? [b.shape[0], 1] : b.shape.slice();
  const m = aShape[aShape.length - 2], k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2], n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new RangeError(
      `matmul: shapes ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      } cannot be multiplied (${k} != ${k2})`,
    );
  }
  if (a.ndim >= 3 && b.ndim === 2) {
    // [..., m, k] @ [k, n] is one GEMM over all the rows (as a linear layer on
    // [B, T, C] input needs), not a batch of small ones over a broadcast b;
    // the tape records the two reshapes and a 2-D matmul, whose rule then
    // gives b's gradient as one GEMM too.
    const lead = a.shape.slice(0, -1);
    const rows = lead.reduce((x, y) => x * y, 1);
    return reshape(matmul(reshape(a, [rows, k]), b), [...lead, n]);
  }
  const batch = broadcastShapes("matmul", aShape.slice(0, -2), bShape.slice(0, -2));
  const nb = batch.reduce((x, y) => x * y, 1);
  const half = a.dtype === "float16" || a.dtype === "bfloat16";
  const compute = half && !a.backend.halfMatmul ? "float32" : a.dtype;
  // The kernel's operands are internal views: the tape records matmul as one op.
  const result = noGrad(() => {
    let ta = a.dtype === compute ? a : toDType(a, compute);
    let tb = b.dtype === compute ? b : toDType(b, compute);
    ta = reshape(expand(reshape(ta, aShape), [...batch, m, k]), [nb, m, k]);
    tb = reshape(expand(reshape(tb, bShape), [...batch, k, n]), [nb, k, n]);
    const out = outputTensor([nb, m, n], compute, a.device);
    out.backend.matmul(ta, tb, out);
    const outShape = [...batch];
    if (a.ndim > 1) outShape.push(m);
    if (b.ndim > 1) outShape.push(n);
    const r = reshape(out, outShape);
    return isFloating(a.dtype) && a.dtype !== compute ? toDType(r, a.dtype) : r;
  });
  if (!a.requiresGrad && !b.requiresGrad) return result;
  return record("matmul", [a, b], result, {
    a: b.requiresGrad ? a : undefined,
    b: a.requiresGrad ? b : undefined,
  }, { bColMajor: b.ndim === 2 && b.strides[0] === 1 && b.strides[1] !== 1 });
}

/**
 * @internal c += a @ b in place, for 2-D float32 or float64 tensors on one
 * device whose backend has `matmulAccumulate`, c contiguous and sharing
 * memory with neither operand; false (c untouched) otherwise, and the caller
 * adds a product instead. The backward pass sums a weight's gradient over its
 * uses this way: one product into the sum instead of a product and an add.
 *
 * @example
 * ```ts ignore
 * const c = zn.zeros([2, 2]);
 * matmulAccumulate(zn.eye(2), zn.ones([2, 2]), c); // c is now all ones
 * ```
 */
export function matmulAccumulate(a: Tensor, b: Tensor, c: Tensor): boolean {
  const be = c.backend;
  if (be.matmulAccumulate === undefined) return false;
  if (a.ndim !== 2 || b.ndim !== 2 || c.ndim !== 2) return false;
  if (c.dtype !== "float32" && c.dtype !== "float64") return false;
  if (a.dtype !== c.dtype || b.dtype !== c.dtype) return false;
  if (a.device !== c.device || b.device !== c.device) return false;
  const [m, k] = a.shape, [k2, n] = b.shape;
  if (k !== k2 || c.shape[0] !== m || c.shape[1] !== n || !c.isContiguous()) return false;
  if (c.storage === a.storage || c.storage === b.storage) return false;
  be.matmulAccumulate(unsqueeze(a, 0), unsqueeze(b, 0), unsqueeze(c, 0));
  return true;
}
