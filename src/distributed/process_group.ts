/**
 * The default process group, as `torch.distributed`'s: started once per
 * process with {@link initProcessGroup}, over MPI for CPU tensors.
 *
 * @module
 */
import { checkOptions, optionKeys } from "../options.ts";
import { env } from "../../ffi/loader.ts";
import { check, mpi, mpiInit } from "./mpi_engine.ts";

/** Communication backends: "mpi" (CPU tensors); "auto" picks one from the launcher's environment. */
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
  /** The backend (default "auto": MPI where MPI launched the process). */
  backend?: DistributedBackend;
  /**
   * Seconds one collective may wait for the other ranks (default 1800, as
   * PyTorch's; 0: forever). Past it this rank exits with a message naming
   * the collective, and the launcher stops the job instead of letting it hang.
   */
  timeout?: number;
}

const KEYS = optionKeys<InitProcessGroupOptions>({ backend: 0, timeout: 0 });

interface Group {
  backend: "mpi";
  rank: number;
  size: number;
}

let group: Group | null = null;

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
 * Starts this process's default process group: every rank of the job calls
 * it once, before any collective. With "mpi" (and with "auto" under an MPI
 * launcher) the rank and world size come from MPI itself; a process that no
 * launcher started runs as a world of one. MPI starts once per process: after
 * {@link destroyProcessGroup} it cannot start again.
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
  const backend = opts.backend ?? "auto";
  if (backend !== "mpi" && backend !== "nccl" && backend !== "auto") {
    throw new TypeError(
      `${op}: backend must be "mpi", "nccl" or "auto", got ${JSON.stringify(backend)}`,
    );
  }
  const timeout = opts.timeout ?? 1800;
  if (typeof timeout !== "number" || !(timeout >= 0) || !Number.isFinite(timeout)) {
    throw new RangeError(`${op}: timeout must be a number of seconds >= 0, got ${String(timeout)}`);
  }
  if (group) throw new Error(`${op}: the default process group is already initialized`);
  if (backend === "nccl") {
    throw new Error(
      `${op}: the "nccl" backend (CUDA tensors) is not available yet; use "mpi" with CPU tensors`,
    );
  }
  const { rank, size } = mpiInit();
  if (
    !(Number.isInteger(rank) && Number.isInteger(size) && size >= 1 && rank >= 0 && rank < size)
  ) {
    throw new Error(`${op}: MPI reported rank ${rank} of world size ${size}`);
  }
  check(op, mpi().zeno_mpi_set_timeout(timeout));
  group = { backend: "mpi", rank, size };
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
  return group !== null;
}

/** @internal The default group, or an error naming `op`. */
export function defaultGroup(op: string): Group {
  if (!group) {
    throw new Error(
      `${op}: the default process group is not initialized; call zn.distributed.initProcessGroup() first`,
    );
  }
  return group;
}

/**
 * This process's rank in the default group, from 0.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getRank());
 * ```
 */
export function getRank(): number {
  return defaultGroup("getRank").rank;
}

/**
 * The number of processes in the default group.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getWorldSize());
 * ```
 */
export function getWorldSize(): number {
  return defaultGroup("getWorldSize").size;
}

/**
 * The default group's backend ("mpi").
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) console.log(zn.distributed.getBackend()); // "mpi"
 * ```
 */
export function getBackend(): "mpi" {
  return defaultGroup("getBackend").backend;
}

/**
 * Ends the default process group (MPI_Finalize): every rank calls it once,
 * after its last collective. Collectives fail afterwards.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) zn.distributed.destroyProcessGroup();
 * ```
 */
export function destroyProcessGroup(): void {
  defaultGroup("destroyProcessGroup");
  group = null;
  check("destroyProcessGroup", mpi().zeno_mpi_finalize());
}
