/**
 * `zn.nn.functional`: the stateless forms of the layers and losses.
 *
 * @module
 */
export {
  elu,
  gelu,
  leakyRelu,
  logSoftmax,
  relu,
  sigmoid,
  silu,
  softmax,
  softplus,
  tanh,
} from "./activation.ts";
export { linear } from "./linear.ts";
export { dropout } from "./dropout.ts";
export type { DropoutOptions } from "./dropout.ts";
export { batchNorm, groupNorm, layerNorm } from "./normalization.ts";
export type { BatchNormOptions } from "./normalization.ts";
export { embedding } from "./embedding.ts";
export type { EmbeddingOptions } from "./embedding.ts";
export { pad } from "./pad.ts";
export type { PadOptions } from "./pad.ts";
export { oneHot } from "../../ops/join.ts";
export { conv1d, conv2d, convTranspose2d } from "./conv.ts";
export type { ConvOptions, ConvTransposeOptions, SizeArg } from "./conv.ts";
export { adaptiveAvgPool2d, avgPool2d, maxPool1d, maxPool2d } from "./pool.ts";
export type { AvgPoolOptions, MaxPoolOptions, PoolWithIndices } from "./pool.ts";
export {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  huberLoss,
  klDiv,
  l1Loss,
  mseLoss,
  nllLoss,
  smoothL1Loss,
} from "./loss.ts";
export type { CrossEntropyOptions, NLLOptions, Reduction, ReductionOptions } from "./loss.ts";
