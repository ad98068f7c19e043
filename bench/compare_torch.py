"""PyTorch side of bench/compare_torch.ts: times the same workloads on the CPU.

Usage: python3 bench/compare_torch.py THREADS REPS  (prints JSON: name -> median seconds)
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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


def models():
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return {"cnn": cnn, "mlp": mlp}


def epoch(model, x, y, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def main():
    threads = int(sys.argv[1])
    reps = int(sys.argv[2])
    torch.set_num_threads(threads)
    work = json.load(open(os.path.join(HERE, "workloads.json")))
    out = {}
    g = torch.Generator().manual_seed(0)
    for m, k, n in work["matmul"]:
        a = torch.randn(m, k, generator=g)
        b = torch.randn(k, n, generator=g)
        out[f"matmul {m}x{k}x{n}"] = median_time(lambda: a @ b, reps)
    for name, c in work["conv"].items():
        x = torch.randn(*c["x"], generator=g, requires_grad=True)
        w = torch.randn(*c["w"], generator=g, requires_grad=True)
        b = torch.randn(c["w"][0], generator=g, requires_grad=True)

        def step():
            y = F.conv2d(x, w, b, padding=c["padding"])
            y.backward(torch.ones_like(y))
            x.grad = w.grad = b.grad = None

        out[f"conv {name} fwd+bwd"] = median_time(step, reps)
    for op in work["elementwise"]["ops"]:
        for n in work["elementwise"]["sizes"]:
            a = torch.randn(n, generator=g)
            b = torch.randn(n, generator=g)
            f = {"add": lambda: a + b, "mul": lambda: a * b, "exp": lambda: a.exp()}[op]
            out[f"{op} {n}"] = median_time(f, max(reps, 11))
    for n in work["sum"]:
        a = torch.randn(n, generator=g)
        out[f"sum {n}"] = median_time(lambda: a.sum(), max(reps, 11))
    for r, c in work["softmax"]:
        a = torch.randn(r, c, generator=g)
        out[f"softmax {r}x{c}"] = median_time(lambda: a.softmax(-1), max(reps, 11))
    a1 = torch.randn(1)
    b1 = torch.randn(1)

    def adds(n):
        for _ in range(n):
            a1 + b1

    adds(50_000)
    out["overhead add 1 element"] = median_time(lambda: adds(10_000), 11) / 10_000
    x = torch.randn(2, 2, requires_grad=True)

    def steps(n):
        for _ in range(n):
            (x * x + x).sum().backward()
            x.grad = None

    steps(5_000)
    out["overhead 3 ops fwd+bwd"] = median_time(lambda: steps(1_000), 11) / 1_000
    e = work["epoch"]
    torch.manual_seed(0)
    xs = torch.rand(e["images"], 1, 28, 28)
    ys = torch.randint(0, 10, (e["images"],))
    for name, m in models().items():
        epoch(m, xs[:640], ys[:640], e["batch"])  # warm-up
        out[f"epoch {name}"] = median_time(lambda: epoch(m, xs, ys, e["batch"]), reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
