/**
 * Loss modules: thin wrappers that hold a loss's options (and its weight
 * buffers) and call the functional form.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import * as F from "./functional/loss.ts";
import type { Reduction } from "./functional/loss.ts";
import { ctcLoss, type CTCLossOptions } from "./functional/ctc_loss.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * The `reduction` option of the loss modules.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.LossOptions = { reduction: "sum" };
 * new zn.nn.L1Loss(opts).call(zn.tensor([1, 2]), zn.tensor([0, 0])).item(); // 3
 * ```
 */
export interface LossOptions {
  /** "mean" (default), "sum" or "none". */
  reduction?: Reduction;
}

const REDUCTION_KEYS = optionKeys<LossOptions>({ reduction: 0 });
const SMOOTH_L1_KEYS = ["reduction", "beta"] as const;
const HUBER_KEYS = ["reduction", "delta"] as const;
const BCE_KEYS = ["reduction", "weight"] as const;
const BCE_LOGITS_KEYS = ["reduction", "weight", "posWeight"] as const;
const KL_KEYS = ["reduction", "logTarget"] as const;
const MARGIN_KEYS = ["reduction", "margin"] as const;
const TRIPLET_KEYS = ["reduction", "margin", "p", "eps", "swap"] as const;
const POISSON_KEYS = ["reduction", "logInput", "full", "eps"] as const;
const GAUSSIAN_KEYS = ["reduction", "full", "eps"] as const;
const MULTILABEL_KEYS = ["reduction", "weight"] as const;

/**
 * Mean squared error.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.MSELoss().call(zn.tensor([1.5, 2.5]), zn.tensor([0.5, 0.5])).item(); // 2.5
 * ```
 */
