/**
 * Unfold and Fold modules (`F.unfold`, `F.fold`).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { checkOptions } from "../options.ts";
import { fold, type FoldOptions, unfold } from "./functional/fold.ts";

/**
 * Extracts sliding blocks: `[N, C, H, W]` to `[N, C * kh * kw, L]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Unfold(3, { padding: 1 }).call(zn.zeros([1, 2, 5, 5])).shape; // [1, 18, 25]
 * ```
 */
export class Unfold extends Module {
  /** The kernel size. */
  readonly kernelSize: number | readonly number[];
  /** Dilation, padding and stride as given. */
  readonly options: FoldOptions;
  /** An unfold with `kernelSize`. */
  constructor(kernelSize: number | readonly number[], opts: FoldOptions = {}) {
    checkOptions("Unfold", opts, ["dilation", "padding", "stride"]);
    super();
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }
  /** Extracts the blocks. */
  override forward(input: Tensor): Tensor {
    return unfold(input, this.kernelSize, this.options);
  }
}

/**
 * Sums sliding blocks back into an image: `[N, C * kh * kw, L]` to
 * `[N, C, outputSize...]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Fold([4, 4], 2, { stride: 2 }).call(zn.ones([1, 4, 4])).shape; // [1, 1, 4, 4]
 * ```
 */
export class Fold extends Module {
  /** The image size. */
  readonly outputSize: number | readonly number[];
  /** The kernel size. */
  readonly kernelSize: number | readonly number[];
  /** Dilation, padding and stride as given. */
  readonly options: FoldOptions;
  /** A fold into `outputSize` with `kernelSize`. */
  constructor(
    outputSize: number | readonly number[],
    kernelSize: number | readonly number[],
    opts: FoldOptions = {},
  ) {
    checkOptions("Fold", opts, ["dilation", "padding", "stride"]);
    super();
    this.outputSize = outputSize;
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }
  /** Sums the blocks into the image. */
  override forward(input: Tensor): Tensor {
    return fold(input, this.outputSize, this.kernelSize, this.options);
  }
}
