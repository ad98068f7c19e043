/**
 * The main job: train a CNN (or an MLP) on the embedded MNIST digits,
 * report validation figures per epoch and a test report at the end, and
 * save the model as safetensors with the training curves as SVG.
 *
 *   deno task train [--epochs 8] [--batch-size 64] [--lr 0.001] [--model cnn|mlp]
 *                   [--seed 0] [--out model.safetensors] [--device cpu|cuda] [--limit N]
 *                   [--amp off|bf16|fp16]
 *   deno task train --help
 *
 * With `--amp bf16` (or `fp16`) the forward pass runs under `zn.autocast`:
 * convolutions and linear layers in the lower precision, the loss in
 * float32; parameters, gradients and Adam's state stay float32. `fp16` also
 * scales the loss with a `zn.amp.GradScaler`.
 *
 * With `--device cuda` the model lives on the GPU and each batch is copied
 * there; every step runs in `zn.tidy`, so device memory stays flat.
 *
 * @module
 */
import * as zn from "../../mod.ts";
import { Cli, DEVICE_FLAG } from "../cli_flags.ts";
import { type Architecture, buildModel } from "./model.ts";
import { evaluate, loadSplits, report, writeAtomic } from "./common.ts";
import { curvesSvg, type EpochStats, formatReport, Progress } from "./report.ts";

const cli = new Cli({
  name: "train",
  usage: "deno task train [flags]",
  summary: "Trains a model on the embedded MNIST digits and saves it with its training curves.",
  flags: {
    epochs: { type: "integer", min: 1, default: 8, description: "passes over the training split" },
    "batch-size": { type: "integer", min: 1, default: 64, description: "digits per step" },
    lr: { type: "number", above: 0, default: 0.001, description: "Adam's learning rate" },
    model: { choices: ["cnn", "mlp"], default: "cnn", description: "the architecture" },
    seed: { type: "integer", min: 0, default: 0, description: "seeds the split, init and order" },
    out: {
      default: "model.safetensors",
      metavar: "FILE",
      description: "the weights; the curves go beside it as <name>_curves.svg",
    },
    device: { ...DEVICE_FLAG, description: "where the model trains" },
    limit: {
      type: "integer",
      min: 1,
      description: "keeps only the first N digits of each split (quick runs)",
    },
    amp: {
      choices: ["off", "bf16", "fp16"],
      default: "off",
      description: "mixed precision: the forward pass autocast to bfloat16 or float16",
    },
  },
});
const flags = cli.parse();
const { epochs, "batch-size": batchSize, lr, seed, limit, device, out, amp } = flags;
const arch: Architecture = flags.model;
const svgPath = out.replace(/\.safetensors$/, "") + "_curves.svg";
cli.checkOutputFile("out", out);
cli.checkDevice(device);

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
const ampDType = amp === "bf16" ? "bfloat16" : amp === "fp16" ? "float16" : null;
const autocast = {
  deviceType: device.startsWith("cuda") ? "cuda" : "cpu",
  dtype: ampDType ?? undefined,
} as const;
// float16 gradients underflow without loss scaling; bfloat16 has float32's range.
const scaler = new zn.amp.GradScaler({ enabled: amp === "fp16" });
if (ampDType) {
  console.log(`mixed precision: forward in ${ampDType} (zn.autocast), float32 parameters`);
}
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
      const logits = zn.autocast({ ...autocast, enabled: ampDType !== null }, () => model.call(x));
      const loss = zn.nn.functional.crossEntropy(logits, y);
      scaler.scale(loss).backward();
      scaler.step(opt);
      scaler.update();
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

console.log();
const sd = model.stateDict();
const metadata = {
  architecture: arch,
  epochs: String(epochs),
  amp,
  seed: String(seed),
  limit: limit === undefined ? "" : String(limit),
  test_accuracy: r.accuracy.toFixed(6),
};
// Each file is written beside its final name and then renamed over it, so
// that an interrupted run never leaves a truncated file.
for (const path of [out, svgPath]) {
  if (await exists(path)) console.log(`overwriting ${path}`);
}
await writeAtomic(out, (tmp) => zn.save(sd, tmp, { metadata })); // CUDA tensors are copied to the host
await writeAtomic(svgPath, (tmp) => Deno.writeTextFile(tmp, curvesSvg(history)));
console.log(`saved ${out} and ${svgPath}`);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
