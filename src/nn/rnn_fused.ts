/**
 * @internal The recurrent layers' fused path: the input projection of every
 * step as one GEMM, then the time loop as one native call (zig/src/rnn.zig:
 * the hidden weights packed once, the hidden GEMM and the gate math of each
 * step fused, threads split over hidden units), forward and backward. It
 * covers dense LSTM and GRU layers without projection, in float32 or
 * float64, on a backend that has the kernels; everything else (packed
 * sequences, `projSize`, plain RNNs, other dtypes) runs the composed
 * reference in rnn_reference.ts, which the tests compare this path with.
 *
 * The native loop has several outputs (the hidden states, the last cell
 * state); the tape records one tensor per op, so they travel packed in one:
 * `[T + 1, B, H]` for the LSTM (rows 0..T-1 the hidden states, row T the last
 * cell state), and the layer's results are views of it.
 *
 * @module
 */
import { outputTensor, type Tensor } from "../tensor.ts";
import { cat } from "../ops/join.ts";
import { zeros } from "../ops/creation.ts";
import { isGradEnabled, noGrad } from "../autograd/grad_mode.ts";
import { type Node, record } from "../autograd/node.ts";
import { grad } from "../autograd/engine.ts";
import { lowerPrecision } from "../amp/autocast.ts";
import {
  gruLayerReference,
  gruStep,
  type LayerWeights,
  lstmLayerReference,
  lstmStep,
  rnnLayerReference,
} from "./rnn_reference.ts";

function fusable(x: Tensor, states: Tensor[], w: LayerWeights, kernels: boolean): boolean {
  if (!kernels) return false;
  const dtype = x.dtype;
  if (dtype !== "float32" && dtype !== "float64") return false;
  if (x.ndim !== 3 || x.shape[0] === 0 || x.shape[1] === 0) return false;
  const tensors = [...states, w.wIh, w.wHh, w.bIh, w.bHh].filter((t): t is Tensor => t !== null);
  return tensors.every((t) => t.dtype === dtype && t.device === x.device);
}

/**
 * The layer's operands in autocast's lower precision when a region is on
 * (all or none, so the fused kernels never see mixed dtypes).
 */
function autocastLayer<H extends Tensor | null, S extends Tensor | null>(
  x: Tensor,
  h0: H,
  c0: S,
  w: LayerWeights,
): [Tensor, H, S, LayerWeights] {
  const [x2, h2, c2, wIh, wHh, bIh, bHh, wHr] = lowerPrecision(
    x,
    h0,
    c0,
    w.wIh,
    w.wHh,
    w.bIh,
    w.bHh,
    w.wHr ?? null,
  );
  if (x2 === x && h2 === h0 && c2 === c0 && wIh === w.wIh) return [x, h0, c0, w];
  return [x2, h2 as H, c2 as S, { wIh, wHh, bIh, bHh, wHr }];
}

/** `x W_ihᵀ + b` over every step: `[T, B, G]`. */
function projectAll(x: Tensor, wIh: Tensor, b: Tensor | null): Tensor {
  const [t, batch, i] = x.shape;
  let r = x.reshape([t * batch, i]).matmul(wIh.mT);
  if (b) {
    const sum = r.add(b);
    // No caller sees the product, and add's rule reads no saved tensor: its
    // memory goes back to the pool now rather than when the collector runs.
    r.dispose();
    r = sum;
  }
  return r.reshape([t, batch, wIh.shape[0]]);
}

/** The hidden states that multiplied W_hh at each step, in time order: `[T, B, H]`. */
function previousStates(y: Tensor, h0: Tensor | undefined, reverse: boolean): Tensor {
  const t = y.shape[0];
  h0 ??= zeros(y.shape.slice(1), { dtype: y.dtype, device: y.device });
  if (t === 1) return h0.unsqueeze(0);
  return reverse
    ? cat([y.narrow(0, 1, t - 1), h0.unsqueeze(0)], 0)
    : cat([h0.unsqueeze(0), y.narrow(0, 0, t - 1)], 0);
}

/**
 * dW_hh = sum over steps and rows of dGᵀ h_prev: one GEMM over all of them,
 * computed as (h_prevᵀ dG)ᵀ: the multiply with the wide output ([H, G] rather
 * than [G, H]) runs about 10% faster here, and the transpose copies only the
 * weight-sized result.
 */
