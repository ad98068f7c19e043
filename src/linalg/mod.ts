/**
 * `zn.linalg`: norms, determinants, inverses, solves and the factorizations
 * (LU, Cholesky, QR, eigh, SVD), with torch.linalg's semantics and
 * gradients. The factorizations run as batched native kernels in float64.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[4.0, 1.0], [1.0, 3.0]]);
 * zn.linalg.det(a).item(); // 11
 * ```
 *
 * @module
 */
export { det, inv, slogdet, solve, type SolveOptions } from "./lu.ts";
export { cholesky, type CholeskyOptions } from "./cholesky.ts";
export { qr, type QrOptions } from "./qr.ts";
export { eigh, type EighOptions, eigvalsh } from "./eigh.ts";
export { svd, type SvdOptions, svdvals } from "./svd.ts";
export { lstsq, type LstsqOptions, pinv, type PinvOptions } from "./pinv.ts";
export { matrixPower } from "./matrix_power.ts";
export { matrixNorm, type MatrixOrd, norm, type NormOptions, vectorNorm } from "./norms.ts";
