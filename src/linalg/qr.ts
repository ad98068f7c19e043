/**
 * The QR factorization (Householder, LAPACK's sign convention).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { zeros, zerosLike } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { checkMatrix, matrixDims, recordMulti, runFactor, takeGrads } from "./factor.ts";
import { inv } from "./lu.ts";
import { diagEmbed } from "../ops/diagonal.ts";

/** Options of {@linkcode qr}. */
export interface QrOptions {
  /**
   * "reduced" (the default): Q: [m, k], R: [k, n] with k = min(m, n);
   * "complete": Q: [m, m], R: [m, n]; "r": R only (Q is empty).
   */
  mode?: "reduced" | "complete" | "r";
}

/**
 * A = QR with Q orthonormal and R upper triangular: `{ Q, R }`, as
 * PyTorch's named tuple; batches too.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { Q, R } = zn.linalg.qr(zn.tensor([[3.0, 1.0], [4.0, 2.0]]));
 * Q.matmul(R).toArray(); // [[3, 1], [4, 2]] (to rounding)
 * ```
 */
export function qr(a: Tensor, opts: QrOptions = {}): { Q: Tensor; R: Tensor } {
  const op = "linalg.qr";
  for (const k of Object.keys(opts)) {
    if (k !== "mode") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  const mode = opts.mode ?? "reduced";
  if (mode !== "reduced" && mode !== "complete" && mode !== "r") {
    throw new RangeError(
      `${op}: qr received unrecognized mode '${mode}' but expected one of 'reduced' (default), 'r', or 'complete'`,
    );
  }
  checkMatrix(a, op);
  const { batchShape, batch, m, n } = matrixDims(a);
  const qc = mode === "complete" ? m : Math.min(m, n);
  const [q, r] = noGrad(() => {
    if (batch === 0 || m === 0 || n === 0) {
      const eyeish = zeros([...batchShape, m, qc], { dtype: a.dtype, device: a.device });
      if (m > 0 && qc > 0) eyeish.diagonal(0, -2, -1).fill_(1);
      return [eyeish, zeros([...batchShape, qc, n], { dtype: a.dtype, device: a.device })];
    }
    return runFactor("qr", op, [a], [
      { shape: [...batchShape, m, qc], dtype: a.dtype as "float32" },
      { shape: [...batchShape, qc, n], dtype: a.dtype as "float32" },
    ], { batch, m, n, k: mode === "complete" ? 1 : 0 });
  });
  if (mode === "r") {
    const [rr] = recordMulti("linalgQr", [a], [r], {}, { mode });
    return { Q: zeros([0], { dtype: a.dtype, device: a.device }), R: rr };
  }
  const [qq, rr] = recordMulti("linalgQr", [a], [q, r], {}, { mode });
  return { Q: qq, R: rr };
}

/** copyltu(M): the lower triangle mirrored onto the upper one. */
function copyltu(mm: Tensor): Tensor {
  const low = mm.tril(-1);
  return low.add(low.mT).add(diagEmbed(mm.diagonal(0, -2, -1)));
}

/** The reduced-QR gradient for m >= n: (gQ + Q copyltu(M)) R⁻ᵀ, M = R gRᵀ - gQᵀ Q. */
function tallGrad(gq: Tensor, gr: Tensor, q: Tensor, r: Tensor): Tensor {
  const mm = r.matmul(gr.mT).sub(gq.mT.matmul(q));
  return gq.add(q.matmul(copyltu(mm))).matmul(inv(r).mT);
}

/** @internal The rule of "linalgQr". */
export function linalgQrRule(
  _g: Tensor,
  _s: Record<string, Tensor>,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const { grads, outs } = takeGrads(c);
  const mode = c.mode as string;
  if (mode === "r") {
    throw new Error(
      "linalg.qr: The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use linalg.qr(A, { mode: 'reduced' }) if you are going to differentiate through linalg.qr.",
    );
  }
  const [q, r] = outs;
  const m = q.shape[q.ndim - 2], n = r.shape[r.ndim - 1];
  if (mode === "complete" && m > n) {
    throw new Error(
      "linalg.qr: The QR decomposition is not differentiable when mode='complete' and nrows > ncols.",
    );
  }
  const gq = grads[0] ?? zerosLike(q);
  const gr = grads[1] ?? zerosLike(r);
  if (m >= n) return [tallGrad(gq, gr, q, r)];
  // Wide A = [X | Y] = Q [U | V]: X's gradient as a square QR with gQ + Y gVᵀ.
  const u = r.narrow(-1, 0, m), gu = gr.narrow(-1, 0, m), gv = gr.narrow(-1, m, n - m);
  const y = q.matmul(r.narrow(-1, m, n - m));
  const gx = tallGrad(gq.add(y.matmul(gv.mT)), gu, q, u);
  return [cat([gx, q.matmul(gv)], -1)];
}
