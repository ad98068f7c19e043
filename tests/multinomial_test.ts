// zn.multinomial: PyTorch's semantics (shapes, int64, errors) and the law
// of the draws, checked statistically with seeded generators (PyTorch's
// random streams differ, so draws are not compared one by one).
import * as zn from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

function counts(t: zn.Tensor, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const v of t.toTypedArray() as BigInt64Array) c[Number(v)]++;
  return c;
}

/** |frequency - p| within 5 standard deviations of a binomial proportion. */
function near(count: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(p * (1 - p) / n);
  assert(Math.abs(count / n - p) <= 5 * sd + 1e-12, `${what}: ${count / n} vs ${p}`);
}

Deno.test("multinomial: with replacement, frequencies follow the unnormalized weights", () => {
  const w = [1, 2, 3, 0, 4];
  const n = 50_000;
  const s = zn.multinomial(zn.tensor(w), n, { replacement: true, generator: new zn.Generator(1) });
  assertEquals([s.dtype, s.shape], ["int64", [n]]);
  const c = counts(s, 5);
  assertEquals(c[3], 0);
  w.forEach((wi, i) => near(c[i], n, wi / 10, `category ${i}`));
});

Deno.test("multinomial: 2-D input draws each row from its own weights", () => {
  const w = [[0.2, 0.8, 0, 0], [0, 0, 0, 5], [1, 1, 1, 1]];
  const n = 20_000;
  const s = zn.multinomial(zn.tensor(w), n, { replacement: true, generator: new zn.Generator(2) });
  assertEquals(s.shape, [3, n]);
  w.forEach((row, r) => {
    const c = counts(s.index(r), 4);
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((wi, i) => near(c[i], n, wi / total, `row ${r}, category ${i}`));
  });
});

Deno.test("multinomial: without replacement, no repeats, and the draws' laws are sequential weighted draws", () => {
  const w = [5, 0, 1, 3, 1];
  const rows = 20_000;
  const x = zn.tensor(w).reshape(1, 5).expand(rows, 5);
  const s = zn.multinomial(x, 3, { generator: new zn.Generator(3) });
  assertEquals(s.shape, [rows, 3]);
  const a = s.toTypedArray() as BigInt64Array;
  const first = new Array<number>(5).fill(0), second = new Array<number>(5).fill(0);
  for (let r = 0; r < rows; r++) {
    const [u, v, t] = [a[3 * r], a[3 * r + 1], a[3 * r + 2]];
    assert(u !== v && v !== t && u !== t, `row ${r} repeats: ${u} ${v} ${t}`);
    assert(u !== 1n && v !== 1n && t !== 1n, `row ${r} drew a zero weight`);
    first[Number(u)]++;
    second[Number(v)]++;
  }
  const total = 10;
  w.forEach((wi, i) => near(first[i], rows, wi / total, `first draw, category ${i}`));
  // P(second = j) = sum over i != j of w_i / W * w_j / (W - w_i).
  w.forEach((wj, j) => {
    let p = 0;
    w.forEach((wi, i) => {
      if (i !== j) p += (wi / total) * (wj / (total - wi));
    });
    near(second[j], rows, p, `second draw, category ${j}`);
  });
  // Every nonzero category once: a permutation of them.
  const all = zn.multinomial(zn.tensor(w), 4, { generator: new zn.Generator(4) });
  assertEquals(all.sort().values.toArray(), [0, 2, 3, 4]);
  // One sample: the argmax of keys, the same law as the first draw.
  const one = zn.multinomial(x, 1, { generator: new zn.Generator(5) });
  const c1 = counts(one, 5);
  w.forEach((wi, i) => near(c1[i], rows, wi / total, `numSamples 1, category ${i}`));
});

Deno.test("multinomial: seeding, dtypes, views and devices", () => {
  const w = zn.tensor([[1, 2, 3], [3, 2, 1]]);
  const a = zn.multinomial(w, 2, { generator: new zn.Generator(9) });
  const b = zn.multinomial(w, 2, { generator: new zn.Generator(9) });
  assertEquals(a.toArray(), b.toArray());
  zn.manualSeed(4);
  const c = zn.multinomial(w, 3, { replacement: true });
  zn.manualSeed(4);
  assertEquals(zn.multinomial(w, 3, { replacement: true }).toArray(), c.toArray());
  for (const dtype of ["float64", "float16", "bfloat16"] as const) {
    assertEquals(zn.multinomial(w.to(dtype), 1).shape, [2, 1]);
  }
  // A transposed (non-contiguous) input.
  const t = zn.tensor([[0, 1], [0, 0], [1, 0]]).transpose(0, 1);
  assertEquals(zn.multinomial(t, 1).toArray(), [[2], [0]]);
  // Rows of zero length: an empty result.
  assertEquals(zn.multinomial(zn.zeros([0, 3]), 2).shape, [0, 2]);
  assertEquals(zn.multinomial(zn.tensor([0, 0, 1e-30]), 5, { replacement: true }).toArray(), [
    2,
    2,
    2,
    2,
    2,
  ]);
  // Weights whose float32 sum overflows still draw (sums are float64).
  assertEquals(zn.multinomial(zn.full([3], 3e38), 3).sort().values.toArray(), [0, 1, 2]);
});

Deno.test("multinomial: errors as PyTorch's", () => {
  const p = zn.tensor([0, 1, 2, 0]);
  assertThrows(() => zn.multinomial(zn.tensor([-1, 1]), 1), RangeError, "element < 0");
  assertThrows(() => zn.multinomial(zn.tensor([Infinity, 1]), 1), RangeError, "`inf`");
  assertThrows(
    () => zn.multinomial(zn.tensor([NaN, 1]), 1, { replacement: true }),
    RangeError,
    "`nan`",
  );
  assertThrows(() => zn.multinomial(zn.tensor([0, 0]), 1), RangeError, "sum of probabilities <= 0");
  assertThrows(
    () => zn.multinomial(zn.tensor([[1, 0], [0, 0]]), 1, { replacement: true }),
    RangeError,
    "row 1",
  );
  assertThrows(() => zn.multinomial(zn.tensor([1n, 2n]), 1), TypeError, "floating-point");
  assertThrows(() => zn.multinomial(zn.tensor(1), 1), RangeError, "1 or 2 dim");
  assertThrows(() => zn.multinomial(zn.ones([2, 2, 2]), 1), RangeError, "1 or 2 dim");
  assertThrows(() => zn.multinomial(p, 0), RangeError, "n_sample <= 0");
  assertThrows(() => zn.multinomial(p, -1), RangeError, "n_sample <= 0");
  assertThrows(() => zn.multinomial(p, 1.5), RangeError, "numSamples");
  assertThrows(() => zn.multinomial(p, 5), RangeError, "without replacement");
  assertThrows(() => zn.multinomial(p, 3), RangeError, "not enough non-negative category");
  assertThrows(() => zn.multinomial(zn.ones([0]), 1), RangeError, "without replacement");
  assertThrows(() => zn.multinomial(p, 1, { replace: true } as never), TypeError, "replacement");
  assertThrows(() => zn.multinomial(p, 1, { replacement: 1 } as never), TypeError, "boolean");
  assertThrows(() => zn.multinomial(p, 1, { generator: {} } as never), TypeError, "Generator");
  assertThrows(() => zn.multinomial([1, 2] as never, 1), TypeError, "Tensor");
  assertThrows(() => zn.multinomial(p, 2n as never), TypeError, "numSamples");
});
