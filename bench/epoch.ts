/**
 * The epoch workload that bench/compare_torch.ts times and
 * bench/process_side.ts measures the memory of.
 *
 * @module
 */
import * as zn from "../mod.ts";

/**
 * One epoch. With `tidy` each step runs in a `zn.tidy` scope, as in
 * examples/mnist/train.ts (its temporaries go back to the memory pool at its
 * end); without, the garbage collector frees them.
 */
export function epoch(
  model: zn.nn.Module,
  xs: zn.Tensor,
  ys: zn.Tensor,
  batch: number,
  tidy: boolean,
  amp = false,
): void {
  const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
  const region = { deviceType: "cpu", dtype: "bfloat16", enabled: amp } as const;
  const loader = new zn.data.DataLoader(new zn.data.TensorDataset(xs, ys), {
    batchSize: batch,
    shuffle: true,
  });
  for (const [xb, yb] of loader) {
    const step = () => {
      opt.zeroGrad();
      const logits = zn.autocast(region, () => model.call(xb));
      zn.nn.functional.crossEntropy(logits, yb).backward();
      opt.step();
    };
    if (tidy) zn.tidy(step);
    else step();
  }
}
