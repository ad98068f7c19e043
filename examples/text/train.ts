/**
 * The second main job: train a character-level language model (a small GPT,
 * or an LSTM) on the Shakespeare shipped in examples/text/data/, report the
 * training and validation loss and perplexity every `--eval-interval` steps,
 * and save the model with its optimizer state as safetensors (and the curves
 * as SVG) at each evaluation, so that `--resume` can go on from there.
 *
 *   deno task train:text [--model gpt|lstm] [--steps 1500] [--batch-size 32] [--block-size 64]
 *                        [--lr 0.003] [--seed 0] [--out text_model.safetensors] [--resume FILE]
 *                        [--limit N] [--device cpu|cuda] ...
 *   deno task train:text --help
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli, DEVICE_FLAG } from "../cli_flags.ts";
import { curvesSvg, TRAIN_COLOR, VAL_COLOR } from "../curves_svg.ts";
import { writeAtomic } from "../mnist/common.ts";
import { Progress } from "../mnist/report.ts";
import { buildModel, type ModelConfig, type ModelKind, type TextModel } from "./model.ts";
import {
  CheckpointError,
  type CheckpointInfo,
  type Corpus,
  DEFAULT_TEXT,
  type EvalPoint,
  evaluate,
  loadCheckpoint,
  lossOf,
  lrAt,
  readText,
  saveCheckpoint,
  type Schedule,
  splitCorpus,
  trainBatches,
  type TrainSettings,
} from "./common.ts";

/** The architecture's defaults per kind (`--layers`, `--dim`, `--heads`, `--hidden`). */
const ARCH_DEFAULTS = {
  gpt: { layers: 4, dim: 128, heads: 4, hidden: 0 },
  lstm: { layers: 1, dim: 64, heads: 0, hidden: 256 },
} as const;

const cli = new Cli({
  name: "train:text",
  usage: "deno task train:text [flags]",
  summary:
    "Trains a character-level language model on a text (Shakespeare by default) and saves it " +
    "with its optimizer state and its loss curves.",
  flags: {
    model: { choices: ["gpt", "lstm"], default: "gpt", description: "the architecture" },
    steps: {
      type: "integer",
      min: 1,
      default: 1500,
      description: "optimizer steps in all (with --resume, counting the checkpoint's)",
    },
    "eval-interval": {
      type: "integer",
      min: 1,
      default: 250,
      description: "steps between evaluations and checkpoints",
    },
    "batch-size": { type: "integer", min: 1, default: 32, description: "windows per step" },
    "block-size": {
      type: "integer",
      min: 1,
      default: 64,
      description: "characters per window (the GPT's context)",
    },
    lr: {
      type: "number",
      above: 0,
      default: 0.003,
      description: "AdamW's peak learning rate (warmup, then cosine decay to a tenth)",
    },
    layers: {
      type: "integer",
      min: 1,
      description: "Transformer blocks or LSTM layers (default 4 for gpt, 1 for lstm)",
    },
    dim: {
      type: "integer",
      min: 1,
      description: "embedding width (default 128 for gpt, 64 for lstm)",
    },
    heads: { type: "integer", min: 1, description: "gpt: attention heads (default 4)" },
    hidden: { type: "integer", min: 1, description: "lstm: hidden size (default 256)" },
    seed: { type: "integer", min: 0, default: 0, description: "seeds the init and the batches" },
    text: { default: DEFAULT_TEXT, metavar: "FILE", description: "the text to train on" },
    limit: {
      type: "integer",
      min: 1,
      description: "keeps only the first N characters of the text (quick runs)",
    },
    out: {
      default: "text_model.safetensors",
      metavar: "FILE",
      description: "the checkpoint; the curves go beside it as <name>_curves.svg",
    },
    resume: {
      metavar: "FILE",
      description: "continue from this checkpoint (model, optimizer state, step count, settings)",
    },
    device: { ...DEVICE_FLAG, description: "where the model trains" },
  },
});
const flags = cli.parse();
/** Prints `train:text: message` and exits (a declaration, so that the checker knows it ends the run). */
function fail(message: string, code = 1): never {
  return cli.fail(message, code);
}
/** Whether `--name` is on the command line (a flag with a default is then not the default). */
const given = (name: string) =>
  Deno.args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const { out, device } = flags;
