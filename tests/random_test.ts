/**
 * Random creation: reproducibility under manualSeed and generators, ranges,
 * and loose statistical checks (bounds many standard errors wide, so they do
 * not flake).
 */
import { deepStrictEqual, notDeepStrictEqual, ok } from "node:assert/strict";
import * as zn from "../mod.ts";

function stats(t: zn.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const varc = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
  return {
    mean,
    std: Math.sqrt(varc),
    min: Math.min(...v.slice(0, 1e5)),
    max: Math.max(...v.slice(0, 1e5)),
  };
}

Deno.test("manualSeed makes rand, randn, randint and randperm reproducible", () => {
  const draw = () => [
    zn.rand([5]).toArray(),
    zn.randn([2, 3]).toArray(),
    zn.randint(0, 100, [6]).toArray(),
    zn.randperm(8).toArray(),
    zn.normal(1, 2, [3]).toArray(),
    zn.uniform(-1, 1, [3]).toArray(),
    zn.bernoulli(0.5, [6]).toArray(),
  ];
  zn.manualSeed(42);
  const a = draw();
  zn.manualSeed(42);
  const b = draw();
  deepStrictEqual(a, b);
  zn.manualSeed(43);
  notDeepStrictEqual(draw(), a);
});

Deno.test("successive draws after one seed differ", () => {
  zn.manualSeed(1);
  notDeepStrictEqual(zn.rand([8]).toArray(), zn.rand([8]).toArray());
});

Deno.test("a Generator passed in options has its own reproducible stream", () => {
  const g1 = new zn.Generator(123);
  const g2 = new zn.Generator(123);
  zn.manualSeed(0);
  const a = zn.randn([10], { generator: g1 }).toArray();
  zn.rand([100]); // the default generator does not disturb g2
  const b = zn.randn([10], { generator: g2 }).toArray();
  deepStrictEqual(a, b);
});

Deno.test("rand is float32 in [0, 1) with mean near 1/2", () => {
  zn.manualSeed(7);
  const t = zn.rand([100000]);
  deepStrictEqual(t.dtype, "float32");
  const s = stats(t);
  ok(s.min >= 0 && s.max < 1, `range [${s.min}, ${s.max}]`);
  ok(Math.abs(s.mean - 0.5) < 0.01, `mean ${s.mean}`);
  ok(Math.abs(s.std - Math.sqrt(1 / 12)) < 0.01, `std ${s.std}`);
});

Deno.test("randn has mean near 0 and std near 1", () => {
  zn.manualSeed(8);
  const t = zn.randn([200000]);
  deepStrictEqual(t.dtype, "float32");
  deepStrictEqual(t.shape, [200000]);
  const s = stats(t);
  ok(Math.abs(s.mean) < 0.02, `mean ${s.mean}`);
  ok(Math.abs(s.std - 1) < 0.02, `std ${s.std}`);
  ok(t.isnan().any().item() === false, "no NaN");
  // About 68% within one standard deviation.
  const within = (t.abs().lt(1).sum().item() as number) / 200000;
  ok(Math.abs(within - 0.6827) < 0.01, `fraction within 1 sigma ${within}`);
});

Deno.test("randn honours dtype float64", () => {
  zn.manualSeed(9);
  const t = zn.randn([1000], { dtype: "float64" });
  deepStrictEqual(t.dtype, "float64");
});

Deno.test("normal and uniform have the requested moments and range", () => {
  zn.manualSeed(10);
  const n = stats(zn.normal(3, 0.5, [100000]));
  ok(Math.abs(n.mean - 3) < 0.02, `normal mean ${n.mean}`);
  ok(Math.abs(n.std - 0.5) < 0.02, `normal std ${n.std}`);
  const u = stats(zn.uniform(-2, 6, [100000]));
  ok(u.min >= -2 && u.max < 6, `uniform range [${u.min}, ${u.max}]`);
  ok(Math.abs(u.mean - 2) < 0.05, `uniform mean ${u.mean}`);
});

