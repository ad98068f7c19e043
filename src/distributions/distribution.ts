/**
 * The base class of the probability distributions, as
 * `torch.distributions.Distribution`: batch and event shapes, sampling,
 * log-probabilities and argument validation.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { Generator } from "../random.ts";
import { checkFlag, checkOptions, optionKeys } from "../options.ts";
import { checkIntList, typeError } from "../args.ts";
import { checkShape, fmtShape } from "../shape.ts";
import { noGrad } from "../autograd/grad_mode.ts";

/**
 * Options of every distribution's constructor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributions.DistributionOptions = { validateArgs: false };
 * new zn.distributions.Normal(0, -1, opts).scale.item(); // -1: not checked
 * ```
 */
export interface DistributionOptions {
  /**
   * Check the parameters on construction and the values given to
   * `logProb` (default: {@link Distribution.defaultValidateArgs}, true
   * unless changed, as PyTorch's default).
   */
  validateArgs?: boolean;
}

/**
 * Options of `sample` and `rsample`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributions.SampleOptions = { generator: new zn.Generator(3) };
 * const d = new zn.distributions.Normal(0, 1);
 * d.sample([2], opts).eq(d.sample([2], { generator: new zn.Generator(3) })).all().item(); // true
 * ```
 */
export interface SampleOptions {
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

const DISTRIBUTION_KEYS: readonly string[] = optionKeys<DistributionOptions>({
  validateArgs: 0,
});
const SAMPLE_KEYS = optionKeys<SampleOptions>({ generator: 0 });

let defaultValidate = true;

/**
 * A probability distribution, like `torch.distributions.Distribution`:
 * parameters batched over {@link Distribution.batchShape}, samples of
 * {@link Distribution.eventShape} each. Subclasses: {@link Normal},
 * {@link Categorical}, {@link Bernoulli}.
 *
 * `sample(sampleShape)` draws a tensor of shape
 * `[...sampleShape, ...batchShape, ...eventShape]` without gradients;
 * `rsample` (where the distribution has it, `hasRsample`) draws a
 * reparameterized one that gradients flow through. `logProb(value)`
 * broadcasts `value` against the batch shape.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const d: zn.distributions.Distribution = new zn.distributions.Normal(zn.zeros([3]), 1);
 * d.batchShape; // [3]
 * d.sample([5]).shape; // [5, 3]
 * d.logProb(zn.zeros([3])).shape; // [3]
 * ```
 */
export abstract class Distribution {
  /** The shape over which the parameters are batched. */
  readonly batchShape: readonly number[];
  /** The shape of one sample (without batching). */
  readonly eventShape: readonly number[];
  /** Whether parameters and `logProb` values are checked. */
  readonly validateArgs: boolean;

  /**
   * Sets whether distributions made without `validateArgs` check their
   * arguments (PyTorch's `Distribution.set_default_validate_args`).
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * zn.distributions.Distribution.setDefaultValidateArgs(false);
   * new zn.distributions.Normal(0, -1).validateArgs; // false
   * zn.distributions.Distribution.setDefaultValidateArgs(true);
   * ```
   */
  static setDefaultValidateArgs(value: boolean): void {
    checkFlag("Distribution.setDefaultValidateArgs", "value", value);
    defaultValidate = value;
  }

  /** Whether distributions made without `validateArgs` check their arguments (true unless changed). */
  static get defaultValidateArgs(): boolean {
    return defaultValidate;
  }

  /** @internal Subclasses call this with their shapes and options. */
  protected constructor(
    batchShape: readonly number[],
    eventShape: readonly number[],
    opts: DistributionOptions | undefined,
  ) {
    const name = new.target?.name ?? "Distribution";
    if (new.target === Distribution) {
      throw new TypeError(
        "Distribution: is abstract; make a Normal, Categorical or Bernoulli instead",
      );
    }
    checkOptions(name, opts, DISTRIBUTION_KEYS);
    const validate = opts?.validateArgs ?? defaultValidate;
    checkFlag(name, "validateArgs", validate);
    this.batchShape = Object.freeze(batchShape.slice());
    this.eventShape = Object.freeze(eventShape.slice());
    this.validateArgs = validate;
  }

  /** Whether {@link Distribution.rsample} is implemented (reparameterized draws). */
  get hasRsample(): boolean {
    return false;
  }

  /** The mean, of shape `batchShape + eventShape`. */
  abstract get mean(): Tensor;

  /** The variance, of shape `batchShape + eventShape`. */
  abstract get variance(): Tensor;

  /** The mode (the most likely value). */
  abstract get mode(): Tensor;

  /** The standard deviation: the square root of the variance. */
  get stddev(): Tensor {
    return this.variance.sqrt();
  }

