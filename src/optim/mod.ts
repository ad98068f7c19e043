/**
 * `zn.optim`: optimizers with fused update kernels, and learning-rate schedulers.
 *
 * @module
 */
export { Optimizer } from "./optimizer.ts";
export type { OptimizerStateDict, ParamGroup, Params, ParamState } from "./optimizer.ts";
export { SGD } from "./sgd.ts";
export type { SGDOptions } from "./sgd.ts";
export { Adam, AdamW } from "./adam.ts";
export type { AdamOptions } from "./adam.ts";
export { RMSprop } from "./rmsprop.ts";
export type { RMSpropOptions } from "./rmsprop.ts";
export { Adagrad } from "./adagrad.ts";
export type { AdagradOptions } from "./adagrad.ts";
export * as lrScheduler from "./lr_scheduler.ts";
