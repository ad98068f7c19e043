/**
 * An inference server for Zeno models: `Deno.serve` with dynamic batching,
 * a bounded queue, a pool of inference Workers, request limits, Prometheus
 * metrics and graceful shutdown.
 *
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const server = await zn.serve.serveModel({ model: { onnx: "digits.onnx" }, port: 8000 });
 * Deno.addSignalListener("SIGTERM", () => server.shutdown());
 * ```
 *
 * @module
 */
export { serveModel } from "./server.ts";
export type { ModelServer, ServeOptions } from "./server.ts";
export { DynamicBatcher } from "./batcher.ts";
export type { BatcherOptions } from "./batcher.ts";
export { InferencePool } from "./pool.ts";
export type { InputInfo, ModelSpec } from "./pool.ts";
export { ServerMetrics } from "./metrics.ts";
export { HttpError, readPayload, writePayload } from "./protocol.ts";
export type { TensorPayload } from "./protocol.ts";
