/**
 * Process groups, as `torch.distributed`'s: the default group, started once
 * per process with {@link initProcessGroup} over MPI for CPU tensors, and
 * sub-groups of its ranks made with {@link newGroup}.
 *
 * @module
 */
import { checkOptions, optionKeys } from "../options.ts";
import { env } from "../../ffi/loader.ts";
import { check, mpi, mpiInit } from "./mpi_engine.ts";
import { NCCL_ID_BYTES, ncclCheck, ncclLoad, ncclUniqueId, rendezvous } from "./nccl_engine.ts";
import { deviceCount, isAvailable as cudaAvailable, unavailableReason } from "../cuda.ts";
import { selectCudaDevice } from "../cuda_backend.ts";

/**
 * Communication backends: "mpi" (CPU tensors), "nccl" (CUDA tensors; CPU
 * ones too where MPI launched the job); "auto" picks one from the
 * launcher's environment.
 */
export type DistributedBackend = "mpi" | "nccl" | "auto";

/**
 * Options of {@link initProcessGroup}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributed.InitProcessGroupOptions = { backend: "mpi" };
 * if (zn.distributed.launchedByMpi()) zn.distributed.initProcessGroup(opts);
 * ```
 */
export interface InitProcessGroupOptions {
  /**
   * The backend (default "auto": "mpi" where an MPI launcher started the
   * process, "nccl" where torchrun-style variables (`RANK`, `WORLD_SIZE`)
   * did, else "mpi" as a world of one).
   */
  backend?: DistributedBackend;
  /**
   * Seconds one collective may wait for the other ranks (default 1800, as
   * PyTorch's; 0: forever). Past it this rank exits with a message naming
   * the collective, and the launcher stops the job instead of letting it hang.
   */
  timeout?: number;
}

const KEYS = optionKeys<InitProcessGroupOptions>({ backend: 0, timeout: 0 });

/**
 * A set of ranks that run collectives together, as PyTorch's `ProcessGroup`:
 * the default group (every rank) or one made by {@link newGroup}. Pass it as
 * a collective's `group` option. Ranks given to collectives (`src`, `dst`)
 * are global ranks, as in PyTorch; {@link ProcessGroup.rank} is this
 * process's rank within the group.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized() && zn.distributed.getWorldSize() >= 2) {
 *   const pair = zn.distributed.newGroup([0, 1]);
 *   if (pair.rank() >= 0) zn.distributed.allReduce(zn.ones([2]), { group: pair }); // [2, 2]
 * }
 * ```
 */
export class ProcessGroup {
  /** The group's global ranks, ascending; group rank i is global rank `ranks[i]`. */
  readonly ranks: readonly number[];
  /** @internal The native communicator's id (-1 on a rank outside the group). */
  readonly id: number;
  readonly #rank: number;
  /** @internal The default group's session (a destroyed default group ends every group made under it). */
  readonly session: number;
  /** @internal Set once the group is destroyed. */
  destroyed = false;
  /** The group's backend: "mpi" (CPU tensors) or "nccl" (CUDA tensors). */
  readonly backend: "mpi" | "nccl";
  /**
   * @internal The MPI communicator that carries the group's CPU tensors: its
   * own for "mpi", the world's for a "nccl" default group that MPI
   * launched, else -1 (none).
   */
  readonly cpuId: number;
  /** @internal The device of a "nccl" group's rank ("cuda:N"); "cpu" for "mpi". */
  device = "cpu";

  /** @internal Made by initProcessGroup and newGroup. */
  constructor(
    ranks: readonly number[],
    globalRank: number,
    id: number,
    session: number,
    backend: "mpi" | "nccl" = "mpi",
    cpuId = id,
  ) {
    this.ranks = Object.freeze([...ranks]);
    this.#rank = ranks.indexOf(globalRank);
    this.id = id;
    this.session = session;
    this.backend = backend;
    this.cpuId = cpuId;
  }

  /** This process's rank in the group, from 0; -1 when it is not in the group. */
  rank(): number {
    return this.#rank;
  }

  /** The number of ranks in the group. */
  size(): number {
    return this.ranks.length;
  }
}

