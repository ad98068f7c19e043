/**
 * The Bernoulli distribution, as `torch.distributions.Bernoulli`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { Generator } from "../random.ts";
import { arange, bernoulli } from "../ops/creation.ts";
import { where } from "../ops/elementwise.ts";
import { isFloating } from "../dtype.ts";
import { broadcastShapes } from "../shape.ts";
import { checkObject } from "../args.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { Distribution, type DistributionOptions } from "./distribution.ts";
import {
  asParam,
  bceWithLogits,
  checkConstraint,
  checkParam,
  logitsToProbs,
  probsToLogits,
} from "./utils.ts";

/**
 * The parameters of a {@link Bernoulli}: `probs` or `logits` (one of them),
 * and the options.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const params: zn.distributions.BernoulliParams = { logits: 0 };
 * new zn.distributions.Bernoulli(params).probs.item(); // 0.5
 * ```
 */
export interface BernoulliParams extends DistributionOptions {
  /** The probability of a 1, in [0, 1]. */
  probs?: Tensor | number;
  /** The log-odds of a 1. */
  logits?: Tensor | number;
}

const PARAM_KEYS = optionKeys<BernoulliParams>({ probs: 0, logits: 0, validateArgs: 0 });

/**
 * Draws of 0 or 1, with probability `probs` of a 1 (or log-odds `logits`;
 * one of them), like `torch.distributions.Bernoulli`. The parameter's shape
 * is the batch shape (`[]` for a number, which becomes a float32 tensor);
 * the other parameter is derived on first use (`sigmoid(logits)`, or
 * `log(p) - log1p(-p)` with `p` clamped into `[eps, 1 - eps]`). With
 * `validateArgs` (the default) `probs` must lie in [0, 1], `logits` must
 * not be NaN, and `logProb` values must be 0 or 1.
 *
 * Samples are 0/1 in the parameter's floating dtype. `logProb` is
 * `-binaryCrossEntropyWithLogits(logits, value)` and `entropy` is
 * `binaryCrossEntropyWithLogits(logits, probs)`, both with gradients.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const d = new zn.distributions.Bernoulli({ probs: zn.tensor([0.25, 0.5]) });
 * d.logProb(zn.tensor([1, 0])).toArray(); // [-1.3863, -0.6931]
 * d.entropy().toArray(); // [0.5623, 0.6931]
 * d.sample([3], { generator: new zn.Generator(0) }).shape; // [3, 2]
 * ```
 */
export class Bernoulli extends Distribution {
  #probs: Tensor | undefined;
  #logits: Tensor | undefined;
  #param: Tensor;

  /** A Bernoulli distribution from `{ probs }` or `{ logits }`. */
  constructor(params: BernoulliParams) {
    checkObject(params, "Bernoulli", "params");
    checkOptions("Bernoulli", params, PARAM_KEYS);
    const { probs, logits } = params;
    if ((probs === undefined) === (logits === undefined)) {
      throw new TypeError("Bernoulli: either `probs` or `logits` must be specified, but not both");
    }
    const given = (probs ?? logits)!;
    const name = probs !== undefined ? "probs" : "logits";
    checkParam(given, "Bernoulli", name);
    const param = asParam(given, undefined);
    super(typeof given === "number" ? [] : param.shape, [], { validateArgs: params.validateArgs });
    this.#param = param;
    if (probs !== undefined) this.#probs = param;
    else this.#logits = param;
    if (this.validateArgs) {
      if (probs !== undefined) {
        checkConstraint(
          "Bernoulli",
          "probs",
          param,
          "Interval(lower_bound=0.0, upper_bound=1.0)",
          (v) => v.ge(0).logicalAnd(v.le(1)),
        );
      } else {
        checkConstraint("Bernoulli", "logits", param, "Real()", (v) => v.eq(v));
      }
    }
  }

  /** The probability of a 1. */
  get probs(): Tensor {
    return this.#probs ??= logitsToProbs(this.#logits!, true);
  }

  /** The log-odds of a 1. */
  get logits(): Tensor {
    return this.#logits ??= probsToLogits(this.#probs!, true);
  }

  /** The shape of the parameter given. */
  get paramShape(): number[] {
    return this.#param.shape.slice();
  }

  /** `probs`. */
  get mean(): Tensor {
    return this.probs;
  }

  /** `probs (1 - probs)`. */
  get variance(): Tensor {
    return this.probs.mul(this.probs.neg().add(1));
  }

  /** 1 where `probs > 0.5`, 0 where below, NaN at exactly 0.5. */
  get mode(): Tensor {
    const p = this.probs.detach();
    const m = p.ge(0.5).to(p.dtype);
    return where(p.eq(0.5), NaN, m);
  }

  /** `-binaryCrossEntropyWithLogits(logits, value)`, broadcasting. */
  logProb(value: Tensor): Tensor {
    this.validateSample(value, "Boolean()", (v) => v.eq(0).logicalOr(v.eq(1)));
    let logits = this.logits;
    const v = isFloating(value.dtype) ? value : value.to(logits.dtype);
    const shape = broadcastShapes("Bernoulli.logProb", logits.shape, v.shape);
    logits = logits.expand(shape);
    return bceWithLogits(logits, v.expand(shape)).neg();
  }

  /** `binaryCrossEntropyWithLogits(logits, probs)`, of shape `batchShape`. */
  entropy(): Tensor {
    return bceWithLogits(this.logits, this.probs);
  }

  /** The values `0, 1` along a new dim 0, in the parameter's dtype. */
  enumerateSupport(expand = true): Tensor {
    const values = arange(2, { dtype: this.#param.dtype, device: this.#param.device }).reshape(
      -1,
      ...this.batchShape.map(() => 1),
    );
    return expand ? values.expand(-1, ...this.batchShape) : values;
  }

  /** @internal */
  protected params(): [string, Tensor][] {
    return [[this.#probs === this.#param ? "probs" : "logits", this.#param]];
  }

  /** @internal 0/1 draws with probability `probs`. */
  protected draw(shape: number[], g: Generator | undefined, _reparam: boolean): Tensor {
    return bernoulli(this.probs.detach().expand(shape), undefined, { generator: g });
  }
}
