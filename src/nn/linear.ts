/**
 * `Linear` and `Identity`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { empty } from "../ops/creation.ts";
import type { DType } from "../dtype.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { linear } from "./functional/linear.ts";
import { resetWeightAndBias } from "./default_init.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link Linear}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.LinearOptions = { bias: false, dtype: "float64" };
 * const fc = new zn.nn.Linear(3, 2, opts);
 * [fc.bias, fc.weight.dtype]; // [null, "float64"]
 * ```
 */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const LINEAR_KEYS = optionKeys<LinearOptions>({ bias: 0, dtype: 0 });

/**
 * `y = x Wᵀ + b` with `weight` `[outFeatures, inFeatures]` and `bias`
 * `[outFeatures]`, initialised as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const fc = new zn.nn.Linear(3, 2);
 * fc.call(zn.randn([5, 3])).shape; // [5, 2]
 * ```
 */
export class Linear extends Module {
  /** Size of each input sample. */
  readonly inFeatures: number;
  /** Size of each output sample. */
  readonly outFeatures: number;
  /** The weight, `[outFeatures, inFeatures]`. */
  weight: Parameter;
  /** The bias, `[outFeatures]`, or null. */
  bias: Parameter | null;

  /** A layer from `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    checkOptions("Linear", opts, LINEAR_KEYS);
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(empty([outFeatures, inFeatures], { dtype }));
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null;
    this.resetParameters();
  }

  /** Re-initialises the weight and bias. */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  /** Applies the layer. */
  override forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  /** The layer's settings. */
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${
      this.bias !== null
    }`;
  }
}

/**
 * Returns its input unchanged.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.ones([2]);
 * new zn.nn.Identity().call(x) === x; // true
 * ```
 */
export class Identity extends Module {
  /** Returns `input`. */
  override forward(input: Tensor): Tensor {
    return input;
  }
}
