import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

interface Samples {
  rss: number[];
  heap: number[];
  external: number[];
  loss: number;
}

/** Runs bench/rss_mlp.ts in a fresh process, so that only the loop's memory is measured. */
async function trainMlp(steps: number, mode: string, exposeGc: boolean): Promise<Samples> {
  const script = fileURLToPath(new URL("../bench/rss_mlp.ts", import.meta.url));
  const args = ["run", "--allow-ffi", "--allow-read", "--allow-env"];
  if (exposeGc) args.push("--v8-flags=--expose-gc");
  const res = await new Deno.Command(Deno.execPath(), {
    args: [...args, script, String(steps), mode],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(res.success, `bench/rss_mlp.ts ${steps} ${mode} failed`);
  const out = JSON.parse(new TextDecoder().decode(res.stdout)) as Samples;
  assert.equal(out.rss.length, steps / 1000);
  return out;
}

const mib = (xs: number[]) => xs.map((x) => x / 2 ** 20);
const show = (xs: number[]) => mib(xs).map((m) => m.toFixed(2)).join(", ");
/** Largest rise over the first sample, in MiB. */
const rise = (xs: number[], from: number) => Math.max(...mib(xs.slice(from + 1))) - mib(xs)[from];

Deno.test("memory: an MLP training loop holds no more memory after 10,000 steps than after 2,000", async () => {
  // Three fresh processes side by side: the plain loop (each step's tensors
  // left to the garbage collector), the loop in zn.tidy (as the examples
  // train), and the plain loop keeping every loss, which must be caught.
  const [plain, tidy, leak] = await Promise.all([
    trainMlp(10_000, "plain", true),
    trainMlp(10_000, "tidy", false),
    trainMlp(3_000, "leak", true),
  ]);

  // Plain loop. Each sample follows a full collection, so the JS heap and the
  // ArrayBuffer bytes count only what the loop still holds: both stay level
  // while 8,000 steps allocate about 4 GB of results (keeping one loss a step
  // adds about 3.6 MiB per 1,000 steps to the heap, see the leak run). The
  // resident set itself rises in steps as V8 sizes its heap to the loop and
  // plateaus near 150 MiB (100 MiB with these collections): bound its peak.
  const heapRise = rise(plain.heap, 1);
  assert.ok(
    heapRise < 1,
    `JS heap after a full collection grew ${heapRise.toFixed(2)} MiB from step 2,000 ` +
      `to 10,000 (MiB: ${show(plain.heap)})`,
  );
  const extRise = rise(plain.external, 1);
  assert.ok(
    extRise < 0.25,
    `live ArrayBuffer bytes after a full collection grew ${extRise.toFixed(2)} MiB ` +
      `from step 2,000 to 10,000 (MiB: ${show(plain.external)})`,
  );
  const peak = Math.max(...mib(plain.rss));
  assert.ok(
    peak < 256,
    `RSS of the plain loop peaked at ${peak.toFixed(0)} MiB (${show(plain.rss)})`,
  );
  // The loop trained: the loss on its one batch fell far below ln(10).
  assert.ok(plain.loss < 0.1, `loss after 10,000 steps on one batch: ${plain.loss}`);

  // Loop in zn.tidy: each step's tensors go back to the pool when it ends, so
  // the resident set itself stays level (about 7 MiB of rise measured, from
  // V8's own heap) without any forced collection.
  const rssRise = rise(tidy.rss, 1);
  assert.ok(
    rssRise < 24,
    `RSS of the loop in zn.tidy grew ${rssRise.toFixed(1)} MiB from step 2,000 to ` +
      `10,000 (MiB: ${show(tidy.rss)})`,
  );
  assert.ok(tidy.loss < 0.1, `loss after 10,000 steps in zn.tidy: ${tidy.loss}`);

  // The same checks see a leak of one loss tensor (and its spent graph) a step.
  const leakRise = rise(leak.heap, 0);
  assert.ok(
    leakRise > 2,
    `keeping 2,000 losses grew the heap only ${leakRise.toFixed(2)} MiB (MiB: ${show(leak.heap)})`,
  );
});
