/** zn.amp.GradScaler against torch.amp.GradScaler("cpu") on the same model and data (torch 2.13). */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

Deno.test("GradScaler: scales, skips inf steps, backs off and grows as PyTorch's does", () => {
  const net = new zn.nn.Linear(3, 1);
  zn.noGrad(() => {
    net.weight.copy_(zn.tensor([[0.5, -1, 2]]));
    net.bias!.copy_(zn.tensor([0.1]));
  });
  const X = zn.tensor([[1, 2, 3], [-1, 0.5, 2], [0, 1, -1]]), Y = zn.tensor([[1], [0], [2]]);
  const opt = new zn.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const sc = new zn.amp.GradScaler({ initScale: 1024, growthInterval: 2 });
  const scales: number[] = [];
  for (let step = 0; step < 6; step++) {
    opt.zeroGrad();
    const loss = net.call(X).sub(Y).square().mean();
    sc.scale(loss).backward();
    if (step === 2) zn.noGrad(() => net.bias!.grad!.fill_(Infinity));
    if (step === 4) {
      sc.unscale_(opt);
      zn.nn.utils.clipGradNorm_(net.parameters(), 0.5);
    }
    sc.step(opt);
    sc.update();
    scales.push(sc.getScale());
  }
  deepEqual(scales, [1024, 2048, 1024, 1024, 2048, 2048]);
  const w = net.weight.toArray() as number[][], b = net.bias!.toArray() as number[];
  const want = [0.48558494448661804, -1.1611465215682983, 0.6201783418655396];
  w[0].forEach((v, i) => ok(Math.abs(v - want[i]) < 1e-6, `weight ${i}: ${v} vs ${want[i]}`));
  ok(Math.abs(b[0] - 0.05119479075074196) < 1e-6, `bias ${b[0]}`);
  deepEqual(sc.stateDict(), {
    scale: 2048,
    growthFactor: 2,
    backoffFactor: 0.5,
    growthInterval: 2,
    growthTracker: 1,
  });
});

Deno.test("GradScaler: state round trip, disabled pass-through and PyTorch's errors", () => {
  const a = new zn.amp.GradScaler({ initScale: 8 });
  const b = new zn.amp.GradScaler();
  b.loadStateDict(a.stateDict());
  equal(b.getScale(), 8);
  throws(() => b.loadStateDict({ ...a.stateDict(), scale: "x" }), /scale must be a number/);
  equal(b.getScale(), 8);
  const off = new zn.amp.GradScaler({ enabled: false });
  const t = zn.ones([2]);
  ok(off.scale(t) === t);
  equal(off.getScale(), 1);
  const p = zn.ones([2], { dtype: "float16", requiresGrad: true });
  p.grad = zn.ones([2], { dtype: "float16" });
  const opt = new zn.optim.SGD([p], { lr: 0.1 });
  throws(() => a.unscale_(opt), /Attempting to unscale FP16 gradients/);
  const q = zn.ones([2], { requiresGrad: true });
  q.grad = zn.ones([2]);
  const o2 = new zn.optim.SGD([q], { lr: 0.1 });
  const c = new zn.amp.GradScaler();
  c.unscale_(o2);
  throws(() => c.unscale_(o2), /unscale_\(\) has already been called/);
  throws(() => new zn.amp.GradScaler().update(), /No inf checks were recorded/);
  throws(() => new zn.amp.GradScaler({ growthFactor: 1 }), /growth factor must be > 1.0/);
  // deno-lint-ignore no-explicit-any
  throws(() => new zn.amp.GradScaler({ init: 2 } as any), /GradScaler.*init/);
});

const F = zn.nn.functional;
const CPU_BF16 = { deviceType: "cpu", dtype: "bfloat16" } as const;

