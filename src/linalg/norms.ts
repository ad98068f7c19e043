/**
 * Vector and matrix norms, as torch.linalg's.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type DType, floatTensorHint } from "../dtype.ts";
import { normDim } from "../shape.ts";
import { checkTensor } from "../args.ts";
import { norm as pNorm } from "../ops/reduce.ts";
import { checkMatrix } from "./factor.ts";
import { svdvals } from "./svd.ts";

/** Options of the norms. */
export interface NormOptions {
  /** Compute in (and return) this floating dtype. */
  dtype?: DType;
}

function checkOptions(opts: NormOptions, op: string): void {
  for (const k of Object.keys(opts)) {
    if (k !== "dtype") throw new TypeError(`${op}: unknown option '${k}'`);
  }
}

function floatInput(x: Tensor, opts: NormOptions, op: string): Tensor {
  const d = opts.dtype ?? x.dtype;
  if (d !== "float32" && d !== "float64" && d !== "float16" && d !== "bfloat16") {
    throw new TypeError(
      `${op}: Expected a floating point tensor as input. Got ${d}${floatTensorHint(d)}`,
    );
  }
  return x.dtype === d ? x : x.to(d);
}

/**
 * The vector norm of `x` over `dim` (all elements when omitted): `ord` 2 by
 * default; any real p, Infinity, -Infinity and 0 (the count of non-zeros).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.vectorNorm(zn.tensor([3.0, -4.0])).item(); // 5
 * zn.linalg.vectorNorm(zn.tensor([3.0, -4.0]), Infinity).item(); // 4
 * ```
 */
export function vectorNorm(
  x: Tensor,
  ord = 2,
  dim?: number | number[] | null,
  keepdim = false,
  opts: NormOptions = {},
): Tensor {
  const op = "linalg.vectorNorm";
  checkOptions(opts, op);
  checkTensor(x, op, "x");
  const xf = floatInput(x, opts, op);
  return pNorm(xf, ord, dim ?? undefined, keepdim);
}

/** The matrix norms' orders. */
export type MatrixOrd = "fro" | "nuc" | number;

/**
 * The matrix norm over the two dims `dim` (the last two by default):
 * "fro" (the default), "nuc", Infinity/-Infinity (max/min absolute row
 * sum), 1/-1 (max/min absolute column sum), 2/-2 (largest/smallest
 * singular value).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[1.0, -2.0], [3.0, 4.0]]);
 * zn.linalg.matrixNorm(a, 1).item(); // 6
 * zn.linalg.matrixNorm(a, Infinity).item(); // 7
 * ```
 */
export function matrixNorm(
  a: Tensor,
  ord: MatrixOrd = "fro",
  dim: [number, number] = [-2, -1],
  keepdim = false,
  opts: NormOptions = {},
): Tensor {
  const op = "linalg.matrixNorm";
  checkOptions(opts, op);
  checkTensor(a, op, "A");
  if (a.ndim < 2) {
    throw new RangeError(`${op}: The input tensor A must have at least 2 dimensions.`);
  }
  const af = floatInput(a, opts, op);
  const d0 = normDim(dim[0], a.ndim, op), d1 = normDim(dim[1], a.ndim, op);
  if (d0 === d1) throw new RangeError(`${op}: dims must be different. Got (${dim[0]}, ${dim[1]})`);
  if (ord === "fro") return pNorm(af, 2, [d0, d1], keepdim);
  const valid = ord === "nuc" || ord === 1 || ord === -1 || ord === 2 || ord === -2 ||
    ord === Infinity || ord === -Infinity;
  if (!valid) {
    throw new RangeError(`${op}: Order ${ord} not supported.`);
  }
  let r: Tensor;
  if (ord === "nuc" || ord === 2 || ord === -2) {
    // Singular values of the matrices that dims d0, d1 make.
    checkMatrix(af, op);
    const moved = af.movedim([d0, d1], [-2, -1]);
    const sv = svdvals(moved);
    r = ord === "nuc" ? sv.sum(-1) : ord === 2 ? sv.amax(-1) : sv.amin(-1);
    if (keepdim) {
      const lo = Math.min(d0, d1), hi = Math.max(d0, d1);
      r = r.unsqueeze(lo).unsqueeze(hi);
    }
    return r;
  }
  // 1: max over columns of the sum over rows; Infinity: the reverse.
  const [sumDim, maxDim] = ord === 1 || ord === -1 ? [d0, d1] : [d1, d0];
  const sums = af.abs().sum(sumDim, true);
  r = ord > 0 ? sums.amax(maxDim, true) : sums.amin(maxDim, true);
  return keepdim ? r : r.squeeze([d0, d1]);
}

/**
 * torch.linalg.norm: a matrix norm when `ord` is a string or `dim` names two
 * dims, or when `ord` is given and `dim` is not (A 2-D); otherwise the vector
 * 2-norm (of all elements when `dim` is omitted).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.norm(zn.tensor([[3.0, 0.0], [0.0, 4.0]])).item(); // 5
 * zn.linalg.norm(zn.tensor([[3.0, 0.0], [0.0, 4.0]]), "nuc").item(); // 7
 * ```
 */
export function norm(
  a: Tensor,
  ord?: MatrixOrd | null,
  dim?: number | number[] | null,
  keepdim = false,
  opts: NormOptions = {},
): Tensor {
  const op = "linalg.norm";
  checkTensor(a, op, "A");
  const dims = dim === undefined || dim === null ? null : Array.isArray(dim) ? dim : [dim];
  if (ord === undefined || ord === null) {
    if (dims && dims.length === 2) {
      return matrixNorm(a, "fro", dims as [number, number], keepdim, opts);
    }
    return vectorNorm(a, 2, dims, keepdim, opts);
  }
  if (dims && dims.length === 2) return matrixNorm(a, ord, dims as [number, number], keepdim, opts);
  if (dims && dims.length === 1) {
    if (typeof ord === "string") throw new RangeError(`${op}: ord '${ord}' needs two dims`);
    return vectorNorm(a, ord, dims, keepdim, opts);
  }
  if (a.ndim === 2) return matrixNorm(a, ord, [-2, -1], keepdim, opts);
  if (a.ndim === 1 && typeof ord === "number") return vectorNorm(a, ord, null, keepdim, opts);
  throw new RangeError(
    `${op}: If dim is not specified but ord is, the input must be 1D or 2D. Got ${a.ndim}D.`,
  );
}
