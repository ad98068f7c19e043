/**
 * The functions built on the LU factorization with partial pivoting:
 * `det`, `slogdet`, `inv` and `solve`, with PyTorch's semantics and
 * gradients.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { checkTensor } from "../args.ts";
import { fmtShape } from "../shape.ts";
import { broadcastShapes } from "../shape.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { arange, eye, ones } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { svdParts } from "./svd.ts";
import { sumTo } from "../autograd/rules.ts";
import { batchPrefix, checkSquare, firstFailure, matrixDims, runFactor } from "./factor.ts";

/** @internal LU factors of square `a`: `{ lu, piv, info }` (nothing recorded). */
export function luFactor(a: Tensor, op: string): { lu: Tensor; piv: Tensor; info: Tensor } {
  const { batchShape, batch, n } = matrixDims(a);
  const [lu, piv, info] = runFactor("lu", op, [a], [
    { shape: a.shape as number[], dtype: a.dtype as "float32" },
    { shape: [...batchShape, n], dtype: "int32" },
    { shape: batchShape, dtype: "int32" },
  ], { batch, m: n, n });
  return { lu, piv, info };
}

/** @internal X = A⁻¹B from LU factors; b: [..., n, k] with a's batch shape. */
export function luSolve(lu: Tensor, piv: Tensor, b: Tensor, op: string): Tensor {
  const { batch, n } = matrixDims(lu);
  const k = b.shape[b.ndim - 1];
  return noGrad(() => {
    const x = b.detach().contiguous().clone();
    runFactor("luSolve", op, [lu, piv, x], [], { batch, m: n, n, k });
    return x;
  });
}

function raiseSingular(a: Tensor, info: Tensor, op: string, what: string): void {
  const bad = firstFailure(info);
  if (!bad) return;
  throw new RangeError(
    `${op}: ${
      batchPrefix(a, bad.index)
    }The diagonal element ${bad.code} is zero, the ${what} could not be completed because the input matrix is singular.`,
  );
}

/** The sign of the row permutation in `piv` and the product of U's diagonal's signs. */
function signAndLogAbs(lu: Tensor, piv: Tensor): { sign: Tensor; logabs: Tensor } {
  return noGrad(() => {
    const n = lu.shape[lu.ndim - 1];
    const d = lu.diagonal(0, -2, -1);
    const swaps = piv.ne(arange(n, { dtype: "int32", device: piv.device })).sum(-1);
    const permSign = swaps.remainder(2).mul(-2).add(1).to(lu.dtype);
    const sign = d.sign().prod(-1).mul(permSign);
    const logabs = d.abs().log().sum(-1);
    return { sign, logabs };
  });
}

/**
 * The determinant of square matrices (batches too). Its gradient is
 * `det(A) A⁻ᵀ`, and on singular matrices PyTorch's too (through the SVD).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.det(zn.tensor([[2.0, 1.0], [1.0, 3.0]])).item(); // 5
 * ```
 */
export function det(a: Tensor): Tensor {
  checkSquare(a, "linalg.det");
  const n = a.shape[a.ndim - 1];
  const [out, info] = noGrad((): [Tensor, Tensor | null] => {
    if (n === 0) return [ones(a.shape.slice(0, -2), { dtype: a.dtype, device: a.device }), null];
    const { lu, piv, info } = luFactor(a, "linalg.det");
    const { sign } = signAndLogAbs(lu, piv);
    return [lu.diagonal(0, -2, -1).abs().prod(-1).mul(sign), info];
  });
  // The factorization's status tells the rule whether A⁻¹ exists.
  return record("linalgDet", [a], out, { a, out }, { info });
}

/** @internal The rule of "linalgDet". */
export function linalgDetRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const a = s.a, out = s.out;
  const info = c.info as Tensor | null;
  if (info === null) return [a.mul(0)];
  const scale = g.mul(out).unsqueeze(-1).unsqueeze(-1);
  if (!noGrad(() => info.ne(0).any().item())) return [scale.mul(inv(a).mT)];
  // Singular somewhere: the adjugate through the SVD, adj(A)ᵀ = U adj(S) Vᵀ
  // det(U) det(V) with adj(S)_i the product of the other singular values.
  return [noGrad(() => {
    const { u, s: sv, vh } = svdParts(a);
    const n = sv.shape[sv.ndim - 1];
    const others: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const before = sv.narrow(-1, 0, i).prod(-1, true);
      const after = sv.narrow(-1, i + 1, n - i - 1).prod(-1, true);
      others.push(before.mul(after));
    }
    const adjS = cat(others, -1);
    const signs = det(u).mul(det(vh)).unsqueeze(-1).unsqueeze(-1);
    return g.unsqueeze(-1).unsqueeze(-1).mul(u.mul(adjS.unsqueeze(-2)).matmul(vh)).mul(signs);
  })];
}

