/**
 * The dropout family: element and channel masks, their scaling, the alpha
 * variants' affine maps against PyTorch's (tests/fixtures/dropout.json), and
 * refusal of integer inputs.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";

const F = zn.nn.functional;
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/dropout.json", import.meta.url)),
) as {
  cases: {
    fn: "alphaDropout" | "featureAlphaDropout";
    p: number;
    scale: number;
    shift: number;
    dropped: number;
  }[];
};

function values(t: zn.Tensor): number[] {
  return Array.from(t.toTypedArray() as Float64Array);
}

/** Fraction of mask groups (rows of `groupSize` elements) that were dropped. */
function droppedFraction(y: number[], groupSize: number, isDropped: (v: number) => boolean) {
  let dropped = 0;
  for (let g = 0; g < y.length / groupSize; g++) {
    const row = y.slice(g * groupSize, (g + 1) * groupSize);
    const first = isDropped(row[0]);
    assert(row.every((v) => isDropped(v) === first), `group ${g} is partly dropped: ${row}`);
    if (first) dropped++;
  }
  return dropped / (y.length / groupSize);
}

Deno.test("dropout1d/2d/3d drop whole channels and scale the rest by 1 / (1 - p)", () => {
  zn.manualSeed(1);
  const cases: [(x: zn.Tensor, p: number) => zn.Tensor, number[], number][] = [
    [(x, p) => F.dropout1d(x, p), [40, 50, 6], 6],
    [(x, p) => F.dropout1d(x, p), [400, 6], 6],
    [(x, p) => F.dropout2d(x, p), [40, 50, 3, 2], 6],
    // PyTorch takes a 3-D input to dropout2d as [N, C, L].
    [(x, p) => F.dropout2d(x, p), [40, 50, 6], 6],
    [(x, p) => F.dropout3d(x, p), [40, 50, 1, 2, 3], 6],
    [(x, p) => F.dropout3d(x, p), [400, 1, 2, 3], 6],
  ];
  for (const [fn, shape, group] of cases) {
    const y = values(fn(zn.ones(shape, { dtype: "float64" }), 0.25));
    assert(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-15), `values ${new Set(y)}`);
    const frac = droppedFraction(y, group, (v) => v === 0);
    assert(Math.abs(frac - 0.25) < 0.05, `dropped ${frac} of the channels of [${shape}], p 0.25`);
  }
});

for (const c of fx.cases) {
  Deno.test(`${c.fn} maps kept and dropped elements as PyTorch, p = ${c.p}`, () => {
    zn.manualSeed(2);
    const x = zn.randn([200, 30, 4], { dtype: "float64" });
    const y = values(F[c.fn](x, c.p));
    const xs = values(x);
    let worst = 0;
    const isDropped = (v: number) => Math.abs(v - c.dropped) < 1e-12;
    y.forEach((v, i) => {
      const d = isDropped(v) ? 0 : Math.abs(v - (c.scale * xs[i] + c.shift));
      worst = Math.max(worst, d);
    });
    assert(worst < 1e-12, `largest difference from PyTorch's kept-element map ${worst}`);
    const frac = droppedFraction(y, c.fn === "alphaDropout" ? 1 : 4, isDropped);
    assert(Math.abs(frac - c.p) < 0.05, `dropped ${frac}, p ${c.p}`);
  });
}

Deno.test("alphaDropout keeps a standard normal input's mean and variance", () => {
  zn.manualSeed(4);
  const x = zn.randn([200000], { dtype: "float64" });
  const y = F.alphaDropout(x, 0.3);
  const mean = y.mean().item() as number, v = y.var().item() as number;
  assert(Math.abs(mean) < 0.01 && Math.abs(v - 1) < 0.02, `mean ${mean}, variance ${v}`);
});

Deno.test("dropout modules follow training mode, and p 0 and 1 are exact", () => {
  const x = zn.randn([2, 3, 4, 4]);
  for (
    const m of [
      new zn.nn.Dropout(0.5),
      new zn.nn.Dropout2d(0.5),
      new zn.nn.AlphaDropout(0.5),
      new zn.nn.FeatureAlphaDropout(0.5),
    ]
  ) {
    m.eval();
    assert(m.call(x) === x, `${m.constructor.name} in eval mode is the identity`);
  }
  assert(new zn.nn.Dropout3d(0.5).call(zn.ones([1, 2, 2, 2, 2])).shape.join() === "1,2,2,2,2");
  assert(new zn.nn.Dropout1d(0.5).call(zn.ones([2, 3, 4])).shape.join() === "2,3,4");
  assert(F.dropout2d(x, 0) === x, "p 0 is the identity");
  assert(F.alphaDropout(x, 1).abs().sum().item() === 0, "p 1 zeroes everything");
});

Deno.test("dropout refuses integer inputs and channel dropout wrong ranks, naming the op", () => {
  const e = assertThrows(
    () => F.dropout(zn.tensor([1n, 2n]), 0.5),
    TypeError,
    "dropout: expected a floating point input, got int64",
  );
  assert(e.message.includes('.to("float32")'), e.message);
  assertThrows(() => F.alphaDropout(zn.tensor([true]), 0.5), TypeError, "alphaDropout");
  assertThrows(() => F.dropout2d(zn.ones([2, 3]), 0.5), RangeError, "dropout2d: Expected 3D or 4D");
  assertThrows(() => F.dropout1d(zn.ones([2, 3, 4, 5])), RangeError, "[2, 3, 4, 5]");
  assertThrows(() => F.featureAlphaDropout(zn.ones([3])), RangeError, "featureAlphaDropout");
  assertThrows(() => new zn.nn.Dropout2d(2), RangeError, "Dropout2d: probability");
});
