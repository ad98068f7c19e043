/**
 * zn.models.GPT2 against Hugging Face's transformers (fixtures from
 * tests/fixtures/make_gpt2_fixtures.py: tiny random GPT-2 folders written by
 * `save_pretrained`, their logits, the gradients of a next-token loss and
 * greedy continuations from `generate(do_sample=False)`), the KV cache
 * against recomputing the prefix, state-dict round trips, Hugging Face's
 * file variants, and the errors.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

interface Rec {
  shape: number[];
  values: number[];
}

interface Reference {
  config: string;
  state_dict_shapes: Record<string, number[]>;
  num_parameters: number;
  batch_ids: number[][];
  batch_logits: Rec;
  single_ids: number[];
  single_logits: Rec;
  loss?: number;
  grads?: Record<string, Rec>;
  greedy: {
    max_new_tokens_batch: number;
    max_new_tokens_single: number;
    batch: number[][];
    single: number[];
    margin: number;
  };
}

const REF = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/gpt2.json", import.meta.url)),
) as Record<"tiny" | "variant", Reference>;
const dirOf = (name: string) => new URL(`./fixtures/gpt2/${name}/`, import.meta.url);
const NAMES = ["tiny", "variant"] as const;

const TINY = { vocabSize: 101, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 };

function ids2d(rows: number[][]): Tensor {
  return zn.tensor(rows.map((r) => r.map(BigInt)));
}

function ids1d(row: number[]): Tensor {
  return zn.tensor(row.map(BigInt));
}

function asNumbers(t: Tensor): number[] {
  return Array.from(t.to("float64").toTypedArray() as Float64Array);
}

/** The largest |a - b| over matching elements (shapes must agree). */
function maxAbsDiff(got: Tensor, want: Rec): number {
  assertEquals(got.shape, want.shape, "shape");
  const a = asNumbers(got);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - want.values[i]));
  return m;
}

function assertClose(got: Tensor, want: Rec, tol: number, what: string): number {
  const d = maxAbsDiff(got, want);
  assert(d <= tol, `${what}: max abs difference ${d} > ${tol}`);
  return d;
}

function idsOf(t: Tensor): number[] | number[][] {
  const v = t.toArray() as unknown;
  const conv = (x: unknown): unknown => Array.isArray(x) ? x.map(conv) : Number(x);
  return conv(v) as number[] | number[][];
}

const models = new Map<string, zn.models.GPT2>();
async function pretrained(name: string): Promise<zn.models.GPT2> {
  let m = models.get(name);
  if (!m) {
    m = await zn.models.GPT2.fromPretrained(dirOf(name));
    models.set(name, m);
  }
  return m;
}

async function rejects(fn: () => Promise<unknown>, includes: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof Error, `expected an Error, got ${e}`);
    assert(e.message.includes(includes), `message "${e.message}" lacks "${includes}"`);
    return e;
  }
  throw new Error(`expected a rejection including "${includes}"`);
}

// ------------------------------------------------------------------ reference logits

