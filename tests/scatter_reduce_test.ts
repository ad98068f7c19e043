/**
 * zn.scatterReduce against PyTorch (tests/fixtures/scatter_reduce.json):
 * every reduction with and without includeSelf along several dims; float64
 * values and the gradients of a weighted sum (ties for amax/amin, zeros for
 * prod), integer and bool values exactly.
 */
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface Rec {
  shape: number[];
  dtype: string;
  data: (number | boolean)[];
}

interface ReduceCase {
  dim: number;
  reduce: zn.ScatterReduction;
  includeSelf: boolean;
  x: Rec;
  index: Rec;
  src: Rec;
  out: Rec;
  weight?: FloatRec;
  grads?: FloatRec[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/scatter_reduce.json", import.meta.url)),
) as { cases: ReduceCase[] };

function tensorOf(r: Rec): zn.Tensor {
  return zn.tensor(r.data, { dtype: r.dtype as DType }).reshape(r.shape);
}

for (const c of fx.cases) {
  const what =
    `${c.reduce} includeSelf=${c.includeSelf} dim=${c.dim} ${c.x.dtype} x[${c.x.shape}] ` +
    `index[${c.index.shape}] src[${c.src.shape}]`;
  Deno.test(`scatterReduce matches PyTorch: ${what}`, () => {
    const float = c.x.dtype === "float64";
    const x = tensorOf(c.x), src = tensorOf(c.src), index = tensorOf(c.index);
    if (float) {
      x.requiresGrad_(true);
      src.requiresGrad_(true);
    }
    const out = zn.scatterReduce(x, c.dim, index, src, c.reduce, { includeSelf: c.includeSelf });
    assertEquals(out.dtype, c.out.dtype, "dtype");
    if (!float) {
      assertEquals(out.shape, c.out.shape, "shape");
      const got = Array.from(
        out.toTypedArray() as ArrayLike<number | bigint | boolean>,
        (v) => typeof v === "bigint" ? Number(v) : v,
      );
      const want = c.out.data.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
      assertEquals(got.map(Number), want.map(Number), "values");
      return;
    }
    assertNear(out, c.out as FloatRec, "value", 1e-12);
    out.mul(floatTensor(c.weight!)).sum().backward();
    assertNear(x.grad!, c.grads![0], "gradient of input", 1e-12);
    assertNear(src.grad!, c.grads![1], "gradient of src", 1e-12);
  });
}

Deno.test("scatterReduce: the method form, float32 and float16 agree with float64", () => {
  const x = zn.tensor([1, 2, 3, 4]), index = zn.tensor([0n, 0n, 1n, 3n]);
  const src = zn.tensor([4, 5, 7, -3]);
  assertEquals(x.scatterReduce(0, index, src, "amax").toArray(), [5, 7, 3, 4]);
  const want = zn.scatterReduce(x.to("float64"), 0, index, src.to("float64"), "mean", {
    includeSelf: false,
  }).toArray();
  for (const dtype of ["float32", "float16", "bfloat16"] as const) {
    const got = zn.scatterReduce(x.to(dtype), 0, index, src.to(dtype), "mean", {
      includeSelf: false,
    });
    assertEquals(got.dtype, dtype);
    assertEquals(got.to("float64").toArray(), want, dtype);
  }
  // NaN wins a maximum and a minimum, as in PyTorch.
  const n = zn.scatterReduce(
    zn.tensor([1, 2]),
    0,
    zn.tensor([0n, 0n, 1n]),
    zn.tensor([NaN, 4, 1]),
    "amax",
  );
  const v = n.toArray() as number[];
  assert(Number.isNaN(v[0]) && v[1] === 2, `${v}`);
});

Deno.test("scatter gradients for a src larger than the index are zero past it", () => {
  const idx = zn.tensor([[1n, 0n]]);
  for (const kind of ["scatter", "scatterAdd", "prod", "amax"] as const) {
    const x = zn.zeros([2, 2], { requiresGrad: true });
    const src = zn.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const out = kind === "scatter"
      ? x.scatter(0, idx, src)
      : kind === "scatterAdd"
      ? x.scatterAdd(0, idx, src)
      : x.scatterReduce(0, idx, src, kind, { includeSelf: false });
    out.mul(zn.tensor([[1, 2], [3, 4]])).sum().backward();
    assertEquals(src.grad!.shape, [2, 3], kind);
    assertEquals(src.grad!.toArray(), [[3, 2, 0], [0, 0, 0]], kind);
  }
});

Deno.test("scatterReduce names the op, the shapes and the dtypes on bad input", () => {
  const x = zn.zeros([3]), idx = zn.tensor([0n, 2n]), src = zn.ones([2]);
  assertThrows(() => zn.scatterReduce(x, 0, idx, src, "max" as "amax"), TypeError, '"max"');
  assertThrows(
    () => zn.scatterReduce(x, 0, idx, src.to("float64"), "sum"),
    TypeError,
    "float32 vs float64",
  );
  assertThrows(
    () => zn.scatterReduce(x, 0, zn.tensor([0n, 3n]), src, "sum"),
    RangeError,
    "scatterReduce",
  );
  assertThrows(() => zn.scatterReduce(x, 0, idx.to("float32"), src, "sum"), TypeError, "int64");
  assertThrows(
    () =>
      zn.scatterReduce(
        zn.zeros([2], { dtype: "bool" }),
        0,
        idx,
        zn.ones([2], { dtype: "bool" }),
        "mean",
      ),
    TypeError,
    "bool",
  );
  assertThrows(
    () =>
      zn.scatterReduce(x, 0, idx, src, "sum", { include_self: false } as zn.ScatterReduceOptions),
    TypeError,
    "include_self",
  );
  assertThrows(() => zn.scatterReduce(x, 1, idx, src, "sum"), RangeError, "dim");
});
