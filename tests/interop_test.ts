// Zero-copy interop with typed arrays: zn.fromTypedArray shares the caller's
// array, t.asTypedArray() views a tensor's memory, and the lifetime rules of
// both (README, "Interop with typed arrays"): the pool never takes the
// caller's array, a view of released memory is detached before the memory is
// reused, and a detached buffer is refused instead of reaching native code.
import "./cuda_mock.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { CpuStorage, pooledCpuBytes } from "../src/cpu_backend.ts";

function storageOf(t: zn.Tensor): CpuStorage {
  const s = t.storage;
  assert(s instanceof CpuStorage);
  return s;
}

Deno.test("fromTypedArray: shares memory both ways", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = zn.fromTypedArray(a, [2, 3]);
  assertEquals(t.dtype, "float32");
  assertEquals(t.shape, [2, 3]);
  assertEquals(t.device, "cpu");
  assert(storageOf(t).data.buffer === a.buffer, "no copy");
  a[4] = 50;
  assertEquals(t.toArray(), [[1, 2, 3], [4, 50, 6]]);
  t.mul_(2);
  assertEquals(Array.from(a), [2, 4, 6, 8, 100, 12]);
  t.index(0).fill_(-1);
  t.indexPut_([1, 2], 7);
  assertEquals(Array.from(a), [-1, -1, -1, 8, 100, 7]);
  t.copy_(zn.tensor([[0, 1, 2], [3, 4, 5]]));
  assertEquals(Array.from(a), [0, 1, 2, 3, 4, 5]);
  // An out-of-place result has memory of its own.
  const r = t.add(1);
  assert(storageOf(r).data.buffer !== a.buffer);
  r.fill_(9);
  assertEquals(Array.from(a), [0, 1, 2, 3, 4, 5]);
  // Views of the tensor share the array too.
  t.index(":", 1).zero_();
  assertEquals(Array.from(a), [0, 0, 2, 3, 0, 5]);
});

Deno.test("fromTypedArray: zn.tensor copies, fromTypedArray does not", () => {
  const a = new Int32Array([1, 2, 3]);
  const copied = zn.tensor(a);
  const shared = zn.fromTypedArray(a);
  a[0] = 100;
  assertEquals(copied.toArray(), [1, 2, 3]);
  assertEquals(shared.toArray(), [100, 2, 3]);
});

Deno.test("fromTypedArray: each array type maps to its dtype", () => {
  const cases: [ArrayBufferView, zn.DType][] = [
    [new Float32Array(2), "float32"],
    [new Float64Array(2), "float64"],
    [new BigInt64Array(2), "int64"],
    [new Int32Array(2), "int32"],
    [new Int16Array(2), "int16"],
    [new Int8Array(2), "int8"],
    [new Uint8Array(2), "uint8"],
    [new Uint8ClampedArray(2), "uint8"],
    [new Float16Array(2), "float16"],
  ];
  for (const [arr, dtype] of cases) {
    const t = zn.fromTypedArray(arr as unknown as zn.TypedArray);
    assertEquals(t.dtype, dtype, arr.constructor.name);
    const d = storageOf(t).data;
    assert(d.buffer === arr.buffer && d.byteOffset === arr.byteOffset, arr.constructor.name);
  }
  // Values read and written through each type.
  const i64 = new BigInt64Array([2n ** 62n, -3n]);
  const ti64 = zn.fromTypedArray(i64);
  assertEquals(ti64.toArray(), [2n ** 62n, -3n]);
  ti64.add_(zn.tensor([1n, 1n]));
  assertEquals(Array.from(i64), [2n ** 62n + 1n, -2n]);
  const f16 = new Float16Array([1.5, -2]);
  const tf16 = zn.fromTypedArray(f16);
  assertEquals(tf16.toArray(), [1.5, -2]);
  tf16.mul_(2);
  assertEquals(Array.from(f16), [3, -4]);
  const clamped = new Uint8ClampedArray([10, 250]);
  zn.fromTypedArray(clamped).add_(zn.tensor([1, 1], { dtype: "uint8" }));
  assertEquals(Array.from(clamped), [11, 251]);
});

