/**
 * The dropout modules: `Dropout`, the channel-wise `Dropout1d`/`2d`/`3d`, and
 * `AlphaDropout`/`FeatureAlphaDropout` for SELU networks.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import {
  alphaDropout,
  dropout,
  dropout1d,
  dropout2d,
  dropout3d,
  type DropoutOptions,
  featureAlphaDropout,
} from "./functional/dropout.ts";

/**
 * Zeroes elements with probability `p` (default 0.5) in training mode,
 * scaling the rest by `1 / (1 - p)`; the identity in eval mode.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const drop = new zn.nn.Dropout(0.5);
 * drop.eval();
 * drop.call(zn.ones([3])).toArray(); // [1, 1, 1]
 * ```
 */
export class Dropout extends Module {
  /** Probability of an element being zeroed. */
  p: number;
  /** A dropout layer. */
  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(
        `${this.constructor.name}: probability has to be between 0 and 1, but got ${p}`,
      );
    }
    this.p = p;
  }
  /** Applies dropout when training. */
  override forward(input: Tensor): Tensor {
    return this.drop(input, this.p, { training: this.training });
  }
  /** @internal The functional form this module applies. */
  protected drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return dropout(input, p, opts);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Zeroes whole channels of `[N, C, L]` inputs in training mode, as
 * `torch.nn.Dropout1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Dropout1d(0.5).call(zn.ones([2, 3, 4])).shape; // [2, 3, 4]
 * ```
 */
export class Dropout1d extends Dropout {
  /** @internal */
  protected override drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return dropout1d(input, p, opts);
  }
}

/**
 * Zeroes whole channels of `[N, C, H, W]` inputs in training mode, as
 * `torch.nn.Dropout2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Dropout2d(0.5).call(zn.ones([2, 3, 4, 4])).shape; // [2, 3, 4, 4]
 * ```
 */
export class Dropout2d extends Dropout {
  /** @internal */
  protected override drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return dropout2d(input, p, opts);
  }
}

/**
 * Zeroes whole channels of `[N, C, D, H, W]` inputs in training mode, as
 * `torch.nn.Dropout3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Dropout3d(0.5).call(zn.ones([1, 2, 2, 2, 2])).shape; // [1, 2, 2, 2, 2]
 * ```
 */
export class Dropout3d extends Dropout {
  /** @internal */
  protected override drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return dropout3d(input, p, opts);
  }
}

/**
 * Alpha dropout for SELU networks in training mode, as `torch.nn.AlphaDropout`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AlphaDropout(0.2).eval().call(zn.ones([3])).toArray(); // [1, 1, 1]
 * ```
 */
export class AlphaDropout extends Dropout {
  /** @internal */
  protected override drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return alphaDropout(input, p, opts);
  }
}

/**
 * Alpha dropout of whole channels in training mode, as
 * `torch.nn.FeatureAlphaDropout`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.FeatureAlphaDropout(0.2).call(zn.ones([2, 3, 4])).shape; // [2, 3, 4]
 * ```
 */
export class FeatureAlphaDropout extends Dropout {
  /** @internal */
  protected override drop(input: Tensor, p: number, opts: DropoutOptions): Tensor {
    return featureAlphaDropout(input, p, opts);
  }
}
