/**
 * Load test of the inference server against the common Python deployment
 * of the same model, on loopback, in one run: `deno task serve` (Zeno) and
 * bench/serve_torch.py (FastAPI + uvicorn + PyTorch, the same wire format
 * and the same batching choice) serve the same trained digits CNN, and
 * closed-loop clients send single test digits at concurrency 1, 8 and 64.
 * Each level is bounded in requests and in time. Prints throughput and
 * p50/p99 latency per server, and Zeno's ratios (throughput: higher is
 * better; p99: lower is better).
 *
 *   deno task loadtest [--model model.safetensors] [--requests 2000] [--seconds 20]
 *                      [--levels 1,8,64] [--format json|binary]
 *
 * Needs python3 with torch, fastapi and uvicorn (bench/requirements-loadtest.txt).
 * Without --model it trains a small CNN first (one epoch on 4000 digits).
 *
 * @module
 */
import * as zn from "../mod.ts";
import { Cli } from "../examples/cli_flags.ts";
import { loadSplits } from "../examples/mnist/common.ts";
import { fileURLToPath } from "node:url";

const cli = new Cli({
  name: "loadtest",
  usage: "deno task loadtest [flags]",
  summary: "Zeno's inference server against FastAPI + uvicorn + PyTorch on the digits CNN.",
  flags: {
    model: { metavar: "FILE", description: "a model from `deno task train` (default: train one)" },
    requests: {
      type: "integer",
      default: 2000,
      min: 1,
      description: "requests per level and server",
    },
    seconds: {
      type: "number",
      default: 20,
      above: 0,
      description: "time cap per level and server",
    },
    levels: {
      default: "1,8,64",
      pattern: /^\d+(,\d+)*$/,
      expected: "comma-separated counts",
      description: "concurrency levels",
    },
    format: {
      choices: ["json", "binary"],
      default: "json",
      description: "the request body format",
    },
    "max-batch": {
      type: "integer",
      default: 64,
      min: 1,
      description: "batching: examples per pass",
    },
    "max-delay-ms": {
      type: "number",
      default: 2,
      min: 0,
      description: "batching: wait for others",
    },
  },
});
const f = cli.parse();
const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = await Deno.makeTempDir();

async function run(cmd: string, args: string[], cwd = tmp): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

let modelPath = f.model ? (await Deno.realPath(f.model)) : `${tmp}/model.safetensors`;
if (!f.model) {
  console.log("training a digits CNN (1 epoch, 4000 digits) ...");
  await run(Deno.execPath(), [
    "run",
    "--allow-all",
    `${root}examples/mnist/train.ts`,
    "--epochs",
    "1",
    "--limit",
    "4000",
  ]);
  modelPath = `${tmp}/model.safetensors`;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

async function waitHealthy(url: string, child: Deno.ChildProcess, name: string): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < 60_000) {
    try {
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not up yet */ }
    const st = await Promise.race([
      child.status,
      new Promise((r) => setTimeout(() => r(null), 200)),
    ]);
    if (st) throw new Error(`${name} exited before serving`);
  }
  throw new Error(`${name} did not answer /health within 60 s`);
}

const servers: { name: string; url: string; child: Deno.ChildProcess }[] = [];
const zport = freePort(), tport = freePort();
const zeno = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    `${root}examples/mnist/serve.ts`,
    "--model",
    modelPath,
    "--port",
    `${zport}`,
    "--max-batch",
    `${f["max-batch"]}`,
    "--max-delay-ms",
    `${f["max-delay-ms"]}`,
    "--max-queue",
    "100000",
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();
servers.push({ name: "zeno", url: `http://127.0.0.1:${zport}`, child: zeno });
const torch = new Deno.Command("python3", {
  args: [
    `${root}bench/serve_torch.py`,
    modelPath,
    `${tport}`,
    `${f["max-batch"]}`,
    `${f["max-delay-ms"]}`,
  ],
  stdout: "null",
  stderr: "inherit",
}).spawn();
servers.push({ name: "fastapi+torch", url: `http://127.0.0.1:${tport}`, child: torch });

