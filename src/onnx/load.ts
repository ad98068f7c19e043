/**
 * ONNX import: a model file (as `torch.onnx.export` or Zeno's own
 * {@link exportModel} writes it) becomes a {@link OnnxModule} that runs the
 * graph's nodes in order with Zeno's ops, for inference.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { ITEMSIZE, STORAGE_CTOR } from "../dtype.ts";
import { Module } from "../nn/module.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { fromTypedArray } from "../interop.ts";
import { full } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { slice } from "../ops/view.ts";
import { where } from "../ops/elementwise.ts";
import { gelu } from "../ops/unary_fns.ts";
import { conv2d, convTranspose2d } from "../nn/functional/conv.ts";
import { avgPool2d, maxPool2d } from "../nn/functional/pool.ts";
import { batchNorm, layerNorm } from "../nn/functional/normalization.ts";
import { pad } from "../nn/functional/pad.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkPath } from "../args.ts";
import { fmtShape, MAX_NUMEL } from "../shape.ts";
import { fileURLToPath } from "node:url";
import {
  type AttributeProto,
  decode,
  type GraphProto,
  type NodeProto,
  OnnxDataType,
  OnnxFormatError,
  type TensorProto,
} from "./proto.ts";

const DTYPES: Record<number, DType> = {
  [OnnxDataType.FLOAT]: "float32",
  [OnnxDataType.DOUBLE]: "float64",
  [OnnxDataType.FLOAT16]: "float16",
  [OnnxDataType.BFLOAT16]: "bfloat16",
  [OnnxDataType.INT64]: "int64",
  [OnnxDataType.INT32]: "int32",
  [OnnxDataType.INT16]: "int16",
  [OnnxDataType.INT8]: "int8",
  [OnnxDataType.UINT8]: "uint8",
  [OnnxDataType.BOOL]: "bool",
};

function dtypeOf(t: number, what: string): DType {
  const d = DTYPES[t];
  if (!d) {
    throw new OnnxFormatError(
      `onnx.load: ${what} has element type ${t}, which Zeno has no dtype for`,
    );
  }
  return d;
}

/** Reads the data of an initializer or Constant tensor (external data through `readExternal`). */
function tensorFrom(
  t: TensorProto,
  readExternal: (t: TensorProto) => Uint8Array,
): Tensor {
  const dtype = dtypeOf(t.dataType, `tensor '${t.name}'`);
  const numel = t.dims.reduce((a, b) => a * b, 1);
  if (numel > MAX_NUMEL) {
    throw new OnnxFormatError(
      `onnx.load: tensor '${t.name}' of shape ${
        fmtShape(t.dims)
      } has more elements than Zeno supports`,
    );
  }
  // Every size is checked against the data before anything is allocated.
  const bytes = t.external ? readExternal(t) : t.raw;
  const src: ArrayLike<number | bigint> = dtype === "float32"
    ? t.floatData
    : dtype === "float64"
    ? t.doubleData
    : dtype === "int64"
    ? t.int64Data
    : t.int32Data; // int32, int16, int8, uint8, bool, and the halves' bits
  const have = bytes ? bytes.length : src.length * ITEMSIZE[dtype];
  if (have !== numel * ITEMSIZE[dtype]) {
    throw new OnnxFormatError(
      `onnx.load: tensor '${t.name}' of shape ${fmtShape(t.dims)} holds ${
        bytes ? `${bytes.length} bytes` : `${src.length} values`
      }, not ${bytes ? `${numel * ITEMSIZE[dtype]} bytes` : `${numel} values`}`,
    );
  }
  const arr = new STORAGE_CTOR[dtype](numel);
  if (bytes) new Uint8Array(arr.buffer).set(bytes);
  else {
    for (let i = 0; i < numel; i++) {
      (arr as unknown as (number | bigint)[])[i] = dtype === "int64"
        ? BigInt(src[i])
        : Number(src[i]);
    }
  }
  return fromTypedArray(arr, t.dims, { dtype });
}

// ------------------------------------------------------------------ attributes

const UTF8 = new TextDecoder();

/** A node's attributes, read by name with defaults. */
class Attrs {
  readonly #m = new Map<string, AttributeProto>();
  constructor(readonly node: NodeProto) {
    for (const a of node.attribute) this.#m.set(a.name, a);
  }
  has(name: string): boolean {
    return this.#m.has(name);
  }
  int(name: string, def?: number): number {
    const a = this.#m.get(name);
    if (!a) return this.#need(name, def);
    return Number(a.i);
  }
  float(name: string, def?: number): number {
    const a = this.#m.get(name);
    if (!a) return this.#need(name, def);
    return a.f;
  }
  ints(name: string, def?: number[]): number[] {
    const a = this.#m.get(name);
    if (!a) return this.#need(name, def);
    return a.ints.map(Number);
  }
  string(name: string, def?: string): string {
    const a = this.#m.get(name);
    if (!a) return this.#need(name, def);
    return UTF8.decode(a.s);
  }
  tensor(name: string): TensorProto | null {
    return this.#m.get(name)?.t ?? null;
  }
  #need<T>(name: string, def: T | undefined): T {
    if (def === undefined) {
      throw new OnnxFormatError(
        `onnx.load: ${this.node.opType} node '${this.node.name}' lacks its '${name}' attribute`,
      );
    }
    return def;
  }
}

