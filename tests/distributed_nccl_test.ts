// zn.distributed's "nccl" backend where there is no GPU: NCCL loads from the
// engines folder (`bash .ci/install_engines.sh --nccl`; CI installs it) and
// makes unique ids, every missing piece gives one clear error, torchrun's
// variables are read and checked, and the TCP rendezvous that hands NCCL's
// id to the ranks runs for real between processes on loopback. The
// collectives on CUDA tensors need a GPU (bench/gpu_check.sh).
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import {
  NCCL_ID_BYTES,
  NCCL_VERSION,
  ncclLoad,
  ncclPrefix,
  ncclUniqueId,
} from "../src/distributed/nccl_engine.ts";
import { torchrunEnv } from "../src/distributed/process_group.ts";
import { openMpiPrefix } from "../src/distributed/mpi_engine.ts";
import { runDeno } from "./deno_process.ts";

const TORCHRUN = ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"];

/** Runs `fn` with the environment variables `vars` set (undefined: unset), then restores them. */
function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const put = (k: string, v: string | undefined) =>
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  try {
    for (const [k, v] of Object.entries(vars)) put(k, v);
    fn();
  } finally {
    for (const [k, v] of Object.entries(old)) put(k, v);
  }
}

const unsetTorchrun = Object.fromEntries(TORCHRUN.map((k) => [k, undefined]));

// First in this file: once NCCL has loaded, later loads reuse it.
Deno.test("a missing NCCL library gives one error naming the path tried and how to install", () => {
  withEnv({ ZENO_NCCL_LIB: "/nonexistent/libnccl.so.2" }, () => {
    assertThrows(
      () => ncclLoad("initProcessGroup"),
      Error,
      "/nonexistent/libnccl.so.2 could not be opened",
    );
    assertThrows(
      () => ncclLoad("initProcessGroup"),
      Error,
      `bash .ci/install_engines.sh --nccl`,
    );
  });
});

Deno.test({
  name: "NCCL loads from the engines folder, reports its version and makes distinct unique ids",
  ignore: !ncclPrefix(),
  fn() {
    withEnv({ ZENO_NCCL_LIB: undefined }, () => {
      assertEquals(ncclLoad("test"), NCCL_VERSION);
      const a = ncclUniqueId("test"), b = ncclUniqueId("test");
      assertEquals(a.length, NCCL_ID_BYTES);
      assert(a.some((v) => v !== 0), "an id of zeros");
      assert(a.some((v, i) => v !== b[i]), "two ids alike");
    });
  },
});

Deno.test({
  name: 'initProcessGroup with "nccl" (or "auto" under torchrun variables) says CUDA is missing',
  ignore: zn.cuda.isAvailable(),
  fn() {
    assertThrows(
      () => zn.distributed.initProcessGroup({ backend: "nccl" }),
      Error,
      'initProcessGroup: the "nccl" backend needs a CUDA device, and CUDA is not available here',
    );
    withEnv({ ...unsetTorchrun, RANK: "0", WORLD_SIZE: "1" }, () => {
      assertThrows(
        () => zn.distributed.initProcessGroup(),
        Error,
        '"nccl" backend needs a CUDA device',
      );
    });
    assert(!zn.distributed.isInitialized());
  },
});

Deno.test('the "mpi" backend refuses a torchrun-style launch of several ranks instead of running each alone', () => {
  withEnv({ ...unsetTorchrun, RANK: "1", WORLD_SIZE: "2" }, () => {
    assertThrows(
      () => zn.distributed.initProcessGroup({ backend: "mpi" }),
      Error,
      "RANK=1 and WORLD_SIZE=2 come from a torchrun-style launch",
    );
  });
  assert(!zn.distributed.isInitialized());
});

