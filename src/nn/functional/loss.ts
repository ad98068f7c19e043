/**
 * Functional losses, composed from differentiable ops (cross entropy as a
 * fused, stable log-softmax plus negative log likelihood).
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { intTensorHint, isFloating } from "../../dtype.ts";
import { fmtShape } from "../../shape.ts";
import { deviceMismatch } from "../../lifetime.ts";
import { where } from "../../ops/elementwise.ts";
import { softplus } from "../../ops/unary_fns.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { fusedCrossEntropy } from "./loss_kernels.ts";

/**
 * How a loss reduces over elements.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const reduction: zn.nn.functional.Reduction = "none";
 * zn.nn.functional.l1Loss(zn.tensor([1, -2]), zn.zeros([2]), { reduction }).toArray(); // [1, 2]
 * ```
 */
export type Reduction = "mean" | "sum" | "none";

/**
 * The `reduction` option shared by the losses.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.ReductionOptions = { reduction: "sum" };
 * zn.nn.functional.mseLoss(zn.tensor([1, 2]), zn.zeros([2]), opts).item(); // 5
 * ```
 */
export interface ReductionOptions {
  /** "mean" (default), "sum" or "none". */
  reduction?: Reduction;
}

/**
 * Options of {@link crossEntropy} and {@link nllLoss}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logp = zn.tensor([[-1.0, -2.0], [-3.0, -4.0]]);
 * const opts: zn.nn.functional.NLLOptions = { weight: zn.tensor([1.0, 0.0]) };
 * zn.nn.functional.nllLoss(logp, zn.tensor([0n, 1n]), opts).item(); // 1: only row 0 has weight
 * ```
 */
export interface NLLOptions extends ReductionOptions {
  /** A weight per class, shape `[C]`. */
  weight?: Tensor | null;
  /** A target class that contributes nothing (default -100). */
  ignoreIndex?: number;
}

/**
 * Options of {@link crossEntropy}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.CrossEntropyOptions = { labelSmoothing: 0.1 };
 * zn.nn.functional.crossEntropy(zn.zeros([1, 2]), zn.tensor([0n]), opts).item(); // 0.6931
 * ```
 */
export interface CrossEntropyOptions extends NLLOptions {
  /** Mix the target with the uniform distribution by this amount (default 0). */
  labelSmoothing?: number;
}

const REDUCTION_KEYS = optionKeys<ReductionOptions>({ reduction: 0 });
const NLL_KEYS = optionKeys<NLLOptions>({ reduction: 0, weight: 0, ignoreIndex: 0 });
const CE_KEYS = optionKeys<CrossEntropyOptions>({
  reduction: 0,
  weight: 0,
  ignoreIndex: 0,
  labelSmoothing: 0,
});
const SMOOTH_L1_KEYS = ["reduction", "beta"] as const;
const HUBER_KEYS = ["reduction", "delta"] as const;
const BCE_KEYS = ["reduction", "weight"] as const;
const BCE_LOGITS_KEYS = ["reduction", "weight", "posWeight"] as const;
const KL_KEYS = ["reduction", "logTarget"] as const;

function reduce(loss: Tensor, reduction: Reduction | undefined, op: string): Tensor {
  switch (reduction ?? "mean") {
    case "mean":
      return loss.mean();
    case "sum":
      return loss.sum();
    case "none":
      return loss;
    default:
      throw new RangeError(`${op}: ${reduction} is not a valid value for reduction`);
  }
}

function checkPair(input: Tensor, target: Tensor, op: string): void {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) {
    throw new TypeError(`${op}: input and target must be Tensors`);
  }
  if (input.device !== target.device) throw deviceMismatch(op, input.device, target.device);
}

function checkSameShape(input: Tensor, target: Tensor, op: string): void {
  checkPair(input, target, op);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new RangeError(
      `${op}: target size ${fmtShape(target.shape)} must be the same as input size ${
        fmtShape(input.shape)
      }`,
    );
  }
}

