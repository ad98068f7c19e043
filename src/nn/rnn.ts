/**
 * The recurrent layers `RNN`, `LSTM` and `GRU` (and their base `RNNBase`),
 * with PyTorch's parameter names, gate order, initialisation, shapes and
 * packed-sequence handling.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { empty, zeros } from "../ops/creation.ts";
import { cat, stack } from "../ops/join.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { type DType, floatTensorHint, isFloating } from "../dtype.ts";
import { fmtShape } from "../shape.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { uniform_ } from "./init.ts";
import { dropout as dropoutFn } from "./functional/dropout.ts";
import { PackedSequence } from "./utils/rnn.ts";
import { batchSizeList } from "./utils/packed_sizes.ts";
import type { LayerWeights } from "./rnn_reference.ts";
import { RECURRENT_LAYERS } from "./rnn_fused.ts";
import { boolOption, floatDTypeOption } from "./rnn_checks.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkSizeArg, checkTensor, describe, typeError } from "../args.ts";

/**
 * The cell of an {@link RNNBase}: a plain RNN with tanh or ReLU, an LSTM or
 * a GRU (PyTorch's mode names).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const mode: zn.nn.RNNMode = "GRU";
 * new zn.nn.RNNBase(mode, 3, 4).weight_ih_l0.shape; // [12, 3]
 * ```
 */
export type RNNMode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

/**
 * Options of {@link RNNBase}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.RNNBaseOptions = { numLayers: 2, projSize: 2 };
 * new zn.nn.RNNBase("LSTM", 3, 4, opts).weight_hr_l1.shape; // [2, 4]
 * ```
 */
export interface RNNBaseOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn the biases `bias_ih_l{k}` and `bias_hh_l{k}` (default true). */
  bias?: boolean;
  /** Inputs and outputs are `[B, T, *]` (default false: `[T, B, *]`); the states are never batch-first. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** Run a second pass over the reversed sequence and concatenate (default false). */
  bidirectional?: boolean;
  /** LSTM only: project the hidden state to this size (default 0, none). */
  projSize?: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link RNN}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.RNNOptions = { nonlinearity: "relu", batchFirst: true };
 * new zn.nn.RNN(3, 4, opts).call(zn.randn([2, 5, 3]))[0].shape; // [2, 5, 4]
 * ```
 */
export interface RNNOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** The nonlinearity, "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
  /** Learn the biases (default true). */
  bias?: boolean;
  /** Inputs and outputs are `[B, T, *]` (default false: `[T, B, *]`); the states are never batch-first. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** Run a second pass over the reversed sequence and concatenate (default false). */
  bidirectional?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link LSTM}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.LSTMOptions = { projSize: 2, bidirectional: true };
 * new zn.nn.LSTM(3, 4, opts).call(zn.randn([5, 1, 3]))[0].shape; // [5, 1, 4]
 * ```
 */
export interface LSTMOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn the biases (default true). */
  bias?: boolean;
  /** Inputs and outputs are `[B, T, *]` (default false: `[T, B, *]`); the states are never batch-first. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** Run a second pass over the reversed sequence and concatenate (default false). */
  bidirectional?: boolean;
  /** Project the hidden state to this size, smaller than `hiddenSize` (default 0, none). */
  projSize?: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link GRU}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.GRUOptions = { numLayers: 2, dropout: 0.1 };
 * new zn.nn.GRU(3, 4, opts).call(zn.randn([5, 2, 3]))[1].shape; // [2, 2, 4]
 * ```
 */
export interface GRUOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn the biases (default true). */
  bias?: boolean;
  /** Inputs and outputs are `[B, T, *]` (default false: `[T, B, *]`); the states are never batch-first. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** Run a second pass over the reversed sequence and concatenate (default false). */
  bidirectional?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const BASE_KEYS = optionKeys<RNNBaseOptions>({
  numLayers: 0,
  bias: 0,
  batchFirst: 0,
  dropout: 0,
  bidirectional: 0,
  projSize: 0,
  dtype: 0,
});
const RNN_KEYS = optionKeys<RNNOptions>({
  numLayers: 0,
  nonlinearity: 0,
  bias: 0,
  batchFirst: 0,
  dropout: 0,
  bidirectional: 0,
  dtype: 0,
});
const LSTM_KEYS = optionKeys<LSTMOptions>({
  numLayers: 0,
  bias: 0,
  batchFirst: 0,
  dropout: 0,
  bidirectional: 0,
  projSize: 0,
  dtype: 0,
});
const GRU_KEYS = optionKeys<GRUOptions>({
  numLayers: 0,
  bias: 0,
  batchFirst: 0,
  dropout: 0,
  bidirectional: 0,
  dtype: 0,
});

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/** What {@link RNNBase} computed: the output and the final states. */
interface RecurrentResult {
  output: Tensor | PackedSequence;
  h: Tensor;
  c: Tensor | null;
}

/**
 * The base of {@link RNN}, {@link LSTM} and {@link GRU} (PyTorch's
 * `nn.RNNBase`): it creates the parameters, `weight_ih_l{k}`,
 * `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` and with a projection
 * `weight_hr_l{k}`, with `_reverse` for the backward direction, each drawn
 * from U(-1/√hiddenSize, 1/√hiddenSize), and runs the stacked recurrence.
 * Use the subclasses; they add `forward`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const lstm: zn.nn.RNNBase = new zn.nn.LSTM(3, 4, { bidirectional: true });
 * Object.keys(lstm.stateDict()).length; // 8
 * lstm.weight_ih_l0_reverse.shape; // [16, 3]
 * ```
 */
