import * as zn from "../mod.ts";
import { assert, assertEquals } from "./assert_helpers.ts";
import { fileURLToPath } from "node:url";

const slowModel = (ms: number): zn.serve.ModelSpec => ({
  module: new URL("./serve/slow_model.ts", import.meta.url).href,
  args: [ms],
});

/** An ONNX file of a small MLP ([N, 4] -> [N, 3]) and the module it came from. */
async function mlpFile(dir: string): Promise<{ path: string; net: zn.nn.Module }> {
  zn.manualSeed(11);
  const net = new zn.nn.Sequential(
    new zn.nn.Linear(4, 8),
    new zn.nn.Tanh(),
    new zn.nn.Linear(8, 3),
  );
  const path = `${dir}/mlp.onnx`;
  await zn.onnx.exportModel(net, [zn.randn([2, 4])], path, {
    inputNames: ["x"],
    dynamicAxes: { x: [0], output_0: [0] },
  });
  return { path, net: net.eval() };
}

async function withServer(
  opts: zn.serve.ServeOptions,
  fn: (s: zn.serve.ModelServer) => Promise<void>,
): Promise<void> {
  const s = await zn.serve.serveModel({ port: 0, ...opts });
  try {
    await fn(s);
  } finally {
    await s.shutdown();
  }
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

function payload(n: number, f: (i: number) => number): zn.serve.TensorPayload {
  return {
    dtype: "float32",
    shape: [n, 2],
    data: Float32Array.from({ length: 2 * n }, (_, i) => f(i)),
  };
}

// ------------------------------------------------------------------ batcher

Deno.test("batcher: requests queued behind a running batch run as one batch, each getting its rows", async () => {
  const sizes: number[] = [];
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const b = new zn.serve.DynamicBatcher(async (p) => {
    sizes.push(p.shape[0]);
    if (sizes.length === 1) await gate;
    return { ...p, data: (p.data as Float32Array).map((v) => v * 10) };
  }, { maxBatch: 8, maxDelayMs: 1000, maxQueue: 100, slots: 1 });
  const first = b.submit(payload(1, () => 1));
  // Six requests of 1-3 rows while the first batch runs: 12 rows, maxBatch 8.
  const rest = [1, 2, 3, 1, 2, 3].map((n, k) => b.submit(payload(n, (i) => 100 * k + i)));
  release();
  await first;
  const outs = await Promise.all(rest);
  assertEquals(sizes, [1, 7, 5]);
  outs.forEach((o, k) => {
    const n = [1, 2, 3, 1, 2, 3][k];
    assertEquals(o.shape, [n, 2]);
    assertEquals(
      Array.from(o.data as Float32Array),
      Array.from({ length: 2 * n }, (_, i) => 10 * (100 * k + i)),
    );
  });
  await b.idle();
});

Deno.test("batcher: an idle batcher runs a request at once; a full queue refuses with 503", async () => {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const b = new zn.serve.DynamicBatcher(async (p) => {
    await gate;
    return p;
  }, { maxBatch: 4, maxDelayMs: 10_000, maxQueue: 3, slots: 1 });
  const t0 = performance.now();
  const first = b.submit(payload(1, () => 0));
  assertEquals(b.running, 1, "dispatched without waiting for maxDelayMs");
  const queued = [b.submit(payload(2, () => 0)), b.submit(payload(1, () => 0))];
  let refused: unknown;
  await b.submit(payload(1, () => 0)).catch((e) => (refused = e));
  assert(refused instanceof zn.serve.HttpError && refused.status === 503, String(refused));
  assert(/overloaded \(3 examples queued, limit 3\)/.test((refused as Error).message));
  release();
  await Promise.all([first, ...queued]);
  assert(performance.now() - t0 < 5000);
});

Deno.test("batcher: a failing batch fails each of its requests", async () => {
  const b = new zn.serve.DynamicBatcher(() => Promise.reject(new Error("boom")), {
    maxBatch: 4,
    maxDelayMs: 0,
    maxQueue: 8,
    slots: 1,
  });
  let err: unknown;
  await b.submit(payload(1, () => 0)).catch((e) => (err = e));
  assert(err instanceof Error && err.message === "boom");
});

// ------------------------------------------------------------------ server

Deno.test("server: JSON and binary predictions match the model; health and 404", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path, net } = await mlpFile(dir);
    await withServer({ model: { onnx: path } }, async (s) => {
      const x = zn.randn([5, 4]);
      const want = zn.noGrad(() => net.call(x)).toTypedArray() as Float32Array;
      const r1 = await fetch(`${s.url}/v1/predict`, json({ input: x.toArray() }));
      assertEquals(r1.status, 200);
      const body = await r1.json();
      assertEquals(body.shape, [5, 3]);
      assertEquals(body.dtype, "float32");
      const got1 = (body.output as number[][]).flat();
      got1.forEach((v, i) =>
        assert(Math.abs(v - want[i]) <= 1e-6, `json ${i}: ${v} vs ${want[i]}`)
      );

      const r2 = await fetch(`${s.url}/v1/predict`, {
        method: "POST",
        headers: {
          "content-type": "application/octet-stream",
          "x-tensor-dtype": "float32",
          "x-tensor-shape": "5,4",
        },
        body: x.toTypedArray() as Float32Array<ArrayBuffer>,
      });
      assertEquals(r2.status, 200);
      assertEquals(r2.headers.get("x-tensor-shape"), "5,3");
      assertEquals(r2.headers.get("x-tensor-dtype"), "float32");
      const got2 = new Float32Array(await r2.arrayBuffer());
      assertEquals(Array.from(got2), Array.from(want));

      const h = await fetch(`${s.url}/health`);
      assertEquals((await h.json()).status, "ok");
      const nf = await fetch(`${s.url}/nope`);
      assertEquals(nf.status, 404);
      await nf.body?.cancel();
      const get = await fetch(`${s.url}/v1/predict`);
      assertEquals(get.status, 405);
      await get.body?.cancel();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: bad requests get 400, 413 or 415 with a message naming the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path } = await mlpFile(dir);
    await withServer({ model: { onnx: path }, maxBodyBytes: 4096 }, async (s) => {
      const cases: [RequestInit, number, RegExp][] = [
        [json("{not json"), 400, /not valid JSON/],
        [json({ inputs: [[1, 2, 3, 4]] }), 400, /"input" key/],
        [json({ input: [[1, 2, 3, 4]], extra: 1 }), 400, /unknown key 'extra'/],
        [json({ input: [[1, 2, 3]] }), 400, /must have shape \[N, 4\], got \[1, 3\]/],
        [json({ input: [[1, 2, 3, 4], [1, 2]] }), 400, /ragged/],
        [json({ input: [[1, 2, "x", 4]] }), 400, /input\[0\]\[2\] is string/],
        [json({ input: [[1, 2, 3, 4]], dtype: "int64" }), 400, /must be float32, got int64/],
        [json({ input: [[1, 2, 3, 4]], dtype: "complex" }), 400, /unsupported dtype 'complex'/],
        [json({ input: [] }), 400, /must have shape \[N, 4\], got \[0\]/],
        [
          {
            method: "POST",
            headers: {
              "content-type": "application/octet-stream",
              "x-tensor-dtype": "float32",
              "x-tensor-shape": "0,4",
            },
          },
          400,
          /no examples/,
        ],
        [json({ input: Array(500).fill([1, 2, 3, 4]) }), 413, /over the limit of 4096/],
        [
          {
            method: "POST",
            headers: { "content-type": "application/octet-stream", "x-tensor-dtype": "float32" },
            body: new Uint8Array(16),
          },
          400,
          /needs the x-tensor-dtype and x-tensor-shape headers/,
        ],
        [
          {
            method: "POST",
            headers: {
              "content-type": "application/octet-stream",
              "x-tensor-dtype": "float32",
              "x-tensor-shape": "1,4",
            },
            body: new Uint8Array(12),
          },
          400,
          /has 12 bytes; a float32 tensor of shape \[1,4\] has 16/,
        ],
        [
          { method: "POST", headers: { "content-type": "text/plain" }, body: "1 2 3 4" },
          415,
          /Content-Type/,
        ],
      ];
      for (const [init, status, msg] of cases) {
        const r = await fetch(`${s.url}/v1/predict`, init);
        const text = await r.text();
        assertEquals(r.status, status, `${init.body}: ${text}`);
        assert(msg.test(JSON.parse(text).error), `${status}: ${text}`);
      }
      const m = await (await fetch(`${s.url}/metrics`)).text();
      assert(m.includes('zeno_requests_total{route="/v1/predict",code="400"} 12'), m);
      assert(m.includes('zeno_requests_total{route="/v1/predict",code="413"} 1'), m);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: concurrent requests batch together, and /metrics counts them in Prometheus format", async () => {
  await withServer({ model: slowModel(40), maxBatch: 16, maxDelayMs: 50 }, async (s) => {
    const reqs = Array.from(
      { length: 12 },
      (_, k) => fetch(`${s.url}/v1/predict`, json({ input: [[k, k + 0.5]] })).then((r) => r.json()),
    );
    const outs = await Promise.all(reqs);
    outs.forEach((o, k) => assertEquals(o.output, [[2 * k, 2 * k + 1]]));
    const m = await (await fetch(`${s.url}/metrics`)).text();
    assert(m.includes('zeno_requests_total{route="/v1/predict",code="200"} 12'), m);
    assert(m.includes("# TYPE zeno_batch_size histogram"), m);
    assert(m.includes("# TYPE zeno_request_duration_seconds histogram"), m);
    assert(m.includes("zeno_batch_size_sum 12"), m);
    const batches = Number(/zeno_batch_size_count (\d+)/.exec(m)![1]);
    assert(batches >= 2 && batches <= 6, `12 requests ran as ${batches} batches`);
    assert(m.includes("zeno_request_duration_seconds_count 12"), m);
  });
});

Deno.test("server: overload is answered 503 while the queue is full, and every other request completes", async () => {
  await withServer({ model: slowModel(100), maxBatch: 2, maxQueue: 4 }, async (s) => {
    const codes = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          fetch(`${s.url}/v1/predict`, json({ input: [[1, 2]] })).then(async (r) => {
            const b = await r.json();
            if (r.status === 200) assertEquals(b.output, [[2, 4]]);
            else assert(/overloaded/.test(b.error), b.error);
            return r.status;
          }),
      ),
    );
    const ok = codes.filter((c) => c === 200).length, busy = codes.filter((c) => c === 503).length;
    assertEquals(ok + busy, 20);
    assert(busy > 0 && ok >= 5, `${ok} answered, ${busy} refused`);
  });
});

