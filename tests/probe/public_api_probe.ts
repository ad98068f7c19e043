// Calls every public function, constructor and Tensor method with hostile
// arguments: integers past int64, NaN and negative shapes, unknown option
// keys, disposed tensors, wrong types. Run by tests/probe_test.ts in a
// process of its own:
//   deno run --allow-ffi --allow-read --allow-write --allow-env tests/probe/public_api_probe.ts
// Before each call it writes the call's name to stderr, so a crash names its
// call. At the end it prints one JSON line: how many calls ran and every
// error that is not a clear one (an Error naming its op), grouped.
import * as zn from "../../mod.ts";

type Fn = (...args: unknown[]) => unknown;

const tmp = Deno.makeTempDirSync({ prefix: "zeno-probe-" });
const encoder = new TextEncoder();

function disposed(): zn.Tensor {
  const t = zn.ones([2, 3]);
  t.dispose();
  return t;
}

/** Values a hostile or careless caller passes. */
function hostile(): [string, unknown][] {
  return [
    ["2**63", 2 ** 63],
    ["-(2**64)", -(2 ** 64)],
    ["1e300", 1e300],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-1", -1],
    ["1.5", 1.5],
    ["2**31", 2 ** 31],
    ["2n**64n", 2n ** 64n],
    ["shape [NaN]", [NaN]],
    ["shape [-1, 2]", [-1, 2]],
    ["shape [2**40]", [2 ** 40]],
    ["shape [1.5]", [1.5]],
    ["shape [2**16, 2**16]", [2 ** 16, 2 ** 16]],
    ["unknown option", { bogusKey: 1 }],
    ["snake_case option", { weight_decay: 0.1, keep_dim: true }],
    ["disposed tensor", disposed()],
    ["string", "abc"],
    ["null", null],
    ["undefined", undefined],
    ["object", {}],
    ["array of strings", ["a", "b"]],
    ["int64 tensor", zn.arange(6).reshape(2, 3)],
    ["bool tensor", zn.ones([2, 3]).gt(0)],
    ["0-d tensor", zn.tensor(2.5)],
    ["empty tensor", zn.zeros([0, 3])],
    ["float16 tensor", zn.ones([2, 3], { dtype: "float16" })],
    ["huge index tensor", zn.tensor([2n ** 62n, -(2n ** 62n)])],
    ["NaN tensor", zn.full([2, 3], NaN)],
    ["function", () => 1],
  ];
}

/** Ordinary arguments, one per position, so that each call fails on the hostile one. */
function sane(): unknown[] {
  return [zn.randn([2, 3]), 1, zn.randn([2, 3]), {}];
}

interface Finding {
  call: string;
  arg: string;
  kind: string;
  message: string;
}

const unclear: Finding[] = [];
let calls = 0;

// Errors that come from a missing check rather than a message naming the op.
const INTERNAL = [
  /Cannot read propert/,
  /is not a function/,
  /is not iterable/,
  /is not a constructor/,
  /Cannot convert .* to a BigInt/,
  /Invalid (typed )?array length/,
  /Maximum call stack/,
  /native kernel rejected/,
  /Cannot mix BigInt/,
  /out of memory/,
  /Array buffer allocation failed/,
  /Invalid (string|array buffer) length/,
  // JavaScript's own phrasing starts the message ("undefined is not iterable");
  // ours name the op first ("index: null is not an index item").
  /^undefined is not/,
  /^null is not/,
  /Cannot destructure/,
  /Cannot set properties/,
  /Start offset .* is outside/,
  /Offset is outside the bounds/,
  /must be a multiple of/,
  /Do not know how to serialize a BigInt/,
];

function classify(name: string, arg: string, e: unknown): void {
  if (!(e instanceof Error)) {
    unclear.push({ call: name, arg, kind: "non-Error throw", message: String(e) });
    return;
  }
  if (INTERNAL.some((re) => re.test(e.message))) {
    unclear.push({ call: name, arg, kind: e.constructor.name, message: e.message });
  }
}

async function attempt(name: string, arg: string, fn: () => unknown): Promise<void> {
  calls++;
  Deno.stderr.writeSync(encoder.encode(`${name} <- ${arg}\n`));
  try {
    let r = fn();
    if (r instanceof Promise) r = await r;
    // Results must be readable: printing walks every element.
    if (r instanceof zn.Tensor && !r.isDisposed && r.numel < 1e6) String(r);
  } catch (e) {
    classify(name, arg, e);
  }
}

