/**
 * In-place writes through views reach the base tensor, as in PyTorch
 * (expected values worked out with torch 2.13).
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import * as zn from "../mod.ts";

const base = () => zn.arange(12).reshape(3, 4);

Deno.test("fill_ on a column view writes into the base", () => {
  const a = base();
  a.index({}, 1).fill_(-1);
  deepStrictEqual(a.toArray(), [[0, -1, 2, 3], [4, -1, 6, 7], [8, -1, 10, 11]]);
});

Deno.test("zero_ on a strided slice writes every other element", () => {
  const a = base();
  a.index({ step: 2 }, { start: 1, step: 2 }).zero_();
  deepStrictEqual(a.toArray(), [[0, 0, 2, 0], [4, 5, 6, 7], [8, 0, 10, 0]]);
});

Deno.test("copy_ into a transposed view broadcasts and converts", () => {
  const a = zn.zeros([2, 3]);
  a.mT.copy_(zn.tensor([[1n], [2n], [3n]]));
  deepStrictEqual(a.toArray(), [[1, 2, 3], [1, 2, 3]]);
  ok(a.dtype === "float32");
});

Deno.test("indexPut_ through a select view and with a mask", () => {
  const a = base();
  a.select(0, 2).indexPut_([zn.tensor([0n, 3n])], 100);
  deepStrictEqual(a.toArray(), [[0, 1, 2, 3], [4, 5, 6, 7], [100, 9, 10, 100]]);
  a.indexPut_([a.lt(3)], zn.tensor(-7n));
  deepStrictEqual(a.toArray(), [[-7, -7, -7, 3], [4, 5, 6, 7], [100, 9, 10, 100]]);
});

Deno.test("views share storage and clone does not", () => {
  const a = base();
  const v = a.reshape(4, 3);
  const c = a.clone();
  a.fill_(1);
  deepStrictEqual(v.sum().item(), 12);
  deepStrictEqual(c.sum().item(), 66);
  ok(!a.mT.isContiguous() && a.mT.contiguous().isContiguous());
});

Deno.test("reshape of a non-contiguous tensor copies and keeps the values", () => {
  const a = base();
  const r = a.mT.reshape(12);
  deepStrictEqual(r.toArray(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  a.fill_(0);
  deepStrictEqual(r.toArray(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
});

Deno.test("in-place arithmetic without a tape writes straight into the tensor, as PyTorch computes it", () => {
  // Values from torch 2.13: a.add_(b) with b broadcast over rows, a.mul_(a), a.sub_(b), a.div_(b).
  const a = zn.tensor([[1, 2, 3], [4, 5, 6]]);
  const b = zn.tensor([10, 20, 30]);
  const v0 = a.version;
  a.add_(b);
  deepStrictEqual(a.toArray(), [[11, 22, 33], [14, 25, 36]]);
  ok(a.version === v0 + 1, "the version counter moves");
  a.sub_(b).mul_(a).div_(zn.tensor([[2], [4]]));
  deepStrictEqual(a.toArray(), [[0.5, 2, 4.5], [4, 6.25, 9]]);
  // A partially overlapping operand (which PyTorch refuses) reads the values from before the write.
  const c = zn.arange(6, { dtype: "float32" });
  c.narrow(0, 1, 5).add_(c.narrow(0, 0, 5));
  deepStrictEqual(c.toArray(), [0, 1, 3, 5, 7, 9]);
  // Integer tensors take the direct path as well.
  const i = zn.tensor([6, 9], { dtype: "int32" });
  i.add_(zn.tensor([1, 1], { dtype: "int32" }));
  deepStrictEqual(i.toArray(), [7, 10]);
  // A strided (non-contiguous) destination writes only its elements.
  const m = zn.zeros([2, 4]);
  m.index({}, { step: 2 }).add_(zn.tensor([1, 2]));
  deepStrictEqual(m.toArray(), [[1, 0, 2, 0], [1, 0, 2, 0]]);
});
