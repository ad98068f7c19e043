/**
 * The pseudoinverse and least squares, through the SVD.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkTensor } from "../args.ts";
import { fmtShape } from "../shape.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { zeros } from "../ops/creation.ts";
import { checkMatrix, matrixDims } from "./factor.ts";
import { svdParts } from "./svd.ts";

/** Options of {@linkcode pinv}. */
export interface PinvOptions {
  /** Absolute tolerance: singular values at or below it count as zero (default 0). */
  atol?: number;
  /**
   * Relative tolerance, times the largest singular value. Default:
   * eps(dtype) · max(m, n) when neither tolerance is given, else 0.
   */
  rtol?: number;
  /** A is symmetric (the result is the same; kept for PyTorch's signature). */
  hermitian?: boolean;
}

const EPS = { float32: 1.1920928955078125e-7, float64: 2.220446049250313e-16 } as const;

/** V diag(1/S masked) Uᵀ with no tape. */
function pinvValue(a: Tensor, atol: number, rtol: number): Tensor {
  return noGrad(() => {
    const { m, n } = matrixDims(a);
    if (m === 0 || n === 0) {
      return zeros([...a.shape.slice(0, -2), n, m], { dtype: a.dtype, device: a.device });
    }
    const { u, s, vh } = svdParts(a);
    const cutoff = s.amax(-1, true).mul(rtol).clampMin(atol);
    const keep = s.gt(cutoff);
    const sinv = s.reciprocal().where(keep, 0);
    return vh.mT.mul(sinv.unsqueeze(-2)).matmul(u.mT);
  });
}

/**
 * The Moore-Penrose pseudoinverse of matrices (batches too), through the
 * SVD: singular values at or below max(atol, rtol · σ_max) count as zero.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.pinv(zn.tensor([[2.0, 0.0], [0.0, 0.0]])).toArray(); // [[0.5, 0], [0, 0]]
 * ```
 */
export function pinv(a: Tensor, opts: PinvOptions = {}): Tensor {
  const op = "linalg.pinv";
  for (const k of Object.keys(opts)) {
    if (k !== "atol" && k !== "rtol" && k !== "hermitian") {
      throw new TypeError(`${op}: unknown option '${k}'`);
    }
  }
  checkMatrix(a, op);
  const { m, n } = matrixDims(a);
  const atol = opts.atol ?? 0;
  const rtol = opts.rtol ??
    (opts.atol !== undefined && opts.atol > 0 ? 0 : EPS[a.dtype as "float32"] * Math.max(m, n));
  const out = pinvValue(a, atol, rtol);
  return record("linalgPinv", [a], out, { a, out });
}

/** @internal The rule of "linalgPinv" (PyTorch's pinv_backward). */
export function linalgPinvRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  const a = s.a, p = s.out;
  const m = a.shape[a.ndim - 2], n = a.shape[a.ndim - 1];
  const ph = p.mT, gh = g.mT;
  if (m <= n) {
    const k = gh.matmul(p);
    const kph = k.matmul(ph);
    return [
      p.matmul(k).mT.neg().add(kph).sub(a.matmul(p).matmul(kph))
        .add(ph.matmul(p).matmul(gh.sub(k.matmul(a)))),
    ];
  }
  const k = p.matmul(gh);
  const phk = ph.matmul(k);
  return [
    k.matmul(p).mT.neg().add(phk).sub(phk.matmul(p).matmul(a))
      .add(gh.sub(a.matmul(k)).matmul(p).matmul(ph)),
  ];
}

/** Options of {@linkcode lstsq}. */
export interface LstsqOptions {
  /** Singular values below rcond · σ_max count as zero (default eps(dtype) · max(m, n)). */
  rcond?: number;
  /** LAPACK's driver name in PyTorch; every driver gives the minimum-norm solution here. */
  driver?: "gels" | "gelsy" | "gelsd" | "gelss";
}

/**
 * The least-squares solution of AX = B with the smallest norm:
 * `{ solution, residuals, rank, singularValues }`, as PyTorch's named tuple
 * (its CPU default driver: residuals when m > n and every A has full rank,
 * else empty; the rank; no singular values).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]);
 * zn.linalg.lstsq(a, zn.tensor([[1.0], [2.0], [3.0]])).solution.toArray(); // [[1], [2]]
 * ```
 */
export function lstsq(
  a: Tensor,
  b: Tensor,
  opts: LstsqOptions = {},
): { solution: Tensor; residuals: Tensor; rank: Tensor; singularValues: Tensor } {
  const op = "linalg.lstsq";
  for (const k of Object.keys(opts)) {
    if (k !== "rcond" && k !== "driver") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  const driver = opts.driver ?? "gelsy";
  if (!["gels", "gelsy", "gelsd", "gelss"].includes(driver)) {
    throw new RangeError(
      `${op}: parameter \`driver\` should be one of (gels, gelsy, gelsd, gelss), got ${driver}`,
    );
  }
  checkMatrix(a, op);
  checkTensor(b, op, "B");
  if (b.dtype !== a.dtype) {
    throw new TypeError(
      `${op}: Expected input and other to have the same dtype, but got ${a.dtype} and ${b.dtype}`,
    );
  }
  const vector = b.ndim === a.ndim - 1;
  const bm = vector ? b.unsqueeze(-1) : b;
  const { m, n } = matrixDims(a);
  if (bm.ndim < 2 || bm.shape[bm.ndim - 2] !== m) {
    throw new RangeError(
      `${op}: input.size(-2) should match other.size(-2), got A ${fmtShape(a.shape)} and B ${
        fmtShape(b.shape)
      }`,
    );
  }
  const rcond = opts.rcond ?? EPS[a.dtype as "float32"] * Math.max(m, n);
  const sol = pinv(a, { rtol: rcond }).matmul(bm);
  const solution = vector ? sol.squeeze(-1) : sol;
  const [residuals, rank, s] = noGrad(() => {
    const s = svdParts(a, false, false).s;
    const rank = m === 0 || n === 0
      ? zeros(a.shape.slice(0, -2), { dtype: "int64", device: a.device })
      : s.gt(s.amax(-1, true).mul(rcond)).sum(-1).to("int64");
    const full = m > n && n > 0 && (rank.eq(n).all().item() as boolean);
    const residuals = full && driver !== "gelsy"
      ? a.matmul(sol).sub(bm).square().sum(-2)
      : zeros([0], { dtype: a.dtype, device: a.device });
    return [residuals, rank, s];
  });
  const singularValues = driver === "gelsd" || driver === "gelss"
    ? s
    : zeros([0], { dtype: a.dtype, device: a.device });
  return {
    solution,
    residuals: vector && residuals.numel ? residuals.squeeze(-1) : residuals,
    rank: driver === "gels" ? zeros([0], { dtype: "int64", device: a.device }) : rank,
    singularValues,
  };
}
