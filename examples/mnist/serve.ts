/**
 * Serves the digits model over HTTP: `POST /v1/predict` (JSON or raw
 * float32 bytes, a batch of [N, 1, 28, 28] normalised images, answered with
 * [N, 10] logits), `GET /health` and `GET /metrics`. Requests that arrive
 * within a couple of milliseconds run as one batch on the inference Worker.
 * SIGTERM or SIGINT finishes the requests in flight, then exits.
 *
 *   deno task train                      # writes model.safetensors
 *   deno task serve [--model model.safetensors | --onnx model.onnx] [--port 8000]
 *   deno task client                     # sends test digits, prints the accuracy
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli } from "../cli_flags.ts";
import { EXAMPLE_SHAPE } from "./serving.ts";

const cli = new Cli({
  name: "serve",
  usage: "deno task serve [flags]",
  summary: "Serves a digits model (safetensors from `deno task train`, or ONNX) over HTTP.",
  flags: {
    model: { default: "model.safetensors", metavar: "FILE", description: "the trained model" },
    onnx: { metavar: "FILE", description: "serve this ONNX file instead of --model" },
    port: { type: "integer", default: 8000, min: 0, description: "the port (0: any free one)" },
    hostname: { default: "127.0.0.1", description: "the address to listen on" },
    workers: { type: "integer", default: 1, min: 1, description: "inference Workers" },
    "max-batch": { type: "integer", default: 64, min: 1, description: "examples per forward pass" },
    "max-delay-ms": {
      type: "number",
      default: 2,
      min: 0,
      description: "how long a request waits for others to batch with",
    },
    "max-queue": {
      type: "integer",
      default: 1024,
      min: 1,
      description: "examples waiting at most; more get 503",
    },
  },
});
const f = cli.parse();
const file = f.onnx ?? f.model;
try {
  Deno.statSync(file);
} catch {
  cli.fail(
    `${file} does not exist${
      f.onnx ? "" : "; run `deno task train` first (or pass --model or --onnx)"
    }`,
  );
}
const spec: zn.serve.ModelSpec = f.onnx
  ? { onnx: f.onnx }
  : { module: new URL("./serving.ts", import.meta.url).href, args: [f.model] };
const server = await zn.serve.serveModel({
  model: spec,
  port: f.port,
  hostname: f.hostname,
  workers: f.workers,
  maxBatch: f["max-batch"],
  maxDelayMs: f["max-delay-ms"],
  maxQueue: f["max-queue"],
  inputShape: f.onnx ? undefined : EXAMPLE_SHAPE,
}).catch((e) => cli.fail(`${f.onnx ?? f.model}: ${(e as Error).message}`));
console.log(
  `serving ${f.onnx ?? f.model} on ${server.url} (POST /v1/predict, GET /health, GET /metrics)`,
);
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => {
    console.log(`${sig}: finishing the requests in flight`);
    server.shutdown();
  });
}
await server.finished;
console.log("shut down");
Deno.exit(0);
