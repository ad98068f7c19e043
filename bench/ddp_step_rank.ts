/**
 * One rank of the DDP overhead measurement: the digits CNN's training step
 * (batch `--batch` per rank, Adam) with gradient synchronisation against the
 * same step under `noSync` (no communication), alternating; rank 0 prints
 * the medians. Run: `deno task launch -n 2 bench/ddp_step_rank.ts`.
 *
 * @module
 */
import * as zn from "../mod.ts";
import { buildModel } from "../examples/mnist/model.ts";

const batch = Number(Deno.args[Deno.args.indexOf("--batch") + 1] || 32);
zn.distributed.initProcessGroup({ backend: "mpi" });
zn.manualSeed(0);
const net = buildModel("cnn");
const ddp = new zn.nn.parallel.DistributedDataParallel(net);
const opt = new zn.optim.Adam(ddp.parameters(), { lr: 1e-3 });
const x = zn.randn([batch, 1, 28, 28]);
const y = zn.randint(0, 10, [batch]);
const step = () =>
  zn.tidy(() => {
    opt.zeroGrad();
    zn.nn.functional.crossEntropy(ddp.call(x), y).backward();
    opt.step();
  });
const local = () => ddp.noSync(step);
for (let i = 0; i < 5; i++) {
  step();
  local();
}
const ts: number[] = [], tl: number[] = [];
for (let i = 0; i < 40; i++) {
  zn.distributed.barrier();
  let t = performance.now();
  step();
  ts.push(performance.now() - t);
  zn.distributed.barrier();
  t = performance.now();
  local();
  tl.push(performance.now() - t);
}
const med = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
const bytes = [...net.parameters()].reduce((s, p) => s + p.numel * 4, 0);
if (zn.distributed.getRank() === 0) {
  console.log(
    `ddp step, cnn, batch ${batch} per rank, ${zn.distributed.getWorldSize()} ranks, ${
      (bytes / 1024).toFixed(0)
    } KB of gradients: synchronised ${med(ts).toFixed(2)} ms, noSync ${
      med(tl).toFixed(2)
    } ms, overhead ${((med(ts) / med(tl) - 1) * 100).toFixed(1)}%`,
  );
}
zn.distributed.destroyProcessGroup();