let defaultPg: ProcessGroup | null = null;
let session = 0;

/**
 * Whether this process was started by an MPI launcher (`mpirun`, or
 * `deno task launch`, which runs it): Open MPI's or PMIx's rank variables are set.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.launchedByMpi()) zn.distributed.initProcessGroup();
 * ```
 */
export function launchedByMpi(): boolean {
  return env("OMPI_COMM_WORLD_RANK") !== undefined || env("PMIX_RANK") !== undefined;
}

/**
 * The job's place as torchrun-style variables give it (`RANK`, `WORLD_SIZE`,
 * `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`), or null where `RANK` is not
 * set; an error naming the variable when one is malformed.
 *
 * @internal
 */
export function torchrunEnv(op: string): {
  rank: number;
  size: number;
  localRank: number;
  host: string | undefined;
  port: number | undefined;
} | null {
  const rankText = env("RANK");
  if (rankText === undefined) return null;
  const int = (name: string, text: string | undefined, min: number) => {
    const v = Number(text);
    if (text === undefined || text.trim() === "" || !Number.isInteger(v) || v < min) {
      throw new RangeError(
        `${op}: ${name}=${text ?? "(unset)"} is not an integer >= ${min} (torchrun's variables: ` +
          "RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)",
      );
    }
    return v;
  };
  const rank = int("RANK", rankText, 0);
  const size = int("WORLD_SIZE", env("WORLD_SIZE"), 1);
  if (rank >= size) throw new RangeError(`${op}: RANK=${rank} is not below WORLD_SIZE=${size}`);
  const localText = env("LOCAL_RANK");
  const localRank = localText === undefined ? rank : int("LOCAL_RANK", localText, 0);
  const portText = env("MASTER_PORT");
  const port = portText === undefined ? undefined : int("MASTER_PORT", portText, 1);
  if (port !== undefined && port > 65535) {
    throw new RangeError(`${op}: MASTER_PORT=${port} is not a port (1 to 65535)`);
  }
  const host = env("MASTER_ADDR");
  if (host !== undefined && (host.length === 0 || host.length > 255)) {
    throw new RangeError(`${op}: MASTER_ADDR=${JSON.stringify(host)} is not a host name`);
  }
  return { rank, size, localRank, host, port };
}

/**
 * Starts this process's default process group: every rank of the job calls
 * it once, before any collective.
 *
 * - "mpi" (and "auto" under an MPI launcher): the rank and world size come
 *   from MPI itself; a process that no launcher started runs as a world of
 *   one. MPI starts once per process: after {@link destroyProcessGroup} it
 *   cannot start again.
 * - "nccl" (and "auto" under torchrun-style variables): CUDA tensors over
 *   NCCL, each rank on GPU `LOCAL_RANK` (modulo the GPUs it sees). The ranks
 *   come from MPI where an MPI launcher started the job (NCCL's unique id
 *   then travels over MPI, and CPU tensors keep working over MPI), else from
 *   `RANK`/`WORLD_SIZE`, with the id handed out by rank 0 over TCP at
 *   `MASTER_ADDR:MASTER_PORT`, as torchrun's store does.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * // deno task launch -n 2 train.ts
 * if (zn.distributed.launchedByMpi()) {
 *   zn.distributed.initProcessGroup({ backend: "mpi" });
 *   console.log(`rank ${zn.distributed.getRank()} of ${zn.distributed.getWorldSize()}`);
 *   zn.distributed.destroyProcessGroup();
 * }
 * ```
 */
