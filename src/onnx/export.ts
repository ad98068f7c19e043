/**
 * ONNX export: one forward pass of a module is traced through the autograd
 * tape (every op that {@link record} attaches is seen, with its arguments)
 * and written as an ONNX graph with the parameters and buffers as named
 * initializers.
 *
 * The forward pass is traced twice: once on the sample inputs, and once on
 * inputs whose values are reversed and whose dynamic axes are one longer.
 * The second trace must run the same ops; a shape that changes between the
 * two is written as dynamic (a reshape's target gets -1 there), and a
 * tensor that the graph would hold as a constant but that changes is an
 * error: it came from the input through an op that cannot be traced.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { type DType, isFloating } from "../dtype.ts";
import { setTraceHook } from "../autograd/node.ts";
import { enableGrad, noGrad } from "../autograd/grad_mode.ts";
import { Module } from "../nn/module.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkPath } from "../args.ts";
import { fmtShape } from "../shape.ts";
import { writeAtomic } from "../io/safetensors.ts";
import { cat } from "../ops/join.ts";
import { flip } from "../ops/rearrange.ts";
import { full } from "../ops/creation.ts";
import { fromTypedArray } from "../interop.ts";
import {
  type AttributeProto,
  AttrType,
  emptyAttribute,
  emptyTensor,
  encodeModel,
  type ModelProto,
  type NodeProto,
  OnnxDataType,
  type TensorProto,
  type ValueInfoProto,
} from "./proto.ts";

/**
 * Options of {@link exportModel}, named as `torch.onnx.export` names them.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.onnx.ExportOptions = {
 *   inputNames: ["image"],
 *   outputNames: ["logits"],
 *   dynamicAxes: { image: { 0: "batch" }, logits: { 0: "batch" } },
 * };
 * ```
 */
export interface ExportOptions {
  /** Names of the graph inputs, in order (default `input_0`, `input_1`, ...). */
  inputNames?: readonly string[];
  /** Names of the graph outputs, in order (default `output_0`, ...). */
  outputNames?: readonly string[];
  /**
   * Axes of inputs and outputs whose size may change, by name: a list of
   * axes, or axes to symbolic names (`{ input: { 0: "batch" } }`).
   */
  dynamicAxes?: Readonly<Record<string, readonly number[] | Readonly<Record<number, string>>>>;
  /** The default domain's opset version, 17 to 21 (default 17). */
  opsetVersion?: number;
}
const EXPORT_KEYS = optionKeys<ExportOptions>({
  inputNames: 0,
  outputNames: 0,
  dynamicAxes: 0,
  opsetVersion: 0,
});

/** @internal The ONNX element type of a Zeno dtype. */
export function onnxDataType(dtype: DType): number {
  const t = DATA_TYPES[dtype];
  if (t === undefined) throw new TypeError(`onnx: dtype ${dtype} has no ONNX element type`);
  return t;
}
const DATA_TYPES: Record<string, number> = {
  float32: OnnxDataType.FLOAT,
  float64: OnnxDataType.DOUBLE,
  float16: OnnxDataType.FLOAT16,
  bfloat16: OnnxDataType.BFLOAT16,
  int64: OnnxDataType.INT64,
  int32: OnnxDataType.INT32,
  int16: OnnxDataType.INT16,
  int8: OnnxDataType.INT8,
  uint8: OnnxDataType.UINT8,
  bool: OnnxDataType.BOOL,
};

/** One op as the trace saw it. */
interface Traced {
  name: string;
  inputs: readonly unknown[];
  out: Tensor;
  ctx: Record<string, unknown>;
}

/** A forward pass: its ops in order, its inputs and its outputs. */
interface Trace {
  ops: Traced[];
  inputs: Tensor[];
  outputs: Tensor[];
}

function flatTensors(v: unknown, into: Tensor[], what: string): void {
  if (v instanceof Tensor) into.push(v);
  else if (Array.isArray(v)) { for (const x of v) flatTensors(x, into, what); }
  else if (v !== null && typeof v === "object") {
    for (const x of Object.values(v)) flatTensors(x, into, what);
  } else if (v !== undefined && v !== null) {
    throw new TypeError(`onnx.exportModel: the model's ${what} hold a ${typeof v}, not tensors`);
  }
}

/** The ops that the trace sees without a tape entry (src/autograd/node.ts traceOnly). */
const UNTAPED = new Set([
  "clamp",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "logicalAnd",
  "logicalOr",
  "logicalXor",
  "logicalNot",
  "isnan",
  "isinf",
]);

/** Runs one forward pass with every float input and parameter requiring grad, seeing each op. */
function traceOnce(model: Module, inputs: readonly Tensor[]): Trace {
  const ops: Traced[] = [];
  const ins = inputs.map((x) => {
    const c = noGrad(() => x.detach().clone());
    return isFloating(c.dtype) ? c.requiresGrad_(true) : c;
  });
  // Ops without a tape entry (comparisons, logical ops) count only when they
  // read something the forward pass computed: on constants they are constants.
  const tracked = new Set<Tensor>(ins);
  for (const p of model.parameters()) tracked.add(p);
  const prev = setTraceHook((name, inputs, out, ctx) => {
    if (UNTAPED.has(name) && !inputs.some((x) => x instanceof Tensor && tracked.has(x))) return;
    tracked.add(out);
    ops.push({ name, inputs, out, ctx });
  });
  let result: unknown;
  try {
    result = enableGrad(() => model.call(...ins));
  } finally {
    setTraceHook(prev);
  }
  const outputs: Tensor[] = [];
  flatTensors(result, outputs, "outputs");
  if (outputs.length === 0) throw new TypeError("onnx.exportModel: the model returned no tensors");
  return { ops, inputs: ins, outputs };
}

// ------------------------------------------------------------------ the graph

/** Where a constant of the first trace was read: by which op, in which input slot. */
interface ConstUse {
  op: number;
  slot: number | string;
  name: string;
  value: Tensor;
}

function tensorProto(name: string, t: Tensor): TensorProto {
  const c = noGrad(() => t.detach().contiguous());
  const ta = c.toTypedArray();
  const raw = new Uint8Array(ta.byteLength);
  raw.set(new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength));
  return { ...emptyTensor(name, onnxDataType(t.dtype)), dims: t.shape.slice(), raw };
}

function intsProto(name: string, values: readonly number[], dims?: number[]): TensorProto {
  return {
    ...emptyTensor(name, OnnxDataType.INT64),
    dims: dims ?? [values.length],
    int64Data: values.map((v) => BigInt(v)),
  };
}

