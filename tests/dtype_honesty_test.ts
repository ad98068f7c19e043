/**
 * Dtype honesty: integer tensors given to ops that compute in floating
 * point. Against PyTorch's behaviour (tests/fixtures/dtype_honesty.json),
 * each op either gives PyTorch's dtype, or raises a TypeError that names
 * the op and says how to convert. Where PyTorch has no integer kernel and
 * raises, Zeno may instead promote to float32 (as PyTorch itself does for
 * exp or true division); it never returns an integer result that PyTorch
 * would refuse, except for the listed ops that are exact on integers.
 */
import * as zn from "../mod.ts";
import { assert } from "./assert_helpers.ts";

const F = zn.nn.functional;
const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/dtype_honesty.json", import.meta.url)),
) as { ops: Record<string, Record<string, string>> };

/** Ops that copy or rearrange values, exact on integers, where PyTorch lacks the kernel. */
const EXACT_ON_INTEGERS = new Set(["F.unfold", "F.interpolate", "F.interpNearest"]);

const OPS: Record<string, (x: zn.Tensor) => zn.Tensor> = {
  "exp": (x) => x.exp(),
  "log": (x) => x.log(),
  "log2": (x) => x.log2(),
  "log1p": (x) => x.log1p(),
  "expm1": (x) => x.expm1(),
  "exp2": (x) => x.exp2(),
  "sqrt": (x) => x.sqrt(),
  "rsqrt": (x) => x.rsqrt(),
  "sin": (x) => x.sin(),
  "cos": (x) => x.cos(),
  "tan": (x) => x.tan(),
  "asin": (x) => x.asin(),
  "acos": (x) => x.acos(),
  "atan": (x) => x.atan(),
  "sinh": (x) => x.sinh(),
  "cosh": (x) => x.cosh(),
  "tanh": (x) => x.tanh(),
  "asinh": (x) => x.asinh(),
  "acosh": (x) => x.acosh(),
  "atanh": (x) => x.atanh(),
  "sigmoid": (x) => x.sigmoid(),
  "erf": (x) => x.erf(),
  "reciprocal": (x) => x.reciprocal(),
  "abs": (x) => x.abs(),
  "neg": (x) => x.neg(),
  "sign": (x) => x.sign(),
  "square": (x) => x.square(),
  "floor": (x) => x.floor(),
  "ceil": (x) => x.ceil(),
  "round": (x) => x.round(),
  "trunc": (x) => x.trunc(),
  "frac": (x) => x.frac(),
  "relu": (x) => x.relu(),
  "div": (x) => x.div(x),
  "div_floor": (x) => x.div(x, { roundingMode: "floor" }),
  "div_scalar": (x) => x.div(2),
  "mul_float": (x) => x.mul(0.5),
  "add_float": (x) => x.add(0.5),
  "pow_int": (x) => x.pow(2),
  "pow_float": (x) => x.pow(0.5),
  "pow_neg": (x) => x.pow(-1),
  "fmod": (x) => x.fmod(2),
  "remainder": (x) => x.remainder(2),
  "atan2": (x) => zn.atan2(x, x),
  "hypot": (x) => zn.hypot(x, x),
  "logaddexp": (x) => zn.logaddexp(x, x),
  "xlogy": (x) => zn.xlogy(x, x),
  "copysign": (x) => zn.copysign(x, x),
  "lerp": (x) => x.lerp(x, 0.5),
  "clamp": (x) => x.clamp(0, 2),
  "clamp_float": (x) => x.clamp(0.5, 2.5),
  "sum": (x) => x.sum(),
  "sum_dim": (x) => x.sum(1),
  "prod": (x) => x.prod(),
  "mean": (x) => x.mean(),
  "mean_dim": (x) => x.mean(1),
  "nanmean": (x) => zn.nanmean(x),
  "nansum": (x) => zn.nansum(x),
  "std": (x) => x.std(),
  "var": (x) => x.var(),
  "max": (x) => x.max(),
  "min": (x) => x.min(),
  "amax": (x) => x.amax(1),
  "argmax": (x) => x.argmax(),
  "median": (x) => x.median(),
  "quantile": (x) => zn.quantile(x, 0.5),
  "logsumexp": (x) => x.logsumexp(1),
  "cumsum": (x) => x.cumsum(1),
  "cumprod": (x) => x.cumprod(1),
  "logcumsumexp": (x) => zn.logcumsumexp(x, 1),
  "cummax": (x) => zn.cummax(x, 1).values,
  "norm": (x) => zn.linalg.vectorNorm(x),
  "norm_method": (x) => x.norm(),
  "softmax": (x) => x.softmax(1),
  "logSoftmax": (x) => x.logSoftmax(1),
  "matmul": (x) => x.matmul(x.mT),
  "outer": (x) => zn.outer(x.reshape([-1]), x.reshape([-1])),
  "isnan": (x) => x.isnan(),
  "isinf": (x) => x.isinf(),
  "nanToNum": (x) => zn.nanToNum(x),
  "maximum": (x) => x.maximum(x),
  "eq": (x) => x.eq(x),
  "where_float": (x) => zn.where(x.gt(2), x, 0.5),
  "diff": (x) => zn.diff(x),
  "histc": (x) => zn.histc(x),
  "bincount": (x) => zn.bincount(x.reshape([-1])),
  "cdist": (x) => zn.cdist(x, x),
  "cosineSimilarity": (x) => zn.cosineSimilarity(x, x),
  "trace": (x) => zn.trace(x.narrow(1, 0, 2)),
  "det": (x) => zn.linalg.det(x.narrow(1, 0, 2)),
  "inv": (x) => zn.linalg.inv(x.narrow(1, 0, 2)),
  "F.relu": (x) => F.relu(x),
  "F.gelu": (x) => F.gelu(x),
  "F.silu": (x) => F.silu(x),
  "F.elu": (x) => F.elu(x),
  "F.leakyRelu": (x) => F.leakyRelu(x),
  "F.hardtanh": (x) => F.hardtanh(x),
  "F.relu6": (x) => F.relu6(x),
  "F.hardswish": (x) => F.hardswish(x),
  "F.softplus": (x) => F.softplus(x),
  "F.mish": (x) => F.mish(x),
  "F.logsigmoid": (x) => F.logsigmoid(x),
  "F.softsign": (x) => F.softsign(x),
  "F.normalize": (x) => F.normalize(x),
  "F.mseLoss": (x) => F.mseLoss(x, x),
  "F.l1Loss": (x) => F.l1Loss(x, x),
  "F.crossEntropy": (x) => F.crossEntropy(x, zn.tensor([0n, 1n])),
  "F.linear": (x) => F.linear(x, x),
  "F.layerNorm": (x) => F.layerNorm(x, [3]),
  "F.dropout": (x) => F.dropout(x, 0.5),
  "F.avgPool1d": (x) => F.avgPool1d(x.unsqueeze(0), 1),
  "F.maxPool1d": (x) => F.maxPool1d(x.unsqueeze(0), 1),
  "F.interpolate": (x) => F.interpolate(x.unsqueeze(0), { scaleFactor: 2 }),
  "F.pad": (x) => F.pad(x, [1, 1]),
  "F.oneHot": (x) => F.oneHot(x.reshape([-1])),
  "F.embedding": (x) => F.embedding(x, zn.randn([7, 2])),
  "F.batchNorm": (x) => F.batchNorm(x, null, null, null, null, { training: true }),
  "F.groupNorm": (x) => F.groupNorm(x.unsqueeze(0), 1),
  "F.instanceNorm": (x) => F.instanceNorm(x.unsqueeze(0)),
  "F.rmsNorm": (x) => F.rmsNorm(x, [3]),
  "F.bce": (x) => F.binaryCrossEntropy(x, x),
  "F.bceLogits": (x) => F.binaryCrossEntropyWithLogits(x, x),
  "F.nllLoss": (x) => F.nllLoss(x, zn.tensor([0n, 1n])),
  "F.klDiv": (x) => F.klDiv(x, x),
  "F.huberLoss": (x) => F.huberLoss(x, x),
  "F.smoothL1Loss": (x) => F.smoothL1Loss(x, x),
  "F.mseFloatTarget": (x) => F.mseLoss(x, x.to("float32")),
  "F.conv1d": (x) => F.conv1d(x.unsqueeze(0), x.unsqueeze(2)),
  "F.dropout2d": (x) => F.dropout2d(x.unsqueeze(0), 0.5),
  "F.sdpa": (x) => F.scaledDotProductAttention(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0)),
  "F.glu": (x) => F.glu(x.narrow(1, 0, 2)),
  "F.softmin": (x) => F.softmin(x, 1),
  "F.celu": (x) => F.celu(x),
  "F.selu": (x) => F.selu(x),
  "F.threshold": (x) => F.threshold(x, 2, 0),
  "F.tanhshrink": (x) => F.tanhshrink(x),
  "F.hardsigmoid": (x) => F.hardsigmoid(x),
  "F.sigmoid": (x) => F.sigmoid(x),
  "F.tanh": (x) => F.tanh(x),
  "F.pairwiseDistance": (x) => F.pairwiseDistance(x, x),
  "F.avgPool2d": (x) => F.avgPool2d(x.unsqueeze(0).unsqueeze(0), 1),
  "F.unfold": (x) => F.unfold(x.unsqueeze(0).unsqueeze(0), 1),
  "F.pixelShuffle": (x) => F.pixelShuffle(x.reshape([1, 1, 2, 3]), 1),
  "F.interpNearest": (x) => F.interpolate(x.unsqueeze(0), { scaleFactor: 2, mode: "nearest" }),
  "F.interpLinear": (x) => F.interpolate(x.unsqueeze(0), { scaleFactor: 2, mode: "linear" }),
  "F.localResponseNorm": (x) => F.localResponseNorm(x.unsqueeze(0), 2),
  "F.logSoftmax": (x) => F.logSoftmax(x, 1),
  "F.softmax": (x) => F.softmax(x, 1),
  "F.cosineEmbeddingLoss": (x) => F.cosineEmbeddingLoss(x, x, zn.tensor([1, 1])),
  "F.marginRankingLoss": (x) => F.marginRankingLoss(x, x, x),
  "F.hingeEmbeddingLoss": (x) => F.hingeEmbeddingLoss(x, x),
  "F.poissonNll": (x) => F.poissonNllLoss(x, x),
  "F.multilabelSoftMargin": (x) => F.multilabelSoftMarginLoss(x, x),
  "F.tripletMargin": (x) => F.tripletMarginLoss(x, x, x),
  "rsub": (x) => zn.sub(0.5, x),
  "floorDivide": (x) => x.floorDivide(2),
  "floorDivideF": (x) => x.floorDivide(2.5),
  "true_div_int": (x) => x.div(2, { roundingMode: "trunc" }),
  "sinc": (x) => zn.sinc(x),
  "F.alphaDropout": (x) => F.alphaDropout(x, 0.5),
};

