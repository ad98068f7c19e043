/**
 * Filters and samplers for next-token logits, with the semantics of Hugging
 * Face's `TemperatureLogitsWarper`, `TopKLogitsWarper` and
 * `TopPLogitsWarper`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { isFloating } from "../dtype.ts";
import { Generator } from "../random.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntArg, checkTensor, typeError } from "../args.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { multinomial } from "../ops/multinomial.ts";
import { arange, zeros } from "../ops/creation.ts";

/**
 * Options of {@link topKFilter} and {@link topPFilter}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.sampling.FilterOptions = { minTokensToKeep: 2, filterValue: -1e9 };
 * zn.sampling.topKFilter(zn.tensor([1, 3, 2]), 1, opts).toArray(); // [-1e9, 3, 2]
 * ```
 */
export interface FilterOptions {
  /** The fewest tokens kept per row, whatever `k` or `p` say (default 1). */
  minTokensToKeep?: number;
  /** The value filtered logits get (default -Infinity). */
  filterValue?: number;
}

/**
 * Options of {@link sampleLogits}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.sampling.SampleLogitsOptions = {
 *   temperature: 0.8,
 *   topK: 50,
 *   topP: 0.95,
 *   generator: new zn.Generator(0),
 * };
 * zn.sampling.sampleLogits(zn.randn([2, 100]), opts).shape; // [2]
 * ```
 */
export interface SampleLogitsOptions {
  /**
   * Divides the logits before filtering (default 1). Must be positive, or 0
   * for greedy decoding (the argmax, first of ties; `topK`, `topP` and the
   * generator are then unused).
   */
  temperature?: number;
  /** Keep only the `topK` largest logits per row (ties at the k-th kept); 0 or unset: no filter. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches `topP`, in (0, 1]; 1 or unset: no filter. */
  topP?: number;
  /** The fewest tokens the filters keep per row (default 1). */
  minTokensToKeep?: number;
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

const FILTER_KEYS = optionKeys<FilterOptions>({ minTokensToKeep: 0, filterValue: 0 });
const SAMPLE_KEYS = optionKeys<SampleLogitsOptions>({
  temperature: 0,
  topK: 0,
  topP: 0,
  minTokensToKeep: 0,
  generator: 0,
});

function checkLogits(logits: unknown, op: string): asserts logits is Tensor {
  checkTensor(logits, op, "logits");
  if (logits.isDisposed) typeError(op, "logits", "a live Tensor", logits);
  if (logits.ndim < 1) {
    throw new RangeError(
      `${op}: expected logits with at least one dim (the vocabulary), got a 0-d tensor`,
    );
  }
  if (!isFloating(logits.dtype)) {
    throw new TypeError(`${op}: expected floating point logits, got ${logits.dtype}`);
  }
}

function filterArgs(op: string, opts: FilterOptions | undefined): [number, number] {
  checkOptions(op, opts, FILTER_KEYS);
  const minKeep = opts?.minTokensToKeep ?? 1;
  checkIntArg(minKeep, op, "minTokensToKeep", 1);
  const value = opts?.filterValue ?? -Infinity;
  if (typeof value !== "number") typeError(op, "filterValue", "a number", value);
  return [minKeep, value];
}

/**
 * Keeps the `k` largest logits along the last dim and sets the others to
 * `filterValue` (default -Infinity), as Hugging Face's `TopKLogitsWarper`:
 * every logit below the k-th largest is filtered, so ties with the k-th are
 * all kept; `k` is raised to `minTokensToKeep` (default 1) and capped at the
 * vocabulary size. Differentiable (a masked fill).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sampling.topKFilter(zn.tensor([1, 4, 2, 4]), 1).toArray(); // [-Infinity, 4, -Infinity, 4]
 * zn.sampling.topKFilter(zn.tensor([[1, 3, 2]]), 2).toArray(); // [[-Infinity, 3, 2]]
 * ```
 */
export function topKFilter(logits: Tensor, k: number, opts?: FilterOptions): Tensor {
  const op = "topKFilter";
  checkLogits(logits, op);
  if (typeof k !== "number") typeError(op, "k", "a positive integer", k);
  checkIntArg(k, op, "k", 1);
  const [minKeep, filterValue] = filterArgs(op, opts);
  const vocab = logits.shape[logits.ndim - 1];
  const kk = Math.min(Math.max(k, minKeep), vocab);
  if (vocab === 0) return logits.clone();
  const remove = noGrad(() => {
    const x = logits.detach();
    const kth = x.topk(kk, -1).values.narrow(-1, kk - 1, 1);
    return x.lt(kth);
  });
  return logits.maskedFill(remove, filterValue);
}

/**
 * Nucleus filtering: keeps the smallest set of largest logits whose
 * softmax probabilities sum to more than `p` along the last dim and sets
 * the others to `filterValue` (default -Infinity), as Hugging Face's
 * `TopPLogitsWarper`: the logits are sorted ascending (stable, so among
 * equal logits the lower index goes first), a token is filtered when the
 * cumulative probability up to and including it is `<= 1 - p`, and the
 * `minTokensToKeep` (default 1) largest are always kept. `p` lies in
 * [0, 1]. Differentiable (a masked fill).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logits = zn.tensor([0.5, 0.2, 0.3]).log(); // probabilities 0.5, 0.2, 0.3
 * zn.sampling.topPFilter(logits, 0.6).exp().toArray(); // [0.5, 0, 0.3]
 * ```
 */
export function topPFilter(logits: Tensor, p: number, opts?: FilterOptions): Tensor {
  const op = "topPFilter";
  checkLogits(logits, op);
  if (typeof p !== "number") typeError(op, "p", "a number in [0, 1]", p);
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`${op}: expected p in [0, 1], got ${p}`);
  }
  const [minKeep, filterValue] = filterArgs(op, opts);
  const vocab = logits.shape[logits.ndim - 1];
  if (vocab === 0) return logits.clone();
  const remove = noGrad(() => {
    const x = logits.detach();
    const { values, indices } = x.sort(-1, false);
    const cum = values.softmax(-1).cumsum(-1);
    let sortedRemove = cum.le(1 - p);
    const keep = Math.min(minKeep, vocab);
    // The last `keep` (largest) sorted positions stay.
    sortedRemove = sortedRemove.logicalAnd(arange(vocab, { device: x.device }).lt(vocab - keep));
    return zeros(x.shape, { dtype: "bool", device: x.device }).scatter(-1, indices, sortedRemove);
  });
  return logits.maskedFill(remove, filterValue);
}