  /**
   * Draws a tensor of shape `[...sampleShape, ...batchShape, ...eventShape]`
   * outside autograd.
   */
  sample(sampleShape: readonly number[] = [], opts?: SampleOptions): Tensor {
    const [shape, g] = this.#sampleArgs("sample", sampleShape, opts);
    return noGrad(() => this.draw(shape, g, false));
  }

  /**
   * A reparameterized draw of shape `[...sampleShape, ...batchShape,
   * ...eventShape]`: gradients flow to the parameters. Only where
   * `hasRsample` is true (as in PyTorch, Normal); others throw.
   */
  rsample(sampleShape: readonly number[] = [], opts?: SampleOptions): Tensor {
    const [shape, g] = this.#sampleArgs("rsample", sampleShape, opts);
    if (!this.hasRsample) {
      throw new TypeError(
        `${this.constructor.name}.rsample: not implemented: the distribution has no reparameterized sampler (hasRsample is false); use sample`,
      );
    }
    return this.draw(shape, g, true);
  }

  /** The log of the probability density or mass at `value`, broadcast against `batchShape`. */
  abstract logProb(value: Tensor): Tensor;

  /** The entropy, of shape `batchShape`. */
  abstract entropy(): Tensor;

  /** `exp(entropy())`. */
  perplexity(): Tensor {
    return this.entropy().exp();
  }

  /** A short description: the class and its parameters' shapes or values. */
  toString(): string {
    const parts = this.params().map(([k, t]) =>
      `${k}: ${
        t.numel === 1 ? noGrad(() => String(t.detach().reshape([]).item())) : fmtShape(t.shape)
      }`
    );
    return `${this.constructor.name}(${parts.join(", ")})`;
  }

  /** @internal The parameters given, by name, for {@link Distribution.toString}. */
  protected abstract params(): [string, Tensor][];

  /** @internal Draws the extended shape `shape`, with gradients when `reparam`. */
  protected abstract draw(shape: number[], g: Generator | undefined, reparam: boolean): Tensor;

  /** @internal `[...sampleShape, ...batchShape, ...eventShape]`. */
  protected extendedShape(sampleShape: readonly number[] = []): number[] {
    return [...sampleShape, ...this.batchShape, ...this.eventShape];
  }

  /** @internal Checks `sample`'s arguments; returns the extended shape and the generator. */
  #sampleArgs(
    op: string,
    sampleShape: unknown,
    opts: SampleOptions | undefined,
  ): [number[], Generator | undefined] {
    const name = `${this.constructor.name}.${op}`;
    checkIntList(sampleShape, name, "sampleShape", { min: 0 });
    checkOptions(name, opts, SAMPLE_KEYS);
    const g = opts?.generator;
    if (g !== undefined && !(g instanceof Generator)) {
      typeError(name, "generator", "a Generator", g);
    }
    return [checkShape(this.extendedShape(sampleShape as number[]), name), g];
  }

  /**
   * @internal PyTorch's `_validate_sample`: `value` must be a Tensor whose
   * shape broadcasts with `batchShape + eventShape` and whose values lie in
   * the support (checked by `inSupport`, described as `support`).
   */
  protected validateSample(
    value: unknown,
    support: string,
    inSupport: (v: Tensor) => Tensor,
  ): asserts value is Tensor {
    const name = `${this.constructor.name}.logProb`;
    if (!(value instanceof Tensor)) typeError(name, "value", "a Tensor", value);
    if (value.isDisposed) typeError(name, "value", "a live Tensor", value);
    if (!this.validateArgs) return;
    const actual = value.shape;
    const ev = this.eventShape.length;
    const tail = actual.slice(actual.length - ev);
    if (actual.length < ev || tail.some((d, i) => d !== this.eventShape[i])) {
      throw new RangeError(
        `${name}: the right-most size of value must match event_shape: ${fmtShape(actual)} vs ${
          fmtShape(this.eventShape)
        }`,
      );
    }
    const expected = [...this.batchShape, ...this.eventShape];
    for (let k = 1; k <= Math.min(actual.length, expected.length); k++) {
      const i = actual[actual.length - k], j = expected[expected.length - k];
      if (i !== 1 && j !== 1 && i !== j) {
        throw new RangeError(
          `${name}: value is not broadcastable with batch_shape+event_shape: ${
            fmtShape(actual)
          } vs ${fmtShape(expected)}`,
        );
      }
    }
    const ok = noGrad(() => inSupport(value.detach()).all().item());
    if (!ok) {
      throw new RangeError(
        `${name}: expected value argument (Tensor of shape ${
          fmtShape(actual)
        }) to be within the support (${support}) of the distribution ${this.toString()}, but found invalid values:\n${
          noGrad(() => value.detach().toString())
        }`,
      );
    }
  }
}