function hiddenWeightGrad(dg: Tensor, y: Tensor, h0: Tensor | undefined, reverse: boolean): Tensor {
  const [t, b, g] = dg.shape;
  const hp = previousStates(y, h0, reverse);
  return hp.reshape([t * b, hp.shape[2]]).mT.matmul(dg.reshape([t * b, g])).mT.contiguous();
}

/**
 * A backward with createGraph differentiates the composed recurrence,
 * recomputed from the node's inputs as given (the native backward is not
 * itself recorded).
 */
function composedGrads(out: Tensor, inputs: (Tensor | undefined)[], g: Tensor, node: Node) {
  const want = inputs.map((t, i) => (node.edges[i] && t ? t : null));
  const live = want.filter((t): t is Tensor => t !== null);
  const got = grad([out], live, { gradOutputs: [g], createGraph: true, allowUnused: true });
  let k = 0;
  return want.map((t) => (t === null ? null : got[k++]));
}

// ---------------------------------------------------------------- LSTM

/**
 * @internal An LSTM layer in one direction: as lstmLayerReference, fused where
 * it can be. One tape entry covers the input projection and the recurrence,
 * so that its rule computes dW_ih and dW_hh as one GEMM over `[x | h_prev]`
 * (the step's rows of dG are read once, and the taller multiply runs faster
 * than two: about 6% on the weight gradients here).
 */
export function lstmLayerFused(
  x: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  w: LayerWeights,
  reverse: boolean,
  batchSizes?: readonly number[] | null,
): [Tensor, Tensor, Tensor] {
  // On PyTorch's lower-precision list (mkldnn_rnn_layer): under autocast the
  // layer runs in the region's dtype, which the composed reference takes.
  [x, h0, c0, w] = autocastLayer(x, h0, c0, w);
  const be = x.backend;
  if (
    batchSizes || w.wHr ||
    !fusable(x, [h0, c0].filter((t) => t !== null), w, !!(be.lstm && be.lstmBackward))
  ) {
    const batch = batchSizes ? batchSizes[0] : x.shape[1];
    const opts = { dtype: x.dtype, device: x.device };
    const hidden = w.wHh.shape[0] / 4;
    h0 ??= zeros([batch, w.wHr ? w.wHr.shape[0] : hidden], opts);
    c0 ??= zeros([batch, hidden], opts);
    return lstmLayerReference(x, h0, c0, w, reverse, batchSizes);
  }
  // The bias goes to the kernel, which adds it in its gate math: a separate
  // add would pass over every step's gates once more.
  const bias = w.bIh && w.bHh ? w.bIh.add(w.bHh) : w.bIh ?? w.bHh;
  const steps = x.shape[0], batch = x.shape[1], h = w.wHh.shape[1];
  const [gx, whh, h0c, c0c, bc] = noGrad(() => [
    x.reshape([steps * batch, x.shape[2]]).matmul(w.wIh.mT).reshape([steps, batch, 4 * h]),
    w.wHh.contiguous(),
    h0?.contiguous() ?? null,
    c0?.contiguous() ?? null,
    bias?.contiguous() ?? null,
  ]);
  const packed = outputTensor([steps + 1, batch, h], x.dtype, x.device);
  const ws = outputTensor([steps, batch, 5 * h], x.dtype, x.device);
  const y = noGrad(() => packed.narrow(0, 0, steps));
  be.lstm!(gx!, whh!, bc, h0c, c0c, y, ws, reverse);
  gx!.dispose();
  noGrad(() => {
    // The cell state after the last step processed, beside the hidden states.
    const last = reverse ? 0 : steps - 1;
    packed.select(0, steps).copy_(ws.select(0, last).narrow(1, 4 * h, h));
  });
  // Null states are zeros the rule rebuilds (none of them needs a gradient).
  const saved: Record<string, Tensor> = { whh: whh!, ws, y, x, wIh: w.wIh, whhIn: w.wHh };
  if (bias) saved.bias = bias;
  if (h0) saved.h0In = h0;
  if (c0) saved.c0In = c0;
  if (h0c) saved.h0 = h0c;
  if (c0c) saved.c0 = c0c;
  const out = record(
    "lstmLayer",
    [x, w.wIh, bias, w.wHh, h0, c0],
    packed,
    saved,
    { reverse },
    [ws],
  );
  const hN = out.select(0, reverse ? 0 : steps - 1);
  return [out.narrow(0, 0, steps), hN, out.select(0, steps)];
}