export class MSELoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** A mean squared error loss. */
  constructor(opts: LossOptions = {}) {
    checkOptions("MSELoss", opts, REDUCTION_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
  }
  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/**
 * Mean absolute error.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.L1Loss().call(zn.tensor([1.5, -1.5]), zn.tensor([0.5, 0.5])).item(); // 1.5
 * ```
 */
export class L1Loss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** A mean absolute error loss. */
  constructor(opts: LossOptions = {}) {
    checkOptions("L1Loss", opts, REDUCTION_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
  }
  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/**
 * Smooth L1 loss with threshold `beta` (default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.SmoothL1Loss({ beta: 0.5 }).call(zn.tensor([1.0]), zn.tensor([0.0])).item(); // 0.75
 * ```
 */
export class SmoothL1Loss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** Where the loss turns from quadratic to linear. */
  beta: number;
  /** A smooth L1 loss. */
  constructor(opts: LossOptions & { beta?: number } = {}) {
    checkOptions("SmoothL1Loss", opts, SMOOTH_L1_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.beta = opts.beta ?? 1;
  }
  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/**
 * Huber loss with threshold `delta` (default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.HuberLoss({ delta: 2 }).call(zn.tensor([3.0]), zn.tensor([0.0])).item(); // 4
 * ```
 */
export class HuberLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** Where the loss turns from quadratic to linear. */
  delta: number;
  /** A Huber loss. */
  constructor(opts: LossOptions & { delta?: number } = {}) {
    checkOptions("HuberLoss", opts, HUBER_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.delta = opts.delta ?? 1;
  }
  /** The loss of `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/**
 * Options of {@link CrossEntropyLoss} and {@link NLLLoss}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.ClassLossOptions = { ignoreIndex: 1 };
 * const loss = new zn.nn.CrossEntropyLoss(opts);
 * loss.call(zn.zeros([2, 3]), zn.tensor([0n, 1n])).item(); // 1.0986: log(3), row 1 ignored
 * ```
 */
export interface ClassLossOptions extends LossOptions {
  /** A weight per class (registered as the buffer `weight`). */
  weight?: Tensor | null;
  /** A target class that contributes nothing (default -100). */
  ignoreIndex?: number;
}

const NLL_KEYS = optionKeys<ClassLossOptions>({ reduction: 0, weight: 0, ignoreIndex: 0 });
const CE_KEYS = [...NLL_KEYS, "labelSmoothing"];

/**
 * Cross entropy of logits against class indices or class probabilities (see
 * {@link F.crossEntropy}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const loss = new zn.nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 * loss.call(zn.randn([4, 3]), zn.tensor([0n, 2n, 1n, 0n])).shape; // []
 * ```
 */
export class CrossEntropyLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** The ignored target class. */
  ignoreIndex: number;
  /** The amount of label smoothing. */
  labelSmoothing: number;
  /** A cross entropy loss. */
  constructor(opts: ClassLossOptions & { labelSmoothing?: number } = {}) {
    checkOptions("CrossEntropyLoss", opts, CE_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing <= 1)) {
      throw new RangeError(
        `CrossEntropyLoss: labelSmoothing must be between 0.0 and 1.0, got ${this.labelSmoothing}`,
      );
    }
    this.registerBuffer("weight", opts.weight ?? null);
  }
  /** The loss of logits `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, {
      weight: this.getBuffer("weight"),
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/**
 * Negative log likelihood of class indices given log-probabilities.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logp = zn.tensor([[-0.5, -1.0], [-2.0, -0.1]]);
 * new zn.nn.NLLLoss().call(logp, zn.tensor([0n, 1n])).item(); // 0.3
 * ```
 */
export class NLLLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** The ignored target class. */
  ignoreIndex: number;
  /** A negative log likelihood loss. */
  constructor(opts: ClassLossOptions = {}) {
    checkOptions("NLLLoss", opts, NLL_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.registerBuffer("weight", opts.weight ?? null);
  }
  /** The loss of log-probabilities `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, {
      weight: this.getBuffer("weight"),
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
    });
  }
}

/**
 * Binary cross entropy of probabilities.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.BCELoss().call(zn.tensor([0.5]), zn.tensor([1.0])).item(); // 0.6931
 * ```
 */
export class BCELoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** A binary cross entropy loss (`weight`: a rescaling weight, as the buffer `weight`). */
  constructor(opts: LossOptions & { weight?: Tensor | null } = {}) {
    checkOptions("BCELoss", opts, BCE_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.registerBuffer("weight", opts.weight ?? null);
  }
  /** The loss of probabilities `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, {
      weight: this.getBuffer("weight"),
      reduction: this.reduction,
    });
  }
}

/**
 * Binary cross entropy on logits, in a numerically stable form, with an
 * optional `posWeight` for the positive class.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const loss = new zn.nn.BCEWithLogitsLoss({ posWeight: zn.tensor([2.0]) });
 * loss.call(zn.tensor([0.0]), zn.tensor([1.0])).item(); // 1.3863
 * ```
 */
export class BCEWithLogitsLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** A binary cross entropy on logits (`weight`, `posWeight` become buffers `weight`, `pos_weight`). */
  constructor(
    opts: LossOptions & { weight?: Tensor | null; posWeight?: Tensor | null } = {},
  ) {
    checkOptions("BCEWithLogitsLoss", opts, BCE_LOGITS_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.registerBuffer("weight", opts.weight ?? null);
    this.registerBuffer("pos_weight", opts.posWeight ?? null);
  }
  /** The loss of logits `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, {
      weight: this.getBuffer("weight"),
      posWeight: this.getBuffer("pos_weight"),
      reduction: this.reduction,
    });
  }
}

/**
 * Kullback-Leibler divergence of `target` from log-probabilities `input`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const p = zn.tensor([[0.5, 0.5]]);
 * new zn.nn.KLDivLoss({ reduction: "batchmean" }).call(p.log(), p).item(); // 0
 * ```
 */
export class KLDivLoss extends Module {
  /** How the loss reduces ("batchmean" too). */
  reduction: Reduction | "batchmean";
  /** Whether the target holds log-probabilities. */
  logTarget: boolean;
  /** A KL divergence loss. */
  constructor(opts: { reduction?: Reduction | "batchmean"; logTarget?: boolean } = {}) {
    checkOptions("KLDivLoss", opts, KL_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.logTarget = opts.logTarget ?? false;
  }
  /** The loss of log-probabilities `input` against `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}

/**
 * {@link ctcLoss} as a module: `call(logProbs, targets, inputLengths, targetLengths)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ctc = new zn.nn.CTCLoss({ blank: 0 });
 * const logProbs = zn.randn([5, 1, 3]).logSoftmax(2);
 * ctc.call(logProbs, zn.tensor([[1n, 2n]]), [5], [2]).shape; // []
 * ```
 */
export class CTCLoss extends Module {
  /** The options the loss was made with. */
  readonly options: CTCLossOptions;
  /** A CTC loss. */
  constructor(opts: CTCLossOptions = {}) {
    checkOptions("CTCLoss", opts, ["blank", "reduction", "zeroInfinity"]);
    super();
    this.options = { ...opts };
  }
  /** The loss of `logProbs` against `targets`. */
  override forward(
    logProbs: Tensor,
    targets: Tensor,
    inputLengths: Tensor | readonly number[],
    targetLengths: Tensor | readonly number[],
  ): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, this.options);
  }
}

/**
 * {@link F.marginRankingLoss} as a module: `call(x1, x2, y)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const loss = new zn.nn.MarginRankingLoss({ margin: 0.5 });
 * loss.call(zn.tensor([1]), zn.tensor([2]), zn.tensor([1])).item(); // 1.5
 * ```
 */
export class MarginRankingLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** The margin. */
  margin: number;
  /** A margin ranking loss. */
  constructor(opts: F.MarginLossOptions = {}) {
    checkOptions("MarginRankingLoss", opts, MARGIN_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.margin = opts.margin ?? 0;
  }
  /** The loss of ranking `input1` against `input2` as `target` says. */
  override forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.marginRankingLoss(input1, input2, target, this.marginOpts());
  }
  /** The functional form's options. */
  private marginOpts(): F.MarginLossOptions {
    return { reduction: this.reduction, margin: this.margin };
  }
}

/**
 * {@link F.hingeEmbeddingLoss} as a module.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.HingeEmbeddingLoss().call(zn.tensor([2]), zn.tensor([-1])).item(); // 0
 * ```
 */
export class HingeEmbeddingLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** The margin (default 1). */
  margin: number;
  /** A hinge embedding loss. */
  constructor(opts: F.MarginLossOptions = {}) {
    checkOptions("HingeEmbeddingLoss", opts, MARGIN_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.margin = opts.margin ?? 1;
  }
  /** The loss of `input` for the labels `target` (1 or -1). */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.hingeEmbeddingLoss(input, target, { reduction: this.reduction, margin: this.margin });
  }
}

/**
 * {@link F.cosineEmbeddingLoss} as a module: `call(x1, x2, y)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[1, 0]]);
 * new zn.nn.CosineEmbeddingLoss().call(x, x, zn.tensor([1])).item(); // 0
 * ```
 */
export class CosineEmbeddingLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** The margin (default 0). */
  margin: number;
  /** A cosine embedding loss. */
  constructor(opts: F.MarginLossOptions = {}) {
    checkOptions("CosineEmbeddingLoss", opts, MARGIN_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.margin = opts.margin ?? 0;
  }
  /** The loss of the pairs `input1`, `input2` for the labels `target` (1 or -1). */
  override forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    return F.cosineEmbeddingLoss(input1, input2, target, {
      reduction: this.reduction,
      margin: this.margin,
    });
  }
}

/**
 * {@link F.tripletMarginLoss} as a module: `call(anchor, positive, negative)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[0, 0]]), p = zn.tensor([[0, 1]]), n = zn.tensor([[0, 3]]);
 * new zn.nn.TripletMarginLoss({ eps: 0 }).call(a, p, n).item(); // 0
 * ```
 */
export class TripletMarginLoss extends Module {
  /** The options as given (margin 1, p 2, eps 1e-6, no swap by default). */
  readonly options: F.TripletMarginOptions;
  /** A triplet margin loss. */
  constructor(opts: F.TripletMarginOptions = {}) {
    checkOptions("TripletMarginLoss", opts, TRIPLET_KEYS);
    super();
    this.options = { ...opts };
  }
  /** The loss of the triplets. */
  override forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return F.tripletMarginLoss(anchor, positive, negative, this.options);
  }
}

/**
 * {@link F.poissonNllLoss} as a module.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.PoissonNLLLoss().call(zn.tensor([0]), zn.tensor([1])).item(); // 1
 * ```
 */
export class PoissonNLLLoss extends Module {
  /** The options as given (log input, not full, eps 1e-8 by default). */
  readonly options: F.PoissonNllOptions;
  /** A Poisson negative log-likelihood loss. */
  constructor(opts: F.PoissonNllOptions = {}) {
    checkOptions("PoissonNLLLoss", opts, POISSON_KEYS);
    super();
    this.options = { ...opts };
  }
  /** The loss of the (log) rates `input` for the counts `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.poissonNllLoss(input, target, this.options);
  }
}

/**
 * {@link F.gaussianNllLoss} as a module: `call(input, target, variance)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.GaussianNLLLoss().call(zn.tensor([0]), zn.tensor([0]), zn.tensor([1])).item(); // 0
 * ```
 */
export class GaussianNLLLoss extends Module {
  /** The options as given (not full, eps 1e-6 by default). */
  readonly options: F.GaussianNllOptions;
  /** A Gaussian negative log-likelihood loss. */
  constructor(opts: F.GaussianNllOptions = {}) {
    checkOptions("GaussianNLLLoss", opts, GAUSSIAN_KEYS);
    super();
    this.options = { ...opts };
  }
  /** The loss of the means `input` and variances `variance` for `target`. */
  override forward(input: Tensor, target: Tensor, variance: Tensor): Tensor {
    return F.gaussianNllLoss(input, target, variance, this.options);
  }
}

/**
 * {@link F.multilabelSoftMarginLoss} as a module.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.MultiLabelSoftMarginLoss().call(zn.tensor([[0, 0]]), zn.tensor([[1, 0]])).item(); // 0.6931
 * ```
 */
export class MultiLabelSoftMarginLoss extends Module {
  /** How the loss reduces. */
  reduction: Reduction;
  /** A multi-label soft margin loss (`weight`: one per class, as the buffer `weight`). */
  constructor(opts: F.MultilabelSoftMarginOptions = {}) {
    checkOptions("MultiLabelSoftMarginLoss", opts, MULTILABEL_KEYS);
    super();
    this.reduction = opts.reduction ?? "mean";
    this.registerBuffer("weight", opts.weight ?? null);
  }
  /** The loss of the logits `input` for the 0/1 labels `target`. */
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.multilabelSoftMarginLoss(input, target, {
      reduction: this.reduction,
      weight: this.getBuffer("weight"),
    });
  }
}