for (const name of NAMES) {
  Deno.test(`gpt2 ${name}: fromPretrained gives transformers' logits (batched and unbatched)`, async () => {
    const ref = REF[name];
    const model = await pretrained(name);
    assert(!model.training, "fromPretrained returns an eval-mode model");
    const db = assertClose(model.call(ids2d(ref.batch_ids)), ref.batch_logits, 1e-4, "batched");
    const ds = assertClose(model.call(ids1d(ref.single_ids)), ref.single_logits, 1e-4, "single");
    console.log(
      `  ${name}: logits max abs difference ${db.toExponential(2)} (batched), ${
        ds.toExponential(2)
      } (unbatched)`,
    );
  });

  Deno.test(`gpt2 ${name}: state-dict names and shapes are transformers'`, async () => {
    const ref = REF[name];
    const model = await pretrained(name);
    const sd = model.stateDict();
    assertEquals(
      Object.keys(sd).sort(),
      Object.keys(ref.state_dict_shapes).sort(),
      "state-dict keys",
    );
    for (const [k, shape] of Object.entries(ref.state_dict_shapes)) {
      assertEquals(sd[k].shape, shape, k);
    }
    assertEquals(model.numParameters(), ref.num_parameters);
  });

  Deno.test(`gpt2 ${name}: gradients of the next-token loss match PyTorch`, async () => {
    const ref = REF[name];
    const model = await pretrained(name);
    model.zeroGrad();
    const ids = ids2d(ref.batch_ids);
    const logits = model.call(ids);
    const [B, T, V] = logits.shape;
    const loss = zn.nn.functional.crossEntropy(
      logits.narrow(1, 0, T - 1).reshape([-1, V]),
      ids.narrow(1, 1, T - 1).reshape([-1]),
    );
    assert(B === ref.batch_ids.length);
    const dl = Math.abs((loss.item() as number) - ref.loss!);
    assert(dl < 1e-4, `loss ${loss.item()} vs ${ref.loss}`);
    loss.backward();
    for (const [k, want] of Object.entries(ref.grads!)) {
      const p = model.getParameter(k);
      assert(p.grad !== null, `${k} has no gradient`);
      const scale = Math.max(1, ...want.values.map(Math.abs));
      assertClose(p.grad, want, 1e-4 * scale, `grad of ${k}`);
    }
    model.zeroGrad();
  });

  Deno.test(`gpt2 ${name}: greedy generation equals transformers' generate(do_sample=False)`, async () => {
    const ref = REF[name];
    const model = await pretrained(name);
    const g = ref.greedy;
    assert(g.margin > 1e-3, "the reference's greedy choices are not near-ties");
    const batch = ids2d(ref.batch_ids);
    const single = ids1d(ref.single_ids);
    for (const useCache of [true, false]) {
      const out = model.generate(batch, {
        maxNewTokens: g.max_new_tokens_batch,
        temperature: 0,
        useCache,
      });
      assertEquals(out.dtype, "int64");
      assertEquals(idsOf(out), g.batch, `batch, useCache ${useCache}`);
      const out1 = model.generate(single, {
        maxNewTokens: g.max_new_tokens_single,
        temperature: 0,
        useCache,
      });
      assertEquals(idsOf(out1), g.single, `single, useCache ${useCache}`);
    }
    // topK 1 is greedy too.
    const k1 = model.generate(batch, { maxNewTokens: g.max_new_tokens_batch, topK: 1 });
    assertEquals(idsOf(k1), g.batch, "topK 1");
  });
}

// ------------------------------------------------------------------ generation and the cache

Deno.test("gpt2: generation runs to nPositions + 1 tokens, as transformers', and refuses more", async () => {
  const model = await pretrained("tiny");
  const ids = ids2d(REF.tiny.batch_ids); // 8 tokens, nPositions 32
  assertEquals(model.generate(ids, { maxNewTokens: 25, temperature: 0 }).shape, [2, 33]);
  assertThrows(
    () => model.generate(ids, { maxNewTokens: 26, temperature: 0 }),
    RangeError,
    "exceeds the model's 32 positions",
  );
  assertThrows(() => model.call(zn.zeros([1, 33], { dtype: "int64" })), RangeError, "32 positions");
  assertEquals(model.generate(ids, { maxNewTokens: 0 }).shape, [2, 8]);
});

Deno.test("gpt2: logits with the KV cache equal those of the whole sequence", async () => {
  const model = await pretrained("tiny");
  const ids = ids2d(REF.tiny.batch_ids);
  const full = model.call(ids);
  const cache = new zn.models.KVCache();
  // A prompt of 3, one token, then a chunk of 4 after the past (the bottom-right causal mask).
  const parts = [model.call(ids.narrow(1, 0, 3), cache), model.call(ids.narrow(1, 3, 1), cache)];
  assertEquals(cache.getSeqLength(), 4);
  assertEquals(cache.numLayers, 2);
  parts.push(model.call(ids.narrow(1, 4, 4), cache));
  const stitched = zn.cat(parts, 1);
  const d = stitched.sub(full).abs().max().item() as number;
  assert(d < 1e-5, `cached logits differ by ${d}`);
  assertThrows(() => model.call(ids.narrow(1, 0, 1).expand([3, 1]), cache), RangeError, "match");
  cache.dispose();
  assertEquals(cache.getSeqLength(), 0);
});

