/**
 * A stand-in GPU for machines without one: the CUDA exports of the design
 * note (zig/src/cuda/DESIGN.md) implemented on host memory, each kernel
 * forwarded to the CPU kernel of the same name. Importing this module installs
 * it, so the CUDA backend's TypeScript (argument order, layouts, null
 * operands, the allocator's accounting, dispose and tidy) runs for real;
 * tests/cuda_mock_test.ts runs the whole of tests/cuda_test.ts on it.
 *
 * @module
 */
import { library } from "../ffi/loader.ts";
import { type CudaSymbols, installCudaSymbolsForTests } from "../src/cuda_backend.ts";

const cpu = library().symbols;

/** Simulated device memory: allocations fail beyond this many bytes. */
export const MOCK_CAPACITY = 8 * 1024 ** 3;

const blocks = new Map<bigint, Uint8Array>();
let next = 0x7f0000000000n;
const stats = { allocated: 0, maxAllocated: 0, allocs: 0, frees: 0 };
let lastMessage = "";

function fail(status: number, message: string): number {
  lastMessage = message;
  return status;
}

/** The allocation holding `addr`, and the byte offset of `addr` in it. */
function find(addr: bigint): [Uint8Array, number] {
  const b = blocks.get(addr);
  if (b) return [b, 0];
  for (const [base, buf] of blocks) {
    if (addr >= base && addr < base + BigInt(Math.max(buf.length, 1))) {
      return [buf, Number(addr - base)];
    }
  }
  throw new Error(`mock GPU: 0x${addr.toString(16)} is not in a live allocation`);
}

/** A kernel operand: the allocation's bytes (the element offset is applied by the kernel). */
function buf(addr: bigint | number): Uint8Array | null {
  if (addr === 0n || addr === 0) return null;
  const [b, at] = find(BigInt(addr));
  if (at !== 0) throw new Error("mock GPU: kernel operands must be allocation bases");
  return b;
}

type AnyFn = (...args: unknown[]) => number;
const c = cpu as unknown as Record<string, AnyFn>;

const mock = {
  zeno_bad_index: () => cpu.zeno_bad_index(),
  zeno_cuda_init: () => 0,
  zeno_cuda_device_count: () => 1,
  zeno_cuda_device_name: (dev: number, out: Uint8Array, len: number) => {
    if (dev !== 0) return -1;
    const name = new TextEncoder().encode("Mock GPU (host memory)");
    out.set(name.subarray(0, len));
    return name.length;
  },
  zeno_cuda_device_props: (dev: number, out: Float64Array) => {
    if (dev !== 0) return 1;
    out.set([MOCK_CAPACITY, 4, 9, 0, 1024, 49152, 1 << 20, 1_000_000]);
    return 0;
  },
  zeno_cuda_set_device: (dev: number) => dev === 0 ? 0 : fail(3, `no device ${dev}`),
  zeno_cuda_last_error: (out: Uint8Array, len: number) => {
    const m = new TextEncoder().encode(lastMessage);
    out.set(m.subarray(0, len));
    return m.length;
  },
  zeno_cuda_malloc: (bytes: number, out: BigUint64Array) => {
    if (!(bytes >= 0) || !Number.isInteger(bytes)) return fail(1, `malloc: bad size ${bytes}`);
    if (stats.allocated + bytes > MOCK_CAPACITY) {
      return fail(
        5,
        `cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY: out of memory (${bytes} bytes, after emptying the cache)`,
      );
    }
    const addr = next;
    next += BigInt(Math.ceil(Math.max(bytes, 1) / 256) * 256);
    blocks.set(addr, new Uint8Array(bytes));
    stats.allocated += bytes;
    stats.maxAllocated = Math.max(stats.maxAllocated, stats.allocated);
    stats.allocs++;
    out[0] = addr;
    return 0;
  },
  zeno_cuda_free: (addr: bigint) => {
    const b = blocks.get(addr);
    if (!b) return fail(1, `free: 0x${addr.toString(16)} is not a live allocation`);
    blocks.delete(addr);
    stats.allocated -= b.length;
    stats.frees++;
    return 0;
  },
  zeno_cuda_empty_cache: () => 0,
  zeno_cuda_memory_stats: (out: Float64Array) => {
    out.set([
      stats.allocated,
      stats.maxAllocated,
      stats.allocated,
      stats.maxAllocated,
      stats.allocs,
      stats.frees,
      0,
      0,
    ]);
    return 0;
  },
  zeno_cuda_reset_peak: () => {
    stats.maxAllocated = stats.allocated;
    return 0;
  },
  zeno_cuda_synchronize: () => 0,
  zeno_cuda_set_allow_tf32: () => 0,
  zeno_cuda_htod: (dst: bigint, src: ArrayBufferView, bytes: number) => {
    const [b, at] = find(dst);
    b.set(new Uint8Array(src.buffer, src.byteOffset, bytes), at);
    return 0;
  },
  zeno_cuda_dtoh: (dst: ArrayBufferView, src: bigint, bytes: number) => {
    const [b, at] = find(src);
    new Uint8Array(dst.buffer, dst.byteOffset, bytes).set(b.subarray(at, at + bytes));
    return 0;
  },
  zeno_cuda_dtod: (dst: bigint, src: bigint, bytes: number) => {
    const [d, dat] = find(dst);
    const [s, sat] = find(src);
    d.set(s.subarray(sat, sat + bytes), dat);
    return 0;
  },
  zeno_cuda_memset0: (dst: bigint, bytes: number) => {
    const [b, at] = find(dst);
    b.fill(0, at, at + bytes);
    return 0;
  },
  zeno_cuda_fill: (
    dtype: number,
    dst: bigint,
    doff: number,
    nd: number,
    meta: Int32Array,
    bits: bigint,
  ) => {
    // A copy from one element (the bit pattern) with zero strides.
    const one = new BigUint64Array([bits]);
    const m = new Int32Array(3 * nd + 1);
    for (let d = 0; d < nd; d++) {
      m[d] = meta[d];
      m[2 * nd + d] = meta[nd + d];
    }
    return cpu.zeno_copy(dtype, one, 0, dtype, buf(dst), doff, nd, m);
  },
} as Record<string, unknown>;

