/**
 * Convolution modules: `Conv1d`, `Conv2d` and `ConvTranspose2d`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { empty } from "../ops/creation.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { conv1d, conv2d, convTranspose2d, type SizeArg } from "./functional/conv.ts";
import { sizeArg } from "./functional/conv_kernels.ts";
import { conv3d } from "./functional/conv3d.ts";
import { resetWeightAndBias } from "./default_init.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkSizeArg } from "../args.ts";

/**
 * Options of {@link Conv1d} and {@link Conv2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.ConvModuleOptions = { stride: 2, padding: 1, bias: false };
 * const conv = new zn.nn.Conv2d(3, 8, 3, opts);
 * conv.call(zn.randn([1, 3, 32, 32])).shape; // [1, 8, 16, 16]
 * ```
 */
export interface ConvModuleOptions {
  /** Step between windows (default 1). */
  stride?: SizeArg;
  /** Zero padding per side, "same" or "valid" (default 0). */
  padding?: SizeArg | "same" | "valid";
  /** Step between kernel taps (default 1). */
  dilation?: SizeArg;
  /** Blocked connections from input to output channels (default 1). */
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link ConvTranspose2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.ConvTransposeModuleOptions = { stride: 2, padding: 1, outputPadding: 1 };
 * const up = new zn.nn.ConvTranspose2d(8, 3, 3, opts);
 * up.call(zn.randn([1, 8, 16, 16])).shape; // [1, 3, 32, 32]
 * ```
 */
export interface ConvTransposeModuleOptions {
  /** Step of the convolution this layer transposes (default 1). */
  stride?: SizeArg;
  /** Padding of that convolution (default 0). */
  padding?: SizeArg;
  /** Extra size on one side of the output (default 0). */
  outputPadding?: SizeArg;
  /** Blocked connections from input to output channels (default 1). */
  groups?: number;
  /** Step between kernel taps (default 1). */
  dilation?: SizeArg;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const CONV_KEYS = optionKeys<ConvModuleOptions>({
  stride: 0,
  padding: 0,
  dilation: 0,
  groups: 0,
  bias: 0,
  dtype: 0,
});
const CONV_TRANSPOSE_KEYS = optionKeys<ConvTransposeModuleOptions>({
  stride: 0,
  padding: 0,
  outputPadding: 0,
  groups: 0,
  dilation: 0,
  bias: 0,
  dtype: 0,
});

function checkGroups(inC: number, outC: number, groups: number, op: string): void {
  checkSizeArg(inC, op, "inChannels");
  checkSizeArg(outC, op, "outChannels");
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer`);
  }
  if (inC % groups !== 0) throw new RangeError(`${op}: inChannels must be divisible by groups`);
  if (outC % groups !== 0) throw new RangeError(`${op}: outChannels must be divisible by groups`);
}