/**
 * Draws one token id per row of next-token `logits` (shape `[..., vocab]`),
 * as Hugging Face's sampling step: the logits are divided by `temperature`,
 * filtered by `topK` then `topP` ({@link topKFilter}, {@link topPFilter}),
 * turned into probabilities by a softmax, and one id is drawn per row by
 * {@link multinomial}. Returns int64 ids of shape `logits.shape[:-1]`
 * (0-d for 1-D logits). `temperature: 0` gives greedy decoding (argmax).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const g = new zn.Generator(0);
 * const logits = zn.tensor([[2.0, 1.0, 0.1, -1.0], [0.0, 0.0, 5.0, 0.0]]);
 * const ids = zn.sampling.sampleLogits(logits, { topK: 2, temperature: 0.7, generator: g });
 * [ids.dtype, ids.shape]; // ["int64", [2]]
 * zn.sampling.sampleLogits(logits, { temperature: 0 }).toArray(); // [0, 2]
 * ```
 */
export function sampleLogits(logits: Tensor, opts?: SampleLogitsOptions): Tensor {
  const op = "sampleLogits";
  checkLogits(logits, op);
  checkOptions(op, opts, SAMPLE_KEYS);
  const temperature = opts?.temperature ?? 1;
  if (typeof temperature !== "number") typeError(op, "temperature", "a number", temperature);
  if (!(temperature >= 0 && temperature < Infinity)) {
    throw new RangeError(
      `${op}: expected temperature to be a positive number (or 0 for greedy decoding), got ${temperature}`,
    );
  }
  const topK = opts?.topK ?? 0;
  if (typeof topK !== "number") typeError(op, "topK", "an integer", topK);
  checkIntArg(topK, op, "topK", 0);
  const topP = opts?.topP ?? 1;
  if (typeof topP !== "number") typeError(op, "topP", "a number", topP);
  if (!(topP > 0 && topP <= 1)) {
    throw new RangeError(`${op}: expected topP in (0, 1], got ${topP}`);
  }
  const minTokensToKeep = opts?.minTokensToKeep ?? 1;
  checkIntArg(minTokensToKeep, op, "minTokensToKeep", 1);
  const g = opts?.generator;
  if (g !== undefined && !(g instanceof Generator)) typeError(op, "generator", "a Generator", g);
  const vocab = logits.shape[logits.ndim - 1];
  if (vocab === 0) throw new RangeError(`${op}: the vocabulary (last dim of logits) is empty`);
  const lead = logits.shape.slice(0, -1);
  return noGrad(() => {
    let x = logits.detach();
    if (temperature === 0) return x.argmax(-1);
    if (temperature !== 1) x = x.div(temperature);
    if (topK > 0) x = topKFilter(x, topK, { minTokensToKeep });
    if (topP < 1) x = topPFilter(x, topP, { minTokensToKeep });
    const probs = x.softmax(-1).reshape(-1, vocab);
    if (probs.shape[0] === 0) return zeros(lead, { dtype: "int64", device: logits.device });
    return multinomial(probs, 1, { generator: g }).reshape(lead);
  });
}
