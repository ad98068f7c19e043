/**
 * @internal The recurrences of the recurrent layers, composed from
 * differentiable ops (the reference path; gradients come from the ops'
 * rules). One function per cell kind runs one layer in one direction over a
 * whole sequence; the modules call them through `RECURRENT_LAYERS`
 * (rnn_fused.ts), where the fused kernels take the LSTM's and GRU's place
 * and are compared against these.
 *
 * A layer's input is either dense, `[T, B, I]`, or packed data `[N, I]`
 * with `batchSizes` (PyTorch's packed layout: the rows of step `t` follow
 * those of step `t - 1`, and the batch shrinks as sequences end). A dense
 * input is the packed layout with every batch size `B`, so both take one
 * code path.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { cat } from "../ops/join.ts";

/** @internal The weights of one layer in one direction (PyTorch's layout). */
export interface LayerWeights {
  /** `[G * H, I]`: the input-to-gates weight (G = 1, 4 or 3 gates). */
  wIh: Tensor;
  /** `[G * H, H_out]`: the hidden-to-gates weight. */
  wHh: Tensor;
  /** `[G * H]` or null. */
  bIh: Tensor | null;
  /** `[G * H]` or null. */
  bHh: Tensor | null;
  /** `[P, H]`: the LSTM's projection of its hidden state, or null. */
  wHr?: Tensor | null;
}

/** @internal A plain RNN's nonlinearity. */
export type Nonlinearity = "tanh" | "relu";

/** @internal One step: the projected input of the step and the states in, the states out (state 0 is the output). */
type Step = (gx: Tensor, state: Tensor[]) => Tensor[];

// ---------------------------------------------------------------- single steps (also the cells)

/** `h @ w.mT (+ b)`. */
function hidden(h: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const r = h.matmul(w.mT);
  return b ? r.add(b) : r;
}

/**
 * @internal One plain RNN step: `act(gx + h W_hhᵀ + b_hh)`, where `gx` is
 * `x W_ihᵀ + b_ih` (b_hh may be folded into gx, then `bHh` is null).
 */
export function rnnStep(
  gx: Tensor,
  h: Tensor,
  wHh: Tensor,
  bHh: Tensor | null,
  nonlinearity: Nonlinearity,
): Tensor {
  const pre = gx.add(hidden(h, wHh, bHh));
  return nonlinearity === "tanh" ? pre.tanh() : pre.relu();
}

/**
 * @internal One LSTM step, gates in PyTorch's order (i, f, g, o):
 * `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`, then `h' W_hrᵀ` with a
 * projection.
 */
export function lstmStep(
  gx: Tensor,
  h: Tensor,
  c: Tensor,
  wHh: Tensor,
  bHh: Tensor | null,
  wHr: Tensor | null,
): [Tensor, Tensor] {
  const gates = gx.add(hidden(h, wHh, bHh));
  const [i, f, g, o] = gates.chunk(4, 1);
  const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
  const h2 = o.sigmoid().mul(c2.tanh());
  return [wHr ? h2.matmul(wHr.mT) : h2, c2];
}

/**
 * @internal One GRU step, gates in PyTorch's order (r, z, n):
 * `n = tanh(x_n + r (h W_hnᵀ + b_hn))`, `h' = n + z (h - n)`
 * (= `(1 - z) n + z h`).
 */
export function gruStep(gx: Tensor, h: Tensor, wHh: Tensor, bHh: Tensor | null): Tensor {
  const gh = hidden(h, wHh, bHh);
  const [xr, xz, xn] = gx.chunk(3, 1);
  const [hr, hz, hn] = gh.chunk(3, 1);
  const r = xr.add(hr).sigmoid();
  const z = xz.add(hz).sigmoid();
  const n = xn.add(r.mul(hn)).tanh();
  return n.add(z.mul(h.sub(n)));
}

// ---------------------------------------------------------------- one layer, one direction

/**
 * Splits the rows of `x` into one piece per step by halving: the backward
 * pass embeds each view's gradient into its parent, so halving costs
 * `2 log2(T)` passes over `x` where one slice per step would cost `T`.
 */
function stepPieces(x: Tensor, sizes: readonly number[]): Tensor[] {
  const out = new Array<Tensor>(sizes.length);
  const starts = new Array<number>(sizes.length + 1);
  starts[0] = 0;
  for (let t = 0; t < sizes.length; t++) starts[t + 1] = starts[t] + sizes[t];
  const split = (piece: Tensor, lo: number, hi: number): void => {
    if (hi - lo === 1) {
      out[lo] = piece;
      return;
    }
    const mid = (lo + hi) >> 1;
    const left = starts[mid] - starts[lo];
    split(piece.narrow(0, 0, left), lo, mid);
    split(piece.narrow(0, left, starts[hi] - starts[mid]), mid, hi);
  };
  split(x, 0, sizes.length);
  return out;
}

/**
 * Runs `step` over the steps of one direction. `gx` is the projected input,
 * `[N, G]`; `state0` the initial states `[B, *]`. Returns the outputs
 * (state 0 of each step, `[N, *]`, time-major) and the final states, taken
 * for each sequence at its last step (in the forward direction the batch
 * shrinks as sequences end; in reverse it grows from the initial states as
 * they start).
 */
