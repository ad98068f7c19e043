/**
 * `zn.nn.utils.rnn`: padded and packed batches of sequences of different
 * lengths for the recurrent layers, with PyTorch's layout: a
 * {@link PackedSequence} holds the steps of every sequence time-major, each
 * step's batch holding only the sequences still running (longest first).
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { padSequence, packPaddedSequence, padPackedSequence } = zn.nn.utils.rnn;
 * const padded = padSequence([zn.ones([3, 2]), zn.ones([1, 2])]); // [3, 2, 2]
 * const packed = packPaddedSequence(padded, [3, 1]);
 * packed.batchSizes.toArray(); // [2n, 1n, 1n]
 * const [back, lengths] = padPackedSequence(packed); // the padded batch and [3n, 1n]
 * ```
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { full, tensor } from "../../ops/creation.ts";
import { cat, stack } from "../../ops/join.ts";
import { indexSelect } from "../../ops/indexing.ts";
import { fmtShape } from "../../shape.ts";
import { isFloating, isIntegral } from "../../dtype.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { batchSizeList, setBatchSizeList } from "./packed_sizes.ts";
import { checkArray, checkNumber, checkTensor, describe, typeError } from "../../args.ts";

/**
 * A batch of sequences of different lengths, packed time-major: `data` holds
 * step 0 of every sequence, then step 1 of those longer than 1, and so on,
 * with `batchSizes[t]` rows for step `t`. The sequences are ordered longest
 * first; when the batch was given in another order, `sortedIndices` maps the
 * packed order to the original batch and `unsortedIndices` back. Made by
 * {@link packPaddedSequence} or {@link packSequence}; the recurrent layers
 * take and return it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const packed = zn.nn.utils.rnn.packSequence([zn.ones([2, 3]), zn.ones([4, 3])], {
 *   enforceSorted: false,
 * });
 * packed.data.shape; // [6, 3]
 * packed.batchSizes.toArray(); // [2n, 2n, 1n, 1n]
 * packed.sortedIndices!.toArray(); // [1n, 0n]
 * ```
 */
export class PackedSequence {
  /** The packed steps, `[sum(batchSizes), *]`. */
  readonly data: Tensor;
  /** The batch size of each step (int64, CPU, non-increasing). */
  readonly batchSizes: Tensor;
  /** The original batch index of each packed column (int64), or null when the batch was sorted. */
  readonly sortedIndices: Tensor | null;
  /** The packed column of each original batch entry (int64), or null when the batch was sorted. */
  readonly unsortedIndices: Tensor | null;

  /**
   * Wraps packed `data` with its `batchSizes` (a 1-D integer tensor or an
   * array of positive, non-increasing sizes summing to `data.shape[0]`) and
   * optionally the sorting permutation; `unsortedIndices` defaults to the
   * inverse of `sortedIndices`.
   */
  constructor(
    data: Tensor,
    batchSizes: Tensor | readonly number[],
    sortedIndices: Tensor | null = null,
    unsortedIndices: Tensor | null = null,
  ) {
    const op = "PackedSequence";
    checkTensor(data, op, "data");
    if (data.isDisposed) throw new Error(`${op}: data is a disposed Tensor`);
    if (data.ndim === 0) throw new RangeError(`${op}: data must have at least 1 dimension`);
    const sizes = intValues(batchSizes, op, "batchSizes");
    if (sizes.length === 0) throw new RangeError(`${op}: batchSizes must not be empty`);
    let total = 0;
    for (let t = 0; t < sizes.length; t++) {
      if (sizes[t] < 1 || (t > 0 && sizes[t] > sizes[t - 1])) {
        throw new RangeError(
          `${op}: batchSizes must be positive and non-increasing, got [${sizes.join(", ")}]`,
        );
      }
      total += sizes[t];
    }
    if (total !== data.shape[0]) {
      throw new RangeError(
        `${op}: batchSizes sum to ${total}, but data has ${data.shape[0]} rows (shape ${
          fmtShape(data.shape)
        })`,
      );
    }
    const batch = sizes[0];
    let sorted: Tensor | null = null, unsorted: Tensor | null = null;
    if (sortedIndices !== null && sortedIndices !== undefined) {
      const perm = permutation(sortedIndices, batch, op, "sortedIndices");
      sorted = sortedIndices;
      if (unsortedIndices === null || unsortedIndices === undefined) {
        unsorted = indexTensor(inverse(perm), data.device);
      } else {
        const inv = permutation(unsortedIndices, batch, op, "unsortedIndices");
        if (perm.some((p, i) => inv[p] !== i)) {
          throw new RangeError(`${op}: unsortedIndices must be the inverse of sortedIndices`);
        }
        unsorted = unsortedIndices;
      }
    } else if (unsortedIndices !== null && unsortedIndices !== undefined) {
      throw new TypeError(`${op}: unsortedIndices given without sortedIndices`);
    }
    this.data = data;
    this.batchSizes = batchSizes instanceof Tensor && batchSizes.dtype === "int64" &&
        batchSizes.device === "cpu" && batchSizes.ndim === 1
      ? batchSizes
      : indexTensor(sizes, "cpu");
    this.sortedIndices = sorted;
    this.unsortedIndices = unsorted;
    setBatchSizeList(this, sizes);
  }

