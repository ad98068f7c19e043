/**
 * Elementwise ops: unary maps, binary maps with broadcasting and PyTorch's
 * type promotion, where/clamp/lerp, dtype conversion and host read-back.
 *
 * @module
 */
import { backendFor, type BinaryOp, type UnaryOp } from "../backend.ts";
import { CpuStorage } from "../cpu_backend.ts";
import { disposedError } from "../lifetime.ts";
import {
  bf16BitsToF32,
  checkDType,
  checkScalarFits,
  type DType,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  floatTensorHint,
  isFloating,
  type PromotionInput,
  resultType,
  scalarDType,
  type TypedArray,
} from "../dtype.ts";
import {
  broadcastShapes,
  broadcastStrides,
  contiguousStrides,
  fmtShape,
  sameShape,
} from "../shape.ts";
import { outputTensor, Tensor, type TensorLike } from "../tensor.ts";
import { record, traceOnly } from "../autograd/node.ts";
import { isGradEnabled, noGrad } from "../autograd/grad_mode.ts";
import { UNARY_SAVES } from "../autograd/rules.ts";
import { checkOptions } from "../options.ts";
import { checkTensor } from "../args.ts";

/** Storage-only dtypes compute in float32. */
function computeDType(d: DType): DType {
  return d === "float16" || d === "bfloat16" ? "float32" : d;
}

function promotionInput(x: TensorLike): PromotionInput {
  if (x instanceof Tensor) return { dtype: x.dtype, tier: x.ndim === 0 ? 1 : 2 };
  return { dtype: scalarDType(x), tier: 0 };
}

/** @internal Checks that a value can stand as a tensor operand. */
export function checkOperand(x: unknown, op: string): asserts x is TensorLike {
  if (x instanceof Tensor || typeof x === "number" || typeof x === "boolean") return;
  throw new TypeError(`${op}: expected a Tensor, number or boolean, got ${typeof x}`);
}

/**
 * @internal A 0-d tensor holding a scalar; a value that an integer dtype
 * cannot hold is a RangeError naming `op`.
 */
export function scalarTensor(
  v: number | boolean,
  dtype: DType,
  device = "cpu",
  op = "fill",
): Tensor {
  checkScalarFits(v, dtype, op);
  const t = outputTensor([], dtype, device);
  t.backend.fill(t, v);
  return t;
}

/** @internal `x` as a tensor of `dtype` on `device` (converting when needed). */
export function asTensor(x: TensorLike, dtype: DType, device: string, op: string): Tensor {
  if (x instanceof Tensor) {
    if (x.device !== device) {
      throw new Error(
        `${op}: expected all tensors on the same device, but found ${x.device} and ${device}`,
      );
    }
    return x.dtype === dtype ? x : toDType(x, dtype);
  }
  return scalarTensor(x, dtype, device, op);
}

function deviceOf(a: TensorLike, b: TensorLike, op: string): string {
  const da = a instanceof Tensor ? a.device : undefined;
  const db = b instanceof Tensor ? b.device : undefined;
  if (da && db && da !== db) {
    throw new Error(
      `${op}: expected all tensors on the same device, but found ${da} and ${db}`,
    );
  }
  return da ?? db ?? "cpu";
}

function broadcastView(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape)) return t;
  return new Tensor(
    t.storage,
    t.dtype,
    shape,
    broadcastStrides(t.shape, t.strides, shape),
    t.offset,
  );
}

const NO_OPTS: { compute?: (promoted: DType) => DType; predicate?: boolean } = {};

/** Dtypes that compute in themselves (not bool, float16 or bfloat16). */
const PLAIN_DTYPE: Readonly<Record<DType, boolean>> = {
  bool: false,
  uint8: true,
  int8: true,
  int16: true,
  int32: true,
  int64: true,
  float16: false,
  bfloat16: false,
  float32: true,
  float64: true,
};

/** float16 and bfloat16: the binary and unary kernels compute them in float32 registers. */
const HALF: Readonly<Partial<Record<DType, boolean>>> = { float16: true, bfloat16: true };

