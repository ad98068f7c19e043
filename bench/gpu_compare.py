"""The PyTorch half of the GPU comparison (see bench/gpu_compare.ts, which
prints the same lines for Zeno). One section per run:

    python3 bench/gpu_compare.py matmul|add|mlp|cnn
    python3 bench/gpu_compare.py table ZENO.jsonl TORCH.jsonl

Each line: {"name", "unit", "value" (median of >= 5 runs), "runs"}. `table`
joins both files by name and prints the ratio table.
"""
import json
import statistics
import sys
import time

RUNS = 5


def emit(name, unit, runs):
    print(json.dumps({"name": name, "unit": unit, "value": statistics.median(runs), "runs": runs}),
          flush=True)


def time_runs(torch, fn, runs=RUNS):
    fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def matmul(torch):
    for n in (4096, 8192):
        for mode in ("float32", "tf32", "bfloat16"):
            torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
            dtype = torch.bfloat16 if mode == "bfloat16" else torch.float32
            a = torch.full((n, n), 0.5, device="cuda", dtype=dtype)
            b = torch.full((n, n), 0.25, device="cuda", dtype=dtype)
            # Enough products per run (tens of ms) that the synchronisation
            # and the timer do not count (the same counts as gpu_compare.ts).
            reps = (10 if mode == "float32" else 40) * (4 if n == 4096 else 1)

            def many():
                for _ in range(reps):
                    a @ b
            ms = time_runs(torch, many)
            emit(f"matmul {mode} {n}", "TFLOP/s", [2 * n**3 * reps / (t * 1e9) for t in ms])
            del a, b
            torch.backends.cuda.matmul.allow_tf32 = False


def add(torch):
    n = 256 * 1024 * 1024
    a = torch.full((n,), 1.0, device="cuda")
    b = torch.full((n,), 2.0, device="cuda")
    reps = 10

    def many():
        for _ in range(reps):
            a + b
    ms = time_runs(torch, many)
    emit("add float32 256M", "GB/s", [3 * 4 * n * reps / (t * 1e6) for t in ms])
    del a, b
    x = torch.full((n,), 0.5, device="cuda")

    def many_exp():
        for _ in range(reps):
            torch.exp(x)
    ms = time_runs(torch, many_exp)
    emit("exp float32 256M", "GB/s", [2 * 4 * n * reps / (t * 1e6) for t in ms])


def build(torch, arch):
    nn = torch.nn
    if arch == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train(torch, arch):
    torch.manual_seed(0)
    model = build(torch, arch).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 1, 28, 28, device="cuda")
    y = torch.randint(0, 10, (64,), device="cuda")

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(10):
        step()
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    steps = 50

    def many():
        for _ in range(steps):
            step()

    ms = time_runs(torch, many)
    emit(f"train step {arch} batch 64 (Adam)", "ms/step", [t / steps for t in ms])
    emit(f"device memory growth {arch}, 300 steps", "bytes",
         [torch.cuda.memory_allocated() - before])


# Peak memory bandwidth (GB/s) by device name, from the vendors' data sheets.
PEAK_GBS = [("H200", 4800), ("H100 SXM", 3350), ("H100 80GB HBM3", 3350), ("H100 PCIe", 2000),
            ("H100", 3350), ("A100-SXM4-80GB", 2039), ("A100", 1555), ("L4", 300)]


def seq(torch):
    torch.manual_seed(0)
    m = torch.nn.LSTM(256, 256).cuda()
    x = torch.randn(64, 32, 256, device="cuda", requires_grad=True)

    def lstm():
        m(x)[0].sum().backward()
        x.grad = None
        for p in m.parameters():
            p.grad = None
    emit("LSTM layer b32 t64 h256 fwd+bwd", "ms/step", time_runs(torch, lstm))
    q, k, v = (torch.randn(8, 8, 512, 64, device="cuda", requires_grad=True) for _ in range(3))

    def sdpa():
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()
        q.grad = k.grad = v.grad = None
    emit("sdpa causal b8 h8 t512 d64 fwd+bwd", "ms/step", time_runs(torch, sdpa))


def read(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    rows[r.get("name")] = r
    except OSError:
        pass
    return rows


def table(zpath, tpath, device_name=""):
    z, t = read(zpath), read(tpath)
    names = [n for n in t if n] + [n for n in z if n and n not in t]
    print("Zeno vs PyTorch on the same GPU" + (f" ({device_name})" if device_name else ""))
    print("ratio: for rates, Zeno / PyTorch; for times, PyTorch time / Zeno time.")
    print("Either way 1.00 means as fast as PyTorch, 0.50 half as fast, >1 faster.\n")
    head = f"{'workload':<36} {'unit':<8} {'Zeno':>10} {'PyTorch':>10} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for n in names:
        zr, tr = z.get(n, {}), t.get(n, {})
        unit = zr.get("unit") or tr.get("unit") or ""
        zv, tv = zr.get("value"), tr.get("value")
        if unit == "bytes":  # device memory growth: no ratio, both should be 0
            print(f"{n:<36} {unit:<8} {'-' if zv is None else f'{zv:10.0f}':>10} "
                  f"{'-' if tv is None else f'{tv:10.0f}':>10}       -")
            continue
        if zv is None or tv is None or zv == 0:
            why = zr.get("error") or tr.get("error") or "missing"
            print(f"{n:<36} {unit:<8} {'-' if zv is None else f'{zv:10.3f}':>10} "
                  f"{'-' if tv is None else f'{tv:10.3f}':>10}   n/a  ({why[:80]})")
            continue
        ratio = zv / tv if unit != "ms/step" else tv / zv
        print(f"{n:<36} {unit:<8} {zv:10.3f} {tv:10.3f} {ratio:7.2f}")
    for n in names:
        if n.startswith(("add", "exp")) and n in t:
            peak = next((p for k, p in PEAK_GBS if k in device_name), None)
            if peak:
                zv = z.get(n, {}).get("value")
                print(f"\n{n.split()[0]} bandwidth vs the card's peak ({peak} GB/s): PyTorch "
                      f"{t[n]['value'] / peak:.0%}" + (f", Zeno {zv / peak:.0%}" if zv else ""))


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which == "table":
        table(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
        return
    import torch
    if not torch.cuda.is_available():
        print(json.dumps({"name": "cuda", "error": "torch.cuda.is_available() is False"}))
        return
    if which in ("matmul", "all"):
        matmul(torch)
    if which in ("add", "all"):
        add(torch)
    if which in ("mlp", "all"):
        train(torch, "mlp")
    if which in ("cnn", "all"):
        train(torch, "cnn")
    if which in ("seq", "all"):
        seq(torch)


if __name__ == "__main__":
    main()
