/**
 * Functional losses, composed from differentiable ops (cross entropy as a
 * fused, stable log-softmax plus negative log likelihood).
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { intTensorHint, isFloating } from "../../dtype.ts";
import { checkFloatTensor } from "../../args.ts";
import { fmtShape } from "../../shape.ts";
import { deviceMismatch } from "../../lifetime.ts";
import { where } from "../../ops/elementwise.ts";
import { softplus } from "../../ops/unary_fns.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { fusedCrossEntropy } from "./loss_kernels.ts";
import { fullPrecision } from "../../amp/autocast.ts";

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
  if (!isFloating(input.dtype) && !isFloating(target.dtype)) {
    // The loss is a float; PyTorch refuses integer-only operands too.
    checkFloatTensor(input, op);
  }
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
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

// ---------------------------------------------------------------- composed losses
// Ranking, embedding and likelihood losses, composed from elementwise ops
// and reductions as PyTorch defines them (their gradients come from those
// ops' rules).

/** Options of {@link marginRankingLoss}, {@link hingeEmbeddingLoss} and {@link cosineEmbeddingLoss}. */
export interface MarginLossOptions extends ReductionOptions {
  /** The margin (default 0 for ranking and cosine, 1 for hinge). */
  margin?: number;
}
const MARGIN_KEYS = ["reduction", "margin"] as const;

function marginOf(opts: MarginLossOptions, fallback: number, op: string): number {
  checkOptions(op, opts, MARGIN_KEYS);
  const m = opts.margin ?? fallback;
  if (typeof m !== "number" || Number.isNaN(m)) {
    throw new TypeError(`${op}: margin must be a number`);
  }
  return m;
}

/**
 * `max(0, -y (x1 - x2) + margin)`: y = 1 wants x1 ranked above x2, y = -1
 * below, as `torch.nn.functional.margin_ranking_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * F.marginRankingLoss(zn.tensor([1]), zn.tensor([2]), zn.tensor([1]), { margin: 0.5 }).item(); // 1.5
 * ```
 */
export function marginRankingLoss(
  input1: Tensor,
  input2: Tensor,
  target: Tensor,
  opts: MarginLossOptions = {},
): Tensor {
  [input1, input2, target] = fullPrecision(input1, input2, target) as [Tensor, Tensor, Tensor];
  const margin = marginOf(opts, 0, "marginRankingLoss");
  checkPair(input1, input2, "marginRankingLoss");
  checkPair(input1, target, "marginRankingLoss");
  const loss = target.neg().mul(input1.sub(input2)).add(margin).clamp(0, null);
  return reduce(loss, opts.reduction, "marginRankingLoss");
}

/**
 * x where y = 1, and `max(0, margin - x)` where y = -1, as
 * `torch.nn.functional.hinge_embedding_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * F.hingeEmbeddingLoss(zn.tensor([0.3, 2]), zn.tensor([-1, 1])).item(); // (0.7 + 2) / 2
 * ```
 */
export function hingeEmbeddingLoss(
  input: Tensor,
  target: Tensor,
  opts: MarginLossOptions = {},
): Tensor {
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
  const margin = marginOf(opts, 1, "hingeEmbeddingLoss");
  checkPair(input, target, "hingeEmbeddingLoss");
  const marginPart = where(target.ne(1), input.neg().add(margin).clamp(0, null), 0);
  const selfPart = where(target.ne(-1), input, 0);
  return reduce(marginPart.add(selfPart), opts.reduction, "hingeEmbeddingLoss");
}

/**
 * `1 - cos(x1, x2)` where y = 1 and `max(0, cos(x1, x2) - margin)` where
 * y = -1, the cosine along dim 1 (the last dim of 1-D inputs), as
 * `torch.nn.functional.cosine_embedding_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * F.cosineEmbeddingLoss(zn.tensor([[1, 0]]), zn.tensor([[1, 0]]), zn.tensor([1])).item(); // 0
 * ```
 */
