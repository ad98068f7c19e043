/**
 * Zeno: tensors, autograd-ready ops and a Zig kernel library for Deno, with
 * PyTorch's semantics.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.randn([2, 3]);
 * const b = zn.ones([3, 4]);
 * console.log(a.matmul(b).relu().sum(1));
 * ```
 *
 * @module
 */
import "./src/cpu_backend.ts";
import "./src/cuda_backend.ts";
import { init as prepareNative } from "./src/init.ts";

// Imported as a package (JSR, a URL, another project's folder), Zeno fetches
// this CPU's prebuilt native library into the cache on first use; in a
// checkout or with ZENO_LIB set this returns at once.
await prepareNative();

export { newaxis, Tensor } from "./src/tensor.ts";
export type { Dim, IndexItem, Slice, TensorLike } from "./src/tensor.ts";
export { asTypedArray, fromTypedArray } from "./src/interop.ts";
export type { AsTypedArrayOptions, FromTypedArrayOptions } from "./src/interop.ts";
export type { DType, TypedArray } from "./src/dtype.ts";
export { promoteTypes } from "./src/dtype.ts";
export { Generator, manualSeed } from "./src/random.ts";
export { getNumThreads, setNumThreads } from "./src/cpu_backend.ts";
export { init } from "./src/init.ts";
export * as cuda from "./src/cuda.ts";
export { keep, scopeDepth, tidy } from "./src/lifetime.ts";
export { grad } from "./src/autograd/engine.ts";
export type { BackwardOptions, GradOptions } from "./src/autograd/engine.ts";
export { enableGrad, isGradEnabled, noGrad } from "./src/autograd/grad_mode.ts";
export * as autograd from "./src/autograd/mod.ts";
export * as nn from "./src/nn/mod.ts";
export * as optim from "./src/optim/mod.ts";
export * as data from "./src/data/mod.ts";
export * as distributions from "./src/distributions/mod.ts";
export * as sampling from "./src/sampling/mod.ts";
export * as amp from "./src/amp/mod.ts";
export * as distributed from "./src/distributed/mod.ts";
export * as linalg from "./src/linalg/mod.ts";
export { autocast, AutocastRegion, isAutocastEnabled } from "./src/amp/autocast.ts";
export type { AutocastOptions } from "./src/amp/autocast.ts";
export * as models from "./src/models/mod.ts";
export * as metrics from "./src/metrics/mod.ts";
export * as onnx from "./src/onnx/mod.ts";
export * as serve from "./src/serve/mod.ts";
export {
  deserialize,
  deserializeMetadata,
  load,
  loadMetadata,
  loadMetadataSync,
  loadSync,
  optimizerStateFromSafetensors,
  optimizerStateToSafetensors,
  SafetensorsError,
  save,
  saveSync,
  serialize,
} from "./src/io/mod.ts";
export type {
  LoadOptions,
  NamedTensors,
  OptimizerStateDict,
  OptimizerStateOptions,
  ParamState,
  SafetensorsContent,
  SafetensorsErrorCode,
  SaveOptions,
} from "./src/io/mod.ts";
export type { Edge, GradHook, Node } from "./src/autograd/node.ts";
export {
  arange,
  bernoulli,
  empty,
  emptyLike,
  eye,
  full,
  fullLike,
  linspace,
  normal,
  ones,
  onesLike,
  rand,
  randint,
  randLike,
  randn,
  randnLike,
  randperm,
  tensor,
  uniform,
  zeros,
  zerosLike,
} from "./src/ops/creation.ts";
export type { CreateOptions, NestedArray, RandomOptions, ShapeArg } from "./src/ops/creation.ts";
export type { Storage, View } from "./src/backend.ts";
export {
  add,
  atan2,
  clamp,
  clone,
  copysign,
  div,
  eq,
  floorDivide,
  fmod,
  ge,
  gt,
  le,
  lerp,
  logicalAnd,
  logicalNot,
  logicalOr,
  logicalXor,
  lt,
  maximum,
  minimum,
  mul,
  nanToNum,
  ne,
  pow,
  remainder,
  sub,
  toDevice,
  where,
} from "./src/ops/elementwise.ts";
export {
  all,
  amax,
  amin,
  any,
  argmax,
  argmin,
  cumprod,
  cumsum,
  logcumsumexp,
  logSoftmax,
  logsumexp,
  mean,
  norm,
  prod,
  softmax,
  std,
  sum,
  variance as var,
} from "./src/ops/reduce.ts";
export { matmul } from "./src/ops/matmul.ts";
export { cat, chunk, split, stack, tril, triu } from "./src/ops/join.ts";
export {
  flip,
  movedim,
  repeat,
  repeatInterleave,
  roll,
  rot90,
  tile,
  unbind,
} from "./src/ops/rearrange.ts";
export { addmm, addmv, baddbmm, bmm, einsum, outer } from "./src/ops/products.ts";
export type { AddProductOptions } from "./src/ops/products.ts";
export { cross, diag, diagEmbed, diagonal, kron, trace } from "./src/ops/diagonal.ts";
export { cdist, cosineSimilarity, pairwiseDistance } from "./src/ops/distance.ts";
export type { CosineSimilarityOptions, PairwiseDistanceOptions } from "./src/ops/distance.ts";
export { allclose, equal, isclose } from "./src/ops/closeness.ts";
export type { CloseOptions } from "./src/ops/closeness.ts";
export {
  clampMax,
  clampMin,
  diff,
  dot,
  frac,
  hypot,
  isfinite,
  logaddexp,
  nanmean,
  nansum,
  sinc,
  xlogy,
} from "./src/ops/composite_math.ts";
export type { DiffOptions } from "./src/ops/composite_math.ts";
export {
  bucketize,
  cartesianProd,
  indexAdd,
  indexCopy,
  maskedScatter,
  maskedSelect,
  meshgrid,
  nonzero,
  searchsorted,
  take,
  takeAlongDim,
} from "./src/ops/selection.ts";
export {
  bincount,
  cummax,
  cummin,
  histc,
  kthvalue,
  median,
  mode,
  nanmedian,
  nanquantile,
  quantile,
  unique,
  uniqueConsecutive,
} from "./src/ops/order_stats.ts";
export type {
  BincountOptions,
  HistcOptions,
  QuantileOptions,
  UniqueOptions,
  ValuesIndices,
} from "./src/ops/order_stats.ts";
export type {
  BucketizeOptions,
  IndexAddOptions,
  MeshgridOptions,
  NonzeroOptions,
  SearchsortedOptions,
} from "./src/ops/selection.ts";
export { oneHot } from "./src/ops/one_hot.ts";
export { gather, indexSelect, maskedFill, scatterAdd } from "./src/ops/indexing.ts";
export {
  scatterReduce,
  type ScatterReduceOptions,
  type ScatterReduction,
} from "./src/ops/scatter_reduce.ts";
export type { IndexPutOptions } from "./src/ops/indexing.ts";
export { sort, topk } from "./src/ops/sort.ts";
export { multinomial } from "./src/ops/multinomial.ts";
export type { MultinomialOptions } from "./src/ops/multinomial.ts";
export {
  expand,
  flatten,
  narrow,
  permute,
  reshape,
  select,
  squeeze,
  transpose,
  unflatten,
  unsqueeze,
  view,
} from "./src/ops/view.ts";
export * from "./src/ops/unary_fns.ts";
