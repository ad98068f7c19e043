// The CPU memory pool: arrays released by dispose(), zn.tidy and the backward
// pass are reused for later results of the same size, and never while
// anything can still read them.
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { CpuStorage, pooledCpuBytes } from "../src/cpu_backend.ts";

function storageOf(t: zn.Tensor): CpuStorage {
  const s = t.storage;
  assert(s instanceof CpuStorage);
  return s;
}

Deno.test("cpu pool: memory released by tidy is reused, and zeros are zero", () => {
  const before = pooledCpuBytes();
  let tmp!: zn.Tensor;
  zn.tidy(() => {
    tmp = zn.full([3, 1000], 7.5);
    tmp.mul(2);
  });
  assert(tmp.isDisposed);
  assert(pooledCpuBytes() >= before + 2 * 12000, `pool grew by ${pooledCpuBytes() - before} bytes`);
  const buffers = new Set([storageOf(zn.ones([1])).data.buffer]);
  const z = zn.zeros([3, 1000]); // takes a released array of this size
  assertEquals(z.sum().item(), 0);
  assertEquals((z.toTypedArray() as Float32Array).filter((v) => v !== 0).length, 0);
  const r = zn.arange(3000).to("float32").reshape([3, 1000]);
  const e = r.add(0); // an uninitialised result: every element is written
  assertEquals(e.sum().item(), 2999 * 3000 / 2);
  assert(!buffers.has(storageOf(z).data.buffer));
});

Deno.test("cpu pool: a released array is handed out once", () => {
  const a = zn.randn([512]).mul(2); // a result: the library's own array
  const buf = storageOf(a).data.buffer;
  a.dispose();
  const b = zn.ones([512]);
  const c = zn.ones([512]).mul(3);
  const bufB = storageOf(b).data.buffer, bufC = storageOf(c).data.buffer;
  assert(bufB !== bufC, "two live tensors never share a pooled array");
  assert(bufB === buf || bufC === buf, "the released array was reused");
  assertEquals(b.sum().item(), 512);
  assertEquals(c.sum().item(), 1536);
});

Deno.test("cpu pool: a disposed storage keeps no elements", () => {
  const t = zn.ones([100, 10]);
  const s = storageOf(t);
  t.dispose();
  assertEquals(s.length, 0);
  assertThrows(() => t.toArray(), Error, "tensor was disposed");
  assertThrows(() => zn.serialize({ t }), Error, "tensor was disposed");
  assertThrows(() => t.to("cpu:9"), Error);
});

Deno.test("cpu pool: arrays an async save writes out are never reused", async () => {
  const t = zn.randn([2000]);
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  try {
    await zn.save({ t }, path);
    assert(storageOf(t).shared, "save's bytes may be written after an await");
    const before = pooledCpuBytes();
    t.dispose();
    assertEquals(pooledCpuBytes(), before);
  } finally {
    await Deno.remove(path);
  }
  const u = zn.randn([2000]).add(1);
  zn.serialize({ u }); // copied synchronously: the array stays poolable
  assert(!storageOf(u).shared);
});

Deno.test("cpu pool: slab views and arrays from outside are not pooled", () => {
  const small = zn.ones([8]); // 32 bytes: a view in a shared slab
  const before = pooledCpuBytes();
  small.dispose();
  assertEquals(pooledCpuBytes(), before);
  const st = zn.deserialize(zn.serialize({ w: zn.randn([300]) })).w; // read from bytes
  const before2 = pooledCpuBytes();
  st.dispose();
  assertEquals(pooledCpuBytes(), before2);
});

Deno.test("cpu pool: backward releases its temporaries; grads and hooks' tensors stay valid", () => {
  zn.manualSeed(1);
  const w = zn.randn([64, 32], { requiresGrad: true });
  const x = zn.randn([16, 64]);
  const before = pooledCpuBytes();
  x.matmul(w).relu().square().sum().backward();
  assert(pooledCpuBytes() > before, "the intermediate gradients went back to the pool");
  const expect = w.grad!.toArray();
  // Later results of the same sizes reuse that memory; the grad is untouched.
  for (let i = 0; i < 5; i++) x.matmul(w).relu().mul(3);
  assertEquals(w.grad!.toArray(), expect);
  // With a hook the pass keeps its tensors: a stashed gradient stays readable.
  let stash: zn.Tensor | null = null;
  const h = x.matmul(w);
  h.registerHook((g) => {
    stash = g;
  });
  h.relu().sum().backward();
  for (let i = 0; i < 5; i++) x.matmul(w).relu().mul(3);
  assert(stash !== null && !(stash as zn.Tensor).isDisposed);
  assertEquals((stash as zn.Tensor).shape, [16, 32]);
});

Deno.test("cpu pool: a training loop gives the same losses with and without tidy", () => {
  function run(tidy: boolean): number[] {
    zn.manualSeed(3);
    const net = new zn.nn.Sequential(
      new zn.nn.Linear(40, 64),
      new zn.nn.ReLU(),
      new zn.nn.Linear(64, 5),
    );
    const opt = new zn.optim.Adam(net.parameters(), { lr: 0.01 });
    const x = zn.randn([32, 40]);
    const y = zn.randint(0, 5, [32]);
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const step = () => {
        opt.zeroGrad();
        const loss = zn.nn.functional.crossEntropy(net.call(x), y);
        loss.backward();
        opt.step();
        return loss.item() as number;
      };
      losses.push(tidy ? zn.tidy(step) : step());
    }
    return losses;
  }
  const plain = run(false);
  const tidied = run(true);
  assertEquals(tidied, plain);
  assert(plain[19] < plain[0], `loss went from ${plain[0]} to ${plain[19]}`);
});

