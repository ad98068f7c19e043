/**
 * Options objects reject unknown keys everywhere in the public API: a
 * misspelt or snake_case option (`weight_decay`, `label_smoothing`,
 * `numWorkers`) is a TypeError that names the op and the key, lists the
 * valid keys and, where the camelCase form is valid, says so; a non-object
 * where an options object goes is a TypeError too. Valid options still work.
 */
import { deepEqual, ok, rejects, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";

const F = zn.nn.functional;
const S = zn.optim.lrScheduler;

/** Asserts that `fn` throws a TypeError whose message contains every part. */
function bad(fn: () => unknown, ...parts: string[]): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof TypeError, `expected TypeError, got ${(e as Error)?.constructor?.name}: ${e}`);
    for (const p of parts) {
      ok(
        (e as Error).message.includes(p),
        `message ${JSON.stringify((e as Error).message)} lacks ${JSON.stringify(p)}`,
      );
    }
    return true;
  });
}

/** The key-error parts: the op, the key, and the hint when given. */
function unknown(op: string, key: string, hint?: string): string[] {
  const parts = [`${op}: unknown option "${key}"`, "valid options: "];
  if (hint) parts.push(`(did you mean "${hint}"?)`);
  return parts;
}

/** Bypasses the compiler's excess-property check, as a JavaScript caller would. */
// deno-lint-ignore no-explicit-any
const js = (o: unknown): any => o;

const leaf = () => zn.zeros([2], { requiresGrad: true });
const classes = (a: number[]) => zn.tensor(a, { dtype: "int64" });

Deno.test("options: the message names the op and the key, hints camelCase, lists valid keys", () => {
  throws(
    () => new zn.optim.SGD([leaf()], js({ weight_decay: 1e-4 })),
    {
      name: "TypeError",
      message:
        'SGD: unknown option "weight_decay" (did you mean "weightDecay"?); valid options: lr, momentum, dampening, weightDecay, nesterov, maximize, masterWeights',
    },
  );
  throws(
    () => new zn.data.DataLoader(new zn.data.TensorDataset(zn.zeros([3])), js({ numWorkers: 4 })),
    {
      name: "TypeError",
      message:
        'DataLoader: unknown option "numWorkers"; valid options: batchSize, shuffle, generator, dropLast, sampler, collate, prefetch',
    },
  );
  // Same letters in another case: "keepDim" for "keepdim".
  bad(() => zn.ones([3]).var(0, js({ keepDim: true })), ...unknown("var", "keepDim", "keepdim"));
  // A key whose value is undefined is still a typo.
  bad(() => zn.zeros([2], js({ dtpye: undefined })), ...unknown("zeros", "dtpye"));
});

Deno.test("options: a non-object where an options object goes is a TypeError naming the op", () => {
  bad(() => zn.tensor([1, 2], js(3)), "tensor: expected an options object, got number 3");
  bad(() => zn.ones([2]).to(js([])), "to: expected an options object, got an array");
  bad(() => F.crossEntropy(zn.randn([2, 3]), classes([0, 1]), js("mean")), "crossEntropy:");
  bad(() => new zn.nn.Linear(2, 3, js(null)), "Linear: expected an options object, got null");
  bad(() => new zn.optim.Adam([leaf()], js(0.01)), "Adam: expected an options object");
});

