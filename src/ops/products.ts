/**
 * Products beside matmul: bmm, baddbmm, addmm, addmv, outer and einsum,
 * composed from matmul, views and elementwise ops (their gradients come from
 * those ops' rules).
 *
 * @module
 */
import { broadcastShapes, fmtShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { checkArray, checkNumber, checkString, checkTensor } from "../args.ts";
import { checkOptions } from "../options.ts";
import { add, mul } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { diagonal } from "./diagonal.ts";
import { sum } from "./reduce.ts";
import { permute, reshape, unsqueeze } from "./view.ts";
import { lowerPrecision } from "../amp/autocast.ts";

/** Options of {@link baddbmm}, {@link addmm} and {@link addmv}: `beta * input + alpha * product`. */
export interface AddProductOptions {
  /** Scales `input` (default 1; 0 ignores it, NaN and infinities included). */
  beta?: number;
  /** Scales the product (default 1). */
  alpha?: number;
}
const ADD_PRODUCT_KEYS = ["beta", "alpha"] as const;

function checkDims(x: Tensor, n: number, op: string, name: string): void {
  if (x.ndim !== n) {
    throw new RangeError(`${op}: expected ${name} to be ${n}-D, got shape ${fmtShape(x.shape)}`);
  }
}

/**
 * Batched matrix product of 3-D tensors: `[b, n, m] @ [b, m, p] -> [b, n, p]`
 * (no broadcasting, as `torch.bmm`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.bmm(zn.ones([2, 3, 4]), zn.ones([2, 4, 5])).shape; // [2, 3, 5]
 * ```
 */
export function bmm(a: Tensor, b: Tensor): Tensor {
  [a, b] = lowerPrecision(a, b) as [Tensor, Tensor];
  checkTensor(a, "bmm", "input");
  checkTensor(b, "bmm", "mat2");
  checkDims(a, 3, "bmm", "input");
  checkDims(b, 3, "bmm", "mat2");
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new RangeError(
      `bmm: expected shapes [b, n, m] and [b, m, p], got ${fmtShape(a.shape)} and ${
        fmtShape(b.shape)
      }`,
    );
  }
  return matmul(a, b);
}

/** beta * input + alpha * product, with PyTorch's rule that beta 0 ignores input. */
function addScaled(op: string, input: Tensor, product: Tensor, opts: AddProductOptions): Tensor {
  checkOptions(op, opts, ADD_PRODUCT_KEYS);
  const beta = opts.beta ?? 1, alpha = opts.alpha ?? 1;
  checkNumber(beta, op, "beta");
  checkNumber(alpha, op, "alpha");
  // input broadcasts to the product's shape, never beyond it.
  const shape = broadcastShapes(op, input.shape, product.shape);
  if (fmtShape(shape) !== fmtShape(product.shape)) {
    throw new RangeError(
      `${op}: input of shape ${fmtShape(input.shape)} does not broadcast to the product's shape ${
        fmtShape(product.shape)
      }`,
    );
  }
  const scaled = alpha === 1 ? product : mul(product, alpha);
  if (beta === 0) return scaled;
  return add(beta === 1 ? input : mul(input, beta), scaled);
}

/**
 * `beta * input + alpha * bmm(batch1, batch2)`; input broadcasts to the
 * product's shape.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const c = zn.zeros([2, 3, 5]);
 * zn.baddbmm(c, zn.ones([2, 3, 4]), zn.ones([2, 4, 5]), { alpha: 0.5 }).max().item(); // 2
 * ```
 */
export function baddbmm(
  input: Tensor,
  batch1: Tensor,
  batch2: Tensor,
  opts: AddProductOptions = {},
): Tensor {
  [input, batch1, batch2] = lowerPrecision(input, batch1, batch2) as [Tensor, Tensor, Tensor];
  checkTensor(input, "baddbmm", "input");
  return addScaled("baddbmm", input, bmm(batch1, batch2), opts);
}

/**
 * `beta * input + alpha * (mat1 @ mat2)` for 2-D mat1 and mat2; input
 * broadcasts to the product's shape.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.addmm(zn.ones([3]), zn.ones([2, 4]), zn.ones([4, 3])).toArray(); // [[5, 5, 5], [5, 5, 5]]
 * ```
 */
export function addmm(
  input: Tensor,
  mat1: Tensor,
  mat2: Tensor,
  opts: AddProductOptions = {},
): Tensor {
  [input, mat1, mat2] = lowerPrecision(input, mat1, mat2) as [Tensor, Tensor, Tensor];
  checkTensor(input, "addmm", "input");
  checkTensor(mat1, "addmm", "mat1");
  checkTensor(mat2, "addmm", "mat2");
  checkDims(mat1, 2, "addmm", "mat1");
  checkDims(mat2, 2, "addmm", "mat2");
  if (mat1.shape[1] !== mat2.shape[0]) {
    throw new RangeError(
      `addmm: mat1 and mat2 shapes cannot be multiplied (${fmtShape(mat1.shape)} and ${
        fmtShape(mat2.shape)
      })`,
    );
  }
  return addScaled("addmm", input, matmul(mat1, mat2), opts);
}

