/**
 * Activation modules.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import * as F from "./functional/activation.ts";
import { checkOptions } from "../options.ts";
import { Parameter } from "./parameter.ts";
import { full } from "../ops/creation.ts";

const GELU_KEYS = ["approximate"] as const;
const SOFTPLUS_KEYS = ["beta", "threshold"] as const;

/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReLU().call(zn.tensor([-1.0, 2])).toArray(); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  /** Applies ReLU. */
  override forward(input: Tensor): Tensor {
    return F.relu(input);
  }
}

/**
 * x for x > 0, else negativeSlope * x (default slope 0.01).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.LeakyReLU(0.1).call(zn.tensor([-1.0])).toArray(); // [-0.1]
 * ```
 */
export class LeakyReLU extends Module {
  /** The slope for negative inputs. */
  negativeSlope: number;
  /** A leaky ReLU with the given slope. */
  constructor(negativeSlope = 0.01) {
    super();
    this.negativeSlope = negativeSlope;
  }
  /** Applies leaky ReLU. */
  override forward(input: Tensor): Tensor {
    return F.leakyRelu(input, this.negativeSlope);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/**
 * Gaussian error linear unit (`approximate: "tanh"` for the tanh form).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.GELU({ approximate: "tanh" }).call(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export class GELU extends Module {
  /** "none" (exact, default) or "tanh". */
  approximate: "none" | "tanh";
  /** A GELU. */
  constructor(opts: { approximate?: "none" | "tanh" } = {}) {
    checkOptions("GELU", opts, GELU_KEYS);
    super();
    this.approximate = opts.approximate ?? "none";
  }
  /** Applies GELU. */
  override forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }
}

/**
 * x * sigmoid(x).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.SiLU().call(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export class SiLU extends Module {
  /** Applies SiLU. */
  override forward(input: Tensor): Tensor {
    return F.silu(input);
  }
}

/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Tanh().call(zn.tensor([0.0])).toArray(); // [0]
 * ```
 */
export class Tanh extends Module {
  /** Applies tanh. */
  override forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

/**
 * Logistic sigmoid.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Sigmoid().call(zn.tensor([0.0])).toArray(); // [0.5]
 * ```
 */
export class Sigmoid extends Module {
  /** Applies the sigmoid. */
  override forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

/**
 * Softmax along `dim`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softmax(1).call(zn.zeros([1, 2])).toArray(); // [[0.5, 0.5]]
 * ```
 */
export class Softmax extends Module {
  /** The dim to normalise. */
  dim: number;
  /** A softmax along `dim`. */
  constructor(dim: number) {
    super();
    this.dim = dim;
  }
  /** Applies softmax. */
  override forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * log(softmax(x)) along `dim`, computed stably.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.LogSoftmax(1).call(zn.zeros([1, 2])); // [[-0.6931, -0.6931]]
 * ```
 */
export class LogSoftmax extends Module {
  /** The dim to normalise. */
  dim: number;
  /** A log-softmax along `dim`. */
  constructor(dim: number) {
    super();
    this.dim = dim;
  }
  /** Applies log-softmax. */
  override forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * x for x > 0, else alpha * (e^x - 1) (alpha default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ELU().call(zn.tensor([1.0])).toArray(); // [1]
 * ```
 */
export class ELU extends Module {
  /** Scale of the negative part. */
  alpha: number;
  /** An ELU. */
  constructor(alpha = 1) {
    super();
    this.alpha = alpha;
  }
  /** Applies ELU. */
  override forward(input: Tensor): Tensor {
    return F.elu(input, this.alpha);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/**
 * log(1 + e^(beta x)) / beta, linear above `threshold`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softplus().call(zn.tensor([0.0])); // [0.6931]
 * ```
 */
export class Softplus extends Module {
  /** The beta of the formula (default 1). */
  beta: number;
  /** Above `beta * x > threshold` the function is linear (default 20). */
  threshold: number;
  /** A softplus. */
  constructor(opts: { beta?: number; threshold?: number } = {}) {
    checkOptions("Softplus", opts, SOFTPLUS_KEYS);
    super();
    this.beta = opts.beta ?? 1;
    this.threshold = opts.threshold ?? 20;
  }
  /** Applies softplus. */
  override forward(input: Tensor): Tensor {
    return F.softplus(input, { beta: this.beta, threshold: this.threshold });
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/**
 * `clamp(x, minVal, maxVal)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Hardtanh().call(zn.tensor([-2, 2])).toArray(); // [-1, 1]
 * ```
 */
export class Hardtanh extends Module {
  /** The lower bound (default -1). */
  minVal: number;
  /** The upper bound (default 1). */
  maxVal: number;
  /** A hardtanh. */
  constructor(minVal = -1, maxVal = 1) {
    super();
    this.minVal = minVal;
    this.maxVal = maxVal;
  }
  /** Applies hardtanh. */
  override forward(input: Tensor): Tensor {
    return F.hardtanh(input, this.minVal, this.maxVal);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `min_val=${this.minVal}, max_val=${this.maxVal}`;
  }
}

/**
 * `min(max(x, 0), 6)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReLU6().call(zn.tensor([9])).toArray(); // [6]
 * ```
 */
export class ReLU6 extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.relu6(input);
  }
}

/**
 * `relu6(x + 3) / 6`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Hardsigmoid().call(zn.tensor([0])).toArray(); // [0.5]
 * ```
 */
export class Hardsigmoid extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.hardsigmoid(input);
  }
}

/**
 * `x * relu6(x + 3) / 6`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Hardswish().call(zn.tensor([4])).toArray(); // [4]
 * ```
 */
export class Hardswish extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.hardswish(input);
  }
}