function functionsOf(ns: Record<string, unknown>, prefix: string, skip: Set<string>) {
  const out: [string, Fn][] = [];
  for (const [k, v] of Object.entries(ns)) {
    if (typeof v !== "function" || skip.has(k)) continue;
    // Classes are probed as constructors.
    if (/^class\s/.test(Function.prototype.toString.call(v))) continue;
    out.push([`${prefix}${k}`, v as Fn]);
  }
  return out;
}

function classesOf(ns: Record<string, unknown>, prefix: string, skip: Set<string>) {
  const out: [string, new (...a: unknown[]) => unknown][] = [];
  for (const [k, v] of Object.entries(ns)) {
    if (typeof v !== "function" || skip.has(k)) continue;
    if (!/^class\s/.test(Function.prototype.toString.call(v))) continue;
    out.push([`${prefix}${k}`, v as new (...a: unknown[]) => unknown]);
  }
  return out;
}

// Functions whose job is process-wide state or that need a GPU; probed apart.
const SKIP_TOP = new Set(["init", "setNumThreads", "manualSeed", "tidy", "keep"]);

const targets: [string, Fn][] = [
  ...functionsOf(zn as unknown as Record<string, unknown>, "zn.", SKIP_TOP),
  ...functionsOf(
    zn.nn.functional as unknown as Record<string, unknown>,
    "zn.nn.functional.",
    new Set(),
  ),
  ...functionsOf(zn.nn.init as unknown as Record<string, unknown>, "zn.nn.init.", new Set()),
  ...functionsOf(zn.nn.utils as unknown as Record<string, unknown>, "zn.nn.utils.", new Set()),
  ...functionsOf(
    zn.nn.utils.rnn as unknown as Record<string, unknown>,
    "zn.nn.utils.rnn.",
    new Set(),
  ),
  ...functionsOf(
    zn.data as unknown as Record<string, unknown>,
    "zn.data.",
    new Set(["mnist", "fashionMnist"]),
  ),
  ...functionsOf(
    zn.data.transforms as unknown as Record<string, unknown>,
    "zn.data.transforms.",
    new Set(),
  ),
  ...functionsOf(zn.metrics as unknown as Record<string, unknown>, "zn.metrics.", new Set()),
  ...functionsOf(zn.sampling as unknown as Record<string, unknown>, "zn.sampling.", new Set()),
  ...functionsOf(zn.data.text as unknown as Record<string, unknown>, "zn.data.text.", new Set()),
  // Static factories (bound: their arity is the probe's).
  [
    "zn.data.text.BpeTokenizer.fromJson",
    zn.data.text.BpeTokenizer.fromJson.bind(zn.data.text.BpeTokenizer) as Fn,
  ],
  [
    "zn.data.text.BpeTokenizer.fromFile",
    zn.data.text.BpeTokenizer.fromFile.bind(zn.data.text.BpeTokenizer) as Fn,
  ],
  [
    "zn.data.text.CharVocab.fromText",
    zn.data.text.CharVocab.fromText.bind(zn.data.text.CharVocab) as Fn,
  ],
  [
    "zn.models.GPT2.fromPretrained",
    zn.models.GPT2.fromPretrained.bind(zn.models.GPT2) as Fn,
  ],
  [
    "zn.models.GPT2.configFromJson",
    zn.models.GPT2.configFromJson.bind(zn.models.GPT2) as Fn,
  ],
  ...functionsOf(zn.models as unknown as Record<string, unknown>, "zn.models.", new Set()),
  ...functionsOf(zn.autograd as unknown as Record<string, unknown>, "zn.autograd.", new Set()),
];

for (const [name, fn] of targets) {
  const arity = Math.max(1, Math.min(fn.length, 4));
  for (let pos = 0; pos < arity; pos++) {
    for (const [label, value] of hostile()) {
      const args = sane().slice(0, arity);
      args[pos] = value;
      await attempt(name, `arg ${pos} = ${label}`, () => fn(...args));
    }
  }
  // Every position hostile at once with the same value.
  for (const [label, value] of hostile()) {
    await attempt(name, `all args = ${label}`, () => fn(...Array(arity).fill(value)));
  }
}

