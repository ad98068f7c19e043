"""PyTorch side of bench/compare_torch.ts: times the same workloads on the CPU.

Usage: python3 bench/compare_torch.py THREADS  (prints JSON: name -> median seconds)
"""
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def median_time(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def reps_for(n_elems):
    return 5 if n_elems >= 1 << 22 else 21


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    work = json.load(open(os.path.join(HERE, "workloads.json")))
    out = {}
    g = torch.Generator().manual_seed(0)
    for n in work["matmul"]:
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        out[f"matmul {n}"] = median_time(lambda: a @ b, 5 if n >= 1024 else 11)
    for op in work["elementwise"]["ops"]:
        for n in work["elementwise"]["sizes"]:
            a = torch.randn(n, generator=g)
            b = torch.randn(n, generator=g)
            f = {"add": lambda: a + b, "mul": lambda: a * b, "exp": lambda: a.exp()}[op]
            out[f"{op} {n}"] = median_time(f, reps_for(n))
    for n in work["sum"]:
        a = torch.randn(n, generator=g)
        out[f"sum {n}"] = median_time(lambda: a.sum(), reps_for(n))
    for r, c in work["softmax"]:
        a = torch.randn(r, c, generator=g)
        out[f"softmax {r}x{c}"] = median_time(lambda: a.softmax(-1), reps_for(r * c))
    a1 = torch.randn(1)
    b1 = torch.randn(1)
    out["add 1 (overhead)"] = median_time(lambda: [a1 + b1 for _ in range(1000)], 11) / 1000
    print(json.dumps(out))


if __name__ == "__main__":
    main()