type AttrValue = number | string | readonly number[] | { float: number } | {
  floats: readonly number[];
} | { tensor: TensorProto };

function attr(name: string, v: AttrValue): AttributeProto {
  const a = emptyAttribute(name);
  if (typeof v === "number") {
    a.type = AttrType.INT;
    a.i = BigInt(v);
  } else if (typeof v === "string") {
    a.type = AttrType.STRING;
    a.s = new TextEncoder().encode(v);
  } else if (Array.isArray(v)) {
    a.type = AttrType.INTS;
    a.ints = (v as number[]).map((x) => BigInt(x));
  } else if ("tensor" in (v as object)) {
    a.type = AttrType.TENSOR;
    a.t = (v as { tensor: TensorProto }).tensor;
  } else if ("float" in (v as object)) {
    a.type = AttrType.FLOAT;
    a.f = (v as { float: number }).float;
  } else {
    a.type = AttrType.FLOATS;
    a.floats = [...(v as { floats: readonly number[] }).floats];
  }
  return a;
}

/** Builds the ONNX graph of the first trace, checking it against the second. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly constUses: ConstUse[] = [];
  readonly unsupported = new Set<string>();
  /** Each dynamic axis of an input, with the input in both traces. */
  readonly dynamicAxes: { first: Tensor; second: Tensor; axis: number }[] = [];
  readonly #names = new Map<Tensor, string>();
  readonly #producer = new Map<Tensor, number>();
  readonly #known: Tensor[] = [];
  readonly #lazy = new Map<Tensor, string>();
  #count = 0;
  /** The op being emitted, for the constants it reads. */
  #op = -1;

  constructor(
    readonly trace: Trace,
    readonly other: Trace,
    readonly opset: number,
  ) {
    trace.ops.forEach((o, i) => this.#producer.set(o.out, i));
  }

  /** Names a tensor the graph gets from outside (an input, a parameter, a buffer). */
  bind(t: Tensor, name: string): void {
    this.#names.set(t, name);
    this.#known.push(t);
  }

  fresh(base: string): string {
    return `${base}_${this.#count++}`;
  }

  node(
    op: string,
    inputs: readonly string[],
    attrs: [string, AttrValue][] = [],
    out?: string,
  ): string {
    return this.#push(op, inputs, [out ?? this.fresh(op)], attrs)[0];
  }

  nodeMulti(
    op: string,
    inputs: readonly string[],
    outs: number,
    attrs: [string, AttrValue][] = [],
  ): string[] {
    return this.#push(op, inputs, Array.from({ length: outs }, () => this.fresh(op)), attrs);
  }

  #push(
    op: string,
    inputs: readonly string[],
    outputs: string[],
    attrs: [string, AttrValue][],
  ): string[] {
    this.nodes.push({
      input: [...inputs],
      output: outputs,
      name: this.fresh(`n_${op}`),
      opType: op,
      domain: "",
      attribute: attrs.map(([k, v]) => attr(k, v)),
    });
    return outputs;
  }

  ints(values: readonly number[]): string {
    const name = this.fresh("ints");
    this.initializers.push(intsProto(name, values));
    return name;
  }

  scalar(v: number, dtype: DType): string {
    const name = this.fresh("scalar");
    const t = noGrad(() => full([], v, { dtype }));
    this.initializers.push(tensorProto(name, t));
    return name;
  }

  /** A 0-dim int64 constant. */
  scalarInt(v: number): string {
    const name = this.fresh("index");
    this.initializers.push(intsProto(name, [v], []));
    return name;
  }

  /** Names a parameter or buffer: an initializer of that name, written once it is read. */
  bindInitializer(t: Tensor, name: string): void {
    this.#lazy.set(t, name);
  }

  /** The ONNX name of a tensor input, emitting what produces it first. */
  value(t: Tensor, slot: number | string = 0): string {
    const named = this.#names.get(t);
    if (named !== undefined) return named;
    const init = this.#lazy.get(t);
    if (init !== undefined) {
      this.initializers.push(tensorProto(init, t));
      this.bind(t, init);
      return init;
    }
    const p = this.#producer.get(t);
    if (p !== undefined) {
      const saved = this.#op;
      this.#op = p;
      const name = this.emit(p);
      this.#op = saved;
      this.#names.set(t, name);
      return name;
    }
    // A contiguous view of a known value with all of its elements: a reshape
    // (an integer input flattened before an embedding lookup, say).
    if (t.isContiguous()) {
      for (const k of this.#known) {
        if (
          k.storage === t.storage && k.offset === t.offset && k.numel === t.numel &&
          k.isContiguous()
        ) {
          // The dynamic dims of an input fold into the target's first dim.
          const target = t.shape.slice();
          if (this.dynamicAxes.some((x) => x.first === k)) {
            target[0] = target.length === 1 || target[0] !== k.shape[0] ? -1 : 0;
          }
          const name = this.node("Reshape", [this.#names.get(k)!, this.ints(target)]);
          this.#names.set(t, name);
          return name;
        }
      }
    }
    const filled = this.#dynamicFill(t, slot);
    if (filled !== null) {
      this.#names.set(t, filled);
      return filled;
    }
    const name = this.fresh("const");
    this.initializers.push(tensorProto(name, t));
    this.constUses.push({ op: this.#op, slot, name, value: t });
    this.#names.set(t, name);
    return name;
  }

  /**
   * A tensor made inside forward, filled with one value, whose size follows
   * a dynamic input axis (the zero state of a recurrent layer, say): written
   * as ConstantOfShape of a shape read from that input. Null otherwise.
   */
  #dynamicFill(t: Tensor, slot: number | string): string | null {
    if (this.#op < 0) return null;
    const o = this.otherOp(this.#op);
    const t2 = o ? (typeof slot === "number" ? o.inputs[slot] : o.ctx[slot]) : undefined;
    if (
      !(t2 instanceof Tensor) || t2.ndim !== t.ndim || t2.shape.every((s, k) => s === t.shape[k])
    ) {
      return null;
    }
    const v = fillValue(t);
    if (v === null || fillValue(t2) !== v) return null;
    const shape = this.shapeOf(t.shape, t2.shape);
    if (shape === null) return null;
    const value = tensorProto("", noGrad(() => full([1], v, { dtype: t.dtype })));
    return this.node("ConstantOfShape", [shape], [["value", { tensor: value }]]);
  }

  /**
   * A 1-D int64 tensor of a shape that is `first` in the first trace and
   * `second` in the second: each dim that changes is read from the input
   * axis of the same sizes in both traces. Null when one matches none.
   */
  shapeOf(first: readonly number[], second: readonly number[]): string | null {
    const dims: string[] = [];
    for (let d = 0; d < first.length; d++) {
      if (first[d] === second[d]) {
        dims.push(this.ints([first[d]]));
        continue;
      }
      const src = this.dynamicAxes.find((x) =>
        x.first.shape[x.axis] === first[d] && x.second.shape[x.axis] === second[d]
      );
      if (!src) return null;
      dims.push(this.node("Shape", [this.#names.get(src.first)!], [["start", src.axis], [
        "end",
        src.axis + 1,
      ]]));
    }
    return dims.length === 1 ? dims[0] : this.node("Concat", dims, [["axis", 0]]);
  }

  /** The other trace's op at the same place, or null when the traces differ. */
  otherOp(i: number): Traced | null {
    const o = this.other.ops[i];
    return o && o.name === this.trace.ops[i].name ? o : null;
  }

  /**
   * A reshape target: each dim that the two traces give different sizes
   * becomes -1 (at most one may).
   */
  reshapeTarget(shape: readonly number[], other?: readonly number[]): string {
    const target = shape.slice();
    if (other && shape.filter((s, i) => other[i] !== s).length > 1) {
      const read = this.shapeOf(shape, other);
      if (read !== null) return read;
    }
    if (other) {
      let dyn = -1;
      for (let i = 0; i < target.length; i++) {
        if (other[i] === target[i]) continue;
        if (dyn >= 0) {
          throw new Error(
            `onnx.exportModel: a reshape to ${
              fmtShape(shape)
            } changes two dims with the dynamic axes (${
              fmtShape(other)
            } in the second trace); ONNX's Reshape can infer only one`,
          );
        }
        dyn = i;
        target[i] = -1;
      }
    }
    return this.ints(target);
  }

  /** Emits op `i` of the first trace and returns its output's name. */
  emit(i: number): string {
    const op = this.trace.ops[i];
    const emitter = EMITTERS[op.name];
    if (!emitter) {
      this.unsupported.add(op.name);
      return this.fresh(`unsupported_${op.name}`);
    }
    return emitter(this, op, i);
  }

  /** Input `k` of op `op`: a tensor's name, or a number as a scalar of `dtype`. */
  operand(op: Traced, k: number, dtype: DType): string {
    const v = op.inputs[k];
    if (v instanceof Tensor) {
      const name = this.value(v, k);
      return v.dtype === dtype ? name : this.node("Cast", [name], [["to", onnxDataType(dtype)]]);
    }
    if (typeof v === "number" || typeof v === "boolean") return this.scalar(Number(v), dtype);
    throw new TypeError(`onnx.exportModel: ${op.name} has an input of type ${typeof v}`);
  }
}

// ------------------------------------------------------------------ op emitters

type Emitter = (g: GraphBuilder, op: Traced, i: number) => string;

const unaryOnnx = (onnx: string): Emitter => (g, op) =>
  g.node(onnx, [g.operand(op, 0, op.out.dtype)]);

const binaryOnnx = (onnx: string): Emitter => (g, op) =>
  g.node(onnx, [g.operand(op, 0, op.out.dtype), g.operand(op, 1, op.out.dtype)]);

function params(op: Traced): number[] {
  return (op.ctx.params as number[] | undefined) ?? [];
}

function geluErf(g: GraphBuilder, x: string, dtype: DType): string {
  // 0.5 * x * (1 + erf(x / sqrt(2)))
  const e = g.node("Erf", [g.node("Mul", [x, g.scalar(Math.SQRT1_2, dtype)])]);
  const s = g.node("Add", [e, g.scalar(1, dtype)]);
  return g.node("Mul", [g.node("Mul", [x, g.scalar(0.5, dtype)]), s]);
}

/** The dims a reduction reduces (all when the op had none). */
function reduceAxes(op: Traced, ndim: number): number[] {
  const dims = op.ctx.dims as number[] | null | undefined;
  if (dims === null || dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  return dims.map((d) => (d < 0 ? d + ndim : d));
}

function reduce(onnx: string, axesAsInputFrom: number): Emitter {
  return (g, op) => {
    const x = op.inputs[0] as Tensor;
    const axes = reduceAxes(op, x.ndim);
    const keep = op.ctx.keepdim ? 1 : 0;
    const name = g.operand(op, 0, op.out.dtype === x.dtype ? x.dtype : op.out.dtype);
    if (g.opset >= axesAsInputFrom) {
      return g.node(onnx, [name, g.ints(axes)], [["keepdims", keep]]);
    }
    return g.node(onnx, [name], [["axes", axes], ["keepdims", keep]]);
  };
}

/** A 2-D pooling window as the pool kernels record it. */
interface PoolGeom {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  output: number[];
}

/** ONNX's window attributes of a pool, ceil_mode read off the output size it had. */
function poolAttrs(x: Tensor, geom: PoolGeom): [string, AttrValue][] {
  const floorOut = [0, 1].map((k) =>
    Math.floor(
      (x.shape[2 + k] + 2 * geom.padding[k] - geom.dilation[k] * (geom.kernel[k] - 1) - 1) /
        geom.stride[k],
    ) + 1
  );
  return [
    ["kernel_shape", [...geom.kernel]],
    ["strides", [...geom.stride]],
    ["pads", convPads(geom.padding)],
    ["ceil_mode", geom.output.some((o, k) => o > floorOut[k]) ? 1 : 0],
  ];
}

function convPads(padding: readonly number[]): number[] {
  return [...padding, ...padding];
}

/**
 * Splits w: [kH, ...] into its k gate blocks and joins them in `order`:
 * PyTorch's LSTM gates (i, f, g, o) as ONNX's (i, o, f, c) with [0, 3, 1, 2],
 * its GRU gates (r, z, n) as ONNX's (z, r, h) with [1, 0, 2].
 */
function reorderGates(g: GraphBuilder, w: string, h: number, order: readonly number[]): string {
  const blocks = g.nodeMulti("Split", [w, g.ints(order.map(() => h))], order.length, [["axis", 0]]);
  return g.node("Concat", order.map((k) => blocks[k]), [["axis", 0]]);
}
const LSTM_ORDER = [0, 3, 1, 2];
const GRU_ORDER = [1, 0, 2];

/** The dtype both operands of a comparison take: the first floating one, else the first tensor's. */
function compareDType(op: Traced): DType {
  const ts = op.inputs.filter((x): x is Tensor => x instanceof Tensor);
  return (ts.find((t) => isFloating(t.dtype)) ?? ts[0]).dtype;
}

const comparisonOnnx = (onnx: string, negate = false): Emitter => (g, op) => {
  const d = compareDType(op);
  const y = g.node(onnx, [g.operand(op, 0, d), g.operand(op, 1, d)]);
  return negate ? g.node("Not", [y]) : y;
};

const logicalOnnx = (onnx: string): Emitter => (g, op) =>
  g.node(onnx, op.inputs.map((_, k) => g.operand(op, k, "bool")));

const EMITTERS: Record<string, Emitter> = {
  eq: comparisonOnnx("Equal"),
  ne: comparisonOnnx("Equal", true),
  lt: comparisonOnnx("Less"),
  le: comparisonOnnx("LessOrEqual"),
  gt: comparisonOnnx("Greater"),
  ge: comparisonOnnx("GreaterOrEqual"),
  logicalAnd: logicalOnnx("And"),
  logicalOr: logicalOnnx("Or"),
  logicalXor: logicalOnnx("Xor"),
  logicalNot: logicalOnnx("Not"),
  isnan: (g, op) => g.node("IsNaN", [g.value(op.inputs[0] as Tensor)]),
  isinf: (g, op) => g.node("IsInf", [g.value(op.inputs[0] as Tensor)]),
  clamp: (g, op) => {
    // maximum with the lower bound, then minimum with the upper one, as clamp computes.
    const d = op.out.dtype;
    let y = g.operand(op, 0, d);
    if (op.inputs[1] !== null && op.inputs[1] !== undefined) {
      y = g.node("Max", [y, g.operand(op, 1, d)]);
    }
    if (op.inputs[2] !== null && op.inputs[2] !== undefined) {
      y = g.node("Min", [y, g.operand(op, 2, d)]);
    }
    return y;
  },
  cumsum: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const d = op.ctx.dim as number;
    return g.node("CumSum", [g.operand(op, 0, op.out.dtype), g.scalarInt(d < 0 ? d + x.ndim : d)]);
  },
  neg: unaryOnnx("Neg"),
  abs: unaryOnnx("Abs"),
  exp: unaryOnnx("Exp"),
  log: unaryOnnx("Log"),
  sqrt: unaryOnnx("Sqrt"),
  reciprocal: unaryOnnx("Reciprocal"),
  sin: unaryOnnx("Sin"),
  cos: unaryOnnx("Cos"),
  tan: unaryOnnx("Tan"),
  tanh: unaryOnnx("Tanh"),
  asin: unaryOnnx("Asin"),
  acos: unaryOnnx("Acos"),
  atan: unaryOnnx("Atan"),
  sinh: unaryOnnx("Sinh"),
  cosh: unaryOnnx("Cosh"),
  asinh: unaryOnnx("Asinh"),
  acosh: unaryOnnx("Acosh"),
  atanh: unaryOnnx("Atanh"),
  sigmoid: unaryOnnx("Sigmoid"),
  relu: unaryOnnx("Relu"),
  erf: unaryOnnx("Erf"),
  sign: unaryOnnx("Sign"),
  floor: unaryOnnx("Floor"),
  ceil: unaryOnnx("Ceil"),
  round: unaryOnnx("Round"),
  clone: unaryOnnx("Identity"),
  toDevice: unaryOnnx("Identity"),
  rsqrt: (g, op) => g.node("Reciprocal", [g.node("Sqrt", [g.operand(op, 0, op.out.dtype)])]),
  square: (g, op) => {
    const x = g.operand(op, 0, op.out.dtype);
    return g.node("Mul", [x, x]);
  },
  log1p: (g, op) =>
    g.node("Log", [g.node("Add", [g.operand(op, 0, op.out.dtype), g.scalar(1, op.out.dtype)])]),
  expm1: (g, op) =>
    g.node("Sub", [g.node("Exp", [g.operand(op, 0, op.out.dtype)]), g.scalar(1, op.out.dtype)]),
  leakyRelu: (g, op) =>
    g.node("LeakyRelu", [g.operand(op, 0, op.out.dtype)], [["alpha", { float: params(op)[0] }]]),
  elu: (g, op) =>
    g.node("Elu", [g.operand(op, 0, op.out.dtype)], [["alpha", { float: params(op)[0] }]]),
  softplus: (g, op) => {
    const [beta, threshold] = params(op);
    const x = g.operand(op, 0, op.out.dtype);
    const d = op.out.dtype;
    // PyTorch's softplus: log(1 + exp(beta x)) / beta, x itself above threshold / beta.
    const bx = beta === 1 ? x : g.node("Mul", [x, g.scalar(beta, d)]);
    let sp = g.node("Softplus", [bx]);
    if (beta !== 1) sp = g.node("Div", [sp, g.scalar(beta, d)]);
    const big = g.node("Greater", [bx, g.scalar(threshold, d)]);
    return g.node("Where", [big, x, sp]);
  },
  silu: (g, op) => {
    const x = g.operand(op, 0, op.out.dtype);
    return g.node("Mul", [x, g.node("Sigmoid", [x])]);
  },
  geluErf: (g, op) => geluErf(g, g.operand(op, 0, op.out.dtype), op.out.dtype),
  geluTanh: (g, op) => {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const d = op.out.dtype;
    const x = g.operand(op, 0, d);
    const x3 = g.node("Mul", [g.node("Mul", [x, x]), x]);
    const inner = g.node("Add", [x, g.node("Mul", [x3, g.scalar(0.044715, d)])]);
    const t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(Math.sqrt(2 / Math.PI), d)])]);
    return g.node("Mul", [
      g.node("Mul", [x, g.scalar(0.5, d)]),
      g.node("Add", [t, g.scalar(1, d)]),
    ]);
  },
  add: binaryOnnx("Add"),
  sub: binaryOnnx("Sub"),
  mul: binaryOnnx("Mul"),
  div: binaryOnnx("Div"),
  pow: binaryOnnx("Pow"),
  maximum: binaryOnnx("Max"),
  minimum: binaryOnnx("Min"),
  where: (g, op) => {
    const cond = op.inputs[0] as Tensor;
    const c = g.value(cond, 0);
    const cb = cond.dtype === "bool" ? c : g.node("Cast", [c], [["to", OnnxDataType.BOOL]]);
    return g.node("Where", [cb, g.operand(op, 1, op.out.dtype), g.operand(op, 2, op.out.dtype)]);
  },
  to: (g, op) =>
    g.node("Cast", [g.value(op.inputs[0] as Tensor)], [["to", onnxDataType(op.out.dtype)]]),
  matmul: binaryOnnx("MatMul"),
  sum: reduce("ReduceSum", 13),
  mean: reduce("ReduceMean", 18),
  amax: reduce("ReduceMax", 18),
  amin: reduce("ReduceMin", 18),
  prod: reduce("ReduceProd", 18),
  logsumexp: reduce("ReduceLogSumExp", 18),
  softmax: (g, op) =>
    g.node("Softmax", [g.value(op.inputs[0] as Tensor)], [["axis", op.ctx.dim as number]]),
  logSoftmax: (g, op) =>
    g.node("LogSoftmax", [g.value(op.inputs[0] as Tensor)], [["axis", op.ctx.dim as number]]),
  reshape: (g, op, i) => {
    const x = op.inputs[0] as Tensor;
    const other = g.otherOp(i)?.out.shape;
    return g.node("Reshape", [g.value(x), g.reshapeTarget(op.out.shape, other)]);
  },
  transpose: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const perm = Array.from({ length: x.ndim }, (_, i) => i);
    const a = op.ctx.dim0 as number, b = op.ctx.dim1 as number;
    [perm[a], perm[b]] = [perm[b], perm[a]];
    return g.node("Transpose", [g.value(x)], [["perm", perm]]);
  },
  permute: (g, op) =>
    g.node("Transpose", [g.value(op.inputs[0] as Tensor)], [["perm", op.ctx.dims as number[]]]),
  expand: (g, op, i) => {
    const x = op.inputs[0] as Tensor;
    const other = g.otherOp(i)?.out.shape;
    const shape = op.out.shape;
    if (!other || other.every((s, k) => s === shape[k])) {
      return g.node("Expand", [g.value(x), g.ints(shape)]);
    }
    // A dim that follows a dynamic axis: 1 where x has it (Expand keeps x's
    // size there), else read from the input axis it follows.
    const offset = shape.length - x.ndim;
    const keep = shape.every((s, k) =>
      other[k] === s || (k >= offset && x.shape[k - offset] === s)
    );
    if (keep) {
      return g.node("Expand", [
        g.value(x),
        g.ints(shape.map((s, k) => (other[k] !== s ? 1 : s))),
      ]);
    }
    const read = g.shapeOf(shape, other);
    if (read === null) {
      g.unsupported.add(`expand to ${fmtShape(shape)}, a size that follows no dynamic input axis`);
      return g.fresh("unsupported");
    }
    return g.node("Expand", [g.value(x), read]);
  },
  view: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const name = g.value(x);
    const sl = op.ctx.slice as [number, number, number, number] | undefined;
    const se = op.ctx.select as [number, number] | undefined;
    if (sl) {
      const [d, s, e, st] = sl;
      return g.node("Slice", [name, g.ints([s]), g.ints([e]), g.ints([d]), g.ints([st])]);
    }
    if (se) {
      const [d, idx] = se;
      return g.node("Gather", [name, g.scalarInt(idx)], [["axis", d]]);
    }
    g.unsupported.add("view (diagonal or as_strided)");
    return g.fresh("unsupported_view");
  },
  cat: (g, op) => {
    const d = op.ctx.dim as number;
    return g.node("Concat", op.inputs.map((_, k) => g.operand(op, k, op.out.dtype)), [["axis", d]]);
  },
  indexSelect: (g, op) => {
    const idx = op.ctx.index as Tensor;
    return g.node("Gather", [g.value(op.inputs[0] as Tensor), g.value(idx, "index")], [[
      "axis",
      op.ctx.dim as number,
    ]]);
  },
  gather: (g, op) =>
    g.node("GatherElements", [
      g.value(op.inputs[0] as Tensor),
      g.value(op.ctx.index as Tensor, "index"),
    ], [["axis", op.ctx.dim as number]]),
  conv2d: (g, op) => {
    const [x, w, b] = op.inputs as [Tensor, Tensor, Tensor | null];
    const inputs = [g.value(x, 0), g.value(w, 1)];
    if (b) inputs.push(g.value(b, 2));
    const kernel = w.shape.slice(2);
    return g.node("Conv", inputs, [
      ["kernel_shape", kernel],
      ["strides", op.ctx.stride as number[]],
      ["pads", convPads(op.ctx.padding as number[])],
      ["dilations", op.ctx.dilation as number[]],
      ["group", op.ctx.groups as number],
    ]);
  },
  maxPool2d: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const geom = op.ctx.geom as PoolGeom;
    return g.node("MaxPool", [g.value(x)], [
      ...poolAttrs(x, geom),
      ["dilations", [...geom.dilation]],
    ]);
  },
  avgPool2d: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const avg = op.ctx.avg as { countIncludePad: boolean; divisorOverride: number };
    if (avg.divisorOverride) {
      g.unsupported.add("avgPool2d with divisorOverride");
      return g.fresh("unsupported");
    }
    return g.node("AveragePool", [g.value(x)], [
      ...poolAttrs(x, op.ctx.geom as PoolGeom),
      ["count_include_pad", avg.countIncludePad ? 1 : 0],
    ]);
  },
  adaptiveAvgPool2d: (g, op) => {
    const x = op.inputs[0] as Tensor;
    const [oh, ow] = op.out.shape.slice(2);
    const [h, w] = x.shape.slice(2);
    if (oh === 1 && ow === 1) return g.node("GlobalAveragePool", [g.value(x)]);
    if (h % oh || w % ow) {
      g.unsupported.add(`adaptiveAvgPool2d from ${h}x${w} to ${oh}x${ow} (not a divisor)`);
      return g.fresh("unsupported");
    }
    return g.node("AveragePool", [g.value(x)], [
      ["kernel_shape", [h / oh, w / ow]],
      ["strides", [h / oh, w / ow]],
    ]);
  },
  batchNorm: (g, op) => {
    const [x, w, b] = op.inputs as [Tensor, Tensor | null, Tensor | null];
    const rm = op.ctx.runningMean as Tensor | null, rv = op.ctx.runningVar as Tensor | null;
    const c = x.shape[1];
    const d = x.dtype;
    if (op.ctx.training || !rm || !rv) {
      // Batch statistics (no running stats, or instance norm): per channel over
      // every other dim, the biased variance, as the forward pass computes them.
      const axes = [0, ...x.shape.slice(2).map((_, k) => k + 2)];
      const mean = (t: string) =>
        g.opset >= 18
          ? g.node("ReduceMean", [t, g.ints(axes)], [["keepdims", 1]])
          : g.node("ReduceMean", [t], [["axes", axes], ["keepdims", 1]]);
      const xn = g.value(x, 0);
      const xc = g.node("Sub", [xn, mean(xn)]);
      const variance = mean(g.node("Mul", [xc, xc]));
      let y = g.node("Div", [
        xc,
        g.node("Sqrt", [g.node("Add", [variance, g.scalar(op.ctx.eps as number, d)])]),
      ]);
      // [-1, 1, ...]: the channel count may follow the batch (instance norm's [1, N * C, ...]).
      const shape = [-1, ...x.shape.slice(2).map(() => 1)];
      if (w) y = g.node("Mul", [y, g.node("Reshape", [g.value(w, 1), g.ints(shape)])]);
      if (b) y = g.node("Add", [y, g.node("Reshape", [g.value(b, 2), g.ints(shape)])]);
      return y;
    }
    const scale = w ? g.value(w, 1) : g.value(noGrad(() => full([c], 1, { dtype: d })), "weight");
    const shift = b ? g.value(b, 2) : g.value(noGrad(() => full([c], 0, { dtype: d })), "bias");
    return g.node(
      "BatchNormalization",
      [g.value(x, 0), scale, shift, g.value(rm, "runningMean"), g.value(rv, "runningVar")],
      [["epsilon", { float: op.ctx.eps as number }]],
    );
  },
  layerNorm: (g, op) => {
    const [x, w, b] = op.inputs as [Tensor, Tensor | null, Tensor | null];
    const d = op.ctx.d as number;
    let axis = x.ndim, prod = 1;
    while (axis > 0 && prod < d) prod *= x.shape[--axis];
    const normShape = x.shape.slice(axis);
    const scale = w
      ? g.value(w, 1)
      : g.value(noGrad(() => full(normShape, 1, { dtype: x.dtype })), "weight");
    const inputs = [g.value(x, 0), scale];
    if (b) inputs.push(g.value(b, 2));
    return g.node("LayerNormalization", inputs, [
      ["axis", axis],
      ["epsilon", { float: op.ctx.eps as number }],
    ]);
  },
  rmsNorm: (g, op) => {
    const [x, w] = op.inputs as [Tensor, Tensor | null];
    const d = op.ctx.d as number;
    let axis = x.ndim, prod = 1;
    while (axis > 0 && prod < d) prod *= x.shape[--axis];
    const axes = Array.from({ length: x.ndim - axis }, (_, k) => axis + k);
    const xn = g.value(x, 0);
    const dt = x.dtype;
    const ms = g.opset >= 18
      ? g.node("ReduceMean", [g.node("Mul", [xn, xn]), g.ints(axes)], [["keepdims", 1]])
      : g.node("ReduceMean", [g.node("Mul", [xn, xn])], [["axes", axes], ["keepdims", 1]]);
    const r = g.node("Reciprocal", [
      g.node("Sqrt", [g.node("Add", [ms, g.scalar(op.ctx.eps as number, dt)])]),
    ]);
    const y = g.node("Mul", [xn, r]);
    return w ? g.node("Mul", [y, g.value(w, 1)]) : y;
  },
  fusedAttention: (g, op) => {
    // softmax(q k^T * scale [+ causal mask]) v over the last two dims.
    const [q, k, v] = op.inputs as [Tensor, Tensor, Tensor];
    const d = q.dtype;
    const perm = Array.from({ length: k.ndim }, (_, i) => i);
    [perm[k.ndim - 2], perm[k.ndim - 1]] = [perm[k.ndim - 1], perm[k.ndim - 2]];
    const kt = g.node("Transpose", [g.value(k, 1)], [["perm", perm]]);
    let s = g.node("Mul", [
      g.node("MatMul", [g.value(q, 0), kt]),
      g.scalar(op.ctx.scale as number, d),
    ]);
    if (op.ctx.causal) {
      const L = q.shape[q.ndim - 2], S = k.shape[k.ndim - 2];
      const mask = noGrad(() => {
        const m = new Float32Array(L * S);
        for (let i = 0; i < L; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = -Infinity;
        return full([L, S], 0, { dtype: d }).add(fromF32(m, [L, S], d));
      });
      s = g.node("Add", [s, g.value(mask, "mask")]);
    }
    const p = g.node("Softmax", [s], [["axis", -1]]);
    return g.node("MatMul", [p, g.value(v, 2)]);
  },
  gruRecurrence: (g, op) => {
    // The fused layer's recurrence: gx [T, B, 3H] is x's projection (bias
    // b_ih included), so ONNX's W is the permutation that picks gx's gate
    // blocks in ONNX's order; R and Rb are w_hh and b_hh reordered.
    const [gx, wHh, bHh, h0] = op.inputs as (Tensor | null | undefined)[];
    const h = wHh!.shape[1];
    const d = gx!.dtype;
    const perm = noGrad(() => {
      const m = new Float32Array(9 * h * h);
      GRU_ORDER.forEach((src, dst) => {
        for (let i = 0; i < h; i++) m[(dst * h + i) * 3 * h + src * h + i] = 1;
      });
      return fromF32(m, [1, 3 * h, 3 * h], d);
    });
    const r = g.node("Unsqueeze", [reorderGates(g, g.value(wHh!, 1), h, GRU_ORDER), g.ints([0])]);
    const inputs = [g.value(gx!, 0), g.value(perm, "w"), r];
    if (bHh) {
      const zero = g.value(noGrad(() => full([3 * h], 0, { dtype: d })), "bias");
      inputs.push(g.node("Unsqueeze", [
        g.node("Concat", [zero, reorderGates(g, g.value(bHh, 2), h, GRU_ORDER)], [["axis", 0]]),
        g.ints([0]),
      ]));
    } else inputs.push("");
    inputs.push("");
    inputs.push(h0 ? g.node("Unsqueeze", [g.value(h0, 3), g.ints([0])]) : "");
    while (inputs[inputs.length - 1] === "") inputs.pop();
    const [y] = g.nodeMulti("GRU", inputs, 2, [
      ["hidden_size", h],
      ["direction", op.ctx.reverse ? "reverse" : "forward"],
      ["linear_before_reset", 1],
    ]);
    return g.node("Squeeze", [y, g.ints([1])]);
  },
  convTranspose2d: (g, op) => {
    const [x, w, b] = op.inputs as [Tensor, Tensor, Tensor | null];
    const inputs = [g.value(x, 0), g.value(w, 1)];
    if (b) inputs.push(g.value(b, 2));
    const kernel = w.shape.slice(2);
    const s = op.ctx.stride as number[], p = op.ctx.padding as number[];
    const dl = op.ctx.dilation as number[];
    const outPad = [0, 1].map((k) =>
      op.out.shape[2 + k] - ((x.shape[2 + k] - 1) * s[k] - 2 * p[k] + dl[k] * (kernel[k] - 1) + 1)
    );
    return g.node("ConvTranspose", inputs, [
      ["kernel_shape", kernel],
      ["strides", s],
      ["pads", convPads(p)],
      ["dilations", dl],
      ["group", op.ctx.groups as number],
      ["output_padding", outPad],
    ]);
  },
  groupNorm: (g, op) => {
    // Per sample and group: InstanceNormalization over [N, G, C/G * S] with
    // unit scale, then the per-channel affine.
    const [x, w, b] = op.inputs as [Tensor, Tensor | null, Tensor | null];
    const groups = op.ctx.groups as number;
    const c = x.shape[1];
    const d = x.dtype;
    const ones = g.value(noGrad(() => full([groups], 1, { dtype: d })), "scale");
    const zeros = g.value(noGrad(() => full([groups], 0, { dtype: d })), "shift");
    const xg = g.node("Reshape", [g.value(x, 0), g.ints([0, groups, -1])]);
    const n = g.node("InstanceNormalization", [xg, ones, zeros], [["epsilon", {
      float: op.ctx.eps as number,
    }]]);
    // Back to x's shape: [N, C, spatial...], taken from x itself (dynamic batch).
    let y = g.node("Reshape", [n, g.node("Shape", [g.value(x, 0)])]);
    const bshape = [c, ...x.shape.slice(2).map(() => 1)];
    if (w) y = g.node("Mul", [y, g.node("Reshape", [g.value(w, 1), g.ints(bshape)])]);
    if (b) y = g.node("Add", [y, g.node("Reshape", [g.value(b, 2), g.ints(bshape)])]);
    return y;
  },
  lstmLayer: (g, op) => {
    // The fused layer's node output packs [T + 1, B, H]: the hidden states of
    // every step, then the last cell state.
    const [x, wIh, bias, wHh, h0, c0] = op.inputs as (Tensor | null | undefined)[];
    const h = wHh!.shape[1];
    const d = x!.dtype;
    const w = g.node("Unsqueeze", [reorderGates(g, g.value(wIh!, 1), h, LSTM_ORDER), g.ints([0])]);
    const r = g.node("Unsqueeze", [reorderGates(g, g.value(wHh!, 3), h, LSTM_ORDER), g.ints([0])]);
    const inputs = [g.value(x!, 0), w, r];
    if (bias) {
      const zero = g.value(noGrad(() => full([4 * h], 0, { dtype: d })), "bias");
      inputs.push(g.node("Unsqueeze", [
        g.node("Concat", [reorderGates(g, g.value(bias, 2), h, LSTM_ORDER), zero], [["axis", 0]]),
        g.ints([0]),
      ]));
    } else inputs.push("");
    inputs.push("");
    inputs.push(h0 ? g.node("Unsqueeze", [g.value(h0, 4), g.ints([0])]) : "");
    inputs.push(c0 ? g.node("Unsqueeze", [g.value(c0, 5), g.ints([0])]) : "");
    while (inputs[inputs.length - 1] === "") inputs.pop();
    const [y, , yc] = g.nodeMulti("LSTM", inputs, 3, [
      ["hidden_size", h],
      ["direction", op.ctx.reverse ? "reverse" : "forward"],
    ]);
    // Y: [T, 1, B, H] -> [T, B, H]; Y_c: [1, B, H].
    return g.node("Concat", [g.node("Squeeze", [y, g.ints([1])]), yc], [["axis", 0]]);
  },
};