Deno.test("fromTypedArray: the dtype option picks among the dtypes an array stores", () => {
  const bits = new Uint16Array([0x3c00, 0xc000]); // float16 1 and -2
  assertEquals(zn.fromTypedArray(bits, { dtype: "float16" }).toArray(), [1, -2]);
  const bf = new Uint16Array([0x3f80, 0x4040]); // bfloat16 1 and 3
  const tbf = zn.fromTypedArray(bf, [2], { dtype: "bfloat16" });
  assertEquals(tbf.toArray(), [1, 3]);
  tbf.fill_(2);
  assertEquals(Array.from(bf), [0x4000, 0x4000]);
  assertThrows(() => zn.fromTypedArray(bits), TypeError, 'pass { dtype: "float16" }');
  assertThrows(
    () => zn.fromTypedArray(bits, { dtype: "int16" }),
    TypeError,
    "holds float16 or bfloat16 bits",
  );
  const mask = new Uint8Array([1, 0, 1]);
  const tb = zn.fromTypedArray(mask, { dtype: "bool" });
  assertEquals(tb.dtype, "bool");
  assertEquals(tb.toArray(), [true, false, true]);
  tb.copy_(zn.tensor([false, true, false]));
  assertEquals(Array.from(mask), [0, 1, 0]);
  assertThrows(
    () => zn.fromTypedArray(new Uint8Array([0, 2]), { dtype: "bool" }),
    RangeError,
    "must be 0 or 1, got 2 at index 1",
  );
  assertThrows(
    () => zn.fromTypedArray(new Float32Array(2), { dtype: "float64" }),
    TypeError,
    "cannot convert",
  );
  assertThrows(
    () => zn.fromTypedArray(new Float32Array(2), { dtype: "float65" as zn.DType }),
    TypeError,
    "unknown dtype",
  );
  assertThrows(
    () => zn.fromTypedArray(new Float32Array(2), { device: "cpu" } as zn.FromTypedArrayOptions),
    TypeError,
    "device",
  );
});

Deno.test("fromTypedArray: arrays no dtype stores, and values that are not arrays", () => {
  for (const a of [new Uint32Array(2), new BigUint64Array(2)]) {
    assertThrows(
      () => zn.fromTypedArray(a as unknown as zn.TypedArray),
      TypeError,
      `no Zeno dtype stores ${a.constructor.name} elements`,
    );
  }
  assertThrows(
    () => zn.fromTypedArray(new DataView(new ArrayBuffer(8)) as unknown as zn.TypedArray),
    TypeError,
    "expected a typed array, got DataView",
  );
  assertThrows(
    () => zn.fromTypedArray([1, 2] as unknown as zn.TypedArray),
    TypeError,
    "zn.tensor copies nested arrays",
  );
  assertThrows(() => zn.fromTypedArray(null as unknown as zn.TypedArray), TypeError, "null");
});

Deno.test("fromTypedArray: a view into a larger buffer touches only its own bytes", () => {
  const buf = new ArrayBuffer(10 * 8);
  const all = new Float64Array(buf).fill(-7);
  const part = new Float64Array(buf, 3 * 8, 6); // elements 3..8 of the buffer
  part.set([1, 2, 3, 4, 5, 6]);
  const t = zn.fromTypedArray(part, [2, 3]);
  assertEquals(t.sum().item(), 21);
  assertEquals(t.index(":", 2).toArray(), [3, 6]);
  t.mul_(10);
  t.index(1).add_(1);
  assertEquals(Array.from(all), [-7, -7, -7, 10, 20, 30, 41, 51, 61, -7]);
  // An odd byte offset for one-byte elements, and a view of a view.
  const bytes = new Uint8Array(buf, 1, 5);
  const tb = zn.fromTypedArray(bytes);
  tb.fill_(0xab);
  assertEquals(new Uint8Array(buf)[0], new Uint8Array(new Float64Array([-7]).buffer)[0]);
  assertEquals(Array.from(new Uint8Array(buf, 1, 5)), [0xab, 0xab, 0xab, 0xab, 0xab]);
  const sub = part.subarray(2, 4);
  assertEquals(zn.fromTypedArray(sub).toArray(), [30, 41]);
});

Deno.test("fromTypedArray: shape defaults to the length and must match it", () => {
  const a = new Float32Array(12);
  assertEquals(zn.fromTypedArray(a).shape, [12]);
  assertEquals(zn.fromTypedArray(a, [3, 2, 2]).shape, [3, 2, 2]);
  assertEquals(zn.fromTypedArray(a, [3, 2, 2]).strides, [4, 2, 1]);
  assertEquals(zn.fromTypedArray(new Float32Array([4]), []).item(), 4);
  assertEquals(zn.fromTypedArray(new Float32Array(0), [0, 3]).shape, [0, 3]);
  assertThrows(
    () => zn.fromTypedArray(a, [5, 2]),
    RangeError,
    "shape [5, 2] has 10 elements, but the array has 12",
  );
  assertThrows(() => zn.fromTypedArray(a, [-1, 12]), RangeError, "invalid shape");
  assertThrows(() => zn.fromTypedArray(a, [2.5]), RangeError, "invalid shape");
});

