/**
 * Reading and writing the safetensors format: an 8-byte little-endian header
 * length, a JSON header (tensor names to dtype, shape and byte range, plus an
 * optional `__metadata__` string map), then the raw little-endian tensor bytes.
 *
 * Files are written exactly as the reference implementation (Python
 * `safetensors.torch.save`) writes them: tensors ordered by dtype (the
 * reference's dtype order, largest first), then by name (UTF-8 byte order);
 * compact JSON; the header padded with spaces to a multiple of 8 bytes. For
 * the same tensors and metadata the bytes are identical (Python's writer puts
 * the keys of `__metadata__` in hash order; Zeno keeps the insertion order).
 *
 * Reading validates the whole header before allocating anything and then
 * reads each tensor's byte range straight into the tensor's own typed array.
 * Everything the reference reader rejects is rejected with a
 * {@link SafetensorsError}.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { toDevice } from "../ops/elementwise.ts";
import { backendFor } from "../backend.ts";
import { CpuStorage } from "../cpu_backend.ts";
import { disposedError } from "../lifetime.ts";
import { type DType, ITEMSIZE, STORAGE_CTOR, type TypedArray } from "../dtype.ts";
import { contiguousStrides, MAX_DIMS, MAX_NUMEL } from "../shape.ts";
import type { OptimizerStateDict, ParamState } from "../optim/optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkBytes, checkObject, checkPath } from "../args.ts";
import { fileURLToPath } from "node:url";

// ------------------------------------------------------------------ errors

/**
 * What was wrong with a safetensors file (or buffer):
 *
 * - `HeaderTooSmall`: fewer than 8 bytes.
 * - `HeaderTooLarge`: a header length over 100,000,000 bytes.
 * - `InvalidHeaderLength`: the header runs past the end of the file.
 * - `InvalidUtf8`: the header is not valid UTF-8.
 * - `InvalidJson`: the header is not valid JSON.
 * - `InvalidHeader`: valid JSON of the wrong structure (not an object, a tensor
 *   entry that is not `{dtype, shape, data_offsets}`).
 * - `DuplicateKey`: a key appears twice in one JSON object (a tensor name, or
 *   a field).
 * - `InvalidMetadata`: `__metadata__` is not a map of strings to strings (or
 *   metadata that a helper needs is missing or malformed).
 * - `UnknownDtype`: a dtype name that the format does not define.
 * - `UnsupportedDtype`: a dtype of the format that Zeno has no type for
 *   (U16, U32, U64, C64, F8_E8M0, F4, F6_*).
 * - `InvalidShape`: a shape entry that is negative or not an integer, or more
 *   dims than Zeno supports (32).
 * - `ShapeOverflow`: more elements than Zeno supports (2^31 - 1).
 * - `InvalidOffset`: `data_offsets` that are not two non-negative integers,
 *   that overlap, leave a gap, or run past the end of the file.
 * - `TensorInvalidInfo`: a byte range whose length is not the number of
 *   elements times the dtype's size.
 * - `IncompleteBuffer`: a data buffer longer than the last tensor's end.
 *
 * @example
 * ```ts
 * import type { SafetensorsErrorCode } from "@zeno/zeno";
 * const code: SafetensorsErrorCode = "HeaderTooSmall";
 * ```
 */
export type SafetensorsErrorCode =
  | "HeaderTooSmall"
  | "HeaderTooLarge"
  | "InvalidHeaderLength"
  | "InvalidUtf8"
  | "InvalidJson"
  | "InvalidHeader"
  | "DuplicateKey"
  | "InvalidMetadata"
  | "UnknownDtype"
  | "UnsupportedDtype"
  | "InvalidShape"
  | "ShapeOverflow"
  | "InvalidOffset"
  | "TensorInvalidInfo"
  | "IncompleteBuffer";

/**
 * A malformed or unsupported safetensors file. `code` says which check
 * failed; the message names the tensor or key involved.
 *
 * @example
 * ```ts
 * import { deserialize, SafetensorsError } from "@zeno/zeno";
 * try {
 *   deserialize(new Uint8Array(4));
 * } catch (e) {
 *   if (e instanceof SafetensorsError) e.code; // "HeaderTooSmall"
 * }
 * ```
 */
export class SafetensorsError extends Error {
  /** Which check failed. */
  readonly code: SafetensorsErrorCode;
  /** An error with a code and a message. */
  constructor(code: SafetensorsErrorCode, message: string) {
    super(`safetensors: ${message}`);
    this.name = "SafetensorsError";
    this.code = code;
  }
}

// ------------------------------------------------------------------ dtypes

/** The largest header the reference reader accepts. */
const MAX_HEADER = 100_000_000;
/** serde_json's recursion limit. */
const MAX_DEPTH = 128;

const FILE_DTYPE: Readonly<Record<DType, string>> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

/** Position in the reference's `Dtype` enum; the writer sorts by it, largest first. */
const WRITE_RANK: Readonly<Record<DType, number>> = {
  bool: 0,
  uint8: 1,
  int8: 2,
  int16: 3,
  float16: 4,
  bfloat16: 5,
  int32: 6,
  float32: 7,
  float64: 8,
  int64: 9,
};

interface ReadType {
  /** The Zeno dtype of the loaded tensor. */
  dtype: DType;
  /** Bytes per element in the file. */
  size: number;
  /** An 8-bit float decoded to float32 through this table. */
  table?: Float32Array;
}

