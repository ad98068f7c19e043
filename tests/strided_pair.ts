// A contiguous tensor and a stride-2 view with the same values, for tests
// that compare a kernel's contiguous (vector) path with its strided (scalar)
// loop.
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";

/** `[contiguous, strided]`: the strided view takes every other element of a doubled tensor. */
export function contiguousAndStrided(vals: number[], dtype: DType): [zn.Tensor, zn.Tensor] {
  const contiguous = zn.tensor(vals, { dtype });
  const doubled = zn.stack([contiguous, zn.zerosLike(contiguous)], 1).reshape([-1]);
  const strided = doubled.index({ step: 2 });
  assert(strided.strides[0] === 2, "the view is strided");
  return [contiguous, strided];
}
