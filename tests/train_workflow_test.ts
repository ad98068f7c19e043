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
