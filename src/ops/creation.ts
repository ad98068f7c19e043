/**
 * Creation: tensors from data, constant fills, ranges and random tensors.
 *
 * @module
 */
import {
  checkDType,
  checkScalarFits,
  type DType,
  f32ToBf16Bits,
  f32ToF16Bits,
  isFloating,
  isIntegral,
  toIntElement,
  type TypedArray,
} from "../dtype.ts";
import { backendFor } from "../backend.ts";
import { hostArray } from "../cpu_backend.ts";
import { checkShape, contiguousStrides, fmtShape, numel, shapeArgs } from "../shape.ts";
import { emptyTensor, outputTensor, Tensor } from "../tensor.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { toDType } from "./elementwise.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkTensor } from "../args.ts";

/**
 * Options shared by the creation functions.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.CreateOptions = { dtype: "float64", requiresGrad: true };
 * const w = zn.zeros([2, 3], opts);
 * [w.dtype, w.requiresGrad]; // ["float64", true]
 * ```
 */
export interface CreateOptions {
  /** Element type (default float32 for floats, int64 for integers). */
  dtype?: DType;
  /** Device (default "cpu"). */
  device?: string;
  /** Record operations for autograd. */
  requiresGrad?: boolean;
}

/**
 * Options of the random creation functions.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.RandomOptions = { generator: new zn.Generator(0) };
 * const a = zn.randn([3], opts);
 * const b = zn.randn([3], { generator: new zn.Generator(0) });
 * a.eq(b).all().item(); // true: the same seed gives the same draws
 * ```
 */
export interface RandomOptions extends CreateOptions {
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

const CREATE_KEYS = optionKeys<CreateOptions>({ dtype: 0, device: 0, requiresGrad: 0 });
const RANDOM_KEYS = optionKeys<RandomOptions>({
  dtype: 0,
  device: 0,
  requiresGrad: 0,
  generator: 0,
});
const TENSOR_KEYS = [...CREATE_KEYS, "shape"];

/**
 * Nested arrays of numbers, bigints or booleans. Plain numbers make float32
 * tensors (JavaScript cannot tell `1.0` from `1`); bigints make int64 and
 * booleans bool.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const rows: zn.NestedArray = [[1, 2], [3, 4]];
 * zn.tensor(rows).shape; // [2, 2]
 * zn.tensor([1n, 2n]).dtype; // "int64"
 * ```
 */
export type NestedArray = number | bigint | boolean | NestedArray[];

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) {
    if (!isFloating(t.dtype)) {
      throw new TypeError(
        `requiresGrad: only floating point tensors can require gradients, got ${t.dtype}; pass { dtype: "float32" }`,
      );
    }
    t.requiresGrad = true;
  }
  return t;
}

function typedDType(d: TypedArray): DType {
  if (d instanceof Float32Array) return "float32";
  if (d instanceof Float64Array) return "float64";
  if (d instanceof BigInt64Array) return "int64";
  if (d instanceof Int32Array) return "int32";
  if (d instanceof Int16Array) return "int16";
  if (d instanceof Int8Array) return "int8";
  if (d instanceof Uint8Array) return "uint8";
  throw new TypeError(
    `tensor: cannot infer a dtype from ${
      (d as object).constructor.name
    }; pass { dtype } (e.g. "float16" for raw Uint16Array bits)`,
  );
}