export function cosineEmbeddingLoss(
  input1: Tensor,
  input2: Tensor,
  target: Tensor,
  opts: MarginLossOptions = {},
): Tensor {
  [input1, input2, target] = fullPrecision(input1, input2, target) as [Tensor, Tensor, Tensor];
  const margin = marginOf(opts, 0, "cosineEmbeddingLoss");
  checkSameShape(input1, input2, "cosineEmbeddingLoss");
  checkPair(input1, target, "cosineEmbeddingLoss");
  if (input1.ndim !== 1 && input1.ndim !== 2) {
    throw new RangeError(
      `cosineEmbeddingLoss: expected 1-D or 2-D inputs, got ${fmtShape(input1.shape)}`,
    );
  }
  const d = input1.ndim - 1;
  const eps = 1e-12;
  const dot = input1.mul(input2).sum(d);
  const m1 = input1.mul(input1).sum(d).add(eps), m2 = input2.mul(input2).sum(d).add(eps);
  const cos = dot.div(m1.mul(m2).sqrt());
  const pos = where(target.eq(1), cos.neg().add(1), 0);
  const neg = where(target.eq(-1), cos.sub(margin).clamp(0, null), 0);
  return reduce(pos.add(neg), opts.reduction, "cosineEmbeddingLoss");
}

/** Options of {@link tripletMarginLoss}. */
export interface TripletMarginOptions extends ReductionOptions {
  /** The margin (default 1). */
  margin?: number;
  /** The distance's norm (default 2). */
  p?: number;
  /** Added to the differences (default 1e-6). */
  eps?: number;
  /** Uses the smaller of the anchor's and the positive's distance to the negative (default false). */
  swap?: boolean;
}
const TRIPLET_KEYS = ["reduction", "margin", "p", "eps", "swap"] as const;

function distance(a: Tensor, b: Tensor, p: number, eps: number): Tensor {
  const d = a.sub(b).add(eps);
  return d.norm(p, d.ndim === 0 ? undefined : -1);
}

/**
 * `max(0, margin + d(a, p) - d(a, n))` with the p-norm distance along the
 * last dim, as `torch.nn.functional.triplet_margin_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * const a = zn.tensor([[0, 0]]), p = zn.tensor([[0, 1]]), n = zn.tensor([[0, 3]]);
 * F.tripletMarginLoss(a, p, n, { eps: 0 }).item(); // 0
 * ```
 */
export function tripletMarginLoss(
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  opts: TripletMarginOptions = {},
): Tensor {
  [anchor, positive, negative] = fullPrecision(anchor, positive, negative) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  checkOptions("tripletMarginLoss", opts, TRIPLET_KEYS);
  checkPair(anchor, positive, "tripletMarginLoss");
  checkPair(anchor, negative, "tripletMarginLoss");
  const margin = opts.margin ?? 1, p = opts.p ?? 2, eps = opts.eps ?? 1e-6;
  if (!(margin > 0)) {
    throw new RangeError(`tripletMarginLoss: margin must be positive, got ${margin}`);
  }
  const dAp = distance(anchor, positive, p, eps);
  let dAn = distance(anchor, negative, p, eps);
  if (opts.swap) dAn = dAn.minimum(distance(positive, negative, p, eps));
  return reduce(dAp.sub(dAn).add(margin).clamp(0, null), opts.reduction, "tripletMarginLoss");
}

/** Options of {@link poissonNllLoss}. */
export interface PoissonNllOptions extends ReductionOptions {
  /** The input is the log of the rate (default true). */
  logInput?: boolean;
  /** Adds Stirling's approximation of log(target!) (default false). */
  full?: boolean;
  /** Keeps log(input + eps) finite when logInput is false (default 1e-8). */
  eps?: number;
}
const POISSON_KEYS = ["reduction", "logInput", "full", "eps"] as const;

/**
 * The negative log-likelihood of `target` under a Poisson distribution, as
 * `torch.nn.functional.poisson_nll_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.poissonNllLoss(zn.tensor([0]), zn.tensor([1])).item(); // 1: exp(0) - 1 * 0
 * ```
 */
