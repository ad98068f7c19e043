/**
 * `zn.autograd`: gradient checking and the tape's building blocks.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([3], { dtype: "float64", requiresGrad: true });
 * zn.autograd.gradcheck((t) => t.mul(t).sin().sum(), [x]); // true
 * ```
 *
 * @module
 */
export * from "./gradcheck.ts";
export { Function, FunctionCtx } from "./function.ts";
export * as functional from "./functional.ts";
export { detectAnomaly, inferenceMode, isAnomalyEnabled } from "./anomaly.ts";
export type { AnomalyOptions } from "./anomaly.ts";
