/**
 * The inference server: `Deno.serve` in front of a {@link DynamicBatcher}
 * and a pool of inference Workers.
 *
 * - `POST /v1/predict`: a batch of examples as JSON or raw bytes (see
 *   protocol.ts), answered in the same format.
 * - `GET /health`: `{"status": "ok"}` (503 while shutting down).
 * - `GET /metrics`: Prometheus text (requests, latency, batch sizes, queue).
 *
 * @module
 */
import type { DType } from "../dtype.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { DynamicBatcher } from "./batcher.ts";
import { ServerMetrics } from "./metrics.ts";
import { InferencePool, type ModelSpec } from "./pool.ts";
import { HttpError, isBinary, readPayload, writePayload } from "./protocol.ts";

/**
 * Options of {@link serveModel}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.serve.ServeOptions = {
 *   model: { onnx: "digits.onnx" },
 *   port: 8000,
 *   maxBatch: 64,
 *   maxDelayMs: 2,
 * };
 * ```
 */
export interface ServeOptions {
  /** The model to serve. */
  model: ModelSpec;
  /** The port (default 8000; 0 picks a free one). */
  port?: number;
  /** The address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Inference Workers (default 1: the native kernels already use every core). */
  workers?: number;
  /** Examples per forward pass at most (default 64). */
  maxBatch?: number;
  /** How long a request may wait for others to join its batch (default 2 ms). */
  maxDelayMs?: number;
  /** Examples that may wait at once; more are answered 503 (default 1024). */
  maxQueue?: number;
  /** The largest request body, in bytes (default 16 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** The shape of one example (without the batch dim), checked on every request. ONNX models declare theirs. */
  inputShape?: readonly number[];
  /** The input dtype, checked on every request (default: the ONNX model's, else float32). */
  inputDType?: DType;
  /** Called once the server listens. */
  onListen?: (addr: { hostname: string; port: number }) => void;
}
const SERVE_KEYS = optionKeys<ServeOptions>({
  model: 0,
  port: 0,
  hostname: 0,
  workers: 0,
  maxBatch: 0,
  maxDelayMs: 0,
  maxQueue: 0,
  maxBodyBytes: 0,
  inputShape: 0,
  inputDType: 0,
  onListen: 0,
});

/**
 * A running server.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const server = await zn.serve.serveModel({ model: { onnx: "digits.onnx" }, port: 0 });
 * console.log(server.url); // http://127.0.0.1:<port>
 * await server.shutdown();
 * ```
 */
export interface ModelServer {
  /** The base URL, `http://host:port`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Its metrics. */
  readonly metrics: ServerMetrics;
  /**
   * Stops accepting connections, finishes the requests in flight (and the
   * batches they wait on), then stops the Workers.
   */
  shutdown(): Promise<void>;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
}

