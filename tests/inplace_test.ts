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
