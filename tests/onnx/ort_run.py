"""Runs an ONNX model with onnxruntime: the oracle of tests/onnx_test.ts.

Reads JSON on stdin: {"model": path, "inputs": {name: {"dtype", "shape", "data"}}}.
Checks the model with onnx.checker (full check, shape inference included),
runs it on the CPU provider, and prints {name: {"shape", "data"}} for every
output, in graph order.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

req = json.load(sys.stdin)
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
json.dump(
    {n: {"shape": list(o.shape), "data": o.astype(np.float64).ravel().tolist()} for n, o in zip(names, outs)},
    sys.stdout,
)
