/**
 * Finite-difference checks (float64) of every derivative rule in
 * src/autograd/rules.ts. Each case's graph is walked to see which rules it
 * exercises, and a test fails when a rule of the table has no case. Rules that
 * only run inside a backward pass (embed, the pooling backward ops) are
 * reached by checking a gradient built with createGraph.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { RULES } from "../src/autograd/rules.ts";
import type { Node } from "../src/autograd/node.ts";
import { conv2d, convTranspose2d } from "../src/nn/functional/conv.ts";
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from "../src/nn/functional/pool.ts";
import { cpuBackend, CpuStorage } from "../src/cpu_backend.ts";
import { registerBackend } from "../src/backend.ts";
import { type DType, STORAGE_CTOR, type TypedArray } from "../src/dtype.ts";
import { gruLayerFused, lstmLayerFused } from "../src/nn/rnn_fused.ts";

const { gradcheck } = zn.autograd;

/**
 * A second host device, "cpu:1": CPU memory and kernels under another device
 * name, so the device-move rule (toDevice) can be checked without a GPU.
 */
class SecondCpuStorage extends CpuStorage {
  constructor(data: TypedArray) {
    super(data);
    Object.defineProperty(this, "device", { value: "cpu:1" });
  }
}
registerBackend({
  ...cpuBackend,
  device: "cpu:1",
  alloc: (dtype: DType, n: number) => new SecondCpuStorage(new STORAGE_CTOR[dtype](n)),
  allocUninit: (dtype: DType, n: number) => new SecondCpuStorage(new STORAGE_CTOR[dtype](n)),
  fromHost: (_dtype: DType, data: TypedArray) => new SecondCpuStorage(data.slice() as TypedArray),
});

/** Deterministic float64 values in [lo, hi) (a small LCG, so cases do not depend on RNG state). */
function vals(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  let s = seed * 2654435761 % 4294967296;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) % 4294967296;
    out[i] = lo + (hi - lo) * (s / 4294967296);
  }
  return zn.tensor(out, { shape, dtype: "float64" });
}

/** A leaf requiring grad. */
function leaf(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  return vals(shape, seed, lo, hi).requiresGrad_(true);
}

/** Values well away from integers and half-integers (kinks of the rounding ops). */
function offGrid(shape: number[], seed: number): Tensor {
  const v = vals(shape, seed, -3, 3).toArray() as number[] | number[][];
  const flat = (v as unknown as number[]).flat(4) as number[];
  const moved = flat.map((x) => Math.floor(x) + 0.2 + 0.1 * ((x - Math.floor(x)) % 1));
  return zn.tensor(moved, { dtype: "float64" }).reshape(shape).requiresGrad_(true);
}

/** Marks the inputs of a second-order case: fresh leaves when gradcheck evaluates without grad. */
function asLeaf(x: Tensor): Tensor {
  return x.requiresGrad ? x : x.detach().requiresGrad_(true);
}

/** The gradient of `f` at `x`, itself differentiable (createGraph). */
function gradOf(f: (x: Tensor) => Tensor, x: Tensor): Tensor {
  return zn.enableGrad(() => {
    const xi = asLeaf(x);
    return zn.grad(f(xi), xi, { createGraph: true })[0]!;
  });
}

interface GCase {
  name: string;
  fn: (...xs: Tensor[]) => Tensor | Tensor[];
  inputs: () => Tensor[];
  opts?: { eps?: number; atol?: number; rtol?: number };
}

const U = (name: string, fn: (x: Tensor) => Tensor, lo = -1, hi = 1, seed = 1): GCase => ({
  name,
  fn: (x) => fn(x),
  inputs: () => [leaf([2, 3], seed, lo, hi)],
});

