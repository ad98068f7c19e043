// zn.distributions against PyTorch (tests/fixtures/distributions.json, made
// by make_distributions_fixtures.py): log-probabilities, entropies, cdf,
// derived parameters and moments, and their gradients; then sampling
// statistics (PyTorch's random streams differ), shapes, broadcasting and
// argument validation.
import * as zn from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

const { Normal, Categorical, Bernoulli, Distribution } = zn.distributions;

interface Rec {
  dtype: zn.DType;
  shape: number[];
  data: (number | string | boolean)[];
}
interface Case {
  name: string;
  kind: "Normal" | "Categorical" | "Bernoulli";
  params: Record<string, Rec | number>;
  value: Rec | null;
  out: Record<string, Rec | Record<string, Rec> | number[]>;
}
const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/distributions.json", import.meta.url)),
) as { cases: Case[] };

function num(v: number | string | boolean): number {
  if (typeof v === "string") return v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity;
  return Number(v);
}

function toTensor(r: Rec, requiresGrad: boolean): zn.Tensor {
  const values = r.data.map(num);
  const data = r.dtype === "int64"
    ? BigInt64Array.from(values, (v) => BigInt(v))
    : r.dtype === "float64"
    ? Float64Array.from(values)
    : Float32Array.from(values);
  const t = zn.tensor(data, { shape: r.shape });
  return requiresGrad && r.dtype.startsWith("float") ? t.requiresGrad_() : t;
}

function close(got: zn.Tensor, want: Rec, what: string): void {
  assertEquals(got.shape, want.shape, `${what}: shape`);
  assertEquals(got.dtype, want.dtype, `${what}: dtype`);
  const g = Array.from(got.to("float64").toTypedArray() as Float64Array);
  const [rtol, atol] = want.dtype === "float64" ? [1e-10, 1e-12] : [2e-5, 2e-6];
  want.data.map(num).forEach((w, i) => {
    const v = g[i];
    const ok = Number.isNaN(w)
      ? Number.isNaN(v)
      : v === w || Math.abs(v - w) <= atol + rtol * Math.abs(w);
    assert(ok, `${what}[${i}]: got ${v}, want ${w}`);
  });
}

function build(
  c: Case,
): { dist: zn.distributions.Distribution; leaves: Record<string, zn.Tensor> } {
  const leaves: Record<string, zn.Tensor> = {};
  const p: Record<string, zn.Tensor | number> = {};
  for (const [k, v] of Object.entries(c.params)) {
    if (typeof v === "number") p[k] = v;
    else p[k] = leaves[k] = toTensor(v, true);
  }
  const dist = c.kind === "Normal"
    ? new Normal(p.loc, p.scale)
    : c.kind === "Categorical"
    ? new Categorical(p as { probs?: zn.Tensor; logits?: zn.Tensor })
    : new Bernoulli(p);
  return { dist, leaves };
}

function checkGrads(
  leaves: Record<string, zn.Tensor>,
  want: Record<string, Rec>,
  what: string,
): void {
  for (const [k, w] of Object.entries(want)) {
    const g = leaves[k].grad ?? zn.zerosLike(leaves[k]);
    close(g, w, `${what} d/d${k}`);
  }
}

