/**
 * `zn.nn.parallel.DistributedDataParallel`: data-parallel training over the
 * default process group, as PyTorch's `DistributedDataParallel`.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { Module } from "../module.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { queueBackwardCallback } from "../../autograd/engine.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { ITEMSIZE } from "../../dtype.ts";
import { cat } from "../../ops/join.ts";
import { zerosLike } from "../../ops/creation.ts";
import { allReduce, broadcast } from "../../distributed/collectives.ts";
import { mpi } from "../../distributed/mpi_engine.ts";
import { groupFor, type ProcessGroup } from "../../distributed/process_group.ts";

/**
 * Options of {@link DistributedDataParallel}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.parallel.DistributedDataParallelOptions = { bucketCapMb: 25 };
 * if (zn.distributed.isInitialized()) new zn.nn.parallel.DistributedDataParallel(new zn.nn.Linear(2, 2), opts);
 * ```
 */
export interface DistributedDataParallelOptions {
  /** Gradient bytes per all-reduce, in MiB (default 25). */
  bucketCapMb?: number;
  /**
   * Whether parameters may go without a gradient in a step (default false):
   * their buckets then reduce zeros for them. Without it, a step that leaves
   * a parameter unused is an error that names it.
   */
  findUnusedParameters?: boolean;
  /**
   * Whether each forward first copies the group's first rank's buffers
   * (batch norm statistics) to every rank (default true).
   */
  broadcastBuffers?: boolean;
  /**
   * The ranks that train this model together (default: the default group,
   * every rank); this rank must be in it, and its gradients average over it.
   */
  processGroup?: ProcessGroup;
}

const KEYS = optionKeys<DistributedDataParallelOptions>({
  bucketCapMb: 0,
  findUnusedParameters: 0,
  broadcastBuffers: 0,
  processGroup: 0,
});

interface Bucket {
  params: Tensor[];
  names: string[];
  ready: number;
  done: boolean;
  /** The bucket's gradients, flat, while their all-reduce runs. */
  flat: Tensor | null;
}

