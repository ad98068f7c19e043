/**
 * Rearranging elements: flip, roll, rot90, repeat, tile, repeatInterleave,
 * movedim, unbind. Each is composed from views, indexSelect and cat, so
 * gradients come from those ops' rules.
 *
 * @module
 */
import { checkShape, normDim, normDims } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { checkIntArg, checkIntList, checkTensor, typeError } from "../args.ts";
import { arange, tensor } from "./creation.ts";
import { indexSelect } from "./indexing.ts";
import { cat } from "./join.ts";
import { clone } from "./elementwise.ts";
import { expand, flatten, narrow, permute, reshape, select, unsqueeze } from "./view.ts";

/** A dims argument as a list: one integer or an array of them. */
function dimList(dims: unknown, op: string, name: string): number[] {
  checkIntList(dims, op, name, { single: true });
  return typeof dims === "number" ? [dims] : [...(dims as readonly number[])];
}

/** Indices n-1 .. 0 along a dim of size n, on `x`'s device. */
function reversed(n: number, x: Tensor): Tensor {
  return arange(n - 1, -1, -1, { device: x.device });
}

/**
 * Reverses the order of elements along each of `dims` (a copy, as in
 * PyTorch).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.flip(zn.tensor([[1, 2], [3, 4]]), [1]).toArray(); // [[2, 1], [4, 3]]
 * ```
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  checkTensor(x, "flip");
  const ds = normDims(dimList(dims, "flip", "dims"), x.ndim, "flip");
  let out = x;
  for (const d of ds) {
    if (x.shape[d] > 1) out = indexSelect(out, d, reversed(x.shape[d], x));
  }
  return out === x ? clone(x) : out;
}

/**
 * Rolls elements along `dims` by `shifts` (elements pushed past the end come
 * back at the start). Without dims, the tensor is rolled as if flattened.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.roll(zn.tensor([1, 2, 3, 4]), 1).toArray(); // [4, 1, 2, 3]
 * zn.roll(zn.tensor([[1, 2], [3, 4]]), [1, -1], [0, 1]).toArray(); // [[4, 3], [2, 1]]
 * ```
 */
export function roll(
  x: Tensor,
  shifts: number | readonly number[],
  dims?: number | readonly number[],
): Tensor {
  checkTensor(x, "roll");
  const sh = dimList(shifts, "roll", "shifts");
  if (dims === undefined) {
    if (sh.length !== 1) {
      throw new RangeError(`roll: expected one shift without dims, got ${sh.length}`);
    }
    return reshape(roll(flatten(x), sh[0], 0), x.shape as number[]);
  }
  const ds = dimList(dims, "roll", "dims").map((d) => normDim(d, x.ndim, "roll"));
  if (ds.length !== sh.length) {
    throw new RangeError(
      `roll: shifts and dims must have the same length, got ${sh.length} and ${ds.length}`,
    );
  }
  let out = x;
  for (let i = 0; i < ds.length; i++) {
    const n = x.shape[ds[i]];
    const s = n === 0 ? 0 : ((sh[i] % n) + n) % n;
    if (s === 0) continue;
    out = cat([narrow(out, ds[i], n - s, s), narrow(out, ds[i], 0, n - s)], ds[i]);
  }
  return out === x ? clone(x) : out;
}

/**
 * Rotates by 90 degrees `k` times in the plane of `dims` (default [0, 1]),
 * from the first dim towards the second, as `torch.rot90`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.rot90(zn.tensor([[1, 2], [3, 4]])).toArray(); // [[2, 4], [1, 3]]
 * ```
 */
export function rot90(x: Tensor, k = 1, dims: readonly number[] = [0, 1]): Tensor {
  checkTensor(x, "rot90");
  checkIntArg(k, "rot90", "k");
  checkIntList(dims, "rot90", "dims");
  if (dims.length !== 2) {
    throw new RangeError(`rot90: expected dims to have 2 entries, got ${dims.length}`);
  }
  if (x.ndim < 2) throw new RangeError(`rot90: expected at least 2 dims, got ${x.ndim}`);
  const [d0, d1] = normDims(dims, x.ndim, "rot90");
  const turns = ((k % 4) + 4) % 4;
  const swap = (t: Tensor) => {
    const order = [...Array(x.ndim).keys()];
    [order[d0], order[d1]] = [order[d1], order[d0]];
    return permute(t, order);
  };
  if (turns === 1) return swap(flip(x, [d1]));
  if (turns === 2) return flip(x, [d0, d1]);
  if (turns === 3) return swap(flip(x, [d0]));
  return clone(x);
}

/**
 * Repeats the tensor `sizes[i]` times along dim i (a copy); extra leading
 * sizes add dims, as `Tensor.repeat` in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.repeat(zn.tensor([1, 2]), [2, 2]).toArray(); // [[1, 2, 1, 2], [1, 2, 1, 2]]
 * ```
 */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  checkTensor(x, "repeat");
  checkIntList(sizes, "repeat", "sizes", { min: 0 });
  if (sizes.length < x.ndim) {
    throw new RangeError(
      `repeat: the number of repeats (${sizes.length}) can not be smaller than the number of dims (${x.ndim})`,
    );
  }
  const lead = sizes.length - x.ndim;
  const padded = [...Array(lead).fill(1), ...x.shape];
  // [a0, a1, ...] -> [1, a0, 1, a1, ...] -> expand [r0, a0, r1, a1, ...] -> [r0 a0, r1 a1, ...]
  const interleaved = padded.flatMap((a) => [1, a]);
  const wide = padded.flatMap((a, i) => [sizes[i], a]);
  const out = reshape(
    expand(reshape(x, interleaved), wide),
    padded.map((a, i) => a * sizes[i]),
  );
  return sizes.every((s) => s === 1) ? clone(out) : out;
}

