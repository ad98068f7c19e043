// Tensor lifetimes (dispose, using, tidy, keep) and device plumbing, on the
// CPU: these run everywhere, GPU or not.
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { type Backend, registerBackend, type Storage, type View } from "../src/backend.ts";
import { STORAGE_CTOR, type TypedArray } from "../src/dtype.ts";
import { Tensor } from "../src/tensor.ts";

Deno.test("dispose marks the tensor and its views; use throws", () => {
  const t = zn.ones([4]);
  const v = t.reshape([2, 2]);
  assert(!t.isDisposed);
  t.dispose();
  t.dispose(); // idempotent
  assert(t.isDisposed);
  assert(v.isDisposed, "a view shares the released memory");
  assertThrows(() => t.toArray(), Error, "tensor was disposed");
  assertThrows(() => v.add(1), Error, "tensor was disposed");
  assertThrows(() => t.reshape([4]), Error, "tensor was disposed");
});

Deno.test("using disposes at the end of the block", () => {
  let keepRef: zn.Tensor;
  {
    using t = zn.zeros([3]);
    keepRef = t;
    assertEquals(t.sum().item(), 0);
  }
  assert(keepRef.isDisposed);
});

Deno.test("dispose of a view of a held tensor keeps the holder's memory", () => {
  const p = new zn.nn.Parameter(zn.ones([3]));
  const d = p.detach();
  d.dispose();
  assert(!p.isDisposed);
  assertEquals(p.toArray(), [1, 1, 1]);
  p.dispose();
  assert(p.isDisposed);
});

Deno.test("tidy releases temporaries and keeps what the result reaches", () => {
  let tmp!: zn.Tensor;
  const r = zn.tidy(() => {
    tmp = zn.ones([3]).mul(2);
    const a = tmp.add(1);
    return { a, list: [a.mul(2), new Map([["k", a.sub(1)]])], n: 3 };
  });
  assert(tmp.isDisposed);
  assert(!r.a.isDisposed);
  assertEquals((r.list[0] as zn.Tensor).toArray(), [6, 6, 6]);
  assertEquals((r.list[1] as Map<string, zn.Tensor>).get("k")!.toArray(), [2, 2, 2]);
});

Deno.test("tidy: a returned view keeps its base's memory", () => {
  let base!: zn.Tensor;
  const v = zn.tidy(() => {
    base = zn.arange(6).to("float32");
    return base.reshape([2, 3]).transpose(0, 1);
  });
  assert(!base.isDisposed);
  assertEquals(v.toArray(), [[0, 3], [1, 4], [2, 5]]);
});

Deno.test("tidy: outer tensors are never released by an inner scope", () => {
  const x = zn.ones([2]);
  zn.tidy(() => {
    x.reshape([2, 1]).add(1);
  });
  assert(!x.isDisposed);
});

Deno.test("tidy: nested scopes hand returned tensors to the outer scope", () => {
  let inner!: zn.Tensor;
  let innerTmp!: zn.Tensor;
  zn.tidy(() => {
    inner = zn.tidy(() => {
      innerTmp = zn.ones([2]).add(1);
      return innerTmp.mul(3);
    });
    assert(innerTmp.isDisposed);
    assert(!inner.isDisposed);
    assertEquals(zn.scopeDepth(), 1);
  });
  assert(inner.isDisposed, "the outer scope did not return it");
  assertEquals(zn.scopeDepth(), 0);
});

Deno.test("tidy: keep survives until dispose", () => {
  let k!: zn.Tensor;
  zn.tidy(() => {
    k = zn.keep(zn.ones([2]).add(1));
  });
  assert(!k.isDisposed);
  assertEquals(k.toArray(), [2, 2]);
  k.dispose();
  assert(k.isDisposed);
});

Deno.test("tidy: a throwing function releases its tensors and rethrows", () => {
  let t!: zn.Tensor;
  assertThrows(
    () =>
      zn.tidy(() => {
        t = zn.ones([2]).add(1);
        throw new Error("boom");
      }),
    Error,
    "boom",
  );
  assert(t.isDisposed);
  assertEquals(zn.scopeDepth(), 0);
});

Deno.test("tidy refuses a Promise", () => {
  assertThrows(
    // deno-lint-ignore require-await
    () => zn.tidy(async () => zn.ones([1])),
    TypeError,
    "synchronous",
  );
  assertEquals(zn.scopeDepth(), 0);
});

