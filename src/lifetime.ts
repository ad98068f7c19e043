/**
 * Tensor lifetimes: `dispose`, `tidy` scopes and long-lived holds.
 *
 * The garbage collector reclaims CPU tensors (typed arrays) by itself, also
 * inside synchronous loops: large ones (64 KiB and up) go back to the native
 * library's pool for the next result of their size (src/host_memory.ts),
 * smaller ones to V8, which zero-fills their memory again. Device memory
 * (CUDA) lives outside the JavaScript heap: a `FinalizationRegistry` frees it
 * only after the event loop turns, which never happens inside a synchronous training
 * loop. So memory is also released deterministically, device memory to its
 * caching allocator and CPU arrays to a pool that the next results of the
 * same size reuse (src/cpu_backend.ts):
 *
 * - **`t.dispose()`** (or `using t = ...`) releases the tensor's memory at
 *   once, and with it every view sharing that memory, unless a long-lived
 *   holder (see below) shares it, in which case only `t` is retired. Using a
 *   disposed tensor throws "tensor was disposed".
 * - **`zn.tidy(fn)`** runs `fn` in a scope. Every storage first seen by a
 *   tensor created inside the scope is released when the scope ends, except
 *   the storages of tensors reachable from the return value (a tensor, or
 *   arrays, Maps, Sets and plain objects holding tensors, nested) and those
 *   with a long-lived holder. Returned tensors move to the enclosing scope.
 *   Scopes nest; `fn` must be synchronous.
 * - **Long-lived holders** are: a leaf's `.grad` (set by backward), module
 *   parameters and buffers, optimizer state, and tensors passed to
 *   `zn.keep(t)`. When a holder lets go (backward replaces a `.grad`,
 *   `zeroGrad` drops it, a buffer is reassigned) and nothing else holds the
 *   storage, the enclosing tidy scope releases it at its end (outside a
 *   scope, the finalizer does).
 * - Views share storage, so the bookkeeping is per storage: a view returned
 *   from a scope keeps its base's memory alive.
 *
 * Backward and optimizer steps run in internal scopes that release their
 * temporaries as soon as they finish (a backward with gradient hooks or
 * `createGraph` keeps them: a hook may store the gradient it sees).
 *
 * @module
 */
import type { Storage } from "./backend.ts";
import { Tensor } from "./tensor.ts";

interface Scope {
  storages: Set<Storage>;
  /** Internal scopes never adopt released holds. */
  internal: boolean;
}

const scopes: Scope[] = [];

/** @internal The error for a tensor whose memory was released. */
export function disposedError(op?: string): Error {
  return new Error(
    `${
      op ? `${op}: ` : ""
    }tensor was disposed (its memory was released by dispose() or at the end of a zn.tidy scope; return it from the scope or pass it to zn.keep to keep it)`,
  );
}

/** @internal The error for operands on two devices. */
export function deviceMismatch(op: string, a: string, b: string): Error {
  return new Error(`${op}: expected all tensors on the same device, but found ${a} and ${b}`);
}

/** @internal Called by the Tensor constructor when a storage is first seen. */
export function track(s: Storage): void {
  s.tracked = true;
  // No scope: nothing to add (and no scopes[-1], a slow property lookup).
  const n = scopes.length;
  if (n !== 0) scopes[n - 1].storages.add(s);
}

/** @internal Adds a long-lived hold on `t`'s storage. */
export function hold(t: Tensor): void {
  t.holds++;
  t.storage.owners++;
}

/**
 * @internal Drops one hold of `t`; when nothing holds the storage any more,
 * the nearest user scope releases it at its end.
 */
export function unhold(t: Tensor): void {
  if (t.holds <= 0) return;
  t.holds--;
  const s = t.storage;
  s.owners--;
  if (s.owners === 0 && !s.disposed) adopt(s);
}

function adopt(s: Storage): void {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (!scopes[i].internal) {
      scopes[i].storages.add(s);
      return;
    }
  }
}

