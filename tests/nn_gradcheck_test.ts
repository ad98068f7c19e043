/** Finite-difference gradient checks (float64) of the functional losses and normalizations. */
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";

const F = zn.nn.functional;
const gradcheck = zn.autograd.gradcheck;

function r(shape: number[], lo = -1, hi = 1, grad = true): Tensor {
  const t = zn.uniform(lo, hi, shape, { dtype: "float64" });
  return grad ? t.requiresGrad_() : t;
}
const probs = (shape: number[]) => zn.softmax(r(shape, -1, 1, false), 1);
const cases: [string, () => boolean][] = [];
const check = (name: string, fn: () => boolean) => cases.push([name, fn]);

zn.manualSeed(5);
const x = r([3, 4]), t = r([3, 4], -1, 1, false);
check("mseLoss", () => gradcheck((a, b) => F.mseLoss(a, b), [x, r([3, 4])]));
check("l1Loss", () => gradcheck((a) => F.l1Loss(a, t, { reduction: "sum" }), [x]));
check(
  "smoothL1Loss",
  () => gradcheck((a) => F.smoothL1Loss(a, t, { beta: 0.7, reduction: "none" }), [x]),
);
check("huberLoss", () => gradcheck((a) => F.huberLoss(a, t, { delta: 0.4 }), [x]));
const cls = zn.tensor([0n, 3n, -100n]);
const w = r([4], 0.5, 1.5, false);
check("crossEntropy indices weight ignore smoothing", () =>
  gradcheck(
    (a) => F.crossEntropy(a, cls, { weight: w, labelSmoothing: 0.1 }),
    [x],
  ));
const p34 = probs([3, 4]);
check(
  "crossEntropy probabilities",
  () => gradcheck((a) => F.crossEntropy(a, p34, { labelSmoothing: 0.2 }), [x]),
);
check("crossEntropy [N, C, d]", () =>
  gradcheck(
    (a) => F.crossEntropy(a, zn.tensor([[0n, 2n], [1n, 1n]]), { reduction: "none" }),
    [r([2, 3, 2])],
  ));
check("nllLoss", () => gradcheck((a) => F.nllLoss(a, cls, { weight: w }), [x]));
check("binaryCrossEntropy", () =>
  gradcheck(
    (a, b) => F.binaryCrossEntropy(a, b, { weight: w }),
    [r([3, 4], 0.1, 0.9), r([3, 4], 0, 1)],
  ));
check("binaryCrossEntropyWithLogits", () =>
  gradcheck(
    (a, b) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: w }),
    [r([3, 4], -3, 3), r([3, 4], 0, 1)],
  ));
check("klDiv", () =>
  gradcheck(
    (a) => F.klDiv(a, p34, { reduction: "batchmean" }),
    [r([3, 4])],
  ));
check(
  "klDiv logTarget",
  () => gradcheck((a, b) => F.klDiv(a, b, { logTarget: true, reduction: "sum" }), [x, r([3, 4])]),
);
check("batchNorm training", () =>
  gradcheck(
    (a, g, b) => F.batchNorm(a, null, null, g, b, { training: true }),
    [r([4, 3]), r([3]), r([3])],
  ));
const rm = r([2], 0, 1, false), rv = r([2], 0.5, 1.5, false);
check("batchNorm 4-D eval", () =>
  gradcheck(
    (a, g) => F.batchNorm(a, rm, rv, g, null),
    [r([2, 2, 2, 2]), r([2])],
  ));
check(
  "layerNorm",
  () => gradcheck((a, g, b) => F.layerNorm(a, [2, 3], g, b), [r([2, 2, 3]), r([2, 3]), r([2, 3])]),
);
check(
  "groupNorm",
  () => gradcheck((a, g, b) => F.groupNorm(a, 2, g, b), [r([2, 4, 3]), r([4]), r([4])]),
);
check("pad reflect", () => gradcheck((a) => F.pad(a, [2, 1], { mode: "reflect" }), [r([2, 4])]));
check(
  "embedding",
  () => gradcheck((wt) => F.embedding(zn.tensor([[0n, 2n], [2n, 1n]]), wt), [r([3, 2])]),
);

for (const [name, fn] of cases) {
  Deno.test(`nn gradcheck: ${name}`, () => assert.equal(fn(), true));
}

Deno.test("nn gradcheck: embedding paddingIdx row gets zero gradient", () => {
  const wt = r([3, 2]);
  F.embedding(zn.tensor([1n, 1n, 0n]), wt, { paddingIdx: 1 }).sum().backward();
  assert.deepEqual(wt.grad!.toArray(), [[1, 1], [0, 0], [0, 0]]);
});
