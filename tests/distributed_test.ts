// zn.distributed: argument checks everywhere, and real MPI jobs of 2 ranks
// where Open MPI is installed (`bash .ci/install_engines.sh`; CI installs it).
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { mpirunCommand, parseLaunchArgs } from "../src/distributed/launch.ts";
import { openMpiPrefix } from "../src/distributed/mpi_engine.ts";

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
  assertEquals(c.args.slice(-5), ["/d", "run", "-A", "a.ts", "x"]);
});

async function launch(args: string[]): Promise<{ code: number; out: string }> {
  const launcher = new URL("../src/distributed/launch.ts", import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", launcher, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  });
  const r = await cmd.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
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
  name: "a process that no launcher started is a world of one",
  ignore: !PREFIX,
  sanitizeResources: false,
  fn: async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", worker],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
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
