/**
 * The normal (Gaussian) distribution, as `torch.distributions.Normal`.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { Generator } from "../random.ts";
import { randn } from "../ops/creation.ts";
import { erf } from "../ops/unary_fns.ts";
import { broadcastShapes } from "../shape.ts";
import { Distribution, type DistributionOptions } from "./distribution.ts";
import { asParam, checkConstraint, checkParam, floatingOf } from "./utils.ts";

const LOG_SQRT_2PI = Math.log(Math.sqrt(2 * Math.PI));
const ENTROPY_CONST = 0.5 + 0.5 * Math.log(2 * Math.PI);

/**
 * A normal distribution with mean `loc` and standard deviation `scale`,
 * like `torch.distributions.Normal`. `loc` and `scale` are tensors or
 * numbers; they broadcast together to the batch shape (a number becomes a
 * tensor of the other parameter's dtype, or float32; two numbers give batch
 * shape `[]`). With `validateArgs` (the default) `loc` must not be NaN and
 * `scale` must be positive, and `logProb` values must not be NaN.
 *
 * `sample` and `rsample` (reparameterized: `loc + eps * scale`, with
 * gradients to both) draw from Zeno's generator; `logProb`, `entropy` and
 * `cdf` follow PyTorch's formulas, gradients included.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const loc = zn.tensor([0, 1], { requiresGrad: true });
 * const d = new zn.distributions.Normal(loc, 2);
 * d.batchShape; // [2]
 * d.logProb(zn.tensor([0, 0])).toArray(); // [-1.6121, -1.7371]
 * d.entropy().toArray(); // [2.1121, 2.1121]
 * d.rsample([3], { generator: new zn.Generator(0) }).sum().backward();
 * loc.grad!.toArray(); // [3, 3]
 * ```
 */
export class Normal extends Distribution {
  /** The mean, broadcast to the batch shape. */
  readonly loc: Tensor;
  /** The standard deviation, broadcast to the batch shape. */
  readonly scale: Tensor;

  /** A normal distribution of mean `loc` and standard deviation `scale`. */
  constructor(loc: Tensor | number, scale: Tensor | number, opts?: DistributionOptions) {
    checkParam(loc, "Normal", "loc");
    checkParam(scale, "Normal", "scale");
    const like = loc instanceof Tensor ? loc : scale instanceof Tensor ? scale : undefined;
    let l = asParam(loc, like), s = asParam(scale, like);
    const shape = broadcastShapes("Normal", l.shape, s.shape);
    l = l.expand(shape);
    s = s.expand(shape);
    super(typeof loc === "number" && typeof scale === "number" ? [] : shape, [], opts);
    this.loc = l;
    this.scale = s;
    if (this.validateArgs) {
      checkConstraint("Normal", "loc", l, "Real()", (v) => v.eq(v));
      checkConstraint("Normal", "scale", s, "GreaterThan(lower_bound=0.0)", (v) => v.gt(0));
    }
  }

  /** Normal has a reparameterized sampler. */
  override get hasRsample(): boolean {
    return true;
  }

  /** `loc`. */
  get mean(): Tensor {
    return this.loc;
  }

  /** `loc`. */
  get mode(): Tensor {
    return this.loc;
  }

  /** `scale`. */
  override get stddev(): Tensor {
    return this.scale;
  }

  /** `scale ** 2`. */
  get variance(): Tensor {
    return this.scale.pow(2);
  }

  /** `-((value - loc) ** 2) / (2 scale ** 2) - log(scale) - log(sqrt(2 pi))`. */
  logProb(value: Tensor): Tensor {
    this.validateSample(value, "Real()", (v) => v.eq(v));
    const variance = this.scale.pow(2);
    return value.sub(this.loc).pow(2).neg().div(variance.mul(2)).sub(this.scale.log()).sub(
      LOG_SQRT_2PI,
    );
  }

  /** The cumulative distribution function: `(1 + erf((value - loc) / (scale sqrt 2))) / 2`. */
  cdf(value: Tensor): Tensor {
    this.validateSample(value, "Real()", (v) => v.eq(v));
    return erf(value.sub(this.loc).mul(this.scale.reciprocal()).div(Math.SQRT2)).add(1).mul(0.5);
  }

  /** `0.5 + 0.5 log(2 pi) + log(scale)`, of shape `batchShape`. */
  entropy(): Tensor {
    return this.scale.log().add(ENTROPY_CONST);
  }

  /** @internal */
  protected params(): [string, Tensor][] {
    return [["loc", this.loc], ["scale", this.scale]];
  }

  /** @internal `loc + eps * scale` with `eps` standard normal. */
  protected draw(shape: number[], g: Generator | undefined, _reparam: boolean): Tensor {
    const eps = randn(shape, {
      dtype: floatingOf(this.loc.dtype),
      device: this.loc.device,
      generator: g,
    });
    return this.loc.add(eps.mul(this.scale));
  }
}