const classes = [
  ...classesOf(
    zn.nn as unknown as Record<string, unknown>,
    "zn.nn.",
    new Set(["Module", "Parameter"]),
  ),
  ...classesOf(zn.optim as unknown as Record<string, unknown>, "zn.optim.", new Set(["Optimizer"])),
  ...classesOf(
    zn.optim.lrScheduler as unknown as Record<string, unknown>,
    "zn.optim.lrScheduler.",
    new Set(),
  ),
  ...classesOf(zn.data as unknown as Record<string, unknown>, "zn.data.", new Set()),
  ...classesOf(
    zn.distributions as unknown as Record<string, unknown>,
    "zn.distributions.",
    new Set(),
  ),
  ...classesOf(zn.data.text as unknown as Record<string, unknown>, "zn.data.text.", new Set()),
  ...classesOf(
    zn.nn.utils.rnn as unknown as Record<string, unknown>,
    "zn.nn.utils.rnn.",
    new Set(),
  ),
  ...classesOf(zn.models as unknown as Record<string, unknown>, "zn.models.", new Set()),
];
for (const [name, C] of classes) {
  const arity = Math.max(1, Math.min(C.length, 4));
  for (let pos = 0; pos < arity; pos++) {
    for (const [label, value] of hostile()) {
      const args: unknown[] = [3, 4, 5, {}].slice(0, arity);
      if (name.startsWith("zn.optim.")) args[0] = [zn.randn([2], { requiresGrad: true })];
      args[pos] = value;
      await attempt(`new ${name}`, `arg ${pos} = ${label}`, () => {
        const m = new C(...args);
        // A module built from hostile sizes must still run or refuse clearly.
        if (m instanceof zn.nn.Module && typeof (m as { call?: unknown }).call === "function") {
          (m as unknown as { call: Fn }).call(zn.randn([2, 3, 4, 4]));
        }
        return m;
      });
    }
  }
}

// Methods of distributions, vocabularies, tokenizers and text datasets:
// hostile arguments in each position.
const instances: [string, () => object][] = [
  ["Normal", () => new zn.distributions.Normal(zn.zeros([2, 3]), 1)],
  ["Categorical", () => new zn.distributions.Categorical({ logits: zn.zeros([2, 3]) })],
  ["Bernoulli", () => new zn.distributions.Bernoulli({ probs: zn.full([2, 3], 0.5) })],
  ["CharVocab", () => zn.data.text.CharVocab.fromText("abc")],
  ["ByteVocab", () => new zn.data.text.ByteVocab()],
  ["BpeTokenizer", () =>
    zn.data.text.BpeTokenizer.fromJson({
      model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2, "<s>": 3 }, merges: ["a b"] },
      pre_tokenizer: { type: "ByteLevel" },
      decoder: { type: "ByteLevel" },
      added_tokens: [{ id: 3, content: "<s>", special: true }],
    })],
  ["TokenWindowDataset", () => new zn.data.text.TokenWindowDataset(zn.arange(10), 3)],
];
// The distributions' protected plumbing (documented @internal; subclasses
// call it with arguments they have built themselves): not public API.
const INTERNAL_DIST_METHODS = new Set(["draw", "params", "extendedShape", "validateSample"]);
for (const [cls, make] of instances) {
  const names = new Set<string>();
  for (
    let p = Object.getPrototypeOf(make());
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      if (k === "constructor" || INTERNAL_DIST_METHODS.has(k)) continue;
      if (typeof d.value === "function") names.add(k);
    }
  }
  for (const m of names) {
    const self = make() as Record<string, Fn>;
    const arity = Math.max(1, Math.min(self[m].length, 3));
    for (let pos = 0; pos < arity; pos++) {
      for (const [label, value] of hostile()) {
        const args = sane().slice(0, arity);
        args[pos] = value;
        await attempt(`${cls}.${m}`, `arg ${pos} = ${label}`, () => self[m](...args));
      }
    }
  }
}

