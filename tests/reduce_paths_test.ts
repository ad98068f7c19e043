// Sums and means over a leading dim (the kernel's column path) and over dims
// around a kept block (floats: one pass over the planes; integers: two
// passes, each contiguous run, then the leading dims), against plain float64
// loops over the same values: forward values, keepdim shapes, non-contiguous
// inputs, half types, integer sums and the mean's gradient.
import { assert, assertEquals } from "./assert_helpers.ts";
import * as zn from "../mod.ts";

/** Sum (or mean) of x over `dims` by plain loops, in float64. */
function reference(x: zn.Tensor, dims: number[], mean: boolean): number[] {
  const vals = Array.from(x.contiguous().toTypedArray() as ArrayLike<number | bigint>, Number);
  const shape = x.shape;
  const keptDims = shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const outSize = keptDims.reduce((p, d) => p * shape[d], 1);
  const out = new Array<number>(outSize).fill(0);
  let count = 1;
  for (const d of dims) count *= shape[d];
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < vals.length; flat++) {
    let o = 0;
    for (const d of keptDims) o = o * shape[d] + idx[d];
    out[o] += vals[flat];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return mean ? out.map((v) => v / count) : out;
}

function maxRelDiff(got: zn.Tensor, want: number[]): number {
  const g = Array.from(got.toTypedArray() as ArrayLike<number | bigint>, Number);
  assertEquals(g.length, want.length, "result size");
  let m = 0;
  for (let i = 0; i < g.length; i++) {
    m = Math.max(m, Math.abs(g[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  return m;
}

// [shape, dims]: leading dims alone (columns), a kept block in the middle
// (two passes), widths around the kernel's column blocks, and columns of
// over a thousand rows (split into blocks of rows, each a block of whole rows).
const CASES: [number[], number[]][] = [
  [[4096, 3], [0]],
  [[1300, 1100], [0]],
  [[3, 1100, 5], [1]],
  [[37, 300], [0]],
  [[5, 513, 2], [0]],
  [[8, 6, 7, 9], [0, 2, 3]],
  [[3, 5, 4, 6], [0, 1, 3]],
  [[2, 3, 4, 5, 6], [0, 1, 4]],
  [[64, 32, 14, 14], [0, 2, 3]],
  [[1, 7, 1, 1], [0, 2, 3]],
];

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`reduce: sum and mean over leading and surrounding dims match float64 loops (${dtype})`, () => {
    zn.manualSeed(11);
    const tol = dtype === "float32" ? 2e-5 : 1e-12;
    for (const [shape, dims] of CASES) {
      const x = zn.randn(shape, { dtype });
      for (const mean of [false, true]) {
        const want = reference(x, dims, mean);
        const got = mean ? x.mean(dims) : x.sum(dims);
        const d = maxRelDiff(got, want);
        assert(d <= tol, `${mean ? "mean" : "sum"} ${shape} over ${dims}: max diff ${d}`);
        const kept = mean ? x.mean(dims, true) : x.sum(dims, true);
        assertEquals(kept.shape, shape.map((s, i) => (dims.includes(i) ? 1 : s)), "keepdim");
      }
    }
  });
}

for (const dtype of ["bfloat16", "float16"] as const) {
  Deno.test(`reduce: ${dtype} sums and means over surrounding dims are float32's, rounded once`, () => {
    zn.manualSeed(13);
    for (const [shape, dims] of CASES.filter(([, d]) => d.length > 1)) {
      const x = zn.randn(shape).to(dtype);
      const wide = x.to("float32");
      for (const mean of [false, true]) {
        const got = mean ? x.mean(dims) : x.sum(dims);
        assertEquals(got.dtype, dtype);
        const want = (mean ? wide.mean(dims) : wide.sum(dims)).to(dtype);
        const g = Array.from(got.toTypedArray() as ArrayLike<number>);
        const w = Array.from(want.toTypedArray() as ArrayLike<number>);
        let bad = 0;
        for (let i = 0; i < g.length; i++) if (!Object.is(g[i], w[i])) bad++;
        assert(
          bad === 0,
          `${mean ? "mean" : "sum"} ${shape} over ${dims}: ${bad} of ${g.length} differ`,
        );
      }
    }
  });
}

Deno.test("reduce: a transposed input sums over surrounding dims like its contiguous copy", () => {
  zn.manualSeed(12);
  const x = zn.randn([6, 5, 8, 3]).permute([2, 1, 0, 3]); // [8, 5, 6, 3], strided
  assert(!x.isContiguous(), "the input is a strided view");
  const d = maxRelDiff(x.sum([0, 2, 3]), reference(x, [0, 2, 3], false));
  assert(d <= 2e-5, `max diff ${d}`);
});

Deno.test("reduce: integer sums over surrounding dims are exact int64", () => {
  const x = zn.arange(2 * 3 * 4 * 5, { dtype: "int32" }).reshape([2, 3, 4, 5]).mul(1000003);
  const got = x.sum([0, 2, 3]);
  assertEquals(got.dtype, "int64");
  assertEquals(
    Array.from(got.toTypedArray() as BigInt64Array, Number),
    reference(x, [0, 2, 3], false),
  );
  const cols = x.reshape([2, 60]).sum(0);
  assertEquals(
    Array.from(cols.toTypedArray() as BigInt64Array, Number),
    reference(x.reshape([2, 60]), [0], false),
  );
});

Deno.test("reduce: the mean over surrounding dims spreads its gradient over every element", () => {
  const x = zn.randn([4, 3, 5, 2], { requiresGrad: true });
  x.mean([0, 2, 3]).sum().backward();
  const g = x.grad!.toTypedArray() as Float32Array;
  const want = 1 / (4 * 5 * 2);
  let m = 0;
  for (const v of g) m = Math.max(m, Math.abs(v - want));
  assert(m <= 1e-9, `grad of mean: max diff ${m} from 1/40`);
});
