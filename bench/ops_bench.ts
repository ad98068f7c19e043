/**
 * `deno task bench`: the kernels behind the common ops, from small to large.
 *
 * @module
 */
import * as zn from "../mod.ts";

zn.manualSeed(0);

for (const n of [64, 128, 256, 512, 1024, 2048]) {
  const a = zn.randn([n, n]), b = zn.randn([n, n]);
  Deno.bench(`matmul ${n}x${n} float32`, { group: "matmul", n: n >= 1024 ? 3 : undefined }, () => {
    a.matmul(b);
  });
}

for (const n of [1024, 65536, 1048576, 16777216]) {
  const a = zn.randn([n]), b = zn.randn([n]);
  Deno.bench(`add ${n}`, { group: `elementwise ${n}` }, () => {
    a.add(b);
  });
  Deno.bench(`mul ${n}`, { group: `elementwise ${n}` }, () => {
    a.mul(b);
  });
  Deno.bench(`exp ${n}`, { group: `elementwise ${n}` }, () => {
    a.exp();
  });
}

for (const n of [1024, 1048576, 16777216]) {
  const a = zn.randn([n]);
  Deno.bench(`sum ${n}`, { group: "sum" }, () => {
    a.sum();
  });
}

{
  // The bias gradients of a linear layer (the batch's rows) and of a conv
  // layer (all but the channel dim).
  const rows = zn.randn([4096, 768]);
  Deno.bench("sum 4096x768 over dim 0", { group: "sum over dims" }, () => {
    rows.sum(0);
  });
  const maps = zn.randn([32, 64, 56, 56]);
  Deno.bench("sum 32x64x56x56 over [0, 2, 3]", { group: "sum over dims" }, () => {
    maps.sum([0, 2, 3]);
  });
}

for (const [r, c] of [[256, 1000], [4096, 1024]]) {
  const a = zn.randn([r, c]);
  Deno.bench(`softmax ${r}x${c}`, { group: "softmax" }, () => {
    a.softmax(-1);
  });
}

const one = zn.randn([1]);
Deno.bench("add 1 element (per-op overhead)", { group: "overhead" }, () => {
  one.add(one);
});
