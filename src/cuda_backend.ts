/**
 * The CUDA backend: storage in device memory from the native caching
 * allocator, kernels launched through one FFI call each (the CUDA exports
 * mirror the CPU ones, with each buffer + offset pair replaced by a `u64`
 * device address and an `f64` element offset; see zig/src/cuda/DESIGN.md).
 *
 * The backend registers a factory: the driver initialises on the first use
 * of a "cuda" device, and when CUDA is unavailable that first use throws one
 * clear error before any kernel runs. Device memory is released by
 * `dispose()`, `zn.tidy` and, as a safety net, a finalizer (see
 * src/lifetime.ts for why finalizers alone are not enough).
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
  type LinalgDims,
  type LinalgOp,
  OPTIM,
  type OptimKind,
  REDUCE,
  type ReduceOp,
  registerBackendFactory,
  SCAN,
  type ScanOp,
  type ScatterMode,
  type Storage,
  UNARY,
  type UnaryOp,
  type View,
  WINDOW2D,
  type Window2d,
  type Window2dOp,
} from "./backend.ts";
import { type DType, DTYPE_CODE, ITEMSIZE, STORAGE_CTOR, type TypedArray } from "./dtype.ts";
import { contiguousStrides, numel as numelOf } from "./shape.ts";
import { gatherLayout, layout, matmulLayout, meta, windowLayout } from "./layout.ts";
import { deviceMismatch, disposedError } from "./lifetime.ts";
import { attentionLayout, cpuBackend, rnnLayout, toStorageValue } from "./cpu_backend.ts";

/** @internal The native exports, the CUDA ones included (zig/src/cuda/DESIGN.md). */
export type CudaSymbols = ZenoSymbols;

let sym: CudaSymbols | undefined;
let unavailable: string | undefined;

/**
 * @internal Opens the library and initialises the driver once. Returns the
 * symbols, or undefined with {@link cudaUnavailableReason} set. Never throws.
 */
export function cudaSymbols(): CudaSymbols | undefined {
  if (sym) return sym;
  if (unavailable !== undefined) return undefined;
  let s: CudaSymbols;
  try {
    s = library().symbols;
  } catch (e) {
    unavailable = `the native library could not be opened: ${(e as Error).message}`;
    return undefined;
  }
  if (typeof (s as Partial<CudaSymbols>).zeno_cuda_init !== "function") {
    unavailable = "the native library was built without the CUDA exports";
    return undefined;
  }
  let status: number;
  try {
    status = s.zeno_cuda_init();
  } catch (e) {
    unavailable = `initialising the driver failed: ${(e as Error).message}`;
    return undefined;
  }
  if (status !== 0) {
    const why = lastErrorOf(s);
    unavailable = status === 3
      ? `no CUDA driver or device was found${why ? ` (${why})` : ""}`
      : `initialising the driver failed with status ${status}${why ? `: ${why}` : ""}`;
    return undefined;
  }
  sym = s;
  if (tf32) s.zeno_cuda_set_allow_tf32(1);
  return sym;
}

/**
 * @internal Tests only: runs the backend on the given exports instead of the
 * library's (tests/cuda_mock.ts: a host-memory stand-in for a GPU).
 */
export function installCudaSymbolsForTests(s: CudaSymbols): void {
  sym = s;
  unavailable = undefined;
  current = -1;
  deviceTotal = new Map();
}

/** @internal Why CUDA is unavailable ("" when it is available). */
export function cudaUnavailableReason(): string {
  cudaSymbols();
  return unavailable ?? "";
}

const textBuf = new Uint8Array(1024);

function lastErrorOf(s: CudaSymbols): string {
  try {
    textBuf.fill(0);
    const n = s.zeno_cuda_last_error(textBuf, textBuf.length);
    if (n <= 0) return "";
    let end = Math.min(n, textBuf.length);
    const nul = textBuf.indexOf(0);
    if (nul >= 0 && nul < end) end = nul;
    return new TextDecoder().decode(textBuf.subarray(0, end)).trim();
  } catch {
    return "";
  }
}

