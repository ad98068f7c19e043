/**
 * The text job (`deno task train:text`, `deno task generate`) on tiny runs:
 * the help and usage errors, a few steps of a small GPT and a small LSTM on
 * the first few thousand characters whose loss goes down, `--resume` going
 * on from the checkpoint, and sampling from it: the requested length, only
 * the vocabulary's characters, the same text for the same seed.
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import * as zn from "../mod.ts";
import { runDeno } from "./deno_process.ts";

const root = new URL("..", import.meta.url);
const TRAIN = "examples/text/train.ts", GENERATE = "examples/text/generate.ts";
const TRAIN_FLAGS = "--model, --steps, --eval-interval, --batch-size, --block-size, --lr, " +
  "--layers, --dim, --heads, --hidden, --seed, --text, --limit, --out, --resume, --device, --help";
const GENERATE_FLAGS = "--model-file, --prompt, --max-new-tokens, --temperature, --top-k, " +
  "--top-p, --seed, --device, --help";

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

async function ok0(script: string, ...args: string[]): Promise<Result> {
  const r = await run(script, ...args);
  equal(r.code, 0, `${script} ${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The run failed with `code`, printed nothing to stdout and one line to stderr. */
function failsWithLine(r: Result, code: number, line: RegExp | string): void {
  const why = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  equal(r.code, code, why);
  equal(r.stdout, "", why);
  const lines = r.stderr.trimEnd().split("\n");
  equal(lines.length, 1, why);
  if (typeof line === "string") equal(lines[0], line, why);
  else match(lines[0], line, why);
}

/** A tiny model and run: the first 4000 characters, 30 steps, an evaluation every 10. */
const TINY = ["--limit", "4000", "--steps", "30", "--eval-interval", "10", "--batch-size", "8"];
const TINY_ARCH = {
  gpt: ["--model", "gpt", "--block-size", "16", "--layers", "1", "--dim", "32", "--heads", "2"],
  lstm: ["--model", "lstm", "--block-size", "16", "--dim", "16", "--hidden", "32"],
};

interface History {
  step: number;
  trainLoss: number;
  valLoss: number;
}

Deno.test("train:text and generate --help list every flag with its default", async () => {
  const t = await ok0(TRAIN, "--help");
  match(t.stdout, /^usage: deno task train:text/);
  for (
    const [name, def] of [
      ["model", "gpt"],
      ["steps", "1500"],
      ["eval-interval", "250"],
      ["batch-size", "32"],
      ["block-size", "64"],
      ["lr", "0.003"],
      ["seed", "0"],
      ["text", "examples/text/data/shakespeare.txt"],
      ["out", "text_model.safetensors"],
      ["device", "cpu"],
    ]
  ) {
    match(t.stdout, new RegExp(`\\n {2}--${name} \\S+ +\\S.*\\(default ${def}\\)\\n`));
  }
  for (const name of ["layers", "dim", "heads", "hidden", "limit", "resume"]) {
    match(t.stdout, new RegExp(`\\n {2}--${name} \\S+ +\\S`));
  }
  const g = await ok0(GENERATE, "-h");
  match(g.stdout, /^usage: deno task generate/);
  for (
    const [name, def] of [
      ["model-file", "text_model.safetensors"],
      ["max-new-tokens", "500"],
      ["temperature", "0.8"],
      ["top-k", "0"],
      ["seed", "0"],
    ]
  ) {
    match(g.stdout, new RegExp(`\\n {2}--${name} \\S+ +\\S.*\\(default ${def}\\)\\n`));
  }
  match(g.stdout, /\n {2}--prompt TEXT +\S/);
});

