"""Runs an ONNX model with onnxruntime: the oracle of tests/onnx_test.ts.

Reads JSON on stdin: {"model": path, "inputs": {name: {"dtype", "shape", "data"}}},
or a list of such requests. Checks each model with onnx.checker (full check,
shape inference included), runs it on the CPU provider, and prints
{name: {"shape", "data"}} for every output, in graph order (a list of those
for a list of requests).
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort



def run(req):
    model = onnx.load(req["model"])
    onnx.checker.check_model(model, full_check=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(req["model"], opts, providers=["CPUExecutionProvider"])
    feeds = {
        k: np.array(v["data"], dtype=v["dtype"]).reshape(v["shape"])
        for k, v in req["inputs"].items()
    }
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    return {
        n: {"shape": list(o.shape), "data": o.astype(np.float64).ravel().tolist()}
        for n, o in zip(names, outs)
    }


req = json.load(sys.stdin)
json.dump([run(r) for r in req] if isinstance(req, list) else run(req), sys.stdout)
