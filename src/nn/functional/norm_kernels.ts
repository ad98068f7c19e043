/**
 * The kernels behind batch and layer norm in normalization.ts: the fused
 * forms (float32 and float64, where the backend has the kernels) with their
 * tape rules, and the composed forms from differentiable reductions, which
 * are the reference the fused kernels are tested against.
 *
 * @module
 */
import { outputTensor, Tensor } from "../../tensor.ts";
import { isGradEnabled, noGrad } from "../../autograd/grad_mode.ts";
import { type Node, record } from "../../autograd/node.ts";

/** @internal The shape `[1, C, 1, ...]` that broadcasts a per-channel value over `input`. */
export function channelShape(input: Tensor): number[] {
  return input.shape.map((s, i) => (i === 1 ? s : 1));
}

/** @internal The batch norm settings the kernels take. */
export interface BatchNormParams {
  training: boolean;
  momentum: number;
  eps: number;
}

function updateRunning(
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  mean: Tensor,
  variance: Tensor,
  n: number,
  momentum: number,
): void {
  noGrad(() => {
    if (runningMean) runningMean.mul_(1 - momentum).add_(mean.reshape(-1).mul(momentum));
    if (runningVar) {
      runningVar.mul_(1 - momentum).add_(variance.reshape(-1).mul(momentum * n / (n - 1)));
    }
  });
}

/**
 * @internal Batch norm composed from reductions: the reference form (and the
 * path where the fused kernels do not apply).
 */
export function batchNormComposed(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  p: BatchNormParams,
): Tensor {
  const dims = input.shape.map((_, i) => i).filter((i) => i !== 1);
  const shape = channelShape(input);
  let mean: Tensor, variance: Tensor;
  if (p.training) {
    mean = input.mean(dims, true);
    variance = input.var(dims, { correction: 0, keepdim: true });
    updateRunning(
      runningMean,
      runningVar,
      mean,
      variance,
      input.numel / input.shape[1],
      p.momentum,
    );
  } else {
    mean = runningMean!.reshape(shape);
    variance = runningVar!.reshape(shape);
  }
  let out = input.sub(mean).mul(variance.add(p.eps).rsqrt());
  if (weight) out = out.mul(weight.reshape(shape));
  if (bias) out = out.add(bias.reshape(shape));
  return out;
}

/** @internal The fused batch norm (three channel kernels), or null where it does not apply. */
export function fusedBatchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  p: BatchNormParams,
): Tensor | null {
  const be = input.backend;
  const dtype = input.dtype;
  if (!be.channelStats || !be.channelGradSums || !be.channelAffine || input.numel === 0) {
    return null;
  }
  if (dtype !== "float32" && dtype !== "float64") return null;
  const n = input.shape[0], c = input.shape[1], s = input.numel / (n * c);
  for (const t of [runningMean, runningVar, weight, bias]) {
    if (t === null) continue;
    if (!(t instanceof Tensor) || t.dtype !== dtype || t.device !== input.device) return null;
    if (t.ndim !== 1 || t.shape[0] !== c) return null;
  }
  const dev = input.device;
  const x = noGrad(() => input.contiguous().reshape([n, c, s]));
  let center: Tensor, rstd: Tensor;
  if (p.training) {
    const mean = outputTensor([c], dtype, dev), variance = outputTensor([c], dtype, dev);
    be.channelStats(x, mean, variance);
    updateRunning(runningMean, runningVar, mean, variance, n * s, p.momentum);
    center = mean;
    rstd = noGrad(() => variance.add(p.eps).rsqrt());
  } else {
    center = noGrad(() => runningMean!.clone());
    rstd = noGrad(() => runningVar!.add(p.eps).rsqrt());
  }
  // y = scale * x + shift per channel.
  const [scale, shift] = noGrad(() => {
    const sc = weight ? weight.mul(rstd) : rstd;
    return [sc, bias ? bias.sub(center.mul(sc)) : center.mul(sc).neg()];
  });
  const out = outputTensor([n, c, s], dtype, dev);
  be.channelAffine(x, null, null, scale, null, shift, out);
  const y = noGrad(() => out.reshape(input.shape));
  return record("batchNorm", [input, weight, bias], y, {
    x: input,
    w: weight ?? undefined,
    center,
    rstd,
  }, { training: p.training, eps: p.eps, n, c, s });
}

