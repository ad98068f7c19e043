/**
 * Argument checks shared by the public entry points: a wrong type (null, a
 * number where a Tensor goes, a string where a list goes, a bigint size) is a
 * TypeError naming the op, the parameter and what was given, raised before
 * any work. Each check is one typeof/instanceof test on success and
 * allocates nothing then.
 *
 * @module
 */
import { Tensor } from "./tensor.ts";
import { floatTensorHint, isFloating } from "./dtype.ts";

/** The largest magnitude an integer argument may have (exact in a double). */
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** @internal A short description of a value for messages: `null`, `number 5`, `a string ("abc")`. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (v instanceof Tensor) return v.isDisposed ? "a disposed Tensor" : `a ${v.dtype} Tensor`;
  if (Array.isArray(v)) return "an array";
  switch (typeof v) {
    case "string":
      return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
    case "number":
    case "boolean":
      return `${typeof v} ${String(v)}`;
    case "bigint":
      return `bigint ${String(v)}n`;
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
  }
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object";
}

/** @internal Throws a TypeError `op: expected name to be <what>, got <value>`. */
export function typeError(op: string, name: string, what: string, v: unknown): never {
  throw new TypeError(`${op}: expected ${name} to be ${what}, got ${describe(v)}`);
}

/** @internal Throws unless `x` is a Tensor (a disposed one passes: using it is the op's error). */
export function checkTensor(x: unknown, op: string, name = "input"): asserts x is Tensor {
  if (!(x instanceof Tensor)) typeError(op, name, "a Tensor", x);
}

/** @internal Like {@link checkTensor}, letting `null` and `undefined` pass. */
export function checkOptionalTensor(
  x: unknown,
  op: string,
  name: string,
): asserts x is Tensor | null | undefined {
  if (x !== null && x !== undefined && !(x instanceof Tensor)) {
    typeError(op, name, "a Tensor or null", x);
  }
}

/**
 * @internal Throws unless `v` is an integer in [min, max] (a dim, a size, a
 * count): a TypeError for a non-number (a bigint included), a RangeError for
 * NaN, infinities, fractions and values out of range.
 */
export function checkIntArg(
  v: unknown,
  op: string,
  name: string,
  min = -MAX_INT,
  max = MAX_INT,
): asserts v is number {
  if (typeof v !== "number") typeError(op, name, "an integer", v);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(
      `${op}: expected ${name} to be an integer${rangeText(min, max)}, got ${v}`,
    );
  }
}

/** @internal {@link checkIntArg} for a size: an integer of at least `min` (default 1). */
export function checkSizeArg(v: unknown, op: string, name: string, min = 1): asserts v is number {
  checkIntArg(v, op, name, min, MAX_INT);
}

function rangeText(min: number, max: number): string {
  if (min === -MAX_INT && max === MAX_INT) return "";
  if (max === MAX_INT) return min === 0 ? " >= 0" : min === 1 ? " > 0" : ` >= ${min}`;
  return ` in [${min}, ${max}]`;
}

/**
 * @internal Throws unless `v` is an array of integers in [min, max] (a shape,
 * a list of dims, a kernel size tuple); with `single`, one integer is also
 * accepted. Returns nothing: callers read `v` as before.
 */
export function checkIntList(
  v: unknown,
  op: string,
  name: string,
  opts: { single?: boolean; min?: number; max?: number } = NO_OPTS,
): asserts v is number | readonly number[] {
  const min = opts.min ?? -MAX_INT, max = opts.max ?? MAX_INT;
  if (typeof v === "number" && opts.single) {
    checkIntArg(v, op, name, min, max);
    return;
  }
  if (!Array.isArray(v)) {
    typeError(
      op,
      name,
      opts.single ? "an integer or an array of integers" : "an array of integers",
      v,
    );
  }
  for (let i = 0; i < v.length; i++) checkIntArg(v[i], op, `${name}[${i}]`, min, max);
}
const NO_OPTS: { single?: boolean; min?: number; max?: number } = {};

/** @internal Throws unless `v` is an array (its items are the op's to check). */
export function checkArray(v: unknown, op: string, name: string): asserts v is readonly unknown[] {
  if (!Array.isArray(v)) typeError(op, name, "an array", v);
}

/** @internal Throws unless `v` is iterable (an array, a Set, a generator, ...); strings are refused. */
export function checkIterable(
  v: unknown,
  op: string,
  name: string,
  what = "an iterable",
): asserts v is Iterable<unknown> {
  if (
    typeof v !== "object" || v === null ||
    typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function"
  ) {
    typeError(op, name, what, v);
  }
}

/** @internal Throws unless `v` is a number (NaN refused). */
export function checkNumber(v: unknown, op: string, name: string): asserts v is number {
  if (typeof v !== "number" || v !== v) typeError(op, name, "a number", v);
}

/** @internal Throws unless `v` is a function. */
export function checkFunction(
  v: unknown,
  op: string,
  name = "fn",
): asserts v is (...args: never[]) => unknown {
  if (typeof v !== "function") typeError(op, name, "a function", v);
}

/** @internal Throws unless `v` is a string. */
export function checkString(v: unknown, op: string, name: string): asserts v is string {
  if (typeof v !== "string") typeError(op, name, "a string", v);
}

/** @internal Throws unless `v` is a Uint8Array. */
export function checkBytes(v: unknown, op: string, name = "bytes"): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) typeError(op, name, "a Uint8Array", v);
}

/** @internal Throws unless `v` is a file path: a string or a file: URL. */
export function checkPath(v: unknown, op: string, name = "path"): asserts v is string | URL {
  if (typeof v !== "string" && !(v instanceof URL)) typeError(op, name, "a string or URL", v);
}

/** @internal Throws unless `v` is a plain object (not null, not an array). */
export function checkObject(v: unknown, op: string, name: string): asserts v is object {
  if (typeof v !== "object" || v === null || Array.isArray(v)) typeError(op, name, "an object", v);
}

/**
 * @internal Checks that `x` is a floating-point Tensor: an integer or bool
 * one gets a TypeError naming the op and saying how to convert it.
 */
export function checkFloatTensor(x: unknown, op: string, what = "input"): Tensor {
  if (!(x instanceof Tensor)) typeError(op, what, "a Tensor", x);
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `${op}: expected a floating point ${what}, got ${x.dtype}${floatTensorHint(x.dtype)}`,
    );
  }
  return x;
}
