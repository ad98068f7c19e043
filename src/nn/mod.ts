/**
 * `zn.nn`: modules, layers, losses and initialisation, with PyTorch's
 * semantics and state-dict names.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(2, 8), new zn.nn.ReLU(), new zn.nn.Linear(8, 2));
 * const loss = zn.nn.functional.crossEntropy(net.call(zn.randn([4, 2])), zn.tensor([0n, 1n, 1n, 0n]));
 * loss.backward();
 * ```
 *
 * @module
 */
export * from "./module.ts";
export { RemovableHandle } from "./module_hooks.ts";
export * from "./summary.ts";
export * from "./parameter.ts";
export * from "./linear.ts";
export { Bilinear } from "./bilinear.ts";
export type { BilinearOptions } from "./bilinear.ts";
export * from "./pixel_shuffle.ts";
export * from "./upsample.ts";
export * from "./fold.ts";
export * from "./distance.ts";
export * from "./activation.ts";
export * from "./batch_norm.ts";
export * from "./normalization.ts";
export * from "./conv.ts";
export * from "./pooling.ts";
export * from "./dropout.ts";
export * from "./padding.ts";
export * from "./embedding.ts";
export * from "./flatten.ts";
export * from "./container.ts";
export * from "./loss.ts";
export * from "./attention.ts";
export * from "./transformer.ts";
export * from "./rnn.ts";
export * from "./rnn_cell.ts";
export * as functional from "./functional/mod.ts";
export * as init from "./init.ts";
export * as utils from "./utils/mod.ts";
export * as parallel from "./parallel/mod.ts";
