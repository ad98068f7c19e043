/**
 * The main job: train a CNN (or an MLP) on the embedded MNIST digits,
 * report validation figures per epoch and a test report at the end, and
 * save the model as safetensors with the training curves as SVG.
 *
 *   deno task train [--epochs 8] [--batch-size 64] [--lr 0.001] [--model cnn|mlp]
 *                   [--seed 0] [--out model.safetensors] [--device cpu|cuda] [--limit N]
 *
 * With `--device cuda` the model lives on the GPU and each batch is copied
 * there; every step runs in `zn.tidy`, so device memory stays flat.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zn from "../../mod.ts";
import { type Architecture, buildModel } from "./model.ts";
import { evaluate, loadSplits, report } from "./common.ts";
import { curvesSvg, type EpochStats, formatReport, Progress } from "./report.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "8" },
    "batch-size": { type: "string", default: "64" },
    lr: { type: "string", default: "0.001" },
    model: { type: "string", default: "cnn" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "model.safetensors" },
    device: { type: "string", default: "cpu" },
    limit: { type: "string" },
  },
});
const epochs = Number(flags.epochs), batchSize = Number(flags["batch-size"]), lr = Number(flags.lr);
const seed = Number(flags.seed), arch = flags.model as Architecture;
const limit = flags.limit === undefined ? undefined : Number(flags.limit);
for (const [name, v] of [["epochs", epochs], ["batch-size", batchSize], ["seed", seed]] as const) {
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`--${name} must be a non-negative integer`);
  }
}
if (!(lr > 0)) throw new RangeError("--lr must be positive");
const device = flags.device!;
if (device !== "cpu" && !zn.cuda.isAvailable()) {
  throw new Error(`--device ${device}: CUDA is not available: ${zn.cuda.unavailableReason()}`);
}

zn.manualSeed(seed);
const t0 = performance.now();
const { train, val, test } = await loadSplits(seed, limit);
console.log(
  `data: ${train.x.shape[0]} train, ${val.x.shape[0]} validation, ${test.x.shape[0]} test digits ` +
    `(loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);

const model = buildModel(arch).to(device);
console.log(
  `model: ${arch}, ${model.numParameters()} parameters; Adam lr ${lr}, batch ${batchSize}; device ${
    model.parameters().next().value!.device
  }`,
);
const opt = new zn.optim.Adam(model.parameters(), { lr });
const loader = new zn.data.DataLoader(new zn.data.TensorDataset(train.x, train.y), {
  batchSize,
  shuffle: true,
  generator: new zn.Generator(seed),
});

const history: EpochStats[] = [];
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  const start = performance.now();
  const bar = new Progress(`epoch ${epoch}/${epochs}`, loader.length);
  let lossSum = 0, correct = 0, seen = 0, step = 0;
  for (const [xb, yb] of loader) {
    // One step in a scope: its temporaries (device memory included) are released at its end.
    const [l, right] = zn.tidy(() => {
      const x = xb.to(device), y = yb.to(device);
      opt.zeroGrad();
      const logits = model.call(x);
      const loss = zn.nn.functional.crossEntropy(logits, y);
      loss.backward();
      opt.step();
      return [loss.item() as number, logits.argmax(1).eq(y).sum().item() as number];
    });
    const n = yb.shape[0];
    lossSum += l * n;
    correct += right;
    seen += n;
    bar.update(++step, l);
  }
  bar.finish();
  const secs = (performance.now() - start) / 1000;
  const v = evaluate(model, val);
  const valAcc = zn.metrics.accuracy(v.pred, val.y);
  const stats = { trainLoss: lossSum / seen, trainAcc: correct / seen, valLoss: v.loss, valAcc };
  history.push(stats);
  console.log(
    `epoch ${epoch}/${epochs}: train loss ${stats.trainLoss.toFixed(4)} acc ${
      (stats.trainAcc * 100).toFixed(2)
    }% | ` +
      `val loss ${stats.valLoss.toFixed(4)} acc ${(stats.valAcc * 100).toFixed(2)}% | ${
        secs.toFixed(1)
      } s`,
  );
}

const t = evaluate(model, test);
const r = report(t.pred, test.y);
console.log("\n" + formatReport(r));

const out = flags.out!;
await zn.save(model.stateDict(), out, { // CUDA tensors are copied to the host
  metadata: {
    architecture: arch,
    epochs: String(epochs),
    seed: String(seed),
    limit: limit === undefined ? "" : String(limit),
    test_accuracy: r.accuracy.toFixed(6),
  },
});
const svgPath = out.replace(/\.safetensors$/, "") + "_curves.svg";
await Deno.writeTextFile(svgPath, curvesSvg(history));
console.log(`\nsaved ${out} and ${svgPath}`);