const svgPath = out.replace(/\.safetensors$/, "") + "_curves.svg";
cli.checkOutputFile("out", out);
cli.checkDevice(device);

// ------------------------------------------------------------ what to train

let resumed: TextModel | null = null; // the checkpoint's model, with --resume
let freshConfig: Omit<ModelConfig, "vocabSize"> | null = null; // the model to build, without
let settings: TrainSettings;
let startStep = 0;
let history: EvalPoint[] = [];
let optimizerState: zn.optim.OptimizerStateDict | null = null;
let vocabChars: string[] | null = null;

if (flags.resume !== undefined) {
  let ckpt;
  try {
    ckpt = await loadCheckpoint(flags.resume, device);
  } catch (e) {
    if (e instanceof CheckpointError) fail(`--resume ${e.message}`);
    throw e;
  }
  const c = ckpt.info.config;
  const fixed: [string, unknown, unknown][] = [
    ["model", flags.model, c.kind],
    ["block-size", flags["block-size"], c.blockSize],
    ["layers", flags.layers, c.layers],
    ["dim", flags.dim, c.dim],
    ["heads", flags.heads, c.heads],
    ["hidden", flags.hidden, c.hidden],
  ];
  for (const [name, value, saved] of fixed) {
    if (given(name) && value !== saved) {
      fail(
        `--${name} ${value}: the checkpoint ${flags.resume} has ${saved}; a resumed run keeps its architecture`,
        2,
      );
    }
  }
  if (ckpt.optimizerState === null) {
    fail(`--resume ${flags.resume}: the file has no optimizer state to go on from`);
  }
  resumed = ckpt.model;
  optimizerState = ckpt.optimizerState;
  vocabChars = ckpt.info.vocab;
  startStep = ckpt.info.step;
  history = ckpt.info.history;
  const saved = ckpt.info.training;
  // What the command line gives overrides what the checkpoint saved.
  const pick = <T>(name: string, value: T, old: T): T => given(name) ? value : old;
  const steps = pick("steps", flags.steps, saved.schedule.totalSteps);
  if (steps <= startStep) {
    fail(
      `--steps ${steps}: the checkpoint ${flags.resume} has already taken ${startStep} steps; ` +
        `pass a larger --steps to train on`,
      2,
    );
  }
  const lr = pick("lr", flags.lr, saved.schedule.lr);
  settings = {
    ...saved,
    text: pick("text", flags.text, saved.text),
    limit: pick("limit", flags.limit, saved.limit),
    batchSize: pick("batch-size", flags["batch-size"], saved.batchSize),
    evalInterval: pick("eval-interval", flags["eval-interval"], saved.evalInterval),
    seed: pick("seed", flags.seed, saved.seed),
    schedule: { ...saved.schedule, lr, minLr: lr / 10, totalSteps: steps },
  };
} else {
  const kind: ModelKind = flags.model;
  const d = ARCH_DEFAULTS[kind];
  if (kind === "gpt" && given("hidden")) fail("--hidden is for --model lstm", 2);
  if (kind === "lstm" && given("heads")) fail("--heads is for --model gpt", 2);
  const dim = flags.dim ?? d.dim, heads = flags.heads ?? d.heads;
  if (kind === "gpt" && dim % heads !== 0) {
    fail(`--dim ${dim} is not divisible by --heads ${heads}`, 2);
  }
  settings = {
    text: flags.text,
    limit: flags.limit,
    batchSize: flags["batch-size"],
    schedule: {
      lr: flags.lr,
      minLr: flags.lr / 10,
      warmup: Math.min(100, Math.max(1, Math.floor(flags.steps / 20))),
      totalSteps: flags.steps,
    },
    weightDecay: 0.01,
    clipNorm: 1,
    evalInterval: flags["eval-interval"],
    seed: flags.seed,
  };
  freshConfig = {
    kind,
    blockSize: flags["block-size"],
    layers: flags.layers ?? d.layers,
    dim,
    heads,
    hidden: flags.hidden ?? d.hidden,
  };
}

