import assert from "node:assert/strict";

Deno.test("memory: the resident set of an MLP training loop stays flat over 10,000 steps", async () => {
  // A fresh process, so that only the training loop's memory is measured.
  const script = new URL("../bench/rss_mlp.ts", import.meta.url).pathname;
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-env", script, "10000"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(res.success, "bench/rss_mlp.ts failed");
  const { rss, loss } = JSON.parse(new TextDecoder().decode(res.stdout)) as {
    rss: number[];
    loss: number;
  };
  assert.equal(rss.length, 10);
  const mib = rss.map((r) => r / 2 ** 20);
  // After the first 2,000 steps (the heap sizing itself to the loop), growth
  // stays small next to the ~8 GB of results that 8,000 steps allocate
  // (about 1 MB each). A 60,000-step run plateaus at the same level.
  const growth = Math.max(...mib.slice(2)) - mib[1];
  assert.ok(
    growth < 64,
    `RSS grew ${growth.toFixed(1)} MiB between step 2,000 and 10,000 ` +
      `(samples in MiB: ${mib.map((m) => m.toFixed(0)).join(", ")})`,
  );
  assert.ok(Math.max(...mib) < 512, `RSS peaked at ${Math.max(...mib).toFixed(0)} MiB`);
  // The loop trained: the loss on its one batch fell far below ln(10).
  assert.ok(loss < 0.1, `loss after 10,000 steps on one batch: ${loss}`);
});
