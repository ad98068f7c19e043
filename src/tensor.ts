/**
 * The Tensor class: a strided view of typed storage on a device.
 *
 * Methods are thin fronts for the functions in `src/ops/`; each op lives in
 * one file there, so its front, checks and kernel call are found together.
 *
 * @module
 */
import { type Backend, backendFor, type Storage, type View } from "./backend.ts";
import { type DType, DTYPES, floatTensorHint, type TypedArray } from "./dtype.ts";
import { disposedError, disposeTensor, hold, track, unhold } from "./lifetime.ts";
import { contiguousStrides, isContiguous, numel } from "./shape.ts";
import * as ew from "./ops/elementwise.ts";
import * as rd from "./ops/reduce.ts";
import * as vw from "./ops/view.ts";
import * as mm from "./ops/matmul.ts";
import * as ix from "./ops/indexing.ts";
import type { IndexPutOptions } from "./ops/indexing.ts";
import * as jn from "./ops/join.ts";
import * as ra from "./ops/rearrange.ts";
import * as pr from "./ops/products.ts";
import * as dg from "./ops/diagonal.ts";
import * as cm from "./ops/composite_math.ts";
import * as cl from "./ops/closeness.ts";
import * as se from "./ops/selection.ts";
import * as os from "./ops/order_stats.ts";
import * as so from "./ops/sort.ts";
import * as sr from "./ops/scatter_reduce.ts";
import * as io from "./interop.ts";
import type { AsTypedArrayOptions } from "./interop.ts";
import { formatTensor } from "./format.ts";
import { checkOptions } from "./options.ts";
import type { GradHook, Node } from "./autograd/node.ts";
import { isGradEnabled } from "./autograd/grad_mode.ts";
import { backward as runBackward, type BackwardOptions } from "./autograd/engine.ts";
import { checkTensor } from "./args.ts";

/**
 * A value accepted where PyTorch takes a tensor or a Python scalar.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const two: zn.TensorLike = 2;
 * zn.add(zn.tensor([1, 2]), two).toArray(); // [3, 4]
 * ```
 */
export type TensorLike = Tensor | number | boolean;

/**
 * The index item that adds a dim of size 1 (NumPy's `np.newaxis`, Python's
 * `None` in an index).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.arange(3).index(zn.newaxis, ":").shape; // [1, 3]
 * ```
 */
export const newaxis: unique symbol = Symbol("zn.newaxis");

/**
 * One entry of an index: see {@link Tensor.index}. `":"` (or `{}`) is the
 * full slice, `zn.newaxis` a new dim of size 1, `"..."` the dims not named.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.arange(12).reshape(3, 4);
 * const items: zn.IndexItem[] = [1, { start: 1, step: 2 }]; // x[1, 1::2] in Python
 * x.index(...items).toArray(); // [5, 7]
 * ```
 */
export type IndexItem =
  | number
  | ":"
  | "..."
  | typeof newaxis
  | Slice
  | Tensor
  | number[]
  | boolean[];

/**
 * A slice `start:stop:step` (each part optional, negatives count from the end).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const rows: zn.Slice = { start: 1, stop: 3 };
 * zn.zeros([3, 2]).index(rows, ":").shape; // [2, 2]
 * ```
 */
export interface Slice {
  /** First index (default 0). */
  start?: number | null;
  /** One past the last index (default the size). */
  stop?: number | null;
  /** Step, positive (default 1). */
  step?: number | null;
}

/**
 * Options of the reductions that take a dim.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const dim: zn.Dim = [0, 1];
 * zn.ones([2, 3]).sum(dim).item(); // 6
 * ```
 */
export type Dim = number | number[] | undefined | null;

// Shared by every tensor without hooks (most of them): one array less per tensor.
const NO_HOOKS: GradHook[] = [];
const NO_POST_HOOKS: ((t: Tensor) => void)[] = [];
const TO_KEYS = ["device", "dtype"] as const;
// Set only while emptyTensor builds a tensor on storage it has just allocated.
let freshStorage = false;

/**
 * An n-dimensional array with a dtype, a shape and strides over a storage.
 * Views (reshape, transpose, slicing, ...) share storage with their base.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([[1, 2], [3, 4]]);
 * a.transpose(0, 1).toArray(); // [[1, 3], [2, 4]]
 * a.add(1).mul(a).sum().item(); // 2 + 6 + 12 + 20 = 40
 * ```
 */
export class Tensor implements View {
  /** The storage this tensor views. */
  readonly storage: Storage;
  /** Element type. */
  readonly dtype: DType;
  /** Size of each dim. */
  readonly shape: readonly number[];
  /** Step in elements along each dim. */
  readonly strides: readonly number[];
  /** Element offset of the first element in the storage. */
  readonly offset: number;
  #grad: Tensor | null = null;
  #disposed = false;
  /** @internal Long-lived holds this tensor has on its storage (see src/lifetime.ts). */
  holds = 0;
  /** The tape entry that produced this tensor (null for leaves). */
  gradFn: Node | null = null;
  /** @internal Hooks on a leaf's gradient. */
  hooks: GradHook[] = NO_HOOKS;
  /** @internal Hooks run after backward accumulates into this leaf's `.grad`. */
  postAccumulateGradHooks: ((t: Tensor) => void)[] = NO_POST_HOOKS;
  /** @internal Shared by all views of one storage; bumped by in-place writes. */
  versionCounter: { value: number } = { value: 0 };
  #requiresGrad = false;

  /** @internal Use {@link tensor}, {@link zeros} and the other creation functions. */
  constructor(
    storage: Storage,
    dtype: DType,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
    requiresGrad = false,
  ) {
    // Fresh contiguous storage of exactly numel(shape) fits by construction.
    if (!freshStorage) checkGeometry(storage, shape, strides, offset);
    if (storage.disposed) throw disposedError();
    if (!storage.tracked) track(storage);
    this.storage = storage;
    this.dtype = dtype;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    if (requiresGrad) this.requiresGrad = true;
  }