// ------------------------------------------------------------------- data

const t0 = performance.now();
let text: string;
try {
  text = await readText(settings.text, settings.limit);
} catch (e) {
  fail(`--text ${settings.text}: ${(e as Error).message}`);
}
let corpus: Corpus;
try {
  corpus = splitCorpus(text, vocabChars ? new zn.data.text.CharVocab(vocabChars) : undefined);
} catch (e) {
  fail(`--text ${settings.text}: ${(e as Error).message} of the checkpoint`);
}
const blockSize = resumed ? resumed.config.blockSize : freshConfig!.blockSize;
const nTrain = corpus.train.shape[0], nVal = corpus.val.shape[0];
const limited = settings.limit ? ` (--limit ${settings.limit})` : "";
if (nTrain < 2 * blockSize + 1 || nVal < blockSize + 1) {
  fail(
    `the text${limited} gives ${nTrain} training and ${nVal} validation characters; ` +
      `with --block-size ${blockSize} they need at least ${2 * blockSize + 1} and ${blockSize + 1}`,
    2,
  );
}
const first = settings.limit ? ` (first ${settings.limit} characters)` : "";
const loadSecs = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `text: ${settings.text}${first}, ${nTrain + nVal} characters, ${corpus.vocab.size} distinct; ` +
    `${nTrain} train, ${nVal} validation (loaded in ${loadSecs} s)`,
);

if (!resumed) zn.manualSeed(settings.seed);
const model: TextModel = resumed ??
  buildModel({ ...freshConfig!, vocabSize: corpus.vocab.size }).to(device);
const config = model.config;
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
const arch = config.kind === "gpt"
  ? [
    plural(config.layers, "block"),
    `dim ${config.dim}`,
    `${config.heads} heads`,
    `context ${config.blockSize}`,
  ]
  : [plural(config.layers, "layer"), `embedding ${config.dim}`, `hidden ${config.hidden}`];
const nParams = model.numParameters();
console.log(`model: ${config.kind}, ${arch.join(", ")}; ${nParams} parameters; device ${device}`);

const s: Schedule = settings.schedule;
const opt = new zn.optim.AdamW(model.parameters(), {
  lr: s.lr,
  betas: [0.9, 0.99],
  weightDecay: settings.weightDecay,
});
if (optimizerState) opt.loadStateDict(optimizerState);
console.log(
  `training: AdamW lr ${s.lr} (warmup ${plural(s.warmup, "step")}, cosine to ` +
    `${Number(s.minLr.toPrecision(3))}), batch ` +
    `${settings.batchSize} x ${blockSize} characters, steps ${startStep + 1}-${s.totalSteps}, ` +
    `evaluating every ${settings.evalInterval}` +
    (flags.resume !== undefined ? `; resumed from ${flags.resume} at step ${startStep}` : ""),
);

// ------------------------------------------------------------------ train

