/**
 * The ONNX file format: the protocol buffer messages of `onnx.proto` that a
 * model file holds (model, graph, node, attribute, tensor, value info and
 * type), with an encoder and a decoder of their own. Only the wire format's
 * four field kinds that ONNX uses are read (varint, 64-bit, length-delimited,
 * 32-bit); unknown fields are skipped, as every protobuf reader does, and
 * repeated numbers are read both packed and unpacked.
 *
 * @module
 */

// ------------------------------------------------------------------ messages

/** @internal ONNX's element types (`TensorProto.DataType`), by the format's numbers. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** @internal `AttributeProto.AttributeType`. */
export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** @internal A `TensorProto`: dims, element type and the data in one of its fields. */
export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  /** `raw_data`: little-endian bytes. */
  raw: Uint8Array | null;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  doubleData: number[];
  /** Whether the data lives in a file beside the model (`data_location` EXTERNAL). */
  external: boolean;
  /** `external_data`: location, offset and length of that data. */
  externalData: [string, string][];
}

/** @internal An `AttributeProto`. */
export interface AttributeProto {
  name: string;
  type: number;
  f: number;
  i: bigint;
  s: Uint8Array;
  t: TensorProto | null;
  g: GraphProto | null;
  floats: number[];
  ints: bigint[];
  strings: Uint8Array[];
}

/** @internal A `NodeProto`. */
export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeProto[];
}

/** @internal One dim of a `TensorShapeProto`: a size, a symbolic name, or unknown. */
export type DimProto = number | string | null;

/** @internal A `ValueInfoProto` of a tensor. */
export interface ValueInfoProto {
  name: string;
  /** 0 when the value info has no tensor type. */
  elemType: number;
  /** null: no shape given. */
  shape: DimProto[] | null;
}

/** @internal A `GraphProto`. */
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}

/** @internal A `ModelProto`. */
export interface ModelProto {
  irVersion: number;
  opsetImport: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
}

/** @internal An AttributeProto with every field empty. */
export function emptyAttribute(name: string): AttributeProto {
  return {
    name,
    type: 0,
    f: 0,
    i: 0n,
    s: new Uint8Array(0),
    t: null,
    g: null,
    floats: [],
    ints: [],
    strings: [],
  };
}

/** @internal A TensorProto with every field empty. */
export function emptyTensor(name: string, dataType = 0): TensorProto {
  return {
    name,
    dims: [],
    dataType,
    raw: null,
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    external: false,
    externalData: [],
  };
}

// ------------------------------------------------------------------ encoding

const utf8 = new TextEncoder();

