// zn.sampling: top-k and top-p filters against Hugging Face's
// TopKLogitsWarper and TopPLogitsWarper (tests/fixtures/sampling.json, made
// by make_sampling_fixtures.py: the exact masks, ties included), and
// sampleLogits' draws, greedy decoding and argument errors.
import * as zn from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

interface Stored {
  shape: number[];
  values: (number | string)[];
}
interface Case {
  name: string;
  kind: "topK" | "topP" | "chain";
  param?: number;
  minTokensToKeep?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  logits: string;
  removed: string;
  probs?: number[];
}
const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/sampling.json", import.meta.url)),
) as { logits: Record<string, Stored>; cases: Case[] };

function logitsOf(name: string): zn.Tensor {
  const s = fixture.logits[name];
  const v = s.values.map((x) => typeof x === "string" ? Number(x.replace("inf", "Infinity")) : x);
  return zn.tensor(Float32Array.from(v), { shape: s.shape });
}

function maskOf(t: zn.Tensor): string {
  return Array.from(t.toTypedArray() as Float32Array, (v) => v === -Infinity ? "1" : "0").join("");
}

Deno.test("sampling: topKFilter and topPFilter give transformers' masks exactly", () => {
  let checked = 0;
  for (const c of fixture.cases) {
    if (c.kind === "chain") continue;
    const x = logitsOf(c.logits);
    const out = c.kind === "topK"
      ? zn.sampling.topKFilter(x, c.param!, { minTokensToKeep: c.minTokensToKeep })
      : zn.sampling.topPFilter(x, c.param!, { minTokensToKeep: c.minTokensToKeep });
    assertEquals(maskOf(out), c.removed, c.name);
    // Kept logits are unchanged.
    const a = out.toTypedArray() as Float32Array, b = x.toTypedArray() as Float32Array;
    for (let i = 0; i < a.length; i++) if (a[i] !== -Infinity) assert(a[i] === b[i], c.name);
    checked++;
  }
  assert(checked > 200, `${checked} cases`);
});

Deno.test("sampling: temperature, top-k then top-p as transformers' generate() chains them", () => {
  for (const c of fixture.cases.filter((c) => c.kind === "chain")) {
    let x = logitsOf(c.logits).div(c.temperature!);
    if (c.topK) x = zn.sampling.topKFilter(x, c.topK);
    if (c.topP! < 1) x = zn.sampling.topPFilter(x, c.topP!);
    assertEquals(maskOf(x), c.removed, c.name);
    const probs = x.softmax(-1).toTypedArray() as Float32Array;
    c.probs!.forEach((p, i) => assert(Math.abs(probs[i] - p) <= 1e-6 + 1e-5 * p, c.name));
  }
});

Deno.test("sampling: the filters work on any leading shape, keep gradients and other filter values", () => {
  const x = zn.tensor([[[1, 5, 3, 5]], [[2, 2, 2, 0]]], { requiresGrad: true });
  const y = zn.sampling.topKFilter(x, 1, { filterValue: -100 });
  assertEquals(y.toArray(), [[[-100, 5, -100, 5]], [[2, 2, 2, -100]]]);
  y.sum().backward();
  assertEquals(x.grad!.toArray(), [[[0, 1, 0, 1]], [[1, 1, 1, 0]]]);
  // 1-D logits; p = 1 keeps every token of nonzero probability.
  const z = zn.tensor([0, -Infinity, 1]);
  assertEquals(zn.sampling.topPFilter(z, 1).toArray(), [0, -Infinity, 1]);
  assertEquals(zn.sampling.topPFilter(z, 0).toArray(), [-Infinity, -Infinity, 1]);
  assertEquals(zn.sampling.topPFilter(z, 0, { minTokensToKeep: 2 }).toArray(), [0, -Infinity, 1]);
  // float64 logits stay float64.
  assertEquals(zn.sampling.topKFilter(zn.zeros([3], { dtype: "float64" }), 1).dtype, "float64");
});

