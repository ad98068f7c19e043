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
