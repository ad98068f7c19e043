/**
 * @internal The math of scaled dot-product attention, composed from
 * differentiable ops (so its gradients come from the rules of matmul,
 * softmax, where and dropout). This is the reference path: a fused kernel
 * (blocked, with an online softmax) is to replace {@link attentionComposed}
 * behind {@link attention} and be tested against it.
 *
 * @module
 */
import { outputTensor, type Tensor } from "../../tensor.ts";
import { ones } from "../../ops/creation.ts";
import { where } from "../../ops/elementwise.ts";
import { isGradEnabled, noGrad } from "../../autograd/grad_mode.ts";
import { type Node, record } from "../../autograd/node.ts";
import { dropout } from "./dropout.ts";

/** @internal What one attention call computes, checked by the caller. */
export interface AttentionPlan {
  /**
   * A bool mask (true = the position takes part) or a float mask (added to
   * the scores, of the query's dtype), broadcastable to the scores
   * `[..., L, S]`; null for none. Never set together with `isCausal`.
   */
  mask: Tensor | null;
  /** Mask with the top-left aligned lower triangle of ones(L, S) (PyTorch's `is_causal`). */
  isCausal: boolean;
  /** The factor on the scores (applied to the query). */
  scale: number;
  /** Dropout probability on the attention weights (0: none). */
  dropoutP: number;
  /**
   * Rows whose every position is masked out give zero weights (as PyTorch's
   * scaled_dot_product_attention) instead of NaN (as a plain softmax, which
   * MultiheadAttention's path with weights uses).
   */
  safeSoftmax: boolean;
}

/**
 * @internal softmax(q kᵀ · scale + mask) v for q `[..., L, E]`, k `[..., S, E]`,
 * v `[..., S, Ev]` (batch dims broadcast): the output `[..., L, Ev]` and the
 * attention weights `[..., L, S]` (after dropout).
 */
export function attentionComposed(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  plan: AttentionPlan,
): { out: Tensor; weights: Tensor } {
  const L = q.shape[q.ndim - 2], S = k.shape[k.ndim - 2];
  // Scaling the query costs L·E products instead of the scores' L·S.
  const qs = plan.scale === 1 ? q : q.mul(plan.scale);
  let scores = qs.matmul(k.mT);
  let empty: Tensor | null = null;
  const mask = plan.mask;
  if (plan.isCausal) {
    scores = where(ones([L, S], { dtype: "bool", device: q.device }).tril(), scores, -Infinity);
  } else if (mask !== null) {
    if (mask.dtype === "bool") {
      scores = where(mask, scores, -Infinity);
      if (plan.safeSoftmax) empty = mask.any(-1, true).logicalNot();
    } else {
      scores = scores.add(mask);
      if (plan.safeSoftmax) empty = mask.eq(-Infinity).all(-1, true);
    }
    // Checked on the (small) mask, so that the usual case pays nothing more.
    if (empty !== null && !(empty.numel > 0 && empty.any().item())) empty = null;
  }
  let weights: Tensor;
  if (empty !== null) {
    // Fully masked rows: softmax of finite stand-ins, then zeros, so that
    // neither the output nor the gradients see the NaN of exp(-inf + inf).
    weights = where(empty, 0, where(empty, 0, scores).softmax(-1));
  } else {
    weights = scores.softmax(-1);
  }
  if (plan.dropoutP > 0) weights = dropout(weights, plan.dropoutP);
  return { out: weights.matmul(v), weights };
}

/**
 * @internal The attention output for a checked plan: the one entry point a
 * fused kernel takes over (falling back to {@link attentionComposed} where it
 * does not apply).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, plan: AttentionPlan): Tensor {
  return fusedAttention(q, k, v, plan) ?? attentionComposed(q, k, v, plan).out;
}

/**
 * @internal The fused kernel (zig/src/attention.zig): blocked, online
 * softmax, memory linear in the sequence length. It takes plans without a
 * mask tensor or dropout, float32 or float64 operands of one dtype (or
 * float16/bfloat16 where the backend takes them, see Backend.halfAttention) on a
 * backend that has it (with head dims up to its attentionMaxHeadDim), and
 * batch dims that agree without broadcasting; null otherwise.
 */
