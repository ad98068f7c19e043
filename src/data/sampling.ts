/**
 * Index helpers of the datasets and the DataLoader: int64 index tensors and
 * random permutations.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { defaultGenerator, type Generator } from "../random.ts";

/** An int64 index tensor from JS indices. */
export function indexTensor(indices: readonly number[]): Tensor {
  const a = new BigInt64Array(indices.length);
  for (let k = 0; k < indices.length; k++) a[k] = BigInt(indices[k]);
  return tensor(a);
}

/** A random permutation of 0..n-1 (Fisher-Yates; the same draws as `randperm`). */
export function permutation(n: number, g: Generator = defaultGenerator): number[] {
  const p = new Array<number>(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.nextInt(0, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
