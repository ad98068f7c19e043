// Safetensors interop with PyTorch: a CNN state dict saved by PyTorch runs in
// Zeno, and files written by Zeno load in Python (skipped without torch).
import "../src/cpu_backend.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as zn from "../mod.ts";
import { load, loadSync, save, serialize } from "../src/io/mod.ts";
import { ITEMSIZE } from "../src/dtype.ts";

const DIR = new URL("./fixtures/safetensors/", import.meta.url);

function cnn(): zn.nn.Sequential {
  const nn = zn.nn;
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(32 * 7 * 7, 10),
  );
}

function assertClose(a: zn.Tensor, b: zn.Tensor, atol = 1e-4, rtol = 1e-4): void {
  assert.deepEqual(a.shape, b.shape);
  const x = a.toTypedArray() as Float32Array, y = b.toTypedArray() as Float32Array;
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]), `${i}: ${x[i]} vs ${y[i]}`);
  }
}

async function python(): Promise<string | null> {
  try {
    const out = await new Deno.Command("python3", {
      args: ["-c", "import torch, safetensors.torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : "python3 cannot import torch and safetensors";
  } catch {
    return "python3 is not available";
  }
}

async function runPython(script: string, ...args: string[]): Promise<string> {
  const res = await new Deno.Command("python3", { args: ["-c", script, ...args] }).output();
  const err = new TextDecoder().decode(res.stderr);
  assert.ok(res.success, `python failed:\n${err}`);
  return new TextDecoder().decode(res.stdout);
}

Deno.test("safetensors interop: a PyTorch CNN state dict gives the same logits in Zeno", async () => {
  const model = cnn();
  const sd = await load(new URL("cnn.safetensors", DIR));
  const result = model.loadStateDict(sd);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const io = loadSync(new URL("cnn_io.safetensors", DIR));
  model.eval();
  const logits = zn.noGrad(() => model.call(io.input));
  assertClose(logits, io.logits);
});

Deno.test("safetensors interop: a CNN saved by Zeno loads in PyTorch with the same logits", async () => {
  const skip = await python();
  if (skip) {
    console.log(`skipped: ${skip}`);
    return;
  }
  zn.manualSeed(3);
  const model = cnn();
  const io = loadSync(new URL("cnn_io.safetensors", DIR));
  const logits = zn.noGrad(() => model.call(io.input));
  const dir = await Deno.makeTempDir();
  try {
    await save(model.stateDict(), `${dir}/cnn.safetensors`, { metadata: { format: "pt" } });
    const script = `
import sys, torch
from torch import nn
from safetensors.torch import load_file, save_file
from safetensors import safe_open
model = nn.Sequential(
    nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
model.load_state_dict(load_file(sys.argv[1] + "/cnn.safetensors"), strict=True)
with safe_open(sys.argv[1] + "/cnn.safetensors", "pt") as f:
    assert f.metadata() == {"format": "pt"}, f.metadata()
x = load_file(sys.argv[2])["input"]
with torch.no_grad():
    save_file({"logits": model(x)}, sys.argv[1] + "/out.safetensors")`;
    await runPython(script, dir, fileURLToPath(new URL("cnn_io.safetensors", DIR)));
    const torchLogits = (await load(`${dir}/out.safetensors`)).logits;
    assertClose(logits, torchLogits);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors interop: every dtype written by Zeno loads in Python", async () => {
  const skip = await python();
  if (skip) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const tensors: Record<string, zn.Tensor> = {
    f64: zn.tensor([[1.5, NaN], [-Infinity, -0]], { dtype: "float64" }),
    f32: zn.randn([3, 4]).mT, // non-contiguous
    f16: zn.tensor([1, 65504, 1e-7, -2.5], { dtype: "float16" }),
    bf16: zn.tensor([1, -3e38, 1e-3], { dtype: "bfloat16" }),
    i64: zn.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n])),
    i32: zn.tensor([-(2 ** 31), 5], { dtype: "int32" }),
    i16: zn.tensor([-32768, 7], { dtype: "int16" }),
    i8: zn.tensor([-128, 127], { dtype: "int8" }),
    u8: zn.tensor([0, 255], { dtype: "uint8" }),
    bool: zn.tensor([true, false, true]),
    empty: zn.zeros([2, 0], { dtype: "int32" }),
    scalar: zn.tensor(2.5, { dtype: "float64" }),
    "\u00e9\u{1f600}": zn.ones([1]),
  };
  const metadata = { format: "pt", "\u00fc": "a\nb" };
  const dir = await Deno.makeTempDir();
  try {
    await save(tensors, `${dir}/all.safetensors`, { metadata });
    const script = `
import sys, json, torch
from safetensors import safe_open
out = {}
with safe_open(sys.argv[1], "pt") as f:
    meta = f.metadata()
    for k in f.keys():
        t = f.get_tensor(k)
        out[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                  "hex": t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()}
from safetensors.torch import load_file, save_file
save_file(load_file(sys.argv[1]), sys.argv[2], metadata={"format": "pt"})
print(json.dumps({"meta": meta, "tensors": out}))`;
    const got = JSON.parse(
      await runPython(script, `${dir}/all.safetensors`, `${dir}/python.safetensors`),
    );
    // Python's writer, given the same tensors, writes the same bytes.
    const ours = serialize(tensors, { metadata: { format: "pt" } });
    assert.deepEqual(Deno.readFileSync(`${dir}/python.safetensors`), ours);
    assert.deepEqual(got.meta, metadata);
    const torchName: Record<string, string> = { bool: "bool" };
    for (const [k, t] of Object.entries(tensors)) {
      const g = got.tensors[k];
      assert.ok(g, k);
      assert.equal(g.dtype, torchName[t.dtype] ?? t.dtype, k);
      assert.deepEqual(g.shape, t.shape, k);
      // The tensor's raw bytes: the tail of a one-tensor file.
      const file = serialize({ x: t });
      const raw = file.subarray(file.length - t.numel * ITEMSIZE[t.dtype]);
      assert.equal(g.hex, [...raw].map((b) => b.toString(16).padStart(2, "0")).join(""), k);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