export function initProcessGroup(opts: InitProcessGroupOptions = {}): void {
  const op = "initProcessGroup";
  checkOptions(op, opts, KEYS);
  const asked = opts.backend ?? "auto";
  if (asked !== "mpi" && asked !== "nccl" && asked !== "auto") {
    throw new TypeError(
      `${op}: backend must be "mpi", "nccl" or "auto", got ${JSON.stringify(asked)}`,
    );
  }
  const timeout = opts.timeout ?? 1800;
  if (typeof timeout !== "number" || !(timeout >= 0) || !Number.isFinite(timeout)) {
    throw new RangeError(`${op}: timeout must be a number of seconds >= 0, got ${String(timeout)}`);
  }
  if (defaultPg) throw new Error(`${op}: the default process group is already initialized`);
  const byMpi = launchedByMpi();
  const torchrun = byMpi ? null : torchrunEnv(op);
  const backend = asked !== "auto" ? asked : torchrun ? "nccl" : "mpi";
  if (backend === "nccl") {
    initNccl(op, timeout, byMpi, torchrun);
    return;
  }
  if (torchrun && torchrun.size > 1) {
    throw new Error(
      `${op}: RANK=${torchrun.rank} and WORLD_SIZE=${torchrun.size} come from a torchrun-style ` +
        `launch, but the "mpi" backend takes its ranks from an MPI launcher: start the job with ` +
        '`deno task launch -n N script.ts` (or mpirun), or use the "nccl" backend with CUDA tensors',
    );
  }
  const { rank, size } = startMpi(op, timeout);
  defaultPg = new ProcessGroup(Array.from({ length: size }, (_, r) => r), rank, 0, ++session);
}

/** Starts MPI with the collectives' timeout; the rank and world size. */
function startMpi(op: string, timeout: number): { rank: number; size: number } {
  const { rank, size } = mpiInit();
  if (
    !(Number.isInteger(rank) && Number.isInteger(size) && size >= 1 && rank >= 0 && rank < size)
  ) {
    throw new Error(`${op}: MPI reported rank ${rank} of world size ${size}`);
  }
  check(op, mpi().zeno_mpi_set_timeout(timeout));
  return { rank, size };
}

/** The "nccl" default group: a CUDA device, NCCL, the unique id from rank 0, the communicator. */
function initNccl(
  op: string,
  timeout: number,
  byMpi: boolean,
  torchrun: ReturnType<typeof torchrunEnv>,
): void {
  if (!cudaAvailable()) {
    throw new Error(
      `${op}: the "nccl" backend needs a CUDA device, and CUDA is not available here (${unavailableReason()}); ` +
        'use the "mpi" backend with CPU tensors',
    );
  }
  ncclLoad(op);
  const { rank, size, localRank, id } = ncclMeet(op, timeout, byMpi, torchrun);
  const device = localRank % deviceCount();
  selectCudaDevice(device);
  const out = new Int32Array(1);
  ncclCheck(op, mpi().zeno_nccl_init(id, size, rank, out));
  defaultPg = new ProcessGroup(
    Array.from({ length: size }, (_, r) => r),
    rank,
    out[0],
    ++session,
    "nccl",
    byMpi ? 0 : -1,
  );
  defaultPg.device = `cuda:${device}`;
}

/**
 * @internal The ranks' meeting before NCCL starts (NCCL loaded): this
 * rank's place, and the unique id rank 0 made, handed to every rank over MPI
 * (starting it) where MPI launched the job, else over the TCP rendezvous at
 * `MASTER_ADDR:MASTER_PORT`; a world of one makes its own.
 */
export function ncclMeet(
  op: string,
  timeout: number,
  byMpi: boolean,
  torchrun: ReturnType<typeof torchrunEnv>,
): { rank: number; size: number; localRank: number; id: Uint8Array } {
  let rank = 0, size = 1, localRank = 0;
  const id = new Uint8Array(NCCL_ID_BYTES);
  if (byMpi) {
    ({ rank, size } = startMpi(op, timeout));
    localRank = Number(env("OMPI_COMM_WORLD_LOCAL_RANK") ?? env("LOCAL_RANK") ?? rank);
    if (rank === 0) id.set(ncclUniqueId(op));
    check(op, mpi().zeno_mpi_broadcast(-1, 0, id, id.length, 0));
  } else if (torchrun) {
    ({ rank, size, localRank } = torchrun);
    if (rank === 0) id.set(ncclUniqueId(op));
    if (size > 1) {
      if (torchrun.host === undefined || torchrun.port === undefined) {
        throw new Error(
          `${op}: rank ${rank} of ${size}: the "nccl" backend needs MASTER_ADDR and MASTER_PORT ` +
            "(rank 0's host and a free port) to hand out NCCL's id",
        );
      }
      rendezvous(op, { host: torchrun.host, port: torchrun.port, rank, size, timeout }, id);
    }
  } else {
    id.set(ncclUniqueId(op));
  }
  return { rank, size, localRank, id };
}

