// The GEMM's last micro-tile may hold fewer rows than a full one (the
// AVX-512 build's tiles are 12 rows high; a tile of up to 8 rows runs a
// shorter kernel). Every row count from 1 to 40 is checked against a float64
// product computed here, with A read in place (contiguous rows) and packed
// (a transposed view), and with k long enough for several passes over C.
import assert from "node:assert/strict";
import * as zn from "../mod.ts";

function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[p * n + j];
    }
  }
  return c;
}

for (const k of [37, 1100]) {
  Deno.test(`matmul: every last-tile row count (M = 1..40, k = ${k}) matches a float64 product, A in place and packed`, () => {
    const n = 70;
    for (let m = 1; m <= 40; m++) {
      const a = zn.randn([m, k]);
      const at = zn.randn([k, m]);
      const b = zn.randn([k, n]);
      const av = a.toTypedArray() as Float32Array;
      const atm = at.mT.contiguous().toTypedArray() as Float32Array;
      const bv = b.toTypedArray() as Float32Array;
      for (const [label, lhs, vals] of [["in place", a, av], ["packed", at.mT, atm]] as const) {
        const got = lhs.matmul(b).toTypedArray() as Float32Array;
        const want = reference(vals, bv, m, k, n);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assert.ok(
          worst <= 1e-5 * Math.sqrt(k) * 4,
          `M = ${m}, ${label}: largest difference ${worst}`,
        );
      }
    }
  });
}
