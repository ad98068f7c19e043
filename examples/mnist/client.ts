/**
 * An example client of `deno task serve`: sends test digits to
 * `POST /v1/predict` (as JSON, or raw float32 bytes with --binary), a few
 * requests at a time, and prints the accuracy of the answers.
 *
 *   deno task client [--url http://127.0.0.1:8000] [--count 200] [--batch 1] [--binary]
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli } from "../cli_flags.ts";
import { loadSplits } from "./common.ts";

const cli = new Cli({
  name: "client",
  usage: "deno task client [flags]",
  summary: "Sends test digits to a running `deno task serve` and prints the accuracy.",
  flags: {
    url: { default: "http://127.0.0.1:8000", description: "the server" },
    count: { type: "integer", default: 200, min: 1, description: "test digits to send" },
    batch: { type: "integer", default: 1, min: 1, description: "digits per request" },
    concurrency: { type: "integer", default: 8, min: 1, description: "requests in flight" },
    binary: { choices: ["yes", "no"], default: "no", description: "send raw float32 bytes" },
  },
});
const f = cli.parse();
const { test } = await loadSplits(0, f.count);
const images = test.x.toTypedArray() as Float32Array;
const labels = Array.from(test.y.toTypedArray() as BigInt64Array, Number);
const n = labels.length;
const per = 28 * 28;

/** The logits of digits [start, start + count) from the server. */
async function predict(start: number, count: number): Promise<number[][]> {
  const data = images.slice(start * per, (start + count) * per);
  const shape = [count, 1, 28, 28];
  const res = f.binary === "yes"
    ? await fetch(`${f.url}/v1/predict`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "x-tensor-dtype": "float32",
        "x-tensor-shape": shape.join(","),
      },
      body: data,
    })
    : await fetch(`${f.url}/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: zn.fromTypedArray(data, shape).toArray() }),
    });
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  if (f.binary === "yes") {
    const out = new Float32Array(await res.arrayBuffer());
    return Array.from({ length: count }, (_, i) => Array.from(out.subarray(i * 10, i * 10 + 10)));
  }
  return (await res.json()).output as number[][];
}

let correct = 0, next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: f.concurrency }, async () => {
  while (next < n) {
    const start = next;
    const count = Math.min(f.batch, n - start);
    next += count;
    const logits = await predict(start, count);
    logits.forEach((row, i) => {
      if (row.indexOf(Math.max(...row)) === labels[start + i]) correct++;
    });
  }
}));
const secs = (performance.now() - t0) / 1000;
console.log(
  `${n} digits, ${correct} right: accuracy ${(correct / n).toFixed(4)} (${
    (n / secs).toFixed(0)
  } digits/s)`,
);
