/** zn.nn in training: BatchNorm and Dropout modes, and an MLP fitting two spirals. */
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";

const nn = zn.nn;
const arr = (t: Tensor) => Array.from(t.to("float64").toTypedArray() as Float64Array);
const near = (a: number[], b: number[], tol: number) =>
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `${v} vs ${b[i]} at ${i}`));

Deno.test("nn.BatchNorm1d: training uses batch statistics and updates running ones", () => {
  zn.manualSeed(3);
  const bn = new nn.BatchNorm1d(3, { momentum: 0.5 });
  const x = zn.randn([16, 3]).mul(2).add(1);
  const y = bn.call(x);
  near(arr(y.mean(0)), [0, 0, 0], 1e-5);
  near(arr(y.var(0, { correction: 0 })), [1, 1, 1], 1e-3);
  near(arr(bn.runningMean!), arr(x.mean(0).mul(0.5)), 1e-6);
  near(arr(bn.runningVar!), arr(x.var(0).mul(0.5).add(0.5)), 1e-5);
  assert.equal(bn.numBatchesTracked!.item(), 1);
  // eval: the running statistics, and no update
  bn.eval();
  const before = arr(bn.runningMean!);
  const z = bn.call(x);
  const expect = x.sub(bn.runningMean!).div(bn.runningVar!.add(1e-5).sqrt());
  near(arr(z), arr(expect), 1e-5);
  assert.deepEqual(arr(bn.runningMean!), before);
  assert.equal(bn.numBatchesTracked!.item(), 1);
  assert.throws(() => new nn.BatchNorm2d(3).call(zn.randn([2, 3])), /expected 4D input/);
  assert.throws(() => new nn.BatchNorm1d(3).call(zn.randn([1, 3])), /more than 1 value/);
});

Deno.test("nn.BatchNorm1d: momentum null keeps a cumulative average", () => {
  const bn = new nn.BatchNorm1d(2, { momentum: null });
  const a = zn.tensor([[1, 2], [3, 6]]).to("float32");
  const b = zn.tensor([[5, 0], [7, 2]]).to("float32");
  bn.call(a);
  bn.call(b);
  near(arr(bn.runningMean!), arr(a.mean(0).add(b.mean(0)).div(2)), 1e-6);
  near(arr(bn.runningVar!), arr(a.var(0).add(b.var(0)).div(2)), 1e-5);
  assert.equal(bn.numBatchesTracked!.item(), 2);
  // without running stats, eval mode still normalizes with batch statistics
  const free = new nn.BatchNorm1d(2, { trackRunningStats: false }).eval();
  near(arr(free.call(a).mean(0)), [0, 0], 1e-6);
  assert.equal(free.runningMean, null);
  assert.deepEqual(Object.keys(free.stateDict()), ["weight", "bias"]);
});

Deno.test("nn.Dropout: seeded masks in training, identity in eval", () => {
  const drop = new nn.Dropout(0.25);
  const x = zn.ones([20000]);
  zn.manualSeed(11);
  const y = drop.call(x);
  const vals = arr(y);
  const zeros = vals.filter((v) => v === 0).length;
  assert.ok(vals.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(Math.abs(zeros / vals.length - 0.25) < 0.02);
  zn.manualSeed(11);
  assert.deepEqual(arr(drop.call(x)), vals); // same seed, same mask
  drop.eval();
  assert.equal(drop.call(x), x);
  // gradient flows through the kept elements only, scaled
  drop.train();
  const w = zn.ones([10], { requiresGrad: true });
  const out = drop.call(w);
  out.sum().backward();
  assert.deepEqual(arr(w.grad!), arr(out.detach()));
  assert.equal(arr(new nn.Dropout(1).call(zn.ones([4]))).every((v) => v === 0), true);
  assert.throws(() => new nn.Dropout(1.5), RangeError);
});

function twoSpirals(n: number): { x: Tensor; y: Tensor } {
  const g = new zn.Generator(7);
  const pts: number[] = [], labels: number[] = [];
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < n; i++) {
      const t = 0.15 + 0.85 * (i / n);
      const a = 3 * Math.PI * t + k * Math.PI;
      pts.push(t * Math.cos(a) + 0.01 * g.nextNormal(), t * Math.sin(a) + 0.01 * g.nextNormal());
      labels.push(k);
    }
  }
  return { x: zn.tensor(pts).reshape([2 * n, 2]), y: zn.tensor(labels, { dtype: "int64" }) };
}

Deno.test("nn: an MLP fits two spirals to ~100% training accuracy", () => {
  zn.manualSeed(0);
  const { x, y } = twoSpirals(100);
  const net = new nn.Sequential(
    new nn.Linear(2, 64),
    new nn.Tanh(),
    new nn.Linear(64, 64),
    new nn.Tanh(),
    new nn.Linear(64, 2),
  );
  const lossFn = new nn.CrossEntropyLoss();
  const params = [...net.parameters()];
  const velocity = params.map((p) => zn.zerosLike(p));
  const lr = 0.2, momentum = 0.9;
  let acc = 0;
  for (let step = 0; step < 1500; step++) {
    net.zeroGrad();
    const loss = lossFn.call(net.call(x), y);
    loss.backward();
    nn.utils.clipGradNorm_(params, 5);
    zn.noGrad(() => {
      params.forEach((p, i) => {
        velocity[i].mul_(momentum).add_(p.grad!);
        p.sub_(velocity[i], { alpha: lr });
      });
    });
    if (step % 100 === 99) {
      acc = zn.noGrad(() => net.call(x).argmax(1).eq(y).to("float32").mean().item() as number);
      if (acc === 1) break;
    }
  }
  assert.ok(acc >= 0.99, `training accuracy ${acc}`);
});