  /** A short description. */
  toString(): string {
    return `PackedSequence(data=[${this.data.shape.join(", ")}], batchSizes=[${
      batchSizeList(this).join(", ")
    }]${this.sortedIndices ? ", unsorted" : ""})`;
  }
}

/**
 * Options of {@link padSequence}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.utils.rnn.PadSequenceOptions = { batchFirst: true, paddingSide: "left" };
 * zn.nn.utils.rnn.padSequence([zn.ones([1]), zn.ones([2])], opts).toArray(); // [[0, 1], [1, 1]]
 * ```
 */
export interface PadSequenceOptions {
  /** Put the batch first, `[B, T, *]` (default false: `[T, B, *]`). */
  batchFirst?: boolean;
  /** The value of the padding (default 0). */
  paddingValue?: number;
  /** Pad after each sequence ("right", the default) or before it ("left"). */
  paddingSide?: "right" | "left";
}

/**
 * Options of {@link packPaddedSequence}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.utils.rnn.PackPaddedSequenceOptions = { batchFirst: true, enforceSorted: false };
 * zn.nn.utils.rnn.packPaddedSequence(zn.ones([2, 3, 4]), [1, 3], opts).data.shape; // [4, 4]
 * ```
 */
export interface PackPaddedSequenceOptions {
  /** The input is `[B, T, *]` (default false: `[T, B, *]`). */
  batchFirst?: boolean;
  /** Require lengths sorted longest first (default true); false sorts them. */
  enforceSorted?: boolean;
}

/**
 * Options of {@link padPackedSequence}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const packed = zn.nn.utils.rnn.packSequence([zn.ones([2]), zn.ones([1])]);
 * const opts: zn.nn.utils.rnn.PadPackedSequenceOptions = { totalLength: 4, paddingValue: -1 };
 * zn.nn.utils.rnn.padPackedSequence(packed, opts)[0].toArray(); // [[1, 1], [1, -1], [-1, -1], [-1, -1]]
 * ```
 */
export interface PadPackedSequenceOptions {
  /** Return `[B, T, *]` (default false: `[T, B, *]`). */
  batchFirst?: boolean;
  /** The value of the padding (default 0). */
  paddingValue?: number;
  /** Pad to this many steps (default: the longest sequence); at least the longest length. */
  totalLength?: number | null;
}

/**
 * Options of {@link packSequence}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.utils.rnn.PackSequenceOptions = { enforceSorted: false };
 * zn.nn.utils.rnn.packSequence([zn.ones([1]), zn.ones([2])], opts).batchSizes.toArray(); // [2n, 1n]
 * ```
 */
export interface PackSequenceOptions {
  /** Require the sequences sorted longest first (default true); false sorts them. */
  enforceSorted?: boolean;
}

const PAD_SEQUENCE_KEYS = optionKeys<PadSequenceOptions>({
  batchFirst: 0,
  paddingValue: 0,
  paddingSide: 0,
});
const PACK_PADDED_KEYS = optionKeys<PackPaddedSequenceOptions>({
  batchFirst: 0,
  enforceSorted: 0,
});
const PAD_PACKED_KEYS = optionKeys<PadPackedSequenceOptions>({
  batchFirst: 0,
  paddingValue: 0,
  totalLength: 0,
});
const PACK_SEQUENCE_KEYS = optionKeys<PackSequenceOptions>({ enforceSorted: 0 });

/**
 * Pads a list of sequences `[L_i, *]` (the same trailing shape) to the
 * longest length and stacks them: `[T, B, *]`, or `[B, T, *]` with
 * `batchFirst`. Gradients flow back to each sequence.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([1, 2, 3]), b = zn.tensor([4]);
 * zn.nn.utils.rnn.padSequence([a, b], { batchFirst: true }).toArray(); // [[1, 2, 3], [4, 0, 0]]
 * ```
 */