/**
 * `x * tanh(softplus(x))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Mish().call(zn.tensor([0])).toArray(); // [0]
 * ```
 */
export class Mish extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.mish(input);
  }
}

/**
 * The self-normalising ELU.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.SELU().call(zn.tensor([0])).toArray(); // [0]
 * ```
 */
export class SELU extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.selu(input);
  }
}

/**
 * `x / (1 + |x|)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softsign().call(zn.tensor([1])).toArray(); // [0.5]
 * ```
 */
export class Softsign extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.softsign(input);
  }
}

/**
 * `x - tanh(x)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Tanhshrink().call(zn.tensor([0])).toArray(); // [0]
 * ```
 */
export class Tanhshrink extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.tanhshrink(input);
  }
}

/**
 * `log(sigmoid(x))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.LogSigmoid().call(zn.tensor([0])).toArray(); // [-0.6931]
 * ```
 */
export class LogSigmoid extends Module {
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.logsigmoid(input);
  }
}

/**
 * `max(0, x) + min(0, alpha (exp(x / alpha) - 1))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.CELU(2).call(zn.tensor([1])).toArray(); // [1]
 * ```
 */
export class CELU extends Module {
  /** The scale of the negative part (default 1). */
  alpha: number;
  /** A CELU. */
  constructor(alpha = 1) {
    super();
    this.alpha = alpha;
  }
  /** Applies CELU. */
  override forward(input: Tensor): Tensor {
    return F.celu(input, this.alpha);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/**
 * The gated linear unit over `dim` (default the last).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.GLU().call(zn.tensor([1, 0])).toArray(); // [0.5]
 * ```
 */
export class GLU extends Module {
  /** The dim split in halves. */
  dim: number;
  /** A GLU. */
  constructor(dim = -1) {
    super();
    this.dim = dim;
  }
  /** Applies GLU. */
  override forward(input: Tensor): Tensor {
    return F.glu(input, this.dim);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * x where `x > threshold`, else `value`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Threshold(1, -1).call(zn.tensor([0.5, 2])).toArray(); // [-1, 2]
 * ```
 */
export class Threshold extends Module {
  /** The threshold. */
  threshold: number;
  /** The value below it. */
  value: number;
  /** A threshold. */
  constructor(threshold: number, value: number) {
    super();
    this.threshold = threshold;
    this.value = value;
  }
  /** Applies the threshold. */
  override forward(input: Tensor): Tensor {
    return F.threshold(input, this.threshold, this.value);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `threshold=${this.threshold}, value=${this.value}`;
  }
}

/**
 * 0 where `|x| <= lambd` (default 0.5), else x, as `torch.nn.Hardshrink`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Hardshrink(1).call(zn.tensor([-2, 0.5])).toArray(); // [-2, 0]
 * ```
 */
export class Hardshrink extends Module {
  /** The half-width of the zeroed band. */
  lambd: number;
  /** A hard shrinkage with band `lambd`. */
  constructor(lambd = 0.5) {
    super();
    this.lambd = lambd;
  }
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.hardshrink(input, this.lambd);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `${this.lambd}`;
  }
}

/**
 * x shrunk toward 0 by `lambd` (default 0.5), as `torch.nn.Softshrink`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softshrink(1).call(zn.tensor([-2, 0.5])).toArray(); // [-1, 0]
 * ```
 */
export class Softshrink extends Module {
  /** The shrinkage. */
  lambd: number;
  /** A soft shrinkage by `lambd`. */
  constructor(lambd = 0.5) {
    super();
    if (!(lambd >= 0)) {
      throw new RangeError(
        `Softshrink: lambda must be greater or equal to 0, but found to be ${lambd}`,
      );
    }
    this.lambd = lambd;
  }
  /** Applies the activation. */
  override forward(input: Tensor): Tensor {
    return F.softshrink(input, this.lambd);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `${this.lambd}`;
  }
}

/**
 * `softmax(-x, dim)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softmin(0).call(zn.tensor([0, 0])).toArray(); // [0.5, 0.5]
 * ```
 */
export class Softmin extends Module {
  /** The dim. */
  dim: number;
  /** A softmin. */
  constructor(dim: number) {
    super();
    this.dim = dim;
  }
  /** Applies softmin. */
  override forward(input: Tensor): Tensor {
    return F.softmin(input, this.dim);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Softmax over the channels of each position: dim -3 of a 3-D or 4-D input.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Softmax2d().call(zn.zeros([1, 2, 1, 1])).toArray(); // [[[[0.5]], [[0.5]]]]
 * ```
 */
export class Softmax2d extends Module {
  /** Applies softmax over dim -3. */
  override forward(input: Tensor): Tensor {
    if (input.ndim !== 3 && input.ndim !== 4) {
      throw new RangeError(`Softmax2d: expected a 3-D or 4-D input, got ${input.ndim} dims`);
    }
    return F.softmax(input, -3);
  }
}

/**
 * `max(0, x) + weight * min(0, x)` with a learned weight: one for all
 * channels, or one per channel (dim 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.PReLU().call(zn.tensor([-4, 2])).toArray(); // [-1, 2]
 * ```
 */
export class PReLU extends Module {
  /** The slopes `[numParameters]`, initialised to `init`. */
  weight: Parameter;
  /** A PReLU with `numParameters` slopes (1 or the channel count). */
  constructor(numParameters = 1, init = 0.25) {
    super();
    this.weight = new Parameter(full([numParameters], init));
  }
  /** Applies PReLU. */
  override forward(input: Tensor): Tensor {
    return F.prelu(input, this.weight);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `num_parameters=${this.weight.numel}`;
  }
}
