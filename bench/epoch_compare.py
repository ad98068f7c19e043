"""PyTorch side of bench/epoch_compare.ts: one training epoch of the main job's
CNN and of the MLP (784-128-10) with Adam, batch 64, on 7,000 random images.

Usage: python3 bench/epoch_compare.py THREADS  (prints JSON: model -> seconds)
"""
import json
import sys
import time

import torch
import torch.nn as nn


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
    t = time.perf_counter()
    for i in range(0, x.shape[0], batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main():
    torch.set_num_threads(int(sys.argv[1]))
    torch.manual_seed(0)
    x = torch.rand(7000, 1, 28, 28)
    y = torch.randint(0, 10, (7000,))
    out = {}
    for name, m in models().items():
        epoch(m, x[:640], y[:640], 64)  # warm-up
        times = sorted(epoch(m, x, y, 64) for _ in range(3))
        out[name] = times[1]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