export function padSequence(
  sequences: readonly Tensor[],
  opts: PadSequenceOptions = {},
): Tensor {
  const op = "padSequence";
  checkOptions(op, opts, PAD_SEQUENCE_KEYS);
  checkSequences(sequences, op);
  const batchFirst = flag(opts.batchFirst, false, op, "batchFirst");
  const value = opts.paddingValue ?? 0;
  checkNumber(value, op, "paddingValue");
  const side = opts.paddingSide ?? "right";
  if (side !== "right" && side !== "left") {
    throw new TypeError(
      `${op}: paddingSide must be "right" or "left", got ${describe(side)}`,
    );
  }
  const first = sequences[0];
  const maxLen = Math.max(...sequences.map((s) => s.shape[0]));
  const padded = sequences.map((s0) => {
    const s = s0.dtype === first.dtype ? s0 : s0.to(first.dtype);
    const missing = maxLen - s.shape[0];
    if (missing === 0) return s;
    const pad = full([missing, ...s.shape.slice(1)], value, {
      dtype: s.dtype,
      device: s.device,
    });
    return side === "right" ? cat([s, pad], 0) : cat([pad, s], 0);
  });
  return stack(padded, batchFirst ? 0 : 1);
}

/**
 * Packs a padded batch `[T, B, *]` (or `[B, T, *]` with `batchFirst`) of
 * sequences of the given `lengths` into a {@link PackedSequence}. With
 * `enforceSorted` (the default) the lengths must be non-increasing; with
 * false the batch is sorted here and the permutation kept, so that
 * {@link padPackedSequence} and the layers' final states come back in the
 * original order. Gradients flow back to `input`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.arange(6).reshape(3, 2); // steps x batch
 * const packed = zn.nn.utils.rnn.packPaddedSequence(x, [3, 2]);
 * packed.data.toArray(); // [0n, 1n, 2n, 3n, 4n]
 * packed.batchSizes.toArray(); // [2n, 2n, 1n]
 * ```
 */
export function packPaddedSequence(
  input: Tensor,
  lengths: Tensor | readonly number[],
  opts: PackPaddedSequenceOptions = {},
): PackedSequence {
  const op = "packPaddedSequence";
  checkTensor(input, op, "input");
  checkOptions(op, opts, PACK_PADDED_KEYS);
  const batchFirst = flag(opts.batchFirst, false, op, "batchFirst");
  const enforceSorted = flag(opts.enforceSorted, true, op, "enforceSorted");
  const lens = intValues(lengths, op, "lengths");
  if (lens.length === 0) throw new RangeError(`${op}: lengths must not be empty`);
  if (input.isDisposed) throw new Error(`${op}: input is a disposed Tensor`);
  if (input.ndim < 2) {
    throw new RangeError(
      `${op}: input must have at least 2 dimensions (steps and batch), got shape ${
        fmtShape(input.shape)
      }`,
    );
  }
  const x = batchFirst ? input.transpose(0, 1) : input;
  const [steps, batch] = x.shape;
  if (lens.length !== batch) {
    throw new RangeError(
      `${op}: expected len(lengths) to be equal to batch_size, but got ${lens.length} (batch_size=${batch})`,
    );
  }
  if (lens.some((l) => l <= 0)) {
    throw new RangeError(
      `${op}: length of all samples has to be greater than 0, but found an element in lengths that is <= 0`,
    );
  }
  const longest = Math.max(...lens);
  if (longest > steps) {
    throw new RangeError(
      `${op}: a length of ${longest} exceeds the ${steps} steps of the padded input (shape ${
        fmtShape(input.shape)
      }${batchFirst ? ", batchFirst" : ""})`,
    );
  }
  let order: number[] | null = null;
  if (enforceSorted) {
    for (let i = 1; i < lens.length; i++) {
      if (lens[i] > lens[i - 1]) {
        throw new RangeError(
          `${op}: lengths must be sorted in decreasing order when enforceSorted is true (got [${
            lens.join(", ")
          }]); pass { enforceSorted: false } to sort them here`,
        );
      }
    }
  } else {
    // Longest first; equal lengths keep their order (a stable sort, as PyTorch's gives).
    order = lens.map((_, i) => i).sort((a, b) => lens[b] - lens[a]);
  }
  const sortedLens = order ? order.map((i) => lens[i]) : lens;
  const sizes = batchSizesOf(sortedLens);
  // One gather of the valid rows of the flattened [T * B, *] batch, time-major.
  const rows: number[] = [];
  for (let t = 0; t < sizes.length; t++) {
    for (let b = 0; b < sizes[t]; b++) rows.push(t * batch + (order ? order[b] : b));
  }
  const flat = x.reshape([steps * batch, ...x.shape.slice(2)]);
  const data = indexSelect(flat, 0, indexTensor(rows, x.device));
  const sorted = order ? indexTensor(order, x.device) : null;
  return new PackedSequence(
    data,
    sizes,
    sorted,
    sorted ? indexTensor(inverse(order!), x.device) : null,
  );
}

