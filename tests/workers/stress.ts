// The Workers stress run of tests/workers_test.ts, in a process of its own so
// that a crash or a hang fails the test instead of the test runner:
//   deno run --allow-ffi --allow-read --allow-env tests/workers/stress.ts [workers] [calls]
// Prints one JSON line: the mismatches of each Worker and of the main thread.
import * as zn from "../../mod.ts";
import { KERNELS, makeInputs, type Mismatch, runKernel, tensors } from "./kernel_mix.ts";

const workers = Number(Deno.args[0] ?? 4);
const calls = Number(Deno.args[1] ?? 500);

const inputs = makeInputs(7);
const own = tensors(inputs);
// The single-threaded results: this thread alone, before any Worker starts.
const expected = Array.from({ length: KERNELS }, (_, k) => runKernel(k, own));

const started = Array.from({ length: workers }, (_, i) => {
  const worker = new Worker(new URL("./kernel_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const done = new Promise<Mismatch[]>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Mismatch[]>) => resolve(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`worker ${i}: ${e.message}`));
    };
  });
  worker.postMessage({ inputs, expected, calls, offset: i });
  return { worker, done };
});

// This thread calls in too while the Workers run.
const mine: Mismatch[] = [];
for (let i = 0; i < calls / 2; i++) {
  const k = i % KERNELS;
  const got = runKernel(k, own);
  let worst = 0;
  for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - expected[k][j]));
  if (worst !== 0) mine.push({ call: i, kernel: k, length: got.length, maxDiff: worst });
  if (i % 10 === 0) await new Promise((r) => setTimeout(r, 0));
}
const results = await Promise.all(started.map((s) => s.done));
for (const s of started) s.worker.terminate();
console.log(JSON.stringify({ workers: results, main: mine, sum: zn.tensor(expected[0]).item() }));