/**
 * `beta * input + alpha * (mat @ vec)` for a 2-D mat and a 1-D vec.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.addmv(zn.zeros([2]), zn.ones([2, 3]), zn.ones([3])).toArray(); // [3, 3]
 * ```
 */
export function addmv(
  input: Tensor,
  mat: Tensor,
  vec: Tensor,
  opts: AddProductOptions = {},
): Tensor {
  checkTensor(input, "addmv", "input");
  checkTensor(mat, "addmv", "mat");
  checkTensor(vec, "addmv", "vec");
  checkDims(mat, 2, "addmv", "mat");
  checkDims(vec, 1, "addmv", "vec");
  if (mat.shape[1] !== vec.shape[0]) {
    throw new RangeError(
      `addmv: size mismatch, got mat ${fmtShape(mat.shape)} and vec ${fmtShape(vec.shape)}`,
    );
  }
  return addScaled("addmv", input, matmul(mat, vec), opts);
}

/**
 * The outer product of two 1-D tensors: `[n] x [m] -> [n, m]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.outer(zn.tensor([1, 2]), zn.tensor([1, 10, 100])).toArray(); // [[1, 10, 100], [2, 20, 200]]
 * ```
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "outer", "input");
  checkTensor(b, "outer", "vec2");
  checkDims(a, 1, "outer", "input");
  checkDims(b, 1, "outer", "vec2");
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

// ---------------------------------------------------------------- einsum

/** One operand's subscripts, one letter per dim (ellipsis dims as letters of their own). */
interface Term {
  labels: string[];
  x: Tensor;
}

const LETTER = /^[a-zA-Z]$/;

/** Parses `equation` for `operands`: each operand's labels and the output's. */
function parseEquation(equation: string, operands: readonly Tensor[]): [string[][], string[]] {
  const eq = equation.replace(/\s+/g, "");
  const arrow = eq.indexOf("->");
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const inputs = lhs.split(",");
  if (inputs.length !== operands.length) {
    throw new RangeError(
      `einsum: the equation names ${inputs.length} operands, got ${operands.length}`,
    );
  }
  // Ellipsis dims get labels that no letter can clash with.
  let ellipsisDims = -1;
  const parse = (spec: string, ndim: number | null, where: string): string[] => {
    const parts = spec.split("...");
    if (parts.length > 2) throw new RangeError(`einsum: more than one ellipsis in ${where}`);
    for (const ch of parts.join("")) {
      if (!LETTER.test(ch)) {
        throw new RangeError(`einsum: invalid subscript '${ch}' in ${where} (letters a-z, A-Z)`);
      }
    }
    if (parts.length === 1) {
      if (ndim !== null && spec.length !== ndim) {
        throw new RangeError(
          `einsum: ${where} has ${spec.length} subscripts for a tensor of ${ndim} dims`,
        );
      }
      return [...spec];
    }
    let n: number;
    if (ndim === null) {
      n = Math.max(ellipsisDims, 0);
    } else {
      n = ndim - (parts[0].length + parts[1].length);
      if (n < 0) {
        throw new RangeError(
          `einsum: ${where} has more subscripts than the tensor's ${ndim} dims`,
        );
      }
      ellipsisDims = Math.max(ellipsisDims, n);
    }
    const dots = Array.from({ length: n }, (_, i) => `.${ellipsisDims - n + i}`);
    return [...parts[0], ...dots, ...parts[1]];
  };
  const labels = inputs.map((s, i) => parse(s, operands[i].ndim, `operand ${i}`));
  let out: string[];
  if (arrow >= 0) {
    out = parse(eq.slice(arrow + 2), null, "the output");
    const seen = new Set<string>();
    for (const l of out) {
      if (seen.has(l)) {
        throw new RangeError(`einsum: output subscript '${l}' appears more than once`);
      }
      if (!labels.some((ls) => ls.includes(l))) {
        throw new RangeError(`einsum: output subscript '${l}' does not appear in any operand`);
      }
      seen.add(l);
    }
  } else {
    // Implicit output: the ellipsis dims, then the letters seen once, sorted.
    const count = new Map<string, number>();
    for (const ls of labels) for (const l of ls) count.set(l, (count.get(l) ?? 0) + 1);
    const dots = [...count.keys()].filter((l) => l.startsWith(".")).sort();
    const once = [...count.entries()].filter(([l, c]) => c === 1 && !l.startsWith("."))
      .map(([l]) => l).sort();
    out = [...dots, ...once];
  }
  return [labels, out];
}

/**
 * Takes the diagonal of labels repeated within a term, then sums its dims
 * whose labels no longer appear anywhere else.
 */