Deno.test("tidy: parameters, buffers, grads and optimizer state survive; old grads do not", () => {
  const net = new zn.nn.Sequential(new zn.nn.Linear(3, 4), new zn.nn.BatchNorm1d(4));
  const opt = new zn.optim.Adam(net.parameters(), { lr: 0.01 });
  const x = zn.randn([5, 3]);
  const w = (net.at(0) as zn.nn.Linear).weight;
  let firstGrad!: zn.Tensor;
  zn.tidy(() => {
    net.call(x).square().mean().backward();
    firstGrad = w.grad!;
    net.call(x).square().mean().backward(); // accumulates: replaces the .grad
    assert(!firstGrad.isDisposed, "released at the end of the scope, not before");
    opt.step();
  });
  assert(firstGrad.isDisposed);
  assert(!w.isDisposed);
  assert(!w.grad!.isDisposed);
  for (const b of net.buffers()) assert(!b.isDisposed);
  for (const s of opt.state.values()) {
    for (const v of Object.values(s)) if (v instanceof Tensor) assert(!v.isDisposed);
  }
  const g = w.grad!;
  zn.tidy(() => {
    opt.zeroGrad();
    assert(!g.isDisposed);
  });
  assert(g.isDisposed, "zeroGrad let the enclosing scope release the old grad");
  assertEquals(w.grad, null);
});

Deno.test("tidy: a training loop keeps nothing but the model and optimizer", () => {
  zn.manualSeed(0);
  const net = new zn.nn.Sequential(
    new zn.nn.Linear(4, 8),
    new zn.nn.ReLU(),
    new zn.nn.Linear(8, 2),
  );
  const opt = new zn.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  const x = zn.randn([16, 4]);
  const y = zn.randint(0, 2, [16]);
  const created: zn.Tensor[] = [];
  let last = Infinity;
  for (let i = 0; i < 30; i++) {
    last = zn.tidy(() => {
      opt.zeroGrad();
      const logits = net.call(x);
      created.push(logits);
      const loss = zn.nn.functional.crossEntropy(logits, y);
      loss.backward();
      opt.step();
      return loss.item() as number;
    });
  }
  assert(created.every((t) => t.isDisposed));
  assert(last < 0.7, `loss ${last}`);
});

Deno.test("tidy: zn.grad results are returned; backward drops saved tensors", () => {
  const x = zn.tensor([3.0], { requiresGrad: true });
  const [dx] = zn.tidy(() => zn.grad(x.mul(x).sum(), x));
  assertEquals(dx!.toArray(), [6]);
  const y = x.mul(x).sum();
  y.backward();
  assertEquals(y.gradFn!.released, true);
  assertEquals(y.gradFn!.saved, null);
});

Deno.test("to: dtype, device and options forms", () => {
  const x = zn.tensor([1.5, 2.5]);
  assertEquals(x.to("int32").toArray(), [1, 2]);
  assert(x.to("cpu") === x);
  assert(x.cpu() === x);
  const y = x.to("cpu", "float64");
  assertEquals(y.dtype, "float64");
  assertEquals(x.to({ dtype: "float16" }).dtype, "float16");
  assert(x.to({ device: "cpu" }) === x);
  assertThrows(() => x.to("tpu:0"), Error, "unknown device");
  assertThrows(() => x.to("float8" as zn.DType), TypeError, "float8");
});

Deno.test("Module.to keeps the same Parameter objects", () => {
  const net = new zn.nn.Linear(3, 2);
  const w = net.weight;
  assert(net.to("cpu") === net);
  assert(net.cpu().weight === w);
  assertEquals(w.device, "cpu");
});

Deno.test("safetensors load takes a device option", () => {
  const bytes = zn.serialize({ w: zn.tensor([1, 2]) });
  assertEquals(zn.deserialize(bytes, { device: "cpu" }).w.toArray(), [1, 2]);
});

// ---------------------------------------------------------------- CUDA without a GPU

Deno.test({
  name: "cuda: unavailable here gives one clear error",
  ignore: zn.cuda.isAvailable(),
  fn() {
    assertEquals(zn.cuda.isAvailable(), false);
    assertEquals(zn.cuda.deviceCount(), 0);
    assert(zn.cuda.unavailableReason().length > 0);
    assertThrows(() => zn.randn([2], { device: "cuda" }), Error, "CUDA is not available: ");
    assertThrows(() => zn.zeros([2], { device: "cuda:0" }), Error, "CUDA is not available: ");
    assertThrows(() => zn.ones([2]).cuda(), Error, "CUDA is not available: ");
    assertThrows(() => zn.ones([2]).to("cuda"), Error, "CUDA is not available: ");
    assertThrows(() => new zn.nn.Linear(2, 2).cuda(), Error, "CUDA is not available: ");
    assertThrows(() => zn.cuda.memoryAllocated(), Error, "CUDA is not available: ");
    assertThrows(() => zn.cuda.synchronize(), Error, "CUDA is not available: ");
    assertEquals(zn.cuda.matmul.allowTF32, false);
  },
});

