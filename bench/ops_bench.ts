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
