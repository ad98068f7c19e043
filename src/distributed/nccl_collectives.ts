/**
 * @internal The collectives on CUDA tensors over a "nccl" process group
 * (collectives.ts checks the arguments and calls these). Each NCCL call is
 * queued on the CUDA backend's stream of the tensor's device, after the
 * kernels that produced its inputs and before the ones that read its
 * results, so a call returns once queued: `asyncOp`'s Work is complete at
 * once, as the stream orders everything after it. A strided tensor travels
 * through a contiguous copy on the device that is written back; bool travels
 * as bytes (a sum or a max an or, a product or a min an and).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { ITEMSIZE } from "../dtype.ts";
import { CudaStorage, selectCudaDevice } from "../cuda_backend.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { empty } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { mpi } from "./mpi_engine.ts";
import { NCCL_DTYPES, NCCL_OPS, ncclCheck } from "./nccl_engine.ts";
import type { ProcessGroup } from "./process_group.ts";
import type { ReduceOp } from "./collectives.ts";
import { staging } from "./staging.ts";

/** NCCL's type code for `t`, or an error naming `op` for a dtype NCCL lacks. */
function ncclType(op: string, t: Tensor): number {
  const code = NCCL_DTYPES[t.dtype as keyof typeof NCCL_DTYPES];
  if (code === undefined) {
    throw new TypeError(
      `${op}: NCCL has no ${t.dtype} type; convert with .to("int32") (or reduce on the CPU)`,
    );
  }
  return code;
}

function ncclOp(reduce: ReduceOp, t: Tensor): number {
  if (t.dtype === "bool") return NCCL_OPS[reduce === "sum" || reduce === "max" ? "max" : "min"];
  return NCCL_OPS[reduce];
}

/** The device address of a contiguous CUDA tensor's first element, its device made current. */
function address(t: Tensor): bigint {
  const s = t.storage;
  if (!(s instanceof CudaStorage) || s.disposed) {
    throw new Error("distributed: the tensor's device memory was released");
  }
  selectCudaDevice(s.index);
  return s.ptr + BigInt(t.offset * ITEMSIZE[t.dtype]);
}

/** allReduce on a CUDA tensor. */
export function ncclAllReduce(op: string, g: ProcessGroup, t: Tensor, reduce: ReduceOp): void {
  const type = ncclType(op, t);
  noGrad(() => {
    const { work, done } = staging(t, t.dtype);
    ncclCheck(
      op,
      mpi().zeno_nccl_all_reduce(g.id, address(work), work.numel, type, ncclOp(reduce, t)),
    );
    done();
  });
}

/** broadcast from group rank `root`. */
export function ncclBroadcast(op: string, g: ProcessGroup, t: Tensor, root: number): void {
  noGrad(() => {
    const { work, done } = staging(t, t.dtype);
    const bytes = work.numel * ITEMSIZE[work.dtype];
    ncclCheck(op, mpi().zeno_nccl_broadcast(g.id, address(work), bytes, root));
    done();
  });
}

/** allGather into `list` (one tensor per group rank). */
export function ncclAllGather(op: string, g: ProcessGroup, list: Tensor[], t: Tensor): void {
  noGrad(() => {
    const { work } = staging(t, t.dtype);
    const all = empty([g.size(), ...t.shape], { dtype: t.dtype, device: t.device });
    const bytes = work.numel * ITEMSIZE[work.dtype];
    ncclCheck(op, mpi().zeno_nccl_all_gather(g.id, address(work), address(all), bytes));
    if (work !== t) work.dispose();
    list.forEach((o, r) => o.detach().copy_(all.select(0, r)));
    all.dispose();
  });
}

/** reduceScatter of `inputs` (one per group rank) into `output`. */
export function ncclReduceScatter(
  op: string,
  g: ProcessGroup,
  output: Tensor,
  inputs: Tensor[],
  reduce: ReduceOp,
): void {
  const type = ncclType(op, output);
  noGrad(() => {
    const send = cat(inputs.map((t) => t.detach().reshape([-1])), 0);
    const { work, done } = staging(output, output.dtype);
    ncclCheck(
      op,
      mpi().zeno_nccl_reduce_scatter(
        g.id,
        address(send),
        address(work),
        work.numel,
        type,
        ncclOp(reduce, output),
      ),
    );
    send.dispose();
    done();
  });
}

/**
 * gather (`toRoot`) of every rank's `t` into the root's `list`, or scatter of
 * the root's `list` into every rank's `t`; `root` is a group rank.
 */
export function ncclRooted(
  op: string,
  g: ProcessGroup,
  toRoot: boolean,
  t: Tensor,
  list: Tensor[] | null,
  root: number,
): void {
  noGrad(() => {
    const isRoot = g.rank() === root;
    const { work, done } = staging(t, t.dtype);
    const bytes = work.numel * ITEMSIZE[work.dtype];
    const all = !isRoot
      ? null
      : toRoot
      ? empty([g.size(), ...t.shape], { dtype: t.dtype, device: t.device })
      : cat(list!.map((x) => x.detach().contiguous().reshape([1, ...t.shape])), 0);
    ncclCheck(
      op,
      mpi().zeno_nccl_rooted(
        g.id,
        toRoot ? 1 : 0,
        address(work),
        all ? address(all) : 0n,
        bytes,
        root,
        g.rank(),
        g.size(),
      ),
    );
    if (toRoot) {
      if (work !== t) work.dispose();
      if (all) list!.forEach((o, r) => o.detach().copy_(all.select(0, r)));
    } else {
      done();
    }
    all?.dispose();
  });
}

/** barrier: an all-reduce of one element on the group's device, waited for on the host. */
export function ncclBarrier(op: string, g: ProcessGroup, device: string): void {
  noGrad(() => {
    const one = empty([1], { dtype: "float32", device }).fill_(1);
    ncclCheck(op, mpi().zeno_nccl_all_reduce(g.id, address(one), 1, NCCL_DTYPES.float32, 0));
    one.toTypedArray(); // waits for the device
    one.dispose();
  });
}
