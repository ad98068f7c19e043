/**
 * `zn.distributed`: data-parallel training across processes, as
 * `torch.distributed`: a default process group over MPI (Open MPI, opened at
 * run time) for CPU tensors or NCCL for CUDA tensors, sub-groups, and the
 * collectives. Start the ranks with
 * `deno task launch -n 2 script.ts` (or `mpirun -n 2 deno run -A script.ts`).
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.launchedByMpi()) {
 *   zn.distributed.initProcessGroup();
 *   const g = zn.full([3], zn.distributed.getRank());
 *   zn.distributed.allReduce(g, { op: "avg" });
 *   zn.distributed.destroyProcessGroup();
 * }
 * ```
 *
 * @module
 */
export {
  destroyProcessGroup,
  getBackend,
  getGlobalRank,
  getGroupRank,
  getProcessGroupRanks,
  getRank,
  getWorldSize,
  initProcessGroup,
  isInitialized,
  launchedByMpi,
  newGroup,
  ProcessGroup,
} from "./process_group.ts";
export type {
  DistributedBackend,
  InitProcessGroupOptions,
  NewGroupOptions,
} from "./process_group.ts";
export {
  allGather,
  allReduce,
  barrier,
  broadcast,
  gather,
  reduceScatter,
  scatter,
  Work,
} from "./collectives.ts";
export type { AllReduceOptions, AsyncOptions, CollectiveOptions, ReduceOp } from "./collectives.ts";
