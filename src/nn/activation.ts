/**
 * Activation modules.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import * as F from "./functional/activation.ts";
import { checkOptions } from "../options.ts";

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
