/**
 * The main job end to end on a small subset: `deno task train` writes a
 * safetensors file (with metadata) and the curves, and `deno task eval`
 * reproduces the same test report from the file.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import * as zn from "../mod.ts";

const root = new URL("..", import.meta.url);

async function run(script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env", script, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  ok(out.success, `${script} failed:\n${new TextDecoder().decode(out.stderr)}\n${text}`);
  return text;
}

function reportOf(text: string): string {
  return text.slice(
    text.indexOf("test accuracy:"),
    text.indexOf("\nsaved") >= 0 ? text.indexOf("\nsaved") : undefined,
  )
    .trim();
}

for (const model of ["mlp", "cnn"]) {
  Deno.test(`train then eval (${model}, 1 epoch on a subset) give the same test report`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/${model}.safetensors`;
      const trained = await run("examples/mnist/train.ts", [
        "--epochs",
        "1",
        "--limit",
        "600",
        "--model",
        model,
        "--out",
        file,
      ]);
      match(
        trained,
        /epoch 1\/1: train loss [0-9.]+ acc [0-9.]+% \| val loss [0-9.]+ acc [0-9.]+%/,
      );
      match(trained, /confusion matrix/);
      const evaluated = await run("examples/mnist/eval.ts", ["--model-file", file]);
      const a = reportOf(trained), b = reportOf(evaluated);
      ok(a.length > 200, "the training report is missing");
      equal(b, a);
      const meta = await zn.loadMetadata(file);
      equal(meta?.architecture, model);
      equal(meta?.epochs, "1");
      const acc = Number(meta?.test_accuracy);
      ok(acc > 0.5, `a subset epoch should already beat chance by far, got ${acc}`);
      const svg = await Deno.readTextFile(`${dir}/${model}_curves.svg`);
      match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      const sd = await zn.load(file);
      deepEqual(
        Object.keys(sd).sort(),
        model === "mlp"
          ? ["1.bias", "1.weight", "3.bias", "3.weight"]
          : ["0.bias", "0.weight", "3.bias", "3.weight", "7.bias", "7.weight"],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("train --amp bf16 and fp16 reach float32's accuracy on a subset, with float32 weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const acc: Record<string, number> = {};
    for (const amp of ["off", "bf16", "fp16"]) {
      const file = `${dir}/${amp}.safetensors`;
      const out = await run("examples/mnist/train.ts", [
        ...["--epochs", "2", "--limit", "1500", "--amp", amp, "--out", file],
      ]);
      if (amp !== "off") match(out, /mixed precision: forward in (bfloat16|float16)/);
      const meta = await zn.loadMetadata(file);
      equal(meta?.amp, amp);
      acc[amp] = Number(meta?.test_accuracy);
      const sd = await zn.load(file);
      for (const t of Object.values(sd)) equal(t.dtype, "float32");
    }
    // The same band: within two points of the float32 run (the full job: 97.27% for all three).
    for (const amp of ["bf16", "fp16"]) {
      ok(Math.abs(acc[amp] - acc.off) < 0.02, `${amp} ${acc[amp]} against float32 ${acc.off}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
