/**
 * Sampling category indices from weights: {@link multinomial}.
 *
 * @module
 */
import { isFloating } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { defaultGenerator, Generator } from "../random.ts";
import { checkFlag, checkOptions, optionKeys } from "../options.ts";
import { checkIntArg, checkTensor, typeError } from "../args.ts";
import { checkShape } from "../shape.ts";
import { tensor } from "./creation.ts";

/**
 * Options of {@link multinomial}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.MultinomialOptions = { replacement: true, generator: new zn.Generator(0) };
 * zn.multinomial(zn.tensor([0.2, 0.8]), 5, opts).shape; // [5]
 * ```
 */
export interface MultinomialOptions {
  /** Draw with replacement (default false: each category at most once per row). */
  replacement?: boolean;
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

const MULTINOMIAL_KEYS = optionKeys<MultinomialOptions>({ replacement: 0, generator: 0 });

/** The largest category count (PyTorch's limit: float32 counts integers exactly up to 2^24). */
const MAX_CATEGORIES = 2 ** 24;

/**
 * Draws `numSamples` category indices from each row of non-negative
 * weights, like `torch.multinomial`: `input` is 1-D (one distribution of
 * `input.shape[0]` categories; the result has shape `[numSamples]`) or 2-D
 * (one distribution per row; the result has shape `[rows, numSamples]`).
 * The weights need not sum to 1, and the result is int64 on the input's
 * device.
 *
 * With `replacement` each draw is independent. Without it (the default), a
 * category is drawn at most once per row, each draw choosing among the
 * remaining categories in proportion to their weights (so the first column
 * follows the weights), and `numSamples` may not exceed the number of
 * categories with a nonzero weight in any row: this is a RangeError here,
 * as PyTorch's documentation requires (its CPU kernel fills such rows with
 * zero-weight categories instead).
 *
 * Errors as PyTorch's: weights that are negative, infinite or NaN
 * (`probability tensor contains either inf, nan or element < 0`), a row of
 * zeros (`invalid multinomial distribution (sum of probabilities <= 0)`),
 * an integer input, 0-d or more than 2-D input, `numSamples <= 0`, and more
 * samples than categories without replacement. The draws come from Zeno's
 * generator, so they differ from PyTorch's for the same seed.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const g = new zn.Generator(0);
 * const weights = zn.tensor([0, 10, 3, 0, 1]);
 * zn.multinomial(weights, 3, { generator: g }).sort().values.toArray(); // [1, 2, 4]
 * const rows = zn.tensor([[1, 0, 0], [0, 0, 1]]);
 * zn.multinomial(rows, 4, { replacement: true, generator: g }).toArray();
 * // [[0, 0, 0, 0], [2, 2, 2, 2]]
 * ```
 */
export function multinomial(
  input: Tensor,
  numSamples: number,
  opts?: MultinomialOptions,
): Tensor {
  const op = "multinomial";
  checkTensor(input, op);
  checkOptions(op, opts, MULTINOMIAL_KEYS);
  const replacement = opts?.replacement ?? false;
  checkFlag(op, "replacement", replacement);
  const g = opts?.generator ?? defaultGenerator;
  if (!(g instanceof Generator)) typeError(op, "generator", "a Generator", g);
  if (typeof numSamples !== "number") typeError(op, "numSamples", "an integer", numSamples);
  if (input.ndim < 1 || input.ndim > 2) {
    throw new RangeError(`${op}: prob_dist must be 1 or 2 dim, got shape [${input.shape}]`);
  }
  if (!isFloating(input.dtype)) {
    throw new TypeError(
      `${op}: multinomial only supports floating-point dtypes for input, got: ${input.dtype}`,
    );
  }
  checkIntArg(numSamples, op, "numSamples");
  if (numSamples <= 0) {
    throw new RangeError(`${op}: cannot sample n_sample <= 0 samples (numSamples=${numSamples})`);
  }
  const k = input.shape[input.ndim - 1];
  if (!replacement && numSamples > k) {
    throw new RangeError(
      `${op}: cannot sample n_sample > prob_dist.size(-1) samples without replacement (numSamples=${numSamples}, ${k} categories)`,
    );
  }
  if (k > MAX_CATEGORIES) {
    throw new RangeError(`${op}: number of categories cannot exceed 2^24, got ${k}`);
  }
  const rows = input.ndim === 2 ? input.shape[0] : 1;
  const outShape = input.ndim === 2 ? [rows, numSamples] : [numSamples];
  checkShape(outShape, op);
  const w = (input.dtype === "float64" ? input : input.to("float64"))
    .toTypedArray() as Float64Array;
  // PyTorch's checks, on the whole input first.
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (!(v >= 0 && v < Infinity)) {
      throw new RangeError(
        `${op}: probability tensor contains either \`inf\`, \`nan\` or element < 0 (got ${v})`,
      );
    }
  }
  for (let r = 0; r < rows; r++) {
    let total = 0, nonzero = 0;
    for (let j = r * k; j < (r + 1) * k; j++) {
      total += w[j];
      if (w[j] > 0) nonzero++;
    }
    if (!(total > 0)) {
      throw new RangeError(
        `${op}: invalid multinomial distribution (sum of probabilities <= 0)${
          rows > 1 ? ` in row ${r}` : ""
        }`,
      );
    }
    if (!replacement && nonzero < numSamples) {
      throw new RangeError(
        `${op}: invalid multinomial distribution (with replacement=False, not enough non-negative category to sample): ${
          rows > 1 ? `row ${r} has` : "the input has"
        } ${nonzero} nonzero weights, fewer than numSamples=${numSamples}`,
      );
    }
  }
  const out = new BigInt64Array(rows * numSamples);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * k, (r + 1) * k);
    const dst = out.subarray(r * numSamples, (r + 1) * numSamples);
    if (replacement) drawWithReplacement(row, dst, g);
    else drawWithoutReplacement(row, dst, g);
  }
  return tensor(out, { shape: outShape, device: input.device });
}