Deno.test("autocast: PyTorch's CPU op lists decide each op's dtype", () => {
  const x = zn.randn([4, 4]), y = zn.randn([4, 4]), v = zn.randn([4]);
  const img = zn.randn([1, 2, 6, 6]), w = zn.randn([3, 2, 3, 3]);
  const t = zn.tensor([0, 1, 2, 3], { dtype: "int64" });
  // float32 inputs: the lower-precision list runs in bfloat16 (torch 2.13 on the same calls).
  const lower = zn.autocast(CPU_BF16, () => ({
    matmul: x.matmul(y),
    bmm: zn.bmm(x.unsqueeze(0), y.unsqueeze(0)),
    addmm: zn.addmm(x, x, y),
    baddbmm: zn.baddbmm(x.unsqueeze(0), x.unsqueeze(0), y.unsqueeze(0)),
    linear: F.linear(x, y, v),
    conv2d: F.conv2d(img, w, zn.randn([3])),
    sdpa: F.scaledDotProductAttention(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0)),
    prelu: F.prelu(x, zn.tensor([0.25])),
    lstm: new zn.nn.LSTM(4, 3).call(x.unsqueeze(1))[0],
  }));
  for (const [k, o] of Object.entries(lower)) equal(o.dtype, "bfloat16", k);
  // Other ops keep their inputs' dtype; float64 never autocasts.
  const kept = zn.autocast(CPU_BF16, () => ({
    softmax: F.softmax(x, -1),
    relu: x.relu(),
    sum: x.sum(),
    layerNorm: F.layerNorm(x, [4]),
    addmv: zn.addmv(v, x, v),
    outer: zn.outer(v, v),
  }));
  for (const [k, o] of Object.entries(kept)) equal(o.dtype, "float32", k);
  equal(zn.autocast(CPU_BF16, () => x.to("float64").matmul(y.to("float64"))).dtype, "float64");
  // bfloat16 inputs: the float32 list runs in float32, the rest stays bfloat16.
  const xb = x.to("bfloat16"), yb = y.to("bfloat16");
  const full = zn.autocast(CPU_BF16, () => ({
    mseLoss: F.mseLoss(xb, yb),
    l1Loss: F.l1Loss(xb, yb),
    crossEntropy: F.crossEntropy(xb, t),
    nllLoss: F.nllLoss(xb, t),
    bceWithLogits: F.binaryCrossEntropyWithLogits(xb, yb.sigmoid()),
    klDiv: F.klDiv(xb, yb, { reduction: "batchmean" }),
    huberLoss: F.huberLoss(xb, yb),
    cdist: zn.cdist(xb, yb),
    prod: xb.prod(),
    trace: zn.trace(xb),
    quantile: zn.quantile(xb, 0.5),
  }));
  for (const [k, o] of Object.entries(full)) equal(o.dtype, "float32", k);
  const stays = zn.autocast(
    CPU_BF16,
    () => [F.softmax(xb, -1), xb.sum(), xb.exp(), F.layerNorm(xb, [4])],
  );
  for (const o of stays) equal(o.dtype, "bfloat16");
  // Outside the region, and for the other device, nothing changes.
  equal(x.matmul(y).dtype, "float32");
  equal(zn.autocast({ deviceType: "cuda" }, () => x.matmul(y)).dtype, "float32");
  equal(zn.isAutocastEnabled("cpu"), false);
});

/** A deterministic value pattern the PyTorch reference builds the same way. */
function det(shape: number[], k: number): zn.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return zn.arange(n).mul(0.37).add(k).sin().mul(0.5).reshape(shape);
}

Deno.test("autocast: a bfloat16 training step gives PyTorch's loss and float32 gradients", () => {
  const w1 = det([8, 6], 1).requiresGrad_(true), b1 = det([8], 2).requiresGrad_(true);
  const w2 = det([3, 8], 3).requiresGrad_(true), b2 = det([3], 4).requiresGrad_(true);
  const x = det([5, 6], 5).mul(2), t = zn.tensor([0, 2, 1, 1, 0], { dtype: "int64" });
  const [h, logits, loss] = zn.autocast(CPU_BF16, () => {
    const h = F.relu(F.linear(x, w1, b1));
    const logits = F.linear(h, w2, b2);
    return [h, logits, F.crossEntropy(logits, t)];
  });
  deepEqual([h.dtype, logits.dtype, loss.dtype], ["bfloat16", "bfloat16", "float32"]);
  loss.backward();
  // torch.autocast("cpu", torch.bfloat16) on the same values (torch 2.13).
  ok(Math.abs((loss.item() as number) - 1.1796762943267822) < 2e-3, `loss ${loss.item()}`);
  equal(w1.grad!.dtype, "float32");
  const gw1 = (w1.grad!.reshape([-1]).toArray() as number[]).slice(0, 6);
  const want = [
    -0.087890625,
    -0.08984375,
    -0.07958984375,
    -0.058349609375,
    -0.0294189453125,
    0.0035858154296875,
  ];
  gw1.forEach((g, i) => ok(Math.abs(g - want[i]) < 2e-3, `w1.grad[${i}] ${g} vs ${want[i]}`));
  const gb2 = b2.grad!.toArray() as number[];
  [-0.2490234375, 0.25390625, -0.004150390625].forEach((g, i) =>
    ok(Math.abs(gb2[i] - g) < 2e-3, `b2.grad[${i}] ${gb2[i]} vs ${g}`)
  );
});

Deno.test("autocast: regions nest and restore, `using` leaves them, and bad options are refused", () => {
  {
    using _r = zn.autocast(CPU_BF16);
    equal(zn.isAutocastEnabled(), true);
    zn.autocast({ deviceType: "cpu", enabled: false }, () => {
      equal(zn.isAutocastEnabled(), false);
      equal(zn.ones([2, 2]).matmul(zn.ones([2, 2])).dtype, "float32");
    });
    equal(zn.isAutocastEnabled(), true);
    equal(
      zn.autocast(
        { deviceType: "cpu", dtype: "float16" },
        () => zn.ones([2, 2]).matmul(zn.ones([2, 2])),
      ).dtype,
      "float16",
    );
  }
  equal(zn.isAutocastEnabled(), false);
  throws(() =>
    zn.autocast(CPU_BF16, () => {
      throw new Error("inside");
    }), /inside/);
  equal(zn.isAutocastEnabled(), false);
  throws(
    () => zn.autocast({ deviceType: "tpu" } as unknown as zn.AutocastOptions),
    /autocast: deviceType must be "cpu" or "cuda"/,
  );
  throws(
    () => zn.autocast({ deviceType: "cpu", dtype: "float32" } as unknown as zn.AutocastOptions),
    /autocast: dtype must be "bfloat16" or "float16"/,
  );
  throws(
    () => zn.autocast({ deviceType: "cpu", cache: true } as unknown as zn.AutocastOptions),
    /autocast.*cache/,
  );
});