Deno.test("torchrun's variables: read, defaulted and checked, naming the bad one", () => {
  withEnv(unsetTorchrun, () => assertEquals(torchrunEnv("t"), null));
  withEnv({
    ...unsetTorchrun,
    RANK: "2",
    WORLD_SIZE: "4",
    MASTER_ADDR: "node0",
    MASTER_PORT: "29500",
  }, () => {
    assertEquals(torchrunEnv("t"), {
      rank: 2,
      size: 4,
      localRank: 2,
      host: "node0",
      port: 29500,
    });
  });
  withEnv({ ...unsetTorchrun, RANK: "1", WORLD_SIZE: "2", LOCAL_RANK: "0" }, () => {
    assertEquals(torchrunEnv("t")?.localRank, 0);
  });
  for (
    const [vars, msg] of [
      [{ RANK: "x", WORLD_SIZE: "2" }, "t: RANK=x is not an integer >= 0"],
      [{ RANK: "0" }, "t: WORLD_SIZE=(unset) is not an integer >= 1"],
      [{ RANK: "2", WORLD_SIZE: "2" }, "t: RANK=2 is not below WORLD_SIZE=2"],
      [{ RANK: "0", WORLD_SIZE: "2", MASTER_PORT: "70000" }, "MASTER_PORT=70000 is not a port"],
      [{ RANK: "0", WORLD_SIZE: "2", LOCAL_RANK: "-1" }, "LOCAL_RANK=-1 is not an integer >= 0"],
    ] as const
  ) {
    withEnv(
      { ...unsetTorchrun, ...vars },
      () => assertThrows(() => torchrunEnv("t"), RangeError, msg),
    );
  }
});

const rvWorker = new URL("./distributed/rendezvous_worker.ts", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts ranks `ranks` of a job of `size` with torchrun's variables; their exit codes and output. */
async function job(ranks: number[], size: number, args: string[], script = rvWorker) {
  const port = freePort();
  const procs = ranks.map((rank) =>
    runDeno(["run", "-A", script, ...args], {
      env: {
        RANK: String(rank),
        WORLD_SIZE: String(size),
        MASTER_ADDR: "localhost",
        MASTER_PORT: String(port),
      },
      timeoutMs: 60_000,
    })
  );
  return (await Promise.all(procs)).map((r) => ({ code: r.code, out: r.stdout + r.stderr }));
}

Deno.test({
  name: "the TCP rendezvous hands rank 0's id to 3 processes started in any order",
  sanitizeResources: false,
  async fn() {
    const got = await job([2, 1, 0], 3, ["7"]);
    const want = "7,8,9,10,11,12,13,14";
    got.forEach((r, i) => {
      assertEquals(r.code, 0, r.out);
      assert(r.out.includes(`rank ${2 - i}: ${want}`), r.out);
    });
  },
});

Deno.test({
  name: "a rank missing from the rendezvous ends the others with a timeout naming what was missing",
  sanitizeResources: false,
  async fn() {
    const t = performance.now();
    const [r0, r1] = await job([0, 1], 3, ["0", "2"]);
    assert(r0.code !== 0 && r1.code !== 0, r0.out + r1.out);
    assert(r0.out.includes("1 of the other 2 ranks arrived"), r0.out);
    assert(r1.out.includes("waited 2 s for rank 0"), r1.out);
    assert(performance.now() - t < 30_000, `took ${(performance.now() - t) / 1000} s`);
  },
});

const meetWorker = new URL("./distributed/nccl_meet_worker.ts", import.meta.url).pathname;

/** The id digests the ranks printed, in rank order. */
function digests(out: string, n: number): string[] {
  return Array.from({ length: n }, (_, r) => {
    const m = new RegExp(`rank ${r} of ${n}: id ([0-9a-f]+)`).exec(out);
    assert(m !== null, out);
    return m[1];
  });
}

Deno.test({
  name: "NCCL's unique id from rank 0 reaches every rank over the TCP rendezvous",
  ignore: !ncclPrefix(),
  sanitizeResources: false,
  async fn() {
    const got = await job([0, 1, 2], 3, [], meetWorker);
    for (const r of got) assertEquals(r.code, 0, r.out);
    const d = digests(got.map((r) => r.out).join("\n"), 3);
    assertEquals(new Set(d).size, 1, d.join(" "));
  },
});

Deno.test({
  name: "NCCL's unique id from rank 0 reaches every rank over MPI under the launcher",
  ignore: !ncclPrefix() || !openMpiPrefix(),
  sanitizeResources: false,
  async fn() {
    const launcher = new URL("../src/distributed/launch.ts", import.meta.url).pathname;
    const r = await runDeno(["run", "-A", launcher, "-n", "2", meetWorker], {
      timeoutMs: 120_000,
    });
    const out = r.stdout + r.stderr;
    assertEquals(r.code, 0, out);
    const d = digests(out, 2);
    assertEquals(d[0], d[1], out);
  },
});