Deno.test("options: creation functions", () => {
  bad(
    () => zn.tensor([1], js({ requires_grad: true })),
    ...unknown("tensor", "requires_grad", "requiresGrad"),
  );
  bad(() => zn.zeros(2, 3, js({ device_: "cpu" })), ...unknown("zeros", "device_", "device"));
  bad(() => zn.ones([2], js({ generator: new zn.Generator(0) })), ...unknown("ones", "generator"));
  bad(() => zn.empty([2], js({ shape: [2] })), ...unknown("empty", "shape"));
  bad(() => zn.full([2], 1, js({ fill: 2 })), ...unknown("full", "fill"));
  bad(
    () => zn.zerosLike(zn.ones([2]), js({ memory_format: 1 })),
    ...unknown("zerosLike", "memory_format"),
  );
  bad(
    () => zn.onesLike(zn.ones([2]), js({ requires_grad: true })),
    ...unknown("onesLike", "requires_grad", "requiresGrad"),
  );
  bad(() => zn.emptyLike(zn.ones([2]), js({ x: 1 })), ...unknown("emptyLike", "x"));
  bad(() => zn.fullLike(zn.ones([2]), 1, js({ x: 1 })), ...unknown("fullLike", "x"));
  bad(() => zn.arange(5, js({ d_type: "int32" })), ...unknown("arange", "d_type", "dtype"));
  bad(() => zn.arange(0, 5, 1, js({ x: 1 })), ...unknown("arange", "x"));
  bad(() => zn.linspace(0, 1, 3, js({ x: 1 })), ...unknown("linspace", "x"));
  bad(() => zn.eye(2, js({ x: 1 })), ...unknown("eye", "x"));
  bad(() => zn.eye(2, 3, js({ x: 1 })), ...unknown("eye", "x"));
  bad(() => zn.rand([2], js({ seed: 1 })), ...unknown("rand", "seed"));
  bad(() => zn.randn(2, js({ seed: 1 })), ...unknown("randn", "seed"));
  bad(() => zn.randint(0, 5, [2], js({ seed: 1 })), ...unknown("randint", "seed"));
  bad(() => zn.randperm(4, js({ seed: 1 })), ...unknown("randperm", "seed"));
  bad(() => zn.normal(0, 1, [2], js({ seed: 1 })), ...unknown("normal", "seed"));
  bad(() => zn.uniform(0, 1, [2], js({ seed: 1 })), ...unknown("uniform", "seed"));
  bad(() => zn.bernoulli(0.5, [2], js({ seed: 1 })), ...unknown("bernoulli", "seed"));
  bad(
    () => zn.bernoulli(zn.full([2], 0.5), undefined, js({ seed: 1 })),
    ...unknown("bernoulli", "seed"),
  );
  bad(() => zn.randLike(zn.ones([2]), js({ seed: 1 })), ...unknown("randLike", "seed"));
  bad(() => zn.randnLike(zn.ones([2]), js({ seed: 1 })), ...unknown("randnLike", "seed"));
  // Valid options still work, the generator included.
  const t = zn.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2], dtype: "float64" });
  deepEqual([t.shape, t.dtype], [[2, 2], "float64"]);
  ok(zn.zeros(2, 3, { requiresGrad: true }).requiresGrad);
  deepEqual(zn.arange(0, 4, 2, { dtype: "int32" }).toArray(), [0, 2]);
  deepEqual(
    zn.rand([3], { generator: new zn.Generator(7) }).toArray(),
    zn.rand([3], { generator: new zn.Generator(7) }).toArray(),
  );
  deepEqual(zn.randnLike(zn.ones([2]), { generator: new zn.Generator(1) }).shape, [2]);
  deepEqual(zn.zeros([2], { dtype: undefined }).dtype, "float32");
});