const CASES: GCase[] = [
  // unary
  U("neg", (x) => x.neg()),
  U("abs away from 0", (x) => x.abs(), 0.1, 1, 2),
  U("abs of negatives", (x) => x.abs(), -1, -0.1, 3),
  U("exp", (x) => x.exp()),
  U("exp2", (x) => zn.exp2(x)),
  U("log", (x) => x.log(), 0.2, 2),
  U("log2", (x) => zn.log2(x), 0.2, 2),
  U("log1p", (x) => zn.log1p(x), -0.5, 2),
  U("expm1", (x) => zn.expm1(x)),
  U("sqrt", (x) => x.sqrt(), 0.2, 2),
  U("rsqrt", (x) => zn.rsqrt(x), 0.2, 2),
  U("reciprocal", (x) => zn.reciprocal(x), 0.3, 2),
  U("square", (x) => zn.square(x)),
  U("sin", (x) => x.sin(), -3, 3),
  U("cos", (x) => x.cos(), -3, 3),
  U("tan", (x) => zn.tan(x)),
  U("asin", (x) => zn.asin(x), -0.8, 0.8),
  U("acos", (x) => x.acos(), -0.8, 0.8),
  U("atan", (x) => zn.atan(x), -3, 3),
  U("sinh", (x) => x.sinh(), -2, 2),
  U("cosh", (x) => zn.cosh(x), -2, 2),
  U("asinh", (x) => zn.asinh(x), -3, 3),
  U("acosh", (x) => x.acosh(), 1.2, 3),
  U("atanh", (x) => zn.atanh(x), -0.8, 0.8),
  U("tanh", (x) => x.tanh(), -2, 2),
  U("sigmoid", (x) => x.sigmoid(), -3, 3),
  U("relu", (x) => x.relu(), -1, 1, 4),
  U("leakyRelu", (x) => zn.leakyRelu(x, 0.2), -1, 1, 5),
  U("elu", (x) => zn.elu(x, 1.3), -2, 2, 6),
  U("gelu (erf)", (x) => zn.gelu(x), -3, 3),
  U("gelu (tanh)", (x) => zn.gelu(x, { approximate: "tanh" }), -3, 3),
  U("silu", (x) => zn.silu(x), -3, 3),
  U("softplus", (x) => zn.softplus(x, { beta: 2, threshold: 2 }), -2, 2, 7),
  U("erf", (x) => zn.erf(x), -2, 2),
  U("nanToNum of finite values", (x) => zn.nanToNum(x)),
  { name: "sign", fn: (x) => zn.sign(x), inputs: () => [offGrid([2, 3], 8)] },
  { name: "floor", fn: (x) => zn.floor(x), inputs: () => [offGrid([2, 3], 9)] },
  { name: "ceil", fn: (x) => zn.ceil(x), inputs: () => [offGrid([2, 3], 10)] },
  { name: "round", fn: (x) => zn.round(x), inputs: () => [offGrid([2, 3], 11)] },
  { name: "trunc", fn: (x) => zn.trunc(x), inputs: () => [offGrid([2, 3], 12)] },
  // binary, with broadcasting
  { name: "add broadcast", fn: (a, b) => a.add(b), inputs: () => [leaf([2, 3], 1), leaf([3], 2)] },
  {
    name: "add with alpha",
    fn: (a, b) => zn.add(a, b, { alpha: -2 }),
    inputs: () => [leaf([2, 1], 3), leaf([3], 4)],
  },
  {
    name: "sub broadcast with alpha",
    fn: (a, b) => zn.sub(a, b, { alpha: 0.5 }),
    inputs: () => [leaf([3], 5), leaf([2, 3], 6)],
  },
  {
    name: "mul broadcast",
    fn: (a, b) => a.mul(b),
    inputs: () => [leaf([2, 1], 7), leaf([1, 3], 8)],
  },
  {
    name: "div broadcast",
    fn: (a, b) => a.div(b),
    inputs: () => [leaf([2, 3], 9), leaf([3], 10, 0.5, 2)],
  },
  { name: "div of a number", fn: (b) => zn.div(2, b), inputs: () => [leaf([3], 11, 0.5, 2)] },
  {
    name: "pow tensor ** tensor",
    fn: (a, b) => a.pow(b),
    inputs: () => [leaf([2, 3], 12, 0.3, 2), leaf([3], 13, -2, 2)],
  },
  { name: "pow tensor ** 3", fn: (a) => a.pow(3), inputs: () => [leaf([2, 3], 14)] },
  { name: "pow number ** tensor", fn: (b) => zn.pow(1.7, b), inputs: () => [leaf([2, 3], 15)] },
  {
    name: "maximum broadcast",
    fn: (a, b) => zn.maximum(a, b),
    inputs: () => [leaf([2, 3], 16), leaf([3], 17)],
  },
  {
    name: "minimum broadcast",
    fn: (a, b) => zn.minimum(a, b),
    inputs: () => [leaf([2, 3], 18), leaf([2, 1], 19)],
  },
  {
    name: "atan2 broadcast",
    fn: (a, b) => zn.atan2(a, b),
    inputs: () => [leaf([2, 3], 20), leaf([3], 21, 0.2, 1)],
  },
  {
    name: "fmod",
    fn: (a, b) => zn.fmod(a, b),
    inputs: () => [leaf([2, 3], 24, -3, 3), leaf([3], 25, 0.7, 1.3)],
    opts: { eps: 1e-7 },
  },
  {
    name: "copysign",
    fn: (a, b) => zn.copysign(a, b),
    inputs: () => [leaf([2, 3], 26, 0.2, 1), leaf([2, 3], 27)],
  },
  {
    name: "remainder",
    fn: (a, b) => zn.remainder(a, b),
    inputs: () => [leaf([2, 3], 22, -3, 3), leaf([3], 23, 0.7, 1.3)],
    opts: { eps: 1e-7 },
  },
  {
    name: "where",
    fn: (a, b) => zn.where(zn.tensor([true, false, true]), a, b),
    inputs: () => [leaf([2, 3], 24), leaf([2, 1], 25)],
  },
  { name: "clamp", fn: (x) => x.clamp(-0.5, 0.45), inputs: () => [leaf([3, 3], 26)] },
  {
    name: "lerp",
    fn: (a, b, w) => zn.lerp(a, b, w),
    inputs: () => [leaf([2, 3], 27), leaf([3], 28), leaf([2, 1], 29)],
  },
  {
    name: "to float32 and back",
    fn: (x) => x.to("float32").mul(x.to("float32")).to("float64"),
    inputs: () => [leaf([2, 3], 30)],
    opts: { eps: 1e-3, atol: 1e-4, rtol: 1e-3 },
  },
  { name: "clone", fn: (x) => x.clone().mul(x), inputs: () => [leaf([2, 3], 31)] },
  {
    name: "to another device and back",
    fn: (x) => x.to("cpu:1").mul(x.to("cpu:1")).to("cpu"),
    inputs: () => [leaf([2, 3], 30)],
  },
  // reductions
  { name: "sum dims keepdim", fn: (x) => x.sum([0, 2], true), inputs: () => [leaf([2, 3, 2], 32)] },
  { name: "mean dim", fn: (x) => x.mean(1), inputs: () => [leaf([2, 3, 2], 33)] },
  { name: "prod dim", fn: (x) => x.prod(1), inputs: () => [leaf([2, 4], 34)] },
  {
    name: "prod with zeros",
    fn: (x) => x.prod(1),
    inputs: () => [
      zn.tensor([[0, 2, 3], [0, 0, 2], [1.5, 2, 0.5]], { dtype: "float64" })
        .requiresGrad_(true),
    ],
  },
  { name: "prod all", fn: (x) => x.prod(), inputs: () => [leaf([2, 3], 35, 0.5, 1.5)] },
  { name: "amax dim", fn: (x) => x.amax(1), inputs: () => [leaf([3, 4], 36)] },
  { name: "amin all", fn: (x) => x.amin(), inputs: () => [leaf([3, 4], 37)] },
  { name: "max(dim) values", fn: (x) => x.max(1).values, inputs: () => [leaf([3, 4], 38)] },
  {
    name: "min(dim) values keepdim",
    fn: (x) => x.min(0, true).values,
    inputs: () => [leaf([3, 4], 39)],
  },
  {
    name: "var dim correction 1",
    fn: (x) => x.var(1, { keepdim: true }),
    inputs: () => [leaf([2, 4], 40)],
  },
  {
    name: "std all correction 0",
    fn: (x) => x.std(undefined, { correction: 0 }),
    inputs: () => [leaf([2, 3], 41)],
  },
  { name: "logsumexp", fn: (x) => x.logsumexp(1), inputs: () => [leaf([2, 4], 42, -2, 2)] },
  { name: "norm p=2 dim", fn: (x) => x.norm(2, 1), inputs: () => [leaf([2, 3], 43)] },
  { name: "norm p=1", fn: (x) => x.norm(1), inputs: () => [leaf([2, 3], 44, 0.1, 1)] },
  { name: "norm p=3 keepdim", fn: (x) => x.norm(3, 1, true), inputs: () => [leaf([2, 3], 45)] },
  { name: "norm p=inf", fn: (x) => x.norm(Infinity, 0), inputs: () => [leaf([3, 2], 46)] },
  { name: "norm p=0", fn: (x) => x.norm(0), inputs: () => [leaf([3], 47)] },
  { name: "cumsum", fn: (x) => x.cumsum(1), inputs: () => [leaf([2, 4], 48)] },
  { name: "cumprod", fn: (x) => x.cumprod(1), inputs: () => [leaf([2, 4], 49)] },
  { name: "logcumsumexp", fn: (x) => x.logcumsumexp(1), inputs: () => [leaf([2, 4], 50, -3, 3)] },
  {
    name: "custom Function (customFunction, groupView)",
    fn: (x) => {
      class Sq extends zn.autograd.Function {
        static override forward(ctx: zn.autograd.FunctionCtx, t: Tensor) {
          ctx.saveForBackward(t);
          return t.mul(t);
        }
        static override backward(ctx: zn.autograd.FunctionCtx, g: Tensor) {
          return [g.mul(ctx.savedTensors[0]).mul(2)];
        }
      }
      return Sq.apply(x) as Tensor;
    },
    inputs: () => [leaf([2, 3], 52)],
  },
  {
    name: "module backward hooks (hookPack, groupView)",
    fn: (x) => {
      const m = new zn.nn.Tanh();
      // A hook that passes the gradients on unchanged: the routing alone.
      m.registerFullBackwardHook((_m, gi) => gi);
      return m.call(x);
    },
    inputs: () => [leaf([2, 3], 51)],
  },
  {
    name: "cumprod with zeros",
    fn: (x) => x.cumprod(1),
    inputs: () => [
      zn.tensor([[0.5, 0, 2, 1.5], [0, 1.2, 0, 2]], { dtype: "float64" })
        .requiresGrad_(true),
    ],
  },
  { name: "softmax", fn: (x) => x.softmax(0), inputs: () => [leaf([3, 2], 50, -2, 2)] },
  { name: "logSoftmax", fn: (x) => x.logSoftmax(-1), inputs: () => [leaf([2, 3], 51, -2, 2)] },
  // matmul
  {
    name: "matmul 2-D",
    fn: (a, b) => a.matmul(b),
    inputs: () => [leaf([2, 3], 52), leaf([3, 2], 53)],
  },
  {
    name: "matmul 1-D by 1-D",
    fn: (a, b) => a.matmul(b),
    inputs: () => [leaf([3], 54), leaf([3], 55)],
  },
  {
    name: "matmul batched broadcast by 1-D",
    fn: (a, b, c) => a.matmul(b).matmul(c),
    inputs: () => [leaf([3], 56), leaf([2, 3, 2], 57), leaf([2], 58)],
  },
  // views
  {
    name: "reshape",
    fn: (x) => x.reshape([3, 2]).mul(x.reshape([3, 2])),
    inputs: () => [leaf([2, 3], 59)],
  },
  { name: "transpose", fn: (x) => x.transpose(0, 1).exp(), inputs: () => [leaf([2, 3], 60)] },
  { name: "permute", fn: (x) => x.permute([2, 0, 1]).sin(), inputs: () => [leaf([2, 1, 3], 61)] },
  { name: "expand", fn: (x) => x.expand([2, 3, 2]).exp(), inputs: () => [leaf([3, 1], 62)] },
  {
    name: "slicing, narrow and select",
    fn: (x) =>
      x.index({}, { start: 0, stop: 3, step: 2 }).mul(x.narrow(1, 1, 2)).add(
        x.select(1, 2).unsqueeze(1),
      ),
    inputs: () => [leaf([2, 3], 63)],
  },
  {
    name: "advanced index and bool mask",
    fn: (x) =>
      zn.cat([
        x.index(zn.tensor([1n, 0n, 1n])).flatten(),
        x.index(zn.tensor([[true, false, true], [false, true, true]])),
      ]),
    inputs: () => [leaf([2, 3], 64)],
  },
  // indexing and joining
  {
    name: "indexSelect with repeats",
    fn: (x) => x.indexSelect(1, zn.tensor([2n, 0n, 2n])),
    inputs: () => [leaf([2, 3], 65)],
  },
  {
    name: "gather",
    fn: (x) => x.gather(1, zn.tensor([[0n, 0n, 2n], [1n, 2n, 1n]])),
    inputs: () => [leaf([2, 3], 66)],
  },
  {
    name: "scatter",
    fn: (x, s) => x.scatter(1, zn.tensor([[2n, 0n], [1n, 2n]]), s),
    inputs: () => [leaf([2, 3], 67), leaf([2, 2], 68)],
  },
  {
    name: "scatterAdd with repeats",
    fn: (x, s) => x.scatterAdd(1, zn.tensor([[2n, 2n], [0n, 1n]]), s),
    inputs: () => [leaf([2, 3], 69), leaf([2, 2], 70)],
  },
  ...(["sum", "prod", "mean", "amax", "amin"] as const).flatMap((reduce, k) =>
    [true, false].map((includeSelf) => ({
      name: `scatterReduce ${reduce} includeSelf=${includeSelf}`,
      fn: (x: zn.Tensor, s: zn.Tensor) =>
        x.scatterReduce(1, zn.tensor([[2n, 2n, 0n], [0n, 1n, 0n]]), s, reduce, { includeSelf }),
      inputs: () => [leaf([2, 3], 200 + 2 * k), leaf([2, 3], 201 + 2 * k)],
    }))
  ),
  {
    name: "maskedFill",
    fn: (x) => x.maskedFill(zn.tensor([true, false, true]), 0.5),
    inputs: () => [leaf([2, 3], 71)],
  },
  {
    name: "cat and stack",
    fn: (a, b) => zn.stack([zn.cat([a, b], 1), zn.cat([b, a], 1)]),
    inputs: () => [leaf([2, 1], 72), leaf([2, 2], 73)],
  },
  {
    name: "split and chunk",
    fn: (x) => {
      const [p, q] = x.split([1, 2], 1);
      const [r, s] = x.chunk(2, 0);
      return [p.mul(2), q.exp(), r.mul(s)];
    },
    inputs: () => [leaf([2, 3], 74)],
  },
  {
    name: "sort",
    fn: (x) => x.sort(1, true).values.mul(zn.tensor([1, 2, 3], { dtype: "float64" })),
    inputs: () => [leaf([2, 3], 75)],
  },
  { name: "topk", fn: (x) => x.topk(2, 0).values, inputs: () => [leaf([3, 2], 76)] },
  {
    name: "tril and triu",
    fn: (x) => x.tril(-1).add(x.triu(1).mul(3)),
    inputs: () => [leaf([3, 3], 77)],
  },
  // second order: the gradient of a gradient (reaches rules recorded by backward itself)
  {
    name: "gradient through views (embed)",
    fn: (x) => gradOf((t) => t.select(0, 1).pow(3).sum().add(t.narrow(1, 0, 2).sin().sum()), x),
    inputs: () => [leaf([2, 3], 78)],
  },
  {
    name: "gradient of softmax and matmul",
    fn: (x) =>
      gradOf(
        (t) => t.matmul(t.mT).softmax(1).mul(zn.tensor([1, -2], { dtype: "float64" })).sum(),
        x,
      ),
    inputs: () => [leaf([2, 3], 79)],
  },
  // normalization (the fused layer norm kernel)
  {
    name: "layerNorm with weight and bias",
    fn: (x, w, b) => zn.nn.functional.layerNorm(x, [5], w, b),
    inputs: () => [leaf([3, 5], 90), leaf([5], 91), leaf([5], 92)],
  },
  {
    name: "layerNorm over two dims without affine",
    fn: (x) => zn.nn.functional.layerNorm(x, [2, 9]).mul(x),
    inputs: () => [leaf([2, 2, 9], 93)],
  },
  {
    name: "rmsNorm with weight (the fused kernel without a mean)",
    fn: (x, w) => zn.nn.functional.rmsNorm(x, [5], w),
    inputs: () => [leaf([3, 5], 97), leaf([5], 98)],
  },
  {
    name: "groupNorm with weight and bias (the channel kernels)",
    fn: (x, w, b) => zn.nn.functional.groupNorm(x, 2, w, b),
    inputs: () => [leaf([2, 4, 3], 99), leaf([4], 100), leaf([4], 101)],
  },
  {
    name: "batchNorm training with weight and bias",
    fn: (x, w, b) => zn.nn.functional.batchNorm(x, null, null, w, b, { training: true }),
    inputs: () => [leaf([3, 2, 4], 94), leaf([2], 95), leaf([2], 96)],
  },
  {
    name: "batchNorm evaluation",
    fn: (x, w) =>
      zn.nn.functional.batchNorm(
        x,
        zn.tensor([0.1, -0.2], { dtype: "float64" }),
        zn.tensor([0.5, 2], { dtype: "float64" }),
        w,
        null,
      ).mul(x),
    inputs: () => [leaf([3, 2], 97), leaf([2], 98)],
  },
  {
    name: "crossEntropy (fused) with an ignored row",
    fn: (x) =>
      zn.nn.functional.crossEntropy(x, zn.tensor([2, -100, 0, 3], { dtype: "int64" })).mul(x.sum()),
    inputs: () => [leaf([4, 5], 99)],
  },
  // convolution and pooling (src/nn/functional)
  {
    name: "conv2d with bias, stride and padding",
    fn: (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }),
    inputs: () => [leaf([1, 2, 4, 4], 80), leaf([2, 2, 3, 3], 81), leaf([2], 82)],
  },
  {
    name: "convTranspose2d",
    fn: (x, w, b) => convTranspose2d(x, w, b, { stride: 2 }),
    inputs: () => [leaf([1, 2, 2, 2], 83), leaf([2, 1, 2, 2], 84), leaf([1], 85)],
  },
  { name: "maxPool2d", fn: (x) => maxPool2d(x, 2), inputs: () => [leaf([1, 1, 4, 4], 86)] },
  {
    name: "avgPool2d",
    fn: (x) => avgPool2d(x, 2, { stride: 1 }),
    inputs: () => [leaf([1, 1, 3, 3], 87)],
  },
  {
    name: "adaptiveAvgPool2d",
    fn: (x) => adaptiveAvgPool2d(x, [2, 1]),
    inputs: () => [leaf([1, 1, 3, 3], 88)],
  },
  {
    name: "gradient of maxPool2d",
    fn: (x) => gradOf((t) => maxPool2d(t, 2).pow(2).sum(), x),
    inputs: () => [leaf([1, 1, 4, 4], 89)],
  },
  {
    name: "gradient of avgPool2d",
    fn: (x) => gradOf((t) => avgPool2d(t, 2).pow(3).sum(), x),
    inputs: () => [leaf([1, 1, 4, 4], 90)],
  },
  {
    name: "gradient of adaptiveAvgPool2d",
    fn: (x) => gradOf((t) => adaptiveAvgPool2d(t, 2).pow(3).sum(), x),
    inputs: () => [leaf([1, 1, 3, 3], 91)],
  },
  {
    name: "fused attention (causal)",
    fn: (q, k, v) => zn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true }),
    inputs: () => [leaf([2, 3, 4], 101), leaf([2, 5, 4], 102), leaf([2, 5, 3], 103)],
  },
  {
    name: "fused LSTM layer (both directions), states included",
    fn: (x, h0, c0, wIh, wHh, b) => {
      const w = { wIh, wHh, bIh: b, bHh: null };
      return [
        ...lstmLayerFused(x, h0, c0, w, false),
        ...lstmLayerFused(x, h0, c0, w, true),
      ];
    },
    inputs: () => [
      leaf([3, 2, 2], 111),
      leaf([2, 3], 112),
      leaf([2, 3], 113),
      leaf([12, 2], 114),
      leaf([12, 3], 115),
      leaf([12], 116),
    ],
  },
  {
    name: "fused GRU layer (both directions)",
    fn: (x, h0, wIh, wHh, bIh, bHh) => {
      const w = { wIh, wHh, bIh, bHh };
      return [...gruLayerFused(x, h0, w, false), ...gruLayerFused(x, h0, w, true)];
    },
    inputs: () => [
      leaf([3, 2, 2], 121),
      leaf([2, 3], 122),
      leaf([9, 2], 123),
      leaf([9, 3], 124),
      leaf([9], 125),
      leaf([9], 126),
    ],
  },
  // linear algebra: well-conditioned inputs (a shifted diagonal, a
  // symmetric positive-definite matrix), vectors squared (sign-free)
  { name: "linalg.det", fn: (x) => zn.linalg.det(x), inputs: () => [leaf([2, 3, 3], 140)] },
  {
    name: "linalg.slogdet",
    fn: (x) => zn.linalg.slogdet(x).logabsdet,
    inputs: () => [leaf([3, 3], 141)],
  },
  {
    name: "linalg.inv",
    fn: (x) => zn.linalg.inv(x.add(zn.eye(3, { dtype: "float64" }).mul(2))),
    inputs: () => [leaf([3, 3], 142)],
  },
  {
    name: "linalg.solve",
    fn: (a, b) => zn.linalg.solve(a.add(zn.eye(3, { dtype: "float64" }).mul(2)), b),
    inputs: () => [leaf([2, 3, 3], 143), leaf([3, 2], 144)],
  },
  {
    name: "linalg.cholesky",
    fn: (x) => zn.linalg.cholesky(x.matmul(x.mT).add(zn.eye(3, { dtype: "float64" }))),
    inputs: () => [leaf([3, 3], 145)],
  },
  {
    name: "linalg.qr",
    fn: (x) => {
      const { Q, R } = zn.linalg.qr(x);
      return [Q, R];
    },
    inputs: () => [leaf([4, 3], 146)],
  },
  {
    name: "linalg.eigh",
    fn: (x) => {
      const { eigenvalues, eigenvectors } = zn.linalg.eigh(x.add(x.mT));
      return [eigenvalues, eigenvectors.square()];
    },
    inputs: () => [leaf([3, 3], 147)],
  },
  {
    name: "linalg.eigvalsh",
    fn: (x) => zn.linalg.eigvalsh(x.add(x.mT)),
    inputs: () => [leaf([3, 3], 148)],
  },
  {
    name: "linalg.svd",
    fn: (x) => {
      const { U, S, Vh } = zn.linalg.svd(x, { fullMatrices: false });
      return [U.square(), S, Vh.square()];
    },
    inputs: () => [leaf([4, 3], 149)],
  },
  { name: "linalg.svdvals", fn: (x) => zn.linalg.svdvals(x), inputs: () => [leaf([3, 4], 150)] },
  { name: "linalg.pinv", fn: (x) => zn.linalg.pinv(x), inputs: () => [leaf([3, 4], 151)] },
];

