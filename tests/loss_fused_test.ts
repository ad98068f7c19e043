// The fused cross entropy kernel against the composed form it replaces (a
// class weight of ones takes the composed path and means the same), loss and
// gradients, on shapes that reach the vector loops and their tails. The
// PyTorch fixtures (nn_fixture_test) check both against PyTorch.
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";

const F = zn.nn.functional;

function maxDiff(a: zn.Tensor, b: zn.Tensor): number {
  const x = a.to("float64").toTypedArray() as Float64Array;
  const y = b.to("float64").toTypedArray() as Float64Array;
  assertEquals(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i])));
  }
  return worst;
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`crossEntropy ${dtype}: the fused kernel matches the composed form`, () => {
    zn.manualSeed(21);
    for (const threads of [1, 2]) {
      const before = zn.getNumThreads();
      zn.setNumThreads(threads);
      try {
        for (const [n, c] of [[64, 10], [33, 1000], [300, 7], [1, 1]]) {
          const x0 = zn.randn([n, c], { dtype }).mul(3);
          const t = zn.randint(0, c, [n]);
          if (n > 2) t.narrow(0, 1, 1).fill_(-100);
          for (const reduction of ["mean", "sum"] as const) {
            const a = x0.clone().requiresGrad_(), b = x0.clone().requiresGrad_();
            const fused = F.crossEntropy(a, t, { reduction });
            assertEquals(fused.gradFn?.name, "crossEntropy");
            const ref = F.crossEntropy(b, t, { reduction, weight: zn.ones([c], { dtype }) });
            fused.mul(0.7).backward();
            ref.mul(0.7).backward();
            const tol = dtype === "float32" ? 1e-5 : 1e-12;
            const dl = maxDiff(fused, ref), dg = maxDiff(a.grad!, b.grad!);
            assert(dl < tol, `[${n}, ${c}] ${reduction} loss: largest difference ${dl}`);
            assert(dg < tol, `[${n}, ${c}] ${reduction} grad: largest difference ${dg}`);
          }
        }
      } finally {
        zn.setNumThreads(before);
      }
    }
  });
}

Deno.test("crossEntropy: targets out of range, all rows ignored, an unbatched input", () => {
  const x = zn.randn([3, 10]);
  assertThrows(
    () => F.crossEntropy(x, zn.tensor([1, 12, 0], { dtype: "int64" })),
    RangeError,
    "crossEntropy: target 12 is out of bounds for 10 classes",
  );
  assertThrows(
    () => F.crossEntropy(x, zn.tensor([1, -3, 0], { dtype: "int64" })),
    RangeError,
    "target -3 is out of bounds",
  );
  const none = F.crossEntropy(x, zn.full([3], -100, { dtype: "int64" }));
  assert(Number.isNaN(none.item()), "a mean over no rows is NaN, as in PyTorch");
  assertEquals(
    F.crossEntropy(x, zn.full([3], -100, { dtype: "int64" }), { reduction: "sum" }).item(),
    0,
  );
  const v = zn.randn([10], { requiresGrad: true });
  const l = F.crossEntropy(v, zn.tensor(4, { dtype: "int64" }));
  assertEquals(l.gradFn?.name, "crossEntropy");
  l.backward();
  const p = v.detach().softmax(0).toArray() as number[];
  const g = v.grad!.toArray() as number[];
  for (let j = 0; j < 10; j++) assert(Math.abs(g[j] - (p[j] - (j === 4 ? 1 : 0))) < 1e-6);
});

Deno.test("crossEntropy: other options take the composed form", () => {
  const x = zn.randn([4, 5]).requiresGrad_();
  const t = zn.tensor([0, 1, 2, 3], { dtype: "int64" });
  assert(F.crossEntropy(x, t, { labelSmoothing: 0.1 }).gradFn?.name !== "crossEntropy");
  assert(F.crossEntropy(x, t, { reduction: "none" }).gradFn?.name !== "crossEntropy");
  assert(F.crossEntropy(x, t.to("int32")).gradFn?.name !== "crossEntropy");
});

Deno.test("crossEntropy: second derivatives through the fused kernel match the composed form", () => {
  zn.manualSeed(22);
  const x0 = zn.randn([6, 4], { dtype: "float64" });
  const t = zn.tensor([0, 3, -100, 1, 2, 2], { dtype: "int64" });
  const out: zn.Tensor[][] = [];
  for (const weight of [undefined, zn.ones([4], { dtype: "float64" })]) {
    const x = x0.clone().requiresGrad_();
    const [g] = zn.grad(F.crossEntropy(x, t, { weight }), x, { createGraph: true });
    const [h] = zn.grad(g!.square().sum(), x);
    out.push([g!.detach(), h!]);
  }
  for (const i of [0, 1]) {
    const d = maxDiff(out[0][i], out[1][i]);
    assert(d < 1e-12, `result ${i}: largest difference ${d}`);
  }
});
