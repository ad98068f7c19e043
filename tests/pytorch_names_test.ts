/**
 * The PyTorch names the breadth work covers, each with its Zeno spelling: a
 * name that goes missing fails here. Names not built yet are listed in
 * PENDING, and fail here once they exist, so the list stays true.
 */
import * as zn from "../mod.ts";
import { assert } from "./assert_helpers.ts";

/** [PyTorch's name, Zeno's path from the `zn` namespace ("Tensor#x": a Tensor member)]. */
const NAMES: [string, string][] = [
  // tensor ops
  ...[
    "einsum",
    "bmm",
    "baddbmm",
    "addmm",
    "addmv",
    "outer",
    "repeatInterleave",
    "tile",
    "flip",
    "roll",
    "rot90",
    "unbind",
    "movedim",
    "nonzero",
    "maskedSelect",
    "maskedScatter",
    "take",
    "takeAlongDim",
    "indexAdd",
    "indexCopy",
    "scatterAdd",
    "scatterReduce",
    "meshgrid",
    "cartesianProd",
    "unique",
    "uniqueConsecutive",
    "median",
    "quantile",
    "nanmean",
    "nansum",
    "mode",
    "kthvalue",
    "logcumsumexp",
    "cummax",
    "cummin",
    "diff",
    "histc",
    "bincount",
    "searchsorted",
    "bucketize",
    "allclose",
    "isclose",
    "equal",
    "clampMin",
    "clampMax",
    "hypot",
    "atan2",
    "fmod",
    "copysign",
    "logaddexp",
    "xlogy",
    "sinc",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "diag",
    "diagonal",
    "diagEmbed",
    "trace",
    "kron",
    "cross",
    "cdist",
    "cosineSimilarity",
    "pairwiseDistance",
  ].map((n): [string, string] => [`torch.${snake(n)}`, n]),
  ["Tensor.repeat", "Tensor#repeat"],
  ["Tensor.T", "Tensor#T"],
  ["Tensor.H", "Tensor#H"],
  ["Tensor.median", "Tensor#median"],
  // linalg
  ...[
    "norm",
    "vectorNorm",
    "matrixNorm",
    "det",
    "slogdet",
    "inv",
    "solve",
    "cholesky",
    "qr",
    "eigh",
    "eigvalsh",
    "svd",
    "svdvals",
    "pinv",
    "lstsq",
    "matrixPower",
  ].map((n): [string, string] => [`torch.linalg.${snake(n)}`, `linalg.${n}`]),
  // functional and layers
  ...[
    "interpolate",
    "pad",
    "unfold",
    "fold",
    "gridSample",
    "affineGrid",
    "instanceNorm",
    "localResponseNorm",
    "pixelShuffle",
    "adaptiveMaxPool2d",
    "conv3d",
    "maxPool3d",
    "bilinear",
    "cosineSimilarity",
    "hardtanh",
    "relu6",
    "hardswish",
    "hardsigmoid",
    "mish",
    "selu",
    "celu",
    "glu",
    "softsign",
    "tanhshrink",
    "threshold",
    "prelu",
    "logsigmoid",
    "softmin",
    "ctcLoss",
    "klDiv",
    "huberLoss",
    "smoothL1Loss",
    "marginRankingLoss",
    "tripletMarginLoss",
    "cosineEmbeddingLoss",
    "poissonNllLoss",
    "gaussianNllLoss",
    "multilabelSoftMarginLoss",
    "hingeEmbeddingLoss",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alphaDropout",
    "featureAlphaDropout",
    "hardshrink",
    "softshrink",
  ].map((n): [string, string] => [`F.${snake(n)}`, `nn.functional.${n}`]),
  ...[
    "Upsample",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "LocalResponseNorm",
    "PixelShuffle",
    "AdaptiveMaxPool2d",
    "Conv3d",
    "MaxPool3d",
    "Bilinear",
    "Identity",
    "Unflatten",
    "CosineSimilarity",
    "Hardtanh",
    "ReLU6",
    "Hardswish",
    "Hardsigmoid",
    "Mish",
    "SELU",
    "CELU",
    "GLU",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "PReLU",
    "LogSigmoid",
    "Softmin",
    "Softmax2d",
    "CTCLoss",
    "KLDivLoss",
    "HuberLoss",
    "SmoothL1Loss",
    "MarginRankingLoss",
    "TripletMarginLoss",
    "CosineEmbeddingLoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "MultiLabelSoftMarginLoss",
    "HingeEmbeddingLoss",
    "ParameterList",
    "ParameterDict",
    "ModuleDict",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "Hardshrink",
    "Softshrink",
    ...["Zero", "Constant", "Reflection", "Replication", "Circular"].flatMap((k) =>
      [1, 2, 3].map((d) => `${k}Pad${d}d`)
    ),
    "AvgPool1d",
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
  ].map((n): [string, string] => [`nn.${n}`, `nn.${n}`]),
  ["torchinfo.summary", "nn.summary"],
  // autograd
  ["torch.autograd.Function", "autograd.Function"],
  ...["jacobian", "hessian", "vjp", "jvp", "hvp"].map((n): [string, string] => [
    `torch.autograd.functional.${n}`,
    `autograd.functional.${n}`,
  ]),
  ["torch.autograd.detect_anomaly", "autograd.detectAnomaly"],
  ["torch.inference_mode", "autograd.inferenceMode"],
  // modules
  ...[
    "registerForwardPreHook",
    "registerForwardHook",
    "registerFullBackwardHook",
    "apply",
    "namedModules",
    "namedBuffers",
    "zeroGrad",
    "requiresGrad_",
    "to",
    "half",
    "bfloat16",
    "double",
  ].map((n): [string, string] => [`nn.Module.${snake(n)}`, `nn.Module#${n}`]),
  // optimizers and schedulers
  ...[
    "LambdaLR",
    "MultiplicativeLR",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "PolynomialLR",
    "ChainedScheduler",
  ].map((n): [string, string] => [`optim.lr_scheduler.${n}`, `optim.lrScheduler.${n}`]),
  ...["NAdam", "RAdam", "Adamax", "Adadelta", "LBFGS"].map((n): [string, string] => [
    `optim.${n}`,
    `optim.${n}`,
  ]),
  ["optim.swa_utils.AveragedModel", "optim.swaUtils.AveragedModel"],
  // mixed precision
  ["torch.autocast", "autocast"],
  ["torch.amp.GradScaler", "amp.GradScaler"],
];

