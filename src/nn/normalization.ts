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
import {
  groupNorm,
  instanceNorm,
  layerNorm,
  localResponseNorm,
  type LocalResponseNormOptions,
  rmsNorm,
} from "./functional/normalization.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntList, checkSizeArg } from "../args.ts";

/** Keys of state that stays off the module's public members (and that deepCopy copies). */
const DIMS: unique symbol = Symbol("dims");

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

/** Options of {@link InstanceNorm1d} and {@link InstanceNorm2d}. */
export interface InstanceNormModuleOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** The running statistics' update factor (default 0.1). */
  momentum?: number;
  /** Learn a per-channel scale and shift (default false, as PyTorch). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default false, as PyTorch). */
  trackRunningStats?: boolean;
  /** The parameters' and buffers' dtype (default float32). */
  dtype?: DType;
}
const INSTANCE_KEYS = optionKeys<InstanceNormModuleOptions>({
  eps: 0,
  momentum: 0,
  affine: 0,
  trackRunningStats: 0,
  dtype: 0,
});

/** The instance norms' shared body; `dims` is the batched input's rank. */
class InstanceNormBase extends Module {
  /** Number of channels. */
  readonly numFeatures: number;
  /** Added to the variance. */
  eps: number;
  /** The running statistics' update factor. */
  momentum: number;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;
  /** The per-channel scale, or null. */
  weight: Parameter | null;
  /** The per-channel shift, or null. */
  bias: Parameter | null;
  /** @internal The batched input's rank. */
  readonly [DIMS]: number;

  constructor(name: string, dims: number, numFeatures: number, opts: InstanceNormModuleOptions) {
    checkSizeArg(numFeatures, name, "numFeatures");
    checkOptions(name, opts, INSTANCE_KEYS);
    super();
    this[DIMS] = dims;
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    this.trackRunningStats = opts.trackRunningStats ?? false;
    const dtype = opts.dtype ?? "float32";
    const affine = opts.affine ?? false;
    this.weight = affine ? new Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", zeros([numFeatures], { dtype }));
      this.registerBuffer("running_var", ones([numFeatures], { dtype }));
      this.registerBuffer("num_batches_tracked", zeros([], { dtype: "int64" }));
    }
  }

  /** Normalises each sample's channels (unbatched input: one sample). */
  override forward(input: Tensor): Tensor {
    const name = this.constructor.name;
    if (input.ndim !== this[DIMS] && input.ndim !== this[DIMS] - 1) {
      throw new RangeError(
        `${name}: expected ${this[DIMS] - 1}D (unbatched) or ${
          this[DIMS]
        }D input, got ${input.ndim}D`,
      );
    }
    const batched = input.ndim === this[DIMS] ? input : input.unsqueeze(0);
    if (batched.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${name}: expected ${this.numFeatures} channels, got ${batched.shape[1]}`,
      );
    }
    // PyTorch keeps num_batches_tracked here for state dicts but never counts.
    const track = this.trackRunningStats;
    const y = instanceNorm(batched, {
      runningMean: track ? this.getBuffer("running_mean") : null,
      runningVar: track ? this.getBuffer("running_var") : null,
      weight: this.weight,
      bias: this.bias,
      useInputStats: this.training || !track,
      momentum: this.momentum,
      eps: this.eps,
    });
    return input.ndim === this[DIMS] ? y : y.squeeze(0);
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${
      this.weight !== null
    }, track_running_stats=${this.trackRunningStats}`;
  }
}

/**
 * Instance norm over `[N, C, L]` (or unbatched `[C, L]`) input.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.InstanceNorm1d(2).call(zn.randn([4, 2, 8])).shape; // [4, 2, 8]
 * ```
 */
export class InstanceNorm1d extends InstanceNormBase {
  /** An instance norm of `numFeatures` channels. */
  constructor(numFeatures: number, opts: InstanceNormModuleOptions = {}) {
    super("InstanceNorm1d", 3, numFeatures, opts);
  }
}

/**
 * Instance norm over `[N, C, H, W]` (or unbatched `[C, H, W]`) input.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.InstanceNorm2d(3, { affine: true }).call(zn.randn([2, 3, 4, 4])).shape; // [2, 3, 4, 4]
 * ```
 */
export class InstanceNorm2d extends InstanceNormBase {
  /** An instance norm of `numFeatures` channels. */
  constructor(numFeatures: number, opts: InstanceNormModuleOptions = {}) {
    super("InstanceNorm2d", 4, numFeatures, opts);
  }
}

/**
 * Local response normalisation across `size` neighbouring channels.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.LocalResponseNorm(2).call(zn.ones([1, 3, 2, 2])).shape; // [1, 3, 2, 2]
 * ```
 */
export class LocalResponseNorm extends Module {
  /** Channels in each window. */
  readonly size: number;
  /** The options as given (alpha 1e-4, beta 0.75, k 1 by default). */
  readonly options: LocalResponseNormOptions;
  /** A local response norm over `size` channels. */
  constructor(size: number, opts: LocalResponseNormOptions = {}) {
    checkSizeArg(size, "LocalResponseNorm", "size");
    checkOptions("LocalResponseNorm", opts, ["alpha", "beta", "k"]);
    super();
    this.size = size;
    this.options = { ...opts };
  }
  /** Normalises the input. */
  override forward(input: Tensor): Tensor {
    return localResponseNorm(input, this.size, this.options);
  }
}