const READ_TYPE: ReadonlyMap<string, ReadType> = new Map<string, ReadType>([
  ...(Object.entries(FILE_DTYPE) as [DType, string][]).map(([d, f]): [string, ReadType] => [
    f,
    { dtype: d, size: ITEMSIZE[d] },
  ]),
  ["F8_E4M3", { dtype: "float32", size: 1, table: f8Table(4, 3, true) }],
  ["F8_E5M2", { dtype: "float32", size: 1, table: f8Table(5, 2, false) }],
]);

const UNSUPPORTED = new Set([
  "U16",
  "U32",
  "U64",
  "C64",
  "F8_E8M0",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
]);

/**
 * The 256 values of an 8-bit float with `e` exponent and `m` mantissa bits.
 * `fn` (E4M3FN): no infinities, only all-ones is NaN; otherwise IEEE-like.
 */
function f8Table(e: number, m: number, fn: boolean): Float32Array {
  const out = new Float32Array(256);
  const bias = (1 << (e - 1)) - 1;
  const emax = (1 << e) - 1;
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const ex = (b >> m) & emax;
    const man = b & ((1 << m) - 1);
    let v: number;
    if (ex === 0) v = (man / (1 << m)) * 2 ** (1 - bias);
    else if (fn && ex === emax && man === (1 << m) - 1) v = NaN;
    else if (!fn && ex === emax) v = man === 0 ? Infinity : NaN;
    else v = (1 + man / (1 << m)) * 2 ** (ex - bias);
    out[b] = sign * v;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function checkHost(): void {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
}

// -------------------------------------------------------------- JSON parser

/** A JSON number, kept as its text so that integers are checked exactly. */
class JsonNumber {
  constructor(readonly text: string) {}
}
type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | JsonObject;
/** A JSON object, in key order. */
class JsonObject {
  readonly map: Map<string, JsonValue> = new Map();
}

/**
 * A strict RFC 8259 parser that, unlike JSON.parse, reports duplicate keys,
 * rejects lone surrogate escapes (as serde_json does) and limits nesting.
 */
class JsonParser {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new SafetensorsError("InvalidJson", `invalid JSON in header: ${what} at ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  parse(): JsonValue {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail("trailing characters");
    return v;
  }

  value(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.i);
    if (c === 0x22) return this.string();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) this.fail("nesting too deep");
      return c === 0x7b ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.s.startsWith("true", this.i)) return this.i += 4, true;
    if (this.s.startsWith("false", this.i)) return this.i += 5, false;
    if (this.s.startsWith("null", this.i)) return this.i += 4, null;
    return this.fail(this.i >= this.s.length ? "unexpected end" : "unexpected character");
  }

  object(depth: number): JsonObject {
    const out = new JsonObject();
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) return this.i++, out;
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail("expected a string key");
      const k = this.string();
      if (out.map.has(k)) {
        throw new SafetensorsError("DuplicateKey", `duplicate key ${JSON.stringify(k)} in header`);
      }
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail("expected ':'");
      this.i++;
      this.ws();
      out.map.set(k, this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 0x7d) return out;
      if (c !== 0x2c) this.fail("expected ',' or '}'");
      this.ws();
    }
  }

  array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) return this.i++, out;
    for (;;) {
      this.ws();
      out.push(this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected ',' or ']'");
    }
  }

  number(): JsonNumber {
    const s = this.s;
    const start = this.i;
    let i = start;
    const digits = () => {
      const d0 = i;
      while (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
      if (i === d0) this.i = i, this.fail("invalid number");
    };
    if (s.charCodeAt(i) === 0x2d) i++;
    if (s.charCodeAt(i) === 0x30) i++;
    else digits();
    if (s.charCodeAt(i) === 0x2e) i++, digits();
    if ((s.charCodeAt(i) | 0x20) === 0x65) {
      i++;
      if (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d) i++;
      digits();
    }
    this.i = i;
    return new JsonNumber(s.slice(start, i));
  }

  string(): string {
    const s = this.s;
    let i = ++this.i;
    let out = "";
    let run = i;
    for (;;) {
      if (i >= s.length) this.i = i, this.fail("unterminated string");
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return out + s.slice(run, i);
      }
      if (c < 0x20) this.i = i, this.fail("control character in string");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(run, i);
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += "\\";
          break;
        case 0x2f:
          out += "/";
          break;
        case 0x62:
          out += "\b";
          break;
        case 0x66:
          out += "\f";
          break;
        case 0x6e:
          out += "\n";
          break;
        case 0x72:
          out += "\r";
          break;
        case 0x74:
          out += "\t";
          break;
        case 0x75: {
          const u = this.hex4(i);
          i += 4;
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s.charCodeAt(i) !== 0x5c || s.charCodeAt(i + 1) !== 0x75) {
              this.i = i, this.fail("lone surrogate in string escape");
            }
            const lo = this.hex4(i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) {
              this.i = i, this.fail("lone surrogate in string escape");
            }
            i += 6;
            out += String.fromCharCode(u, lo);
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            this.i = i, this.fail("lone surrogate in string escape");
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          this.i = i - 2, this.fail("invalid escape");
      }
      run = i;
    }
  }

  hex4(i: number): number {
    const h = this.s.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.i = i, this.fail("invalid \\u escape");
    return parseInt(h, 16);
  }
}

// ------------------------------------------------------------------ header

/** One tensor's entry in a parsed header. */
interface Entry {
  name: string;
  fileDtype: string;
  type: ReadType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

interface Header {
  /** Header length N (the JSON bytes after the 8-byte prefix). */
  n: number;
  /** Entries sorted by offset. */
  entries: Entry[];
  metadata: Record<string, string> | null;
}

/** Sets an own enumerable property, even one named "__proto__". */
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

const DIGITS = /^(0|[1-9][0-9]*)$/;

/** Stands for any integer of 2^53 or more. */
const HUGE = 2 ** 53;

/** A non-negative integer token's value (HUGE from 2^53 up), or -1 if not one. */
function uint(v: JsonValue): number {
  if (!(v instanceof JsonNumber) || !DIGITS.test(v.text)) return -1;
  if (v.text.length > 16) return HUGE;
  return Math.min(Number(v.text), HUGE);
}

function describe(v: JsonValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (v instanceof JsonObject) return "an object";
  if (Array.isArray(v)) return "an array";
  return JSON.stringify(v);
}

/** Reads the 8-byte prefix: the header length, checked against the file size. */
function headerLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new SafetensorsError(
      "HeaderTooSmall",
      `the file has ${fileSize} bytes, fewer than the 8-byte header length`,
    );
  }
  const big = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (big > BigInt(MAX_HEADER)) {
    throw new SafetensorsError(
      "HeaderTooLarge",
      `header length ${big} is over the ${MAX_HEADER}-byte limit`,
    );
  }
  const n = Number(big);
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      "InvalidHeaderLength",
      `header length ${n} runs past the end of the file (${fileSize} bytes)`,
    );
  }
  return n;
}

/** Parses and validates a header against a data buffer of `dataLen` bytes. */
function parseHeader(bytes: Uint8Array, dataLen: number): Header {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SafetensorsError("InvalidUtf8", "the header is not valid UTF-8");
  }
  const root = new JsonParser(text).parse();
  if (!(root instanceof JsonObject)) {
    throw new SafetensorsError("InvalidHeader", `the header is ${describe(root)}, not an object`);
  }
  let metadata: Record<string, string> | null = null;
  const entries: Entry[] = [];
  for (const [name, v] of root.map) {
    if (name === "__metadata__") {
      if (v === null) continue;
      if (!(v instanceof JsonObject)) {
        throw new SafetensorsError(
          "InvalidMetadata",
          `__metadata__ is ${describe(v)}, not a map of strings`,
        );
      }
      metadata = {};
      for (const [k, s] of v.map) {
        if (typeof s !== "string") {
          throw new SafetensorsError(
            "InvalidMetadata",
            `__metadata__ value of ${JSON.stringify(k)} is ${describe(s)}, not a string`,
          );
        }
        setOwn(metadata, k, s);
      }
      continue;
    }
    entries.push(parseEntry(name, v));
  }
  validate(entries, dataLen);
  return { n: bytes.length, entries, metadata };
}

function parseEntry(name: string, v: JsonValue): Entry {
  const q = JSON.stringify(name);
  if (!(v instanceof JsonObject)) {
    throw new SafetensorsError("InvalidHeader", `tensor ${q} is ${describe(v)}, not an object`);
  }
  const dt = v.map.get("dtype");
  const shapeV = v.map.get("shape");
  const offV = v.map.get("data_offsets");
  if (typeof dt !== "string" || !Array.isArray(shapeV) || !Array.isArray(offV)) {
    throw new SafetensorsError(
      "InvalidHeader",
      `tensor ${q} needs a string "dtype", an array "shape" and an array "data_offsets"`,
    );
  }
  const type = READ_TYPE.get(dt);
  if (!type) {
    if (UNSUPPORTED.has(dt)) {
      throw new SafetensorsError(
        "UnsupportedDtype",
        `tensor ${q} has dtype ${dt}, which Zeno cannot load`,
      );
    }
    throw new SafetensorsError(
      "UnknownDtype",
      `tensor ${q} has unknown dtype ${JSON.stringify(dt)}`,
    );
  }
  if (shapeV.length > MAX_DIMS) {
    throw new SafetensorsError(
      "InvalidShape",
      `tensor ${q} has ${shapeV.length} dims, more than the ${MAX_DIMS} supported`,
    );
  }
  const shape: number[] = [];
  let numel = 1;
  let zero = false;
  for (const d of shapeV) {
    const n = uint(d);
    if (n < 0) {
      throw new SafetensorsError(
        "InvalidShape",
        `tensor ${q} has shape entry ${describe(d)}, not a non-negative integer`,
      );
    }
    if (n > MAX_NUMEL) {
      throw new SafetensorsError(
        "ShapeOverflow",
        `tensor ${q} has a dim of ${
          n > 2 ** 53 ? "over 2^53" : n
        }, more than the ${MAX_NUMEL} elements supported`,
      );
    }
    shape.push(n);
    if (n === 0) zero = true;
    else if (!zero) numel *= n;
    if (!zero && numel > MAX_NUMEL) numel = Infinity;
  }
  if (zero) numel = 0;
  if (numel > MAX_NUMEL) {
    throw new SafetensorsError(
      "ShapeOverflow",
      `tensor ${q} has shape [${shape.join(", ")}]: more than the ${MAX_NUMEL} elements supported`,
    );
  }
  if (offV.length !== 2) {
    throw new SafetensorsError(
      "InvalidOffset",
      `tensor ${q} has ${offV.length} data_offsets, not 2`,
    );
  }
  const begin = uint(offV[0]), end = uint(offV[1]);
  if (begin < 0 || end < 0) {
    throw new SafetensorsError(
      "InvalidOffset",
      `tensor ${q} has data_offsets [${offV.map(describe).join(", ")}], not non-negative integers`,
    );
  }
  return { name, fileDtype: dt, type, shape, numel, begin, end };
}

/** The reference's checks: offsets tile [0, dataLen) exactly, sizes match. */
function validate(entries: Entry[], dataLen: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    const q = JSON.stringify(e.name);
    if (e.begin !== at || e.end < e.begin) {
      const why = e.end < e.begin
        ? "end before begin"
        : e.begin > at
        ? `a gap: the previous tensor ends at ${at}`
        : `an overlap: the previous tensor ends at ${at}`;
      throw new SafetensorsError(
        "InvalidOffset",
        `tensor ${q} has data_offsets [${e.begin}, ${e.end}]: ${why}`,
      );
    }
    if (e.end > dataLen) {
      throw new SafetensorsError(
        "InvalidOffset",
        `tensor ${q} ends at byte ${e.end}, past the end of the ${dataLen}-byte data buffer`,
      );
    }
    const nbytes = e.numel * e.type.size;
    if (e.end - e.begin !== nbytes) {
      throw new SafetensorsError(
        "TensorInvalidInfo",
        `tensor ${q} (${e.fileDtype}, shape [${
          e.shape.join(", ")
        }]) needs ${nbytes} bytes but data_offsets [${e.begin}, ${e.end}] hold ${e.end - e.begin}`,
      );
    }
    at = e.end;
  }
  if (at !== dataLen) {
    throw new SafetensorsError(
      "IncompleteBuffer",
      `the data buffer has ${dataLen} bytes but the tensors cover ${at}`,
    );
  }
}

// ------------------------------------------------------------------ reading

/** A request from the reading core: fill `buf` from file position `pos`. */
interface ReadRequest {
  pos: number;
  buf: Uint8Array;
}

/**
 * The reading core, independent of how bytes are fetched: it yields the
 * ranges it needs and returns the tensors (or only the header).
 */
function* reader(
  fileSize: number,
  tensors: boolean,
): Generator<ReadRequest, { header: Header; out: Record<string, Tensor> }, void> {
  checkHost();
  const prefix = new Uint8Array(8);
  if (fileSize >= 8) yield { pos: 0, buf: prefix };
  const n = headerLength(prefix, fileSize);
  const hbytes = new Uint8Array(n);
  yield { pos: 8, buf: hbytes };
  const header = parseHeader(hbytes, fileSize - 8 - n);
  const out: Record<string, Tensor> = {};
  if (!tensors) return { header, out };
  const cpu = backendFor("cpu");
  for (const e of header.entries) {
    const pos = 8 + n + e.begin;
    let data: TypedArray;
    if (e.type.table) {
      const raw = new Uint8Array(e.numel);
      if (e.numel) yield { pos, buf: raw };
      const f = new Float32Array(e.numel);
      const table = e.type.table;
      for (let i = 0; i < raw.length; i++) f[i] = table[raw[i]];
      data = f;
    } else {
      data = new STORAGE_CTOR[e.type.dtype](e.numel);
      if (e.numel) yield { pos, buf: new Uint8Array(data.buffer, 0, data.byteLength) };
      if (e.type.dtype === "bool") {
        const b = data as Uint8Array;
        for (let i = 0; i < b.length; i++) if (b[i] > 1) b[i] = 1;
      }
    }
    const d = e.type.dtype;
    setOwn(
      out,
      e.name,
      new Tensor(cpu.fromHost(d, data), d, e.shape, contiguousStrides(e.shape), 0),
    );
  }
  return { header, out };
}

function runOnBytes<T>(it: Generator<ReadRequest, T, void>, bytes: Uint8Array): T {
  for (let r = it.next();; r = it.next()) {
    if (r.done) return r.value;
    r.value.buf.set(bytes.subarray(r.value.pos, r.value.pos + r.value.buf.length));
  }
}

function truncated(): SafetensorsError {
  return new SafetensorsError(
    "IncompleteBuffer",
    "the file ended early (was it changed while read?)",
  );
}

function runOnFileSync<T>(it: Generator<ReadRequest, T, void>, f: Deno.FsFile): T {
  for (let r = it.next();; r = it.next()) {
    if (r.done) return r.value;
    const { pos, buf } = r.value;
    f.seekSync(pos, Deno.SeekMode.Start);
    for (let at = 0; at < buf.length;) {
      const got = f.readSync(buf.subarray(at));
      if (got === null || got === 0) throw truncated();
      at += got;
    }
  }
}

async function runOnFile<T>(it: Generator<ReadRequest, T, void>, f: Deno.FsFile): Promise<T> {
  for (let r = it.next();; r = it.next()) {
    if (r.done) return r.value;
    const { pos, buf } = r.value;
    await f.seek(pos, Deno.SeekMode.Start);
    for (let at = 0; at < buf.length;) {
      const got = await f.read(buf.subarray(at));
      if (got === null || got === 0) throw truncated();
      at += got;
    }
  }
}

/**
 * Tensors from the bytes of a safetensors file, in file order. Each tensor
 * gets its own storage (the bytes are copied). F8_E4M3 and F8_E5M2 tensors
 * load as float32.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * import { deserialize, serialize } from "@zeno/zeno";
 * const bytes = serialize({ w: zn.tensor([1, 2, 3]) });
 * deserialize(bytes).w.toArray(); // [1, 2, 3]
 * ```
 */
export function deserialize(bytes: Uint8Array, opts: LoadOptions = {}): Record<string, Tensor> {
  checkBytes(bytes, "deserialize");
  checkOptions("deserialize", opts, LOAD_KEYS);
  return onDevice(runOnBytes(reader(bytes.length, true), bytes).out, opts);
}

/**
 * Options of {@link load}, {@link loadSync} and {@link deserialize}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const bytes = zn.serialize({ w: zn.ones([2]) });
 * const opts: zn.LoadOptions = { device: "cpu" };
 * zn.deserialize(bytes, opts).w.device; // "cpu"
 * ```
 */
export interface LoadOptions {
  /** The device the tensors are placed on (default "cpu"), e.g. "cuda". */
  device?: string;
}

const LOAD_KEYS = optionKeys<LoadOptions>({ device: 0 });

function onDevice(out: Record<string, Tensor>, opts: LoadOptions): Record<string, Tensor> {
  const device = opts.device;
  if (device === undefined || device === "cpu") return out;
  for (const k in out) out[k] = toDevice(out[k], device);
  return out;
}

/**
 * The `__metadata__` map of the bytes of a safetensors file, or null when the
 * file has none. Validates the whole header.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * import { deserializeMetadata, serialize } from "@zeno/zeno";
 * const bytes = serialize({ w: zn.zeros([2]) }, { metadata: { format: "pt" } });
 * deserializeMetadata(bytes); // { format: "pt" }
 * ```
 */
export function deserializeMetadata(bytes: Uint8Array): Record<string, string> | null {
  checkBytes(bytes, "deserializeMetadata");
  return runOnBytes(reader(bytes.length, false), bytes).header.metadata;
}

/**
 * Loads a safetensors file: a record of name to tensor, in file order, ready
 * for `Module.loadStateDict`. Reads the header first and then each tensor's
 * byte range into its own typed array, so the peak memory is about the size
 * of the tensors. F8_E4M3 and F8_E5M2 tensors load as float32.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * import { load } from "@zeno/zeno";
 * const model = new zn.nn.Linear(4, 2);
 * model.loadStateDict(await load("model.safetensors"));
 * // straight to the GPU: await load("model.safetensors", { device: "cuda" })
 * ```
 */
export async function load(
  path: string | URL,
  opts: LoadOptions = {},
): Promise<Record<string, Tensor>> {
  checkPath(path, "load");
  checkOptions("load", opts, LOAD_KEYS);
  using f = await Deno.open(path, { read: true });
  const { size } = await f.stat();
  return onDevice((await runOnFile(reader(size, true), f)).out, opts);
}

/**
 * Synchronous {@link load}.
 *
 * @example
 * ```ts ignore
 * import { loadSync } from "@zeno/zeno";
 * const tensors = loadSync("model.safetensors");
 * Object.keys(tensors);
 * ```
 */
export function loadSync(path: string | URL, opts: LoadOptions = {}): Record<string, Tensor> {
  checkPath(path, "loadSync");
  checkOptions("loadSync", opts, LOAD_KEYS);
  using f = Deno.openSync(path, { read: true });
  return onDevice(runOnFileSync(reader(f.statSync().size, true), f).out, opts);
}

/**
 * The `__metadata__` map of a safetensors file, or null when it has none.
 * Reads and validates only the header.
 *
 * @example
 * ```ts ignore
 * import { loadMetadata } from "@zeno/zeno";
 * const meta = await loadMetadata("model.safetensors"); // e.g. { format: "pt" }
 * ```
 */
export async function loadMetadata(path: string | URL): Promise<Record<string, string> | null> {
  checkPath(path, "loadMetadata");
  using f = await Deno.open(path, { read: true });
  const { size } = await f.stat();
  return (await runOnFile(reader(size, false), f)).header.metadata;
}

/**
 * Synchronous {@link loadMetadata}.
 *
 * @example
 * ```ts ignore
 * import { loadMetadataSync } from "@zeno/zeno";
 * const meta = loadMetadataSync("model.safetensors");
 * ```
 */
export function loadMetadataSync(path: string | URL): Record<string, string> | null {
  checkPath(path, "loadMetadataSync");
  using f = Deno.openSync(path, { read: true });
  return runOnFileSync(reader(f.statSync().size, false), f).header.metadata;
}

// ------------------------------------------------------------------ writing

/**
 * Options of {@link save} and {@link serialize}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.SaveOptions = { metadata: { format: "pt" } };
 * const bytes = zn.serialize({ w: zn.ones([2]) }, opts);
 * zn.deserializeMetadata(bytes); // { format: "pt" }
 * ```
 */
export interface SaveOptions {
  /**
   * The file's `__metadata__`: string keys to string values. Left out, the
   * file has no `__metadata__` entry (as with Python's `metadata=None`).
   */
  metadata?: Record<string, string>;
}

const SAVE_KEYS = optionKeys<SaveOptions>({ metadata: 0 });

/**
 * Named tensors, as an object (like `Module.stateDict()`) or a Map.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const tensors: zn.NamedTensors = new Map([["w", zn.ones([2])]]);
 * Object.keys(zn.deserialize(zn.serialize(tensors))); // ["w"]
 * ```
 */
export type NamedTensors = Record<string, Tensor> | Map<string, Tensor>;

interface Prepared {
  /** The 8-byte length followed by the padded header. */
  head: Uint8Array;
  /** Tensors in file order. */
  tensors: Tensor[];
  /** Bytes of the data buffer. */
  dataLen: number;
}

/** Compares strings by code point, which is UTF-8 byte order (Rust's `str` order). */
function cmpCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above every BMP unit.
    const sx = x >= 0xd800 && x <= 0xdfff, sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function checkString(s: unknown, what: string): string {
  if (typeof s !== "string") throw new TypeError(`save: ${what} must be a string`);
  if (!s.isWellFormed()) {
    throw new TypeError(`save: ${what} ${JSON.stringify(s)} has a lone surrogate`);
  }
  return s;
}

function prepare(tensors: NamedTensors, opts: SaveOptions): Prepared {
  checkHost();
  if (tensors === null || typeof tensors !== "object") {
    throw new TypeError("save: expected an object or Map of tensors");
  }
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [k, t] of entries) {
    checkString(k, "tensor name");
    if (k === "__metadata__") throw new TypeError(`save: "__metadata__" is not a tensor name`);
    if (!(t instanceof Tensor)) throw new TypeError(`save: ${JSON.stringify(k)} is not a Tensor`);
    // Checked here, for every tensor, so that a save fails before writing anything.
    if (t.isDisposed) throw disposedError(`save: ${JSON.stringify(k)}`);
  }
  entries.sort(([ka, a], [kb, b]) =>
    WRITE_RANK[b.dtype] - WRITE_RANK[a.dtype] || cmpCodePoints(ka, kb)
  );
  const parts: string[] = [];
  const meta = opts.metadata;
  if (meta !== undefined) {
    if (meta === null || typeof meta !== "object") {
      throw new TypeError("save: metadata must be an object of strings");
    }
    const kv = Object.entries(meta).map(([k, v]) =>
      `${JSON.stringify(checkString(k, "metadata key"))}:${
        JSON.stringify(checkString(v, `metadata value of ${JSON.stringify(k)}`))
      }`
    );
    parts.push(`"__metadata__":{${kv.join(",")}}`);
  }
  let at = 0;
  for (const [k, t] of entries) {
    const nbytes = t.numel * ITEMSIZE[t.dtype];
    parts.push(
      `${JSON.stringify(k)}:{"dtype":"${FILE_DTYPE[t.dtype]}","shape":[${
        t.shape.join(",")
      }],"data_offsets":[${at},${at + nbytes}]}`,
    );
    at += nbytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const n = Math.ceil(json.length / 8) * 8;
  if (n > MAX_HEADER) {
    throw new SafetensorsError("HeaderTooLarge", `the header would be ${n} bytes`);
  }
  const head = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  return { head, tensors: entries.map(([, t]) => t), dataLen: at };
}

/**
 * A tensor's elements as little-endian bytes, contiguous, without a copy when
 * possible. `pin`: the bytes are read after an await, so the memory pool must
 * never hand the array out again (the tensor may be disposed meanwhile).
 */
function bytesOf(t: Tensor, pin = false): Uint8Array {
  let data: TypedArray;
  if (t.storage instanceof CpuStorage && t.isContiguous()) {
    if (t.isDisposed) throw disposedError("save");
    if (pin) t.storage.shared = true;
    data = t.storage.data.subarray(t.offset, t.offset + t.numel) as TypedArray;
  } else data = t.backend.toHost(t);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The bytes of a safetensors file holding `tensors` (byte-identical to
 * Python's `safetensors.torch.save` for the same tensors and metadata).
 * Non-contiguous tensors are written contiguously.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * import { serialize } from "@zeno/zeno";
 * const bytes = serialize({ w: zn.ones([2, 2]) }, { metadata: { format: "pt" } });
 * bytes.length; // 8 + 80 (padded header) + 16
 * ```
 */
export function serialize(tensors: NamedTensors, opts: SaveOptions = {}): Uint8Array {
  checkOptions("serialize", opts, SAVE_KEYS);
  const p = prepare(tensors, opts);
  const out = new Uint8Array(p.head.length + p.dataLen);
  out.set(p.head);
  let at = p.head.length;
  for (const t of p.tensors) {
    const b = bytesOf(t);
    out.set(b, at);
    at += b.length;
  }
  return out;
}

// ------------------------------------------------- replacing a file whole

const WINDOWS = Deno.build.os === "windows";

/** The folder that holds `path` (for messages and the folder's fsync). */
function folderOf(path: string | URL): string | URL {
  if (path instanceof URL) return new URL(".", path);
  const i = Math.max(path.lastIndexOf("/"), WINDOWS ? path.lastIndexOf("\\") : -1);
  return i < 0 ? "." : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

function shown(path: string | URL): string {
  if (!(path instanceof URL)) return JSON.stringify(path);
  const p = path.protocol === "file:" ? fileURLToPath(path) : decodeURIComponent(path.pathname);
  return JSON.stringify(p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p);
}

/** A new name beside `path`: `.<name>.<random>.tmp` in the same folder. */
function tempBeside(path: string | URL): string | URL {
  const rand = [...crypto.getRandomValues(new Uint8Array(6))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  if (path instanceof URL) {
    const name = path.pathname.slice(path.pathname.lastIndexOf("/") + 1); // still %-encoded
    return new URL(`.${name}.${rand}.tmp`, path);
  }
  const i = Math.max(path.lastIndexOf("/"), WINDOWS ? path.lastIndexOf("\\") : -1);
  return `${path.slice(0, i + 1)}.${path.slice(i + 1)}.${rand}.tmp`;
}

/**
 * Where the bytes go, and the permission bits to give them: a symbolic link
 * is followed (as writing in place would), and an existing file keeps its
 * mode. Best effort: without read permission, `path` as it is.
 */
function destination(path: string | URL): { dest: string | URL; mode: number | null } {
  try {
    const l = Deno.lstatSync(path);
    const dest = l.isSymlink ? Deno.realPathSync(path) : path;
    const st = l.isSymlink ? Deno.statSync(dest) : l;
    return { dest, mode: st.isFile && st.mode !== null ? st.mode & 0o7777 : null };
  } catch {
    return { dest: path, mode: null };
  }
}

/** The error of a failed open or rename, naming the file being saved (and a missing folder). */
function saveError(e: unknown, dest: string | URL): unknown {
  if (!(e instanceof Error)) return e;
  if (e instanceof Deno.errors.NotFound) {
    return new Deno.errors.NotFound(
      `save: cannot write ${shown(dest)}: the folder ${shown(folderOf(dest))} does not exist`,
      { cause: e },
    );
  }
  try {
    const Ctor = e.constructor as new (message: string, opts?: ErrorOptions) => Error;
    return new Ctor(`save: cannot write ${shown(dest)}: ${e.message}`, { cause: e });
  } catch {
    return e;
  }
}

/** Makes a rename durable: flushes the folder's entries (POSIX; best effort). */
function syncFolderSync(dest: string | URL): void {
  if (WINDOWS) return;
  try {
    using d = Deno.openSync(folderOf(dest), { read: true });
    d.syncSync();
  } catch { /* some file systems cannot: the file itself is flushed */ }
}

async function syncFolder(dest: string | URL): Promise<void> {
  if (WINDOWS) return;
  try {
    using d = await Deno.open(folderOf(dest), { read: true });
    await d.sync();
  } catch { /* as above */ }
}

function removeQuietlySync(path: string | URL): void {
  try {
    Deno.removeSync(path);
  } catch { /* already gone */ }
}

/**
 * Replaces `path` with what `write` writes, whole or not at all: into a new
 * temporary file beside it, flushed and closed, then renamed over `path`.
 * On any failure the temporary file is removed and `path` is untouched.
 */
function writeAtomicSync(path: string | URL, write: (f: Deno.FsFile) => void): void {
  const { dest, mode } = destination(path);
  const tmp = tempBeside(dest);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(tmp, { write: true, createNew: true, mode: mode ?? undefined });
  } catch (e) {
    throw saveError(e, dest);
  }
  let renamed = false;
  try {
    try {
      if (mode !== null && !WINDOWS) Deno.chmodSync(tmp, mode); // exactly, past the umask
      write(f);
      f.syncSync();
    } finally {
      f.close();
    }
    try {
      Deno.renameSync(tmp, dest);
    } catch (e) {
      throw saveError(e, dest);
    }
    renamed = true;
  } finally {
    if (!renamed) removeQuietlySync(tmp);
  }
  syncFolderSync(dest);
}

/** @internal Asynchronous {@link writeAtomicSync}. */
export async function writeAtomic(
  path: string | URL,
  write: (f: Deno.FsFile) => Promise<void>,
): Promise<void> {
  const { dest, mode } = destination(path);
  const tmp = tempBeside(dest);
  let f: Deno.FsFile;
  try {
    f = await Deno.open(tmp, { write: true, createNew: true, mode: mode ?? undefined });
  } catch (e) {
    throw saveError(e, dest);
  }
  let renamed = false;
  try {
    try {
      if (mode !== null && !WINDOWS) await Deno.chmod(tmp, mode);
      await write(f);
      await f.sync();
    } finally {
      f.close();
    }
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      throw saveError(e, dest);
    }
    renamed = true;
  } finally {
    if (!renamed) removeQuietlySync(tmp);
  }
  await syncFolder(dest);
}

/**
 * Writes `tensors` to a safetensors file, one tensor at a time. Takes
 * `model.stateDict()` as it is.
 *
 * The file is replaced whole or not at all: every tensor (a disposed one, a
 * bad name) and the metadata are checked before anything is written; the
 * bytes go to a new temporary file in the same folder
 * (`.<name>.<random>.tmp`), which is flushed to the disk and then renamed
 * over `path`. When the save fails, the temporary file is removed and an
 * existing file at `path` is left as it was (a process killed mid-save can
 * leave the temporary file behind, never a truncated `path`). A folder that
 * does not exist is a `Deno.errors.NotFound` that names it. A symbolic link
 * at `path` is followed, and an existing file's permission bits are kept.
 * Needs read and write permission for the folder.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * import { save } from "@zeno/zeno";
 * const model = new zn.nn.Linear(4, 2);
 * await save(model.stateDict(), "model.safetensors", { metadata: { format: "pt" } });
 * ```
 */
export async function save(
  tensors: NamedTensors,
  path: string | URL,
  opts: SaveOptions = {},
): Promise<void> {
  checkPath(path, "save");
  checkOptions("save", opts, SAVE_KEYS);
  const p = prepare(tensors, opts);
  // CPU tensors' bytes are taken now (and their arrays kept from the pool),
  // so that one disposed while the file is written is still written whole;
  // the others (a device copy each) one at a time.
  const parts = p.tensors.map((t) =>
    t.storage instanceof CpuStorage && t.isContiguous() ? bytesOf(t, true) : t
  );
  await writeAtomic(path, async (f) => {
    const writeAll = async (b: Uint8Array) => {
      for (let at = 0; at < b.length;) at += await f.write(b.subarray(at));
    };
    await writeAll(p.head);
    for (const part of parts) await writeAll(part instanceof Tensor ? bytesOf(part, true) : part);
  });
}

/**
 * Synchronous {@link save}: the same checks first, and the same
 * replacement of the file, whole or not at all.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * import { saveSync } from "@zeno/zeno";
 * saveSync({ w: zn.zeros([3]) }, "w.safetensors");
 * ```
 */
export function saveSync(tensors: NamedTensors, path: string | URL, opts: SaveOptions = {}): void {
  checkPath(path, "saveSync");
  checkOptions("saveSync", opts, SAVE_KEYS);
  const p = prepare(tensors, opts);
  writeAtomicSync(path, (f) => {
    const writeAll = (b: Uint8Array) => {
      for (let at = 0; at < b.length;) at += f.writeSync(b.subarray(at));
    };
    writeAll(p.head);
    for (const t of p.tensors) writeAll(bytesOf(t));
  });
}

// -------------------------------------------------------- optimizer states

/**
 * Options of the optimizer-state converters.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.Adam([w]);
 * const opts: zn.OptimizerStateOptions = { prefix: "optimizer." };
 * const { metadata } = zn.optimizerStateToSafetensors(opt.stateDict(), opts);
 * Object.keys(metadata).every((k) => k.startsWith("optimizer.")); // true
 * ```
 */
export interface OptimizerStateOptions {
  /**
   * Prepended to every tensor name and metadata key, so that a model and its
   * optimizer can share one file (e.g. "optimizer."). Default "".
   */
  prefix?: string;
}

const OPTIMIZER_STATE_KEYS = optionKeys<OptimizerStateOptions>({ prefix: 0 });

/**
 * Tensors and metadata: what a safetensors file holds.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const content: zn.SafetensorsContent = zn.optimizerStateToSafetensors(
 *   new zn.optim.SGD([w], { lr: 0.1 }).stateDict(),
 * );
 * zn.serialize(content.tensors, { metadata: content.metadata }).length > 0; // true
 * ```
 */
export interface SafetensorsContent {
  /** Named tensors. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` map. */
  metadata: Record<string, string>;
}

const encodeNumbers = (_k: string, v: unknown) =>
  typeof v === "number" && !Number.isFinite(v) ? { $float: String(v) } : v;
const decodeNumbers = (_k: string, v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
    Object.keys(v).length === 1 && typeof (v as { $float?: unknown }).$float === "string"
    ? Number((v as { $float: string }).$float)
    : v;

/**
 * An optimizer state dict as safetensors content, by this convention: each
 * state tensor under `state.<index>.<name>` (e.g. `state.0.exp_avg`); the
 * numbers in the per-parameter state (e.g. `step`) as JSON under the
 * metadata key `state`; the groups' options as JSON under `param_groups`
 * (non-finite numbers as `{"$float": "Infinity"}`). All names and keys get
 * `prefix`.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * import { optimizerStateToSafetensors, save } from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.Adam([w]);
 * const { tensors, metadata } = optimizerStateToSafetensors(opt.stateDict());
 * await save(tensors, "optimizer.safetensors", { metadata });
 * ```
 */
export function optimizerStateToSafetensors(
  sd: OptimizerStateDict,
  opts: OptimizerStateOptions = {},
): SafetensorsContent {
  checkObject(sd, "optimizerStateToSafetensors", "the state dict");
  checkOptions("optimizerStateToSafetensors", opts, OPTIMIZER_STATE_KEYS);
  const prefix = opts.prefix ?? "";
  const tensors: Record<string, Tensor> = {};
  const numbers: Record<string, Record<string, unknown>> = {};
  for (const i in sd.state) {
    const s = sd.state[i];
    for (const k in s) {
      const v = s[k];
      if (v instanceof Tensor) setOwn(tensors, `${prefix}state.${i}.${k}`, v);
      else (numbers[i] ??= {})[k] = v;
    }
  }
  const metadata: Record<string, string> = {};
  setOwn(metadata, `${prefix}param_groups`, JSON.stringify(sd.paramGroups, encodeNumbers));
  setOwn(metadata, `${prefix}state`, JSON.stringify(numbers, encodeNumbers));
  return { tensors, metadata };
}

/**
 * The optimizer state dict that {@link optimizerStateToSafetensors} stored,
 * for `Optimizer.loadStateDict`. Tensor names without `<prefix>state.` are
 * ignored (a model's tensors can share the file).
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * import { load, loadMetadata, optimizerStateFromSafetensors } from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.Adam([w]);
 * const path = "optimizer.safetensors";
 * opt.loadStateDict(optimizerStateFromSafetensors(await load(path), await loadMetadata(path)));
 * ```
 */
export function optimizerStateFromSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> | null,
  opts: OptimizerStateOptions = {},
): OptimizerStateDict {
  checkOptions("optimizerStateFromSafetensors", opts, OPTIMIZER_STATE_KEYS);
  const prefix = opts.prefix ?? "";
  const groupsText = metadata?.[`${prefix}param_groups`];
  if (typeof groupsText !== "string") {
    throw new SafetensorsError(
      "InvalidMetadata",
      `no optimizer state: the metadata has no "${prefix}param_groups"`,
    );
  }
  let paramGroups: unknown, numbers: unknown;
  try {
    paramGroups = JSON.parse(groupsText, decodeNumbers);
    numbers = JSON.parse(metadata?.[`${prefix}state`] ?? "{}", decodeNumbers);
  } catch {
    throw new SafetensorsError("InvalidMetadata", "optimizer metadata is not valid JSON");
  }
  if (
    !Array.isArray(paramGroups) || numbers === null || typeof numbers !== "object" ||
    Array.isArray(numbers)
  ) {
    throw new SafetensorsError(
      "InvalidMetadata",
      `"${prefix}param_groups" must be a JSON array and "${prefix}state" a JSON object`,
    );
  }
  const state: Record<number, ParamState> = {};
  for (const [i, s] of Object.entries(numbers as Record<string, Record<string, number>>)) {
    state[Number(i)] = { ...s };
  }
  const head = `${prefix}state.`;
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith(head)) continue;
    const m = /^(\d+)\.(.+)$/s.exec(name.slice(head.length));
    if (!m) continue;
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, paramGroups: paramGroups as Record<string, unknown>[] };
}
