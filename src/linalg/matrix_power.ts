/**
 * Integer powers of square matrices.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { eye } from "../ops/creation.ts";
import { checkSquare } from "./factor.ts";
import { inv } from "./lu.ts";

/**
 * A to the integer power n (batches too): the identity for n = 0, repeated
 * squaring for n > 0, and the inverse's power for n < 0. Composed of matmul
 * and inv, so its gradient follows.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.matrixPower(zn.tensor([[1.0, 1.0], [0.0, 1.0]]), 3).toArray(); // [[1, 3], [0, 1]]
 * ```
 */
export function matrixPower(a: Tensor, n: number): Tensor {
  const op = "linalg.matrixPower";
  if (!Number.isInteger(n)) throw new TypeError(`${op}: expected an integer exponent, got ${n}`);
  checkSquare(a, op);
  const size = a.shape[a.ndim - 1];
  if (n === 0) {
    return eye(size, { dtype: a.dtype, device: a.device }).expand(a.shape as number[]).contiguous();
  }
  let base = n < 0 ? inv(a) : a;
  let e = Math.abs(n);
  let result: Tensor | null = null;
  while (e > 0) {
    if (e & 1) result = result ? result.matmul(base) : base;
    e >>>= 1;
    if (e > 0) base = base.matmul(base);
  }
  return result === a ? a.clone() : result!;
}
