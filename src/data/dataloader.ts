/**
 * {@link DataLoader}: batches of a dataset, in order or shuffled by a seeded
 * generator, with synchronous and prefetching asynchronous iteration.
 *
 * @module
 */
import { defaultGenerator, type Generator } from "../random.ts";
import { type Collated, defaultCollate } from "./collate.ts";
import { Dataset, IterableDataset, Subset } from "./dataset.ts";
import { permutation } from "./sampling.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link DataLoader}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ds = new zn.data.TensorDataset(zn.randn([10, 3]));
 * type Batch = [zn.Tensor];
 * const opts: zn.data.DataLoaderOptions<Batch, Batch> = { batchSize: 4, dropLast: true };
 * const loader = new zn.data.DataLoader(ds, opts);
 * loader.length; // 2
 * ```
 */
export interface DataLoaderOptions<S, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order every epoch (default false). Map-style datasets only. */
  shuffle?: boolean;
  /**
   * Random source of the shuffling (default: the global generator, seeded by
   * `zn.manualSeed`). The same seed gives the same sequence of epoch orders.
   */
  generator?: Generator;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * The dataset indices of each epoch, in order (a {@link DistributedSampler},
   * or any iterable of indices with a `length`); excludes `shuffle`.
   */
  sampler?: Sampler;
  /**
   * Builds a batch from a list of samples (default {@link defaultCollate};
   * with the default, datasets with `getBatch`, such as TensorDataset, build
   * each batch in one call).
   */
  collate?: (samples: Awaited<S>[]) => B;
  /**
   * Batches the async iterator prepares ahead of the one being consumed
   * (default 1; 0 turns prefetching off).
   */
  prefetch?: number;
}

const LOADER_KEYS = optionKeys<DataLoaderOptions<unknown, unknown>>({
  batchSize: 0,
  shuffle: 0,
  generator: 0,
  dropLast: 0,
  sampler: 0,
  collate: 0,
  prefetch: 0,
});

/**
 * The indices of one epoch, in order: what {@link DataLoaderOptions.sampler}
 * takes (PyTorch's `Sampler`), such as {@link DistributedSampler}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const everyOther: zn.data.Sampler = { length: 2, *[Symbol.iterator]() { yield 0; yield 2; } };
 * const ds = new zn.data.TensorDataset(zn.arange(4));
 * new zn.data.DataLoader(ds, { sampler: everyOther, batchSize: 2 }).length; // 1
 * ```
 */
export interface Sampler extends Iterable<number> {
  /** Indices per epoch. */
  readonly length: number;
}

function samplerOrder(sampler: Sampler, size: number): number[] {
  const order = [...sampler];
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new RangeError(
        `DataLoader: the sampler gave index ${i}, outside the dataset's [0, ${size})`,
      );
    }
  }
  return order;
}

/**
 * Batches of a dataset, like `torch.utils.data.DataLoader`. Iterate it with
 * `for..of`, or with `for await..of` to prepare the next batch ahead.
 *
 * Every iteration is one epoch. With `shuffle`, each epoch draws a new
 * permutation from the generator, so a generator seeded once gives a
 * reproducible sequence of epochs. For a {@link TensorDataset} (or a
 * Subset of one) and the default collate, a batch is gathered with one
 * `indexSelect` per tensor instead of stacking single rows.
 *
 * On prefetching: JavaScript runs on one thread, so synchronous work (the
 * gather, collating, synchronous transforms) cannot overlap a training step;
 * the async iterator only starts it earlier, before handing out the current
 * batch. What it does overlap is asynchronous work: when a dataset's `get`
 * returns a Promise (file or network reads, async decoding), the reads of
 * the next `prefetch` batches are already in flight while the current batch
 * trains, and their samples are awaited before collating.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { DataLoader, TensorDataset } = zn.data;
 * const ds = new TensorDataset(zn.randn([10, 3]), zn.arange(10));
 * const loader = new DataLoader(ds, {
 *   batchSize: 4,
 *   shuffle: true,
 *   generator: new zn.Generator(0),
 * });
 * loader.length; // 3
 * for (const [x, y] of loader) {
 *   x.shape; // [4, 3], then [4, 3], then [2, 3]
 *   y.dtype; // "int64"
 * }
 * ```
 */
export class DataLoader<S, B = Collated<Awaited<S>>> implements Iterable<B>, AsyncIterable<B> {
  /** The sampler that orders each epoch's indices, if one was given. */
  readonly sampler: Sampler | undefined;
  /** The dataset read. */
  readonly dataset: Dataset<S> | IterableDataset<S>;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether an incomplete last batch is dropped. */
  readonly dropLast: boolean;
  /** Batches prepared ahead by the async iterator. */
  readonly prefetch: number;
  /** The random source of shuffling. */
  readonly generator: Generator;
  #collate: ((samples: Awaited<S>[]) => B) | undefined;

