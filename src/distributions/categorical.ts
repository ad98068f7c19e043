/**
 * The categorical distribution, as `torch.distributions.Categorical`.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { Generator } from "../random.ts";
import { arange, full, zeros } from "../ops/creation.ts";
import { multinomial } from "../ops/multinomial.ts";
import { broadcastShapes, numel } from "../shape.ts";
import { checkObject, typeError } from "../args.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { Distribution, type DistributionOptions } from "./distribution.ts";
import { checkConstraint, finfo, logitsToProbs, probsToLogits } from "./utils.ts";

/**
 * The parameters of a {@link Categorical}: `probs` or `logits` (one of
 * them), and the options.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const params: zn.distributions.CategoricalParams = { logits: zn.zeros([4]) };
 * new zn.distributions.Categorical(params).probs.toArray(); // [0.25, 0.25, 0.25, 0.25]
 * ```
 */
export interface CategoricalParams extends DistributionOptions {
  /** Non-negative weights over the last dim (normalized to sum to 1). */
  probs?: Tensor;
  /** Unnormalized log-probabilities over the last dim. */
  logits?: Tensor;
}

const PARAM_KEYS = optionKeys<CategoricalParams>({ probs: 0, logits: 0, validateArgs: 0 });

/**
 * A distribution over the categories `0 .. K-1` of the last dim of `probs`
 * or `logits` (one of them), like `torch.distributions.Categorical`; the
 * other dims are the batch shape. `probs` are normalized to sum to 1 and
 * `logits` to log-probabilities (`logits - logsumexp(logits)`); the other
 * parameter is derived on first use (`log(clamp(probs, eps, 1 - eps))`, or
 * `softmax(logits)`), as in PyTorch. With `validateArgs` (the default) the
 * normalized `probs` must be non-negative and sum to 1 (so a row of zeros or
 * a negative weight is an error), `logits` must not be NaN, and `logProb`
 * values must be integers in `[0, K-1]`.
 *
 * `sample` gives int64 indices (through {@link multinomial});
 * `logProb(value)` broadcasts `value` against the batch shape; `entropy`,
 * `logProb` and the derived parameters carry gradients.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const d = new zn.distributions.Categorical({ probs: zn.tensor([1, 1, 2]) });
 * d.probs.toArray(); // [0.25, 0.25, 0.5]
 * d.logProb(zn.tensor([2n, 0n])).toArray(); // [-0.6931, -1.3863]
 * d.entropy().item(); // 1.0397
 * d.sample([4], { generator: new zn.Generator(0) }).shape; // [4]
 * ```
 */
export class Categorical extends Distribution {
  #probs: Tensor | undefined;
  #logits: Tensor | undefined;
  #param: Tensor;

  /** A categorical distribution from `{ probs }` or `{ logits }`. */
  constructor(params: CategoricalParams) {
    checkObject(params, "Categorical", "params");
    checkOptions("Categorical", params, PARAM_KEYS);
    const { probs, logits } = params;
    if ((probs === undefined) === (logits === undefined)) {
      throw new TypeError(
        "Categorical: either `probs` or `logits` must be specified, but not both",
      );
    }
    const given = (probs ?? logits)!;
    const name = probs !== undefined ? "probs" : "logits";
    if (!(given instanceof Tensor)) typeError("Categorical", name, "a Tensor", given);
    if (given.isDisposed) typeError("Categorical", name, "a live Tensor", given);
    if (given.ndim < 1) {
      throw new RangeError(`Categorical: \`${name}\` parameter must be at least one-dimensional`);
    }
    const param = probs !== undefined
      ? probs.div(probs.sum(-1, true))
      : logits!.sub(logits!.logsumexp(-1, true));
    super(param.shape.slice(0, -1), [], { validateArgs: params.validateArgs });
    this.#param = param;
    if (probs !== undefined) this.#probs = param;
    else this.#logits = param;
    if (this.validateArgs) {
      if (probs !== undefined) {
        checkConstraint(
          "Categorical",
          "probs",
          param,
          "Simplex()",
          (v) => v.ge(0).all(-1).logicalAnd(v.sum(-1).sub(1).abs().lt(1e-6)),
        );
      } else {
        checkConstraint(
          "Categorical",
          "logits",
          param,
          "IndependentConstraint(Real(), 1)",
          (v) => v.eq(v).all(-1),
        );
      }
    }
  }

  /** The probabilities, normalized over the last dim. */
  get probs(): Tensor {
    return this.#probs ??= logitsToProbs(this.#logits!, false);
  }

  /** The normalized log-probabilities (`log(clamp(probs, eps, 1 - eps))` when made from probs). */
  get logits(): Tensor {
    return this.#logits ??= probsToLogits(this.#probs!, false);
  }

  /** The shape of the parameter given: `[...batchShape, K]`. */
  get paramShape(): number[] {
    return this.#param.shape.slice();
  }

  /** The number of categories `K`. */
  get numEvents(): number {
    return this.#param.shape[this.#param.ndim - 1];
  }

  /** NaN (undefined for categories), of shape `batchShape`. */
  get mean(): Tensor {
    return full(this.extendedShape(), NaN, { dtype: this.probs.dtype, device: this.probs.device });
  }

  /** NaN (undefined for categories), of shape `batchShape`. */
  get variance(): Tensor {
    return full(this.extendedShape(), NaN, { dtype: this.probs.dtype, device: this.probs.device });
  }

  /** The most likely category (the first of ties), int64. */
  get mode(): Tensor {
    return this.probs.argmax(-1);
  }

  /** `logits[value]`, `value` broadcast against the batch shape. */
  logProb(value: Tensor): Tensor {
    const k = this.numEvents;
    this.validateSample(
      value,
      `IntegerInterval(lower_bound=0, upper_bound=${k - 1})`,
      (v) => v.remainder(1).eq(0).logicalAnd(v.ge(0)).logicalAnd(v.le(k - 1)),
    );
    const logits = this.logits;
    let v = value.to("int64").unsqueeze(-1);
    const shape = broadcastShapes("Categorical.logProb", v.shape, logits.shape);
    v = v.expand(shape).narrow(-1, 0, 1);
    return logits.expand(shape).gather(-1, v).squeeze(-1);
  }

  /** `-sum(probs * logits)` over the last dim (logits clamped at the dtype's lowest value). */
  entropy(): Tensor {
    const logits = this.logits.clamp(finfo(this.logits.dtype).min);
    return logits.mul(this.probs).sum(-1).neg();
  }

  /**
   * The categories `0 .. K-1` (int64) along a new dim 0, expanded over the
   * batch shape (or of size 1 there, without `expand`).
   */
  enumerateSupport(expand = true): Tensor {
    const values = arange(this.numEvents, { device: this.#param.device }).reshape(
      -1,
      ...this.batchShape.map(() => 1),
    );
    return expand ? values.expand(-1, ...this.batchShape) : values;
  }

  /** @internal */
  protected params(): [string, Tensor][] {
    return [[this.#probs === this.#param ? "probs" : "logits", this.#param]];
  }

  /** @internal Indices drawn by `multinomial` with replacement, one row per batch element. */
  protected draw(shape: number[], g: Generator | undefined, _reparam: boolean): Tensor {
    const k = this.numEvents;
    const n = numel(shape.slice(0, shape.length - this.batchShape.length));
    if (n === 0 || numel(this.batchShape) === 0) {
      return zeros(shape, { dtype: "int64", device: this.#param.device });
    }
    const probs2d = this.probs.detach().reshape(-1, k);
    return multinomial(probs2d, n, { replacement: true, generator: g }).mT.reshape(shape);
  }
}
