// Large CPU tensors take their memory from the native pool that the garbage
// collector refills (src/host_memory.ts): results a loop drops come back to
// later results of their size, zero-filled where asked, in Workers too, and
// the memory a loop holds stays bounded.
import { assert, assertEquals } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { CpuStorage } from "../src/cpu_backend.ts";
import { hostPoolActive, hostPoolStats } from "../src/host_memory.ts";
import { runDeno } from "./deno_process.ts";

const MiB = 2 ** 20;

function bufferOf(t: zn.Tensor): ArrayBuffer {
  const s = t.storage;
  assert(s instanceof CpuStorage);
  return s.data.buffer as ArrayBuffer;
}

Deno.test("host memory: the pool serves large CPU tensors under Deno", () => {
  assert(hostPoolActive(), "process.dlopen of the library gave no alloc");
  const before = hostPoolStats();
  const t = zn.ones([256, 1024]).mul(3); // 1 MiB results
  const after = hostPoolStats();
  assert(after.fresh + after.reused >= before.fresh + before.reused + 2, JSON.stringify(after));
  assertEquals(bufferOf(t).byteLength, MiB);
  assertEquals(t.sum().item(), 3 * 256 * 1024);
  // Small tensors stay in V8's arrays.
  const small = zn.ones([16, 16]).add(1);
  assertEquals(hostPoolStats().fresh + hostPoolStats().reused, after.fresh + after.reused);
  assertEquals(small.sum().item(), 512);
});

Deno.test("host memory: results a loop drops are reused, and the memory held stays bounded", () => {
  const x = zn.randn([256, 1024]);
  const want = x.sum().item() as number;
  // The first collection comes after some tens of megabytes: blocks until then are fresh.
  for (let i = 0; i < 200; i++) x.mul(2).add(1);
  const before = hostPoolStats();
  let peak = 0;
  for (let i = 0; i < 600; i++) {
    const y = x.mul(2).add(1); // two 1 MiB results dropped each step
    if (i % 50 === 0) {
      const got = y.sum().item() as number;
      assert(Math.abs(got - (2 * want + 256 * 1024)) < 1, `step ${i}: sum ${got}`);
    }
    peak = Math.max(peak, hostPoolStats().outstandingBytes - before.outstandingBytes);
  }
  const after = hostPoolStats();
  const fresh = after.fresh - before.fresh, reused = after.reused - before.reused;
  // Most come back at young-generation collections; a few are promoted and
  // wait for a full one, so some blocks are still fresh.
  assert(reused > 800, `only ${reused} of 1,200 results reused memory (${fresh} fresh blocks)`);
  assert(peak < 384 * MiB, `the loop held ${(peak / MiB).toFixed(0)} MiB of dropped results`);
  assert(after.pooledBytes <= after.poolLimit);
});

Deno.test("host memory: recycled memory is zero where zeros are asked for", () => {
  // Blocks of one class holding 7s circulate; zeros must clear the one it takes.
  let recycled = 0;
  for (let i = 0; i < 300 && recycled < 3; i++) {
    zn.full([512, 1024], 7);
    const before = hostPoolStats().reused;
    const z = zn.zeros([512, 1024]);
    const e = zn.empty([512, 1024]).fill_(0); // its own fill
    if (hostPoolStats().reused > before) recycled++;
    assertEquals((z.toTypedArray() as Float32Array).filter((v) => v !== 0).length, 0);
    assertEquals((e.toTypedArray() as Float32Array).filter((v) => v !== 0).length, 0);
  }
  assert(recycled === 3, `zeros took a recycled block ${recycled} times in 300 steps`);
  // Gradients accumulate into zero-filled memory.
  const w = zn.full([512, 1024], 1, { requiresGrad: true });
  w.mul(2).sum().backward();
  assertEquals(w.grad!.sum().item(), 2 * 512 * 1024);
});

Deno.test("host memory: a tensor's memory moves to a Worker and back intact", async () => {
  const t = zn.arange(1 << 18).to("float32"); // 1 MiB from the pool
  const arr = t.clone().asTypedArray() as Float32Array;
  const src = `
    import * as zn from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    self.onmessage = (e) => {
      const a = new Float32Array(e.data);
      // The Worker's own large results, dropped, from its own pool calls.
      let s = 0;
      for (let i = 0; i < 100; i++) s = zn.fromTypedArray(a).mul(2).sum().item();
      a[0] = -1;
      self.postMessage({ buf: e.data, s }, [e.data]);
    };`;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const w = new Worker(url, { type: "module" });
  try {
    const reply = await new Promise<{ buf: ArrayBuffer; s: number }>((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      const buf = arr.buffer as ArrayBuffer;
      w.postMessage(buf, [buf]);
    });
    const back = new Float32Array(reply.buf);
    assertEquals(back.length, 1 << 18);
    assertEquals(back[0], -1);
    assertEquals(back[12345], 12345);
    const n = 1 << 18;
    assert(Math.abs(reply.s - n * (n - 1)) / (n * (n - 1)) < 1e-5, `worker sum ${reply.s}`);
  } finally {
    w.terminate();
    URL.revokeObjectURL(url);
  }
  assertEquals(t.sum().item(), (1 << 18) * ((1 << 18) - 1) / 2);
});

Deno.test("host memory: ZENO_HOST_POOL=0 leaves every array to V8", async () => {
  const code = `
    import * as zn from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    import { hostPoolActive, hostPoolStats } from ${
    JSON.stringify(new URL("../src/host_memory.ts", import.meta.url).href)
  };
    const t = zn.ones([512, 1024]).mul(2);
    const s = hostPoolStats();
    console.log(JSON.stringify([hostPoolActive(), s.fresh + s.reused, t.sum().item()]));`;
  const run = await runDeno(["eval", "--ext=ts", code], { env: { ZENO_HOST_POOL: "0" } });
  assert(run.success, run.stderr);
  assertEquals(JSON.parse(run.stdout), [false, 0, 2 * 512 * 1024]);
});