Deno.test("gpt2: sampling with a seeded generator draws the same tokens with and without the cache", async () => {
  const model = await pretrained("tiny");
  const ids = ids2d(REF.tiny.batch_ids);
  const opts = { maxNewTokens: 12, temperature: 0.9, topK: 20, topP: 0.95 };
  const a = model.generate(ids, { ...opts, generator: new zn.Generator(7) });
  const b = model.generate(ids, { ...opts, generator: new zn.Generator(7), useCache: false });
  const c = model.generate(ids, { ...opts, generator: new zn.Generator(7) });
  assertEquals(idsOf(a), idsOf(b));
  assertEquals(idsOf(a), idsOf(c));
  assertEquals(idsOf(a.narrow(1, 0, 8)), REF.tiny.batch_ids, "the prompt is kept");
});

Deno.test("gpt2: KVCache.update appends along the sequence and checks its inputs", () => {
  const cache = new zn.models.KVCache();
  const [k0] = cache.update(zn.ones([1, 2, 3, 4]), zn.ones([1, 2, 3, 4]), 0);
  assertEquals(k0.shape, [1, 2, 3, 4]);
  const [k1, v1] = cache.update(zn.zeros([1, 2, 1, 4]), zn.zeros([1, 2, 1, 4]), 0);
  assertEquals([k1.shape, v1.shape], [[1, 2, 4, 4], [1, 2, 4, 4]]);
  assertEquals(asNumbers(k1.sum([0, 1, 3])), [8, 8, 8, 0]);
  assert(k0.isDisposed, "a replaced key is released at once outside autograd");
  assertThrows(
    () => cache.update(zn.ones([1, 2, 1, 4]), zn.ones([1, 2, 1, 4]), 2),
    RangeError,
    "in order",
  );
  assertThrows(
    () => cache.update(zn.ones([1, 3, 1, 4]), zn.ones([1, 3, 1, 4]), 0),
    RangeError,
    "does not match",
  );
  assertThrows(
    () => cache.update(zn.ones([1, 2, 1, 4]), zn.ones([1, 2, 2, 4]), 0),
    RangeError,
    "same sequence",
  );
  assertThrows(
    () => cache.update(zn.ones([1, 2, 1, 4], { dtype: "float64" }), zn.ones([1, 2, 1, 4]), 0),
    TypeError,
    "float64",
  );
  assertThrows(() => cache.update(null as never, zn.ones([1]), 0), TypeError, "key");
  // The cache keeps its tensors beyond a tidy scope.
  zn.tidy(() => {
    cache.update(zn.ones([1, 2, 1, 4]), zn.ones([1, 2, 1, 4]), 1);
  });
  assertEquals(cache.getSeqLength(1), 1);
  assertEquals(asNumbers(cache.update(zn.ones([1, 2, 1, 4]), zn.ones([1, 2, 1, 4]), 1)[0].sum()), [
    16,
  ]);
  cache.dispose();
});

// ------------------------------------------------------------------ state dicts and files

