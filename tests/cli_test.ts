/**
 * The example scripts' command lines: `--help`, one-line errors with exit
 * code 2 for usage mistakes, an output folder that does not exist, a missing
 * model file, and overwriting the output of an earlier run.
 */
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import { closest, FlagError, parseFlags } from "../examples/cli_flags.ts";
import { runDeno } from "./deno_process.ts";

const root = new URL("..", import.meta.url);
const TRAIN = "examples/mnist/train.ts", EVAL = "examples/mnist/eval.ts";
const TRAIN_FLAGS =
  "--epochs, --batch-size, --lr, --model, --seed, --out, --device, --limit, --amp, --help";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, ...args: string[]): Promise<Result> {
  return runDeno(
    ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env", script, ...args],
    { cwd: root },
  );
}

/** The run failed with `code`, printed nothing to stdout and one line (no stack trace) to stderr. */
function failsWithLine(r: Result, code: number, line: RegExp | string): void {
  const why = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  equal(r.code, code, why);
  equal(r.stdout, "", why);
  const lines = r.stderr.trimEnd().split("\n");
  equal(lines.length, 1, why);
  if (typeof line === "string") equal(lines[0], line, why);
  else match(lines[0], line, why);
}

// ------------------------------------------------------------------ parser

const SPECS = {
  epochs: { type: "integer", min: 1, default: 8, description: "epochs" },
  lr: { type: "number", above: 0, default: 0.001, description: "learning rate" },
  model: { choices: ["cnn", "mlp"], default: "cnn", description: "architecture" },
  limit: { type: "integer", min: 1, description: "digits per split" },
} as const;

Deno.test("parseFlags: defaults, --name value, --name=value, last one wins", () => {
  deepEqual(parseFlags([], SPECS), { epochs: 8, lr: 0.001, model: "cnn", limit: undefined });
  deepEqual(parseFlags(["--epochs", "3", "--lr=1e-2", "--model", "mlp", "--epochs=4"], SPECS), {
    epochs: 4,
    lr: 0.01,
    model: "mlp",
    limit: undefined,
  });
  equal(parseFlags(["--limit", "600"], SPECS).limit, 600);
});

Deno.test("parseFlags: usage mistakes name the flag or the argument", () => {
  const cases: [string[], string][] = [
    [["--epoch", "3"], "unknown flag --epoch (did you mean --epochs?)"],
    [["-epochs", "3"], "unknown flag -epochs (did you mean --epochs?)"],
    [["--colour"], "unknown flag --colour"],
    [["--epochs", "abc"], '--epochs expects an integer >= 1, got "abc"'],
    [["--epochs", "2.5"], '--epochs expects an integer >= 1, got "2.5"'],
    [["--epochs", "0"], '--epochs expects an integer >= 1, got "0"'],
    [["--limit", ""], '--limit expects an integer >= 1, got ""'],
    [["--lr", "-1"], '--lr expects a number > 0, got "-1"'],
    [["--lr", "0x10"], '--lr expects a number > 0, got "0x10"'],
    [["--model", "resnet"], '--model expects one of cnn, mlp, got "resnet"'],
    [["--epochs"], "--epochs needs a value"],
    [["--epochs", "--lr", "1"], "--epochs needs a value"],
    [["extra"], 'unexpected argument "extra"'],
    [["--epochs", "1", "2"], 'unexpected argument "2"'],
  ];
  for (const [args, message] of cases) {
    throws(() => parseFlags(args, SPECS), (e) => e instanceof FlagError && e.message === message);
  }
});

Deno.test("closest: typos, prefixes and underscores, nothing for strangers", () => {
  const names = ["epochs", "batch-size", "lr", "model", "model-file", "out"];
  equal(closest("epoch", names), "epochs");
  equal(closest("batch_size", names), "batch-size");
  equal(closest("batch", names), "batch-size");
  equal(closest("modelfile", names), "model-file");
  equal(closest("learning-rate", names), undefined);
});

// ----------------------------------------------------------------- scripts

Deno.test("train --help and -h list every flag with its default and exit 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const r = await run(TRAIN, flag);
    equal(r.code, 0, r.stderr);
    equal(r.stderr, "");
    match(r.stdout, /^usage: deno task train/);
    for (
      const [name, def] of [
        ["epochs", "8"],
        ["batch-size", "64"],
        ["lr", "0.001"],
        ["model", "cnn"],
        ["seed", "0"],
        ["out", "model.safetensors"],
        ["device", "cpu"],
      ]
    ) {
      match(r.stdout, new RegExp(`\\n {2}--${name} \\S+ +\\S.*\\(default ${def}\\)\\n`));
    }
    match(r.stdout, /\n {2}--limit N +\S/);
    match(r.stdout, /\n {2}-h, --help +\S/);
  }
});