// ------------------------------------------------------------------ ops

type In = (Tensor | null)[];
type OpFn = (x: In, a: Attrs, m: OnnxModule) => Tensor | Tensor[];

function need(x: In, k: number, a: Attrs): Tensor {
  const t = x[k];
  if (!t) {
    throw new OnnxFormatError(`onnx.load: ${a.node.opType} node '${a.node.name}' lacks input ${k}`);
  }
  return t;
}

/** The values of a small int64 tensor (shapes, axes) as numbers. */
function intsOf(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);
}

function int64(values: readonly number[], shape?: number[]): Tensor {
  return fromTypedArray(BigInt64Array.from(values, (v) => BigInt(v)), shape ?? [values.length]);
}

function normAxis(a: number, ndim: number): number {
  return a < 0 ? a + ndim : a;
}

/** Axes from input k (opset 13/18 style) or the `axes` attribute (older). */
function axesOf(x: In, k: number, a: Attrs): number[] | null {
  const t = x[k];
  if (t) return intsOf(t);
  return a.has("axes") ? a.ints("axes") : null;
}

function reduceOp(kind: "sum" | "mean" | "amax" | "amin" | "prod"): OpFn {
  return (x, a) => {
    const t = need(x, 0, a);
    let axes = axesOf(x, 1, a);
    const keep = a.int("keepdims", 1) === 1;
    if (axes === null || axes.length === 0) {
      if (a.int("noop_with_empty_axes", 0) === 1) return t;
      axes = Array.from({ length: t.ndim }, (_, i) => i);
    }
    axes = axes.map((d) => normAxis(d, t.ndim)).sort((p, q) => q - p);
    let y = t;
    for (const d of axes) {
      y = kind === "prod" ? y.prod(d, true) : y[kind](d, true);
    }
    return keep ? y : y.reshape(t.shape.filter((_, i) => !axes!.includes(i)));
  };
}

/** Symmetric pads of a 2-D window, or an explicit pad first (value `fill`). */
function windowPads(x: Tensor, a: Attrs, fill: number): [Tensor, [number, number]] {
  const autoPad = a.string("auto_pad", "NOTSET");
  if (autoPad !== "NOTSET" && autoPad !== "VALID") {
    throw new OnnxFormatError(`onnx.load: ${a.node.opType} auto_pad ${autoPad} is not supported`);
  }
  const p = a.ints("pads", [0, 0, 0, 0]);
  if (p.length !== 4) {
    throw new OnnxFormatError(`onnx.load: ${a.node.opType} supports 2-D windows, got pads [${p}]`);
  }
  if (p[0] === p[2] && p[1] === p[3]) return [x, [p[0], p[1]]];
  // F.pad takes (left, right, top, bottom).
  return [pad(x, [p[1], p[3], p[0], p[2]], { value: fill }), [0, 0]];
}

/** One direction of a recurrent node: the hidden state of every step, the last ones. */
interface DirResult {
  ys: Tensor[];
  h: Tensor;
  c?: Tensor;
}

/**
 * LSTM and GRU nodes: checks the attributes and inputs Zeno does not run,
 * runs each direction (direction d reads W[d], R[d], B[d] and the initial
 * states' row d) and stacks them as ONNX does: Y [T, D, B, H], Y_h [D, B, H].
 */
function recurrent(
  x: In,
  a: Attrs,
  cell: (x: In, d: number, reverse: boolean) => DirResult,
): Tensor[] {
  const op = a.node.opType;
  if (a.int("layout", 0) !== 0) {
    throw new OnnxFormatError(`onnx.load: ${op} layout 1 is not supported`);
  }
  if (x[4]) throw new OnnxFormatError(`onnx.load: ${op} sequence_lens is not supported`);
  if (a.has("clip")) throw new OnnxFormatError(`onnx.load: ${op} clip is not supported`);
  if (a.has("activations")) {
    throw new OnnxFormatError(`onnx.load: ${op} with activations other than the defaults`);
  }
  const dir = a.string("direction", "forward");
  const dirs = dir === "bidirectional" ? [false, true] : [dir === "reverse"];
  const res = dirs.map((rev, d) => cell(x, d, rev));
  const Y = cat(
    res[0].ys.map((_, t) => cat(res.map((r) => r.ys[t].unsqueeze(0)), 0).unsqueeze(0)),
    0,
  ); // [T, D, B, H]
  const out = [Y, cat(res.map((r) => r.h.unsqueeze(0)), 0)];
  if (res[0].c) out.push(cat(res.map((r) => r.c!.unsqueeze(0)), 0));
  return out;
}

