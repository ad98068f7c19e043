/**
 * `deno task bench`: runs `deno bench --json` over `bench/ops_bench.ts` and
 * prints one row per benchmark with its time per call, its throughput
 * (GFLOP/s for matmul and conv, GB/s for the memory-bound kernels, from the
 * work counts in `bench/kernels.ts`), its speed against its group's
 * baseline, and the thread count and CPU variant it ran with.
 *
 * Arguments go to `deno bench`: `deno task bench --filter "add 1M"`.
 * Plain `deno bench --allow-ffi --allow-read --allow-env bench/` prints
 * Deno's own table (times and "x faster" summaries, no throughput).
 *
 * @module
 */
import { cpuVariant, type Kernel, KERNELS, runtimeLine } from "./kernels.ts";
import * as zn from "../mod.ts";
import { fileURLToPath } from "node:url";

/** One result of `deno bench --json` (version 1). */
interface BenchResult {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: ({ ok: { n: number; avg: number; min: number; max: number } } | {
    failed: { message?: string; exceptionMessage?: string } | string;
  } | { ignored: unknown })[];
}

interface BenchReport {
  version: number;
  runtime: string;
  cpu: string;
  benches: BenchResult[];
}

const file = fileURLToPath(new URL("./ops_bench.ts", import.meta.url));
const child = new Deno.Command(Deno.execPath(), {
  args: ["bench", "--json", "--allow-ffi", "--allow-read", "--allow-env", ...Deno.args, file],
  stdout: "piped",
  stderr: "inherit",
});

console.log(runtimeLine());
console.log(`running deno bench --json ${[...Deno.args, file].join(" ")} ...`);
const { code, stdout } = await child.output();
const out = new TextDecoder().decode(stdout);

// The module's own console output (its `zeno: ...` line) comes before the JSON.
const start = out.search(/^\{$/m);
let report: BenchReport;
try {
  if (start < 0) throw new Error("no JSON report");
  report = JSON.parse(out.slice(start));
} catch (e) {
  console.error(`bench/table.ts: could not read deno bench's output (${(e as Error).message}):`);
  console.error(out);
  Deno.exit(code || 1);
}

if (report.benches.length === 0) {
  console.log(
    "no benchmarks ran (does --filter match a name? a regexp goes in slashes: /add|mul/)",
  );
  Deno.exit(code);
}

const byName = new Map<string, Kernel>(KERNELS.map((k) => [k.name, k]));
const threads = zn.getNumThreads(), variant = cpuVariant();

function time(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function throughput(k: Kernel | undefined, ns: number): string {
  if (!k?.work) return "-";
  // Work per nanosecond is work per second / 1e9: GFLOP/s and GB/s directly.
  if ("flops" in k.work) return `${(k.work.flops / ns).toFixed(1)} GFLOP/s`;
  return `${(k.work.bytes / ns).toFixed(1)} GB/s`;
}

function avg(b: BenchResult): number | undefined {
  const r = b.results[0];
  return r && "ok" in r ? r.ok.avg : undefined;
}

const HEAD = ["benchmark", "time/iter (avg)", "throughput", "vs baseline", "threads", "variant"];
const rows: (string[] | string)[] = [];
let lastGroup: string | null | undefined;
for (const b of report.benches) {
  if (b.group !== lastGroup) {
    rows.push(`group ${b.group ?? "(none)"}`);
    lastGroup = b.group;
  }
  const k = byName.get(b.name);
  const ns = avg(b);
  if (ns === undefined) {
    const r = b.results[0];
    const why = r && "failed" in r
      ? (typeof r.failed === "string" ? r.failed : r.failed.exceptionMessage ?? r.failed.message)
      : "ignored";
    rows.push([b.name, `failed: ${why}`, "", "", "", ""]);
    continue;
  }
  const base = report.benches.find((o) => o.group === b.group && o.baseline);
  const baseNs = base ? avg(base) : undefined;
  const ratio = baseNs === undefined || b.group === null ? "" : `${(baseNs / ns).toFixed(2)}x`;
  const t = k?.threads ?? threads;
  rows.push([b.name, time(ns), throughput(k, ns), ratio, String(t), variant]);
}

const widths = HEAD.map((h, i) =>
  Math.max(h.length, ...rows.map((r) => typeof r === "string" ? 0 : r[i].length))
);
// Text left, numbers right.
const line = (r: string[]) =>
  r.map((c, i) => i === 0 || i === 5 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")
    .trimEnd();

console.log(`cpu: ${report.cpu}, runtime: ${report.runtime}`);
console.log(`vs baseline: the group baseline's time over this row's (above 1: faster)\n`);
console.log(line(HEAD));
console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
for (const [i, r] of rows.entries()) {
  console.log(typeof r !== "string" ? line(r) : i === 0 ? r : `\n${r}`);
}
Deno.exit(code);