Deno.test("gpt2: a state-dict round trip through zn.save keeps the logits identical", async () => {
  const model = new zn.models.GPT2(TINY, { generator: new zn.Generator(3) }).eval();
  const ids = ids2d(REF.tiny.batch_ids);
  const before = model.call(ids);
  const dir = await Deno.makeTempDir({ prefix: "zeno-gpt2-" });
  try {
    const file = `${dir}/model.safetensors`;
    await zn.save(model.stateDict(), file);
    const fresh = new zn.models.GPT2(TINY).eval();
    const b = asNumbers(before);
    assert(asNumbers(fresh.call(ids)).some((v, i) => v !== b[i]), "a fresh model differs");
    fresh.loadStateDict(await zn.load(file));
    assertEquals(asNumbers(fresh.call(ids)), asNumbers(before));
    // The file has transformers' names: lm_head.weight is written as well (tied).
    const keys = Object.keys(await zn.load(file)).sort();
    assertEquals(keys, Object.keys(REF.tiny.state_dict_shapes).sort());
    assert(fresh.lmHead.weight === fresh.transformer.wte.weight, "still tied");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gpt2: a wrong shape or a missing key fails clearly and leaves the model unchanged", async () => {
  const file = await zn.load(new URL("model.safetensors", dirOf("tiny")));
  const model = new zn.models.GPT2(TINY, { generator: new zn.Generator(4) }).eval();
  const ids = ids2d(REF.tiny.batch_ids);
  const before = asNumbers(model.call(ids));
  const wrong = { ...file, "transformer.wpe.weight": zn.zeros([16, 32]) };
  assertThrows(
    () => model.loadStateDict(wrong),
    Error,
    "size mismatch for transformer.wpe.weight: copying a param with shape [16, 32]",
  );
  assertEquals(asNumbers(model.call(ids)), before, "unchanged after a wrong shape");
  const missing: Record<string, Tensor> = { ...file };
  delete missing["transformer.h.1.ln_2.bias"];
  assertThrows(
    () => model.loadStateDict(missing),
    Error,
    'Missing key(s) in state_dict: "transformer.h.1.ln_2.bias"',
  );
  assertEquals(asNumbers(model.call(ids)), before, "unchanged after a missing key");
  const extra = { ...file, "transformer.h.0.attn.q_attn.weight": zn.zeros([2]) };
  assertThrows(() => model.loadStateDict(extra), Error, "Unexpected key(s)");
  assertEquals(asNumbers(model.call(ids)), before, "unchanged after an unexpected key");
  // Through fromPretrained: the file and the reason are named.
  const dir = await Deno.makeTempDir({ prefix: "zeno-gpt2-" });
  try {
    await Deno.copyFile(new URL("config.json", dirOf("tiny")), `${dir}/config.json`);
    await zn.save(missing, `${dir}/model.safetensors`);
    const e = await rejects(() => zn.models.GPT2.fromPretrained(dir), "do not fit");
    assert(e.message.includes("transformer.h.1.ln_2.bias"), e.message);
    await zn.save(wrong, `${dir}/model.safetensors`);
    await rejects(() => zn.models.GPT2.fromPretrained(dir), "size mismatch");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gpt2: older and base-model files load (attn.bias buffers, no transformer. prefix, lm_head present)", async () => {
  const ref = REF.tiny;
  const file = await zn.load(new URL("model.safetensors", dirOf("tiny")));
  const ids = ids2d(ref.batch_ids);
  // GPT2Model's names, with the causal-mask buffers older transformers wrote.
  const base: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(file)) base[k.replace(/^transformer\./, "")] = v;
  for (const i of [0, 1]) {
    base[`h.${i}.attn.bias`] = zn.ones([1, 1, 32, 32]).tril().to("uint8");
    base[`h.${i}.attn.masked_bias`] = zn.tensor(-1e4);
  }
  const m1 = new zn.models.GPT2(TINY).eval();
  const r = m1.loadStateDict(base);
  assertEquals(r, { missingKeys: [], unexpectedKeys: [] });
  assertClose(m1.call(ids), ref.batch_logits, 1e-4, "base-model file");
  // A file with lm_head.weight (what zn.save writes) loads into a tied model too.
  const m2 = new zn.models.GPT2(TINY).eval();
  m2.loadStateDict(
    new Map(Object.entries({ ...file, "lm_head.weight": file["transformer.wte.weight"] })),
  );
  assertClose(m2.call(ids), ref.batch_logits, 1e-4, "with lm_head.weight");
  // Untied: lm_head.weight is required.
  const untied = new zn.models.GPT2({ ...TINY, tieWordEmbeddings: false });
  assert(untied.lmHead.weight !== untied.transformer.wte.weight);
  assertThrows(() => untied.loadStateDict(file), Error, '"lm_head.weight"');
});

Deno.test("gpt2: fromPretrained reads URLs and paths, converts dtypes, and names what is wrong", async () => {
  const path = dirOf("variant").pathname;
  const m = await zn.models.GPT2.fromPretrained(path.replace(/\/$/, ""), { dtype: "float64" });
  assertEquals(m.lmHead.weight.dtype, "float64");
  assertClose(m.call(ids2d(REF.variant.batch_ids)), REF.variant.batch_logits, 1e-4, "float64");
  await rejects(() => zn.models.GPT2.fromPretrained("/nonexistent/gpt2"), "cannot read");
  await rejects(
    () => zn.models.GPT2.fromPretrained(3 as never),
    "expected dir to be a string or URL",
  );
  await rejects(
    () => zn.models.GPT2.fromPretrained(path, { dtype: "int64" }),
    'expected dtype to be "float32" or "float64"',
  );
  await rejects(
    () => zn.models.GPT2.fromPretrained(path, { device_map: "auto" } as never),
    "unknown option",
  );
  const dir = await Deno.makeTempDir({ prefix: "zeno-gpt2-" });
  try {
    await Deno.writeTextFile(`${dir}/config.json`, "{ not json");
    await rejects(() => zn.models.GPT2.fromPretrained(dir), "is not valid JSON");
    const config = JSON.parse(await Deno.readTextFile(new URL("config.json", dirOf("tiny"))));
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    await rejects(() => zn.models.GPT2.fromPretrained(dir), "cannot load");
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, "{}");
    await rejects(() => zn.models.GPT2.fromPretrained(dir), "sharded checkpoint");
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ ...config, add_cross_attention: true }),
    );
    await rejects(() => zn.models.GPT2.fromPretrained(dir), "add_cross_attention");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------------ configs, init, errors