/** Direction d of an ONNX LSTM: gates in ONNX's order (i, o, f, c). */
function lstmDir(x: In, d: number, reverse: boolean, a: Attrs): DirResult {
  if (x[7]) throw new OnnxFormatError("onnx.load: LSTM peepholes are not supported");
  const X = need(x, 0, a), W = need(x, 1, a).select(0, d), R = need(x, 2, a).select(0, d);
  const h = R.shape[1], T = X.shape[0], B = X.shape[1];
  const bias = x[3] ? x[3].select(0, d) : null;
  const b = bias ? bias.narrow(0, 0, 4 * h).add(bias.narrow(0, 4 * h, 4 * h)) : null;
  let hs = x[5] ? x[5].select(0, d) : full([B, h], 0, { dtype: X.dtype });
  let cs = x[6] ? x[6].select(0, d) : full([B, h], 0, { dtype: X.dtype });
  // The input projection of every step at once: [T * B, 4H].
  let gx = X.reshape([T * B, X.shape[2]]).matmul(W.mT);
  if (b) gx = gx.add(b);
  const gxs = gx.reshape([T, B, 4 * h]);
  const ys: Tensor[] = new Array(T);
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    const g = gxs.select(0, t).add(hs.matmul(R.mT));
    const i = g.narrow(1, 0, h).sigmoid(), o = g.narrow(1, h, h).sigmoid();
    const f = g.narrow(1, 2 * h, h).sigmoid(), c = g.narrow(1, 3 * h, h).tanh();
    cs = f.mul(cs).add(i.mul(c));
    hs = o.mul(cs.tanh());
    ys[t] = hs;
  }
  return { ys, h: hs, c: cs };
}

/** Direction d of an ONNX GRU: gates in ONNX's order (z, r, h). */
function gruDir(x: In, d: number, reverse: boolean, a: Attrs): DirResult {
  const before = a.int("linear_before_reset", 0) === 1;
  const X = need(x, 0, a), W = need(x, 1, a).select(0, d), R = need(x, 2, a).select(0, d);
  const h = R.shape[1], T = X.shape[0], B = X.shape[1];
  const bias = x[3] ? x[3].select(0, d) : null;
  const wb = bias?.narrow(0, 0, 3 * h) ?? null, rb = bias?.narrow(0, 3 * h, 3 * h) ?? null;
  let hs = x[5] ? x[5].select(0, d) : full([B, h], 0, { dtype: X.dtype });
  let gx = X.reshape([T * B, X.shape[2]]).matmul(W.mT);
  if (wb) gx = gx.add(wb);
  const gxs = gx.reshape([T, B, 3 * h]);
  const Rzr = R.narrow(0, 0, 2 * h), Rh = R.narrow(0, 2 * h, h);
  const rbh = rb?.narrow(0, 2 * h, h) ?? null;
  const ys: Tensor[] = new Array(T);
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    const g = gxs.select(0, t);
    let hzr = hs.matmul(Rzr.mT);
    if (rb) hzr = hzr.add(rb.narrow(0, 0, 2 * h));
    const z = g.narrow(1, 0, h).add(hzr.narrow(1, 0, h)).sigmoid();
    const r = g.narrow(1, h, h).add(hzr.narrow(1, h, h)).sigmoid();
    let lin = before ? hs.matmul(Rh.mT) : r.mul(hs).matmul(Rh.mT);
    if (rbh) lin = lin.add(rbh);
    const hh = g.narrow(1, 2 * h, h).add(before ? r.mul(lin) : lin).tanh();
    hs = z.neg().add(1).mul(hh).add(z.mul(hs));
    ys[t] = hs;
  }
  return { ys, h: hs };
}

