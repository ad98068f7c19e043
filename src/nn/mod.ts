/**
 * `zn.nn`: modules, layers, losses and initialisation, with PyTorch's
 * semantics and state-dict names.
 *
 * ```ts
 * import * as zn from "../../mod.ts";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(2, 8), new zn.nn.ReLU(), new zn.nn.Linear(8, 2));
 * const loss = zn.nn.functional.crossEntropy(net.call(zn.randn([4, 2])), zn.tensor([0n, 1n, 1n, 0n]));
 * loss.backward();
 * ```
 *
 * @module
 */
export * as functional from "./functional/mod.ts";
export * as init from "./init.ts";
export * as utils from "./utils/mod.ts";
export { Module } from "./module.ts";
export type {
  BufferOptions,
  LoadStateDictOptions,
  LoadStateDictResult,
  StateDict,
} from "./module.ts";
export { Parameter } from "./parameter.ts";
export { Identity, Linear } from "./linear.ts";
export type { LinearOptions } from "./linear.ts";
export {
  ELU,
  GELU,
  LeakyReLU,
  LogSoftmax,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Softplus,
  Tanh,
} from "./activation.ts";
export { BatchNorm, BatchNorm1d, BatchNorm2d } from "./batch_norm.ts";
export type { BatchNormModuleOptions } from "./batch_norm.ts";
export { GroupNorm, LayerNorm } from "./normalization.ts";
export type { NormOptions } from "./normalization.ts";
export { Conv1d, Conv2d, ConvTranspose2d } from "./conv.ts";
export type { ConvModuleOptions, ConvTransposeModuleOptions } from "./conv.ts";
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d } from "./pooling.ts";
export type { AvgPoolModuleOptions, MaxPoolModuleOptions } from "./pooling.ts";
export { Dropout } from "./dropout.ts";
export { Embedding } from "./embedding.ts";
export { Flatten, Unflatten } from "./flatten.ts";
export { ModuleDict, ModuleList, Sequential } from "./container.ts";
export {
  BCELoss,
  BCEWithLogitsLoss,
  CrossEntropyLoss,
  HuberLoss,
  KLDivLoss,
  L1Loss,
  MSELoss,
  NLLLoss,
  SmoothL1Loss,
} from "./loss.ts";
export type { ClassLossOptions, LossOptions } from "./loss.ts";
