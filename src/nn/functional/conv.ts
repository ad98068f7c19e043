/**
 * Convolutions: conv1d, conv2d and convTranspose2d with PyTorch's semantics.
 *
 * The forward pass lowers to im2col (zig/src/conv.zig) and the matmul kernel,
 * batched over groups. Each op records one tape entry whose rule is written
 * in these same differentiable ops, as PyTorch does: the input gradient of a
 * convolution is a transposed convolution of the output gradient, and its
 * weight gradient is a convolution of the input with the output gradient, so
 * double backward works.
 *
 * @module
 */
import { fmtShape } from "../../shape.ts";
import { Tensor } from "../../tensor.ts";
import { narrow, squeeze, unsqueeze } from "../../ops/view.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkFloatInput, conv2dCore, convTranspose2dCore, sizeArg } from "./conv_kernels.ts";
import { lowerPrecision } from "../../amp/autocast.ts";

/**
 * A size given once for every spatial dim, or per dim.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const kernel: zn.nn.functional.SizeArg = [3, 1];
 * new zn.nn.Conv2d(1, 1, kernel).weight.shape; // [1, 1, 3, 1]
 * ```
 */
export type SizeArg = number | readonly number[];

/**
 * Options of {@link conv1d} and {@link conv2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.ConvOptions = { padding: "same", dilation: 2 };
 * const y = zn.nn.functional.conv2d(zn.randn([1, 1, 9, 9]), zn.randn([1, 1, 3, 3]), null, opts);
 * y.shape; // [1, 1, 9, 9]
 * ```
 */
export interface ConvOptions {
  /** Step between windows (default 1). */
  stride?: SizeArg;
  /** Zero padding per side, or "same" (stride 1 only) or "valid" (no padding). Default 0. */
  padding?: SizeArg | "same" | "valid";
  /** Step between kernel taps (default 1). */
  dilation?: SizeArg;
  /** Number of blocked connections from input to output channels (default 1). */
  groups?: number;
}

/**
 * Options of {@link convTranspose2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.ConvTransposeOptions = { stride: 2 };
 * const x = zn.randn([1, 2, 4, 4]), w = zn.randn([2, 1, 2, 2]);
 * zn.nn.functional.convTranspose2d(x, w, null, opts).shape; // [1, 1, 8, 8]
 * ```
 */
export interface ConvTransposeOptions {
  /** Step between windows of the convolution this op transposes (default 1). */
  stride?: SizeArg;
  /** Zero padding of that convolution (default 0): trims the output. */
  padding?: SizeArg;
  /** Extra size added to one side of the output (default 0). */
  outputPadding?: SizeArg;
  /** Number of blocked connections from input to output channels (default 1). */
  groups?: number;
  /** Step between kernel taps (default 1). */
  dilation?: SizeArg;
}

type Pair = [number, number];

const CONV_KEYS = optionKeys<ConvOptions>({ stride: 0, padding: 0, dilation: 0, groups: 0 });
const CONV_TRANSPOSE_KEYS = optionKeys<ConvTransposeOptions>({
  stride: 0,
  padding: 0,
  outputPadding: 0,
  groups: 0,
  dilation: 0,
});

function sameDevice(op: string, ...ts: (Tensor | null | undefined)[]): void {
  const devs = ts.filter((t): t is Tensor => t instanceof Tensor).map((t) => t.device);
  if (devs.some((d) => d !== devs[0])) {
    throw new Error(
      `${op}: expected all tensors on the same device, but found ${
        [...new Set(devs)].join(" and ")
      }`,
    );
  }
}