/** @internal The rule of "batchNorm" (the fused kernels' forward). */
export function batchNormRule(
  g: Tensor,
  sv: Record<string, Tensor>,
  ctx: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [ex, ew, eb] = node.edges;
  const training = ctx.training as boolean, eps = ctx.eps as number;
  const n = ctx.n as number, c = ctx.c as number, s = ctx.s as number;
  const x = sv.x, w = sv.w ?? null;
  if (isGradEnabled()) {
    // A graph of the backward itself: differentiable ops (batch statistics recomputed from x).
    const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const shape = channelShape(x);
    const rstd = training
      ? x.var(dims, { correction: 0, keepdim: true }).add(eps).rsqrt()
      : sv.rstd.reshape(shape);
    const xhat = x.sub(training ? x.mean(dims, true) : sv.center.reshape(shape)).mul(rstd);
    const wr = w ? w.reshape(shape) : null;
    let dx: Tensor | null = null;
    if (ex && training) {
      const gw = wr ? g.mul(wr) : g;
      dx = rstd.mul(gw.sub(gw.mean(dims, true)).sub(xhat.mul(gw.mul(xhat).mean(dims, true))));
    } else if (ex) dx = g.mul(wr ? wr.mul(rstd) : rstd);
    return [
      dx,
      ew ? g.mul(xhat).sum(dims).reshape(ew.shape) : null,
      eb ? g.sum(dims).reshape(eb.shape) : null,
    ];
  }
  const be = x.backend, dt = x.dtype, dev = x.device;
  const [g3, x3] = noGrad(() => [
    g.contiguous().reshape([n, c, s]),
    x.contiguous().reshape([n, c, s]),
  ]);
  const sg = outputTensor([c], dt, dev), sgx = outputTensor([c], dt, dev);
  be.channelGradSums!(g3, x3, sv.center, sg, sgx);
  let dx: Tensor | null = null;
  if (ex) {
    dx = outputTensor([n, c, s], dt, dev);
    const a = noGrad(() => (w ? w.mul(sv.rstd) : sv.rstd));
    if (training) {
      // dx = a * (g - sg / M - (x - mean) * rstd^2 * sgx / M), M = n * s.
      const m = n * s;
      const [bc, k] = noGrad(() => [
        a.mul(sv.rstd).mul(sv.rstd).mul(sgx).mul(-1 / m),
        a.mul(sg).mul(-1 / m),
      ]);
      be.channelAffine!(g3, x3, sv.center, a, bc, k, dx);
    } else be.channelAffine!(g3, null, null, a, null, null, dx);
  }
  return noGrad(() => [
    dx && ex ? dx.reshape(ex.shape) : null,
    ew ? sgx.mul(sv.rstd).reshape(ew.shape) : null,
    eb ? sg.reshape(eb.shape) : null,
  ]);
}

/**
 * @internal Layer norm composed from reductions over the last `k` dims: the
 * reference form (and the path where no fused kernel applies).
 */
export function layerNormComposed(
  input: Tensor,
  k: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  const dims = Array.from({ length: k }, (_, i) => input.ndim - k + i);
  const mean = input.mean(dims, true);
  const variance = input.var(dims, { correction: 0, keepdim: true });
  let out = input.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) out = out.mul(weight);
  if (bias) out = out.add(bias);
  return out;
}

/** @internal The fused layer norm, or null where the kernel does not apply. */
export function fusedLayerNorm(
  input: Tensor,
  k: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor | null {
  const be = input.backend;
  const dtype = input.dtype;
  if (be.layerNorm === undefined || input.numel === 0) return null;
  if (dtype !== "float32" && dtype !== "float64") return null;
  for (const p of [weight, bias]) {
    if (p && (!(p instanceof Tensor) || p.dtype !== dtype || p.device !== input.device)) {
      return null;
    }
    if (p && p.ndim !== k) return null; // broadcast affine shapes: the composed form
  }
  // x: [rows, d], the normalized dims flattened.
  const d = input.shape.slice(input.ndim - k).reduce((a, s) => a * s, 1);
  const rows = input.numel / d;
  const [x, w, b] = noGrad(() => [
    input.contiguous().reshape([rows, d]),
    weight ? weight.contiguous().reshape([d]) : null,
    bias ? bias.contiguous().reshape([d]) : null,
  ]);
  const out = outputTensor([rows, d], dtype, input.device);
  const mean = outputTensor([rows], dtype, input.device);
  const rstd = outputTensor([rows], dtype, input.device);
  be.layerNorm(x, w, b, out, mean, rstd, eps);
  const y = noGrad(() => out.reshape(input.shape));
  return record("layerNorm", [input, weight, bias], y, {
    x: input,
    w: weight ?? undefined,
    mean,
    rstd,
  }, { eps, k, rows, d });
}

/** @internal The rule of "layerNorm" (the fused kernel's forward). */
export function layerNormRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [ex, ew, eb] = node.edges;
  const eps = c.eps as number, k = c.k as number, rows = c.rows as number, d = c.d as number;
  const x = s.x, w = s.w ?? null;
  if (isGradEnabled()) {
    // A graph of the backward itself: differentiable ops, statistics recomputed from x.
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const lead = Array.from({ length: x.ndim - k }, (_, i) => i);
    const rstd = x.var(dims, { correction: 0, keepdim: true }).add(eps).rsqrt();
    const xhat = x.sub(x.mean(dims, true)).mul(rstd);
    const gw = w ? g.mul(w) : g;
    const dx = ex
      ? rstd.mul(gw.sub(gw.mean(dims, true)).sub(xhat.mul(gw.mul(xhat).mean(dims, true))))
      : null;
    const gx = g.mul(xhat);
    return [
      dx,
      ew ? (lead.length ? gx.sum(lead) : gx) : null,
      eb ? (lead.length ? g.sum(lead) : g) : null,
    ];
  }
  const [g2, x2, w2] = noGrad(() => [
    g.contiguous().reshape([rows, d]),
    x.contiguous().reshape([rows, d]),
    w ? w.contiguous().reshape([d]) : null,
  ]);
  const dev = x.device, dt = x.dtype;
  const dx = ex ? outputTensor([rows, d], dt, dev) : null;
  const dw = ew ? outputTensor([d], dt, dev) : null;
  const db = eb ? outputTensor([d], dt, dev) : null;
  x.backend.layerNormBackward!(g2, x2, s.mean, s.rstd, w2, dx, dw, db);
  return noGrad(() => [
    dx && ex ? dx.reshape(ex.shape) : null,
    dw && ew ? dw.reshape(ew.shape) : null,
    db && eb ? db.reshape(eb.shape) : null,
  ]);
}
