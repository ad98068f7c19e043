/**
 * Functional normalization: batch, layer and group norm, composed from
 * differentiable reductions.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { fmtShape } from "../../shape.ts";

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function channelShape(input: Tensor): number[] {
  return input.shape.map((s, i) => (i === 1 ? s : 1));
}

/**
 * Batch normalization over all dims but the channel dim 1: batch statistics
 * when `training` (updating `runningMean`/`runningVar` in place with the
 * unbiased variance), the running statistics otherwise.
 *
 * @example
 * ```ts
 * import * as zn from "../../../mod.ts";
 * const x = zn.randn([8, 3]);
 * const y = zn.nn.functional.batchNorm(x, null, null, null, null, { training: true });
 * y.mean(0); // close to 0
 * ```
 */
export function batchNorm(
  input: Tensor,
  runningMean?: Tensor | null,
  runningVar?: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  if (!(input instanceof Tensor) || input.ndim < 2) {
    throw new RangeError("batchNorm: expected an input with at least 2 dims [N, C, ...]");
  }
  const training = opts.training ?? false, momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const dims = input.shape.map((_, i) => i).filter((i) => i !== 1);
  const shape = channelShape(input);
  let mean: Tensor, variance: Tensor;
  if (training) {
    const n = input.numel / input.shape[1];
    if (n <= 1) {
      throw new RangeError(
        `batchNorm: expected more than 1 value per channel when training, got input size ${
          fmtShape(input.shape)
        }`,
      );
    }
    mean = input.mean(dims, true);
    variance = input.var(dims, { correction: 0, keepdim: true });
    noGrad(() => {
      if (runningMean) {
        runningMean.mul_(1 - momentum).add_(mean.reshape(-1).mul(momentum));
      }
      if (runningVar) {
        runningVar.mul_(1 - momentum).add_(variance.reshape(-1).mul(momentum * n / (n - 1)));
      }
    });
  } else {
    if (!runningMean || !runningVar) {
      throw new Error("batchNorm: running_mean and running_var must be defined in evaluation mode");
    }
    mean = runningMean.reshape(shape);
    variance = runningVar.reshape(shape);
  }
  let out = input.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) out = out.mul(weight.reshape(shape));
  if (bias) out = out.add(bias.reshape(shape));
  return out;
}

/**
 * Layer normalization over the last `normalizedShape.length` dims, with an
 * optional elementwise affine transform.
 *
 * @example
 * ```ts
 * import * as zn from "../../../mod.ts";
 * const y = zn.nn.functional.layerNorm(zn.randn([2, 5]), [5]);
 * y.mean(-1); // close to 0
 * ```
 */
export function layerNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: { eps?: number } = {},
): Tensor {
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length, nd = input.ndim;
  if (k === 0 || k > nd || ns.some((s, i) => s !== input.shape[nd - k + i])) {
    throw new RangeError(
      `layerNorm: given normalizedShape=${fmtShape(ns)}, expected input with shape [*, ${
        ns.join(", ")
      }], but got input of size ${fmtShape(input.shape)}`,
    );
  }
  const dims = ns.map((_, i) => nd - k + i);
  const mean = input.mean(dims, true);
  const variance = input.var(dims, { correction: 0, keepdim: true });
  let out = input.sub(mean).mul(variance.add(opts.eps ?? 1e-5).rsqrt());
  if (weight) out = out.mul(weight);
  if (bias) out = out.add(bias);
  return out;
}

/**
 * Group normalization: the channels (dim 1) split into `numGroups` groups,
 * each normalized over its channels and the spatial dims, then a per-channel
 * affine transform.
 *
 * @example
 * ```ts
 * import * as zn from "../../../mod.ts";
 * zn.nn.functional.groupNorm(zn.randn([2, 4, 3]), 2).shape; // [2, 4, 3]
 * ```
 */
export function groupNorm(
  input: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: { eps?: number } = {},
): Tensor {
  if (input.ndim < 2) throw new RangeError("groupNorm: expected an input with at least 2 dims");
  const n = input.shape[0], c = input.shape[1];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new RangeError(
      `groupNorm: expected number of channels in input (${c}) to be divisible by numGroups (${numGroups})`,
    );
  }
  const g = input.reshape([n, numGroups, -1]);
  const mean = g.mean(2, true);
  const variance = g.var(2, { correction: 0, keepdim: true });
  let out = g.sub(mean).mul(variance.add(opts.eps ?? 1e-5).rsqrt()).reshape(input.shape);
  const shape = channelShape(input);
  if (weight) out = out.mul(weight.reshape(shape));
  if (bias) out = out.add(bias.reshape(shape));
  return out;
}
