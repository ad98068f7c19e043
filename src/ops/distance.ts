/**
 * Distances and similarities: cdist, cosineSimilarity, pairwiseDistance,
 * composed from elementwise ops, reductions and matmul.
 *
 * @module
 */
import { fmtShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { checkFloatTensor, checkNumber, checkTensor } from "../args.ts";
import { checkOptions } from "../options.ts";
import { add, clamp, div, mul, sub } from "./elementwise.ts";
import { norm, sum } from "./reduce.ts";
import { sqrt } from "./unary_fns.ts";
import { unsqueeze } from "./view.ts";
import { fullPrecision } from "../amp/autocast.ts";

/**
 * The p-norm distance between each row of x1 `[..., P, M]` and each row of
 * x2 `[..., R, M]`: `[..., P, R]`, as `torch.cdist` (computed directly, not
 * through `|x|^2 + |y|^2 - 2 x.y`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cdist(zn.tensor([[0, 0]]), zn.tensor([[3, 4], [0, 1]])).toArray(); // [[5, 1]]
 * ```
 */
export function cdist(x1: Tensor, x2: Tensor, p = 2): Tensor {
  [x1, x2] = fullPrecision(x1, x2) as [Tensor, Tensor];
  checkFloatTensor(x1, "cdist", "x1");
  checkFloatTensor(x2, "cdist", "x2");
  checkNumber(p, "cdist", "p");
  if (!(p >= 0)) throw new RangeError(`cdist: p must be non-negative, got ${p}`);
  if (x1.ndim < 2 || x2.ndim < 2) {
    throw new RangeError(
      `cdist: expected x1 and x2 of at least 2 dims, got ${fmtShape(x1.shape)} and ${
        fmtShape(x2.shape)
      }`,
    );
  }
  if (x1.shape[x1.ndim - 1] !== x2.shape[x2.ndim - 1]) {
    throw new RangeError(
      `cdist: x1 and x2 must have the same number of columns, got ${fmtShape(x1.shape)} and ${
        fmtShape(x2.shape)
      }`,
    );
  }
  const diff = sub(unsqueeze(x1, -2), unsqueeze(x2, -3)); // [..., P, R, M]
  return norm(diff, p, -1);
}

/** Options of {@link cosineSimilarity}. */
export interface CosineSimilarityOptions {
  /** The dim the vectors lie along (default 1). */
  dim?: number;
  /** The smallest product of norms divided by (default 1e-8). */
  eps?: number;
}
const COSINE_KEYS = ["dim", "eps"] as const;

/**
 * Cosine similarity along `dim`: `x1 . x2 / max(|x1| |x2|, eps)`, the two
 * broadcasting, as `torch.nn.functional.cosine_similarity`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cosineSimilarity(zn.tensor([[1, 0]]), zn.tensor([[1, 1]])).item(); // 0.7071...
 * ```
 */
export function cosineSimilarity(
  x1: Tensor,
  x2: Tensor,
  opts: CosineSimilarityOptions = {},
): Tensor {
  checkTensor(x1, "cosineSimilarity", "x1");
  checkTensor(x2, "cosineSimilarity", "x2");
  checkOptions("cosineSimilarity", opts, COSINE_KEYS);
  const dim = opts.dim ?? 1, eps = opts.eps ?? 1e-8;
  checkNumber(eps, "cosineSimilarity", "eps");
  const w12 = sum(mul(x1, x2), dim);
  const w1 = sum(mul(x1, x1), dim), w2 = sum(mul(x2, x2), dim);
  return div(w12, sqrt(clamp(mul(w1, w2), eps * eps)));
}

/** Options of {@link pairwiseDistance}. */
export interface PairwiseDistanceOptions {
  /** The norm's order (default 2). */
  p?: number;
  /** Added to the differences (default 1e-6), as PyTorch does. */
  eps?: number;
  /** Keeps the reduced last dim (default false). */
  keepdim?: boolean;
}
const PAIRWISE_KEYS = ["p", "eps", "keepdim"] as const;

/**
 * The p-norm of `x1 - x2 + eps` along the last dim, as
 * `torch.nn.functional.pairwise_distance`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.pairwiseDistance(zn.tensor([[0, 0]]), zn.tensor([[3, 4]]), { eps: 0 }).toArray(); // [5]
 * ```
 */
export function pairwiseDistance(
  x1: Tensor,
  x2: Tensor,
  opts: PairwiseDistanceOptions = {},
): Tensor {
  checkTensor(x1, "pairwiseDistance", "x1");
  checkTensor(x2, "pairwiseDistance", "x2");
  checkOptions("pairwiseDistance", opts, PAIRWISE_KEYS);
  const p = opts.p ?? 2, eps = opts.eps ?? 1e-6;
  checkNumber(p, "pairwiseDistance", "p");
  checkNumber(eps, "pairwiseDistance", "eps");
  const d = add(sub(x1, x2), eps);
  return norm(d, p, d.ndim === 0 ? undefined : -1, opts.keepdim ?? false);
}