Deno.test("options: Tensor methods and elementwise ops", () => {
  const x = zn.tensor([1.5, -2.5, NaN]);
  bad(() => x.to(js({ device: "cpu", non_blocking: true })), ...unknown("to", "non_blocking"));
  bad(() => x.add(1, js({ scale: 2 })), ...unknown("add", "scale"));
  bad(() => x.sub(1, js({ Alpha: 2 })), ...unknown("sub", "Alpha", "alpha"));
  bad(() => x.add_(1, js({ scale: 2 })), ...unknown("add", "scale"));
  bad(
    () => x.div(2, js({ rounding_mode: "floor" })),
    ...unknown("div", "rounding_mode", "roundingMode"),
  );
  bad(() => x.nanToNum(js({ pos_inf: 1 })), ...unknown("nanToNum", "pos_inf", "posinf"));
  bad(() => x.var(0, js({ unbiased: false })), ...unknown("var", "unbiased"));
  bad(() => x.std(0, js({ ddof: 0 })), ...unknown("std", "ddof"));
  bad(() => zn.gelu(x, js({ approx: "tanh" })), ...unknown("gelu", "approx"));
  bad(() => zn.softplus(x, js({ Beta: 2 })), ...unknown("softplus", "Beta", "beta"));
  // Positional flags refuse an options object (it would count as true).
  const m = zn.tensor([[1, 2], [3, 4]]);
  bad(() => m.max(1, js({ keepdim: false })), "max: keepdim must be a boolean, got object");
  bad(() => m.sum(1, js({ keepdim: true })), "sum: keepdim must be a boolean");
  bad(() => m.argmax(1, js({ keepdim: true })), "argmax: keepdim must be a boolean");
  bad(() => m.sort(1, js({ descending: true })), "sort: descending must be a boolean");
  bad(() => m.sum(js({ dim: 1, keepdim: true })), "sum: dim must be a number or an array");
  bad(() => m.topk(1, 1, js({ largest: true })), "topk: largest must be a boolean");
  // Valid ones work.
  deepEqual(x.to({ dtype: "float64" }).dtype, "float64");
  deepEqual(zn.tensor([1, 2]).add(1, { alpha: 3 }).toArray(), [4, 5]);
  deepEqual(zn.tensor([-7]).div(2, { roundingMode: "floor" }).toArray(), [-4]);
  deepEqual(zn.tensor([1.5, 3.5]).var(0, { correction: 0, keepdim: true }).toArray(), [1]);
  deepEqual(m.sum(1, true).shape, [2, 1]);
});

Deno.test("options: autograd", () => {
  const w = zn.tensor([2.0], { requiresGrad: true });
  bad(
    () => w.mul(w).sum().backward(null, js({ retain_graph: true })),
    ...unknown("backward", "retain_graph", "retainGraph"),
  );
  bad(
    () => w.mul(w).sum().backward(js({ retainGraph: true })),
    "backward: gradient must be a Tensor",
  );
  bad(
    () => zn.grad(w.mul(w).sum(), w, js({ create_graph: true })),
    ...unknown("grad", "create_graph", "createGraph"),
  );
  bad(
    () =>
      zn.autograd.gradcheck(
        (t) => t.sin(),
        [zn.randn([2], { dtype: "float64", requiresGrad: true })],
        js({ eps: 1e-6, tol: 1 }),
      ),
    ...unknown("gradcheck", "tol"),
  );
  const [g] = zn.grad(w.mul(w).sum(), w, { retainGraph: false, allowUnused: true });
  deepEqual(g!.toArray(), [4]);
  ok(
    zn.autograd.gradcheck(
      (t) => t.sin(),
      [zn.randn([2], { dtype: "float64", requiresGrad: true })],
      { atol: 1e-5 },
    ),
  );
});