function fromF32(m: Float32Array, shape: number[], dtype: DType): Tensor {
  return fromTypedArray(m, shape).to(dtype);
}

// ------------------------------------------------------------------ export

const IR_VERSION: Record<number, number> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

/** The dynamic axes of one value: axis to symbolic name. */
function axesOf(
  spec: ExportOptions["dynamicAxes"],
  name: string,
  ndim: number,
): Map<number, string> {
  const out = new Map<number, string>();
  const s = spec?.[name];
  if (s === undefined) return out;
  const entries: [number, string][] = Array.isArray(s)
    ? (s as number[]).map((a) => [a, `${name}_dim${a}`])
    : Object.entries(s).map(([a, n]) => [Number(a), String(n)]);
  for (const [a, n] of entries) {
    if (!Number.isInteger(a) || a < 0 || a >= ndim) {
      throw new RangeError(
        `onnx.exportModel: dynamicAxes of '${name}' names axis ${a}, but it has ${ndim} dims`,
      );
    }
    out.set(a, n);
  }
  return out;
}

/** Inputs for the second trace: values reversed, each dynamic axis one longer. */
function secondInputs(inputs: readonly Tensor[], dyn: Map<number, string>[]): Tensor[] {
  return noGrad(() =>
    inputs.map((x, i) => {
      let y = x.ndim === 0 ? x.clone() : flip(x, Array.from({ length: x.ndim }, (_, k) => k));
      for (const a of dyn[i].keys()) {
        if (y.shape[a] === 0) {
          throw new RangeError(`onnx.exportModel: dynamic axis ${a} of input ${i} has size 0`);
        }
        y = cat([y, y.narrow(a, 0, 1)], a);
      }
      return y;
    })
  );
}

