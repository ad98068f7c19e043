/**
 * Side-by-side with PyTorch on this machine: the same workloads, the same
 * thread count, medians of repeated runs from one process each, printed as
 * Zeno/PyTorch speed ratios (above 1: Zeno is faster).
 *
 *   deno task compare              1 and 2 threads
 *   deno task compare --threads 2  one thread count
 *
 * Needs python3 with torch installed (`pip install torch==2.13.0`).
 *
 * @module
 */
import * as zn from "../mod.ts";

interface Workloads {
  matmul: number[];
  elementwise: { ops: string[]; sizes: number[] };
  sum: number[];
  softmax: [number, number][];
}

const work: Workloads = JSON.parse(
  Deno.readTextFileSync(new URL("workloads.json", import.meta.url)),
);

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

const repsFor = (n: number) => n >= 1 << 22 ? 5 : 21;

function zenoTimes(threads: number): Record<string, number> {
  zn.setNumThreads(threads);
  zn.manualSeed(0);
  const out: Record<string, number> = {};
  for (const n of work.matmul) {
    const a = zn.randn([n, n]), b = zn.randn([n, n]);
    out[`matmul ${n}`] = medianTime(() => a.matmul(b), n >= 1024 ? 5 : 11);
  }
  for (const op of work.elementwise.ops) {
    for (const n of work.elementwise.sizes) {
      const a = zn.randn([n]), b = zn.randn([n]);
      const f = op === "add" ? () => a.add(b) : op === "mul" ? () => a.mul(b) : () => a.exp();
      out[`${op} ${n}`] = medianTime(f, repsFor(n));
    }
  }
  for (const n of work.sum) {
    const a = zn.randn([n]);
    out[`sum ${n}`] = medianTime(() => a.sum(), repsFor(n));
  }
  for (const [r, c] of work.softmax) {
    const a = zn.randn([r, c]);
    out[`softmax ${r}x${c}`] = medianTime(() => a.softmax(-1), repsFor(r * c));
  }
  const a1 = zn.randn([1]), b1 = zn.randn([1]);
  out["add 1 (overhead)"] = medianTime(() => {
    for (let i = 0; i < 1000; i++) a1.add(b1);
  }, 11) / 1000;
  return out;
}

async function torchTimes(threads: number): Promise<Record<string, number>> {
  const res = await new Deno.Command("python3", {
    args: [new URL("compare_torch.py", import.meta.url).pathname, String(threads)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!res.success) throw new Error("compare_torch.py failed (is torch installed?)");
  return JSON.parse(new TextDecoder().decode(res.stdout));
}

function rate(name: string, seconds: number): string {
  if (name.includes("overhead")) return `${(seconds * 1e6).toFixed(2)} us`;
  const [op, size] = name.split(" ");
  const n = Number(size);
  if (op === "matmul") return `${(2 * n ** 3 / seconds / 1e9).toFixed(1)} GFLOP/s`;
  if (op === "add" || op === "mul") return `${(12 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "exp" || op === "sum") return `${(8 * n / seconds / 1e9).toFixed(1)} GB/s`;
  return `${(seconds * 1e6).toFixed(1)} us`;
}

const argIdx = Deno.args.indexOf("--threads");
const threadList = argIdx >= 0 ? [Number(Deno.args[argIdx + 1])] : [1, 2];
const cpu = (() => {
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/);
    return m ? m[1] : Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
})();
console.log(`machine: ${cpu}, ${navigator.hardwareConcurrency} logical CPUs, ${Deno.build.os}`);
for (const t of threadList) {
  const z = zenoTimes(t);
  const p = await torchTimes(t);
  console.log(`\nthreads = ${t}`);
  console.log(
    `${"workload".padEnd(22)}${"zeno".padStart(18)}${"pytorch".padStart(18)}${
      "zeno/pytorch".padStart(14)
    }`,
  );
  for (const name of Object.keys(z)) {
    const ratio = p[name] / z[name];
    console.log(
      `${name.padEnd(22)}${rate(name, z[name]).padStart(18)}${rate(name, p[name]).padStart(18)}${
        ratio.toFixed(2).padStart(13)
      }x`,
    );
  }
}