/** @internal A growing byte buffer with the protobuf field writers. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #varint(v: bigint | number): void {
    // Negative int32/int64 values are written as their 64-bit two's complement (10 bytes).
    let x = BigInt.asUintN(64, BigInt(v));
    this.#reserve(10);
    while (x >= 0x80n) {
      this.#buf[this.#len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#len++] = Number(x);
  }

  #smallVarint(v: number): void {
    // Tags and lengths: non-negative and below 2^31, the common case without BigInt.
    this.#reserve(5);
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[this.#len++] = v;
  }

  #tag(field: number, wire: number): void {
    this.#smallVarint((field << 3) | wire);
  }

  /** A varint field (int32, int64, enum, bool). */
  int(field: number, v: number | bigint): this {
    this.#tag(field, 0);
    if (typeof v === "number" && v >= 0 && v < 0x80000000) this.#smallVarint(v);
    else this.#varint(v);
    return this;
  }

  /** A length-delimited field of raw bytes. */
  bytes(field: number, b: Uint8Array): this {
    this.#tag(field, 2);
    this.#smallVarint(b.length);
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** A 32-bit float field. */
  float(field: number, v: number): this {
    this.#tag(field, 5);
    this.#reserve(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  /** A packed repeated float field. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** A nested message field. */
  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  /** The bytes written so far (a view). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

function writeTensor(t: TensorProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  if (t.name) w.string(8, t.name);
  if (t.raw) w.bytes(9, t.raw);
  if (t.floatData.length) w.packedFloats(4, t.floatData);
  for (const v of t.int64Data) w.int(7, v);
  return w;
}

function writeAttribute(a: AttributeProto): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name).int(20, a.type);
  switch (a.type) {
    case AttrType.FLOAT:
      w.float(2, a.f);
      break;
    case AttrType.INT:
      w.int(3, a.i);
      break;
    case AttrType.STRING:
      w.bytes(4, a.s);
      break;
    case AttrType.TENSOR:
      w.message(5, writeTensor(a.t!));
      break;
    case AttrType.FLOATS:
      for (const f of a.floats) w.float(7, f);
      break;
    case AttrType.INTS:
      for (const i of a.ints) w.int(8, i);
      break;
    default:
      throw new Error(`onnx: cannot write an attribute of type ${a.type}`);
  }
  return w;
}

function writeValueInfo(v: ValueInfoProto): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape ?? []) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int(1, d);
    else if (typeof d === "string") dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, v.elemType);
  if (v.shape) tensorType.message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function writeGraph(g: GraphProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.node) {
    const nw = new ProtoWriter();
    for (const i of n.input) nw.string(1, i);
    for (const o of n.output) nw.string(2, o);
    if (n.name) nw.string(3, n.name);
    nw.string(4, n.opType);
    for (const a of n.attribute) nw.message(5, writeAttribute(a));
    if (n.domain) nw.string(7, n.domain);
    w.message(1, nw);
  }
  w.string(2, g.name);
  for (const t of g.initializer) w.message(5, writeTensor(t));
  for (const v of g.input) w.message(11, writeValueInfo(v));
  for (const v of g.output) w.message(12, writeValueInfo(v));
  for (const v of g.valueInfo) w.message(13, writeValueInfo(v));
  return w;
}

/** @internal The bytes of an ONNX model file. */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new ProtoWriter().int(1, m.irVersion);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  w.message(7, writeGraph(m.graph));
  for (const o of m.opsetImport) {
    const ow = new ProtoWriter();
    if (o.domain) ow.string(1, o.domain);
    ow.int(2, o.version);
    w.message(8, ow);
  }
  return w.finish();
}

// ------------------------------------------------------------------ decoding

/**
 * A malformed ONNX file: truncated, a field of the wrong wire type, or a
 * value out of range. The message names the message and field.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * try {
 *   await zn.onnx.load("truncated.onnx");
 * } catch (e) {
 *   e instanceof zn.onnx.OnnxFormatError; // true
 * }
 * ```
 */
export class OnnxFormatError extends Error {
  /** @param message What was wrong, and where. */
  constructor(message: string) {
    super(message);
    this.name = "OnnxFormatError";
  }
}

const utf8d = new TextDecoder("utf-8", { fatal: true });

/** One field as read from the wire. */
type Field =
  | { n: number; wire: 0; v: bigint }
  | { n: number; wire: 1; v: DataView }
  | { n: number; wire: 2; v: Uint8Array }
  | { n: number; wire: 5; v: DataView };

/**
 * The varint at `pos.at` of `b` (advancing it): at most 10 bytes, as a
 * 64-bit value.
 */
function readVarint(b: Uint8Array, pos: { at: number }, what: string): bigint {
  let r = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.at >= b.length) throw new OnnxFormatError(`onnx: ${what} ends inside a varint`);
    const c = b[pos.at++];
    r |= BigInt(c & 0x7f) << shift;
    if (!(c & 0x80)) return r;
    shift += 7n;
    if (shift > 63n) throw new OnnxFormatError(`onnx: ${what} has a varint over 10 bytes`);
  }
}

/** The fields of one message, in order (nested messages are parsed on demand). */
function fields(b: Uint8Array, what: string): Field[] {
  const out: Field[] = [];
  const pos = { at: 0 };
  const varint = () => readVarint(b, pos, what);
  while (pos.at < b.length) {
    const key = varint();
    const n = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (n === 0) throw new OnnxFormatError(`onnx: ${what} has a field number 0`);
    if (wire === 0) out.push({ n, wire, v: varint() });
    else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (pos.at + len > b.length) throw new OnnxFormatError(`onnx: ${what} is truncated`);
      out.push({ n, wire, v: new DataView(b.buffer, b.byteOffset + pos.at, len) });
      pos.at += len;
    } else if (wire === 2) {
      const len = varint();
      if (len > BigInt(b.length - pos.at)) {
        throw new OnnxFormatError(`onnx: ${what} field ${n} runs past the end (truncated file?)`);
      }
      out.push({ n, wire, v: b.subarray(pos.at, pos.at + Number(len)) });
      pos.at += Number(len);
    } else {
      throw new OnnxFormatError(`onnx: ${what} field ${n} has unsupported wire type ${wire}`);
    }
  }
  return out;
}

function str(f: Field, what: string): string {
  if (f.wire !== 2) throw new OnnxFormatError(`onnx: ${what} field ${f.n} is not a string`);
  try {
    return utf8d.decode(f.v);
  } catch {
    throw new OnnxFormatError(`onnx: ${what} field ${f.n} is not valid UTF-8`);
  }
}

