/**
 * The kernels behind batch, layer and RMS norm in normalization.ts: the fused
 * forms (float32 and float64, and float16/bfloat16 with float32 statistics
 * where the backend takes them, see Backend.halfNorm) with their tape rules,
 * and the composed forms from differentiable reductions, which are the
 * reference the fused kernels are tested against.
 *
 * @module
 */
import type { Backend } from "../../backend.ts";
import type { DType } from "../../dtype.ts";
import { outputTensor, Tensor } from "../../tensor.ts";
import { isGradEnabled, noGrad } from "../../autograd/grad_mode.ts";
import { type Node, record } from "../../autograd/node.ts";

/**
 * The dtype of a fused norm's statistics for data of `dtype` on `be`: the
 * dtype itself, float32 for the halves where the kernels take them, or null
 * where no fused kernel applies.
 */
function statsType(be: Backend, dtype: DType): DType | null {
  if (dtype === "float32" || dtype === "float64") return dtype;
  if ((dtype === "float16" || dtype === "bfloat16") && be.halfNorm) return "float32";
  return null;
}

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
  const st = statsType(be, dtype);
  if (st === null) return null;
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
    const mean = outputTensor([c], st, dev), variance = outputTensor([c], st, dev);
    be.channelStats(x, mean, variance);
    updateRunning(runningMean, runningVar, mean, variance, n * s, p.momentum);
    center = mean;
    rstd = noGrad(() => variance.add(p.eps).rsqrt());
  } else {
    // Copies of the running statistics (in the statistics' dtype): the saved
    // center must not follow later in-place updates.
    center = noGrad(() => runningMean!.to(st).clone());
    rstd = noGrad(() => runningVar!.to(st).add(p.eps).rsqrt());
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
  }, { training: p.training, eps: p.eps, n, c, s, runningMean, runningVar });
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
  const st = sv.rstd.dtype;
  const [g3, x3] = noGrad(() => [
    g.contiguous().reshape([n, c, s]),
    x.contiguous().reshape([n, c, s]),
  ]);
  const sg = outputTensor([c], st, dev), sgx = outputTensor([c], st, dev);
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
    ew ? sgx.mul(sv.rstd).to(dt).reshape(ew.shape) : null,
    eb ? sg.to(dt).reshape(eb.shape) : null,
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

/**
 * @internal The fused layer norm over the last `k` dims (with `rms`, the RMS
 * norm: no centring, no bias), or null where the kernel does not apply.
 */
export function fusedLayerNorm(
  input: Tensor,
  k: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
  rms = false,
): Tensor | null {
  const be = input.backend;
  const dtype = input.dtype;
  if (be.layerNorm === undefined || input.numel === 0) return null;
  if (rms && (!be.rmsNorm || bias)) return null;
  const st = statsType(be, dtype);
  if (st === null) return null;
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
  const mean = rms ? null : outputTensor([rows], st, input.device);
  const rstd = outputTensor([rows], st, input.device);
  be.layerNorm(x, w, b, out, mean, rstd, eps);
  const y = noGrad(() => out.reshape(input.shape));
  return record(rms ? "rmsNorm" : "layerNorm", [input, weight, bias], y, {
    x: input,
    w: weight ?? undefined,
    mean: mean ?? undefined,
    rstd,
  }, { eps, k, rows, d, rms });
}