Deno.test("gpt2: configFromJson reads transformers' keys and defaults and refuses what it cannot run", () => {
  const c = zn.models.GPT2.configFromJson({
    model_type: "gpt2",
    architectures: ["GPT2LMHeadModel"],
  });
  assertEquals(c, {
    vocabSize: 50257,
    nPositions: 1024,
    nEmbd: 768,
    nLayer: 12,
    nHead: 12,
    nInner: null,
    activationFunction: "gelu_new",
    residPdrop: 0.1,
    embdPdrop: 0.1,
    attnPdrop: 0.1,
    layerNormEpsilon: 1e-5,
    initializerRange: 0.02,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    reorderAndUpcastAttn: false,
    tieWordEmbeddings: true,
  });
  const aliased = zn.models.GPT2.configFromJson({
    hidden_size: 64,
    num_hidden_layers: 3,
    num_attention_heads: 8,
  });
  assertEquals([aliased.nEmbd, aliased.nLayer, aliased.nHead], [64, 3, 8]);
  const cf = zn.models.GPT2.configFromJson;
  assertThrows(() => cf({ model_type: "llama" }), TypeError, 'not "gpt2"');
  assertThrows(() => cf({ activation_function: "mish" }), TypeError, "unsupported");
  assertThrows(() => cf({ n_embd: 30, n_head: 4 }), RangeError, "divisible");
  assertThrows(() => cf({ attn_pdrop: 2 }), RangeError, "config.json's attn_pdrop");
  assertThrows(() => cf({ n_embd: 64, hidden_size: 32 }), RangeError, "alias");
  assertThrows(() => cf(null as never), TypeError, "expected json to be an object");
});

