// One rank of tests/distributed_test.ts's DistributedDataParallel job (any
// world size dividing 12). Each rank trains on its share of every global
// batch and checks its parameters against a single-process model trained on
// the whole batch from rank 0's initial weights; exits non-zero with the
// largest difference when they part.
import * as zn from "../../mod.ts";

zn.distributed.initProcessGroup();
const rank = zn.distributed.getRank();
const world = zn.distributed.getWorldSize();
const GLOBAL = 12;
const share = GLOBAL / world;
if (!Number.isInteger(share)) throw new Error(`world size ${world} does not divide ${GLOBAL}`);

function mlp(dtype: "float32" | "float64", seed: number): zn.nn.Module {
  zn.manualSeed(seed);
  return new zn.nn.Sequential(
    new zn.nn.Linear(5, 8),
    new zn.nn.Tanh(),
    new zn.nn.Linear(8, 3),
  ).to(dtype);
}

function batches(dtype: "float32" | "float64", steps: number): [zn.Tensor, zn.Tensor][] {
  const g = new zn.Generator(1234);
  return Array.from({ length: steps }, () => [
    zn.randn([GLOBAL, 5], { generator: g }).to(dtype),
    zn.randn([GLOBAL, 3], { generator: g }).to(dtype),
  ]);
}

function maxDiff(a: zn.nn.Module, b: zn.nn.Module): number {
  const pa = [...a.parameters()], pb = [...b.parameters()];
  let worst = 0;
  pa.forEach((p, i) => worst = Math.max(worst, p.sub(pb[i]).abs().max().item() as number));
  return worst;
}

function check(what: string, worst: number, tol: number): void {
  if (!(worst <= tol)) {
    throw new Error(`rank ${rank}: ${what}: largest difference ${worst} > ${tol}`);
  }
}

for (
  const [dtype, tol, cap] of [
    ["float64", 1e-6, 25],
    ["float32", 1e-5, 25],
    ["float64", 1e-6, 1e-4], // one parameter per bucket
  ] as const
) {
  // Each rank starts from its own weights; construction copies rank 0's.
  const ddp = new zn.nn.parallel.DistributedDataParallel(mlp(dtype, 100 + rank), {
    bucketCapMb: cap,
  });
  const ref = mlp(dtype, 100);
  const opt = new zn.optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
  const refOpt = new zn.optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 });
  check(`${dtype} initial broadcast`, maxDiff(ddp.module, ref), 0);
  for (const [x, y] of batches(dtype, 20)) {
    const xs = x.narrow(0, rank * share, share), ys = y.narrow(0, rank * share, share);
    opt.zeroGrad();
    zn.nn.functional.mseLoss(ddp.call(xs), ys).backward();
    opt.step();
    refOpt.zeroGrad();
    zn.nn.functional.mseLoss(ref.call(x), y).backward();
    refOpt.step();
  }
  check(`${dtype} after 20 steps (bucketCapMb ${cap})`, maxDiff(ddp.module, ref), tol);
}

// Gradient accumulation: two micro-batches, the first under noSync, equal
// one step on both together.
{
  const ddp = new zn.nn.parallel.DistributedDataParallel(mlp("float64", 7));
  const ref = mlp("float64", 7);
  const [[x1, y1], [x2, y2]] = batches("float64", 2);
  const part = (t: zn.Tensor) => t.narrow(0, rank * share, share);
  ddp.noSync(() => zn.nn.functional.mseLoss(ddp.call(part(x1)), part(y1)).mul(0.5).backward());
  const local = [...ddp.parameters()].map((p) => p.grad!.clone());
  zn.nn.functional.mseLoss(ddp.call(part(x2)), part(y2)).mul(0.5).backward();
  zn.nn.functional.mseLoss(ref.call(zn.cat([x1, x2])), zn.cat([y1, y2])).backward();
  const pr = [...ref.parameters()];
  let worst = 0;
  [...ddp.parameters()].forEach((p, i) =>
    worst = Math.max(worst, p.grad!.sub(pr[i].grad!).abs().max().item() as number)
  );
  check("noSync accumulation", worst, 1e-12);
  // noSync really skipped the reduction: the local gradients differed between ranks.
  const spread = local.map((g) => {
    const lo = g.clone(), hi = g.clone();
    zn.distributed.allReduce(lo, { op: "min" });
    zn.distributed.allReduce(hi, { op: "max" });
    return hi.sub(lo).abs().max().item() as number;
  });
  if (world > 1 && !(Math.max(...spread) > 1e-6)) {
    throw new Error(`rank ${rank}: noSync gradients were reduced`);
  }
}

// A parameter that gets no gradient: an error naming it, or zeros with findUnusedParameters.
{
  class Branchy extends zn.nn.Module {
    used = new zn.nn.Linear(3, 2);
    unused = new zn.nn.Linear(3, 2);
    override forward(x: zn.Tensor): zn.Tensor {
      return this.used.call(x);
    }
  }
  const strict = new zn.nn.parallel.DistributedDataParallel(new Branchy());
  let message = "";
  try {
    strict.call(zn.ones([2, 3])).sum().backward();
  } catch (e) {
    message = (e as Error).message;
  }
  if (!message.includes("unused.weight")) {
    throw new Error(`rank ${rank}: unused parameter gave "${message}"`);
  }
  const loose = new zn.nn.parallel.DistributedDataParallel(new Branchy(), {
    findUnusedParameters: true,
  });
  loose.call(zn.ones([2, 3])).sum().backward();
  const m = loose.module as Branchy;
  check("unused parameter's gradient", m.unused.weight.grad!.abs().max().item() as number, 0);
  check("used parameter's gradient", m.used.bias!.grad!.sub(2).abs().max().item() as number, 1e-6);
}

// Buffers: every forward starts from rank 0's running statistics.
{
  zn.manualSeed(rank);
  const bn = new zn.nn.parallel.DistributedDataParallel(new zn.nn.BatchNorm1d(3));
  bn.call(zn.randn([4, 3]).add(rank * 10)); // the ranks' running means part
  bn.eval();
  const before = (bn.module as zn.nn.BatchNorm1d).runningMean!.clone();
  bn.call(zn.zeros([1, 3]));
  const after = (bn.module as zn.nn.BatchNorm1d).runningMean!;
  const r0 = before.clone();
  zn.distributed.broadcast(r0, 0);
  check("buffers from rank 0", after.sub(r0).abs().max().item() as number, 0);
}

// DistributedSampler: the ranks' shares cover the padded epoch exactly once.
{
  const ds = new zn.data.TensorDataset(zn.arange(10));
  const sampler = new zn.data.DistributedSampler(ds, { seed: 3 });
  sampler.setEpoch(2);
  const mine = zn.tensor([...sampler]).to("int64");
  const all = Array.from({ length: world }, () => zn.zeros([sampler.length], { dtype: "int64" }));
  zn.distributed.allGather(all, mine);
  const seen = new Map<number, number>();
  for (const t of all) {
    for (const v of t.toArray() as number[]) seen.set(Number(v), (seen.get(Number(v)) ?? 0) + 1);
  }
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  if (total !== sampler.totalSize || seen.size !== 10) {
    throw new Error(`rank ${rank}: sampler shares cover ${seen.size} indices, ${total} draws`);
  }
}

console.log(`rank ${rank} of ${world}: ddp ok`);
zn.distributed.destroyProcessGroup();
