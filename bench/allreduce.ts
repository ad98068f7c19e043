/**
 * All-reduce bus bandwidth of `zn.distributed.allReduce` against Open MPI's
 * own (the same loop through mpi4py on the same libmpi), in one run: the two
 * take turns, `--rounds` times (default 2), and the table shows each size's
 * best time of each side.
 *
 *   deno task bench:allreduce [-n 2] [--rounds 2]
 *
 * Needs the pinned Open MPI (`bash .ci/install_engines.sh`) and
 * `pip install mpi4py` for the reference side. Bus bandwidth is NCCL's
 * measure: bytes x 2 (n - 1) / n per second, what each rank's link carries.
 *
 * @module
 */
import { openMpiPrefix } from "../src/distributed/mpi_engine.ts";
import { SIZES } from "./allreduce_sizes.ts";

const args = Deno.args;
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const n = flag("-n", 2), rounds = flag("--rounds", 2);
const prefix = openMpiPrefix();
if (!prefix) {
  throw new Error("bench:allreduce: Open MPI is not installed; run bash .ci/install_engines.sh");
}
const here = (f: string) => new URL(f, import.meta.url).pathname;
const root = Deno.uid?.() === 0 ? ["--allow-run-as-root"] : [];
const binding = n <= navigator.hardwareConcurrency
  ? ["--map-by", "slot:PE=1:HWTCPUS", "--bind-to", "hwthread"]
  : ["--oversubscribe", "--bind-to", "none"];
const env = {
  ZENO_MPI_LIB: `${prefix}/lib/libmpi.so.40`,
  LD_LIBRARY_PATH: `${prefix}/lib`,
  ZENO_NUM_THREADS: "1",
};

async function side(cmd: string[]): Promise<Record<string, number>> {
  const r = await new Deno.Command(`${prefix}/bin/mpirun`, {
    // Each rank bound to a CPU of its own where there are enough (as the
    // launcher binds them), for both sides alike.
    args: ["-n", String(n), ...binding, ...root, ...cmd],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!r.success) throw new Error(`bench:allreduce: ${cmd.join(" ")} failed`);
  const line = new TextDecoder().decode(r.stdout).trim().split("\n").pop()!;
  return JSON.parse(line);
}

const best = (a: Record<string, number> | undefined, b: Record<string, number>) =>
  a ? Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.min(v, a[k])])) : b;
let zeno: Record<string, number> | undefined, mpi: Record<string, number> | undefined;
for (let r = 0; r < rounds; r++) {
  zeno = best(zeno, await side([Deno.execPath(), "run", "-A", here("allreduce_rank.ts")]));
  mpi = best(mpi, await side(["python3", here("allreduce_rank.py")]));
}

const busGBs = (bytes: number, s: number) => (bytes * 2 * (n - 1) / n) / s / 1e9;
const fmtSize = (b: number) => b >= 2 ** 20 ? `${b / 2 ** 20} MB` : `${b / 1024} KB`;
console.log(
  `all-reduce, float32 sum in place, ${n} ranks on this machine; bus bandwidth GB/s (best of ${rounds})`,
);
console.log("size          zeno       mpi4py    ratio");
for (const b of SIZES) {
  const z = busGBs(b, zeno![b]), m = busGBs(b, mpi![b]);
  console.log(
    `${fmtSize(b).padEnd(10)} ${z.toFixed(2).padStart(8)} ${m.toFixed(2).padStart(10)} ${
      (z / m).toFixed(2).padStart(7)
    }x`,
  );
}
