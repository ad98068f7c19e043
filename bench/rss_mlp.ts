/**
 * Trains the MLP (784-128-10, Adam, batch 64) for a number of steps and prints
 * memory figures every 1,000 steps as JSON: `{ "rss": [bytes...], "heap":
 * [bytes...], "external": [bytes...], "loss": number }`. The memory test runs
 * it in a fresh process, so the figures hold only this loop (no test runner or
 * type checker beside it).
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/rss_mlp.ts [steps] [plain|tidy|leak]
 *
 * - `plain` (the default): the loop leaves each step's tensors to the garbage
 *   collector.
 * - `tidy`: each step runs in `zn.tidy`, as examples/mnist/train.ts does, so
 *   its tensors return to the memory pool when the step ends.
 * - `leak`: the plain loop, keeping every step's loss tensor in an array: a
 *   deliberate leak that the memory test must notice.
 *
 * Run with `--v8-flags=--expose-gc` and each sample follows a full,
 * synchronous garbage collection, so that `heap` and `external` count only
 * what is still reachable; without it they include garbage not yet collected.
 *
 * @module
 */
import * as zn from "../mod.ts";

const steps = Number(Deno.args[0] ?? 10_000);
const mode = Deno.args[1] ?? "plain";
if (!["plain", "tidy", "leak"].includes(mode)) {
  throw new Error(`rss_mlp: unknown mode "${mode}" (plain, tidy or leak)`);
}
// V8's own collector, present under --expose-gc. "last-resort" also frees the
// backing stores of dead ArrayBuffers before it returns, which a plain major
// collection leaves to a background sweep.
const gc = (globalThis as { gc?: (options: object) => void }).gc;

zn.manualSeed(0);
const model = new zn.nn.Sequential(
  new zn.nn.Linear(784, 128),
  new zn.nn.ReLU(),
  new zn.nn.Linear(128, 10),
);
const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
const x = zn.rand([64, 784]);
const y = zn.randint(0, 10, [64]);
const step = (): zn.Tensor => {
  opt.zeroGrad();
  const l = zn.nn.functional.crossEntropy(model.call(x), y);
  l.backward();
  opt.step();
  return l;
};
const rss: number[] = [];
const heap: number[] = [];
const external: number[] = [];
const kept: zn.Tensor[] = [];
let loss = NaN;
for (let i = 1; i <= steps; i++) {
  const l = mode === "tidy" ? zn.tidy(step) : step();
  if (mode === "leak") kept.push(l);
  if (i % 1000 === 0) {
    loss = l.item() as number;
    gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
    const m = Deno.memoryUsage();
    rss.push(m.rss);
    heap.push(m.heapUsed);
    external.push(m.external);
  }
}
console.log(JSON.stringify({ rss, heap, external, loss, kept: kept.length }));