export class RNNBase extends Module {
  /** The cell kind. */
  readonly mode: RNNMode;
  /** Size of each input step. */
  readonly inputSize: number;
  /** Size of the hidden state (of the cell state for an LSTM with a projection). */
  readonly hiddenSize: number;
  /** Number of stacked layers. */
  readonly numLayers: number;
  /** Whether the layers have biases. */
  readonly bias: boolean;
  /** Whether inputs and outputs are `[B, T, *]`. */
  readonly batchFirst: boolean;
  /** Dropout probability between layers in training mode. */
  readonly dropout: number;
  /** Whether each layer also runs over the reversed sequence. */
  readonly bidirectional: boolean;
  /** The LSTM's projection size (0: none). */
  readonly projSize: number;
  /** The weights by PyTorch's names, such as `weight_ih_l0` and `weight_hh_l1_reverse`. */
  readonly [weight: `weight_${string}`]: Parameter;
  /** The biases by PyTorch's names, such as `bias_ih_l0` (undefined without biases). */
  readonly [bias: `bias_${string}`]: Parameter | undefined;

  /**
   * A stack of `numLayers` recurrent layers of kind `mode` from
   * `inputSize` features to `hiddenSize`.
   */
  constructor(mode: RNNMode, inputSize: number, hiddenSize: number, opts: RNNBaseOptions = {}) {
    const op = new.target.name;
    if (!Object.hasOwn(GATES, mode as string)) {
      throw new TypeError(
        `${op}: unknown mode ${describe(mode)}; expected "RNN_TANH", "RNN_RELU", "LSTM" or "GRU"`,
      );
    }
    checkSizeArg(inputSize, op, "inputSize");
    checkSizeArg(hiddenSize, op, "hiddenSize");
    checkOptions(op, opts, BASE_KEYS);
    const numLayers = opts.numLayers ?? 1;
    checkSizeArg(numLayers, op, "numLayers");
    const dropout = opts.dropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) {
      throw new RangeError(
        `${op}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${
          describe(dropout)
        }`,
      );
    }
    const projSize = opts.projSize ?? 0;
    checkSizeArg(projSize, op, "projSize", 0);
    if (projSize > 0 && mode !== "LSTM") {
      throw new RangeError(`${op}: projSize is only supported for LSTM, not RNN or GRU`);
    }
    if (projSize >= hiddenSize) {
      throw new RangeError(
        `${op}: projSize has to be smaller than hiddenSize (got ${projSize} and ${hiddenSize})`,
      );
    }
    const bias = boolOption(opts.bias, true, op, "bias");
    const batchFirst = boolOption(opts.batchFirst, false, op, "batchFirst");
    const bidirectional = boolOption(opts.bidirectional, false, op, "bidirectional");
    const dtype = floatDTypeOption(opts.dtype, op);
    super();
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = bias;
    this.batchFirst = batchFirst;
    this.dropout = dropout;
    this.bidirectional = bidirectional;
    this.projSize = projSize;
    const gateSize = GATES[mode] * hiddenSize;
    const hOut = projSize > 0 ? projSize : hiddenSize;
    const dirs = bidirectional ? 2 : 1;
    const self = this as unknown as Record<string, Parameter>;
    for (let layer = 0; layer < numLayers; layer++) {
      const layerIn = layer === 0 ? inputSize : hOut * dirs;
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d === 1 ? "_reverse" : ""}`;
        const p = (shape: number[]) => new Parameter(empty(shape, { dtype }));
        self[`weight_ih${sfx}`] = p([gateSize, layerIn]);
        self[`weight_hh${sfx}`] = p([gateSize, hOut]);
        if (bias) {
          self[`bias_ih${sfx}`] = p([gateSize]);
          self[`bias_hh${sfx}`] = p([gateSize]);
        }
        if (projSize > 0) self[`weight_hr${sfx}`] = p([projSize, hiddenSize]);
      }
    }
    this.resetParameters();
  }

  /** Re-draws every parameter from U(-1/√hiddenSize, 1/√hiddenSize). */
  resetParameters(): void {
    const k = 1 / Math.sqrt(this.hiddenSize);
    noGrad(() => {
      for (const p of this.parameters()) uniform_(p, -k, k);
    });
  }

  /**
   * The parameters of each layer and direction, in PyTorch's order
   * (`all_weights`): `[weight_ih, weight_hh, bias_ih, bias_hh, weight_hr]`
   * without the missing ones.
   */
  get allWeights(): Parameter[][] {
    const out: Parameter[][] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < (this.bidirectional ? 2 : 1); d++) {
        const sfx = `_l${layer}${d === 1 ? "_reverse" : ""}`;
        out.push(
          ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
            .map((n) => (this as unknown as Record<string, unknown>)[n + sfx])
            .filter((p): p is Parameter => p instanceof Parameter),
        );
      }
    }
    return out;
  }

  /** One layer's weights in one direction, checked to be there. */
  private weightsOf(layer: number, reverse: boolean, op: string): LayerWeights {
    const sfx = `_l${layer}${reverse ? "_reverse" : ""}`;
    const get = (name: string, required: boolean): Tensor | null => {
      const p = (this as unknown as Record<string, unknown>)[name + sfx];
      if (p instanceof Tensor) return p;
      if (required || (p !== undefined && p !== null)) {
        throw new TypeError(`${op}: parameter ${name + sfx} is ${describe(p)}, not a Tensor`);
      }
      return null;
    };
    return {
      wIh: get("weight_ih", true)!,
      wHh: get("weight_hh", true)!,
      bIh: get("bias_ih", this.bias),
      bHh: get("bias_hh", this.bias),
      wHr: get("weight_hr", this.projSize > 0),
    };
  }

  /**
   * Runs the stacked recurrence (the subclasses' `forward`): `input` as
   * documented there, `hx` the initial hidden state and `cx` the LSTM's
   * initial cell state (both optional).
   */
  protected runRecurrent(
    input: Tensor | PackedSequence,
    hx: Tensor | null | undefined,
    cx: Tensor | null | undefined,
  ): RecurrentResult {
    const op = this.constructor.name;
    const isLstm = this.mode === "LSTM";
    const dirs = this.bidirectional ? 2 : 1;
    const hOut = this.projSize > 0 ? this.projSize : this.hiddenSize;
    const packed = input instanceof PackedSequence ? input : null;
    if (!packed) {
      if (!(input instanceof Tensor)) typeError(op, "input", "a Tensor or a PackedSequence", input);
    }
    let x = packed ? packed.data : input as Tensor;
    if (x.isDisposed) throw new Error(`${op}: input is a disposed Tensor`);
    const wDtype = this.weightsOf(0, false, op).wIh.dtype;
    if (!isFloating(x.dtype)) {
      throw new TypeError(
        `${op}: input must be a floating tensor, got ${x.dtype}${floatTensorHint(x.dtype)}`,
      );
    }
    if (x.dtype !== wDtype) {
      throw new TypeError(
        `${op}: input dtype (${x.dtype}) does not match weight dtype (${wDtype}); convert the input with .to("${wDtype}") or build the module with { dtype: "${x.dtype}" }`,
      );
    }
    if (packed) {
      if (x.ndim !== 2) {
        throw new RangeError(
          `${op}: packed input data must be 2-D [N, inputSize], got shape ${fmtShape(x.shape)}`,
        );
      }
    } else if (x.ndim !== 2 && x.ndim !== 3) {
      throw new RangeError(
        `${op}: Expected input to be 2D or 3D, got ${x.ndim}D tensor instead (shape ${
          fmtShape(x.shape)
        })`,
      );
    }
    if (x.shape[x.ndim - 1] !== this.inputSize) {
      throw new RangeError(
        `${op}: input.size(-1) must be equal to inputSize. Expected ${this.inputSize}, got ${
          x.shape[x.ndim - 1]
        }`,
      );
    }
    const unbatched = !packed && x.ndim === 2;
    if (unbatched) x = x.unsqueeze(1);
    else if (!packed && this.batchFirst) x = x.transpose(0, 1);
    if (!packed && x.shape[0] === 0) {
      throw new RangeError(`${op}: Expected sequence length to be larger than 0`);
    }
    const sizes = packed ? batchSizeList(packed) : null;
    const batch = packed ? sizes![0] : x.shape[1];
    const states = this.numLayers * dirs;
    const hShape = unbatched ? [states, hOut] : [states, batch, hOut];
    const cShape = unbatched ? [states, this.hiddenSize] : [states, batch, this.hiddenSize];
    const opts = { dtype: x.dtype, device: x.device };
    // Omitted LSTM states stay null: the layer treats them as zeros (the fused
    // kernel skips the first step's multiply by them).
    let h0: Tensor | null = null, c0: Tensor | null = null;
    const given = hx !== undefined && hx !== null;
    if (given) {
      checkTensor(hx, op, isLstm ? "h0" : "hx");
      if (isLstm) checkTensor(cx, op, "c0");
      const nd = unbatched ? 2 : 3;
      if (hx.ndim !== nd || (isLstm && cx!.ndim !== nd)) {
        const got = isLstm ? `(${hx.ndim}-D, ${cx!.ndim}-D) tensors` : `${hx.ndim}-D tensor`;
        throw new RangeError(
          `${op}: For ${unbatched ? "unbatched 2-D" : "batched 3-D"} input, hx${
            isLstm ? " and cx" : ""
          } should also be ${nd}-D but got ${got}`,
        );
      }
      checkState(hx, hShape, x, op, isLstm ? "hidden[0]" : "hidden");
      if (isLstm) checkState(cx!, cShape, x, op, "hidden[1]");
      h0 = unbatched ? hx.unsqueeze(1) : hx;
      if (isLstm) c0 = unbatched ? cx!.unsqueeze(1) : cx!;
    } else if (!isLstm) {
      h0 = zeros([states, batch, hOut], opts);
    }
    if (packed?.sortedIndices) {
      if (h0) h0 = h0.indexSelect(1, packed.sortedIndices);
      if (c0) c0 = c0.indexSelect(1, packed.sortedIndices);
    }
    const hs: Tensor[] = [], cs: Tensor[] = [];
    let layerInput = x;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const idx = layer * dirs + d;
        const w = this.weightsOf(layer, d === 1, op);
        const h = h0?.select(0, idx) ?? null;
        let out: Tensor, hN: Tensor;
        if (isLstm) {
          let cN: Tensor;
          [out, hN, cN] = RECURRENT_LAYERS.lstm(
            layerInput,
            h,
            c0?.select(0, idx) ?? null,
            w,
            d === 1,
            sizes,
          );
          cs.push(cN);
        } else if (this.mode === "GRU") {
          [out, hN] = RECURRENT_LAYERS.gru(layerInput, h!, w, d === 1, sizes);
        } else {
          const nl = this.mode === "RNN_TANH" ? "tanh" : "relu";
          [out, hN] = RECURRENT_LAYERS.rnn(layerInput, h!, w, d === 1, nl, sizes);
        }
        outs.push(out);
        hs.push(hN);
      }
      layerInput = dirs === 1 ? outs[0] : cat(outs, -1);
      if (this.dropout > 0 && this.training && layer < this.numLayers - 1) {
        layerInput = dropoutFn(layerInput, this.dropout, { training: true });
      }
    }
    let hN = stack(hs, 0);
    let cN = isLstm ? stack(cs, 0) : null;
    if (packed?.unsortedIndices) {
      hN = hN.indexSelect(1, packed.unsortedIndices);
      if (cN) cN = cN.indexSelect(1, packed.unsortedIndices);
    }
    let output: Tensor | PackedSequence;
    if (packed) {
      output = new PackedSequence(
        layerInput,
        packed.batchSizes,
        packed.sortedIndices,
        packed.unsortedIndices,
      );
    } else if (unbatched) {
      output = layerInput.squeeze(1);
      hN = hN.squeeze(1);
      if (cN) cN = cN.squeeze(1);
    } else output = this.batchFirst ? layerInput.transpose(0, 1) : layerInput;
    return { output, h: hN, c: cN };
  }

  /** The module's settings. */
  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize !== 0) s += `, projSize=${this.projSize}`;
    if (this.numLayers !== 1) s += `, numLayers=${this.numLayers}`;
    if (!this.bias) s += ", bias=false";
    if (this.batchFirst) s += ", batchFirst=true";
    if (this.dropout !== 0) s += `, dropout=${this.dropout}`;
    if (this.bidirectional) s += ", bidirectional=true";
    return s;
  }
}

function checkState(
  s: Tensor,
  expected: number[],
  x: Tensor,
  op: string,
  name: string,
): void {
  if (s.isDisposed) throw new Error(`${op}: the initial state is a disposed Tensor`);
  if (s.ndim !== expected.length || s.shape.some((n, i) => n !== expected[i])) {
    throw new RangeError(
      `${op}: Expected ${name} size (${expected.join(", ")}), got ${fmtShape(s.shape)}`,
    );
  }
  if (s.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: input and ${name} must have the same dtype, got ${x.dtype} and ${s.dtype}`,
    );
  }
}