/** @internal Releases `t` (see {@link Tensor.dispose}). */
export function disposeTensor(t: Tensor): void {
  while (t.holds > 0) {
    t.holds--;
    t.storage.owners--;
  }
  if (t.storage.owners <= 0) t.storage.dispose();
}

function collect(v: unknown, keep: Set<Storage>, seen: Set<unknown>): void {
  if (v === null || typeof v !== "object" || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Tensor) {
    keep.add(v.storage);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collect(x, keep, seen);
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      collect(k, keep, seen);
      collect(x, keep, seen);
    }
  } else if (v instanceof Set) {
    for (const x of v) collect(x, keep, seen);
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      for (const k in v) collect((v as Record<string, unknown>)[k], keep, seen);
    }
  }
}

/** @internal Opens a scope; pair with {@link endScope}. */
export function beginScope(internal = false): Scope {
  const s: Scope = { storages: new Set(), internal };
  scopes.push(s);
  return s;
}

/** @internal Closes `scope`, releasing what it owns except what `result` reaches. */
export function endScope(scope: Scope, result: unknown): void {
  const at = scopes.lastIndexOf(scope);
  if (at < 0) return;
  // Scopes opened inside and left open (an exception between begin and end) close too.
  while (scopes.length > at + 1) endScope(scopes[scopes.length - 1], undefined);
  scopes.pop();
  const keep = new Set<Storage>();
  collect(result, keep, new Set());
  const parent = scopes.length !== 0 ? scopes[scopes.length - 1] : undefined;
  for (const s of scope.storages) {
    if (s.disposed || s.owners > 0) continue;
    if (keep.has(s)) {
      parent?.storages.add(s);
      continue;
    }
    s.dispose();
  }
  scope.storages.clear();
}

/** @internal Runs `fn` in an internal scope that releases its device temporaries. */
export function internalScope<T>(fn: () => T, keepOf: (r: T) => unknown = (r) => r): T {
  const scope = beginScope(true);
  let r: T;
  try {
    r = fn();
  } catch (e) {
    endScope(scope, undefined);
    throw e;
  }
  endScope(scope, keepOf(r));
  return r;
}

/**
 * Runs `fn` and releases the memory of every tensor created inside it, except
 * the tensors its return value reaches (a tensor, or arrays, Maps, Sets and
 * plain objects of them, nested) and those held by long-lived places (a
 * leaf's `.grad`, module parameters and buffers, optimizer state,
 * {@link keep}). This keeps device memory flat in a training loop. Scopes
 * nest. `fn` must be synchronous: a returned Promise is refused.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([4, 3]);
 * const y = zn.tidy(() => x.mul(2).add(1).sum()); // the temporaries are released
 * y.item();
 * ```
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new TypeError("tidy: expected a function");
  const scope = beginScope(false);
  let r: T;
  try {
    r = fn();
  } catch (e) {
    endScope(scope, undefined);
    throw e;
  }
  if (r !== null && typeof r === "object" && typeof (r as { then?: unknown }).then === "function") {
    endScope(scope, undefined);
    Promise.resolve(r).catch(() => {});
    throw new TypeError(
      "tidy: the function returned a Promise; tidy only runs synchronous functions (release tensors of async code with dispose() or `using`)",
    );
  }
  endScope(scope, r);
  return r;
}

/**
 * Keeps `t` (its memory) beyond the enclosing {@link tidy} scopes, until
 * `t.dispose()`. Returns `t`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * let best: zn.Tensor | null = null;
 * zn.tidy(() => {
 *   best = zn.keep(zn.randn([3]).abs());
 * });
 * best!.toArray(); // still usable
 * ```
 */
export function keep<T extends Tensor>(t: T): T {
  if (!(t instanceof Tensor)) throw new TypeError("keep: expected a Tensor");
  hold(t);
  return t;
}

/**
 * The number of open {@link tidy} scopes (internal ones included).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tidy(() => zn.scopeDepth()); // 1
 * ```
 */
export function scopeDepth(): number {
  return scopes.length;
}
