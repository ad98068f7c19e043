/** zn.nn.summary against torchinfo's table for the same model (torchinfo 1.8 with torch 2.13). */
import { deepEqual, equal, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

class Net extends zn.nn.Module {
  conv = new zn.nn.Conv2d(1, 8, 3);
  body = new zn.nn.Sequential(
    new zn.nn.ReLU(),
    new zn.nn.Flatten(),
    new zn.nn.Linear(8 * 26 * 26, 10),
  );
  override forward(x: zn.Tensor): zn.Tensor {
    return this.body.call(this.conv.call(x));
  }
}

// torchinfo.summary(Net(), (1, 1, 28, 28)): its rows and parameter totals.
const TORCHINFO = `
==========================================================================================
Layer (type:depth-idx)                   Output Shape              Param #
==========================================================================================
Net                                      [1, 10]                   --
├─Conv2d: 1-1                            [1, 8, 26, 26]            80
├─Sequential: 1-2                        [1, 10]                   --
│    └─ReLU: 2-1                         [1, 8, 26, 26]            --
│    └─Flatten: 2-2                      [1, 5408]                 --
│    └─Linear: 2-3                       [1, 10]                   54,090
==========================================================================================
Total params: 54,170
Trainable params: 54,170
Non-trainable params: 0`.trim().split("\n");

Deno.test("summary: the table's rows and totals are torchinfo's", () => {
  const s = zn.nn.summary(new Net(), [1, 1, 28, 28]);
  deepEqual(String(s).split("\n").slice(0, TORCHINFO.length), TORCHINFO);
  equal(s.totalParams, 54170);
  equal(s.paramBytes, 54170 * 4);
  deepEqual(s.rows.map((r) => [r.name, r.depth]), [
    ["", 0],
    ["conv", 1],
    ["body", 1],
    ["body.0", 2],
    ["body.1", 2],
    ["body.2", 2],
  ]);
});

Deno.test("summary: frozen parameters, depth, no hooks left behind, and clear errors", () => {
  const net = new Net();
  net.conv.requiresGrad_(false);
  const s = zn.nn.summary(net, [2, 1, 28, 28], { depth: 1 });
  equal(s.trainableParams, 54090);
  equal(String(s).includes("ReLU"), false);
  // The hooks are gone: a later call runs no summary code.
  const y = net.call(zn.zeros([1, 1, 28, 28]));
  deepEqual(y.shape, [1, 10]);
  equal(zn.nn.summary(net, [1, 1, 28, 28]).rows.length, 6);
  // deno-lint-ignore no-explicit-any
  throws(() => zn.nn.summary({} as any, [1]), /summary: model must be a Module/);
  // deno-lint-ignore no-explicit-any
  throws(() => zn.nn.summary(net, [1, 1, 28, 28], { batch: 2 } as any), /summary.*batch/);
  throws(() => zn.nn.summary(net, [1, 2, 28, 28]), /conv2d/i);
});
