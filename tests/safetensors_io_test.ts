// Safetensors: reading Python-written fixtures, byte-identical writing, round trips.
import "../src/cpu_backend.ts";
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import {
  deserialize,
  deserializeMetadata,
  load,
  loadMetadata,
  loadMetadataSync,
  loadSync,
  save,
  saveSync,
  serialize,
} from "../src/io/mod.ts";
import type { DType, TypedArray } from "../src/dtype.ts";

const DIR = new URL("./fixtures/safetensors/", import.meta.url);
const EXPECTED = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/safetensors.json", import.meta.url)),
);

interface Described {
  dtype: DType;
  shape: number[];
  hex: string;
  values: (number | string | boolean)[];
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const CTOR: Record<DType, new (b: ArrayBuffer) => TypedArray> = {
  float64: Float64Array,
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The tensor the fixture describes, built from its raw bytes. */
function build(d: Described): zn.Tensor {
  const bytes = hexBytes(d.hex);
  const arr = new CTOR[d.dtype](bytes.slice().buffer);
  return zn.tensor(arr, { dtype: d.dtype, shape: d.shape });
}

function decode(v: number | string | boolean): number | boolean {
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  if (v === "-0") return -0;
  return v as number | boolean;
}

function flatValues(t: zn.Tensor): (number | boolean | string)[] {
  if (t.dtype === "int64") return [...(t.toTypedArray() as BigInt64Array)].map(String);
  if (t.dtype === "bool") return [...(t.toTypedArray() as Uint8Array)].map((b) => b === 1);
  return [...t.toTypedArray() as Float32Array];
}

function sameBytes(a: Uint8Array, b: Uint8Array): void {
  assert.equal(a.length, b.length, "lengths differ");
  const i = a.findIndex((x, k) => x !== b[k]);
  assert.equal(i, -1, `first difference at byte ${i}`);
}

const described = EXPECTED.dtypes.tensors as Record<string, Described>;

Deno.test("safetensors: loads a Python file with every dtype", async () => {
  const got = await load(new URL("dtypes.safetensors", DIR));
  assert.deepEqual(Object.keys(got).sort(), Object.keys(described).sort());
  for (const [name, d] of Object.entries(described)) {
    const t = got[name];
    assert.equal(t.dtype, d.dtype, name);
    assert.deepEqual(t.shape, d.shape, name);
    assert.ok(t.isContiguous());
    const want = d.dtype === "int64" ? d.values : d.values.map(decode);
    assert.deepEqual(flatValues(t), want, name);
  }
  assert.equal(got.scalar_f64.item(), 3.5);
  assert.equal(got.scalar_bool.item(), true);
  assert.equal(got.empty_i64.numel, 0);
  assert.deepEqual(await loadMetadata(new URL("dtypes.safetensors", DIR)), { format: "pt" });
});

Deno.test("safetensors: loadSync and deserialize agree with load", async () => {
  const url = new URL("dtypes.safetensors", DIR);
  const a = await load(url);
  const b = loadSync(url);
  const c = deserialize(Deno.readFileSync(url));
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.deepEqual(Object.keys(a), Object.keys(c));
  for (const k of Object.keys(a)) {
    assert.deepEqual(flatValues(a[k]), flatValues(b[k]));
    assert.deepEqual(flatValues(a[k]), flatValues(c[k]));
  }
  assert.deepEqual(loadMetadataSync(url), { format: "pt" });
  assert.deepEqual(deserializeMetadata(Deno.readFileSync(url)), { format: "pt" });
});

Deno.test("safetensors: serialize is byte-identical to Python safetensors.torch.save", () => {
  const file = Deno.readFileSync(new URL("dtypes.safetensors", DIR));
  const tensors: Record<string, zn.Tensor> = {};
  // Insert in a scrambled order: the writer must sort.
  for (const name of Object.keys(described).reverse()) tensors[name] = build(described[name]);
  sameBytes(serialize(tensors, { metadata: EXPECTED.dtypes.metadata }), file);
  // As a Map, too.
  sameBytes(serialize(new Map(Object.entries(tensors)), { metadata: { format: "pt" } }), file);
});

Deno.test("safetensors: non-contiguous tensors are written contiguously", () => {
  const file = Deno.readFileSync(new URL("dtypes.safetensors", DIR));
  const tensors: Record<string, zn.Tensor> = {};
  for (const [name, d] of Object.entries(described)) {
    const t = build(d);
    // The same values with column-major strides.
    tensors[name] = t.ndim === 2 ? t.mT.contiguous().mT : t;
  }
  assert.ok(!tensors.matrix.isContiguous());
  sameBytes(serialize(tensors, { metadata: { format: "pt" } }), file);
  // A strided slice.
  const base = zn.arange(12, { dtype: "float32" }).reshape([3, 4]);
  const sliced = base.index({}, { start: 1, step: 2 });
  const back = deserialize(serialize({ s: sliced })).s;
  assert.deepEqual(back.toArray(), [[1, 3], [5, 7], [9, 11]]);
});

Deno.test("safetensors: CNN state dict file is reproduced byte for byte", () => {
  const file = Deno.readFileSync(new URL("cnn.safetensors", DIR));
  const sd = deserialize(file);
  assert.deepEqual(Object.keys(sd).sort(), [
    "0.bias",
    "0.weight",
    "3.bias",
    "3.weight",
    "7.bias",
    "7.weight",
  ]);
  sameBytes(serialize(sd), file);
});

Deno.test("safetensors: metadata with several keys (Python writes them in hash order)", async () => {
  const url = new URL("multi_meta.safetensors", DIR);
  assert.deepEqual(await loadMetadata(url), EXPECTED.multi_meta);
  const t = await load(url);
  assert.deepEqual(t.x.toArray(), [1, 1]);
  // Zeno writes the keys in insertion order; everything else matches.
  const ours = serialize({ x: zn.ones([2]) }, { metadata: EXPECTED.multi_meta });
  assert.equal(ours.length, Deno.readFileSync(url).length);
  assert.deepEqual(deserializeMetadata(ours), EXPECTED.multi_meta);
});

Deno.test("safetensors: F8_E4M3 and F8_E5M2 load as float32", () => {
  const got = deserialize(Deno.readFileSync(new URL("f8.safetensors", DIR)));
  assert.equal(got.e4m3.dtype, "float32");
  assert.deepEqual(got.e5m2.shape, [16, 16]);
  assert.deepEqual([...got.e4m3.toTypedArray()], EXPECTED.f8.e4m3.map(decode));
  assert.deepEqual([...got.e5m2.toTypedArray()], EXPECTED.f8.e5m2.map(decode));
});

Deno.test("safetensors: round trip of every dtype, empty and 0-d tensors, metadata", async () => {
  const tensors: Record<string, zn.Tensor> = {
    f64: zn.tensor([1.25, -1e-300], { dtype: "float64" }),
    f32: zn.randn([2, 3, 4]),
    f16: zn.tensor([0.5, -65504], { dtype: "float16" }),
    bf16: zn.tensor([[1, 2], [3, 4]], { dtype: "bfloat16" }),
    i64: zn.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])),
    i32: zn.tensor([1, -2], { dtype: "int32" }),
    i16: zn.tensor([3], { dtype: "int16" }),
    i8: zn.tensor([-4], { dtype: "int8" }),
    u8: zn.tensor([250], { dtype: "uint8" }),
    bool: zn.tensor([true, false]),
    empty: zn.zeros([0, 5]),
    scalar: zn.tensor(2.5),
    __proto__x: zn.ones([1]),
  };
  Object.defineProperty(tensors, "__proto__", {
    value: zn.zeros([1]),
    enumerable: true,
  });
  const meta = { a: "1", "": "", "\u00fc": '{"json": true}' };
  const dir = await Deno.makeTempDir();
  try {
    const p1 = `${dir}/a.safetensors`, p2 = `${dir}/b.safetensors`;
    await save(tensors, p1, { metadata: meta });
    saveSync(tensors, p2, { metadata: meta });
    const bytes = Deno.readFileSync(p1);
    sameBytes(bytes, Deno.readFileSync(p2));
    sameBytes(bytes, serialize(tensors, { metadata: meta }));
    const back = await load(p1);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
    assert.ok(Object.hasOwn(back, "__proto__"));
    for (const k of Object.keys(tensors)) {
      assert.equal(back[k].dtype, tensors[k].dtype, k);
      assert.deepEqual(back[k].shape, tensors[k].shape, k);
      assert.deepEqual(flatValues(back[k]), flatValues(tensors[k]), k);
    }
    assert.deepEqual(await loadMetadata(p1), meta);
    // No metadata option: no __metadata__ entry; an empty one is kept.
    assert.equal(deserializeMetadata(serialize({ x: zn.ones([1]) })), null);
    assert.deepEqual(deserializeMetadata(serialize({ x: zn.ones([1]) }, { metadata: {} })), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: header layout matches the reference", () => {
  // The reference implementation's own test vectors (safetensors/src/tensor.rs).
  const attn = zn.tensor(new Float32Array([0, 1, 2, 3, 4, 5]), { shape: [1, 2, 3] });
  const a = serialize({ "attn.0": attn });
  assert.deepEqual(
    [...a.slice(0, 8)],
    [64, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.equal(
    new TextDecoder().decode(a.slice(8, 72)),
    '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}',
  );
  const empty = serialize({});
  assert.deepEqual([...empty], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  const meta = serialize({}, { metadata: { framework: "pt" } });
  assert.equal(new TextDecoder().decode(meta.slice(8)), '{"__metadata__":{"framework":"pt"}}     ');
  assert.deepEqual(deserialize(empty), {});
});

Deno.test("safetensors: a state dict goes into loadStateDict", () => {
  zn.manualSeed(1);
  const a = new zn.nn.Sequential(new zn.nn.Linear(3, 4), new zn.nn.ReLU(), new zn.nn.Linear(4, 2));
  const b = new zn.nn.Sequential(new zn.nn.Linear(3, 4), new zn.nn.ReLU(), new zn.nn.Linear(4, 2));
  b.loadStateDict(deserialize(serialize(a.stateDict())));
  const x = zn.randn([5, 3]);
  assert.deepEqual(b.call(x).toArray(), a.call(x).toArray());
});

Deno.test("safetensors: invalid arguments to save are TypeErrors", () => {
  assert.throws(() => serialize({ x: [1, 2] as unknown as zn.Tensor }), TypeError);
  assert.throws(() => serialize({ __metadata__: zn.ones([1]) }), TypeError);
  assert.throws(() => serialize({ "\ud800": zn.ones([1]) }), TypeError);
  assert.throws(
    () => serialize({ x: zn.ones([1]) }, { metadata: { a: 1 as unknown as string } }),
    TypeError,
  );
});
