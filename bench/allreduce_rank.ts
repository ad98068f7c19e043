/**
 * One rank of bench/allreduce.ts: times `zn.distributed.allReduce` (float32
 * sum, in place) at sizes from 4 KB to 256 MB; rank 0 prints one JSON line
 * of seconds per call. Run it through `deno task bench:allreduce`.
 *
 * @module
 */
import * as zn from "../mod.ts";
import { SIZES, timeCalls } from "./allreduce_sizes.ts";

zn.distributed.initProcessGroup({ backend: "mpi" });
const out: Record<string, number> = {};
for (const bytes of SIZES) {
  const t = zn.ones([bytes / 4]);
  out[bytes] = timeCalls(() => zn.distributed.allReduce(t), () => zn.distributed.barrier(), bytes);
  t.dispose();
}
if (zn.distributed.getRank() === 0) console.log(JSON.stringify(out));
zn.distributed.destroyProcessGroup();