/**
 * Mean squared error.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.mseLoss(zn.tensor([1.5, 2.5]), zn.tensor([0.5, 0.5])).item(); // 2.5
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  checkOptions("mseLoss", opts, REDUCTION_KEYS);
  checkPair(input, target, "mseLoss");
  return reduce(input.sub(target).square(), opts.reduction, "mseLoss");
}

/**
 * Mean absolute error.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.l1Loss(zn.tensor([1.5, -1.5]), zn.tensor([0.5, 0.5])).item(); // 1.5
 * ```
 */
export function l1Loss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  checkOptions("l1Loss", opts, REDUCTION_KEYS);
  checkPair(input, target, "l1Loss");
  return reduce(input.sub(target).abs(), opts.reduction, "l1Loss");
}

/**
 * Smooth L1: `0.5 d² / beta` where |d| < beta, else `|d| - 0.5 beta` (beta default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.smoothL1Loss(zn.tensor([0.5, 3]), zn.tensor([0.0, 0])).item(); // 1.3125
 * ```
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  opts: ReductionOptions & { beta?: number } = {},
): Tensor {
  checkOptions("smoothL1Loss", opts, SMOOTH_L1_KEYS);
  checkPair(input, target, "smoothL1Loss");
  const beta = opts.beta ?? 1;
  if (beta < 0) throw new RangeError("smoothL1Loss: beta must be non-negative");
  const d = input.sub(target).abs();
  if (beta === 0) return reduce(d, opts.reduction, "smoothL1Loss");
  const loss = where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta));
  return reduce(loss, opts.reduction, "smoothL1Loss");
}

/**
 * Huber loss: `0.5 d²` where |d| < delta, else `delta (|d| - 0.5 delta)` (delta default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.huberLoss(zn.tensor([3.0]), zn.tensor([0.0]), { delta: 2 }).item(); // 4
 * ```
 */
export function huberLoss(
  input: Tensor,
  target: Tensor,
  opts: ReductionOptions & { delta?: number } = {},
): Tensor {
  checkOptions("huberLoss", opts, HUBER_KEYS);
  checkPair(input, target, "huberLoss");
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new RangeError("huberLoss: delta must be positive");
  const d = input.sub(target).abs();
  const loss = where(d.lt(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta));
  return reduce(loss, opts.reduction, "huberLoss");
}

/** Moves the class dim to 1 for unbatched `[C]` inputs and checks the target's shape. */
function classInput(input: Tensor, target: Tensor, op: string): [Tensor, Tensor, boolean] {
  checkPair(input, target, op);
  if (input.ndim === 1) {
    if (target.ndim !== 0 && !(isFloating(target.dtype) && target.ndim === 1)) {
      throw new RangeError(`${op}: an unbatched input [C] needs a 0-d target`);
    }
    return [input.unsqueeze(0), target.unsqueeze(0), true];
  }
  if (input.ndim === 0) throw new RangeError(`${op}: input must have at least 1 dim`);
  return [input, target, false];
}