/** Kernels: every (u64 address, f64 offset) pair becomes (buffer, i32 offset). */
const KERNELS: Record<string, number[]> = {
  // name: the argument positions that hold addresses
  copy: [1, 4],
  unary: [2, 4],
  binary: [2, 4, 6],
  where: [1, 3, 5, 7],
  reduce: [2, 4, 6],
  scan: [2, 4],
  softmax: [2, 4],
  matmul: [1, 3, 5],
  index_select: [1, 3, 6],
  gather: [1, 3, 5],
  scatter: [2, 4, 6],
  sort: [1, 3, 5],
  optim_step: [2, 4, 6, 8, 10],
  window2d: [2, 4, 6],
};
/** Kernels whose offsets travel in meta: every u64 address becomes its allocation's buffer. */
const META_KERNELS: Record<string, number[]> = {
  gru_forward: [1, 2, 3, 4, 5, 6],
  gru_backward: [1, 2, 3, 4, 5, 6, 7, 8],
  attention_forward: [1, 2, 3, 4, 5],
  attention_backward: [1, 2, 3, 4, 5, 6, 7, 8, 9],
};
for (const [name, addrs] of Object.entries({ ...KERNELS, ...META_KERNELS })) {
  const target = c[`zeno_${name}`];
  mock[`zeno_cuda_${name}`] = (...args: unknown[]) => {
    const a = args.slice();
    for (const i of addrs) a[i] = buf(a[i] as bigint);
    return target(...a);
  };
}

// The CPU matmul reads an accumulate flag after the six strides; the device one has none.
mock.zeno_cuda_matmul = (...args: unknown[]) => {
  const a = args.slice();
  for (const i of KERNELS.matmul) a[i] = buf(a[i] as bigint);
  a[11] = Int32Array.of(...(a[11] as Int32Array).slice(0, 6), 0);
  return c.zeno_matmul(...a);
};

// The device LSTM loop takes no bias and every state (the backend supplies
// them); the CPU export takes a bias and drops the backward's unread h0 and y.
mock.zeno_cuda_lstm_forward = (dtype: number, ...rest: unknown[]) => {
  const [gx, w, h0, c0, y, ws] = (rest.slice(0, 6) as bigint[]).map(buf);
  const m = rest[6] as Int32Array;
  const meta = Int32Array.of(m[0], m[1], 0, ...m.slice(2, 10));
  return c.zeno_lstm_forward(dtype, gx, w, null, h0, c0, y, ws, meta);
};
mock.zeno_cuda_lstm_backward = (dtype: number, ...rest: unknown[]) => {
  const [w, , c0, , ws, dy, dcl, dg, dh0, dc0] = (rest.slice(0, 10) as bigint[]).map(buf);
  const m = rest[10] as Int32Array;
  const meta = Int32Array.of(m[0], m[2], m[4], m[5], m[6], m[7], m[8], m[9], ...m.slice(10, 14));
  return c.zeno_lstm_backward(dtype, w, c0, ws, dy, dcl, dg, dh0, dc0, meta);
};

installCudaSymbolsForTests(mock as unknown as CudaSymbols);

/** Live allocations of the stand-in (for tests). */
export function liveBlocks(): number {
  return blocks.size;
}
