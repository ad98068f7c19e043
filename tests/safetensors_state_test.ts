// Safetensors: model and optimizer state round-trip through files, so that
// training resumes exactly where it stopped.
import "../src/cpu_backend.ts";
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import {
  deserialize,
  deserializeMetadata,
  load,
  loadMetadata,
  optimizerStateFromSafetensors,
  optimizerStateToSafetensors,
  SafetensorsError,
  save,
  serialize,
} from "../src/io/mod.ts";

function makeModel(): zn.nn.Sequential {
  return new zn.nn.Sequential(
    new zn.nn.Linear(4, 8),
    new zn.nn.Tanh(),
    new zn.nn.Linear(8, 1),
  );
}

function step(model: zn.nn.Module, opt: zn.optim.Optimizer<{ lr: number }>, i: number): number {
  const g = new zn.Generator().manualSeed(100 + i);
  const x = zn.randn([16, 4], { generator: g });
  const y = x.sum(1, true).sin();
  opt.zeroGrad();
  const loss = zn.nn.functional.mseLoss(model.call(x), y);
  loss.backward();
  opt.step();
  return loss.item() as number;
}

Deno.test("safetensors state: Adam training resumes from files with the same losses", async () => {
  zn.manualSeed(7);
  const init = serialize(makeModel().stateDict());
  const opts = { lr: 0.01, betas: [0.8, 0.99] as [number, number], weightDecay: 1e-3 };

  // Uninterrupted: 8 steps.
  const a = makeModel();
  a.loadStateDict(deserialize(init));
  const optA = new zn.optim.Adam(a.parameters(), opts);
  const want: number[] = [];
  for (let i = 0; i < 8; i++) want.push(step(a, optA, i));

  // Interrupted after 4 steps: save everything, load into fresh objects, go on.
  const b = makeModel();
  b.loadStateDict(deserialize(init));
  const optB = new zn.optim.Adam(b.parameters(), opts);
  const got: number[] = [];
  for (let i = 0; i < 4; i++) got.push(step(b, optB, i));
  const dir = await Deno.makeTempDir();
  try {
    await save(b.stateDict(), `${dir}/model.safetensors`);
    const { tensors, metadata } = optimizerStateToSafetensors(optB.stateDict());
    await save(tensors, `${dir}/optim.safetensors`, { metadata });

    const c = makeModel(); // different random init
    c.loadStateDict(await load(`${dir}/model.safetensors`));
    const optC = new zn.optim.Adam(c.parameters(), { lr: 0.5 }); // options come from the file
    const path = `${dir}/optim.safetensors`;
    optC.loadStateDict(optimizerStateFromSafetensors(await load(path), await loadMetadata(path)));
    assert.equal(optC.paramGroups[0].lr, 0.01);
    assert.deepEqual(optC.paramGroups[0].betas, [0.8, 0.99]);
    for (let i = 4; i < 8; i++) got.push(step(c, optC, i));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(got, want);
});

Deno.test("safetensors state: optimizer state layout and a shared file with a prefix", () => {
  zn.manualSeed(2);
  const model = makeModel();
  const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3, eps: Infinity as number });
  step(model, opt, 0);
  const sd = opt.stateDict();
  const { tensors, metadata } = optimizerStateToSafetensors(sd, { prefix: "optimizer." });
  assert.deepEqual(Object.keys(tensors).slice(0, 2), [
    "optimizer.state.0.exp_avg",
    "optimizer.state.0.exp_avg_sq",
  ]);
  assert.equal(JSON.parse(metadata["optimizer.state"])["0"].step, 1);
  // Model and optimizer in one file.
  const bytes = serialize({ ...model.stateDict(), ...tensors }, { metadata });
  const all = deserialize(bytes);
  const meta = deserializeMetadata(bytes);
  const back = optimizerStateFromSafetensors(all, meta, { prefix: "optimizer." });
  assert.equal(back.paramGroups[0].eps, Infinity); // non-finite numbers survive
  assert.deepEqual(back.paramGroups, sd.paramGroups);
  assert.deepEqual(Object.keys(back.state), Object.keys(sd.state));
  for (const i of Object.keys(sd.state)) {
    const s = sd.state[+i], r = back.state[+i];
    assert.equal(r.step, s.step);
    assert.deepEqual(
      (r.exp_avg as zn.Tensor).toArray(),
      (s.exp_avg as zn.Tensor).toArray(),
    );
  }
  model.loadStateDict(all, { strict: false });
  assert.throws(
    () => optimizerStateFromSafetensors(all, meta),
    (e: unknown) => e instanceof SafetensorsError && e.code === "InvalidMetadata",
  );
  assert.throws(
    () => optimizerStateFromSafetensors(all, { param_groups: "{" }),
    (e: unknown) => e instanceof SafetensorsError && e.code === "InvalidMetadata",
  );
});