// Models: the methods their own classes define (Module's are the layers').
const modelInstances: [string, () => object][] = [
  [
    "GPT2",
    () =>
      new zn.models.GPT2({ vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 }).eval(),
  ],
  ["KVCache", () => new zn.models.KVCache()],
];
for (const [cls, make] of modelInstances) {
  const own = Object.getPrototypeOf(make());
  for (const m of Object.getOwnPropertyNames(own)) {
    const d = Object.getOwnPropertyDescriptor(own, m)!;
    if (m === "constructor" || typeof d.value !== "function") continue;
    const arity = Math.max(1, Math.min((d.value as Fn).length, 3));
    for (let pos = 0; pos < arity; pos++) {
      for (const [label, value] of hostile()) {
        const self = make() as Record<string, Fn>;
        const args = sane().slice(0, arity);
        args[pos] = value;
        await attempt(`${cls}.${m}`, `arg ${pos} = ${label}`, () => self[m](...args));
      }
    }
  }
}

// Tensor methods: hostile arguments on a sane tensor, sane arguments on a
// disposed one.
const proto = zn.Tensor.prototype as unknown as Record<string, unknown>;
// Plumbing on the prototype that src/tensor.ts documents as @internal (the
// library calls it with arguments it has built itself); not public API.
const INTERNAL_METHODS = new Set(["setStorage_", "attachGradFn", "inplace"]);
const methods = Object.getOwnPropertyNames(zn.Tensor.prototype).filter((k) => {
  if (k === "constructor" || k === "dispose" || k.startsWith("_")) return false;
  if (INTERNAL_METHODS.has(k)) return false;
  const d = Object.getOwnPropertyDescriptor(zn.Tensor.prototype, k)!;
  return typeof d.value === "function";
});
for (const m of methods) {
  const fn = proto[m] as Fn;
  const arity = Math.max(1, Math.min(fn.length, 3));
  for (let pos = 0; pos < arity; pos++) {
    for (const [label, value] of hostile()) {
      const args = sane().slice(1, 1 + arity);
      args[pos] = value;
      const self = zn.randn([2, 3]);
      await attempt(`Tensor.${m}`, `arg ${pos} = ${label}`, () => fn.apply(self, args));
    }
  }
  await attempt(
    `Tensor.${m}`,
    "this = disposed tensor",
    () => fn.apply(disposed(), sane().slice(1)),
  );
  await attempt(
    `Tensor.${m}`,
    "this = int64 tensor",
    () => fn.apply(zn.arange(6).reshape(2, 3), sane().slice(1)),
  );
}

// I/O with hostile paths and contents.
const saveTargets: [string, () => unknown][] = [
  [
    "zn.saveSync disposed",
    () => zn.saveSync({ a: zn.ones([2]), b: disposed() }, `${tmp}/a.safetensors`),
  ],
  [
    "zn.save into a missing folder",
    () => zn.save({ a: zn.ones([2]) }, `${tmp}/missing/a.safetensors`),
  ],
  ["zn.loadSync of a missing file", () => zn.loadSync(`${tmp}/none.safetensors`)],
  ["zn.loadSync of garbage", () => {
    Deno.writeFileSync(
      `${tmp}/g.safetensors`,
      new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127, 1]),
    );
    return zn.loadSync(`${tmp}/g.safetensors`);
  }],
  ["zn.deserialize of 3 bytes", () => zn.deserialize(new Uint8Array(3))],
  ["zn.data.parseCsv of big integers", () => zn.data.parseCsv("a,b\n99999999999999999999,0x10\n")],
  ["setNumThreads(1e300)", () => zn.setNumThreads(1e300)],
  ["setNumThreads(NaN)", () => zn.setNumThreads(NaN)],
  ["manualSeed(NaN)", () => zn.manualSeed(NaN)],
  ["manualSeed(1e300)", () => zn.manualSeed(1e300)],
  ["tidy(not a function)", () => zn.tidy(3 as never)],
];
for (const [name, fn] of saveTargets) await attempt(name, "", fn);

Deno.removeSync(tmp, { recursive: true });
// Group findings by call and message, so that one missing check is one line.
const groups = new Map<string, Finding & { count: number }>();
for (const f of unclear) {
  const key = `${f.call}|${f.message.slice(0, 120)}`;
  const g = groups.get(key);
  if (g) g.count++;
  else groups.set(key, { ...f, count: 1 });
}
console.log(JSON.stringify({ calls, unclear: [...groups.values()] }));
