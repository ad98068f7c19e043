/**
 * The eigendecomposition of symmetric matrices (cyclic Jacobi in float64).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { diagEmbed } from "../ops/diagonal.ts";
import { checkSquare, matrixDims, recordMulti, runFactor, takeGrads } from "./factor.ts";

/** Options of {@linkcode eigh} and {@linkcode eigvalsh}. */
export interface EighOptions {
  /** The triangle read: "L" (the default) or "U". */
  UPLO?: "L" | "U";
}

function checkOptions(opts: EighOptions, op: string): boolean {
  for (const k of Object.keys(opts)) {
    if (k !== "UPLO") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  const uplo = opts.UPLO ?? "L";
  if (uplo !== "L" && uplo !== "U") {
    throw new RangeError(`${op}: Expected UPLO argument to be 'L' or 'U', but got ${uplo}`);
  }
  return uplo === "U";
}

/** Eigenvalues (ascending) and, if asked, eigenvectors, with no tape. */
function factor(a: Tensor, upper: boolean, vectors: boolean, op: string): Tensor[] {
  const { batchShape, batch, n } = matrixDims(a);
  return runFactor("eigh", op, [a], [
    { shape: [...batchShape, n], dtype: a.dtype as "float32" },
    ...(vectors ? [{ shape: a.shape as number[], dtype: a.dtype as "float32" }] : []),
  ], { batch, m: n, n, k: upper ? 1 : 0, vectors });
}

/**
 * Eigenvalues in ascending order and eigenvectors (as columns) of symmetric
 * matrices: `{ eigenvalues, eigenvectors }`, as PyTorch's named tuple; only
 * the triangle `UPLO` names is read. Eigenvectors are unique up to sign
 * (and within repeated eigenvalues), so compare them through what they
 * reconstruct.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { eigenvalues } = zn.linalg.eigh(zn.tensor([[2.0, 1.0], [1.0, 2.0]]));
 * eigenvalues.toArray(); // [1, 3]
 * ```
 */
export function eigh(
  a: Tensor,
  opts: EighOptions = {},
): { eigenvalues: Tensor; eigenvectors: Tensor } {
  const op = "linalg.eigh";
  const upper = checkOptions(opts, op);
  checkSquare(a, op);
  const [w, v] = noGrad(() => factor(a, upper, true, op));
  const [ww, vv] = recordMulti("linalgEigh", [a], [w, v], {}, {});
  return { eigenvalues: ww, eigenvectors: vv };
}

/**
 * The eigenvalues of symmetric matrices, ascending.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.eigvalsh(zn.tensor([[2.0, 0.0], [0.0, -1.0]])).toArray(); // [-1, 2]
 * ```
 */
export function eigvalsh(a: Tensor, opts: EighOptions = {}): Tensor {
  const op = "linalg.eigvalsh";
  const upper = checkOptions(opts, op);
  checkSquare(a, op);
  const need = a.requiresGrad;
  const [w, v] = noGrad(() => factor(a, upper, need, op));
  return need ? record("linalgEigvalsh", [a], w, { v }) : w;
}

/** @internal The rule of "linalgEigvalsh": V diag(g) Vᵀ. */
export function linalgEigvalshRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  return [s.v.mul(g.unsqueeze(-2)).matmul(s.v.mT)];
}

/**
 * @internal The rule of "linalgEigh" (PyTorch's): with E_ij = λ_j - λ_i,
 * gA = V (diag(gλ) + skew(Vᵀ gV) / E) Vᵀ, skew(X) = (X - Xᵀ)/2.
 */
export function linalgEighRule(
  _g: Tensor,
  _s: Record<string, Tensor>,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const { grads, outs } = takeGrads(c);
  const [w, v] = outs;
  const [gw, gv] = grads;
  let inner: Tensor | null = null;
  if (gv) {
    const vg = v.mT.matmul(gv);
    const skew = vg.sub(vg.mT).mul(0.5);
    const e = w.unsqueeze(-2).sub(w.unsqueeze(-1));
    // The diagonal of E is 0; skew's is too: divide by 1 there.
    const eye = diagEmbed(w.mul(0).add(1));
    inner = skew.div(e.add(eye)).mul(eye.mul(-1).add(1));
  }
  if (gw) {
    const d = diagEmbed(gw);
    inner = inner ? inner.add(d) : d;
  }
  if (!inner) return [v.matmul(v.mT).mul(0)];
  return [v.matmul(inner).matmul(v.mT)];
}
