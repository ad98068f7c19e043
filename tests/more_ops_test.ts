/**
 * frac, isfinite, dot, F.normalize and the 1-D average and adaptive pools
 * against PyTorch (tests/fixtures/more_ops.json): values and the gradients
 * of a weighted sum.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface MoreCase {
  fn: string;
  opts: Record<string, number | boolean>;
  inputs: FloatRec[];
  out: FloatRec;
  weight?: FloatRec;
  grads?: FloatRec[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/more_ops.json", import.meta.url)),
) as { cases: MoreCase[] };
const F = zn.nn.functional;

function run(c: MoreCase, x: zn.Tensor[]): zn.Tensor {
  const { size, ...opts } = c.opts as Record<string, number>;
  switch (c.fn) {
    case "frac":
      return x[0].frac();
    case "isfinite":
      return zn.isfinite(x[0]).to("float64");
    case "dot":
      return zn.dot(x[0], x[1]);
    case "normalize":
      return F.normalize(x[0], opts);
    case "avgPool1d":
      return F.avgPool1d(x[0], size, opts);
    case "adaptiveAvgPool1d":
      return F.adaptiveAvgPool1d(x[0], size);
    case "adaptiveMaxPool1d":
      return F.adaptiveMaxPool1d(x[0], size);
    case "hardshrink":
      return F.hardshrink(x[0], opts.lambd);
    case "softshrink":
      return F.softshrink(x[0], opts.lambd);
  }
  throw new Error(`unknown op ${c.fn}`);
}

for (const c of fx.cases) {
  Deno.test(`${c.fn} matches PyTorch: ${JSON.stringify(c.opts)}`, () => {
    const inputs = c.inputs.map((r) => floatTensor(r).requiresGrad_(c.grads !== undefined));
    const out = run(c, inputs);
    assertNear(out, c.out, "value", 1e-12);
    if (!c.grads) return;
    out.mul(floatTensor(c.weight!)).sum().backward();
    c.grads.forEach((g, i) => assertNear(inputs[i].grad!, g, `gradient of input ${i}`, 1e-12));
  });
}

Deno.test("the 1-D pool modules wrap the functional forms", () => {
  const x = zn.randn([2, 3, 10]);
  const same = (a: zn.Tensor, b: zn.Tensor) => a.sub(b).abs().max().item() === 0;
  assert(same(new zn.nn.AvgPool1d(2, { stride: 1 }).call(x), F.avgPool1d(x, 2, { stride: 1 })));
  assert(same(new zn.nn.AdaptiveAvgPool1d(4).call(x), F.adaptiveAvgPool1d(x, 4)));
  assert(same(new zn.nn.AdaptiveMaxPool1d(4).call(x), F.adaptiveMaxPool1d(x, 4)));
});

Deno.test("the new ops refuse bad input by name", () => {
  assertThrows(() => zn.dot(zn.ones([2, 2]), zn.ones([4])), RangeError, "dot: 1D tensors expected");
  assertThrows(() => zn.dot(zn.ones([2]), zn.ones([3])), RangeError, "dot: inconsistent");
  assertThrows(
    () => zn.frac(zn.tensor([1n])),
    TypeError,
    'frac: expected a floating point tensor, got int64; call .to("float32")',
  );
  assertThrows(() => F.normalize(zn.ones([3])), RangeError, "normalize: expected dim");
  assertThrows(() => F.normalize(zn.ones([2, 3]), { axis: 1 } as never), TypeError, "normalize");
  assertThrows(() => F.avgPool1d(zn.ones([2, 3, 4, 5]), 2), RangeError, "avgPool1d");
  assertThrows(() => F.adaptiveMaxPool1d(zn.ones([2, 3]), 0), RangeError, "adaptiveMaxPool1d");
  assert(zn.isfinite(zn.tensor([1n, 2n])).all().item() === true, "integers are finite");
  assertThrows(() => F.softshrink(zn.ones([2]), -1), RangeError, "softshrink: lambda");
  const shrunk = F.softshrink(zn.tensor([NaN, 1])).toArray() as number[];
  assert(Number.isNaN(shrunk[0]) && shrunk[1] === 0.5, `softshrink keeps NaN: ${shrunk}`);
  assert(new zn.nn.Hardshrink(1).call(zn.tensor([0.5])).item() === 0, "Hardshrink module");
  assert(new zn.nn.Softshrink(1).call(zn.tensor([3])).item() === 2, "Softshrink module");
});
