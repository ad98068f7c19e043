/**
 * Dynamic batching: requests that arrive close together run as one forward
 * pass. A batch leaves the queue when it holds `maxBatch` examples, when its
 * oldest request has waited `maxDelayMs`, or at once when no batch is
 * running (an idle server adds no delay). Requests batch together when they
 * share a dtype and a per-example shape. The queue is bounded: a request
 * that would take it past `maxQueue` examples is refused with 503.
 *
 * @module
 */
import { STORAGE_CTOR, type TypedArray } from "../dtype.ts";
import { HttpError, type TensorPayload } from "./protocol.ts";

/**
 * Options of a {@link DynamicBatcher}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.serve.BatcherOptions = { maxBatch: 32, maxDelayMs: 2, maxQueue: 1024, slots: 2 };
 * ```
 */
export interface BatcherOptions {
  /** Examples per forward pass at most (a larger request runs alone). */
  maxBatch: number;
  /** How long a request may wait for others to join its batch, in milliseconds. */
  maxDelayMs: number;
  /** Examples that may wait at once; more get 503. */
  maxQueue: number;
  /** Batches that may run at once (the worker count). */
  slots: number;
}

interface Pending {
  p: TensorPayload;
  rows: number;
  key: string;
  t: number;
  resolve: (p: TensorPayload) => void;
  reject: (e: unknown) => void;
}

/** One tensor of the rows of `parts`, in order. */
function concatRows(parts: readonly TensorPayload[]): TensorPayload {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  let total = 0, rows = 0;
  for (const p of parts) {
    total += p.data.length;
    rows += p.shape[0];
  }
  const data = new STORAGE_CTOR[first.dtype](total) as TypedArray;
  let at = 0;
  for (const p of parts) {
    (data as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(p.data, at);
    at += p.data.length;
  }
  return { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], data };
}

/**
 * Collects requests into batches and runs each batch with `run`, resolving
 * every request with its own rows of the batch's output.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const double = (p: zn.serve.TensorPayload) =>
 *   Promise.resolve({ ...p, data: (p.data as Float32Array).map((v) => v * 2) });
 * const b = new zn.serve.DynamicBatcher(double, {
 *   maxBatch: 8,
 *   maxDelayMs: 1,
 *   maxQueue: 64,
 *   slots: 1,
 * });
 * const out = await b.submit({ dtype: "float32", shape: [1, 2], data: new Float32Array([1, 2]) });
 * out.data; // Float32Array [2, 4]
 * ```
 */
export class DynamicBatcher {
  readonly #run: (p: TensorPayload) => Promise<TensorPayload>;
  readonly #opts: BatcherOptions;
  readonly #queue: Pending[] = [];
  #queuedRows = 0;
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #idleWaiters: (() => void)[] = [];
  /** Called with each batch's example count as it starts. */
  onBatch: ((rows: number) => void) | null = null;

  /**
   * @param run Runs one batch; its output's first dim must be the batch's.
   * @param opts Batch size, delay, queue bound and concurrency.
   */
  constructor(run: (p: TensorPayload) => Promise<TensorPayload>, opts: BatcherOptions) {
    for (const k of ["maxBatch", "maxQueue", "slots"] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) {
        throw new RangeError(`DynamicBatcher: ${k} must be a positive integer, got ${opts[k]}`);
      }
    }
    if (!(opts.maxDelayMs >= 0)) {
      throw new RangeError(`DynamicBatcher: maxDelayMs must be at least 0, got ${opts.maxDelayMs}`);
    }
    this.#run = run;
    this.#opts = { ...opts };
  }

  /** Examples waiting for a batch. */
  get queued(): number {
    return this.#queuedRows;
  }

  /** Batches running now. */
  get running(): number {
    return this.#running;
  }

  /** Queues a request (its first dim is its example count); resolves with its rows of the output. */
  submit(p: TensorPayload): Promise<TensorPayload> {
    const rows = p.shape[0];
    if (this.#queuedRows + rows > this.#opts.maxQueue) {
      return Promise.reject(
        new HttpError(
          503,
          `the server is overloaded (${this.#queuedRows} examples queued, limit ${this.#opts.maxQueue}); retry later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({
        p,
        rows,
        key: `${p.dtype}|${p.shape.slice(1).join(",")}`,
        t: performance.now(),
        resolve,
        reject,
      });
      this.#queuedRows += rows;
      this.#pump();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  #pump(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const { maxBatch, maxDelayMs, slots } = this.#opts;
    while (this.#queue.length && this.#running < slots) {
      const first = this.#queue[0];
      let ready = 0;
      for (const q of this.#queue) if (q.key === first.key) ready += q.rows;
      const wait = first.t + maxDelayMs - performance.now();
      if (this.#running > 0 && ready < maxBatch && wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.#pump();
        }, Math.ceil(wait));
        return;
      }
      // Take requests of the first one's kind, in order, up to maxBatch examples.
      const batch: Pending[] = [];
      let rows = 0;
      for (let i = 0; i < this.#queue.length;) {
        const q = this.#queue[i];
        if (q.key === first.key && (batch.length === 0 || rows + q.rows <= maxBatch)) {
          batch.push(q);
          rows += q.rows;
          this.#queue.splice(i, 1);
        } else i++;
        if (rows >= maxBatch) break;
      }
      this.#queuedRows -= rows;
      this.#dispatch(batch, rows);
    }
  }

  async #dispatch(batch: Pending[], rows: number): Promise<void> {
    this.#running++;
    this.onBatch?.(rows);
    try {
      const out = await this.#run(concatRows(batch.map((b) => b.p)));
      if (out.shape[0] !== rows) {
        throw new HttpError(
          500,
          `the model's output has ${
            out.shape[0]
          } rows for a batch of ${rows}; its first dim must be the batch`,
        );
      }
      const per = rows === 0 ? 0 : out.data.length / rows;
      let at = 0;
      for (const b of batch) {
        b.resolve({
          dtype: out.dtype,
          shape: [b.rows, ...out.shape.slice(1)],
          data: out.data.slice(at * per, (at + b.rows) * per) as TypedArray,
        });
        at += b.rows;
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.#running--;
      this.#pump();
      if (this.#queue.length === 0 && this.#running === 0) {
        for (const w of this.#idleWaiters.splice(0)) w();
      }
    }
  }
}