function fromHostValues(
  values: ArrayLike<number | bigint | boolean>,
  shape: number[],
  dtype: DType,
  device: string,
  op = "tensor",
): Tensor {
  const n = values.length;
  const arr = hostArray(dtype, n, false);
  if (isIntegral(dtype)) {
    // Truncated toward zero as a cast is; out of range or not finite is an
    // error, never a wrapped value.
    const a = arr as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < n; i++) a[i] = toIntElement(values[i], dtype, op);
  } else if (dtype === "float16" || dtype === "bfloat16") {
    const a = arr as Uint16Array;
    const conv = dtype === "float16" ? f32ToF16Bits : f32ToBf16Bits;
    for (let i = 0; i < n; i++) a[i] = conv(Number(values[i]));
  } else if (dtype === "bool") {
    const a = arr as Uint8Array;
    for (let i = 0; i < n; i++) a[i] = values[i] ? 1 : 0;
  } else {
    const a = arr as Float64Array;
    for (let i = 0; i < n; i++) a[i] = Number(values[i]);
  }
  const b = backendFor(device);
  return new Tensor(b.fromHost(dtype, arr), dtype, shape, contiguousStrides(shape), 0);
}

/**
 * A tensor from nested arrays, a typed array (copied; flat, or with
 * `shape`), or a single number. The tensor owns its memory: later writes to
 * a typed array given here do not reach it (`zn.fromTypedArray` shares the
 * array's memory instead, without a copy).
 *
 * The dtype, unless `dtype` is given: plain numbers make float32 (JavaScript
 * has one number type, so `1` and `1.0` are the same value; this differs
 * from PyTorch, where `torch.tensor([1, 2])` is int64), bigints make int64,
 * booleans bool, and a typed array keeps its own type (Int32Array int32,
 * BigInt64Array int64, ...). Integer dtypes reject values they cannot hold.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([[1, 2], [3, 4]]).dtype; // "float32"
 * zn.tensor([1, 2], { dtype: "int64" }).dtype; // "int64"
 * zn.tensor([1n, 2n]).dtype; // "int64"
 * zn.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] }).shape; // [2, 2]
 * ```
 */
export function tensor(
  data: NestedArray | TypedArray,
  opts?: CreateOptions & { shape?: number[] },
): Tensor {
  checkOptions("tensor", opts, TENSOR_KEYS);
  const device = opts?.device ?? "cpu";
  if (opts?.dtype !== undefined) checkDType(opts.dtype, "tensor");
  if (ArrayBuffer.isView(data)) {
    const src = data as TypedArray;
    const shape = checkShape(opts?.shape ?? [src.length], "tensor");
    if (numel(shape) !== src.length) {
      throw new RangeError(
        `tensor: shape ${fmtShape(shape)} does not match ${src.length} elements`,
      );
    }
    const raw16 = src instanceof Uint16Array;
    const d: DType = raw16 ? (opts?.dtype ?? "float16") : typedDType(src);
    if (raw16 && d !== "float16" && d !== "bfloat16") {
      throw new TypeError(`tensor: a Uint16Array holds float16 or bfloat16 bits, not ${d}`);
    }
    const copy = src.slice() as TypedArray;
    const b = backendFor(device);
    const t = new Tensor(b.fromHost(d, copy), d, shape, contiguousStrides(shape), 0);
    return finish(opts?.dtype && opts.dtype !== d ? toDType(t, opts.dtype) : t, opts);
  }
  const shape: number[] = [];
  let probe: NestedArray = data as NestedArray;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  checkShape(shape, "tensor");
  const flat: (number | bigint | boolean)[] = [];
  let sawBool = false, sawNumber = false, sawBigInt = false;
  const walk = (x: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (typeof x === "boolean") sawBool = true;
      else if (typeof x === "number") sawNumber = true;
      else if (typeof x === "bigint") sawBigInt = true;
      else {
        throw new TypeError(
          `tensor: expected a number, bigint or boolean at depth ${d}, got ${
            Array.isArray(x) ? "an array" : typeof x
          }`,
        );
      }
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new RangeError(
        `tensor: expected sequence of length ${shape[d]} at dim ${d} (got ${
          Array.isArray(x) ? x.length : typeof x
        })`,
      );
    }
    for (const y of x) walk(y, d + 1);
  };
  walk(data as NestedArray, 0);
  // Plain numbers are float32; bigints int64 (unless mixed with numbers);
  // booleans alone bool.
  const inferred: DType = sawNumber
    ? "float32"
    : sawBigInt
    ? "int64"
    : sawBool
    ? "bool"
    : "float32";
  const dtype = opts?.dtype ?? inferred;
  return finish(fromHostValues(flat, shape, dtype, device), opts);
}

