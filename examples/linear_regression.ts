/**
 * Linear regression with autograd and an optimizer: fit y = 3 x0 - 2 x1 + 0.5.
 *
 *   deno run --allow-ffi --allow-read --allow-env examples/linear_regression.ts [--device cuda]
 *
 * @module
 */
import * as zn from "../mod.ts";
import { Cli, DEVICE_FLAG } from "./cli_flags.ts";

const cli = new Cli({
  name: "linear_regression",
  usage: "deno run --allow-ffi --allow-read --allow-env examples/linear_regression.ts [flags]",
  summary: "Fits y = 3 x0 - 2 x1 + 0.5 with autograd and SGD.",
  flags: { device: { ...DEVICE_FLAG, description: "where the tensors live" } },
});
const { device } = cli.parse();
cli.checkDevice(device);

zn.manualSeed(0);
const n = 512;
const x = zn.randn([n, 2], { device });
const trueW = zn.tensor([[3], [-2]], { dtype: "float32", device });
const y = x.matmul(trueW).add(0.5).add(zn.randn([n, 1], { device }).mul(0.05));

const w = zn.zeros([2, 1], { requiresGrad: true, device });
const b = zn.zeros([1], { requiresGrad: true, device });
const opt = new zn.optim.SGD([w, b], { lr: 0.1, momentum: 0.9 });

for (let epoch = 1; epoch <= 50; epoch++) {
  // zn.tidy releases each step's temporaries (what matters on a GPU).
  zn.tidy(() => {
    opt.zeroGrad();
    const loss = x.matmul(w).add(b).sub(y).square().mean();
    loss.backward();
    opt.step();
    if (epoch % 10 === 0) console.log(`epoch ${epoch}: loss ${(loss.item() as number).toFixed(5)}`);
  });
}
console.log("w =", w.flatten().toArray(), "b =", b.toArray(), "(true: [3, -2], 0.5)");
