// zn.distributed: argument checks everywhere, and real MPI jobs of 2 ranks
// where Open MPI is installed (`bash .ci/install_engines.sh`; CI installs it).
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { mpirunCommand, parseLaunchArgs } from "../src/distributed/launch.ts";
import { openMpiPrefix } from "../src/distributed/mpi_engine.ts";
import { runDeno } from "./deno_process.ts";

const PREFIX = openMpiPrefix();
if (!PREFIX) {
  console.log(
    "distributed_test.ts: Open MPI is not installed (bash .ci/install_engines.sh); MPI jobs skipped",
  );
}

Deno.test("collectives before initProcessGroup name the op and the missing group", () => {
  assert(!zn.distributed.isInitialized());
  for (
    const [name, f] of [
      ["allReduce", () => zn.distributed.allReduce(zn.ones([2]))],
      ["broadcast", () => zn.distributed.broadcast(zn.ones([2]), 0)],
      ["barrier", () => zn.distributed.barrier()],
      ["getRank", () => zn.distributed.getRank()],
      ["getWorldSize", () => zn.distributed.getWorldSize()],
      ["newGroup", () => zn.distributed.newGroup([0])],
    ] as const
  ) {
    assertThrows(f, Error, `${name}: the default process group is not initialized`);
  }
});

Deno.test("initProcessGroup rejects unknown options, unknown backends and nccl before touching MPI", () => {
  assertThrows(
    () =>
      zn.distributed.initProcessGroup({ backnd: "mpi" } as zn.distributed.InitProcessGroupOptions),
    TypeError,
    "backnd",
  );
  assertThrows(
    () => zn.distributed.initProcessGroup({ backend: "gloo" as "mpi" }),
    TypeError,
    'backend must be "mpi", "nccl" or "auto"',
  );
  assertThrows(() => zn.distributed.initProcessGroup({ backend: "nccl" }), Error, '"nccl" backend');
  assertThrows(
    () => zn.distributed.initProcessGroup({ timeout: -1 }),
    RangeError,
    "timeout must be",
  );
  assert(!zn.distributed.isInitialized());
});

Deno.test("the launcher's arguments: -n, the script and its own arguments", () => {
  assertEquals(parseLaunchArgs(["-n", "3", "a.ts", "-n", "x"]), {
    nproc: 3,
    script: "a.ts",
    args: ["-n", "x"],
  });
  assertEquals(parseLaunchArgs(["--nproc", "2", "b.ts"]), { nproc: 2, script: "b.ts", args: [] });
  assertThrows(() => parseLaunchArgs(["-n", "0", "a.ts"]), RangeError, "[1, 1024]");
  assertThrows(() => parseLaunchArgs(["-n", "2"]), TypeError, "no script");
  assertThrows(() => parseLaunchArgs(["--np", "2", "a.ts"]), TypeError, "unknown option --np");
  const c = mpirunCommand({
    nproc: 2,
    script: "a.ts",
    args: ["x"],
    mpirun: "/m",
    deno: "/d",
    root: true,
  });
  assertEquals(c.cmd, "/m");
  assertEquals(c.args.slice(0, 2), ["-n", "2"]);
  assert(c.args.includes("--allow-run-as-root"));
  assert(c.args.includes("--oversubscribe"), "no CPU count: unbound, oversubscribed");
  assertEquals(c.args.slice(-5), ["/d", "run", "-A", "a.ts", "x"]);
  const o = { nproc: 2, script: "a.ts", args: [], mpirun: "/m", deno: "/d", root: false };
  const bound = mpirunCommand({ ...o, cpus: 16 }).args.join(" ");
  assert(bound.includes("--map-by slot:PE=8:HWTCPUS --bind-to hwthread"), bound);
  assert(!bound.includes("--oversubscribe"), bound);
  const over = mpirunCommand({ ...o, nproc: 3, cpus: 2 }).args.join(" ");
  assert(over.includes("--oversubscribe --bind-to none"), over);
});

