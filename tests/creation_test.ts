/**
 * Creation functions against values PyTorch 2.13 gives for the same calls.
 */
import { deepStrictEqual, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

function assertClose(actual: unknown, expected: number[], tol = 1e-6): void {
  const a = (actual as number[]).flat(Infinity as 1) as number[];
  deepStrictEqual(a.length, expected.length, `length ${a.length}, expected ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    ok(
      Math.abs(a[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `element ${i}: got ${a[i]}, expected ${expected[i]}`,
    );
  }
}

Deno.test("arange with integer arguments is int64 like torch.arange(5)", () => {
  const t = zn.arange(5);
  deepStrictEqual(t.dtype, "int64");
  deepStrictEqual(t.toArray(), [0, 1, 2, 3, 4]);
});

Deno.test("arange with a float step is float32 and excludes the end", () => {
  const t = zn.arange(0, 1, 0.1);
  deepStrictEqual(t.dtype, "float32");
  deepStrictEqual(t.shape, [10]);
  assertClose(t.toArray(), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
});

Deno.test("arange counts down with a negative step and from a fractional start", () => {
  deepStrictEqual(zn.arange(10, 0, -3).toArray(), [10, 7, 4, 1]);
  deepStrictEqual(zn.arange(1.5, 4).toArray(), [1.5, 2.5, 3.5]);
  deepStrictEqual(zn.arange(-1, 1, 0.25).toArray(), [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75]);
  deepStrictEqual(zn.arange(3, 3).toArray(), []);
});

Deno.test("arange honours dtype", () => {
  const t = zn.arange(4, { dtype: "float64" });
  deepStrictEqual(t.dtype, "float64");
  deepStrictEqual(t.toArray(), [0, 1, 2, 3]);
});

Deno.test("linspace matches torch.linspace", () => {
  assertClose(zn.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assertClose(zn.linspace(-2, 3, 7).toArray(), [
    -2.0,
    -1.1666667461395264,
    -0.3333333730697632,
    0.5000000596046448,
    1.3333333730697632,
    2.1666667461395264,
    3.0,
  ]);
  assertClose(zn.linspace(-3.3, 7.7, 13).toArray(), [
    -3.299999952316284,
    -2.383333206176758,
    -1.466666579246521,
    -0.5499998927116394,
    0.3666667938232422,
    1.2833335399627686,
    2.1999998092651367,
    3.116666316986084,
    4.033332824707031,
    4.949999809265137,
    5.866666316986084,
    6.7833333015441895,
    7.699999809265137,
  ]);
  deepStrictEqual(zn.linspace(1, 1, 1).toArray(), [1]);
  deepStrictEqual(zn.linspace(0, 1, 0).toArray(), []);
  const ints = zn.linspace(0, 10, 11, { dtype: "int64" });
  deepStrictEqual(ints.dtype, "int64");
  deepStrictEqual(ints.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

Deno.test("linspace ends exactly at end", () => {
  const t = zn.linspace(0, 0.3, 4, { dtype: "float64" }).toArray() as number[];
  deepStrictEqual(t[3], 0.3);
  deepStrictEqual(t[0], 0);
});

Deno.test("eye builds square and rectangular identities", () => {
  deepStrictEqual(zn.eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  deepStrictEqual(zn.eye(3, 2).toArray(), [[1, 0], [0, 1], [0, 0]]);
  deepStrictEqual(zn.eye(2, 4).toArray(), [[1, 0, 0, 0], [0, 1, 0, 0]]);
  const b = zn.eye(2, { dtype: "bool" });
  deepStrictEqual(b.dtype, "bool");
  deepStrictEqual(b.toArray(), [[true, false], [false, true]]);
  deepStrictEqual(zn.eye(0).shape, [0, 0]);
});

Deno.test("full infers its dtype from the fill value: float32 for numbers, int64 for bigints", () => {
  // A plain number is float32 even when it is an integer (torch.full([2, 2], 7)
  // is int64; JavaScript cannot tell 7 from 7.0).
  const n = zn.full([2, 2], 7);
  deepStrictEqual(n.dtype, "float32");
  deepStrictEqual(n.toArray(), [[7, 7], [7, 7]]);
  const i = zn.full([2, 2], 7n);
  deepStrictEqual(i.dtype, "int64");
  deepStrictEqual(i.toArray(), [[7, 7], [7, 7]]);
  const big = zn.full([1], 2n ** 62n + 1n);
  deepStrictEqual(big.dtype, "int64");
  deepStrictEqual(big.toTypedArray(), new BigInt64Array([2n ** 62n + 1n]));
  const f = zn.full([2], 2.5);
  deepStrictEqual(f.dtype, "float32");
  deepStrictEqual(f.toArray(), [2.5, 2.5]);
  const b = zn.full([2], true);
  deepStrictEqual(b.dtype, "bool");
  deepStrictEqual(b.toArray(), [true, true]);
  const d = zn.full([3], -1.5, { dtype: "float64" });
  deepStrictEqual(d.dtype, "float64");
  deepStrictEqual(d.toArray(), [-1.5, -1.5, -1.5]);
  deepStrictEqual(zn.full([], 3, { dtype: "int32" }).toArray(), 3);
  // An explicit dtype wins over the value's type.
  const i64 = zn.full([2], 7, { dtype: "int64" });
  deepStrictEqual(i64.dtype, "int64");
  deepStrictEqual(i64.toArray(), [7, 7]);
  const f64 = zn.full([2], 7n, { dtype: "float64" });
  deepStrictEqual(f64.dtype, "float64");
  deepStrictEqual(f64.toArray(), [7, 7]);
  deepStrictEqual(zn.full([1], true, { dtype: "float32" }).toArray(), [1]);
});

Deno.test("zeros, ones and the *Like functions keep shape and dtype", () => {
  const z = zn.zeros(2, 3);
  deepStrictEqual(z.dtype, "float32");
  deepStrictEqual(z.toArray(), [[0, 0, 0], [0, 0, 0]]);
  deepStrictEqual(zn.ones([2], { dtype: "int32" }).toArray(), [1, 1]);
  const x = zn.tensor([[1, 2, 3]], { dtype: "int16" });
  const o = zn.onesLike(x);
  deepStrictEqual(o.dtype, "int16");
  deepStrictEqual(o.toArray(), [[1, 1, 1]]);
  deepStrictEqual(zn.zerosLike(x).toArray(), [[0, 0, 0]]);
  deepStrictEqual(zn.fullLike(x, 9).toArray(), [[9, 9, 9]]);
  deepStrictEqual(zn.zeros([0, 4]).numel, 0);
});

Deno.test("tensor infers float32 for numbers, int64 for bigints and bool for booleans", () => {
  // Plain numbers are float32 whether or not they are integers (unlike
  // torch.tensor([1, 2]), which is int64).
  deepStrictEqual(zn.tensor([1, 2]).dtype, "float32");
  deepStrictEqual(zn.tensor([[1, 2], [3, 4]]).dtype, "float32");
  deepStrictEqual(zn.tensor([1, 2.5]).dtype, "float32");
  deepStrictEqual(zn.tensor(5).dtype, "float32");
  deepStrictEqual(zn.tensor([1n, 2n]).dtype, "int64");
  deepStrictEqual(zn.tensor([1n, 2n]).toArray(), [1, 2]);
  deepStrictEqual(zn.tensor(5n).dtype, "int64");
  deepStrictEqual(zn.tensor([2n ** 62n + 1n]).toTypedArray(), new BigInt64Array([2n ** 62n + 1n]));
  deepStrictEqual(zn.tensor([true, false]).dtype, "bool");
  // Mixed: any plain number makes float32; bigints with booleans make int64.
  deepStrictEqual(zn.tensor([1, 2n]).dtype, "float32");
  deepStrictEqual(zn.tensor([1, 2n]).toArray(), [1, 2]);
  deepStrictEqual(zn.tensor([1, true]).dtype, "float32");
  deepStrictEqual(zn.tensor([1, true]).toArray(), [1, 1]);
  deepStrictEqual(zn.tensor([3n, true, false]).dtype, "int64");
  deepStrictEqual(zn.tensor([3n, true, false]).toArray(), [3, 1, 0]);
  // An explicit dtype wins.
  deepStrictEqual(zn.tensor([1, 2], { dtype: "int64" }).dtype, "int64");
  deepStrictEqual(zn.tensor([1n, 2n], { dtype: "float64" }).dtype, "float64");
  deepStrictEqual(zn.tensor([true, 2n], { dtype: "int32" }).toArray(), [1, 2]);
  // requiresGrad does not change the inferred dtype: bigints stay int64 and cannot require grad.
  deepStrictEqual(zn.tensor([1, 2], { requiresGrad: true }).dtype, "float32");
  throws(() => zn.tensor([1n, 2n], { requiresGrad: true }), /only floating point tensors/);
  // Typed arrays keep their type.
  deepStrictEqual(zn.tensor(new Float64Array([1, 2])).dtype, "float64");
  deepStrictEqual(zn.tensor(new Int32Array([1, 2])).dtype, "int32");
  deepStrictEqual(zn.tensor(new Uint8Array([1, 2])).dtype, "uint8");
  deepStrictEqual(zn.tensor(new BigInt64Array([1n, 2n])).dtype, "int64");
  deepStrictEqual(zn.tensor(new Int32Array([1, 2]), { dtype: "float32" }).dtype, "float32");
  deepStrictEqual(zn.tensor([]).dtype, "float32");
  deepStrictEqual(zn.tensor([[]]).shape, [1, 0]);
  deepStrictEqual(zn.tensor(5).shape, []);
});

Deno.test("tensor with a dtype converts the values", () => {
  deepStrictEqual(zn.tensor([1.7, -1.7], { dtype: "int32" }).toArray(), [1, -1]);
  deepStrictEqual(zn.tensor([0, 2, 0.5], { dtype: "bool" }).toArray(), [false, true, true]);
  deepStrictEqual(zn.tensor([1 / 3], { dtype: "float16" }).toArray(), [0.333251953125]);
  deepStrictEqual(zn.tensor([1 / 3], { dtype: "bfloat16" }).toArray(), [0.333984375]);
});
