/**
 * What training and evaluation share: the data split, the normalisation,
 * batched evaluation and the test report.
 *
 * @module
 */
import * as zn from "../../mod.ts";
import type { Report } from "./report.ts";

/** MNIST's mean and standard deviation, as the usual normalisation uses. */
export const MEAN = 0.1307;
/** MNIST's standard deviation. */
export const STD = 0.3081;

/** Images [N, 1, 28, 28] (normalised) and labels [N] of one split. */
export interface Split {
  x: zn.Tensor;
  y: zn.Tensor;
}

/**
 * The embedded digits split 70% train, 15% validation, 15% test from `seed`;
 * `limit` keeps only the first digits of each split (for quick runs).
 */
export async function loadSplits(
  seed: number,
  limit?: number,
): Promise<{ train: Split; val: Split; test: Split }> {
  const ds = await zn.data.mnist();
  const parts = zn.data.randomSplit(ds, [0.7, 0.15, 0.15], { generator: new zn.Generator(seed) });
  const [train, val, test] = parts.map((p) => {
    let idx = zn.tensor(p.indices as number[], { dtype: "int64" });
    if (limit !== undefined && limit < p.indices.length) idx = idx.narrow(0, 0, limit);
    const [images, labels] = ds.tensors;
    return {
      x: images.indexSelect(0, idx).sub(MEAN).div(STD),
      y: labels.indexSelect(0, idx),
    };
  });
  return { train, val, test };
}

/**
 * Loss and predictions (on the CPU) of `model` on a split, in batches,
 * without the tape; batches go to the model's device.
 */
export function evaluate(
  model: zn.nn.Module,
  s: Split,
  batchSize = 500,
): { loss: number; pred: zn.Tensor } {
  const device = model.parameters().next().value?.device ?? "cpu";
  return zn.noGrad(() => {
    const wasTraining = model.training;
    model.eval();
    let total = 0;
    const preds: zn.Tensor[] = [];
    const n = s.x.shape[0];
    for (let i = 0; i < n; i += batchSize) {
      const len = Math.min(batchSize, n - i);
      const [l, pred] = zn.tidy(() => {
        const logits = model.call(s.x.narrow(0, i, len).to(device)) as zn.Tensor;
        const loss = zn.nn.functional.crossEntropy(logits, s.y.narrow(0, i, len).to(device), {
          reduction: "sum",
        });
        return [loss.item() as number, logits.argmax(1).cpu()] as const;
      });
      total += l;
      preds.push(pred);
    }
    model.train(wasTraining);
    return { loss: total / n, pred: zn.cat(preds) };
  });
}

/** The test report from predictions and labels. */
export function report(pred: zn.Tensor, target: zn.Tensor): Report {
  const m = zn.metrics;
  const numClasses = 10;
  const per = m.classificationReport(pred, target, { numClasses });
  return {
    accuracy: m.accuracy(pred, target),
    perClass: per.classes,
    macro: per.macroAvg,
    confusion: m.confusionMatrix(pred, target, numClasses).toArray() as number[][],
  };
}

/**
 * Writes `path` by having `write` fill a temporary file in the same folder
 * and renaming that over `path`: readers see the old file or the whole new
 * one, never a part. The temporary file is removed if `write` fails.
 */
export async function writeAtomic(
  path: string,
  write: (tmp: string) => Promise<void>,
): Promise<void> {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const tmp = `${dir}.${path.slice(slash + 1)}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await write(tmp);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
