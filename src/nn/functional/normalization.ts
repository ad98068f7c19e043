/**
 * Functional normalization: batch, layer and group norm. Layer norm and
 * batch norm run as fused kernels where the backend has them (float32 and
 * float64); every norm also has its composed form from differentiable
 * reductions, which is the reference the fused kernels are tested against.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { fmtShape } from "../../shape.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import {
  checkFloatTensor,
  checkIntArg,
  checkIntList,
  checkOptionalTensor,
  checkTensor,
} from "../../args.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { zeros } from "../../ops/creation.ts";
import { cat } from "../../ops/join.ts";
import {
  batchNormComposed,
  fusedBatchNorm,
  fusedGroupNorm,
  fusedLayerNorm,
  groupNormComposed,
  layerNormComposed,
} from "./norm_kernels.ts";

/**
 * Options of {@link batchNorm}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const runningMean = zn.zeros([2]), runningVar = zn.ones([2]);
 * const opts: zn.nn.functional.BatchNormOptions = { training: true, momentum: 0.5 };
 * const x = zn.tensor([[1, 2], [3, 4]]);
 * zn.nn.functional.batchNorm(x, runningMean, runningVar, null, null, opts);
 * runningMean.toArray(); // [1, 1.5]
 * ```
 */
export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

const BATCH_NORM_KEYS = optionKeys<BatchNormOptions>({ training: 0, momentum: 0, eps: 0 });
const EPS_KEYS = ["eps"] as const;

/**
 * Batch normalization over all dims but the channel dim 1: batch statistics
 * when `training` (updating `runningMean`/`runningVar` in place with the
 * unbiased variance), the running statistics otherwise.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
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
  checkFloatTensor(input, "batchNorm");
  checkOptionalTensor(runningMean, "batchNorm", "runningMean");
  checkOptionalTensor(runningVar, "batchNorm", "runningVar");
  checkOptionalTensor(weight, "batchNorm", "weight");
  checkOptionalTensor(bias, "batchNorm", "bias");
  checkOptions("batchNorm", opts, BATCH_NORM_KEYS);
  const training = opts.training ?? false, momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (training) {
    const n = input.numel / input.shape[1];
    if (n <= 1) {
      throw new RangeError(
        `batchNorm: expected more than 1 value per channel when training, got input size ${
          fmtShape(input.shape)
        }`,
      );
    }
  } else if (!runningMean || !runningVar) {
    throw new Error("batchNorm: running_mean and running_var must be defined in evaluation mode");
  }
  const p = { training, momentum, eps };
  const rm = runningMean ?? null, rv = runningVar ?? null, w = weight ?? null, b = bias ?? null;
  return fusedBatchNorm(input, rm, rv, w, b, p) ?? batchNormComposed(input, rm, rv, w, b, p);
}

/**
 * Layer normalization over the last `normalizedShape.length` dims, with an
 * optional elementwise affine transform.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
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
  checkFloatTensor(input, "layerNorm");
  checkIntList(normalizedShape, "layerNorm", "normalizedShape", { single: true });
  checkOptionalTensor(weight, "layerNorm", "weight");
  checkOptionalTensor(bias, "layerNorm", "bias");
  checkOptions("layerNorm", opts, EPS_KEYS);
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length, nd = input.ndim;
  if (k === 0 || k > nd || ns.some((s, i) => s !== input.shape[nd - k + i])) {
    throw new RangeError(
      `layerNorm: given normalizedShape=${fmtShape(ns)}, expected input with shape [*, ${
        ns.join(", ")
      }], but got input of size ${fmtShape(input.shape)}`,
    );
  }
  const eps = opts.eps ?? 1e-5;
  return fusedLayerNorm(input, k, weight ?? null, bias ?? null, eps) ??
    layerNormComposed(input, k, weight ?? null, bias ?? null, eps);
}

/**
 * Group normalization: the channels (dim 1) split into `numGroups` groups,
 * each normalized over its channels and the spatial dims, then a per-channel
 * affine transform.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
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
  checkFloatTensor(input, "groupNorm");
  checkOptionalTensor(weight, "groupNorm", "weight");
  checkOptionalTensor(bias, "groupNorm", "bias");
  checkOptions("groupNorm", opts, EPS_KEYS);
  if (input.ndim < 2) throw new RangeError("groupNorm: expected an input with at least 2 dims");
  const c = input.shape[1];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new RangeError(
      `groupNorm: expected number of channels in input (${c}) to be divisible by numGroups (${numGroups})`,
    );
  }
  const eps = opts.eps ?? 1e-5, w = weight ?? null, b = bias ?? null;
  return fusedGroupNorm(input, numGroups, w, b, eps) ??
    groupNormComposed(input, numGroups, w, b, eps);
}

/**
 * Root-mean-square normalization over the last `normalizedShape.length`
 * dims, as PyTorch's `F.rms_norm`: `x / sqrt(mean(x²) + eps) * weight`.
 * `eps` defaults to the machine epsilon of the computing dtype (2⁻⁵² for
 * float64; 2⁻²³ for float32, and for float16 and bfloat16, which are
 * computed in float32).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.rmsNorm(zn.tensor([[3, 4]]), [2]);
 * y.toArray(); // [[0.8485, 1.1314]]: divided by sqrt((9 + 16) / 2)
 * ```
 */
