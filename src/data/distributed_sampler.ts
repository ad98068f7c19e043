/**
 * {@link DistributedSampler}: each rank's share of a dataset, as
 * `torch.utils.data.distributed.DistributedSampler`.
 *
 * @module
 */
import { Dataset } from "./dataset.ts";
import { permutation } from "./sampling.ts";
import { Generator } from "../random.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { isInitialized } from "../distributed/process_group.ts";
import { getRank, getWorldSize } from "../distributed/process_group.ts";
import type { Sampler } from "./dataloader.ts";

/**
 * Options of {@link DistributedSampler}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.DistributedSamplerOptions = { numReplicas: 2, rank: 0, shuffle: false };
 * new zn.data.DistributedSampler(new zn.data.TensorDataset(zn.arange(10)), opts).length; // 5
 * ```
 */
export interface DistributedSamplerOptions {
  /** Ranks sharing the dataset (default: the default group's world size). */
  numReplicas?: number;
  /** This rank (default: the default group's rank). */
  rank?: number;
  /** Shuffle every epoch, the same way on every rank (default true). */
  shuffle?: boolean;
  /** The shuffle's seed, shared by all ranks (default 0). */
  seed?: number;
  /**
   * Drop the tail that does not divide evenly among the ranks (default false:
   * pad it with indices from the start, so that every rank gets as many).
   */
  dropLast?: boolean;
}

const KEYS = optionKeys<DistributedSamplerOptions>({
  numReplicas: 0,
  rank: 0,
  shuffle: 0,
  seed: 0,
  dropLast: 0,
});

/**
 * Gives rank `rank` of `numReplicas` its own, equally long share of a
 * dataset's indices: the whole order (shuffled with `seed + epoch`, the
 * same on every rank) cut into strides, index k going to rank
 * k mod numReplicas. Call {@link DistributedSampler.setEpoch} before each
 * epoch for a new order. Pass it as a {@link DataLoader}'s `sampler`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ds = new zn.data.TensorDataset(zn.arange(10));
 * const sampler = new zn.data.DistributedSampler(ds, { numReplicas: 3, rank: 1, shuffle: false });
 * [...sampler]; // [1, 4, 7, 0]: 10 indices padded to 12, every third from 1
 * const loader = new zn.data.DataLoader(ds, { sampler, batchSize: 2 });
 * for (let epoch = 0; epoch < 2; epoch++) {
 *   sampler.setEpoch(epoch);
 *   for (const [x] of loader) x.shape; // [2]
 * }
 * ```
 */
export class DistributedSampler implements Sampler {
  /** Ranks sharing the dataset. */
  readonly numReplicas: number;
  /** This rank. */
  readonly rank: number;
  /** Whether every epoch is shuffled. */
  readonly shuffle: boolean;
  /** The shuffle's seed. */
  readonly seed: number;
  /** Whether the uneven tail is dropped. */
  readonly dropLast: boolean;
  /** Indices this rank gets per epoch. */
  readonly length: number;
  /** Indices all ranks get per epoch together. */
  readonly totalSize: number;
  #size: number;
  #epoch = 0;

  /** A sampler over `dataset` for one rank. */
  constructor(dataset: Dataset<unknown>, opts: DistributedSamplerOptions = {}) {
    const op = "DistributedSampler";
    checkOptions(op, opts, KEYS);
    if (!(dataset instanceof Dataset)) throw new TypeError(`${op}: expected a map-style Dataset`);
    const replicas = opts.numReplicas ?? (isInitialized() ? getWorldSize() : undefined);
    const rank = opts.rank ?? (isInitialized() ? getRank() : undefined);
    if (replicas === undefined || rank === undefined) {
      throw new Error(
        `${op}: numReplicas and rank default to the process group's, which is not initialized; call zn.distributed.initProcessGroup() or pass both`,
      );
    }
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new RangeError(`${op}: numReplicas must be a positive integer, got ${replicas}`);
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= replicas) {
      throw new RangeError(`${op}: rank must be an integer in [0, ${replicas}), got ${rank}`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new TypeError(`${op}: seed must be an integer, got ${seed}`);
    this.numReplicas = replicas;
    this.rank = rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = seed;
    this.dropLast = opts.dropLast ?? false;
    this.#size = dataset.length;
    const n = this.#size;
    this.length = this.dropLast && n % replicas !== 0
      ? Math.ceil((n - replicas) / replicas)
      : Math.ceil(n / replicas);
    this.totalSize = this.length * replicas;
  }

  /**
   * Sets the epoch whose order the next iteration gives (`seed + epoch`
   * seeds the shuffle): call it with the same epoch on every rank.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const s = new zn.data.DistributedSampler(new zn.data.TensorDataset(zn.arange(8)), { numReplicas: 2, rank: 0 });
   * s.setEpoch(1);
   * ```
   */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(
        `DistributedSampler.setEpoch: epoch must be a non-negative integer, got ${epoch}`,
      );
    }
    this.#epoch = epoch;
  }

  /** This rank's indices of the current epoch. */
  *[Symbol.iterator](): Iterator<number> {
    const n = this.#size;
    let order = this.shuffle
      ? permutation(n, new Generator(this.seed + this.#epoch))
      : Array.from({ length: n }, (_, i) => i);
    if (this.totalSize > n) {
      // Pad with indices from the start (repeated as often as needed).
      const pad: number[] = [];
      while (order.length + pad.length < this.totalSize) {
        pad.push(...order.slice(0, this.totalSize - order.length - pad.length));
      }
      order = order.concat(pad);
    } else order = order.slice(0, this.totalSize);
    for (let k = this.rank; k < this.totalSize; k += this.numReplicas) yield order[k];
  }
}