Deno.test("gpt2: a new model has transformers' initialisation and tied weights", () => {
  const config = { vocabSize: 500, nPositions: 64, nEmbd: 64, nLayer: 4, nHead: 4 };
  const model = new zn.models.GPT2(config, { generator: new zn.Generator(0) });
  assert(model.training);
  assert(model.lmHead.weight === model.transformer.wte.weight, "tied");
  const std = (t: Tensor) => t.std().item() as number;
  const near = (v: number, want: number, what: string) =>
    assert(Math.abs(v - want) < 0.1 * want, `${what}: std ${v}, expected ${want}`);
  near(std(model.transformer.wte.weight), 0.02, "wte");
  near(std(model.transformer.wpe.weight), 0.02, "wpe");
  const block = model.transformer.h.at(1) as zn.models.GPT2Block;
  near(std(block.attn.cAttn.weight), 0.02, "c_attn");
  near(std(block.mlp.cFc.weight), 0.02, "c_fc");
  near(std(block.attn.cProj.weight), 0.02 / Math.sqrt(8), "attn c_proj");
  near(std(block.mlp.cProj.weight), 0.02 / Math.sqrt(8), "mlp c_proj");
  assertEquals(block.attn.cAttn.bias.abs().max().item(), 0);
  assertEquals(asNumbers(block.ln1.weight!.sum()), [64]);
  // The same generator seed gives the same model.
  const again = new zn.models.GPT2(config, { generator: new zn.Generator(0) });
  assertEquals(asNumbers(again.transformer.wte.weight), asNumbers(model.transformer.wte.weight));
  assertEquals(model.config.nInner, 256);
  // Parameters are listed once (the tied head), as PyTorch's parameters().
  const names = [...model.namedParameters()].map(([k]) => k);
  assert(!names.includes("lm_head.weight"));
  assertEquals(names.length, 2 + 4 * 12 + 2);
});

Deno.test("gpt2: training steps lower the loss and dropout applies only in training", () => {
  zn.manualSeed(0);
  const model = new zn.models.GPT2({ ...TINY, nLayer: 1 });
  const ids = ids2d(REF.tiny.batch_ids);
  const a = asNumbers(model.call(ids)), b = asNumbers(model.call(ids));
  assert(a.some((v, i) => v !== b[i]), "dropout in training mode");
  model.eval();
  assertEquals(asNumbers(model.call(ids)), asNumbers(model.call(ids)));
  model.train();
  const opt = new zn.optim.AdamW(model.parameters(), { lr: 1e-2 });
  const lossOf = () => {
    const logits = model.call(ids.narrow(1, 0, 7));
    return zn.nn.functional.crossEntropy(
      logits.reshape([-1, 101]),
      ids.narrow(1, 1, 7).reshape([-1]),
    );
  };
  const first = lossOf().item() as number;
  for (let i = 0; i < 20; i++) {
    zn.tidy(() => {
      opt.zeroGrad();
      lossOf().backward();
      opt.step();
    });
  }
  const last = lossOf().item() as number;
  assert(last < first * 0.7, `loss ${first} -> ${last}`);
});

