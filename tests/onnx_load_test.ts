import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { buildModel } from "../examples/mnist/model.ts";

interface Flat {
  dtype: zn.DType;
  shape: number[];
  data: number[];
}
const fixtures = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/onnx/torch_models.json", import.meta.url)),
) as { cases: Record<string, { file: string; input: Flat; output: Flat }> };

function largestDiff(got: zn.Tensor, want: Flat): number {
  assert(got.shape.join() === want.shape.join(), `shape [${got.shape}] against [${want.shape}]`);
  const g = got.toTypedArray() as Float32Array;
  let worst = 0;
  want.data.forEach((w, i) => {
    const d = Math.abs(g[i] - w) / (1 + Math.abs(w));
    if (!(d <= worst)) worst = d;
  });
  return worst;
}

for (
  const name of ["mlp", "cnn", "resnet", "encoder", "tagger_legacy", "encoder_legacy", "gru_legacy"]
) {
  Deno.test(`onnx load: PyTorch's export of the ${name} runs and matches PyTorch at another batch size`, async () => {
    const c = fixtures.cases[name];
    const model = await zn.onnx.load(new URL(`./fixtures/onnx/${c.file}`, import.meta.url));
    const x = zn.tensor(c.input.data, { dtype: c.input.dtype }).reshape(c.input.shape);
    const y = model.call(x) as zn.Tensor;
    const diff = largestDiff(y, c.output);
    assert(diff <= 1e-5, `${name}: largest difference ${diff} from PyTorch's output`);
  });
}

Deno.test("onnx load: Zeno's own export loads back and matches the module", () => {
  zn.manualSeed(7);
  const model = buildModel("cnn");
  const bytes = zn.onnx.exportModelBytes(model, [zn.randn([2, 1, 28, 28])], {
    dynamicAxes: { input_0: [0], output_0: [0] },
  });
  const back = zn.onnx.loadBytes(bytes);
  const x = zn.randn([5, 1, 28, 28]);
  const want = zn.noGrad(() => model.eval().call(x));
  const got = back.call(x) as zn.Tensor;
  const diff = got.sub(want).abs().amax().item() as number;
  assert(diff <= 1e-5, `largest difference ${diff}`);
  assert(back.weights().has("0.weight"), "the initializers keep the state-dict names");
});

Deno.test("onnx load: wrong inputs name the input and the expected shape or dtype", () => {
  const net = new zn.nn.Linear(3, 2);
  const back = zn.onnx.loadBytes(zn.onnx.exportModelBytes(net, [zn.randn([4, 3])], {
    inputNames: ["x"],
  }));
  assertThrows(() => back.call(zn.randn([4, 5])), RangeError, "input 'x' must have shape [4, 3]");
  assertThrows(() => back.call(zn.randn([4, 3]).to("float64")), TypeError, "must be float32");
  assertThrows(() => back.call(), RangeError, "takes 1 inputs (x)");
});

Deno.test("onnx load: malformed and unsupported files fail with a clear error", () => {
  assertThrows(
    () => zn.onnx.loadBytes(new Uint8Array([0x3a, 0x05, 0x01])),
    zn.onnx.OnnxFormatError,
    "runs past the end",
  );
  assertThrows(() => zn.onnx.loadBytes(new Uint8Array([1, 2, 3])), zn.onnx.OnnxFormatError);
  assertThrows(() => zn.onnx.loadBytes(new Uint8Array(0)), zn.onnx.OnnxFormatError, "no graph");
  // A model with an op Zeno does not run: every such op is listed.
  const bytes = zn.onnx.exportModelBytes(new zn.nn.Linear(2, 2), [zn.randn([1, 2])]);
  assertThrows(
    () => zn.onnx.loadBytes(replaceBytes(bytes, "MatMul", "MatMuX")),
    zn.onnx.OnnxFormatError,
    "does not run: MatMuX",
  );
});

/** `bytes` with every occurrence of ASCII `from` replaced by `to` (the same length). */
function replaceBytes(bytes: Uint8Array, from: string, to: string): Uint8Array {
  assert(from.length === to.length);
  const out = bytes.slice();
  let found = 0;
  for (let i = 0; i + from.length <= out.length; i++) {
    let hit = true;
    for (let k = 0; k < from.length && hit; k++) hit = out[i + k] === from.charCodeAt(k);
    if (!hit) continue;
    for (let k = 0; k < to.length; k++) out[i + k] = to.charCodeAt(k);
    found++;
  }
  assert(found > 0, `${from} not found`);
  return out;
}

Deno.test("onnx load: external data outside the model's folder is refused", async () => {
  const c = fixtures.cases.mlp;
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(new URL(`./fixtures/onnx/${c.file}`, import.meta.url));
    // The same length, so that the protobuf stays valid.
    await Deno.writeFile(`${dir}/m.onnx`, replaceBytes(bytes, "mlp.onnx.data", "../x.onnx.dat"));
    let err: unknown;
    try {
      await zn.onnx.load(`${dir}/m.onnx`);
    } catch (e) {
      err = e;
    }
    assert(
      err instanceof zn.onnx.OnnxFormatError && /outside the model's folder/.test(err.message),
      String(err),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onnx load: corrupted files fail with an error, never a crash or a huge allocation", () => {
  zn.manualSeed(12);
  const net = new zn.nn.Sequential(
    new zn.nn.Linear(6, 5),
    new zn.nn.ReLU(),
    new zn.nn.Linear(5, 2),
  );
  const bytes = zn.onnx.exportModelBytes(net, [zn.randn([2, 6])], {
    dynamicAxes: { input_0: [0] },
  });
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let loaded = 0, refused = 0;
  for (let trial = 0; trial < 300; trial++) {
    const b = bytes.slice();
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
      b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    }
    const cut = rand() < 0.2 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    try {
      const m = zn.onnx.loadBytes(cut);
      loaded++;
      try {
        m.call(zn.randn([3, 6]));
      } catch (e) {
        assert(e instanceof Error, String(e));
      }
    } catch (e) {
      assert(e instanceof Error, String(e));
      refused++;
    }
  }
  assert(refused > 50 && loaded + refused === 300, `${loaded} loaded, ${refused} refused`);
});