/**
 * Whether the default process group is initialized.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.distributed.isInitialized(); // false until initProcessGroup()
 * ```
 */
export function isInitialized(): boolean {
  return defaultPg !== null;
}

/** @internal The default group, or an error naming `op`. */
export function defaultGroup(op: string): ProcessGroup {
  if (!defaultPg) {
    throw new Error(
      `${op}: the default process group is not initialized; call zn.distributed.initProcessGroup() first`,
    );
  }
  return defaultPg;
}

/**
 * @internal The group a collective runs on: `g`, or the default group when
 * `g` is undefined; an error naming `op` when it is not a live group or this
 * rank is not in it (`member`).
 */
export function groupFor(op: string, g: unknown, member = true): ProcessGroup {
  const world = defaultGroup(op);
  if (g === undefined || g === null) return world;
  if (!(g instanceof ProcessGroup)) {
    throw new TypeError(`${op}: group must be a ProcessGroup from zn.distributed.newGroup()`);
  }
  if (g.destroyed || g.session !== world.session) {
    throw new Error(`${op}: the process group (ranks [${g.ranks.join(", ")}]) was destroyed`);
  }
  if (member && g.rank() < 0) {
    throw new Error(
      `${op}: rank ${world.rank()} is not in the group (ranks [${
        g.ranks.join(", ")
      }]); only its members call its collectives`,
    );
  }
  return g;
}

/**
 * Makes a process group of some of the default group's ranks (all of them
 * when `ranks` is omitted), as PyTorch's `new_group`: every rank of the
 * default group calls it, in the same order as its other collectives, with
 * the same ranks, whether or not it is one of them. On a rank outside the
 * group the result's `rank()` is -1 and its collectives refuse to run. Ranks
 * are numbered in the group in ascending order of their global rank.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized() && zn.distributed.getWorldSize() >= 2) {
 *   const g = zn.distributed.newGroup([1, 0]); // group ranks: 0 -> 0, 1 -> 1
 *   if (g.rank() >= 0) zn.distributed.barrier({ group: g });
 *   zn.distributed.destroyProcessGroup(g);
 * }
 * ```
 */
export function newGroup(ranks?: readonly number[], opts: NewGroupOptions = {}): ProcessGroup {
  const op = "newGroup";
  checkOptions(op, opts, GROUP_KEYS);
  const world = defaultGroup(op);
  if (world.backend !== "mpi") {
    throw new Error(
      `${op}: sub-groups of a "nccl" default group are not supported yet; start the job with "mpi"`,
    );
  }
  if (opts.backend !== undefined && opts.backend !== "mpi") {
    throw new TypeError(
      `${op}: backend must be "mpi" (the default group's), got ${JSON.stringify(opts.backend)}`,
    );
  }
  const n = world.size();
  const list = ranks === undefined ? world.ranks : ranks;
  if (!Array.isArray(list)) {
    throw new TypeError(`${op}: ranks must be an array of global ranks`);
  }
  for (const r of list) {
    if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r >= n) {
      throw new RangeError(`${op}: ranks must be global ranks in [0, ${n}), got ${String(r)}`);
    }
  }
  const sorted = [...list].sort((a, b) => a - b);
  if (sorted.length === 0) throw new RangeError(`${op}: ranks must name at least one rank`);
  if (sorted.some((r, i) => i > 0 && r === sorted[i - 1])) {
    throw new RangeError(`${op}: ranks must be distinct, got [${list.join(", ")}]`);
  }
  const out = new Int32Array(1);
  check(op, mpi().zeno_mpi_new_group(new Int32Array(sorted), sorted.length, out));
  const g = new ProcessGroup(sorted, world.rank(), out[0], world.session);
  if ((out[0] >= 0) !== (g.rank() >= 0)) {
    throw new Error(
      `${op}: MPI's membership of rank ${world.rank()} disagrees with the ranks given`,
    );
  }
  return g;
}