/** The one value every element of `t` holds, or null (none, or several). */
function fillValue(t: Tensor): number | null {
  if (t.numel === 0) return 0;
  if (!isFloating(t.dtype)) return null;
  const x = noGrad(() => t.detach().contiguous()).toTypedArray() as Float32Array;
  const v = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] !== v) return null;
  return Number.isFinite(v) ? v : null;
}

function sameValues(a: Tensor, b: Tensor): boolean {
  const x = noGrad(() => a.detach().contiguous()).toTypedArray();
  const y = noGrad(() => b.detach().contiguous()).toTypedArray();
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
  }
  return true;
}

function valueInfo(
  name: string,
  t: Tensor,
  other: Tensor | null,
  dyn: Map<number, string>,
): ValueInfoProto {
  return {
    name,
    elemType: onnxDataType(t.dtype),
    shape: t.shape.map((s, k) =>
      dyn.get(k) ?? (other && other.shape[k] !== s ? `${name}_dim${k}` : s)
    ),
  };
}

/**
 * The bytes of an ONNX model of `model`, traced on `sampleInputs` in
 * evaluation mode (dropout off, batch norm on its running statistics); see
 * {@link exportModel}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(4, 8), new zn.nn.ReLU(), new zn.nn.Linear(8, 2));
 * const bytes = zn.onnx.exportModelBytes(net, [zn.randn([3, 4])], {
 *   inputNames: ["x"],
 *   dynamicAxes: { x: [0] },
 * });
 * bytes.length > 0; // true
 * ```
 */
