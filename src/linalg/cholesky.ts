/**
 * The Cholesky factorization of symmetric positive-definite matrices.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { batchPrefix, checkSquare, firstFailure, matrixDims, runFactor } from "./factor.ts";
import { inv } from "./lu.ts";
import { diagEmbed } from "../ops/diagonal.ts";

/** Options of {@linkcode cholesky}. */
export interface CholeskyOptions {
  /** Return the upper factor U = Lᵀ (A = UᵀU) instead of L. */
  upper?: boolean;
}

/**
 * L with A = LLᵀ, for symmetric positive-definite A (only its lower triangle
 * is read, as in PyTorch); batches too. A matrix that is not
 * positive-definite raises, naming the order of the failing minor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.cholesky(zn.tensor([[4.0, 2.0], [2.0, 5.0]])).toArray(); // [[2, 0], [1, 2]]
 * ```
 */
export function cholesky(a: Tensor, opts: CholeskyOptions = {}): Tensor {
  const op = "linalg.cholesky";
  for (const k of Object.keys(opts)) {
    if (k !== "upper") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  checkSquare(a, op);
  const upper = opts.upper ?? false;
  const l = noGrad(() => {
    const { batchShape, batch, n } = matrixDims(a);
    if (n === 0) return a.clone();
    const [l, info] = runFactor("cholesky", op, [a], [
      { shape: a.shape as number[], dtype: a.dtype as "float32" },
      { shape: batchShape, dtype: "int32" },
    ], { batch, m: n, n });
    const bad = firstFailure(info);
    if (bad) {
      throw new RangeError(
        `${op}: ${
          batchPrefix(a, bad.index)
        }The factorization could not be completed because the input is not positive-definite (the leading minor of order ${bad.code} is not positive-definite).`,
      );
    }
    return l;
  });
  const out = record("linalgCholesky", [a], l, { l }, { upper });
  return upper ? out.mT : out;
}

/**
 * @internal The rule of "linalgCholesky" (PyTorch's): with Φ the lower
 * triangle with its diagonal halved, S = L⁻ᵀ Φ(Lᵀ gL) L⁻¹ and gA = (S + Sᵀ)/2.
 */
export function linalgCholeskyRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  const l = s.l;
  const gl = g.tril();
  let p = l.mT.matmul(gl).tril();
  p = p.sub(diagEmbed(p.diagonal(0, -2, -1)).mul(0.5));
  const li = inv(l);
  const sm = li.mT.matmul(p).matmul(li);
  return [sm.add(sm.mT).mul(0.5)];
}