Deno.test("fromTypedArray: SharedArrayBuffer, resizable and detached buffers are refused", () => {
  const sab = new Float32Array(new SharedArrayBuffer(16));
  assertThrows(
    () => zn.fromTypedArray(sab as unknown as Float32Array),
    TypeError,
    "SharedArrayBuffer",
  );
  assertEquals(zn.tensor(sab as unknown as Float32Array).shape, [4]); // the copying way works
  const rs = new Float32Array(new ArrayBuffer(16, { maxByteLength: 64 }), 0, 4);
  assertThrows(() => zn.fromTypedArray(rs), TypeError, "resizable");
  const gone = new Float32Array(4);
  gone.buffer.transfer();
  assertThrows(() => zn.fromTypedArray(gone), TypeError, "detached");
});

Deno.test("fromTypedArray: dispose and tidy retire the tensor and leave the array alone", () => {
  const a = new Float32Array(1024).fill(3); // 4 KiB: the size of pooled results
  const t = zn.fromTypedArray(a);
  const before = pooledCpuBytes();
  t.dispose();
  assert(t.isDisposed);
  assertThrows(() => t.sum(), Error, "tensor was disposed");
  assertEquals(pooledCpuBytes(), before, "the caller's array is never pooled");
  assertEquals(a.length, 1024, "not detached");
  assert(a.every((v) => v === 3), "not cleared");
  let inner!: zn.Tensor;
  const kept = zn.tidy(() => {
    inner = zn.fromTypedArray(a);
    const k = zn.fromTypedArray(a, [32, 32]);
    inner.add_(1);
    return k;
  });
  assert(inner.isDisposed && !kept.isDisposed);
  assert(a.every((v) => v === 4));
  assertEquals(kept.sum().item(), 4096);
});

Deno.test("fromTypedArray: the pool never hands out the caller's array", () => {
  const sizes = [300 / 4, 1024, 1 << 16]; // float32 elements: above the slab size, aligned sizes
  for (const n of sizes) {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    zn.fromTypedArray(a).dispose();
    zn.tidy(() => void zn.fromTypedArray(a).mul(2));
    // Results of exactly this size, released and taken again many times.
    for (let round = 0; round < 40; round++) {
      const made = zn.tidy(() => {
        const r = zn.full([n], -1).add(round);
        assert(storageOf(r).data.buffer !== a.buffer, "a result on the caller's memory");
        return r;
      });
      made.dispose();
    }
    const live = Array.from({ length: 20 }, () => zn.ones([n]).mul(5));
    for (const r of live) assert(storageOf(r).data.buffer !== a.buffer);
    let ok = a.length === n;
    for (let i = 0; ok && i < n; i++) ok = a[i] === i;
    assert(ok, `the caller's array of ${n} changed`);
  }
});

Deno.test("fromTypedArray: a buffer detached under a live tensor is refused, not read", () => {
  const a = new Float32Array(1000).fill(1);
  const t = zn.fromTypedArray(a);
  a.buffer.transfer(); // JavaScript takes the memory away
  assertThrows(() => t.sum(), TypeError, "memory was detached");
  assertThrows(() => t.add_(1), TypeError, "memory was detached");
  assertThrows(() => t.toArray(), TypeError, "memory was detached");
  assertThrows(() => t.asTypedArray(), TypeError, "memory was detached");
  t.dispose(); // still fine
});

Deno.test("asTypedArray: a view of the tensor's memory, both ways", () => {
  const t = zn.zeros([2, 3]);
  const v = t.asTypedArray() as Float32Array;
  assert(v instanceof Float32Array);
  assertEquals(v.length, 6);
  v[4] = 7;
  assertEquals(t.index(1, 1).item(), 7);
  t.add_(1);
  assertEquals(Array.from(v), [1, 1, 1, 1, 8, 1]);
  assert(t.asTypedArray().buffer === v.buffer, "every view shares one buffer");
  assertEquals(zn.asTypedArray(t), v);
  // Each dtype's storage type.
  assert(zn.arange(3).asTypedArray() instanceof BigInt64Array);
  assert(zn.ones([3], { dtype: "int32" }).asTypedArray() instanceof Int32Array);
  assert(zn.ones([3], { dtype: "float64" }).asTypedArray() instanceof Float64Array);
  const b = zn.tensor([true, false]).asTypedArray();
  assert(b instanceof Uint8Array);
  assertEquals(Array.from(b), [1, 0]);
  assertEquals(zn.zeros([0, 4]).asTypedArray().length, 0);
  assertEquals(zn.tensor(5).asTypedArray().length, 1);
});

