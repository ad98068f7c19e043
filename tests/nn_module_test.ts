/** zn.nn.Module: registration, traversal, modes, state dicts and containers. */
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";

const nn = zn.nn;

class CNN extends nn.Module {
  features = new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1, bias: false }),
    new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(1),
  );
  classifier = new nn.Sequential(new nn.Flatten(), new nn.Dropout(0.5), new nn.Linear(32, 10));
  override forward(x: Tensor): Tensor {
    return this.classifier.call(this.features.call(x));
  }
}

const close = (a: Tensor, b: Tensor, tol = 1e-6) =>
  assert.ok((a.sub(b).abs().max().item() as number) <= tol);

Deno.test("nn.Module: a small CNN has PyTorch's parameter count, names and state dict keys", () => {
  const m = new CNN();
  assert.deepEqual(m.numParameters(), 5418);
  let n = 0;
  for (const p of m.parameters()) n += p.numel;
  assert.deepEqual(n, 5418);
  assert.deepEqual(Object.keys(m.stateDict()), [
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "features.1.running_mean",
    "features.1.running_var",
    "features.1.num_batches_tracked",
    "features.4.weight",
    "classifier.2.weight",
    "classifier.2.bias",
  ]);
  assert.deepEqual([...m.namedModules()].map(([k]) => k), [
    "",
    "features",
    "features.0",
    "features.1",
    "features.2",
    "features.3",
    "features.4",
    "features.5",
    "features.6",
    "classifier",
    "classifier.0",
    "classifier.1",
    "classifier.2",
  ]);
  assert.deepEqual([...m.namedChildren()].map(([k]) => k), ["features", "classifier"]);
  assert.deepEqual([...m.namedBuffers()].map(([k]) => k), [
    "features.1.running_mean",
    "features.1.running_var",
    "features.1.num_batches_tracked",
  ]);
  assert.deepEqual(m.stateDict()["features.1.num_batches_tracked"].dtype, "int64");
  assert.deepEqual(m.call(zn.randn([2, 3, 8, 8])).shape, [2, 10]);
  assert.ok(String(m).includes("(features): Sequential("));
});

Deno.test("nn.Module: properties register parameters and children in assignment order", () => {
  class Net extends nn.Module {
    scale = new nn.Parameter(zn.ones([1]));
    body = new nn.Linear(2, 3);
    plain = zn.zeros([2]); // a plain tensor is not a parameter
    head: zn.nn.Module | null = null;
  }
  const net = new Net();
  assert.deepEqual([...net.namedParameters()].map(([k]) => k), [
    "scale",
    "body.weight",
    "body.bias",
  ]);
  net.head = new nn.Linear(3, 1, { bias: false });
  assert.deepEqual([...net.namedParameters()].map(([k]) => k), [
    "scale",
    "body.weight",
    "body.bias",
    "head.weight",
  ]);
  assert.deepEqual([...net.namedParameters("", false)].map(([k]) => k), ["scale"]);
  assert.equal(net.getSubmodule("body"), net.body);
  assert.equal(net.getParameter("body.bias"), net.body.bias);
  assert.throws(() => net.getSubmodule("nope"), /no submodule/);
  const p = new nn.Parameter(zn.zeros([2]));
  assert.ok(p instanceof zn.Tensor && p.requiresGrad && p.isLeaf);
  assert.ok(!new nn.Parameter(zn.zeros([2]), false).requiresGrad);
});

