/**
 * `zn.nn.utils`: gradient clipping.
 *
 * @module
 */
export { clipGradNorm_, clipGradValue_ } from "./clip_grad.ts";
