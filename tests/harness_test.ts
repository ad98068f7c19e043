/**
 * The fixture comparison itself: it must catch wrong values, dtypes and
 * shapes, match NaN with NaN, and say where the largest difference is.
 */
import { ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import { assertMatches, makeTensor, type TensorRec } from "./fixture_harness.ts";

const rec = (dtype: zn.DType, shape: number[], data: (number | boolean | string)[]): TensorRec => ({
  dtype,
  shape,
  data,
});

Deno.test("fixture comparison accepts equal values and NaN against NaN", () => {
  assertMatches(zn.tensor([1.5, NaN, Infinity]), rec("float32", [3], [1.5, "nan", "inf"]), "ok");
  assertMatches(zn.tensor([1, 2], { dtype: "int32" }), rec("int32", [2], [1, 2]), "ok");
  assertMatches(zn.tensor([true, false]), rec("bool", [2], [true, false]), "ok");
});

Deno.test("fixture comparison reports the largest difference and its index", () => {
  throws(
    () =>
      assertMatches(zn.tensor([[1, 2], [3, 4.5]]), rec("float32", [2, 2], [1, 2, 3, 4]), "case"),
    (e: Error) => {
      ok(e.message.includes("largest difference 0.5 at index [1, 1]"), e.message);
      ok(e.message.includes("got 4.5, expected 4"), e.message);
      return true;
    },
  );
});

Deno.test("fixture comparison rejects NaN against a number, dtype and shape mismatches", () => {
  throws(() => assertMatches(zn.tensor([NaN]), rec("float32", [1], [0]), "c"), /differ/);
  throws(
    () => assertMatches(zn.tensor([1.5]), rec("float64", [1], [1.5]), "c"),
    /dtype float32, expected float64/,
  );
  throws(
    () => assertMatches(zn.tensor([1.5]), rec("float32", [1, 1], [1.5]), "c"),
    /shape \[1\], expected \[1, 1\]/,
  );
  throws(() => assertMatches(zn.tensor([3n]), rec("int64", [1], [4]), "c"), /differ/);
  // A float32 tensor of the right values is still the wrong dtype for an int64 record.
  throws(
    () => assertMatches(zn.tensor([4]), rec("int64", [1], [4]), "c"),
    /dtype float32, expected int64/,
  );
});

Deno.test("fixture comparison uses per-dtype tolerances", () => {
  assertMatches(zn.tensor([1 + 1e-7]), rec("float32", [1], [1]), "within float32 tolerance");
  throws(
    () => assertMatches(zn.tensor([1 + 1e-9], { dtype: "float64" }), rec("float64", [1], [1]), "c"),
    /differ/,
  );
});

Deno.test("fixture inputs rebuild views and generated data", () => {
  const t = makeTensor({
    dtype: "int64",
    shape: [2, 3],
    data: [0, 1, 2, 3, 4, 5],
    view: [["t", 0, 1]],
  });
  ok(JSON.stringify(t.toArray()) === "[[0,3],[1,4],[2,5]]");
  const s = makeTensor({
    dtype: "int64",
    shape: [6],
    data: [0, 1, 2, 3, 4, 5],
    view: [["s", 0, 1, null, 2]],
  });
  ok(JSON.stringify(s.toArray()) === "[1,3,5]");
  const g = makeTensor({
    dtype: "int32",
    shape: [3],
    gen: { a: 37, m: 1009, lo: -5, hi: 5, int: true },
  });
  ok(JSON.stringify(g.toArray()) === JSON.stringify([11, 48, 85].map((k) => -5 + (k % 10))));
});