function errorResponse(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

/**
 * Starts an inference server for `opts.model` and resolves once the model
 * has loaded on every Worker and the server listens.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const server = await zn.serve.serveModel({ model: { onnx: "digits.onnx" }, port: 8000 });
 * Deno.addSignalListener("SIGTERM", () => server.shutdown());
 * await server.finished;
 * ```
 */
export async function serveModel(opts: ServeOptions): Promise<ModelServer> {
  const op = "serveModel";
  checkOptions(op, opts, SERVE_KEYS);
  if (!opts || typeof opts.model !== "object" || opts.model === null) {
    throw new TypeError(`${op}: model must be { onnx: path } or { module: url, ... }`);
  }
  const maxBodyBytes = opts.maxBodyBytes ?? 16 << 20;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new RangeError(`${op}: maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const pool = await InferencePool.start(opts.model, opts.workers ?? 1);
  // The example shape and dtype that requests must have, where known.
  let exampleShape: readonly (number | null)[] | null = opts.inputShape ?? null;
  let fixedRows: number | null = null;
  let dtype: DType = opts.inputDType ?? "float32";
  const info = pool.input;
  if (info) {
    if (!opts.inputDType && info.dtype) dtype = info.dtype;
    if (info.shape && !opts.inputShape) {
      exampleShape = info.shape.slice(1).map((d) => (typeof d === "number" ? d : null));
      if (typeof info.shape[0] === "number") fixedRows = info.shape[0];
    }
  }
  const metrics = new ServerMetrics();
  let batcher: DynamicBatcher;
  try {
    batcher = new DynamicBatcher((p) => pool.run(p), {
      maxBatch: fixedRows ?? opts.maxBatch ?? 64,
      maxDelayMs: opts.maxDelayMs ?? 2,
      maxQueue: opts.maxQueue ?? 1024,
      slots: pool.size,
    });
  } catch (e) {
    pool.close();
    throw e;
  }
  batcher.onBatch = (rows) => metrics.batch(rows);
  let closing = false;

  const predict = async (req: Request): Promise<Response> => {
    const p = await readPayload(req, maxBodyBytes);
    if (p.dtype !== dtype) {
      throw new HttpError(400, `the input must be ${dtype}, got ${p.dtype}`);
    }
    const want = exampleShape ? `[N, ${exampleShape.map((d) => d ?? "*").join(", ")}]` : null;
    if (
      exampleShape &&
      (p.shape.length !== exampleShape.length + 1 ||
        exampleShape.some((d, i) => d !== null && d !== p.shape[i + 1]))
    ) {
      throw new HttpError(400, `the input must have shape ${want}, got [${p.shape.join(", ")}]`);
    }
    if (fixedRows !== null && p.shape[0] !== fixedRows) {
      throw new HttpError(
        400,
        `the model takes batches of exactly ${fixedRows}, got ${p.shape[0]}`,
      );
    }
    if (p.shape[0] === 0) {
      throw new HttpError(400, "the input holds no examples (its first dim is 0)");
    }
    const out = await batcher.submit(p);
    return writePayload(out, isBinary(req));
  };

  const handler = async (req: Request): Promise<Response> => {
    const t0 = performance.now();
    const route = new URL(req.url).pathname;
    let res: Response;
    try {
      if (route === "/v1/predict") {
        if (req.method !== "POST") throw new HttpError(405, "use POST for /v1/predict");
        if (closing) throw new HttpError(503, "the server is shutting down");
        res = await predict(req);
      } else if (route === "/health") {
        res = closing
          ? errorResponse(503, "shutting down")
          : Response.json({ status: "ok", workers: pool.size });
      } else if (route === "/metrics") {
        metrics.queueDepth = batcher.queued;
        metrics.inFlight = batcher.running;
        res = new Response(metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      } else {
        res = errorResponse(
          404,
          `no route ${route}; try POST /v1/predict, GET /health or GET /metrics`,
        );
      }
    } catch (e) {
      res = e instanceof HttpError
        ? errorResponse(e.status, e.message)
        : errorResponse(500, `internal error: ${(e as Error).message}`);
    }
    const known = route === "/v1/predict" || route === "/health" || route === "/metrics";
    metrics.request(known ? route : "other", res.status, (performance.now() - t0) / 1000);
    return res;
  };

  let listening: (addr: { hostname: string; port: number }) => void = () => {};
  const listened = new Promise<{ hostname: string; port: number }>((r) => (listening = r));
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port: opts.port ?? 8000,
      hostname: opts.hostname ?? "127.0.0.1",
      onListen: (addr) => listening(addr as { hostname: string; port: number }),
    }, handler);
  } catch (e) {
    pool.close();
    throw e;
  }
  const addr = await listened;
  opts.onListen?.(addr);
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      closing = true;
      await server.shutdown();
      await batcher.idle();
      pool.close();
    })();
    return stopping;
  };
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    port: addr.port,
    metrics,
    shutdown,
    finished: server.finished.then(() => stopping ?? undefined),
  };
}