/**
 * An Elman RNN: each layer computes
 * `h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)` with tanh (default)
 * or ReLU. `call(x, h0?)` returns `[output, hN]`: `x` is `[T, B, inputSize]`
 * (`[B, T, inputSize]` with `batchFirst`, `[T, inputSize]` unbatched) or a
 * {@link PackedSequence}; `h0` and `hN` are
 * `[numLayers * numDirections, B, hiddenSize]` (not batch-first; without `B`
 * unbatched; zeros when `h0` is omitted); `output` is
 * `[T, B, numDirections * hiddenSize]`, or a PackedSequence for a packed
 * input, with `hN` taken at each sequence's last step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const rnn = new zn.nn.RNN(3, 4, { numLayers: 2 });
 * const [out, hN] = rnn.call(zn.randn([5, 2, 3]));
 * [out.shape, hN.shape]; // [[5, 2, 4], [2, 2, 4]]
 * ```
 */
export class RNN extends RNNBase {
  /** The nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";

  /** An RNN from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    checkOptions("RNN", opts, RNN_KEYS);
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new TypeError(
        `RNN: unknown nonlinearity ${describe(nl)}; select from "tanh" or "relu"`,
      );
    }
    const { nonlinearity: _, ...rest } = opts;
    super(nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, rest);
    this.nonlinearity = nl;
  }

  /** Runs the RNN: `[output, hN]`. */
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** Runs the RNN over a packed batch: `[packed output, hN]`. */
  override forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  /** Runs the RNN over a padded or packed batch. */
  override forward(
    input: Tensor | PackedSequence,
    hx?: Tensor | null,
  ): [Tensor | PackedSequence, Tensor];
  override forward(
    input: Tensor | PackedSequence,
    hx?: Tensor | null,
  ): [Tensor | PackedSequence, Tensor] {
    const r = this.runRecurrent(input, hx, undefined);
    return [r.output, r.h];
  }