/** Whether `x` is a tensor of the half dtype `d` or a number that `d` holds exactly. */
function holdsExactly(x: TensorLike, d: DType): boolean {
  if (x instanceof Tensor) return x.dtype === d;
  if (typeof x === "boolean") return true;
  if (Number.isNaN(x)) return true;
  const back = d === "bfloat16" ? bf16BitsToF32(f32ToBf16Bits(x)) : f16BitsToF32(f32ToF16Bits(x));
  return back === x;
}

/**
 * Runs a binary kernel: promotes, broadcasts, computes in `compute` (default
 * the promoted dtype) and returns `outDType` (default the compute dtype).
 */
function binaryKernel(
  op: BinaryOp,
  a: TensorLike,
  b: TensorLike,
  name: string,
  opts: { compute?: (promoted: DType) => DType; predicate?: boolean } = NO_OPTS,
): Tensor {
  // The common case, two tensors of one plain dtype on one device: no
  // promotion, conversion or scalar operand to prepare.
  if (
    a instanceof Tensor && b instanceof Tensor && a.dtype === b.dtype &&
    (opts.compute === undefined || HALF[a.dtype]) && (PLAIN_DTYPE[a.dtype] || HALF[a.dtype]) &&
    a.storage.device === b.storage.device
  ) {
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(name, a.shape, b.shape);
    const out = outputTensor(shape, opts.predicate ? "bool" : a.dtype, a.storage.device);
    out.backend.binary(op, broadcastView(a, shape), broadcastView(b, shape), out);
    return out;
  }
  checkOperand(a, name);
  checkOperand(b, name);
  const device = deviceOf(a, b, name);
  const promoted = resultType([promotionInput(a), promotionInput(b)]);
  let compute = opts.compute ? opts.compute(promoted) : computeDType(promoted);
  if (compute === "float32" && HALF[promoted]) {
    // A half tensor with a number: the number stays float32 beside the half
    // elements (PyTorch's rule) on a backend with a scalar kernel, without
    // float32 copies of the tensor and the result.
    const first = typeof a === "number";
    const t = first ? b : a, v = first ? a : b;
    if (
      t instanceof Tensor && typeof v === "number" && t.dtype === promoted && t.device === device &&
      t.backend.binaryScalar
    ) {
      const out = outputTensor(t.shape, opts.predicate ? "bool" : promoted, device);
      t.backend.binaryScalar(op, t, v, first, out);
      return out;
    }
    // Elsewhere a number the half dtype holds exactly runs on the half
    // kernel (float32 registers, one rounding): the same values.
    if (holdsExactly(a, promoted) && holdsExactly(b, promoted)) compute = promoted;
  }
  // Arithmetic on bools runs on 0/1 bytes and is read back as bool (True + True = True).
  const boolArith = compute === "bool" && !opts.predicate;
  if (boolArith) compute = "uint8";
  const ta = asTensor(a, compute, device, name);
  const tb = asTensor(b, compute, device, name);
  const shape = broadcastShapes(name, ta.shape, tb.shape);
  const out = outputTensor(shape, opts.predicate ? "bool" : compute, device);
  // bool + bool is logical or in PyTorch (a bool never holds 2).
  if (op === "add" && compute === "bool") op = "logicalOr";
  out.backend.binary(op, broadcastView(ta, shape), broadcastView(tb, shape), out);
  if (boolArith) return toDType(out, "bool");
  // float16/bfloat16 computed in float32 round back to their storage dtype.
  const storageOnly = promoted === "float16" || promoted === "bfloat16";
  return storageOnly && !opts.predicate && compute === "float32" ? toDType(out, promoted) : out;
}

/**
 * @internal `dst = dst op other` written straight into dst's memory, for the
 * in-place methods when nothing is recorded: true when it ran. It declines
 * (the caller then computes out of place and copies) unless both are tensors
 * of one plain dtype on one device, dst is contiguous and other broadcasts to
 * dst's shape, and other either lies in other memory or is dst itself
 * (elementwise, each element reads only its own place). Integer division
 * promotes, so "div" takes floating dtypes only.
 */
