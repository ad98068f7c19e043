/**
 * Zero-copy interop with JavaScript typed arrays: {@link fromTypedArray}
 * makes a CPU tensor on the caller's typed array, and
 * `Tensor.asTypedArray` ({@link asTypedArray}) views a CPU tensor's elements
 * as a typed array. In both directions the two sides share one memory, so a
 * write through either is seen by the other. `zn.tensor(array)` and
 * `t.toTypedArray()` are the copying counterparts.
 *
 * The lifetime rules (README, "Interop with typed arrays"):
 *
 * - A tensor from `fromTypedArray` reads and writes the caller's array for as
 *   long as the tensor lives. Disposing it (or a `zn.tidy` scope ending)
 *   retires the tensor only: the caller's array is never detached, cleared or
 *   reused by Zeno's memory pool.
 * - A view from `asTypedArray` is valid while the tensor (or another tensor
 *   on the same memory) is alive. After `dispose()` or the end of the
 *   `zn.tidy` scope that owned the tensor, reading or writing the view is a
 *   bug: when Zeno's pool takes the memory back for later results it first
 *   detaches the view (its length becomes 0); otherwise the view keeps the
 *   last values. It never shows another tensor's elements.
 * - JavaScript must not detach (transfer) a buffer that a live tensor uses:
 *   the tensor then refuses every op with an error.
 *
 * @module
 */
import { checkDType, type DType, type TypedArray } from "./dtype.ts";
import { CpuStorage, exposeCpuStorage } from "./cpu_backend.ts";
import { checkShape, contiguousStrides, fmtShape, numel } from "./shape.ts";
import { checkOptions, optionKeys } from "./options.ts";
import { disposedError } from "./lifetime.ts";
import { Tensor } from "./tensor.ts";

/** Options of {@link fromTypedArray}. */
export interface FromTypedArrayOptions {
  /**
   * The dtype, where an array type stores more than one: a Uint16Array holds
   * `"float16"` or `"bfloat16"` bits (required), a Uint8Array `"uint8"` (the
   * default) or `"bool"` (elements 0 and 1 only). Any other array type has
   * one dtype, and naming another is an error: nothing is converted.
   */
  dtype?: DType;
}

/** Options of {@link asTypedArray} (`Tensor.asTypedArray`). */
export interface AsTypedArrayOptions {
  /**
   * For float16 and bfloat16 tensors: return their raw 16-bit patterns as a
   * Uint16Array view (without it they throw, since JavaScript has no
   * bfloat16 array and a Uint16Array of bits is easily mistaken for values).
   * `new Float16Array(v.buffer, v.byteOffset, v.length)` reads float16 bits as
   * numbers.
   */
  rawBits?: boolean;
}

const FROM_KEYS = optionKeys<FromTypedArrayOptions>({ dtype: 0 });
const AS_KEYS = optionKeys<AsTypedArrayOptions>({ rawBits: 0 });

/** The name of a value's type for messages. */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "an object";
}

/**
 * The dtype and the storage array for sharing `a`: the same memory, viewed
 * as the dtype's storage type where the two differ (Float16Array and
 * Uint8ClampedArray).
 */