export function rmsNorm(
  input: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  opts: { eps?: number | null } = {},
): Tensor {
  checkTensor(input, "rmsNorm");
  checkIntList(normalizedShape, "rmsNorm", "normalizedShape", { single: true });
  checkOptionalTensor(weight, "rmsNorm", "weight");
  checkOptions("rmsNorm", opts, EPS_KEYS);
  const ns = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
  const k = ns.length, nd = input.ndim;
  if (k === 0 || k > nd || ns.some((s, i) => s !== input.shape[nd - k + i])) {
    throw new RangeError(
      `rmsNorm: given normalizedShape=${fmtShape(ns)}, expected input with shape [*, ${
        ns.join(", ")
      }], but got input of size ${fmtShape(input.shape)}`,
    );
  }
  if (weight && (weight.ndim !== k || weight.shape.some((s, i) => s !== ns[i]))) {
    throw new RangeError(
      `rmsNorm: expected weight of shape ${fmtShape(ns)}, got ${fmtShape(weight.shape)}`,
    );
  }
  checkFloatTensor(input, "rmsNorm");
  const dtype = input.dtype;
  const eps = opts.eps ?? (dtype === "float64" ? 2 ** -52 : 2 ** -23);
  if (typeof eps !== "number" || eps !== eps) {
    throw new TypeError(`rmsNorm: expected eps to be a number or null, got ${String(eps)}`);
  }
  const fused = fusedLayerNorm(input, k, weight ?? null, null, eps, true);
  if (fused) return fused;
  // Composed (the reference form): halves compute in float32, as the fused
  // kernel does.
  const half = dtype === "float16" || dtype === "bfloat16";
  const x = half ? input.to("float32") : input;
  const dims = Array.from({ length: k }, (_, i) => nd - k + i);
  let out = x.mul(x.square().mean(dims, true).add(eps).rsqrt());
  if (half) out = out.to(dtype);
  return weight ? out.mul(weight) : out;
}

