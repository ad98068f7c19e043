/**
 * Element types, their storage, and PyTorch's type promotion.
 *
 * @module
 */

/**
 * The element type of a tensor. `float16` and `bfloat16` are storage types:
 * ops compute them in float32 and round the result back.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const dtype: zn.DType = "float32";
 * zn.zeros([2], { dtype }).dtype; // "float32"
 * ```
 */
export type DType =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

/**
 * The typed array that holds each dtype's elements on the CPU.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a: zn.TypedArray = zn.tensor([1, 2]).toTypedArray();
 * a instanceof Float32Array; // true
 * ```
 */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** Codes shared with the native library (zig/src/dtype.zig). */
export const DTYPE_CODE: Readonly<Record<DType, number>> = {
  float32: 0,
  float64: 1,
  float16: 2,
  bfloat16: 3,
  int64: 4,
  int32: 5,
  int16: 6,
  int8: 7,
  uint8: 8,
  bool: 9,
};

/** Every dtype, in code order. */
export const DTYPES: readonly DType[] = [
  "float32",
  "float64",
  "float16",
  "bfloat16",
  "int64",
  "int32",
  "int16",
  "int8",
  "uint8",
  "bool",
];

/** Bytes per element. */
export const ITEMSIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
};

/** The typed-array constructor that stores each dtype. */
export const STORAGE_CTOR: Readonly<Record<DType, TypedArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** True for float32, float64, float16 and bfloat16. */
export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" ||
    d === "bfloat16";
}

/** True for the integer dtypes (not bool). */
export function isIntegral(d: DType): boolean {
  return d === "int64" || d === "int32" || d === "int16" || d === "int8" ||
    d === "uint8";
}

/**
 * @internal The end of the error of an op that needs an integer tensor
 * (indices, class targets) and got one of dtype `got`: for a floating one,
 * how to make integers, since `zn.tensor` of plain numbers is float32; for
 * a narrower integer or bool one, the conversion. Empty for int64.
 */
export function intTensorHint(got: DType): string {
  if (isFloating(got)) {
    return '; zn.tensor of plain numbers is float32: pass { dtype: "int64" }, use bigints (zn.tensor([0n, 2n])) or call .to("int64")';
  }
  return got === "int64" ? "" : '; call .to("int64")';
}

/**
 * @internal The end of the error of an op that needs a floating tensor and
 * got one of dtype `got`: for an integer or bool one, how to convert it.
 * Empty for floating dtypes.
 */
export function floatTensorHint(got: DType): string {
  return isFloating(got) ? "" : '; call .to("float32")';
}

/** Checks that a string names a dtype. */
export function checkDType(d: unknown, op: string): DType {
  if (typeof d !== "string" || !(d in DTYPE_CODE)) {
    throw new TypeError(
      `${op}: unknown dtype ${JSON.stringify(d)}; expected one of ${DTYPES.join(", ")}`,
    );
  }
  return d as DType;
}

// Category: 0 bool, 1 integer, 2 floating.
function category(d: DType): number {
  return d === "bool" ? 0 : isFloating(d) ? 2 : 1;
}

const INT_ORDER: readonly DType[] = ["uint8", "int8", "int16", "int32", "int64"];

/**
 * PyTorch's promotion of two dtypes (`torch.promote_types`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.promoteTypes("int32", "float32"); // "float32"
 * zn.promoteTypes("uint8", "int8"); // "int16"
 * ```
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const ca = category(a), cb = category(b);
  if (ca !== cb) return ca > cb ? a : b;
  if (ca === 2) {
    if (a === "float64" || b === "float64") return "float64";
    if (a === "float32" || b === "float32") return "float32";
    return "float32"; // float16 with bfloat16
  }
  // Integers: uint8 with a signed type needs the next signed size up.
  if (a === "uint8" || b === "uint8") {
    const other = a === "uint8" ? b : a;
    return other === "int8" ? "int16" : other;
  }
  return INT_ORDER.indexOf(a) > INT_ORDER.indexOf(b) ? a : b;
}

/** One operand's contribution to a result type. */
export interface PromotionInput {
  dtype: DType;
  /** 2: a tensor with dims, 1: a 0-d tensor, 0: a plain number or boolean. */
  tier: 0 | 1 | 2;
}

/**
 * PyTorch's `result_type`: tensors with dims decide first; 0-d tensors and
 * then plain numbers only count when they bring a higher category.
 */
