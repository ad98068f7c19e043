"""PyTorch's version of `deno task train` with its default flags, for the
peak-memory row of bench/compare_torch.ts: the same 10,000 digits (the npm
package's JSON files, parsed with the standard library), normalised the same
way and split 70/15/15, the same CNN, Adam (lr 0.001), batches of 64 in a
shuffled order, 8 epochs with a validation pass after each, a test pass, and
the weights saved.

    python3 bench/train_torch.py DIGITS_DIR OUT_FILE [EPOCHS]
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

digits_dir, out = sys.argv[1], sys.argv[2]
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 8
MEAN, STD = 0.1307, 0.3081

torch.manual_seed(0)
parts, labels = [], []
for d in range(10):
    with open(os.path.join(digits_dir, f"{d}.json")) as f:
        data = torch.tensor(json.load(f)["data"], dtype=torch.float32)
    parts.append(data.view(-1, 1, 28, 28))
    labels.append(torch.full((parts[-1].shape[0],), d, dtype=torch.int64))
images = (torch.cat(parts) - MEAN) / STD
targets = torch.cat(labels)
n = images.shape[0]
perm = torch.randperm(n)
a, b = int(n * 0.7), int(n * 0.85)
split = {"train": perm[:a], "val": perm[a:b], "test": perm[b:]}
train_x, train_y = images[split["train"]], targets[split["train"]]

model = nn.Sequential(
    nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=0.001)


def evaluate(idx):
    model.eval()
    loss, right = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(idx), 500):
            x, y = images[idx[i : i + 500]], targets[idx[i : i + 500]]
            logits = model(x)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            right += (logits.argmax(1) == y).sum().item()
    model.train()
    return loss / len(idx), right / len(idx)


for epoch in range(epochs):
    order = torch.randperm(train_x.shape[0])
    for i in range(0, len(order), 64):
        x, y = train_x[order[i : i + 64]], train_y[order[i : i + 64]]
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        loss.item(), (logits.argmax(1) == y).sum().item()
    evaluate(split["val"])
print("test accuracy", evaluate(split["test"])[1])
torch.save(model.state_dict(), out)
