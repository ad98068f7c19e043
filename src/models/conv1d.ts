/**
 * `Conv1D`: Hugging Face's GPT-2 projection layer.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { empty, zeros } from "../ops/creation.ts";
import { Module } from "../nn/module.ts";
import { Parameter } from "../nn/parameter.ts";
import { normal_ } from "../nn/init.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkSizeArg, checkTensor } from "../args.ts";
import { fmtShape } from "../shape.ts";

/**
 * Options of {@link Conv1D}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.models.Conv1DOptions = { dtype: "float64" };
 * new zn.models.Conv1D(6, 4, opts).weight.dtype; // "float64"
 * ```
 */
export interface Conv1DOptions {
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const CONV1D_KEYS = optionKeys<Conv1DOptions>({ dtype: 0 });

/**
 * Hugging Face's `Conv1D` (`transformers.pytorch_utils.Conv1D`), the linear
 * layer of GPT-2 checkpoints despite its name: `y = x @ weight + bias` with
 * `weight` `[nx, nf]` (input features first: the transpose of
 * `zn.nn.Linear`'s layout) and `bias` `[nf]`. The arguments are in
 * Hugging Face's order: `nf` output features, then `nx` input features. The
 * weight starts from N(0, 0.02²) and the bias at zero, as there.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const proj = new zn.models.Conv1D(6, 4); // 4 features in, 6 out
 * proj.weight.shape; // [4, 6]
 * proj.call(zn.randn([2, 3, 4])).shape; // [2, 3, 6]
 * ```
 */
export class Conv1D extends Module {
  /** Output features. */
  readonly nf: number;
  /** Input features. */
  readonly nx: number;
  /** The weight, `[nx, nf]`. */
  weight: Parameter;
  /** The bias, `[nf]`. */
  bias: Parameter;

  /** A projection from `nx` features to `nf`. */
  constructor(nf: number, nx: number, opts: Conv1DOptions = {}) {
    checkSizeArg(nf, "Conv1D", "nf");
    checkSizeArg(nx, "Conv1D", "nx");
    checkOptions("Conv1D", opts, CONV1D_KEYS);
    super();
    this.nf = nf;
    this.nx = nx;
    const dtype = opts.dtype ?? "float32";
    this.weight = new Parameter(empty([nx, nf], { dtype }));
    this.bias = new Parameter(zeros([nf], { dtype }));
    normal_(this.weight, 0, 0.02);
  }

  /** `input @ weight + bias` over the last dim of `input` (`[..., nx]` to `[..., nf]`). */
  override forward(input: Tensor): Tensor {
    checkTensor(input, "Conv1D", "input");
    if (input.ndim === 0 || input.shape[input.ndim - 1] !== this.nx) {
      throw new RangeError(
        `Conv1D: expected input of shape [..., ${this.nx}], got ${fmtShape(input.shape)}`,
      );
    }
    return input.matmul(this.weight).add(this.bias);
  }

  /** The layer's settings. */
  override extraRepr(): string {
    return `nf=${this.nf}, nx=${this.nx}`;
  }
}