export function binaryInto(
  op: "add" | "sub" | "mul" | "div",
  dst: Tensor,
  other: TensorLike,
): boolean {
  if (
    !(other instanceof Tensor) || other.dtype !== dst.dtype || !PLAIN_DTYPE[dst.dtype] ||
    other.storage.device !== dst.storage.device || (op === "div" && !isFloating(dst.dtype)) ||
    !dst.isContiguous() || other.ndim > dst.ndim
  ) {
    return false;
  }
  if (other.storage === dst.storage) {
    const same = other.offset === dst.offset && sameShape(other.shape, dst.shape) &&
      sameShape(other.strides, dst.strides);
    if (!same) return false;
  }
  const lead = dst.ndim - other.ndim;
  for (let i = 0; i < other.ndim; i++) {
    const d = other.shape[i];
    if (d !== 1 && d !== dst.shape[lead + i]) return false;
  }
  dst.backend.binary(op, dst, broadcastView(other, dst.shape), dst);
  return true;
}

/** Tensor operands go to `saved`, plain numbers to `ctx`, under one name. */
function operands(
  named: Record<string, TensorLike>,
): [Record<string, Tensor | undefined>, Record<string, unknown>] {
  const saved: Record<string, Tensor | undefined> = {};
  const ctx: Record<string, unknown> = {};
  for (const k in named) {
    const v = named[k];
    if (v instanceof Tensor) saved[k] = v;
    else ctx[k] = typeof v === "boolean" ? Number(v) : v;
  }
  return [saved, ctx];
}

const needs = (x: TensorLike): boolean => x instanceof Tensor && x.requiresGrad;
const ALPHA_KEYS = ["alpha"] as const;
const DIV_KEYS = ["roundingMode"] as const;
const NAN_TO_NUM_KEYS = ["nan", "posinf", "neginf"] as const;

const floatCompute = (d: DType): DType => isFloating(d) ? computeDType(d) : "float32";

/**
 * Elementwise sum with broadcasting: `a + alpha * b`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.add(zn.tensor([1, 2]), 10).toArray(); // [11, 12]
 * ```
 */
export function add(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  checkOptions("add", opts, ALPHA_KEYS);
  const bb = opts?.alpha !== undefined && opts.alpha !== 1 ? mul(b, opts.alpha) : b;
  return record("add", [a, bb], binaryKernel("add", a, bb, "add"));
}

/**
 * Elementwise difference with broadcasting: `a - alpha * b`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.sub(zn.tensor([5, 6]), 1).toArray(); // [4, 5]
 * ```
 */
export function sub(a: TensorLike, b: TensorLike, opts?: { alpha?: number }): Tensor {
  checkOptions("sub", opts, ALPHA_KEYS);
  if ((a instanceof Tensor && a.dtype === "bool") && (b instanceof Tensor && b.dtype === "bool")) {
    throw new TypeError("sub: subtracting two bool tensors is not supported; use logicalXor");
  }
  const bb = opts?.alpha !== undefined && opts.alpha !== 1 ? mul(b, opts.alpha) : b;
  return record("sub", [a, bb], binaryKernel("sub", a, bb, "sub"));
}

/**
 * Elementwise product with broadcasting.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.mul(zn.tensor([1, 2]), zn.tensor([[3], [4]])).toArray(); // [[3, 6], [4, 8]]
 * ```
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("mul", a, b, "mul");
  if (!needs(a) && !needs(b)) return out;
  const [saved, ctx] = operands({ ...(needs(b) ? { a } : {}), ...(needs(a) ? { b } : {}) });
  return record("mul", [a, b], out, saved, ctx);
}

/**
 * True division (integers divide as float32), or rounded with `roundingMode`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.div(zn.tensor([1, 7]), 2).toArray(); // [0.5, 3.5]
 * zn.div(zn.tensor([-7]), 2, { roundingMode: "floor" }).toArray(); // [-4]
 * ```
 */
