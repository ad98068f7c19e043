/**
 * zn.optim.swaUtils against PyTorch (tests/fixtures/swa.json): AveragedModel
 * over a sequence of model snapshots (SWA, EMA by multiAvgFn and by avgFn,
 * buffers averaged or copied), updateBn's recomputed statistics and SWALR's
 * learning rates.
 */
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

interface Rec {
  shape: number[];
  dtype: string;
  data: number[];
}
type State = Record<string, Rec>;

const fx = JSON.parse(Deno.readTextFileSync(new URL("./fixtures/swa.json", import.meta.url))) as {
  snapshots: State[];
  averages: { name: string; steps: State[] }[];
  updateBn: { batches: Rec[]; state: State; training: boolean; momentum: number };
  swalr: { strategy: "cos" | "linear"; annealEpochs: number; lrs: number[][] }[];
};

const swa = zn.optim.swaUtils;

function tensorOf(r: Rec): zn.Tensor {
  return zn.tensor(r.data, { dtype: r.dtype as DType }).reshape(r.shape);
}

function make(): zn.nn.Sequential {
  return new zn.nn.Sequential(
    new zn.nn.Linear(3, 4),
    new zn.nn.BatchNorm1d(4),
    new zn.nn.ReLU(),
    new zn.nn.Linear(4, 2),
  ).double();
}

function load(m: zn.nn.Module, s: State): void {
  m.loadStateDict(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, tensorOf(v)])));
}

function assertState(got: Record<string, zn.Tensor>, want: State, what: string): void {
  assertEquals(Object.keys(got), Object.keys(want), `${what}: keys`);
  for (const [k, w] of Object.entries(want)) {
    const g = got[k].to("float64").reshape([-1]).toArray() as number[];
    let diff = 0;
    g.forEach((v, i) => diff = Math.max(diff, Math.abs(v - w.data[i])));
    assert(diff < 1e-12, `${what}: ${k}: largest difference ${diff}`);
    assertEquals(got[k].dtype, w.dtype, `${what}: ${k}: dtype`);
  }
}

const OPTIONS: Record<string, zn.optim.swaUtils.AveragedModelOptions> = {
  "swa": {},
  "ema multi": { multiAvgFn: swa.getEmaMultiAvgFn(0.75) },
  "ema avg": { avgFn: swa.getEmaAvgFn(0.75) },
  "ema buffers": { multiAvgFn: swa.getEmaMultiAvgFn(0.75), useBuffers: true },
};

for (const a of fx.averages) {
  Deno.test(`AveragedModel matches PyTorch's over model snapshots: ${a.name}`, () => {
    const model = make();
    const avg = new swa.AveragedModel(make(), OPTIONS[a.name]);
    fx.snapshots.forEach((snap, i) => {
      load(model, snap);
      avg.updateParameters(model);
      assertState(avg.stateDict(), a.steps[i], `${a.name} after update ${i + 1}`);
    });
    assertEquals(avg.nAveraged, fx.snapshots.length);
    // The average runs as a model, and a state dict round trip restores it.
    const x = zn.randn([5, 3], { dtype: "float64" });
    const back = new swa.AveragedModel(make(), OPTIONS[a.name]);
    back.loadStateDict(avg.stateDict());
    avg.eval();
    back.eval();
    assertEquals(back.call(x).toArray(), avg.call(x).toArray());
  });
}

Deno.test("updateBn recomputes batch-norm statistics as PyTorch's update_bn", () => {
  const model = make();
  load(model, fx.snapshots[fx.snapshots.length - 1]);
  model.eval();
  const batches = fx.updateBn.batches.map((b) => [tensorOf(b), null]);
  swa.updateBn(batches, model);
  assertState(model.stateDict(), fx.updateBn.state, "updateBn");
  assertEquals(model.training, fx.updateBn.training);
  assertEquals((model.at(1) as zn.nn.BatchNorm1d).momentum, fx.updateBn.momentum);
});

for (const s of fx.swalr) {
  Deno.test(`SWALR matches PyTorch: ${s.strategy}, annealEpochs ${s.annealEpochs}`, () => {
    const p1 = zn.zeros([1], { requiresGrad: true }), p2 = zn.zeros([1], { requiresGrad: true });
    const opt = new zn.optim.SGD([{ params: [p1], lr: 1 }, { params: [p2], lr: 0.5 }], { lr: 1 });
    const sched = new swa.SWALR(opt, [0.1, 0.2], {
      annealEpochs: s.annealEpochs,
      annealStrategy: s.strategy,
    });
    const got = [sched.getLastLr()];
    for (let i = 0; i < 6; i++) {
      opt.step();
      sched.step();
      got.push(sched.getLastLr());
    }
    got.forEach((lrs, i) =>
      lrs.forEach((lr, j) => {
        const d = Math.abs(lr - s.lrs[i][j]);
        assert(d < 1e-12, `step ${i} group ${j}: ${lr} vs PyTorch's ${s.lrs[i][j]}`);
      })
    );
  });
}

Deno.test("AveragedModel copies the model: training it leaves the average alone", () => {
  const net = new zn.nn.Linear(2, 1);
  const avg = new swa.AveragedModel(net);
  const before = avg.module.weight.toArray();
  zn.noGrad(() => net.weight.add_(1));
  assertEquals(avg.module.weight.toArray(), before);
  assert(avg.module.weight !== net.weight);
  assertEquals(avg.module.weight.requiresGrad, true);
});

Deno.test("swaUtils name the function and the problem on bad input", () => {
  const net = new zn.nn.Linear(2, 1);
  assertThrows(() => new swa.AveragedModel({} as zn.nn.Module), TypeError, "AveragedModel");
  assertThrows(
    () =>
      new swa.AveragedModel(net, { use_buffers: true } as zn.optim.swaUtils.AveragedModelOptions),
    TypeError,
    "use_buffers",
  );
  const avg = new swa.AveragedModel(net);
  assertThrows(() => avg.updateParameters(new zn.nn.Linear(3, 1)), RangeError, "[1, 3]");
  assertThrows(() => avg.updateParameters(new zn.nn.Sequential()), RangeError, "0 parameters");
  const opt = new zn.optim.SGD(net.parameters(), { lr: 1 });
  assertThrows(
    () => new swa.SWALR(opt, 0.1, { annealStrategy: "exp" as "cos" }),
    RangeError,
    "'cos'",
  );
  assertThrows(() => new swa.SWALR(opt, 0.1, { annealEpochs: -1 }), RangeError, "annealEpochs");
  assertThrows(() => new swa.SWALR(opt, [0.1, 0.2]), RangeError, "1 values for swaLr, got 2");
});