function bytesOf(f: Field, what: string): Uint8Array {
  if (f.wire !== 2) throw new OnnxFormatError(`onnx: ${what} field ${f.n} is not bytes`);
  return f.v;
}

function sub(f: Field, what: string): Uint8Array {
  if (f.wire !== 2) throw new OnnxFormatError(`onnx: ${what} field ${f.n} is not a message`);
  return f.v;
}

/** A varint field as a signed 64-bit integer. */
function int64(f: Field, what: string): bigint {
  if (f.wire !== 0) throw new OnnxFormatError(`onnx: ${what} field ${f.n} is not an integer`);
  return BigInt.asIntN(64, f.v);
}

function int(f: Field, what: string): number {
  const v = int64(f, what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OnnxFormatError(`onnx: ${what} field ${f.n} is out of range (${v})`);
  }
  return Number(v);
}

/** Repeated int64s, packed or one per field. */
function pushInts(f: Field, into: bigint[], what: string): void {
  if (f.wire === 0) {
    into.push(BigInt.asIntN(64, f.v));
    return;
  }
  const b = bytesOf(f, what);
  const pos = { at: 0 };
  while (pos.at < b.length) into.push(BigInt.asIntN(64, readVarint(b, pos, what)));
}

/** Repeated fixed-width numbers, packed or one per field. */
function pushFixed(f: Field, into: number[], size: 4 | 8, what: string): void {
  if (f.wire === 5 && size === 4) into.push(f.v.getFloat32(0, true));
  else if (f.wire === 1 && size === 8) into.push(f.v.getFloat64(0, true));
  else if (f.wire === 2) {
    if (f.v.length % size) throw new OnnxFormatError(`onnx: ${what} packed field ${f.n} is ragged`);
    const dv = new DataView(f.v.buffer, f.v.byteOffset, f.v.length);
    for (let i = 0; i < f.v.length; i += size) {
      into.push(size === 4 ? dv.getFloat32(i, true) : dv.getFloat64(i, true));
    }
  } else throw new OnnxFormatError(`onnx: ${what} field ${f.n} has the wrong wire type`);
}

function readTensor(b: Uint8Array): TensorProto {
  const t = emptyTensor("");
  const dims: bigint[] = [];
  const i32: bigint[] = [];
  for (const f of fields(b, "TensorProto")) {
    switch (f.n) {
      case 1:
        pushInts(f, dims, "TensorProto.dims");
        break;
      case 2:
        t.dataType = int(f, "TensorProto");
        break;
      case 4:
        pushFixed(f, t.floatData, 4, "TensorProto.float_data");
        break;
      case 5:
        pushInts(f, i32, "TensorProto.int32_data");
        break;
      case 7:
        pushInts(f, t.int64Data, "TensorProto.int64_data");
        break;
      case 8:
        t.name = str(f, "TensorProto");
        break;
      case 9:
        t.raw = bytesOf(f, "TensorProto");
        break;
      case 10:
        pushFixed(f, t.doubleData, 8, "TensorProto.double_data");
        break;
      case 13: {
        let k = "", v = "";
        for (const e of fields(sub(f, "TensorProto"), "StringStringEntryProto")) {
          if (e.n === 1) k = str(e, "StringStringEntryProto");
          else if (e.n === 2) v = str(e, "StringStringEntryProto");
        }
        t.externalData.push([k, v]);
        break;
      }
      case 14:
        t.external = int(f, "TensorProto") === 1;
        break;
    }
  }
  for (const d of dims) {
    if (d < 0n || d > 0x7fffffffn) {
      throw new OnnxFormatError(`onnx: tensor '${t.name}' has an invalid dim ${d}`);
    }
    t.dims.push(Number(d));
  }
  t.int32Data = i32.map((v) => Number(BigInt.asIntN(32, v)));
  return t;
}

function readAttribute(b: Uint8Array): AttributeProto {
  const a = emptyAttribute("");
  const w = "AttributeProto";
  for (const f of fields(b, w)) {
    switch (f.n) {
      case 1:
        a.name = str(f, w);
        break;
      case 20:
        a.type = int(f, w);
        break;
      case 2:
        if (f.wire !== 5) throw new OnnxFormatError(`onnx: attribute field f is not a float`);
        a.f = f.v.getFloat32(0, true);
        break;
      case 3:
        a.i = int64(f, w);
        break;
      case 4:
        a.s = bytesOf(f, w);
        break;
      case 5:
        a.t = readTensor(sub(f, w));
        break;
      case 6:
        a.g = readGraph(sub(f, w));
        break;
      case 7:
        pushFixed(f, a.floats, 4, "AttributeProto.floats");
        break;
      case 8:
        pushInts(f, a.ints, "AttributeProto.ints");
        break;
      case 9:
        a.strings.push(bytesOf(f, w));
        break;
    }
  }
  return a;
}