export function div(
  a: TensorLike,
  b: TensorLike,
  opts?: { roundingMode?: "trunc" | "floor" },
): Tensor {
  checkOptions("div", opts, DIV_KEYS);
  const mode = opts?.roundingMode;
  if (mode === "floor") return floorDivide(a, b);
  if (mode === "trunc") {
    const promoted = resultType([promotionInput(a), promotionInput(b)]);
    if (isFloating(promoted)) return binaryKernel("div", a, b, "div").trunc();
    // Exact for every int64 (a float64 quotient loses digits past 2^53):
    // the floor quotient, one step toward zero where a remainder is left
    // and the quotient is negative.
    checkIntDivisor(b, "div");
    const q = floorDivide(a, b);
    const r = remainder(a, b);
    return add(q, logicalAnd(r.ne(0), q.lt(0)).to(q.dtype));
  }
  if (mode !== undefined) throw new RangeError(`div: unknown roundingMode ${JSON.stringify(mode)}`);
  const out = binaryKernel("div", a, b, "div", { compute: floatCompute });
  if (!needs(a) && !needs(b)) return out;
  const [saved, ctx] = operands(needs(b) ? { a, b } : { b });
  return record("div", [a, b], out, saved, ctx);
}

function checkIntDivisor(b: TensorLike, op: string): void {
  const zero = b instanceof Tensor ? b.eq(0).any().item() : b === 0;
  if (zero) throw new RangeError(`${op}: integer division by zero`);
}

/**
 * Elementwise power.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.pow(zn.tensor([1, 2, 3]), 2).toArray(); // [1, 4, 9]
 * ```
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("pow", a, b, "pow");
  if (!needs(a) && !needs(b)) return out;
  const [saved, ctx] = operands({ a, b });
  return record("pow", [a, b], out, { ...saved, out: needs(b) ? out : undefined }, ctx);
}

/**
 * Elementwise maximum; NaN propagates.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.maximum(zn.tensor([1, 5]), zn.tensor([3, 2])).toArray(); // [3, 5]
 * ```
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("maximum", a, b, "maximum");
  if (!needs(a) && !needs(b)) return out;
  const ta = asTensor(a, out.dtype, out.device, "maximum");
  const tb = asTensor(b, out.dtype, out.device, "maximum");
  return record("maximum", [a, b], out, { a: ta, b: tb });
}

/**
 * Elementwise minimum; NaN propagates.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.minimum(zn.tensor([1, 5]), zn.tensor([3, 2])).toArray(); // [1, 2]
 * ```
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("minimum", a, b, "minimum");
  if (!needs(a) && !needs(b)) return out;
  const ta = asTensor(a, out.dtype, out.device, "minimum");
  const tb = asTensor(b, out.dtype, out.device, "minimum");
  return record("minimum", [a, b], out, { a: ta, b: tb });
}

/**
 * Python-style remainder: the result has the divisor's sign.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.remainder(zn.tensor([-3, 3]), 2).toArray(); // [1, 1]
 * ```
 */
export function remainder(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("remainder", a, b, "remainder");
  if (!needs(a) && !needs(b)) return out;
  const [saved, ctx] = operands(needs(b) ? { a, b } : {});
  return record("remainder", [a, b], out, saved, ctx);
}

/**
 * C's fmod: the remainder of truncated division, with the dividend's sign
 * (where {@link remainder} takes the divisor's). Integer division by zero
 * raises.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.fmod(zn.tensor([-3, 3]), 2).toArray(); // [-1, 1]
 * ```
 */
export function fmod(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("fmod", a, b, "fmod");
  if (!needs(a) && !needs(b)) return out;
  const [saved, ctx] = operands(needs(b) ? { a, b } : {});
  return record("fmod", [a, b], out, saved, ctx);
}

/**
 * The magnitude of `a` with the sign of `b` (the sign bit: -0 counts as
 * negative). Integers promote to the default float dtype.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.copysign(zn.tensor([1, -2, 3]), zn.tensor([-1, 1, -0])).toArray(); // [-1, 2, -3]
 * ```
 */
export function copysign(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("copysign", a, b, "copysign", { compute: floatCompute });
  if (!needs(a)) return record("copysign", [a, b], out);
  const ta = asTensor(a, out.dtype, out.device, "copysign");
  return record("copysign", [a, b], out, { a: ta, out });
}

/**
 * Floor division.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.floorDivide(zn.tensor([-7, 7]), 2).toArray(); // [-4, 3]
 * ```
 */
export function floorDivide(a: TensorLike, b: TensorLike): Tensor {
  return binaryKernel("floorDivide", a, b, "floorDivide");
}

