/**
 * PixelShuffle and PixelUnshuffle modules.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { checkSizeArg } from "../args.ts";
import { pixelShuffle, pixelUnshuffle } from "./functional/pixel_shuffle.ts";

/**
 * `[*, C r^2, H, W]` to `[*, C, H r, W r]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.PixelShuffle(2).call(zn.zeros([1, 4, 3, 3])).shape; // [1, 1, 6, 6]
 * ```
 */
export class PixelShuffle extends Module {
  /** The factor r. */
  readonly upscaleFactor: number;
  /** A pixel shuffle by `upscaleFactor`. */
  constructor(upscaleFactor: number) {
    checkSizeArg(upscaleFactor, "PixelShuffle", "upscaleFactor");
    super();
    this.upscaleFactor = upscaleFactor;
  }
  /** Rearranges the input. */
  override forward(input: Tensor): Tensor {
    return pixelShuffle(input, this.upscaleFactor);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `upscale_factor=${this.upscaleFactor}`;
  }
}

/**
 * `[*, C, H r, W r]` to `[*, C r^2, H, W]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.PixelUnshuffle(2).call(zn.zeros([1, 1, 6, 6])).shape; // [1, 4, 3, 3]
 * ```
 */
export class PixelUnshuffle extends Module {
  /** The factor r. */
  readonly downscaleFactor: number;
  /** A pixel unshuffle by `downscaleFactor`. */
  constructor(downscaleFactor: number) {
    checkSizeArg(downscaleFactor, "PixelUnshuffle", "downscaleFactor");
    super();
    this.downscaleFactor = downscaleFactor;
  }
  /** Rearranges the input. */
  override forward(input: Tensor): Tensor {
    return pixelUnshuffle(input, this.downscaleFactor);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `downscale_factor=${this.downscaleFactor}`;
  }
}
