/**
 * First-order gradients of every differentiable op against PyTorch: each case
 * of tests/fixtures/grad.json (written by make_grad_fixtures.py) runs the op
 * with its floating inputs requiring grad, back-propagates PyTorch's random
 * upstream gradient and compares the outputs and the input gradients.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertMatches, decode, OPS, type TensorRec, type Tol } from "./fixture_harness.ts";

interface GradCase {
  name: string;
  op: string;
  inputs: unknown[];
  args: Record<string, unknown>;
  grad: number[];
  upstream: (TensorRec | null)[];
  out: TensorRec[];
  grads: TensorRec[];
  tol?: Tol;
}

/** Gradient tolerances: float32 gradients go through a few more roundings than outputs. */
const GRAD_TOL: Record<string, Tol> = {
  float32: { rtol: 1e-5, atol: 1e-5 },
  float64: { rtol: 1e-12, atol: 1e-12 },
};

/** Ops the value fixtures do not have. */
// deno-lint-ignore no-explicit-any
const EXTRA_OPS: Record<string, (x: any[], a: any) => Tensor | Tensor[]> = {
  clampT: (x) => zn.clamp(x[0], x[1], x[2]),
};

/** Cases where Zeno deliberately differs from PyTorch (name: reason). */
const KNOWN: Record<string, string> = {};

function loadGradCases(): GradCase[] {
  const url = new URL("./fixtures/grad.json", import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)).cases as GradCase[];
}

function runGradCase(c: GradCase): void {
  const inputs = c.inputs.map(decode);
  for (const i of c.grad) (inputs[i] as Tensor).requiresGrad_(true);
  const args = decode(c.args) as Record<string, unknown>;
  const fn = OPS[c.op] ?? EXTRA_OPS[c.op];
  if (!fn) throw new Error(`no Zeno op for fixture op ${c.op}`);
  const result = fn(inputs, args);
  const outs = Array.isArray(result) ? result : [result];
  if (outs.length !== c.out.length) {
    throw new Error(`${c.name}: ${outs.length} outputs, PyTorch gave ${c.out.length}`);
  }
  outs.forEach((o, i) => assertMatches(o.detach(), c.out[i], `${c.name} (output ${i})`, c.tol));
  const roots: Tensor[] = [], ups: Tensor[] = [];
  outs.forEach((o, i) => {
    const u = c.upstream[i];
    if (u === null) {
      if (o.requiresGrad) throw new Error(`${c.name}: integer output ${i} requires grad`);
      return;
    }
    if (!o.requiresGrad) throw new Error(`${c.name}: output ${i} does not require grad`);
    roots.push(o);
    ups.push(decode(u) as Tensor);
  });
  const xs = c.grad.map((i) => inputs[i] as Tensor);
  const gs = zn.grad(roots, xs, { gradOutputs: ups, allowUnused: true });
  gs.forEach((g, k) => {
    const x = xs[k];
    const got = g ?? zn.zerosLike(x);
    const tol = GRAD_TOL[c.grads[k].dtype];
    const t = c.tol && tol
      ? { rtol: Math.max(tol.rtol, c.tol.rtol), atol: Math.max(tol.atol, c.tol.atol) }
      : tol;
    assertMatches(got, c.grads[k], `${c.name}: gradient of input ${c.grad[k]}`, t);
  });
}

const cases = loadGradCases();

Deno.test("grad fixtures cover every differentiable op family", () => {
  const ops = new Set(cases.map((c) => c.op));
  const want = [
    "neg",
    "abs",
    "exp",
    "log",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "leakyRelu",
    "elu",
    "gelu",
    "silu",
    "softplus",
    "erf",
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "atan2",
    "remainder",
    "where",
    "clamp",
    "lerp",
    "nanToNum",
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "max",
    "min",
    "var",
    "std",
    "logsumexp",
    "norm",
    "cumsum",
    "cumprod",
    "softmax",
    "logSoftmax",
    "matmul",
    "reshape",
    "transpose",
    "permute",
    "expand",
    "squeeze",
    "unsqueeze",
    "flatten",
    "narrow",
    "select",
    "index",
    "gather",
    "scatter",
    "scatterAdd",
    "indexSelect",
    "maskedFill",
    "cat",
    "stack",
    "split",
    "chunk",
    "sort",
    "topk",
    "tril",
    "triu",
    "to",
    "flip",
    "roll",
    "rot90",
    "repeat",
    "tile",
    "repeatInterleave",
    "movedim",
    "unbind",
    "bmm",
    "baddbmm",
    "addmm",
    "addmv",
    "outer",
    "einsum",
    "diagonal",
    "diag",
    "diagEmbed",
    "trace",
    "kron",
    "cross",
    "cdist",
    "cosineSimilarity",
    "pairwiseDistance",
    "clampMin",
    "logaddexp",
    "xlogy",
    "sinc",
    "hypot",
    "nansum",
    "nanmean",
    "diff",
    "maskedSelect",
    "maskedScatter",
    "take",
    "takeAlongDim",
    "indexAdd",
    "indexCopy",
    "meshgrid",
    "cartesianProd",
    "kthvalue",
    "median",
    "quantile",
    "cummax",
    "cummin",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "fmod",
    "copysign",
    "logcumsumexp",
  ];
  const missing = want.filter((op) => !ops.has(op));
  if (missing.length) throw new Error(`no gradient fixture for ${missing.join(", ")}`);
});

for (const c of cases) {
  Deno.test({
    name: `grad: ${c.name} matches PyTorch`,
    ignore: c.name in KNOWN,
    fn: () => runGradCase(c),
  });
}
