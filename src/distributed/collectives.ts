/**
 * Collectives over a process group (the default one unless the `group`
 * option names another), as `torch.distributed`'s: every rank of the group
 * calls the same collectives in the same order, each with a tensor of the
 * same shape and dtype. They work in place on CPU tensors over MPI (any
 * strides; float16 and bfloat16 reduce in float32, bool as bytes where a sum
 * or a max is an or and a product or a min an and, as PyTorch's NCCL backend
 * does) and on CUDA tensors over NCCL (nccl_collectives.ts), and are not
 * recorded by autograd.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { type DType, ITEMSIZE } from "../dtype.ts";
import { CpuStorage } from "../cpu_backend.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { hold, unhold } from "../lifetime.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { describe as typeName } from "../args.ts";
import { empty } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { groupFor, type ProcessGroup } from "./process_group.ts";
import { staging } from "./staging.ts";
import { check, mpi, MPI_DTYPES, MPI_OPS } from "./mpi_engine.ts";
import {
  ncclAllGather,
  ncclAllReduce,
  ncclBarrier,
  ncclBroadcast,
  ncclReduceScatter,
  ncclRooted,
} from "./nccl_collectives.ts";

/** Reductions of {@link allReduce}: "avg" is the sum over the world size (floating tensors). */
export type ReduceOp = "sum" | "avg" | "max" | "min" | "product";

/**
 * Options of {@link allReduce}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributed.AllReduceOptions = { op: "avg" };
 * if (zn.distributed.isInitialized()) zn.distributed.allReduce(zn.ones([3]), opts);
 * ```
 */
export interface AllReduceOptions extends CollectiveOptions {
  /** The reduction (default "sum"). */
  op?: ReduceOp;
}

/**
 * Options every collective takes.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributed.CollectiveOptions = { asyncOp: false };
 * if (zn.distributed.isInitialized()) zn.distributed.barrier(opts); // waits
 * if (zn.distributed.isInitialized()) await zn.distributed.barrier({ asyncOp: true }).wait();
 * ```
 */
export interface CollectiveOptions {
  /** The group to run on (default: the default group, every rank); this rank must be in it. */
  group?: ProcessGroup;
  /**
   * Return at once with a {@link Work} handle instead of waiting (default
   * false): the collective runs on another thread, after the collectives
   * issued before it and before those issued after it; its tensors must not
   * be read or written until `await work.wait()`.
   */
  asyncOp?: boolean;
}

/**
 * Options with `asyncOp: true`: the form of a call that returns a {@link Work}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributed.AsyncOptions<zn.distributed.AllReduceOptions> = { op: "avg", asyncOp: true };
 * opts.asyncOp; // true
 * ```
 */
export type AsyncOptions<O> = O & { asyncOp: true };

const REDUCE_KEYS = optionKeys<AllReduceOptions>({ op: 0, asyncOp: 0, group: 0 });
const KEYS = optionKeys<CollectiveOptions>({ asyncOp: 0, group: 0 });

/**
 * A collective in flight, as PyTorch's `Work`: `await work.wait()` before
 * using its tensors.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const g = zn.ones([1024]);
 *   const work = zn.distributed.allReduce(g, { asyncOp: true });
 *   // ... other work ...
 *   await work.wait(); // g holds the sum
 * }
 * ```
 */
export class Work {
  #done = false;
  #result: Promise<void>;

  /** @internal Collectives make these. */
  constructor(result: Promise<void>) {
    this.#result = result.finally(() => {
      this.#done = true;
    });
  }

  /** Resolves when the collective has finished and its results are in place; rejects with its error. */
  wait(): Promise<void> {
    return this.#result;
  }

  /** Whether the collective has finished (successfully or not). */
  isCompleted(): boolean {
    return this.#done;
  }
}

type Call = (ticket: number, nonblocking: boolean) => number | Promise<number>;

/**
 * Runs one native collective: at once, or (asyncOp) on another thread with
 * `pins` kept alive, `finish` (writing results back) after it.
 */
function issue(
  op: string,
  asyncOp: boolean,
  pins: Tensor[],
  call: Call,
  finish: () => void,
): Work | undefined {
  if (!asyncOp) {
    try {
      check(op, call(-1, false) as number);
    } finally {
      noGrad(finish);
    }
    return undefined;
  }
  // Views of their own hold the memory: disposing the caller's tensors meanwhile cannot free it.
  const held = pins.map((t) => {
    const v = t.detach();
    hold(v);
    return v;
  });
  const ticket = mpi().zeno_mpi_ticket();
  const done = (call(ticket, true) as Promise<number>).then((status) => {
    held.forEach(unhold);
    try {
      check(op, status);
    } finally {
      noGrad(finish);
    }
  });
  return new Work(done);
}

