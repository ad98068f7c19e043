/**
 * The server's inference Workers: each loads the model and runs one batch
 * at a time, so that the HTTP loop never waits on a forward pass.
 *
 * @module
 */
import type { DType } from "../dtype.ts";
import type { DimProto } from "../onnx/proto.ts";
import { HttpError, type TensorPayload } from "./protocol.ts";

/**
 * The model a server runs: an ONNX file, or a TypeScript module whose
 * exported function (default `loadModel`) returns the Module (its
 * arguments in `args`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a: zn.serve.ModelSpec = { onnx: "model.onnx" };
 * const b: zn.serve.ModelSpec = {
 *   module: new URL("./my_model.ts", import.meta.url).href,
 *   args: ["model.safetensors"],
 * };
 * ```
 */
export type ModelSpec =
  | { onnx: string }
  | { module: string; export?: string; args?: unknown[] };

/** What a Worker reports of the model's input once loaded (ONNX models only). */
export interface InputInfo {
  name: string;
  dtype: DType | null;
  shape: DimProto[] | null;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * A pool of inference Workers.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const pool = await zn.serve.InferencePool.start({ onnx: "model.onnx" }, 2);
 * const out = await pool.run({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) });
 * pool.close();
 * ```
 */
export class InferencePool {
  readonly #slots: Slot[];
  readonly #pending = new Map<
    number,
    { resolve: (p: TensorPayload) => void; reject: (e: unknown) => void; slot: Slot }
  >();
  #next = 0;
  /** The model's input as the first Worker reported it (null: not known). */
  readonly input: InputInfo | null;

  private constructor(slots: Slot[], input: InputInfo | null) {
    this.#slots = slots;
    this.input = input;
    for (const s of slots) {
      s.worker.onmessage = (e: MessageEvent) => this.#answer(e.data);
      s.worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        for (const [id, p] of this.#pending) {
          if (p.slot === s) {
            this.#pending.delete(id);
            p.reject(new HttpError(500, `an inference worker failed: ${e.message}`));
          }
        }
      };
    }
  }

  /** Starts `size` Workers and waits until each has loaded the model (an error names why not). */
  static async start(spec: ModelSpec, size: number): Promise<InferencePool> {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`InferencePool: size must be a positive integer, got ${size}`);
    }
    const slots: Slot[] = [];
    try {
      let input: InputInfo | null = null;
      for (let i = 0; i < size; i++) {
        const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
        slots.push({ worker, busy: false });
        const ready = await new Promise<{ input: InputInfo | null }>((resolve, reject) => {
          worker.onmessage = (e: MessageEvent) => {
            if (e.data.type === "ready") resolve(e.data);
            else reject(new Error(`the model did not load: ${e.data.message}`));
          };
          worker.onerror = (e: ErrorEvent) => {
            e.preventDefault();
            reject(new Error(`the model did not load: ${e.message}`));
          };
          worker.postMessage({ type: "init", spec });
        });
        input = ready.input;
      }
      return new InferencePool(slots, input);
    } catch (e) {
      for (const s of slots) s.worker.terminate();
      throw e;
    }
  }

  /** The number of Workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** Runs one batch on an idle Worker (the caller keeps at most `size` in flight). */
  run(p: TensorPayload): Promise<TensorPayload> {
    const slot = this.#slots.find((s) => !s.busy);
    if (!slot) return Promise.reject(new HttpError(500, "no idle inference worker"));
    slot.busy = true;
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ type: "run", id, dtype: p.dtype, shape: p.shape, data: p.data });
    });
  }

  #answer(msg: { type: string; id: number; message?: string } & TensorPayload): void {
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    p.slot.busy = false;
    if (msg.type === "result") p.resolve({ dtype: msg.dtype, shape: msg.shape, data: msg.data });
    else p.reject(new HttpError(500, `the model failed on the batch: ${msg.message}`));
  }

  /** Terminates the Workers; pending batches fail. */
  close(): void {
    for (const s of this.#slots) s.worker.terminate();
    for (const [, p] of this.#pending) p.reject(new HttpError(503, "the server is shutting down"));
    this.#pending.clear();
  }
}