/**
 * A shape given as one array or as one of several separate sizes.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const shape: zn.ShapeArg[] = [2, 3];
 * zn.ones(...shape).shape; // [2, 3]
 * zn.ones([2, 3]).shape; // [2, 3]
 * ```
 */
export type ShapeArg = number | readonly number[];

function splitArgs(
  args: (ShapeArg | CreateOptions | undefined)[],
  op: string,
  allowed: readonly string[] = CREATE_KEYS,
): [number[], CreateOptions | undefined] {
  let opts: CreateOptions | undefined;
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === "object" && !Array.isArray(last)) {
    opts = last as CreateOptions;
    checkOptions(op, opts, allowed);
    args = args.slice(0, -1);
  } else if (last === undefined && args.length > 0) {
    args = args.slice(0, -1);
  }
  return [checkShape(shapeArgs(args as ShapeArg[], op), op), opts];
}

function filled(
  shape: number[],
  value: number | bigint | boolean,
  opts: CreateOptions | undefined,
  op: string,
): Tensor {
  const dtype = opts?.dtype !== undefined ? checkDType(opts.dtype, op) : "float32";
  const device = opts?.device ?? "cpu";
  checkScalarFits(value, dtype, op);
  if (typeof value === "bigint" && !isIntegral(dtype)) value = Number(value);
  // Zeros come zero-filled; any other value overwrites every element.
  const t = value === 0 ? emptyTensor(shape, dtype, device) : outputTensor(shape, dtype, device);
  if (value !== 0 && value !== 0n) t.backend.fill(t, value);
  return finish(t, opts);
}

/**
 * A tensor of zeros: `zeros([2, 3])` or `zeros(2, 3)`, options last.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zeros(2, 3).shape; // [2, 3]
 * zn.zeros([2], { dtype: "int32" }).toArray(); // [0, 0]
 * ```
 */
