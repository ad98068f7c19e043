"""PyTorch's side of the process rows in bench/compare_torch.ts, one fresh
process each (bench/process_side.ts is Zeno's):

  import      import torch
  first-op    import torch and read back the result of one op
  epoch-cnn   one epoch of the digits CNN on random images (the `epoch cnn`
              workload of bench/compare_torch.py)

Prints one JSON line: {"peakBytes": the process's peak resident set}
(Linux: VmHWM of /proc/self/status; 0 elsewhere).

Usage: python3 bench/process_side.py first-op
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_bytes():
    try:
        with open("/proc/self/status") as f:
            m = re.search(r"^VmHWM:\s*(\d+) kB", f.read(), re.M)
        return int(m.group(1)) * 1024 if m else 0
    except OSError:
        return 0


mode = sys.argv[1]
if mode == "import":
    import torch  # noqa: F401
elif mode == "first-op":
    import torch
    if (torch.ones(1) + 1).item() != 2:
        raise SystemExit("process_side: 1 + 1 is not 2")
elif mode == "epoch-cnn":
    import torch
    sys.path.insert(0, HERE)
    from compare_torch import epoch, models
    work = json.load(open(os.path.join(HERE, "workloads.json")))
    torch.manual_seed(0)
    images, batch = work["epoch"]["images"], work["epoch"]["batch"]
    xs, ys = torch.rand(images, 1, 28, 28), torch.randint(0, 10, (images,))
    epoch(models()["cnn"], xs, ys, batch)
else:
    raise SystemExit(f'process_side: unknown mode "{mode}" (import, first-op or epoch-cnn)')
print(json.dumps({"peakBytes": peak_bytes()}))