const OPS: Record<string, OpFn> = {
  Identity: (x, a) => need(x, 0, a),
  Add: (x, a) => need(x, 0, a).add(need(x, 1, a)),
  Sub: (x, a) => need(x, 0, a).sub(need(x, 1, a)),
  Mul: (x, a) => need(x, 0, a).mul(need(x, 1, a)),
  Div: (x, a) => {
    const p = need(x, 0, a), q = need(x, 1, a);
    const d = p.div(q);
    // Integer division truncates in ONNX.
    return p.dtype === "int64" || p.dtype === "int32" ? d.trunc().to(p.dtype) : d;
  },
  Mod: (x, a) =>
    a.int("fmod", 0) === 1
      ? need(x, 0, a).fmod(need(x, 1, a))
      : need(x, 0, a).remainder(need(x, 1, a)),
  Pow: (x, a) => need(x, 0, a).pow(need(x, 1, a)),
  Max: (x, a) => x.slice(1).reduce((p: Tensor, q) => p.maximum(q!), need(x, 0, a)),
  Min: (x, a) => x.slice(1).reduce((p: Tensor, q) => p.minimum(q!), need(x, 0, a)),
  Neg: (x, a) => need(x, 0, a).neg(),
  Abs: (x, a) => need(x, 0, a).abs(),
  Exp: (x, a) => need(x, 0, a).exp(),
  Log: (x, a) => need(x, 0, a).log(),
  Sqrt: (x, a) => need(x, 0, a).sqrt(),
  Reciprocal: (x, a) => need(x, 0, a).reciprocal(),
  Tanh: (x, a) => need(x, 0, a).tanh(),
  Sigmoid: (x, a) => need(x, 0, a).sigmoid(),
  Relu: (x, a) => need(x, 0, a).relu(),
  Erf: (x, a) => need(x, 0, a).erf(),
  Sin: (x, a) => need(x, 0, a).sin(),
  Cos: (x, a) => need(x, 0, a).cos(),
  Floor: (x, a) => need(x, 0, a).floor(),
  Ceil: (x, a) => need(x, 0, a).ceil(),
  Sign: (x, a) => need(x, 0, a).sign(),
  LeakyRelu: (x, a) => {
    const t = need(x, 0, a);
    return where(t.gt(0), t, t.mul(a.float("alpha", 0.01)));
  },
  Elu: (x, a) => {
    const t = need(x, 0, a);
    return where(t.gt(0), t, t.exp().sub(1).mul(a.float("alpha", 1)));
  },
  Softplus: (x, a) => need(x, 0, a).exp().add(1).log(),
  Gelu: (x, a) => gelu(need(x, 0, a), { approximate: a.string("approximate", "none") as "none" }),
  Softmax: (x, a) => need(x, 0, a).softmax(a.int("axis", -1)),
  LogSoftmax: (x, a) => need(x, 0, a).logSoftmax(a.int("axis", -1)),
  Cast: (x, a) => need(x, 0, a).to(dtypeOf(a.int("to"), "Cast")),
  Where: (x, a) => where(need(x, 0, a), need(x, 1, a), need(x, 2, a)),
  Equal: (x, a) => need(x, 0, a).eq(need(x, 1, a)),
  Greater: (x, a) => need(x, 0, a).gt(need(x, 1, a)),
  Less: (x, a) => need(x, 0, a).lt(need(x, 1, a)),
  GreaterOrEqual: (x, a) => need(x, 0, a).ge(need(x, 1, a)),
  LessOrEqual: (x, a) => need(x, 0, a).le(need(x, 1, a)),
  Not: (x, a) => need(x, 0, a).logicalNot(),
  And: (x, a) => need(x, 0, a).logicalAnd(need(x, 1, a)),
  Or: (x, a) => need(x, 0, a).logicalOr(need(x, 1, a)),
  Xor: (x, a) => need(x, 0, a).logicalXor(need(x, 1, a)),
  IsNaN: (x, a) => need(x, 0, a).isnan(),
  IsInf: (x, a) => need(x, 0, a).isinf(),
  CumSum: (x, a) => {
    if (a.int("exclusive", 0) || a.int("reverse", 0)) {
      throw new OnnxFormatError("onnx.load: CumSum with exclusive or reverse is not supported");
    }
    const t = need(x, 0, a);
    return t.cumsum(normAxis(intsOf(need(x, 1, a))[0], t.ndim));
  },
  MatMul: (x, a) => need(x, 0, a).matmul(need(x, 1, a)),
  Gemm: (x, a) => {
    let A = need(x, 0, a), B = need(x, 1, a);
    if (a.int("transA", 0)) A = A.mT;
    if (a.int("transB", 0)) B = B.mT;
    let y = A.matmul(B);
    const alpha = a.float("alpha", 1), beta = a.float("beta", 1);
    if (alpha !== 1) y = y.mul(alpha);
    if (x[2]) y = y.add(beta === 1 ? x[2] : x[2].mul(beta));
    return y;
  },
  Conv: (x, a) => {
    const w = need(x, 1, a);
    if (w.ndim !== 4) {
      throw new OnnxFormatError(
        `onnx.load: Conv supports 2-D convolutions, got weight ${fmtShape(w.shape)}`,
      );
    }
    const [xp, padding] = windowPads(need(x, 0, a), a, 0);
    return conv2d(xp, w, x[2] ?? null, {
      stride: a.ints("strides", [1, 1]) as [number, number],
      padding,
      dilation: a.ints("dilations", [1, 1]) as [number, number],
      groups: a.int("group", 1),
    });
  },
  MaxPool: (x, a) => {
    if (a.has("storage_order") && a.int("storage_order") !== 0) {
      throw new OnnxFormatError("onnx.load: MaxPool storage_order 1 is not supported");
    }
    const [xp, padding] = windowPads(need(x, 0, a), a, -Infinity);
    const k = a.ints("kernel_shape") as [number, number];
    return maxPool2d(xp, k, {
      stride: a.ints("strides", [1, 1]) as [number, number],
      padding,
      dilation: a.ints("dilations", [1, 1]) as [number, number],
      ceilMode: a.int("ceil_mode", 0) === 1,
    });
  },
  AveragePool: (x, a) => {
    const [xp, padding] = windowPads(need(x, 0, a), a, 0);
    return avgPool2d(xp, a.ints("kernel_shape") as [number, number], {
      stride: a.ints("strides", [1, 1]) as [number, number],
      padding,
      ceilMode: a.int("ceil_mode", 0) === 1,
      countIncludePad: a.int("count_include_pad", 0) === 1,
    });
  },
  GlobalAveragePool: (x, a) => {
    const t = need(x, 0, a);
    let y = t;
    for (let d = t.ndim - 1; d >= 2; d--) y = y.mean(d, true);
    return y;
  },
  BatchNormalization: (x, a) =>
    batchNorm(need(x, 0, a), need(x, 3, a), need(x, 4, a), need(x, 1, a), need(x, 2, a), {
      training: false,
      eps: a.float("epsilon", 1e-5),
    }),
  LayerNormalization: (x, a) => {
    const t = need(x, 0, a);
    const axis = normAxis(a.int("axis", -1), t.ndim);
    return layerNorm(t, t.shape.slice(axis), need(x, 1, a), x[2] ?? null, {
      eps: a.float("epsilon", 1e-5),
    });
  },
  ReduceSum: reduceOp("sum"),
  ReduceMean: reduceOp("mean"),
  ReduceMax: reduceOp("amax"),
  ReduceMin: reduceOp("amin"),
  ReduceProd: reduceOp("prod"),
  Reshape: (x, a) => {
    const t = need(x, 0, a);
    const target = intsOf(need(x, 1, a));
    const allowZero = a.int("allowzero", 0) === 1;
    return t.reshape(target.map((d, i) => (d === 0 && !allowZero ? t.shape[i] : d)));
  },
  Flatten: (x, a) => {
    const t = need(x, 0, a);
    const axis = normAxis(a.int("axis", 1), t.ndim);
    const lead = t.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    return t.reshape([lead, -1]);
  },
  Transpose: (x, a) => {
    const t = need(x, 0, a);
    const perm = a.ints("perm", Array.from({ length: t.ndim }, (_, i) => t.ndim - 1 - i));
    return t.permute(perm);
  },
  Concat: (x, a) => {
    const parts = x.filter((t): t is Tensor => t !== null);
    if (parts.length === 0) return need(x, 0, a);
    return parts.length === 1 ? parts[0] : cat(parts, a.int("axis"));
  },

  Unsqueeze: (x, a) => {
    const t = need(x, 0, a);
    const axes = axesOf(x, 1, a) ?? [];
    const nd = t.ndim + axes.length;
    const sorted = axes.map((d) => normAxis(d, nd)).sort((p, q) => p - q);
    let y = t;
    for (const d of sorted) y = y.unsqueeze(d);
    return y;
  },
  Squeeze: (x, a) => {
    const t = need(x, 0, a);
    const axes = axesOf(x, 1, a);
    if (axes === null) return t.reshape(t.shape.filter((s) => s !== 1));
    const drop = axes.map((d) => normAxis(d, t.ndim));
    for (const d of drop) {
      if (t.shape[d] !== 1) {
        throw new RangeError(
          `onnx.load: Squeeze of axis ${d} of size ${t.shape[d]} in ${fmtShape(t.shape)}`,
        );
      }
    }
    return t.reshape(t.shape.filter((_, i) => !drop.includes(i)));
  },
  Shape: (x, a) => {
    const t = need(x, 0, a);
    const n = t.ndim;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    return int64(t.shape.slice(clamp(a.int("start", 0)), clamp(a.int("end", n))));
  },
  Gather: (x, a) => {
    const t = need(x, 0, a), idx = need(x, 1, a);
    const axis = normAxis(a.int("axis", 0), t.ndim);
    const size = t.shape[axis];
    const flat = idx.reshape([-1]).to("int64");
    const fixed = flat.lt(0).any().item() ? where(flat.lt(0), flat.add(size), flat) : flat;
    const g = t.indexSelect(axis, fixed);
    return g.reshape([...t.shape.slice(0, axis), ...idx.shape, ...t.shape.slice(axis + 1)]);
  },
  Slice: (x, a) => {
    let t = need(x, 0, a);
    const starts = x[1] ? intsOf(x[1]) : a.ints("starts");
    const ends = x[2] ? intsOf(x[2]) : a.ints("ends");
    const axes = x[3] ? intsOf(x[3]) : a.ints("axes", starts.map((_, i) => i));
    const steps = x[4] ? intsOf(x[4]) : starts.map(() => 1);
    axes.forEach((ax, k) => {
      const d = normAxis(ax, t.ndim);
      if (steps[k] <= 0) {
        throw new OnnxFormatError("onnx.load: Slice with a step below 1 is not supported");
      }
      const big = (v: number) => Math.max(Math.min(v, t.shape[d]), -t.shape[d] - 1);
      t = slice(t, d, big(starts[k]), big(ends[k]), steps[k]);
    });
    return t;
  },
  Split: (x, a) => {
    const t = need(x, 0, a);
    const axis = normAxis(a.int("axis", 0), t.ndim);
    const n = a.node.output.length;
    const sizes = x[1]
      ? intsOf(x[1])
      : a.has("split")
      ? a.ints("split")
      : Array.from({ length: n }, (_, i) => {
        const each = Math.ceil(t.shape[axis] / n);
        return Math.max(0, Math.min(each, t.shape[axis] - i * each));
      });
    let at = 0;
    return sizes.map((s) => {
      const part = t.narrow(axis, at, s);
      at += s;
      return part;
    });
  },
  Expand: (x, a) => {
    const t = need(x, 0, a);
    const shape = intsOf(need(x, 1, a));
    const nd = Math.max(shape.length, t.ndim);
    const ts = [...new Array(nd - t.ndim).fill(1), ...t.shape];
    const ss = [...new Array(nd - shape.length).fill(1), ...shape];
    return t.reshape(ts).expand(ts.map((d, i) => (d === 1 ? ss[i] : d)));
  },
  ConstantOfShape: (x, a, m) => {
    const shape = intsOf(need(x, 0, a));
    const v = a.tensor("value");
    if (!v) return full(shape, 0, { dtype: "float32" });
    const t = tensorFrom(v, m.readExternal);
    return full(shape, t.reshape([-1]).select(0, 0).item() as number, { dtype: t.dtype });
  },
  Constant: (_x, a, m) => {
    const t = a.tensor("value");
    if (t) return tensorFrom(t, m.readExternal);
    if (a.has("value_float")) return full([], a.float("value_float"), { dtype: "float32" });
    if (a.has("value_int")) return int64([a.int("value_int")], []);
    if (a.has("value_ints")) return int64(a.ints("value_ints"));
    throw new OnnxFormatError(`onnx.load: Constant node '${a.node.name}' has no supported value`);
  },
  Range: (x, a) => {
    const [s, e, d] = [0, 1, 2].map((k) => Number(need(x, k, a).item()));
    const n = Math.max(Math.ceil((e - s) / d), 0);
    const vals = Array.from({ length: n }, (_, i) => s + i * d);
    return x[0]!.dtype === "int64" ? int64(vals) : fromTypedArray(Float32Array.from(vals), [n]);
  },
  LSTM: (x, a) => recurrent(x, a, (x, d, rev) => lstmDir(x, d, rev, a)),
  GRU: (x, a) => recurrent(x, a, (x, d, rev) => gruDir(x, d, rev, a)),
  ConvTranspose: (x, a) => {
    const w = need(x, 1, a);
    if (w.ndim !== 4) {
      throw new OnnxFormatError(
        `onnx.load: ConvTranspose supports 2-D convolutions, got weight ${fmtShape(w.shape)}`,
      );
    }
    if (a.has("output_shape")) {
      throw new OnnxFormatError("onnx.load: ConvTranspose output_shape is not supported");
    }
    const p = a.ints("pads", [0, 0, 0, 0]);
    if (p[0] !== p[2] || p[1] !== p[3]) {
      throw new OnnxFormatError(`onnx.load: ConvTranspose with asymmetric pads [${p}]`);
    }
    return convTranspose2d(need(x, 0, a), w, x[2] ?? null, {
      stride: a.ints("strides", [1, 1]) as [number, number],
      padding: [p[0], p[1]],
      outputPadding: a.ints("output_padding", [0, 0]) as [number, number],
      dilation: a.ints("dilations", [1, 1]) as [number, number],
      groups: a.int("group", 1),
    });
  },
  InstanceNormalization: (x, a) => {
    // Normalises each (sample, channel) over the remaining dims.
    const t = need(x, 0, a);
    const axes = Array.from({ length: t.ndim - 2 }, (_, i) => i + 2);
    const mean = axes.length ? t.mean(axes, true) : t;
    const centred = t.sub(mean);
    const variance = axes.length ? centred.mul(centred).mean(axes, true) : centred.mul(0);
    const y = centred.div(variance.add(a.float("epsilon", 1e-5)).sqrt());
    const shape = [t.shape[1], ...axes.map(() => 1)];
    return y.mul(need(x, 1, a).reshape(shape)).add(need(x, 2, a).reshape(shape));
  },
};

