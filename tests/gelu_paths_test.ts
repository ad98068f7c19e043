// GELU (the exact, erf form) on the CPU: contiguous float32 runs take the
// vector kernel (vmath's gelu32) and strided views the scalar loop; both give
// the same bits, and both keep the digits of the negative tail, where
// 0.5 x (1 + erf(x / sqrt 2)) cancels (PyTorch's float32 GELU is 4% off at
// x = -5 and gives 0 at x = -10).
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";
import { contiguousAndStrided as pair } from "./strided_pair.ts";
import { unary } from "../src/ops/elementwise.ts";

/** x Phi(x), from math.erfc in float64 (Python), for the inputs below. */
const EXACT: [number, number][] = [
  [-10, -7.619853024160593e-23],
  [-5, -1.4332578593959731e-6],
  [-3, -0.004049694094890287],
  [2, 1.9544997361036416],
];

function values(t: zn.Tensor): number[] {
  return Array.from(t.toTypedArray() as ArrayLike<number>);
}

Deno.test("gelu: strided float32 views give the contiguous run's bits", () => {
  for (let n = 1; n <= 70; n += 3) {
    const vals = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 9 - (i % 4 === 0 ? 4 : 0));
    const [c, s] = pair(vals, "float32");
    const a = values(zn.nn.functional.gelu(c));
    const b = values(zn.nn.functional.gelu(s));
    for (let i = 0; i < n; i++) {
      assert(
        Object.is(a[i], b[i]),
        `n=${n}, element ${i} (x=${vals[i]}): vector ${a[i]}, scalar ${b[i]}`,
      );
    }
  }
});

for (const [dtype, rtol] of [["float32", 1e-4], ["float64", 1e-12]] as [DType, number][]) {
  Deno.test(`gelu keeps the relative accuracy of the negative tail (${dtype}, both paths)`, () => {
    const [c, s] = pair(EXACT.map(([x]) => x), dtype);
    for (const [path, t] of [["contiguous", c], ["strided", s]] as const) {
      const got = values(zn.nn.functional.gelu(t));
      let worst = 0;
      EXACT.forEach((
        [, want],
        i,
      ) => (worst = Math.max(worst, Math.abs(got[i] - want) / Math.abs(want))));
      assert(worst <= rtol, `${dtype} ${path}: largest relative error ${worst} (got ${got})`);
    }
  });
}

Deno.test("GELU's fused derivatives match the composed formulas, contiguous and strided", () => {
  // x from -12 to 12: the negative tail, where Phi(x) comes from erfc.
  const x64 = zn.linspace(-12, 12, 4801, { dtype: "float64" });
  const cdf = x64.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
  const pdf = x64.mul(x64).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
  const wantErf = cdf.add(x64.mul(pdf));
  const k = Math.sqrt(2 / Math.PI);
  const t = x64.add(x64.pow(3).mul(0.044715)).mul(k).tanh();
  const wantTanh = t.add(1).mul(0.5).add(
    x64.mul(0.5).mul(t.square().neg().add(1)).mul(x64.square().mul(3 * 0.044715).add(1).mul(k)),
  );
  for (const dtype of ["float64", "float32"] as const) {
    const tol = dtype === "float64" ? 1e-12 : 2e-6;
    const x = x64.to(dtype);
    const strided = zn.stack([x, x], 1).select(1, 0); // every other element
    for (const [op, want] of [["geluErfGrad", wantErf], ["geluTanhGrad", wantTanh]] as const) {
      for (const [what, input] of [["contiguous", x], ["strided", strided]] as const) {
        const got = unary(op, input).to("float64");
        const d = got.sub(want).abs().max().item() as number;
        assert(d < tol, `${op} ${dtype} ${what}: largest difference ${d}`);
      }
    }
  }
});