Deno.test("options: nn modules and Module methods", () => {
  const nn = zn.nn;
  bad(
    () => new nn.Linear(2, 3, js({ bias: false, device: "cpu" })),
    ...unknown("Linear", "device"),
  );
  bad(
    () => new nn.Conv1d(2, 3, 3, js({ padding_mode: "zeros" })),
    ...unknown("Conv1d", "padding_mode"),
  );
  bad(() => new nn.Conv2d(2, 3, 3, js({ kernel_size: 3 })), ...unknown("Conv2d", "kernel_size"));
  bad(
    () => new nn.ConvTranspose2d(2, 3, 3, js({ output_padding: 1 })),
    ...unknown("ConvTranspose2d", "output_padding", "outputPadding"),
  );
  bad(
    () => new nn.MaxPool1d(2, js({ ceil_mode: true })),
    ...unknown("MaxPool1d", "ceil_mode", "ceilMode"),
  );
  bad(
    () => new nn.MaxPool2d(2, js({ returnIndices: true })),
    ...unknown("MaxPool2d", "returnIndices"),
  );
  bad(
    () => new nn.AvgPool2d(2, js({ count_include_pad: false })),
    ...unknown("AvgPool2d", "count_include_pad", "countIncludePad"),
  );
  bad(
    () => new nn.BatchNorm1d(3, js({ track_running_stats: false })),
    ...unknown("BatchNorm1d", "track_running_stats", "trackRunningStats"),
  );
  bad(() => new nn.BatchNorm2d(3, js({ Eps: 1e-3 })), ...unknown("BatchNorm2d", "Eps", "eps"));
  bad(
    () => new nn.LayerNorm(3, js({ elementwise_affine: false })),
    ...unknown("LayerNorm", "elementwise_affine", "elementwiseAffine"),
  );
  bad(
    () => new nn.GroupNorm(1, 3, js({ elementwiseAffine: false })),
    ...unknown("GroupNorm", "elementwiseAffine"),
  );
  bad(
    () => new nn.Embedding(5, 2, js({ padding_idx: 0 })),
    ...unknown("Embedding", "padding_idx", "paddingIdx"),
  );
  bad(() => new nn.GELU(js({ approximation: "tanh" })), ...unknown("GELU", "approximation"));
  bad(() => new nn.Softplus(js({ threshhold: 5 })), ...unknown("Softplus", "threshhold"));
  bad(() => new nn.MSELoss(js({ size_average: true })), ...unknown("MSELoss", "size_average"));
  bad(() => new nn.L1Loss(js({ reduce: "sum" })), ...unknown("L1Loss", "reduce"));
  bad(() => new nn.SmoothL1Loss(js({ delta: 1 })), ...unknown("SmoothL1Loss", "delta"));
  bad(() => new nn.HuberLoss(js({ beta: 1 })), ...unknown("HuberLoss", "beta"));
  bad(
    () => new nn.CrossEntropyLoss(js({ label_smoothing: 0.1 })),
    ...unknown("CrossEntropyLoss", "label_smoothing", "labelSmoothing"),
  );
  bad(
    () => new nn.NLLLoss(js({ ignore_index: 0 })),
    ...unknown("NLLLoss", "ignore_index", "ignoreIndex"),
  );
  bad(() => new nn.NLLLoss(js({ labelSmoothing: 0.1 })), ...unknown("NLLLoss", "labelSmoothing"));
  bad(() => new nn.BCELoss(js({ posWeight: zn.ones([1]) })), ...unknown("BCELoss", "posWeight"));
  bad(
    () => new nn.BCEWithLogitsLoss(js({ pos_weight: zn.ones([1]) })),
    ...unknown("BCEWithLogitsLoss", "pos_weight", "posWeight"),
  );
  bad(
    () => new nn.KLDivLoss(js({ log_target: true })),
    ...unknown("KLDivLoss", "log_target", "logTarget"),
  );
  const fc = new nn.Linear(2, 1, { bias: true });
  bad(
    () => fc.zeroGrad(js({ set_to_none: false })),
    ...unknown("zeroGrad", "set_to_none", "setToNone"),
  );
  bad(
    () => fc.loadStateDict(fc.stateDict(), js({ Strict: false })),
    ...unknown("loadStateDict", "Strict", "strict"),
  );
  bad(
    () => fc.registerBuffer("b", null, js({ persist: false })),
    ...unknown("registerBuffer", "persist"),
  );
  bad(() => fc.to(js({ device: "cpu", layout: "strided" })), ...unknown("Module.to", "layout"));
  // Valid ones work.
  deepEqual(
    new nn.Conv2d(2, 4, 3, { padding: 1, bias: false }).call(zn.randn([1, 2, 5, 5])).shape,
    [1, 4, 5, 5],
  );
  deepEqual(new nn.MaxPool2d(2, { stride: 1 }).call(zn.randn([1, 1, 3, 3])).shape, [1, 1, 2, 2]);
  deepEqual(fc.loadStateDict(fc.stateDict(), { strict: true }).missingKeys, []);
  fc.to({ device: "cpu" });
});

