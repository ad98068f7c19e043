// The fused layer norm and batch norm kernels against its composed reference form (the
// reductions and elementwise ops it replaces), forward and backward, on
// shapes that reach the vector loops, their tails and several threads. The
// PyTorch fixtures (nn_fixture_test, autograd_higher_test) check both
// against PyTorch.
import { assert, assertEquals } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import {
  batchNormComposed,
  groupNormComposed,
  layerNormComposed,
} from "../src/nn/functional/norm_kernels.ts";

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

Deno.test("layerNorm, rmsNorm and groupNorm record their fused ops for every float dtype", () => {
  for (const dtype of ["float32", "float64", "float16", "bfloat16"] as const) {
    const x = zn.randn([2, 4, 3]).to(dtype).requiresGrad_();
    assertEquals(zn.nn.functional.layerNorm(x, [3]).gradFn?.name, "layerNorm");
    assertEquals(zn.nn.functional.rmsNorm(x, [3]).gradFn?.name, "rmsNorm");
    assertEquals(zn.nn.functional.groupNorm(x, 2).gradFn?.name, "groupNorm");
  }
  // A bias-like broadcast weight shape falls back to the composed form.
  const x = zn.randn([2, 3]).requiresGrad_();
  assert(zn.nn.functional.layerNorm(x, [3], zn.ones([1, 3])).gradFn?.name !== "layerNorm");
});

/** The composed RMS norm in float64 (the reference form). */
function rmsComposed(x: zn.Tensor, k: number, w: zn.Tensor | null, eps: number): zn.Tensor {
  const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const out = x.mul(x.square().mean(dims, true).add(eps).rsqrt());
  return w ? out.mul(w) : out;
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`rmsNorm and groupNorm ${dtype}: the fused kernels match the composed forms`, () => {
    zn.manualSeed(15);
    const tol = dtype === "float32" ? 1e-4 : 1e-10;
    for (const threads of [1, 2]) {
      const before = zn.getNumThreads();
      zn.setNumThreads(threads);
      try {
        for (
          const [shape, ns, weighted] of [[[4, 768], [768], true], [[3, 7, 37], [37], false], [
            [2, 5, 3, 4],
            [3, 4],
            true,
          ]] as const
        ) {
          const x = zn.randn([...shape], { dtype }).mul(3).add(0.5);
          const w = weighted ? zn.randn([...ns], { dtype }) : null;
          const r = zn.randn([...shape], { dtype });
          const eps = 1e-6;
          const got = run(
            (a, ww) => zn.nn.functional.rmsNorm(a, [...ns], ww, { eps }),
            x,
            w,
            null,
            r,
          );
          const want = run((a, ww) => rmsComposed(a, ns.length, ww, eps), x, w, null, r);
          got.forEach((t, i) => {
            const d = maxDiff(t.to("float64"), want[i].to("float64"));
            assert(d < tol, `rmsNorm ${shape} result ${i}: largest difference ${d}`);
          });
        }
        for (
          const [shape, groups, affine] of [[[4, 6, 9, 7], 3, true], [[5, 8, 40], 8, false], [
            [16, 8],
            2,
            true,
          ], [[3, 6, 1], 1, true]] as const
        ) {
          const c = shape[1];
          const x = zn.randn([...shape], { dtype }).mul(2).add(1);
          const w = affine ? zn.randn([c], { dtype }) : null;
          const b = affine ? zn.randn([c], { dtype }) : null;
          const r = zn.randn([...shape], { dtype });
          const got = run((a, ww, bb) => zn.nn.functional.groupNorm(a, groups, ww, bb), x, w, b, r);
          const want = run((a, ww, bb) => groupNormComposed(a, groups, ww, bb, 1e-5), x, w, b, r);
          got.forEach((t, i) => {
            const d = maxDiff(t.to("float64"), want[i].to("float64"));
            assert(d < tol, `groupNorm ${shape} result ${i}: largest difference ${d}`);
          });
        }
      } finally {
        zn.setNumThreads(before);
      }
    }
  });
}

for (const dtype of ["bfloat16", "float16"] as const) {
  Deno.test(`the fused norms on ${dtype} give the float32 kernels' results rounded once, gradients included`, () => {
    zn.manualSeed(16);
    const round = (t: zn.Tensor) => t.to(dtype).to("float32");
    const forms: [string, number[], (x: zn.Tensor, w: zn.Tensor, b: zn.Tensor) => zn.Tensor][] = [
      [
        "layerNorm",
        [6, 50],
        (x, w, b) =>
          zn.nn.functional.layerNorm(
            x,
            [50],
            w.reshape([-1]).narrow(0, 0, 50),
            b.reshape([-1]).narrow(0, 0, 50),
          ),
      ],
      [
        "rmsNorm",
        [6, 50],
        (x, w) => zn.nn.functional.rmsNorm(x, [50], w.reshape([-1]).narrow(0, 0, 50)),
      ],
      [
        "batchNorm",
        [5, 6, 11],
        (x, w, b) =>
          zn.nn.functional.batchNorm(x, null, null, w.narrow(0, 0, 6), b.narrow(0, 0, 6), {
            training: true,
          }),
      ],
      [
        "groupNorm",
        [5, 6, 11],
        (x, w, b) => zn.nn.functional.groupNorm(x, 3, w.narrow(0, 0, 6), b.narrow(0, 0, 6)),
      ],
    ];
    for (const [name, shape, f] of forms) {
      const x0 = round(zn.randn(shape).mul(2).add(1));
      const w0 = round(zn.randn([50])), b0 = round(zn.randn([50])), r0 = round(zn.randn(shape));
      const outs: zn.Tensor[][] = [];
      for (const dt of [dtype, "float32"] as const) {
        const [x, w, b] = [x0, w0, b0].map((t) => t.to(dt).requiresGrad_());
        const y = f(x, w, b);
        y.mul(r0.to(dt)).sum().backward();
        // rmsNorm has no bias: its gradient stays null.
        const grads = [y, x.grad, w.grad, b.grad].filter((t) => t !== null) as zn.Tensor[];
        outs.push(grads.map((t) => t.detach().to("float32")));
      }
      outs[0].forEach((t, i) => {
        // The float32 results rounded to the half type: equal, bit for bit.
        const want = round(outs[1][i]);
        const d = maxDiff(t.to("float64"), want.to("float64"));
        assertEquals(d, 0, `${name} result ${i}: largest difference ${d}`);
      });
    }
  });
}

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