/** The rule names in the graphs of `outs`. */
function rulesIn(outs: Tensor[], into: Set<string>): void {
  const seen = new Set<Node>();
  const stack = outs.map((o) => o.gradFn).filter((n): n is Node => n !== null);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    into.add(n.name);
    for (const e of n.edges) if (e?.node) stack.push(e.node);
  }
}

for (const c of CASES) {
  Deno.test(`gradcheck: ${c.name} matches finite differences`, () => {
    gradcheck(c.fn, c.inputs(), c.opts);
  });
}

Deno.test("gradcheck: every rule in the RULES table has a gradcheck case", () => {
  const covered = new Set<string>();
  for (const c of CASES) {
    const r = c.fn(...c.inputs());
    rulesIn(Array.isArray(r) ? r : [r], covered);
  }
  const missing = Object.keys(RULES).filter((k) => !covered.has(k));
  if (missing.length) {
    throw new Error(`rules without a gradcheck case: ${missing.join(", ")}`);
  }
});

Deno.test("gradcheck: reports a wrong derivative", () => {
  const x = leaf([3], 99);
  // A function whose recorded gradient is wrong: x * stopgrad(x) has derivative x, not 2x.
  let threw = false;
  try {
    gradcheck((t) => t.mul(t.detach()), [x]);
  } catch (e) {
    threw = true;
    if (!/Jacobian mismatch/.test(String(e))) throw e;
  }
  if (!threw) throw new Error("gradcheck accepted a wrong gradient");
});
