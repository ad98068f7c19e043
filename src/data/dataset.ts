/**
 * Datasets: indexable ({@link Dataset}) and streamed ({@link IterableDataset})
 * sources of samples, with {@link TensorDataset}, {@link Subset},
 * {@link ConcatDataset} and {@link randomSplit}.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkArray, typeError } from "../args.ts";
import { indexTensor, permutation } from "./sampling.ts";

/**
 * A map-style dataset: `length` samples, fetched by index with `get(i)`, like
 * `torch.utils.data.Dataset` (`__len__` and `__getitem__`).
 *
 * A dataset may also implement `getBatch(indices)`, returning the batch that
 * the default collate would build from those samples; {@link DataLoader}
 * then calls it once per batch instead of `get` per sample (as
 * {@link TensorDataset} does with one `indexSelect` per tensor).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { Dataset } = zn.data;
 * class Squares extends Dataset<number> {
 *   get length(): number {
 *     return 10;
 *   }
 *   get(i: number): number {
 *     return i * i;
 *   }
 * }
 * new Squares().get(3); // 9
 * ```
 */
export abstract class Dataset<T> {
  /** Number of samples. */
  abstract get length(): number;
  /** The sample at index `i` (0 <= i < length). */
  abstract get(i: number): T;
  /**
   * Optional fast path: the collated batch of the samples at `indices`
   * (what `defaultCollate(indices.map((i) => this.get(i)))` would give).
   */
  getBatch?(indices: readonly number[]): unknown;

  /** Iterates over the samples in index order. */
  *[Symbol.iterator](): IterableIterator<T> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.get(i);
  }
}

/**
 * A dataset read as a stream, like `torch.utils.data.IterableDataset`:
 * subclasses implement `[Symbol.iterator]`. {@link DataLoader} batches it in
 * stream order; it has no length and cannot be shuffled.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { IterableDataset } = zn.data;
 * const evens = IterableDataset.from(function* () {
 *   for (let i = 0; i < 6; i += 2) yield i;
 * });
 * [...evens]; // [0, 2, 4]
 * ```
 */
export abstract class IterableDataset<T> {
  /** A fresh iterator over the samples (called once per epoch). */
  abstract [Symbol.iterator](): Iterator<T>;

  /**
   * An iterable dataset over `source`: an iterable (a generator object can be
   * read only once), or a function returning a new iterable per epoch.
   */
  static from<T>(source: Iterable<T> | (() => Iterable<T>)): IterableDataset<T> {
    return new FromIterable(source);
  }
}

class FromIterable<T> extends IterableDataset<T> {
  #source: Iterable<T> | (() => Iterable<T>);
  constructor(source: Iterable<T> | (() => Iterable<T>)) {
    super();
    this.#source = source;
  }
  override [Symbol.iterator](): Iterator<T> {
    const s = this.#source;
    return (typeof s === "function" ? s() : s)[Symbol.iterator]();
  }
}

/** Throws a TypeError unless `d` looks like a map-style dataset (an object with a numeric length). */
function checkDataset(d: unknown, op: string, name: string): asserts d is Dataset<unknown> {
  if (
    typeof d !== "object" || d === null || typeof (d as { length?: unknown }).length !== "number" ||
    typeof (d as { get?: unknown }).get !== "function"
  ) {
    typeError(op, name, "a Dataset", d);
  }
}

/** Normalises a possibly negative index, throwing a RangeError when out of range. */
function checkIndex(i: number, n: number, what: string): number {
  if (!Number.isInteger(i)) throw new TypeError(`${what}: index must be an integer, got ${i}`);
  const j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) {
    throw new RangeError(`${what}: index ${i} is out of range for length ${n}`);
  }
  return j;
}

/**
 * The sample type of a TensorDataset: one row of each tensor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ds = new zn.data.TensorDataset(zn.randn([5, 3]), zn.zeros([5]));
 * const row: zn.data.TensorRows<[zn.Tensor, zn.Tensor]> = ds.get(0);
 * [row[0].shape, row[1].shape]; // [[3], []]
 * ```
 */
export type TensorRows<T extends readonly Tensor[]> = { [K in keyof T]: Tensor };

/**
 * A dataset of tensors that share their first dim; sample `i` is the tuple of
 * row `i` of each, like `torch.utils.data.TensorDataset`. Batches come from
 * one `indexSelect` per tensor ({@link TensorDataset.getBatch}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { TensorDataset } = zn.data;
 * const ds = new TensorDataset(zn.randn([5, 3]), zn.tensor([0n, 1n, 0n, 1n, 1n]));
 * ds.length; // 5
 * const [x, y] = ds.get(1);
 * x.shape; // [3]
 * y.item(); // 1
 * ```
 */
export class TensorDataset<T extends readonly Tensor[] = Tensor[]> extends Dataset<TensorRows<T>> {
  /** The tensors, each with `length` rows. */
  readonly tensors: T;

  /** A dataset over `tensors`, which must all have the same size of dim 0. */
  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new TypeError("TensorDataset: expected at least one tensor");
    for (const t of tensors) {
      if (!(t instanceof Tensor)) throw new TypeError("TensorDataset: expected tensors");
      if (t.ndim === 0) throw new RangeError("TensorDataset: tensors must have at least one dim");
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new RangeError(
          `TensorDataset: size mismatch between tensors (${tensors[0].shape[0]} vs ${
            t.shape[0]
          } rows)`,
        );
      }
    }
    this.tensors = tensors;
  }

  /** Number of rows. */
  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Row `i` of each tensor (views, negative `i` counts from the end). */
  get(i: number): TensorRows<T> {
    const j = checkIndex(i, this.length, "TensorDataset.get");
    return this.tensors.map((t) => t.select(0, j)) as unknown as TensorRows<T>;
  }

  /** Rows `indices` of each tensor, gathered by one `indexSelect` per tensor. */
  override getBatch(indices: readonly number[]): TensorRows<T> {
    const n = this.length;
    const norm = indices.map((i) => checkIndex(i, n, "TensorDataset.getBatch"));
    const idx = indexTensor(norm);
    return this.tensors.map((t) => t.indexSelect(0, idx)) as unknown as TensorRows<T>;
  }
}

