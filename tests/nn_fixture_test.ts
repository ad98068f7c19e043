/**
 * zn.nn against PyTorch: every layer and loss forward, and the gradients of
 * inputs and parameters (fixtures from tests/fixtures/make_nn_fixtures.py;
 * PyTorch's weights are copied in with loadStateDict).
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertMatches, decode, type TensorRec } from "./fixture_harness.ts";

const nn = zn.nn;
const F = zn.nn.functional;

interface NNCase {
  name: string;
  kind: "module" | "fn";
  ctor?: string;
  fn?: string;
  // deno-lint-ignore no-explicit-any
  args: any;
  train: boolean;
  state: Record<string, TensorRec>;
  inputs: TensorRec[];
  grad: boolean[];
  gout: TensorRec | null;
  out: TensorRec;
  grads: Record<string, TensorRec>;
  after: Record<string, TensorRec>;
  tol: { rtol: number; atol: number };
}

// deno-lint-ignore no-explicit-any
type Args = any;
const CTORS: Record<string, (a: Args) => zn.nn.Module> = {
  Linear: (a) => new nn.Linear(a.in, a.out, { bias: a.bias }),
  Identity: () => new nn.Identity(),
  Flatten: (a) => new nn.Flatten(a.startDim, a.endDim),
  Unflatten: (a) => new nn.Unflatten(a.dim, a.sizes),
  MLP: () => new nn.Sequential(new nn.Linear(4, 6), new nn.Tanh(), new nn.Linear(6, 2)),
  Conv1d: ({ in: i, out: o, k, ...a }) => new nn.Conv1d(i, o, k, a),
  Conv2d: ({ in: i, out: o, k, ...a }) => new nn.Conv2d(i, o, k, a),
  ConvTranspose2d: ({ in: i, out: o, k, ...a }) => new nn.ConvTranspose2d(i, o, k, a),
  MaxPool1d: ({ k, ...a }) => new nn.MaxPool1d(k, a),
  MaxPool2d: ({ k, ...a }) => new nn.MaxPool2d(k, a),
  AvgPool2d: ({ k, ...a }) => new nn.AvgPool2d(k, a),
  AdaptiveAvgPool2d: (a) => new nn.AdaptiveAvgPool2d(a.size),
  AdaptiveMaxPool2d: (a) => new nn.AdaptiveMaxPool2d(a.size),
  ReLU: () => new nn.ReLU(),
  LeakyReLU: (a) => new nn.LeakyReLU(a.negativeSlope),
  GELU: (a) => new nn.GELU({ approximate: a.approximate }),
  SiLU: () => new nn.SiLU(),
  Tanh: () => new nn.Tanh(),
  Sigmoid: () => new nn.Sigmoid(),
  Softmax: (a) => new nn.Softmax(a.dim),
  LogSoftmax: (a) => new nn.LogSoftmax(a.dim),
  ELU: (a) => new nn.ELU(a.alpha),
  Softplus: (a) => new nn.Softplus({ beta: a.beta, threshold: a.threshold }),
  Hardtanh: (a) => new nn.Hardtanh(a.minVal, a.maxVal),
  ReLU6: () => new nn.ReLU6(),
  Hardsigmoid: () => new nn.Hardsigmoid(),
  Hardswish: () => new nn.Hardswish(),
  Mish: () => new nn.Mish(),
  SELU: () => new nn.SELU(),
  CELU: (a) => new nn.CELU(a.alpha),
  GLU: (a) => new nn.GLU(a.dim),
  Softsign: () => new nn.Softsign(),
  Tanhshrink: () => new nn.Tanhshrink(),
  Threshold: (a) => new nn.Threshold(a.threshold, a.value),
  PReLU: (a) => new nn.PReLU(a.numParameters, a.init),
  LogSigmoid: () => new nn.LogSigmoid(),
  Softmin: (a) => new nn.Softmin(a.dim),
  Softmax2d: () => new nn.Softmax2d(),
  BatchNorm1d: ({ numFeatures, ...a }) => new nn.BatchNorm1d(numFeatures, a),
  BatchNorm2d: ({ numFeatures, ...a }) => new nn.BatchNorm2d(numFeatures, a),
  LayerNorm: ({ normalizedShape, ...a }) => new nn.LayerNorm(normalizedShape, a),
  GroupNorm: ({ numGroups, numChannels, ...a }) => new nn.GroupNorm(numGroups, numChannels, a),
  Embedding: (a) => new nn.Embedding(a.num, a.dim, { paddingIdx: a.paddingIdx }),
  MSELoss: (a) => new nn.MSELoss(a),
  L1Loss: (a) => new nn.L1Loss(a),
  SmoothL1Loss: (a) => new nn.SmoothL1Loss(a),
  HuberLoss: (a) => new nn.HuberLoss(a),
  CrossEntropyLoss: (a) => new nn.CrossEntropyLoss(a),
  NLLLoss: (a) => new nn.NLLLoss(a),
  BCELoss: (a) => new nn.BCELoss(a),
  BCEWithLogitsLoss: (a) => new nn.BCEWithLogitsLoss(a),
  KLDivLoss: (a) => new nn.KLDivLoss(a),
  InstanceNorm1d: ({ numFeatures, ...a }) => new nn.InstanceNorm1d(numFeatures, a),
  InstanceNorm2d: ({ numFeatures, ...a }) => new nn.InstanceNorm2d(numFeatures, a),
  LocalResponseNorm: ({ size, ...a }) => new nn.LocalResponseNorm(size, a),
  Upsample: (a) => new nn.Upsample(a),
  Unfold: ({ k, ...a }) => new nn.Unfold(k, a),
  Fold: ({ out, k, ...a }) => new nn.Fold(out, k, a),
  PixelShuffle: (a) => new nn.PixelShuffle(a.r),
  PixelUnshuffle: (a) => new nn.PixelUnshuffle(a.r),
  CosineSimilarity: (a) => new nn.CosineSimilarity(a),
  PairwiseDistance: (a) => new nn.PairwiseDistance(a),
  Bilinear: (a) => new nn.Bilinear(a.in1, a.in2, a.out, { bias: a.bias }),
  MarginRankingLoss: (a) => new nn.MarginRankingLoss(a),
  HingeEmbeddingLoss: (a) => new nn.HingeEmbeddingLoss(a),
  CosineEmbeddingLoss: (a) => new nn.CosineEmbeddingLoss(a),
  TripletMarginLoss: (a) => new nn.TripletMarginLoss(a),
  PoissonNLLLoss: (a) => new nn.PoissonNLLLoss(a),
  GaussianNLLLoss: (a) => new nn.GaussianNLLLoss(a),
  MultiLabelSoftMarginLoss: (a) => new nn.MultiLabelSoftMarginLoss(a),
};

const FNS: Record<string, (x: Tensor[], a: Args) => Tensor> = {
  pad: (x, a) => F.pad(x[0], a.pad, { mode: a.mode, value: a.value }),
  glu: (x) => F.glu(x[0]),
  prelu: (x) => F.prelu(x[0], x[1]),
  celu: (x) => F.celu(x[0]),
  linear: (x) => F.linear(x[0], x[1], x[2]),
  layerNorm: (x, a) => F.layerNorm(x[0], a.normalizedShape, x[1], x[2]),
  groupNorm: (x, a) => F.groupNorm(x[0], a.numGroups, x[1], x[2]),
  batchNorm: (x, a) => F.batchNorm(x[0], null, null, x[1], x[2], { training: a.training }),
  embedding: (x, a) => F.embedding(x[0], x[1], { paddingIdx: a.paddingIdx }),
  crossEntropy: (x, a) => F.crossEntropy(x[0], x[1], a),
};

function runCase(c: NNCase): void {
  const args = decode(c.args);
  const inputs = c.inputs.map((r, i) => {
    const t = decode(r) as Tensor;
    return c.grad[i] ? t.requiresGrad_() : t;
  });
  let out: Tensor;
  let module: zn.nn.Module | null = null;
  if (c.kind === "module") {
    const make = CTORS[c.ctor!];
    if (!make) throw new Error(`no constructor for ${c.ctor}`);
    module = make(args);
    const state = decode(c.state) as Record<string, Tensor>;
    module.loadStateDict(state);
    module.train(c.train);
    out = module.call(...inputs);
  } else {
    out = FNS[c.fn!](inputs, args);
  }
  assertMatches(out, c.out, `${c.name}: output`, c.tol);
  const loss = c.gout ? out.mul(decode(c.gout)).sum() : out;
  loss.backward();
  for (const [k, rec] of Object.entries(c.grads)) {
    let g: Tensor | null;
    if (k.startsWith("input")) g = inputs[Number(k.slice(5))].grad;
    else g = module!.getParameter(k).grad;
    if (!g) throw new Error(`${c.name}: no gradient for ${k}`);
    assertMatches(g, rec, `${c.name}: grad of ${k}`, c.tol);
  }
  if (module) {
    const sd = module.stateDict();
    for (const [k, rec] of Object.entries(c.after)) {
      if (!sd[k]) throw new Error(`${c.name}: no state ${k}`);
      assertMatches(sd[k], rec, `${c.name}: ${k} after forward`, c.tol);
    }
    const keys = Object.keys(sd).sort();
    const expected = Object.keys(c.state).sort();
    if (keys.join() !== expected.join()) {
      throw new Error(`${c.name}: state dict keys ${keys} differ from PyTorch's ${expected}`);
    }
  }
}

const cases = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/nn.json", import.meta.url)),
).cases as NNCase[];
for (const c of cases) {
  Deno.test(`nn fixtures: ${c.name} matches PyTorch`, () => runCase(c));
}