Deno.test("gpt2: bad arguments give clear errors", async () => {
  const model = await pretrained("tiny");
  assertThrows(() => new zn.models.GPT2({} as never), TypeError, "config.vocabSize is required");
  assertThrows(
    () => new zn.models.GPT2({ ...TINY, n_embd: 32 } as never),
    TypeError,
    'did you mean "nEmbd"',
  );
  assertThrows(() => new zn.models.GPT2({ ...TINY, nHead: 5 }), RangeError, "divisible");
  assertThrows(() => new zn.models.GPT2({ ...TINY, nLayer: 1.5 }), RangeError, "nLayer");
  assertThrows(() => new zn.models.GPT2(TINY, { dtype: "int64" }), TypeError, "dtype");
  assertThrows(
    () => new zn.models.GPT2(null as never),
    TypeError,
    "expected config to be an object",
  );
  assertThrows(
    () => model.call(zn.randn([1, 4])),
    TypeError,
    "expected int64 token ids, got float32",
  );
  assertThrows(
    () => model.call(zn.tensor([[1n, 101n]])),
    RangeError,
    "token id 101 is out of range",
  );
  assertThrows(() => model.call(zn.tensor([[-1n]])), RangeError, "token id -1");
  assertThrows(
    () => model.call(zn.zeros([1, 2, 3], { dtype: "int64" })),
    RangeError,
    "[batch, seq]",
  );
  assertThrows(() => model.call(zn.zeros([1, 0], { dtype: "int64" })), RangeError, "at least one");
  assertThrows(() => model.call(zn.tensor([[1n]]), {} as never), TypeError, "KVCache");
  const ids = zn.tensor([[1n, 2n]]);
  assertThrows(() => model.generate(ids, {} as never), TypeError, "maxNewTokens is required");
  assertThrows(() => model.generate(ids, undefined as never), TypeError, "expected opts");
  assertThrows(() => model.generate(ids, { maxNewTokens: -1 }), RangeError, "maxNewTokens");
  assertThrows(
    () => model.generate(ids, { maxNewTokens: 2, temperature: -1 }),
    RangeError,
    "temperature",
  );
  assertThrows(() => model.generate(ids, { maxNewTokens: 2, topP: 0 }), RangeError, "topP");
  assertThrows(() => model.generate(ids, { maxNewTokens: 2, topK: 1.5 }), RangeError, "topK");
  assertThrows(
    () => model.generate(ids, { maxNewTokens: 2, max_length: 5 } as never),
    TypeError,
    "unknown option",
  );
  assertThrows(() => model.loadStateDict(null as never), TypeError, "stateDict");
  assertThrows(() => new zn.models.Conv1D(0, 4), RangeError, "nf");
  assertThrows(() => new zn.models.Conv1D(4, 3).call(zn.randn([2, 4])), RangeError, "[..., 3]");
});

Deno.test("gpt2: Conv1D is x @ weight + bias in transformers' layout", () => {
  const c = new zn.models.Conv1D(3, 2);
  assertEquals(c.weight.shape, [2, 3]);
  zn.noGrad(() => {
    c.weight.copy_(zn.tensor([[1, 2, 3], [4, 5, 6]]));
    c.bias.copy_(zn.tensor([1, 0, -1]));
  });
  assertEquals(asNumbers(c.call(zn.tensor([[1, 1]]))), [6, 7, 8]);
  assertEquals(Object.keys(c.stateDict()), ["weight", "bias"]);
});

Deno.test({
  name: "gpt2: on CUDA, the logits, gradients and greedy tokens are transformers'",
  ignore: !zn.cuda.isAvailable(),
  fn: async () => {
    const ref = REF.tiny;
    const model = await zn.models.GPT2.fromPretrained(dirOf("tiny"), { device: "cuda" });
    assert(model.lmHead.weight.device.startsWith("cuda"), model.lmHead.weight.device);
    assert(model.lmHead.weight === model.transformer.wte.weight, "still tied");
    const ids = ids2d(ref.batch_ids).to("cuda");
    const logits = model.call(ids);
    assert(logits.device.startsWith("cuda"));
    assertThrows(() => model.call(ids.cpu()), Error, "the token ids are on cpu");
    const d = assertClose(logits.cpu(), ref.batch_logits, 1e-4, "CUDA logits");
    console.log(`  CUDA logits max abs difference ${d.toExponential(2)}`);
    const [, T, V] = logits.shape;
    const loss = zn.nn.functional.crossEntropy(
      logits.narrow(1, 0, T - 1).reshape([-1, V]),
      ids.narrow(1, 1, T - 1).reshape([-1]),
    );
    loss.backward();
    for (const [k, want] of Object.entries(ref.grads!)) {
      const scale = Math.max(1, ...want.values.map(Math.abs));
      assertClose(model.getParameter(k).grad!.cpu(), want, 1e-4 * scale, `CUDA grad of ${k}`);
    }
    model.zeroGrad();
    const g = ref.greedy;
    for (const useCache of [true, false]) {
      const out = model.generate(ids, {
        maxNewTokens: g.max_new_tokens_batch,
        temperature: 0,
        useCache,
      });
      assertEquals(idsOf(out.cpu()), g.batch, `CUDA greedy, useCache ${useCache}`);
    }
  },
});
