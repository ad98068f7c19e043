/**
 * Optimizers and schedulers against PyTorch: the same model, initial weights
 * and data give the same parameters after several steps, and each scheduler
 * gives PyTorch's learning-rate sequence. Fixtures: fixtures/optim.json, made
 * by fixtures/make_optim_fixtures.py.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

interface OptimCase {
  name: string;
  kind: "SGD" | "Adam" | "AdamW" | "RMSprop" | "Adagrad";
  opts: Record<string, unknown>;
  groups?: boolean;
  losses: number[];
  w: number[];
  b: number[];
}
interface SchedCase {
  name: string;
  opts: Record<string, unknown>;
  lrs: number[];
  momentums?: number[];
}
const fx = JSON.parse(Deno.readTextFileSync(new URL("fixtures/optim.json", import.meta.url))) as {
  init: { w: number[]; b: number[]; x: number[]; y: number[] };
  steps: number;
  optimizers: OptimCase[];
  schedulers: SchedCase[];
  half: {
    p0: number[];
    grads: number[][];
    runs: {
      kind: string;
      dtype: "float16" | "bfloat16";
      opts: Record<string, unknown>;
      p: number[];
    }[];
    masterRuns: {
      kind: string;
      dtype: "float16" | "bfloat16";
      opts: Record<string, unknown>;
      p: number[];
      master: number[];
    }[];
  };
};

function close(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  ok(
    actual.length === expected.length && worst <= tol,
    `${what}: largest difference ${worst} at ${at} (zeno ${actual[at]}, pytorch ${expected[at]})`,
  );
}

const X = zn.tensor(Float64Array.from(fx.init.x), { shape: [8, 4] });
const Y = zn.tensor(Float64Array.from(fx.init.y), { shape: [8, 3] });
const loss = (w: zn.Tensor, b: zn.Tensor) =>
  X.matmul(w.to("float64")).add(b.to("float64")).tanh().sub(Y).square().mean().to("float32");

function makeOptimizer(c: OptimCase, w: zn.Tensor, b: zn.Tensor) {
  const params = c.groups ? [{ params: [w], lr: 0.05 }, { params: [b] }] : [w, b];
  // deno-lint-ignore no-explicit-any
  const Ctor = (zn.optim as any)[c.kind];
  return new Ctor(params, c.opts) as zn.optim.Optimizer<{ lr: number }>;
}

for (const c of fx.optimizers) {
  Deno.test(`optim: ${c.name} follows PyTorch's trajectory for ${fx.steps} steps`, () => {
    const w = zn.tensor(Float64Array.from(fx.init.w), {
      shape: [4, 3],
      dtype: "float32",
      requiresGrad: true,
    });
    const b = zn.tensor(Float64Array.from(fx.init.b), { dtype: "float32", requiresGrad: true });
    const opt = makeOptimizer(c, w, b);
    const losses: number[] = [];
    for (let i = 0; i < fx.steps; i++) {
      opt.zeroGrad();
      const l = loss(w, b);
      l.backward();
      losses.push(l.item() as number);
      opt.step();
    }
    close(losses, c.losses, 1e-5, "losses");
    close(w.toTypedArray() as Float32Array, c.w, 1e-5, "weight");
    close(b.toTypedArray() as Float32Array, c.b, 1e-5, "bias");
  });
}

Deno.test("optim: state round-trips through stateDict, and training continues identically", () => {
  const c = fx.optimizers.find((o) => o.name === "Adam amsgrad weightDecay")!;
  const mk = () => ({
    w: zn.tensor(Float64Array.from(fx.init.w), {
      shape: [4, 3],
      dtype: "float32",
      requiresGrad: true,
    }),
    b: zn.tensor(Float64Array.from(fx.init.b), { dtype: "float32", requiresGrad: true }),
  });
  const stepOnce = (o: zn.optim.Optimizer<{ lr: number }>, w: zn.Tensor, b: zn.Tensor) => {
    o.zeroGrad();
    loss(w, b).backward();
    o.step();
  };
  const a = mk();
  const optA = makeOptimizer(c, a.w, a.b);
  for (let i = 0; i < 3; i++) stepOnce(optA, a.w, a.b);
  const sd = optA.stateDict();
  const b2 = { w: a.w.detach().clone().requiresGrad_(), b: a.b.detach().clone().requiresGrad_() };
  const optB = makeOptimizer(c, b2.w, b2.b);
  optB.loadStateDict(sd);
  for (let i = 0; i < 3; i++) {
    stepOnce(optA, a.w, a.b);
    stepOnce(optB, b2.w, b2.b);
  }
  deepEqual(b2.w.toArray(), a.w.toArray());
  deepEqual(b2.b.toArray(), a.b.toArray());
  const sd2 = optB.stateDict();
  deepEqual(Object.keys(sd2.state[0]).sort(), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]);
  deepEqual(sd2.paramGroups[0].params, [0, 1]);
});

Deno.test("optim: zeroGrad clears gradients to null, or to zeros with setToNone false", () => {
  const w = zn.ones([2], { requiresGrad: true });
  const opt = new zn.optim.SGD([w], { lr: 0.1 });
  w.sum().backward();
  opt.zeroGrad({ setToNone: false });
  deepEqual(w.grad!.toArray(), [0, 0]);
  opt.zeroGrad();
  ok(w.grad === null);
});

Deno.test("optim: invalid options and parameters are refused with PyTorch's messages", () => {
  const w = zn.ones([2], { requiresGrad: true });
  throws(() => new zn.optim.SGD([w], { lr: -1 }), /Invalid learning rate: -1/);
  throws(() => new zn.optim.Adam([w], { betas: [1.5, 0.9] }), /Invalid beta parameter at index 0/);
  throws(() => new zn.optim.SGD([w], { nesterov: true }), /Nesterov momentum requires/);
  throws(() => new zn.optim.SGD([], {}), /empty parameter list/);
  throws(() => new zn.optim.SGD([w.mul(2)], {}), /non-leaf/);
  throws(
    () => new zn.optim.SGD([{ params: [w] }, { params: [w] }], {}),
    /more than one parameter group/,
  );
});

Deno.test("optim: float64 parameters update in float64", () => {
  const w = zn.tensor([1, 2], { dtype: "float64", requiresGrad: true });
  const opt = new zn.optim.SGD([w], { lr: 0.1 });
  w.square().sum().backward();
  opt.step();
  deepEqual(w.toArray(), [1 - 0.2, 2 - 0.4]);
});

const S = zn.optim.lrScheduler;
function lrRun(c: SchedCase): { lrs: number[]; moms: number[] } {
  const p = zn.zeros([1], { requiresGrad: true });
  const o = c.opts;
  const opt = c.name === "OneCycleLR" || c.name === "CyclicLR"
    ? new zn.optim.SGD([p], { lr: 1, momentum: 0.9 })
    : new zn.optim.SGD([p], { lr: 1 });
  // deno-lint-ignore no-explicit-any
  let sched: any;
  switch (c.name) {
    case "StepLR":
      sched = new S.StepLR(opt, o as { stepSize: number; gamma: number });
      break;
    case "MultiStepLR":
      sched = new S.MultiStepLR(opt, o as { milestones: number[]; gamma: number });
      break;
    case "ExponentialLR":
      sched = new S.ExponentialLR(opt, o as { gamma: number });
      break;
    case "CosineAnnealingLR":
      sched = new S.CosineAnnealingLR(opt, o as { tMax: number; etaMin: number });
      break;
    case "LinearLR":
      sched = new S.LinearLR(opt, o);
      break;
    case "OneCycleLR":
      sched = new S.OneCycleLR(opt, o as { maxLr: number; totalSteps: number });
      break;
    case "ReduceLROnPlateau": {
      const { metrics: _metrics, ...plateau } = o; // the metrics are step()'s, not an option
      sched = new S.ReduceLROnPlateau(opt, plateau);
      break;
    }
    case "LambdaLR":
      sched = new S.LambdaLR(opt, (e) => 0.95 ** e);
      break;
    case "MultiplicativeLR":
      sched = new S.MultiplicativeLR(opt, () => 0.9);
      break;
    case "ConstantLR":
      sched = new S.ConstantLR(opt, o);
      break;
    case "PolynomialLR":
      sched = new S.PolynomialLR(opt, o);
      break;
    case "CosineAnnealingWarmRestarts":
      sched = new S.CosineAnnealingWarmRestarts(opt, o as { t0: number });
      break;
    case "CyclicLR":
    case "CyclicLR expRange":
      sched = new S.CyclicLR(opt, o as unknown as zn.optim.lrScheduler.CyclicOptions);
      break;
    case "ChainedScheduler":
      sched = new S.ChainedScheduler([
        new S.ConstantLR(opt, o.constant as { factor: number; totalIters: number }),
        new S.ExponentialLR(opt, { gamma: o.gamma as number }),
      ]);
      break;
    case "SequentialLR": {
      const warm = new S.LinearLR(opt, o.warmup as { startFactor: number; totalIters: number });
      const cos = new S.CosineAnnealingLR(opt, o.cosine as { tMax: number });
      sched = new S.SequentialLR(opt, {
        schedulers: [warm, cos],
        milestones: o.milestones as number[],
      });
      break;
    }
  }
  const g = opt.paramGroups[0];
  const lrs = [g.lr], moms = [g.momentum];
  const metrics = o.metrics as number[] | undefined;
  for (let i = 0; i < c.lrs.length - 1; i++) {
    opt.step();
    if (metrics) sched.step(metrics[i]);
    else sched.step();
    lrs.push(g.lr);
    moms.push(g.momentum);
  }
  return { lrs, moms };
}

for (const c of fx.schedulers) {
  Deno.test(`lrScheduler: ${c.name} gives PyTorch's learning-rate sequence`, () => {
    const r = lrRun(c);
    close(r.lrs, c.lrs, 1e-12, "learning rates");
    if (c.momentums) close(r.moms, c.momentums, 1e-12, "momentums");
  });
}

Deno.test("lrScheduler: the PyTorch-style schedulers refuse bad arguments by name", () => {
  const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
  // deno-lint-ignore no-explicit-any
  const anyS = S as any;
  throws(() => new anyS.LambdaLR(opt, 0.5), /LambdaLR: expected lrLambda to be a function/);
  throws(() => new S.LambdaLR(opt, [() => 1, () => 1]), /LambdaLR: expected 1 lrLambda/);
  throws(() => new S.ConstantLR(opt, { factor: 2 }), /ConstantLR: factor must be in \[0, 1\]/);
  throws(() => new anyS.PolynomialLR(opt, { total: 3 }), /PolynomialLR.*total/);
  throws(
    () => new S.CosineAnnealingWarmRestarts(opt, { t0: 0 }),
    /CosineAnnealingWarmRestarts.*t0/,
  );
  throws(
    () =>
      new S.CyclicLR(opt, {
        baseLr: 0.1,
        maxLr: 1,
        cycleMomentum: false,
        mode: "exp" as "expRange",
      }),
    /CyclicLR: unknown mode "exp"/,
  );
  throws(
    () =>
      new S.CyclicLR(new zn.optim.Adagrad([zn.zeros([1], { requiresGrad: true })]), {
        baseLr: 0.1,
        maxLr: 1,
      }),
    /CyclicLR: optimizer has neither momentum nor betas/,
  );
  throws(
    () => new S.CyclicLR(opt, { baseLr: [0.1, 0.2], maxLr: 1, cycleMomentum: false }),
    /baseLr must have one value per parameter group/,
  );
  throws(() => new S.ChainedScheduler([]), /ChainedScheduler: expected at least one/);
  const other = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
  throws(
    () =>
      new S.ChainedScheduler([
        new S.ExponentialLR(opt, { gamma: 0.9 }),
        new S.ExponentialLR(other, { gamma: 0.9 }),
      ]),
    /schedulers\[1\] has another optimizer/,
  );
});

Deno.test("lrScheduler: CosineAnnealingWarmRestarts resumes from its state dict and takes fractional epochs", () => {
  const make = () => new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
  const a = new S.CosineAnnealingWarmRestarts(make(), { t0: 2, tMult: 2 });
  for (let i = 0; i < 3; i++) a.step();
  const b = new S.CosineAnnealingWarmRestarts(make(), { t0: 2, tMult: 2 });
  b.loadStateDict(a.stateDict());
  a.step();
  b.step();
  deepEqual(b.getLastLr()[0], a.getLastLr()[0]);
  // torch: step(2.5) with T_0=2, T_mult=2 -> T_cur 0.5 of T_i 4: 0.5 * (1 + cos(pi / 8)).
  a.step(2.5);
  close(a.getLastLr(), [0.5 * (1 + Math.cos(Math.PI / 8))], 1e-15, "fractional epoch");
  throws(() => b.loadStateDict({ ...b.stateDict(), tI: "x" }), /expected tI to be a number/);
});

/** Asserts a half parameter within one unit in the last place of `want` (relative, floor 2^-6). */
function withinOneUlp(p: zn.Tensor, want: number[], dtype: "float16" | "bfloat16"): void {
  const ulp = dtype === "bfloat16" ? 2 ** -7 : 2 ** -10;
  const got = p.toArray() as number[];
  let worst = 0;
  got.forEach((v, i) =>
    worst = Math.max(worst, Math.abs(v - want[i]) / Math.max(Math.abs(want[i]), 2 ** -6))
  );
  ok(worst <= ulp, `largest relative difference ${worst}`);
}

