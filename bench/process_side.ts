/**
 * One fresh process of Zeno's side of the process rows in
 * bench/compare_torch.ts (bench/process_side.py is PyTorch's):
 *
 *   import      imports the library
 *   first-op    imports it and reads back the result of one op
 *   epoch-cnn   one epoch of the digits CNN on random images (the
 *               `epoch cnn` workload, each step in zn.tidy as the training
 *               job runs it); with `--no-tidy` the step's results are left
 *               to the garbage collector
 *
 * Prints one JSON line: `{ "peakBytes": the process's peak resident set }`
 * (Linux: VmHWM of /proc/self/status; 0 elsewhere).
 *
 *   deno run --allow-all bench/process_side.ts first-op
 *
 * (All permissions: Deno lets a program read /proc/self/status only with them.)
 *
 * @module
 */
const mode = Deno.args[0];
const work = JSON.parse(
  Deno.readTextFileSync(new URL("./workloads.json", import.meta.url)),
) as { epoch: { images: number; batch: number } };

function peakBytes(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s*(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

if (mode === "import") {
  await import("../mod.ts");
} else if (mode === "first-op") {
  const zn = await import("../mod.ts");
  if (zn.ones([1]).add(1).item() !== 2) throw new Error("process_side: 1 + 1 is not 2");
} else if (mode === "epoch-cnn") {
  const zn = await import("../mod.ts");
  const { buildModel } = await import("../examples/mnist/model.ts");
  const { epoch } = await import("./epoch.ts");
  zn.manualSeed(0);
  const { images, batch } = work.epoch;
  const xs = zn.rand([images, 1, 28, 28]), ys = zn.randint(0, 10, [images]);
  epoch(buildModel("cnn"), xs, ys, batch, !Deno.args.includes("--no-tidy"));
} else {
  throw new Error(`process_side: unknown mode "${mode}" (import, first-op or epoch-cnn)`);
}
console.log(JSON.stringify({ peakBytes: peakBytes() }));