for (const c of fixture.cases) {
  Deno.test(`distributions: ${c.name} matches PyTorch (values and gradients)`, () => {
    const out = c.out as Record<string, unknown>;
    let { dist } = build(c);
    assertEquals([...dist.batchShape], out.batchShape);
    close(dist.mean, out.mean as Rec, "mean");
    close(dist.variance, out.variance as Rec, "variance");
    if (out.stddev) close(dist.stddev, out.stddev as Rec, "stddev");
    if (out.probs) {
      close((dist as zn.distributions.Categorical).probs, out.probs as Rec, "probs");
      close((dist as zn.distributions.Categorical).logits, out.logits as Rec, "logits");
    }
    let leaves: Record<string, zn.Tensor>;
    ({ dist, leaves } = build(c));
    const ent = dist.entropy();
    close(ent, out.entropy as Rec, "entropy");
    if (Object.keys(leaves).length > 0) ent.sum().backward();
    checkGrads(leaves, out.entropyGrad as Record<string, Rec>, "entropy");
    if (c.value) {
      ({ dist, leaves } = build(c));
      const value = toTensor(c.value, c.kind === "Normal");
      if (c.kind === "Normal") leaves.value = value;
      const lp = dist.logProb(value);
      close(lp, out.logProb as Rec, "logProb");
      if (Object.keys(leaves).length > 0) lp.sum().backward();
      checkGrads(leaves, out.logProbGrad as Record<string, Rec>, "logProb");
    }
    if (out.cdf) {
      ({ dist, leaves } = build(c));
      const cdf = (dist as zn.distributions.Normal).cdf(toTensor(c.value!, false));
      close(cdf, out.cdf as Rec, "cdf");
      cdf.sum().backward();
      checkGrads(leaves, out.cdfGrad as Record<string, Rec>, "cdf");
    }
  });
}

Deno.test("distributions: Normal samples: shapes, moments, rsample gradients, seeding", () => {
  const loc = zn.tensor([0, 5], { requiresGrad: true });
  const scale = zn.tensor([1, 0.5], { requiresGrad: true });
  const d = new Normal(loc, scale);
  assert(d.hasRsample);
  const g = new zn.Generator(1);
  const s = d.sample([20000], { generator: g });
  assertEquals([s.shape, s.dtype, s.requiresGrad], [[20000, 2], "float32", false]);
  const m = s.mean(0).toArray() as number[], sd = s.std(0).toArray() as number[];
  assert(Math.abs(m[0]) < 0.05 && Math.abs(m[1] - 5) < 0.025, `means ${m}`);
  assert(Math.abs(sd[0] - 1) < 0.03 && Math.abs(sd[1] - 0.5) < 0.015, `stds ${sd}`);
  const r = d.rsample([3, 4], { generator: new zn.Generator(2) });
  assertEquals(r.shape, [3, 4, 2]);
  r.sum().backward();
  assertEquals(loc.grad!.toArray(), [12, 12]);
  // d/dscale of sum(loc + eps * scale) = sum(eps) = (r - loc) / scale summed.
  const eps = r.detach().sub(loc.detach()).div(scale.detach()).sum([0, 1]).toArray() as number[];
  (scale.grad!.toArray() as number[]).forEach((v, i) => assert(Math.abs(v - eps[i]) < 1e-4));
  const a = d.sample([5], { generator: new zn.Generator(7) });
  const b = d.sample([5], { generator: new zn.Generator(7) });
  assert(a.eq(b).all().item() as boolean);
  zn.manualSeed(3);
  const c1 = new Normal(0, 1).sample([4]);
  zn.manualSeed(3);
  assert(c1.eq(new Normal(0, 1).sample([4])).all().item() as boolean);
  assertEquals(new Normal(0, 1).sample().shape, []);
  assertEquals(new Normal(zn.zeros([2, 1], { dtype: "float64" }), 1).sample([3]).dtype, "float64");
  assertEquals(String(new Normal(0, 2)), "Normal(loc: 0, scale: 2)");
  assertEquals(d.mode.toArray(), [0, 5]);
  assertEquals(d.perplexity().shape, [2]);
});

