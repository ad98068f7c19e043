/**
 * @internal The batch sizes of each {@link PackedSequence} as plain numbers,
 * checked once when it is made, for the recurrent layers to read without
 * copying the `batchSizes` tensor each call.
 *
 * @module
 */
import type { PackedSequence } from "./rnn.ts";

const SIZES = new WeakMap<PackedSequence, readonly number[]>();

/** @internal Records the checked batch sizes of `p`. */
export function setBatchSizeList(p: PackedSequence, sizes: readonly number[]): void {
  SIZES.set(p, sizes);
}

/** @internal The batch sizes of `p` as numbers. */
export function batchSizeList(p: PackedSequence): readonly number[] {
  const s = SIZES.get(p);
  if (s === undefined) throw new Error("PackedSequence: not made by its constructor");
  return s;
}
