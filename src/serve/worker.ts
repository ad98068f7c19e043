/**
 * An inference Worker of the server's pool: loads the model once (an ONNX
 * file, or a module's factory function), then runs each batch it is sent
 * without recording gradients and sends the output back (its buffer
 * transferred, not copied).
 *
 * Messages in: `{ type: "init", spec }`, `{ type: "run", id, dtype, shape, data }`.
 * Messages out: `{ type: "ready", input }`, `{ type: "error", message }`,
 * `{ type: "result", id, dtype, shape, data }`, `{ type: "failed", id, message }`.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { Tensor } from "../tensor.ts";
import { Module } from "../nn/module.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { tidy } from "../lifetime.ts";
import { fromTypedArray } from "../interop.ts";
import { load as loadOnnx } from "../onnx/load.ts";
import type { ModelSpec } from "./pool.ts";
import type { TypedArray } from "../dtype.ts";

let model: Module | null = null;

async function build(spec: ModelSpec): Promise<{ model: Module; input: unknown }> {
  if ("onnx" in spec) {
    const m = await loadOnnx(spec.onnx);
    if (m.inputs.length !== 1 || m.outputNames.length !== 1) {
      throw new Error(
        `the server runs models of one input and one output; ${spec.onnx} has ${m.inputs.length} and ${m.outputNames.length}`,
      );
    }
    return { model: m, input: m.inputs[0] };
  }
  const mod = await import(spec.module);
  const factory = mod[spec.export ?? "loadModel"];
  if (typeof factory !== "function") {
    throw new Error(`${spec.module} exports no function '${spec.export ?? "loadModel"}'`);
  }
  const m = await factory(...(spec.args ?? []));
  if (!(m instanceof Module)) throw new Error(`${spec.module}'s factory did not return a Module`);
  return { model: m, input: null };
}

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.type === "init") {
    try {
      const built = await build(msg.spec as ModelSpec);
      model = built.model.eval();
      self.postMessage({ type: "ready", input: built.input });
    } catch (err) {
      self.postMessage({ type: "error", message: (err as Error).message });
    }
    return;
  }
  if (msg.type === "run") {
    try {
      const x = fromTypedArray(msg.data as TypedArray, msg.shape, { dtype: msg.dtype });
      // The batch's intermediates are released as it ends, not left to the collector.
      const out = tidy(() => {
        const y = noGrad(() => model!.call(x));
        if (!(y instanceof Tensor)) {
          throw new Error("the model's forward did not return one Tensor");
        }
        return { dtype: y.dtype, shape: y.shape, data: y.contiguous().toTypedArray() };
      });
      const data = out.data;
      self.postMessage(
        { type: "result", id: msg.id, dtype: out.dtype, shape: out.shape, data },
        [data.buffer as ArrayBuffer],
      );
    } catch (err) {
      self.postMessage({ type: "failed", id: msg.id, message: (err as Error).message });
    }
  }
};
