/**
 * Side-by-side with PyTorch on this machine: the same workloads
 * (bench/workloads.json), the same thread count, medians of repeated runs,
 * each side in its own process. The ratio column is PyTorch's time over
 * Zeno's (above 1: Zeno is faster); the target column gives the CPU
 * performance goals in the same terms (for example, "at most 0.3x PyTorch's
 * time" is a ratio of at least 3.33).
 *
 *   deno task compare                   1 and 2 threads, 5 runs per workload
 *   deno task compare --threads 2       one thread count
 *   deno task compare --reps 7          more runs per workload
 *
 * Needs python3 with torch installed (`pip install torch==2.13.0`).
 *
 * @module
 */
import * as zn from "../mod.ts";
import { buildModel } from "../examples/mnist/model.ts";

interface ConvWork {
  x: number[];
  w: number[];
  padding: number;
}

interface Workloads {
  matmul: [number, number, number][];
  conv: Record<string, ConvWork>;
  elementwise: { ops: string[]; sizes: number[] };
  sum: number[];
  softmax: [number, number][];
  epoch: { images: number; batch: number };
}

const work: Workloads = JSON.parse(
  Deno.readTextFileSync(new URL("workloads.json", import.meta.url)),
);

/** The FMA peak per core measured on the reference machine (GFLOP/s). */
const FMA_PEAK_PER_CORE = 98;

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function medianTime(fn: () => unknown, reps: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function epoch(model: zn.nn.Module, xs: zn.Tensor, ys: zn.Tensor, batch: number): void {
  const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
  const loader = new zn.data.DataLoader(new zn.data.TensorDataset(xs, ys), {
    batchSize: batch,
    shuffle: true,
  });
  for (const [xb, yb] of loader) {
    opt.zeroGrad();
    zn.nn.functional.crossEntropy(model.call(xb), yb).backward();
    opt.step();
  }
}

function zenoTimes(threads: number, reps: number): Record<string, number> {
  zn.setNumThreads(threads);
  zn.manualSeed(0);
  const out: Record<string, number> = {};
  for (const [m, k, n] of work.matmul) {
    const a = zn.randn([m, k]), b = zn.randn([k, n]);
    out[`matmul ${m}x${k}x${n}`] = medianTime(() => a.matmul(b), reps);
  }
  for (const [name, c] of Object.entries(work.conv)) {
    const x = zn.randn(c.x, { requiresGrad: true });
    const w = zn.randn(c.w, { requiresGrad: true });
    const b = zn.randn([c.w[0]], { requiresGrad: true });
    out[`conv ${name} fwd+bwd`] = medianTime(() => {
      const y = zn.nn.functional.conv2d(x, w, b, { padding: c.padding });
      y.backward(zn.onesLike(y));
      x.grad = w.grad = b.grad = null;
    }, reps);
  }
  for (const op of work.elementwise.ops) {
    for (const n of work.elementwise.sizes) {
      const a = zn.randn([n]), b = zn.randn([n]);
      const f = op === "add" ? () => a.add(b) : op === "mul" ? () => a.mul(b) : () => a.exp();
      out[`${op} ${n}`] = medianTime(f, Math.max(reps, 11));
    }
  }
  for (const n of work.sum) {
    const a = zn.randn([n]);
    out[`sum ${n}`] = medianTime(() => a.sum(), Math.max(reps, 11));
  }
  for (const [r, c] of work.softmax) {
    const a = zn.randn([r, c]);
    out[`softmax ${r}x${c}`] = medianTime(() => a.softmax(-1), Math.max(reps, 11));
  }
  // Per-call costs: warmed up first (the JIT optimises a hot path after some
  // thousands of calls), then the median of 11 batches of calls.
  const a1 = zn.randn([1]), b1 = zn.randn([1]);
  const adds = (n: number) => {
    for (let i = 0; i < n; i++) a1.add(b1);
  };
  adds(50_000);
  out["overhead add 1 element"] = medianTime(() => adds(10_000), 11) / 10_000;
  const x = zn.randn([2, 2], { requiresGrad: true });
  const steps = (n: number) => {
    for (let i = 0; i < n; i++) {
      x.mul(x).add(x).sum().backward();
      x.grad = null;
    }
  };
  steps(5_000);
  out["overhead 3 ops fwd+bwd"] = medianTime(() => steps(1_000), 11) / 1_000;
  const e = work.epoch;
  const xs = zn.rand([e.images, 1, 28, 28]);
  const ys = zn.randint(0, 10, [e.images]);
  for (const arch of ["cnn", "mlp"] as const) {
    const m = buildModel(arch);
    epoch(m, xs.narrow(0, 0, 640), ys.narrow(0, 0, 640), e.batch);
    out[`epoch ${arch}`] = medianTime(() => epoch(m, xs, ys, e.batch), reps);
  }
  return out;
}

async function torchTimes(threads: number, reps: number): Promise<Record<string, number>> {
  const res = await new Deno.Command("python3", {
    args: [
      new URL("compare_torch.py", import.meta.url).pathname,
      String(threads),
      String(reps),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!res.success) throw new Error("compare_torch.py failed (is torch installed?)");
  return JSON.parse(new TextDecoder().decode(res.stdout));
}

/** The speed ratio each goal asks for (PyTorch time / Zeno time). */
function target(name: string): number | undefined {
  if (name.startsWith("matmul ")) {
    const [m] = name.split(" ")[1].split("x").map(Number);
    return m >= 256 ? 1 : undefined;
  }
  if (name.startsWith("conv ")) return 1;
  if (/^(add|mul|exp) 16777216$/.test(name)) return 0.95;
  if (name.startsWith("overhead")) return 1 / 0.3;
  if (name === "epoch cnn") return 1;
  if (name === "epoch mlp") return 1 / 0.5;
  return undefined;
}

function rate(name: string, seconds: number): string {
  const [op, size] = name.split(" ");
  if (op === "matmul") {
    const [m, k, n] = size.split("x").map(Number);
    return `${(2 * m * k * n / seconds / 1e9).toFixed(1)} GFLOP/s`;
  }
  const n = Number(size);
  if (op === "add" || op === "mul") return `${(12 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "exp" || op === "sum") return `${(8 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "overhead") return `${(seconds * 1e6).toFixed(2)} us`;
  if (seconds >= 0.1) return `${seconds.toFixed(2)} s`;
  return `${(seconds * 1e3).toFixed(2)} ms`;
}

/** GB/s of a plain 16M-float copy (read + write): the memory limit here. */
function copyLimit(): number {
  const src = new Float32Array(1 << 24).fill(1), dst = new Float32Array(1 << 24);
  const t = medianTime(() => dst.set(src), 7);
  return 8 * (1 << 24) / t / 1e9;
}

const threadList = Deno.args.includes("--threads") ? [arg("--threads", 2)] : [1, 2];
const reps = arg("--reps", 5);
const cpu = (() => {
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/);
    return m ? m[1] : Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
})();
console.log(
  `machine: ${cpu}, ${navigator.hardwareConcurrency} logical CPUs, ${Deno.build.os}; ` +
    `median of ${reps} runs (at least 11 for the short workloads)`,
);
console.log(`memory limit: a 16M-float copy moves ${copyLimit().toFixed(1)} GB/s (one thread)`);
let misses = 0;
for (const t of threadList) {
  const z = zenoTimes(t, reps);
  const p = await torchTimes(t, reps);
  console.log(`\nthreads = ${t}`);
  console.log(
    `${"workload".padEnd(28)}${"zeno".padStart(16)}${"pytorch".padStart(16)}${"ratio".padStart(9)}${
      "target".padStart(10)
    }`,
  );
  for (const name of Object.keys(z)) {
    const ratio = p[name] / z[name];
    const goal = target(name);
    const mark = goal === undefined ? "" : ratio >= goal ? "  ok" : "  MISS";
    if (goal !== undefined && ratio < goal) misses++;
    console.log(
      `${name.padEnd(28)}${rate(name, z[name]).padStart(16)}${rate(name, p[name]).padStart(16)}${
        ratio.toFixed(2).padStart(8)
      }x${(goal === undefined ? "" : `>= ${goal.toFixed(2)}`).padStart(10)}${mark}`,
    );
  }
  const g1024 = 2 * 1024 ** 3 / z["matmul 1024x1024x1024"] / 1e9;
  const peak = FMA_PEAK_PER_CORE * t;
  console.log(
    `matmul 1024: ${g1024.toFixed(1)} GFLOP/s = ${(100 * g1024 / peak).toFixed(0)}% of the ` +
      `FMA peak (${peak} GFLOP/s for ${t} thread${t > 1 ? "s" : ""}; goal 80%)`,
  );
}
console.log(`\n${misses} row(s) below target`);
