/**
 * The CPU backend: storage in JavaScript-owned typed arrays (the garbage
 * collector frees them, also inside synchronous loops; released ones are
 * reused through a pool), kernels in the native library through one FFI call
 * each.
 *
 * @module
 */
import { library } from "../ffi/loader.ts";
import type { ZenoSymbols } from "../ffi/symbols.ts";
import {
  type Axis3,
  type Backend,
  BINARY,
  type BinaryOp,
  type DirectConv,
  LINALG,
  type LinalgDims,
  type LinalgOp,
  OPTIM,
  type OptimKind,
  REDUCE,
  type ReduceOp,
  registerBackend,
  SCAN,
  type ScanOp,
  SCATTER_MODE,
  type ScatterMode,
  type Storage,
  UNARY,
  type UnaryOp,
  type View,
  WINDOW2D,
  type Window2d,
  type Window2dOp,
} from "./backend.ts";
import {
  type DType,
  DTYPE_CODE,
  f32ToBf16Bits,
  f32ToF16Bits,
  ITEMSIZE,
  STORAGE_CTOR,
  toIntElement,
  type TypedArray,
} from "./dtype.ts";
import { contiguousStrides, numel as numelOf } from "./shape.ts";
import { gatherLayout, layout, matmulLayout, meta, windowLayout } from "./layout.ts";
import { deviceMismatch, disposedError } from "./lifetime.ts";
import { pooledBuffer } from "./host_memory.ts";

/** conv2dDirect's geometry for the native call (conv.Direct's meta). */
const directMeta = new Int32Array(10);
/** Offsets and sizes of the normalization and cross entropy calls (their meta arrays in zig/src/abi_core.zig). */
const normMeta = new Int32Array(10);
const rnnMeta = new Int32Array(15);

/**
 * @internal Offsets of `views` then n, L, S, E, Ev and causal, as the
 * attention exports (CPU and CUDA) read them.
 */
export function attentionLayout(
  views: View[],
  n: number,
  l: number,
  s: number,
  e: number,
  ev: number,
  causal: boolean,
) {
  for (let i = 0; i < views.length; i++) rnnMeta[i] = views[i]?.offset ?? 0;
  const k = views.length;
  rnnMeta.set([n, l, s, e, ev, causal ? 1 : 0], k);
  return rnnMeta;
}

/**
 * @internal Offsets of `views` then T, B, H and the direction, as the
 * recurrent exports (CPU and CUDA) read them.
 */
export function rnnLayout(
  views: (View | null)[],
  steps: number,
  batch: number,
  hidden: number,
  reverse: boolean,
) {
  for (let i = 0; i < views.length; i++) rnnMeta[i] = views[i]?.offset ?? 0;
  const n = views.length;
  rnnMeta[n] = steps;
  rnnMeta[n + 1] = batch;
  rnnMeta[n + 2] = hidden;
  rnnMeta[n + 3] = reverse ? 1 : 0;
  return rnnMeta;
}
/** conv.Direct.Mode's numbers. */
const DIRECT_MODE = { forward: 0, inputGrad: 1, weightGrad: 2 } as const;