export function zeros(...args: (ShapeArg | CreateOptions | undefined)[]): Tensor {
  const [shape, opts] = splitArgs(args, "zeros");
  return filled(shape, 0, opts, "zeros");
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.ones([2]).toArray(); // [1, 1]
 * ```
 */
export function ones(...args: (ShapeArg | CreateOptions | undefined)[]): Tensor {
  const [shape, opts] = splitArgs(args, "ones");
  return filled(shape, 1, opts, "ones");
}

/**
 * An uninitialised tensor (zero-filled here, as fresh memory is).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.empty([3]).shape; // [3]
 * ```
 */
export function empty(...args: (ShapeArg | CreateOptions | undefined)[]): Tensor {
  const [shape, opts] = splitArgs(args, "empty");
  return filled(shape, 0, opts, "empty");
}

/**
 * A tensor filled with `value`; the dtype follows the value unless given:
 * float32 for a number, int64 for a bigint, bool for a boolean (as with
 * {@link tensor}; PyTorch makes int64 from an integer fill value).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.full([2], 7).toArray(); // [7, 7] (float32)
 * zn.full([2], 7n).dtype; // "int64"
 * zn.full([2], 7, { dtype: "int32" }).dtype; // "int32"
 * ```
 */
export function full(
  shape: readonly number[],
  value: number | bigint | boolean,
  opts?: CreateOptions,
): Tensor {
  checkOptions("full", opts, CREATE_KEYS);
  const s = checkShape(shape as number[], "full");
  if (typeof value !== "number" && typeof value !== "bigint" && typeof value !== "boolean") {
    throw new TypeError(
      `full: expected a number, bigint or boolean fill value, got ${typeof value}`,
    );
  }
  const dtype: DType = opts?.dtype ??
    (typeof value === "boolean" ? "bool" : typeof value === "bigint" ? "int64" : "float32");
  return filled(s, value, { ...opts, dtype }, "full");
}

function likeOpts(
  x: Tensor,
  opts: CreateOptions | undefined,
  op: string,
  allowed: readonly string[] = CREATE_KEYS,
): CreateOptions {
  checkOptions(op, opts, allowed);
  return {
    dtype: opts?.dtype ?? x.dtype,
    device: opts?.device ?? x.device,
    requiresGrad: opts?.requiresGrad,
  };
}

/**
 * Zeros with the shape (and by default dtype and device) of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.zerosLike(zn.ones([2, 2])).toArray(); // [[0, 0], [0, 0]]
 * ```
 */
export function zerosLike(x: Tensor, opts?: CreateOptions): Tensor {
  checkTensor(x, "zerosLike");
  return filled(x.shape.slice(), 0, likeOpts(x, opts, "zerosLike"), "zerosLike");
}

/**
 * Ones with the shape of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.onesLike(zn.zeros([2])).toArray(); // [1, 1]
 * ```
 */
export function onesLike(x: Tensor, opts?: CreateOptions): Tensor {
  checkTensor(x, "onesLike");
  return filled(x.shape.slice(), 1, likeOpts(x, opts, "onesLike"), "onesLike");
}

/**
 * An uninitialised (zeroed) tensor with the shape of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.emptyLike(zn.ones([2])).shape; // [2]
 * ```
 */
export function emptyLike(x: Tensor, opts?: CreateOptions): Tensor {
  checkTensor(x, "emptyLike");
  return filled(x.shape.slice(), 0, likeOpts(x, opts, "emptyLike"), "emptyLike");
}

/**
 * `value` everywhere, with the shape of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.fullLike(zn.zeros([2]), 3).toArray(); // [3, 3]
 * ```
 */
export function fullLike(
  x: Tensor,
  value: number | bigint | boolean,
  opts?: CreateOptions,
): Tensor {
  checkTensor(x, "fullLike");
  return filled(x.shape.slice(), value, likeOpts(x, opts, "fullLike"), "fullLike");
}

/**
 * Values from `start` to `end` (exclusive) by `step`: `arange(end)`,
 * `arange(start, end, step?)`. Integers give int64 (as in PyTorch), otherwise
 * float32. Integer ranges are exact past 2^53 (bounds given as bigints, or as
 * numbers that are integers).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(4).toArray(); // [0, 1, 2, 3]
 * zn.arange(1, 2, 0.25).toArray(); // [1, 1.25, 1.5, 1.75]
 * zn.arange(2n ** 60n, 2n ** 60n + 3n).toArray(); // [2n ** 60n, 2n ** 60n + 1n, 2n ** 60n + 2n]
 * ```
 */
export function arange(
  a: number | bigint,
  b?: number | bigint | CreateOptions,
  c?: number | bigint | CreateOptions,
  d?: CreateOptions,
): Tensor {
  let start: number | bigint = 0, end: number | bigint, step: number | bigint = 1;
  let opts: CreateOptions | undefined;
  const isNum = (v: unknown): v is number | bigint =>
    typeof v === "number" || typeof v === "bigint";
  if (!isNum(b)) {
    end = a;
    opts = b;
  } else {
    start = a;
    end = b;
    if (isNum(c)) {
      step = c;
      opts = d;
    } else opts = c;
  }
  checkOptions("arange", opts, CREATE_KEYS);
  for (const v of [start, end, step]) {
    if (typeof v === "bigint") continue;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`arange: start, end and step must be finite numbers, got ${v}`);
    }
  }
  const allInt = [start, end, step].every((v) => typeof v === "bigint" || Number.isInteger(v));
  if (allInt && (opts?.dtype === undefined || !isFloating(opts.dtype))) {
    return integerRange(BigInt(start), BigInt(end), BigInt(step), opts);
  }
  const [s0, e0, st] = [Number(start), Number(end), Number(step)];
  if (st === 0) throw new RangeError("arange: step must be nonzero");
  if ((e0 - s0) / st < 0) {
    throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign`);
  }
  const n = Math.max(0, Math.ceil((e0 - s0) / st));
  const dtype = opts?.dtype ?? "float32";
  checkShape([n], "arange");
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = s0 + i * st;
  return finish(fromHostValues(values, [n], dtype, opts?.device ?? "cpu", "arange"), opts);
}

/** arange over integers, exact for any int64 bounds. */
function integerRange(start: bigint, end: bigint, step: bigint, opts?: CreateOptions): Tensor {
  if (step === 0n) throw new RangeError("arange: step must be nonzero");
  for (const v of [start, end, step]) toIntElement(v, "int64", "arange");
  const span = end - start;
  if ((span > 0n && step < 0n) || (span < 0n && step > 0n)) {
    throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign`);
  }
  // ceil(span / step); bigint division truncates toward zero.
  const count = span === 0n ? 0n : (span + step - (step > 0n ? 1n : -1n)) / step;
  const n = Number(count);
  checkShape([n], "arange");
  const dtype = opts?.dtype ?? "int64";
  const last = start + (count - 1n) * step;
  const safe = (v: bigint) =>
    v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
  let values: ArrayLike<number | bigint>;
  if (n === 0 || (safe(start) && safe(last))) {
    const v = new Float64Array(n);
    const s0 = Number(start), st = Number(step);
    for (let i = 0; i < n; i++) v[i] = s0 + i * st;
    values = v;
  } else {
    const v = new Array<bigint>(n);
    for (let i = 0; i < n; i++) v[i] = start + BigInt(i) * step;
    values = v;
  }
  return finish(fromHostValues(values, [n], dtype, opts?.device ?? "cpu", "arange"), opts);
}