/** @internal The driver's message for the last CUDA error. */
export function lastError(): string {
  return sym ? lastErrorOf(sym) : "";
}

/** @internal The symbols, or the one clear error when CUDA is unavailable. */
export function cuda(): CudaSymbols {
  const s = cudaSymbols();
  if (!s) throw new Error(`CUDA is not available: ${unavailable}`);
  return s;
}

const statsBuf = new Float64Array(8);

/** @internal The allocator's statistics (zeno_cuda_memory_stats). */
export function rawMemoryStats(): Float64Array {
  check(cuda().zeno_cuda_memory_stats(statsBuf), "memoryStats");
  return statsBuf;
}

function fmtBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${n.toFixed(2)} ${units[u]}`;
}

let deviceTotal = new Map<number, number>();
function totalMemory(dev: number): number {
  let t = deviceTotal.get(dev);
  if (t === undefined) {
    const props = new Float64Array(8);
    t = sym && sym.zeno_cuda_device_props(dev, props) === 0 ? props[0] : NaN;
    deviceTotal.set(dev, t);
  }
  return t;
}

/** @internal Tests only: forget cached device facts. */
export function resetCudaCachesForTests(): void {
  deviceTotal = new Map();
}

/**
 * Turns a native status into an error naming the op: 1 bad argument, 2 index
 * out of range, 3 no device, 4 a CUDA error (with the driver's message), 5 out
 * of device memory (with the allocator's numbers), 6 unsupported op/dtype.
 */
function check(status: number, op: string, dtype?: string, detail = "", bytes?: number): void {
  if (status === 0) return;
  switch (status) {
    case 1:
      throw new Error(`${op}: the CUDA kernel rejected its arguments (status 1)`);
    case 2:
      throw new RangeError(
        `${op}: index ${sym?.zeno_bad_index()} is out of bounds${detail}`,
      );
    case 3:
      throw new Error(`${op}: CUDA is not available: ${lastError() || "no CUDA driver or device"}`);
    case 4:
      throw new Error(`${op}: CUDA error: ${lastError() || "(no message from the driver)"}`);
    case 5: {
      const s = sym ? (sym.zeno_cuda_memory_stats(statsBuf), statsBuf) : new Float64Array(8);
      const total = totalMemory(current < 0 ? 0 : current);
      const want = bytes === undefined ? "" : ` tried to allocate ${fmtBytes(bytes)};`;
      throw new Error(
        `${op}: CUDA out of memory:${want} GPU ${current < 0 ? 0 : current} has ${
          Number.isFinite(total) ? `${fmtBytes(total)} total capacity` : "unknown capacity"
        }; ${fmtBytes(s[0])} allocated by tensors; ${
          fmtBytes(s[2])
        } reserved by Zeno's caching allocator (the cache was emptied and the allocation retried once). ${lastError()}`
          .trimEnd(),
      );
    }
    case 6:
      throw new TypeError(`op ${op} is not supported on CUDA for dtype ${dtype ?? "(unknown)"}`);
    default:
      throw new Error(`${op}: the CUDA backend failed with status ${status}`);
  }
}

let current = -1;
function useDevice(index: number): void {
  if (current === index) return;
  check(cuda().zeno_cuda_set_device(index), `set device cuda:${index}`);
  current = index;
}

/**
 * @internal Makes device `index` current on this thread (its context and
 * stream): the one that libraries queueing work beside Zeno's kernels
 * (NCCL) use.
 */
export function selectCudaDevice(index: number): void {
  useDevice(index);
}

const freeOnCollect = new FinalizationRegistry<{ ptr: bigint; dev: number }>((held) => {
  // Safety net only: runs after the event loop turns, never inside a synchronous loop.
  try {
    if (!sym) return;
    if (current !== held.dev) {
      sym.zeno_cuda_set_device(held.dev);
      current = held.dev;
    }
    sym.zeno_cuda_free(held.ptr);
  } catch { /* the library is gone at exit */ }
});

