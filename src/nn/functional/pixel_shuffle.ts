/**
 * Moving channels into space and back: pixelShuffle and pixelUnshuffle
 * (views and one copy, so gradients come from the view rules).
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { fmtShape } from "../../shape.ts";
import { checkIntArg, checkTensor } from "../../args.ts";

/**
 * `[*, C r^2, H, W]` to `[*, C, H r, W r]`, as
 * `torch.nn.functional.pixel_shuffle`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.pixelShuffle(zn.zeros([1, 8, 2, 3]), 2).shape; // [1, 2, 4, 6]
 * ```
 */
export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  checkTensor(input, "pixelShuffle");
  checkIntArg(upscaleFactor, "pixelShuffle", "upscaleFactor", 1);
  if (input.ndim < 3) {
    throw new RangeError(`pixelShuffle: expected at least 3 dims, got ${fmtShape(input.shape)}`);
  }
  const r = upscaleFactor, nd = input.ndim;
  const [c, h, w] = input.shape.slice(nd - 3);
  if (c % (r * r) !== 0) {
    throw new RangeError(
      `pixelShuffle: the channels (${c}) must be divisible by the square of upscaleFactor (${
        r * r
      })`,
    );
  }
  const lead = input.shape.slice(0, nd - 3) as number[];
  const k = lead.length;
  const x = input.reshape([...lead, c / (r * r), r, r, h, w]);
  // [..., C, r1, r2, H, W] -> [..., C, H, r1, W, r2]
  const order = [...Array(k).keys(), k, k + 3, k + 1, k + 4, k + 2];
  return x.permute(order).reshape([...lead, c / (r * r), h * r, w * r]);
}

/**
 * `[*, C, H r, W r]` to `[*, C r^2, H, W]`, the inverse of
 * {@link pixelShuffle}, as `torch.nn.functional.pixel_unshuffle`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.pixelUnshuffle(zn.zeros([1, 2, 4, 6]), 2).shape; // [1, 8, 2, 3]
 * ```
 */
export function pixelUnshuffle(input: Tensor, downscaleFactor: number): Tensor {
  checkTensor(input, "pixelUnshuffle");
  checkIntArg(downscaleFactor, "pixelUnshuffle", "downscaleFactor", 1);
  if (input.ndim < 3) {
    throw new RangeError(`pixelUnshuffle: expected at least 3 dims, got ${fmtShape(input.shape)}`);
  }
  const r = downscaleFactor, nd = input.ndim;
  const [c, h, w] = input.shape.slice(nd - 3);
  if (h % r !== 0 || w % r !== 0) {
    throw new RangeError(
      `pixelUnshuffle: height ${h} and width ${w} must be divisible by downscaleFactor (${r})`,
    );
  }
  const lead = input.shape.slice(0, nd - 3) as number[];
  const k = lead.length;
  const x = input.reshape([...lead, c, h / r, r, w / r, r]);
  // [..., C, H, r1, W, r2] -> [..., C, r1, r2, H, W]
  const order = [...Array(k).keys(), k, k + 2, k + 4, k + 1, k + 3];
  return x.permute(order).reshape([...lead, c * r * r, h / r, w / r]);
}