function checkDTypes(op: string, x: Tensor, w: Tensor, b: Tensor | null): void {
  if (w.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: input type (${x.dtype}) and weight type (${w.dtype}) should be the same`,
    );
  }
  if (b && b.dtype !== x.dtype) {
    throw new TypeError(
      `${op}: input type (${x.dtype}) and bias type (${b.dtype}) should be the same`,
    );
  }
}

// ------------------------------------------------------------------ fronts

function convNd(
  op: string,
  nd: 1 | 2,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  opts: ConvOptions,
): Tensor {
  checkOptions(op, opts, CONV_KEYS);
  const x0 = checkFloatInput(input, op);
  const w0 = checkFloatInput(weight, op, "weight");
  const b = bias == null ? null : checkFloatInput(bias, op, "bias");
  sameDevice(op, x0, w0, b);
  checkDTypes(op, x0, w0, b);
  if (x0.ndim !== nd + 1 && x0.ndim !== nd + 2) {
    throw new RangeError(
      `${op}: expected ${nd + 1}D (unbatched) or ${
        nd + 2
      }D (batched) input, but got input of size: ${fmtShape(x0.shape)}`,
    );
  }
  if (w0.ndim !== nd + 2) {
    throw new RangeError(
      `${op}: expected a ${nd + 2}D weight [out_channels, in_channels/groups, ${
        nd === 1 ? "kL" : "kH, kW"
      }], but got weight of size ${fmtShape(w0.shape)}`,
    );
  }
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
  const batched = x0.ndim === nd + 2;
  const c = x0.shape[batched ? 1 : 0];
  const o = w0.shape[0];
  if (o % groups !== 0) {
    throw new RangeError(
      `${op}: out_channels (${o}, weight of size ${
        fmtShape(w0.shape)
      }) must be divisible by groups (${groups})`,
    );
  }
  if (c % groups !== 0) {
    throw new RangeError(
      `${op}: in_channels (${c}, input of size ${
        fmtShape(x0.shape)
      }) must be divisible by groups (${groups})`,
    );
  }
  if (w0.shape[1] * groups !== c) {
    throw new RangeError(
      `${op}: given groups=${groups}, weight of size ${fmtShape(w0.shape)}, expected input${
        fmtShape(x0.shape)
      } to have ${w0.shape[1] * groups} channels, but got ${c} channels instead`,
    );
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== o)) {
    throw new RangeError(
      `${op}: expected bias of size [${o}] (out_channels), but got bias of size ${
        fmtShape(b.shape)
      }`,
    );
  }
  const stride = sizeArg(opts.stride ?? 1, nd, "stride", op, 1);
  const dilation = sizeArg(opts.dilation ?? 1, nd, "dilation", op, 1);
  const kernel = w0.shape.slice(2);
  const spatial = x0.shape.slice(batched ? 2 : 1);
  const pad = opts.padding ?? 0;
  let padL: number[], padR: number[];
  if (pad === "valid") {
    padL = padR = new Array<number>(nd).fill(0);
  } else if (pad === "same") {
    if (stride.some((s) => s !== 1)) {
      throw new RangeError(`${op}: padding="same" is not supported for strided convolutions`);
    }
    // PyTorch's split: the odd unit of padding goes on the right.
    padL = kernel.map((k, i) => Math.floor(dilation[i] * (k - 1) / 2));
    padR = kernel.map((k, i) => dilation[i] * (k - 1) - padL[i]);
  } else if (typeof pad === "string") {
    throw new RangeError(
      `${op}: invalid padding string "${pad}", expected one of "valid", "same"`,
    );
  } else {
    padL = padR = sizeArg(pad, nd, "padding", op, 0);
  }
  for (let i = 0; i < nd; i++) {
    const padded = spatial[i] + padL[i] + padR[i];
    const eff = dilation[i] * (kernel[i] - 1) + 1;
    if (eff > padded) {
      throw new RangeError(
        `${op}: calculated padded input size per channel: (${
          spatial.map((s, j) => s + padL[j] + padR[j]).join(" x ")
        }). Kernel size: (${
          kernel.map((k, j) => dilation[j] * (k - 1) + 1).join(" x ")
        }). Kernel size can't be greater than actual input size`,
      );
    }
  }
  if (kernel.some((k) => k === 0)) {
    throw new RangeError(`${op}: kernel size must be positive, got weight ${fmtShape(w0.shape)}`);
  }
  // To [N, C, H, W] and [O, Cg, KH, KW]; 1-D runs with H = 1.
  let x = batched ? x0 : unsqueeze(x0, 0);
  let w = w0;
  if (nd === 1) {
    x = unsqueeze(x, 2);
    w = unsqueeze(w, 2);
  }
  const two = (v: number[], one: number): Pair => nd === 1 ? [one, v[0]] : [v[0], v[1]];
  // Asymmetric "same": pad both sides by the larger amount, then drop the extra
  // first output (stride 1, so output i starts at input i - padding).
  const asym = padR.map((r, i) => r - padL[i]);
  let y = conv2dCore(x, w, b, {
    stride: two(stride, 1),
    padding: two(padR, 0),
    dilation: two(dilation, 1),
    groups,
  });
  for (let i = 0; i < nd; i++) {
    if (asym[i] !== 0) {
      const d = 2 + (nd === 1 ? 1 : i);
      y = narrow(y, d, asym[i], y.shape[d] - asym[i]);
    }
  }
  if (nd === 1) y = squeeze(y, 2);
  return batched ? y : squeeze(y, 0);
}

/**
 * 1-D convolution (cross-correlation) of input [N, C, L] (or unbatched
 * [C, L]) with weight [O, C/groups, K], plus an optional bias [O].
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.ones([1, 2, 5]);
 * const w = zn.ones([3, 2, 3]);
 * zn.nn.functional.conv1d(x, w, null, { padding: 1 }).shape; // [1, 3, 5]
 * ```
 */
export function conv1d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvOptions = {},
): Tensor {
  [input, weight, bias] = lowerPrecision(input, weight, bias) as [
    Tensor,
    Tensor,
    Tensor | null | undefined,
  ];
  return convNd("conv1d", 1, input, weight, bias, opts);
}

