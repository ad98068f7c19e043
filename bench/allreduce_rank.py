"""One rank of bench/allreduce.ts: the same all-reduce loop as
bench/allreduce_rank.ts through mpi4py on the same Open MPI (float32 sum,
in place); rank 0 prints one JSON line of seconds per call."""
import json
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
sizes = [4096 * 4 ** i for i in range(9)]
out = {}
for nbytes in sizes:
    buf = np.ones(nbytes // 4, dtype=np.float32)
    calls = max(1, min(200, 2 ** 24 // nbytes))
    for _ in range(max(3, 50 * calls)):
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    samples = []
    for _ in range(7):
        comm.Barrier()
        t = time.perf_counter()
        for _ in range(calls):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        samples.append((time.perf_counter() - t) / calls)
    samples.sort()
    out[str(nbytes)] = samples[3]
if comm.Get_rank() == 0:
    print(json.dumps(out))
