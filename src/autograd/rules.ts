/**
 * The derivative rules: one table, keyed by the names that ops record.
 * Each rule maps the output's gradient to one gradient per input (null where
 * none flows). Rules are written in differentiable ops, so with
 * `createGraph` the backward pass is itself recorded and can be
 * differentiated again. Ops composed from others (clamp, lerp, std, stack,
 * tril, maskedFill, advanced indexing, ...) need no rule of their own.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type Node, record } from "./node.ts";
import { isGradEnabled } from "./grad_mode.ts";
import type { UnaryOp } from "../backend.ts";
import * as ew from "../ops/elementwise.ts";
import * as rd from "../ops/reduce.ts";
import * as vw from "../ops/view.ts";
import * as ix from "../ops/indexing.ts";
import { matmul, matmulAccumulate } from "../ops/matmul.ts";
import { ones, zeros } from "../ops/creation.ts";
import * as sr from "../ops/scatter_reduce.ts";
import { cat } from "../ops/join.ts";
import * as cv from "../nn/functional/conv_kernels.ts";
import * as pl from "../nn/functional/pool_kernels.ts";
import * as nm from "../nn/functional/norm_kernels.ts";
import * as ls from "../nn/functional/loss_kernels.ts";
import * as at from "../nn/functional/attention_kernels.ts";
import * as rf from "../nn/rnn_fused.ts";
import { hookPackRule } from "../nn/module_hooks.ts";
import { customFunctionRule } from "./function.ts";
import { groupViewRule } from "./group.ts";
import * as lu from "../linalg/lu.ts";
import { linalgCholeskyRule } from "../linalg/cholesky.ts";
import { linalgQrRule } from "../linalg/qr.ts";
import { linalgEighRule, linalgEigvalshRule } from "../linalg/eigh.ts";
import { linalgSvdRule, linalgSvdvalsRule } from "../linalg/svd.ts";
import { linalgPinvRule } from "../linalg/pinv.ts";

/**
 * A derivative rule. `into(i)`, where the pass offers it, is the sum that
 * input i's gradient goes into, held by the pass alone: a rule may add its
 * gradient into it in place and return it (the matmul rule's product
 * accumulates there).
 */
export type Rule = (
  grad: Tensor,
  saved: Record<string, Tensor>,
  ctx: Record<string, unknown>,
  node: Node,
  into?: (input: number) => Tensor | undefined,
) => (Tensor | null)[];

type Scalar = Tensor | number;

/** Sums a broadcast gradient back to an input's shape. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const r = dims.length ? rd.sum(g, dims, true) : g;
  return vw.reshape(r, shape as number[]);
}

/** Broadcasts the gradient of a reduction back over the reduced dims. */
function unreduce(g: Tensor, ctx: Record<string, unknown>): Tensor {
  const shape = ctx.shape as number[];
  const dims = ctx.dims as number[];
  if (!ctx.keepdim) {
    const kept = shape.map((s, i) => dims.includes(i) ? 1 : s);
    g = vw.reshape(g, kept);
  }
  return vw.expand(g, shape);
}

const val = (s: Record<string, Tensor>, ctx: Record<string, unknown>, k: string): Scalar =>
  s[k] ?? (ctx[k] as number);

function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return zeros(shape as number[], { dtype: like.dtype, device: like.device });
}

/** Places `g` into a zero tensor of `shape` at the view `place` describes. */
function embed(g: Tensor, shape: readonly number[], place: (z: Tensor) => Tensor): Tensor {
  const z = zerosOf(shape, g);
  z.backend.copy(g, place(z.detach()));
  return record("embed", [g], z, {}, { place });
}