for (const r of fx.half.runs) {
  Deno.test(`optim: ${r.kind} steps ${r.dtype} parameters in float32 with float32 state, as the reference`, () => {
    const p = zn.tensor(fx.half.p0, { dtype: r.dtype, requiresGrad: true });
    // deno-lint-ignore no-explicit-any
    const opt = new (zn.optim as any)[r.kind]([p], r.opts) as zn.optim.Optimizer<{ lr: number }>;
    for (const g of fx.half.grads) {
      p.grad = zn.tensor(g, { dtype: r.dtype });
      opt.step();
    }
    equal(p.dtype, r.dtype);
    for (const v of Object.values(opt.stateDict().state[0])) {
      if (v instanceof zn.Tensor) equal(v.dtype, "float32", "state kept in float32");
    }
    // One unit in the last place of the half type: a rounding boundary may
    // fall either side after a different float32 summation order.
    withinOneUlp(p, r.p, r.dtype);
  });
}

for (const r of fx.half.masterRuns) {
  Deno.test(`optim: ${r.kind} with masterWeights steps a float32 copy of ${r.dtype} parameters, as the reference`, () => {
    const p = zn.tensor(fx.half.p0, { dtype: r.dtype, requiresGrad: true });
    // deno-lint-ignore no-explicit-any
    const opt = new (zn.optim as any)[r.kind]([p], r.opts) as zn.optim.Optimizer<{ lr: number }>;
    for (const g of fx.half.grads) {
      p.grad = zn.tensor(g, { dtype: r.dtype });
      opt.step();
    }
    equal(p.dtype, r.dtype);
    const master = opt.stateDict().state[0].master_param as zn.Tensor;
    equal(master.dtype, "float32");
    close(master.toArray() as number[], r.master, 1e-6, "master copy");
    // The parameter is the copy rounded: at most one unit apart where the
    // copy sits near a rounding boundary.
    withinOneUlp(p, r.p, r.dtype);
  });
}