/**
 * Options of {@link newGroup}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.distributed.NewGroupOptions = { backend: "mpi" };
 * if (zn.distributed.isInitialized()) zn.distributed.newGroup(undefined, opts);
 * ```
 */
export interface NewGroupOptions {
  /** The group's backend: the default group's ("mpi"), the only one so far. */
  backend?: "mpi";
}

const GROUP_KEYS = optionKeys<NewGroupOptions>({ backend: 0 });

/**
 * The global ranks of `group`, in group-rank order (as PyTorch's
 * `get_process_group_ranks`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) {
 *   zn.distributed.getProcessGroupRanks(zn.distributed.newGroup()); // [0, 1, ...]
 * }
 * ```
 */
export function getProcessGroupRanks(group: ProcessGroup): number[] {
  return [...groupFor("getProcessGroupRanks", group, false).ranks];
}

/**
 * The global rank of group rank `groupRank` in `group`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized() && zn.distributed.getWorldSize() >= 2) {
 *   zn.distributed.getGlobalRank(zn.distributed.newGroup([1]), 0); // 1
 * }
 * ```
 */
export function getGlobalRank(group: ProcessGroup, groupRank: number): number {
  const op = "getGlobalRank";
  const g = groupFor(op, group, false);
  if (!Number.isInteger(groupRank) || groupRank < 0 || groupRank >= g.size()) {
    throw new RangeError(`${op}: groupRank must be in [0, ${g.size()}), got ${String(groupRank)}`);
  }
  return g.ranks[groupRank];
}

/**
 * The rank in `group` of global rank `globalRank` (an error when it is not
 * in the group).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized() && zn.distributed.getWorldSize() >= 2) {
 *   zn.distributed.getGroupRank(zn.distributed.newGroup([1]), 1); // 0
 * }
 * ```
 */
export function getGroupRank(group: ProcessGroup, globalRank: number): number {
  const op = "getGroupRank";
  const g = groupFor(op, group, false);
  const r = g.ranks.indexOf(globalRank);
  if (r < 0) {
    throw new RangeError(
      `${op}: global rank ${String(globalRank)} is not in the group (ranks [${
        g.ranks.join(", ")
      }])`,
    );
  }
  return r;
}

/**
 * This process's rank in the default group (or in `group`), from 0; -1 when
 * it is not in `group`, as in PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getRank());
 * ```
 */
export function getRank(group?: ProcessGroup): number {
  return groupFor("getRank", group, false).rank();
}

/**
 * The number of processes in the default group (or in `group`; -1 on a rank
 * outside it, as in PyTorch).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getWorldSize());
 * ```
 */
export function getWorldSize(group?: ProcessGroup): number {
  const g = groupFor("getWorldSize", group, false);
  return g.rank() < 0 ? -1 : g.size();
}

/**
 * The backend of the default group (or of `group`): "mpi" or "nccl".
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getBackend()); // "mpi" under mpirun
 * ```
 */
export function getBackend(group?: ProcessGroup): "mpi" | "nccl" {
  return groupFor("getBackend", group, false).backend;
}

/**
 * Ends the default process group (MPI_Finalize), and with it every group
 * made from it: every rank calls it once, after its last collective;
 * collectives fail afterwards. With `group`, ends that group only: every
 * rank calls it (on a rank outside the group it only marks it destroyed).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) zn.distributed.destroyProcessGroup();
 * ```
 */
export function destroyProcessGroup(group?: ProcessGroup): void {
  const op = "destroyProcessGroup";
  const world = defaultGroup(op);
  if (group !== undefined && group !== world) {
    const g = groupFor(op, group, false);
    g.destroyed = true;
    if (g.id >= 0) check(op, mpi().zeno_mpi_free_group(g.id));
    return;
  }
  world.destroyed = true;
  defaultPg = null;
  if (world.backend === "nccl") {
    ncclCheck(op, mpi().zeno_nccl_destroy(world.id));
    if (world.cpuId < 0) return;
  }
  check(op, mpi().zeno_mpi_finalize());
}