/**
 * atan2(a, b), in radians.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.atan2(zn.tensor([1]), zn.tensor([1])).item(); // ~0.785
 * ```
 */
export function atan2(a: TensorLike, b: TensorLike): Tensor {
  const out = binaryKernel("atan2", a, b, "atan2", { compute: floatCompute });
  if (!needs(a) && !needs(b)) return out;
  const ta = asTensor(a, out.dtype, out.device, "atan2");
  const tb = asTensor(b, out.dtype, out.device, "atan2");
  return record("atan2", [a, b], out, { a: ta, b: tb });
}

function comparison(op: BinaryOp) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const out = binaryKernel(op, a, b, op, { predicate: true });
    traceOnly(op, [a, b], out);
    return out;
  };
}

/**
 * `a == b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.eq(zn.tensor([1, 2]), 2).toArray(); // [false, true]
 * ```
 */
export const eq: (a: TensorLike, b: TensorLike) => Tensor = comparison("eq");

/**
 * `a != b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ne(zn.tensor([1, 2]), 2).toArray(); // [true, false]
 * ```
 */
export const ne: (a: TensorLike, b: TensorLike) => Tensor = comparison("ne");

/**
 * `a < b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.lt(zn.tensor([1, 2]), 2).toArray(); // [true, false]
 * ```
 */
export const lt: (a: TensorLike, b: TensorLike) => Tensor = comparison("lt");

/**
 * `a <= b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.le(zn.tensor([1, 2]), 2).toArray(); // [true, true]
 * ```
 */
export const le: (a: TensorLike, b: TensorLike) => Tensor = comparison("le");

/**
 * `a > b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.gt(zn.tensor([1, 3]), 2).toArray(); // [false, true]
 * ```
 */
export const gt: (a: TensorLike, b: TensorLike) => Tensor = comparison("gt");

/**
 * `a >= b` as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ge(zn.tensor([1, 2]), 2).toArray(); // [false, true]
 * ```
 */
export const ge: (a: TensorLike, b: TensorLike) => Tensor = comparison("ge");

/**
 * Logical and, as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logicalAnd(zn.tensor([true, false]), true).toArray(); // [true, false]
 * ```
 */
export const logicalAnd: (a: TensorLike, b: TensorLike) => Tensor = comparison("logicalAnd");

/**
 * Logical or, as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logicalOr(zn.tensor([true, false]), false).toArray(); // [true, false]
 * ```
 */
export const logicalOr: (a: TensorLike, b: TensorLike) => Tensor = comparison("logicalOr");

/**
 * Logical xor, as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logicalXor(zn.tensor([true, false]), true).toArray(); // [false, true]
 * ```
 */
export const logicalXor: (a: TensorLike, b: TensorLike) => Tensor = comparison("logicalXor");

/**
 * Logical not, as bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.logicalNot(zn.tensor([0, 2])).toArray(); // [true, false]
 * ```
 */
export function logicalNot(x: Tensor): Tensor {
  return unary("logicalNot", x);
}

const INT_UNARY = new Set<UnaryOp>([
  "neg",
  "abs",
  "sign",
  "square",
  "relu",
  "floor",
  "ceil",
  "round",
  "trunc",
  "isnan",
  "isinf",
  "logicalNot",
]);
const PREDICATES = new Set<UnaryOp>(["isnan", "isinf", "logicalNot"]);

/**
 * Applies a unary kernel. Integer inputs of float-only ops compute in
 * float32, as PyTorch does; float16/bfloat16 compute in float32 and round back.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * import { unary } from "./elementwise.ts"; // internal: zn.sqrt(x) is unary("sqrt", x)
 * unary("sqrt", zn.tensor([4, 9])).toArray(); // [2, 3]
 * ```
 */
