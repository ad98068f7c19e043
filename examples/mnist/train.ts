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
 * Data-parallel on N processes: `deno task launch -n N examples/mnist/train.ts
 * [flags]`. Every rank draws the same shuffled global batches of
 * `--batch-size` digits and trains on its own slice of each, in a
 * `zn.nn.parallel.DistributedDataParallel` that averages the gradients; rank
 * 0 reports and writes the files.
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

// Under an MPI launcher: one rank of a data-parallel job.
const parallel = zn.distributed.launchedByMpi();
if (parallel) zn.distributed.initProcessGroup({ backend: "mpi" });
const rank = parallel ? zn.distributed.getRank() : 0;
const world = parallel ? zn.distributed.getWorldSize() : 1;
if (batchSize < world) cli.fail(`--batch-size ${batchSize} is smaller than the ${world} ranks`);
if (parallel && device !== "cpu") {
  cli.fail(`the data-parallel job runs on the CPU (the "mpi" backend); got --device ${device}`);
}
const lead = rank === 0;
// Only rank 0 speaks.
const log = (msg: string) => {
  if (lead) console.log(msg);
};

zn.manualSeed(seed);
const t0 = performance.now();
const { train, val, test } = await loadSplits(seed, limit);
log(
  `data: ${train.x.shape[0]} train, ${val.x.shape[0]} validation, ${test.x.shape[0]} test digits ` +
    `(loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);

const net = buildModel(arch).to(device);
// Rank 0's initial weights go to every rank; gradients are averaged over ranks.
const model = parallel ? new zn.nn.parallel.DistributedDataParallel(net) : net;
log(
  `model: ${arch}, ${net.numParameters()} parameters; Adam lr ${lr}, batch ${batchSize}; device ${
    net.parameters().next().value!.device
  }` + (parallel
    ? `; data-parallel over ${world} ranks (${Math.ceil(batchSize / world)} digits each per step)`
    : ""),
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
  log(`mixed precision: forward in ${ampDType} (zn.autocast), float32 parameters`);
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
  const bar = lead ? new Progress(`epoch ${epoch}/${epochs}`, loader.length) : null;
  let lossSum = 0, correct = 0, seen = 0, step = 0;
  for (const [xb, yb] of loader) {
    // One step in a scope: its temporaries (device memory included) are released at its end.
    // This rank's slice of the global batch.
    const rows = yb.shape[0];
    const lo = Math.floor(rows * rank / world), hi = Math.floor(rows * (rank + 1) / world);
    const [l, right] = zn.tidy(() => {
      const x = xb.narrow(0, lo, hi - lo).to(device), y = yb.narrow(0, lo, hi - lo).to(device);
      opt.zeroGrad();
      const logits = zn.autocast({ ...autocast, enabled: ampDType !== null }, () => model.call(x));
      const loss = zn.nn.functional.crossEntropy(logits, y);
      scaler.scale(loss).backward();
      scaler.step(opt);
      scaler.update();
      return [loss.item() as number, logits.argmax(1).eq(y).sum().item() as number];
    });
    const n = hi - lo;
    lossSum += l * n;
    correct += right;
    seen += n;
    bar?.update(++step, l);
  }
  bar?.finish();
  if (parallel) {
    // The epoch's figures over every rank's slices.
    const totals = zn.tensor([lossSum, correct, seen], { dtype: "float64" });
    zn.distributed.allReduce(totals);
    [lossSum, correct, seen] = totals.toArray() as number[];
  }
  const secs = (performance.now() - start) / 1000;
  if (!lead) continue;
  const v = evaluate(net, val);
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

if (!lead) {
  zn.distributed.destroyProcessGroup();
  Deno.exit(0);
}
const t = evaluate(net, test);
const r = report(t.pred, test.y);
console.log("\n" + formatReport(r));

console.log();
// The plain module's state dict: the same keys with or without data parallelism.
const sd = net.stateDict();
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
if (parallel) zn.distributed.destroyProcessGroup();

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