/**
 * Wraps a module for data-parallel training: every rank runs the same model
 * on its own share of each batch, and backward leaves every rank with the
 * gradient averaged over all ranks, so that identical optimizer steps keep
 * the replicas identical. At construction rank 0's parameters and buffers
 * (the first rank's of `processGroup`) are copied to every rank. Gradients are all-reduced in buckets of about
 * `bucketCapMb` MiB, each started on another thread as soon as backward has
 * accumulated all of its parameters' gradients (last layers first), while
 * backward goes on; the end of backward waits for them and writes the
 * averages. {@link DistributedDataParallel.noSync}
 * skips the reduction for gradient accumulation. The state dict's keys carry
 * the `module.` prefix, as PyTorch's do.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   const model = new zn.nn.parallel.DistributedDataParallel(new zn.nn.Linear(4, 2));
 *   const opt = new zn.optim.SGD(model.parameters(), { lr: 0.1 });
 *   model.call(zn.randn([8, 4])).square().mean().backward(); // averaged gradients on every rank
 *   opt.step();
 * }
 * ```
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  /** The wrapped module. */
  readonly module: M;
  #buckets: Bucket[] = [];
  #bucketOf = new Map<Tensor, Bucket>();
  #sync = true;
  #queued = false;
  #findUnused: boolean;
  #broadcastBuffers: boolean;
  /** The ranks it averages over; their first (global) rank's parameters and buffers are every rank's start. */
  #group: ProcessGroup;
  #failed: unknown = null;

  /** Wraps `module`; every rank constructs it at the same point, after initProcessGroup. */
  constructor(module: M, opts: DistributedDataParallelOptions = {}) {
    super();
    const op = "DistributedDataParallel";
    checkOptions(op, opts, KEYS);
    if (!(module instanceof Module)) throw new TypeError(`${op}: expected a Module`);
    const cap = opts.bucketCapMb ?? 25;
    if (typeof cap !== "number" || !(cap > 0)) {
      throw new RangeError(`${op}: bucketCapMb must be a positive number, got ${String(cap)}`);
    }
    this.#group = groupFor(op, opts.processGroup);
    this.#findUnused = opts.findUnusedParameters ?? false;
    this.#broadcastBuffers = opts.broadcastBuffers ?? true;
    this.module = module;
    const named = [...module.namedParameters()].filter(([, p]) => p.requiresGrad);
    const g = this.#group;
    for (const [n, p] of named) {
      const ok = p.device === "cpu" ? g.cpuId >= 0 : g.backend === "nccl" && p.device === g.device;
      if (!ok) {
        throw new TypeError(
          `${op}: parameter ${n} is on ${p.device}; the "${g.backend}" process group takes ${
            g.backend === "mpi" ? "CPU tensors" : `tensors on ${g.device}`
          }`,
        );
      }
    }
    const group = this.#group, src = group.ranks[0];
    noGrad(() => {
      for (const p of module.parameters()) broadcast(p, src, { group });
      for (const b of module.buffers()) broadcast(b, src, { group });
    });
    // Buckets in reverse order of registration: backward reaches the last
    // layers first, so their bucket fills first.
    const capBytes = cap * 2 ** 20;
    let cur: Bucket | null = null;
    let bytes = 0;
    for (const [n, p] of named.reverse()) {
      const size = p.numel * ITEMSIZE[p.dtype];
      if (
        !cur || (bytes + size > capBytes && cur.params.length > 0) ||
        cur.params[0].dtype !== p.dtype
      ) {
        cur = { params: [], names: [], ready: 0, done: false, flat: null };
        this.#buckets.push(cur);
        bytes = 0;
      }
      cur.params.push(p);
      cur.names.push(n);
      bytes += size;
      this.#bucketOf.set(p, cur);
      p.registerPostAccumulateGradHook((leaf) => this.#ready(leaf));
    }
  }

  /**
   * Runs the wrapped module (after copying the group's first rank's buffers,
   * unless `broadcastBuffers` is false).
   */
  // deno-lint-ignore no-explicit-any
  override forward(...args: any[]): any {
    if (this.#failed) {
      const e = this.#failed;
      this.#failed = null;
      throw new Error(
        `DistributedDataParallel: a gradient all-reduce failed: ${(e as Error).message}`,
      );
    }
    if (this.#broadcastBuffers && this.#group.size() > 1) {
      noGrad(() => {
        for (const b of this.module.buffers()) {
          broadcast(b, this.#group.ranks[0], { group: this.#group });
        }
      });
    }
    this.#reset();
    return this.module.call(...(args as Parameters<M["forward"]>));
  }

  /**
   * Runs `fn` without gradient synchronisation: backward passes inside it
   * only accumulate local gradients, and the first synchronised backward
   * after it averages the accumulated ones.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * if (zn.distributed.isInitialized()) {
   *   const model = new zn.nn.parallel.DistributedDataParallel(new zn.nn.Linear(4, 2));
   *   model.noSync(() => model.call(zn.randn([8, 4])).sum().backward());
   *   model.call(zn.randn([8, 4])).sum().backward(); // averages both micro-batches' gradients
   * }
   * ```
   */
  noSync<T>(fn: () => T): T {
    const prev = this.#sync;
    this.#sync = false;
    try {
      return fn();
    } finally {
      this.#sync = prev;
    }
  }

  #ready(p: Tensor): void {
    if (!this.#sync) return;
    const b = this.#bucketOf.get(p)!;
    if (!this.#queued) {
      this.#queued = true;
      queueBackwardCallback(() => this.#finish());
    }
    b.ready++;
    if (b.ready === b.params.length) this.#reduce(b);
  }

  /** The end of a synchronised backward: buckets with parameters that got no gradient. */
  #finish(): void {
    this.#queued = false;
    const left = this.#buckets.filter((b) => !b.done);
    if (left.length && !this.#findUnused) {
      const names = left.flatMap((b) => b.names.filter((_, i) => !b.params[i].grad));
      this.#reset();
      throw new Error(
        `DistributedDataParallel: parameters got no gradient in this backward pass (${
          names.join(", ") || "some"
        }); every rank must use every parameter, or pass { findUnusedParameters: true }`,
      );
    }
    for (const b of left) this.#reduce(b);
    // Every bucket's all-reduce was issued; wait for all of them (they ran
    // on another thread while backward went on) and write the averages back.
    mpi().zeno_mpi_fence();
    noGrad(() => {
      for (const b of this.#buckets) {
        const flat = b.flat;
        if (!flat) continue;
        flat.div_(this.#group.size());
        let at = 0;
        for (const p of b.params) {
          const n = p.numel;
          // A fresh tensor per parameter: backward may hand one gradient
          // tensor to several leaves, so none is changed in place.
          p.grad = flat.narrow(0, at, n).reshape(p.shape).clone();
          at += n;
        }
        flat.dispose();
      }
    });
    this.#reset();
  }

  /** Every bucket empty again: the next backward starts counting from zero. */
  #reset(): void {
    for (const b of this.#buckets) {
      b.ready = 0;
      b.done = false;
      b.flat = null;
    }
  }

  /**
   * Starts summing one bucket's gradients over all ranks, as one flat
   * all-reduce on another thread; the end of backward waits for it.
   */
  #reduce(b: Bucket): void {
    b.done = true;
    noGrad(() => {
      // A parameter without a gradient (findUnusedParameters) adds zeros.
      const zeros = b.params.filter((p) => !p.grad).map((p) => zerosLike(p));
      let z = 0;
      const flat = cat(b.params.map((p) => (p.grad ?? zeros[z++]).reshape([-1])), 0);
      for (const t of zeros) t.dispose();
      // The end-of-backward callback (still inside the pass) averages and frees it.
      b.flat = flat;
      allReduce(flat, { asyncOp: true, group: this.#group }).wait().catch((e) => {
        this.#failed = e;
      });
    });
  }
}
