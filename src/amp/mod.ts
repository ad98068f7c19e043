/**
 * `zn.amp`: mixed-precision training helpers, as `torch.amp`.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.amp.GradScaler({ initScale: 2 ** 10 }).getScale(); // 1024
 * ```
 *
 * @module
 */
export * from "./grad_scaler.ts";
export { autocast, AutocastRegion, isAutocastEnabled } from "./autocast.ts";
export type { AutocastOptions } from "./autocast.ts";
