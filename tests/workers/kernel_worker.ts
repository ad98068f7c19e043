/// <reference lib="deno.worker" />
// A Deno Worker that runs the kernel mix of tests/workers_test.ts: it gets
// the inputs and the expected results, runs `calls` kernels in a plain loop
// (results dropped, as users write it) and reports every mismatch.
import { type Inputs, type Mismatch, runKernel, tensors } from "./kernel_mix.ts";

interface Job {
  inputs: Inputs;
  expected: Float32Array[];
  calls: number;
  offset: number;
}

self.onmessage = (e: MessageEvent<Job>) => {
  const { inputs, expected, calls, offset } = e.data;
  const t = tensors(inputs);
  const mismatches: Mismatch[] = [];
  for (let i = 0; i < calls; i++) {
    const k = (i + offset) % expected.length;
    const got = runKernel(k, t);
    const want = expected[k];
    let worst = 0;
    for (let j = 0; j < want.length; j++) {
      const d = Math.abs(got[j] - want[j]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
    if (got.length !== want.length || worst !== 0) {
      mismatches.push({ call: i, kernel: k, length: got.length, maxDiff: worst });
    }
  }
  self.postMessage(mismatches);
};