// ------------------------------------------------------------------ the module

/**
 * An ONNX model loaded by {@link load}: `call(...inputs)` runs the graph
 * (without recording gradients) and returns its output, or an array of its
 * outputs when it has several.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const model = await zn.onnx.load("digits.onnx");
 * model.inputNames; // ["image"]
 * const logits = model.call(zn.randn([8, 1, 28, 28])) as zn.Tensor;
 * ```
 */
export class OnnxModule extends Module {
  /** The graph's inputs (initializers excluded), in order. */
  readonly inputNames: readonly string[];
  /** Each input's name, dtype and shape as the file declares them (a string or null: a dynamic dim). */
  readonly inputs: readonly {
    name: string;
    dtype: DType | null;
    shape: (number | string | null)[] | null;
  }[];
  /** The graph's outputs, in order. */
  readonly outputNames: readonly string[];
  /** The opset version of the default domain. */
  readonly opsetVersion: number;
  /** The nodes in order, each with its attributes read once and its op. */
  readonly #steps: { node: NodeProto; attrs: Attrs; run: OpFn }[];
  readonly #weights = new Map<string, Tensor>();
  /** @internal Reads a tensor's external data (set by the loader). */
  readonly readExternal: (t: TensorProto) => Uint8Array;

  /** @internal Use {@link load} or {@link loadBytes}. */
  constructor(
    graph: GraphProto,
    opsetVersion: number,
    readExternal: (t: TensorProto) => Uint8Array,
  ) {
    super();
    this.opsetVersion = opsetVersion;
    this.readExternal = readExternal;
    const missing = new Set<string>();
    for (const n of graph.node) {
      if ((n.domain !== "" && n.domain !== "ai.onnx") || !OPS[n.opType]) {
        missing.add(n.domain ? `${n.domain}.${n.opType}` : n.opType);
      }
    }
    if (missing.size) {
      throw new OnnxFormatError(
        `onnx.load: the model uses ops Zeno does not run: ${[...missing].sort().join(", ")}`,
      );
    }
    this.#steps = graph.node.map((node) => ({
      node,
      attrs: new Attrs(node),
      run: OPS[node.opType],
    }));
    for (const t of graph.initializer) this.#weights.set(t.name, tensorFrom(t, readExternal));
    this.inputs = graph.input.filter((v) => !this.#weights.has(v.name)).map((v) => ({
      name: v.name,
      dtype: DTYPES[v.elemType] ?? null,
      shape: v.shape,
    }));
    this.inputNames = this.inputs.map((v) => v.name);
    this.outputNames = graph.output.map((v) => v.name);
  }

  /** The initializers (weights and constants), by their names in the file. */
  weights(): ReadonlyMap<string, Tensor> {
    return this.#weights;
  }

  /** Runs the graph on `inputs` (one per name in {@link inputNames}). */
  override forward(...inputs: Tensor[]): Tensor | Tensor[] {
    const op = "OnnxModule";
    if (inputs.length !== this.inputNames.length) {
      throw new RangeError(
        `${op}: the model takes ${this.inputNames.length} inputs (${
          this.inputNames.join(", ")
        }), got ${inputs.length}`,
      );
    }
    const env = new Map<string, Tensor>(this.#weights);
    this.inputs.forEach((info, i) => {
      const t = inputs[i], name = info.name;
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: input '${name}' is not a Tensor`);
      if (info.dtype && t.dtype !== info.dtype) {
        throw new TypeError(`${op}: input '${name}' must be ${info.dtype}, got ${t.dtype}`);
      }
      if (info.shape) {
        const bad = info.shape.length !== t.ndim ||
          info.shape.some((d, k) => typeof d === "number" && d !== t.shape[k]);
        if (bad) {
          throw new RangeError(
            `${op}: input '${name}' must have shape [${
              info.shape.map((d) => d ?? "?").join(", ")
            }], got ${fmtShape(t.shape)}`,
          );
        }
      }
      env.set(name, t);
    });
    return noGrad(() => {
      for (const { node: n, attrs, run } of this.#steps) {
        const ins: In = n.input.map((name) => {
          if (name === "") return null;
          const v = env.get(name);
          if (!v) {
            throw new OnnxFormatError(
              `onnx.load: node '${n.name}' reads '${name}', which nothing produced`,
            );
          }
          return v;
        });
        let out: Tensor | Tensor[];
        try {
          out = run(ins, attrs, this);
        } catch (e) {
          if (e instanceof OnnxFormatError) throw e;
          throw new Error(
            `onnx.load: ${n.opType} node '${n.name}' failed on inputs ${
              ins.map((t) => (t ? fmtShape(t.shape) : "-")).join(", ")
            }: ${(e as Error).message}`,
            { cause: e },
          );
        }
        const outs = Array.isArray(out) ? out : [out];
        n.output.forEach((name, k) => {
          if (name !== "" && outs[k]) env.set(name, outs[k]);
        });
      }
      const results = this.outputNames.map((name) => {
        const v = env.get(name);
        if (!v) throw new OnnxFormatError(`onnx.load: output '${name}' was never produced`);
        return v;
      });
      return results.length === 1 ? results[0] : results;
    });
  }
}

/**
 * Options of {@link load} and {@link loadBytes}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.onnx.OnnxLoadOptions = { baseDir: "models" };
 * ```
 */
export interface OnnxLoadOptions {
  /** The folder that external data files are relative to (default: the model file's folder). */
  baseDir?: string;
}
const LOAD_KEYS = optionKeys<OnnxLoadOptions>({ baseDir: 0 });

function externalReader(baseDir: string | null): (t: TensorProto) => Uint8Array {
  const files = new Map<string, Uint8Array>();
  return (t) => {
    if (baseDir === null) {
      throw new OnnxFormatError(
        `onnx.load: tensor '${t.name}' keeps its data in another file; pass baseDir`,
      );
    }
    const e = Object.fromEntries(t.externalData);
    const loc = e.location;
    if (!loc || loc.startsWith("/") || loc.split(/[\\/]/).includes("..")) {
      throw new OnnxFormatError(
        `onnx.load: tensor '${t.name}' names external data '${loc}' outside the model's folder`,
      );
    }
    let bytes = files.get(loc);
    if (!bytes) {
      bytes = Deno.readFileSync(`${baseDir}/${loc}`);
      files.set(loc, bytes);
    }
    const off = Number(e.offset ?? 0);
    const len = e.length !== undefined ? Number(e.length) : bytes.length - off;
    if (!(off >= 0 && len >= 0 && off + len <= bytes.length)) {
      throw new OnnxFormatError(
        `onnx.load: tensor '${t.name}' reads bytes ${off} to ${
          off + len
        } of '${loc}' (${bytes.length} bytes)`,
      );
    }
    return bytes.subarray(off, off + len);
  };
}

/**
 * Builds an {@link OnnxModule} from the bytes of an ONNX file.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(3, 2), new zn.nn.ReLU());
 * const bytes = zn.onnx.exportModelBytes(net, [zn.randn([1, 3])]);
 * const back = zn.onnx.loadBytes(bytes);
 * (back.call(zn.ones([1, 3])) as zn.Tensor).shape; // [1, 2]
 * ```
 */
export function loadBytes(bytes: Uint8Array, opts: OnnxLoadOptions = {}): OnnxModule {
  checkOptions("onnx.loadBytes", opts, LOAD_KEYS);
  const m = decode(bytes);
  const def = m.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx");
  if (def && def.version < 13) {
    throw new OnnxFormatError(`onnx.load: opset ${def.version} is older than the 13 Zeno reads`);
  }
  return new OnnxModule(m.graph, def?.version ?? 0, externalReader(opts.baseDir ?? null));
}

/**
 * Loads an ONNX model file (weights in the file or in external data files
 * beside it, as `torch.onnx.export` writes them) as an {@link OnnxModule}.
 * Ops that Zeno does not run are listed in one error.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const model = await zn.onnx.load("model.onnx");
 * const y = model.call(zn.randn([4, 20])) as zn.Tensor;
 * ```
 */
export async function load(path: string | URL, opts: OnnxLoadOptions = {}): Promise<OnnxModule> {
  checkPath(path, "onnx.load");
  checkOptions("onnx.load", opts, LOAD_KEYS);
  const p = path instanceof URL ? fileURLToPath(path) : path;
  const bytes = await Deno.readFile(p);
  const slash = p.lastIndexOf("/");
  return loadBytes(bytes, { baseDir: opts.baseDir ?? (slash >= 0 ? p.slice(0, slash) : ".") });
}