export function unary(op: UnaryOp, x: Tensor, params?: readonly number[]): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeof x}`);
  if (op === "neg" && x.dtype === "bool") {
    throw new TypeError("neg: negation on a bool tensor is not supported; use logicalNot");
  }
  const pred = PREDICATES.has(op);
  let compute = computeDType(x.dtype);
  if (x.dtype === "bool" && !pred) {
    // The integer-safe ops (abs, sign, relu, rounding, ...) leave bools as they are.
    // square goes through pow(x, 2), so bools become int64 as in PyTorch.
    if (op === "square") return unary(op, toDType(x, "int64"));
    if (INT_UNARY.has(op)) return clone(x);
    compute = "float32";
  } else if (!isFloating(compute) && !INT_UNARY.has(op)) {
    compute = "float32";
  }
  // float16/bfloat16: the kernels compute in float32 registers and round once.
  const half = x.dtype === "float16" || x.dtype === "bfloat16";
  if (half) compute = x.dtype;
  const src = x.dtype === compute ? x : toDType(x, compute);
  const out = outputTensor(x.shape, pred ? "bool" : compute, x.device);
  out.backend.unary(op, src, out, params);
  const storageOnly = !half && computeDType(x.dtype) !== x.dtype;
  const result = storageOnly && !pred && isFloating(compute) ? toDType(out, x.dtype) : out;
  if (pred) traceOnly(op, [x], result);
  if (!x.requiresGrad || pred) return result;
  const saves = UNARY_SAVES[op] ?? "none";
  return record(op, [x], result, {
    x: saves === "x" || saves === "both" ? x : undefined,
    out: saves === "out" || saves === "both" ? result : undefined,
  }, { params });
}

/**
 * Replaces NaN, +inf and -inf with finite values (defaults: 0 and the dtype's extremes).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nanToNum(zn.tensor([NaN, 1])).toArray(); // [0, 1]
 * ```
 */
export function nanToNum(
  x: Tensor,
  opts?: { nan?: number; posinf?: number; neginf?: number },
): Tensor {
  checkTensor(x, "nanToNum");
  checkOptions("nanToNum", opts, NAN_TO_NUM_KEYS);
  if (!isFloating(x.dtype)) return clone(x);
  const big = x.dtype === "float64"
    ? Number.MAX_VALUE
    : x.dtype === "float16"
    ? 65504
    : x.dtype === "bfloat16"
    ? 3.3895313892515355e38
    : 3.4028234663852886e38;
  return unary("nanToNum", x, [opts?.nan ?? 0, opts?.posinf ?? big, opts?.neginf ?? -big]);
}

/**
 * Picks `a` where `cond` is true and `b` elsewhere, broadcasting all three.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([-1, 2]);
 * zn.where(x.gt(0), x, 0).toArray(); // [0, 2]
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) throw new TypeError("where: condition must be a Tensor");
  if (cond.dtype !== "bool") {
    throw new TypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
  }
  checkOperand(a, "where");
  checkOperand(b, "where");
  const device = cond.device;
  const dtype = resultType([promotionInput(a), promotionInput(b)]);
  const ta = asTensor(a, dtype, device, "where");
  const tb = asTensor(b, dtype, device, "where");
  const shape = broadcastShapes("where", cond.shape, ta.shape, tb.shape);
  const out = outputTensor(shape, dtype, device);
  out.backend.where(
    broadcastView(cond, shape),
    broadcastView(ta, shape),
    broadcastView(tb, shape),
    out,
  );
  return record("where", [cond, ta, tb], out, { cond });
}

/**
 * Clamps into [min, max]; either bound may be null.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.clamp(zn.tensor([-2, 0.5, 3]), 0, 1).toArray(); // [0, 0.5, 1]
 * ```
 */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError("clamp: at least one of min and max must be given");
  }
  const lo = min ?? null, hi = max ?? null;
  const compute = (): Tensor => {
    let out = x;
    if (lo !== null) out = maximum(out, lo);
    if (hi !== null) out = minimum(out, hi);
    return out === x ? clone(x) : out;
  };
  if (!isGradEnabled() || !(needs(x) || needs(lo ?? 0) || needs(hi ?? 0))) return compute();
  // The values come from maximum/minimum; the gradient follows PyTorch's
  // clamp: x gets it on [min, max] inclusive, a tensor bound where it wins.
  const out = noGrad(compute);
  const xd = x.detach();
  const plain = (b: TensorLike): TensorLike => b instanceof Tensor ? b.detach() : b;
  const less = (a: TensorLike, b: TensorLike): TensorLike =>
    a instanceof Tensor || b instanceof Tensor ? lt(a, b) : (a as number) < (b as number);
  const lod = lo === null ? null : plain(lo), hid = hi === null ? null : plain(hi);
  let inRange: Tensor | null = null;
  if (lod !== null) inRange = ge(xd, lod);
  if (hid !== null) inRange = inRange ? logicalAnd(inRange, le(xd, hid)) : le(xd, hid);
  let y = where(inRange!, x, out);
  if (lo !== null && lod !== null) {
    let below = lt(xd, lod);
    if (hid !== null) below = logicalAnd(below, less(lod, hid));
    y = where(below, lo, y);
  }
  if (hi !== null && hid !== null) {
    let above = gt(xd, hid);
    if (lod !== null) above = logicalOr(above, less(hid, lod));
    y = where(above, hi, y);
  }
  // The ops above are how the gradient is routed; a trace sees one clamp.
  traceOnly("clamp", [x, lo, hi], y);
  return y;
}