Deno.test("optim: masterWeights keeps updates below bfloat16's resolution, and restarts after outside changes", () => {
  const run = (masterWeights: boolean) => {
    const w = zn.ones([3], { dtype: "bfloat16", requiresGrad: true });
    const opt = new zn.optim.SGD([w], { lr: 1e-3, masterWeights });
    for (let i = 0; i < 10; i++) {
      w.grad = zn.ones([3], { dtype: "bfloat16" });
      opt.step();
    }
    return { w, opt };
  };
  // 1 - 0.001 rounds back to 1 in bfloat16 (its spacing below 1 is 2^-8).
  deepEqual(run(false).w.toArray(), [1, 1, 1]);
  const { w, opt } = run(true);
  deepEqual(w.toArray(), [0.98828125, 0.98828125, 0.98828125]);
  // A parameter written outside the optimizer restarts its copy.
  zn.noGrad(() => w.copy_(zn.full([3], 2, { dtype: "bfloat16" })));
  w.grad = zn.ones([3], { dtype: "bfloat16" });
  opt.step();
  close(
    (opt.state.get(w)!.master_param as zn.Tensor).toArray() as number[],
    [1.999, 1.999, 1.999],
    1e-6,
    "copy after an outside write",
  );
  // A restored optimizer state keeps its master copy.
  const sd = opt.stateDict();
  const w2 = w.detach().clone().requiresGrad_(true);
  const opt2 = new zn.optim.SGD([w2], { lr: 1e-3, masterWeights: true });
  opt2.loadStateDict(sd);
  w2.grad = zn.ones([3], { dtype: "bfloat16" });
  opt2.step();
  close(
    (opt2.state.get(w2)!.master_param as zn.Tensor).toArray() as number[],
    [1.998, 1.998, 1.998],
    1e-6,
    "copy after loadStateDict",
  );
  // float32 parameters have no copy.
  const f = zn.ones([2], { requiresGrad: true });
  const optF = new zn.optim.Adam([f], { masterWeights: true });
  f.sum().backward();
  optF.step();
  ok(!("master_param" in optF.state.get(f)!), "no master copy for float32");
});