const batches = trainBatches(corpus.train, blockSize, settings.batchSize, settings.seed);
// The batch stream is a function of the seed alone: skip what the checkpoint has seen.
for (let i = 0; i < startStep; i++) {
  const [x, y] = batches.next().value!;
  x.dispose();
  y.dispose();
}
const outExisted = await exists(out);
let savedOnce = false;
const runStart = performance.now();
let intervalStart = runStart, lossSum = 0, lossCount = 0;
const bar = new Progress("training", s.totalSteps - startStep);
model.train();
for (let step = startStep; step < s.totalSteps;) {
  const [xb, yb] = batches.next().value!;
  const lr = lrAt(s, step);
  for (const g of opt.paramGroups) g.lr = lr;
  const loss = zn.tidy(() => {
    opt.zeroGrad();
    const l = lossOf(model.call(xb.to(device)), yb.to(device));
    l.backward();
    zn.nn.utils.clipGradNorm_(model.parameters(), settings.clipNorm);
    opt.step();
    return l.item() as number;
  });
  xb.dispose();
  yb.dispose();
  step++;
  lossSum += loss;
  lossCount++;
  bar.update(step - startStep, loss);
  if (step % settings.evalInterval === 0 || step === s.totalSteps) {
    bar.finish();
    const valLoss = evaluate(model, corpus.val, blockSize);
    const trainLoss = lossSum / lossCount;
    history.push({ step, trainLoss, valLoss });
    const secs = (performance.now() - intervalStart) / 1000;
    const width = String(s.totalSteps).length;
    console.log(
      `step ${String(step).padStart(width)}/${s.totalSteps}: train loss ${trainLoss.toFixed(4)} ` +
        `ppl ${Math.exp(trainLoss).toFixed(2)} | val loss ${valLoss.toFixed(4)} ppl ` +
        `${Math.exp(valLoss).toFixed(2)} | lr ${lr.toPrecision(3)} | ${secs.toFixed(1)} s`,
    );
    if (outExisted && !savedOnce) console.log(`overwriting ${out}`);
    await save({
      config,
      vocab: [...corpus.vocab.chars],
      step,
      valLoss,
      history,
      training: settings,
    });
    savedOnce = true;
    lossSum = 0;
    lossCount = 0;
    intervalStart = performance.now();
  }
}

const total = (performance.now() - runStart) / 1000;
const last = history[history.length - 1];
console.log(
  `\ndone: ${s.totalSteps - startStep} steps in ${formatSeconds(total)} ` +
    `(${((s.totalSteps - startStep) / total).toFixed(1)} steps/s); ` +
    `val loss ${last.valLoss.toFixed(4)}, perplexity ${Math.exp(last.valLoss).toFixed(2)}`,
);
console.log(`saved ${out} and ${svgPath}`);

/** Writes the checkpoint and the curves, each through a temporary file renamed into place. */
async function save(info: CheckpointInfo): Promise<void> {
  await writeAtomic(out, (tmp) => saveCheckpoint(tmp, model, opt, info));
  await writeAtomic(svgPath, (tmp) => Deno.writeTextFile(tmp, textCurvesSvg(info.history)));
}

/** Loss and perplexity per evaluation, train and validation, over the steps. */
function textCurvesSvg(h: EvalPoint[]): string {
  const x = h.map((p) => p.step);
  const train = h.map((p) => p.trainLoss), val = h.map((p) => p.valLoss);
  const hiLoss = Math.max(...train, ...val) * 1.05;
  const ppl = (v: number[]) => v.map((l) => Math.exp(l));
  return curvesSvg([
    {
      title: "loss (nats per character)",
      xLabel: "step",
      x,
      series: [
        { name: "train", color: TRAIN_COLOR, values: train },
        { name: "validation", color: VAL_COLOR, values: val },
      ],
      lo: 0,
      hi: hiLoss,
    },
    {
      title: "perplexity",
      xLabel: "step",
      x,
      series: [
        { name: "train", color: TRAIN_COLOR, values: ppl(train) },
        { name: "validation", color: VAL_COLOR, values: ppl(val) },
      ],
      lo: 1,
      hi: Math.exp(hiLoss),
    },
  ]);
}

function formatSeconds(secs: number): string {
  if (secs < 60) return `${secs.toFixed(1)} s`;
  return `${Math.floor(secs / 60)} min ${(secs % 60).toFixed(0)} s`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