/**
 * The samples of `dataset` at `indices`, like `torch.utils.data.Subset`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { Subset, TensorDataset } = zn.data;
 * const ds = new TensorDataset(zn.arange(10));
 * const sub = new Subset(ds, [7, 2]);
 * sub.get(0)[0].item(); // 7
 * ```
 */
export class Subset<T> extends Dataset<T> {
  /** The dataset indexed into. */
  readonly dataset: Dataset<T>;
  /** The indices of `dataset` that make up this subset. */
  readonly indices: readonly number[];

  /** A view of `dataset` at `indices`. */
  constructor(dataset: Dataset<T>, indices: readonly number[]) {
    super();
    this.dataset = dataset;
    this.indices = indices;
  }

  /** Number of indices. */
  get length(): number {
    return this.indices.length;
  }

  /** The sample `dataset.get(indices[i])`. */
  get(i: number): T {
    return this.dataset.get(this.indices[checkIndex(i, this.indices.length, "Subset.get")]);
  }

  /** The batch at `indices` of the subset, through the dataset's own `getBatch`. */
  override getBatch(indices: readonly number[]): unknown {
    if (!this.dataset.getBatch) throw new TypeError("Subset.getBatch: the dataset has no getBatch");
    const n = this.indices.length;
    return this.dataset.getBatch(indices.map((i) => this.indices[checkIndex(i, n, "Subset")]));
  }
}

/**
 * Several datasets one after another, like `torch.utils.data.ConcatDataset`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { ConcatDataset, TensorDataset } = zn.data;
 * const a = new TensorDataset(zn.zeros([3, 2]));
 * const b = new TensorDataset(zn.ones([2, 2]));
 * const both = new ConcatDataset([a, b]);
 * both.length; // 5
 * both.get(4)[0].toArray(); // [1, 1]
 * ```
 */
export class ConcatDataset<T> extends Dataset<T> {
  /** The datasets, in order. */
  readonly datasets: readonly Dataset<T>[];
  /** Running totals of the datasets' lengths. */
  readonly cumulativeSizes: readonly number[];

  /** The concatenation of `datasets` (at least one). */
  constructor(datasets: readonly Dataset<T>[]) {
    super();
    checkArray(datasets, "ConcatDataset", "datasets");
    if (datasets.length === 0) throw new TypeError("ConcatDataset: datasets should not be empty");
    for (const d of datasets) checkDataset(d, "ConcatDataset", "each of datasets");
    this.datasets = datasets;
    let s = 0;
    this.cumulativeSizes = datasets.map((d) => (s += d.length));
  }

  /** Sum of the datasets' lengths. */
  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  /** Sample `i` of the concatenation. */
  get(i: number): T {
    const j = checkIndex(i, this.length, "ConcatDataset.get");
    const cs = this.cumulativeSizes;
    let lo = 0, hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cs[mid] > j) hi = mid;
      else lo = mid + 1;
    }
    return this.datasets[lo].get(lo === 0 ? j : j - cs[lo - 1]);
  }
}

/**
 * Options of {@link randomSplit}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ds = new zn.data.TensorDataset(zn.arange(10));
 * const opts: zn.data.RandomSplitOptions = { generator: new zn.Generator(1) };
 * zn.data.randomSplit(ds, [8, 2], opts).map((s) => s.length); // [8, 2]
 * ```
 */
export interface RandomSplitOptions {
  /** Random source of the permutation (default: the global generator). */
  generator?: Generator;
}

/**
 * Splits `dataset` at random into disjoint subsets of the given lengths, or
 * fractions summing to 1, like `torch.utils.data.random_split`. Fractions
 * are rounded as PyTorch does: each length is `floor(n * fraction)`, then
 * the remainder is handed out one by one to the subsets in order.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { randomSplit, TensorDataset } = zn.data;
 * const ds = new TensorDataset(zn.arange(10));
 * const [train, val, test] = randomSplit(ds, [0.7, 0.15, 0.15], {
 *   generator: new zn.Generator(42),
 * });
 * [train.length, val.length, test.length]; // [8, 1, 1]
 * ```
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  opts: RandomSplitOptions = {},
): Subset<T>[] {
  checkDataset(dataset, "randomSplit", "dataset");
  checkArray(lengths, "randomSplit", "lengths");
  checkOptions("randomSplit", opts, optionKeys<RandomSplitOptions>({ generator: 0 }));
  const n = dataset.length;
  let sizes = lengths.slice();
  const total = sizes.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) <= 1e-9 * Math.max(1, Math.abs(total)) && total <= 1) {
    for (const f of sizes) {
      if (!(f >= 0 && f <= 1)) throw new RangeError(`randomSplit: fraction ${f} is not in [0, 1]`);
    }
    sizes = sizes.map((f) => Math.floor(n * f));
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] += 1;
  }
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`randomSplit: lengths must be non-negative integers, got ${s}`);
    }
  }
  if (sizes.reduce((a, b) => a + b, 0) !== n) {
    throw new RangeError(
      "randomSplit: sum of input lengths does not equal the length of the input dataset!",
    );
  }
  const perm = permutation(n, opts.generator ?? defaultGenerator);
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const s of sizes) {
    out.push(new Subset(dataset, perm.slice(offset, offset + s)));
    offset += s;
  }
  return out;
}
