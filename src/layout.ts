/**
 * Layout metadata shared by the backends: the strided kernels of every device
 * take the same `meta` array (sizes, then each operand's strides), built here
 * with size-1 dims dropped and mergeable dims merged.
 *
 * @module
 */
import { MAX_DIMS } from "./shape.ts";

/**
 * The shared metadata buffer the layout helpers write into; every backend
 * passes it to its kernels right after filling it (never kept across calls).
 *
 * @example
 * ```ts
 * import { layout, meta } from "./layout.ts";
 * const nd = layout([2, 3], [[3, 1]]);
 * [nd, meta[0], meta[1]]; // [1, 6, 1]
 * ```
 */
export const meta: Int32Array = new Int32Array(MAX_DIMS * 5 + 8);
const dims: number[] = new Array(MAX_DIMS).fill(0);
const strd: number[][] = [0, 1, 2, 3].map(() => new Array(MAX_DIMS).fill(0));

/**
 * Writes shape and per-operand strides into {@link meta}, dropping size-1
 * dims and merging dims that are contiguous for every operand. Returns ndim.
 *
 * @example
 * ```ts
 * import { layout } from "./layout.ts";
 * layout([4, 1, 5], [[5, 5, 1], [0, 0, 1]]); // 2: a broadcast operand cannot merge
 * ```
 */
export function layout(shape: readonly number[], views: readonly (readonly number[])[]): number {
  const k = views.length;
  let nd = 0;
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d];
    if (s === 1) continue;
    if (nd > 0) {
      let merge = true;
      for (let o = 0; o < k; o++) {
        if (strd[o][nd - 1] !== views[o][d] * s) {
          merge = false;
          break;
        }
      }
      if (merge) {
        dims[nd - 1] *= s;
        for (let o = 0; o < k; o++) strd[o][nd - 1] = views[o][d];
        continue;
      }
    }
    dims[nd] = s;
    for (let o = 0; o < k; o++) strd[o][nd] = views[o][d];
    nd++;
  }
  for (let d = 0; d < nd; d++) {
    meta[d] = dims[d];
    for (let o = 0; o < k; o++) meta[(o + 1) * nd + d] = strd[o][d];
  }
  return nd;
}

/**
 * Writes a batched matmul's operand strides into {@link meta}: a's batch,
 * row and column strides, then b's (a: [B, M, K], b: [B, K, N]).
 *
 * @example
 * ```ts
 * import { matmulLayout, meta } from "./layout.ts";
 * matmulLayout([6, 3, 1], [0, 2, 1]);
 * [meta[0], meta[4]]; // [6, 2]
 * ```
 */
export function matmulLayout(aStrides: readonly number[], bStrides: readonly number[]): void {
  for (let i = 0; i < 3; i++) {
    meta[i] = aStrides[i];
    meta[3 + i] = bStrides[i];
  }
}

/**
 * Writes the gather/scatter metadata: idx's shape, then the strides of idx,
 * of `a` and of `b` (uncoalesced, as those kernels index per dim).
 *
 * @example
 * ```ts
 * import { gatherLayout, meta } from "./layout.ts";
 * gatherLayout([2], [1], [1], [1]);
 * meta[0]; // 2
 * ```
 */
export function gatherLayout(
  shape: readonly number[],
  idx: readonly number[],
  a: readonly number[],
  b: readonly number[],
): number {
  const nd = shape.length;
  for (let d = 0; d < nd; d++) {
    meta[d] = shape[d];
    meta[nd + d] = idx[d];
    meta[2 * nd + d] = a[d];
    meta[3 * nd + d] = b[d];
  }
  return nd;
}

/**
 * Writes a 2-D window op's geometry into {@link meta} (N, C, then the pairs).
 *
 * @example
 * ```ts
 * import { meta, windowLayout } from "./layout.ts";
 * windowLayout({ batch: 1, channels: 1, input: [4, 4], output: [2, 2], kernel: [2, 2],
 *   stride: [2, 2], padding: [0, 0], dilation: [1, 1] });
 * meta[2]; // 4
 * ```
 */
export function windowLayout(geom: {
  batch: number;
  channels: number;
  input: readonly [number, number];
  output: readonly [number, number];
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
}): void {
  meta[0] = geom.batch;
  meta[1] = geom.channels;
  for (let i = 0; i < 2; i++) {
    meta[2 + i] = geom.input[i];
    meta[4 + i] = geom.output[i];
    meta[6 + i] = geom.kernel[i];
    meta[8 + i] = geom.stride[i];
    meta[10 + i] = geom.padding[i];
    meta[12 + i] = geom.dilation[i];
  }
}
