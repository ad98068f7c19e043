/**
 * The single-step recurrent cells `RNNCell`, `LSTMCell` and `GRUCell`, with
 * PyTorch's parameter names, gate order and initialisation.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { empty, zeros } from "../ops/creation.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { fmtShape } from "../shape.ts";
import { type DType, floatTensorHint, isFloating } from "../dtype.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { uniform_ } from "./init.ts";
import { gruStep, lstmStep, rnnStep } from "./rnn_reference.ts";
import { boolOption, floatDTypeOption } from "./rnn_checks.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkSizeArg, checkTensor, describe, typeError } from "../args.ts";

/**
 * Options of {@link RNNCell}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.RNNCellOptions = { nonlinearity: "relu", bias: false };
 * new zn.nn.RNNCell(3, 4, opts).call(zn.randn([2, 3])).shape; // [2, 4]
 * ```
 */
export interface RNNCellOptions {
  /** Learn the biases `bias_ih` and `bias_hh` (default true). */
  bias?: boolean;
  /** The nonlinearity, "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link LSTMCell} and {@link GRUCell}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.RecurrentCellOptions = { dtype: "float64" };
 * new zn.nn.GRUCell(3, 4, opts).weight_hh.dtype; // "float64"
 * ```
 */
export interface RecurrentCellOptions {
  /** Learn the biases `bias_ih` and `bias_hh` (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const RNN_CELL_KEYS = optionKeys<RNNCellOptions>({ bias: 0, nonlinearity: 0, dtype: 0 });
const CELL_KEYS = optionKeys<RecurrentCellOptions>({ bias: 0, dtype: 0 });

/** The parameters of a cell with `gates` gate blocks, drawn from U(±1/√hiddenSize). */
function cellParams(
  op: string,
  inputSize: number,
  hiddenSize: number,
  gates: number,
  opts: RecurrentCellOptions,
): [Parameter, Parameter, Parameter | null, Parameter | null] {
  checkSizeArg(inputSize, op, "inputSize");
  checkSizeArg(hiddenSize, op, "hiddenSize");
  const bias = boolOption(opts.bias, true, op, "bias");
  const dtype = floatDTypeOption(opts.dtype, op);
  const p = (shape: number[]) => new Parameter(empty(shape, { dtype }));
  const g = gates * hiddenSize;
  return [
    p([g, inputSize]),
    p([g, hiddenSize]),
    bias ? p([g]) : null,
    bias ? p([g]) : null,
  ];
}

function resetCell(m: Module, hiddenSize: number): void {
  const k = 1 / Math.sqrt(hiddenSize);
  noGrad(() => {
    for (const p of m.parameters()) uniform_(p, -k, k);
  });
}

/**
 * Checks a cell's input `[B, inputSize]` or `[inputSize]` and its states
 * (`[B, hiddenSize]` or `[hiddenSize]`, zeros when omitted); returns them
 * batched and whether the input was.
 */
function cellArgs(
  op: string,
  input: unknown,
  states: unknown[],
  names: string[],
  inputSize: number,
  hiddenSize: number,
  weight: Tensor,
): { x: Tensor; hs: Tensor[]; batched: boolean } {
  checkTensor(input, op, "input");
  if (input.isDisposed) throw new Error(`${op}: input is a disposed Tensor`);
  if (input.ndim !== 1 && input.ndim !== 2) {
    throw new RangeError(`${op}: Expected input to be 1D or 2D, got ${input.ndim}D instead`);
  }
  if (!isFloating(input.dtype)) {
    throw new TypeError(
      `${op}: input must be a floating tensor, got ${input.dtype}${floatTensorHint(input.dtype)}`,
    );
  }
  if (input.dtype !== weight.dtype) {
    throw new TypeError(
      `${op}: input dtype (${input.dtype}) does not match weight dtype (${weight.dtype})`,
    );
  }
  const batched = input.ndim === 2;
  const x = batched ? input : input.unsqueeze(0);
  if (x.shape[1] !== inputSize) {
    throw new RangeError(
      `${op}: input has inconsistent inputSize: got ${x.shape[1]} expected ${inputSize}`,
    );
  }
  const hs = states.map((s, i) => {
    if (s === undefined || s === null) {
      return zeros([x.shape[0], hiddenSize], { dtype: x.dtype, device: x.device });
    }
    checkTensor(s, op, names[i]);
    if (s.isDisposed) throw new Error(`${op}: ${names[i]} is a disposed Tensor`);
    if (s.ndim !== input.ndim) {
      throw new RangeError(
        `${op}: Expected ${names[i]} to be ${input.ndim}D like the input, got ${s.ndim}D (shape ${
          fmtShape(s.shape)
        })`,
      );
    }
    const h = batched ? s : s.unsqueeze(0);
    if (h.shape[0] !== x.shape[0]) {
      throw new RangeError(
        `${op}: Input batch size ${x.shape[0]} doesn't match ${names[i]} batch size ${h.shape[0]}`,
      );
    }
    if (h.shape[1] !== hiddenSize) {
      throw new RangeError(
        `${op}: ${names[i]} has inconsistent hiddenSize: got ${h.shape[1]}, expected ${hiddenSize}`,
      );
    }
    if (h.dtype !== x.dtype) {
      throw new TypeError(
        `${op}: input and ${names[i]} must have the same dtype, got ${x.dtype} and ${h.dtype}`,
      );
    }
    return h;
  });
  return { x, hs, batched };
}

/** `x W_ihᵀ + b_ih`. */
function inputGates(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const r = x.matmul(w.mT);
  return b ? r.add(b) : r;
}

/**
 * One Elman RNN step: `h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)` with tanh
 * (default) or ReLU. `call(x, h?)`: `x` is `[B, inputSize]` or
 * `[inputSize]`, `h` `[B, hiddenSize]` or `[hiddenSize]` (zeros when
 * omitted); returns `h'`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const cell = new zn.nn.RNNCell(3, 4);
 * let h = cell.call(zn.randn([2, 3]));
 * h = cell.call(zn.randn([2, 3]), h);
 * h.shape; // [2, 4]
 * ```
 */
export class RNNCell extends Module {
  /** Size of each input. */
  readonly inputSize: number;
  /** Size of the hidden state. */
  readonly hiddenSize: number;
  /** The nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";
  /** `[hiddenSize, inputSize]`. */
  weight_ih: Parameter;
  /** `[hiddenSize, hiddenSize]`. */
  weight_hh: Parameter;
  /** `[hiddenSize]`, or null. */
  bias_ih: Parameter | null;
  /** `[hiddenSize]`, or null. */
  bias_hh: Parameter | null;

