/**
 * `LayerNorm`, `GroupNorm` and `RMSNorm`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { ones, zeros } from "../ops/creation.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { groupNorm, layerNorm, rmsNorm } from "./functional/normalization.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntList, checkSizeArg } from "../args.ts";

/**
 * Options of {@link LayerNorm} and {@link GroupNorm}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.NormOptions = { eps: 1e-6, bias: false };
 * const ln = new zn.nn.LayerNorm(8, opts);
 * ln.call(zn.randn([2, 8])).shape; // [2, 8]
 * ```
 */
export interface NormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a scale and shift (default true). */
  elementwiseAffine?: boolean;
  /** With an affine transform, learn the shift too (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const LAYER_NORM_KEYS = optionKeys<NormOptions>({
  eps: 0,
  elementwiseAffine: 0,
  bias: 0,
  dtype: 0,
});
const GROUP_NORM_KEYS = ["eps", "affine", "dtype"] as const;

/**
 * Layer normalization over the trailing `normalizedShape` dims.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.LayerNorm(8).call(zn.randn([2, 8])).shape; // [2, 8]
 * ```
 */
export class LayerNorm extends Module {
  /** The trailing shape normalized over. */
  readonly normalizedShape: number[];
  /** Added to the variance. */
  eps: number;
  /** The elementwise scale, or null. */
  weight: Parameter | null;
  /** The elementwise shift, or null. */
  bias: Parameter | null;

  /** A layer norm over `normalizedShape`. */
  constructor(normalizedShape: number | readonly number[], opts: NormOptions = {}) {
    checkIntList(normalizedShape, "LayerNorm", "normalizedShape", { single: true });
    checkOptions("LayerNorm", opts, LAYER_NORM_KEYS);
    super();
    this.normalizedShape = typeof normalizedShape === "number"
      ? [normalizedShape]
      : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? "float32";
    this.weight = affine ? new Parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = affine && (opts.bias ?? true)
      ? new Parameter(zeros(this.normalizedShape, { dtype }))
      : null;
  }

  /** Normalizes the input. */
  override forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, { eps: this.eps });
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `[${this.normalizedShape.join(", ")}], eps=${this.eps}`;
  }
}

/**
 * Group normalization: `numChannels` split into `numGroups` groups.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.GroupNorm(2, 4).call(zn.randn([3, 4, 5])).shape; // [3, 4, 5]
 * ```
 */
export class GroupNorm extends Module {
  /** Number of groups. */
  readonly numGroups: number;
  /** Number of channels. */
  readonly numChannels: number;
  /** Added to the variance. */
  eps: number;
  /** The per-channel scale, or null. */
  weight: Parameter | null;
  /** The per-channel shift, or null. */
  bias: Parameter | null;

  /** A group norm of `numChannels` channels in `numGroups` groups. */
  constructor(
    numGroups: number,
    numChannels: number,
    opts: { eps?: number; affine?: boolean; dtype?: DType } = {},
  ) {
    checkSizeArg(numGroups, "GroupNorm", "numGroups");
    checkSizeArg(numChannels, "GroupNorm", "numChannels");
    checkOptions("GroupNorm", opts, GROUP_NORM_KEYS);
    super();
    if (numChannels % numGroups !== 0) {
      throw new RangeError("GroupNorm: numChannels must be divisible by numGroups");
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    const dtype = opts.dtype ?? "float32";
    this.weight = affine ? new Parameter(ones([numChannels], { dtype })) : null;
    this.bias = affine ? new Parameter(zeros([numChannels], { dtype })) : null;
  }

  /** Normalizes the input. */
  override forward(input: Tensor): Tensor {
    return groupNorm(input, this.numGroups, this.weight, this.bias, { eps: this.eps });
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}`;
  }
}

/**
 * Options of {@link RMSNorm}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.RMSNormOptions = { eps: 1e-6, elementwiseAffine: true };
 * new zn.nn.RMSNorm(8, opts).call(zn.randn([2, 8])).shape; // [2, 8]
 * ```
 */
export interface RMSNormOptions {
  /**
   * Added to the mean square (default null: the machine epsilon of the
   * input's computing dtype, as PyTorch).
   */
  eps?: number | null;
  /** Learn an elementwise scale `weight`, initialised to ones (default true). */
  elementwiseAffine?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const RMS_NORM_KEYS = optionKeys<RMSNormOptions>({ eps: 0, elementwiseAffine: 0, dtype: 0 });

/**
 * Root-mean-square normalization over the trailing `normalizedShape` dims,
 * as PyTorch's `nn.RMSNorm`: `x / sqrt(mean(x²) + eps) * weight`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const norm = new zn.nn.RMSNorm(8);
 * norm.call(zn.randn([2, 8])).shape; // [2, 8]
 * Object.keys(norm.stateDict()); // ["weight"]
 * ```
 */
export class RMSNorm extends Module {
  /** The trailing shape normalized over. */
  readonly normalizedShape: number[];
  /** Added to the mean square; null for the dtype's machine epsilon. */
  eps: number | null;
  /** The elementwise scale, or null. */
  weight: Parameter | null;

  /** An RMS norm over `normalizedShape`. */
  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    checkIntList(normalizedShape, "RMSNorm", "normalizedShape", { single: true, min: 0 });
    checkOptions("RMSNorm", opts, RMS_NORM_KEYS);
    if (opts.eps !== undefined && opts.eps !== null && typeof opts.eps !== "number") {
      throw new TypeError(`RMSNorm: expected eps to be a number or null, got ${typeof opts.eps}`);
    }
    super();
    this.normalizedShape = typeof normalizedShape === "number"
      ? [normalizedShape]
      : [...normalizedShape];
    this.eps = opts.eps ?? null;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine
      ? new Parameter(ones(this.normalizedShape, { dtype: opts.dtype ?? "float32" }))
      : null;
  }

  /** Normalizes the input. */
  override forward(input: Tensor): Tensor {
    return rmsNorm(input, this.normalizedShape, this.weight, { eps: this.eps });
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `[${this.normalizedShape.join(", ")}], eps=${this.eps}`;
  }
}
