// Module.loadStateDict, Optimizer.loadStateDict and LRScheduler.loadStateDict
// check everything before they change anything: a load that throws leaves
// the model, the optimizer and the scheduler bit for bit as they were.
import assert from "node:assert/strict";
import * as zn from "../mod.ts";

const nn = zn.nn;

/** Every parameter's and buffer's bytes, by name. */
function snapshot(m: zn.nn.Module): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const add = (k: string, t: zn.Tensor) => {
    const a = t.toTypedArray();
    out.set(k, new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
  };
  for (const [k, p] of m.namedParameters()) add(`param ${k}`, p);
  for (const [k, b] of m.namedBuffers()) add(`buffer ${k}`, b);
  return out;
}

function assertUnchanged(m: zn.nn.Module, before: Map<string, Uint8Array>, what: string): void {
  const now = snapshot(m);
  assert.deepEqual([...now.keys()], [...before.keys()]);
  for (const [k, b] of before) {
    const a = now.get(k)!;
    assert.ok(a.length === b.length && a.every((x, i) => x === b[i]), `${what}: ${k} changed`);
  }
}

/** The error `fn` throws (failing when it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected an error");
}

function model(): zn.nn.Module {
  return new nn.Sequential(
    new nn.Linear(4, 8),
    new nn.BatchNorm1d(8),
    new nn.ReLU(),
    new nn.Linear(8, 3),
  );
}

/** A state dict with other values for every entry (same keys, shapes, dtypes). */
function otherState(m: zn.nn.Module): Record<string, zn.Tensor> {
  const sd: Record<string, zn.Tensor> = {};
  for (const [k, t] of Object.entries(m.stateDict())) sd[k] = t.add(1).to(t.dtype);
  return sd;
}

Deno.test("loadStateDict: a failed load leaves parameters and buffers bit-identical", () => {
  zn.manualSeed(3);
  const m = model();
  m.call(zn.randn([5, 4])); // running stats and num_batches_tracked move
  const before = snapshot(m);
  const keys = Object.keys(m.stateDict());
  const last = keys[keys.length - 1]; // "3.bias": every other key is copied before it

  const disposed = otherState(m);
  disposed[last].dispose();
  let err = thrown(() => m.loadStateDict(disposed));
  assertUnchanged(m, before, "disposed source");
  assert.match(err.message, /"3\.bias", the source tensor was disposed/);
  err = thrown(() => m.loadStateDict(disposed, { strict: false }));
  assertUnchanged(m, before, "disposed source, not strict");
  assert.match(err.message, /was disposed/);

  const shape = otherState(m);
  shape[last] = zn.zeros([4]);
  err = thrown(() => m.loadStateDict(shape));
  assertUnchanged(m, before, "shape mismatch");
  assert.match(err.message, /size mismatch for 3\.bias/);

  const missing = otherState(m);
  delete missing[last];
  err = thrown(() => m.loadStateDict(missing));
  assertUnchanged(m, before, "missing key");
  assert.match(err.message, /Missing key\(s\) in state_dict: "3\.bias"/);

  const unexpected = { ...otherState(m), "9.weight": zn.zeros([1]) };
  err = thrown(() => m.loadStateDict(unexpected));
  assertUnchanged(m, before, "unexpected key");
  assert.match(err.message, /Unexpected key\(s\) in state_dict: "9\.weight"/);

  const notTensor = { ...otherState(m), [last]: [0, 0, 0] as unknown as zn.Tensor };
  err = thrown(() => m.loadStateDict(notTensor));
  assertUnchanged(m, before, "not a tensor");
  assert.match(err.message, /expected a Tensor/);

  // A good load still works, converting dtypes (float64 into float32, int32 into int64).
  const good: Record<string, zn.Tensor> = {};
  for (const [k, t] of Object.entries(otherState(m))) {
    good[k] = t.to(t.dtype === "int64" ? "int32" : "float64");
  }
  const res = m.loadStateDict(good);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  for (const [k, t] of Object.entries(m.stateDict())) {
    assert.deepEqual(t.toArray(), good[k].to(t.dtype).toArray(), k);
  }
});

Deno.test("loadStateDict: sources that are the module's own tensors under other names", () => {
  zn.manualSeed(4);
  const m = new nn.Sequential(new nn.Linear(3, 3), new nn.Linear(3, 3));
  const w0 = m.stateDict()["0.weight"].toArray(), w1 = m.stateDict()["1.weight"].toArray();
  const own = m.stateDict();
  // Swap the two layers: each copy must read the value from before the load.
  m.loadStateDict({
    "0.weight": own["1.weight"],
    "0.bias": own["1.bias"],
    "1.weight": own["0.weight"],
    "1.bias": own["0.bias"],
  });
  assert.deepEqual(m.stateDict()["0.weight"].toArray(), w1);
  assert.deepEqual(m.stateDict()["1.weight"].toArray(), w0);
  // Its own state dict: a no-op.
  m.loadStateDict(m.stateDict());
  assert.deepEqual(m.stateDict()["0.weight"].toArray(), w1);
});