Deno.test("options: nn.functional, nn.init and clipGradNorm_", () => {
  const x = zn.randn([2, 3]), t = classes([0, 2]);
  bad(
    () => F.crossEntropy(x, t, js({ label_smoothing: 0.1 })),
    ...unknown("crossEntropy", "label_smoothing", "labelSmoothing"),
  );
  bad(
    () => F.crossEntropy(x, t, js({ ignoreIndex: 1, ignore_index: 1 })),
    ...unknown("crossEntropy", "ignore_index", "ignoreIndex"),
  );
  bad(
    () => F.nllLoss(x.logSoftmax(1), t, js({ labelSmoothing: 0.1 })),
    ...unknown("nllLoss", "labelSmoothing"),
  );
  bad(() => F.mseLoss(x, x, js({ reduce: "sum" })), ...unknown("mseLoss", "reduce"));
  bad(() => F.l1Loss(x, x, js({ reduce: "sum" })), ...unknown("l1Loss", "reduce"));
  bad(() => F.smoothL1Loss(x, x, js({ Beta: 1 })), ...unknown("smoothL1Loss", "Beta", "beta"));
  bad(() => F.huberLoss(x, x, js({ Delta: 1 })), ...unknown("huberLoss", "Delta", "delta"));
  const p = zn.full([2], 0.5);
  bad(
    () => F.binaryCrossEntropy(p, p, js({ pos_weight: p })),
    ...unknown("binaryCrossEntropy", "pos_weight"),
  );
  bad(
    () => F.binaryCrossEntropyWithLogits(p, p, js({ pos_weight: p })),
    ...unknown("binaryCrossEntropyWithLogits", "pos_weight", "posWeight"),
  );
  bad(
    () => F.klDiv(p.log(), p, js({ log_target: false })),
    ...unknown("klDiv", "log_target", "logTarget"),
  );
  const img = zn.randn([1, 2, 4, 4]);
  bad(
    () => F.conv1d(zn.randn([1, 2, 5]), zn.randn([3, 2, 3]), null, js({ pad: 1 })),
    ...unknown("conv1d", "pad"),
  );
  bad(
    () => F.conv2d(img, zn.randn([3, 2, 3, 3]), null, js({ Padding: 1 })),
    ...unknown("conv2d", "Padding", "padding"),
  );
  bad(
    () => F.convTranspose2d(img, zn.randn([2, 3, 3, 3]), null, js({ output_padding: 1 })),
    ...unknown("convTranspose2d", "output_padding", "outputPadding"),
  );
  bad(
    () => F.maxPool1d(zn.randn([1, 2, 6]), 2, js({ return_indices: true })),
    ...unknown("maxPool1d", "return_indices", "returnIndices"),
  );
  bad(() => F.maxPool2d(img, 2, js({ kernelSize: 2 })), ...unknown("maxPool2d", "kernelSize"));
  bad(
    () => F.avgPool2d(img, 2, js({ divisor_override: 2 })),
    ...unknown("avgPool2d", "divisor_override", "divisorOverride"),
  );
  bad(
    () => F.batchNorm(x, null, null, null, null, js({ train: true })),
    ...unknown("batchNorm", "train"),
  );
  bad(
    () => F.layerNorm(x, [3], null, null, js({ epsilon: 1e-5 })),
    ...unknown("layerNorm", "epsilon"),
  );
  bad(
    () => F.groupNorm(zn.randn([2, 4, 3]), 2, null, null, js({ epsilon: 1e-5 })),
    ...unknown("groupNorm", "epsilon"),
  );
  bad(() => F.dropout(x, 0.5, js({ inplace: true })), ...unknown("dropout", "inplace"));
  bad(
    () => F.embedding(t, x, js({ padding_idx: 0 })),
    ...unknown("embedding", "padding_idx", "paddingIdx"),
  );
  bad(() => F.pad(x, [1, 1], js({ fill: 1 })), ...unknown("pad", "fill"));
  bad(
    () => F.gelu(x, js({ approximate_: "tanh" })),
    ...unknown("gelu", "approximate_", "approximate"),
  );
  const w = zn.empty([3, 4]);
  bad(() => zn.nn.init.uniform_(w, 0, 1, js({ seed: 1 })), ...unknown("uniform_", "seed"));
  bad(() => zn.nn.init.normal_(w, 0, 1, js({ seed: 1 })), ...unknown("normal_", "seed"));
  bad(
    () => zn.nn.init.xavierUniform_(w, 1, js({ mode: "fanIn" })),
    ...unknown("xavierUniform_", "mode"),
  );
  bad(() => zn.nn.init.xavierNormal_(w, 1, js({ gain: 2 })), ...unknown("xavierNormal_", "gain"));
  bad(
    () => zn.nn.init.kaimingUniform_(w, js({ non_linearity: "relu" })),
    ...unknown("kaimingUniform_", "non_linearity", "nonlinearity"),
  );
  bad(
    () => zn.nn.init.kaimingNormal_(w, js({ Mode: "fanOut" })),
    ...unknown("kaimingNormal_", "Mode", "mode"),
  );
  bad(() => zn.nn.init.orthogonal_(w, 1, js({ seed: 1 })), ...unknown("orthogonal_", "seed"));
  const leafW = leaf();
  leafW.sum().backward();
  bad(
    () => zn.nn.utils.clipGradNorm_([leafW], 1, js({ norm_type: 2 })),
    ...unknown("clipGradNorm_", "norm_type", "normType"),
  );
  // Valid ones work (kaiming's own options are not passed on to uniform_).
  zn.nn.init.kaimingUniform_(w, { a: 1, mode: "fanOut", nonlinearity: "leaky_relu" });
  zn.nn.init.kaimingNormal_(w, { generator: new zn.Generator(3), mode: "fanIn" });
  zn.nn.utils.clipGradNorm_([leafW], 1, { normType: 2, errorIfNonfinite: true });
  deepEqual(F.pad(zn.tensor([1, 2]), [1, 0], { value: 9 }).toArray(), [9, 1, 2]);
});

