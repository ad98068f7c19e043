/**
 * The fused cross entropy behind crossEntropy in loss.ts (float32 and
 * float64 logits `[N, C]` against int64 classes, where the backend has the
 * kernel; float16 and bfloat16 too where it reduces them natively, with
 * float32 row statistics) and its tape rule.
 *
 * @module
 */
import { outputTensor, type Tensor } from "../../tensor.ts";
import { isGradEnabled, noGrad } from "../../autograd/grad_mode.ts";
import { type Node, record } from "../../autograd/node.ts";
import { arange } from "../../ops/creation.ts";
import { where } from "../../ops/elementwise.ts";

/**
 * @internal The fused cross entropy of logits x: [N, C] against int64 classes t: [N]
 * (the mean over the kept rows or the sum), or null where the kernel does
 * not apply. `input` is the caller's tensor (x, or x without its batch dim).
 */
export function fusedCrossEntropy(
  input: Tensor,
  x: Tensor,
  t: Tensor,
  ignoreIndex: number,
  mean: boolean,
): Tensor | null {
  const be = x.backend;
  const dtype = x.dtype;
  if (!be.crossEntropy || !be.crossEntropyBackward || x.ndim !== 2) return null;
  const half = dtype === "float16" || dtype === "bfloat16";
  if (dtype !== "float32" && dtype !== "float64" && !(half && be.halfReduce)) return null;
  // The row statistics and the kept count: float32 for the halves.
  const st = half ? "float32" : dtype;
  const n = x.shape[0], c = x.shape[1];
  if (c === 0 || t.dtype !== "int64" || t.ndim !== 1 || t.shape[0] !== n) return null;
  if (t.device !== x.device || !Number.isSafeInteger(ignoreIndex)) return null;
  const [xc, tc] = noGrad(() => [x.contiguous(), t.contiguous()]);
  const lse = outputTensor([n], st, x.device);
  const loss = outputTensor([], dtype, x.device);
  const count = outputTensor([1], st, x.device);
  be.crossEntropy(xc, tc, lse, loss, count, ignoreIndex, mean);
  return record("crossEntropy", [input], loss, { x: input, t, lse, count }, {
    ignoreIndex,
    mean,
    n,
    c,
  });
}

/** @internal The rule of "crossEntropy" (the fused kernel's loss). */
export function crossEntropyRule(
  g: Tensor,
  s: Record<string, Tensor>,
  ctx: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [ex] = node.edges;
  if (!ex) return [null];
  const n = ctx.n as number, c = ctx.c as number;
  const ignoreIndex = ctx.ignoreIndex as number, mean = ctx.mean as boolean;
  const x = s.x.reshape([n, c]), t = s.t.reshape([n]);
  if (isGradEnabled()) {
    // A graph of the backward itself: (softmax(x) - onehot(t)) on kept rows, times g.
    const kept = t.ne(ignoreIndex);
    const onehot = where(kept, t, 0).unsqueeze(1).eq(arange(c, { device: x.device })).to(x.dtype);
    let dx = x.softmax(1).sub(onehot).mul(kept.unsqueeze(1).to(x.dtype)).mul(g);
    if (mean) dx = dx.div(s.count).to(x.dtype);
    return [dx.reshape(ex.shape)];
  }
  const [x2, t2, g1] = noGrad(() => [x.contiguous(), t.contiguous(), g.contiguous().reshape([1])]);
  const dx = outputTensor([n, c], x.dtype, x.device);
  x.backend.crossEntropyBackward!(x2, t2, s.lse, g1, s.count, dx, ignoreIndex, mean);
  return [noGrad(() => dx.reshape(ex.shape))];
}