/** An Adam optimizer over two parameters after two steps. */
function trained(): { params: zn.Tensor[]; opt: zn.optim.Adam } {
  const params = [zn.randn([3, 2], { requiresGrad: true }), zn.randn([2], { requiresGrad: true })];
  const opt = new zn.optim.Adam([{ params: [params[0]] }, { params: [params[1]], lr: 0.01 }]);
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    params[0].square().sum().add(params[1].sum()).backward();
    opt.step();
  }
  return { params, opt };
}

function optimizerSnapshot(opt: zn.optim.Adam): string {
  const groups = opt.paramGroups.map(({ params: _p, ...o }) => o);
  const state = [...opt.state.entries()].map(([p, s]) => [
    p.shape,
    Object.entries(s).map(([k, v]) => [k, v instanceof zn.Tensor ? v.toArray() : v]),
  ]);
  return JSON.stringify({ groups, state });
}

Deno.test("Optimizer.loadStateDict: a failed load leaves the optimizer unchanged", () => {
  zn.manualSeed(5);
  const { params, opt } = trained();
  const before = optimizerSnapshot(opt);
  const stateTensors = [...opt.state.values()].flatMap((s) => Object.values(s));

  /** The optimizer's own state dict with other learning rates, changed by `edit`. */
  const variant = (edit: (sd: zn.optim.OptimizerStateDict) => void) => {
    const sd = opt.stateDict();
    for (const g of sd.paramGroups) g.lr = 0.5;
    edit(sd);
    return sd;
  };
  const cases: [string, zn.optim.OptimizerStateDict, RegExp][] = [
    [
      "disposed state tensor",
      variant((sd) => (sd.state[1].exp_avg as zn.Tensor).dispose()),
      /disposed/,
    ],
    ["shape mismatch", variant((sd) => sd.state[1].exp_avg_sq = zn.zeros([5])), /shape \[5\]/],
    ["unknown parameter", variant((sd) => sd.state[7] = { step: 1 }), /unknown parameter 7/],
    ["invalid option", variant((sd) => sd.paramGroups[1].lr = -1), /Invalid learning rate/],
    ["bad betas", variant((sd) => sd.paramGroups[1].betas = [2, 0.999]), /Invalid beta/],
    ["group sizes", variant((sd) => sd.paramGroups[1].params = []), /group 1 has 0 parameters/],
    ["repeated id", variant((sd) => sd.paramGroups[1].params = [0]), /listed more than once/],
  ];
  for (const [what, sd, re] of cases) {
    const err = thrown(() => opt.loadStateDict(sd));
    assert.equal(optimizerSnapshot(opt), before, what);
    for (const t of stateTensors) if (t instanceof zn.Tensor) assert.ok(!t.isDisposed, what);
    assert.match(err.message, re, what);
  }

  // A good load replaces options and state, and training goes on.
  const good = variant(() => {});
  opt.loadStateDict(good);
  assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.5, 0.5]);
  assert.equal(opt.state.get(params[0])!.step, 2);
  opt.zeroGrad();
  params[0].square().sum().add(params[1].sum()).backward();
  opt.step();
  assert.equal(opt.state.get(params[1])!.step, 3);
});

Deno.test("LRScheduler.loadStateDict: a failed load leaves the scheduler unchanged", () => {
  const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
  const s = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
  s.step();
  s.step();
  const before = JSON.stringify(s.stateDict());
  const other = { lastEpoch: 7, stepCount: 8, baseLrs: [1], lastLr: [0.25] };
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...other, lastLr: undefined }, /lastLr must be 1 number/],
    [{ ...other, lastLr: [1, 2] }, /lastLr must be 1 number/],
    [{ ...other, stepCount: "8" }, /stepCount must be a count/],
    [{ ...other, lastEpoch: undefined }, /lastEpoch must be a number/],
  ];
  for (const [sd, re] of bad) {
    const err = thrown(() => s.loadStateDict(sd));
    assert.equal(JSON.stringify(s.stateDict()), before);
    assert.match(err.message, re);
  }
  s.loadStateDict(other);
  assert.equal(s.lastEpoch, 7);
  assert.deepEqual(s.getLastLr(), [0.25]);
});
