// The fused attention kernel (zig/src/attention.zig, behind
// scaledDotProductAttention for plans without a mask tensor or dropout)
// against the composed reference path, forward, backward and double
// backward (createGraph runs the rule's differentiable form).
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import {
  attentionComposed,
  type AttentionPlan,
  fusedAttention,
} from "../src/nn/functional/attention_kernels.ts";

function maxDiff(a: zn.Tensor, b: zn.Tensor): number {
  return a.sub(b).abs().max().item() as number;
}

const plan = (isCausal: boolean, scale: number): AttentionPlan => ({
  mask: null,
  isCausal,
  scale,
  dropoutP: 0,
  safeSoftmax: true,
});

Deno.test("fused attention matches the composed path: outputs and gradients, causal or not", () => {
  zn.manualSeed(21);
  const shapes: [number[], number, number, number, number][] = [
    [[2, 3], 70, 65, 16, 9],
    [[1], 1, 5, 4, 4],
    [[3], 130, 129, 32, 32],
    [[2, 2], 64, 200, 8, 8],
  ];
  for (const dtype of ["float32", "float64"] as const) {
    const tol = dtype === "float32" ? 2e-5 : 1e-12;
    for (const [batch, L, S, E, Ev] of shapes) {
      for (const causal of [false, true]) {
        const q = zn.randn([...batch, L, E], { dtype, requiresGrad: true });
        const k = zn.randn([...batch, S, E], { dtype, requiresGrad: true });
        const v = zn.randn([...batch, S, Ev], { dtype, requiresGrad: true });
        const g = zn.randn([...batch, L, Ev], { dtype });
        const p = plan(causal, 1 / Math.sqrt(E));
        const fused = fusedAttention(q, k, v, p);
        assert(fused !== null, "the fused kernel takes this plan");
        const ref = attentionComposed(q, k, v, p).out;
        const what = `${dtype} ${[...batch, L, S, E, Ev]} causal=${causal}`;
        const d0 = maxDiff(fused, ref);
        assert(d0 < tol, `${what}: output largest difference ${d0}`);
        const [gq, gk, gv] = zn.grad([fused], [q, k, v], { gradOutputs: [g] });
        const [rq, rk, rv] = zn.grad([ref], [q, k, v], { gradOutputs: [g] });
        for (const [name, a, b] of [["q", gq, rq], ["k", gk, rk], ["v", gv, rv]] as const) {
          const d = maxDiff(a!, b!);
          assert(d < 10 * tol, `${what}: grad ${name} largest difference ${d}`);
        }
      }
    }
  }
});

for (const dtype of ["bfloat16", "float16"] as const) {
  Deno.test(`fused attention on ${dtype} gives the float32 kernel's results rounded once`, () => {
    zn.manualSeed(23);
    const round = (t: zn.Tensor) => t.to(dtype).to("float32");
    for (const causal of [false, true]) {
      const [q0, k0, v0] = [[2, 3, 70, 16], [2, 3, 65, 16], [2, 3, 65, 9]].map((s) =>
        round(zn.randn(s))
      );
      const g0 = round(zn.randn([2, 3, 70, 9]));
      const p = plan(causal, 0.25);
      const outs: zn.Tensor[][] = [];
      for (const dt of [dtype, "float32"] as const) {
        const [q, k, v] = [q0, k0, v0].map((t) => t.to(dt).requiresGrad_(true));
        const o = fusedAttention(q, k, v, p);
        assert(o !== null && o.dtype === dt, `the fused kernel takes ${dt}`);
        const grads = zn.grad([o], [q, k, v], { gradOutputs: [g0.to(dt)] });
        outs.push([o, ...grads.map((t) => t!)].map((t) => t.detach().to("float32")));
      }
      // Each result the float32 kernel's rounded once: the half backward
      // recomputes the float32 output rather than widening the rounded one.
      outs[0].forEach((got, i) => {
        const d = maxDiff(got, round(outs[1][i]));
        assert(d === 0, `causal=${causal}: result ${i} differs from the rounded float32 by ${d}`);
      });
    }
  });
}

Deno.test("fused attention's double backward (createGraph) matches the composed path", () => {
  zn.manualSeed(22);
  for (const causal of [false, true]) {
    const q = zn.randn([2, 6, 4], { dtype: "float64", requiresGrad: true });
    const k = zn.randn([2, 5, 4], { dtype: "float64", requiresGrad: true });
    const v = zn.randn([2, 5, 3], { dtype: "float64", requiresGrad: true });
    const p = plan(causal, 0.5);
    const second = (out: zn.Tensor) => {
      const [gq] = zn.grad([out.square().sum()], [q], { createGraph: true });
      return zn.grad([gq!.square().sum()], [q, k, v]);
    };
    const a = second(fusedAttention(q, k, v, p)!);
    const b = second(attentionComposed(q, k, v, p).out);
    for (let i = 0; i < 3; i++) {
      const d = maxDiff(a[i]!, b[i]!);
      assert(d < 1e-10, `causal=${causal}: second-order grad ${i} largest difference ${d}`);
    }
  }
});

Deno.test("fused attention declines what it does not cover", () => {
  const q = zn.randn([1, 4, 8]), k = zn.randn([1, 6, 8]), v = zn.randn([1, 6, 8]);
  const masked = { ...plan(false, 1), mask: zn.ones([4, 6], { dtype: "bool" }) };
  assert(fusedAttention(q, k, v, masked) === null, "a mask tensor");
  assert(fusedAttention(q, k, v, { ...plan(false, 1), dropoutP: 0.1 }) === null, "dropout");
  assert(fusedAttention(q.to("float16"), k, v, plan(false, 1)) === null, "mixed dtypes");
  assert(fusedAttention(q, zn.randn([2, 6, 8]), v, plan(false, 1)) === null, "broadcast batch");
  assert(fusedAttention(q, zn.randn([1, 0, 8]), zn.randn([1, 0, 8]), plan(false, 1)) === null);
});