Deno.test("layerNorm, rmsNorm and groupNorm: empty inputs take the composed form", () => {
  assertEquals(zn.nn.functional.layerNorm(zn.zeros([0, 4]), [4]).shape, [0, 4]);
  assertEquals(zn.nn.functional.rmsNorm(zn.zeros([0, 4]), [4]).shape, [0, 4]);
  assertEquals(zn.nn.functional.groupNorm(zn.zeros([0, 4, 3]), 2).shape, [0, 4, 3]);
});

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`batchNorm ${dtype}: the fused kernels match the composed form, running statistics included`, () => {
    zn.manualSeed(13);
    const cases: [number[], boolean, "both" | "weight" | "none"][] = [
      [[8, 16, 9, 7], true, "both"],
      [[5, 3, 40], true, "weight"],
      [[64, 10], true, "none"],
      [[4, 6, 5, 5], false, "both"],
      [[9, 4], false, "none"],
    ];
    for (const threads of [1, 2]) {
      const before = zn.getNumThreads();
      zn.setNumThreads(threads);
      try {
        for (const [shape, training, affine] of cases) {
          const c = shape[1];
          const x = zn.randn(shape, { dtype }).mul(2).add(1);
          const w = affine !== "none" ? zn.randn([c], { dtype }) : null;
          const b = affine === "both" ? zn.randn([c], { dtype }) : null;
          const r = zn.randn(shape, { dtype });
          const rm0 = zn.randn([c], { dtype }), rv0 = zn.rand([c], { dtype }).add(0.5);
          const stats: zn.Tensor[][] = [];
          const f = (fused: boolean) => {
            const rm = rm0.clone(), rv = rv0.clone();
            stats.push([rm, rv]);
            const opts = { training, momentum: 0.3, eps: 1e-4 };
            return (a: zn.Tensor, ww: zn.Tensor | null, bb: zn.Tensor | null) =>
              fused
                ? zn.nn.functional.batchNorm(a, rm, rv, ww, bb, opts)
                : batchNormComposed(a, rm, rv, ww, bb, opts);
          };
          const got = run(f(true), x, w, b, r);
          const want = run(f(false), x, w, b, r);
          const tol = dtype === "float32" ? 1e-4 : 1e-10;
          got.forEach((t, i) => {
            const d = maxDiff(t.to("float64"), want[i].to("float64"));
            assert(d < tol, `${shape} ${training} ${affine} result ${i}: largest difference ${d}`);
          });
          for (const i of [0, 1]) {
            const d = maxDiff(stats[0][i].to("float64"), stats[1][i].to("float64"));
            assert(d < tol, `${shape} running statistic ${i}: largest difference ${d}`);
          }
        }
      } finally {
        zn.setNumThreads(before);
      }
    }
  });
}

Deno.test("batchNorm records the fused op; other dtypes and shapes compose", () => {
  const x = zn.randn([4, 3, 2]).requiresGrad_();
  assertEquals(
    zn.nn.functional.batchNorm(x, null, null, null, null, { training: true }).gradFn?.name,
    "batchNorm",
  );
  const h = zn.nn.functional.batchNorm(x.detach().to("float16"), null, null, null, null, {
    training: true,
  });
  assertEquals(h.dtype, "float16");
});

Deno.test("second derivatives through the fused norms match the composed forms", () => {
  zn.manualSeed(14);
  const x0 = zn.randn([4, 3, 5], { dtype: "float64" });
  const w0 = zn.randn([3], { dtype: "float64" }), v0 = zn.randn([5], { dtype: "float64" });
  const forms: [
    string,
    (x: zn.Tensor, w: zn.Tensor) => zn.Tensor,
    (x: zn.Tensor, w: zn.Tensor) => zn.Tensor,
  ][] = [
    [
      "batchNorm",
      (x, w) => zn.nn.functional.batchNorm(x, null, null, w, null, { training: true }),
      (x, w) =>
        batchNormComposed(x, null, null, w, null, { training: true, momentum: 0.1, eps: 1e-5 }),
    ],
    [
      "layerNorm",
      (x) => zn.nn.functional.layerNorm(x, [5], v0),
      (x) => layerNormComposed(x, 1, v0, null, 1e-5),
    ],
  ];
  for (const [name, fused, composed] of forms) {
    const out: zn.Tensor[][] = [];
    for (const f of [fused, composed]) {
      const x = x0.clone().requiresGrad_(), w = w0.clone().requiresGrad_();
      const loss = f(x, w).pow(3).sum();
      const [gx] = zn.grad(loss, x, { createGraph: true });
      const [hx, hw] = zn.grad(gx!.square().sum(), [x, w], { allowUnused: true });
      out.push([gx!.detach(), hx!, hw ?? zn.zeros([3], { dtype: "float64" })]);
    }
    out[0].forEach((t, i) => {
      const d = maxDiff(t, out[1][i]);
      assert(d < 1e-9, `${name} result ${i}: largest difference ${d}`);
    });
  }
});