function checkTensor(op: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeName(t)}`);
  if (t.isDisposed) throw new Error(`${op}: the tensor was disposed`);
}

/**
 * Whether `t` goes over NCCL (a CUDA tensor on a "nccl" group) rather than
 * MPI (a CPU tensor on a group with an MPI communicator); an error naming
 * `op` for any other pairing.
 */
function onNccl(op: string, g: ProcessGroup, t: Tensor): boolean {
  if (t.device === "cpu") {
    if (g.cpuId >= 0) return false;
    throw new TypeError(
      `${op}: the "nccl" process group takes CUDA tensors; this one is on cpu (CPU tensors need ` +
        "an MPI launch: deno task launch or mpirun)",
    );
  }
  if (g.backend === "nccl") {
    if (t.device !== g.device) {
      throw new TypeError(
        `${op}: this rank's NCCL device is ${g.device}; the tensor is on ${t.device}`,
      );
    }
    return true;
  }
  throw new TypeError(
    `${op}: the "mpi" backend takes CPU tensors; this one is on ${t.device} (move it with .to("cpu"))`,
  );
}

/** The completed Work of a call queued on the device stream (NCCL), or `result` itself. */
function queued<T>(asyncOp: boolean | undefined, result: T): T | Work {
  return asyncOp ? new Work(Promise.resolve()) : result;
}

/**
 * The dtype a tensor travels in: MPI has no half types, so halves reduce as
 * float32; bools go as their bytes (0 or 1, uint8).
 */
function wireDType(d: DType): DType {
  if (d === "bool") return "uint8";
  return d === "float16" || d === "bfloat16" ? "float32" : d;
}

/** MPI's reduction for `reduce` on `d`: on bools a sum is an or (max), a product an and (min). */
function mpiOp(reduce: ReduceOp, d: DType): number {
  if (d === "bool") return MPI_OPS[reduce === "sum" || reduce === "max" ? "max" : "min"];
  return MPI_OPS[reduce === "avg" ? "sum" : reduce];
}

/** The bytes of a contiguous CPU tensor, for the length of one native call. */
function bytesOf(t: Tensor): Uint8Array {
  const s = t.storage;
  if (!(s instanceof CpuStorage) || s.disposed) {
    throw new Error("distributed: the tensor's memory was released");
  }
  const d = s.data, item = ITEMSIZE[t.dtype];
  return new Uint8Array(d.buffer, d.byteOffset + t.offset * item, t.numel * item);
}

/**
 * Reduces `tensor` over all ranks, in place: afterwards every rank holds the
 * sum (or the op's result) of every rank's tensor. Returns `tensor`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const t = zn.full([2], zn.distributed.getRank() + 1);
 *   zn.distributed.allReduce(t); // with 2 ranks: [3, 3] on both
 * }
 * ```
 */
export function allReduce(tensor: Tensor, opts: AsyncOptions<AllReduceOptions>): Work;
export function allReduce(tensor: Tensor, opts?: AllReduceOptions): Tensor;
export function allReduce(tensor: Tensor, opts: AllReduceOptions = {}): Tensor | Work {
  const op = "allReduce";
  checkOptions(op, opts, REDUCE_KEYS);
  checkTensor(op, tensor);
  const reduce = checkReduceOp(op, opts.op ?? "sum", tensor.dtype);
  const g = groupFor(op, opts.group);
  if (onNccl(op, g, tensor)) {
    ncclAllReduce(op, g, tensor, reduce);
    return queued(opts.asyncOp, tensor);
  }
  const wire = wireDType(tensor.dtype);
  const { work, done } = noGrad(() => staging(tensor, wire));
  const bytes = bytesOf(work);
  const code = mpiOp(reduce, tensor.dtype);
  const dt = MPI_DTYPES[wire as keyof typeof MPI_DTYPES];
  const w = issue(
    op,
    opts.asyncOp ?? false,
    [work],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_all_reduce_async : mpi().zeno_mpi_all_reduce)(
        tk,
        g.cpuId,
        bytes,
        work.numel,
        dt,
        code,
      ),
    () => {
      if (reduce === "avg" && work.numel > 0) work.div_(g.size());
      done();
    },
  );
  return w ?? tensor;
}