/**
 * Negative log likelihood of class indices given log-probabilities `input`
 * (`[N, C]`, `[N, C, d1, ...]` or `[C]`); `target` holds int64 classes of
 * shape `[N, d1, ...]`. With `weight`, "mean" divides by the summed weights
 * of the non-ignored targets.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logp = zn.tensor([[-0.5, -1.0], [-2.0, -0.1]]);
 * zn.nn.functional.nllLoss(logp, zn.tensor([0n, 1n])).item(); // 0.3
 * ```
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NLLOptions = {}): Tensor {
  checkOptions("nllLoss", opts, NLL_KEYS);
  const [x, t, unbatched] = classInput(input, target, "nllLoss");
  const { loss, weights } = nllTerms(x, t, opts, "nllLoss");
  const r = opts.reduction ?? "mean";
  if (r === "mean") return loss.sum().div(weights.sum());
  if (r === "none" && unbatched) return loss.squeeze(0);
  return reduce(loss, r, "nllLoss");
}

function nllTerms(
  x: Tensor,
  t: Tensor,
  opts: NLLOptions,
  op: string,
): { loss: Tensor; weights: Tensor; ignored: Tensor } {
  if (t.dtype !== "int64" && t.dtype !== "int32") {
    throw new TypeError(
      `${op}: expected an int64 target of class indices, got ${t.dtype}${intTensorHint(t.dtype)}`,
    );
  }
  const c = x.shape[1];
  const expect = [x.shape[0], ...x.shape.slice(2)];
  if (t.ndim !== expect.length || t.shape.some((s, i) => s !== expect[i])) {
    throw new RangeError(
      `${op}: expected target of shape ${fmtShape(expect)}, got ${fmtShape(t.shape)}`,
    );
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const ignored = t.eq(ignoreIndex);
  const safe = where(ignored, 0, t.to("int64"));
  if (safe.numel > 0) {
    const lo = safe.amin().item() as number, hi = safe.amax().item() as number;
    if (lo < 0 || hi >= c) {
      throw new RangeError(`${op}: target ${lo < 0 ? lo : hi} is out of bounds for ${c} classes`);
    }
  }
  const picked = x.gather(1, safe.unsqueeze(1)).squeeze(1);
  let weights: Tensor;
  if (opts.weight) {
    if (opts.weight.ndim !== 1 || opts.weight.shape[0] !== c) {
      throw new RangeError(`${op}: weight tensor should be defined for all ${c} classes`);
    }
    weights = opts.weight.indexSelect(0, safe.reshape(-1)).reshape(t.shape);
  } else {
    weights = where(ignored, 0, 1).to(x.dtype);
  }
  weights = where(ignored, 0, weights);
  return { loss: picked.mul(weights).neg(), weights, ignored };
}

/**
 * Cross entropy between logits `input` (`[N, C]`, `[N, C, d1, ...]` or `[C]`)
 * and a target of int64 class indices (`[N, d1, ...]`) or class
 * probabilities (the input's shape). Computed as a stable log-softmax plus
 * negative log likelihood, with PyTorch's `weight`, `ignoreIndex`,
 * `labelSmoothing` and `reduction`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logits = zn.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]]);
 * zn.nn.functional.crossEntropy(logits, zn.tensor([0n, 2n])).item(); // 0.1755
 * ```
 */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  checkOptions("crossEntropy", opts, CE_KEYS);
  const [x, t, unbatched] = classInput(input, target, "crossEntropy");
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) {
    throw new RangeError(`crossEntropy: labelSmoothing must be between 0.0 and 1.0, got ${eps}`);
  }
  const r = opts.reduction ?? "mean";
  const c = x.shape[1];
  if (eps === 0 && !opts.weight && (r === "mean" || r === "sum")) {
    const fused = fusedCrossEntropy(input, x, t, opts.ignoreIndex ?? -100, r === "mean");
    if (fused) return fused;
  }
  const logp = x.logSoftmax(1);
  const wShape = x.shape.map((s, i) => (i === 1 ? s : 1));
  let loss: Tensor;
  if (isFloating(t.dtype)) {
    if (t.ndim !== x.ndim || t.shape.some((s, i) => s !== x.shape[i])) {
      // A floating target of the class-index shape is most likely class indices.
      const classShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
      const indices = target.ndim === classShape.length &&
        target.shape.every((s, i) => s === classShape[i]);
      throw new RangeError(
        `crossEntropy: a probability target must have the input's shape ${
          fmtShape(input.shape)
        }, got ${fmtShape(target.shape)}${
          indices
            ? `; class indices must be an int64 tensor, got ${target.dtype}${
              intTensorHint(target.dtype)
            }`
            : ""
        }`,
      );
    }
    if ((opts.ignoreIndex ?? -100) >= 0) {
      throw new RangeError("crossEntropy: ignoreIndex is not supported for a probability target");
    }
    const probs = eps > 0 ? t.mul(1 - eps).add(eps / c) : t;
    let prod = logp.mul(probs);
    if (opts.weight) prod = prod.mul(opts.weight.reshape(wShape));
    loss = prod.sum(1).neg();
    if (r === "mean") return loss.sum().div(x.numel / c);
  } else {
    const { loss: nll, weights, ignored } = nllTerms(logp, t, opts, "crossEntropy");
    loss = nll;
    const denom = weights.sum();
    if (eps > 0) {
      const smooth = where(
        ignored,
        0,
        (opts.weight ? logp.mul(opts.weight.reshape(wShape)) : logp).sum(1).neg(),
      );
      if (r === "mean") {
        const nllMean = nll.sum().div(denom);
        const smoothMean = smooth.sum().div(opts.weight ? denom : ignored.logicalNot().sum());
        return nllMean.mul(1 - eps).add(smoothMean.mul(eps / c));
      }
      loss = nll.mul(1 - eps).add(smooth.mul(eps / c));
    }
    if (r === "mean") return loss.sum().div(denom);
  }
  if (r === "none" && unbatched) return loss.squeeze(0);
  return reduce(loss, r, "crossEntropy");
}