/**
 * Repeats the tensor along each dim, `dims` giving the counts from the last
 * dim back (missing leading counts are 1), as `torch.tile`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tile(zn.tensor([[1, 2]]), [2]).toArray(); // [[1, 2, 1, 2]]
 * ```
 */
export function tile(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor(x, "tile");
  checkIntList(dims, "tile", "dims", { min: 0 });
  const full = dims.length < x.ndim ? [...Array(x.ndim - dims.length).fill(1), ...dims] : dims;
  return repeat(x, full);
}

/**
 * Repeats each element `repeats` times along `dim` (without a dim: of the
 * flattened tensor). `repeats` is one count or an int64 tensor of one count
 * per element along `dim`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.repeatInterleave(zn.tensor([1, 2]), 2).toArray(); // [1, 1, 2, 2]
 * zn.repeatInterleave(zn.tensor([[1, 2], [3, 4]]), zn.tensor([1n, 2n]), 0).toArray();
 * // [[1, 2], [3, 4], [3, 4]]
 * ```
 */
export function repeatInterleave(x: Tensor, repeats: number | Tensor, dim?: number): Tensor {
  checkTensor(x, "repeatInterleave");
  if (dim === undefined) return repeatInterleave(flatten(x), repeats, 0);
  checkIntArg(dim, "repeatInterleave", "dim");
  const d = normDim(dim, x.ndim, "repeatInterleave");
  const n = x.ndim === 0 ? 1 : x.shape[d];
  if (typeof repeats === "number") {
    checkIntArg(repeats, "repeatInterleave", "repeats", 0);
    const src = x.ndim === 0 ? reshape(x, [1]) : x;
    const shape = [...src.shape];
    const wide = [...shape.slice(0, d + 1), repeats, ...shape.slice(d + 1)];
    return flatten(expand(unsqueeze(src, d + 1), wide), d, d + 1).contiguous();
  }
  if (!(repeats instanceof Tensor)) {
    typeError("repeatInterleave", "repeats", "an integer or an int64 Tensor", repeats);
  }
  if (repeats.dtype !== "int64" && repeats.dtype !== "int32") {
    throw new TypeError(
      `repeatInterleave: repeats must be an integer tensor, got ${repeats.dtype}`,
    );
  }
  if (repeats.ndim > 1) {
    throw new RangeError(`repeatInterleave: repeats must be 0-d or 1-d, got ${repeats.ndim} dims`);
  }
  const counts = Array.from(repeats.toTypedArray() as ArrayLike<number | bigint>, Number);
  if (counts.length === 1 && repeats.ndim <= 1) {
    if (n !== 1) return repeatInterleave(x, counts[0], dim);
  } else if (counts.length !== n) {
    throw new RangeError(
      `repeatInterleave: repeats must have the same size as input along dim ${d} (${n}), got ${counts.length}`,
    );
  }
  let total = 0;
  for (const c of counts) {
    if (c < 0) throw new RangeError(`repeatInterleave: repeats can not be negative, got ${c}`);
    total += c;
  }
  checkShape([total], "repeatInterleave");
  const index = new BigInt64Array(total);
  let at = 0;
  counts.forEach((c, i) => {
    for (let k = 0; k < c; k++) index[at++] = BigInt(i);
  });
  const src = x.ndim === 0 ? reshape(x, [1]) : x;
  return indexSelect(src, d, tensor(index, { device: x.device }));
}

/**
 * Moves dims `source` to positions `destination`, the others keeping their
 * order (a view).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.movedim(zn.zeros([2, 3, 4]), 0, -1).shape; // [3, 4, 2]
 * ```
 */
export function movedim(
  x: Tensor,
  source: number | readonly number[],
  destination: number | readonly number[],
): Tensor {
  checkTensor(x, "movedim");
  const src = normDims(dimList(source, "movedim", "source"), x.ndim, "movedim");
  const dst = normDims(dimList(destination, "movedim", "destination"), x.ndim, "movedim");
  if (src.length !== dst.length) {
    throw new RangeError(
      `movedim: invalid source or destination dims: source (${src.length} dims) should contain the same number of dims as destination (${dst.length} dims)`,
    );
  }
  const order = new Array<number>(x.ndim).fill(-1);
  src.forEach((s, i) => order[dst[i]] = s);
  const rest = [...Array(x.ndim).keys()].filter((d) => !src.includes(d));
  let r = 0;
  for (let i = 0; i < order.length; i++) if (order[i] < 0) order[i] = rest[r++];
  return permute(x, order);
}

/**
 * The slices along `dim` (views), as `torch.unbind` returns a tuple.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.unbind(zn.zeros([3, 2])).length; // 3
 * ```
 */
export function unbind(x: Tensor, dim = 0): Tensor[] {
  checkTensor(x, "unbind");
  checkIntArg(dim, "unbind", "dim");
  if (x.ndim === 0) {
    throw new RangeError("unbind: dimension specified as 0 but tensor has no dimensions");
  }
  const d = normDim(dim, x.ndim, "unbind");
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}
