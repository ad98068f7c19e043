/**
 * What the text job's training and generation share: the text and its
 * split, the training batches, the validation loss, the learning-rate
 * schedule and the checkpoint (model, optimizer state and metadata in one
 * safetensors file).
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { buildModel, type ModelConfig, type ModelKind, type TextModel } from "./model.ts";

/** The text the job trains on unless `--text` names another, as `--help` shows it. */
export const DEFAULT_TEXT = "examples/text/data/shakespeare.txt";

/** Where {@link DEFAULT_TEXT} is, whatever the working folder. */
const DEFAULT_TEXT_URL = new URL("./data/shakespeare.txt", import.meta.url);

/** The part of the text held out for validation (its last tenth). */
export const VAL_FRACTION = 0.1;

/** The prefix of the optimizer's tensors and metadata keys in a checkpoint. */
export const OPTIMIZER_PREFIX = "optimizer.";

/** Reads the text `path` ({@link DEFAULT_TEXT} from anywhere); `limit` keeps its first characters. */
export async function readText(path: string, limit?: number): Promise<string> {
  const text = await Deno.readTextFile(path === DEFAULT_TEXT ? DEFAULT_TEXT_URL : path);
  if (limit === undefined) return text;
  return [...text].slice(0, limit).join("");
}

/** A text as token ids, split into a training part and a validation part. */
export interface Corpus {
  /** The characters and their ids. */
  vocab: zn.data.text.CharVocab;
  /** The first 90% of the ids (int64, 1-D). */
  train: zn.Tensor;
  /** The last 10% of the ids. */
  val: zn.Tensor;
}

/**
 * The ids of `text` in `vocab` (default: the text's own characters), the
 * first 90% for training and the last 10% for validation. A character not
 * in `vocab` is a RangeError.
 */
export function splitCorpus(text: string, vocab?: zn.data.text.CharVocab): Corpus {
  const v = vocab ?? zn.data.text.CharVocab.fromText(text);
  const ids = v.encodeTensor(text);
  const n = ids.shape[0];
  const nVal = Math.round(n * VAL_FRACTION);
  return { vocab: v, train: ids.narrow(0, 0, n - nVal), val: ids.narrow(0, n - nVal, nVal) };
}

/**
 * The endless stream of training batches `[inputs, targets]`, int64
 * `[batchSize, blockSize]` each, a pure function of the seed: each pass over
 * the training ids starts its windows at a random offset below `blockSize`
 * (so passes see different windows) and visits them in a random order
 * (`zn.data.TokenWindowDataset` and a shuffling `zn.data.DataLoader`). The
 * ids need at least `2 * blockSize + 1` tokens.
 */
export function* trainBatches(
  ids: zn.Tensor,
  blockSize: number,
  batchSize: number,
  seed: number,
): Generator<[zn.Tensor, zn.Tensor]> {
  const g = new zn.Generator(seed);
  const n = ids.shape[0];
  for (;;) {
    const offset = Number(zn.randint(0, blockSize, [1], { generator: g }).item());
    const windows = new zn.data.text.TokenWindowDataset(
      ids.narrow(0, offset, n - offset),
      blockSize,
    );
    yield* new zn.data.DataLoader(windows, {
      batchSize,
      shuffle: true,
      dropLast: windows.length >= batchSize,
      generator: g,
    });
  }
}

/** The next-token cross-entropy (mean, in nats) of `logits [B, T, V]` for `targets [B, T]`. */
export function lossOf(logits: zn.Tensor, targets: zn.Tensor): zn.Tensor {
  const V = logits.shape[logits.ndim - 1];
  return zn.nn.functional.crossEntropy(logits.reshape(-1, V), targets.reshape(-1));
}

/**
 * The mean next-token loss (nats) of `model` over the non-overlapping
 * windows of `blockSize` tokens of `ids`, without the tape, in eval mode.
 */
export function evaluate(
  model: TextModel,
  ids: zn.Tensor,
  blockSize: number,
  batchSize = 64,
): number {
  const device = model.parameters().next().value!.device;
  const windows = new zn.data.text.TokenWindowDataset(ids, blockSize);
  const wasTraining = model.training;
  model.eval();
  let total = 0, count = 0;
  zn.noGrad(() => {
    for (const [x, y] of new zn.data.DataLoader(windows, { batchSize })) {
      total += zn.tidy(() => {
        const logits = model.call(x.to(device));
        const V = logits.shape[2];
        return zn.nn.functional.crossEntropy(logits.reshape(-1, V), y.to(device).reshape(-1), {
          reduction: "sum",
        }).item() as number;
      });
      count += y.numel;
      x.dispose();
      y.dispose();
    }
  });
  model.train(wasTraining);
  return total / count;
}