export function exportModelBytes(
  model: Module,
  sampleInputs: Tensor | readonly Tensor[],
  opts: ExportOptions = {},
): Uint8Array {
  const op = "onnx.exportModel";
  if (!(model instanceof Module)) throw new TypeError(`${op}: model must be a Module`);
  checkOptions(op, opts, EXPORT_KEYS);
  const inputs = sampleInputs instanceof Tensor ? [sampleInputs] : [...sampleInputs];
  if (!Array.isArray(sampleInputs) && !(sampleInputs instanceof Tensor)) {
    throw new TypeError(`${op}: sampleInputs must be a Tensor or an array of Tensors`);
  }
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: sample input ${i} is not a Tensor`);
  });
  const opset = opts.opsetVersion ?? 17;
  if (IR_VERSION[opset] === undefined) {
    throw new RangeError(`${op}: opsetVersion must be 17 to 21, got ${opset}`);
  }
  const inputNames = inputs.map((_, i) => opts.inputNames?.[i] ?? `input_${i}`);
  if (opts.inputNames && opts.inputNames.length > inputs.length) {
    throw new RangeError(
      `${op}: ${opts.inputNames.length} inputNames for ${inputs.length} sample inputs`,
    );
  }
  const dyn = inputs.map((x, i) => axesOf(opts.dynamicAxes, inputNames[i], x.ndim));

  // Trace in evaluation mode, with every float parameter requiring grad so
  // that each op on one is recorded.
  const wasTraining = [...model.modules()].map((m) => [m, m.training] as const);
  const frozen = [...model.parameters()].filter((p) => !p.requiresGrad && isFloating(p.dtype));
  let first: Trace, second: Trace;
  model.eval();
  for (const p of frozen) p.requiresGrad_(true);
  try {
    first = traceOnce(model, inputs);
    second = traceOnce(model, secondInputs(inputs, dyn));
  } finally {
    for (const p of frozen) p.requiresGrad_(false);
    for (const [m, t] of wasTraining) m.training = t;
  }
  if (
    first.ops.length !== second.ops.length ||
    first.ops.some((o, i) => o.name !== second.ops[i].name) ||
    first.outputs.length !== second.outputs.length
  ) {
    const at = first.ops.findIndex((o, i) => o.name !== second.ops[i]?.name);
    const what = at < 0
      ? `${first.ops.length} ops, then ${second.ops.length}`
      : `op ${at} was ${first.ops[at].name}, then ${second.ops[at]?.name ?? "nothing"}`;
    throw new Error(
      `${op}: the forward pass ran different ops when the input's values or dynamic sizes changed (${what}); control flow on tensor values or shapes cannot be exported`,
    );
  }

  const g = new GraphBuilder(first, second, opset);
  first.inputs.forEach((x, i) => {
    g.bind(x, inputNames[i]);
    for (const axis of dyn[i].keys()) {
      g.dynamicAxes.push({ first: x, second: second.inputs[i], axis });
    }
  });
  for (const [name, p] of model.namedParameters()) g.bindInitializer(p, name);
  for (const [name, b] of model.namedBuffers()) g.bindInitializer(b, name);
  const outputNames = first.outputs.map((_, i) => opts.outputNames?.[i] ?? `output_${i}`);
  if (opts.outputNames && opts.outputNames.length > first.outputs.length) {
    throw new RangeError(
      `${op}: ${opts.outputNames.length} outputNames for ${first.outputs.length} outputs`,
    );
  }
  first.outputs.forEach((t, i) => g.node("Identity", [g.value(t)], [], outputNames[i]));
  if (g.unsupported.size) {
    throw new Error(
      `${op}: these ops cannot be exported to ONNX: ${[...g.unsupported].join(", ")}`,
    );
  }
  for (const u of g.constUses) {
    if (u.op < 0) continue;
    const o = second.ops[u.op];
    const v = typeof u.slot === "number" ? o.inputs[u.slot] : o.ctx[u.slot];
    if (!(v instanceof Tensor)) continue;
    const at = `input ${u.slot} of ${o.name} (op ${u.op} of the forward pass)`;
    if (v.shape.length !== u.value.shape.length || v.shape.some((s, k) => s !== u.value.shape[k])) {
      throw new Error(
        `${op}: ${at} is a tensor made inside forward whose shape follows a dynamic axis (${
          fmtShape(u.value.shape)
        }, then ${
          fmtShape(v.shape)
        }); a constant cannot follow it. Derive it from the input with traced ops instead`,
      );
    }
    if (!sameValues(u.value, v)) {
      throw new Error(
        `${op}: ${at} depends on the input's values through an op that is not traced (integer or boolean ops such as comparisons, argmax or indexing); the graph would hold it as a constant`,
      );
    }
  }
  const model_: ModelProto = {
    irVersion: IR_VERSION[opset],
    opsetImport: [{ domain: "", version: opset }],
    producerName: "zeno",
    producerVersion: "0.1.0",
    graph: {
      name: model.constructor.name || "model",
      node: g.nodes,
      initializer: g.initializers,
      input: first.inputs.map((x, i) => valueInfo(inputNames[i], x, second.inputs[i], dyn[i])),
      output: first.outputs.map((t, i) =>
        valueInfo(
          outputNames[i],
          t,
          second.outputs[i],
          axesOf(opts.dynamicAxes, outputNames[i], t.ndim),
        )
      ),
      valueInfo: [],
    },
  };
  return encodeModel(model_);
}

/**
 * Exports `model` to an ONNX file at `path` (written under a temporary name
 * and renamed): one forward pass on `sampleInputs` in evaluation mode is
 * traced into a graph (opset 17 by default) with the parameters and buffers
 * as initializers under their state-dict names. Axes named in `dynamicAxes`
 * may change size in the exported graph. An op that has no ONNX form is
 * named in the error, and nothing is written.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(4, 8), new zn.nn.ReLU(), new zn.nn.Linear(8, 2));
 * await zn.onnx.exportModel(net, [zn.randn([1, 4])], "net.onnx", {
 *   inputNames: ["x"],
 *   outputNames: ["y"],
 *   dynamicAxes: { x: { 0: "batch" }, y: { 0: "batch" } },
 * });
 * ```
 */
export async function exportModel(
  model: Module,
  sampleInputs: Tensor | readonly Tensor[],
  path: string | URL,
  opts: ExportOptions = {},
): Promise<void> {
  checkPath(path, "onnx.exportModel");
  const bytes = exportModelBytes(model, sampleInputs, opts);
  await writeAtomic(path, async (f) => {
    for (let at = 0; at < bytes.length;) at += await f.write(bytes.subarray(at));
  });
}