/** @internal The rule of "layerNorm" and "rmsNorm" (the fused kernel's forward). */
export function layerNormRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [ex, ew, eb] = node.edges;
  const eps = c.eps as number, k = c.k as number, rows = c.rows as number, d = c.d as number;
  const rms = c.rms as boolean;
  const x = s.x, w = s.w ?? null;
  if (isGradEnabled()) {
    // A graph of the backward itself: differentiable ops, statistics recomputed from x.
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const lead = Array.from({ length: x.ndim - k }, (_, i) => i);
    const rstd = rms
      ? x.square().mean(dims, true).add(eps).rsqrt()
      : x.var(dims, { correction: 0, keepdim: true }).add(eps).rsqrt();
    const xhat = (rms ? x : x.sub(x.mean(dims, true))).mul(rstd);
    const gw = w ? g.mul(w) : g;
    const centred = rms ? gw : gw.sub(gw.mean(dims, true));
    const dx = ex ? rstd.mul(centred.sub(xhat.mul(gw.mul(xhat).mean(dims, true)))) : null;
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
  x.backend.layerNormBackward!(g2, x2, s.mean ?? null, s.rstd, w2, dx, dw, db);
  return noGrad(() => [
    dx && ex ? dx.reshape(ex.shape) : null,
    dw && ew ? dw.reshape(ew.shape) : null,
    db && eb ? db.reshape(eb.shape) : null,
  ]);
}

/**
 * @internal Group norm composed from reductions: the reference form (and the
 * path where the fused kernels do not apply). x: [N, C, *] in `groups`
 * groups of C / groups channels.
 */
