/**
 * CosineSimilarity and PairwiseDistance modules (src/ops/distance.ts).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import { checkOptions } from "../options.ts";
import {
  cosineSimilarity,
  type CosineSimilarityOptions,
  pairwiseDistance,
  type PairwiseDistanceOptions,
} from "../ops/distance.ts";

/**
 * Cosine similarity of two inputs along `dim` (default 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.CosineSimilarity().call(zn.tensor([[1, 0]]), zn.tensor([[2, 0]])).toArray(); // [1]
 * ```
 */
export class CosineSimilarity extends Module {
  /** The options as given (dim 1, eps 1e-8 by default). */
  readonly options: CosineSimilarityOptions;
  /** A cosine similarity. */
  constructor(opts: CosineSimilarityOptions = {}) {
    checkOptions("CosineSimilarity", opts, ["dim", "eps"]);
    super();
    this.options = { ...opts };
  }
  /** The similarity of `x1` and `x2`. */
  override forward(x1: Tensor, x2: Tensor): Tensor {
    return cosineSimilarity(x1, x2, this.options);
  }
}

/**
 * The p-norm distance of `x1 - x2 + eps` along the last dim.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.PairwiseDistance({ eps: 0 }).call(zn.tensor([[0, 0]]), zn.tensor([[3, 4]])).toArray(); // [5]
 * ```
 */
export class PairwiseDistance extends Module {
  /** The options as given (p 2, eps 1e-6, no keepdim by default). */
  readonly options: PairwiseDistanceOptions;
  /** A pairwise distance. */
  constructor(opts: PairwiseDistanceOptions = {}) {
    checkOptions("PairwiseDistance", opts, ["p", "eps", "keepdim"]);
    super();
    this.options = { ...opts };
  }
  /** The distance of `x1` and `x2`. */
  override forward(x1: Tensor, x2: Tensor): Tensor {
    return pairwiseDistance(x1, x2, this.options);
  }
}