function reduceTerm(t: Term, keep: Set<string>, operand = 0): Term {
  let { labels, x } = t;
  // A label repeated within one operand ("ii->i", "iij->j"): its diagonal,
  // which takes the two dims' place as one dim at the end.
  for (;;) {
    const i = labels.findIndex((l, k) => labels.indexOf(l) !== k);
    if (i < 0) break;
    const l = labels[i], first = labels.indexOf(l);
    if (x.shape[first] !== x.shape[i]) {
      throw new RangeError(
        `einsum: subscript ${l} is repeated for operand ${operand} but the sizes don't match, ${
          x.shape[i]
        } != ${x.shape[first]}`,
      );
    }
    x = diagonal(x, 0, first, i);
    labels = [...labels.filter((_m, k) => k !== first && k !== i), l];
  }
  const drop = labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (drop.length > 0) {
    x = sum(x, drop);
    labels = labels.filter((l) => keep.has(l));
  }
  return { labels, x };
}

/** Contracts two terms, keeping the labels in `keep`: one batched matmul. */
function contract(a: Term, b: Term, keep: Set<string>): Term {
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.labels.filter((l) => !inB.has(l));
  const right = b.labels.filter((l) => !inA.has(l));
  const size = (t: Term, l: string) => t.x.shape[t.labels.indexOf(l)];
  const dimOf = (t: Term, l: string) => {
    // A size-1 dim broadcasts against the other operand's size (ellipsis dims).
    const sa = inA.has(l) ? size(a, l) : 1, sb = inB.has(l) ? size(b, l) : 1;
    if (sa !== sb && sa !== 1 && sb !== 1) {
      throw new RangeError(
        `einsum: subscript '${
          l.startsWith(".") ? "..." : l
        }' has size ${sa} for operand 0 and ${sb} for operand 1`,
      );
    }
    return t === a ? sa : sb;
  };
  const prod = (xs: number[]) => xs.reduce((p, v) => p * v, 1);
  const batchA = batch.map((l) => dimOf(a, l)), batchB = batch.map((l) => dimOf(b, l));
  const batchShape = batchA.map((s, i) => Math.max(s, batchB[i]));
  for (const l of summed) dimOf(a, l);
  const ka = summed.map((l) => size(a, l));
  const la = left.map((l) => size(a, l)), rb = right.map((l) => size(b, l));
  // a: [batch..., left, summed] -> [batch..., L, K]; b: [batch..., summed, right] -> [batch..., K, R]
  const pa = permute(a.x, [...batch, ...left, ...summed].map((l) => a.labels.indexOf(l)));
  const pb = permute(b.x, [...batch, ...summed, ...right].map((l) => b.labels.indexOf(l)));
  const ma = reshape(pa, [...batchA, prod(la), prod(ka)]);
  const mb = reshape(pb, [...batchB, prod(ka), prod(rb)]);
  const r = reshape(matmul(ma, mb), [...batchShape, ...la, ...rb]);
  return { labels: [...batch, ...left, ...right], x: r };
}

/**
 * Einstein summation over the operands' subscripts, as `torch.einsum`:
 * `"ij,jk->ik"` is a matrix product, `"bij,bjk->bik"` a batched one,
 * `"i,i->"` a dot product, `"...ij->...ji"` a transpose of the last two dims,
 * `"ii->i"` a diagonal (a letter repeated within an operand) and `"ii"` a
 * trace. Without `->` the output holds the letters seen once, sorted. The operands
 * are contracted left to right, each pair as one (batched) matmul.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.ones([2, 3]), b = zn.ones([3, 4]);
 * zn.einsum("ij,jk->ik", a, b).shape; // [2, 4]
 * zn.einsum("ij->", a).item(); // 6
 * ```
 */
export function einsum(equation: string, ...operands: (Tensor | readonly Tensor[])[]): Tensor {
  checkString(equation, "einsum", "equation");
  const list = operands.length === 1 && Array.isArray(operands[0])
    ? [...operands[0] as readonly Tensor[]]
    : operands as Tensor[];
  checkArray(list, "einsum", "operands");
  if (list.length === 0) throw new RangeError("einsum: expected at least one operand");
  list.forEach((t, i) => checkTensor(t, "einsum", `operands[${i}]`));
  const [labels, out] = parseEquation(equation, list);
  const outSet = new Set(out);
  let terms: Term[] = list.map((x, i) => ({ labels: labels[i], x }));
  // Labels still needed after term i: the output's and the later terms'.
  const needed = (from: number): Set<string> => {
    const s = new Set(out);
    for (let j = from; j < terms.length; j++) for (const l of terms[j].labels) s.add(l);
    return s;
  };
  terms = terms.map((t, i) => {
    const keep = new Set(outSet);
    terms.forEach((u, j) => {
      if (j !== i) { for (const l of u.labels) keep.add(l); }
    });
    return reduceTerm(t, keep, i);
  });
  let acc = terms[0];
  for (let i = 1; i < terms.length; i++) acc = contract(acc, terms[i], needed(i + 1));
  acc = reduceTerm(acc, outSet);
  // Ellipsis dims the output names but the operands left out broadcast: none here.
  const order = out.map((l) => acc.labels.indexOf(l));
  return order.length === 0 ? reshape(acc.x, []) : permute(acc.x, order).contiguous();
}