/** The LSTM layer composed from its inputs, packed as lstmLayerFused's node output. */
function lstmComposed(
  x: Tensor,
  wIh: Tensor,
  bias: Tensor | null,
  whh: Tensor,
  h0: Tensor | undefined,
  c0: Tensor | undefined,
  reverse: boolean,
): Tensor {
  const gx = projectAll(x, wIh, bias);
  const opts = { dtype: x.dtype, device: x.device };
  h0 ??= zeros([x.shape[1], whh.shape[1]], opts);
  c0 ??= zeros([x.shape[1], whh.shape[1]], opts);
  const steps = gx.shape[0];
  const outs = new Array<Tensor>(steps);
  let h = h0, c = c0;
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    [h, c] = lstmStep(gx.select(0, t), h, c, whh, null, null);
    outs[t] = h;
  }
  return cat([...outs.map((o) => o.unsqueeze(0)), c.unsqueeze(0)], 0);
}

/**
 * `[x | h_prev]` for every step, `[T * B, I + H]`: the left factor of both
 * weight gradients. With `ones`, a last column of ones makes the product's
 * last row the bias gradient (the sum of dG over every step and row): the
 * GEMM's partial row panel has room for it, so it costs no multiply, where a
 * separate column sum would read all of dG again.
 */
function inputsAndStates(
  x: Tensor,
  y: Tensor,
  h0: Tensor | undefined,
  reverse: boolean,
  ones: boolean,
): Tensor {
  const [t, b, i] = x.shape;
  const hs = y.shape[2];
  const width = i + hs + (ones ? 1 : 0);
  const a = outputTensor([t, b, width], x.dtype, x.device);
  a.narrow(2, 0, i).copy_(x);
  const hp = a.narrow(2, i, hs);
  if (reverse) {
    if (t > 1) hp.narrow(0, 0, t - 1).copy_(y.narrow(0, 1, t - 1));
  } else {
    if (t > 1) hp.narrow(0, 1, t - 1).copy_(y.narrow(0, 0, t - 1));
  }
  const first = hp.select(0, reverse ? t - 1 : 0);
  if (h0) first.copy_(h0);
  else first.zero_();
  if (ones) a.narrow(2, i + hs, 1).fill_(1);
  return a.reshape([t * b, width]);
}

/** @internal The rule of "lstmLayer". */
export function lstmLayerRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const reverse = c.reverse as boolean;
  if (isGradEnabled()) {
    const inputs = [s.x, s.wIh, s.bias, s.whhIn, s.h0In, s.c0In];
    const out = lstmComposed(s.x, s.wIh, s.bias ?? null, s.whhIn, s.h0In, s.c0In, reverse);
    return composedGrads(out, inputs, g, node);
  }
  const [ex, ewi, eb, ewh, eh, ec] = node.edges;
  const [steps, batch, h] = s.y.shape;
  const gc = noGrad(() => g.contiguous());
  const dy = noGrad(() => gc.narrow(0, 0, steps));
  const dcLast = noGrad(() => gc.select(0, steps));
  const dg = outputTensor([steps, batch, 4 * h], g.dtype, g.device);
  const dh0 = eh ? outputTensor([batch, h], g.dtype, g.device) : null;
  const dc0 = outputTensor([batch, h], g.dtype, g.device);
  g.backend.lstmBackward!(s.whh, s.c0 ?? null, s.ws, dy, dcLast, dg, dh0, dc0, reverse);
  return noGrad(() => {
    const dg2 = dg.reshape([steps * batch, 4 * h]);
    const i = s.x.shape[2];
    let dwi: Tensor | null = null, dwh: Tensor | null = null, db: Tensor | null = null;
    if (ewi && ewh) {
      // (Aᵀ dG)ᵀ with A = [x | h_prev (| 1)]: the multiply with the wide
      // output runs faster than dGᵀ A, and the transposes copy only
      // weight-sized data.
      const r = inputsAndStates(s.x, s.y, s.h0, reverse, !!eb).mT.matmul(dg2);
      dwi = r.narrow(0, 0, i).mT.contiguous();
      dwh = r.narrow(0, i, h).mT.contiguous();
      if (eb) db = r.select(0, i + h).clone();
    } else if (ewi) {
      dwi = s.x.reshape([steps * batch, i]).mT.matmul(dg2).mT.contiguous();
    } else if (ewh) {
      dwh = hiddenWeightGrad(dg, s.y, s.h0, reverse);
    }
    return [
      ex ? dg2.matmul(s.wIh).reshape(s.x.shape) : null,
      dwi,
      eb ? db ?? dg2.sum(0) : null,
      dwh,
      eh ? dh0 : null,
      ec ? dc0 : null,
    ];
  });
}