export function fusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  plan: AttentionPlan,
): Tensor | null {
  const be = q.backend;
  if (be.attention === undefined || be.attentionBackward === undefined) return null;
  if (plan.mask !== null || plan.dropoutP > 0) return null;
  const dtype = q.dtype;
  const half = dtype === "float16" || dtype === "bfloat16";
  if (dtype !== "float32" && dtype !== "float64" && !(half && be.halfAttention)) return null;
  if (k.dtype !== dtype || v.dtype !== dtype) return null;
  if (k.device !== q.device || v.device !== q.device) return null;
  const nd = q.ndim;
  if (nd < 2 || k.ndim !== nd || v.ndim !== nd) return null;
  for (let i = 0; i < nd - 2; i++) {
    if (k.shape[i] !== q.shape[i] || v.shape[i] !== q.shape[i]) return null;
  }
  const L = q.shape[nd - 2], E = q.shape[nd - 1], S = k.shape[nd - 2], Ev = v.shape[nd - 1];
  if (k.shape[nd - 1] !== E || v.shape[nd - 2] !== S) return null;
  if (L === 0 || S === 0 || E === 0 || Ev === 0) return null;
  const maxDim = be.attentionMaxHeadDim;
  if (maxDim !== undefined && Math.max(E, Ev) > maxDim) return null;
  const n = q.numel / (L * E);
  const [q3, k3, v3] = noGrad(() => [
    q.contiguous().reshape([n, L, E]),
    k.contiguous().reshape([n, S, E]),
    v.contiguous().reshape([n, S, Ev]),
  ]);
  // The output and each row's log-sum-exp: float32 for the halves (the
  // output rounded once below; backward reads the float32 one).
  const wide = half ? "float32" : dtype;
  const o = outputTensor([n, L, Ev], wide, q.device);
  const lse = outputTensor([n, L], wide, q.device);
  be.attention(q3, k3, v3, o, lse, plan.scale, plan.isCausal);
  const y = noGrad(() => o.to(dtype).reshape([...q.shape.slice(0, nd - 2), L, Ev]));
  // The inputs as given too: a backward with createGraph differentiates through them.
  return record("fusedAttention", [q, k, v], y, {
    q: q3,
    k: k3,
    v: v3,
    o,
    lse,
    qIn: q,
    kIn: k,
    vIn: v,
  }, {
    scale: plan.scale,
    causal: plan.isCausal,
  });
}

/** @internal The rule of "fusedAttention". */
export function fusedAttentionRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [eq, ek, ev] = node.edges;
  const scale = c.scale as number, causal = c.causal as boolean;
  const { q, k, v } = s;
  const oShape = s.o.shape as number[];
  if (isGradEnabled()) {
    // A graph of the backward itself (createGraph): the weights recomputed
    // with differentiable ops from the inputs as given, then the gradient
    // formulas.
    const g3 = g.contiguous().reshape(oShape);
    const qd = s.qIn.reshape(q.shape as number[]), kd = s.kIn.reshape(k.shape as number[]);
    const vd = s.vIn.reshape(v.shape as number[]);
    const L = q.shape[1], S = k.shape[1];
    let scores = qd.mul(scale).matmul(kd.mT);
    if (causal) {
      scores = where(ones([L, S], { dtype: "bool", device: q.device }).tril(), scores, -Infinity);
    }
    const p = scores.softmax(-1);
    const dp = g3.matmul(vd.mT);
    const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true))).mul(scale);
    return [
      eq ? ds.matmul(kd).reshape(eq.shape as number[]) : null,
      ek ? ds.mT.matmul(qd).reshape(ek.shape as number[]) : null,
      ev ? p.mT.matmul(g3).reshape(ev.shape as number[]) : null,
    ];
  }
  const g3 = noGrad(() => g.contiguous().reshape(oShape));
  const dq = outputTensor(q.shape, q.dtype, q.device);
  const dk = outputTensor(k.shape, k.dtype, k.device);
  const dv = outputTensor(v.shape, v.dtype, v.device);
  q.backend.attentionBackward!(q, k, v, s.o, g3, s.lse, dq, dk, dv, scale, causal);
  return noGrad(() => [
    eq ? dq.reshape(eq.shape as number[]) : null,
    ek ? dk.reshape(ek.shape as number[]) : null,
    ev ? dv.reshape(ev.shape as number[]) : null,
  ]);
}