  /** A cell from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions = {}) {
    checkOptions("RNNCell", opts, RNN_CELL_KEYS);
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new TypeError(
        `RNNCell: unknown nonlinearity ${describe(nl)}; select from "tanh" or "relu"`,
      );
    }
    const [wIh, wHh, bIh, bHh] = cellParams("RNNCell", inputSize, hiddenSize, 1, {
      bias: opts.bias,
      dtype: opts.dtype,
    });
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.nonlinearity = nl;
    this.weight_ih = wIh;
    this.weight_hh = wHh;
    this.bias_ih = bIh;
    this.bias_hh = bHh;
    this.resetParameters();
  }

  /** Re-draws every parameter from U(-1/√hiddenSize, 1/√hiddenSize). */
  resetParameters(): void {
    resetCell(this, this.hiddenSize);
  }

  /** One step: the next hidden state. */
  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    const { x, hs, batched } = cellArgs(
      "RNNCell",
      input,
      [hx],
      ["hx"],
      this.inputSize,
      this.hiddenSize,
      this.weight_ih,
    );
    const gx = inputGates(x, this.weight_ih, this.bias_ih);
    const h = rnnStep(gx, hs[0], this.weight_hh, this.bias_hh, this.nonlinearity);
    return batched ? h : h.squeeze(0);
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? "" : ", bias=false"}${
      this.nonlinearity === "tanh" ? "" : ", nonlinearity=relu"
    }`;
  }
}

/**
 * One LSTM step, gates in PyTorch's order (i, f, g, o):
 * `c' = σ(f) c + σ(i) tanh(g)`, `h' = σ(o) tanh(c')`. `call(x, [h, c]?)`:
 * `x` is `[B, inputSize]` or `[inputSize]`, `h` and `c` `[B, hiddenSize]` or
 * `[hiddenSize]` (zeros when omitted); returns `[h', c']`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const cell = new zn.nn.LSTMCell(3, 4);
 * let [h, c] = cell.call(zn.randn([2, 3]));
 * [h, c] = cell.call(zn.randn([2, 3]), [h, c]);
 * [h.shape, c.shape]; // [[2, 4], [2, 4]]
 * ```
 */
export class LSTMCell extends Module {
  /** Size of each input. */
  readonly inputSize: number;
  /** Size of the hidden and cell states. */
  readonly hiddenSize: number;
  /** `[4 * hiddenSize, inputSize]`. */
  weight_ih: Parameter;
  /** `[4 * hiddenSize, hiddenSize]`. */
  weight_hh: Parameter;
  /** `[4 * hiddenSize]`, or null. */
  bias_ih: Parameter | null;
  /** `[4 * hiddenSize]`, or null. */
  bias_hh: Parameter | null;

  /** A cell from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}) {
    checkOptions("LSTMCell", opts, CELL_KEYS);
    const [wIh, wHh, bIh, bHh] = cellParams("LSTMCell", inputSize, hiddenSize, 4, opts);
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.weight_ih = wIh;
    this.weight_hh = wHh;
    this.bias_ih = bIh;
    this.bias_hh = bHh;
    this.resetParameters();
  }

  /** Re-draws every parameter from U(-1/√hiddenSize, 1/√hiddenSize). */
  resetParameters(): void {
    resetCell(this, this.hiddenSize);
  }

  /** One step: the next hidden and cell states. */
  override forward(input: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    let states: unknown[] = [undefined, undefined];
    if (hx !== undefined && hx !== null) {
      if (!Array.isArray(hx) || hx.length !== 2) {
        typeError("LSTMCell", "hx", "an array [h, c] of two Tensors", hx);
      }
      states = hx;
      checkTensor(hx[0], "LSTMCell", "h");
      checkTensor(hx[1], "LSTMCell", "c");
    }
    const { x, hs, batched } = cellArgs(
      "LSTMCell",
      input,
      states,
      ["h", "c"],
      this.inputSize,
      this.hiddenSize,
      this.weight_ih,
    );
    const gx = inputGates(x, this.weight_ih, this.bias_ih);
    const [h, c] = lstmStep(gx, hs[0], hs[1], this.weight_hh, this.bias_hh, null);
    return batched ? [h, c] : [h.squeeze(0), c.squeeze(0)];
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? "" : ", bias=false"}`;
  }
}

/**
 * One GRU step, gates in PyTorch's order (r, z, n):
 * `n = tanh(W_in x + b_in + r (W_hn h + b_hn))`, `h' = (1 - z) n + z h`.
 * `call(x, h?)`: `x` is `[B, inputSize]` or `[inputSize]`, `h`
 * `[B, hiddenSize]` or `[hiddenSize]` (zeros when omitted); returns `h'`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const cell = new zn.nn.GRUCell(3, 4);
 * cell.call(zn.randn([3])).shape; // [4]: unbatched
 * ```
 */
export class GRUCell extends Module {
  /** Size of each input. */
  readonly inputSize: number;
  /** Size of the hidden state. */
  readonly hiddenSize: number;
  /** `[3 * hiddenSize, inputSize]`. */
  weight_ih: Parameter;
  /** `[3 * hiddenSize, hiddenSize]`. */
  weight_hh: Parameter;
  /** `[3 * hiddenSize]`, or null. */
  bias_ih: Parameter | null;
  /** `[3 * hiddenSize]`, or null. */
  bias_hh: Parameter | null;

  /** A cell from `inputSize` features to `hiddenSize`. */
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}) {
    checkOptions("GRUCell", opts, CELL_KEYS);
    const [wIh, wHh, bIh, bHh] = cellParams("GRUCell", inputSize, hiddenSize, 3, opts);
    super();
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.weight_ih = wIh;
    this.weight_hh = wHh;
    this.bias_ih = bIh;
    this.bias_hh = bHh;
    this.resetParameters();
  }

  /** Re-draws every parameter from U(-1/√hiddenSize, 1/√hiddenSize). */
  resetParameters(): void {
    resetCell(this, this.hiddenSize);
  }

  /** One step: the next hidden state. */
  override forward(input: Tensor, hx?: Tensor | null): Tensor {
    const { x, hs, batched } = cellArgs(
      "GRUCell",
      input,
      [hx],
      ["hx"],
      this.inputSize,
      this.hiddenSize,
      this.weight_ih,
    );
    const gx = inputGates(x, this.weight_ih, this.bias_ih);
    const h = gruStep(gx, hs[0], this.weight_hh, this.bias_hh);
    return batched ? h : h.squeeze(0);
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih ? "" : ", bias=false"}`;
  }
}