Deno.test("server: shutdown finishes the request in flight, then refuses connections", async () => {
  const s = await zn.serve.serveModel({ model: slowModel(300), port: 0 });
  const inFlight = fetch(`${s.url}/v1/predict`, json({ input: [[3, 4]] }));
  await new Promise((r) => setTimeout(r, 100));
  const done = s.shutdown();
  const r = await inFlight;
  assertEquals(r.status, 200);
  assertEquals((await r.json()).output, [[6, 8]]);
  await done;
  let refused = false;
  await fetch(`${s.url}/health`).catch(() => (refused = true));
  assert(refused, "no connection after shutdown");
});

Deno.test("server: a model that does not load fails serveModel with the reason", async () => {
  let err: unknown;
  await zn.serve.serveModel({ model: { onnx: "/nonexistent/model.onnx" }, port: 0 }).catch((e) =>
    err = e
  );
  assert(err instanceof Error && /did not load/.test(err.message), String(err));
  let err2: unknown;
  await zn.serve.serveModel({ model: { onnx: "x" }, port: 0, batch: 4 } as never).catch((e) =>
    err2 = e
  );
  assert(err2 instanceof TypeError && /batch/.test(err2.message), String(err2));
});

Deno.test("serve CLI: serves an ONNX file and exits 0 on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path } = await mlpFile(dir);
    const script = fileURLToPath(new URL("../examples/mnist/serve.ts", import.meta.url));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script, "--onnx", path, "--port", "0"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/serving .* on (http:\S+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const url = /serving .* on (http:\S+)/.exec(out)?.[1];
    assert(url, `no address in: ${out}`);
    const r = await fetch(`${url}/v1/predict`, json({ input: [[1, 2, 3, 4]] }));
    assertEquals(r.status, 200);
    await r.body?.cancel();
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    await child.stderr.cancel();
    assertEquals(status.code, 0);
    assert(out.includes("shut down"), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
