/**
 * conv2d and max pooling on bfloat16 and float16 tensors against PyTorch
 * (tests/fixtures/half_conv.json): PyTorch in float64 on the same rounded
 * inputs is the reference, so each result may differ by Zeno's f32 sums and
 * its one rounding to the half type. The bfloat16 layers with many taps run
 * on the BF16 dot-product kernel where the CPU has it.
 */
import * as zn from "../mod.ts";
import { assert } from "./assert_helpers.ts";
import type { FloatRec } from "./fixture_harness.ts";

interface HalfConvCase {
  dtype: "bfloat16" | "float16";
  padding: number;
  inputs: FloatRec[];
  out: FloatRec;
  weight: FloatRec;
  grads: FloatRec[];
  pooled: FloatRec;
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/half_conv.json", import.meta.url)),
) as { cases: HalfConvCase[] };

function half(r: FloatRec, dtype: "bfloat16" | "float16"): zn.Tensor {
  return zn.tensor(r.data as number[], { dtype: "float64" }).reshape(r.shape).to(dtype);
}

/** Largest |got - want| / (|want| + scale) over the elements, scale the mean magnitude. */
function worst(got: zn.Tensor, want: FloatRec): number {
  const g = Array.from(got.to("float64").toTypedArray() as Float64Array);
  const w = want.data as number[];
  assert(g.length === w.length, `sizes ${g.length} and ${w.length}`);
  const scale = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
  let m = 0;
  g.forEach((v, i) => m = Math.max(m, Math.abs(v - w[i]) / (Math.abs(w[i]) + scale)));
  return m;
}

for (const c of fx.cases) {
  const ch = c.inputs[0].shape[1], k = c.inputs[1].shape[2];
  Deno.test(`conv2d ${c.dtype} matches PyTorch: ${ch} channels, ${k}x${k} kernel, forward and backward`, () => {
    const [x, w, b] = c.inputs.map((r) => half(r, c.dtype).requiresGrad_(true));
    const out = zn.nn.functional.conv2d(x, w, b, { padding: c.padding });
    assert(out.dtype === c.dtype, `output dtype ${out.dtype}`);
    // A few units in the last place of the half type (bfloat16 2^-8).
    const tol = c.dtype === "bfloat16" ? 2 ** -6 : 2 ** -9;
    const e = worst(out, c.out);
    assert(e <= tol, `value: largest relative difference ${e}`);
    out.mul(half(c.weight, c.dtype)).sum().backward();
    [x, w, b].forEach((t, i) => {
      const ge = worst(t.grad!, c.grads[i]);
      assert(ge <= 2 * tol, `gradient of input ${i}: largest relative difference ${ge}`);
    });
    const pooled = zn.nn.functional.maxPool2d(out.detach(), 2);
    const pe = worst(pooled, c.pooled);
    assert(pooled.dtype === c.dtype && pe <= tol, `max pool: ${pooled.dtype}, ${pe}`);
  });
}