/** The learning-rate schedule: how long the warmup is and where the cosine ends. */
export interface Schedule {
  /** The peak rate. */
  lr: number;
  /** The rate at the last step (the cosine's floor). */
  minLr: number;
  /** Steps of linear warmup from lr / warmup to lr. */
  warmup: number;
  /** The step count the cosine decays over. */
  totalSteps: number;
}

/** The schedule's rate for step `step` (0-based): linear warmup, then cosine decay to `minLr`. */
export function lrAt(s: Schedule, step: number): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const span = Math.max(1, s.totalSteps - s.warmup - 1);
  const t = Math.min(1, (step - s.warmup) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * t));
}

/** One evaluation: the step after which it ran, the mean training loss since the last one, the validation loss. */
export interface EvalPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
}

/** How a run trains; saved in the checkpoint so that `--resume` can go on the same way. */
export interface TrainSettings {
  /** The text file, as given. */
  text: string;
  /** Characters of it kept (undefined: all). */
  limit?: number;
  /** Windows per step. */
  batchSize: number;
  /** The learning-rate schedule. */
  schedule: Schedule;
  /** AdamW's weight decay. */
  weightDecay: number;
  /** The largest gradient norm (clipped above). */
  clipNorm: number;
  /** Steps between evaluations. */
  evalInterval: number;
  /** Seeds the initialisation and the batches. */
  seed: number;
}

/** What a checkpoint holds besides the tensors. */
export interface CheckpointInfo {
  /** The architecture. */
  config: ModelConfig;
  /** The characters, by id. */
  vocab: string[];
  /** Optimizer steps taken. */
  step: number;
  /** The validation loss at `step`. */
  valLoss: number;
  /** Every evaluation so far. */
  history: EvalPoint[];
  /** How it was trained. */
  training: TrainSettings;
}

/** The checkpoint's metadata: each value a string (JSON for the structured ones). */
export function checkpointMetadata(info: CheckpointInfo): Record<string, string> {
  return {
    model: info.config.kind,
    vocab: JSON.stringify(info.vocab),
    config: JSON.stringify(info.config),
    steps: String(info.step),
    val_loss: info.valLoss.toFixed(6),
    val_perplexity: Math.exp(info.valLoss).toFixed(4),
    training: JSON.stringify(info.training),
    history: JSON.stringify(info.history),
  };
}

/**
 * Writes the model, the optimizer's state (under `optimizer.`) and the
 * metadata into one safetensors file at `path` (not atomically: pass a
 * temporary path and rename it).
 */
export async function saveCheckpoint(
  path: string,
  model: TextModel,
  opt: zn.optim.AdamW,
  info: CheckpointInfo,
): Promise<void> {
  const o = zn.optimizerStateToSafetensors(opt.stateDict(), { prefix: OPTIMIZER_PREFIX });
  await zn.save({ ...model.stateDict(), ...o.tensors }, path, {
    metadata: { ...checkpointMetadata(info), ...o.metadata },
  });
}

/** A checkpoint read back: the model on `device`, its information, and the optimizer's state. */
export interface LoadedCheckpoint {
  model: TextModel;
  info: CheckpointInfo;
  optimizerState: zn.optim.OptimizerStateDict | null;
}

/** A checkpoint file that is missing, unreadable or not the text job's. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** Reads a checkpoint saved by the training script; a CheckpointError says what is wrong. */
export async function loadCheckpoint(path: string, device = "cpu"): Promise<LoadedCheckpoint> {
  let meta: Record<string, string> | null;
  try {
    meta = await zn.loadMetadata(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`${path} does not exist; run \`deno task train:text\` first`);
    }
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
  const kind = meta?.model;
  if (!meta || (kind !== "gpt" && kind !== "lstm") || !meta.config || !meta.vocab) {
    throw new CheckpointError(
      `${path}: no model, config or vocab in its metadata; was it saved by \`deno task train:text\`?`,
    );
  }
  try {
    const info: CheckpointInfo = {
      config: JSON.parse(meta.config) as ModelConfig,
      vocab: JSON.parse(meta.vocab) as string[],
      step: Number(meta.steps ?? 0),
      valLoss: Number(meta.val_loss),
      history: JSON.parse(meta.history ?? "[]") as EvalPoint[],
      training: JSON.parse(meta.training ?? "{}") as TrainSettings,
    };
    info.config.kind = kind as ModelKind;
    const all = await zn.load(path, { device });
    const weights: Record<string, zn.Tensor> = {};
    for (const [name, t] of Object.entries(all)) {
      if (!name.startsWith(OPTIMIZER_PREFIX)) weights[name] = t;
    }
    const model = buildModel(info.config).to(device);
    model.loadStateDict(weights);
    const optimizerState = meta[`${OPTIMIZER_PREFIX}param_groups`] === undefined
      ? null
      : zn.optimizerStateFromSafetensors(all, meta, { prefix: OPTIMIZER_PREFIX });
    return { model, info, optimizerState };
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
}
