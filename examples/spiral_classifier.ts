/**
 * A classifier on a synthetic two-spirals dataset: an MLP built from
 * `zn.nn` layers, cross-entropy loss, Adam with a cosine schedule.
 *
 *   deno run --allow-ffi --allow-read --allow-env examples/spiral_classifier.ts [--device cuda]
 *
 * @module
 */
import * as zn from "../mod.ts";
import { Cli, DEVICE_FLAG } from "./cli_flags.ts";

const cli = new Cli({
  name: "spiral_classifier",
  usage: "deno run --allow-ffi --allow-read --allow-env examples/spiral_classifier.ts [flags]",
  summary: "Trains an MLP to tell two interleaved spirals apart.",
  flags: { device: { ...DEVICE_FLAG, description: "where the model trains" } },
});
const { device } = cli.parse();
cli.checkDevice(device);

zn.manualSeed(0);

/** Two interleaved spirals, `n` points each, with a little noise. */
function spirals(n: number): { x: zn.Tensor; y: zn.Tensor } {
  const t = zn.linspace(0.25, 3 * Math.PI, n).to("float64");
  const r = t.div(3 * Math.PI);
  const arm = (sign: number) =>
    zn.stack([r.mul(t.cos()).mul(sign), r.mul(t.sin()).mul(sign)], 1)
      .add(zn.randn([n, 2], { dtype: "float64" }).mul(0.02));
  const x = zn.cat([arm(1), arm(-1)]).to("float32");
  const y = zn.cat([zn.zeros([n], { dtype: "int64" }), zn.ones([n], { dtype: "int64" })]);
  return { x, y };
}

const data = spirals(200);
const x = data.x.to(device), y = data.y.to(device);
const model = new zn.nn.Sequential(
  new zn.nn.Linear(2, 64),
  new zn.nn.Tanh(),
  new zn.nn.Linear(64, 64),
  new zn.nn.Tanh(),
  new zn.nn.Linear(64, 2),
).to(device);
const epochs = 400;
const opt = new zn.optim.Adam(model.parameters(), { lr: 0.02 });
const sched = new zn.optim.lrScheduler.CosineAnnealingLR(opt, { tMax: epochs });
const lossFn = new zn.nn.CrossEntropyLoss();

for (let epoch = 1; epoch <= epochs; epoch++) {
  // Each epoch in a scope: its temporaries are released at its end (device memory stays flat).
  zn.tidy(() => {
    opt.zeroGrad();
    const logits = model.call(x);
    const loss = lossFn.call(logits, y);
    loss.backward();
    opt.step();
    sched.step();
    if (epoch % 100 === 0) {
      const acc = logits.argmax(1).eq(y).to("float32").mean().item() as number;
      console.log(
        `epoch ${epoch}: loss ${(loss.item() as number).toFixed(4)}, accuracy ${
          (acc * 100).toFixed(1)
        }%`,
      );
    }
  });
}
