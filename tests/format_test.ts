/**
 * toString() against PyTorch's repr. The expected strings are PyTorch 2.13's
 * `repr(t)` with the `torch.` prefix dropped from dtype names (Zeno writes
 * `dtype=int32`).
 */
import { deepStrictEqual } from "node:assert/strict";
import * as zn from "../mod.ts";

const cases: [string, () => zn.Tensor, string][] = [
  [
    "2-D float32 with integral values",
    () => zn.tensor([[1, 2], [3, 4]], { dtype: "float32" }),
    "tensor([[1., 2.],\n        [3., 4.]])",
  ],
  [
    "float32 with fractions pads the sign column",
    () => zn.tensor([1.5, 2.0, -0.25]),
    "tensor([ 1.5000,  2.0000, -0.2500])",
  ],
  ["int64 has no dtype suffix", () => zn.tensor([1n, -2n, 30n]), "tensor([ 1, -2, 30])"],
  // Plain numbers make float32, so integral values print as torch.tensor([1., -2., 30.]) does.
  ["plain integral numbers are float32", () => zn.tensor([1, -2, 30]), "tensor([ 1., -2., 30.])"],
  [
    "int32 has a dtype suffix",
    () => zn.tensor([[1, 2], [3, 4]], { dtype: "int32" }),
    "tensor([[1, 2],\n        [3, 4]], dtype=int32)",
  ],
  ["bool", () => zn.tensor([true, false]), "tensor([ True, False])"],
  [
    "float64 has a dtype suffix",
    () => zn.tensor([1.5, 2.0], { dtype: "float64" }),
    "tensor([1.5000, 2.0000], dtype=float64)",
  ],
  ["0-d float", () => zn.tensor(3.5), "tensor(3.5000)"],
  ["0-d int", () => zn.tensor(7n), "tensor(7)"],
  ["0-d plain integral number is float32", () => zn.tensor(7), "tensor(7.)"],
  ["empty float", () => zn.zeros([0]), "tensor([])"],
  [
    "empty 2-D int32 shows its size",
    () => zn.zeros([2, 0], { dtype: "int32" }),
    "tensor([], size=(2, 0), dtype=int32)",
  ],
  [
    "nan and infinities",
    () => zn.tensor([NaN, Infinity, -Infinity, 1.0]),
    "tensor([nan, inf, -inf, 1.])",
  ],
  [
    "wide range switches to scientific",
    () => zn.tensor([1e-5, 1.0, 1e5]),
    "tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])",
  ],
  [
    "large integral floats use scientific",
    () => zn.tensor([1e9, 2.5]).floor(),
    "tensor([1.0000e+09, 2.0000e+00])",
  ],
  [
    "3-D puts a blank line between blocks",
    () => zn.arange(8, { dtype: "float32" }).reshape(2, 2, 2),
    "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])",
  ],
  ["uint8", () => zn.tensor([1, 2], { dtype: "uint8" }), "tensor([1, 2], dtype=uint8)"],
  [
    "int64 column is right-aligned",
    () => zn.tensor([[1n], [22n], [-333n]]),
    "tensor([[   1],\n        [  22],\n        [-333]])",
  ],
  [
    "float16",
    () => zn.tensor([0.5, 1.0], { dtype: "float16" }),
    "tensor([0.5000, 1.0000], dtype=float16)",
  ],
  [
    "negative fractions in 2-D",
    () => zn.tensor([[-1.5, 2.25], [3.0, -4.125]]),
    "tensor([[-1.5000,  2.2500],\n        [ 3.0000, -4.1250]])",
  ],
  [
    "transposed view prints its logical order",
    () => zn.tensor([[1n, 2n], [3n, 4n]]).mT,
    "tensor([[1, 3],\n        [2, 4]])",
  ],
  ["bool all true is not padded", () => zn.tensor([true, true]), "tensor([True, True])"],
  ["zero and nan", () => zn.tensor([0.0, NaN]), "tensor([0., nan])"],
  [
    "tiny values use scientific",
    () => zn.tensor([1e-10, 2e-10]),
    "tensor([1.0000e-10, 2.0000e-10])",
  ],
  [
    "long int64 rows wrap at 80 columns",
    () => zn.arange(40),
    "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n" +
    "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n" +
    "        36, 37, 38, 39])",
  ],
  [
    "long float rows wrap at 80 columns",
    () => zn.arange(30, { dtype: "float32" }).div(7),
    "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n" +
    "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n" +
    "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n" +
    "        3.8571, 4.0000, 4.1429])",
  ],
  [
    "summarised 2-D elides rows",
    () => zn.arange(3000, { dtype: "float32" }).reshape(1500, 2),
    "tensor([[0.0000e+00, 1.0000e+00],\n        [2.0000e+00, 3.0000e+00],\n        [4.0000e+00, 5.0000e+00],\n" +
    "        ...,\n        [2.9940e+03, 2.9950e+03],\n        [2.9960e+03, 2.9970e+03],\n        [2.9980e+03, 2.9990e+03]])",
  ],
  [
    "summarised int rows elide columns",
    () => zn.arange(2100).reshape(3, 700),
    "tensor([[   0,    1,    2,  ...,  697,  698,  699],\n        [ 700,  701,  702,  ..., 1397, 1398, 1399],\n" +
    "        [1400, 1401, 1402,  ..., 2097, 2098, 2099]])",
  ],
];

for (const [name, make, expected] of cases) {
  Deno.test(`toString matches PyTorch's repr: ${name}`, () => {
    deepStrictEqual(make().toString(), expected);
  });
}

Deno.test("toString summarises tensors above 1000 elements like PyTorch", () => {
  const s = zn.arange(2000, { dtype: "float32" }).toString();
  deepStrictEqual(
    s,
    "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])",
  );
});
