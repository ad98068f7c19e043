/**
 * Module.deepCopy: copies of every kind of module compute what the original
 * does, own their parameters and buffers, keep shared (tied) weights shared,
 * and carry gradients, modes, hooks and non-persistent buffers.
 */
import * as zn from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

/** Asserts the copy's outputs equal the original's, and that their parameters are distinct tensors. */
function sameModel(a: zn.nn.Module, b: zn.nn.Module, run: (m: zn.nn.Module) => zn.Tensor): void {
  assert(a !== b && a.constructor === b.constructor, "a new object of the same class");
  const pa = [...a.namedParameters()], pb = [...b.namedParameters()];
  assertEquals(pb.map(([k]) => k), pa.map(([k]) => k), "parameter names");
  pa.forEach(([k, p], i) => {
    assert(p !== pb[i][1], `${k} is a new tensor`);
    assertEquals(pb[i][1].toArray(), p.toArray(), `${k} values`);
    assertEquals(pb[i][1].requiresGrad, p.requiresGrad, `${k} requiresGrad`);
  });
  assertEquals(Object.keys(b.stateDict()), Object.keys(a.stateDict()), "state dict keys");
  assertEquals(run(b).toArray(), run(a).toArray(), "outputs");
}

Deno.test("deepCopy: layers with private settings, containers and recurrent layers compute as the original", () => {
  zn.manualSeed(5);
  const x3 = zn.randn([2, 4, 8]);
  const cases: [zn.nn.Module, (m: zn.nn.Module) => zn.Tensor][] = [
    [new zn.nn.InstanceNorm1d(4, { affine: true }), (m) => m.call(x3)],
    [
      new zn.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true }),
      (m) => m.call(x3),
    ],
    [new zn.nn.LSTM(8, 3, { numLayers: 2 }), (m) => (m as zn.nn.LSTM).call(x3)[0]],
    [
      new zn.nn.ModuleDict({ a: new zn.nn.Linear(8, 2), b: new zn.nn.Linear(8, 3) }),
      (m) => (m as zn.nn.ModuleDict).get("b").call(x3),
    ],
    [
      new zn.nn.ParameterList([zn.randn([8]), zn.randn([8])]),
      (m) => x3.mul((m as zn.nn.ParameterList).at(1)),
    ],
    [
      new zn.nn.ParameterDict({ s: zn.randn([8]) }),
      (m) => x3.mul((m as zn.nn.ParameterDict).get("s")),
    ],
    [
      new zn.nn.Sequential(new zn.nn.Linear(8, 4), new zn.nn.BatchNorm1d(4), new zn.nn.GELU()),
      (m) => m.call(x3.reshape([8, 8])),
    ],
  ];
  for (const [m, run] of cases) sameModel(m, m.deepCopy(), run);
});

Deno.test("deepCopy: tied weights stay tied, and the copy trains apart from the original", () => {
  const gpt = new zn.models.GPT2({
    vocabSize: 11,
    nPositions: 8,
    nEmbd: 8,
    nLayer: 1,
    nHead: 2,
  }).eval();
  const copy = gpt.deepCopy();
  assert(gpt.lmHead.weight === gpt.transformer.wte.weight, "tied in the original");
  assert(copy.lmHead.weight === copy.transformer.wte.weight, "tied in the copy");
  const ids = zn.tensor([[1n, 2n, 3n]]);
  sameModel(gpt, copy, (m) => (m as zn.models.GPT2).call(ids));
  zn.noGrad(() => copy.lmHead.weight.fill_(0));
  assert((gpt.lmHead.weight.abs().sum().item() as number) > 0, "the original is untouched");
});

Deno.test("deepCopy: gradients, training mode, hooks and non-persistent buffers come along", () => {
  const net = new zn.nn.Linear(3, 2);
  net.call(zn.randn([4, 3])).sum().backward();
  net.eval();
  net.registerBuffer("scratch", zn.ones([2]), { persistent: false });
  let calls = 0;
  net.registerForwardHook(() => {
    calls++;
  });
  const copy = net.deepCopy();
  assert(copy.weight.grad !== null && copy.weight.grad !== net.weight.grad);
  assertEquals(copy.weight.grad!.toArray(), net.weight.grad!.toArray());
  assertEquals(copy.training, false);
  assertEquals(copy.getBuffer("scratch")!.toArray(), [1, 1]);
  assert(copy.getBuffer("scratch") !== net.getBuffer("scratch"));
  assertEquals(Object.keys(copy.stateDict()), ["weight", "bias"]);
  copy.call(zn.randn([1, 3]));
  assertEquals(calls, 1);
  // The copy's buffer property is its own.
  (copy as unknown as { scratch: zn.Tensor }).scratch = zn.zeros([2]);
  assertEquals(net.getBuffer("scratch")!.toArray(), [1, 1]);
});

Deno.test("deepCopy refuses tensors that are not graph leaves", () => {
  class Holder extends zn.nn.Module {
    cached: zn.Tensor = zn.ones([2], { requiresGrad: true }).mul(2);
  }
  assertThrows(() => new Holder().deepCopy(), Error, "graph leaves");
});