  /** Runs {@link RNN.forward}: `[output, hN]`. */
  override call(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** Runs {@link RNN.forward} over a packed batch: `[packed output, hN]`. */
  override call(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  /** Runs {@link RNN.forward} over a padded or packed batch (the form of `Module.call`). */
  override call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]>;
  override call(input: Tensor | PackedSequence, hx?: Tensor | null): unknown {
    return this.forward(input, hx);
  }

  /** The module's settings. */
  override extraRepr(): string {
    const s = super.extraRepr();
    return this.nonlinearity === "tanh" ? s : `${s}, nonlinearity=relu`;
  }
}

/**
 * A long short-term memory layer stack, gates in PyTorch's order
 * (input, forget, cell, output):
 * `c_t = σ(f) c_{t-1} + σ(i) tanh(g)`, `h_t = σ(o) tanh(c_t)`, with
 * `h_t W_hrᵀ` when `projSize` is set. `call(x, [h0, c0]?)` returns
 * `[output, [hN, cN]]`: `x` is `[T, B, inputSize]` (`[B, T, inputSize]`
 * with `batchFirst`, `[T, inputSize]` unbatched) or a
 * {@link PackedSequence}; `h0`/`hN` are `[numLayers * numDirections, B, H_out]`
 * (H_out = projSize or hiddenSize) and `c0`/`cN`
 * `[numLayers * numDirections, B, hiddenSize]` (not batch-first; without `B`
 * unbatched; zeros when omitted); `output` is `[T, B, numDirections * H_out]`,
 * or a PackedSequence for a packed input, with the final states taken at
 * each sequence's last step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const lstm = new zn.nn.LSTM(3, 4, { batchFirst: true });
 * const [out, [hN, cN]] = lstm.call(zn.randn([2, 5, 3]));
 * [out.shape, hN.shape, cN.shape]; // [[2, 5, 4], [1, 2, 4], [1, 2, 4]]
 * ```
 */
export class LSTM extends RNNBase {
  /** An LSTM from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: LSTMOptions = {}) {
    checkOptions("LSTM", opts, LSTM_KEYS);
    super("LSTM", inputSize, hiddenSize, opts);
  }

  /** Runs the LSTM: `[output, [hN, cN]]`. */
  override forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  /** Runs the LSTM over a packed batch: `[packed output, [hN, cN]]`. */
  override forward(
    input: PackedSequence,
    hx?: [Tensor, Tensor] | null,
  ): [PackedSequence, [Tensor, Tensor]];
  /** Runs the LSTM over a padded or packed batch. */
  override forward(
    input: Tensor | PackedSequence,
    hx?: [Tensor, Tensor] | null,
  ): [Tensor | PackedSequence, [Tensor, Tensor]];
  override forward(
    input: Tensor | PackedSequence,
    hx?: [Tensor, Tensor] | null,
  ): [Tensor | PackedSequence, [Tensor, Tensor]] {
    let h: Tensor | undefined, c: Tensor | undefined;
    if (hx !== undefined && hx !== null) {
      if (!Array.isArray(hx) || hx.length !== 2) {
        typeError("LSTM", "hx", "an array [h0, c0] of two Tensors", hx);
      }
      [h, c] = hx;
      checkTensor(h, "LSTM", "h0");
      checkTensor(c, "LSTM", "c0");
    }
    const r = this.runRecurrent(input, h, c);
    return [r.output, [r.h, r.c!]];
  }