Deno.test("train:text and generate: usage mistakes are one line and exit 2", async () => {
  failsWithLine(
    await run(TRAIN, "--step", "3"),
    2,
    `train:text: unknown flag --step (did you mean --steps?); valid flags: ${TRAIN_FLAGS}`,
  );
  failsWithLine(
    await run(TRAIN, "--model", "rnn"),
    2,
    `train:text: --model expects one of gpt, lstm, got "rnn"; valid flags: ${TRAIN_FLAGS}`,
  );
  failsWithLine(
    await run(TRAIN, "--dim", "30", "--heads", "4"),
    2,
    "train:text: --dim 30 is not divisible by --heads 4",
  );
  failsWithLine(
    await run(TRAIN, "--limit", "100"),
    2,
    "train:text: the text (--limit 100) gives 90 training and 10 validation characters; " +
      "with --block-size 64 they need at least 129 and 65",
  );
  failsWithLine(
    await run(GENERATE, "--temperture", "1"),
    2,
    `generate: unknown flag --temperture (did you mean --temperature?); valid flags: ${GENERATE_FLAGS}`,
  );
  failsWithLine(
    await run(GENERATE, "--top-p", "1.5"),
    2,
    "generate: --top-p expects a number in (0, 1], got 1.5",
  );
  const dir = await Deno.makeTempDir();
  try {
    failsWithLine(
      await run(GENERATE, "--model-file", `${dir}/none.safetensors`),
      1,
      `generate: ${dir}/none.safetensors does not exist; run \`deno task train:text\` first`,
    );
    failsWithLine(
      await run(TRAIN, "--out", `${dir}/missing/m.safetensors`),
      2,
      `train:text: --out ${dir}/missing/m.safetensors: the folder ${dir}/missing does not exist`,
    );
    await zn.save({ w: zn.zeros([2]) }, `${dir}/other.safetensors`);
    failsWithLine(
      await run(GENERATE, "--model-file", `${dir}/other.safetensors`),
      1,
      `generate: ${dir}/other.safetensors: no model, config or vocab in its metadata; ` +
        "was it saved by `deno task train:text`?",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "train:text and generate: --device cuda without CUDA is one line",
  ignore: zn.cuda.isAvailable(),
  fn: async () => {
    failsWithLine(
      await run(TRAIN, "--device", "cuda"),
      1,
      /^train:text: --device cuda: CUDA is not available: /,
    );
    failsWithLine(
      await run(GENERATE, "--device", "cuda"),
      1,
      /^generate: --device cuda: CUDA is not available: /,
    );
  },
});

for (const kind of ["gpt", "lstm"] as const) {
  Deno.test(`train:text --model ${kind}: a tiny run learns, resumes, and generate samples from it`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/m.safetensors`;
      const first = await ok0(TRAIN, ...TINY, ...TINY_ARCH[kind], "--out", file);
      const lines = first.stdout.split("\n");
      ok(lines[0].startsWith("text: examples/text/data/shakespeare.txt (first 4000 characters), "));
      match(lines[1], new RegExp(`^model: ${kind}, `));
      match(first.stdout, /\nstep 10\/30: train loss [0-9.]+ ppl [0-9.]+ \| val loss [0-9.]+ ppl /);
      match(first.stdout, /\nstep 30\/30: /);
      ok(first.stdout.endsWith(`\nsaved ${file} and ${dir}/m_curves.svg\n`), first.stdout);
      // Written through temporary files renamed into place: nothing else is left.
      deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "m.safetensors",
        "m_curves.svg",
      ]);
      const svg = await Deno.readTextFile(`${dir}/m_curves.svg`);
      match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      match(svg, /perplexity/);

      const meta = (await zn.loadMetadata(file))!;
      equal(meta.model, kind);
      equal(meta.steps, "30");
      const vocab = JSON.parse(meta.vocab) as string[];
      ok(vocab.length > 30 && vocab.includes("e") && vocab.includes("\n"), meta.vocab);
      const config = JSON.parse(meta.config);
      equal(config.kind, kind);
      equal(config.vocabSize, vocab.length);
      equal(config.blockSize, 16);
      const history = JSON.parse(meta.history) as History[];
      deepEqual(history.map((h) => h.step), [10, 20, 30]);
      const [h0, , h2] = history;
      ok(h2.valLoss < h0.valLoss, `validation loss went from ${h0.valLoss} to ${h2.valLoss}`);
      ok(h2.trainLoss < h0.trainLoss, `train loss went from ${h0.trainLoss} to ${h2.trainLoss}`);
      ok(h0.valLoss < Math.log(vocab.length) + 0.5, `step 10 loss ${h0.valLoss}`);
      equal(Number(meta.val_loss), Number(h2.valLoss.toFixed(6)));
      ok(meta["optimizer.param_groups"] && meta["optimizer.state"], "no optimizer state");
      const tensors = await zn.load(file);
      ok(Object.keys(tensors).some((k) => k.startsWith("optimizer.state.0.")));

      // The same command gives the same run (the seed fixes the init and the batches).
      const again = await ok0(
        TRAIN,
        ...TINY,
        ...TINY_ARCH[kind],
        "--out",
        `${dir}/again.safetensors`,
      );
      equal(
        JSON.parse((await zn.loadMetadata(`${dir}/again.safetensors`))!.history)[2].valLoss,
        h2.valLoss,
      );
      // The same losses and rates; the step times (the last field) differ.
      const steps = (out: string) =>
        out.split("\n").filter((l) => l.startsWith("step ")).map((l) =>
          l.replace(/\| [\d.]+ s$/, "")
        )
          .join("\n");
      equal(steps(again.stdout), steps(first.stdout));

      // --resume goes on from step 30 with the same settings, architecture and vocabulary.
      const resumed = `${dir}/resumed.safetensors`;
      const second = await ok0(TRAIN, "--resume", file, "--steps", "40", "--out", resumed);
      match(
        second.stdout,
        new RegExp(`steps 31-40, evaluating every 10; resumed from ${file} at step 30\\n`),
      );
      ok(!/\nstep (10|20|30)\/40/.test(second.stdout), second.stdout);
      match(second.stdout, /\nstep 40\/40: /);
      match(second.stdout, /\ndone: 10 steps in /);
      const meta2 = (await zn.loadMetadata(resumed))!;
      equal(meta2.steps, "40");
      equal(meta2.config, meta.config);
      equal(meta2.vocab, meta.vocab);
      const history2 = JSON.parse(meta2.history) as History[];
      deepEqual(history2.slice(0, 3), history);
      deepEqual(history2.map((h) => h.step), [10, 20, 30, 40]);
      equal(JSON.parse(meta2.training).limit, 4000);
      failsWithLine(
        await run(TRAIN, "--resume", resumed, "--steps", "40", "--out", resumed),
        2,
        `train:text: --steps 40: the checkpoint ${resumed} has already taken 40 steps; ` +
          "pass a larger --steps to train on",
      );
      const other = kind === "gpt" ? "lstm" : "gpt";
      failsWithLine(
        await run(TRAIN, "--resume", resumed, "--model", other, "--steps", "50", "--out", resumed),
        2,
        `train:text: --model ${other}: the checkpoint ${resumed} has ${kind}; ` +
          "a resumed run keeps its architecture",
      );

      // generate: the prompt, then exactly --max-new-tokens characters of the vocabulary.
      const gen = (...args: string[]) =>
        ok0(
          GENERATE,
          "--model-file",
          resumed,
          "--prompt",
          "The ",
          "--max-new-tokens",
          "80",
          ...args,
        );
      const a = await gen("--seed", "1");
      ok(a.stdout.startsWith("The "), a.stdout);
      ok(a.stdout.endsWith("\n"));
      const sampled = [...a.stdout.slice(4, -1)];
      equal(sampled.length, 80, JSON.stringify(a.stdout));
      ok(sampled.every((c) => vocab.includes(c)), JSON.stringify(a.stdout));
      match(a.stderr, new RegExp(`^${resumed}: ${kind}, \\d+ parameters, 40 steps, val loss `));
      equal((await gen("--seed", "1")).stdout, a.stdout);
      notEqual((await gen("--seed", "2")).stdout, a.stdout);
      const greedy = await gen("--temperature", "0", "--seed", "5");
      equal((await gen("--temperature", "0", "--seed", "6")).stdout, greedy.stdout);
      equal((await gen("--top-k", "1", "--seed", "7")).stdout, greedy.stdout);
      const none = await ok0(
        GENERATE,
        "--model-file",
        resumed,
        "--prompt",
        "ab",
        "--max-new-tokens",
        "0",
      );
      equal(none.stdout, "ab\n");
      failsWithLine(
        await run(GENERATE, "--model-file", resumed, "--prompt", "caf\u00e9"),
        2,
        `generate: --prompt: the character "\u00e9" is not in the model's vocabulary of ${vocab.length} characters`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("train:text: a run killed after a checkpoint and resumed from it ends with the same bits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["--limit", "20000", "--steps", "40", "--eval-interval", "20", "--layers", "2"];
    const whole = `${dir}/whole.safetensors`, cut = `${dir}/cut.safetensors`;
    await ok0(TRAIN, ...args, "--dim", "64", "--block-size", "32", "--out", whole);
    // The same run, killed as soon as its first checkpoint (step 20 of 40) is in place.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        TRAIN,
        ...args,
        "--dim",
        "64",
        "--block-size",
        "32",
        "--out",
        cut,
      ],
      cwd: root,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 120_000;
    while (!(await exists(cut)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    await child.status;
    equal((await zn.loadMetadata(cut))?.steps, "20", "the run ended before it could be cut");
    // --resume without --steps goes on to the 40 steps the run was started for.
    const r = await ok0(TRAIN, "--resume", cut, "--out", cut);
    match(r.stdout, /steps 21-40, /);
    const [ma, mb] = [(await zn.loadMetadata(whole))!, (await zn.loadMetadata(cut))!];
    deepEqual(mb, ma);
    // The same weights and optimizer state, byte for byte (the files are the same bytes).
    const [a, b] = [await Deno.readFile(whole), await Deno.readFile(cut)];
    equal(b.length, a.length);
    ok(a.every((x, i) => x === b[i]), "the checkpoints differ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