const addrOut = new BigUint64Array(1);

/**
 * Device memory for `length` elements of a dtype: a device address from the
 * caching allocator. `dispose()` returns it at once (idempotent); a finalizer
 * returns it when the storage is collected without being disposed.
 */
export class CudaStorage implements Storage {
  /** "cuda:N". */
  readonly device: string;
  /** The device index N. */
  readonly index: number;
  /** The device address (a bigint: the FFI's fast path for 64-bit values). */
  readonly ptr: bigint;
  /** Capacity in elements. */
  readonly length: number;
  /** Size in bytes. */
  readonly byteLength: number;
  /** True once the memory went back to the allocator. */
  disposed = false;
  /** @internal Long-lived holders (see src/lifetime.ts). */
  owners = 0;
  /** @internal Whether the lifetime bookkeeping has seen this storage. */
  tracked = false;

  /** @internal Allocates through the caching allocator; use the backend's `alloc`. */
  constructor(index: number, length: number, itemsize: number) {
    useDevice(index);
    const bytes = length * itemsize;
    check(cuda().zeno_cuda_malloc(bytes, addrOut), "alloc", undefined, "", bytes);
    this.index = index;
    this.device = `cuda:${index}`;
    this.ptr = addrOut[0];
    this.length = length;
    this.byteLength = bytes;
    freeOnCollect.register(this, { ptr: this.ptr, dev: index }, this);
  }

  /** Returns the memory to the allocator now (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    freeOnCollect.unregister(this);
    if (!sym) return;
    useDevice(this.index);
    sym.zeno_cuda_free(this.ptr);
  }
}

const hyperBuf = new Float64Array(12);
const scratch = new ArrayBuffer(8);
const scratchBits = new BigUint64Array(scratch);

/** The bit pattern of one element of `dtype` holding `v`, zero-extended to 64 bits. */
function bitsOf(dtype: DType, v: number | bigint | boolean): bigint {
  scratchBits[0] = 0n;
  const one = new STORAGE_CTOR[dtype](scratch, 0, 1);
  (one as unknown as { [i: number]: number | bigint })[0] = toStorageValue(dtype, v);
  return scratchBits[0];
}

function axisArgs(a: Axis3): [number, number, number] {
  return [a.outer, a.r, a.inner];
}

/** The backend of one CUDA device. */
export class CudaBackend implements Backend {
  /** "cuda:N". */
  readonly device: string;
  /** The device index N. */
  readonly index: number;
  /** cuBLAS multiplies float16/bfloat16 directly (float32 accumulation). */
  readonly halfMatmul = true;
  readonly #s: CudaSymbols;

  /** @internal Use `backendFor("cuda:N")`, which initialises the device first. */
  constructor(index: number) {
    this.#s = cuda();
    this.index = index;
    this.device = `cuda:${index}`;
  }

  /** The address of a view's storage after checking its device and lifetime. */
  #addr(v: View, op: string): bigint {
    const st = v.storage;
    if (st.device !== this.device) throw deviceMismatch(op, st.device, this.device);
    if (st.disposed) throw disposedError(op);
    return (st as CudaStorage).ptr;
  }