/**
 * `steps` evenly spaced values from `start` to `end` inclusive.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.linspace(0, 1, 5).toArray(); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  checkOptions("linspace", opts, CREATE_KEYS);
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`linspace: number of steps must be non-negative, got ${steps}`);
  }
  if (typeof start !== "number" || typeof end !== "number") {
    throw new TypeError(
      `linspace: start and end must be numbers, got ${typeof start} and ${typeof end}`,
    );
  }
  checkShape([steps], "linspace");
  const values = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // As PyTorch: the first half counts from start, the second half from end.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    values[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  }
  return finish(
    fromHostValues(values, [steps], opts?.dtype ?? "float32", opts?.device ?? "cpu"),
    opts,
  );
}

/**
 * An n x m identity matrix (m defaults to n).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.eye(2).toArray(); // [[1, 0], [0, 1]]
 * ```
 */
export function eye(n: number, m?: number | CreateOptions, opts?: CreateOptions): Tensor {
  const cols = typeof m === "number" ? m : n;
  const o = typeof m === "number" ? opts : m;
  checkOptions("eye", o, CREATE_KEYS);
  const shape = checkShape([n, cols], "eye");
  const values = new Float64Array(n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) values[i * cols + i] = 1;
  return finish(fromHostValues(values, shape, o?.dtype ?? "float32", o?.device ?? "cpu"), o);
}

// ---------------------------------------------------------------- random

function randomFill(
  shape: number[],
  opts: RandomOptions | undefined,
  op: string,
  draw: (g: Generator) => number,
  defaultDType: DType = "float32",
): Tensor {
  const dtype = opts?.dtype !== undefined ? checkDType(opts.dtype, op) : defaultDType;
  const g = opts?.generator ?? defaultGenerator;
  const n = numel(shape);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = draw(g);
  return finish(fromHostValues(values, shape, dtype, opts?.device ?? "cpu", op), opts);
}

/**
 * rand and randn: float32 and float64 are drawn straight into their storage
 * by the generator's bulk fills (the same values as one draw per element);
 * other dtypes take randomFill's path.
 */