/**
 * 2-D convolution (cross-correlation) of input [N, C, H, W] (or unbatched
 * [C, H, W]) with weight [O, C/groups, KH, KW], plus an optional bias [O].
 * `padding` is a number, a pair, "valid" (none) or "same" (output size equals
 * input size; stride 1 only).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([2, 3, 8, 8]);
 * const w = zn.randn([4, 3, 3, 3]);
 * zn.nn.functional.conv2d(x, w, null, { stride: 2, padding: 1 }).shape; // [2, 4, 4, 4]
 * ```
 */
export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvOptions = {},
): Tensor {
  [input, weight, bias] = lowerPrecision(input, weight, bias) as [
    Tensor,
    Tensor,
    Tensor | null | undefined,
  ];
  return convNd("conv2d", 2, input, weight, bias, opts);
}

/**
 * 2-D transposed convolution ("deconvolution", the gradient of conv2d with
 * respect to its input) of input [N, Cin, H, W] (or [Cin, H, W]) with weight
 * [Cin, Cout/groups, KH, KW]. Output size per dim:
 * (H - 1) * stride - 2 * padding + dilation * (KH - 1) + outputPadding + 1.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([1, 4, 5, 5]);
 * const w = zn.randn([4, 2, 3, 3]);
 * zn.nn.functional.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 })
 *   .shape; // [1, 2, 10, 10]
 * ```
 */
export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTransposeOptions = {},
): Tensor {
  [input, weight, bias] = lowerPrecision(input, weight, bias) as [
    Tensor,
    Tensor,
    Tensor | null | undefined,
  ];
  const op = "convTranspose2d";
  checkOptions(op, opts, CONV_TRANSPOSE_KEYS);
  const x0 = checkFloatInput(input, op);
  const w = checkFloatInput(weight, op, "weight");
  const b = bias == null ? null : checkFloatInput(bias, op, "bias");
  sameDevice(op, x0, w, b);
  checkDTypes(op, x0, w, b);
  if (x0.ndim !== 3 && x0.ndim !== 4) {
    throw new RangeError(
      `${op}: expected 3D (unbatched) or 4D (batched) input, but got input of size: ${
        fmtShape(x0.shape)
      }`,
    );
  }
  if (w.ndim !== 4) {
    throw new RangeError(
      `${op}: expected a 4D weight [in_channels, out_channels/groups, kH, kW], but got weight of size ${
        fmtShape(w.shape)
      }`,
    );
  }
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
  const batched = x0.ndim === 4;
  const x = batched ? x0 : unsqueeze(x0, 0);
  const cin = x.shape[1];
  if (w.shape[0] !== cin) {
    throw new RangeError(
      `${op}: given weight of size ${fmtShape(w.shape)}, expected input${
        fmtShape(x0.shape)
      } to have ${w.shape[0]} channels, but got ${cin} channels instead`,
    );
  }
  if (cin % groups !== 0) {
    throw new RangeError(
      `${op}: in_channels (${cin}) must be divisible by groups (${groups})`,
    );
  }
  const cout = w.shape[1] * groups;
  if (b && (b.ndim !== 1 || b.shape[0] !== cout)) {
    throw new RangeError(
      `${op}: expected bias of size [${cout}] (out_channels), but got bias of size ${
        fmtShape(b.shape)
      }`,
    );
  }
  const stride = sizeArg(opts.stride ?? 1, 2, "stride", op, 1);
  const padding = sizeArg(opts.padding ?? 0, 2, "padding", op, 0);
  const outPad = sizeArg(opts.outputPadding ?? 0, 2, "outputPadding", op, 0);
  const dilation = sizeArg(opts.dilation ?? 1, 2, "dilation", op, 1);
  const kernel = w.shape.slice(2);
  if (kernel.some((k) => k === 0)) {
    throw new RangeError(`${op}: kernel size must be positive, got weight ${fmtShape(w.shape)}`);
  }
  for (let i = 0; i < 2; i++) {
    if (outPad[i] >= stride[i] && outPad[i] >= dilation[i]) {
      throw new RangeError(
        `${op}: output padding must be smaller than either stride or dilation, but got outputPadding: ${
          outPad.join(", ")
        }, stride: ${stride.join(", ")}, dilation: ${dilation.join(", ")}`,
      );
    }
  }
  const size = [0, 1].map((i) =>
    (x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) +
    outPad[i] + 1
  ) as Pair;
  if (size.some((s) => s <= 0)) {
    throw new RangeError(
      `${op}: given input of size ${fmtShape(x0.shape)} and weight of size ${
        fmtShape(w.shape)
      }, the calculated output size (${size.join(" x ")}) is too small`,
    );
  }
  const y = convTranspose2dCore(x, w, b, {
    stride: [stride[0], stride[1]],
    padding: [padding[0], padding[1]],
    dilation: [dilation[0], dilation[1]],
    groups,
  }, size);
  return batched ? y : squeeze(y, 0);
}