Deno.test("sampling: sampleLogits draws int64 ids from the filtered distribution", () => {
  const g = new zn.Generator(5);
  const logits = zn.tensor([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  const counts = [0, 0, 0, 0];
  const n = 20000;
  const rows = logits.reshape(1, 4).expand(n, 4).contiguous();
  const ids = zn.sampling.sampleLogits(rows, { generator: g });
  assertEquals([ids.dtype, ids.shape], ["int64", [n]]);
  for (const v of ids.toTypedArray() as BigInt64Array) counts[Number(v)]++;
  [0.5, 0.3, 0.15, 0.05].forEach((p, i) => {
    const sd = Math.sqrt(p * (1 - p) / n);
    assert(Math.abs(counts[i] / n - p) < 5 * sd, `category ${i}: ${counts[i] / n} vs ${p}`);
  });
  // topK 2: only the two largest; renormalized 0.5/0.8 and 0.3/0.8.
  const k2 = zn.sampling.sampleLogits(rows, { topK: 2, generator: g })
    .toTypedArray() as BigInt64Array;
  const c0 = k2.filter((v) => v === 0n).length / n;
  assert(k2.every((v) => v <= 1n), "topK 2 drew a filtered token");
  assert(Math.abs(c0 - 0.625) < 5 * Math.sqrt(0.625 * 0.375 / n), `${c0}`);
  // topP 0.7: tokens 0 and 1 (0.5 + 0.3 > 0.7); token 2 would need p > 0.8.
  const p7 = zn.sampling.sampleLogits(rows, { topP: 0.7, generator: g })
    .toTypedArray() as BigInt64Array;
  assert(p7.every((v) => v <= 1n), "topP 0.7 drew a filtered token");
  // A low temperature sharpens: almost always the argmax.
  const cold = zn.sampling.sampleLogits(rows, { temperature: 0.05, generator: g })
    .toTypedArray() as BigInt64Array;
  assert(cold.filter((v) => v === 0n).length > n * 0.99, "temperature 0.05");
  // The same generator seed gives the same draws.
  const a = zn.sampling.sampleLogits(rows, { generator: new zn.Generator(9) });
  const b = zn.sampling.sampleLogits(rows, { generator: new zn.Generator(9) });
  assert(a.eq(b).all().item() as boolean, "seeded draws differ");
});

Deno.test("sampling: sampleLogits shapes and greedy decoding", () => {
  const x = zn.tensor([[[0, 3, 1]], [[2, 2, -1]]]);
  assertEquals(zn.sampling.sampleLogits(x).shape, [2, 1]);
  assertEquals(zn.sampling.sampleLogits(x, { temperature: 0 }).toArray(), [[1], [0]]);
  const one = zn.sampling.sampleLogits(zn.tensor([0, 0, 9]), { temperature: 0 });
  assertEquals([one.shape, one.item()], [[], 2]);
  assertEquals(zn.sampling.sampleLogits(zn.zeros([0, 5])).shape, [0]);
});

Deno.test("sampling: bad arguments are clear errors", () => {
  const x = zn.randn([2, 5]);
  assertThrows(() => zn.sampling.topKFilter(x, 0), RangeError, "k");
  assertThrows(() => zn.sampling.topKFilter(x, 1.5), RangeError, "k");
  assertThrows(
    () => zn.sampling.topKFilter(x, 2, { min_tokens_to_keep: 1 } as never),
    TypeError,
    "minTokensToKeep",
  );
  assertThrows(() => zn.sampling.topKFilter(zn.tensor([1n, 2n]), 1), TypeError, "floating");
  assertThrows(() => zn.sampling.topKFilter(zn.tensor(1), 1), RangeError, "0-d");
  assertThrows(() => zn.sampling.topPFilter(x, 1.5), RangeError, "[0, 1]");
  assertThrows(() => zn.sampling.topPFilter(x, NaN), RangeError, "[0, 1]");
  assertThrows(
    () => zn.sampling.topPFilter(x, 0.5, { minTokensToKeep: 0 }),
    RangeError,
    "minTokensToKeep",
  );
  assertThrows(() => zn.sampling.sampleLogits(x, { temperature: -1 }), RangeError, "temperature");
  assertThrows(() => zn.sampling.sampleLogits(x, { topP: 0 }), RangeError, "topP");
  assertThrows(() => zn.sampling.sampleLogits(x, { topK: -1 }), RangeError, "topK");
  assertThrows(() => zn.sampling.sampleLogits(x, { top_k: 5 } as never), TypeError, "topK");
  assertThrows(
    () => zn.sampling.sampleLogits(x, { generator: 3 } as never),
    TypeError,
    "Generator",
  );
  assertThrows(() => zn.sampling.sampleLogits(zn.zeros([2, 0])), RangeError, "empty");
  assertThrows(
    () => zn.sampling.sampleLogits(zn.full([1, 3], -Infinity)),
    RangeError,
    "probability tensor contains",
  );
});