// Small results live as views in shared slabs: a typed array of its own costs
// about 1 us in Deno (an external backing store each), a view on an existing
// buffer about 40 ns. Each slab region is handed out once, so it is zero as
// fresh memory is, and the garbage collector frees a slab with its last view.
// Slabs are kept small (8 KiB) so one long-lived scalar pins little memory.
const SLAB_BYTES = 8192;
const SMALL_BYTES = 256;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** A zeroed typed array of `numel` elements carved from the current slab. */
function slabView(dtype: DType, numel: number, bytes: number): TypedArray {
  // 16-byte steps keep every view aligned for any element type.
  const step = (bytes + 15) & ~15;
  if (slabUsed + step > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = new STORAGE_CTOR[dtype](slab, slabUsed, numel);
  slabUsed += step;
  return view;
}

/** A storage on a slab view (see {@link CpuStorage.slab}). */
function slabStorage(dtype: DType, numel: number, bytes: number): CpuStorage {
  const s = new CpuStorage(slabView(dtype, numel, bytes));
  s.slab = true;
  return s;
}

// Released arrays are kept for reuse. A large tensor the garbage collector
// frees gives its memory back to the native pool (src/host_memory.ts), but
// only at the next young-generation collection, so allocations cycle through
// tens of megabytes, cold in the caches. Memory released deterministically
// (dispose(), the end of a zn.tidy scope, the backward pass's temporaries)
// goes to this pool instead, by exact byte length, and the next array of
// that length reuses it while it is still warm: training
// loops repeat the same shapes every step. Only arrays the library allocated
// itself, whole, and never handed out, are pooled (see CpuStorage.shared);
// one a caller views (Tensor.asTypedArray) moves to a new ArrayBuffer first,
// detaching the caller's view (see CpuStorage.exposed).
//
// A training step can release several hundred megabytes at the end of its
// scope (a small GPT's step: about 600 MB in 2-8 MB arrays, 85 of one
// size), and every array the pool turns away is zero-filled afresh at the
// next step. So a length the program has asked for again ("hot") may hold up
// to POOL_MAX_BYTES in all, while lengths never reused yet ("cold": shapes
// that keep changing) hold at most POOL_COLD_BYTES. Over a cap, the lengths
// used least recently go first, cold before hot: memory of shapes no longer
// in use does not stay pinned, and the sizes a loop repeats stay.
const POOL_MAX_BYTES = 1024 << 20;
const POOL_COLD_BYTES = 256 << 20;
/** The released arrays of one byte length. */
interface SizeClass {
  free: { buf: ArrayBuffer; offset: number }[];
  /** Whether the pool has handed out an array of this length. */
  hot: boolean;
  /** When this length was last released or handed out (a counter). */
  lastUse: number;
}
const pool = new Map<number, SizeClass>();
let pooledBytes = 0;
let coldBytes = 0;
let useCounter = 0;

/** Drops the length used least recently other than `keep` (cold ones only if `coldOnly`); false if none. */
function evictOne(keep: number, coldOnly: boolean): boolean {
  let victim = -1, victimClass: SizeClass | undefined;
  for (const [size, c] of pool) {
    if (size === keep || c.free.length === 0 || (coldOnly && c.hot)) continue;
    const better = victimClass === undefined ||
      (c.hot === victimClass.hot ? c.lastUse < victimClass.lastUse : !c.hot);
    if (better) [victim, victimClass] = [size, c];
  }
  if (victimClass === undefined) return false;
  const bytes = victim * victimClass.free.length;
  pooledBytes -= bytes;
  if (!victimClass.hot) coldBytes -= bytes;
  pool.delete(victim); // the collector frees its arrays
  return true;
}

function poolPut(array: TypedArray): void {
  const bytes = array.byteLength;
  if (bytes > POOL_COLD_BYTES) return;
  let c = pool.get(bytes);
  if (c === undefined) {
    c = { free: [], hot: false, lastUse: 0 };
    pool.set(bytes, c);
  }
  c.lastUse = ++useCounter;
  while (pooledBytes + bytes > POOL_MAX_BYTES) if (!evictOne(bytes, false)) return;
  while (!c.hot && coldBytes + bytes > POOL_COLD_BYTES) if (!evictOne(bytes, true)) return;
  c.free.push({ buf: array.buffer as ArrayBuffer, offset: array.byteOffset });
  pooledBytes += bytes;
  if (!c.hot) coldBytes += bytes;
}

/** @internal Bytes waiting in the CPU memory pool (for tests). */
export function pooledCpuBytes(): number {
  return pooledBytes;
}

// Arrays of at least ALIGN_MIN_BYTES start on a 64-byte boundary (a cache
// line, and a whole AVX-512 vector): the C heap behind ArrayBuffers returns
// addresses 16 bytes past one, and kernels whose rows then straddle lines in
// every vector load and store run measurably slower (a 1024x1024 matmul by
// 2-4%). The buffer is over-allocated by a line and the array placed at the
// boundary; asking the native side for the offset costs one FFI call.
const ALIGN_MIN_BYTES = 1024;
const ALIGN = 64;
// Fresh arrays of HUGE_MIN_BYTES or more ask for transparent huge pages on
// the whole 2 MiB pages inside them (zig/src/abi_core.zig zeno_place_huge): fewer
// TLB misses in every kernel that streams them, far fewer page faults on
// first write. From HUGE_ALIGN_BYTES the array also starts on a 2 MiB
// boundary, so that all of it is on huge pages, in a buffer with a huge page
// of slack: below that size the slack costs more than it gains (the C heap
// zero-fills a reused buffer, slack included: adding two dropped 4 MiB
// arrays took 0.57 ms instead of 0.38; 64 MiB ones 6.2 instead of 6.8).
const HUGE_MIN_BYTES = 4 << 20;
const HUGE_ALIGN_BYTES = 32 << 20;
const HUGE_PAGE = 2 << 20;

/** A typed array of `numel` elements owning its buffer (zero-filled when `zero`). */
function ownArray(dtype: DType, numel: number, bytes: number, zero: boolean): TypedArray {
  const c = pool.get(bytes);
  const pooled = c?.free.pop();
  if (pooled !== undefined) {
    pooledBytes -= bytes;
    if (!c!.hot) {
      c!.hot = true;
      coldBytes -= bytes * (c!.free.length + 1);
    }
    c!.lastUse = ++useCounter;
    const a = new STORAGE_CTOR[dtype](pooled.buf, pooled.offset, numel);
    if (zero) new Uint8Array(pooled.buf, pooled.offset, bytes).fill(0);
    return a;
  }
  return hostArray(dtype, numel, zero);
}

// Arrays of POOLED_MIN_BYTES or more come from the native library's pool,
// which the garbage collector refills (src/host_memory.ts): a result the
// program drops gives its memory to a later result of its size without a
// zero fill. Below it a fresh V8 array costs about as much as the pool's call.
const POOLED_MIN_BYTES = 64 << 10;

/**
 * @internal A fresh array of `numel` elements for new tensor data, starting
 * on a 64-byte boundary when it is at least ALIGN_MIN_BYTES long;
 * zero-filled unless `zero` is false (the creation functions fill these
 * before handing them to a backend).
 */
export function hostArray(dtype: DType, numel: number, zero = true): TypedArray {
  const bytes = numel * ITEMSIZE[dtype];
  if (bytes < ALIGN_MIN_BYTES) return new STORAGE_CTOR[dtype](numel);
  if (bytes >= POOLED_MIN_BYTES) {
    const buf = pooledBuffer(bytes, zero);
    if (buf !== null) return new STORAGE_CTOR[dtype](buf, 0, numel);
  }
  if (bytes >= HUGE_ALIGN_BYTES) {
    const buf = new ArrayBuffer(bytes + HUGE_PAGE);
    const offset = native().zeno_place_huge(new Uint8Array(buf), bytes + HUGE_PAGE);
    if (offset >= 0) return new STORAGE_CTOR[dtype](buf, offset, numel);
  }
  const buf = new ArrayBuffer(bytes + ALIGN);
  const whole = new Uint8Array(buf);
  const offset = native().zeno_align_pad(whole);
  if (bytes >= HUGE_MIN_BYTES) native().zeno_place_huge(whole, bytes + ALIGN);
  return new STORAGE_CTOR[dtype](buf, offset, numel);
}

const EMPTY_ARRAY = new Uint8Array(0);

/** CPU memory: a typed array in the dtype's storage format. */
export class CpuStorage implements Storage {
  /** Always "cpu". */
  readonly device = "cpu";
  /** @internal Set by {@link CpuStorage.dispose}; kernels then refuse the storage. */
  disposed = false;
  /** @internal Long-lived holders (see src/lifetime.ts). */
  owners = 0;
  /** @internal Whether a tidy scope has seen this storage. */
  tracked = false;
  /**
   * @internal Whether the array may be referenced outside this storage (the
   * caller's array given to fromHost, a slab view, bytes handed to a writer):
   * such an array is never reused by the pool.
   */
  shared: boolean;
  /**
   * @internal Whether a view of the array was handed to the caller
   * (`Tensor.asTypedArray`): before the pool takes such an array back, its
   * memory moves to a new ArrayBuffer, which detaches the caller's view.
   */
  exposed = false;
  /** @internal Whether the array is a view in a slab that other storages share. */
  slab = false;
  /**
   * @internal Elements at construction. Kernels check the array still has
   * them: an ArrayBuffer that JavaScript detached (transfer, postMessage)
   * has none, and native code must never be handed one.
   */
  readonly size: number;
  /** The elements (empty once disposed). */
  data: TypedArray;
  /** Wraps a typed array; `shared` false only for arrays nothing else references. */
  constructor(data: TypedArray, shared = true) {
    this.data = data;
    this.shared = shared;
    this.size = data.length;
  }
  /** Capacity in elements. */
  get length(): number {
    return this.data.length;
  }
  /** Marks the storage disposed; an array nothing else references goes back to the pool. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.shared) {
      const a = this.exposed ? reclaim(this.data) : this.data;
      if (a !== null) poolPut(a);
    }
    this.data = EMPTY_ARRAY;
  }
}

/**
 * The memory of `a` under a new ArrayBuffer (a transfer, which moves it
 * without copying), so that every view of the old buffer, the caller's
 * included, is detached (length 0) before the pool hands the memory out
 * again; null when the buffer was detached already.
 */
function reclaim(a: TypedArray): Uint8Array | null {
  const offset = a.byteOffset, bytes = a.byteLength;
  try {
    return new Uint8Array((a.buffer as ArrayBuffer).transfer(), offset, bytes);
  } catch {
    return null;
  }
}

/**
 * @internal The array of `s` for a view handed to the caller (see
 * `Tensor.asTypedArray`). A slab view first moves to an array of its own, so
 * the view's buffer holds no other tensor's elements; the storage is marked
 * exposed (see {@link CpuStorage.exposed}).
 */
export function exposeCpuStorage(s: CpuStorage): TypedArray {
  if (s.disposed) throw disposedError("asTypedArray");
  if (s.data.length !== s.size) throw detachedError("asTypedArray");
  if (s.slab) {
    s.data = s.data.slice() as TypedArray;
    s.slab = false;
  }
  s.exposed = true;
  return s.data;
}

/** The error for a storage whose ArrayBuffer JavaScript detached. */
function detachedError(op: string): Error {
  return new TypeError(
    `${op}: the tensor's memory was detached (its ArrayBuffer was transferred, by ArrayBuffer.prototype.transfer, postMessage or structuredClone); the tensor can no longer be used`,
  );
}

let sym: ZenoSymbols | undefined;
function native(): ZenoSymbols {
  return sym ??= initNative();
}

function initNative(): ZenoSymbols {
  const s = library().symbols;
  let want: string | undefined;
  let tune: string | undefined;
  try {
    want = Deno.env.get("ZENO_NUM_THREADS");
    tune = Deno.env.get("ZENO_MALLOC_TUNING");
  } catch { /* no env permission: keep the defaults */ }
  // Results reuse freed C-heap memory instead of fresh page-faulting
  // mappings (zig/src/abi_core.zig, zeno_tune_malloc); ZENO_MALLOC_TUNING=0 opts out.
  if (tune !== "0") s.zeno_tune_malloc();
  if (want !== undefined) {
    const n = Number(want);
    if (!Number.isInteger(n) || n < 1 || n > 256) {
      throw new RangeError(`ZENO_NUM_THREADS must be an integer in [1, 256], got "${want}"`);
    }
    s.zeno_set_num_threads(n);
  }
  return s;
}

/**
 * Number of threads the CPU kernels use (like torch.get_num_threads).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.getNumThreads(); // e.g. 8
 * ```
 */
export function getNumThreads(): number {
  return native().zeno_num_threads();
}

/**
 * Sets the number of threads the CPU kernels use (like torch.set_num_threads).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const before = zn.getNumThreads();
 * zn.setNumThreads(2);
 * zn.getNumThreads(); // 2
 * zn.setNumThreads(before);
 * ```
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`setNumThreads: expected an integer in [1, 256], got ${n}`);
  }
  native().zeno_set_num_threads(n);
}

const hyperBuf = new Float64Array(12);
const linalgMeta = new Int32Array(10);

function data(v: View, op: string): TypedArray {
  const s = v.storage;
  if (!(s instanceof CpuStorage)) throw deviceMismatch(op, s.device, "cpu");
  if (s.disposed) throw disposedError(op);
  const d = s.data;
  if (d.length !== s.size) throw detachedError(op);
  return d;
}

function check(status: number, op: string, detail = ""): void {
  if (status === 0) return;
  switch (status) {
    case 2:
      throw new RangeError(
        `${op}: index ${native().zeno_bad_index()} is out of bounds${detail}`,
      );
    case 3:
      throw new RangeError(`${op}: integer division by zero`);
    case 4:
      throw new RangeError(`${op}: integers to negative integer powers are not allowed`);
    case 5:
      throw new Error(`${op}: out of memory`);
    default:
      throw new Error(`${op}: the native kernel rejected its arguments (status ${status})`);
  }
}

/** @internal A fill value in `dtype`'s storage format (float16/bfloat16 as bits). */
export function toStorageValue(dtype: DType, v: number | bigint | boolean): number | bigint {
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  switch (dtype) {
    case "int64":
    case "int32":
    case "int16":
    case "int8":
    case "uint8":
      // Front ends check first and name their op; this keeps any other
      // path from wrapping a value silently.
      return toIntElement(n, dtype, "fill");
    case "float16":
      return f32ToF16Bits(Number(n));
    case "bfloat16":
      return f32ToBf16Bits(Number(n));
    case "bool":
      return Number(n) !== 0 ? 1 : 0;
    default:
      return Number(n);
  }
}

function axisArgs(a: Axis3): [number, number, number] {
  return [a.outer, a.r, a.inner];
}

/** zeno_matmul: c = a @ b, or c += a @ b with `accumulate`. */
function runMatmul(a: View, b: View, c: View, accumulate: boolean): void {
  const [batch, m, n] = c.shape;
  const k = a.shape[2];
  if (batch * m * n === 0) return;
  matmulLayout(a.strides, b.strides);
  meta[6] = accumulate ? 1 : 0;
  check(
    native().zeno_matmul(
      DTYPE_CODE[c.dtype],
      data(a, "matmul"),
      a.offset,
      data(b, "matmul"),
      b.offset,
      data(c, "matmul"),
      c.offset,
      batch,
      m,
      n,
      k,
      meta,
    ),
    "matmul",
  );
}

/** The CPU backend instance. */
export const cpuBackend: Backend = {
  // float16/bfloat16 GEMMs convert as they pack (zig/src/matmul.zig), and
  // the direct convolutions as they pad and store, and the pools a plane at
  // a time (zig/src/conv.zig).
  halfMatmul: true,
  halfConvDirect: true,
  halfPool: true,
  halfReduce: true,
  halfNorm: true,
  halfAttention: true,
  rmsNorm: true,
  device: "cpu",

  alloc(dtype: DType, numel: number): Storage {
    const bytes = numel * ITEMSIZE[dtype];
    if (bytes > SMALL_BYTES) return new CpuStorage(ownArray(dtype, numel, bytes, true), false);
    return slabStorage(dtype, numel, bytes);
  },

  allocUninit(dtype: DType, numel: number): Storage {
    const bytes = numel * ITEMSIZE[dtype];
    if (bytes > SMALL_BYTES) return new CpuStorage(ownArray(dtype, numel, bytes, false), false);
    return slabStorage(dtype, numel, bytes);
  },

  fromHost(_dtype: DType, d: TypedArray): Storage {
    return new CpuStorage(d);
  },

  toHost(x: View): TypedArray {
    const n = numelOf(x.shape);
    const out = new STORAGE_CTOR[x.dtype](n);
    if (n === 0) return out;
    const src = data(x, "toHost");
    const contiguousTail = layout(x.shape, [x.strides]);
    if (contiguousTail <= 1 && (contiguousTail === 0 || meta[1] === 1)) {
      // One contiguous run: a plain slice copy.
      (out as Float32Array).set(
        (src as Float32Array).subarray(x.offset, x.offset + n),
      );
      return out;
    }
    const dst: View = {
      storage: new CpuStorage(out),
      dtype: x.dtype,
      shape: x.shape,
      strides: contiguousStrides(x.shape),
      offset: 0,
    };
    this.copy(x, dst);
    return out;
  },

  fill(x: View, value: number | bigint | boolean): void {
    const n = numelOf(x.shape);
    if (n === 0) return;
    const v = toStorageValue(x.dtype, value);
    const d = data(x, "fill");
    const nd = layout(x.shape, [x.strides]);
    if (nd === 0 || (nd === 1 && meta[1] === 1)) {
      (d as Float32Array).fill(v as number, x.offset, x.offset + n);
      return;
    }
    const one = new STORAGE_CTOR[x.dtype](1);
    (one as Float32Array)[0] = v as number;
    const code = DTYPE_CODE[x.dtype];
    const zeros = new Array<number>(x.shape.length).fill(0);
    const ndim = layout(x.shape, [zeros, x.strides]);
    check(native().zeno_copy(code, one, 0, code, d, x.offset, ndim, meta), "fill");
  },

  copy(src: View, dst: View): void {
    if (numelOf(dst.shape) === 0) return;
    const nd = layout(dst.shape, [src.strides, dst.strides]);
    check(
      native().zeno_copy(
        DTYPE_CODE[src.dtype],
        data(src, "copy"),
        src.offset,
        DTYPE_CODE[dst.dtype],
        data(dst, "copy"),
        dst.offset,
        nd,
        meta,
      ),
      "copy",
    );
  },

  unary(op: UnaryOp, x: View, out: View, params?: readonly number[]): void {
    if (numelOf(out.shape) === 0) return;
    const nd = layout(out.shape, [x.strides, out.strides]);
    check(
      native().zeno_unary(
        UNARY[op],
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        data(out, op),
        out.offset,
        nd,
        meta,
        params?.[0] ?? 0,
        params?.[1] ?? 0,
        params?.[2] ?? 0,
      ),
      op,
    );
  },

  binary(op: BinaryOp, a: View, b: View, out: View): void {
    if (numelOf(out.shape) === 0) return;
    const nd = layout(out.shape, [a.strides, b.strides, out.strides]);
    check(
      native().zeno_binary(
        BINARY[op],
        DTYPE_CODE[a.dtype],
        data(a, op),
        a.offset,
        data(b, op),
        b.offset,
        data(out, op),
        out.offset,
        nd,
        meta,
      ),
      op,
    );
  },

  binaryScalar(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean, out: View): void {
    if (numelOf(out.shape) === 0) return;
    // The middle operand of the kernel's layout is the scalar: no strides.
    const nd = layout(out.shape, [
      x.strides,
      new Array<number>(out.shape.length).fill(0),
      out.strides,
    ]);
    check(
      native().zeno_binary_scalar(
        BINARY[op],
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        scalar,
        scalarFirst ? 1 : 0,
        data(out, op),
        out.offset,
        nd,
        meta,
      ),
      op,
    );
  },

  where(cond: View, a: View, b: View, out: View): void {
    if (numelOf(out.shape) === 0) return;
    const nd = layout(out.shape, [cond.strides, a.strides, b.strides, out.strides]);
    check(
      native().zeno_where(
        DTYPE_CODE[out.dtype],
        data(cond, "where"),
        cond.offset,
        data(a, "where"),
        a.offset,
        data(b, "where"),
        b.offset,
        data(out, "where"),
        out.offset,
        nd,
        meta,
      ),
      "where",
    );
  },

  reduce(op: ReduceOp, x: View, axis: Axis3, out: View | null, idx: View | null, p = 0): void {
    const [outer, r, inner] = axisArgs(axis);
    if (outer * inner === 0) return;
    check(
      native().zeno_reduce(
        REDUCE[op],
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        out ? data(out, op) : null,
        out ? out.offset : 0,
        idx ? data(idx, op) : null,
        idx ? idx.offset : 0,
        outer,
        r,
        inner,
        p,
      ),
      op,
    );
  },

  reducePlanes(
    op: "sum" | "mean",
    x: View,
    lead: number,
    outer: number,
    r: number,
    out: View,
  ): void {
    if (outer === 0) return;
    check(
      native().zeno_reduce_planes(
        REDUCE[op],
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        data(out, op),
        out.offset,
        lead,
        outer,
        r,
      ),
      op,
    );
  },

  scan(op: ScanOp, x: View, axis: Axis3, out: View): void {
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    check(
      native().zeno_scan(
        SCAN[op],
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        data(out, op),
        out.offset,
        outer,
        r,
        inner,
      ),
      op,
    );
  },

  softmaxBackward(log: boolean, g: View, y: View, axis: Axis3, dx: View): void {
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    const op = log ? "logSoftmax backward" : "softmax backward";
    check(
      native().zeno_softmax_backward(
        log ? 1 : 0,
        DTYPE_CODE[g.dtype],
        data(g, op),
        g.offset,
        data(y, op),
        y.offset,
        data(dx, op),
        dx.offset,
        outer,
        r,
        inner,
      ),
      op,
    );
  },

  softmax(log: boolean, x: View, axis: Axis3, out: View): void {
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    check(
      native().zeno_softmax(
        log ? 1 : 0,
        DTYPE_CODE[x.dtype],
        data(x, "softmax"),
        x.offset,
        data(out, "softmax"),
        out.offset,
        outer,
        r,
        inner,
      ),
      log ? "logSoftmax" : "softmax",
    );
  },

  matmul(a: View, b: View, c: View): void {
    runMatmul(a, b, c, false);
  },
  matmulAccumulate(a: View, b: View, c: View): void {
    if (c.dtype !== "float32" && c.dtype !== "float64") {
      throw new TypeError(`matmulAccumulate: float32 or float64 only, got ${c.dtype}`);
    }
    runMatmul(a, b, c, true);
  },

  indexSelect(x: View, idx: View, out: View, axis: Axis3, wrap: boolean, op: string): void {
    const n = numelOf(idx.shape);
    if (n === 0 || axis.outer * axis.inner === 0) return;
    check(
      native().zeno_index_select(
        ITEMSIZE[x.dtype],
        data(x, op),
        x.offset,
        data(idx, op),
        idx.offset,
        n,
        data(out, op),
        out.offset,
        axis.outer,
        axis.r,
        axis.inner,
        wrap ? 1 : 0,
      ),
      op,
      ` for dimension with size ${axis.r}`,
    );
  },

  gather(x: View, idx: View, out: View, dim: number, op: string): void {
    if (numelOf(idx.shape) === 0) return;
    const nd = gatherLayout(idx.shape, idx.strides, x.strides, out.strides);
    check(
      native().zeno_gather(
        DTYPE_CODE[x.dtype],
        data(x, op),
        x.offset,
        data(idx, op),
        idx.offset,
        data(out, op),
        out.offset,
        nd,
        meta,
        dim,
        x.shape[dim],
      ),
      op,
      ` for dimension ${dim} with size ${x.shape[dim]}`,
    );
  },

  scatter(mode: ScatterMode, dst: View, idx: View, src: View, dim: number, op: string): void {
    if (numelOf(idx.shape) === 0) return;
    const nd = gatherLayout(idx.shape, idx.strides, dst.strides, src.strides);
    check(
      native().zeno_scatter(
        SCATTER_MODE[mode],
        DTYPE_CODE[dst.dtype],
        data(dst, op),
        dst.offset,
        data(idx, op),
        idx.offset,
        data(src, op),
        src.offset,
        nd,
        meta,
        dim,
        dst.shape[dim],
      ),
      op,
      ` for dimension ${dim} with size ${dst.shape[dim]}`,
    );
  },

  optimStep(
    kind: OptimKind,
    param: View,
    grad: View,
    states: readonly (View | null)[],
    hyper: readonly number[],
  ): void {
    hyperBuf.fill(0);
    for (let i = 0; i < hyper.length && i < hyperBuf.length; i++) hyperBuf[i] = hyper[i];
    const [s1, s2, s3] = [states[0] ?? null, states[1] ?? null, states[2] ?? null];
    check(
      native().zeno_optim_step(
        OPTIM[kind],
        DTYPE_CODE[param.dtype],
        data(param, "optimizer step"),
        param.offset,
        data(grad, "optimizer step"),
        grad.offset,
        s1 ? data(s1, "optimizer step") : null,
        s1 ? s1.offset : 0,
        s2 ? data(s2, "optimizer step") : null,
        s2 ? s2.offset : 0,
        s3 ? data(s3, "optimizer step") : null,
        s3 ? s3.offset : 0,
        numelOf(param.shape),
        hyperBuf,
      ),
      `optim.${kind}`,
    );
  },

  sort(x: View, axis: Axis3, values: View, indices: View, descending: boolean): void {
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    check(
      native().zeno_sort(
        DTYPE_CODE[x.dtype],
        data(x, "sort"),
        x.offset,
        data(values, "sort"),
        values.offset,
        data(indices, "sort"),
        indices.offset,
        outer,
        r,
        inner,
        descending ? 1 : 0,
      ),
      "sort",
    );
  },

  conv2dDirect(x: View, w: View, bias: View | null, out: View, geom: DirectConv): void {
    const [n, c, h, wd] = x.shape;
    const o = geom.mode === "weightGrad" ? w.shape[1] : out.shape[1];
    if (geom.mode !== "weightGrad" && n * o === 0) return;
    directMeta[0] = n;
    directMeta[1] = c;
    directMeta[2] = h;
    directMeta[3] = wd;
    directMeta[4] = o;
    directMeta[5] = geom.kernel[0];
    directMeta[6] = geom.kernel[1];
    directMeta[7] = geom.padding[0];
    directMeta[8] = geom.padding[1];
    directMeta[9] = DIRECT_MODE[geom.mode];
    check(
      native().zeno_conv2d_direct(
        DTYPE_CODE[x.dtype],
        data(x, "conv2d"),
        x.offset,
        data(w, "conv2d"),
        w.offset,
        bias ? data(bias, "conv2d") : null,
        bias ? bias.offset : 0,
        data(out, "conv2d"),
        out.offset,
        directMeta,
      ),
      "conv2d",
    );
  },

  linalg(op: LinalgOp, bufs: readonly (View | null)[], dims: LinalgDims): void {
    if (dims.batch === 0) return;
    const name = `linalg.${op}`;
    const b = [0, 1, 2, 3, 4].map((i) => bufs[i] ?? null);
    for (let i = 0; i < 5; i++) linalgMeta[i] = b[i]?.offset ?? 0;
    linalgMeta[5] = dims.batch;
    linalgMeta[6] = dims.m;
    linalgMeta[7] = dims.n;
    linalgMeta[8] = dims.k;
    linalgMeta[9] = dims.vectors ? 1 : 0;
    const first = b[0]!;
    check(
      native().zeno_linalg(
        LINALG[op],
        DTYPE_CODE[first.dtype],
        b[0] && data(b[0], name),
        b[1] && data(b[1], name),
        b[2] && data(b[2], name),
        b[3] && data(b[3], name),
        b[4] && data(b[4], name),
        linalgMeta,
      ),
      name,
    );
  },

  lstm(
    gx: View,
    wHh: View,
    bias: View | null,
    h0: View | null,
    c0: View | null,
    y: View,
    ws: View,
    reverse: boolean,
  ): void {
    const [steps, batch] = gx.shape, hidden = wHh.shape[1];
    const views = [gx, wHh, bias, h0, c0, y, ws];
    const meta = rnnLayout(views, steps, batch, hidden, reverse);
    const op = "lstm";
    const d = views.map((v) => v && data(v, op));
    check(
      native().zeno_lstm_forward(
        DTYPE_CODE[gx.dtype],
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6],
        meta,
      ),
      op,
    );
  },

  lstmBackward(
    wHh: View,
    c0: View | null,
    ws: View,
    dy: View,
    dcLast: View,
    dg: View,
    dh0: View | null,
    dc0: View,
    reverse: boolean,
  ): void {
    const [steps, batch, hidden] = dy.shape;
    const views = [wHh, c0, ws, dy, dcLast, dg, dh0, dc0];
    const meta = rnnLayout(views, steps, batch, hidden, reverse);
    const op = "lstm backward";
    const d = views.map((v) => v && data(v, op));
    check(
      native().zeno_lstm_backward(
        DTYPE_CODE[dy.dtype],
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6],
        d[7],
        meta,
      ),
      op,
    );
  },

  gru(gx: View, wHh: View, bHh: View, h0: View, y: View, ws: View, reverse: boolean): void {
    const [steps, batch] = gx.shape, hidden = wHh.shape[1];
    const meta = rnnLayout([gx, wHh, bHh, h0, y, ws], steps, batch, hidden, reverse);
    const op = "gru";
    check(
      native().zeno_gru_forward(
        DTYPE_CODE[gx.dtype],
        data(gx, op),
        data(wHh, op),
        data(bHh, op),
        data(h0, op),
        data(y, op),
        data(ws, op),
        meta,
      ),
      op,
    );
  },

  gruBackward(
    wHh: View,
    h0: View,
    y: View,
    ws: View,
    dy: View,
    dgx: View,
    dgh: View,
    dh0: View,
    reverse: boolean,
  ): void {
    const [steps, batch, hidden] = y.shape;
    const views = [wHh, h0, y, ws, dy, dgx, dgh, dh0];
    const meta = rnnLayout(views, steps, batch, hidden, reverse);
    const op = "gru backward";
    const d = views.map((v) => data(v, op));
    check(
      native().zeno_gru_backward(
        DTYPE_CODE[y.dtype],
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6],
        d[7],
        meta,
      ),
      op,
    );
  },

  attention(q: View, k: View, v: View, o: View, lse: View, scale: number, causal: boolean): void {
    const [n, l, e] = q.shape, s = k.shape[1], ev = v.shape[2];
    const meta = attentionLayout([q, k, v, o, lse], n, l, s, e, ev, causal);
    const op = "scaledDotProductAttention";
    const d = [q, k, v, o, lse].map((x) => data(x, op));
    check(
      native().zeno_attention_forward(
        DTYPE_CODE[q.dtype],
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        meta,
        scale,
      ),
      op,
    );
  },

  attentionBackward(
    q: View,
    k: View,
    v: View,
    o: View,
    dout: View,
    lse: View,
    dq: View,
    dk: View,
    dv: View,
    scale: number,
    causal: boolean,
  ): void {
    const [n, l, e] = q.shape, s = k.shape[1], ev = v.shape[2];
    const views = [q, k, v, o, dout, lse, dq, dk, dv];
    const meta = attentionLayout(views, n, l, s, e, ev, causal);
    const op = "scaledDotProductAttention backward";
    const d = views.map((x) => data(x, op));
    check(
      native().zeno_attention_backward(
        DTYPE_CODE[q.dtype],
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6],
        d[7],
        d[8],
        meta,
        scale,
      ),
      op,
    );
  },

  layerNorm(
    x: View,
    w: View | null,
    b: View | null,
    out: View,
    mean: View | null,
    rstd: View,
    eps: number,
  ): void {
    normMeta[0] = x.offset;
    normMeta[1] = w ? w.offset : 0;
    normMeta[2] = b ? b.offset : 0;
    normMeta[3] = out.offset;
    normMeta[4] = mean ? mean.offset : 0;
    normMeta[5] = rstd.offset;
    normMeta[6] = x.shape[0];
    normMeta[7] = x.shape[1];
    check(
      native().zeno_layer_norm(
        DTYPE_CODE[x.dtype],
        data(x, "layerNorm"),
        w ? data(w, "layerNorm") : null,
        b ? data(b, "layerNorm") : null,
        data(out, "layerNorm"),
        mean ? data(mean, "layerNorm") : null,
        data(rstd, "layerNorm"),
        normMeta,
        eps,
      ),
      "layerNorm",
    );
  },

  layerNormBackward(
    g: View,
    x: View,
    mean: View | null,
    rstd: View,
    w: View | null,
    dx: View | null,
    dw: View | null,
    db: View | null,
  ): void {
    normMeta[0] = g.offset;
    normMeta[1] = x.offset;
    normMeta[2] = mean ? mean.offset : 0;
    normMeta[3] = rstd.offset;
    normMeta[4] = w ? w.offset : 0;
    normMeta[5] = dx ? dx.offset : 0;
    normMeta[6] = dw ? dw.offset : 0;
    normMeta[7] = db ? db.offset : 0;
    normMeta[8] = x.shape[0];
    normMeta[9] = x.shape[1];
    const op = "layerNorm backward";
    check(
      native().zeno_layer_norm_backward(
        DTYPE_CODE[x.dtype],
        data(g, op),
        data(x, op),
        mean ? data(mean, op) : null,
        data(rstd, op),
        w ? data(w, op) : null,
        dx ? data(dx, op) : null,
        dw ? data(dw, op) : null,
        db ? data(db, op) : null,
        normMeta,
      ),
      op,
    );
  },

  channelStats(x: View, mean: View, variance: View): void {
    normMeta[0] = x.offset;
    normMeta[1] = mean.offset;
    normMeta[2] = variance.offset;
    normMeta[3] = x.shape[0];
    normMeta[4] = x.shape[1];
    normMeta[5] = x.shape[2];
    const op = "batchNorm";
    check(
      native().zeno_channel_stats(
        DTYPE_CODE[x.dtype],
        data(x, op),
        data(mean, op),
        data(variance, op),
        normMeta,
      ),
      op,
    );
  },

  channelGradSums(g: View, x: View | null, m: View | null, sg: View, sgx: View | null): void {
    normMeta[0] = g.offset;
    normMeta[1] = x ? x.offset : 0;
    normMeta[2] = m ? m.offset : 0;
    normMeta[3] = sg.offset;
    normMeta[4] = sgx ? sgx.offset : 0;
    normMeta[5] = g.shape[0];
    normMeta[6] = g.shape[1];
    normMeta[7] = g.shape[2];
    const op = "batchNorm backward";
    check(
      native().zeno_channel_grad_sums(
        DTYPE_CODE[g.dtype],
        data(g, op),
        x ? data(x, op) : null,
        m ? data(m, op) : null,
        data(sg, op),
        sgx ? data(sgx, op) : null,
        normMeta,
      ),
      op,
    );
  },

  channelAffine(
    u: View,
    v: View | null,
    m: View | null,
    a: View,
    b: View | null,
    k: View | null,
    out: View,
  ): void {
    if (numelOf(u.shape) === 0) return;
    normMeta[0] = u.offset;
    normMeta[1] = v ? v.offset : 0;
    normMeta[2] = m ? m.offset : 0;
    normMeta[3] = a.offset;
    normMeta[4] = b ? b.offset : 0;
    normMeta[5] = k ? k.offset : 0;
    normMeta[6] = out.offset;
    normMeta[7] = u.shape[0];
    normMeta[8] = u.shape[1];
    normMeta[9] = u.shape[2];
    const op = "batchNorm";
    check(
      native().zeno_channel_affine(
        DTYPE_CODE[u.dtype],
        data(u, op),
        v ? data(v, op) : null,
        m ? data(m, op) : null,
        data(a, op),
        b ? data(b, op) : null,
        k ? data(k, op) : null,
        data(out, op),
        normMeta,
      ),
      op,
    );
  },

  crossEntropy(
    x: View,
    t: View,
    lse: View,
    loss: View,
    count: View,
    ignoreIndex: number,
    mean: boolean,
  ): void {
    normMeta[0] = x.offset;
    normMeta[1] = t.offset;
    normMeta[2] = lse.offset;
    normMeta[3] = loss.offset;
    normMeta[4] = count.offset;
    normMeta[5] = x.shape[0];
    normMeta[6] = x.shape[1];
    normMeta[7] = mean ? 1 : 0;
    const op = "crossEntropy";
    const status = native().zeno_cross_entropy(
      DTYPE_CODE[x.dtype],
      data(x, op),
      data(t, op),
      data(lse, op),
      data(loss, op),
      data(count, op),
      normMeta,
      ignoreIndex,
    );
    if (status === 2) {
      throw new RangeError(
        `${op}: target ${native().zeno_bad_index()} is out of bounds for ${x.shape[1]} classes`,
      );
    }
    check(status, op);
  },

  crossEntropyBackward(
    x: View,
    t: View,
    lse: View,
    g: View,
    count: View,
    dx: View,
    ignoreIndex: number,
    mean: boolean,
  ): void {
    normMeta[0] = x.offset;
    normMeta[1] = t.offset;
    normMeta[2] = lse.offset;
    normMeta[3] = g.offset;
    normMeta[4] = count.offset;
    normMeta[5] = dx.offset;
    normMeta[6] = x.shape[0];
    normMeta[7] = x.shape[1];
    normMeta[8] = mean ? 1 : 0;
    const op = "crossEntropy backward";
    check(
      native().zeno_cross_entropy_backward(
        DTYPE_CODE[x.dtype],
        data(x, op),
        data(t, op),
        data(lse, op),
        data(g, op),
        data(count, op),
        data(dx, op),
        normMeta,
        ignoreIndex,
      ),
      op,
    );
  },

  window2d(
    op: Window2dOp,
    src: View,
    dst: View,
    idx: View | null,
    geom: Window2d,
    avg?: { countIncludePad: boolean; divisorOverride: number },
  ): void {
    if (geom.batch * geom.channels === 0) return;
    windowLayout(geom);
    check(
      native().zeno_window2d(
        WINDOW2D[op],
        DTYPE_CODE[src.dtype],
        data(src, op),
        src.offset,
        data(dst, op),
        dst.offset,
        idx ? data(idx, op) : null,
        idx ? idx.offset : 0,
        meta,
        avg?.countIncludePad === false ? 0 : 1,
        avg?.divisorOverride ?? 0,
      ),
      op,
    );
  },
};

registerBackend(cpuBackend);
