/**
 * `Flatten` and `Unflatten`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { checkIntArg, checkIntList } from "../args.ts";

/**
 * Merges dims `startDim..endDim` (default 1..-1) into one.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Flatten().call(zn.zeros([2, 3, 4])).shape; // [2, 12]
 * ```
 */
export class Flatten extends Module {
  /** First dim to merge. */
  startDim: number;
  /** Last dim to merge. */
  endDim: number;
  /** A flatten from `startDim` to `endDim`. */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }
  /** Flattens the input. */
  override forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Splits `dim` into `sizes`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.Unflatten(1, [3, 4]).call(zn.zeros([2, 12])).shape; // [2, 3, 4]
 * ```
 */
export class Unflatten extends Module {
  /** The dim to split. */
  dim: number;
  /** The sizes it splits into. */
  sizes: number[];
  /** An unflatten of `dim` into `sizes`. */
  constructor(dim: number, sizes: readonly number[]) {
    super();
    checkIntArg(dim, "Unflatten", "dim");
    checkIntList(sizes, "Unflatten", "sizes");
    this.dim = dim;
    this.sizes = [...sizes];
  }
  /** Unflattens the input. */
  override forward(input: Tensor): Tensor {
    return input.unflatten(this.dim, this.sizes);
  }
  /** The module's settings. */
  override extraRepr(): string {
    return `dim=${this.dim}, sizes=[${this.sizes.join(", ")}]`;
  }
}
