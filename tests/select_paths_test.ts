// The CPU kernels' vector select paths (relu, leakyRelu, sign on contiguous
// float runs; where with contiguous or scalar value operands) against their
// scalar reference loops, which strided views take: the same values bit for
// bit, NaN, signed zeros and infinities included, at every length around the
// vector width.
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";
import { contiguousAndStrided as pair } from "./strided_pair.ts";

const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1e-40, -1e-40, 3.5, -2.25];

/** Values of mixed sign with the special ones spread through them. */
function values(n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out.push(i % 5 === 2 ? SPECIAL[(s >> 8) % SPECIAL.length] : (s / 2147483648 - 0.5) * 8);
  }
  return out;
}

function sameBits(what: string, a: zn.Tensor, b: zn.Tensor): void {
  const x = Array.from(a.toTypedArray() as ArrayLike<number | bigint>, Number);
  const y = Array.from(b.toTypedArray() as ArrayLike<number | bigint>, Number);
  assert(x.length === y.length, `${what}: lengths ${x.length} vs ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    assert(Object.is(x[i], y[i]), `${what}: element ${i}: vector ${x[i]}, reference ${y[i]}`);
  }
}

for (const dtype of ["float32", "float64"] as DType[]) {
  Deno.test(`relu, leakyRelu and sign: vector runs match the scalar path (${dtype})`, () => {
    for (let n = 1; n <= 41; n++) {
      const [c, s] = pair(values(n, n), dtype);
      sameBits(`relu n=${n}`, c.relu(), s.relu());
      sameBits(`sign n=${n}`, c.sign(), s.sign());
      sameBits(
        `leakyRelu n=${n}`,
        zn.nn.functional.leakyRelu(c, 0.1),
        zn.nn.functional.leakyRelu(s, 0.1),
      );
    }
  });
}

Deno.test("relu keeps NaN and maps -0 to 0 as PyTorch does", () => {
  const r = Array.from(
    zn.tensor([NaN, -0, -1, 2, NaN, 0, -3, 4, 5]).relu().toTypedArray() as Float32Array,
  );
  assert(Number.isNaN(r[0]) && Number.isNaN(r[4]), `NaN kept: ${r}`);
  assert(Object.is(r[1], 0) && r[2] === 0 && r[3] === 2 && r[8] === 5, `values: ${r}`);
});

for (
  const dtype of ["float32", "float64", "float16", "bfloat16", "int64", "int8", "bool"] as DType[]
) {
  Deno.test(`where: vector runs match the scalar path (${dtype}, tensor and scalar operands)`, () => {
    // An integer dtype cannot hold NaN or infinities (tensor() refuses them): 0 stands in.
    const held = (v: number[]) =>
      dtype.startsWith("int") ? v.map((x) => (Number.isFinite(x) ? x : 0)) : v;
    for (let n = 1; n <= 70; n += 3) {
      const [ac, as] = pair(held(values(n, 7 * n)), dtype);
      const [bc, bs] = pair(held(values(n, 11 * n)), dtype);
      const cond = zn.tensor(values(n, 13 * n).map((v) => v > 0));
      const [cc, cs] = pair(values(n, 13 * n).map((v) => (v > 0 ? 1 : 0)), "bool");
      sameBits(`cond n=${n}`, cc, cond);
      sameBits(`where(c, a, b) n=${n}`, zn.where(cc, ac, bc), zn.where(cs, as, bs));
      sameBits(`where(c, a, 0) n=${n}`, zn.where(cc, ac, 0), zn.where(cs, as, 0));
      sameBits(`where(c, 1, b) n=${n}`, zn.where(cc, 1, bc), zn.where(cs, 1, bs));
    }
  });
}

Deno.test("where with a scalar picks per element", () => {
  const r = zn.where(
    zn.tensor([true, false, true, false, false, true, true, false, true]),
    zn.arange(9),
    -1,
  );
  assert(
    JSON.stringify(Array.from(r.toTypedArray(), Number)) === "[0,-1,2,-1,-1,5,6,-1,8]",
    `where: ${Array.from(r.toTypedArray(), Number)}`,
  );
});
