/** zn.nn.init statistics, calculateGain, and zn.nn.utils gradient clipping. */
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";

const init = zn.nn.init;
const std = (t: Tensor) => t.std().item() as number;
const mean = (t: Tensor) => t.mean().item() as number;
const absMax = (t: Tensor) => t.abs().max().item() as number;
const within = (v: number, want: number, rel: number) =>
  assert.ok(Math.abs(v - want) <= rel * Math.abs(want), `${v} not within ${rel} of ${want}`);

Deno.test("nn.init.calculateGain matches PyTorch", () => {
  assert.equal(init.calculateGain("linear"), 1);
  assert.equal(init.calculateGain("sigmoid"), 1);
  assert.equal(init.calculateGain("tanh"), 5 / 3);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
  within(init.calculateGain("leaky_relu"), Math.sqrt(2 / (1 + 0.01 ** 2)), 1e-12);
  within(init.calculateGain("leaky_relu", 0.2), Math.sqrt(2 / 1.04), 1e-12);
  assert.equal(init.calculateGain("selu"), 0.75);
  assert.deepEqual(init.calculateFanInAndFanOut(zn.empty([8, 3, 5, 5])), [75, 200]);
  assert.throws(() => init.calculateFanInAndFanOut(zn.empty([3])), /fewer than 2/);
});

Deno.test("nn.init: fills have the right statistics", () => {
  zn.manualSeed(42);
  const w = zn.empty([256, 128]);
  init.uniform_(w, -2, 3);
  assert.ok((w.min().item() as number) >= -2 && (w.max().item() as number) < 3);
  within(mean(w), 0.5, 0.05);
  init.normal_(w, 1, 0.5);
  within(mean(w), 1, 0.01);
  within(std(w), 0.5, 0.02);
  init.constant_(w, 0.25);
  assert.equal(w.eq(0.25).all().item(), true);
  init.zeros_(w);
  assert.equal(absMax(w), 0);
  init.ones_(w);
  assert.equal(mean(w), 1);

  const b = Math.sqrt(6 / (128 + 256));
  init.xavierUniform_(w);
  assert.ok(absMax(w) <= b && absMax(w) > 0.95 * b);
  within(std(w), b / Math.sqrt(3), 0.03);
  init.xavierNormal_(w, 2);
  within(std(w), 2 * Math.sqrt(2 / 384), 0.03);
  init.kaimingUniform_(w, { nonlinearity: "relu" });
  const kb = Math.SQRT2 * Math.sqrt(3 / 128);
  assert.ok(absMax(w) <= kb && absMax(w) > 0.95 * kb);
  init.kaimingNormal_(w, { mode: "fanOut", nonlinearity: "relu" });
  within(std(w), Math.SQRT2 / Math.sqrt(256), 0.03);
  init.kaimingNormal_(w, { a: 1 });
  within(std(w), 1 / Math.sqrt(128), 0.03);
  const conv = zn.empty([16, 8, 3, 3]);
  init.kaimingUniform_(conv, { a: Math.sqrt(5) });
  assert.ok(absMax(conv) <= 1 / Math.sqrt(72));
  // init runs under noGrad on parameters
  const p = new zn.nn.Parameter(zn.empty([4, 4]));
  init.normal_(p);
  assert.ok(p.isLeaf && p.requiresGrad);
});

Deno.test("nn.init.orthogonal_ gives orthonormal rows or columns", () => {
  zn.manualSeed(9);
  for (const shape of [[5, 5], [3, 7], [7, 3], [4, 2, 3]]) {
    const w = init.orthogonal_(zn.empty(shape, { dtype: "float64" }), 2);
    const m = w.reshape([shape[0], -1]);
    const gram = m.shape[0] <= m.shape[1] ? m.matmul(m.mT) : m.mT.matmul(m);
    const eye = zn.eye(gram.shape[0], { dtype: "float64" }).mul(4);
    assert.ok((gram.sub(eye).abs().max().item() as number) < 1e-9, `shape ${shape}`);
  }
});

Deno.test("nn.utils.clipGradNorm_ and clipGradValue_", () => {
  const a = zn.zeros([2], { requiresGrad: true }), b = zn.zeros([1], { requiresGrad: true });
  a.grad = zn.tensor([3, 0]).to("float32");
  b.grad = zn.tensor([4]).to("float32");
  const total = zn.nn.utils.clipGradNorm_([a, b], 1);
  within(total.item() as number, 5, 1e-6);
  within(a.grad.select(0, 0).item() as number, 0.6, 1e-5);
  within(b.grad.item() as number, 0.8, 1e-5);
  // below the limit: unchanged
  const t2 = zn.nn.utils.clipGradNorm_([a, b], 10);
  within(t2.item() as number, 1, 1e-5);
  within(b.grad.item() as number, 0.8, 1e-5);
  // infinity norm
  const tInf = zn.nn.utils.clipGradNorm_([a, b], 0.4, { normType: Infinity });
  within(tInf.item() as number, 0.8, 1e-6);
  within(b.grad.item() as number, 0.4, 1e-5);
  b.grad = zn.tensor([-3, 0.5, 2]).to("float32");
  zn.nn.utils.clipGradValue_([b], 1);
  assert.deepEqual(b.grad.toArray(), [-1, 0.5, 1]);
  // parameters without gradients are skipped
  const c = zn.zeros([1], { requiresGrad: true });
  assert.equal(zn.nn.utils.clipGradNorm_([c], 1).item(), 0);
});