  // ------------------------------------------------------------ lifetime

  /**
   * Gradient accumulated by backward (leaves, and tensors that called
   * retainGrad). A `.grad` is a long-lived holder of its memory (see
   * {@link tidy}); replacing or clearing it lets the enclosing scope release
   * the old one.
   */
  get grad(): Tensor | null {
    return this.#grad;
  }
  set grad(g: Tensor | null) {
    const old = this.#grad;
    if (g === old) return;
    if (g !== null && !(g instanceof Tensor)) {
      throw new TypeError(`grad: expected a Tensor or null, got ${typeof g}`);
    }
    this.#grad = g;
    if (g) hold(g);
    if (old) unhold(old);
  }

  /**
   * Releases this tensor's memory now (device memory goes back to the
   * allocator at once), and with it every view sharing the memory, unless a
   * long-lived holder (a parameter, buffer, `.grad`, optimizer state or
   * `zn.keep`) shares it: then only this tensor is retired. Using a disposed
   * tensor throws. Idempotent; on the CPU the garbage collector reclaims the
   * array.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const t = zn.ones([1024]);
   * t.dispose();
   * t.isDisposed; // true
   * ```
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#grad) this.grad = null;
    disposeTensor(this);
  }

  /**
   * `using t = ...` disposes `t` at the end of the block.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * {
   *   using t = zn.zeros([8]);
   *   t.sum().item(); // 0
   * } // t is disposed here
   * ```
   */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** True once this tensor (or the memory it views) was released. */
  get isDisposed(): boolean {
    return this.#disposed || this.storage.disposed;
  }

  /** @internal Points this tensor at new memory (same shape; dtype `dtype`, default its own): Module.to. */
  setStorage_(storage: Storage, strides: readonly number[], offset: number, dtype?: DType): void {
    checkGeometry(storage, this.shape, strides, offset);
    if (dtype !== undefined) (this as unknown as { dtype: DType }).dtype = dtype;
    if (storage.disposed) throw disposedError("setStorage_");
    if (!storage.tracked) track(storage);
    const holds = this.holds;
    for (let i = 0; i < holds; i++) unhold(this);
    const w = this as unknown as { storage: Storage; strides: readonly number[]; offset: number };
    w.storage = storage;
    w.strides = strides;
    w.offset = offset;
    for (let i = 0; i < holds; i++) hold(this);
    this.versionCounter = { value: 0 };
  }

  // ------------------------------------------------------------ autograd

