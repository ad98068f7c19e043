/**
 * F.conv3d and F.maxPool3d (and their modules) against PyTorch
 * (tests/fixtures/conv3d.json): values and the gradients of a weighted sum.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface Conv3dCase {
  fn: "conv3d" | "maxPool3d";
  kernel?: number | number[];
  opts: Record<string, unknown>;
  inputs: FloatRec[];
  out: FloatRec;
  indices?: number[];
  weight: FloatRec;
  grads: FloatRec[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/conv3d.json", import.meta.url)),
) as { cases: Conv3dCase[] };
const F = zn.nn.functional;

for (const c of fx.cases) {
  Deno.test(`${c.fn} matches PyTorch: ${JSON.stringify({ kernel: c.kernel, ...c.opts })}`, () => {
    const inputs = c.inputs.map((r) => floatTensor(r).requiresGrad_(true));
    let out: zn.Tensor;
    if (c.fn === "conv3d") out = F.conv3d(inputs[0], inputs[1], inputs[2], c.opts);
    else {
      const r = F.maxPool3d(inputs[0], c.kernel!, { ...c.opts, returnIndices: true });
      const got = Array.from(r.indices.toTypedArray(), Number);
      const bad = got.findIndex((v, i) => v !== c.indices![i]);
      assert(bad < 0, `index ${bad}: got ${got[bad]}, PyTorch ${c.indices![bad]}`);
      const plain = F.maxPool3d(inputs[0], c.kernel!, c.opts);
      assertNear(plain, c.out, "value without indices", 1e-9);
      out = r.values;
    }
    assertNear(out, c.out, "value", 1e-9);
    out.mul(floatTensor(c.weight)).sum().backward();
    c.grads.forEach((g, i) => assertNear(inputs[i].grad!, g, `gradient of input ${i}`, 1e-9));
  });
}

Deno.test("Conv3d and MaxPool3d modules wrap the functional forms", () => {
  const conv = new zn.nn.Conv3d(2, 3, [3, 1, 2], { padding: [1, 0, 0], dtype: "float64" });
  const x = zn.randn([2, 2, 4, 5, 6], { dtype: "float64" });
  const want = F.conv3d(x, conv.weight, conv.bias, { padding: [1, 0, 0] });
  const got = conv.call(x);
  assert(got.sub(want).abs().max().item() === 0, "Conv3d differs from F.conv3d");
  assert(conv.weight.shape.join() === "3,2,3,1,2", `weight shape ${conv.weight.shape}`);
  const pool = new zn.nn.MaxPool3d(2, { stride: 1 });
  assert(pool.call(x).shape.join() === "2,2,3,4,5", `pooled shape ${pool.call(x).shape}`);
  const e = assertThrows(
    () => F.conv3d(zn.zeros([1, 2, 3, 3]), zn.zeros([1, 2, 1, 1, 1])),
    RangeError,
    "conv3d",
  );
  assert(e.message.includes("[1, 2, 3, 3]"), e.message);
});
