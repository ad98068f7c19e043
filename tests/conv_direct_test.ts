// The direct stride-1 convolution kernel (zig/src/conv.zig, Direct) against
// the reference lowering, im2col + GEMM (convKernel.mode = "gemm"): forward,
// input, weight and bias gradients on the same inputs, over widths below, at
// and past one micro-tile, rectangular kernels and uneven padding.
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { convKernel } from "../src/nn/functional/conv_kernels.ts";
import type { DType } from "../src/dtype.ts";

function maxDiff(a: zn.Tensor, b: zn.Tensor): number {
  assert(JSON.stringify(a.shape) === JSON.stringify(b.shape), `shapes ${a.shape} vs ${b.shape}`);
  const x = a.toTypedArray() as Float64Array, y = b.toTypedArray() as Float64Array;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(x[i])));
  }
  return m;
}

/** Output and gradients of conv2d(x, w, b) with the given kernel choice. */
function run(
  mode: "direct" | "gemm",
  x: zn.Tensor,
  w: zn.Tensor,
  b: zn.Tensor | null,
  padding: [number, number],
): zn.Tensor[] {
  const prev = convKernel.mode;
  convKernel.mode = mode;
  try {
    const xs = x.detach().requiresGrad_(), ws = w.detach().requiresGrad_();
    const bs = b ? b.detach().requiresGrad_() : null;
    const y = zn.nn.functional.conv2d(xs, ws, bs, { padding });
    // A non-uniform output gradient, so that every tap's weight matters.
    y.mul(zn.arange(y.numel, { dtype: y.dtype }).reshape(y.shape).sin()).sum().backward();
    return [y, xs.grad!, ws.grad!, ...(bs ? [bs.grad!] : [])];
  } finally {
    convKernel.mode = prev;
  }
}

// [N, C, H, W], [O, KH, KW], padding
const CASES: [number[], number[], [number, number]][] = [
  [[2, 3, 7, 6], [4, 3, 3], [1, 1]],
  [[1, 2, 5, 9], [5, 5, 3], [2, 0]],
  [[3, 16, 14, 14], [32, 5, 5], [2, 2]],
  [[2, 1, 28, 28], [16, 5, 5], [2, 2]],
  [[2, 2, 4, 19], [1, 1, 4], [0, 2]],
  [[1, 2, 6, 33], [9, 2, 2], [1, 1]],
  [[2, 3, 3, 3], [3, 3, 3], [0, 0]],
  // The channel kernel (many taps, few columns): rows of 7, 11 and 23 columns
  // end in tiles of 3 to 6 columns, and 12 channels leave a block part empty.
  [[1, 8, 7, 7], [12, 3, 3], [1, 1]],
  [[2, 8, 5, 11], [16, 3, 3], [1, 1]],
  [[1, 8, 3, 23], [16, 3, 3], [1, 1]],
  // Padding past the kernel's reach: the input gradient falls back to col2im.
  [[1, 2, 4, 4], [3, 2, 2], [2, 2]],
];

for (const dtype of ["float32", "float64"] as DType[]) {
  Deno.test(`conv2d: the direct kernel matches im2col + GEMM (${dtype})`, () => {
    zn.manualSeed(3);
    // float32: sums of up to 800 products in another order.
    const tol = dtype === "float64" ? 1e-12 : 1e-4;
    for (const [xs, [o, kh, kw], padding] of CASES) {
      const x = zn.randn(xs, { dtype });
      const w = zn.randn([o, xs[1], kh, kw], { dtype });
      for (const b of [zn.randn([o], { dtype }), null]) {
        const want = run("gemm", x, w, b, padding);
        const got = run("direct", x, w, b, padding);
        const names = ["output", "input grad", "weight grad", "bias grad"];
        want.forEach((t, i) => {
          const d = maxDiff(t, got[i]);
          assert(d <= tol, `${names[i]} x ${xs} w ${[o, kh, kw]} pad ${padding}: max diff ${d}`);
        });
      }
    }
  });
}

Deno.test("conv2d: strided, dilated and grouped convolutions keep the GEMM path and agree", () => {
  zn.manualSeed(4);
  const x = zn.randn([2, 4, 9, 9]);
  const w = zn.randn([6, 2, 3, 3]);
  for (const opts of [{ stride: 2 }, { dilation: 2 }, { groups: 2 }]) {
    const wg = opts.groups ? w : zn.randn([6, 4, 3, 3]);
    const a = zn.nn.functional.conv2d(x, wg, null, opts);
    convKernel.mode = "gemm";
    try {
      const b = zn.nn.functional.conv2d(x, wg, null, opts);
      assert(maxDiff(a, b) === 0, `${JSON.stringify(opts)}: ${maxDiff(a, b)}`);
    } finally {
      convKernel.mode = "direct";
    }
  }
});