Deno.test("eval --help lists --model-file and --device", async () => {
  const r = await run(EVAL, "--help");
  equal(r.code, 0, r.stderr);
  match(r.stdout, /^usage: deno task eval/);
  match(r.stdout, /\n {2}--model-file FILE +\S.*\(default model\.safetensors\)\n/);
  match(r.stdout, /\n {2}--device cpu\|cuda +\S.*\(default cpu\)\n/);
});

Deno.test("train: usage mistakes print one line with the valid flags and exit 2", async () => {
  const cases: [string[], string][] = [
    [["--epoch", "3"], "unknown flag --epoch (did you mean --epochs?)"],
    [["--epochs", "abc"], '--epochs expects an integer >= 1, got "abc"'],
    [["--limit", "abc"], '--limit expects an integer >= 1, got "abc"'],
    [["--lr", "-1"], '--lr expects a number > 0, got "-1"'],
    [["--device", "gpu"], '--device expects cpu, cuda or cuda:N, got "gpu"'],
    [["--epochs", "1", "--batch-size"], "--batch-size needs a value"],
    [["model.safetensors"], 'unexpected argument "model.safetensors"'],
  ];
  for (const [args, message] of cases) {
    failsWithLine(await run(TRAIN, ...args), 2, `train: ${message}; valid flags: ${TRAIN_FLAGS}`);
  }
});

Deno.test("eval and the other examples reject unknown flags the same way", async () => {
  failsWithLine(
    await run(EVAL, "--modelfile", "m.safetensors"),
    2,
    "eval: unknown flag --modelfile (did you mean --model-file?); valid flags: --model-file, --device, --help",
  );
  for (const name of ["spiral_classifier", "linear_regression"]) {
    failsWithLine(
      await run(`examples/${name}.ts`, "--devices", "cpu"),
      2,
      `${name}: unknown flag --devices (did you mean --device?); valid flags: --device, --help`,
    );
  }
  failsWithLine(
    await run("examples/first_steps.ts", "now"),
    2,
    'first_steps: unexpected argument "now"; valid flags: --help',
  );
});

Deno.test("train: --out into a folder that does not exist fails before training", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/missing/model.safetensors`;
    failsWithLine(
      await run(TRAIN, "--out", out),
      2,
      `train: --out ${out}: the folder ${dir}/missing does not exist`,
    );
    failsWithLine(
      await run(TRAIN, "--out", dir),
      2,
      `train: --out ${dir} is a folder; give a file name`,
    );
    deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval: a missing model file says to train first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/model.safetensors`;
    failsWithLine(
      await run(EVAL, "--model-file", file),
      1,
      `eval: ${file} does not exist; run \`deno task train\` first (or pass --model-file)`,
    );
    await zn.save({ w: zn.zeros([2]) }, file);
    failsWithLine(
      await run(EVAL, "--model-file", file),
      1,
      `eval: ${file}: no architecture in its metadata; was it saved by \`deno task train\`?`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "train and eval: --device cuda without CUDA is one line",
  ignore: zn.cuda.isAvailable(),
  fn: async () => {
    failsWithLine(
      await run(TRAIN, "--device", "cuda"),
      1,
      /^train: --device cuda: CUDA is not available: /,
    );
    failsWithLine(
      await run(EVAL, "--device", "cuda"),
      1,
      /^eval: --device cuda: CUDA is not available: /,
    );
  },
});

Deno.test("train: a second run into the same file says it overwrites it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/m.safetensors`, svg = `${dir}/m_curves.svg`;
    const args = ["--epochs", "1", "--limit", "32", "--model", "mlp", "--out", out];
    const first = await run(TRAIN, ...args);
    equal(first.code, 0, first.stderr);
    ok(!first.stdout.includes("overwriting"), first.stdout);
    ok(first.stdout.endsWith(`\nsaved ${out} and ${svg}\n`), first.stdout);
    const second = await run(TRAIN, ...args);
    equal(second.code, 0, second.stderr);
    ok(
      second.stdout.includes(`\noverwriting ${out}\noverwriting ${svg}\nsaved ${out} and ${svg}\n`),
      second.stdout,
    );
    // Written through temporary files renamed into place: nothing else is left.
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "m.safetensors",
      "m_curves.svg",
    ]);
    equal((await zn.loadMetadata(out))?.limit, "32");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