Deno.test("nn.Module: shared modules and parameters are listed once", () => {
  const shared = new nn.Linear(2, 2);
  const seq = new nn.Sequential(shared, new nn.ReLU(), shared);
  assert.deepEqual([...seq.parameters()].length, 2);
  assert.deepEqual([...seq.modules()].length, 3);
  assert.deepEqual(Object.keys(seq.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
});

Deno.test("nn.Module: buffers, persistent or not", () => {
  class M extends nn.Module {
    constructor() {
      super();
      this.registerBuffer("a", zn.ones([2]));
      this.registerBuffer("tmp", zn.zeros([1]), { persistent: false });
      this.registerBuffer("none", null);
    }
  }
  const m = new M();
  assert.deepEqual([...m.namedBuffers()].map(([k]) => k), ["a", "tmp"]);
  assert.deepEqual(Object.keys(m.stateDict()), ["a"]);
  assert.deepEqual((m as unknown as { a: Tensor }).a.toArray(), [1, 1]);
  (m as unknown as { a: Tensor }).a = zn.full([2], 3);
  assert.deepEqual(m.getBuffer("a")!.toArray(), [3, 3]);
  assert.deepEqual([...m.parameters()].length, 0);
});

Deno.test("nn.Module: train/eval, zeroGrad, apply and requiresGrad_", () => {
  const m = new CNN();
  assert.ok(m.training && m.features.at(1).training);
  assert.equal(m.eval(), m);
  assert.ok(!m.training && !m.features.at(1).training && !m.classifier.at(1).training);
  m.train();
  assert.ok(m.classifier.at(1).training);
  const fc = new nn.Linear(3, 2);
  fc.call(zn.randn([4, 3])).sum().backward();
  assert.ok(fc.weight.grad !== null);
  fc.zeroGrad({ setToNone: false });
  assert.deepEqual(fc.weight.grad!.abs().sum().item(), 0);
  fc.zeroGrad();
  assert.equal(fc.weight.grad, null);
  const names: string[] = [];
  m.apply((x) => names.push(x.constructor.name));
  assert.deepEqual(names[names.length - 1], "CNN");
  assert.deepEqual(names[0], "Conv2d");
  m.requiresGrad_(false);
  assert.ok([...m.parameters()].every((p) => !p.requiresGrad));
});

Deno.test("nn.Module: stateDict round trip through loadStateDict (object and Map)", () => {
  zn.manualSeed(1);
  const a = new CNN(), b = new CNN();
  a.eval();
  b.eval();
  const x = zn.randn([2, 3, 8, 8]);
  zn.noGrad(() => a.features.at(1).getBuffer("running_mean")!.fill_(0.3));
  const sd = a.stateDict();
  assert.ok(Object.values(sd).every((t) => !t.requiresGrad));
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  close(a.call(x), b.call(x));
  const c = new CNN();
  c.eval();
  c.loadStateDict(new Map(Object.entries(a.stateDict())));
  close(a.call(x), c.call(x));
  // the state dict shares storage with the module; loading copies
  sd["classifier.2.bias"].fill_(7);
  assert.deepEqual((a.classifier.at(2) as zn.nn.Linear).bias!.toArray(), new Array(10).fill(7));
  assert.ok((b.classifier.at(2) as zn.nn.Linear).bias!.toArray() !== undefined);
  assert.ok(!(b.classifier.at(2) as zn.nn.Linear).bias!.eq(7).all().item());
  // parameters stay leaves that require grad
  assert.ok((b.classifier.at(2) as zn.nn.Linear).weight.requiresGrad);
});

Deno.test("nn.Module: loadStateDict reports missing, unexpected and mis-shaped keys", () => {
  const fc = new nn.Linear(3, 2);
  assert.throws(
    () => fc.loadStateDict({ weight: zn.zeros([2, 3]) }),
    (e: Error) =>
      e.message.includes("Error(s) in loading state_dict for Linear") &&
      e.message.includes('Missing key(s) in state_dict: "bias"'),
  );
  assert.throws(
    () => fc.loadStateDict({ weight: zn.zeros([2, 3]), bias: zn.zeros([2]), extra: zn.zeros([1]) }),
    /Unexpected key\(s\) in state_dict: "extra"/,
  );
  assert.throws(
    () => fc.loadStateDict({ weight: zn.zeros([3, 3]), bias: zn.zeros([2]) }),
    /size mismatch for weight: copying a param with shape \[3, 3\] from checkpoint, the shape in current model is \[2, 3\]/,
  );
  // nothing was copied by the failed loads
  assert.ok((fc.weight.abs().sum().item() as number) > 0);
  const r = fc.loadStateDict({ weight: zn.ones([2, 3]), extra: zn.zeros([1]) }, { strict: false });
  assert.deepEqual(r, { missingKeys: ["bias"], unexpectedKeys: ["extra"] });
  assert.deepEqual(fc.weight.toArray(), [[1, 1, 1], [1, 1, 1]]);
  assert.throws(
    () => fc.loadStateDict({ weight: zn.ones([1]) }, { strict: false }),
    /size mismatch for weight/,
  );
});

Deno.test("nn.Sequential, ModuleList and ModuleDict", () => {
  const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
  assert.deepEqual(seq.length, 2);
  assert.ok(seq.at(-1) instanceof nn.ReLU);
  seq.append(new nn.Linear(3, 1));
  assert.deepEqual(Object.keys(seq.stateDict()), ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.deepEqual(seq.call(zn.randn([4, 2])).shape, [4, 1]);
  assert.deepEqual([...seq].length, 3);
  assert.throws(() => seq.at(3), RangeError);
  const named = new nn.Sequential(new Map<string, zn.nn.Module>([["fc", new nn.Linear(2, 2)]]));
  assert.deepEqual(Object.keys(named.stateDict()), ["fc.weight", "fc.bias"]);

  const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2)]);
  list.append(new nn.Linear(2, 1));
  assert.deepEqual(list.length, 3);
  assert.deepEqual(Object.keys(list.stateDict()).length, 6);
  assert.deepEqual(Object.keys(list.stateDict())[4], "2.weight");
  let x = zn.randn([1, 2]);
  for (const l of list) x = l.call(x);
  assert.deepEqual(x.shape, [1, 1]);

  const dict = new nn.ModuleDict({ forward: new nn.Linear(2, 2), b: new nn.Tanh() });
  dict.set("c", new nn.Linear(2, 4, { bias: false }));
  assert.deepEqual([...dict.keys()], ["forward", "b", "c"]);
  assert.deepEqual(Object.keys(dict.stateDict()), ["forward.weight", "forward.bias", "c.weight"]);
  assert.deepEqual(dict.get("c").call(zn.randn([1, 2])).shape, [1, 4]);
  assert.ok(dict.has("b") && dict.delete("b") && !dict.has("b"));
  assert.deepEqual(dict.size, 2);
});

Deno.test("nn.Linear and Conv default init: kaiming-uniform(a=√5) bounds, as PyTorch", () => {
  zn.manualSeed(0);
  const fc = new nn.Linear(100, 50);
  const bound = 1 / Math.sqrt(100);
  assert.ok((fc.weight.abs().max().item() as number) <= bound);
  assert.ok((fc.weight.abs().max().item() as number) > 0.9 * bound);
  assert.ok((fc.bias!.abs().max().item() as number) <= bound);
  // U(-b, b) has std b / √3
  const std = fc.weight.std().item() as number;
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.05 * bound);
  const conv = new nn.Conv2d(4, 8, 3);
  const cb = 1 / Math.sqrt(4 * 9);
  assert.ok((conv.weight.abs().max().item() as number) <= cb);
  assert.ok((conv.bias!.abs().max().item() as number) <= cb);
  const emb = new nn.Embedding(200, 20, { paddingIdx: 3 });
  assert.deepEqual(emb.weight.select(0, 3).abs().sum().item(), 0);
  assert.ok(Math.abs((emb.weight.std().item() as number) - 1) < 0.1);
});