Deno.test("randint stays in [low, high) and hits every value", () => {
  zn.manualSeed(11);
  const t = zn.randint(-3, 4, [10000]);
  deepStrictEqual(t.dtype, "int64");
  const v = Array.from(t.toTypedArray() as BigInt64Array, Number);
  const seen = new Set(v);
  deepStrictEqual([...seen].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
  const s = stats(t);
  ok(Math.abs(s.mean) < 0.1, `mean ${s.mean}`);
  deepStrictEqual(zn.randint(0, 5, [2, 3], { dtype: "int32" }).dtype, "int32");
});

Deno.test("randperm is a permutation of 0..n-1", () => {
  zn.manualSeed(12);
  for (const n of [0, 1, 2, 17, 1000]) {
    const t = zn.randperm(n);
    deepStrictEqual(t.dtype, "int64");
    const v = Array.from(t.toTypedArray() as BigInt64Array, Number);
    deepStrictEqual(v.slice().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  }
  // A permutation of 1000 that keeps the identity order would be a broken shuffle.
  const v = Array.from(zn.randperm(1000).toTypedArray() as BigInt64Array, Number);
  ok(v.some((x, i) => x !== i), "randperm(1000) is not the identity");
});

Deno.test("bernoulli draws 0/1 with the given probability", () => {
  zn.manualSeed(13);
  const t = zn.bernoulli(0.3, [100000]);
  const s = stats(t);
  ok(s.min === 0 && s.max === 1, `values in {0, 1}, got [${s.min}, ${s.max}]`);
  ok(Math.abs(s.mean - 0.3) < 0.01, `mean ${s.mean}`);
  const p = zn.tensor([0, 1, 0, 1], { dtype: "float32" });
  deepStrictEqual(zn.bernoulli(p).toArray(), [0, 1, 0, 1]);
});

Deno.test("bulk fills give the values and the state of one draw at a time", () => {
  for (const n of [0, 1, 2, 3, 7, 4096, 4097, 9001]) {
    for (const pending of [false, true]) {
      const bulk = new zn.Generator(n + 11), one = new zn.Generator(n + 11);
      if (pending) deepStrictEqual(bulk.nextNormal(), one.nextNormal()); // leaves a cached value
      const got = new Float64Array(n);
      bulk.fillNormal(got);
      const want = Float64Array.from({ length: n }, () => one.nextNormal());
      deepStrictEqual(got, want, `normal n=${n} pending=${pending}`);
      // The same state and cached value afterwards.
      deepStrictEqual([bulk.nextNormal(), bulk.nextNormal(), bulk.nextUint32()], [
        one.nextNormal(),
        one.nextNormal(),
        one.nextUint32(),
      ]);
      const f32 = new Float32Array(n), f64 = new Float64Array(n);
      bulk.fillFloat(f32);
      bulk.fillFloat(f64);
      deepStrictEqual(
        f32,
        Float32Array.from({ length: n }, () => one.nextFloat()),
        `float32 n=${n}`,
      );
      deepStrictEqual(
        f64,
        Float64Array.from({ length: n }, () => one.nextFloat()),
        `float64 n=${n}`,
      );
      deepStrictEqual(bulk.nextUint32(), one.nextUint32());
    }
  }
});

Deno.test("randn and rand draw what the generator's single draws give", () => {
  const g = new zn.Generator(99);
  const x = zn.randn([3, 5], { generator: g, dtype: "float64" }).toTypedArray();
  const u = zn.rand([6], { generator: g }).toTypedArray();
  const h = new zn.Generator(99);
  deepStrictEqual(x, Float64Array.from({ length: 15 }, () => h.nextNormal()));
  deepStrictEqual(u, Float32Array.from({ length: 6 }, () => h.nextFloat()));
  // float16 takes the general path: the same draws, rounded to half precision.
  const k = new zn.Generator(4), m = new zn.Generator(4);
  const half = zn.randn([5], { generator: k, dtype: "float16" }).to("float32")
    .toArray() as number[];
  const ref = zn.tensor(Array.from({ length: 5 }, () => m.nextNormal())).to("float16").to(
    "float32",
  );
  deepStrictEqual(half, ref.toArray());
});
