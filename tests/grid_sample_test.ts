/**
 * F.gridSample and F.affineGrid against PyTorch (tests/fixtures/
 * grid_sample.json): values and the gradients of a weighted sum, with
 * respect to the image, the grid and the affine matrices.
 */
import * as zn from "../mod.ts";
import { assert } from "./assert_helpers.ts";

interface Rec {
  shape: number[];
  data: number[];
}
interface GridCase {
  fn: "gridSample" | "affineGrid";
  opts: Record<string, unknown>;
  size?: number[];
  inputs: Rec[];
  out: Rec;
  weight: Rec;
  grads: Rec[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/grid_sample.json", import.meta.url)),
) as { cases: GridCase[] };

const F = zn.nn.functional;
const make = (r: Rec) => zn.tensor(r.data, { dtype: "float64" }).reshape(r.shape);

function close(got: zn.Tensor, want: Rec, what: string): void {
  assert(got.shape.join() === want.shape.join(), `${what}: shape ${got.shape}, want ${want.shape}`);
  const g = got.reshape([-1]).toArray() as number[];
  const diff = Math.max(0, ...g.map((v, i) => Math.abs(v - want.data[i])));
  assert(diff < 1e-10, `${what}: largest difference ${diff}`);
}

for (const c of fx.cases) {
  Deno.test(`${c.fn} matches PyTorch: ${JSON.stringify(c.opts)}`, () => {
    const inputs = c.inputs.map((r) => make(r).requiresGrad_(true));
    const out = c.fn === "gridSample"
      ? F.gridSample(inputs[0], inputs[1], c.opts as zn.nn.functional.GridSampleOptions)
      : F.affineGrid(inputs[0], c.size!, c.opts as zn.nn.functional.AffineGridOptions);
    close(out, c.out, "value");
    out.mul(make(c.weight)).sum().backward();
    c.grads.forEach((g, i) => close(inputs[i].grad!, g, `gradient of input ${i}`));
  });
}

Deno.test("gridSample and affineGrid name the op and the shapes on bad input", () => {
  let msg = "";
  try {
    F.gridSample(zn.zeros([1, 1, 2, 2]), zn.zeros([2, 1, 1, 2]));
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("gridSample") && msg.includes("[2, 1, 1, 2]"), msg);
  msg = "";
  try {
    F.affineGrid(zn.zeros([1, 3, 3]), [1, 1, 2, 2]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("Nx2x3"), msg);
  msg = "";
  try {
    F.gridSample(zn.zeros([1, 1, 2, 2]), zn.zeros([1, 1, 1, 2]), { mode: "bicubic" as "nearest" });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("'bicubic'"), msg);
});