/** The group rank of global rank `r` (a collective's root), or an error naming `op` and `what`. */
function rootRank(op: string, what: string, r: unknown, g: ProcessGroup): number {
  const at = typeof r === "number" ? g.ranks.indexOf(r) : -1;
  if (at < 0) {
    const where = g.ranks.length === g.ranks[g.ranks.length - 1] + 1
      ? `in [0, ${g.ranks.length})`
      : `of the group (global ranks [${g.ranks.join(", ")}])`;
    throw new RangeError(`${op}: ${what} must be a rank ${where}, got ${String(r)}`);
  }
  return at;
}

/**
 * Copies rank `src`'s `tensor` into every other rank's `tensor`, in place.
 * Returns `tensor`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const w = zn.randn([4]);
 *   zn.distributed.broadcast(w, 0); // every rank now holds rank 0's w
 * }
 * ```
 */
export function broadcast(tensor: Tensor, src: number, opts: AsyncOptions<CollectiveOptions>): Work;
export function broadcast(tensor: Tensor, src: number, opts?: CollectiveOptions): Tensor;
export function broadcast(
  tensor: Tensor,
  src: number,
  opts: CollectiveOptions = {},
): Tensor | Work {
  const op = "broadcast";
  checkOptions(op, opts, KEYS);
  checkTensor(op, tensor);
  const g = groupFor(op, opts.group);
  const root = rootRank(op, "src", src, g);
  if (onNccl(op, g, tensor)) {
    ncclBroadcast(op, g, tensor, root);
    return queued(opts.asyncOp, tensor);
  }
  const { work, done } = noGrad(() => staging(tensor, tensor.dtype));
  const bytes = bytesOf(work);
  const w = issue(
    op,
    opts.asyncOp ?? false,
    [work],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_broadcast_async : mpi().zeno_mpi_broadcast)(
        tk,
        g.cpuId,
        bytes,
        bytes.length,
        root,
      ),
    done,
  );
  return w ?? tensor;
}

/**
 * Gathers every rank's `tensor` into `tensorList` on every rank: afterwards
 * `tensorList[r]` holds rank r's tensor. `tensorList` has one tensor per rank,
 * each of `tensor`'s shape and dtype.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const n = zn.distributed.getWorldSize();
 *   const out = Array.from({ length: n }, () => zn.zeros([2]));
 *   zn.distributed.allGather(out, zn.full([2], zn.distributed.getRank()));
 * }
 * ```
 */
export function allGather(
  tensorList: Tensor[],
  tensor: Tensor,
  opts: AsyncOptions<CollectiveOptions>,
): Work;
export function allGather(tensorList: Tensor[], tensor: Tensor, opts?: CollectiveOptions): void;
export function allGather(
  tensorList: Tensor[],
  tensor: Tensor,
  opts: CollectiveOptions = {},
): Work | void {
  const op = "allGather";
  checkOptions(op, opts, KEYS);
  checkTensor(op, tensor);
  const g = groupFor(op, opts.group);
  checkList(op, "tensorList", tensorList, tensor, g.size());
  if (onNccl(op, g, tensor)) {
    ncclAllGather(op, g, tensorList, tensor);
    return queued(opts.asyncOp, undefined);
  }
  const { work } = noGrad(() => staging(tensor, tensor.dtype));
  const all = empty([g.size(), ...tensor.shape], { dtype: tensor.dtype });
  const send = bytesOf(work), recv = bytesOf(all);
  return issue(
    op,
    opts.asyncOp ?? false,
    [work, all],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_all_gather_async : mpi().zeno_mpi_all_gather)(
        tk,
        g.cpuId,
        send,
        recv,
        send.length,
      ),
    () => {
      if (work !== tensor) work.dispose();
      tensorList.forEach((o, r) => o.detach().copy_(all.select(0, r)));
      all.dispose();
    },
  );
}

function checkList(
  op: string,
  name: string,
  list: unknown,
  like: Tensor,
  size: number,
): asserts list is Tensor[] {
  if (!Array.isArray(list) || list.length !== size) {
    throw new TypeError(
      `${op}: ${name} must be an array of ${size} tensors (one per rank), got ${
        Array.isArray(list) ? `${list.length}` : typeName(list)
      }`,
    );
  }
  list.forEach((o, r) => {
    checkTensor(`${op}: ${name}[${r}]`, o);
    if (
      o.dtype !== like.dtype || o.shape.join() !== like.shape.join() || o.device !== like.device
    ) {
      throw new TypeError(
        `${op}: ${name}[${r}] is ${o.dtype} [${
          o.shape.join(", ")
        }] on ${o.device}, the tensor ${like.dtype} [${
          like.shape.join(", ")
        }] on ${like.device}; each must match it`,
      );
    }
  });
}