Deno.test("asTypedArray: round trip with fromTypedArray views the caller's memory", () => {
  const buf = new ArrayBuffer(64);
  const a = new Int16Array(buf, 8, 12);
  const v = zn.fromTypedArray(a, [3, 4]).asTypedArray();
  assert(v.buffer === buf && v.byteOffset === 8 && v.length === 12);
  const row = zn.fromTypedArray(a, [3, 4]).index(2).asTypedArray();
  assertEquals(row.byteOffset, 8 + 2 * 4 * 2);
});

Deno.test("asTypedArray: contiguous slices give views at their offset", () => {
  const t = zn.arange(24).to("float32").reshape(2, 3, 4);
  const base = t.asTypedArray();
  const cases: [string, zn.Tensor, number, number[]][] = [
    ["select(0, 1)", t.select(0, 1), 12, [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]],
    ["index(1, 2)", t.index(1, 2), 20, [20, 21, 22, 23]],
    ["narrow(1, 1, 2)[0]", t.narrow(1, 1, 2).select(0, 0), 4, [4, 5, 6, 7, 8, 9, 10, 11]],
    ["narrow(0, 1, 1)", t.narrow(0, 1, 1), 12, [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]],
    ["row slice", t.index(0, { start: 1 }), 4, [4, 5, 6, 7, 8, 9, 10, 11]],
    ["one element", t.index(1, 0, 3), 15, [15]],
    ["a column of one", t.index(0, ":", { start: 2, stop: 3 }).select(0, 1), 6, [6]],
  ];
  for (const [name, s, offset, values] of cases) {
    assert(s.isContiguous(), name);
    const v = s.asTypedArray();
    assert(v.buffer === base.buffer, name);
    assertEquals(v.byteOffset, base.byteOffset + offset * 4, name);
    assertEquals(Array.from(v as Float32Array), values, name);
  }
  t.index(1, 2).asTypedArray()[0] = -1;
  assertEquals(t.index(1, 2, 0).item(), -1);
});

Deno.test("asTypedArray: refuses what no typed array can view", () => {
  const t = zn.arange(12).to("float32").reshape(3, 4);
  for (
    const [name, s] of [
      ["transpose", t.mT],
      ["column", t.index(":", 1)],
      ["step", t.index({ step: 2 })],
      ["expand", zn.ones([1, 4]).expand(3, 4)],
      ["narrow", t.narrow(1, 0, 2)],
    ] as [string, zn.Tensor][]
  ) {
    assert(!s.isContiguous(), name);
    assertThrows(() => s.asTypedArray(), TypeError, "not contiguous");
  }
  assertEquals(Array.from(t.mT.contiguous().asTypedArray() as Float32Array).slice(0, 3), [0, 4, 8]);
  const w = zn.randn([4], { requiresGrad: true });
  assertThrows(() => w.asTypedArray(), TypeError, "x.detach().asTypedArray()");
  assertThrows(() => w.mul(2).asTypedArray(), TypeError, "requires grad");
  assertEquals(w.detach().asTypedArray().length, 4);
  const h = zn.tensor([1, -2], { dtype: "float16" });
  assertThrows(() => h.asTypedArray(), TypeError, "rawBits: true");
  const bits = h.asTypedArray({ rawBits: true });
  assert(bits instanceof Uint16Array);
  assertEquals(Array.from(bits), [0x3c00, 0xc000]);
  assertThrows(
    () => zn.tensor([1], { dtype: "bfloat16" }).asTypedArray(),
    TypeError,
    "Uint16Array of raw bits",
  );
  assertThrows(() => t.asTypedArray({ raw: true } as zn.AsTypedArrayOptions), TypeError, "raw");
  const d = zn.ones([4]);
  d.dispose();
  assertThrows(() => d.asTypedArray(), Error, "tensor was disposed");
  assertThrows(() => zn.asTypedArray([1] as unknown as zn.Tensor), TypeError, "expected a Tensor");
});