/**
 * The sign and natural log of the absolute value of the determinant:
 * `{ sign, logabsdet }`, as PyTorch's named tuple. Only `logabsdet` carries
 * a gradient (`A⁻ᵀ`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { sign, logabsdet } = zn.linalg.slogdet(zn.tensor([[-2.0, 0.0], [0.0, 3.0]]));
 * sign.item(); // -1
 * logabsdet.item(); // Math.log(6)
 * ```
 */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  checkSquare(a, "linalg.slogdet");
  const n = a.shape[a.ndim - 1];
  const [sign, logabs] = noGrad(() => {
    if (n === 0) {
      const one = ones(a.shape.slice(0, -2), { dtype: a.dtype, device: a.device });
      return [one, one.mul(0)];
    }
    const { lu, piv } = luFactor(a, "linalg.slogdet");
    const r = signAndLogAbs(lu, piv);
    return [r.sign, r.logabs];
  });
  return { sign, logabsdet: record("linalgLogAbsDet", [a], logabs, { a }) };
}

/** @internal The rule of "linalgLogAbsDet". */
export function linalgLogAbsDetRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  return [g.unsqueeze(-1).unsqueeze(-1).mul(inv(s.a).mT)];
}

/**
 * The inverse of square matrices (batches too); a singular matrix raises.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linalg.inv(zn.tensor([[2.0, 0.0], [0.0, 4.0]])).toArray(); // [[0.5, 0], [0, 0.25]]
 * ```
 */
export function inv(a: Tensor): Tensor {
  checkSquare(a, "linalg.inv");
  const out = noGrad(() => {
    const { batchShape, n } = matrixDims(a);
    if (n === 0) return a.clone();
    const { lu, piv, info } = luFactor(a, "linalg.inv");
    raiseSingular(a, info, "linalg.inv", "inversion");
    const id = eye(n, { dtype: a.dtype, device: a.device }).expand([...batchShape, n, n]);
    return luSolve(lu, piv, id, "linalg.inv");
  });
  return record("linalgInv", [a], out, { out });
}

/** @internal The rule of "linalgInv": -A⁻ᵀ g A⁻ᵀ. */
export function linalgInvRule(g: Tensor, s: Record<string, Tensor>): (Tensor | null)[] {
  const xt = s.out.mT;
  return [xt.matmul(g).matmul(xt).neg()];
}

/** Options of {@linkcode solve}. */
export interface SolveOptions {
  /** Solve AX = B (true, the default) or XA = B. */
  left?: boolean;
}

/**
 * The solution X of AX = B (or XA = B with `left: false`) for square,
 * invertible A; batch dims broadcast. B may be a vector (`[..., n]`), as in
 * PyTorch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[3.0, 1.0], [1.0, 2.0]]);
 * zn.linalg.solve(a, zn.tensor([9.0, 8.0])).toArray(); // [2, 3]
 * ```
 */
export function solve(a: Tensor, b: Tensor, opts: SolveOptions = {}): Tensor {
  const op = "linalg.solve";
  for (const k of Object.keys(opts)) {
    if (k !== "left") throw new TypeError(`${op}: unknown option '${k}'`);
  }
  const left = opts.left ?? true;
  checkSquare(a, op);
  checkTensor(b, op, "B");
  if (b.dtype !== a.dtype) {
    throw new TypeError(
      `${op}: expected A and B to have the same dtype, got ${a.dtype} and ${b.dtype}`,
    );
  }
  const n = a.shape[a.ndim - 1];
  // A vector B: [n], or A's batch shape and n.
  const vector = b.ndim === 1 ||
    (b.ndim === a.ndim - 1 && b.shape.every((s, i) => s === a.shape[i]));
  if (vector) {
    const x = solve(a, b.unsqueeze(left ? -1 : -2), opts);
    return x.squeeze(left ? -1 : -2);
  }
  if (b.ndim < 2) {
    throw new RangeError(
      `${op}: expected B to have at least 1 dimension, got ${fmtShape(b.shape)}`,
    );
  }
  const rows = left ? b.shape[b.ndim - 2] : b.shape[b.ndim - 1];
  if (rows !== n) {
    throw new RangeError(
      `${op}: Incompatible shapes of A and B for the equation ${left ? "AX = B" : "XA = B"} (${
        fmtShape(a.shape.slice(-2))
      } and ${fmtShape(b.shape.slice(-2))})`,
    );
  }
  if (!left) return solve(a.mT, b.mT).mT;
  const batchShape = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const k = b.shape[b.ndim - 1];
  const out = noGrad(() => {
    const ab = a.expand([...batchShape, n, n]);
    const bb = b.expand([...batchShape, n, k]);
    if (n === 0 || k === 0) return bb.contiguous().clone();
    const { lu, piv, info } = luFactor(ab, op);
    raiseSingular(ab, info, op, "solve");
    return luSolve(lu, piv, bb, op);
  });
  return record("linalgSolve", [a, b], out, { a, out });
}

/** @internal The rule of "linalgSolve": gB = A⁻ᵀ g, gA = -gB Xᵀ (summed over broadcast dims). */
export function linalgSolveRule(
  g: Tensor,
  s: Record<string, Tensor>,
  _c: Record<string, unknown>,
  node: { edges: ({ shape: readonly number[] } | null)[] },
): (Tensor | null)[] {
  const gb = solve(s.a.mT, g);
  const ea = node.edges[0], eb = node.edges[1];
  return [
    ea ? sumTo(gb.matmul(s.out.mT).neg(), ea.shape) : null,
    eb ? sumTo(gb, eb.shape) : null,
  ];
}
