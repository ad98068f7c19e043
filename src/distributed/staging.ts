/**
 * @internal The memory a collective hands to MPI or NCCL: the tensor itself
 * where it is contiguous in the travelling dtype, else a contiguous copy
 * whose result is written back afterwards.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";

/** The contiguous tensor whose memory travels, and how its result returns to `t`. */
export function staging(t: Tensor, dtype: DType): { work: Tensor; done: () => void } {
  // A bool tensor's bytes are its uint8 wire form already.
  const same = t.dtype === dtype || (t.dtype === "bool" && dtype === "uint8");
  if (same && t.isContiguous()) {
    // In place: the write is t's (autograd sees it as an in-place op would).
    return { work: t, done: () => void t.versionCounter.value++ };
  }
  const base = t.detach();
  const work = base.to(dtype).contiguous();
  return {
    work,
    done: () => {
      base.copy_(work);
      work.dispose();
    },
  };
}
