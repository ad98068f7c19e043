// One rank of tests/distributed_nccl_test.ts's rendezvous jobs: reads
// torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), meets the
// other ranks, and prints the payload it ends with (rank 0 hands out its own:
// the bytes 0..127 shifted by the value of the first argument).
import { torchrunEnv } from "../../src/distributed/process_group.ts";
import { NCCL_ID_BYTES, rendezvous } from "../../src/distributed/nccl_engine.ts";

const where = torchrunEnv("rendezvous_worker");
if (!where || where.host === undefined || where.port === undefined) {
  throw new Error("rendezvous_worker: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT must be set");
}
const shift = Number(Deno.args[0] ?? "0");
const timeout = Number(Deno.args[1] ?? "30");
const payload = new Uint8Array(NCCL_ID_BYTES);
if (where.rank === 0) payload.forEach((_, i) => (payload[i] = (i + shift) & 255));
rendezvous("rendezvous_worker", {
  host: where.host,
  port: where.port,
  rank: where.rank,
  size: where.size,
  timeout,
}, payload);
console.log(`rank ${where.rank}: ${Array.from(payload.subarray(0, 8)).join(",")}`);