  /** Whether autograd records ops on this tensor. Set it on leaves only. */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (this.gradFn && !on) {
      throw new Error(
        "requiresGrad: you can only change requiresGrad flags of leaf variables. Use detach() to get a tensor that does not require grad",
      );
    }
    if (
      on &&
      !(this.dtype === "float32" || this.dtype === "float64" || this.dtype === "float16" ||
        this.dtype === "bfloat16")
    ) {
      throw new TypeError(
        `requiresGrad: only floating point tensors can require gradients, got ${this.dtype}${
          floatTensorHint(this.dtype)
        }`,
      );
    }
    this.#requiresGrad = on;
  }
  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  /** In-place modification count of this tensor's storage. */
  get version(): number {
    return this.versionCounter.value;
  }
  /** @internal Called by the tape when an op records this tensor as its output. */
  attachGradFn(node: Node): void {
    this.gradFn = node;
    this.#requiresGrad = true;
  }
  /** Sets `requiresGrad` in place (leaves only) and returns this tensor. */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }
  /**
   * Computes the gradient of this tensor with respect to the leaves, adding it
   * into their `.grad`. A non-scalar tensor needs `gradient`.
   */
  backward(gradient?: Tensor | null, opts: BackwardOptions = {}): void {
    runBackward(this, gradient, opts);
  }
  /** A view of the same data that is cut from the tape. */
  detach(): Tensor {
    const t = new Tensor(this.storage, this.dtype, this.shape, this.strides, this.offset);
    t.versionCounter = this.versionCounter;
    return t;
  }
  /** Keeps `.grad` on this non-leaf tensor after backward. */
  retainGrad(): this {
    if (!this.requiresGrad) {
      throw new Error("retainGrad: can't retain_grad on Tensor that has requires_grad=False");
    }
    if (this.gradFn) this.gradFn.retained = this;
    return this;
  }
  /**
   * Registers `fn` to run on this tensor's gradient during backward; it may
   * return a replacement. Returns a handle whose `remove()` unregisters it.
   */
  registerHook(fn: GradHook): { remove(): void } {
    if (!this.requiresGrad) {
      throw new Error(
        "registerHook: cannot register a hook on a tensor that doesn't require gradient",
      );
    }
    if (!this.gradFn && this.hooks === NO_HOOKS) this.hooks = [];
    const list = this.gradFn ? this.gradFn.hooks : this.hooks;
    list.push(fn);
    return {
      remove: () => void list.splice(list.indexOf(fn) >>> 0, list.indexOf(fn) >= 0 ? 1 : 0),
    };
  }

  /**
   * Registers `fn` to run on this leaf after each backward pass has
   * accumulated its gradient into `.grad` (PyTorch's
   * `register_post_accumulate_grad_hook`): `fn(leaf)` may read and replace
   * `leaf.grad`. Returns a handle whose `remove()` unregisters it.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const w = zn.ones([2], { requiresGrad: true });
   * w.registerPostAccumulateGradHook((p) => p.grad!.mul_(0.5));
   * w.mul(3).sum().backward();
   * w.grad!.toArray(); // [1.5, 1.5]
   * ```
   */
  registerPostAccumulateGradHook(fn: (t: Tensor) => void): { remove(): void } {
    const op = "registerPostAccumulateGradHook";
    if (typeof fn !== "function") throw new TypeError(`${op}: expected a function`);
    if (!this.requiresGrad) {
      throw new Error(`${op}: cannot register a hook on a tensor that doesn't require gradient`);
    }
    if (this.gradFn) {
      throw new Error(`${op}: post accumulate grad hooks cannot be registered on non-leaf tensors`);
    }
    if (this.postAccumulateGradHooks === NO_POST_HOOKS) this.postAccumulateGradHooks = [];
    const list = this.postAccumulateGradHooks;
    list.push(fn);
    return {
      remove: () => {
        const i = list.indexOf(fn);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /** The device the tensor lives on ("cpu" or "cuda:N"). */
  get device(): string {
    return this.storage.device;
  }
  /** Number of dims. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get numel(): number {
    return numel(this.shape);
  }
  /** @internal The backend that runs this tensor's kernels. */
  get backend(): Backend {
    return backendFor(this.storage.device);
  }
  /** Size of one dim (or the shape, without an argument), like `Tensor.size`. */
  /** The shape as a new array. */
  size(): number[];
  /** The size of `dim`. */
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape.slice();
    return this.shape[vw.dimArg(dim, this.ndim, "size")];
  }
  /** Stride of one dim (or all strides), like `Tensor.stride`. */
  /** All strides as a new array. */
  stride(): number[];
  /** The stride of `dim`. */
  stride(dim: number): number;
  stride(dim?: number): number | number[] {
    if (dim === undefined) return this.strides.slice();
    return this.strides[vw.dimArg(dim, this.ndim, "stride")];
  }
  /** True when the elements are laid out row-major without gaps. */
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  // ------------------------------------------------------------ out

  /** The elements as nested arrays (numbers; booleans for bool). */
  toArray(): unknown {
    return ew.toArray(this);
  }
  /**
   * A flat, contiguous copy of the elements (float16/bfloat16 as float32),
   * from any device; the copy is the caller's, whatever happens to the
   * tensor. {@link Tensor.asTypedArray} views the memory instead.
   */
  toTypedArray(): TypedArray {
    return ew.toTypedArray(this);
  }
  /**
   * The elements as a typed array that SHARES this tensor's memory (no copy,
   * like PyTorch's `Tensor.numpy()`): writes through the view change the
   * tensor, and in-place ops on the tensor show in the view. The tensor must
   * be on the CPU, contiguous (a contiguous slice such as a row gives a view
   * at its offset), and not require grad (view `detach()` instead); float16
   * and bfloat16 need `{ rawBits: true }` and give a Uint16Array of bits.
   * The array type is the dtype's storage type: Float32Array for float32,
   * BigInt64Array for int64, Uint8Array of 0/1 for bool (write only 0 or 1).
   *
   * The view is valid only while the tensor is alive. After `dispose()` or the
   * end of the `zn.tidy` scope that owned the tensor, using it is a bug: when
   * the memory goes back to Zeno's pool for later results the view is first
   * detached (length 0); otherwise it keeps the last values. It never shows
   * another tensor's elements. Writes through the view are not seen by
   * autograd (a tensor saved for backward and changed so gives wrong
   * gradients), and an op that gives a tensor new memory (`module.to(device)`)
   * leaves the view on the old memory. Transferring the view's buffer
   * (`postMessage` with a transfer list) makes the tensor throw on use.
   * `toTypedArray()` copies instead; `zn.fromTypedArray` goes the other
   * way.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const t = zn.zeros([2, 3]);
   * const v = t.asTypedArray(); // Float32Array(6), t's memory
   * v[4] = 7;
   * t.index(1, 1).item(); // 7
   * t.add_(1);
   * v[0]; // 1
   * t.index(1).asTypedArray().length; // 3: row 1, a view at offset 3
   * t.dispose(); // v must not be used any more
   * ```
   */
  asTypedArray(opts?: AsTypedArrayOptions): TypedArray {
    return io.asTypedArray(this, opts);
  }
  /** The value of a one-element tensor. */
  item(): number | boolean {
    return ew.item(this);
  }
  /**
   * A copy on another device and/or with another dtype (this tensor itself
   * when nothing changes), like PyTorch's `Tensor.to`. The move is
   * differentiable: gradients go back to the source device.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const x = zn.tensor([1.5, 2.5]);
   * x.to("int32").toArray(); // [1, 2]
   * x.to("cpu", "float64").dtype; // "float64"
   * x.to({ dtype: "float16" }).dtype; // "float16"
   * // x.to("cuda") copies to the GPU when one is available
   * ```
   */
  to(dtype: DType): Tensor;
  /** A copy on `device`, optionally converted to `dtype`. */
  to(device: string, dtype?: DType): Tensor;
  /** A copy with the given device and/or dtype. */
  to(opts: { device?: string; dtype?: DType }): Tensor;
  to(a: string | { device?: string; dtype?: DType }, b?: DType): Tensor {
    let device: string | undefined, dtype: DType | undefined;
    if (typeof a === "object" && a !== null) {
      checkOptions("to", a, TO_KEYS);
      device = a.device;
      dtype = a.dtype;
    } else if (
      typeof a === "string" &&
      ((DTYPES as readonly string[]).includes(a) || !/^(cpu|cuda)$|:/.test(a))
    ) {
      dtype = a as DType; // toDType rejects names that are neither dtypes nor devices
    } else {
      device = a as string;
      dtype = b;
    }
    const moved = device !== undefined ? ew.toDevice(this, device) : this;
    return dtype !== undefined ? ew.toDType(moved, dtype) : moved;
  }
  /**
   * A copy on a CUDA device (default "cuda:0"); this tensor when already there.
   *
   * @example
   * ```ts ignore
   * import * as zn from "@zeno/zeno";
   * const g = zn.ones([2]).cuda(); // needs a GPU
   * g.device; // "cuda:0"
   * ```
   */
  cuda(device: number | string = 0): Tensor {
    return ew.toDevice(this, typeof device === "number" ? `cuda:${device}` : device);
  }
  /**
   * A copy in CPU memory; this tensor when already there.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * zn.ones([2]).cpu().device; // "cpu"
   * ```
   */
  cpu(): Tensor {
    return ew.toDevice(this, "cpu");
  }
  /** A contiguous copy with its own storage. */
  clone(): Tensor {
    return ew.clone(this);
  }
  /** This tensor if contiguous, otherwise a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : ew.clone(this);
  }
  /** PyTorch-style text, summarised when large. */
  toString(): string {
    return formatTensor(this);
  }
  /** @internal Deno's console.log hook. */
  [Symbol.for("Deno.customInspect")](): string {
    return formatTensor(this);
  }

  // ------------------------------------------------------------ elementwise

  /** `this + alpha * other`, broadcasting. */
  add(other: TensorLike, opts?: { alpha?: number }): Tensor {
    return ew.add(this, other, opts);
  }
  /** `this - alpha * other`, broadcasting. */
  sub(other: TensorLike, opts?: { alpha?: number }): Tensor {
    return ew.sub(this, other, opts);
  }
  /** Elementwise product, broadcasting. */
  mul(other: TensorLike): Tensor {
    return ew.mul(this, other);
  }
  /** True division (integers give float), broadcasting. */
  div(other: TensorLike, opts?: { roundingMode?: "trunc" | "floor" }): Tensor {
    return ew.div(this, other, opts);
  }
  /** Elementwise power. */
  pow(exponent: TensorLike): Tensor {
    return ew.pow(this, exponent);
  }
  /** Elementwise maximum (NaN propagates). */
  maximum(other: TensorLike): Tensor {
    return ew.maximum(this, other);
  }
  /** Elementwise minimum (NaN propagates). */
  minimum(other: TensorLike): Tensor {
    return ew.minimum(this, other);
  }
  /** Python-style remainder (sign of the divisor). */
  remainder(other: TensorLike): Tensor {
    return ew.remainder(this, other);
  }
  /** Floor division. */
  floorDivide(other: TensorLike): Tensor {
    return ew.floorDivide(this, other);
  }
  /** atan2(this, other). */
  atan2(other: TensorLike): Tensor {
    return ew.atan2(this, other);
  }
  /** `this == other` as bool. */
  eq(other: TensorLike): Tensor {
    return ew.eq(this, other);
  }
  /** `this != other` as bool. */
  ne(other: TensorLike): Tensor {
    return ew.ne(this, other);
  }
  /** `this < other` as bool. */
  lt(other: TensorLike): Tensor {
    return ew.lt(this, other);
  }
  /** `this <= other` as bool. */
  le(other: TensorLike): Tensor {
    return ew.le(this, other);
  }
  /** `this > other` as bool. */
  gt(other: TensorLike): Tensor {
    return ew.gt(this, other);
  }
  /** `this >= other` as bool. */
  ge(other: TensorLike): Tensor {
    return ew.ge(this, other);
  }
  /** Logical and, as bool. */
  logicalAnd(other: TensorLike): Tensor {
    return ew.logicalAnd(this, other);
  }
  /** Logical or, as bool. */
  logicalOr(other: TensorLike): Tensor {
    return ew.logicalOr(this, other);
  }
  /** Logical xor, as bool. */
  logicalXor(other: TensorLike): Tensor {
    return ew.logicalXor(this, other);
  }
  /** Logical not, as bool. */
  logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  /** Clamps into [min, max] (either may be omitted). */
  clamp(min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return ew.clamp(this, min, max);
  }
  /** `this + weight * (end - this)`. */
  lerp(end: TensorLike, weight: TensorLike): Tensor {
    return ew.lerp(this, end, weight);
  }
  /** -this */
  neg(): Tensor {
    return ew.unary("neg", this);
  }
  /** |this| */
  abs(): Tensor {
    return ew.unary("abs", this);
  }
  /** Sign: -1, 0 or 1. */
  sign(): Tensor {
    return ew.unary("sign", this);
  }
  /** e^x */
  exp(): Tensor {
    return ew.unary("exp", this);
  }
  /** 2^x */
  exp2(): Tensor {
    return ew.unary("exp2", this);
  }
  /** Natural log. */
  log(): Tensor {
    return ew.unary("log", this);
  }
  /** Base-2 log. */
  log2(): Tensor {
    return ew.unary("log2", this);
  }
  /** log(1 + x), accurate near 0. */
  log1p(): Tensor {
    return ew.unary("log1p", this);
  }
  /** e^x - 1, accurate near 0. */
  expm1(): Tensor {
    return ew.unary("expm1", this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return ew.unary("sqrt", this);
  }
  /** 1 / sqrt(x). */
  rsqrt(): Tensor {
    return ew.unary("rsqrt", this);
  }
  /** 1 / x. */
  reciprocal(): Tensor {
    return ew.unary("reciprocal", this);
  }
  /** x * x. */
  square(): Tensor {
    return ew.unary("square", this);
  }
  /** Sine. */
  sin(): Tensor {
    return ew.unary("sin", this);
  }
  /** Cosine. */
  cos(): Tensor {
    return ew.unary("cos", this);
  }
  /** Tangent. */
  tan(): Tensor {
    return ew.unary("tan", this);
  }
  /** Inverse sine (arcsine), in radians; NaN outside [-1, 1]. */
  asin(): Tensor {
    return ew.unary("asin", this);
  }
  /** Inverse cosine (arccosine), in radians; NaN outside [-1, 1]. */
  acos(): Tensor {
    return ew.unary("acos", this);
  }
  /** Inverse tangent (arctangent), in radians. */
  atan(): Tensor {
    return ew.unary("atan", this);
  }
  /** Hyperbolic sine. */
  sinh(): Tensor {
    return ew.unary("sinh", this);
  }
  /** Hyperbolic cosine. */
  cosh(): Tensor {
    return ew.unary("cosh", this);
  }
  /** Inverse hyperbolic sine. */
  asinh(): Tensor {
    return ew.unary("asinh", this);
  }
  /** Inverse hyperbolic cosine; NaN below 1. */
  acosh(): Tensor {
    return ew.unary("acosh", this);
  }
  /** Inverse hyperbolic tangent; ±Infinity at ±1, NaN beyond. */
  atanh(): Tensor {
    return ew.unary("atanh", this);
  }
  /** C's fmod: the remainder of truncated division, with the dividend's sign. */
  fmod(other: TensorLike): Tensor {
    return ew.fmod(this, other);
  }
  /** The magnitude of this tensor with the sign of `other`. */
  copysign(other: TensorLike): Tensor {
    return ew.copysign(this, other);
  }
  /** log(cumsum(exp(x))) along `dim`, without overflow. */
  logcumsumexp(dim: number): Tensor {
    return rd.logcumsumexp(this, dim);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return ew.unary("tanh", this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return ew.unary("sigmoid", this);
  }
  /** Error function. */
  erf(): Tensor {
    return ew.unary("erf", this);
  }
  /** max(x, 0). */
  relu(): Tensor {
    return ew.unary("relu", this);
  }
  /** Round down. */
  floor(): Tensor {
    return ew.unary("floor", this);
  }
  /** Round up. */
  ceil(): Tensor {
    return ew.unary("ceil", this);
  }
  /** Round half to even. */
  round(): Tensor {
    return ew.unary("round", this);
  }
  /** Round toward zero. */
  trunc(): Tensor {
    return ew.unary("trunc", this);
  }
  /** NaN test, as bool. */
  isnan(): Tensor {
    return ew.unary("isnan", this);
  }
  /** ±Infinity test, as bool. */
  isinf(): Tensor {
    return ew.unary("isinf", this);
  }
  /** Finite test (neither infinite nor NaN), as bool. */
  isfinite(): Tensor {
    return cm.isfinite(this);
  }
  /** The fractional part, `x - trunc(x)`. */
  frac(): Tensor {
    return cm.frac(this);
  }
  /** The normalised sinc, `sin(pi x) / (pi x)`, and 1 at 0. */
  sinc(): Tensor {
    return cm.sinc(this);
  }
  /** The inner product with another 1-D tensor. */
  dot(other: Tensor): Tensor {
    return cm.dot(this, other);
  }
  /** Replaces NaN and infinities with finite values. */
  nanToNum(opts?: { nan?: number; posinf?: number; neginf?: number }): Tensor {
    return ew.nanToNum(this, opts);
  }
  /** Picks from this where `cond`, else from `other`. */
  where(cond: Tensor, other: TensorLike): Tensor {
    return ew.where(cond, this, other);
  }

  // ------------------------------------------------------------ reductions

  /** Sum over `dim` (all dims when omitted). */
  sum(dim?: Dim, keepdim = false): Tensor {
    return rd.sum(this, dim, keepdim);
  }
  /** Mean over `dim` (all dims when omitted). */
  mean(dim?: Dim, keepdim = false): Tensor {
    return rd.mean(this, dim, keepdim);
  }
  /** Product over `dim` (all when omitted). */
  prod(dim?: number | null, keepdim = false): Tensor {
    return rd.prod(this, dim, keepdim);
  }
  /** Max of all elements, or `{values, indices}` along `dim`. */
  /** Max of all elements. */
  max(): Tensor;
  /** Max along `dim` with indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? rd.amax(this) : rd.maxDim(this, dim, keepdim);
  }
  /** Min of all elements, or `{values, indices}` along `dim`. */
  /** Min of all elements. */
  min(): Tensor;
  /** Min along `dim` with indices. */
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? rd.amin(this) : rd.minDim(this, dim, keepdim);
  }
  /** Max over `dim` (values only). */
  amax(dim?: Dim, keepdim = false): Tensor {
    return rd.amax(this, dim, keepdim);
  }
  /** Min over `dim` (values only). */
  amin(dim?: Dim, keepdim = false): Tensor {
    return rd.amin(this, dim, keepdim);
  }
  /** Index of the max (of the flattened tensor when `dim` is omitted). */
  argmax(dim?: number | null, keepdim = false): Tensor {
    return rd.argmax(this, dim, keepdim);
  }
  /** Index of the min (of the flattened tensor when `dim` is omitted). */
  argmin(dim?: number | null, keepdim = false): Tensor {
    return rd.argmin(this, dim, keepdim);
  }
  /** Variance with Bessel's `correction` (default 1). */
  var(dim?: Dim, opts?: { correction?: number; keepdim?: boolean }): Tensor {
    return rd.variance(this, dim, opts);
  }
  /** Standard deviation with `correction` (default 1). */
  std(dim?: Dim, opts?: { correction?: number; keepdim?: boolean }): Tensor {
    return rd.std(this, dim, opts);
  }
  /** log(sum(exp(x))) over `dim`, stable. */
  logsumexp(dim: Dim, keepdim = false): Tensor {
    return rd.logsumexp(this, dim, keepdim);
  }
  /** p-norm over `dim` (default 2, all elements). */
  norm(p: number = 2, dim?: Dim, keepdim = false): Tensor {
    return rd.norm(this, p, dim, keepdim);
  }
  /** True where every element is non-zero. */
  all(dim?: Dim, keepdim = false): Tensor {
    return rd.all(this, dim, keepdim);
  }
  /** True where any element is non-zero. */
  any(dim?: Dim, keepdim = false): Tensor {
    return rd.any(this, dim, keepdim);
  }
  /** Cumulative sum along `dim`. */
  cumsum(dim: number): Tensor {
    return rd.cumsum(this, dim);
  }
  /** Cumulative product along `dim`. */
  cumprod(dim: number): Tensor {
    return rd.cumprod(this, dim);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return rd.softmax(this, dim);
  }
  /** log(softmax(x)) along `dim`, stable. */
  logSoftmax(dim: number): Tensor {
    return rd.logSoftmax(this, dim);
  }

  // ------------------------------------------------------------ linear algebra

  /** Matrix product with PyTorch's 1-D, 2-D and batched rules. */
  matmul(other: Tensor): Tensor {
    return mm.matmul(this, other);
  }

  // ------------------------------------------------------------ views

  /** A tensor with the same data and a new shape (a view when possible; -1 infers). */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return vw.reshape(this, ...shape);
  }
  /** A view with a new shape; throws when the strides do not allow one. */
  view(...shape: (number | readonly number[])[]): Tensor {
    return vw.view(this, ...shape);
  }
  /** Swaps two dims (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    return vw.transpose(this, dim0, dim1);
  }
  /** Reorders dims (a view). */
  permute(...dims: (number | readonly number[])[]): Tensor {
    return vw.permute(this, ...dims);
  }
  /** The last two dims swapped (a view). */
  get mT(): Tensor {
    return vw.mT(this);
  }
  /** Broadcasts size-1 dims to a larger shape (a view; -1 keeps a size). */
  expand(...shape: (number | readonly number[])[]): Tensor {
    return vw.expand(this, ...shape);
  }
  /** Expands to another tensor's shape. */
  expandAs(other: Tensor): Tensor {
    checkTensor(other, "expandAs", "other");
    return vw.expand(this, other.shape);
  }
  /** Removes size-1 dims (all, or the given ones). */
  squeeze(dim?: number | number[]): Tensor {
    return vw.squeeze(this, dim);
  }
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor {
    return vw.unsqueeze(this, dim);
  }
  /** Merges dims startDim..endDim into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return vw.flatten(this, startDim, endDim);
  }
  /** Splits `dim` into `sizes`. */
  unflatten(dim: number, sizes: readonly number[]): Tensor {
    return vw.unflatten(this, dim, sizes);
  }
  /** `length` elements of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return vw.narrow(this, dim, start, length);
  }
  /** The slice at `index` of `dim`, removing that dim (a view). */
  select(dim: number, index: number): Tensor {
    return vw.select(this, dim, index);
  }
  /**
   * PyTorch's indexing: numbers select, `":"` (or `{}`) is the full slice,
   * `{start, stop, step}` slices, `zn.newaxis` adds a dim, `"..."` fills the
   * rest, and tensors or arrays index (advanced indexing, copying). Basic
   * indexing returns a view. `x.index(":", 0)` is PyTorch's `x[:, 0]`.
   */
  index(...items: IndexItem[]): Tensor {
    return ix.index(this, items);
  }
  /**
   * Writes `value` into the elements that `index(...items)` picks (in place);
   * with `accumulate`, adds it instead, summing over repeated indices
   * (PyTorch's `index_put_(indices, values, accumulate=True)`).
   */
  indexPut_(items: IndexItem[], value: TensorLike, opts?: IndexPutOptions): this {
    ix.indexPut(this, items, value, opts);
    return this;
  }

  // ------------------------------------------------------------ gather / scatter / join

  /** Elements along `dim` at int64 `index` (torch.gather). */
  gather(dim: number, index: Tensor): Tensor {
    return ix.gather(this, dim, index);
  }
  /** A copy with `src` written at `index` along `dim` (torch.scatter). */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return ix.scatter(this, dim, index, src, false);
  }
  /** A copy with `src` added at `index` along `dim` (torch.scatter_add). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ix.scatter(this, dim, index, src, true);
  }
  /**
   * A copy with `src` combined at `index` along `dim` by `reduce`
   * (torch.scatter_reduce; see {@link sr.scatterReduce}).
   */
  scatterReduce(
    dim: number,
    index: Tensor,
    src: Tensor,
    reduce: sr.ScatterReduction,
    options?: sr.ScatterReduceOptions,
  ): Tensor {
    return sr.scatterReduce(this, dim, index, src, reduce, options);
  }
  /** Rows (along `dim`) at int64 `index`. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return ix.indexSelect(this, dim, index);
  }
  /** A copy with `value` where `mask` is true. */
  maskedFill(mask: Tensor, value: TensorLike): Tensor {
    return ix.maskedFill(this, mask, value);
  }
  /** Splits into pieces of `size` (or the given sizes) along `dim` (views). */
  split(size: number | number[], dim = 0): Tensor[] {
    return jn.split(this, size, dim);
  }
  /** Splits into `chunks` nearly equal pieces along `dim` (views). */
  chunk(chunks: number, dim = 0): Tensor[] {
    return jn.chunk(this, chunks, dim);
  }
  /** The lower triangle (below diagonal `k`), zeros elsewhere. */
  tril(k = 0): Tensor {
    return jn.tril(this, k);
  }
  /** The upper triangle (above diagonal `k`), zeros elsewhere. */
  triu(k = 0): Tensor {
    return jn.triu(this, k);
  }

  // ------------------------------------------------------------ rearranging and products

  /** Reverses the order along `dims` (a copy). */
  flip(...dims: (number | readonly number[])[]): Tensor {
    return ra.flip(this, dims.length === 1 ? dims[0] : (dims as number[]));
  }
  /** Rolls elements along `dims` by `shifts` (without dims: as if flattened). */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return ra.roll(this, shifts, dims);
  }
  /** Rotates by 90 degrees `k` times in the plane of `dims`. */
  rot90(k = 1, dims: readonly number[] = [0, 1]): Tensor {
    return ra.rot90(this, k, dims);
  }
  /** Repeats the tensor `sizes[i]` times along dim i (a copy). */
  repeat(...sizes: (number | readonly number[])[]): Tensor {
    return ra.repeat(
      this,
      sizes.length === 1 && Array.isArray(sizes[0]) ? sizes[0] : (sizes as number[]),
    );
  }
  /** Repeats along each dim, counts given from the last dim back. */
  tile(dims: readonly number[]): Tensor {
    return ra.tile(this, dims);
  }
  /** Repeats each element `repeats` times along `dim` (without a dim: flattened). */
  repeatInterleave(repeats: number | Tensor, dim?: number): Tensor {
    return ra.repeatInterleave(this, repeats, dim);
  }
  /** Moves dims `source` to positions `destination` (a view). */
  movedim(source: number | readonly number[], destination: number | readonly number[]): Tensor {
    return ra.movedim(this, source, destination);
  }
  /** The slices along `dim` (views). */
  unbind(dim = 0): Tensor[] {
    return ra.unbind(this, dim);
  }
  /** The dims reversed (a view; as PyTorch's `.T`). */
  get T(): Tensor {
    return this.ndim < 2
      ? vw.permute(this, [...Array(this.ndim).keys()])
      : vw.permute(this, [...Array(this.ndim).keys()].reverse());
  }
  /** The conjugate transpose of a matrix: for real dtypes, `.T` of a 2-D tensor (a view). */
  get H(): Tensor {
    if (this.ndim !== 2) {
      throw new RangeError(
        `Tensor.H: only supported on matrices (2-D tensors), got ${this.ndim}-D`,
      );
    }
    return vw.transpose(this, 0, 1);
  }
  /** The conjugate transpose of the last two dims: for real dtypes, `.mT` (a view). */
  get mH(): Tensor {
    return vw.mT(this);
  }
  /** The diagonal `offset` of the matrices in dims `dim1` and `dim2` (a view). */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return dg.diagonal(this, offset, dim1, dim2);
  }
  /** A 1-D tensor as a diagonal matrix, or a matrix's diagonal as a new 1-D tensor. */
  diag(k = 0): Tensor {
    return dg.diag(this, k);
  }
  /** The sum of a matrix's main diagonal. */
  trace(): Tensor {
    return dg.trace(this);
  }
  /** `max(this, min)` elementwise. */
  clampMin(min: TensorLike): Tensor {
    return cm.clampMin(this, min);
  }
  /** `min(this, max)` elementwise. */
  clampMax(max: TensorLike): Tensor {
    return cm.clampMax(this, max);
  }
  /** The sum with NaNs counted as zero. */
  nansum(dim?: Dim, keepdim = false): Tensor {
    return cm.nansum(this, dim, keepdim);
  }
  /** The mean of the non-NaN elements. */
  nanmean(dim?: Dim, keepdim = false): Tensor {
    return cm.nanmean(this, dim, keepdim);
  }
  /** Whether every element is close to `other`'s. */
  allclose(other: Tensor, opts?: cl.CloseOptions): boolean {
    return cl.allclose(this, other, opts);
  }
  /** Whether `other` has this shape and these elements. */
  equal(other: Tensor): boolean {
    return cl.equal(this, other);
  }
  /** The elements where `mask` is true, as a 1-D tensor. */
  maskedSelect(mask: Tensor): Tensor {
    return se.maskedSelect(this, mask);
  }
  /** The elements where `mask` is true replaced by source's, in order. */
  maskedScatter(mask: Tensor, source: Tensor): Tensor {
    return se.maskedScatter(this, mask, source);
  }
  /** The elements of the flattened tensor at `index`. */
  take(index: Tensor): Tensor {
    return se.take(this, index);
  }
  /** gather along `dim`, broadcasting the other dims. */
  takeAlongDim(indices: Tensor, dim?: number): Tensor {
    return se.takeAlongDim(this, indices, dim);
  }
  /** Adds `alpha * source` at `index` along `dim` (a new tensor). */
  indexAdd(dim: number, index: Tensor, source: Tensor, opts?: se.IndexAddOptions): Tensor {
    return se.indexAdd(this, dim, index, source, opts);
  }
  /** Copies source's slices to `index` along `dim` (a new tensor). */
  indexCopy(dim: number, index: Tensor, source: Tensor): Tensor {
    return se.indexCopy(this, dim, index, source);
  }
  /** The lower median (of all elements). */
  median(): Tensor {
    return os.median(this);
  }
  /** The `k`-th smallest element along `dim` and its index. */
  kthvalue(k: number, dim = -1, keepdim = false): os.ValuesIndices {
    return os.kthvalue(this, k, dim, keepdim);
  }
  /** The `q`-th quantiles. */
  quantile(q: number | Tensor, opts?: os.QuantileOptions): Tensor {
    return os.quantile(this, q, opts);
  }
  /** The running maximum along `dim` and its indices. */
  cummax(dim: number): os.ValuesIndices {
    return os.cummax(this, dim);
  }
  /** The running minimum along `dim` and its indices. */
  cummin(dim: number): os.ValuesIndices {
    return os.cummin(this, dim);
  }
  /** The indices of the non-zero elements, `[n, ndim]`. */
  nonzero(): Tensor {
    return se.nonzero(this);
  }
  /** Batched matrix product of 3-D tensors. */
  bmm(mat2: Tensor): Tensor {
    return pr.bmm(this, mat2);
  }
  /** The outer product with another 1-D tensor. */
  outer(vec2: Tensor): Tensor {
    return pr.outer(this, vec2);
  }
  /** `beta * this + alpha * (mat1 @ mat2)`. */
  addmm(mat1: Tensor, mat2: Tensor, opts?: pr.AddProductOptions): Tensor {
    return pr.addmm(this, mat1, mat2, opts);
  }
  /** `beta * this + alpha * (mat @ vec)`. */
  addmv(mat: Tensor, vec: Tensor, opts?: pr.AddProductOptions): Tensor {
    return pr.addmv(this, mat, vec, opts);
  }
  /** `beta * this + alpha * bmm(batch1, batch2)`. */
  baddbmm(batch1: Tensor, batch2: Tensor, opts?: pr.AddProductOptions): Tensor {
    return pr.baddbmm(this, batch1, batch2, opts);
  }

  // ------------------------------------------------------------ sorting

  /** Sorted values and their int64 indices along `dim` (stable). */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    return so.sort(this, dim, descending);
  }
  /** Indices that sort along `dim`. */
  argsort(dim = -1, descending = false): Tensor {
    return so.sort(this, dim, descending).indices;
  }
  /** The `k` largest (or smallest) values and indices along `dim`. */
  topk(
    k: number,
    dim = -1,
    largest = true,
  ): { values: Tensor; indices: Tensor } {
    return so.topk(this, k, dim, largest);
  }

  // ------------------------------------------------------------ in place

  /** Fills with `value` in place. */
  fill_(value: number | boolean): this {
    return this.inplace("fill_", () => ew.fullOf(this, value, "fill_"));
  }
  /** Fills with zeros in place. */
  zero_(): this {
    return this.inplace("zero_", () => ew.fullOf(this, 0));
  }
  /** Copies `src` (broadcast, converted) into this tensor in place. */
  copy_(src: TensorLike): this {
    return this.inplace("copy_", () => ew.copySource(this, src));
  }
  /** `this += alpha * other`, in place. */
  add_(other: TensorLike, opts?: { alpha?: number }): this {
    if (opts === undefined && this.direct("add", other)) return this;
    return this.inplace("add_", () => ew.add(this, other, opts));
  }
  /** `this -= alpha * other`, in place. */
  sub_(other: TensorLike, opts?: { alpha?: number }): this {
    if (opts === undefined && this.direct("sub", other)) return this;
    return this.inplace("sub_", () => ew.sub(this, other, opts));
  }
  /** `this *= other`, in place. */
  mul_(other: TensorLike): this {
    if (this.direct("mul", other)) return this;
    return this.inplace("mul_", () => ew.mul(this, other));
  }
  /** `this /= other`, in place. */
  div_(other: TensorLike): this {
    if (this.direct("div", other)) return this;
    return this.inplace("div_", () => ew.div(this, other));
  }
  /** `this += weight * (end - this)`, in place. */
  lerp_(end: TensorLike, weight: TensorLike): this {
    return this.inplace("lerp_", () => ew.lerp(this, end, weight));
  }

  /**
   * @internal An in-place binary op that nothing records, written straight
   * into this tensor's memory (no result to allocate and copy back); false
   * when it does not apply (see ew.binaryInto).
   */
  private direct(op: "add" | "sub" | "mul" | "div", other: TensorLike): boolean {
    if (
      isGradEnabled() &&
      (this.requiresGrad || (other instanceof Tensor && other.requiresGrad))
    ) {
      return false;
    }
    if (this.isDisposed || (other instanceof Tensor && other.isDisposed)) return false;
    if (!ew.binaryInto(op, this, other)) return false;
    this.versionCounter.value++;
    return true;
  }
  /** Clamps into [min, max] in place. */
  clamp_(min?: TensorLike | null, max?: TensorLike | null): this {
    return this.inplace("clamp_", () => ew.clamp(this, min, max));
  }

  /**
   * @internal Runs an op out of place, writes the result into this tensor's memory,
   * bumps the version counter (so stale saved tensors are detected) and, when
   * recording, moves this tensor's history onto the op.
   */
  private inplace(op: string, compute: () => Tensor): this {
    const recording = isGradEnabled();
    if (recording && this.requiresGrad && this.isLeaf) {
      throw new Error(
        `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap it in zn.noGrad or use an out-of-place op`,
      );
    }
    const r = compute();
    ew.checkInplaceCast(r.dtype, this.dtype, op);
    if (r.shape.length !== this.shape.length || r.shape.some((d, i) => d !== this.shape[i])) {
      throw new RangeError(
        `${op}: output with shape [${this.shape.join(", ")}] doesn't match the broadcast shape [${
          r.shape.join(", ")
        }]`,
      );
    }
    this.backend.copy(r, this);
    this.versionCounter.value++;
    if (recording && r.gradFn) {
      this.gradFn = r.gradFn;
      this.#requiresGrad = true;
    }
    return this;
  }
}

