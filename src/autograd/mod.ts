/**
 * `zn.autograd`: gradient checking and the tape's building blocks.
 *
 * @module
 */
export { gradcheck } from "./gradcheck.ts";
export type { GradcheckOptions } from "./gradcheck.ts";
