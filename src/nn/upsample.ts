/**
 * The Upsample module (`F.interpolate` with fixed settings).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { checkOptions } from "../options.ts";
import { interpolate, type InterpolateOptions } from "./functional/interpolate.ts";

/**
 * Resamples its input's spatial dims, as `torch.nn.Upsample`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Upsample({ scaleFactor: 2, mode: "bilinear" }).call(zn.zeros([1, 1, 2, 2])).shape; // [1, 1, 4, 4]
 * ```
 */
export class Upsample extends Module {
  /** The settings, as `interpolate` takes them. */
  readonly options: InterpolateOptions;
  /** An upsampling layer. */
  constructor(opts: InterpolateOptions = {}) {
    checkOptions("Upsample", opts, [
      "size",
      "scaleFactor",
      "mode",
      "alignCorners",
      "recomputeScaleFactor",
    ]);
    super();
    this.options = { ...opts };
  }
  /** Resamples the input. */
  override forward(input: Tensor): Tensor {
    return interpolate(input, this.options);
  }
  /** The module's settings. */
  override extraRepr(): string {
    const o = this.options;
    return `size=${JSON.stringify(o.size ?? null)}, scale_factor=${
      JSON.stringify(o.scaleFactor ?? null)
    }, mode=${o.mode ?? "nearest"}`;
  }
}