/**
 * Unpacks a {@link PackedSequence} into a padded batch: returns
 * `[padded, lengths]` with `padded` `[T, B, *]` (or `[B, T, *]` with
 * `batchFirst`) in the original batch order and `lengths` an int64 tensor.
 * `totalLength` pads to a fixed number of steps. Gradients flow back to the
 * packed data.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const packed = zn.nn.utils.rnn.packSequence([zn.tensor([1, 2]), zn.tensor([3])]);
 * const [padded, lengths] = zn.nn.utils.rnn.padPackedSequence(packed, { batchFirst: true });
 * padded.toArray(); // [[1, 2], [3, 0]]
 * lengths.toArray(); // [2n, 1n]
 * ```
 */
export function padPackedSequence(
  sequence: PackedSequence,
  opts: PadPackedSequenceOptions = {},
): [Tensor, Tensor] {
  const op = "padPackedSequence";
  if (!(sequence instanceof PackedSequence)) {
    typeError(op, "sequence", "a PackedSequence", sequence);
  }
  checkOptions(op, opts, PAD_PACKED_KEYS);
  const batchFirst = flag(opts.batchFirst, false, op, "batchFirst");
  const value = opts.paddingValue ?? 0;
  checkNumber(value, op, "paddingValue");
  const sizes = batchSizeList(sequence);
  const steps = sizes.length;
  let total = steps;
  if (opts.totalLength !== undefined && opts.totalLength !== null) {
    const tl = opts.totalLength;
    if (typeof tl !== "number" || !Number.isInteger(tl)) {
      typeError(op, "totalLength", "an integer", tl);
    }
    if (tl < steps) {
      throw new RangeError(
        `${op}: expected totalLength to be at least the length of the longest sequence in input, but got totalLength=${tl} and max sequence length being ${steps}`,
      );
    }
    total = tl;
  }
  const data = sequence.data;
  if (data.isDisposed) throw new Error(`${op}: the packed data is a disposed Tensor`);
  const batch = sizes[0];
  const n = data.shape[0];
  const unsorted = sequence.unsortedIndices
    ? intValues(sequence.unsortedIndices, op, "unsortedIndices")
    : null;
  // Column j of the result is packed column unsorted[j]; padding reads row n,
  // one extra row of paddingValue.
  const rows = new Array<number>(total * batch);
  let offset = 0;
  for (let t = 0; t < total; t++) {
    const bs = t < steps ? sizes[t] : 0;
    for (let j = 0; j < batch; j++) {
      const col = unsorted ? unsorted[j] : j;
      rows[t * batch + j] = col < bs ? offset + col : n;
    }
    offset += bs;
  }
  const trailing = data.shape.slice(1);
  const pad = full([1, ...trailing], isFloating(data.dtype) ? value : Math.trunc(value), {
    dtype: data.dtype,
    device: data.device,
  });
  const source = cat([data, pad], 0);
  let padded = indexSelect(source, 0, indexTensor(rows, data.device))
    .reshape([total, batch, ...trailing]);
  if (batchFirst) padded = padded.transpose(0, 1);
  const lengths = new Array<number>(batch).fill(0);
  for (const bs of sizes) for (let b = 0; b < bs; b++) lengths[b]++;
  const original = unsorted ? unsorted.map((c) => lengths[c]) : lengths;
  return [padded, indexTensor(original, "cpu")];
}

/**
 * Packs a list of sequences `[L_i, *]`: {@link padSequence} then
 * {@link packPaddedSequence} with their lengths. With `enforceSorted` (the
 * default) they must come longest first.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const packed = zn.nn.utils.rnn.packSequence([zn.tensor([1, 2, 3]), zn.tensor([4, 5])]);
 * packed.data.toArray(); // [1, 4, 2, 5, 3]
 * ```
 */