Deno.test("every op of the dtype table has PyTorch's reference behaviour", () => {
  const missing = Object.keys(OPS).filter((n) => !(n in fx.ops));
  assert(missing.length === 0, `not in the fixture: ${missing.join(", ")}`);
});

for (const dtype of ["int64", "int32"] as const) {
  Deno.test(`${dtype} inputs get PyTorch's dtype or a TypeError that says how to convert`, () => {
    const x = zn.tensor([[1, 2, 3], [4, 5, 6]], { dtype });
    const bad: string[] = [];
    for (const [name, fn] of Object.entries(OPS)) {
      const want = fx.ops[name][dtype];
      let got: string;
      try {
        got = fn(x).dtype;
      } catch (e) {
        const m = (e as Error).message;
        // The message starts with the op's name; a dtype refusal says how
        // to convert. Where PyTorch refuses too, any named refusal will do
        // (integers to negative powers are a value error in both).
        const named = /^[A-Za-z][A-Za-z0-9.]*: /.test(m);
        const helpful = e instanceof TypeError && m.includes('.to("');
        if (!named || (want !== "error" && !helpful) || (e instanceof TypeError && !helpful)) {
          bad.push(`${name}: ${(e as Error).constructor.name}: ${m}`);
        }
        continue;
      }
      if (want === "error") {
        const promoted = got === "float32" || got === "float64";
        if (!promoted && !EXACT_ON_INTEGERS.has(name)) {
          bad.push(`${name}: gave ${got} where PyTorch raises`);
        }
      } else if (got !== want) bad.push(`${name}: gave ${got}, PyTorch ${want}`);
    }
    assert(bad.length === 0, `${bad.length} ops differ:\n${bad.join("\n")}`);
  });
}
