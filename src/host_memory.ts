/**
 * Memory for large CPU tensors from the native library's pool, which the
 * garbage collector refills (zig/src/host_memory.zig).
 *
 * An ArrayBuffer that V8 allocates is zero-filled every time, from memory
 * freed whenever the collector last ran. A loop that drops its results (no
 * `dispose()`, no `zn.tidy`) paid that zero fill, and cold caches, for every
 * large result. Buffers from the pool are Node-API external ArrayBuffers
 * whose finalizer gives the memory back to the pool as soon as the collector
 * frees them (Deno runs it during synchronous code too), and the next result
 * of that size takes it without a fill. The library is loaded a second time
 * for this, as a Node-API module (`process.dlopen`); where that is not
 * possible, or with `ZENO_HOST_POOL=0`, buffers are V8's own.
 *
 * @module
 */
import process from "node:process";
import { env, library } from "../ffi/loader.ts";

type Alloc = (bytes: number, zero: boolean) => ArrayBuffer | null;

let alloc: Alloc | null | undefined;

/** The pool's `alloc`, loaded on first use; null where it is unavailable. */
function pool(): Alloc | null {
  if (alloc === undefined) alloc = load();
  return alloc;
}

function load(): Alloc | null {
  if (env("ZENO_HOST_POOL") === "0") return null;
  try {
    const module = { exports: {} as { alloc?: unknown } };
    process.dlopen(module, library().path);
    const f = module.exports.alloc;
    return typeof f === "function" ? f as Alloc : null;
  } catch {
    return null; // no Node-API here: V8's buffers serve
  }
}

/**
 * @internal An ArrayBuffer of `bytes` bytes (an integer, at least 1) from the
 * pool, zero-filled when `zero`, its start on a 64-byte boundary (a 2 MiB one
 * from 32 MiB on); null when the pool is unavailable or refuses.
 */
export function pooledBuffer(bytes: number, zero: boolean): ArrayBuffer | null {
  const f = pool();
  return f === null ? null : f(bytes, zero);
}

/** @internal Whether buffers come from the pool (loads it on first call). */
export function hostPoolActive(): boolean {
  return pool() !== null;
}

/** The pool's counters (see {@link hostPoolStats}). */
export interface HostPoolStats {
  /** Bytes of free blocks waiting in the pool. */
  pooledBytes: number;
  /** Bytes of blocks behind live (not yet collected) buffers. */
  outstandingBytes: number;
  /** Blocks allocated. */
  fresh: number;
  /** Blocks handed out again. */
  reused: number;
  /** Blocks given back by the collector. */
  returned: number;
  /** The most bytes the pool keeps. */
  poolLimit: number;
}

const statsBuf = new Float64Array(6);

/** @internal The pool's counters. */
export function hostPoolStats(): HostPoolStats {
  library().symbols.zeno_host_memory_stats(statsBuf);
  const [pooledBytes, outstandingBytes, fresh, reused, returned, poolLimit] = statsBuf;
  return { pooledBytes, outstandingBytes, fresh, reused, returned, poolLimit };
}