export function packSequence(
  sequences: readonly Tensor[],
  opts: PackSequenceOptions = {},
): PackedSequence {
  const op = "packSequence";
  checkOptions(op, opts, PACK_SEQUENCE_KEYS);
  checkSequences(sequences, op);
  const enforceSorted = flag(opts.enforceSorted, true, op, "enforceSorted");
  const lengths = sequences.map((s) => s.shape[0]);
  if (lengths.some((l) => l === 0)) {
    throw new RangeError(
      `${op}: length of all samples has to be greater than 0, but found a sequence of length 0`,
    );
  }
  return packPaddedSequence(padSequence(sequences), lengths, { enforceSorted });
}

// ---------------------------------------------------------------- helpers

/** The batch size of each step for lengths sorted longest first. */
function batchSizesOf(sortedLens: readonly number[]): number[] {
  const sizes = new Array<number>(sortedLens[0]).fill(0);
  for (const l of sortedLens) for (let t = 0; t < l; t++) sizes[t]++;
  return sizes;
}

function flag(v: unknown, dflt: boolean, op: string, name: string): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") typeError(op, name, "a boolean", v);
  return v;
}

function checkSequences(sequences: unknown, op: string): asserts sequences is Tensor[] {
  checkArray(sequences, op, "sequences");
  if (sequences.length === 0) throw new RangeError(`${op}: received an empty list of sequences`);
  sequences.forEach((s, i) => checkTensor(s, op, `sequences[${i}]`));
  const seqs = sequences as Tensor[];
  const ref = seqs[0];
  seqs.forEach((s, i) => {
    if (s.isDisposed) throw new Error(`${op}: sequences[${i}] is a disposed Tensor`);
    if (s.ndim === 0) {
      throw new RangeError(`${op}: sequences[${i}] is 0-dimensional; each needs a length dim`);
    }
    const a = s.shape.slice(1), b = ref.shape.slice(1);
    if (a.length !== b.length || a.some((d, k) => d !== b[k])) {
      throw new RangeError(
        `${op}: every sequence must have the same trailing shape: sequences[0] is ${
          fmtShape(ref.shape)
        }, sequences[${i}] is ${fmtShape(s.shape)}`,
      );
    }
    if (s.device !== ref.device) {
      throw new RangeError(
        `${op}: every sequence must be on one device: ${ref.device} and ${s.device}`,
      );
    }
  });
}

/** The values of a 1-D integer tensor or an array of integers, as numbers. */
function intValues(v: unknown, op: string, name: string): number[] {
  let out: number[];
  if (v instanceof Tensor) {
    if (v.isDisposed) throw new Error(`${op}: ${name} is a disposed Tensor`);
    if (v.ndim !== 1) {
      throw new RangeError(`${op}: ${name} must be 1-D, got shape ${fmtShape(v.shape)}`);
    }
    if (!isIntegral(v.dtype)) {
      throw new TypeError(`${op}: ${name} must be an integer tensor, got ${v.dtype}`);
    }
    out = Array.from(v.toTypedArray() as ArrayLike<number | bigint>, (x) => Number(x));
  } else if (Array.isArray(v)) {
    out = v.map((x, i) => {
      if (typeof x !== "number" && typeof x !== "bigint") {
        typeError(op, `${name}[${i}]`, "an integer", x);
      }
      return Number(x);
    });
  } else {
    typeError(op, name, "an array of integers or an integer Tensor", v);
  }
  out.forEach((x, i) => {
    if (!Number.isSafeInteger(x)) {
      throw new RangeError(`${op}: expected ${name}[${i}] to be an integer, got ${x}`);
    }
  });
  return out;
}

/** Checks that `t` is a permutation of [0, n) and returns it as numbers. */
function permutation(t: unknown, n: number, op: string, name: string): number[] {
  if (!(t instanceof Tensor)) typeError(op, name, "an int64 Tensor or null", t);
  const p = intValues(t, op, name);
  const seen = new Array<boolean>(n).fill(false);
  if (p.length !== n || p.some((i) => i < 0 || i >= n || seen[i] || !(seen[i] = true))) {
    throw new RangeError(`${op}: ${name} must be a permutation of the ${n} batch entries`);
  }
  return p;
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => inv[p] = i);
  return inv;
}

function indexTensor(values: readonly number[], device: string): Tensor {
  return tensor(BigInt64Array.from(values, (v) => BigInt(v)), { device });
}
