/**
 * F.gridSample and F.affineGrid against PyTorch (tests/fixtures/
 * grid_sample.json): values and the gradients of a weighted sum, with
 * respect to the image, the grid and the affine matrices.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface GridCase {
  fn: "gridSample" | "affineGrid";
  opts: Record<string, unknown>;
  size?: number[];
  inputs: FloatRec[];
  out: FloatRec;
  weight: FloatRec;
  grads: FloatRec[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/grid_sample.json", import.meta.url)),
) as { cases: GridCase[] };

const F = zn.nn.functional;

for (const c of fx.cases) {
  Deno.test(`${c.fn} matches PyTorch: ${JSON.stringify(c.opts)}`, () => {
    const inputs = c.inputs.map((r) => floatTensor(r).requiresGrad_(true));
    const out = c.fn === "gridSample"
      ? F.gridSample(inputs[0], inputs[1], c.opts as zn.nn.functional.GridSampleOptions)
      : F.affineGrid(inputs[0], c.size!, c.opts as zn.nn.functional.AffineGridOptions);
    assertNear(out, c.out, "value", 1e-10);
    out.mul(floatTensor(c.weight)).sum().backward();
    c.grads.forEach((g, i) => assertNear(inputs[i].grad!, g, `gradient of input ${i}`, 1e-10));
  });
}

Deno.test("gridSample and affineGrid name the op and the shapes on bad input", () => {
  const e = assertThrows(
    () => F.gridSample(zn.zeros([1, 1, 2, 2]), zn.zeros([2, 1, 1, 2])),
    RangeError,
    "gridSample",
  );
  assert(e.message.includes("[2, 1, 1, 2]"), e.message);
  assertThrows(() => F.affineGrid(zn.zeros([1, 3, 3]), [1, 1, 2, 2]), RangeError, "Nx2x3");
  assertThrows(
    () =>
      F.gridSample(zn.zeros([1, 1, 2, 2]), zn.zeros([1, 1, 1, 2]), {
        mode: "trilinear" as "nearest",
      }),
    RangeError,
    "'trilinear'",
  );
});
