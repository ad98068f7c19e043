// Several JavaScript threads (Deno Workers) call the native library at once:
// every kernel result must be the one a single caller gets, and nothing may
// crash or hang. Every Worker of a process shares the one library; its thread
// pool serves one caller at a time and the others run their chunks on their
// own threads, split the same way. The run is a process of its own
// (tests/workers/stress.ts), so that a crash or a hang fails this test.
import { assert, assertEquals } from "./assert_helpers.ts";
import type { Mismatch } from "./workers/kernel_mix.ts";
import { runDeno } from "./deno_process.ts";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 120_000;

async function stress(workers: number, calls: number) {
  const script = fileURLToPath(new URL("./workers/stress.ts", import.meta.url));
  const out = await runDeno(
    ["run", "--allow-ffi", "--allow-read", "--allow-env", script, `${workers}`, `${calls}`],
    { timeoutMs: TIMEOUT_MS },
  );
  assert(
    out.success,
    `stress run failed (code ${out.code}, signal ${out.signal}${
      out.timedOut ? `: no result within ${TIMEOUT_MS / 1000} s` : ""
    }):\n${out.stderr}`,
  );
  return JSON.parse(out.stdout) as { workers: Mismatch[][]; main: Mismatch[] };
}

Deno.test("workers: 4 Workers x 500 mixed kernels at once give the single-threaded results", async () => {
  // A clash shows in some runs only (with one shared job slot, about one run
  // in three), so several runs.
  for (let run = 0; run < 5; run++) {
    const { workers, main } = await stress(4, 500);
    assertEquals(workers.length, 4);
    workers.forEach((m, i) =>
      assert(
        m.length === 0,
        `run ${run}, worker ${i}: ${m.length} of 500 results differ, first ${JSON.stringify(m[0])}`,
      )
    );
    assertEquals(main, [], `run ${run}: the main thread's results changed while Workers ran`);
  }
});