function randomFloats(
  shape: number[],
  opts: RandomOptions | undefined,
  op: "rand" | "randn",
): Tensor {
  const dtype = opts?.dtype !== undefined ? checkDType(opts.dtype, op) : "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    return randomFill(
      shape,
      opts,
      op,
      op === "rand" ? (g) => g.nextFloat() : (g) => g.nextNormal(),
    );
  }
  const g = opts?.generator ?? defaultGenerator;
  const arr = hostArray(dtype, numel(shape), false) as Float32Array | Float64Array;
  if (op === "rand") g.fillFloat(arr);
  else g.fillNormal(arr);
  const b = backendFor(opts?.device ?? "cpu");
  return finish(
    new Tensor(b.fromHost(dtype, arr), dtype, shape, contiguousStrides(shape), 0),
    opts,
  );
}

function floatDType(opts: RandomOptions | undefined, op: string): void {
  if (opts?.dtype !== undefined && !isFloating(checkDType(opts.dtype, op))) {
    throw new TypeError(`${op}: expected a floating point dtype, got ${opts.dtype}`);
  }
}

/**
 * Uniform samples in [0, 1).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.manualSeed(1);
 * zn.rand(2, 3).shape; // [2, 3]
 * ```
 */
export function rand(...args: (ShapeArg | RandomOptions | undefined)[]): Tensor {
  const [shape, opts] = splitArgs(args, "rand", RANDOM_KEYS) as [
    number[],
    RandomOptions | undefined,
  ];
  floatDType(opts, "rand");
  return randomFloats(shape, opts, "rand");
}

/**
 * Standard normal samples.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.randn([1000]).mean().item(); // close to 0
 * ```
 */
export function randn(...args: (ShapeArg | RandomOptions | undefined)[]): Tensor {
  const [shape, opts] = splitArgs(args, "randn", RANDOM_KEYS) as [
    number[],
    RandomOptions | undefined,
  ];
  floatDType(opts, "randn");
  return randomFloats(shape, opts, "randn");
}

/**
 * Random integers in [low, high) (int64 unless `dtype` says otherwise).
 * Bounds are numbers or, past 2^53, bigints; both must lie in the dtype's
 * range.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.randint(0, 10, [5]).dtype; // "int64"
 * zn.randint(0n, 2n ** 62n, [2]).dtype; // "int64"
 * ```
 */
export function randint(
  low: number | bigint,
  high: number | bigint,
  shape: readonly number[],
  opts?: RandomOptions,
): Tensor {
  checkOptions("randint", opts, RANDOM_KEYS);
  const isInt = (v: unknown) => typeof v === "bigint" || Number.isInteger(v);
  if (!isInt(low) || !isInt(high) || !(high > low)) {
    throw new RangeError(
      `randint: expected integers with low < high, got low=${low}, high=${high}`,
    );
  }
  const dtype = opts?.dtype !== undefined ? checkDType(opts.dtype, "randint") : "int64";
  if (isIntegral(dtype)) {
    toIntElement(low, dtype, "randint");
    toIntElement(BigInt(high) - 1n, dtype, "randint");
  }
  const s = checkShape(shape as number[], "randint");
  const lo = Number(low), hi = Number(high);
  if (Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && hi - lo <= Number.MAX_SAFE_INTEGER) {
    return randomFill(s, opts, "randint", (g) => g.nextInt(lo, hi), "int64");
  }
  // Past 2^53: exact draws as bigints.
  const g = opts?.generator ?? defaultGenerator;
  const [bl, bh] = [BigInt(low), BigInt(high)];
  const values = Array.from({ length: numel(s) }, () => g.nextBigInt(bl, bh));
  return finish(fromHostValues(values, s, dtype, opts?.device ?? "cpu", "randint"), opts);
}

/**
 * A random permutation of 0..n-1 (int64).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.randperm(4).sort().values.toArray(); // [0, 1, 2, 3]
 * ```
 */