export function resultType(inputs: readonly PromotionInput[]): DType {
  const best: (DType | undefined)[] = [undefined, undefined, undefined];
  for (const x of inputs) {
    const cur = best[x.tier];
    best[x.tier] = cur === undefined ? x.dtype : promoteTypes(cur, x.dtype);
  }
  let result: DType | undefined = best[2];
  for (const tier of [1, 0]) {
    const t = best[tier];
    if (t === undefined) continue;
    // A plain number stands for its category's default dtype.
    const v = tier === 0 ? categoryDefault(t) : t;
    if (result === undefined || category(t) > category(result)) result = v;
  }
  return result ?? "float32";
}

function categoryDefault(d: DType): DType {
  return d === "bool" ? "bool" : isFloating(d) ? "float32" : "int64";
}

/** Inclusive bounds of each integer dtype. */
const INT_BOUNDS: Partial<Record<DType, readonly [number, number, bigint, bigint]>> = {
  int64: [-(2 ** 63), 2 ** 63, -(2n ** 63n), 2n ** 63n - 1n], // number bounds: [lo, hi)
  int32: [-(2 ** 31), 2 ** 31, -(2n ** 31n), 2n ** 31n - 1n],
  int16: [-(2 ** 15), 2 ** 15, -(2n ** 15n), 2n ** 15n - 1n],
  int8: [-128, 128, -128n, 127n],
  uint8: [0, 256, 0n, 255n],
};

function intRangeError(v: number | bigint, dtype: DType, op: string): RangeError {
  const [, , lo, hi] = INT_BOUNDS[dtype]!;
  // Exact digits for an integer past 2^53 (String(2 ** 63) ends in 6000).
  const what = typeof v === "bigint"
    ? `${v}n`
    : Number.isInteger(v) && Math.abs(v) < 1e21
    ? BigInt(v).toString()
    : String(v);
  return Number.isFinite(v as number) || typeof v === "bigint"
    ? new RangeError(
      `${op}: value ${what} cannot be converted to ${dtype} without overflow (range ${lo} to ${hi})`,
    )
    : new RangeError(`${op}: value ${what} cannot be converted to ${dtype}`);
}

/**
 * @internal `v` as one element of the integer dtype `dtype`: numbers are
 * truncated toward zero (as a cast is), and a value that is not finite or
 * falls outside the dtype's range is a RangeError naming `op`, never a
 * wrapped value. int64 elements come back as bigint.
 */
export function toIntElement(
  v: number | bigint | boolean,
  dtype: DType,
  op: string,
): number | bigint {
  const bounds = INT_BOUNDS[dtype];
  if (bounds === undefined) throw new TypeError(`${op}: ${dtype} is not an integer dtype`);
  if (typeof v === "boolean") return dtype === "int64" ? (v ? 1n : 0n) : (v ? 1 : 0);
  if (typeof v === "bigint") {
    if (v < bounds[2] || v > bounds[3]) throw intRangeError(v, dtype, op);
    return dtype === "int64" ? v : Number(v);
  }
  const t = Math.trunc(v);
  // NaN fails both comparisons' complement: !(t >= lo) is true.
  if (!(t >= bounds[0] && t < bounds[1])) throw intRangeError(v, dtype, op);
  return dtype === "int64" ? BigInt(t) : t;
}

/**
 * @internal Checks that the scalar `v` fits the dtype it will be stored in
 * (integer dtypes only; floats round and bool takes any value).
 */
export function checkScalarFits(v: number | bigint | boolean, dtype: DType, op: string): void {
  if (INT_BOUNDS[dtype] === undefined || typeof v === "boolean") return;
  if (typeof v === "number" && Number.isSafeInteger(v)) {
    const b = INT_BOUNDS[dtype]!;
    if (v >= b[0] && v < b[1]) return;
  }
  toIntElement(v, dtype, op);
}

/** The dtype PyTorch gives a plain JavaScript value as a scalar operand. */
export function scalarDType(v: number | boolean | bigint): DType {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "int64";
  return Number.isInteger(v) ? "int64" : "float64";
}

// ---------------------------------------------------------------- 16-bit floats

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** float32 to bfloat16 bits, rounding to nearest even (as PyTorch). */
export function f32ToBf16Bits(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0];
  if (Number.isNaN(x)) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits to a number. */
export function bf16BitsToF32(h: number): number {
  u32buf[0] = (h & 0xffff) << 16;
  return f32buf[0];
}

/** float16 bits to a number. */
export function f16BitsToF32(h: number): number {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A number to float16 bits, rounding to nearest even. */
export function f32ToF16Bits(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}