Deno.test("cuda: malformed device strings", () => {
  assertThrows(() => zn.zeros([1], { device: "cuda:x" }), RangeError, "invalid device");
  assertThrows(() => zn.zeros([1], { device: "cuda:-1" }), RangeError, "invalid device");
});

// ---------------------------------------------------------------- cross-device errors

/** A device whose memory is host memory but whose kernels do not exist: ops must stop earlier. */
class FakeStorage implements Storage {
  readonly device = "fake:0";
  disposed = false;
  owners = 0;
  tracked = false;
  constructor(readonly data: TypedArray) {}
  get length(): number {
    return this.data.length;
  }
  dispose(): void {
    this.disposed = true;
  }
}
const noKernel = (): never => {
  throw new Error("fake device: no kernel (a device check is missing)");
};
const fake: Backend = {
  device: "fake:0",
  alloc: (dtype, n) => new FakeStorage(new STORAGE_CTOR[dtype](n)),
  fromHost: (_d, data) => new FakeStorage(data.slice() as TypedArray),
  toHost: (x: View) => {
    const s = x.storage as FakeStorage;
    return s.data.slice(x.offset, x.offset + x.shape.reduce((a, b) => a * b, 1)) as TypedArray;
  },
  fill: () => {},
  copy: noKernel,
  unary: noKernel,
  binary: noKernel,
  where: noKernel,
  reduce: noKernel,
  scan: noKernel,
  softmax: noKernel,
  matmul: noKernel,
  indexSelect: noKernel,
  gather: noKernel,
  scatter: noKernel,
  sort: noKernel,
  optimStep: noKernel,
  window2d: noKernel,
};
registerBackend(fake);

Deno.test("cross-device ops name the op and both devices", () => {
  const c = zn.ones([2, 2]);
  const f = zn.ones([2, 2], { device: "fake:0" });
  assertEquals(f.device, "fake:0");
  const msg = "expected all tensors on the same device, but found";
  assertThrows(() => c.add(f), Error, `add: ${msg} cpu and fake:0`);
  assertThrows(() => c.mul(f), Error, "mul: ");
  assertThrows(() => zn.matmul(c, f), Error, `matmul: ${msg}`);
  assertThrows(() => zn.where(c.gt(0), c, f), Error, `where: ${msg}`);
  assertThrows(() => zn.cat([c, f]), Error, `cat: ${msg}`);
  assertThrows(() => zn.stack([c, f]), Error, msg);
  const fi = zn.zeros([2, 2], { dtype: "int64", device: "fake:0" });
  assertThrows(() => c.gather(1, fi), Error, `gather: ${msg}`);
  assertThrows(() => c.scatter(1, fi, 1), Error, `scatter: ${msg}`);
  assertThrows(() => c.indexSelect(0, fi.reshape([4])), Error, `indexSelect: ${msg}`);
  assertThrows(() => c.index(fi), Error, `index: ${msg}`);
  assertThrows(
    () => c.maskedFill(zn.ones([2, 2], { dtype: "bool", device: "fake:0" }), 0),
    Error,
    `maskedFill: ${msg}`,
  );
  // copy_ copies across devices, as in PyTorch.
  const src = zn.tensor([[3, 4], [5, 6]], { dtype: "float32", device: "fake:0" });
  assertEquals(c.clone().copy_(src).toArray(), [[3, 4], [5, 6]]);
  assertThrows(() => zn.nn.functional.mseLoss(c, f), Error, `mseLoss: ${msg}`);
  assertThrows(
    () => zn.nn.functional.crossEntropy(c, fi.select(1, 0)),
    Error,
    `crossEntropy: ${msg}`,
  );
  const p = zn.ones([2], { requiresGrad: true });
  p.grad = zn.ones([2], { device: "fake:0" });
  const opt = new zn.optim.SGD([p], { lr: 0.1 });
  assertThrows(() => opt.step(), Error, `optimizer step: ${msg} cpu and fake:0`);
});

Deno.test("a CPU kernel refuses memory of another device", async () => {
  const { cpuBackend } = await import("../src/cpu_backend.ts");
  const f = zn.ones([2], { device: "fake:0" });
  const c = zn.ones([2]);
  assertThrows(() => cpuBackend.binary("add", c, f, c), Error, "add: expected all tensors");
});