async function launch(args: string[]): Promise<{ code: number; out: string }> {
  const launcher = new URL("../src/distributed/launch.ts", import.meta.url).pathname;
  const r = await runDeno(["run", "-A", launcher, ...args], { timeoutMs: 120_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

const worker = new URL("./distributed/collectives_worker.ts", import.meta.url).pathname;

Deno.test({
  name: "2 ranks under the launcher: every collective's values, dtypes and strided views",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const { code, out } = await launch(["-n", "2", worker]);
    assertEquals(code, 0, out);
    for (const r of [0, 1]) assert(out.includes(`rank ${r} of 2: collectives ok`), out);
  },
});

Deno.test({
  name: "3 ranks under the launcher: every collective's values",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const { code, out } = await launch(["-n", "3", worker]);
    assertEquals(code, 0, out);
    for (const r of [0, 1, 2]) assert(out.includes(`rank ${r} of 3: collectives ok`), out);
  },
});

const ddpWorker = new URL("./distributed/ddp_worker.ts", import.meta.url).pathname;

for (const n of [2, 3]) {
  Deno.test({
    name:
      `DistributedDataParallel on ${n} ranks: 20 steps equal one process on the global batch, noSync accumulation, unused parameters, buffers, sampler shares`,
    ignore: !PREFIX,
    sanitizeResources: false,
    fn: async () => {
      const { code, out } = await launch(["-n", String(n), ddpWorker]);
      assertEquals(code, 0, out);
      for (let r = 0; r < n; r++) assert(out.includes(`rank ${r} of ${n}: ddp ok`), out);
    },
  });
}

Deno.test("DistributedSampler: PyTorch's padding, strides and drop-last lengths, and one order per epoch", () => {
  const ds = new zn.data.TensorDataset(zn.arange(10));
  const shares = (opts: zn.data.DistributedSamplerOptions) =>
    [0, 1, 2].map((
      rank,
    ) => [...new zn.data.DistributedSampler(ds, { numReplicas: 3, rank, ...opts })]);
  assertEquals(shares({ shuffle: false }), [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
  assertEquals(shares({ shuffle: false, dropLast: true }), [[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
  const s = new zn.data.DistributedSampler(ds, { numReplicas: 2, rank: 0, seed: 5 });
  const e0 = [...s], again = [...s];
  s.setEpoch(1);
  const e1 = [...s];
  assertEquals(e0, again);
  assert(e0.join() !== e1.join(), "a new epoch gives a new order");
  const both = [...e1, ...new zn.data.DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 5 })];
  assertEquals(both.length, 10);
  const other = new zn.data.DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 5 });
  other.setEpoch(1);
  assertEquals([...e1, ...other].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const loader = new zn.data.DataLoader(ds, { sampler: s, batchSize: 2 });
  assertEquals(loader.length, 3);
  assertEquals([...loader].map(([x]) => (x as zn.Tensor).toArray()).flat().map(Number), e1);
  assertThrows(() => new zn.data.DistributedSampler(ds), Error, "not initialized");
  assertThrows(
    () => new zn.data.DistributedSampler(ds, { numReplicas: 2, rank: 2 }),
    RangeError,
    "[0, 2)",
  );
  assertThrows(
    () => new zn.data.DataLoader(ds, { sampler: s, shuffle: true }),
    TypeError,
    "sampler and shuffle exclude each other",
  );
});

Deno.test("post-accumulate-grad hooks see the accumulated .grad, run after every leaf's, and are removable", () => {
  const w = zn.ones([2], { requiresGrad: true });
  const seen: number[][] = [];
  const h = w.registerPostAccumulateGradHook((p) => seen.push(p.grad!.toArray() as number[]));
  w.mul(3).sum().backward();
  w.mul(2).sum().backward();
  assertEquals(seen, [[3, 3], [5, 5]]);
  h.remove();
  w.sum().backward();
  assertEquals(seen.length, 2);
  assertThrows(() => w.mul(2).registerPostAccumulateGradHook(() => {}), Error, "non-leaf");
  assertThrows(
    () => zn.ones([2]).registerPostAccumulateGradHook(() => {}),
    Error,
    "doesn't require gradient",
  );
});

Deno.test("a leaf's gradient is final, and its post-accumulate hooks run, as soon as backward has passed all its uses", () => {
  // out = sum((x * w1) * w2): backward reaches w2 before it computes w1's gradient.
  const x = zn.tensor([1, 2]), w1 = zn.tensor([3, 4], { requiresGrad: true });
  const w2 = zn.tensor([5, 6], { requiresGrad: true });
  const order: string[] = [];
  w2.registerPostAccumulateGradHook((p) => {
    order.push(`w2 ${p.grad!.toArray()} (w1.grad ${w1.grad === null ? "not yet" : "set"})`);
  });
  w1.registerPostAccumulateGradHook((p) => order.push(`w1 ${p.grad!.toArray()}`));
  x.mul(w1).mul(w2).sum().backward();
  assertEquals(order, ["w2 3,8 (w1.grad not yet)", "w1 5,12"]);
  // A leaf used twice waits for both uses.
  const v = zn.tensor([1, 1], { requiresGrad: true });
  const seen: number[][] = [];
  v.registerPostAccumulateGradHook((p) => seen.push(p.grad!.toArray() as number[]));
  v.mul(2).add(v.mul(v)).sum().backward();
  assertEquals(seen, [[4, 4]]);
});

Deno.test("DistributedDataParallel needs the process group", () => {
  assertThrows(
    () => new zn.nn.parallel.DistributedDataParallel(new zn.nn.Linear(2, 2)),
    Error,
    "DistributedDataParallel: the default process group is not initialized",
  );
});

Deno.test({
  name: "a process that no launcher started is a world of one",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const r = await runDeno(["run", "-A", worker], { timeoutMs: 120_000 });
    const out = r.stdout + r.stderr;
    assertEquals(r.code, 0, out);
    assert(out.includes("rank 0 of 1: collectives ok"), out);
  },
});

Deno.test("a missing MPI library gives one error naming the path tried and how to install", () => {
  const old = Deno.env.get("ZENO_MPI_LIB");
  Deno.env.set("ZENO_MPI_LIB", "/nonexistent/libmpi.so.40");
  try {
    assertThrows(
      () => zn.distributed.initProcessGroup({ backend: "mpi" }),
      Error,
      "/nonexistent/libmpi.so.40 could not be opened",
    );
    assert(!zn.distributed.isInitialized());
  } finally {
    if (old === undefined) Deno.env.delete("ZENO_MPI_LIB");
    else Deno.env.set("ZENO_MPI_LIB", old);
  }
});

Deno.test({
  name: "a collective that a rank never reaches ends the job after the timeout, naming it",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const t = performance.now();
    const { code, out } = await launch(["-n", "2", worker, "stall"]);
    assert(code !== 0, out);
    assert(out.includes("allReduce waited longer than the process group's timeout (2 s)"), out);
    assert(performance.now() - t < 60_000, `the job took ${(performance.now() - t) / 1000} s`);
  },
});

Deno.test({
  name: "a rank that throws stops the job with its error instead of a hang",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const { code, out } = await launch(["-n", "2", worker, "fail"]);
    assert(code !== 0, out);
    assert(out.includes("rank 1 fails on purpose"), out);
    assert(!out.includes("collectives ok"), out);
  },
});
