/**
 * `deno bench` over the kernels behind the common ops (the list is in
 * `bench/kernels.ts`). Each group compares ways of doing one job at one size
 * against its float32 baseline; names carry the size, e.g.
 * `deno bench --allow-ffi --allow-read --allow-env --filter "add 1M" bench/`.
 * `deno task bench` runs this file through `bench/table.ts`, which adds each
 * row's throughput (GFLOP/s or GB/s), thread count and CPU variant.
 *
 * @module
 */
import { KERNELS, runtimeLine } from "./kernels.ts";

console.log(runtimeLine());

for (const k of KERNELS) {
  let run: (() => void) | undefined;
  Deno.bench(k.name, { group: k.group, baseline: k.baseline, n: k.n }, () => {
    (run ??= k.setup())();
  });
}