Deno.test("distributions: Categorical samples follow the probabilities, per batch element", () => {
  const probs = zn.tensor([[0.1, 0.6, 0.3], [0.0, 0.0, 1.0]]);
  const d = new Categorical({ probs });
  const n = 30000;
  const s = d.sample([n], { generator: new zn.Generator(4) });
  assertEquals([s.shape, s.dtype], [[n, 2], "int64"]);
  const col0 = Array.from(s.index(":", 0).toTypedArray() as BigInt64Array, Number);
  [0.1, 0.6, 0.3].forEach((p, k) => {
    const f = col0.filter((v) => v === k).length / n;
    assert(Math.abs(f - p) < 5 * Math.sqrt(p * (1 - p) / n), `category ${k}: ${f} vs ${p}`);
  });
  assert(Array.from(s.index(":", 1).toTypedArray() as BigInt64Array).every((v) => v === 2n));
  assertEquals(new Categorical({ logits: zn.zeros([2, 3, 4]) }).sample([5]).shape, [5, 2, 3]);
  assertEquals(new Categorical({ logits: zn.zeros([4]) }).sample().shape, []);
  assertEquals(new Categorical({ logits: zn.zeros([4]) }).sample([0]).shape, [0]);
  assertEquals(d.mode.toArray(), [1, 2]);
  assertEquals(d.enumerateSupport().toArray(), [[0, 0], [1, 1], [2, 2]]);
  assertEquals(d.enumerateSupport(false).shape, [3, 1]);
  assertEquals([d.numEvents, d.paramShape], [3, [2, 3]]);
  assertEquals(String(d), "Categorical(probs: [2, 3])");
  // Categorical of the logits of a policy: gradients of logProb reach them.
  const logits = zn.randn([4, 5], { requiresGrad: true });
  const policy = new Categorical({ logits });
  policy.logProb(policy.sample()).sum().backward();
  assertEquals(logits.grad!.shape, [4, 5]);
});

Deno.test("distributions: Bernoulli samples, mode, support and number parameters", () => {
  const d = new Bernoulli({ probs: zn.tensor([0.2, 0.9]) });
  const n = 20000;
  const s = d.sample([n], { generator: new zn.Generator(5) });
  assertEquals([s.shape, s.dtype], [[n, 2], "float32"]);
  const m = s.mean(0).toArray() as number[];
  assert(Math.abs(m[0] - 0.2) < 0.015 && Math.abs(m[1] - 0.9) < 0.012, `${m}`);
  assertEquals(new Bernoulli({ probs: zn.tensor([0.2, 0.5, 0.7]) }).mode.toArray(), [0, NaN, 1]);
  assertEquals(new Bernoulli({ logits: 0 }).batchShape, []);
  assertEquals(new Bernoulli({ logits: 0 }).sample([3]).shape, [3]);
  assertEquals(
    new Bernoulli({ probs: zn.tensor([0.5], { dtype: "float64" }) }).sample().dtype,
    "float64",
  );
  assertEquals(d.enumerateSupport().toArray(), [[0, 0], [1, 1]]);
  assertEquals(d.enumerateSupport(false).shape, [2, 1]);
  assertEquals(d.paramShape, [2]);
  const sd = d.stddev.toArray() as number[];
  assert(Math.abs(sd[0] - 0.4) < 1e-6 && Math.abs(sd[1] - 0.3) < 1e-6, `${sd}`);
  assertEquals(String(d), "Bernoulli(probs: [2])");
  assertEquals(String(new Bernoulli({ logits: 0.5 })), "Bernoulli(logits: 0.5)");
  // Integer and bool values are read as 0/1.
  const lp = d.logProb(zn.tensor([true, false]));
  assert(Math.abs((lp.toArray() as number[])[0] - Math.log(0.2)) < 1e-6);
  assertThrows(() => d.rsample(), TypeError, "rsample");
});

Deno.test("distributions: broadcasting of logProb values against the batch shape", () => {
  const d = new Normal(zn.zeros([3, 1]), zn.ones([1, 4]));
  assertEquals(d.batchShape, [3, 4]);
  assertEquals(d.logProb(zn.zeros([2, 1, 4])).shape, [2, 3, 4]);
  assertEquals(d.logProb(zn.zeros([])).shape, [3, 4]);
  const c = new Categorical({ logits: zn.zeros([2, 5]) });
  assertEquals(c.logProb(zn.tensor([[1n], [2n], [3n]])).shape, [3, 2]);
  assertEquals(c.logProb(zn.tensor(4n)).shape, [2]);
  const b = new Bernoulli({ probs: zn.full([3], 0.5) });
  assertEquals(b.logProb(zn.zeros([2, 1])).shape, [2, 3]);
  assertThrows(() => d.logProb(zn.zeros([5])), RangeError, "not broadcastable");
  assertThrows(() => c.logProb(zn.tensor([1n, 2n, 3n])), RangeError, "not broadcastable");
});