/** The shared part of {@link Conv1d} and {@link Conv2d}. */
abstract class ConvNd extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size per spatial dim. */
  readonly kernelSize: number[];
  /** Stride. */
  readonly stride: SizeArg;
  /** Padding. */
  readonly padding: SizeArg | "same" | "valid";
  /** Dilation. */
  readonly dilation: SizeArg;
  /** Groups. */
  readonly groups: number;
  /** The kernel, `[outChannels, inChannels / groups, ...kernelSize]`. */
  weight: Parameter;
  /** The bias, `[outChannels]`, or null. */
  bias: Parameter | null;

  constructor(
    nd: number,
    inChannels: number,
    outChannels: number,
    kernelSize: SizeArg,
    opts: ConvModuleOptions,
  ) {
    checkOptions(`Conv${nd}d`, opts, CONV_KEYS);
    super();
    const groups = opts.groups ?? 1;
    checkGroups(inChannels, outChannels, groups, this.constructor.name);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = sizeArg(kernelSize, nd, "kernelSize", this.constructor.name, 1);
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = groups;
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(
      empty([outChannels, inChannels / groups, ...this.kernelSize], { dtype }),
    );
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises the weight (kaiming-uniform, a = √5) and bias, as PyTorch does. */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  /** The layer's settings. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${
      JSON.stringify(this.stride)
    }, padding=${JSON.stringify(this.padding)}${
      this.groups === 1 ? "" : `, groups=${this.groups}`
    }${this.bias ? "" : ", bias=false"}`;
  }
}

/**
 * 1-D convolution over `[N, C, L]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const conv = new zn.nn.Conv1d(2, 4, 3, { padding: "same" });
 * conv.call(zn.randn([1, 2, 10])).shape; // [1, 4, 10]
 * ```
 */
export class Conv1d extends ConvNd {
  /** A 1-D convolution from `inChannels` to `outChannels` with a `kernelSize` kernel. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SizeArg,
    opts: ConvModuleOptions = {},
  ) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
  /** Convolves the input. */
  override forward(input: Tensor): Tensor {
    return conv1d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/**
 * 2-D convolution over `[N, C, H, W]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const conv = new zn.nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 });
 * conv.call(zn.randn([1, 3, 16, 16])).shape; // [1, 8, 8, 8]
 * ```
 */
export class Conv2d extends ConvNd {
  /** A 2-D convolution from `inChannels` to `outChannels` with a `kernelSize` kernel. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SizeArg,
    opts: ConvModuleOptions = {},
  ) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
  /** Convolves the input. */
  override forward(input: Tensor): Tensor {
    return conv2d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/**
 * 3-D convolution over `[N, C, D, H, W]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const conv = new zn.nn.Conv3d(2, 4, 3, { padding: 1 });
 * conv.call(zn.randn([1, 2, 4, 6, 6])).shape; // [1, 4, 4, 6, 6]
 * ```
 */
export class Conv3d extends ConvNd {
  /** A 3-D convolution from `inChannels` to `outChannels` with a `kernelSize` kernel. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SizeArg,
    opts: ConvModuleOptions = {},
  ) {
    super(3, inChannels, outChannels, kernelSize, opts);
  }
  /** Convolves the input. */
  override forward(input: Tensor): Tensor {
    return conv3d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}

/**
 * 2-D transposed convolution; weight `[inChannels, outChannels / groups, kH, kW]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const up = new zn.nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
 * up.call(zn.randn([1, 4, 5, 5])).shape; // [1, 2, 10, 10]
 * ```
 */
export class ConvTranspose2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size. */
  readonly kernelSize: number[];
  /** Stride. */
  readonly stride: SizeArg;
  /** Padding. */
  readonly padding: SizeArg;
  /** Output padding. */
  readonly outputPadding: SizeArg;
  /** Groups. */
  readonly groups: number;
  /** Dilation. */
  readonly dilation: SizeArg;
  /** The kernel, `[inChannels, outChannels / groups, kH, kW]`. */
  weight: Parameter;
  /** The bias, `[outChannels]`, or null. */
  bias: Parameter | null;

  /** A transposed convolution from `inChannels` to `outChannels`. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SizeArg,
    opts: ConvTransposeModuleOptions = {},
  ) {
    checkOptions("ConvTranspose2d", opts, CONV_TRANSPOSE_KEYS);
    super();
    const groups = opts.groups ?? 1;
    checkGroups(inChannels, outChannels, groups, "ConvTranspose2d");
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = sizeArg(kernelSize, 2, "kernelSize", "ConvTranspose2d", 1);
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.outputPadding = opts.outputPadding ?? 0;
    this.groups = groups;
    this.dilation = opts.dilation ?? 1;
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(
      empty([inChannels, outChannels / groups, ...this.kernelSize], { dtype }),
    );
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outChannels], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises the weight and bias as PyTorch does. */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  /** Applies the transposed convolution. */
  override forward(input: Tensor): Tensor {
    return convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }

  /** The layer's settings. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=${
      JSON.stringify(this.stride)
    }`;
  }
}
