// The "nccl" backend on a GPU, as a world of one (bench/gpu_check.sh runs it
// where a GPU is lent; NCCL refuses two ranks on one device): every
// collective on CUDA tensors (contiguous, strided, half, integer and bool)
// against the values a world of one gives, and DistributedDataParallel on the
// device against the same model trained without it. Exits non-zero with the
// largest difference when one is off.
import * as zn from "../../mod.ts";

zn.distributed.initProcessGroup({ backend: "nccl" });
if (zn.distributed.getBackend() !== "nccl" || zn.distributed.getWorldSize() !== 1) {
  throw new Error("nccl: expected a world of one on the nccl backend");
}
const dev = "cuda";

function expectClose(what: string, got: zn.Tensor, want: number[], tol = 0): void {
  const g = Array.from(got.to("cpu").toTypedArray() as ArrayLike<number | bigint>, Number);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(g[i] - want[i]));
  if (g.length !== want.length || !(worst <= tol)) {
    throw new Error(`nccl: ${what}: got [${g}], want [${want}] (largest difference ${worst})`);
  }
}

const base = [1, -2, 3.5, 0.25];
for (const dtype of ["float32", "float64", "bfloat16", "float16"] as const) {
  for (const op of ["sum", "avg", "max", "min", "product"] as const) {
    const t = zn.tensor(base, { device: dev }).to(dtype);
    zn.distributed.allReduce(t, { op });
    expectClose(`allReduce ${op} ${dtype}`, t, base);
  }
}
for (const dtype of ["int64", "int32", "uint8", "int8"] as const) {
  const t = zn.tensor([1, 2, 3], { device: dev }).to(dtype);
  zn.distributed.allReduce(t);
  expectClose(`allReduce ${dtype}`, t, [1, 2, 3]);
}
const flags = zn.tensor([true, false], { device: dev });
zn.distributed.allReduce(flags);
expectClose("allReduce bool", flags, [1, 0]);
const m = zn.tensor([[1, 2], [3, 4]], { device: dev });
const view = m.mT; // strided: a contiguous copy travels and is written back
zn.distributed.allReduce(view, { op: "avg" });
expectClose("allReduce strided", m, [1, 2, 3, 4]);
const b = zn.tensor([5, 6], { device: dev });
zn.distributed.broadcast(b, 0);
expectClose("broadcast", b, [5, 6]);
const outs = [zn.zeros([2], { device: dev })];
zn.distributed.allGather(outs, zn.tensor([7, 8], { device: dev }));
expectClose("allGather", outs[0], [7, 8]);
const rs = zn.zeros([2], { device: dev });
zn.distributed.reduceScatter(rs, [zn.tensor([9, 10], { device: dev })]);
expectClose("reduceScatter", rs, [9, 10]);
const got = [zn.zeros([2], { device: dev })];
zn.distributed.gather(zn.tensor([11, 12], { device: dev }), got, 0);
expectClose("gather", got[0], [11, 12]);
const mine = zn.zeros([2], { device: dev });
zn.distributed.scatter(mine, [zn.tensor([13, 14], { device: dev })], 0);
expectClose("scatter", mine, [13, 14]);
await zn.distributed.allReduce(zn.ones([3], { device: dev }), { asyncOp: true }).wait();
zn.distributed.barrier();

// DDP on the device: a world of one trains exactly as the plain model does.
zn.manualSeed(3);
const make = () =>
  new zn.nn.Sequential(new zn.nn.Linear(6, 8), new zn.nn.ReLU(), new zn.nn.Linear(8, 2));
const plain = make().to(dev);
const wrapped = make().to(dev);
wrapped.loadStateDict(plain.stateDict());
const ddp = new zn.nn.parallel.DistributedDataParallel(wrapped);
const o1 = new zn.optim.SGD(plain.parameters(), { lr: 0.1 });
const o2 = new zn.optim.SGD(ddp.parameters(), { lr: 0.1 });
for (let step = 0; step < 5; step++) {
  const x = zn.randn([4, 6]).to(dev);
  for (const [model, opt] of [[plain, o1], [ddp, o2]] as const) {
    opt.zeroGrad();
    model.call(x).square().mean().backward();
    opt.step();
  }
}
const pa = [...plain.parameters()], pb = [...wrapped.parameters()];
pa.forEach((p, i) => {
  const want = Array.from(p.to("cpu").toTypedArray() as Float32Array);
  expectClose(`DDP parameter ${i} after 5 steps`, pb[i].detach().reshape([-1]), want, 1e-6);
});
zn.distributed.destroyProcessGroup();
console.log("nccl gpu check ok");
