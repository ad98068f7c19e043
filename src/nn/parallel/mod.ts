/**
 * `zn.nn.parallel`: multi-process training wrappers, as `torch.nn.parallel`.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.distributed.isInitialized()) new zn.nn.parallel.DistributedDataParallel(new zn.nn.Linear(2, 2));
 * ```
 *
 * @module
 */
export { DistributedDataParallel } from "./distributed_data_parallel.ts";
export type { DistributedDataParallelOptions } from "./distributed_data_parallel.ts";
