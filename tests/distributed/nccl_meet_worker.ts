// One rank of tests/distributed_nccl_test.ts's bootstrap jobs: NCCL's unique
// id made by rank 0 and handed to every rank, over MPI (under mpirun) or the
// TCP rendezvous (torchrun's variables), as initProcessGroup({ backend:
// "nccl" }) does before it needs a GPU. Prints the id's digest.
import { launchedByMpi, ncclMeet, torchrunEnv } from "../../src/distributed/process_group.ts";
import { ncclLoad } from "../../src/distributed/nccl_engine.ts";
import { mpi } from "../../src/distributed/mpi_engine.ts";

ncclLoad("nccl_meet_worker");
const byMpi = launchedByMpi();
const torchrun = byMpi ? null : torchrunEnv("nccl_meet_worker");
const { rank, size, id } = ncclMeet("nccl_meet_worker", 30, byMpi, torchrun);
let digest = 0;
for (const b of id) digest = (digest * 31 + b) >>> 0;
if (id.every((b) => b === 0)) throw new Error(`rank ${rank}: an id of zeros`);
console.log(`rank ${rank} of ${size}: id ${digest.toString(16)}`);
if (byMpi) mpi().zeno_mpi_finalize();