/**
 * Linear interpolation `a + weight * (b - a)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.lerp(zn.tensor([0.0]), zn.tensor([10.0]), 0.25).toArray(); // [2.5]
 * ```
 */
export function lerp(a: Tensor, b: TensorLike, weight: TensorLike): Tensor {
  checkTensor(a, "lerp");
  if (!isFloating(a.dtype)) {
    throw new TypeError(
      `lerp: expected a floating tensor, got ${a.dtype}${floatTensorHint(a.dtype)}`,
    );
  }
  return add(a, mul(weight, sub(b, a)));
}

// ---------------------------------------------------------------- conversion and read-back

/**
 * A copy of `x` converted to `dtype` (x itself when it already has it).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1.7, -1.7]).to("int32").toArray(); // [1, -1]
 * ```
 */
export function toDType(x: Tensor, dtype: DType): Tensor {
  checkDType(dtype, "to");
  if (x.dtype === dtype) return x;
  const out = outputTensor(x.shape, dtype, x.device);
  out.backend.copy(x, out);
  return record("to", [x], out, {}, { from: x.dtype });
}

/**
 * A copy of `x` on `device` ("cpu", "cuda", "cuda:N"); x itself when it is
 * already there. Differentiable: the gradient goes back to x's device.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.toDevice(zn.ones([2]), "cpu").device; // "cpu"
 * ```
 */
export function toDevice(x: Tensor, device: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`to: expected a Tensor, got ${typeof x}`);
  const b = backendFor(device);
  if (b.device === x.device) return x;
  // A contiguous CPU source is read in place: other devices copy what fromHost gets.
  let host: TypedArray;
  if (x.device === "cpu" && x.storage instanceof CpuStorage && x.isContiguous()) {
    if (x.isDisposed) throw disposedError("to");
    host = x.storage.data.subarray(x.offset, x.offset + x.numel) as TypedArray;
  } else host = x.backend.toHost(x);
  const out = new Tensor(
    b.fromHost(x.dtype, host),
    x.dtype,
    x.shape.slice(),
    contiguousStrides(x.shape),
    0,
  );
  return record("toDevice", [x], out, {}, { device: x.device });
}

/**
 * A contiguous copy of `x` with its own storage.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).mT.clone().isContiguous(); // true
 * ```
 */
export function clone(x: Tensor): Tensor {
  checkTensor(x, "clone");
  const out = outputTensor(x.shape, x.dtype, x.device);
  out.backend.copy(x, out);
  return record("clone", [x], out);
}

/** @internal A tensor of x's shape and dtype holding `value` everywhere. */
export function fullOf(x: Tensor, value: number | boolean, op = "fill"): Tensor {
  const t = scalarTensor(value, x.dtype, x.device, op);
  return new Tensor(t.storage, t.dtype, x.shape, x.shape.map(() => 0), 0);
}