Deno.test("asTypedArray: a tensor on a (mock) GPU is refused", () => {
  const g = zn.ones([4]).to("cuda");
  assertEquals(g.device, "cuda:0");
  assertThrows(() => g.asTypedArray(), TypeError, "the tensor is on cuda:0");
  assertEquals(g.toTypedArray().length, 4);
  // fromTypedArray is CPU memory; a move to the GPU copies it.
  const a = new Float32Array([1, 2]);
  const moved = zn.fromTypedArray(a).to("cuda");
  a[0] = 100;
  assertEquals(moved.toArray(), [1, 2]);
  moved.dispose();
  g.dispose();
});

Deno.test("asTypedArray: released memory detaches the view before it is reused", () => {
  const x = zn.randn([1000]);
  const t = x.mul(2); // a result: the library's own pooled memory
  const v = t.asTypedArray() as Float32Array;
  const first = v[0];
  assertEquals(first, t.index(0).item());
  const before = pooledCpuBytes();
  t.dispose();
  assertEquals(v.length, 0, "the view is detached");
  assert((v.buffer as ArrayBuffer).detached);
  assertEquals(v[0], undefined);
  assertEquals(pooledCpuBytes(), before + 4000, "the memory still went back to the pool");
  const next = x.mul(3); // takes that memory
  assertEquals(pooledCpuBytes(), before);
  assertEquals(v.length, 0);
  assertEquals(next.index(0).item(), x.index(0).item() as number * 3);
  // The same at the end of a tidy scope.
  let view!: zn.TypedArray;
  zn.tidy(() => {
    view = x.add(1).asTypedArray();
    assertEquals(view.length, 1000);
  });
  assertEquals(view.length, 0);
  // A view whose tensor is returned from the scope stays valid.
  let kept!: zn.TypedArray;
  const r = zn.tidy(() => {
    const y = x.add(1);
    kept = y.asTypedArray();
    return y;
  });
  assertEquals(kept.length, 1000);
  assertEquals(kept[3], r.index(3).item());
});

Deno.test("asTypedArray: views of memory the pool never takes keep their last values", () => {
  // A small tensor lives in a slab shared with others: its view gets an array
  // of its own, so the view's buffer shows (and can detach) no other tensor.
  const other = zn.ones([4]).mul(5);
  const small = zn.ones([4]).mul(2);
  assert(storageOf(small).slab);
  const v = small.asTypedArray() as Float32Array;
  assertEquals(v.buffer.byteLength, 16);
  assert(!storageOf(small).slab);
  v[1] = 9;
  assertEquals(small.toArray(), [2, 9, 2, 2]);
  (v.buffer as ArrayBuffer).transfer();
  assertEquals(other.toArray(), [5, 5, 5, 5]);
  assertThrows(() => small.sum(), TypeError, "memory was detached");
  assertEquals(zn.ones([4]).mul(3).toArray(), [3, 3, 3, 3], "new small results are fine");
  // Arrays from creation functions are never pooled: the view keeps the last values.
  const r = zn.randn([500]);
  const rv = r.asTypedArray() as Float32Array;
  const last = Array.from(rv);
  r.dispose();
  assertEquals(Array.from(rv), last);
  for (let i = 0; i < 10; i++) zn.randn([500]).mul(2).dispose();
  assertEquals(Array.from(rv), last);
});

Deno.test("asTypedArray: transferring a view's buffer makes the tensor refuse ops", () => {
  const t = zn.ones([1000]).mul(2);
  const v = t.asTypedArray();
  const moved = new Float32Array((v.buffer as ArrayBuffer).transfer()); // e.g. postMessage(v, [v.buffer])
  assertEquals(moved[999], 2);
  assertThrows(() => t.sum(), TypeError, "memory was detached");
  assertThrows(() => t.to("cuda"), TypeError);
  const before = pooledCpuBytes();
  t.dispose(); // nothing to take back
  assertEquals(pooledCpuBytes(), before);
  assertEquals(zn.ones([1000]).mul(2).sum().item(), 2000);
});

Deno.test("asTypedArray: in-place ops and optimizer steps show in the view", () => {
  const w = zn.tensor([1, 2, 3], { requiresGrad: true });
  const view = w.detach().asTypedArray() as Float32Array;
  const opt = new zn.optim.SGD([w], { lr: 0.5 });
  w.square().sum().backward(); // grad 2w
  opt.step();
  assertEquals(Array.from(view), [0, 0, 0]);
  zn.noGrad(() => w.add_(1));
  assertEquals(Array.from(view), [1, 1, 1]);
});
