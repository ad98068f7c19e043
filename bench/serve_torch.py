"""The Python side of `deno task loadtest`: the digits model served the way
Python deployments commonly serve it (FastAPI on uvicorn, PyTorch eager, no
gradients), with the same wire format and the same batching choice as
`deno task serve`: requests that arrive within MAX_DELAY of the first
waiting one, up to MAX_BATCH examples, run as one forward pass (at once when
no batch is running), on one inference thread.

    python3 bench/serve_torch.py MODEL.safetensors PORT [MAX_BATCH] [MAX_DELAY_MS]

Needs torch, fastapi and uvicorn (pinned in bench/requirements-loadtest.txt).
"""
import asyncio
import json
import struct
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn as nn
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

path, port = sys.argv[1], int(sys.argv[2])
MAX_BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 64
MAX_DELAY = (float(sys.argv[4]) if len(sys.argv) > 4 else 2.0) / 1000

DTYPES = {"F32": np.float32}


def load_safetensors(p):
    with open(p, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out, meta


state, meta = load_safetensors(path)
if meta.get("architecture") == "cnn":
    model = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
else:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
model.load_state_dict(state)
model.eval()

app = FastAPI()
pool = ThreadPoolExecutor(max_workers=1)
queue: "asyncio.Queue" = None  # set on startup
running = 0


def forward(x):
    with torch.inference_mode():
        return model(torch.from_numpy(x)).numpy()


async def batcher():
    global running
    loop = asyncio.get_running_loop()
    pending = []
    while True:
        if not pending:
            pending.append(await queue.get())
        first_t = pending[0][2]
        rows = sum(p[0].shape[0] for p in pending)
        # Gather more while a batch could still grow, unless the worker is idle.
        while rows < MAX_BATCH:
            wait = first_t + MAX_DELAY - loop.time()
            if running == 0 and queue.empty():
                break
            if wait <= 0:
                break
            try:
                item = await asyncio.wait_for(queue.get(), wait)
            except asyncio.TimeoutError:
                break
            pending.append(item)
            rows += item[0].shape[0]
        batch, total = [], 0
        while pending and (not batch or total + pending[0][0].shape[0] <= MAX_BATCH):
            item = pending.pop(0)
            batch.append(item)
            total += item[0].shape[0]
        x = np.concatenate([b[0] for b in batch]) if len(batch) > 1 else batch[0][0]
        running += 1
        try:
            y = await loop.run_in_executor(pool, forward, x)
            at = 0
            for b in batch:
                n = b[0].shape[0]
                b[1].set_result(y[at : at + n])
                at += n
        except Exception as e:  # every request of the batch fails
            for b in batch:
                b[1].set_exception(e)
        finally:
            running -= 1


@app.on_event("startup")
async def start():
    global queue
    queue = asyncio.Queue()
    asyncio.get_running_loop().create_task(batcher())


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/v1/predict")
async def predict(request: Request):
    binary = request.headers.get("content-type", "").startswith("application/octet-stream")
    if binary:
        shape = [int(s) for s in request.headers["x-tensor-shape"].split(",")]
        x = np.frombuffer(await request.body(), dtype=np.float32).reshape(shape)
    else:
        x = np.asarray((await request.json())["input"], dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        return JSONResponse({"error": f"bad shape {list(x.shape)}"}, status_code=400)
    fut = asyncio.get_running_loop().create_future()
    await queue.put((x, fut, asyncio.get_running_loop().time()))
    y = await fut
    if binary:
        return Response(
            y.astype(np.float32).tobytes(),
            media_type="application/octet-stream",
            headers={"x-tensor-dtype": "float32", "x-tensor-shape": ",".join(map(str, y.shape))},
        )
    return {"output": y.tolist(), "shape": list(y.shape), "dtype": "float32"}


uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