  /** Runs {@link LSTM.forward}: `[output, [hN, cN]]`. */
  override call(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]];
  /** Runs {@link LSTM.forward} over a packed batch: `[packed output, [hN, cN]]`. */
  override call(
    input: PackedSequence,
    hx?: [Tensor, Tensor] | null,
  ): [PackedSequence, [Tensor, Tensor]];
  /** Runs {@link LSTM.forward} over a padded or packed batch (the form of `Module.call`). */
  override call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]>;
  override call(input: Tensor | PackedSequence, hx?: [Tensor, Tensor] | null): unknown {
    return this.forward(input, hx);
  }
}

/**
 * A gated recurrent unit layer stack, gates in PyTorch's order
 * (reset, update, new): `r = σ(W_ir x + b_ir + W_hr h + b_hr)`,
 * `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
 * `n = tanh(W_in x + b_in + r (W_hn h + b_hn))`, `h' = (1 - z) n + z h`.
 * `call(x, h0?)` returns `[output, hN]` with the shapes of {@link RNN}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const gru = new zn.nn.GRU(3, 4, { bidirectional: true });
 * const [out, hN] = gru.call(zn.randn([5, 2, 3]));
 * [out.shape, hN.shape]; // [[5, 2, 8], [2, 2, 4]]
 * ```
 */
export class GRU extends RNNBase {
  /** A GRU from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: GRUOptions = {}) {
    checkOptions("GRU", opts, GRU_KEYS);
    super("GRU", inputSize, hiddenSize, opts);
  }

  /** Runs the GRU: `[output, hN]`. */
  override forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** Runs the GRU over a packed batch: `[packed output, hN]`. */
  override forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  /** Runs the GRU over a padded or packed batch. */
  override forward(
    input: Tensor | PackedSequence,
    hx?: Tensor | null,
  ): [Tensor | PackedSequence, Tensor];
  override forward(
    input: Tensor | PackedSequence,
    hx?: Tensor | null,
  ): [Tensor | PackedSequence, Tensor] {
    const r = this.runRecurrent(input, hx, undefined);
    return [r.output, r.h];
  }

  /** Runs {@link GRU.forward}: `[output, hN]`. */
  override call(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  /** Runs {@link GRU.forward} over a packed batch: `[packed output, hN]`. */
  override call(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  /** Runs {@link GRU.forward} over a padded or packed batch (the form of `Module.call`). */
  override call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]>;
  override call(input: Tensor | PackedSequence, hx?: Tensor | null): unknown {
    return this.forward(input, hx);
  }
}
