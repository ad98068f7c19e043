/**
 * The singular value decomposition (one-sided Jacobi in float64).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { diagEmbed } from "../ops/diagonal.ts";
import { eye } from "../ops/creation.ts";
import { checkMatrix, matrixDims, recordMulti, runFactor, takeGrads } from "./factor.ts";

/** Options of {@linkcode svd}. */
export interface SvdOptions {
  /** Full U: [m, m] and Vh: [n, n] (true, the default, as PyTorch) or reduced ([m, k], [k, n]). */
  fullMatrices?: boolean;
}

/** @internal U, S, Vh of `a` without a tape (reduced unless `full`). */
export function svdParts(
  a: Tensor,
  full = false,
  vectors = true,
): { u: Tensor; s: Tensor; vh: Tensor } {
  const { batchShape, batch, m, n } = matrixDims(a);
  const k = Math.min(m, n);
  const uc = full ? m : k, vr = full ? n : k;
  const outs = runFactor("svd", "linalg.svd", [a], [
    { shape: [...batchShape, m, vectors ? uc : 0], dtype: a.dtype as "float32" },
    { shape: [...batchShape, k], dtype: a.dtype as "float32" },
    { shape: [...batchShape, vectors ? vr : 0, n], dtype: a.dtype as "float32" },
  ], { batch, m, n, k: full ? 1 : 0, vectors });
  return { u: outs[0], s: outs[1], vh: outs[2] };
}

/**
 * A = U diag(S) Vh: `{ U, S, Vh }`, as PyTorch's named tuple, S descending;
 * batches too. Singular vectors are unique up to sign (and within repeated
 * singular values): compare them through what they reconstruct.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { S } = zn.linalg.svd(zn.tensor([[3.0, 0.0], [0.0, -4.0]]));
 * S.toArray(); // [4, 3]
 * ```
 */
export function svd(a: Tensor, opts: SvdOptions = {}): { U: Tensor; S: Tensor; Vh: Tensor } {
  const op = "linalg.svd";
  for (const k of Object.keys(opts)) {
    if (k !== "fullMatrices") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  checkMatrix(a, op);
  const full = opts.fullMatrices ?? true;
  const { u, s, vh } = noGrad(() => svdParts(a, full));
  const [uu, ss, vv] = recordMulti("linalgSvd", [a], [u, s, vh], {}, { full });
  return { U: uu, S: ss, Vh: vv };
}

/**
 * The singular values, descending.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.svdvals(zn.tensor([[0.0, 2.0], [1.0, 0.0]])).toArray(); // [2, 1]
 * ```
 */
export function svdvals(a: Tensor): Tensor {
  checkMatrix(a, "linalg.svdvals");
  const need = a.requiresGrad;
  const { u, s, vh } = noGrad(() => svdParts(a, false, need));
  return need ? record("linalgSvdvals", [a], s, { u, vh }) : s;
}

/** @internal The rule of "linalgSvdvals": U diag(g) Vh. */
export function linalgSvdvalsRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  return [s.u.mul(g.unsqueeze(-2)).matmul(s.vh)];
}

/** @internal The rule of "linalgSvd" (PyTorch's svd_backward, real case). */
export function linalgSvdRule(
  _g: Tensor,
  _s: Record<string, Tensor>,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const { grads, outs } = takeGrads(c);
  let [u, s, vh] = outs;
  let [gu, gs, gvh] = grads;
  const m = u.shape[u.ndim - 2], n = vh.shape[vh.ndim - 1], k = s.shape[s.ndim - 1];
  if (c.full) {
    u = u.narrow(-1, 0, k);
    vh = vh.narrow(-2, 0, k);
    if (gu) gu = gu.narrow(-1, 0, k);
    if (gvh) gvh = gvh.narrow(-2, 0, k);
  }
  if (!gu && !gvh) {
    if (!gs) return [null];
    return [u.mul(gs.unsqueeze(-2)).matmul(vh)];
  }
  const skew = (x: Tensor) => x.sub(x.mT);
  const s2 = s.mul(s);
  const id = eye(k, { dtype: s.dtype, device: s.device });
  const e = s2.unsqueeze(-2).sub(s2.unsqueeze(-1)).add(id);
  let ga: Tensor | null = null;
  const gv = gvh ? gvh.mT : null;
  if (gu) ga = skew(u.mT.matmul(gu)).mul(s.unsqueeze(-2));
  if (gv) {
    const t = s.unsqueeze(-1).mul(skew(vh.matmul(gv)));
    ga = ga ? ga.add(t) : t;
  }
  ga = ga!.div(e).mul(id.mul(-1).add(1));
  if (gs) ga = ga.add(diagEmbed(gs));
  if (m > k && gu) {
    ga = u.matmul(ga);
    const gus = gu.div(s.unsqueeze(-2));
    ga = ga.add(gus).sub(u.matmul(u.mT.matmul(gus)));
    return [ga.matmul(vh)];
  }
  if (n > k && gv) {
    ga = ga.matmul(vh);
    const sgvh = gv.mT.div(s.unsqueeze(-1));
    ga = ga.add(sgvh).sub(sgvh.matmul(vh.mT).matmul(vh));
    return [u.matmul(ga)];
  }
  return [u.matmul(ga).matmul(vh)];
}
