/**
 * Module hooks, parameter containers and dtype conversion against PyTorch
 * (expected values from torch 2.13 on the same inputs).
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

const near = (a: number[][] | number[], b: number[][] | number[], what: string) => {
  const fa = (a as number[]).flat(), fb = (b as number[]).flat();
  equal(fa.length, fb.length, what);
  const d = Math.max(...fa.map((v, i) => Math.abs(v - fb[i])));
  ok(d < 1e-5, `${what}: largest difference ${d}`);
};

function linear(): zn.nn.Linear {
  const fc = new zn.nn.Linear(3, 2);
  zn.noGrad(() => {
    fc.weight.copy_(zn.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]));
    fc.bias!.copy_(zn.tensor([0.1, -0.2]));
  });
  return fc;
}

Deno.test("hooks: forward pre, forward, backward pre and full backward hooks in PyTorch's order", () => {
  const fc = linear();
  const x = zn.tensor([[1, 2, 3], [-1, 0.5, 2]], { requiresGrad: true });
  const seen: Record<string, number[][]> = {};
  const order: string[] = [];
  fc.registerForwardPreHook((_m, a) => (order.push("pre"), [(a[0] as zn.Tensor).mul(2)]));
  fc.registerForwardHook((_m, _a, o) => (order.push("fwd"), (o as zn.Tensor).add(1)));
  fc.registerFullBackwardPreHook((_m, go) => {
    order.push("bpre");
    seen.goPre = go[0]!.toArray() as number[][];
    return [go[0]!.mul(0.5)];
  });
  fc.registerFullBackwardHook((_m, gi, go) => {
    order.push("bwd");
    seen.gi = gi[0]!.toArray() as number[][];
    seen.go = go[0]!.toArray() as number[][];
    return [gi[0]!.mul(3)];
  });
  const y = fc.call(x);
  near(y.toArray() as number[][], [[10.1, 1.8], [7.1, -3.95]], "output");
  y.backward(zn.tensor([[1, -2], [0.5, 3]]));
  deepEqual(order, ["pre", "fwd", "bpre", "bwd"]);
  near(x.grad!.toArray() as number[][], [[-7.5, -4.5, 9], [14.25, 0.75, -1.5]], "x.grad");
  near(fc.weight.grad!.toArray() as number[][], [[0.5, 2.25, 4], [-5, -2.5, 0]], "weight.grad");
  near(fc.bias!.grad!.toArray() as number[], [0.75, 0.5], "bias.grad");
  near(seen.goPre, [[1, -2], [0.5, 3]], "grad_output before the pre-hook");
  near(seen.gi, [[-1.25, -0.75, 1.5], [2.375, 0.125, -0.25]], "grad_input");
  near(seen.go, [[0.5, -1], [0.25, 1.5]], "grad_output");
});

Deno.test("hooks: a tensor input without grad is seen as zeros, as in PyTorch", () => {
  class Two extends zn.nn.Module {
    override forward(a: zn.Tensor, b: zn.Tensor): zn.Tensor {
      return a.mul(b);
    }
  }
  const t = new Two();
  let gi: (zn.Tensor | null)[] = [], go: (zn.Tensor | null)[] = [];
  t.registerFullBackwardHook((_m, i, o) => void ([gi, go] = [i, o]));
  const b = zn.tensor([3, 4], { requiresGrad: true });
  t.call(zn.tensor([1, 2]), b).mul(zn.tensor([1, 10])).sum().backward();
  deepEqual(gi.map((g) => g?.toArray()), [[0, 0], [1, 20]]);
  deepEqual(go.map((g) => g?.toArray()), [[1, 10]]);
  deepEqual(b.grad!.toArray(), [1, 20]);
});

Deno.test("hooks: handles remove, prepend runs first, and bad hooks give clear errors", () => {
  const relu = new zn.nn.ReLU();
  const calls: string[] = [];
  const h1 = relu.registerForwardHook(() => void calls.push("a"));
  relu.registerForwardHook(() => void calls.push("b"), { prepend: true });
  relu.call(zn.tensor([1]));
  deepEqual(calls, ["b", "a"]);
  h1.remove();
  h1.remove();
  relu.call(zn.tensor([1]));
  deepEqual(calls, ["b", "a", "b"]);
  // deno-lint-ignore no-explicit-any
  throws(() => relu.registerForwardHook(1 as any), /registerForwardHook: expected a function/);
  throws(
    () => relu.registerForwardHook(() => {}, { first: true } as zn.nn.HookOptions),
    /registerForwardHook.*first/,
  );
  const fc = linear();
  fc.registerFullBackwardHook(() => [zn.ones([1]), zn.ones([1])]);
  const x = zn.randn([2, 3], { requiresGrad: true });
  throws(() => fc.call(x).sum().backward(), /backward hook: must return 1 gradient/);
});

Deno.test("hooks: gradients through a hooked module still check against finite differences", () => {
  const fc = new zn.nn.Linear(3, 2).double();
  fc.registerFullBackwardHook((_m, gi) => gi.map((g) => g?.mul(1) ?? null));
  const x = zn.randn([2, 3], { dtype: "float64", requiresGrad: true });
  ok(zn.autograd.gradcheck((t: zn.Tensor) => fc.call(t).tanh(), [x]));
});

Deno.test("ParameterList and ParameterDict register their parameters, as PyTorch's do", () => {
  class Mix extends zn.nn.Module {
    list = new zn.nn.ParameterList([zn.ones([2]), new zn.nn.Parameter(zn.zeros([3]))]);
    dict = new zn.nn.ParameterDict({ a: zn.ones([1]) });
  }
  const m = new Mix();
  m.list.append(zn.full([1], 2));
  m.dict.set("b", zn.zeros([2, 2]));
  deepEqual([...m.namedParameters()].map(([k]) => k), [
    "list.0",
    "list.1",
    "list.2",
    "dict.a",
    "dict.b",
  ]);
  deepEqual(Object.keys(m.stateDict()), ["list.0", "list.1", "list.2", "dict.a", "dict.b"]);
  ok(m.list.at(-1) instanceof zn.nn.Parameter);
  equal(m.list.length, 3);
  equal(m.dict.size, 2);
  throws(() => m.list.at(3), /ParameterList.at: index 3 is out of range/);
  throws(() => m.dict.get("c"), /ParameterDict: no parameter "c"/);
  // deno-lint-ignore no-explicit-any
  throws(() => m.list.append(3 as any), /ParameterList.append: expected a Parameter or Tensor/);
});

Deno.test("parameters or modules in a plain array, Map or object raise instead of vanishing", () => {
  class Bad extends zn.nn.Module {
    weights = [new zn.nn.Parameter(zn.ones([2]))];
  }
  throws(
    () => [...new Bad().parameters()],
    /Bad: property "weights" holds Parameters in a plain array.*zn.nn.ParameterList/,
  );
  class BadMods extends zn.nn.Module {
    blocks = { a: new zn.nn.Linear(2, 2) };
  }
  throws(
    () => new BadMods().stateDict(),
    /property "blocks" holds Modules in a plain object.*zn.nn.ModuleDict/,
  );
  class Fine extends zn.nn.Module {
    sizes = [1, 2, 3];
    fc = new zn.nn.Linear(2, 2);
  }
  equal([...new Fine().parameters()].length, 2);
});

Deno.test("Module.to(dtype), half, bfloat16, double and float keep the parameter objects", () => {
  const net = new zn.nn.Sequential(new zn.nn.Linear(2, 3), new zn.nn.BatchNorm1d(3));
  const w = (net.at(0) as zn.nn.Linear).weight;
  const opt = new zn.optim.SGD(net.parameters(), { lr: 0.1 });
  net.double();
  equal(w.dtype, "float64");
  ok((net.at(0) as zn.nn.Linear).weight === w, "same Parameter object");
  const bn = net.at(1) as zn.nn.BatchNorm1d;
  equal(bn.runningMean!.dtype, "float64");
  equal(bn.numBatchesTracked!.dtype, "int64", "integer buffers keep their dtype");
  net.call(zn.randn([4, 2], { dtype: "float64" })).sum().backward();
  equal(w.grad!.dtype, "float64");
  opt.step();
  net.to("float32");
  equal(w.dtype, "float32");
  equal(w.grad!.dtype, "float32");
  equal(
    net.half().to({ dtype: "bfloat16" }).float().bfloat16().at(0) instanceof zn.nn.Linear,
    true,
  );
  equal(w.dtype, "bfloat16");
  throws(
    () => net.to({ dtype: "int32" }),
    /Module.to: nn.Module.to only accepts floating point dtypes, but got int32/,
  );
});