/**
 * Binary cross entropy of probabilities `input` against `target`, with the
 * logs clamped at -100 as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.binaryCrossEntropy(zn.tensor([0.5]), zn.tensor([1.0])).item(); // 0.6931
 * ```
 */
export function binaryCrossEntropy(
  input: Tensor,
  target: Tensor,
  opts: ReductionOptions & { weight?: Tensor | null } = {},
): Tensor {
  checkOptions("binaryCrossEntropy", opts, BCE_KEYS);
  checkSameShape(input, target, "binaryCrossEntropy");
  const logX = input.log().clamp(-100);
  const log1mX = input.neg().add(1).log().clamp(-100);
  let loss = target.mul(logX).add(target.neg().add(1).mul(log1mX)).neg();
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, opts.reduction, "binaryCrossEntropy");
}

/**
 * Binary cross entropy on logits, in the stable form
 * `(1 - t) x + (1 + (posWeight - 1) t) softplus(-x)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.binaryCrossEntropyWithLogits(zn.tensor([0.0]), zn.tensor([1.0])).item(); // 0.6931
 * ```
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: ReductionOptions & { weight?: Tensor | null; posWeight?: Tensor | null } = {},
): Tensor {
  checkOptions("binaryCrossEntropyWithLogits", opts, BCE_LOGITS_KEYS);
  checkSameShape(input, target, "binaryCrossEntropyWithLogits");
  const sp = softplus(input.neg());
  const oneMinusT = target.neg().add(1);
  let loss: Tensor;
  if (opts.posWeight) {
    const logWeight = opts.posWeight.sub(1).mul(target).add(1);
    loss = oneMinusT.mul(input).add(logWeight.mul(sp));
  } else {
    loss = oneMinusT.mul(input).add(sp);
  }
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, opts.reduction, "binaryCrossEntropyWithLogits");
}

/**
 * Kullback-Leibler divergence of `target` from log-probabilities `input`:
 * `target (log target - input)` pointwise (`logTarget`: the target holds
 * log-probabilities). `reduction` may also be "batchmean" (sum / batch size,
 * the mathematically correct KL).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const p = zn.tensor([[0.5, 0.5]]);
 * zn.nn.functional.klDiv(p.log(), p, { reduction: "batchmean" }).item(); // 0
 * ```
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction | "batchmean"; logTarget?: boolean } = {},
): Tensor {
  checkOptions("klDiv", opts, KL_KEYS);
  checkPair(input, target, "klDiv");
  let loss: Tensor;
  if (opts.logTarget) loss = target.exp().mul(target.sub(input));
  else {
    const xlogx = target.mul(where(target.gt(0), target, 1).log());
    loss = xlogx.sub(target.mul(input));
  }
  if (opts.reduction === "batchmean") {
    return input.ndim === 0 ? loss.sum() : loss.sum().div(input.shape[0]);
  }
  return reduce(loss, opts.reduction, "klDiv");
}
