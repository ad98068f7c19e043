/**
 * One training epoch of the main job's CNN and of the MLP (784-128-10), Adam,
 * batch 64, 7,000 random images, in Zeno and in PyTorch with the same thread
 * count; prints Zeno/PyTorch time ratios (below 1: Zeno is faster).
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run bench/epoch_compare.ts [--threads 2]
 *
 * @module
 */
import * as zn from "../mod.ts";
import { buildModel } from "../examples/mnist/model.ts";

const i = Deno.args.indexOf("--threads");
const threads = i >= 0 ? Number(Deno.args[i + 1]) : navigator.hardwareConcurrency;
zn.setNumThreads(threads);
zn.manualSeed(0);
const x = zn.rand([7000, 1, 28, 28]);
const y = zn.randint(0, 10, [7000]);

function epoch(model: zn.nn.Module, xs: zn.Tensor, ys: zn.Tensor): number {
  const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
  const loader = new zn.data.DataLoader(new zn.data.TensorDataset(xs, ys), {
    batchSize: 64,
    shuffle: true,
  });
  const t = performance.now();
  for (const [xb, yb] of loader) {
    opt.zeroGrad();
    zn.nn.functional.crossEntropy(model.call(xb), yb).backward();
    opt.step();
  }
  return (performance.now() - t) / 1000;
}

const zeno: Record<string, number> = {};
for (const arch of ["cnn", "mlp"] as const) {
  const m = buildModel(arch);
  epoch(m, x.narrow(0, 0, 640), y.narrow(0, 0, 640));
  const times = [0, 1, 2].map(() => epoch(m, x, y)).sort((a, b) => a - b);
  zeno[arch] = times[1];
}
const res = await new Deno.Command("python3", {
  args: [new URL("epoch_compare.py", import.meta.url).pathname, String(threads)],
  stdout: "piped",
}).output();
const torch = JSON.parse(new TextDecoder().decode(res.stdout)) as Record<string, number>;
console.log(`threads = ${threads}`);
for (const k of Object.keys(zeno)) {
  console.log(
    `${k.padEnd(4)} epoch: zeno ${zeno[k].toFixed(2)} s, pytorch ${
      torch[k].toFixed(2)
    } s, zeno/pytorch time ${(zeno[k] / torch[k]).toFixed(2)}x`,
  );
}