function unaryRule(op: UnaryOp): Rule {
  return (g, s, ctx) => {
    const x = s.x, out = s.out;
    const p = (ctx.params as number[] | undefined) ?? [];
    switch (op) {
      case "neg":
        return [ew.unary("neg", g)];
      case "abs":
        return [ew.mul(g, ew.unary("sign", x))];
      case "exp":
        return [ew.mul(g, out)];
      case "exp2":
        return [ew.mul(g, ew.mul(out, Math.LN2))];
      case "log":
        return [ew.div(g, x)];
      case "log2":
        return [ew.div(g, ew.mul(x, Math.LN2))];
      case "log1p":
        return [ew.div(g, ew.add(x, 1.0))];
      case "expm1":
        return [ew.mul(g, ew.add(out, 1.0))];
      case "sqrt":
        return [ew.div(g, ew.mul(out, 2.0))];
      case "rsqrt":
        return [ew.mul(g, ew.mul(ew.pow(out, 3.0), -0.5))];
      case "reciprocal":
        return [ew.mul(g, ew.unary("neg", ew.mul(out, out)))];
      case "square":
        return [ew.mul(g, ew.mul(x, 2.0))];
      case "sin":
        return [ew.mul(g, ew.unary("cos", x))];
      case "cos":
        return [ew.mul(g, ew.unary("neg", ew.unary("sin", x)))];
      case "tan":
        return [ew.mul(g, ew.add(ew.mul(out, out), 1.0))];
      case "tanh":
        return [ew.mul(g, ew.sub(1.0, ew.mul(out, out)))];
      case "sigmoid":
        return [ew.mul(g, ew.mul(out, ew.sub(1.0, out)))];
      case "relu":
        return [ew.where(ew.gt(out, 0), g, 0)];
      case "leakyRelu":
        return [ew.where(ew.gt(x, 0), g, ew.mul(g, p[0]))];
      case "elu":
        return [ew.where(ew.gt(x, 0), g, ew.mul(g, ew.add(out, p[0])))];
      case "geluErf": {
        // One fused pass for the derivative (createGraph needs the composed,
        // differentiable form).
        if (!isGradEnabled()) return [ew.mul(g, ew.unary("geluErfGrad", x))];
        const cdf = ew.mul(ew.add(ew.unary("erf", ew.mul(x, Math.SQRT1_2)), 1.0), 0.5);
        const pdf = ew.mul(ew.unary("exp", ew.mul(ew.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return [ew.mul(g, ew.add(cdf, ew.mul(x, pdf)))];
      }
      case "geluTanh": {
        if (!isGradEnabled()) return [ew.mul(g, ew.unary("geluTanhGrad", x))];
        const k = Math.sqrt(2 / Math.PI);
        const x3 = ew.mul(ew.mul(x, x), x);
        const inner = ew.mul(ew.add(x, ew.mul(x3, 0.044715)), k);
        const t = ew.unary("tanh", inner);
        const dinner = ew.mul(ew.add(ew.mul(ew.mul(x, x), 3 * 0.044715), 1.0), k);
        const left = ew.mul(ew.add(t, 1.0), 0.5);
        const right = ew.mul(ew.mul(ew.mul(x, 0.5), ew.sub(1.0, ew.mul(t, t))), dinner);
        return [ew.mul(g, ew.add(left, right))];
      }
      case "silu": {
        const sg = ew.unary("sigmoid", x);
        return [ew.mul(g, ew.mul(sg, ew.add(ew.mul(x, ew.sub(1.0, sg)), 1.0)))];
      }
      case "softplus": {
        const [beta, threshold] = p;
        const z = ew.mul(x, beta);
        return [ew.where(ew.gt(z, threshold), g, ew.mul(g, ew.unary("sigmoid", z)))];
      }
      case "erf":
        return [
          ew.mul(g, ew.mul(ew.unary("exp", ew.unary("neg", ew.mul(x, x))), 2 / Math.sqrt(Math.PI))),
        ];
      case "asin":
        return [ew.div(g, ew.unary("sqrt", ew.sub(1.0, ew.mul(x, x))))];
      case "acos":
        return [ew.div(ew.unary("neg", g), ew.unary("sqrt", ew.sub(1.0, ew.mul(x, x))))];
      case "atan":
        return [ew.div(g, ew.add(ew.mul(x, x), 1.0))];
      case "sinh":
        return [ew.mul(g, ew.unary("cosh", x))];
      case "cosh":
        return [ew.mul(g, ew.unary("sinh", x))];
      case "asinh":
        return [ew.mul(g, ew.unary("rsqrt", ew.add(ew.mul(x, x), 1.0)))];
      case "acosh":
        return [ew.mul(g, ew.unary("rsqrt", ew.sub(ew.mul(x, x), 1.0)))];
      case "atanh":
        return [ew.div(g, ew.sub(1.0, ew.mul(x, x)))];
      case "nanToNum":
        return [ew.where(ew.logicalOr(ew.unary("isnan", x), ew.unary("isinf", x)), 0, g)];
      case "sign":
      case "floor":
      case "ceil":
      case "round":
      case "trunc":
        return [ew.mul(g, 0)];
      default:
        throw new Error(`backward: ${op} is not differentiable`);
    }
  };
}

/** Which tensors each unary rule reads: the input, the output, or both. */
export const UNARY_SAVES: Partial<Record<UnaryOp, "x" | "out" | "both" | "none">> = {
  neg: "none",
  abs: "x",
  exp: "out",
  exp2: "out",
  log: "x",
  log2: "x",
  log1p: "x",
  expm1: "out",
  sqrt: "out",
  rsqrt: "out",
  reciprocal: "out",
  square: "x",
  sin: "x",
  cos: "x",
  tan: "out",
  tanh: "out",
  sigmoid: "out",
  relu: "out",
  leakyRelu: "x",
  elu: "both",
  geluErf: "x",
  geluTanh: "x",
  silu: "x",
  softplus: "x",
  erf: "x",
  asin: "x",
  acos: "x",
  atan: "x",
  sinh: "x",
  cosh: "x",
  asinh: "x",
  acosh: "x",
  atanh: "x",
  nanToNum: "x",
  sign: "none",
  floor: "none",
  ceil: "none",
  round: "none",
  trunc: "none",
};

const UNARY_NAMES: UnaryOp[] = Object.keys(UNARY_SAVES) as UnaryOp[];

/** The table. */
export const RULES: Record<string, Rule> = {
  add: (g, _s, _c, n) => [sumTo(g, n.edges[0]?.shape ?? []), sumTo(g, n.edges[1]?.shape ?? [])],
  sub: (g, _s, _c, n) => [
    sumTo(g, n.edges[0]?.shape ?? []),
    n.edges[1] ? sumTo(ew.unary("neg", g), n.edges[1].shape) : null,
  ],
  mul: (g, s, c, n) => [
    n.edges[0] ? sumTo(ew.mul(g, val(s, c, "b")), n.edges[0].shape) : null,
    n.edges[1] ? sumTo(ew.mul(g, val(s, c, "a")), n.edges[1].shape) : null,
  ],
  div: (g, s, c, n) => {
    const b = val(s, c, "b");
    return [
      n.edges[0] ? sumTo(ew.div(g, b), n.edges[0].shape) : null,
      n.edges[1]
        ? sumTo(ew.unary("neg", ew.div(ew.mul(g, val(s, c, "a")), ew.mul(b, b))), n.edges[1].shape)
        : null,
    ];
  },
  pow: (g, s, c, n) => {
    const a = val(s, c, "a"), b = val(s, c, "b");
    const ga = n.edges[0]
      ? sumTo(
        ew.where(ew.eq(b, 0), 0, ew.mul(ew.mul(g, b), ew.pow(a, ew.sub(b, 1)))),
        n.edges[0].shape,
      )
      : null;
    let gb: Tensor | null = null;
    if (n.edges[1]) {
      // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0.
      const logA = typeof a === "number" ? Math.log(a) : ew.unary("log", a);
      const term = ew.mul(ew.mul(g, s.out), logA);
      gb = sumTo(ew.where(ew.logicalAnd(ew.eq(a, 0), ew.ge(b, 0)), 0, term), n.edges[1].shape);
    }
    return [ga, gb];
  },
  maximum: (g, s, _c, n) => minmax(g, s.a, s.b, n, true),
  minimum: (g, s, _c, n) => minmax(g, s.a, s.b, n, false),
  atan2: (g, s, _c, n) => {
    const a = s.a, b = s.b;
    const d = ew.add(ew.mul(a, a), ew.mul(b, b));
    return [
      n.edges[0] ? sumTo(ew.div(ew.mul(g, b), d), n.edges[0].shape) : null,
      n.edges[1] ? sumTo(ew.div(ew.mul(g, ew.unary("neg", a)), d), n.edges[1].shape) : null,
    ];
  },
  remainder: (g, s, c, n) => [
    n.edges[0] ? sumTo(g, n.edges[0].shape) : null,
    n.edges[1]
      ? sumTo(ew.mul(ew.unary("neg", g), ew.floorDivide(val(s, c, "a"), s.b)), n.edges[1].shape)
      : null,
  ],
  fmod: (g, s, c, n) => [
    n.edges[0] ? sumTo(g, n.edges[0].shape) : null,
    n.edges[1]
      ? sumTo(
        ew.mul(ew.unary("neg", g), ew.div(val(s, c, "a"), s.b, { roundingMode: "trunc" })),
        n.edges[1].shape,
      )
      : null,
  ],
  // d/da copysign(a, b) = out / a (the sign flip), 0 where a is 0; b has none.
  copysign: (g, s, _c, n) => [
    n.edges[0]
      ? sumTo(ew.where(ew.eq(s.a, 0), 0, ew.mul(g, ew.div(s.out, s.a))), n.edges[0].shape)
      : null,
    n.edges[1] ? sumTo(ew.mul(g, 0), n.edges[1].shape) : null,
  ],
  where: (g, s, _c, n) => [
    null,
    n.edges[1] ? sumTo(ew.where(s.cond, g, 0), n.edges[1].shape) : null,
    n.edges[2] ? sumTo(ew.where(s.cond, 0, g), n.edges[2].shape) : null,
  ],
  to: (g, _s, c) => [ew.toDType(g, c.from as Tensor["dtype"])],
  toDevice: (g, _s, c) => [ew.toDevice(g, c.device as string)],
  clone: (g) => [g],
  // reductions
  sum: (g, _s, c) => [unreduce(g, c)],
  mean: (g, _s, c) => [ew.div(unreduce(g, c), c.count as number)],
  prod: (g, s, c) => [prodGrad(g, s, c)],
  amax: (g, s, c) => [spreadExtreme(g, s, c)],
  amin: (g, s, c) => [spreadExtreme(g, s, c)],
  maxDim: (g, _s, c) => [scatterBack(g, c)],
  minDim: (g, _s, c) => [scatterBack(g, c)],
  var: (g, s, c) => {
    const x = s.x;
    const mean = rd.mean(x, c.dims as number[], true);
    const scale = 2 / ((c.count as number) - (c.correction as number));
    return [ew.mul(ew.mul(unreduce(g, c), ew.sub(x, mean)), scale)];
  },
  logsumexp: (
    g,
    s,
    c,
  ) => [ew.mul(unreduce(g, c), ew.unary("exp", ew.sub(s.x, unreduce(s.out, c))))],
  norm: (g, s, c) => {
    const p = c.p as number, x = s.x;
    const gOut = unreduce(g, c), out = unreduce(s.out, c);
    if (p === Infinity || p === -Infinity) {
      const ax = ew.unary("abs", x);
      const hit = ew.eq(ax, out);
      const count = rd.sum(ew.toDType(hit, x.dtype), c.dims as number[], true);
      return [ew.where(hit, ew.div(ew.mul(gOut, ew.unary("sign", x)), count), 0)];
    }
    if (p === 0) return [ew.mul(x, 0)];
    if (p === 1) return [ew.mul(gOut, ew.unary("sign", x))];
    if (p === 2) return [ew.where(ew.eq(out, 0), 0, ew.div(ew.mul(gOut, x), out))];
    const num = ew.mul(ew.unary("sign", x), ew.pow(ew.unary("abs", x), p - 1));
    return [ew.where(ew.eq(out, 0), 0, ew.div(ew.mul(gOut, num), ew.pow(out, p - 1)))];
  },
  cumsum: (g, _s, c) => {
    const d = c.dim as number;
    return [ew.add(ew.sub(rd.sum(g, d, true), rd.cumsum(g, d)), g)];
  },
  // PyTorch's formula (after TensorFlow's): the positive and negative parts of
  // the gradient each go through a reversed logcumsumexp, so nothing overflows.
  logcumsumexp: (g, s, c) => {
    const d = c.dim as number;
    if (g.ndim === 0 || g.numel === 0) return [g];
    const lowest = g.dtype === "float64" ? -Number.MAX_VALUE : -3.4028234663852886e38;
    const rev = (t: Tensor) => rd.logcumsumexp(t.flip([d]), d).flip([d]);
    const logAbs = ew.unary("log", ew.unary("abs", g));
    const pos = ew.where(ew.gt(g, 0), logAbs, lowest);
    const neg = ew.where(ew.lt(g, 0), logAbs, lowest);
    const outPos = ew.unary("exp", ew.add(rev(ew.sub(pos, s.out)), s.x));
    const outNeg = ew.unary("exp", ew.add(rev(ew.sub(neg, s.out)), s.x));
    return [ew.sub(outPos, outNeg)];
  },
  cumprod: (g, s, c) => {
    const d = c.dim as number;
    if (s.x.ndim > 0 && hasZero(s.x)) return [cumprodGradWithZeros(g, s.x, s.out, d)];
    const go = ew.mul(g, s.out);
    return [ew.div(ew.add(ew.sub(rd.sum(go, d, true), rd.cumsum(go, d)), go), s.x)];
  },
  softmax: (g, s, c) => {
    const d = c.dim as number;
    return [
      rd.softmaxBackward(false, g, s.out, d) ??
        ew.mul(s.out, ew.sub(g, rd.sum(ew.mul(g, s.out), d, true))),
    ];
  },
  logSoftmax: (g, s, c) => {
    const d = c.dim as number;
    return [
      rd.softmaxBackward(true, g, s.out, d) ??
        ew.sub(g, ew.mul(ew.unary("exp", s.out), rd.sum(g, d, true))),
    ];
  },
  // linear algebra
  matmul: (g, s, c, n, into) => {
    const ea = n.edges[0], eb = n.edges[1];
    const aShape = n.edges[0]?.shape ?? s.a.shape;
    const bShape = n.edges[1]?.shape ?? s.b.shape;
    const a1 = aShape.length === 1, b1 = bShape.length === 1;
    let g2 = g;
    if (a1) g2 = vw.unsqueeze(g2, b1 ? 0 : -2);
    if (b1) g2 = vw.unsqueeze(g2, -1);
    let ga: Tensor | null = null, gb: Tensor | null = null;
    // Matrices both: a sum that the gradient goes into takes the product in place.
    const plain = !a1 && !b1 && g2.ndim === 2 && aShape.length === 2 && bShape.length === 2;
    const intoA = plain ? into?.(0) : undefined, intoB = plain ? into?.(1) : undefined;
    if (ea) {
      const b2 = b1 ? vw.unsqueeze(s.b, -1) : s.b;
      if (intoA !== undefined && matmulAccumulate(g2, vw.mT(b2), intoA)) ga = intoA;
      else {
        const r = matmul(g2, vw.mT(b2));
        const a2Shape = a1 ? [1, aShape[0]] : aShape;
        ga = vw.reshape(sumTo(r, a2Shape), aShape as number[]);
      }
    }
    if (eb) {
      const a2 = a1 ? vw.unsqueeze(s.a, 0) : s.a;
      // A column-major b (a linear layer's weight.mT) gets its gradient in the
      // same layout, (g^T a)^T: the weight's own gradient is then contiguous
      // and the optimizer needs no copy. Where the weight has more outputs
      // than inputs, that multiply's output is tall and narrow, which runs
      // about 8% slower on one thread (A read down its columns, a page
      // apart): then a^T g, and the weight-sized copy after, cost less.
      const tall = g2.ndim === 2 && a2.ndim === 2 && g2.shape[1] > a2.shape[1];
      const colMajor = c.bColMajor && a2.ndim === 2 && g2.ndim === 2 && !tall;
      if (!colMajor && intoB !== undefined && matmulAccumulate(vw.mT(a2), g2, intoB)) gb = intoB;
      else {
        const r = colMajor ? vw.mT(matmul(vw.mT(g2), a2)) : matmul(vw.mT(a2), g2);
        const b2Shape = b1 ? [bShape[0], 1] : bShape;
        gb = vw.reshape(sumTo(r, b2Shape), bShape as number[]);
      }
    }
    return [ga, gb];
  },
  // views
  reshape: (g, _s, c) => [vw.reshape(g, c.shape as number[])],
  transpose: (g, _s, c) => [vw.transpose(g, c.dim0 as number, c.dim1 as number)],
  permute: (g, _s, c) => {
    const p = c.dims as number[];
    const inv = new Array<number>(p.length);
    p.forEach((d, i) => inv[d] = i);
    return [vw.permute(g, inv)];
  },
  expand: (g, _s, c) => [sumTo(g, c.shape as number[])],
  view: (g, _s, c, _n, into) => {
    const place = c.place as (z: Tensor) => Tensor;
    // A sum that the input's gradient goes into takes g into its slice in
    // place: no zero tensor, copy and add of the whole input's size (an LSTM
    // cell's four gate slices of one [B, 4H] gradient).
    const acc = into?.(0);
    if (acc !== undefined && acc.dtype === g.dtype && acc.device === g.device) {
      place(acc).add_(g);
      return [acc];
    }
    return [embed(g, c.shape as number[], place)];
  },
  embed: (g, _s, c) => [(c.place as (z: Tensor) => Tensor)(g)],
  // indexing
  indexSelect: (g, _s, c, n) => {
    const dim = c.dim as number, index = c.index as Tensor, shape = c.shape as number[];
    const g2 = vw.reshape(g, c.outShape as number[]);
    const ishape = g2.shape.map((_, i) => i === dim ? index.numel : 1);
    const idx = vw.expand(vw.reshape(index, ishape), g2.shape as number[]);
    const r = ix.scatter(zerosOf(shape, g), dim, idx, g2, true);
    return [vw.reshape(r, (n.edges[0]?.shape ?? shape) as number[])];
  },
  gather: (g, _s, c) => [
    ix.scatter(zerosOf(c.shape as number[], g), c.dim as number, c.index as Tensor, g, true),
  ],
  scatterAdd: (g, _s, c, n) => [
    n.edges[0] ? g : null,
    n.edges[1] ? srcGrad(ix.gather(g, c.dim as number, c.index as Tensor), n) : null,
  ],
  scatterReduce: scatterReduceBack,
  scatter: (g, _s, c, n) => [
    n.edges[0] ? ix.scatter(g, c.dim as number, c.index as Tensor, 0, false) : null,
    n.edges[1] ? srcGrad(ix.gather(g, c.dim as number, c.index as Tensor), n) : null,
  ],
  cat: (g, _s, c) => {
    const d = c.dim as number, sizes = c.sizes as number[];
    let at = 0;
    return sizes.map((len) => {
      const part = vw.narrow(g, d, at, len);
      at += len;
      return part;
    });
  },
  sort: (g, _s, c) => [
    ix.scatter(zerosOf(c.shape as number[], g), c.dim as number, c.indices as Tensor, g, true),
  ],
  // convolution, pooling, norms and the fused loss (src/nn/functional/*_kernels.ts)
  conv2d: cv.conv2dRule,
  layerNorm: nm.layerNormRule,
  rmsNorm: nm.layerNormRule,
  groupNorm: nm.groupNormRule,
  fusedAttention: at.fusedAttentionRule,
  lstmLayer: rf.lstmLayerRule,
  hookPack: hookPackRule,
  customFunction: customFunctionRule,
  groupView: groupViewRule,
  gruRecurrence: rf.gruRecurrenceRule,
  batchNorm: nm.batchNormRule,
  crossEntropy: ls.crossEntropyRule,
  convTranspose2d: cv.convTranspose2dRule,
  maxPool2d: pl.maxPool2dRule,
  maxPool2dBackward: pl.maxPool2dBackwardRule,
  avgPool2d: pl.avgPool2dRule,
  avgPool2dBackward: pl.avgPool2dBackwardRule,
  adaptiveAvgPool2d: pl.adaptiveAvgPool2dRule,
  adaptiveAvgPool2dBackward: pl.adaptiveAvgPool2dBackwardRule,
  // linear algebra (src/linalg/*.ts)
  linalgDet: lu.linalgDetRule,
  linalgLogAbsDet: lu.linalgLogAbsDetRule,
  linalgInv: lu.linalgInvRule,
  linalgSolve: lu.linalgSolveRule,
  linalgCholesky: linalgCholeskyRule,
  linalgQr: linalgQrRule,
  linalgEigh: linalgEighRule,
  linalgEigvalsh: linalgEigvalshRule,
  linalgSvd: linalgSvdRule,
  linalgSvdvals: linalgSvdvalsRule,
  linalgPinv: linalgPinvRule,
};
for (const op of UNARY_NAMES) RULES[op] = unaryRule(op);

function minmax(g: Tensor, a: Tensor, b: Tensor, n: Node, isMax: boolean): (Tensor | null)[] {
  // Ties share the gradient equally, as in PyTorch.
  const tie = ew.eq(a, b);
  const aWins = isMax ? ew.gt(a, b) : ew.lt(a, b);
  const half = ew.mul(g, 0.5);
  const ga = ew.where(tie, half, ew.where(aWins, g, 0));
  const gb = ew.where(tie, half, ew.where(aWins, 0, g));
  return [
    n.edges[0] ? sumTo(ga, n.edges[0].shape) : null,
    n.edges[1] ? sumTo(gb, n.edges[1].shape) : null,
  ];
}

function hasZero(x: Tensor): boolean {
  return ew.eq(x.detach(), 0).any().item() as boolean;
}

/**
 * The gradient of prod without dividing by the input, so zeros work as in
 * PyTorch: with one zero in a reduced slice only that element gets the
 * product of the others; with two or more, nothing flows.
 */
function prodGrad(g: Tensor, s: Record<string, Tensor>, c: Record<string, unknown>): Tensor {
  const x = s.x, gOut = unreduce(g, c);
  if (!hasZero(x)) return ew.div(ew.mul(gOut, unreduce(s.out, c)), x);
  const dims = c.dims as number[];
  const isZero = ew.eq(x, 0);
  const safe = ew.where(isZero, 1, x);
  const kept = x.shape.map((n, i) => dims.includes(i) ? 1 : n);
  let nz = safe;
  for (const d of dims) nz = rd.prod(nz, d, true);
  nz = vw.expand(vw.reshape(nz, kept), x.shape as number[]);
  const zeros = vw.expand(
    vw.reshape(rd.sum(ew.toDType(isZero, x.dtype), dims, true), kept),
    x.shape as number[],
  );
  const others = ew.where(
    isZero,
    ew.where(ew.eq(zeros, 1), nz, 0),
    ew.where(ew.eq(zeros, 0), ew.div(nz, safe), 0),
  );
  return ew.mul(gOut, others);
}

/**
 * cumprod's gradient when the input has zeros, without dividing by it:
 * dx_k = prod_{j<k} x_j * S_k with S_k = g_k + x_{k+1} S_{k+1} (a reverse scan).
 */
function cumprodGradWithZeros(g: Tensor, x: Tensor, out: Tensor, d: number): Tensor {
  const n = x.shape[d];
  const parts: Tensor[] = new Array(n);
  let acc: Tensor | null = null;
  for (let k = n - 1; k >= 0; k--) {
    const gk = vw.narrow(g, d, k, 1);
    acc = acc === null ? gk : ew.add(gk, ew.mul(vw.narrow(x, d, k + 1, 1), acc));
    parts[k] = k === 0 ? acc : ew.mul(vw.narrow(out, d, k - 1, 1), acc);
  }
  return cat(parts, d);
}

function spreadExtreme(g: Tensor, s: Record<string, Tensor>, c: Record<string, unknown>): Tensor {
  // The gradient is shared evenly among the elements equal to the extreme.
  const hit = ew.eq(s.x, unreduce(s.out, c));
  const count = rd.sum(ew.toDType(hit, s.x.dtype), c.dims as number[], true);
  return ew.where(hit, ew.div(unreduce(g, { ...c, shape: c.shape }), count), 0);
}

/**
 * scatterReduce's gradients, as PyTorch's: sum passes g through; mean
 * divides it by each position's count; prod multiplies it by the product of
 * the other terms (recomputed with a zero factor set to 1, so that a single
 * zero gets the product of the rest); amax and amin share it evenly among
 * the terms equal to the result. Without includeSelf the input's positions
 * that received terms get none.
 */
function scatterReduceBack(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  n: Node,
): (Tensor | null)[] {
  const dim = c.dim as number, index = c.index as Tensor;
  const includeSelf = c.includeSelf as boolean;
  const reduce = c.reduce as sr.ScatterReduction;
  const like = { dtype: g.dtype, device: g.device };
  let gSelf: Tensor, gSrc: Tensor;
  if (reduce === "sum") {
    gSelf = g;
    gSrc = ix.gather(g, dim, index);
  } else if (reduce === "mean") {
    const base = includeSelf ? ones(g.shape, like) : zeros(g.shape, like);
    const count = ew.maximum(ix.scatter(base, dim, index, ones(index.shape, like), true), 1);
    gSelf = ew.div(g, count);
    gSrc = ew.div(ix.gather(g, dim, index), ix.gather(count, dim, index));
  } else if (reduce === "prod") {
    const { x, src, out } = s;
    const opts = { includeSelf };
    const maskedSelf = ew.where(ew.eq(x, 0), 1, x);
    const othersOfSelf = sr.scatterReduce(maskedSelf, dim, index, src, "prod", opts);
    gSelf = ew.div(ew.mul(g, othersOfSelf), maskedSelf);
    const srcZero = ew.eq(src, 0);
    const zerosAt = ix.scatter(
      zeros(x.shape, like),
      dim,
      index,
      ew.toDType(srcZero, g.dtype),
      true,
    );
    const single = ew.logicalAnd(srcZero, ew.eq(ix.gather(zerosAt, dim, index), 1));
    const othersOfZero = sr.scatterReduce(x, dim, index, ew.where(single, 1, src), "prod", opts);
    gSrc = ew.where(
      single,
      ix.gather(ew.mul(g, othersOfZero), dim, index),
      ew.div(ix.gather(ew.mul(g, out), dim, index), ew.where(srcZero, 1, src)),
    );
  } else {
    const { x, src, out } = s;
    const selfIs = ew.toDType(ew.eq(x, out), g.dtype);
    const srcIs = ew.toDType(ew.eq(src, ix.gather(out, dim, index)), g.dtype);
    const shared = ew.div(g, ix.scatter(selfIs, dim, index, srcIs, true));
    gSelf = ew.mul(selfIs, shared);
    gSrc = ew.mul(srcIs, ix.gather(shared, dim, index));
  }
  if (!includeSelf) gSelf = ix.scatter(gSelf, dim, index, 0, false);
  return [n.edges[0] ? gSelf : null, n.edges[1] ? srcGrad(gSrc, n) : null];
}

/**
 * A scatter's gradient for src, shaped like the index: src may be larger,
 * and its elements past the index take no part, so their gradient is zero.
 */
function srcGrad(g: Tensor, n: Node): Tensor {
  const shape = n.edges[1]!.shape;
  let r = g;
  for (let d = 0; d < r.ndim; d++) {
    const extra = shape[d] - r.shape[d];
    if (extra <= 0) continue;
    const pad = r.shape.map((size, i) => (i === d ? extra : size));
    r = cat([r, zeros(pad, { dtype: r.dtype, device: r.device })], d);
  }
  return r;
}

function scatterBack(g: Tensor, c: Record<string, unknown>): Tensor {
  const dim = c.dim as number, shape = c.shape as number[];
  let idx = c.indices as Tensor;
  let gg = g;
  if (!c.keepdim && shape.length > 0) {
    idx = vw.unsqueeze(idx, dim);
    gg = vw.unsqueeze(gg, dim);
  }
  if (shape.length === 0) return gg;
  return ix.scatter(zerosOf(shape, g), dim, idx, gg, true);
}
