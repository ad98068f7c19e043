/**
 * `zn.cuda`: device queries, synchronisation, the caching allocator's
 * statistics and the TF32 switch, in the shape of `torch.cuda`.
 *
 * Without a GPU (or a driver) `isAvailable()` is false and `deviceCount()`
 * is 0; the other functions throw "CUDA is not available: <reason>".
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const device = zn.cuda.isAvailable() ? "cuda" : "cpu";
 * const x = zn.randn([2, 2], { device });
 * x.device; // "cuda:0" or "cpu"
 * ```
 *
 * @module
 */
import {
  checkStatus,
  cuda,
  cudaDeviceCount,
  cudaSymbols,
  cudaUnavailableReason,
  getAllowTF32,
  rawMemoryStats,
  selectDevice,
  setAllowTF32,
} from "./cuda_backend.ts";
import { checkOptions } from "./options.ts";

/**
 * True when a CUDA driver and at least one device are present. Never throws.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cuda.isAvailable(); // false on a machine without a GPU
 * ```
 */
export function isAvailable(): boolean {
  return cudaSymbols() !== undefined && cudaDeviceCount() > 0;
}

/**
 * Why CUDA is not available ("" when it is).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (!zn.cuda.isAvailable()) console.log(zn.cuda.unavailableReason());
 * ```
 */
export function unavailableReason(): string {
  return cudaUnavailableReason();
}

/**
 * The number of CUDA devices (0 without a driver). Never throws.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cuda.deviceCount(); // 0 without a GPU
 * ```
 */
export function deviceCount(): number {
  return cudaDeviceCount();
}

function deviceIndex(device: number | string | undefined, op: string): number {
  if (device === undefined) return 0;
  let i: number;
  if (typeof device === "number") i = device;
  else {
    const m = /^cuda(?::(\d+))?$/.exec(device);
    if (!m) throw new RangeError(`${op}: expected a CUDA device such as "cuda:0", got "${device}"`);
    i = m[1] === undefined ? 0 : Number(m[1]);
  }
  cuda();
  const n = cudaDeviceCount();
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(`${op}: invalid CUDA device index ${i} (${n} device(s) available)`);
  }
  return i;
}

/**
 * The name of a device, e.g. "NVIDIA H100 80GB HBM3".
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.getDeviceName(0); // needs a GPU
 * ```
 */
export function getDeviceName(device?: number | string): string {
  const i = deviceIndex(device, "getDeviceName");
  const buf = new Uint8Array(256);
  const n = cuda().zeno_cuda_device_name(i, buf, buf.length);
  if (n < 0) checkStatus(-n, "getDeviceName");
  return new TextDecoder().decode(buf.subarray(0, Math.min(n, buf.length)));
}

/**
 * What {@link getDeviceProperties} reports.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.cuda.isAvailable()) {
 *   const p: zn.cuda.DeviceProperties = zn.cuda.getDeviceProperties(0);
 *   console.log(p.name, `sm_${p.major}${p.minor}`, p.totalMemory);
 * }
 * ```
 */
export interface DeviceProperties {
  /** The device's name. */
  name: string;
  /** Global memory in bytes. */
  totalMemory: number;
  /** Number of streaming multiprocessors. */
  multiProcessorCount: number;
  /** Compute capability major version. */
  major: number;
  /** Compute capability minor version. */
  minor: number;
  /** Maximum threads per block. */
  maxThreadsPerBlock: number;
  /** Shared memory per block in bytes. */
  sharedMemoryPerBlock: number;
  /** L2 cache size in bytes. */
  l2CacheSize: number;
  /** Clock rate in kHz. */
  clockRateKHz: number;
}

/**
 * Properties of a device, like `torch.cuda.get_device_properties`.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.getDeviceProperties(0).totalMemory; // needs a GPU
 * ```
 */
export function getDeviceProperties(device?: number | string): DeviceProperties {
  const i = deviceIndex(device, "getDeviceProperties");
  const p = new Float64Array(8);
  checkStatus(cuda().zeno_cuda_device_props(i, p), "getDeviceProperties");
  return {
    name: getDeviceName(i),
    totalMemory: p[0],
    multiProcessorCount: p[1],
    major: p[2],
    minor: p[3],
    maxThreadsPerBlock: p[4],
    sharedMemoryPerBlock: p[5],
    l2CacheSize: p[6],
    clockRateKHz: p[7],
  };
}