/** Names not built yet: each must be missing (remove it here once it exists). */
const PENDING = new Set<string>([]);

function snake(n: string): string {
  return n.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()).replace(/^_/, "");
}

/** Whether `path` names something in zn. */
function resolves(path: string): boolean {
  const [head, member] = path.split("#");
  let at: unknown = zn;
  for (const part of head.split(".")) {
    if (at === null || at === undefined) return false;
    at = (at as Record<string, unknown>)[part];
  }
  if (at === undefined) return false;
  if (member === undefined) return true;
  const proto = (at as { prototype?: object }).prototype;
  return proto !== undefined && member in proto;
}

Deno.test("every PyTorch name of the breadth list has its Zeno spelling", () => {
  const missing = NAMES.filter(([, z]) => !PENDING.has(z) && !resolves(z));
  assert(
    missing.length === 0,
    `missing: ${missing.map(([t, z]) => `${t} (zn.${z})`).join(", ")}`,
  );
});

Deno.test("names listed as pending are still missing", () => {
  const built = [...PENDING].filter((z) => resolves(z));
  assert(built.length === 0, `built now, remove from PENDING: ${built.join(", ")}`);
  const unknown = [...PENDING].filter((z) => !NAMES.some(([, n]) => n === z));
  assert(unknown.length === 0, `PENDING names not in the list: ${unknown.join(", ")}`);
});