function checkReduceOp(op: string, reduce: unknown, d: DType): ReduceOp {
  if (!["sum", "avg", "max", "min", "product"].includes(reduce as string)) {
    throw new TypeError(
      `${op}: op must be "sum", "avg", "max", "min" or "product", got ${JSON.stringify(reduce)}`,
    );
  }
  const floating = d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
  if (reduce === "avg" && !floating) {
    throw new TypeError(`${op}: op "avg" needs a floating tensor, got ${d}`);
  }
  return reduce as ReduceOp;
}

/**
 * Reduces the ranks' `inputList`s element by element and leaves block r of
 * the result in rank r's `output`: rank r gets the op over every rank's
 * `inputList[r]`. `inputList` has one tensor per rank, each of `output`'s
 * shape and dtype. Returns `output`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const n = zn.distributed.getWorldSize();
 *   const out = zn.zeros([2]);
 *   zn.distributed.reduceScatter(out, Array.from({ length: n }, (_, r) => zn.full([2], r)));
 *   // rank r: [r * n, r * n]
 * }
 * ```
 */
export function reduceScatter(
  output: Tensor,
  inputList: Tensor[],
  opts: AsyncOptions<AllReduceOptions>,
): Work;
export function reduceScatter(output: Tensor, inputList: Tensor[], opts?: AllReduceOptions): Tensor;
export function reduceScatter(
  output: Tensor,
  inputList: Tensor[],
  opts: AllReduceOptions = {},
): Tensor | Work {
  const op = "reduceScatter";
  checkOptions(op, opts, REDUCE_KEYS);
  checkTensor(op, output);
  const g = groupFor(op, opts.group);
  const reduce = checkReduceOp(op, opts.op ?? "sum", output.dtype);
  checkList(op, "inputList", inputList, output, g.size());
  if (onNccl(op, g, output)) {
    ncclReduceScatter(op, g, output, inputList, reduce);
    return queued(opts.asyncOp, output);
  }
  const wire = wireDType(output.dtype);
  const send = noGrad(() => cat(inputList.map((t) => t.detach().to(wire).reshape([-1])), 0));
  const { work, done } = noGrad(() => staging(output, wire));
  const sb = bytesOf(send), rb = bytesOf(work);
  const code = mpiOp(reduce, output.dtype);
  const dt = MPI_DTYPES[wire as keyof typeof MPI_DTYPES];
  const w = issue(
    op,
    opts.asyncOp ?? false,
    [send, work],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_reduce_scatter_async : mpi().zeno_mpi_reduce_scatter)(
        tk,
        g.cpuId,
        sb,
        rb,
        work.numel,
        dt,
        code,
      ),
    () => {
      if (reduce === "avg" && work.numel > 0) work.div_(g.size());
      send.dispose();
      done();
    },
  );
  return w ?? output;
}

/** The checks of a collective with a root rank whose list only the root passes. */
function checkRooted(
  op: string,
  tensor: Tensor,
  listName: string,
  list: unknown,
  rootName: string,
  root: number,
  group: unknown,
): { g: ProcessGroup; root: number; isRoot: boolean } {
  checkTensor(op, tensor);
  const g = groupFor(op, group);
  const at = rootRank(op, rootName, root, g);
  const isRoot = g.rank() === at;
  if (isRoot) checkList(op, listName, list, tensor, g.size());
  else if (list != null) {
    throw new TypeError(
      `${op}: only rank ${root} (${rootName}) passes a ${listName}; rank ${
        g.ranks[g.rank()]
      } must pass null`,
    );
  }
  return { g, root: at, isRoot };
}

/**
 * Collects every rank's `tensor` on rank `dst`: there `gatherList[r]`
 * receives rank r's tensor (one tensor per rank, each of `tensor`'s shape and
 * dtype); the other ranks pass no list (null or omitted).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const n = zn.distributed.getWorldSize(), me = zn.distributed.getRank();
 *   const list = me === 0 ? Array.from({ length: n }, () => zn.zeros([2])) : null;
 *   zn.distributed.gather(zn.full([2], me), list, 0);
 * }
 * ```
 */
