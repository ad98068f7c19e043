/**
 * Attention, the Transformer layers, RMSNorm and rotary embeddings against
 * PyTorch (fixtures from tests/fixtures/make_attention_fixtures.py: outputs
 * and the gradients of inputs and every parameter, PyTorch's weights loaded
 * with loadStateDict), finite-difference gradient checks in float64, the
 * semantics PyTorch documents (dropout only in training, deep-copied layers,
 * default sizes and names) and the errors.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertMatches, decode, type TensorRec } from "./fixture_harness.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

const nn = zn.nn;
const F = zn.nn.functional;

// deno-lint-ignore no-explicit-any
type Args = any;

interface AttnCase {
  name: string;
  kind: "module" | "fn";
  ctor?: string;
  fn?: string;
  args: Args;
  call: Args;
  use: number[];
  train: boolean;
  state: Record<string, TensorRec>;
  inputs: TensorRec[];
  grad: boolean[];
  outs: (TensorRec | null)[];
  gouts: (TensorRec | null)[];
  grads: Record<string, TensorRec>;
  tol: { rtol: number; atol: number };
}

const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/attention.json", import.meta.url)),
) as { cases: AttnCase[]; defaults: Record<string, [string, number[]][]> };

const CTORS: Record<string, (a: Args) => zn.nn.Module> = {
  MultiheadAttention: (a) => new nn.MultiheadAttention(a.embedDim, a.numHeads, a.opts),
  TransformerEncoderLayer: (a) => new nn.TransformerEncoderLayer(a.dModel, a.nhead, a.opts),
  TransformerDecoderLayer: (a) => new nn.TransformerDecoderLayer(a.dModel, a.nhead, a.opts),
  TransformerEncoder: (a) =>
    new nn.TransformerEncoder(
      new nn.TransformerEncoderLayer(a.dModel, a.nhead, a.opts),
      a.numLayers,
      { norm: a.norm ? new nn.LayerNorm(a.dModel) : null },
    ),
  TransformerDecoder: (a) =>
    new nn.TransformerDecoder(
      new nn.TransformerDecoderLayer(a.dModel, a.nhead, a.opts),
      a.numLayers,
      { norm: a.norm ? new nn.LayerNorm(a.dModel) : null },
    ),
  Transformer: (a) => new nn.Transformer(a.dModel, a.nhead, a.opts),
  RMSNorm: (a) => new nn.RMSNorm(a.normalizedShape, a.opts),
};

const FNS: Record<string, (x: Tensor[], a: Args, call: Args) => Tensor> = {
  sdpa: (x, _a, call) => F.scaledDotProductAttention(x[0], x[1], x[2], call),
  rmsNorm: (x, a) => F.rmsNorm(x[0], a.normalizedShape, x[1] ?? null, { eps: a.eps }),
  rotary: (x, a) => F.rotaryEmbedding(x[0], a),
};

function runCase(c: AttnCase): void {
  const args = decode(c.args);
  const call = decode(c.call);
  const inputs = c.inputs.map((r, i) => {
    const t = decode(r) as Tensor;
    return c.grad[i] ? t.requiresGrad_() : t;
  });
  const positional = c.use.map((i) => inputs[i]);
  let module: zn.nn.Module | null = null;
  let result: Tensor | (Tensor | null)[];
  if (c.kind === "module") {
    module = CTORS[c.ctor!](args);
    module.loadStateDict(decode(c.state) as Record<string, Tensor>);
    module.train(c.train);
    // deno-lint-ignore no-explicit-any
    result = (module as any).call(...positional, call);
  } else {
    result = FNS[c.fn!](positional, args, call);
  }
  const outs = Array.isArray(result) ? result : [result];
  assertEquals(outs.length, c.outs.length, `${c.name}: number of outputs`);
  let loss: Tensor | null = null;
  outs.forEach((o, i) => {
    const rec = c.outs[i];
    if (rec === null || o === null) {
      assert(rec === null && o === null, `${c.name}: output ${i} is ${o}, PyTorch's ${rec}`);
      return;
    }
    assertMatches(o, rec, `${c.name}: output ${i}`, c.tol);
    const term = o.mul(decode(c.gouts[i]) as Tensor).sum();
    loss = loss === null ? term : loss.add(term);
  });
  (loss as Tensor | null)!.backward();
  for (const [k, rec] of Object.entries(c.grads)) {
    const g = k.startsWith("input")
      ? inputs[Number(k.slice(5))].grad
      : module!.getParameter(k).grad;
    if (!g) throw new Error(`${c.name}: no gradient for ${k}`);
    assertMatches(g, rec, `${c.name}: grad of ${k}`, c.tol);
  }
  if (module) {
    const keys = Object.keys(module.stateDict()).sort().join();
    const expected = Object.keys(c.state).sort().join();
    assertEquals(keys, expected, `${c.name}: state dict keys`);
  }
}

for (const c of fixture.cases) {
  Deno.test(`attention fixtures: ${c.name} matches PyTorch`, () => runCase(c));
}

Deno.test("attention: default sizes and state-dict names are PyTorch's", () => {
  const make: Record<string, () => zn.nn.Module> = {
    "Transformer": () => new nn.Transformer(),
    "TransformerEncoderLayer(16, 4)": () => new nn.TransformerEncoderLayer(16, 4),
    "TransformerDecoderLayer(16, 4)": () => new nn.TransformerDecoderLayer(16, 4),
    "MultiheadAttention(16, 4, addBiasKv, kdim 6, vdim 5)": () =>
      new nn.MultiheadAttention(16, 4, { addBiasKv: true, kdim: 6, vdim: 5 }),
  };
  for (const [name, expected] of Object.entries(fixture.defaults)) {
    const sd = make[name]().stateDict();
    const got = Object.entries(sd).map(([k, v]) => [k, v.shape]);
    assertEquals(got, expected, name);
  }
});

// ---------------------------------------------------------------- initialisation and copies

Deno.test("MultiheadAttention: PyTorch's initialisation", () => {
  zn.manualSeed(0);
  const mha = new nn.MultiheadAttention(64, 8, { addBiasKv: true });
  const w = mha.inProjWeight!;
  const bound = Math.sqrt(6 / (64 + 3 * 64)); // xavier over [3E, E]
  assert((w.abs().max().item() as number) <= bound, "in_proj_weight within the Xavier bound");
  assert((w.abs().max().item() as number) > 0.9 * bound, "in_proj_weight fills the bound");
  assertEquals(mha.inProjBias!.abs().sum().item(), 0);
  assertEquals(mha.outProj.bias!.abs().sum().item(), 0);
  const kb = 1 / Math.sqrt(64); // out_proj: a Linear's kaiming-uniform(a=√5) bound
  assert((mha.outProj.weight.abs().max().item() as number) <= kb);
  assert((mha.biasK!.abs().sum().item() as number) > 0, "bias_k is Xavier-normal");
  const noBias = new nn.MultiheadAttention(8, 2, { bias: false });
  assertEquals([noBias.inProjBias, noBias.outProj.bias], [null, null]);
});

Deno.test("TransformerEncoder: the layers are deep copies of the layer given", () => {
  const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
  const enc = new nn.TransformerEncoder(layer, 3);
  assertEquals(enc.layers.length, 3);
  const w0 = enc.getParameter("layers.0.linear1.weight");
  const w1 = enc.getParameter("layers.1.linear1.weight");
  assert(w0 !== w1 && w0 !== layer.linear1.weight, "distinct parameters");
  assert(w0.eq(layer.linear1.weight).all().item(), "copied values");
  zn.noGrad(() => w0.add_(1));
  assert(w1.eq(layer.linear1.weight).all().item(), "a copy changes alone");
  assertEquals(new Set([...enc.parameters()]).size, 3 * [...layer.parameters()].length);
  layer.eval();
  const dec = new nn.TransformerDecoder(new nn.TransformerDecoderLayer(8, 2).eval(), 2);
  assert([...dec.layers.modules()].slice(1).every((m) => !m.training), "training mode is copied");
});

Deno.test("Transformer: generateSquareSubsequentMask as PyTorch", () => {
  assertEquals(nn.Transformer.generateSquareSubsequentMask(3).toArray(), [
    [0, -Infinity, -Infinity],
    [0, 0, -Infinity],
    [0, 0, 0],
  ]);
  const m = nn.Transformer.generateSquareSubsequentMask(2, { dtype: "float64" });
  assertEquals(m.dtype, "float64");
  assertEquals(nn.Transformer.generateSquareSubsequentMask(0).shape, [0, 0]);
});

// ---------------------------------------------------------------- dropout

Deno.test("attention: dropout on the weights, only in training for the modules", () => {
  zn.manualSeed(3);
  const q = zn.randn([4, 64, 8]), k = zn.randn([4, 64, 8]), v = zn.ones([4, 64, 1]);
  // With v = 1 every output is the sum of a row's kept weights / (1 - p): 1 on average.
  const out = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.5 });
  const mean = out.mean().item() as number;
  assert(Math.abs(mean - 1) < 0.1, `mean ${mean}`);
  assert((out.sub(1).abs().max().item() as number) > 0.05, "rows differ from 1");
  assertEquals(F.scaledDotProductAttention(q, k, v, { dropoutP: 1 }).abs().sum().item(), 0);
  const mha = new nn.MultiheadAttention(8, 2, { dropout: 0.5 });
  const x = zn.randn([6, 2, 8]);
  const [, wTrain] = mha.call(x, x, x, { averageAttnWeights: false });
  const zeros = wTrain!.eq(0).sum().item() as number;
  assert(zeros > 0.3 * wTrain!.numel, `about half the weights dropped (${zeros})`);
  mha.eval();
  const [o1, w1] = mha.call(x, x, x);
  const [o2] = mha.call(x, x, x);
  assert(o1.eq(o2).all().item(), "eval mode is deterministic");
  const rowSums = w1!.sum(-1);
  assert((rowSums.sub(1).abs().max().item() as number) < 1e-5, "eval weights sum to 1");
});

// ---------------------------------------------------------------- semantics

Deno.test("scaledDotProductAttention: bool masks keep where true, causal is top-left", () => {
  zn.manualSeed(4);
  const q = zn.randn([2, 5, 8]), k = zn.randn([2, 3, 8]), v = zn.randn([2, 3, 4]);
  const tri = zn.ones([5, 3], { dtype: "bool" }).tril();
  const a = F.scaledDotProductAttention(q, k, v, { isCausal: true });
  const b = F.scaledDotProductAttention(q, k, v, { attnMask: tri });
  const c = F.scaledDotProductAttention(q, k, v, {
    attnMask: zn.zeros([5, 3]).maskedFill(tri.logicalNot(), -Infinity),
  });
  // isCausal runs the fused kernel, the masks the composed path: the same
  // values up to rounding.
  assert((a.sub(b).abs().max().item() as number) < 1e-6 && b.sub(c).abs().max().item() === 0);
  // Query 0 sees key 0 only.
  assert((a.index(":", 0).sub(v.index(":", 0)).abs().max().item() as number) < 1e-6);
  // A fully masked row gives zeros and no NaN gradients.
  const qg = q.detach().requiresGrad_(), kg = k.detach().requiresGrad_();
  const none = zn.tensor([
    [true, true, true],
    [false, false, false],
    [true, false, true],
    [true, true, false],
    [false, true, true],
  ]);
  const out = F.scaledDotProductAttention(qg, kg, v, { attnMask: none });
  assertEquals(out.index(":", 1).abs().sum().item(), 0);
  out.sum().backward();
  assert(!qg.grad!.isnan().any().item() && !kg.grad!.isnan().any().item(), "finite gradients");
  assertEquals(qg.grad!.index(":", 1).abs().sum().item(), 0);
});

Deno.test("rotaryEmbedding: relative positions, norms kept, documented layouts", () => {
  zn.manualSeed(5);
  const q = zn.randn([1, 8], { dtype: "float64" }), k = zn.randn([1, 8], { dtype: "float64" });
  const dot = (i: number, j: number) =>
    F.rotaryEmbedding(q, { positions: [i] }).mul(F.rotaryEmbedding(k, { positions: [j] })).sum()
      .item() as number;
  assert(Math.abs(dot(3, 1) - dot(12, 10)) < 1e-12, "depends on i - j only");
  const x = zn.randn([2, 5, 6]);
  for (const interleaved of [false, true]) {
    const y = F.rotaryEmbedding(x, { interleaved });
    assert((y.norm(2, -1).sub(x.norm(2, -1)).abs().max().item() as number) < 1e-5);
  }
  // Half-split: feature i pairs with i + D/2; position 1 rotates pair 0 by 1 radian.
  const e0 = zn.tensor([[0, 0, 0, 0], [1, 0, 0, 0]]);
  const r = F.rotaryEmbedding(e0).toArray() as number[][];
  assert(Math.abs(r[1][0] - Math.cos(1)) < 1e-6 && Math.abs(r[1][2] - Math.sin(1)) < 1e-6);
  const ri = F.rotaryEmbedding(e0, { interleaved: true }).toArray() as number[][];
  assert(Math.abs(ri[1][0] - Math.cos(1)) < 1e-6 && Math.abs(ri[1][1] - Math.sin(1)) < 1e-6);
});

Deno.test("RMSNorm: eps defaults to the dtype's machine epsilon", () => {
  const x = zn.full([4], 1e-3);
  const y = F.rmsNorm(x, [4]).index(0).item() as number;
  const eps32 = 2 ** -23;
  assert(Math.abs(y - 1e-3 / Math.sqrt(1e-6 + eps32)) < 1e-6, `float32: ${y}`);
  const y64 = F.rmsNorm(x.to("float64"), [4]).index(0).item() as number;
  assert(Math.abs(y64 - 1 / Math.sqrt(1 + 2 ** -52 / 1e-6)) < 1e-12, `float64: ${y64}`);
  const yh = F.rmsNorm(x.to("float16"), [4]);
  assertEquals(yh.dtype, "float16");
  assert(Math.abs((yh.index(0).item() as number) - 0.9453) < 1e-3, "float16 uses float32's eps");
  assertEquals(new nn.RMSNorm(4, { elementwiseAffine: false }).weight, null);
});

// ---------------------------------------------------------------- gradient checks

Deno.test("gradcheck: scaledDotProductAttention in float64", () => {
  zn.manualSeed(6);
  const r = (shape: number[]) => zn.randn(shape, { dtype: "float64" }).requiresGrad_();
  const gc = zn.autograd.gradcheck;
  const [q, k, v] = [r([2, 2, 4, 3]), r([2, 2, 5, 3]), r([2, 2, 5, 2])];
  assert(gc((a, b, c) => F.scaledDotProductAttention(a, b, c), [q, k, v]));
  assert(gc((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true }), [q, k, v]));
  const fmask = zn.randn([4, 5], { dtype: "float64" });
  assert(gc((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: fmask }), [q, k, v]));
  const keep = zn.tensor([
    [true, false, true, true, false],
    [false, false, false, false, false],
    [true, true, true, true, true],
    [false, true, false, false, false],
  ]);
  assert(
    gc((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: keep, scale: 0.7 }), [
      q,
      k,
      v,
    ]),
  );
  const [qg, kg, vg] = [r([1, 4, 3, 2]), r([1, 2, 4, 2]), r([1, 2, 4, 3])];
  assert(gc((a, b, c) => F.scaledDotProductAttention(a, b, c, { enableGqa: true }), [qg, kg, vg]));
});

Deno.test("gradcheck: MultiheadAttention, RMSNorm and rotary embeddings in float64", () => {
  zn.manualSeed(7);
  const gc = zn.autograd.gradcheck;
  const r = (shape: number[]) => zn.randn(shape, { dtype: "float64" }).requiresGrad_();
  const mha = new nn.MultiheadAttention(4, 2, { dtype: "float64", kdim: 3, vdim: 5 });
  const kpm = zn.tensor([[false, false, true], [false, false, false]]);
  assert(
    gc(
      (q, k, v) => mha.call(q, k, v, { keyPaddingMask: kpm })[0],
      [r([2, 2, 4]), r([3, 2, 3]), r([3, 2, 5])],
    ),
  );
  const w = r([3]);
  assert(gc((x, g) => F.rmsNorm(x, [3], g), [r([2, 3]), w]));
  assert(gc((x) => F.rotaryEmbedding(x, { interleaved: true }), [r([2, 3, 4])]));
});

// ---------------------------------------------------------------- errors

Deno.test("attention: clear errors for bad shapes, dtypes and options", () => {
  const q = zn.randn([2, 4, 8]), k = zn.randn([2, 5, 8]), v = zn.randn([2, 5, 8]);
  const sdpa = F.scaledDotProductAttention;
  assertThrows(() => sdpa(q, zn.randn([2, 5, 7]), v), RangeError, "query's last dim (8)");
  assertThrows(() => sdpa(q, k, zn.randn([2, 6, 8])), RangeError, "same sequence length");
  assertThrows(() => sdpa(zn.randn([8]), k, v), RangeError, "at least 2-D");
  assertThrows(() => sdpa(zn.randn([3, 4, 8]), k, v), RangeError, "cannot be broadcast");
  assertThrows(
    () => sdpa(q, k, v, { attnMask: zn.zeros([4, 6]) }),
    RangeError,
    "scaledDotProductAttention",
  );
  assertThrows(
    () => sdpa(q, k, v, { attnMask: zn.zeros([4, 5]), isCausal: true }),
    Error,
    "should not be set when isCausal",
  );
  assertThrows(
    () => sdpa(q, k, v, { attnMask: zn.zeros([4, 5], { dtype: "float64" }) }),
    TypeError,
    "bool or of the query's dtype",
  );
  assertThrows(
    () => sdpa(q, k, v, { attnMask: zn.zeros([3, 2, 4, 5]) }),
    RangeError,
    "cannot be broadcast to the scores' [2, 4, 5]",
  );
  assertThrows(() => sdpa(q, k, v, { scale: "1" as never }), TypeError, "scale");
  assertThrows(
    () => sdpa(zn.randn([4, 8]), zn.randn([5, 8]), zn.randn([5, 8]), { enableGqa: true }),
    RangeError,
    "heads dim",
  );
  assertThrows(() => sdpa(q.to("int64"), k, v), TypeError, "floating dtype");
  assertThrows(() => sdpa(q, k, v, { dropoutP: 1.5 }), RangeError, "between 0 and 1");
  assertThrows(
    () =>
      sdpa(zn.randn([1, 4, 3, 8]), zn.randn([1, 3, 5, 8]), zn.randn([1, 3, 5, 8]), {
        enableGqa: true,
      }),
    RangeError,
    "must divide",
  );
  assertThrows(
    () => sdpa(q, k, v, { is_causal: true } as never),
    TypeError,
    'did you mean "isCausal"',
  );
  assertThrows(() => sdpa(q, k, v, { isCausal: 1 } as never), TypeError, "isCausal");

  assertThrows(() => new nn.MultiheadAttention(10, 4), RangeError, "divisible by numHeads");
  assertThrows(() => new nn.MultiheadAttention(0, 1), RangeError, "embedDim");
  assertThrows(
    () => new nn.MultiheadAttention(8, 2, { batch_first: true } as never),
    TypeError,
    "batchFirst",
  );
  assertThrows(() => new nn.MultiheadAttention(8, 2, { dropout: 2 }), RangeError, "dropout");
  const mha = new nn.MultiheadAttention(8, 2);
  assertEquals(
    String(mha).split("\n")[0],
    "MultiheadAttention(embedDim=8, numHeads=2, batchFirst=false",
  );
  const x = zn.randn([5, 3, 8]);
  assertThrows(() => mha.call(x, zn.randn([5, 3, 6]), x), RangeError, "8 and 8 features");
  assertThrows(
    () => mha.call(x, x, x, { keyPaddingMask: zn.zeros([5], { dtype: "bool" }) }),
    RangeError,
    "keyPaddingMask to be null or 2-D",
  );
  assertThrows(
    () => mha.call(x, x, x, { attnMask: zn.zeros([1, 6, 5, 5]) }),
    RangeError,
    "attnMask to be null, 2-D or 3-D",
  );
  const u = zn.randn([5, 8]);
  assertThrows(
    () => mha.call(u, u, u, { attnMask: zn.zeros([3, 5, 5]) }),
    RangeError,
    "attnMask of shape [2, 5, 5]",
  );
  assertThrows(() => mha.call(x, x, x, { need_weights: false } as never), TypeError, "needWeights");
  assertThrows(() => mha.call(x, x, x, { isCausal: true }), Error, "needs attnMask");
  assertThrows(() => mha.call(zn.randn([5, 3, 6]), x, x), RangeError, "embedding dimension of 8");
  assertThrows(
    () => mha.call(x, zn.randn([5, 8]), x),
    RangeError,
    "expected key and value to be 3-D",
  );
  assertThrows(
    () => mha.call(zn.randn([2, 5, 3, 8]), x, x),
    RangeError,
    "unbatched 2-D or batched 3-D",
  );
  assertThrows(
    () => mha.call(x, x, x, { keyPaddingMask: zn.zeros([3, 4], { dtype: "bool" }) }),
    RangeError,
    "keyPaddingMask of shape [3, 5]",
  );
  assertThrows(
    () => mha.call(x, x, x, { attnMask: zn.zeros([5, 4], { dtype: "bool" }) }),
    RangeError,
    "should be [5, 5]",
  );
  assertThrows(
    () => mha.call(x, x, x, { attnMask: zn.zeros([5, 5], { dtype: "int64" }) }),
    TypeError,
    "bool or float32",
  );
  assertThrows(() => mha.call(x.to("float64"), x, x), TypeError, "parameters' dtype float32");
  assertThrows(
    () => mha.call(x, zn.randn([5, 2, 8]), zn.randn([5, 2, 8])),
    RangeError,
    "batch size",
  );

  assertThrows(() => new nn.TransformerEncoderLayer(10, 4), RangeError, "divisible by nhead");
  assertThrows(
    () => new nn.TransformerEncoderLayer(8, 2, { dim_feedforward: 4 } as never),
    TypeError,
    "dimFeedforward",
  );
  assertThrows(
    () => new nn.TransformerEncoderLayer(8, 2, { activation: "tanh" as never }),
    TypeError,
    "activation",
  );
  const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 8 });
  assertThrows(() => layer.call(x, { src_mask: null } as never), TypeError, "srcMask");
  assertThrows(() => layer.call(x, { srcMask: 3 } as never), TypeError, "srcMask");
  assertThrows(
    () => new nn.TransformerEncoder(mha as never, 2),
    TypeError,
    "TransformerEncoderLayer",
  );
  assertThrows(() => new nn.TransformerEncoder(layer, 0), RangeError, "numLayers");
  assertThrows(
    () =>
      new nn.TransformerEncoder(layer, 1).call(x, { mask: zn.zeros([5, 5], { dtype: "int64" }) }),
    TypeError,
    "only bool and floating types of mask",
  );
  assertThrows(
    () =>
      new nn.TransformerDecoder(new nn.TransformerDecoderLayer(8, 2), 1).call(x, x, {
        tgtMask: zn.zeros([5, 5], { dtype: "int64" }),
      }),
    TypeError,
    "bool or float32",
  );
  assertThrows(() => new nn.TransformerEncoder(layer, 2, { norm: 3 } as never), TypeError, "norm");
  assertThrows(
    () => new nn.Transformer(8, 2, { numLayers: 2 } as never),
    TypeError,
    "unknown option",
  );
  const tr = new nn.Transformer(8, 2, {
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    dimFeedforward: 8,
  });
  assertThrows(() => tr.call(x, zn.randn([4, 2, 8])), RangeError, "batch number");
  assertThrows(() => tr.call(x, zn.randn([4, 3, 6])), RangeError, "feature number");
  assertThrows(() => tr.call(x, undefined as never), TypeError, "tgt");

  assertThrows(() => new nn.RMSNorm(4, { epsilon: 1 } as never), TypeError, "unknown option");
  assertThrows(() => F.rmsNorm(zn.randn([2, 3]), [4]), RangeError, "normalizedShape=[4]");
  assertThrows(() => F.rmsNorm(zn.randn([2, 3]), [3], zn.ones([4])), RangeError, "weight");
  assertThrows(() => F.rotaryEmbedding(zn.randn([2, 5])), RangeError, "even last dim");
  assertThrows(() => F.rotaryEmbedding(zn.randn([2, 4]), { base: -1 }), RangeError, "base");
  assertThrows(() => F.rotaryEmbedding(zn.randn([4])), RangeError, "[..., L, D]");
  assertThrows(() => F.rotaryEmbedding(zn.ones([2, 4], { dtype: "int64" })), TypeError, "floating");
  assertThrows(
    () => F.rotaryEmbedding(zn.randn([2, 4]), { positions: zn.ones([2], { dtype: "bool" }) }),
    TypeError,
    "positions",
  );
  assertThrows(
    () => F.rotaryEmbedding(zn.randn([2, 4]), { positions: "01" as never }),
    TypeError,
    "positions",
  );
  assertThrows(
    () => F.rotaryEmbedding(zn.randn([2, 4]), { positions: [1, 2, 3] }),
    RangeError,
    "positions",
  );
  assertThrows(
    () => F.rotaryEmbedding(zn.randn([2, 4]), { theta: 3 } as never),
    TypeError,
    "unknown option",
  );
  assertThrows(() => nn.Transformer.generateSquareSubsequentMask(-1), RangeError, "n");
});
