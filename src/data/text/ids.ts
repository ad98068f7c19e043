/**
 * @internal Token id lists: reading ids given as arrays or tensors, and
 * int64 tensors from ids.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { isIntegral } from "../../dtype.ts";
import { tensor } from "../../ops/creation.ts";
import { typeError } from "../../args.ts";

/**
 * @internal The ids of `ids` (an array or iterable of integers or bigints, a
 * typed array, or an integer tensor of any shape, read in order) as
 * numbers, each checked to be an integer in [0, size).
 */
export function readIds(ids: unknown, op: string, size: number): number[] {
  let values: ArrayLike<number | bigint>;
  if (ids instanceof Tensor) {
    if (ids.isDisposed) typeError(op, "ids", "a live Tensor", ids);
    if (!isIntegral(ids.dtype)) {
      throw new TypeError(`${op}: expected an integer tensor of ids, got ${ids.dtype}`);
    }
    values = ids.toTypedArray() as ArrayLike<number | bigint>;
  } else if (Array.isArray(ids) || (ArrayBuffer.isView(ids) && !(ids instanceof DataView))) {
    values = ids as ArrayLike<number | bigint>;
  } else if (
    typeof ids === "object" && ids !== null &&
    typeof (ids as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  ) {
    values = Array.from(ids as Iterable<number | bigint>);
  } else {
    typeError(op, "ids", "an array or tensor of token ids", ids);
  }
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= size) {
      throw new RangeError(
        `${op}: id ${
          typeof v === "bigint" ? `${v}n` : String(v)
        } at position ${i} is not in the vocabulary (ids are integers in [0, ${size}))`,
      );
    }
    out[i] = n;
  }
  return out;
}

/** @internal A 1-D int64 tensor of `ids`. */
export function idTensor(ids: readonly number[]): Tensor {
  const a = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) a[i] = BigInt(ids[i]);
  return tensor(a);
}