Deno.test("cpu pool: stays bounded when sizes keep changing", () => {
  for (let i = 0; i < 40; i++) {
    zn.tidy(() => void zn.ones([(8 << 20) / 4 + i]).mul(2)); // 8 MiB + i floats, twice
  }
  assert(pooledCpuBytes() <= 256 << 20, `pool holds ${pooledCpuBytes()} bytes`);
});

Deno.test("cpu pool: results on reused memory are written in full", () => {
  // Fill the pool with released arrays of NaN, the size of every result below.
  const poison = () =>
    zn.tidy(() => {
      for (let i = 0; i < 6; i++) zn.full([4, 300], NaN).add(0);
    });
  const x = zn.randn([10, 300]);
  const checks: [string, () => zn.Tensor][] = [
    ["softmax", () => x.narrow(0, 0, 4).softmax(1)],
    ["logSoftmax", () => x.narrow(0, 0, 4).logSoftmax(1)],
    ["cumsum", () => x.narrow(0, 0, 4).cumsum(1)],
    ["indexSelect", () => x.indexSelect(0, zn.tensor([9, 0, 3, 3], { dtype: "int64" }))],
    ["cat", () => zn.cat([x.narrow(0, 0, 2), x.narrow(0, 5, 2)], 0)],
  ];
  for (const [name, f] of checks) {
    poison();
    const r = f();
    const bad = (r.toTypedArray() as Float32Array).filter((v) => Number.isNaN(v)).length;
    assertEquals(bad, 0, `${name}: ${bad} elements not written`);
  }
  poison();
  const rows = x.narrow(0, 0, 4).softmax(1).sum(1).toArray() as number[];
  for (const s of rows) assert(Math.abs(s - 1) < 1e-5, `softmax row sums to ${s}`);
});

Deno.test("cpu pool: ones and full on reused memory hold their value everywhere", () => {
  const poison = () =>
    zn.tidy(() => {
      for (let i = 0; i < 4; i++) zn.full([7, 100], NaN).add(0);
    });
  poison();
  assertEquals(zn.ones([7, 100]).sum().item(), 700);
  poison();
  assertEquals(zn.full([7, 100], 2.5).sum().item(), 1750);
  poison();
  assertEquals(zn.zeros([7, 100]).sum().item(), 0);
});

Deno.test("cpu pool: arrays of 1 KiB or more start on a 64-byte boundary", () => {
  const offsetOf = (t: zn.Tensor) => {
    const p = Deno.UnsafePointer.of(storageOf(t).data);
    return Number(Deno.UnsafePointer.value(p) % 64n);
  };
  const made: [string, zn.Tensor][] = [];
  for (const n of [256, 1000, 4099, 1 << 18]) {
    const r = zn.randn([n]);
    made.push([`randn ${n}`, r], [`rand f64 ${n}`, zn.rand([n], { dtype: "float64" })]);
    made.push([`zeros ${n}`, zn.zeros([n])], [`arange ${n}`, zn.arange(n)]);
    made.push([`tensor ${n}`, zn.tensor(Array.from({ length: n }, (_, i) => i))]);
    made.push([`result ${n}`, r.add(1)]);
    zn.tidy(() => void r.mul(2)); // released to the pool, then handed out again
    made.push([`pooled result ${n}`, r.mul(3)]);
  }
  for (const [name, t] of made) assertEquals(offsetOf(t), 0, name);
  // The contents are what they should be on the offset arrays.
  const x = zn.arange(1000).to("float32");
  assertEquals(x.add(x).sum().item(), 999 * 1000);
});

/** The smaps fields of the mapping that holds `address`, or null. */
function mappingOf(address: bigint): Record<string, string> | null {
  let fields: Record<string, string> | null = null;
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) {
      if (fields) return fields;
      const inside = BigInt(`0x${range[1]}`) <= address && address < BigInt(`0x${range[2]}`);
      fields = inside ? {} : null;
    } else if (fields) {
      const [k, v] = line.split(":");
      if (v !== undefined) fields[k.trim()] = v.trim();
    }
  }
  return fields;
}

const thpMode = (() => {
  try {
    return /\[(\w+)\]/.exec(Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled"))
      ?.[1] ?? "never";
  } catch {
    return "never"; // not Linux, or no transparent huge pages
  }
})();

Deno.test({
  name:
    "cpu pool: a fresh array of 4 MiB or more asks for transparent huge pages, one of 32 MiB starts on one",
  ignore: Deno.build.os !== "linux" || thpMode === "never",
  fn() {
    const big = zn.zeros([3 << 20]); // 12 MiB: whole 2 MiB pages inside it
    const data = storageOf(big).data;
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data)!));
    const middle = base + BigInt(data.byteLength >> 1);
    const m = mappingOf(middle);
    assert(m !== null, "the array's memory is in a mapping");
    assertEquals(m.THPeligible, "1", `mapping of a 12 MiB tensor: ${JSON.stringify(m)}`);
    big.fill_(1); // first writes fault in whole huge pages where the kernel has them free
    assertEquals(big.sum().item(), 3 << 20);
    // From 32 MiB the array starts on a 2 MiB boundary: all of it on huge pages.
    const huge = zn.zeros([10 << 20]);
    const hd = storageOf(huge).data;
    const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(hd)!));
    assertEquals(start % BigInt(2 << 20), 0n, `a 40 MiB array starts at 0x${start.toString(16)}`);
    assertEquals(mappingOf(start)?.THPeligible, "1", "the mapping at a 40 MiB array's start");
    assertEquals(hd.length, 10 << 20);
    huge.add_(2);
    assertEquals(huge.max().item(), 2);
  },
});
