/**
 * Loads a model saved by train.ts into a fresh model and prints the same
 * test report from the same held-out split.
 *
 *   deno task eval [--model-file model.safetensors] [--device cpu|cuda]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zn from "../../mod.ts";
import { type Architecture, buildModel } from "./model.ts";
import { evaluate, loadSplits, report } from "./common.ts";
import { formatReport } from "./report.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    "model-file": { type: "string", default: "model.safetensors" },
    device: { type: "string", default: "cpu" },
  },
});
const device = flags.device!;
const path = flags["model-file"]!;
const meta = await zn.loadMetadata(path);
if (!meta?.architecture) {
  throw new Error(`${path}: no architecture in its metadata; was it saved by train.ts?`);
}
const arch = meta.architecture as Architecture;
const seed = Number(meta.seed ?? "0");
const limit = meta.limit ? Number(meta.limit) : undefined;
const model = buildModel(arch).to(device);
model.loadStateDict(await zn.load(path, { device }));
console.log(`loaded ${path}: ${arch}, trained ${meta.epochs} epochs, seed ${seed}`);
const { test } = await loadSplits(seed, limit);
const t = evaluate(model, test);
console.log("\n" + formatReport(report(t.pred, test.y)));