  /** A loader over `dataset`. */
  constructor(dataset: Dataset<S> | IterableDataset<S>, opts: DataLoaderOptions<S, B> = {}) {
    checkOptions("DataLoader", opts, LOADER_KEYS);
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    const prefetch = opts.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new RangeError(`DataLoader: prefetch must be a non-negative integer, got ${prefetch}`);
    }
    if (!(dataset instanceof Dataset) && !(dataset instanceof IterableDataset)) {
      throw new TypeError("DataLoader: expected a Dataset or an IterableDataset");
    }
    if (dataset instanceof IterableDataset && opts.shuffle) {
      throw new TypeError("DataLoader: shuffle is not supported for an IterableDataset");
    }
    if (opts.sampler !== undefined) {
      const sm = opts.sampler;
      if (
        sm === null || typeof sm !== "object" ||
        typeof (sm as Sampler)[Symbol.iterator] !== "function" || !Number.isInteger(sm.length)
      ) {
        throw new TypeError("DataLoader: sampler must be an iterable of indices with a length");
      }
      if (opts.shuffle) throw new TypeError("DataLoader: sampler and shuffle exclude each other");
      if (dataset instanceof IterableDataset) {
        throw new TypeError("DataLoader: a sampler needs a map-style Dataset");
      }
    }
    this.sampler = opts.sampler;
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.prefetch = prefetch;
    this.generator = opts.generator ?? defaultGenerator;
    this.#collate = opts.collate;
  }

  /** Batches per epoch (a TypeError for an IterableDataset, which has no length). */
  get length(): number {
    const ds = this.dataset;
    if (!(ds instanceof Dataset)) {
      throw new TypeError("DataLoader: an IterableDataset has no length");
    }
    const n = this.sampler ? this.sampler.length : ds.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The index lists of one epoch's batches (a new permutation when shuffling). */
  *#indexBatches(ds: Dataset<S>): Generator_<number[]> {
    const order = this.sampler
      ? samplerOrder(this.sampler, ds.length)
      : this.shuffle
      ? permutation(ds.length, this.generator)
      : null;
    const n = order ? order.length : ds.length;
    const bs = this.batchSize;
    const end = this.dropLast ? n - (n % bs) : n;
    for (let start = 0; start < end; start += bs) {
      const stop = Math.min(start + bs, end);
      const idx = new Array<number>(stop - start);
      for (let k = start; k < stop; k++) idx[k - start] = order ? order[k] : k;
      yield idx;
    }
  }

  /** Sample lists of an iterable dataset, `batchSize` at a time. */
  *#streamBatches(ds: IterableDataset<S>): Generator_<S[]> {
    let chunk: S[] = [];
    const it = ds[Symbol.iterator]();
    for (let r = it.next(); !r.done; r = it.next()) {
      chunk.push(r.value);
      if (chunk.length === this.batchSize) {
        yield chunk;
        chunk = [];
      }
    }
    if (chunk.length > 0 && !this.dropLast) yield chunk;
  }

  #collateSamples(samples: S[]): B {
    if (samples.length > 0 && samples[0] instanceof Promise) {
      throw new TypeError("DataLoader: the dataset returns Promises; iterate with for await");
    }
    return this.#collate ? this.#collate(samples as Awaited<S>[]) : (defaultCollate(samples) as B);
  }

  /** One epoch of batches, built one at a time. */
  *[Symbol.iterator](): Iterator<B> {
    const ds = this.dataset;
    if (ds instanceof IterableDataset) {
      for (const samples of this.#streamBatches(ds)) yield this.#collateSamples(samples);
      return;
    }
    const fast = this.#collate === undefined && hasGetBatch(ds);
    for (const idx of this.#indexBatches(ds)) {
      yield fast ? ds.getBatch!(idx) as B : this.#collateSamples(idx.map((i) => ds.get(i)));
    }
  }

  /**
   * One epoch of batches, with the next `prefetch` batches started before
   * the current one is handed out; samples that are Promises are awaited.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const ds = this.dataset;
    let start: () => Promise<B> | null;
    if (ds instanceof IterableDataset) {
      const it = this.#streamBatches(ds);
      start = () => {
        const r = it.next();
        return r.done ? null : this.#settle(r.value);
      };
    } else {
      const it = this.#indexBatches(ds);
      const fast = this.#collate === undefined && hasGetBatch(ds);
      start = () => {
        const r = it.next();
        if (r.done) return null;
        if (fast) return Promise.resolve(ds.getBatch!(r.value) as B);
        return this.#settle(r.value.map((i) => ds.get(i)));
      };
    }
    const queue: Promise<B>[] = [];
    let done = false;
    const fill = (n: number) => {
      while (!done && queue.length < n) {
        const p = start();
        if (p === null) done = true;
        else {
          p.catch(() => {}); // reported when awaited below
          queue.push(p);
        }
      }
    };
    for (;;) {
      fill(1);
      if (queue.length === 0) return;
      const batch = await queue.shift()!;
      fill(this.prefetch);
      yield batch;
    }
  }

  async #settle(samples: S[]): Promise<B> {
    const ready = samples.some((s) => s instanceof Promise) ? await Promise.all(samples) : samples;
    return this.#collateSamples(ready as S[]);
  }
}

type Generator_<T> = globalThis.Generator<T, void, undefined>;

/** Whether `dataset.getBatch` is usable (a Subset forwards to its dataset's). */
function hasGetBatch(dataset: Dataset<unknown>): boolean {
  if (dataset instanceof Subset) return hasGetBatch(dataset.dataset);
  return typeof dataset.getBatch === "function";
}