Deno.test("distributions: argument validation as PyTorch's, and validateArgs: false", () => {
  assertThrows(() => new Normal(0, 0), RangeError, "GreaterThan(lower_bound=0.0)");
  assertThrows(() => new Normal(zn.tensor([NaN]), 1), RangeError, "Real()");
  assertThrows(() => new Normal(0, zn.tensor([1, -1])), RangeError, "scale");
  assertThrows(() => new Categorical({ probs: zn.tensor([-1, 2]) }), RangeError, "Simplex()");
  assertThrows(() => new Categorical({ probs: zn.tensor([0, 0]) }), RangeError, "Simplex()");
  assertThrows(() => new Categorical({ logits: zn.tensor([NaN, 0]) }), RangeError, "Real()");
  assertThrows(() => new Categorical({ logits: zn.tensor([Infinity, 0]) }), RangeError, "logits");
  assertThrows(() => new Categorical({ probs: zn.tensor(1) }), RangeError, "one-dimensional");
  assertThrows(() => new Categorical({}), TypeError, "either `probs` or `logits`");
  assertThrows(
    () => new Categorical({ probs: zn.ones([2]), logits: zn.ones([2]) }),
    TypeError,
    "but not both",
  );
  assertThrows(() => new Bernoulli({ probs: 1.5 }), RangeError, "Interval");
  assertThrows(() => new Bernoulli({ logits: NaN }), RangeError, "Real()");
  assertThrows(() => new Bernoulli({ prob: 0.5 } as never), TypeError, "probs");
  assertThrows(
    () => new Normal(0, 1, { validate_args: false } as never),
    TypeError,
    "validateArgs",
  );
  assertThrows(() => new Normal("0" as never, 1), TypeError, "loc");
  // Values outside the support.
  const c = new Categorical({ logits: zn.zeros([3]) });
  assertThrows(() => c.logProb(zn.tensor([3n])), RangeError, "IntegerInterval");
  assertThrows(() => c.logProb(zn.tensor([0.5])), RangeError, "support");
  assertThrows(
    () => new Bernoulli({ probs: 0.5 }).logProb(zn.tensor([0.5])),
    RangeError,
    "Boolean()",
  );
  assertThrows(() => new Normal(0, 1).logProb(zn.tensor([NaN])), RangeError, "Real()");
  assertThrows(() => new Normal(0, 1).logProb(0 as never), TypeError, "Tensor");
  assertThrows(() => new Normal(0, 1).sample([-1]), RangeError, "sampleShape");
  assertThrows(() => new Normal(0, 1).sample([2], { seed: 1 } as never), TypeError, "generator");
  assertThrows(() => new (Distribution as never as new () => unknown)(), TypeError, "abstract");
  // Unchecked when asked.
  const loose = new Normal(0, -1, { validateArgs: false });
  assertEquals([loose.validateArgs, loose.scale.item()], [false, -1]);
  assert(Number.isNaN(loose.logProb(zn.tensor([0])).item() as number));
  assertEquals(
    new Categorical({ logits: zn.zeros([3]), validateArgs: false }).logProb(zn.tensor([0.7]))
      .shape,
    [1],
  );
  Distribution.setDefaultValidateArgs(false);
  try {
    assertEquals(new Normal(0, -1).validateArgs, false);
  } finally {
    Distribution.setDefaultValidateArgs(true);
  }
  assertEquals(Distribution.defaultValidateArgs, true);
});