// ---------------------------------------------------------------- GRU

/** @internal A GRU layer in one direction: as gruLayerReference, fused where it can be. */
export function gruLayerFused(
  x: Tensor,
  h0: Tensor,
  w: LayerWeights,
  reverse: boolean,
  batchSizes?: readonly number[] | null,
): [Tensor, Tensor] {
  [x, h0, , w] = autocastLayer(x, h0, null, w);
  const be = x.backend;
  if (batchSizes || !fusable(x, [h0], w, !!(be.gru && be.gruBackward))) {
    return gruLayerReference(x, h0, w, reverse, batchSizes);
  }
  const gx = projectAll(x, w.wIh, w.bIh);
  const steps = x.shape[0], batch = x.shape[1], h = w.wHh.shape[1];
  const bHh = w.bHh ?? noGrad(() => outputTensor([3 * h], x.dtype, x.device).zero_());
  const [g, whh, bhh, h0c] = noGrad(() => [gx, w.wHh, bHh, h0].map((t) => t.contiguous()));
  const y = outputTensor([steps, batch, h], x.dtype, x.device);
  const ws = outputTensor([steps, batch, 4 * h], x.dtype, x.device);
  be.gru!(g, whh, bhh, h0c, y, ws, reverse);
  const out = record(
    "gruRecurrence",
    [gx, w.wHh, w.bHh, h0],
    y,
    {
      whh,
      h0: h0c,
      ws,
      y,
      gxIn: gx,
      whhIn: w.wHh,
      bhhIn: bHh,
      h0In: h0,
    },
    { reverse },
    [ws, gx],
  );
  return [out, out.select(0, reverse ? 0 : steps - 1)];
}

function gruComposed(gx: Tensor, whh: Tensor, bhh: Tensor, h0: Tensor, reverse: boolean): Tensor {
  const steps = gx.shape[0];
  const outs = new Array<Tensor>(steps);
  let h = h0;
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    h = gruStep(gx.select(0, t), h, whh, bhh);
    outs[t] = h;
  }
  return cat(outs.map((o) => o.unsqueeze(0)), 0);
}

/** @internal The rule of "gruRecurrence". */
export function gruRecurrenceRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const reverse = c.reverse as boolean;
  if (isGradEnabled()) {
    const out = gruComposed(s.gxIn, s.whhIn, s.bhhIn, s.h0In, reverse);
    return composedGrads(out, [s.gxIn, s.whhIn, s.bhhIn, s.h0In], g, node);
  }
  const [egx, ew, eb, eh] = node.edges;
  const [steps, batch, h] = s.y.shape;
  const dy = noGrad(() => g.contiguous());
  const dgx = outputTensor([steps, batch, 3 * h], g.dtype, g.device);
  const dgh = outputTensor([steps, batch, 3 * h], g.dtype, g.device);
  const dh0 = outputTensor([batch, h], g.dtype, g.device);
  g.backend.gruBackward!(s.whh, s.h0, s.y, s.ws, dy, dgx, dgh, dh0, reverse);
  return noGrad(() => [
    egx ? dgx : null,
    ew ? hiddenWeightGrad(dgh, s.y, s.h0, reverse) : null,
    eb ? dgh.sum([0, 1]) : null,
    eh ? dh0 : null,
  ]);
}

/**
 * @internal The layer functions the recurrent modules call: the fused LSTM
 * and GRU (falling back to the references where they do not apply) and the
 * plain RNN's reference.
 */
export const RECURRENT_LAYERS: {
  rnn: typeof rnnLayerReference;
  lstm: typeof lstmLayerFused;
  gru: typeof gruLayerReference;
} = {
  rnn: rnnLayerReference,
  lstm: lstmLayerFused,
  gru: gruLayerFused,
};
