import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { buildModel } from "../examples/mnist/model.ts";
import { assertMatches, ignoreOrt, ortRun, ortRunMany } from "./onnx/oracle.ts";

const nn = zn.nn;

/**
 * Exports `model` on `sample`, runs the file with onnxruntime on `check`, and
 * compares its outputs with Zeno's eval forward and with Zeno's run of the file.
 */
async function roundTrip(
  model: zn.nn.Module,
  sample: zn.Tensor[],
  check: zn.Tensor[],
  opts: zn.onnx.ExportOptions = {},
  tol = 1e-5,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.onnx`;
    await zn.onnx.exportModel(model, sample, path, opts);
    const names = check.map((_, i) => opts.inputNames?.[i] ?? `input_${i}`);
    const ort = await ortRun(path, Object.fromEntries(check.map((t, i) => [names[i], t])));
    const wasTraining = model.training;
    model.eval();
    const got: zn.Tensor[] = [];
    const flat = (v: unknown) => {
      if (v instanceof zn.Tensor) got.push(v);
      else if (Array.isArray(v)) v.forEach(flat);
    };
    zn.noGrad(() => flat(model.call(...check)));
    model.train(wasTraining);
    const outNames = Object.keys(ort);
    assert(outNames.length === got.length, `${outNames.length} outputs against ${got.length}`);
    got.forEach((t, i) => assertMatches(t, ort[outNames[i]], `output ${outNames[i]}`, tol));
    // Zeno runs the exported file too, with the same result.
    const back = await zn.onnx.load(path);
    const again = back.call(...check);
    (Array.isArray(again) ? again : [again]).forEach((t, i) =>
      assertMatches(t, ort[outNames[i]], `output ${outNames[i]} of zn.onnx.load`, tol)
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const batchAxes = (names: string[]) => Object.fromEntries(names.map((n) => [n, { 0: "batch" }]));

Deno.test({
  name: "onnx export: an MLP matches onnxruntime at another batch size",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(1);
    const net = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
    await roundTrip(net, [zn.randn([3, 4])], [zn.randn([5, 4])], {
      inputNames: ["x"],
      dynamicAxes: batchAxes(["x", "output_0"]),
    });
  },
});

Deno.test({
  name: "onnx export: the digits CNN and MLP match onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    for (const arch of ["cnn", "mlp"] as const) {
      zn.manualSeed(2);
      const model = buildModel(arch);
      await roundTrip(model, [zn.randn([2, 1, 28, 28])], [zn.randn([7, 1, 28, 28])], {
        inputNames: ["image"],
        outputNames: ["logits"],
        dynamicAxes: batchAxes(["image", "logits"]),
      });
    }
  },
});

class Block extends nn.Module {
  conv1: zn.nn.Conv2d;
  bn1: zn.nn.BatchNorm2d;
  conv2: zn.nn.Conv2d;
  bn2: zn.nn.BatchNorm2d;
  down: zn.nn.Sequential | null;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(cout);
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(cout);
    this.down = stride !== 1 || cin !== cout
      ? new nn.Sequential(
        new nn.Conv2d(cin, cout, 1, { stride, bias: false }),
        new nn.BatchNorm2d(cout),
      )
      : null;
  }
  override forward(x: zn.Tensor): zn.Tensor {
    const y = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
    return y.add(this.down ? this.down.call(x) : x).relu();
  }
}

/** A small ResNet: stem, two residual stages, global pooling, a classifier. */
function resnet(): zn.nn.Sequential {
  const m = new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.MaxPool2d(2, { ceilMode: true }),
    new Block(8, 8, 1),
    new Block(8, 16, 2),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(16, 5),
  );
  // Running statistics away from 0 and 1, so that evaluation mode shows.
  zn.noGrad(() => {
    for (const [name, b] of m.namedBuffers()) {
      if (name.endsWith("running_mean")) b.copy_(zn.randn(b.shape).mul(0.1));
      if (name.endsWith("running_var")) b.copy_(zn.rand(b.shape).add(0.5));
    }
  });
  return m;
}

Deno.test({
  name: "onnx export: a ResNet-style model in eval mode matches onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(3);
    const m = resnet();
    await roundTrip(m, [zn.randn([2, 3, 15, 15])], [zn.randn([3, 3, 15, 15])], {
      dynamicAxes: batchAxes(["input_0", "output_0"]),
    });
    assert(m.training, "export leaves the model's training flag as it was");
  },
});

class Tagger extends nn.Module {
  emb = new nn.Embedding(50, 12);
  lstm = new nn.LSTM(12, 16, { numLayers: 2, batchFirst: true });
  head = new nn.Linear(16, 3);
  override forward(tokens: zn.Tensor): zn.Tensor {
    const [out] = this.lstm.call(this.emb.call(tokens));
    return this.head.call(out).logSoftmax(-1);
  }
}

Deno.test({
  name: "onnx export: an embedding + two-layer LSTM tagger matches onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(4);
    const tokens = (b: number) => zn.randint(0, 50, [b, 6]);
    await roundTrip(new Tagger(), [tokens(2)], [tokens(4)], {
      inputNames: ["tokens"],
      dynamicAxes: batchAxes(["tokens", "output_0"]),
    });
  },
});

class GruTagger extends nn.Module {
  emb = new nn.Embedding(30, 8);
  gru = new nn.GRU(8, 10, { numLayers: 2, bidirectional: true });
  head = new nn.Linear(20, 4);
  override forward(tokens: zn.Tensor): zn.Tensor {
    // tokens: [T, B]; the GRU's zero initial state is made inside forward.
    const [out] = this.gru.call(this.emb.call(tokens));
    return this.head.call(out);
  }
}

Deno.test({
  name: "onnx export: a bidirectional two-layer GRU with its zero state matches onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(8);
    const tokens = (b: number) => zn.randint(0, 30, [5, b]);
    await roundTrip(new GruTagger(), [tokens(2)], [tokens(3)], {
      inputNames: ["tokens"],
      dynamicAxes: { tokens: { 1: "batch" }, output_0: { 1: "batch" } },
    });
  },
});

Deno.test({
  name: "onnx export: transposed convolutions and group norm match onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(9);
    const net = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }),
      new nn.GroupNorm(2, 8),
      new nn.SiLU(),
      new nn.ConvTranspose2d(8, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      new nn.GroupNorm(4, 4, { affine: false }),
      new nn.ConvTranspose2d(4, 2, 2, { stride: 2, groups: 2 }),
    );
    await roundTrip(net, [zn.randn([2, 3, 8, 8])], [zn.randn([3, 3, 8, 8])], {
      dynamicAxes: batchAxes(["input_0", "output_0"]),
    });
  },
});

class Encoder extends nn.Module {
  enc = new nn.TransformerEncoder(
    new nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true }),
    2,
  );
  head = new nn.Linear(16, 4);
  override forward(x: zn.Tensor): zn.Tensor {
    return this.head.call(this.enc.call(x).mean(1));
  }
}

Deno.test({
  name: "onnx export: a Transformer encoder matches onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(5);
    await roundTrip(new Encoder(), [zn.randn([2, 7, 16])], [zn.randn([3, 7, 16])], {
      dynamicAxes: batchAxes(["input_0", "output_0"]),
    });
  },
});

Deno.test({
  name:
    "onnx export: a GPT-2 language model (causal attention, tied embeddings) matches onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(10);
    const gpt = new zn.models.GPT2({
      vocabSize: 50,
      nPositions: 16,
      nEmbd: 16,
      nLayer: 2,
      nHead: 2,
    });
    const ids = (b: number) => zn.randint(0, 50, [b, 8]);
    await roundTrip(gpt, [ids(2)], [ids(3)], {
      inputNames: ["input_ids"],
      outputNames: ["logits"],
      dynamicAxes: batchAxes(["input_ids", "logits"]),
    });
  },
});

Deno.test({
  name: "onnx export: activations, RMSNorm, LayerNorm and softmax match onnxruntime",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(6);
    const net = new nn.Sequential(
      new nn.Linear(6, 6),
      new nn.GELU(),
      new nn.Linear(6, 6),
      new nn.RMSNorm(6),
      new nn.SiLU(),
      new nn.LayerNorm(6),
      new nn.Tanh(),
      new nn.LeakyReLU(0.2),
      new nn.ELU(0.7),
      new nn.Softplus({ beta: 2 }),
      new nn.GELU({ approximate: "tanh" }),
      new nn.Sigmoid(),
      new nn.Softmax(-1),
    );
    await roundTrip(net, [zn.randn([4, 6]).mul(3)], [zn.randn([4, 6]).mul(3)]);
  },
});

Deno.test("onnx export: an op without an ONNX form is named, and nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cumprod.onnx`;
    await Deno.writeTextFile(path, "previous");
    class Cumulative extends nn.Module {
      lin = new nn.Linear(4, 3);
      override forward(x: zn.Tensor): zn.Tensor {
        return this.lin.call(x).cumprod(1); // ONNX has no cumulative product
      }
    }
    let err: unknown;
    try {
      await zn.onnx.exportModel(new Cumulative(), [zn.randn([2, 4])], path);
    } catch (e) {
      err = e;
    }
    assert(
      err instanceof Error && /cannot be exported to ONNX: cumprod/.test(err.message),
      String(err),
    );
    assert((await Deno.readTextFile(path)) === "previous", "the previous file is kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onnx export: a constant that depends on the input's values is an error", () => {
  class Gate extends nn.Module {
    lin = new nn.Linear(3, 3);
    override forward(x: zn.Tensor): zn.Tensor {
      // The comparison is not traced: its result would become a constant.
      return this.lin.call(x).mul(x.gt(0).to("float32"));
    }
  }
  assertThrows(
    () => zn.onnx.exportModelBytes(new Gate(), [zn.randn([2, 3])]),
    Error,
    "depends on the input's values",
  );
});

Deno.test({
  name: "onnx export: a filled tensor made with the batch size follows the batch",
  ignore: ignoreOrt,
  fn: async () => {
    class Shift extends nn.Module {
      lin = new nn.Linear(3, 3);
      override forward(x: zn.Tensor): zn.Tensor {
        return this.lin.call(x).add(zn.full([x.shape[0], 3], 0.5));
      }
    }
    await roundTrip(new Shift(), [zn.randn([2, 3])], [zn.randn([6, 3])], {
      dynamicAxes: batchAxes(["input_0", "output_0"]),
    });
  },
});

Deno.test("onnx export: a tensor of varying values made with the batch size is an error", () => {
  class Pad extends nn.Module {
    lin = new nn.Linear(3, 3);
    override forward(x: zn.Tensor): zn.Tensor {
      return this.lin.call(x).add(zn.arange(x.shape[0] * 3).reshape([x.shape[0], 3]));
    }
  }
  assertThrows(
    () =>
      zn.onnx.exportModelBytes(new Pad(), [zn.randn([2, 3])], { dynamicAxes: { input_0: [0] } }),
    Error,
    "shape follows a dynamic axis",
  );
});

Deno.test("onnx export: bad arguments name the problem", () => {
  const lin = new nn.Linear(3, 3);
  assertThrows(
    () => zn.onnx.exportModelBytes(lin, [zn.randn([2, 3])], { opset: 17 } as never),
    TypeError,
    "opset",
  );
  assertThrows(
    () => zn.onnx.exportModelBytes(lin, [zn.randn([2, 3])], { opsetVersion: 9 }),
    RangeError,
    "opsetVersion must be 17 to 21",
  );
  assertThrows(
    () => zn.onnx.exportModelBytes(lin, [zn.randn([2, 3])], { dynamicAxes: { input_0: [2] } }),
    RangeError,
    "names axis 2",
  );
  assertThrows(() => zn.onnx.exportModelBytes({} as never, []), TypeError, "must be a Module");
});

Deno.test({
  name: "onnx export: layers across nn match onnxruntime and Zeno's loader at another batch size",
  ignore: ignoreOrt,
  fn: async () => {
    zn.manualSeed(13);
    const zoo: [string, zn.nn.Module, number[]][] = [
      ["Conv1d", new nn.Conv1d(3, 4, 3, { padding: 1, stride: 2 }), [2, 3, 10]],
      ["MaxPool1d", new nn.MaxPool1d(2), [2, 3, 10]],
      ["AvgPool1d", new nn.AvgPool1d(3, { stride: 2, padding: 1 }), [2, 3, 10]],
      ["AdaptiveAvgPool1d", new nn.AdaptiveAvgPool1d(5), [2, 3, 10]],
      ["AdaptiveMaxPool2d", new nn.AdaptiveMaxPool2d(2), [2, 3, 8, 8]],
      ["AdaptiveAvgPool2d", new nn.AdaptiveAvgPool2d(3), [2, 3, 9, 9]],
      ["Upsample nearest", new nn.Upsample({ scaleFactor: 2, mode: "nearest" }), [2, 3, 4, 4]],
      ["Upsample bilinear", new nn.Upsample({ scaleFactor: 2, mode: "bilinear" }), [2, 3, 4, 4]],
      ["PixelShuffle", new nn.PixelShuffle(2), [2, 8, 4, 4]],
      ["InstanceNorm2d", new nn.InstanceNorm2d(3, { affine: true }), [2, 3, 4, 4]],
      ["LocalResponseNorm", new nn.LocalResponseNorm(2), [2, 3, 4, 4]],
      ["BatchNorm1d", new nn.BatchNorm1d(5), [3, 5]],
      ["Hardtanh", new nn.Hardtanh(-0.5, 0.5), [2, 5]],
      ["ReLU6", new nn.ReLU6(), [2, 5]],
      ["Hardswish", new nn.Hardswish(), [2, 5]],
      ["Hardsigmoid", new nn.Hardsigmoid(), [2, 5]],
      ["Mish", new nn.Mish(), [2, 5]],
      ["SELU", new nn.SELU(), [2, 5]],
      ["CELU", new nn.CELU(), [2, 5]],
      ["GLU", new nn.GLU(), [2, 6]],
      ["Softsign", new nn.Softsign(), [2, 5]],
      ["Tanhshrink", new nn.Tanhshrink(), [2, 5]],
      ["Threshold", new nn.Threshold(0.1, 20), [2, 5]],
      ["PReLU", new nn.PReLU(), [2, 5]],
      ["LogSigmoid", new nn.LogSigmoid(), [2, 5]],
      ["Softmin", new nn.Softmin(1), [2, 5]],
      ["Hardshrink", new nn.Hardshrink(), [2, 5]],
      ["Softmax2d", new nn.Softmax2d(), [2, 3, 4, 4]],
      ["ReflectionPad2d", new nn.ReflectionPad2d(1), [2, 3, 4, 4]],
      ["ReplicationPad2d", new nn.ReplicationPad2d([1, 2, 0, 1]), [2, 3, 4, 4]],
      ["CircularPad2d", new nn.CircularPad2d(1), [2, 3, 4, 4]],
      ["ZeroPad2d", new nn.ZeroPad2d(1), [2, 3, 4, 4]],
      ["Conv3d", new nn.Conv3d(2, 3, 2), [2, 2, 4, 4, 4]],
      ["Unflatten", new nn.Unflatten(1, [2, 3]), [2, 6]],
    ];
    const dir = await Deno.makeTempDir();
    try {
      const checks = zoo.map(([name, m, shape], i) => {
        const path = `${dir}/m${i}.onnx`;
        const bytes = zn.onnx.exportModelBytes(m, [zn.randn(shape).mul(2)], {
          dynamicAxes: batchAxes(["input_0", "output_0"]),
        });
        Deno.writeFileSync(path, bytes);
        const x = zn.randn([shape[0] + 2, ...shape.slice(1)]).mul(2);
        const want = zn.noGrad(() => m.eval().call(x)) as zn.Tensor;
        const again = zn.onnx.loadBytes(bytes).call(x) as zn.Tensor;
        return { name, path, x, want, again };
      });
      const ort = await ortRunMany(checks.map((c) => ({ path: c.path, inputs: { input_0: c.x } })));
      checks.forEach((c, i) => {
        assertMatches(c.want, ort[i].output_0, `${c.name}: Zeno's module against onnxruntime`);
        assertMatches(c.again, ort[i].output_0, `${c.name}: Zeno's loader against onnxruntime`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("onnx export: a recurrent loop over a dynamic sequence axis is refused with the op that differs", () => {
  assertThrows(
    () =>
      zn.onnx.exportModelBytes(new nn.RNN(4, 5), [zn.randn([3, 2, 4])], {
        dynamicAxes: { input_0: [0] },
      }),
    Error,
    "ran different ops when the input's values or dynamic sizes changed (op",
  );
});