function readNode(b: Uint8Array): NodeProto {
  const n: NodeProto = { input: [], output: [], name: "", opType: "", domain: "", attribute: [] };
  const w = "NodeProto";
  for (const f of fields(b, w)) {
    if (f.n === 1) n.input.push(str(f, w));
    else if (f.n === 2) n.output.push(str(f, w));
    else if (f.n === 3) n.name = str(f, w);
    else if (f.n === 4) n.opType = str(f, w);
    else if (f.n === 5) n.attribute.push(readAttribute(sub(f, w)));
    else if (f.n === 7) n.domain = str(f, w);
  }
  return n;
}

function readValueInfo(b: Uint8Array): ValueInfoProto {
  const v: ValueInfoProto = { name: "", elemType: 0, shape: null };
  for (const f of fields(b, "ValueInfoProto")) {
    if (f.n === 1) v.name = str(f, "ValueInfoProto");
    else if (f.n === 2) {
      for (const tf of fields(sub(f, "TypeProto"), "TypeProto")) {
        if (tf.n !== 1) continue; // sequences, maps, optionals: not tensors
        for (const tt of fields(sub(tf, "TypeProto.Tensor"), "TypeProto.Tensor")) {
          if (tt.n === 1) v.elemType = int(tt, "TypeProto.Tensor");
          else if (tt.n === 2) {
            v.shape = [];
            for (const df of fields(sub(tt, "TensorShapeProto"), "TensorShapeProto")) {
              if (df.n !== 1) continue;
              let d: DimProto = null;
              for (const x of fields(sub(df, "Dimension"), "Dimension")) {
                if (x.n === 1) d = int(x, "Dimension");
                else if (x.n === 2) d = str(x, "Dimension");
              }
              v.shape.push(d);
            }
          }
        }
      }
    }
  }
  return v;
}

function readGraph(b: Uint8Array): GraphProto {
  const g: GraphProto = {
    name: "",
    node: [],
    initializer: [],
    input: [],
    output: [],
    valueInfo: [],
  };
  const w = "GraphProto";
  for (const f of fields(b, w)) {
    if (f.n === 1) g.node.push(readNode(sub(f, w)));
    else if (f.n === 2) g.name = str(f, w);
    else if (f.n === 5) g.initializer.push(readTensor(sub(f, w)));
    else if (f.n === 11) g.input.push(readValueInfo(sub(f, w)));
    else if (f.n === 12) g.output.push(readValueInfo(sub(f, w)));
    else if (f.n === 13) g.valueInfo.push(readValueInfo(sub(f, w)));
    else if (f.n === 15) {
      throw new OnnxFormatError("onnx: sparse initializers are not supported");
    }
  }
  return g;
}

/**
 * @internal Parses the bytes of an ONNX model file into its messages.
 * Throws {@link OnnxFormatError} on malformed bytes.
 */
export function decode(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`onnx.decode: expected a Uint8Array, got ${typeof bytes}`);
  }
  const m: ModelProto = {
    irVersion: 0,
    opsetImport: [],
    producerName: "",
    producerVersion: "",
    graph: { name: "", node: [], initializer: [], input: [], output: [], valueInfo: [] },
  };
  let sawGraph = false;
  const w = "ModelProto";
  for (const f of fields(bytes, w)) {
    if (f.n === 1) m.irVersion = int(f, w);
    else if (f.n === 2) m.producerName = str(f, w);
    else if (f.n === 3) m.producerVersion = str(f, w);
    else if (f.n === 7) {
      m.graph = readGraph(sub(f, w));
      sawGraph = true;
    } else if (f.n === 8) {
      const o = { domain: "", version: 0 };
      for (const of of fields(sub(f, w), "OperatorSetIdProto")) {
        if (of.n === 1) o.domain = str(of, "OperatorSetIdProto");
        else if (of.n === 2) o.version = int(of, "OperatorSetIdProto");
      }
      m.opsetImport.push(o);
    }
  }
  if (!sawGraph) throw new OnnxFormatError("onnx: the model has no graph (not an ONNX file?)");
  return m;
}