export function gather(
  tensor: Tensor,
  gatherList: Tensor[] | null,
  dst: number,
  opts: AsyncOptions<CollectiveOptions>,
): Work;
export function gather(
  tensor: Tensor,
  gatherList?: Tensor[] | null,
  dst?: number,
  opts?: CollectiveOptions,
): void;
export function gather(
  tensor: Tensor,
  gatherList: Tensor[] | null = null,
  dst = 0,
  opts: CollectiveOptions = {},
): Work | void {
  const op = "gather";
  checkOptions(op, opts, KEYS);
  const { g, root, isRoot } = checkRooted(
    op,
    tensor,
    "gatherList",
    gatherList,
    "dst",
    dst,
    opts.group,
  );
  if (onNccl(op, g, tensor)) {
    ncclRooted(op, g, true, tensor, gatherList, root);
    return queued(opts.asyncOp, undefined);
  }
  const { work } = noGrad(() => staging(tensor, tensor.dtype));
  const all = isRoot ? empty([g.size(), ...tensor.shape], { dtype: tensor.dtype }) : null;
  const send = bytesOf(work), recv = all ? bytesOf(all) : null;
  return issue(
    op,
    opts.asyncOp ?? false,
    all ? [work, all] : [work],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_gather_async : mpi().zeno_mpi_gather)(
        tk,
        g.cpuId,
        send,
        recv,
        send.length,
        root,
      ),
    () => {
      if (work !== tensor) work.dispose();
      if (all) {
        gatherList!.forEach((o, r) => o.detach().copy_(all.select(0, r)));
        all.dispose();
      }
    },
  );
}

/**
 * Hands out rank `src`'s `scatterList`: rank r's `tensor` receives
 * `scatterList[r]` (one tensor per rank on `src`, each of `tensor`'s shape and
 * dtype); the other ranks pass no list. Returns `tensor`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const n = zn.distributed.getWorldSize(), me = zn.distributed.getRank();
 *   const list = me === 0 ? Array.from({ length: n }, (_, r) => zn.full([2], r)) : null;
 *   zn.distributed.scatter(zn.zeros([2]), list, 0); // rank r: [r, r]
 * }
 * ```
 */
export function scatter(
  tensor: Tensor,
  scatterList: Tensor[] | null,
  src: number,
  opts: AsyncOptions<CollectiveOptions>,
): Work;
export function scatter(
  tensor: Tensor,
  scatterList?: Tensor[] | null,
  src?: number,
  opts?: CollectiveOptions,
): Tensor;
export function scatter(
  tensor: Tensor,
  scatterList: Tensor[] | null = null,
  src = 0,
  opts: CollectiveOptions = {},
): Tensor | Work {
  const op = "scatter";
  checkOptions(op, opts, KEYS);
  const { g, root, isRoot } = checkRooted(
    op,
    tensor,
    "scatterList",
    scatterList,
    "src",
    src,
    opts.group,
  );
  if (onNccl(op, g, tensor)) {
    ncclRooted(op, g, false, tensor, scatterList, root);
    return queued(opts.asyncOp, tensor);
  }
  const all = isRoot
    ? noGrad(() =>
      cat(scatterList!.map((t) => t.detach().contiguous().reshape([1, ...tensor.shape])), 0)
    )
    : null;
  const { work, done } = noGrad(() => staging(tensor, tensor.dtype));
  const send = all ? bytesOf(all) : null, recv = bytesOf(work);
  const w = issue(
    op,
    opts.asyncOp ?? false,
    all ? [work, all] : [work],
    (tk, nb) =>
      (nb ? mpi().zeno_mpi_scatter_async : mpi().zeno_mpi_scatter)(
        tk,
        g.cpuId,
        send,
        recv,
        recv.length,
        root,
      ),
    () => {
      all?.dispose();
      done();
    },
  );
  return w ?? tensor;
}

/**
 * Waits until every rank has called it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) zn.distributed.barrier();
 * ```
 */
export function barrier(opts: AsyncOptions<CollectiveOptions>): Work;
export function barrier(opts?: CollectiveOptions): void;
export function barrier(opts: CollectiveOptions = {}): Work | void {
  const op = "barrier";
  checkOptions(op, opts, KEYS);
  const g = groupFor(op, opts.group);
  if (g.cpuId < 0) {
    ncclBarrier(op, g, g.device);
    return queued(opts.asyncOp, undefined);
  }
  return issue(
    op,
    opts.asyncOp ?? false,
    [],
    (tk, nb) => (nb ? mpi().zeno_mpi_barrier_async : mpi().zeno_mpi_barrier)(tk, g.cpuId),
    () => {},
  );
}
