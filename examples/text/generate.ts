/**
 * Samples text from a model saved by `deno task train:text`: the prompt,
 * then `--max-new-tokens` characters drawn one at a time with
 * `zn.sampling.sampleLogits` (temperature, top-k, top-p), printed as they
 * come. The text goes to stdout; a line about the model goes to stderr.
 *
 *   deno task generate [--model-file text_model.safetensors] [--prompt TEXT]
 *                      [--max-new-tokens 500] [--temperature 0.8] [--top-k 0] [--seed 0]
 *   deno task generate --help
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli, DEVICE_FLAG } from "../cli_flags.ts";
import { generate } from "./model.ts";
import { CheckpointError, loadCheckpoint } from "./common.ts";

const cli = new Cli({
  name: "generate",
  usage: "deno task generate [flags]",
  summary: "Continues a prompt with a character-level model saved by `deno task train:text`.",
  flags: {
    "model-file": {
      default: "text_model.safetensors",
      metavar: "FILE",
      description: "the model to sample from",
    },
    prompt: {
      metavar: "TEXT",
      description: "the text to continue, in the model's characters (default: a newline)",
    },
    "max-new-tokens": {
      type: "integer",
      min: 0,
      default: 500,
      description: "characters to generate",
    },
    temperature: {
      type: "number",
      min: 0,
      default: 0.8,
      description: "divides the logits: lower is safer, 0 is greedy",
    },
    "top-k": {
      type: "integer",
      min: 0,
      default: 0,
      description: "draw only from the k likeliest characters (0: all)",
    },
    "top-p": {
      type: "number",
      above: 0,
      default: 1,
      description: "draw only from the likeliest characters whose probability reaches p (1: all)",
    },
    seed: { type: "integer", min: 0, default: 0, description: "seeds the sampling" },
    device: { ...DEVICE_FLAG, description: "where the model runs" },
  },
});
const flags = cli.parse();
/** Prints `generate: message` and exits (a declaration, so that the checker knows it ends the run). */
function fail(message: string, code = 1): never {
  return cli.fail(message, code);
}
const { device, "model-file": path, temperature } = flags;
if (flags["top-p"] > 1) {
  fail(`--top-p expects a number in (0, 1], got ${flags["top-p"]}`, 2);
}
cli.checkDevice(device);

let ckpt;
try {
  ckpt = await loadCheckpoint(path, device);
} catch (e) {
  if (e instanceof CheckpointError) fail(e.message);
  throw e;
}
const { model, info } = ckpt;
const vocab = new zn.data.text.CharVocab(info.vocab);
const prompt = flags.prompt ?? "\n";
let promptIds: number[];
try {
  promptIds = vocab.encode(prompt);
} catch {
  const bad = [...prompt].find((c) => !info.vocab.includes(c))!;
  fail(
    `--prompt: the character ${JSON.stringify(bad)} is not in the model's vocabulary of ` +
      `${vocab.size} characters`,
    2,
  );
}
if (promptIds.length === 0) fail("--prompt is empty; give at least one character", 2);
console.error(
  `${path}: ${info.config.kind}, ${model.numParameters()} parameters, ${info.step} steps, ` +
    `val loss ${info.valLoss.toFixed(4)}; temperature ${temperature}, top-k ${flags["top-k"]}, ` +
    `top-p ${flags["top-p"]}, seed ${flags.seed}`,
);

const enc = new TextEncoder();
const write = (s: string) => {
  const bytes = enc.encode(s);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
};
write(prompt);
generate(
  model,
  promptIds,
  flags["max-new-tokens"],
  {
    temperature,
    topK: flags["top-k"],
    topP: flags["top-p"],
    generator: new zn.Generator(flags.seed),
  },
  (id) => write(vocab.chars[id]),
);
write("\n");