export function randperm(n: number, opts?: RandomOptions): Tensor {
  checkOptions("randperm", opts, RANDOM_KEYS);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
  }
  checkShape([n], "randperm");
  const g = opts?.generator ?? defaultGenerator;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.nextInt(0, i + 1);
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
  return finish(fromHostValues(values, [n], opts?.dtype ?? "int64", opts?.device ?? "cpu"), opts);
}

/**
 * Normal samples with the given mean and standard deviation.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.normal(5, 0.1, [3]).shape; // [3]
 * ```
 */
export function normal(
  mean: number,
  std: number,
  shape: readonly number[],
  opts?: RandomOptions,
): Tensor {
  checkOptions("normal", opts, RANDOM_KEYS);
  if (!(std >= 0)) throw new RangeError(`normal: expected std >= 0, got ${std}`);
  floatDType(opts, "normal");
  return randomFill(
    checkShape(shape as number[], "normal"),
    opts,
    "normal",
    (g) => mean + std * g.nextNormal(),
  );
}

/**
 * Uniform samples in [low, high).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.uniform(-1, 1, [3]).shape; // [3]
 * ```
 */
export function uniform(
  low: number,
  high: number,
  shape: readonly number[],
  opts?: RandomOptions,
): Tensor {
  checkOptions("uniform", opts, RANDOM_KEYS);
  if (!(low <= high)) throw new RangeError(`uniform: expected low <= high, got ${low} and ${high}`);
  floatDType(opts, "uniform");
  return randomFill(
    checkShape(shape as number[], "uniform"),
    opts,
    "uniform",
    (g) => low + (high - low) * g.nextFloat(),
  );
}

/**
 * 0/1 samples with probability `p` (a number with a shape, or a tensor of
 * probabilities giving its own shape).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.bernoulli(zn.full([4], 1.0)).toArray(); // [1, 1, 1, 1]
 * ```
 */
export function bernoulli(
  p: Tensor | number,
  shape?: readonly number[],
  opts?: RandomOptions,
): Tensor {
  checkOptions("bernoulli", opts, RANDOM_KEYS);
  const g = opts?.generator ?? defaultGenerator;
  if (p instanceof Tensor) {
    const probs = p.to("float64").toTypedArray() as Float64Array;
    for (const v of probs) {
      if (!(v >= 0 && v <= 1)) {
        throw new RangeError(`bernoulli: probabilities must be in [0, 1], got ${v}`);
      }
    }
    const values = new Float64Array(probs.length);
    for (let i = 0; i < probs.length; i++) values[i] = g.nextFloat() < probs[i] ? 1 : 0;
    const dtype = opts?.dtype ?? (isFloating(p.dtype) ? p.dtype : "float32");
    return finish(fromHostValues(values, p.shape.slice(), dtype, p.device), opts);
  }
  if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli: p must be in [0, 1], got ${p}`);
  if (!shape) throw new TypeError("bernoulli: a shape is needed when p is a number");
  return randomFill(
    checkShape(shape as number[], "bernoulli"),
    opts,
    "bernoulli",
    (gen) => gen.nextFloat() < p ? 1 : 0,
  );
}

/**
 * Standard normal samples with the shape (and dtype) of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.randnLike(zn.zeros([2, 2])).shape; // [2, 2]
 * ```
 */
export function randnLike(x: Tensor, opts?: RandomOptions): Tensor {
  checkTensor(x, "randnLike");
  return randn(x.shape.slice(), {
    ...likeOpts(x, opts, "randnLike", RANDOM_KEYS),
    generator: opts?.generator,
  });
}

/**
 * Uniform [0, 1) samples with the shape (and dtype) of `x`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.randLike(zn.zeros([2])).shape; // [2]
 * ```
 */
export function randLike(x: Tensor, opts?: RandomOptions): Tensor {
  checkTensor(x, "randLike");
  return rand(x.shape.slice(), {
    ...likeOpts(x, opts, "randLike", RANDOM_KEYS),
    generator: opts?.generator,
  });
}
