/**
 * Trains the MLP (784-128-10, Adam, batch 64) for a number of steps and prints
 * the resident set size every 1,000 steps as JSON: `{ "rss": [bytes...],
 * "loss": number }`. The memory test runs it in a fresh process, so the
 * figures hold only this loop (no test runner or type checker beside it).
 *
 *   deno run --allow-ffi --allow-read --allow-env bench/rss_mlp.ts [steps]
 *
 * @module
 */
import * as zn from "../mod.ts";

const steps = Number(Deno.args[0] ?? 10_000);
zn.manualSeed(0);
const model = new zn.nn.Sequential(
  new zn.nn.Linear(784, 128),
  new zn.nn.ReLU(),
  new zn.nn.Linear(128, 10),
);
const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
const x = zn.rand([64, 784]);
const y = zn.randint(0, 10, [64]);
const rss: number[] = [];
let loss = NaN;
for (let step = 1; step <= steps; step++) {
  opt.zeroGrad();
  const l = zn.nn.functional.crossEntropy(model.call(x), y);
  l.backward();
  opt.step();
  if (step % 1000 === 0) {
    loss = l.item() as number;
    rss.push(Deno.memoryUsage().rss);
  }
}
console.log(JSON.stringify({ rss, loss }));