interface LbfgsRun {
  line_search: "strong_wolfe" | null;
  opts: { max_iter: number; history_size?: number; lr?: number };
  steps: { loss: number; w: number[]; b: number[]; func_evals: number; n_iter: number }[];
}

Deno.test("LBFGS follows PyTorch's iterates, with and without the strong-Wolfe line search", () => {
  const lb = (fx as unknown as {
    lbfgs: { x: number[]; y: number[]; w0: number[]; runs: LbfgsRun[] };
  }).lbfgs;
  const x = zn.tensor(lb.x, { dtype: "float64" }).reshape([8, 3]);
  const y = zn.tensor(lb.y, { dtype: "float64" });
  for (const run of lb.runs) {
    const w = zn.tensor(lb.w0, { dtype: "float64", requiresGrad: true });
    const b = zn.zeros([1], { dtype: "float64", requiresGrad: true });
    const opt = new zn.optim.LBFGS([w, b], {
      lineSearchFn: run.line_search,
      maxIter: run.opts.max_iter,
      ...(run.opts.history_size ? { historySize: run.opts.history_size } : {}),
      ...(run.opts.lr ? { lr: run.opts.lr } : {}),
    });
    const closure = () => {
      opt.zeroGrad();
      const loss = x.matmul(w).add(b).sub(y).square().mean().add(w.pow(4).sum().mul(0.05));
      loss.backward();
      return loss;
    };
    const what = `LBFGS ${run.line_search} ${JSON.stringify(run.opts)}`;
    run.steps.forEach((want, i) => {
      const loss = opt.step(closure).item() as number;
      const got = [...(w.toArray() as number[]), ...(b.toArray() as number[])];
      const expect = [...want.w, ...want.b];
      const diff = Math.max(...got.map((v, j) => Math.abs(v - expect[j])));
      ok(diff < 1e-9, `${what} step ${i}: largest parameter difference ${diff}`);
      ok(Math.abs(loss - want.loss) < 1e-9, `${what} step ${i}: loss ${loss}, want ${want.loss}`);
      const st = opt.state.get(w)!;
      deepEqual([st.func_evals, st.n_iter], [want.func_evals, want.n_iter], `${what} step ${i}`);
    });
  }
});

Deno.test("LBFGS rejects a missing closure, parameter groups and unknown line searches", () => {
  const w = zn.zeros([2], { requiresGrad: true });
  throws(() => new zn.optim.LBFGS([w]).step(), /closure/);
  throws(
    () =>
      new zn.optim.LBFGS([{ params: [w] }, { params: [zn.zeros([1], { requiresGrad: true })] }]),
    /parameter groups/,
  );
  throws(
    () => new zn.optim.LBFGS([w], { lineSearchFn: "armijo" as "strong_wolfe" }),
    /strong_wolfe/,
  );
});