/** Options of {@link instanceNorm}. */
export interface InstanceNormOptions {
  /** Running mean per channel `[C]`, updated in place when `useInputStats`. */
  runningMean?: Tensor | null;
  /** Running variance per channel `[C]`, updated in place when `useInputStats`. */
  runningVar?: Tensor | null;
  /** Scale per channel `[C]`. */
  weight?: Tensor | null;
  /** Shift per channel `[C]`. */
  bias?: Tensor | null;
  /** Normalise with each instance's own statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  /** The running statistics' update factor (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}
const INSTANCE_NORM_KEYS = optionKeys<InstanceNormOptions>({
  runningMean: 0,
  runningVar: 0,
  weight: 0,
  bias: 0,
  useInputStats: 0,
  momentum: 0,
  eps: 0,
});

/**
 * Normalises each channel of each sample over its spatial dims, as
 * `torch.nn.functional.instance_norm`: batch norm over `[1, N * C, ...]`,
 * the running statistics (when given) averaged over the batch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.instanceNorm(zn.tensor([[[1, 3], [2, 6]]]));
 * y.toArray(); // [[[-1, 1], [-1, 1]]] (to within eps)
 * ```
 */
export function instanceNorm(input: Tensor, opts: InstanceNormOptions = {}): Tensor {
  checkFloatTensor(input, "instanceNorm");
  checkOptions("instanceNorm", opts, INSTANCE_NORM_KEYS);
  if (input.ndim < 3) {
    throw new RangeError(
      `instanceNorm: expected a [N, C, ...] input, got ${fmtShape(input.shape)}`,
    );
  }
  const { runningMean = null, runningVar = null, weight = null, bias = null } = opts;
  for (
    const [t, name] of [[runningMean, "runningMean"], [runningVar, "runningVar"], [
      weight,
      "weight",
    ], [bias, "bias"]] as const
  ) {
    checkOptionalTensor(t, "instanceNorm", name);
  }
  const useInputStats = opts.useInputStats ?? true;
  const n = input.shape[0], c = input.shape[1];
  const rep = (t: Tensor | null) => (t === null ? null : t.repeat([n]));
  const rm = rep(runningMean), rv = rep(runningVar);
  const x = input.reshape([1, n * c, ...input.shape.slice(2)]);
  const y = batchNorm(x, rm, rv, rep(weight), rep(bias), {
    training: useInputStats,
    momentum: opts.momentum ?? 0.1,
    eps: opts.eps ?? 1e-5,
  });
  if (useInputStats) {
    noGrad(() => {
      if (runningMean && rm) runningMean.copy_(rm.reshape([n, c]).mean(0));
      if (runningVar && rv) runningVar.copy_(rv.reshape([n, c]).mean(0));
    });
  }
  return y.reshape(input.shape as number[]);
}

/** Options of {@link localResponseNorm}. */
export interface LocalResponseNormOptions {
  /** Scale of the squared sum (default 1e-4). */
  alpha?: number;
  /** Exponent (default 0.75). */
  beta?: number;
  /** Additive constant (default 1). */
  k?: number;
}
const LRN_KEYS = optionKeys<LocalResponseNormOptions>({ alpha: 0, beta: 0, k: 0 });

/**
 * Divides each element by `(k + alpha / size * sum of squares over the
 * `size` neighbouring channels)^beta`, as
 * `torch.nn.functional.local_response_norm`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.localResponseNorm(zn.ones([1, 3, 2]), 2).shape; // [1, 3, 2]
 * ```
 */
export function localResponseNorm(
  input: Tensor,
  size: number,
  opts: LocalResponseNormOptions = {},
): Tensor {
  checkFloatTensor(input, "localResponseNorm");
  checkIntArg(size, "localResponseNorm", "size", 1);
  checkOptions("localResponseNorm", opts, LRN_KEYS);
  if (input.ndim < 3) {
    throw new RangeError(
      `localResponseNorm: expected an input of at least 3 dims, got ${fmtShape(input.shape)}`,
    );
  }
  const alpha = opts.alpha ?? 1e-4, beta = opts.beta ?? 0.75, k = opts.k ?? 1;
  const c = input.shape[1];
  const sq = input.square();
  // Channel window [ch - size/2, ch + (size-1)/2], zeros beyond the ends: a
  // cumulative sum over the zero-padded channels, differenced.
  const before = Math.floor(size / 2), after = Math.floor((size - 1) / 2);
  const zerosShape = (m: number) => [input.shape[0], m, ...input.shape.slice(2)];
  const padded = cat([
    zeros(zerosShape(before + 1), { dtype: sq.dtype, device: sq.device }),
    sq,
    zeros(zerosShape(after), { dtype: sq.dtype, device: sq.device }),
  ], 1);
  const cs = padded.cumsum(1);
  const window = cs.narrow(1, size, c).sub(cs.narrow(1, 0, c));
  const div = window.mul(alpha / size).add(k).pow(beta);
  return input.div(div);
}

/**
 * Options of {@link normalize}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.NormalizeOptions = { p: 1, dim: 0 };
 * zn.nn.functional.normalize(zn.tensor([1, 3]), opts).toArray(); // [0.25, 0.75]
 * ```
 */
export interface NormalizeOptions {
  /** The norm's exponent (default 2). */
  p?: number;
  /** The dim along which vectors are normalized (default 1). */
  dim?: number;
  /** The smallest norm divided by, against division by zero (default 1e-12). */
  eps?: number;
}

const NORMALIZE_KEYS = optionKeys<NormalizeOptions>({ p: 0, dim: 0, eps: 0 });

/**
 * Divides the vectors along `dim` by their `p`-norm (at least `eps`), as
 * `torch.nn.functional.normalize`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.normalize(zn.tensor([[3, 4]])).toArray(); // [[0.6, 0.8]]
 * ```
 */
export function normalize(input: Tensor, opts: NormalizeOptions = {}): Tensor {
  checkFloatTensor(input, "normalize");
  checkOptions("normalize", opts, NORMALIZE_KEYS);
  const p = opts.p ?? 2, eps = opts.eps ?? 1e-12;
  if (typeof p !== "number" || typeof eps !== "number") {
    throw new TypeError(`normalize: p and eps must be numbers, got ${typeof p} and ${typeof eps}`);
  }
  const dim = opts.dim ?? 1;
  checkIntArg(dim, "normalize", "dim", -Math.max(input.ndim, 1), Math.max(input.ndim, 1) - 1);
  return input.div(input.norm(p, dim, true).clampMin(eps));
}