function scan(
  gx: Tensor,
  state0: Tensor[],
  step: Step,
  reverse: boolean,
  sizes: readonly number[],
): { output: Tensor; state: Tensor[] } {
  const steps = sizes.length;
  const pieces = stepPieces(gx, sizes);
  const outs = new Array<Tensor>(steps);
  const batch = state0[0].shape[0];
  let st: Tensor[];
  if (!reverse) {
    st = state0;
    const done: Tensor[][] = [];
    for (let t = 0; t < steps; t++) {
      const bs = sizes[t], cur = st[0].shape[0];
      if (bs < cur) {
        done.push(st.map((s) => s.narrow(0, bs, cur - bs)));
        st = st.map((s) => s.narrow(0, 0, bs));
      }
      st = step(pieces[t], st);
      outs[t] = st[0];
    }
    if (done.length) {
      done.reverse();
      st = st.map((s, k) => cat([s, ...done.map((d) => d[k])], 0));
    }
  } else {
    const last = sizes[steps - 1];
    st = last < batch ? state0.map((s) => s.narrow(0, 0, last)) : state0;
    for (let t = steps - 1; t >= 0; t--) {
      const bs = sizes[t], cur = st[0].shape[0];
      if (bs > cur) st = st.map((s, k) => cat([s, state0[k].narrow(0, cur, bs - cur)], 0));
      st = step(pieces[t], st);
      outs[t] = st[0];
    }
  }
  return { output: steps === 1 ? outs[0] : cat(outs, 0), state: st };
}

/** The input as packed rows `[N, I]` with its batch sizes, and how to shape the output back. */
function rows(
  x: Tensor,
  batchSizes: readonly number[] | null | undefined,
): { flat: Tensor; sizes: readonly number[]; back: (out: Tensor) => Tensor } {
  if (batchSizes) return { flat: x, sizes: batchSizes, back: (o) => o };
  const [t, b] = x.shape;
  return {
    flat: x.reshape([t * b, x.shape[2]]),
    sizes: new Array<number>(t).fill(b),
    back: (o) => o.reshape([t, b, o.shape[1]]),
  };
}

/** `x W_ihᵀ + b`, with the biases given (summed once for RNN and LSTM). */
function project(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const r = x.matmul(w.mT);
  return b ? r.add(b) : r;
}

function foldedBias(w: LayerWeights): Tensor | null {
  if (w.bIh && w.bHh) return w.bIh.add(w.bHh);
  return w.bIh ?? w.bHh;
}

/**
 * @internal A plain RNN layer in one direction. `x` is `[T, B, I]`, or
 * packed rows `[N, I]` with `batchSizes`; `h0` is `[B, H]`. Returns the
 * output (`[T, B, H]` or `[N, H]`) and the final state `[B, H]`.
 */
export function rnnLayerReference(
  x: Tensor,
  h0: Tensor,
  w: LayerWeights,
  reverse: boolean,
  nonlinearity: Nonlinearity,
  batchSizes?: readonly number[] | null,
): [Tensor, Tensor] {
  const { flat, sizes, back } = rows(x, batchSizes);
  const gx = project(flat, w.wIh, foldedBias(w));
  const r = scan(gx, [h0], (g, [h]) => [rnnStep(g, h, w.wHh, null, nonlinearity)], reverse, sizes);
  return [back(r.output), r.state[0]];
}

/**
 * @internal An LSTM layer in one direction. `x` is `[T, B, I]`, or packed
 * rows `[N, I]` with `batchSizes`; `h0` is `[B, H_out]` (H_out = P with a
 * projection), `c0` `[B, H]`. Returns the output (`[T, B, H_out]` or
 * `[N, H_out]`) and the final `h` and `c`.
 */
export function lstmLayerReference(
  x: Tensor,
  h0: Tensor,
  c0: Tensor,
  w: LayerWeights,
  reverse: boolean,
  batchSizes?: readonly number[] | null,
): [Tensor, Tensor, Tensor] {
  const { flat, sizes, back } = rows(x, batchSizes);
  const gx = project(flat, w.wIh, foldedBias(w));
  const wHr = w.wHr ?? null;
  const r = scan(gx, [h0, c0], (g, [h, c]) => lstmStep(g, h, c, w.wHh, null, wHr), reverse, sizes);
  return [back(r.output), r.state[0], r.state[1]];
}

/**
 * @internal A GRU layer in one direction. `x` is `[T, B, I]`, or packed rows
 * `[N, I]` with `batchSizes`; `h0` is `[B, H]`. Returns the output
 * (`[T, B, H]` or `[N, H]`) and the final state.
 */
export function gruLayerReference(
  x: Tensor,
  h0: Tensor,
  w: LayerWeights,
  reverse: boolean,
  batchSizes?: readonly number[] | null,
): [Tensor, Tensor] {
  const { flat, sizes, back } = rows(x, batchSizes);
  const gx = project(flat, w.wIh, w.bIh);
  const r = scan(gx, [h0], (g, [h]) => [gruStep(g, h, w.wHh, w.bHh)], reverse, sizes);
  return [back(r.output), r.state[0]];
}