/** @internal `src` as a tensor of dst's shape and dtype (recorded, so copy_ passes gradients). */
export function copySource(dst: Tensor, src: TensorLike): Tensor {
  checkOperand(src, "copy_");
  if (!(src instanceof Tensor)) return fullOf(dst, src, "copy_");
  // As in PyTorch, copy_ copies across devices (differentiably).
  if (src.device !== dst.device) src = toDevice(src, dst.device);
  const shape = broadcastShapes("copy_", dst.shape, src.shape);
  if (shape.length !== dst.shape.length || shape.some((d, i) => d !== dst.shape[i])) {
    throw new RangeError(
      `copy_: source of shape ${fmtShape(src.shape)} cannot be broadcast to ${fmtShape(dst.shape)}`,
    );
  }
  const s = src.dtype === dst.dtype ? src : toDType(src, dst.dtype);
  // Always a fresh view, so the record below never replaces s's own history.
  const view = new Tensor(
    s.storage,
    s.dtype,
    dst.shape,
    broadcastStrides(s.shape, s.strides, dst.shape),
    s.offset,
  );
  return record("expand", [s], view, {}, { shape: s.shape });
}

/** @internal Refuses in-place results that the destination dtype cannot hold. */
export function checkInplaceCast(from: DType, to: DType, op: string): void {
  const rank = (d: DType) => d === "bool" ? 0 : isFloating(d) ? 2 : 1;
  if (rank(from) > rank(to)) {
    throw new TypeError(
      `${op}: result type ${from} can't be cast to the desired output type ${to}`,
    );
  }
}

/** @internal dst[...] = src, broadcasting src and converting its dtype. */
export function copyInto(dst: Tensor, src: TensorLike, op: string): void {
  checkOperand(src, op);
  const s = src instanceof Tensor ? src : scalarTensor(src, dst.dtype, dst.device, op);
  if (s.device !== dst.device) {
    throw new Error(
      `${op}: expected all tensors on the same device, but found ${s.device} and ${dst.device}`,
    );
  }
  const shape = broadcastShapes(op, dst.shape, s.shape);
  if (shape.length !== dst.shape.length || shape.some((d, i) => d !== dst.shape[i])) {
    throw new RangeError(
      `${op}: source of shape ${fmtShape(s.shape)} cannot be broadcast to ${fmtShape(dst.shape)}`,
    );
  }
  dst.backend.copy(broadcastView(s, dst.shape), dst);
}

function hostValues(x: Tensor): ArrayLike<number | bigint> {
  return x.backend.toHost(x);
}

function convertValue(dtype: DType): (v: number | bigint) => number | boolean {
  switch (dtype) {
    case "float16":
      return (v) => f16BitsToF32(v as number);
    case "bfloat16":
      return (v) => bf16BitsToF32(v as number);
    case "int64":
      return (v) => Number(v);
    case "bool":
      return (v) => v !== 0;
    default:
      return (v) => v as number;
  }
}

/**
 * The elements as nested arrays: numbers (int64 as numbers) or booleans.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ones([2, 1]).toArray(); // [[1], [1]]
 * ```
 */
export function toArray(x: Tensor): unknown {
  const flat = hostValues(x);
  const conv = convertValue(x.dtype);
  if (x.ndim === 0) return conv(flat[0]);
  let pos = 0;
  const build = (d: number): unknown[] => {
    const n = x.shape[d];
    const out = new Array(n);
    if (d === x.ndim - 1) {
      for (let i = 0; i < n; i++) out[i] = conv(flat[pos++]);
    } else {
      for (let i = 0; i < n; i++) out[i] = build(d + 1);
    }
    return out;
  };
  return build(0);
}

/**
 * A flat contiguous copy: float16 and bfloat16 come back as Float32Array,
 * int64 as BigInt64Array, bool as Uint8Array.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).mT.toTypedArray(); // Float32Array [1, 3, 2, 4]
 * ```
 */
export function toTypedArray(x: Tensor): TypedArray {
  if (x.dtype === "float16" || x.dtype === "bfloat16") {
    return x.to("float32").backend.toHost(x.to("float32"));
  }
  return x.backend.toHost(x);
}

/**
 * The value of a one-element tensor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[3]]).item(); // 3
 * ```
 */
export function item(x: Tensor): number | boolean {
  if (x.numel !== 1) {
    throw new RangeError(
      `item: a Tensor with ${x.numel} elements cannot be converted to a scalar`,
    );
  }
  return convertValue(x.dtype)(hostValues(x)[0]);
}