function shareAs(a: ArrayBufferView, want: DType | undefined): [DType, TypedArray] {
  const only = (d: DType, arr: TypedArray): [DType, TypedArray] => {
    if (want !== undefined && want !== d) {
      throw new TypeError(
        `fromTypedArray: a ${
          typeName(a)
        } holds ${d} elements, not ${want}; fromTypedArray shares memory and cannot convert (zn.tensor(array, { dtype: "${want}" }) makes a converted copy)`,
      );
    }
    return [d, arr];
  };
  if (a instanceof Float32Array) return only("float32", a);
  if (a instanceof Float64Array) return only("float64", a);
  if (a instanceof BigInt64Array) return only("int64", a);
  if (a instanceof Int32Array) return only("int32", a);
  if (a instanceof Int16Array) return only("int16", a);
  if (a instanceof Int8Array) return only("int8", a);
  if (a instanceof Uint8Array) {
    if (want === "bool") {
      for (let i = 0; i < a.length; i++) {
        if (a[i] > 1) {
          throw new RangeError(
            `fromTypedArray: a bool tensor's bytes must be 0 or 1, got ${a[i]} at index ${i}`,
          );
        }
      }
      return ["bool", a];
    }
    return only("uint8", a);
  }
  if (a instanceof Uint8ClampedArray) {
    return only("uint8", new Uint8Array(a.buffer, a.byteOffset, a.length));
  }
  if (typeof Float16Array !== "undefined" && a instanceof Float16Array) {
    return only("float16", new Uint16Array(a.buffer, a.byteOffset, a.length));
  }
  if (a instanceof Uint16Array) {
    if (want === "float16" || want === "bfloat16") return [want, a];
    throw new TypeError(
      `fromTypedArray: a Uint16Array holds float16 or bfloat16 bits; pass { dtype: "float16" } or { dtype: "bfloat16" }${
        want === undefined ? "" : ` (got ${want})`
      }`,
    );
  }
  throw new TypeError(
    `fromTypedArray: no Zeno dtype stores ${
      typeName(a)
    } elements; copy them with zn.tensor(Array.from(array), { dtype }) or into a supported typed array (Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array, Uint8Array, Uint16Array of float16/bfloat16 bits, Float16Array)`,
  );
}

/**
 * A CPU tensor on the memory of `array`, without a copy (PyTorch's
 * `torch.from_numpy`): writes through the array are seen by the tensor, and
 * in-place ops on the tensor (`add_`, `copy_`, `indexPut_`, optimizer steps)
 * write into the array. `zn.tensor(array)` copies instead.
 *
 * The dtype follows the array: Float32Array float32, Float64Array float64,
 * BigInt64Array int64, Int32Array int32, Int16Array int16, Int8Array int8,
 * Uint8Array (and Uint8ClampedArray) uint8, or bool with `{ dtype: "bool" }`
 * (its bytes must be 0 or 1), Float16Array float16, and a Uint16Array of raw
 * bits float16 or bfloat16 as `{ dtype }` says. A view into a larger buffer
 * (any `byteOffset`) works. `shape` defaults to `[array.length]`; its
 * element count must be `array.length`.
 *
 * Lifetime: the tensor uses the array for as long as the tensor lives.
 * `dispose()`, or the end of a `zn.tidy` scope, retires the tensor and
 * leaves the array as it is: Zeno never detaches, clears or reuses it.
 * Detaching the array's buffer (`transfer`, `postMessage` with a transfer
 * list) while the tensor lives makes the tensor throw on use.
 *
 * Arrays on a SharedArrayBuffer are refused: another Worker could write them
 * while a kernel runs, and the kernels assume their operands hold still (an
 * index read twice must be the same index). Resizable ArrayBuffers are
 * refused too (shrinking one would pull memory from under the tensor). Copy
 * such arrays with `zn.tensor(array)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const pixels = new Float32Array([1, 2, 3, 4, 5, 6]);
 * const t = zn.fromTypedArray(pixels, [2, 3]); // shares pixels' memory
 * pixels[0] = 10;
 * t.index(0, 0).item(); // 10
 * t.mul_(2); // writes into pixels
 * pixels[5]; // 12
 *
 * // a view into a larger buffer, and raw float16 bits
 * const buf = new ArrayBuffer(64);
 * zn.fromTypedArray(new Int32Array(buf, 16, 4)).shape; // [4]
 * zn.fromTypedArray(new Uint16Array(2), { dtype: "bfloat16" }).dtype; // "bfloat16"
 * ```
 */
