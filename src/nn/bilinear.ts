/**
 * The bilinear layer, `y = x1^T A x2 + b`, and its functional form.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { empty } from "../ops/creation.ts";
import { einsum } from "../ops/products.ts";
import { add } from "../ops/elementwise.ts";
import { fmtShape } from "../shape.ts";
import { checkOptionalTensor, checkSizeArg, checkTensor } from "../args.ts";
import { checkOptions } from "../options.ts";
import { uniform_ } from "./init.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";

/**
 * `y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o]`, as
 * `torch.nn.functional.bilinear` (one einsum).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.bilinear(zn.ones([2, 3]), zn.ones([2, 4]), zn.ones([5, 3, 4])).shape; // [2, 5]
 * ```
 */
export function bilinear(
  input1: Tensor,
  input2: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
): Tensor {
  checkTensor(input1, "bilinear", "input1");
  checkTensor(input2, "bilinear", "input2");
  checkTensor(weight, "bilinear", "weight");
  checkOptionalTensor(bias, "bilinear", "bias");
  const ok = weight.ndim === 3 && input1.ndim >= 1 && input2.ndim === input1.ndim &&
    input1.shape[input1.ndim - 1] === weight.shape[1] &&
    input2.shape[input2.ndim - 1] === weight.shape[2] &&
    input1.shape.slice(0, -1).every((s, i) => s === input2.shape[i]);
  if (!ok) {
    throw new RangeError(
      `bilinear: inputs ${fmtShape(input1.shape)} and ${fmtShape(input2.shape)} do not fit weight ${
        fmtShape(weight.shape)
      } ([out, in1, in2], the inputs' leading dims equal)`,
    );
  }
  const y = einsum("...i,oij,...j->...o", input1, weight, input2);
  return bias ? add(y, bias) : y;
}

/** Options of {@link Bilinear}. */
export interface BilinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * `y = x1^T A x2 + b`: weight `[out, in1, in2]` and bias `[out]`, both
 * uniform in `±1 / sqrt(in1)` as PyTorch initialises them.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Bilinear(3, 4, 5).call(zn.ones([2, 3]), zn.ones([2, 4])).shape; // [2, 5]
 * ```
 */
export class Bilinear extends Module {
  /** Size of the first input's samples. */
  readonly in1Features: number;
  /** Size of the second input's samples. */
  readonly in2Features: number;
  /** Size of the output's samples. */
  readonly outFeatures: number;
  /** `[out, in1, in2]`. */
  weight: Parameter;
  /** `[out]`, or null. */
  bias: Parameter | null;
  /** A bilinear layer. */
  constructor(
    in1Features: number,
    in2Features: number,
    outFeatures: number,
    opts: BilinearOptions = {},
  ) {
    checkSizeArg(in1Features, "Bilinear", "in1Features");
    checkSizeArg(in2Features, "Bilinear", "in2Features");
    checkSizeArg(outFeatures, "Bilinear", "outFeatures");
    checkOptions("Bilinear", opts, ["bias", "dtype"]);
    super();
    this.in1Features = in1Features;
    this.in2Features = in2Features;
    this.outFeatures = outFeatures;
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(empty([outFeatures, in1Features, in2Features], { dtype }));
    this.bias = (opts.bias ?? true) ? new Parameter(empty([outFeatures], { dtype })) : null;
    this.resetParameters();
  }
  /** Re-initialises the weight and bias. */
  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.in1Features);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }
  /** Applies the layer to the two inputs. */
  override forward(input1: Tensor, input2: Tensor): Tensor {
    return bilinear(input1, input2, this.weight, this.bias);
  }
  /** The layer's settings. */
  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${
      this.bias !== null
    }`;
  }
}
