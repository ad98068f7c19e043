"""PyTorch side of bench/compare_torch.ts: times the same workloads on the CPU.

Runs as a server so that the two sides take turns: each line on stdin is a
JSON command, each answer one JSON line on stdout.

  {"threads": T}                    torch.set_num_threads(T); answers {"ok": true}
  {"warm": NAME, "seconds": S, "min": M}
                                    runs NAME until S seconds have passed (at least M
                                    calls); answers {"calls_for": C}, the calls per
                                    sample that make one sample last about 2 ms
  {"sample": NAME, "calls": C, "lead": L}
                                    calls NAME for L seconds untimed, then times C
                                    back-to-back calls; answers {"seconds": per call}

Usage: python3 bench/compare_torch.py  (started by compare_torch.ts)
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def models():
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return {"cnn": cnn, "mlp": mlp}


def epoch(model, x, y, batch, amp=False):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        loss.backward()
        opt.step()


def workloads():
    """name -> a function that builds the workload's inputs and returns the call."""
    work = json.load(open(os.path.join(HERE, "workloads.json")))
    g = torch.Generator().manual_seed(0)
    out = {}

    def matmul(m, k, n):
        def make():
            a = torch.randn(m, k, generator=g)
            b = torch.randn(k, n, generator=g)
            return lambda: a @ b
        return make

    for m, k, n in work["matmul"]:
        out[f"matmul {m}x{k}x{n}"] = matmul(m, k, n)

    def matmul_bf16(m, k, n):
        def make():
            a = torch.randn(m, k, generator=g).bfloat16()
            b = torch.randn(k, n, generator=g).bfloat16()
            return lambda: a @ b
        return make

    for m, k, n in work["matmul"]:
        if 512 <= m <= 2048:
            out[f"matmul {m}x{k}x{n} (bfloat16)"] = matmul_bf16(m, k, n)

    def conv(c, dtype=torch.float32):
        def make():
            def leaf(*shape):
                return torch.randn(*shape, generator=g).to(dtype).requires_grad_(True)
            x, w, b = leaf(*c["x"]), leaf(*c["w"]), leaf(c["w"][0])

            def step():
                y = F.conv2d(x, w, b, padding=c["padding"])
                y.backward(torch.ones_like(y))
                x.grad = w.grad = b.grad = None
            return step
        return make

    for name, c in work["conv"].items():
        out[f"conv {name} fwd+bwd"] = conv(c)
        if name.startswith("cnn"):
            out[f"conv {name} fwd+bwd (bfloat16)"] = conv(c, torch.bfloat16)

    def elementwise(op, n):
        def make():
            a = torch.randn(n, generator=g)
            b = torch.randn(n, generator=g)
            return {"add": lambda: a + b, "mul": lambda: a * b, "exp": lambda: a.exp()}[op]
        return make

    for op in work["elementwise"]["ops"]:
        for n in work["elementwise"]["sizes"]:
            out[f"{op} {n}"] = elementwise(op, n)

    def total(n):
        def make():
            a = torch.randn(n, generator=g)
            return lambda: a.sum()
        return make

    for n in work["sum"]:
        out[f"sum {n}"] = total(n)

    def softmax(r, c):
        def make():
            a = torch.randn(r, c, generator=g)
            return lambda: a.softmax(-1)
        return make

    for r, c in work["softmax"]:
        out[f"softmax {r}x{c}"] = softmax(r, c)

    def sum_bf16(n):
        def make():
            a = torch.randn(n, generator=g).bfloat16()
            return lambda: a.sum()
        return make

    def softmax_bf16(r, c):
        def make():
            a = torch.randn(r, c, generator=g).bfloat16()
            return lambda: a.softmax(-1)
        return make

    for n in work["sum"]:
        out[f"sum {n} (bfloat16)"] = sum_bf16(n)
    for r, c in work["softmax"]:
        out[f"softmax {r}x{c} (bfloat16)"] = softmax_bf16(r, c)

    def softmax_step(r, c, dtype):
        def make():
            a = torch.randn(r, c, generator=g).to(dtype).requires_grad_(True)
            gr = torch.randn(r, c, generator=g).to(dtype)

            def step():
                a.softmax(-1).backward(gr)
                a.grad = None
            return step
        return make

    r, c = work["softmax"][-1]
    out[f"softmax {r}x{c} fwd+bwd"] = softmax_step(r, c, torch.float32)
    out[f"softmax {r}x{c} fwd+bwd (bfloat16)"] = softmax_step(r, c, torch.bfloat16)

    def softmax_dim0(r, c, dtype, backward):
        def make():
            a = torch.randn(c, r, generator=g).to(dtype).requires_grad_(backward)
            gr = torch.randn(c, r, generator=g).to(dtype)

            def step():
                if backward:
                    a.softmax(0).backward(gr)
                    a.grad = None
                else:
                    a.softmax(0)
            return step
        return make

    for dtype, tag in ((torch.float32, ""), (torch.bfloat16, " (bfloat16)")):
        out[f"softmax dim 0 {c}x{r}{tag}"] = softmax_dim0(r, c, dtype, False)
        out[f"softmax dim 0 {c}x{r} fwd+bwd{tag}"] = softmax_dim0(r, c, dtype, True)

    def rows(f):
        def make():
            a = torch.randn(*work["rows"], generator=g)
            return lambda: f(a)
        return make

    r, c = work["rows"]
    out[f"gelu {r}x{c}"] = rows(F.gelu)
    out[f"bias grad {r}x{c} (sum dim 0)"] = rows(lambda a: a.sum(0))

    def norm_step(f, shapes, dtype):
        """f(*leaves) -> y; each step runs y.backward(ones) and clears the grads."""
        def make():
            leaves = [torch.randn(*s, generator=g).to(dtype).requires_grad_(True) for s in shapes]

            def step():
                y = f(*leaves)
                y.backward(torch.ones_like(y))
                for t in leaves:
                    t.grad = None
            return step
        return make

    r, d = work["norm"]["layer"]
    shape = work["norm"]["batch"]
    c = shape[1]
    for dtype in (torch.float32, torch.bfloat16):
        tag = "" if dtype == torch.float32 else " (bfloat16)"
        rm, rv = torch.zeros(c, dtype=dtype), torch.ones(c, dtype=dtype)
        out[f"layerNorm {r}x{d} fwd+bwd{tag}"] = norm_step(
            lambda x, w, b: F.layer_norm(x, [d], w, b), [[r, d], [d], [d]], dtype)
        out[f"rmsNorm {r}x{d} fwd+bwd{tag}"] = norm_step(
            lambda x, w: F.rms_norm(x, [d], w), [[r, d], [d]], dtype)
        out["batchNorm " + "x".join(map(str, shape)) + f" fwd+bwd{tag}"] = norm_step(
            lambda x, w, b, rm=rm, rv=rv: F.batch_norm(x, rm, rv, w, b, training=True), [shape, [c], [c]], dtype)
        out["groupNorm " + "x".join(map(str, shape)) + f" (8 groups) fwd+bwd{tag}"] = norm_step(
            lambda x, w, b: F.group_norm(x, 8, w, b), [shape, [c], [c]], dtype)

    def add1():
        a1 = torch.randn(1)
        b1 = torch.randn(1)
        return lambda: a1 + b1

    out["overhead add 1 element"] = add1

    def three_ops():
        x = torch.randn(2, 2, requires_grad=True)

        def step():
            (x * x + x).sum().backward()
            x.grad = None
        return step

    out["overhead 3 ops fwd+bwd"] = three_ops
    b, t, i, h = work["sequence"]["rnn"]

    def rnn(kind):
        def make():
            m = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(i, h)
            x = torch.randn(t, b, i, generator=g, requires_grad=True)

            def step():
                y, _ = m(x)
                y.sum().backward()
                x.grad = None
                for p in m.parameters():
                    p.grad = None
            return step
        return make

    for kind in ("LSTM", "GRU"):
        out[f"{kind} layer b{b} t{t} h{h} fwd+bwd"] = rnn(kind)

    def lstm_cell_loop():
        # compare_torch.ts's row: the LSTM cell written from ops.
        x = torch.randn(t, b, i, generator=g)
        wx = (torch.randn(i, 4 * h, generator=g) * 0.05).requires_grad_(True)
        wh = (torch.randn(h, 4 * h, generator=g) * 0.05).requires_grad_(True)
        bias = torch.zeros(4 * h, requires_grad=True)

        def step():
            hs, cs = torch.zeros(b, h), torch.zeros(b, h)
            for s in range(t):
                gates = x[s] @ wx + hs @ wh + bias
                ig, fg = gates[:, :h].sigmoid(), gates[:, h:2 * h].sigmoid()
                gg, og = gates[:, 2 * h:3 * h].tanh(), gates[:, 3 * h:].sigmoid()
                cs = fg * cs + ig * gg
                hs = og * cs.tanh()
            hs.sum().backward()
            wx.grad = wh.grad = bias.grad = None
        return step

    out[f"lstm cell loop b{b} t{t} h{h} fwd+bwd"] = lstm_cell_loop
    sb, heads, length, dim = work["sequence"]["sdpa"]

    def sdpa(dtype):
        def make():
            q, k, v = (torch.randn(sb, heads, length, dim, generator=g).to(dtype).requires_grad_(True)
                       for _ in range(3))

            def step():
                F.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
                q.grad = k.grad = v.grad = None
            return step
        return make

    out[f"sdpa causal b{sb} h{heads} t{length} d{dim} fwd+bwd"] = sdpa(torch.float32)
    out[f"sdpa causal b{sb} h{heads} t{length} d{dim} fwd+bwd (bfloat16)"] = sdpa(torch.bfloat16)
    gc = work["sequence"]["gpt"]

    class Block(torch.nn.Module):
        # examples/text/model.ts's block: pre-norm, fused qkv, causal SDPA, GELU MLP.
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.ln1 = torch.nn.LayerNorm(d)
            self.qkv = torch.nn.Linear(d, 3 * d)
            self.proj = torch.nn.Linear(d, d)
            self.ln2 = torch.nn.LayerNorm(d)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))

        def forward(self, x):
            B, T, C = x.shape
            qkv = self.qkv(self.ln1(x)).reshape(B, T, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp(self.ln2(x))

    class GPT(torch.nn.Module):
        def __init__(self, v, block, d, h, layers):
            super().__init__()
            self.tok = torch.nn.Embedding(v, d)
            self.pos = torch.nn.Embedding(block, d)
            self.blocks = torch.nn.ModuleList([Block(d, h) for _ in range(layers)])
            self.ln = torch.nn.LayerNorm(d)
            self.head = torch.nn.Linear(d, v, bias=False)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln(x))

    def gpt():
        model = GPT(gc["vocab"], gc["block"], gc["dim"], gc["heads"], gc["layers"])
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        ids = torch.randint(0, gc["vocab"], (gc["batch"], gc["block"] + 1), generator=g)
        x, y = ids[:, :-1], ids[:, 1:]

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x).reshape(-1, gc["vocab"]), y.reshape(-1)).backward()
            opt.step()
        return step

    out[f"gpt step l{gc['layers']} d{gc['dim']} t{gc['block']} b{gc['batch']}"] = gpt
    tx = work["sequence"]["text"]

    class CharLSTM(torch.nn.Module):
        # examples/text/model.ts's LSTMModel: embedding, batch-first LSTM, linear head.
        def __init__(self, v, d, hidden, layers):
            super().__init__()
            self.emb = torch.nn.Embedding(v, d)
            self.lstm = torch.nn.LSTM(d, hidden, num_layers=layers, batch_first=True)
            self.head = torch.nn.Linear(hidden, v)

        def forward(self, ids):
            return self.head(self.lstm(self.emb(ids))[0])

    def text_job(kind):
        def make():
            # The text job's corpus: the shipped text, its characters sorted, 90% for training.
            with open(os.path.join(HERE, "..", "examples", "text", "data", "shakespeare.txt"), encoding="utf-8") as f:
                text = f.read()
            chars = sorted(set(text))
            index = {c: i for i, c in enumerate(chars)}
            ids = torch.tensor([index[c] for c in text], dtype=torch.int64)
            train_ids = ids[: len(ids) - round(len(ids) * 0.1)]
            v, block, batch = len(chars), tx["block"], tx["batch"]
            if kind == "gpt":
                c = tx["gpt"]
                model = GPT(v, block, c["dim"], c["heads"], c["layers"])
            else:
                c = tx["lstm"]
                model = CharLSTM(v, c["dim"], c["hidden"], c["layers"])
            opt = torch.optim.AdamW(model.parameters(), lr=tx["lr"], betas=(0.9, 0.99), weight_decay=0.01)
            model.train()
            starts = torch.arange(block + 1)

            def run():
                for _ in range(tx["steps"]):
                    # Random windows of block + 1 tokens: inputs and next-token targets.
                    at = torch.randint(0, len(train_ids) - block - 1, (batch, 1), generator=g)
                    w = train_ids[at + starts]
                    x, y = w[:, :-1], w[:, 1:]
                    opt.zero_grad()
                    loss = F.cross_entropy(model(x).reshape(-1, v), y.reshape(-1))
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    opt.step()
                    loss.item()
            return run
        return make

    for kind in ("gpt", "lstm"):
        out[f"text job {kind} {tx['steps']} steps"] = text_job(kind)
    e = work["epoch"]
    data = {}

    def train(name, amp=False):
        def make():
            if not data:
                torch.manual_seed(0)
                data["x"] = torch.rand(e["images"], 1, 28, 28)
                data["y"] = torch.randint(0, 10, (e["images"],))
            m = models()[name]
            epoch(m, data["x"][:640], data["y"][:640], e["batch"], amp)  # first use
            return lambda: epoch(m, data["x"], data["y"], e["batch"], amp)
        return make

    for name in ("cnn", "mlp"):
        out[f"epoch {name}"] = train(name)
    for name in ("cnn", "mlp"):  # Zeno's steps without zn.tidy; the same loop here
        out[f"epoch {name} (no tidy)"] = train(name)
    out["epoch cnn (autocast bf16)"] = train("cnn", amp=True)
    return out


def main():
    makers = workloads()
    calls = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if "threads" in cmd:
            torch.set_num_threads(int(cmd["threads"]))
            calls.clear()
            answer = {"ok": True}
        elif "warm" in cmd:
            name = cmd["warm"]
            if name not in calls:
                # "(no tidy)" rows differ only on the Zeno side (how results are released).
                base = name if name in makers else name.removesuffix(" (no tidy)")
                calls[name] = makers[base]()
            f = calls[name]
            start = time.perf_counter()
            n = 0
            while n < cmd["min"] or time.perf_counter() - start < cmd["seconds"]:
                f()
                n += 1
            per_call = (time.perf_counter() - start) / n
            answer = {"calls_for": max(1, round(2e-3 / per_call))}
        else:
            f = calls[cmd["sample"]]
            c = int(cmd["calls"])
            # Untimed calls first, as on the Zeno side (see sample() there).
            start = time.perf_counter()
            while time.perf_counter() - start < cmd["lead"]:
                f()
            t = time.perf_counter()
            for _ in range(c):
                f()
            answer = {"seconds": (time.perf_counter() - t) / c}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