Deno.test("options: optimizers, their parameter groups and every scheduler", () => {
  bad(
    () => new zn.optim.SGD([leaf()], js({ lr: 0.1, nestrov: true })),
    ...unknown("SGD", "nestrov"),
  );
  bad(
    () => new zn.optim.Adam([leaf()], js({ weight_decay: 0.1 })),
    ...unknown("Adam", "weight_decay", "weightDecay"),
  );
  bad(() => new zn.optim.AdamW([leaf()], js({ beta1: 0.9 })), ...unknown("AdamW", "beta1"));
  bad(
    () => new zn.optim.RMSprop([leaf()], js({ centred: true })),
    ...unknown("RMSprop", "centred"),
  );
  bad(
    () => new zn.optim.Adagrad([leaf()], js({ lr_decay: 0.1 })),
    ...unknown("Adagrad", "lr_decay", "lrDecay"),
  );
  // Parameter groups: params plus the optimizer's hyperparameters.
  bad(
    () => new zn.optim.SGD([{ params: [leaf()], weight_decay: 0.1 } as never]),
    ...unknown("SGD parameter group", "weight_decay", "weightDecay"),
  );
  bad(
    () => new zn.optim.Adam([{ params: [leaf()] }, { params: [leaf()], momentum: 0.9 } as never]),
    ...unknown("Adam parameter group", "momentum"),
  );
  const opt = new zn.optim.SGD([{ params: [leaf()], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
  bad(
    () => opt.addParamGroup(js({ params: [leaf()], betas: [0.9, 0.99] })),
    ...unknown("SGD parameter group", "betas"),
  );
  bad(() => opt.addParamGroup(js({ lr: 0.1 })), 'a parameter group needs "params"');
  bad(
    () => opt.zeroGrad(js({ set_to_none: true })),
    ...unknown("zeroGrad", "set_to_none", "setToNone"),
  );
  opt.addParamGroup({ params: [leaf()], weightDecay: 0.01 });
  deepEqual(opt.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay]), [
    [0.5, 0.9, 0],
    [0.1, 0.9, 0.01],
  ]);
  const o = () => new zn.optim.SGD([leaf()], { lr: 1, momentum: 0.9 });
  bad(() => new S.StepLR(o(), js({ step_size: 2 })), ...unknown("StepLR", "step_size", "stepSize"));
  bad(
    () => new S.MultiStepLR(o(), js({ milestones: [1], gama: 0.5 })),
    ...unknown("MultiStepLR", "gama"),
  );
  bad(
    () => new S.ExponentialLR(o(), js({ gamma: 0.9, last_epoch: 3 })),
    ...unknown("ExponentialLR", "last_epoch"),
  );
  bad(
    () => new S.CosineAnnealingLR(o(), js({ T_max: 10 })),
    ...unknown("CosineAnnealingLR", "T_max", "tMax"),
  );
  bad(
    () => new S.LinearLR(o(), js({ start_factor: 0.1 })),
    ...unknown("LinearLR", "start_factor", "startFactor"),
  );
  bad(
    () => new S.OneCycleLR(o(), js({ max_lr: 1, totalSteps: 10 })),
    ...unknown("OneCycleLR", "max_lr", "maxLr"),
  );
  bad(
    () => new S.ReduceLROnPlateau(o(), js({ min_lr: 0.01 })),
    ...unknown("ReduceLROnPlateau", "min_lr", "minLr"),
  );
  const opt2 = o();
  const warm = new S.LinearLR(opt2, { startFactor: 0.5, totalIters: 2 });
  const cos = new S.CosineAnnealingLR(opt2, { tMax: 4 });
  bad(
    () => new S.SequentialLR(opt2, js({ schedulers: [warm, cos], milestones: [2], last_epoch: 0 })),
    ...unknown("SequentialLR", "last_epoch"),
  );
  new S.SequentialLR(opt2, { schedulers: [warm, cos], milestones: [2] });
  deepEqual(new S.StepLR(o(), { stepSize: 1, gamma: 0.5 }).getLastLr(), [1]);
});

Deno.test("options: data, metrics, io and cuda settings", async () => {
  const ds = new zn.data.TensorDataset(zn.arange(10));
  bad(
    () => new zn.data.DataLoader(ds, js({ batch_size: 4 })),
    ...unknown("DataLoader", "batch_size", "batchSize"),
  );
  bad(
    () => new zn.data.DataLoader(ds, js({ drop_last: true })),
    ...unknown("DataLoader", "drop_last", "dropLast"),
  );
  bad(() => zn.data.randomSplit(ds, [5, 5], js({ seed: 1 })), ...unknown("randomSplit", "seed"));
  bad(() => zn.data.transforms.randomCrop(2, js({ pad: 1 })), ...unknown("randomCrop", "pad"));
  bad(
    () => zn.data.transforms.randomHorizontalFlip(js({ prob: 1 })),
    ...unknown("randomHorizontalFlip", "prob"),
  );
  bad(
    () => zn.data.csv("a,b\n1,2\n", js({ target_column: "b" })),
    ...unknown("csv", "target_column", "targetColumn"),
  );
  await rejects(zn.data.mnistFromIdx("/nonexistent", js({ split: "test" })), TypeError);
  await rejects(zn.data.fashionMnist("/nonexistent", js({ training: false })), TypeError);
  const pred = [0, 1, 1], target = [0, 1, 0];
  bad(
    () => zn.metrics.precision(pred, target, js({ num_classes: 2 })),
    ...unknown("precision", "num_classes", "numClasses"),
  );
  bad(
    () => zn.metrics.recall(pred, target, js({ averge: "macro" })),
    ...unknown("recall", "averge"),
  );
  bad(
    () => zn.metrics.f1(pred, target, js({ zero_division: 0 })),
    ...unknown("f1", "zero_division"),
  );
  bad(
    () => zn.metrics.classificationReport(pred, target, js({ target_names: ["a", "b"] })),
    ...unknown("classificationReport", "target_names"),
  );
  deepEqual(zn.metrics.recall(pred, target, { average: "none", numClasses: 2 }), [0.5, 1]);
  const tensors = { w: zn.tensor([1, 2]) };
  bad(() => zn.serialize(tensors, js({ meta: { a: "b" } })), ...unknown("serialize", "meta"));
  bad(
    () => zn.saveSync(tensors, "/nonexistent/x", js({ meta: {} })),
    ...unknown("saveSync", "meta"),
  );
  await rejects(zn.save(tensors, "/nonexistent/x", js({ meta: {} })), TypeError);
  const bytes = zn.serialize(tensors, { metadata: { format: "pt" } });
  bad(
    () => zn.deserialize(bytes, js({ map_location: "cpu" })),
    ...unknown("deserialize", "map_location"),
  );
  bad(
    () => zn.loadSync("/nonexistent", js({ Device: "cpu" })),
    ...unknown("loadSync", "Device", "device"),
  );
  await rejects(zn.load("/nonexistent", js({ Device: "cpu" })), TypeError);
  deepEqual(zn.deserialize(bytes, { device: "cpu" }).w.toArray(), [1, 2]);
  const sd = new zn.optim.Adam([leaf()]).stateDict();
  bad(
    () => zn.optimizerStateToSafetensors(sd, js({ pre_fix: "o." })),
    ...unknown("optimizerStateToSafetensors", "pre_fix", "prefix"),
  );
  const { tensors: st, metadata } = zn.optimizerStateToSafetensors(sd, { prefix: "o." });
  bad(
    () => zn.optimizerStateFromSafetensors(st, metadata, js({ Prefix: "o." })),
    ...unknown("optimizerStateFromSafetensors", "Prefix", "prefix"),
  );
  deepEqual(zn.optimizerStateFromSafetensors(st, metadata, { prefix: "o." }).paramGroups.length, 1);
  // A misspelt setting is not a new property that nothing reads.
  bad(() => {
    (zn.cuda.matmul as Record<string, unknown>).allow_tf32 = false;
  }, ...unknown("cuda.matmul", "allow_tf32", "allowTF32"));
  deepEqual(zn.cuda.matmul.allowTF32, false);
});

Deno.test("crossEntropy: labelSmoothing must be in [0, 1]; ignoreIndex needs class indices", () => {
  const x = zn.randn([3, 4]), t = classes([0, 1, 3]);
  const range = (fn: () => unknown, part: string) =>
    throws(fn, (e: unknown) => e instanceof RangeError && (e as Error).message.includes(part));
  range(
    () => F.crossEntropy(x, t, { labelSmoothing: 1.5 }),
    "labelSmoothing must be between 0.0 and 1.0",
  );
  range(() => F.crossEntropy(x, t, { labelSmoothing: -0.1 }), "labelSmoothing");
  range(() => F.crossEntropy(x, t, { labelSmoothing: NaN }), "labelSmoothing");
  range(() => new zn.nn.CrossEntropyLoss({ labelSmoothing: 2 }), "labelSmoothing must be between");
  range(
    () => F.crossEntropy(x, x.softmax(1), { ignoreIndex: 1 }),
    "ignoreIndex is not supported for a probability target",
  );
  // The edges are allowed; smoothing 1 is the mean of -log p over the classes.
  const logp = x.logSoftmax(1);
  const loss: Tensor = F.crossEntropy(x, t, { labelSmoothing: 1 });
  ok(Math.abs((loss.item() as number) - (logp.mean().neg().item() as number)) < 1e-6);
  F.crossEntropy(x, t, { labelSmoothing: 0 });
});