try {
  for (const s of servers) await waitHealthy(s.url, s.child, s.name);
  // Request bodies: 256 different test digits, serialised once.
  const { test } = await loadSplits(0, 256);
  const n = test.x.shape[0];
  const pixels = test.x.toTypedArray() as Float32Array;
  const bodies = Array.from({ length: n }, (_, i) => {
    const px = pixels.slice(i * 784, (i + 1) * 784);
    return f.format === "binary"
      ? px
      : JSON.stringify({ input: zn.fromTypedArray(px, [1, 1, 28, 28]).toArray() });
  });
  const headers: Record<string, string> = f.format === "binary"
    ? {
      "content-type": "application/octet-stream",
      "x-tensor-dtype": "float32",
      "x-tensor-shape": "1,1,28,28",
    }
    : { "content-type": "application/json" };
  const send = async (url: string, i: number): Promise<number[]> => {
    const r = await fetch(`${url}/v1/predict`, { method: "POST", headers, body: bodies[i % n] });
    if (!r.ok) throw new Error(`${r.status}: ${await r.text()}`);
    if (f.format === "binary") return Array.from(new Float32Array(await r.arrayBuffer()));
    return ((await r.json()).output as number[][])[0];
  };
  // Both servers answer the same digits alike (their argmax), before timing.
  let agree = 0;
  for (let i = 0; i < 64; i++) {
    const [a, b] = await Promise.all(servers.map((s) => send(s.url, i)));
    if (a.indexOf(Math.max(...a)) === b.indexOf(Math.max(...b))) agree++;
  }
  const agreement = `the two servers give the same class for ${agree} of 64 test digits`;
  console.log(agreement);

  const levels = f.levels.split(",").map(Number);
  const rows: string[] = [];
  const results: Record<string, Record<number, { rps: number; p50: number; p99: number }>> = {};
  for (const c of levels) {
    for (const s of servers) {
      // Warm up, then c closed-loop clients until the request or time bound.
      await Promise.all(Array.from({ length: Math.min(c, 16) }, (_, k) => send(s.url, k)));
      const lat: number[] = [];
      let next = 0, errors = 0;
      const deadline = performance.now() + f.seconds * 1000;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: c }, async () => {
        while (next < f.requests && performance.now() < deadline) {
          const i = next++;
          const a = performance.now();
          try {
            await send(s.url, i);
            lat.push(performance.now() - a);
          } catch {
            errors++;
          }
        }
      }));
      const secs = (performance.now() - t0) / 1000;
      lat.sort((p, q) => p - q);
      const q = (x: number) => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))];
      const r = { rps: lat.length / secs, p50: q(0.5), p99: q(0.99) };
      (results[s.name] ??= {})[c] = r;
      rows.push(
        `${String(c).padStart(11)}  ${s.name.padEnd(14)} ${r.rps.toFixed(0).padStart(8)} req/s ${
          r.p50.toFixed(2).padStart(8)
        } ms ${r.p99.toFixed(2).padStart(8)} ms ${
          String(lat.length).padStart(7)
        } ok ${errors} errors`,
      );
      console.log(rows[rows.length - 1]);
    }
  }
  console.log(
    `\nformat ${f.format}, batching max ${f["max-batch"]} examples / ${
      f["max-delay-ms"]
    } ms, ${Deno.build.os}-${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(agreement);
  console.log("concurrency  server         throughput          p50          p99");
  for (const r of rows) console.log(r);
  console.log("\nZeno against FastAPI + PyTorch (throughput: goal >= 2.00x; p99: goal <= 0.50x)");
  for (const c of levels) {
    const z = results.zeno[c], t = results["fastapi+torch"][c];
    console.log(
      `${String(c).padStart(11)}  throughput ${(z.rps / t.rps).toFixed(2)}x   p99 ${
        (z.p99 / t.p99).toFixed(2)
      }x`,
    );
  }
} finally {
  for (const s of servers) {
    try {
      s.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await s.child.status;
  }
  await Deno.remove(tmp, { recursive: true });
}
