/**
 * `zn.nn.functional`: the stateless forms of the layers and losses.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * const x = zn.randn([2, 3, 8, 8]);
 * const w = zn.randn([4, 3, 3, 3]);
 * const y = F.maxPool2d(F.relu(F.conv2d(x, w, null, { padding: 1 })), 2);
 * y.shape; // [2, 4, 4, 4]
 * ```
 *
 * @module
 */
export * from "./activation.ts";
export * from "./linear.ts";
export { bilinear } from "../bilinear.ts";
export * from "./pixel_shuffle.ts";
export * from "./interpolate.ts";
export * from "./grid_sample.ts";
export * from "./conv3d.ts";
export * from "./ctc_loss.ts";
export * from "./fold.ts";
export { cosineSimilarity, pairwiseDistance } from "../../ops/distance.ts";
export * from "./dropout.ts";
export * from "./normalization.ts";
export * from "./embedding.ts";
export * from "./pad.ts";
export * from "../../ops/one_hot.ts";
export * from "./conv.ts";
export * from "./pool.ts";
export * from "./loss.ts";
export * from "./attention.ts";
export * from "./rotary.ts";
