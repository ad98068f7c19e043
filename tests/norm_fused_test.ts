// The fused layer norm kernel against its composed reference form (the
// reductions and elementwise ops it replaces), forward and backward, on
// shapes that reach the vector loops, their tails and several threads. The
// PyTorch fixtures (nn_fixture_test, autograd_higher_test) check both
// against PyTorch.
import { assert, assertEquals } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { layerNormComposed } from "../src/nn/functional/normalization.ts";

function maxDiff(a: zn.Tensor, b: zn.Tensor): number {
  const x = a.toTypedArray() as Float64Array, y = b.toTypedArray() as Float64Array;
  assertEquals(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(y[i])));
  }
  return worst;
}

/** Forward, then the gradients of sum(y * r) for input, weight and bias. */
function run(
  f: (x: zn.Tensor, w: zn.Tensor | null, b: zn.Tensor | null) => zn.Tensor,
  x0: zn.Tensor,
  w0: zn.Tensor | null,
  b0: zn.Tensor | null,
  r: zn.Tensor,
): zn.Tensor[] {
  const x = x0.detach().requiresGrad_();
  const w = w0 ? w0.detach().requiresGrad_() : null;
  const b = b0 ? b0.detach().requiresGrad_() : null;
  const y = f(x, w, b);
  y.mul(r).sum().backward();
  return [y.detach(), x.grad!, ...(w ? [w.grad!] : []), ...(b ? [b.grad!] : [])];
}

for (const dtype of ["float32", "float64"] as const) {
  for (const threads of [1, 2]) {
    Deno.test(`layerNorm ${dtype}, ${threads} thread(s): the fused kernel matches the composed form`, () => {
      const before = zn.getNumThreads();
      zn.setNumThreads(threads);
      try {
        zn.manualSeed(11);
        const cases: [number[], number[], "both" | "weight" | "none"][] = [
          [[4, 768], [768], "both"],
          [[3, 7, 37], [37], "both"],
          [[2, 5, 3, 4], [3, 4], "weight"],
          [[300, 19], [19], "none"],
          [[1, 1], [1], "both"],
        ];
        for (const [shape, ns, affine] of cases) {
          const x = zn.randn(shape, { dtype }).mul(3).add(0.5);
          const w = affine !== "none" ? zn.randn(ns, { dtype }) : null;
          const b = affine === "both" ? zn.randn(ns, { dtype }) : null;
          const r = zn.randn(shape, { dtype });
          const fused = run((a, ww, bb) => zn.nn.functional.layerNorm(a, ns, ww, bb), x, w, b, r);
          const ref = run((a, ww, bb) => layerNormComposed(a, ns.length, ww, bb, 1e-5), x, w, b, r);
          const tol = dtype === "float32" ? 1e-4 : 1e-10;
          fused.forEach((t, i) => {
            const d = maxDiff(t.to("float64"), ref[i].to("float64"));
            assert(d < tol, `${shape} ${affine} result ${i}: largest difference ${d}`);
          });
        }
      } finally {
        zn.setNumThreads(before);
      }
    });
  }
}

Deno.test("layerNorm records the fused op for float32 and float64", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const x = zn.randn([2, 3], { dtype }).requiresGrad_();
    assertEquals(zn.nn.functional.layerNorm(x, [3]).gradFn?.name, "layerNorm");
  }
  const h = zn.randn([2, 3]).to("float16").requiresGrad_();
  assert(zn.nn.functional.layerNorm(h, [3]).gradFn?.name !== "layerNorm");
});

Deno.test("layerNorm: a non-contiguous input and an expanded gradient", () => {
  zn.manualSeed(12);
  const base = zn.randn([6, 10], { dtype: "float64" });
  const x = base.transpose(0, 1).detach().requiresGrad_(); // [10, 6], strided
  const w = zn.randn([6], { dtype: "float64" }).requiresGrad_();
  zn.nn.functional.layerNorm(x, [6], w).sum().backward();
  const x2 = x.detach().contiguous().requiresGrad_(), w2 = w.detach().requiresGrad_();
  layerNormComposed(x2, 1, w2, null, 1e-5).sum().backward();
  assert(maxDiff(x.grad!, x2.grad!) < 1e-10, `dx: ${maxDiff(x.grad!, x2.grad!)}`);
  assert(maxDiff(w.grad!, w2.grad!) < 1e-10, `dw: ${maxDiff(w.grad!, w2.grad!)}`);
});

Deno.test("layerNorm: empty inputs and half precision take the composed form", () => {
  const e = zn.nn.functional.layerNorm(zn.zeros([0, 4]), [4]);
  assertEquals(e.shape, [0, 4]);
  const h = zn.randn([3, 8]).to("float16");
  const y = zn.nn.functional.layerNorm(h, [8]);
  assertEquals(y.dtype, "float16");
  const ref = layerNormComposed(h.to("float32"), 1, null, null, 1e-5);
  assert(maxDiff(y.to("float64"), ref.to("float64")) < 1e-2);
});