/**
 * Keeps every element a tensor can reach inside its storage, so no kernel
 * can be pointed outside it, whoever builds the tensor.
 */
function checkGeometry(
  storage: Storage,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): void {
  let ok = shape.length === strides.length && Number.isInteger(offset) && offset >= 0;
  let last = offset;
  let empty = false;
  for (let i = 0; ok && i < shape.length; i++) {
    const n = shape[i], s = strides[i];
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(s) || s < 0) ok = false;
    else if (n === 0) empty = true;
    else last += (n - 1) * s;
  }
  if (ok && !empty && last >= storage.length) ok = false;
  if (!ok) {
    throw new RangeError(
      `Tensor: shape [${shape.join(", ")}], strides [${
        strides.join(", ")
      }] and offset ${offset} do not fit a storage of ${storage.length} elements`,
    );
  }
}

/** @internal A new contiguous tensor with zeroed storage. */
export function emptyTensor(shape: readonly number[], dtype: DType, device = "cpu"): Tensor {
  return onFresh(backendFor(device).alloc(dtype, numel(shape)), dtype, shape);
}

/** A contiguous tensor on storage just allocated for exactly `shape`. */
function onFresh(storage: Storage, dtype: DType, shape: readonly number[]): Tensor {
  freshStorage = true;
  try {
    return new Tensor(storage, dtype, shape, contiguousStrides(shape), 0);
  } finally {
    freshStorage = false;
  }
}

/** @internal A new contiguous tensor that a kernel will overwrite entirely (contents unspecified). */
export function outputTensor(shape: readonly number[], dtype: DType, device = "cpu"): Tensor {
  const b = backendFor(device);
  const n = numel(shape);
  return onFresh(b.allocUninit ? b.allocUninit(dtype, n) : b.alloc(dtype, n), dtype, shape);
}

/** @internal A view of `base`'s storage with new geometry. */
export function viewOf(
  base: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Tensor {
  if (base.isDisposed) throw disposedError();
  const t = new Tensor(base.storage, base.dtype, shape, strides, offset);
  t.versionCounter = base.versionCounter;
  return t;
}