export function groupNormComposed(
  input: Tensor,
  groups: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor {
  const n = input.shape[0];
  // The group size spelled out: -1 cannot be inferred for an empty batch.
  let per = input.shape[1] / groups;
  for (let i = 2; i < input.ndim; i++) per *= input.shape[i];
  const g = input.reshape([n, groups, per]);
  const mean = g.mean(2, true);
  const variance = g.var(2, { correction: 0, keepdim: true });
  let out = g.sub(mean).mul(variance.add(eps).rsqrt()).reshape(input.shape);
  const shape = channelShape(input);
  if (weight) out = out.mul(weight.reshape(shape));
  if (bias) out = out.add(bias.reshape(shape));
  return out;
}

/**
 * @internal The fused group norm on the channel kernels, or null where they do
 * not apply. Each group's statistics come from channelStats over x viewed as
 * [1, N * G, (C / G) * S]; the output is one per-(n, c) affine map of x:
 * y = a * x + k, a = rstd[n, g] * w[c], k = b[c] - mean[n, g] * a.
 */
export function fusedGroupNorm(
  input: Tensor,
  groups: number,
  weight: Tensor | null,
  bias: Tensor | null,
  eps: number,
): Tensor | null {
  const be = input.backend;
  const dtype = input.dtype;
  if (!be.channelStats || !be.channelGradSums || !be.channelAffine || input.numel === 0) {
    return null;
  }
  const st = statsType(be, dtype);
  if (st === null) return null;
  const n = input.shape[0], c = input.shape[1], s = input.numel / (n * c), cg = c / groups;
  for (const t of [weight, bias]) {
    if (t === null) continue;
    if (!(t instanceof Tensor) || t.dtype !== dtype || t.device !== input.device) return null;
    if (t.ndim !== 1 || t.shape[0] !== c) return null;
  }
  const dev = input.device;
  const x = noGrad(() => input.contiguous());
  const mean = outputTensor([n * groups], st, dev), variance = outputTensor([n * groups], st, dev);
  be.channelStats(noGrad(() => x.reshape([1, n * groups, cg * s])), mean, variance);
  // Per (n, c): [N, G, 1] statistics against [G, Cg] parameters.
  const [rstd, scale, shift] = noGrad(() => {
    const r = variance.add(eps).rsqrt().reshape([n, groups, 1]);
    const m = mean.reshape([n, groups, 1]);
    const w = weight ? weight.to(st).reshape([groups, cg]) : null;
    const a = (w ? r.mul(w) : r.expand([n, groups, cg])).contiguous().reshape([n * c]);
    let k = m.mul(a.reshape([n, groups, cg])).neg();
    if (bias) k = k.add(bias.to(st).reshape([groups, cg]));
    return [r, a, k.contiguous().reshape([n * c])];
  });
  const out = outputTensor([1, n * c, s], dtype, dev);
  be.channelAffine(noGrad(() => x.reshape([1, n * c, s])), null, null, scale, null, shift, out);
  const y = noGrad(() => out.reshape(input.shape));
  return record("groupNorm", [input, weight, bias], y, {
    x: input,
    w: weight ?? undefined,
    mean,
    rstd,
  }, { groups, eps, n, c, s });
}

/** @internal The rule of "groupNorm" (the fused kernels' forward). */
export function groupNormRule(
  g: Tensor,
  sv: Record<string, Tensor>,
  ctx: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const [ex, ew, eb] = node.edges;
  const groups = ctx.groups as number, eps = ctx.eps as number;
  const n = ctx.n as number, c = ctx.c as number, s = ctx.s as number, cg = c / groups;
  const x = sv.x, w = sv.w ?? null;
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  if (isGradEnabled()) {
    // A graph of the backward itself: differentiable ops, statistics recomputed from x.
    const x3 = x.reshape([n, groups, cg * s]);
    const rstd = x3.var(2, { correction: 0, keepdim: true }).add(eps).rsqrt();
    const xhat = x3.sub(x3.mean(2, true)).mul(rstd);
    const gw = (w ? g.mul(w.reshape(channelShape(x))) : g).reshape([n, groups, cg * s]);
    const dx = ex
      ? rstd.mul(gw.sub(gw.mean(2, true)).sub(xhat.mul(gw.mul(xhat).mean(2, true))))
        .reshape(x.shape)
      : null;
    const xh = xhat.reshape(x.shape);
    return [
      dx,
      ew ? g.mul(xh).sum(dims).reshape(ew.shape) : null,
      eb ? g.sum(dims).reshape(eb.shape) : null,
    ];
  }
  const be = x.backend, dt = x.dtype, dev = x.device;
  const st = sv.rstd.dtype;
  const [g3, x3, center] = noGrad(() => [
    g.contiguous().reshape([1, n * c, s]),
    x.contiguous().reshape([1, n * c, s]),
    sv.mean.reshape([n, groups, 1]).expand([n, groups, cg]).contiguous().reshape([n * c]),
  ]);
  // Per (n, c): sg = sum g, sgx = sum g * (x - mean).
  const sg = outputTensor([n * c], st, dev), sgx = outputTensor([n * c], st, dev);
  be.channelGradSums!(g3, x3, center, sg, sgx);
  let dx: Tensor | null = null;
  if (ex) {
    // dx = rstd * (g w - T1 / M - (x - mean) * rstd^2 * T2 / M) with the group
    // sums T1 = sum w sg, T2 = sum w sgx over the group's channels, M = Cg * S.
    const [a, bc, k] = noGrad(() => {
      const wr = w ? w.to(st).reshape([groups, cg]) : null;
      const sgw = wr ? sg.reshape([n, groups, cg]).mul(wr) : sg.reshape([n, groups, cg]);
      const sgxw = wr ? sgx.reshape([n, groups, cg]).mul(wr) : sgx.reshape([n, groups, cg]);
      const m = cg * s, r = sv.rstd;
      const t1 = sgw.sum(2, true), t2 = sgxw.sum(2, true);
      const flat = (t: Tensor) => t.expand([n, groups, cg]).contiguous().reshape([n * c]);
      return [
        flat(wr ? r.mul(wr) : r),
        flat(r.mul(r).mul(r).mul(t2).mul(-1 / m)),
        flat(r.mul(t1).mul(-1 / m)),
      ];
    });
    dx = outputTensor([1, n * c, s], dt, dev);
    be.channelAffine!(g3, x3, center, a, bc, k, dx);
  }
  return noGrad(() => [
    dx && ex ? dx.reshape(ex.shape) : null,
    ew ? sgx.reshape([n, groups, cg]).mul(sv.rstd).sum(0).to(dt).reshape(ew.shape) : null,
    eb ? sg.reshape([n, c]).sum(0).to(dt).reshape(eb.shape) : null,
  ]);
}