/**
 * Waits until every kernel queued on the device has finished. (Reading a
 * tensor back, with `toArray`, `item` or printing, synchronises by itself.)
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.synchronize(); // needs a GPU
 * ```
 */
export function synchronize(device?: number | string): void {
  const i = deviceIndex(device, "synchronize");
  selectDevice(i);
  checkStatus(cuda().zeno_cuda_synchronize(), "synchronize");
}

/**
 * Returns the caching allocator's unused blocks to the driver
 * (`torch.cuda.empty_cache`); tensors in use are not touched.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.emptyCache(); // needs a GPU
 * ```
 */
export function emptyCache(): void {
  checkStatus(cuda().zeno_cuda_empty_cache(), "emptyCache");
}

/**
 * The caching allocator's statistics (bytes and counts).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * if (zn.cuda.isAvailable()) {
 *   const s: zn.cuda.MemoryStats = zn.cuda.memoryStats();
 *   console.log(s.allocatedBytes, s.reservedBytes, s.cacheHits);
 * }
 * ```
 */
export interface MemoryStats {
  /** Bytes held by live tensors. */
  allocatedBytes: number;
  /** Peak of allocatedBytes since start or the last reset. */
  maxAllocatedBytes: number;
  /** Bytes held from the driver (in use plus cached). */
  reservedBytes: number;
  /** Peak of reservedBytes. */
  maxReservedBytes: number;
  /** Number of allocations. */
  allocCount: number;
  /** Number of frees. */
  freeCount: number;
  /** Allocations served from the cache. */
  cacheHits: number;
  /** Allocations retried after emptying the cache on out of memory. */
  oomRetries: number;
}

/**
 * The allocator's statistics, like `torch.cuda.memory_stats`.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.memoryStats().cacheHits; // needs a GPU
 * ```
 */
export function memoryStats(): MemoryStats {
  const s = rawMemoryStats();
  return {
    allocatedBytes: s[0],
    maxAllocatedBytes: s[1],
    reservedBytes: s[2],
    maxReservedBytes: s[3],
    allocCount: s[4],
    freeCount: s[5],
    cacheHits: s[6],
    oomRetries: s[7],
  };
}

/**
 * Bytes held by live tensors (`torch.cuda.memory_allocated`).
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const before = zn.cuda.memoryAllocated(); // needs a GPU
 * ```
 */
export function memoryAllocated(): number {
  return rawMemoryStats()[0];
}

/**
 * Peak of {@link memoryAllocated} since start or {@link resetPeakMemoryStats}.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.maxMemoryAllocated(); // needs a GPU
 * ```
 */
export function maxMemoryAllocated(): number {
  return rawMemoryStats()[1];
}

/**
 * Bytes the caching allocator holds from the driver (`torch.cuda.memory_reserved`).
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.memoryReserved(); // needs a GPU
 * ```
 */
export function memoryReserved(): number {
  return rawMemoryStats()[2];
}

/**
 * Resets the peaks to the current values.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * zn.cuda.resetPeakMemoryStats(); // needs a GPU
 * ```
 */
export function resetPeakMemoryStats(): void {
  checkStatus(cuda().zeno_cuda_reset_peak(), "resetPeakMemoryStats");
}

const MATMUL_KEYS = ["allowTF32"] as const;

/**
 * Matmul settings: `allowTF32` lets float32 matmuls use TF32 tensor cores
 * (faster, about 10 mantissa bits), like
 * `torch.backends.cuda.matmul.allow_tf32`. Default false.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.cuda.matmul.allowTF32; // false
 * // zn.cuda.matmul.allowTF32 = true; // on a GPU machine
 * ```
 */
export const matmul: { allowTF32: boolean } = new Proxy({
  get allowTF32(): boolean {
    return getAllowTF32();
  },
  set allowTF32(on: boolean) {
    if (typeof on !== "boolean") throw new TypeError("matmul.allowTF32: expected a boolean");
    setAllowTF32(on);
  },
}, {
  // A misspelt setting (`allow_tf32`) is an error, not a new property that nothing reads.
  set(target, key, value) {
    if (typeof key === "string") checkOptions("cuda.matmul", { [key]: value }, MATMUL_KEYS);
    return Reflect.set(target, key, value);
  },
});