/** Independent draws: a uniform against the running sums, by binary search. */
function drawWithReplacement(w: Float64Array, out: BigInt64Array, g: Generator): void {
  const k = w.length;
  const cdf = new Float64Array(k);
  let acc = 0, last = 0;
  for (let j = 0; j < k; j++) {
    acc += w[j];
    cdf[j] = acc;
    if (w[j] > 0) last = j;
  }
  for (let s = 0; s < out.length; s++) {
    const u = g.nextFloat() * acc;
    // The first category whose running sum exceeds u: never a zero weight.
    let lo = 0, hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    out[s] = BigInt(lo < k ? lo : last);
  }
}

/**
 * Draws without replacement by exponential keys (as PyTorch does): category
 * j gets `E_j / w_j` with `E_j ~ Exp(1)`; the smallest keys, in increasing
 * order, have the law of drawing one category at a time in proportion to
 * the remaining weights.
 */
function drawWithoutReplacement(w: Float64Array, out: BigInt64Array, g: Generator): void {
  const k = w.length;
  const n = out.length;
  if (n === 1) {
    let best = -1, bestKey = Infinity;
    for (let j = 0; j < k; j++) {
      if (!(w[j] > 0)) continue;
      const key = -Math.log1p(-g.nextFloat()) / w[j];
      if (best < 0 || key < bestKey) {
        best = j;
        bestKey = key;
      }
    }
    out[0] = BigInt(best);
    return;
  }
  const idx: number[] = [];
  const keys = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    if (!(w[j] > 0)) continue;
    keys[j] = -Math.log1p(-g.nextFloat()) / w[j];
    idx.push(j);
  }
  idx.sort((a, b) => keys[a] - keys[b] || a - b);
  for (let s = 0; s < n; s++) out[s] = BigInt(idx[s]);
}
