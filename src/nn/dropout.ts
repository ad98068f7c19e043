/**
 * The `Dropout` module.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { dropout } from "./functional/dropout.ts";

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
      throw new RangeError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
    }
    this.p = p;
  }
  /** Applies dropout when training. */
  override forward(input: Tensor): Tensor {
    return dropout(input, this.p, { training: this.training });
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