  #ready(): CudaSymbols {
    if (current !== this.index) useDevice(this.index);
    return this.#s;
  }

  alloc(dtype: DType, numel: number): Storage {
    const st = new CudaStorage(this.index, numel, ITEMSIZE[dtype]);
    if (numel > 0) check(this.#s.zeno_cuda_memset0(st.ptr, st.byteLength), "alloc", dtype);
    return st;
  }

  allocUninit(dtype: DType, numel: number): Storage {
    return new CudaStorage(this.index, numel, ITEMSIZE[dtype]);
  }

  fromHost(dtype: DType, data: TypedArray): Storage {
    const st = new CudaStorage(this.index, data.length, ITEMSIZE[dtype]);
    if (data.length > 0) {
      check(this.#s.zeno_cuda_htod(st.ptr, data, data.byteLength), "fromHost (copy to the GPU)");
    }
    return st;
  }

  toHost(x: View): TypedArray {
    const s = this.#ready();
    const n = numelOf(x.shape);
    const out = new STORAGE_CTOR[x.dtype](n);
    if (n === 0) return out;
    const base = this.#addr(x, "toHost");
    const nd = layout(x.shape, [x.strides]);
    const size = ITEMSIZE[x.dtype];
    if (nd === 0 || (nd === 1 && meta[1] === 1)) {
      check(
        s.zeno_cuda_dtoh(out, base + BigInt(x.offset * size), n * size),
        "toHost (copy from the GPU)",
      );
      return out;
    }
    const tmp = this.allocUninit(x.dtype, n) as CudaStorage;
    try {
      const code = DTYPE_CODE[x.dtype];
      const nd2 = layout(x.shape, [x.strides, contiguous(x.shape)]);
      check(s.zeno_cuda_copy(code, base, x.offset, code, tmp.ptr, 0, nd2, meta), "copy", x.dtype);
      check(s.zeno_cuda_dtoh(out, tmp.ptr, n * size), "toHost (copy from the GPU)");
    } finally {
      tmp.dispose();
    }
    return out;
  }

  fill(x: View, value: number | bigint | boolean): void {
    const s = this.#ready();
    if (numelOf(x.shape) === 0) return;
    const nd = layout(x.shape, [x.strides]);
    check(
      s.zeno_cuda_fill(
        DTYPE_CODE[x.dtype],
        this.#addr(x, "fill"),
        x.offset,
        nd,
        meta,
        bitsOf(x.dtype, value),
      ),
      "fill",
      x.dtype,
    );
  }

  copy(src: View, dst: View): void {
    const s = this.#ready();
    if (numelOf(dst.shape) === 0) return;
    const a = this.#addr(src, "copy"), b = this.#addr(dst, "copy");
    const nd = layout(dst.shape, [src.strides, dst.strides]);
    check(
      s.zeno_cuda_copy(
        DTYPE_CODE[src.dtype],
        a,
        src.offset,
        DTYPE_CODE[dst.dtype],
        b,
        dst.offset,
        nd,
        meta,
      ),
      "copy",
      src.dtype === dst.dtype ? src.dtype : `${src.dtype} -> ${dst.dtype}`,
    );
  }

  unary(op: UnaryOp, x: View, out: View, params?: readonly number[]): void {
    const s = this.#ready();
    if (numelOf(out.shape) === 0) return;
    const a = this.#addr(x, op), o = this.#addr(out, op);
    const nd = layout(out.shape, [x.strides, out.strides]);
    check(
      s.zeno_cuda_unary(
        UNARY[op],
        DTYPE_CODE[x.dtype],
        a,
        x.offset,
        o,
        out.offset,
        nd,
        meta,
        params?.[0] ?? 0,
        params?.[1] ?? 0,
        params?.[2] ?? 0,
      ),
      op,
      x.dtype,
    );
  }

  binary(op: BinaryOp, a: View, b: View, out: View): void {
    const s = this.#ready();
    if (numelOf(out.shape) === 0) return;
    const pa = this.#addr(a, op), pb = this.#addr(b, op), po = this.#addr(out, op);
    const nd = layout(out.shape, [a.strides, b.strides, out.strides]);
    check(
      s.zeno_cuda_binary(
        BINARY[op],
        DTYPE_CODE[a.dtype],
        pa,
        a.offset,
        pb,
        b.offset,
        po,
        out.offset,
        nd,
        meta,
      ),
      op,
      a.dtype,
    );
  }

  where(cond: View, a: View, b: View, out: View): void {
    const s = this.#ready();
    if (numelOf(out.shape) === 0) return;
    const pc = this.#addr(cond, "where"), pa = this.#addr(a, "where");
    const pb = this.#addr(b, "where"), po = this.#addr(out, "where");
    const nd = layout(out.shape, [cond.strides, a.strides, b.strides, out.strides]);
    check(
      s.zeno_cuda_where(
        DTYPE_CODE[out.dtype],
        pc,
        cond.offset,
        pa,
        a.offset,
        pb,
        b.offset,
        po,
        out.offset,
        nd,
        meta,
      ),
      "where",
      out.dtype,
    );
  }

  reduce(op: ReduceOp, x: View, axis: Axis3, out: View | null, idx: View | null, p = 0): void {
    const s = this.#ready();
    const [outer, r, inner] = axisArgs(axis);
    if (outer * inner === 0) return;
    check(
      s.zeno_cuda_reduce(
        REDUCE[op],
        DTYPE_CODE[x.dtype],
        this.#addr(x, op),
        x.offset,
        out ? this.#addr(out, op) : 0n,
        out ? out.offset : 0,
        idx ? this.#addr(idx, op) : 0n,
        idx ? idx.offset : 0,
        outer,
        r,
        inner,
        p,
      ),
      op,
      x.dtype,
    );
  }

  scan(op: ScanOp, x: View, axis: Axis3, out: View): void {
    const s = this.#ready();
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    check(
      s.zeno_cuda_scan(
        SCAN[op],
        DTYPE_CODE[x.dtype],
        this.#addr(x, op),
        x.offset,
        this.#addr(out, op),
        out.offset,
        outer,
        r,
        inner,
      ),
      op,
      x.dtype,
    );
  }

  softmax(log: boolean, x: View, axis: Axis3, out: View): void {
    const s = this.#ready();
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    const name = log ? "logSoftmax" : "softmax";
    check(
      s.zeno_cuda_softmax(
        log ? 1 : 0,
        DTYPE_CODE[x.dtype],
        this.#addr(x, name),
        x.offset,
        this.#addr(out, name),
        out.offset,
        outer,
        r,
        inner,
      ),
      name,
      x.dtype,
    );
  }

  matmul(a: View, b: View, c: View): void {
    const s = this.#ready();
    const [batch, m, n] = c.shape;
    const k = a.shape[2];
    if (batch * m * n === 0) return;
    const pa = this.#addr(a, "matmul"), pb = this.#addr(b, "matmul"), pc = this.#addr(c, "matmul");
    matmulLayout(a.strides, b.strides);
    check(
      s.zeno_cuda_matmul(
        DTYPE_CODE[c.dtype],
        pa,
        a.offset,
        pb,
        b.offset,
        pc,
        c.offset,
        batch,
        m,
        n,
        k,
        meta,
      ),
      "matmul",
      c.dtype,
    );
  }

  indexSelect(x: View, idx: View, out: View, axis: Axis3, wrap: boolean, op: string): void {
    const s = this.#ready();
    const n = numelOf(idx.shape);
    if (n === 0 || axis.outer * axis.inner === 0) return;
    check(
      s.zeno_cuda_index_select(
        ITEMSIZE[x.dtype],
        this.#addr(x, op),
        x.offset,
        this.#addr(idx, op),
        idx.offset,
        n,
        this.#addr(out, op),
        out.offset,
        axis.outer,
        axis.r,
        axis.inner,
        wrap ? 1 : 0,
      ),
      op,
      x.dtype,
      ` for dimension with size ${axis.r}`,
    );
  }

  gather(x: View, idx: View, out: View, dim: number, op: string): void {
    const s = this.#ready();
    if (numelOf(idx.shape) === 0) return;
    const px = this.#addr(x, op), pi = this.#addr(idx, op), po = this.#addr(out, op);
    const nd = gatherLayout(idx.shape, idx.strides, x.strides, out.strides);
    check(
      s.zeno_cuda_gather(
        DTYPE_CODE[x.dtype],
        px,
        x.offset,
        pi,
        idx.offset,
        po,
        out.offset,
        nd,
        meta,
        dim,
        x.shape[dim],
      ),
      op,
      x.dtype,
      ` for dimension ${dim} with size ${x.shape[dim]}`,
    );
  }

  /**
   * Set and add run on the device; the other reductions have no device
   * kernel yet, so dst, idx and src go to the host, the CPU kernel combines
   * them there and dst comes back.
   */
  scatter(mode: ScatterMode, dst: View, idx: View, src: View, dim: number, op: string): void {
    const s = this.#ready();
    if (numelOf(idx.shape) === 0) return;
    if (mode !== "set" && mode !== "add") {
      this.#onHost([dst, idx, src], ([d, i, x]) => cpuBackend.scatter(mode, d, i, x, dim, op), [0]);
      return;
    }
    const add = mode === "add";
    const pd = this.#addr(dst, op), pi = this.#addr(idx, op), ps = this.#addr(src, op);
    const nd = gatherLayout(idx.shape, idx.strides, dst.strides, src.strides);
    check(
      s.zeno_cuda_scatter(
        add ? 1 : 0,
        DTYPE_CODE[dst.dtype],
        pd,
        dst.offset,
        pi,
        idx.offset,
        ps,
        src.offset,
        nd,
        meta,
        dim,
        dst.shape[dim],
      ),
      op,
      dst.dtype,
      ` for dimension ${dim} with size ${dst.shape[dim]}`,
    );
  }

  /**
   * The factorizations have no device kernels yet: the matrices go to the
   * host, the CPU kernel factors them there (in float64, as on the CPU), and
   * every buffer comes back (luSolve writes its right-hand side in place).
   */
  linalg(op: LinalgOp, bufs: readonly (View | null)[], dims: LinalgDims): void {
    this.#onHost(bufs, (host) => cpuBackend.linalg!(op, host, dims), bufs.map((_, i) => i));
  }

  /**
   * Runs `f` on host copies of `views` (contiguous) and copies the ones at
   * `written` back into place.
   */
  #onHost<V extends View | null>(
    views: readonly V[],
    f: (host: V[]) => void,
    written: readonly number[],
  ): void {
    const host = views.map((v) => {
      if (!v) return v;
      const data = this.toHost(v);
      const view: View = {
        storage: cpuBackend.fromHost(v.dtype, data),
        dtype: v.dtype,
        shape: v.shape,
        strides: contiguousStrides(v.shape),
        offset: 0,
      };
      return view as V;
    });
    try {
      f(host);
      for (const i of written) {
        const v = views[i], h = host[i];
        if (!v || !h) continue;
        const up = this.fromHost(v.dtype, cpuBackend.toHost(h));
        try {
          this.copy({ ...h, storage: up }, v);
        } finally {
          up.dispose();
        }
      }
    } finally {
      for (const h of host) h?.storage.dispose();
    }
  }

  sort(x: View, axis: Axis3, values: View, indices: View, descending: boolean): void {
    const s = this.#ready();
    const [outer, r, inner] = axisArgs(axis);
    if (outer * r * inner === 0) return;
    check(
      s.zeno_cuda_sort(
        DTYPE_CODE[x.dtype],
        this.#addr(x, "sort"),
        x.offset,
        this.#addr(values, "sort"),
        values.offset,
        this.#addr(indices, "sort"),
        indices.offset,
        outer,
        r,
        inner,
        descending ? 1 : 0,
      ),
      "sort",
      x.dtype,
    );
  }

  optimStep(
    kind: OptimKind,
    param: View,
    grad: View,
    states: readonly (View | null)[],
    hyper: readonly number[],
  ): void {
    const s = this.#ready();
    const op = `optim.${kind}`;
    hyperBuf.fill(0);
    for (let i = 0; i < hyper.length && i < hyperBuf.length; i++) hyperBuf[i] = hyper[i];
    const [s1, s2, s3] = [states[0] ?? null, states[1] ?? null, states[2] ?? null];
    check(
      s.zeno_cuda_optim_step(
        OPTIM[kind],
        DTYPE_CODE[param.dtype],
        this.#addr(param, op),
        param.offset,
        this.#addr(grad, op),
        grad.offset,
        s1 ? this.#addr(s1, op) : 0n,
        s1 ? s1.offset : 0,
        s2 ? this.#addr(s2, op) : 0n,
        s2 ? s2.offset : 0,
        s3 ? this.#addr(s3, op) : 0n,
        s3 ? s3.offset : 0,
        numelOf(param.shape),
        hyperBuf,
      ),
      op,
      param.dtype,
    );
  }

  /**
   * The device loop takes no bias and needs every state: a bias is added to
   * a copy of gx first, and missing states are zeros (the CPU kernel folds
   * both into its gate math instead).
   */
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
    const s = this.#ready();
    const [steps, batch] = gx.shape, hidden = wHh.shape[1];
    const temps: Storage[] = [];
    try {
      const zeros = () => this.#scratch(temps, gx.dtype, [batch, hidden], true);
      let g = gx;
      if (bias) {
        g = this.#scratch(temps, gx.dtype, gx.shape, false);
        this.binary("add", gx, { ...bias, shape: gx.shape, strides: [0, 0, bias.strides[0]] }, g);
      }
      const views = [g, wHh, h0 ?? zeros(), c0 ?? zeros(), y, ws];
      const m = rnnLayout(views, steps, batch, hidden, reverse);
      const op = "lstm";
      const p = views.map((v) => this.#addr(v, op));
      check(
        s.zeno_cuda_lstm_forward(DTYPE_CODE[gx.dtype], p[0], p[1], p[2], p[3], p[4], p[5], m),
        op,
        gx.dtype,
      );
    } finally {
      for (const t of temps) t.dispose();
    }
  }

  /** A contiguous scratch buffer (zero-filled with `zero`), recorded in `temps` to dispose. */
  #scratch(temps: Storage[], dtype: DType, shape: readonly number[], zero: boolean): View {
    const storage = this.allocUninit(dtype, numelOf(shape));
    temps.push(storage);
    const v: View = { storage, dtype, shape, strides: contiguousStrides(shape), offset: 0 };
    if (zero) this.fill(v, 0);
    return v;
  }

  /** As lstm: missing c0 and dh0 are a zero state and a scratch buffer. */
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
    const s = this.#ready();
    const [steps, batch, hidden] = dy.shape;
    const temps: Storage[] = [];
    try {
      const state = (zero: boolean) => this.#scratch(temps, dy.dtype, [batch, hidden], zero);
      // The device export still takes h0 and y (unread): any operand fills them.
      const c = c0 ?? state(true);
      const views = [wHh, c, c, dy, ws, dy, dcLast, dg, dh0 ?? state(false), dc0];
      const m = rnnLayout(views, steps, batch, hidden, reverse);
      const op = "lstm backward";
      const p = views.map((v) => this.#addr(v, op));
      check(
        s.zeno_cuda_lstm_backward(
          DTYPE_CODE[dy.dtype],
          p[0],
          p[1],
          p[2],
          p[3],
          p[4],
          p[5],
          p[6],
          p[7],
          p[8],
          p[9],
          m,
        ),
        op,
        dy.dtype,
      );
    } finally {
      for (const t of temps) t.dispose();
    }
  }

  gru(gx: View, wHh: View, bHh: View, h0: View, y: View, ws: View, reverse: boolean): void {
    const s = this.#ready();
    const [steps, batch] = gx.shape, hidden = wHh.shape[1];
    const views = [gx, wHh, bHh, h0, y, ws];
    const m = rnnLayout(views, steps, batch, hidden, reverse);
    const op = "gru";
    const p = views.map((v) => this.#addr(v, op));
    check(
      s.zeno_cuda_gru_forward(DTYPE_CODE[gx.dtype], p[0], p[1], p[2], p[3], p[4], p[5], m),
      op,
      gx.dtype,
    );
  }

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
    const s = this.#ready();
    const [steps, batch, hidden] = y.shape;
    const views = [wHh, h0, y, ws, dy, dgx, dgh, dh0];
    const m = rnnLayout(views, steps, batch, hidden, reverse);
    const op = "gru backward";
    const p = views.map((v) => this.#addr(v, op));
    check(
      s.zeno_cuda_gru_backward(
        DTYPE_CODE[y.dtype],
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        m,
      ),
      op,
      y.dtype,
    );
  }

  /** The fused attention kernels keep a row per thread in registers: head dims up to this. */
  readonly attentionMaxHeadDim = 128;

  attention(q: View, k: View, v: View, o: View, lse: View, scale: number, causal: boolean): void {
    const s = this.#ready();
    const [n, l, e] = q.shape, sl = k.shape[1], ev = v.shape[2];
    const views = [q, k, v, o, lse];
    const m = attentionLayout(views, n, l, sl, e, ev, causal);
    const op = "scaledDotProductAttention";
    const p = views.map((x) => this.#addr(x, op));
    check(
      s.zeno_cuda_attention_forward(DTYPE_CODE[q.dtype], p[0], p[1], p[2], p[3], p[4], m, scale),
      op,
      q.dtype,
    );
  }

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
    const s = this.#ready();
    const [n, l, e] = q.shape, sl = k.shape[1], ev = v.shape[2];
    const views = [q, k, v, o, dout, lse, dq, dk, dv];
    const m = attentionLayout(views, n, l, sl, e, ev, causal);
    const op = "scaledDotProductAttention backward";
    const p = views.map((x) => this.#addr(x, op));
    check(
      s.zeno_cuda_attention_backward(
        DTYPE_CODE[q.dtype],
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        p[8],
        m,
        scale,
      ),
      op,
      q.dtype,
    );
  }

  window2d(
    op: Window2dOp,
    src: View,
    dst: View,
    idx: View | null,
    geom: Window2d,
    avg?: { countIncludePad: boolean; divisorOverride: number },
  ): void {
    const s = this.#ready();
    if (geom.batch * geom.channels === 0) return;
    const ps = this.#addr(src, op), pd = this.#addr(dst, op);
    const pi = idx ? this.#addr(idx, op) : 0n;
    windowLayout(geom);
    check(
      s.zeno_cuda_window2d(
        WINDOW2D[op],
        DTYPE_CODE[src.dtype],
        ps,
        src.offset,
        pd,
        dst.offset,
        pi,
        idx ? idx.offset : 0,
        meta,
        avg?.countIncludePad === false ? 0 : 1,
        avg?.divisorOverride ?? 0,
      ),
      op,
      src.dtype,
    );
  }
}

function contiguous(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

/** @internal The number of CUDA devices (0 when unavailable). */
export function cudaDeviceCount(): number {
  const s = cudaSymbols();
  if (!s) return 0;
  try {
    return Math.max(0, s.zeno_cuda_device_count());
  } catch {
    return 0;
  }
}

let tf32 = false;

/** @internal The TF32 switch (zn.cuda.matmul.allowTF32). */
export function getAllowTF32(): boolean {
  return tf32;
}

/** @internal Sets the TF32 switch; applied now when CUDA is up, else at initialisation. */
export function setAllowTF32(on: boolean): void {
  const s = cudaSymbols();
  if (s) check(s.zeno_cuda_set_allow_tf32(on ? 1 : 0), "matmul.allowTF32");
  tf32 = on;
}

/** @internal Makes `index` the current device (used by zn.cuda). */
export function selectDevice(index: number): void {
  useDevice(index);
}

/** @internal Throws the status's error (used by zn.cuda). */
export function checkStatus(status: number, op: string): void {
  check(status, op);
}

registerBackendFactory("cuda", (index, device) => {
  cuda(); // throws "CUDA is not available: <reason>" before anything else runs
  const n = cudaDeviceCount();
  if (index >= n) {
    throw new RangeError(
      `invalid device "${device}": CUDA device index ${index} is out of range (${n} device${
        n === 1 ? "" : "s"
      } available)`,
    );
  }
  useDevice(index);
  return new CudaBackend(index);
});