export function poissonNllLoss(
  input: Tensor,
  target: Tensor,
  opts: PoissonNllOptions = {},
): Tensor {
  [input, target] = fullPrecision(input, target) as [Tensor, Tensor];
  checkOptions("poissonNllLoss", opts, POISSON_KEYS);
  checkPair(input, target, "poissonNllLoss");
  const eps = opts.eps ?? 1e-8;
  let loss = (opts.logInput ?? true)
    ? input.exp().sub(target.mul(input))
    : input.sub(target.mul(input.add(eps).log()));
  if (opts.full) {
    const t = target;
    const stirling = t.mul(t.log()).sub(t).add(t.mul(2 * Math.PI).log().mul(0.5));
    loss = loss.add(where(t.gt(1), stirling, 0));
  }
  return reduce(loss, opts.reduction, "poissonNllLoss");
}

/** Options of {@link gaussianNllLoss}. */
export interface GaussianNllOptions extends ReductionOptions {
  /** Adds the constant 0.5 log(2 pi) (default false). */
  full?: boolean;
  /** The smallest variance used (default 1e-6; clamping does not stop the gradient). */
  eps?: number;
}
const GAUSSIAN_KEYS = ["reduction", "full", "eps"] as const;

/**
 * The negative log-likelihood of `target` under Gaussians of mean `input`
 * and variance `variance` (same shape, or one fewer dim, or a last dim of
 * 1), as `torch.nn.functional.gaussian_nll_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * F.gaussianNllLoss(zn.tensor([0]), zn.tensor([0]), zn.tensor([1])).item(); // 0
 * ```
 */
export function gaussianNllLoss(
  input: Tensor,
  target: Tensor,
  variance: Tensor,
  opts: GaussianNllOptions = {},
): Tensor {
  checkOptions("gaussianNllLoss", opts, GAUSSIAN_KEYS);
  checkPair(input, target, "gaussianNllLoss");
  checkPair(input, variance, "gaussianNllLoss");
  let v = variance;
  if (v.ndim === input.ndim - 1 && input.ndim > 0) v = v.unsqueeze(-1);
  const ok = v.ndim === input.ndim &&
    v.shape.every((s, i) => s === input.shape[i] || (i === v.ndim - 1 && s === 1));
  if (!ok) {
    throw new RangeError(
      `gaussianNllLoss: variance ${fmtShape(variance.shape)} does not match input ${
        fmtShape(input.shape)
      }`,
    );
  }
  const eps = opts.eps ?? 1e-6;
  // PyTorch clamps the variance without recording the clamp: the gradient
  // flows to variance as if it were not clamped.
  const clamped = v.add(v.clamp(eps, null).sub(v).detach());
  let loss = clamped.log().add(input.sub(target).square().div(clamped)).mul(0.5);
  if (opts.full) loss = loss.add(0.5 * Math.log(2 * Math.PI));
  return reduce(loss, opts.reduction, "gaussianNllLoss");
}

/** Options of {@link multilabelSoftMarginLoss}. */
export interface MultilabelSoftMarginOptions extends ReductionOptions {
  /** A weight per class, `[C]`. */
  weight?: Tensor | null;
}
const MULTILABEL_KEYS = ["reduction", "weight"] as const;

/**
 * The mean over classes of each class's logistic loss, for `[N, C]` inputs
 * and 0/1 targets, as `torch.nn.functional.multilabel_soft_margin_loss`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * F.multilabelSoftMarginLoss(zn.tensor([[0, 0]]), zn.tensor([[1, 0]])).item(); // 0.6931
 * ```
 */
export function multilabelSoftMarginLoss(
  input: Tensor,
  target: Tensor,
  opts: MultilabelSoftMarginOptions = {},
): Tensor {
  checkOptions("multilabelSoftMarginLoss", opts, MULTILABEL_KEYS);
  checkPair(input, target, "multilabelSoftMarginLoss");
  if (input.ndim === 0) throw new RangeError("multilabelSoftMarginLoss: expected at least 1 dim");
  // log sigmoid(x) = -softplus(-x), and log sigmoid(-x) = -softplus(x).
  let loss = target.mul(softplus(input.neg())).add(target.neg().add(1).mul(softplus(input)));
  if (opts.weight) loss = loss.mul(opts.weight);
  const c = input.shape[input.ndim - 1];
  const perSample = loss.sum(input.ndim - 1).div(c);
  return reduce(perSample, opts.reduction, "multilabelSoftMarginLoss");
}
