/**
 * Batch normalization modules: `BatchNorm1d` and `BatchNorm2d`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { ones, tensor, zeros } from "../ops/creation.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { batchNorm } from "./functional/normalization.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of the batch norm modules.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.BatchNormModuleOptions = { momentum: 0.01, affine: false };
 * const bn = new zn.nn.BatchNorm1d(4, opts);
 * bn.call(zn.randn([8, 4])).shape; // [8, 4]
 * ```
 */
export interface BatchNormModuleOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average factor (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true). */
  trackRunningStats?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const BATCH_NORM_KEYS = optionKeys<BatchNormModuleOptions>({
  eps: 0,
  momentum: 0,
  affine: 0,
  trackRunningStats: 0,
  dtype: 0,
});

/**
 * The shared implementation of {@link BatchNorm1d} and {@link BatchNorm2d}:
 * parameters `weight`, `bias` and buffers `running_mean`, `running_var`,
 * `num_batches_tracked` as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const bn = new zn.nn.BatchNorm1d(3);
 * Object.keys(bn.stateDict()); // ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
 * ```
 */
export class BatchNorm extends Module {
  /** Number of channels. */
  readonly numFeatures: number;
  /** Added to the variance. */
  eps: number;
  /** Running-average factor; null for a cumulative average. */
  momentum: number | null;
  /** Whether there is a learnt scale and shift. */
  readonly affine: boolean;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;
  /** The per-channel scale, or null. */
  weight: Parameter | null;
  /** The per-channel shift, or null. */
  bias: Parameter | null;
  /** Dims the input may have (set by the subclasses). */
  protected readonly allowedDims: readonly number[] = [2, 3, 4, 5];

  /** A batch norm over `numFeatures` channels. */
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) {
    super();
    checkOptions(this.constructor.name, opts, BATCH_NORM_KEYS);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const dtype = opts.dtype ?? "float32";
    this.weight = this.affine ? new Parameter(ones([numFeatures], { dtype })) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], { dtype })) : null;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", zeros([numFeatures], { dtype }));
      this.registerBuffer("running_var", ones([numFeatures], { dtype }));
      this.registerBuffer("num_batches_tracked", tensor(0, { dtype: "int64" }));
    } else {
      this.registerBuffer("running_mean", null);
      this.registerBuffer("running_var", null);
      this.registerBuffer("num_batches_tracked", null);
    }
  }

  /** The running mean buffer (`running_mean`), or null. */
  get runningMean(): Tensor | null {
    return this.getBuffer("running_mean");
  }
  /** The running variance buffer (`running_var`), or null. */
  get runningVar(): Tensor | null {
    return this.getBuffer("running_var");
  }
  /** The number of training batches seen (`num_batches_tracked`, int64), or null. */
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer("num_batches_tracked");
  }

  /** Resets the running statistics to mean 0, variance 1 and no batches. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }

  /** Normalizes with batch statistics in training mode, running ones in eval mode. */
  override forward(input: Tensor): Tensor {
    if (!this.allowedDims.includes(input.ndim)) {
      throw new RangeError(
        `${this.constructor.name}: expected ${
          this.allowedDims.map((d) => `${d}D`).join(" or ")
        } input (got ${input.ndim}D input)`,
      );
    }
    if (input.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${this.constructor.name}: expected ${this.numFeatures} channels, got ${input.shape[1]}`,
      );
    }
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt) {
      noGrad(() => nbt.add_(1));
      if (this.momentum === null) factor = 1 / (nbt.item() as number);
    }
    const useBatch = this.training || (this.runningMean === null && this.runningVar === null);
    const track = !this.training || this.trackRunningStats;
    return batchNorm(
      input,
      track ? this.runningMean : null,
      track ? this.runningVar : null,
      this.weight,
      this.bias,
      { training: useBatch, momentum: factor, eps: this.eps },
    );
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Batch normalization of `[N, C]` or `[N, C, L]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const bn = new zn.nn.BatchNorm1d(4);
 * bn.call(zn.randn([8, 4])).shape; // [8, 4]
 * bn.eval(); // now uses running_mean and running_var
 * ```
 */
export class BatchNorm1d extends BatchNorm {
  /** 2-D or 3-D inputs. */
  protected override readonly allowedDims: readonly number[] = [2, 3];
}

/**
 * Batch normalization of `[N, C, H, W]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.BatchNorm2d(3).call(zn.randn([2, 3, 4, 4])).shape; // [2, 3, 4, 4]
 * ```
 */
export class BatchNorm2d extends BatchNorm {
  /** 4-D inputs. */
  protected override readonly allowedDims: readonly number[] = [4];
}