export function fromTypedArray(
  array: TypedArray | Uint8ClampedArray | Float16Array,
  shape?: readonly number[],
  opts?: FromTypedArrayOptions,
): Tensor;
/** A flat tensor on `array`'s memory with the given options. */
export function fromTypedArray(
  array: TypedArray | Uint8ClampedArray | Float16Array,
  opts: FromTypedArrayOptions,
): Tensor;
export function fromTypedArray(
  array: TypedArray | Uint8ClampedArray | Float16Array,
  shapeOrOpts?: readonly number[] | FromTypedArrayOptions,
  maybeOpts?: FromTypedArrayOptions,
): Tensor {
  const op = "fromTypedArray";
  let shapeArg: readonly number[] | undefined, opts: FromTypedArrayOptions | undefined;
  if (
    shapeOrOpts !== undefined && shapeOrOpts !== null && typeof shapeOrOpts === "object" &&
    !Array.isArray(shapeOrOpts) && maybeOpts === undefined
  ) {
    opts = shapeOrOpts as FromTypedArrayOptions;
  } else {
    shapeArg = shapeOrOpts as readonly number[] | undefined;
    opts = maybeOpts;
  }
  checkOptions(op, opts, FROM_KEYS);
  const want = opts?.dtype === undefined ? undefined : checkDType(opts.dtype, op);
  if (!ArrayBuffer.isView(array) || array instanceof DataView) {
    throw new TypeError(
      `${op}: expected a typed array, got ${typeName(array)}${
        Array.isArray(array) ? " (zn.tensor copies nested arrays)" : ""
      }`,
    );
  }
  const buffer = array.buffer;
  if (typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer) {
    throw new TypeError(
      `${op}: the array is on a SharedArrayBuffer, which other Workers may write while a kernel reads it; copy it with zn.tensor(array)`,
    );
  }
  if ((buffer as ArrayBuffer).detached) {
    throw new TypeError(`${op}: the array's ArrayBuffer is detached`);
  }
  if ((buffer as ArrayBuffer).resizable) {
    throw new TypeError(
      `${op}: the array is on a resizable ArrayBuffer, which could shrink under the tensor; copy it with zn.tensor(array)`,
    );
  }
  const [dtype, data] = shareAs(array, want);
  const shape = checkShape(shapeArg === undefined ? [data.length] : shapeArg, op);
  if (numel(shape) !== data.length) {
    throw new RangeError(
      `${op}: shape ${fmtShape(shape)} has ${
        numel(shape)
      } elements, but the array has ${data.length}`,
    );
  }
  // shared: the caller holds the array, so the pool must never take it.
  return new Tensor(new CpuStorage(data, true), dtype, shape, contiguousStrides(shape), 0);
}

/**
 * `x`'s elements as a typed array that shares its memory (no copy): see
 * `Tensor.asTypedArray`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const t = zn.arange(6).to("float32").reshape(2, 3);
 * const row = zn.asTypedArray(t.index(1)); // Float32Array [3, 4, 5], a view
 * row[0] = 30;
 * t.index(1, 0).item(); // 30
 * ```
 */
export function asTypedArray(x: Tensor, opts?: AsTypedArrayOptions): TypedArray {
  const op = "asTypedArray";
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeName(x)}`);
  checkOptions(op, opts, AS_KEYS);
  if (x.isDisposed) throw disposedError(op);
  const s = x.storage;
  if (!(s instanceof CpuStorage)) {
    throw new TypeError(
      `${op}: the tensor is on ${x.device}; only CPU memory can be viewed as a typed array (toTypedArray() copies from any device)`,
    );
  }
  if (x.requiresGrad) {
    throw new TypeError(
      `${op}: the tensor requires grad, and writes through the view would bypass autograd; use x.detach().asTypedArray()`,
    );
  }
  if ((x.dtype === "float16" || x.dtype === "bfloat16") && opts?.rawBits !== true) {
    throw new TypeError(
      `${op}: a ${x.dtype} tensor would be viewed as a Uint16Array of raw bits, not values; pass { rawBits: true } for those bits, or use toTypedArray() for a Float32Array copy of the values`,
    );
  }
  if (!x.isContiguous()) {
    throw new TypeError(
      `${op}: the tensor is not contiguous (shape ${fmtShape(x.shape)}, strides ${
        fmtShape(x.strides)
      }), and a typed array views consecutive elements only; use toTypedArray() for a copy, or contiguous() for a contiguous copy to view`,
    );
  }
  const data = exposeCpuStorage(s);
  return data.subarray(x.offset, x.offset + x.numel) as TypedArray;
}
