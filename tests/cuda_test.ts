// The CUDA backend against the CPU backend: the same random inputs through
// every op family on both devices. Needs a GPU: without one every test here is
// registered as ignored (tests/lifetime_test.ts covers the no-GPU behaviour).
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import type { DType } from "../src/dtype.ts";
import { RECURRENT_LAYERS } from "../src/nn/rnn_fused.ts";

const GPU = zn.cuda.isAvailable();
if (!GPU) {
  console.log(`cuda_test.ts: skipped, CUDA is not available: ${zn.cuda.unavailableReason()}`);
}

function gpuTest(name: string, fn: () => void): void {
  Deno.test({ name: `cuda: ${name}`, ignore: !GPU, fn });
}

const DEV = "cuda:0";

/** Flat numbers of a tensor (bool as 0/1, int64 as numbers). */
function flat(t: zn.Tensor): number[] {
  const a = t.dtype === "float16" || t.dtype === "bfloat16" ? t.to("float32") : t;
  return Array.from(a.toTypedArray() as ArrayLike<number | bigint>, Number);
}

/** Asserts that a CUDA result matches the CPU one (shape, dtype, values). */
function same(cpu: zn.Tensor, gpu: zn.Tensor, what: string, tol?: number): void {
  assertEquals(gpu.device, DEV, `${what}: device`);
  assertEquals(gpu.shape, cpu.shape, `${what}: shape`);
  assertEquals(gpu.dtype, cpu.dtype, `${what}: dtype`);
  const a = flat(cpu), b = flat(gpu);
  const t = tol ?? (cpu.dtype === "float64" ? 1e-10 : cpu.dtype === "float32" ? 2e-5 : 0);
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const err = Math.abs(x - y) / Math.max(1, Math.abs(x));
    assert(err <= t, `${what}: element ${i}: cpu ${x}, cuda ${y} (rel err ${err}, tol ${t})`);
  }
}

/** Runs `f` on CPU inputs and on copies on the GPU and compares. */
function both(
  what: string,
  inputs: zn.Tensor[],
  f: (...xs: zn.Tensor[]) => zn.Tensor | zn.Tensor[],
  tol?: number,
): void {
  const rc = f(...inputs);
  const rg = f(...inputs.map((x) => x.to(DEV)));
  const lc = Array.isArray(rc) ? rc : [rc];
  const lg = Array.isArray(rg) ? rg : [rg];
  lc.forEach((c, i) => same(c, lg[i], `${what}[${i}]`, tol));
}

function rnd(shape: number[], dtype: DType = "float32"): zn.Tensor {
  return zn.randn(shape, { dtype: dtype === "float64" ? "float64" : "float32" }).to(dtype);
}

zn.manualSeed(42);

gpuTest("device facts and the management API", () => {
  assert(zn.cuda.deviceCount() >= 1);
  assert(zn.cuda.getDeviceName(0).length > 0);
  const p = zn.cuda.getDeviceProperties(0);
  assert(p.totalMemory > 1e9 && p.multiProcessorCount > 0 && p.major >= 5);
  zn.cuda.synchronize();
  zn.cuda.resetPeakMemoryStats();
  const s = zn.cuda.memoryStats();
  assert(s.reservedBytes >= s.allocatedBytes);
  assertEquals(zn.cuda.maxMemoryAllocated(), zn.cuda.memoryAllocated());
  zn.cuda.emptyCache();
  assertThrows(() => zn.zeros([1], { device: "cuda:4096" }), RangeError, "out of range");
  const prev = zn.cuda.matmul.allowTF32;
  zn.cuda.matmul.allowTF32 = true;
  assert(zn.cuda.matmul.allowTF32);
  zn.cuda.matmul.allowTF32 = prev;
});

gpuTest("round trips, creation and fill for every dtype", () => {
  const dtypes: DType[] = [
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
  ];
  for (const d of dtypes) {
    const c = zn.tensor([[0, 1, 2], [3, 4, 5]]).to(d);
    const g = c.to("cuda");
    assertEquals(g.device, DEV);
    assertEquals(g.cpu().toArray(), c.toArray(), d);
    same(c.mT.contiguous(), g.mT.contiguous(), `transpose copy ${d}`);
    same(zn.full([3, 2], 1, { dtype: d }), zn.full([3, 2], 1, { dtype: d, device: "cuda" }), d);
    same(zn.zeros([5], { dtype: d }), zn.zeros([5], { dtype: d, device: "cuda" }), d);
    const f = zn.zeros([4, 4], { dtype: d, device: "cuda" });
    f.narrow(1, 1, 2).fill_(d === "bool" ? true : 3);
    const fc = zn.zeros([4, 4], { dtype: d });
    fc.narrow(1, 1, 2).fill_(d === "bool" ? true : 3);
    same(fc, f, `strided fill ${d}`);
  }
  for (const d of ["float32", "float64", "int64", "int32", "bool"] as DType[]) {
    for (
      const e of ["float32", "float64", "int64", "int32", "uint8", "bool", "float16"] as DType[]
    ) {
      both(`convert ${d}->${e}`, [rnd([3, 4], d === "bool" ? "float32" : d).to(d)], (x) => x.to(e));
    }
  }
  zn.manualSeed(3);
  const a = zn.randn([3, 3]);
  zn.manualSeed(3);
  const b = zn.randn([3, 3], { device: "cuda" });
  same(a, b, "randn generates on the host and uploads");
  same(zn.arange(10), zn.arange(10, { device: "cuda" }), "arange");
  same(zn.eye(3), zn.eye(3, { device: "cuda" }), "eye");
  same(zn.linspace(0, 1, 7), zn.linspace(0, 1, 7, { device: "cuda" }), "linspace");
  zn.manualSeed(5);
  const ri = zn.randint(0, 9, [20]);
  zn.manualSeed(5);
  same(ri, zn.randint(0, 9, [20], { device: "cuda" }), "randint");
  assertEquals(zn.tensor([1, 2], { device: "cuda" }).item === undefined, false);
  assertEquals(zn.tensor([7.5], { device: "cuda" }).item(), 7.5);
  assert(String(zn.ones([2], { device: "cuda" })).includes("1"));
});

const UNARY_F = [
  "neg",
  "abs",
  "sign",
  "exp",
  "tanh",
  "sigmoid",
  "relu",
  "sin",
  "cos",
  "floor",
  "ceil",
  "round",
  "trunc",
  "square",
  "erf",
  "atan",
  "sinh",
  "cosh",
  "asinh",
] as const;

gpuTest("unary ops on contiguous and strided inputs", () => {
  for (const d of ["float32", "float64"] as DType[]) {
    const x = rnd([6, 5], d);
    for (const op of UNARY_F) {
      both(`${op} ${d}`, [x], (t) => (t as unknown as Record<string, () => zn.Tensor>)[op]());
      both(
        `${op} ${d} strided`,
        [x],
        (t) => (t.mT as unknown as Record<string, () => zn.Tensor>)[op](),
      );
    }
    both(`log/sqrt ${d}`, [x], (t) => [t.abs().add(0.1).log(), t.abs().sqrt(), t.abs().rsqrt()]);
    both(`inverse trigonometric ${d}`, [x.tanh()], (t) => [t.asin(), t.acos(), t.atanh()]);
    both(`acosh ${d}`, [x.abs().add(1)], (t) => t.acosh());
    both(`gelu/silu ${d}`, [x], (t) => [
      zn.nn.functional.gelu(t),
      zn.nn.functional.silu(t),
      zn.nn.functional.softplus(t),
      zn.nn.functional.leakyRelu(t, 0.1),
      zn.nn.functional.elu(t),
    ]);
    both(`isnan/nanToNum ${d}`, [x.div(0)], (t) => [t.isnan(), t.isinf(), t.nanToNum()]);
  }
  for (const d of ["int64", "int32"] as DType[]) {
    both(
      `int unary ${d}`,
      [zn.randint(-5, 5, [4, 4], { dtype: d })],
      (t) => [t.neg(), t.abs(), t.sign()],
    );
  }
  both("logicalNot", [zn.randn([8]).gt(0)], (t) => t.logicalNot());
});

gpuTest("binary ops with broadcasting, transposes and promotion", () => {
  for (const d of ["float32", "float64"] as DType[]) {
    const a = rnd([4, 5], d), b = rnd([5], d), c = rnd([5, 4], d), s = rnd([4, 1], d);
    for (const op of ["add", "sub", "mul", "div", "maximum", "minimum", "atan2"] as const) {
      both(`${op} ${d}`, [a, b, c, s], (x, y, z, w) => [
        zn[op](x, y),
        zn[op](x, z.mT),
        zn[op](w, y),
        zn[op](x, 2.5),
      ]);
    }
    both(`pow ${d}`, [a.abs(), b], (x, y) => [x.pow(y), x.pow(2), x.pow(0.5)]);
    both(`remainder ${d}`, [a, b.abs().add(0.5)], (x, y) => [
      x.remainder(y),
      x.floorDivide(y),
      x.fmod(y),
      x.copysign(y.neg()),
    ]);
    for (const op of ["eq", "ne", "lt", "le", "gt", "ge"] as const) {
      both(`${op} ${d}`, [a, b], (x, y) => zn[op](x, y));
    }
  }
  for (const d of ["int64", "int32", "int16", "int8", "uint8"] as DType[]) {
    const a = zn.randint(1, 20, [3, 4], { dtype: d }), b = zn.randint(1, 5, [4], { dtype: d });
    both(`int arithmetic ${d}`, [a, b], (x, y) => [
      x.add(y),
      x.sub(y),
      x.mul(y),
      x.floorDivide(y),
      x.remainder(y),
      x.fmod(y),
      x.div(y),
      x.maximum(y),
      x.lt(y),
    ]);
  }
  const p = zn.randn([6]).gt(0), q = zn.randn([6]).gt(0);
  both(
    "bool logic",
    [p, q],
    (x, y) => [x.logicalAnd(y), x.logicalOr(y), x.logicalXor(y), x.add(y)],
  );
  both("mixed dtypes promote", [zn.randint(0, 5, [3]), zn.randn([3])], (x, y) => x.add(y));
  both(
    "float16 storage",
    [zn.randn([7]).to("float16"), zn.randn([7]).to("float16")],
    (x, y) => x.mul(y),
    1e-2,
  );
  both(
    "bfloat16 storage",
    [zn.randn([7]).to("bfloat16"), zn.randn([7]).to("bfloat16")],
    (x, y) => x.add(y),
    1e-2,
  );
  // The CPU keeps a number in float32 beside half elements (its scalar
  // kernel); a backend without one gives the same values its own way.
  both(
    "half storage with plain numbers",
    [zn.randn([7]).to("bfloat16"), zn.randn([7]).to("float16")],
    (x, y) => [x.mul(2), x.mul(0.1), zn.sub(0.3, y), y.div(3), y.lt(0.2)],
    1e-2,
  );
});

gpuTest("where, clamp, lerp, in-place ops", () => {
  const x = zn.randn([5, 6]), y = zn.randn([6]);
  both(
    "where",
    [x, y],
    (a, b) => [zn.where(a.gt(0), a, b), zn.where(a.gt(0), a, 0), a.clamp(-0.5, 0.5)],
  );
  both("lerp", [x, y], (a, b) => a.lerp(b, 0.3));
  both("in place", [x, y], (a, b) => {
    const c = a.clone();
    c.add_(b).mul_(2).sub_(1).div_(3).clamp_(-1, 1);
    c.narrow(0, 1, 2).zero_();
    c.select(1, 3).copy_(b.narrow(0, 0, 5));
    return c;
  });
});

gpuTest("reductions along each axis, scans, softmax", () => {
  for (const d of ["float32", "float64"] as DType[]) {
    const x = rnd([3, 4, 5], d);
    for (const dim of [0, 1, 2, -1]) {
      both(`reduce dim ${dim} ${d}`, [x], (t) => [
        t.sum(dim),
        t.mean(dim, true),
        t.prod(dim),
        t.amax(dim),
        t.amin(dim),
        t.argmax(dim),
        t.argmin(dim),
        t.var(dim),
        t.std(dim, { correction: 0 }),
        t.logsumexp(dim),
        t.norm(2, dim),
        t.norm(1, dim),
        t.max(dim).values,
        t.max(dim).indices,
        t.gt(0).all(dim),
        t.gt(0).any(dim),
        t.cumsum(dim),
        t.cumprod(dim),
        t.logcumsumexp(dim),
        t.softmax(dim),
        t.logSoftmax(dim),
      ], d === "float32" ? 1e-4 : 1e-9);
      both(`reduce strided dim ${dim} ${d}`, [x], (t) => [t.mT.sum(dim), t.mT.softmax(dim)], 1e-4);
    }
    both(
      `full reductions ${d}`,
      [x],
      (t) => [t.sum(), t.mean(), t.amax(), t.argmax(), t.norm()],
      1e-4,
    );
  }
  both(
    "int sums",
    [zn.randint(-9, 9, [4, 6])],
    (t) => [t.sum(0), t.sum(), t.prod(1), t.amax(1), t.cumsum(1)],
  );
});

gpuTest("matmul: 2-D, batched, transposed, broadcast, vectors", () => {
  for (const d of ["float32", "float64"] as DType[]) {
    const tol = d === "float32" ? 1e-4 : 1e-10;
    const a = rnd([7, 9], d), b = rnd([9, 5], d), bt = rnd([5, 9], d);
    const ba = rnd([3, 7, 9], d), bb = rnd([3, 9, 5], d), v = rnd([9], d);
    both(`matmul ${d}`, [a, b, bt, ba, bb, v], (a, b, bt, ba, bb, v) => [
      a.matmul(b),
      a.matmul(bt.mT),
      b.mT.matmul(a.mT),
      ba.matmul(bb),
      ba.matmul(b),
      a.matmul(bb),
      ba.mT.mT.matmul(bb.transpose(1, 2).transpose(1, 2)),
      a.matmul(v),
      v.matmul(b),
      v.matmul(v),
    ], tol);
  }
  const big = zn.randn([256, 512]), big2 = zn.randn([512, 128]);
  both("matmul 256x512x128", [big, big2], (x, y) => x.matmul(y), 1e-3);
  // (tests/cuda_mock.ts runs the CPU kernels, which have no half-precision matmul)
  if (!zn.cuda.getDeviceName(0).startsWith("Mock")) {
    both("matmul bfloat16", [big.to("bfloat16"), big2.to("bfloat16")], (x, y) => x.matmul(y), 5e-2);
  }
  // TF32 rounds the inputs to 10 mantissa bits (relative error up to 2^-11),
  // so a sum of 512 products of N(0, 1) values is off by about 0.01 and, over
  // 32,768 outputs, by up to about 0.05; it must also differ from float32
  // somewhere, or the switch did nothing.
  zn.cuda.matmul.allowTF32 = true;
  try {
    both("matmul TF32", [big, big2], (x, y) => x.matmul(y), 0.1);
    const tf32 = big.to(DEV).matmul(big2.to(DEV));
    zn.cuda.matmul.allowTF32 = false;
    const diff = Number(tf32.sub(big.to(DEV).matmul(big2.to(DEV))).abs().max().item());
    // (the host stand-in of tests/cuda_mock.ts has no TF32)
    if (!zn.cuda.getDeviceName(0).startsWith("Mock")) {
      assert(diff > 1e-4, `allowTF32 changed nothing (max diff ${diff})`);
    }
  } finally {
    zn.cuda.matmul.allowTF32 = false;
  }
});

gpuTest("indexing, gather/scatter, sort, join", () => {
  const x = zn.randn([6, 5]);
  const idx = zn.tensor([4n, 0n, 2n, -1n]);
  both("basic and advanced indexing", [x, idx], (t, i) => [
    t.index({ start: 1, stop: 5, step: 2 }),
    t.index(zn.newaxis, "...", 2),
    t.index(i),
    t.index([0, 2], [1, 3]),
    t.index(t.gt(0)),
    t.indexSelect(1, i.abs()),
  ]);
  both("cpu index tensor on a cuda tensor", [x], (t) => t.index(zn.tensor([1n, 3n])));
  const gi = zn.randint(0, 5, [6, 3]);
  // scatter with repeated indices keeps an unspecified one of the writes (in
  // PyTorch too), so it gets distinct indices per row: the first 3 of a
  // random permutation of 0..4.
  const gu = zn.rand([6, 5]).argsort(1).narrow(1, 0, 3).contiguous();
  both("gather/scatter", [x, gi, zn.randn([6, 3]), gu], (t, g, s, u) => [
    t.gather(1, g),
    t.scatter(1, u, s),
    t.scatterAdd(1, g, s),
    t.maskedFill(t.lt(0), 0),
    // prod, amax and amin combine on the host, sum and mean on the device.
    ...(["sum", "prod", "mean", "amax", "amin"] as const).map((r) =>
      t.scatterReduce(1, g, s, r, { includeSelf: r !== "amin" })
    ),
  ]);
  both("indexPut_", [x], (t) => t.clone().indexPut_([zn.tensor([0n, 2n])], 7));
  both("sort/topk", [x], (t) => [
    t.sort(1).values,
    t.sort(1).indices,
    t.sort(0, true).values,
    t.topk(2).values,
    t.topk(2, 0, false).indices,
  ]);
  both("cat/stack/split/tril", [x, zn.randn([6, 2])], (a, b) => [
    zn.cat([a, b], 1),
    zn.stack([a, a.neg()]),
    ...a.split(2, 0),
    a.tril(),
    a.triu(1),
    zn.oneHot(zn.tensor([0n, 2n, 1n]).to(a.device), 4),
  ]);
});

gpuTest("autograd: gradients on the GPU and through .to()", () => {
  const xc = zn.randn([4, 3], { requiresGrad: true });
  const wc = zn.randn([3, 2], { requiresGrad: true });
  const xg = xc.detach().to(DEV).requiresGrad_();
  const wg = wc.detach().to(DEV).requiresGrad_();
  xc.matmul(wc).tanh().softmax(1).mul(zn.arange(2)).sum().backward();
  xg.matmul(wg).tanh().softmax(1).mul(zn.arange(2, { device: DEV })).sum().backward();
  same(xc.grad!, xg.grad!, "dx", 1e-4);
  same(wc.grad!, wg.grad!, "dw", 1e-4);
  // A CPU leaf used on the GPU gets its gradient on the CPU.
  const a = zn.randn([3], { requiresGrad: true });
  a.to("cuda").mul(2).sum().backward();
  assertEquals(a.grad!.device, "cpu");
  assertEquals(a.grad!.toArray(), [2, 2, 2]);
});

gpuTest("conv2d forward and backward, pooling", () => {
  const x = zn.randn([2, 3, 9, 9]), w = zn.randn([4, 3, 3, 3]), b = zn.randn([4]);
  const run = (x: zn.Tensor, w: zn.Tensor, b: zn.Tensor) => {
    const xr = x.detach().requiresGrad_(), wr = w.detach().requiresGrad_();
    const br = b.detach().requiresGrad_();
    const F = zn.nn.functional;
    const y = F.conv2d(xr, wr, br, { stride: 2, padding: 1 });
    const z = F.maxPool2d(y.relu(), 2).sum().add(F.avgPool2d(y, 2).square().sum())
      .add(F.adaptiveAvgPool2d(y, [2, 2]).sum());
    z.backward();
    return [y, xr.grad!, wr.grad!, br.grad!];
  };
  both("conv2d", [x, w, b], run, 1e-4);
});

/** Counts the calls of the CUDA backend's method `name` while `f` runs. */
function countCalls(name: string, f: () => void): number {
  const be = zn.zeros([1], { device: DEV }).backend as unknown as Record<string, unknown>;
  const original = be[name] as (...args: unknown[]) => unknown;
  let calls = 0;
  be[name] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    f();
  } finally {
    be[name] = original;
  }
  return calls;
}

gpuTest("LSTM and GRU layers run the fused recurrence and match the CPU, gradients too", () => {
  for (const kind of ["LSTM", "GRU"] as const) {
    zn.manualSeed(3);
    const opts = { numLayers: 2, bidirectional: true, batchFirst: true };
    const make = () => kind === "LSTM" ? new zn.nn.LSTM(6, 9, opts) : new zn.nn.GRU(6, 9, opts);
    const m = make(), mg = make();
    mg.loadStateDict(m.stateDict());
    mg.to(DEV);
    const x = zn.randn([5, 7, 6]);
    const run = (net: zn.nn.Module, input: zn.Tensor): zn.Tensor[] => {
      const xr = input.detach().requiresGrad_();
      const [y, state] = (net as zn.nn.LSTM).call(xr) as unknown as [
        zn.Tensor,
        zn.Tensor | zn.Tensor[],
      ];
      const states = Array.isArray(state) ? state : [state];
      let loss = y.square().sum();
      for (const st of states) loss = loss.add(st.mul(0.5).sum());
      loss.backward();
      const grads = [...net.parameters()].map((p) => p.grad!);
      return [y.detach(), ...states.map((t) => t.detach()), xr.grad!, ...grads];
    };
    const cpu = run(m, x);
    let gpu: zn.Tensor[] = [];
    const fused = countCalls(kind === "LSTM" ? "lstm" : "gru", () => {
      gpu = run(mg, x.to(DEV));
    });
    assertEquals(fused, 4, `${kind}: fused layer calls (2 layers x 2 directions)`);
    cpu.forEach((c, i) => same(c, gpu[i], `${kind} result ${i}`, 1e-4));
  }
});

gpuTest("the fused LSTM and GRU layer functions match the CPU in float64, both directions", () => {
  zn.manualSeed(5);
  const [t, b, i, h] = [6, 4, 5, 7];
  for (const kind of ["lstm", "gru"] as const) {
    for (const reverse of [false, true]) {
      const g = kind === "lstm" ? 4 : 3;
      const w = [
        zn.randn([g * h, i], { dtype: "float64" }),
        zn.randn([g * h, h], { dtype: "float64" }).mul(0.4),
        zn.randn([g * h], { dtype: "float64" }),
        zn.randn([g * h], { dtype: "float64" }),
      ];
      const x = zn.randn([t, b, i], { dtype: "float64" });
      const h0 = zn.randn([b, h], { dtype: "float64" }),
        c0 = zn.randn([b, h], { dtype: "float64" });
      const run = (...xs: zn.Tensor[]): zn.Tensor[] => {
        const leaves = xs.map((a) => a.detach().requiresGrad_());
        const [xr, wIh, wHh, bIh, bHh, hr, cr] = leaves;
        const weights = { wIh, wHh, bIh, bHh };
        const outs = kind === "lstm"
          ? RECURRENT_LAYERS.lstm(xr, hr, cr, weights, reverse)
          : RECURRENT_LAYERS.gru(xr, hr, weights, reverse);
        outs.reduce(
          (acc: zn.Tensor, o, k) => acc.add(o.mul(k + 1).sin().sum()),
          zn.zeros([], { dtype: "float64", device: xr.device }),
        )
          .backward();
        const used = kind === "lstm" ? leaves : leaves.slice(0, 6);
        return [...outs.map((o) => o.detach()), ...used.map((l) => l.grad!)];
      };
      const inputs = [x, ...w, h0, c0];
      const cpu = run(...inputs);
      let gpu: zn.Tensor[] = [];
      const calls = countCalls(kind, () => {
        gpu = run(...inputs.map((a) => a.to(DEV)));
      });
      assertEquals(calls, 1, `${kind}${reverse ? " reverse" : ""}: fused calls`);
      cpu.forEach((c, k) =>
        same(c, gpu[k], `${kind}${reverse ? " reverse" : ""} float64 result ${k}`, 1e-9)
      );
    }
  }
});

gpuTest(
  "scaledDotProductAttention runs the fused kernel and matches the CPU, gradients too",
  () => {
    const F = zn.nn.functional;
    zn.manualSeed(4);
    // Causal with more keys than queries, plain, a head dim past the fused bound (composed).
    const cases: [number, number, number, number, boolean, number][] = [
      [10, 12, 16, 8, true, 1],
      [9, 9, 40, 40, false, 1],
      [3, 70, 33, 20, true, 1],
      [4, 5, 130, 8, false, 0],
    ];
    for (const dtype of ["float32", "float64"] as const) {
      for (const [l, sl, e, ev, causal, fusedCalls] of cases) {
        const q = zn.randn([2, 3, l, e], { dtype }), k = zn.randn([2, 3, sl, e], { dtype });
        const v = zn.randn([2, 3, sl, ev], { dtype }), w = zn.randn([2, 3, l, ev], { dtype });
        const run = (...xs: zn.Tensor[]): zn.Tensor[] => {
          const [qr, kr, vr] = xs.slice(0, 3).map((t) => t.detach().requiresGrad_());
          const y = F.scaledDotProductAttention(qr, kr, vr, { isCausal: causal });
          y.mul(xs[3]).sum().backward();
          return [y.detach(), qr.grad!, kr.grad!, vr.grad!];
        };
        const cpu = run(q, k, v, w);
        let gpu: zn.Tensor[] = [];
        const calls = countCalls("attention", () => {
          gpu = run(q.to(DEV), k.to(DEV), v.to(DEV), w.to(DEV));
        });
        const what = `sdpa ${dtype} L${l} S${sl} E${e} Ev${ev}${causal ? " causal" : ""}`;
        assertEquals(calls, fusedCalls, `${what}: fused kernel calls`);
        const tol = dtype === "float64" ? 1e-9 : 2e-4;
        cpu.forEach((c, i) => same(c, gpu[i], `${what} result ${i}`, tol));
      }
    }
  },
);

const OPTIMS: [string, (ps: zn.Tensor[]) => zn.optim.Optimizer<{ lr: number }>][] = [
  ["SGD", (p) => new zn.optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true })],
  ["Adam", (p) => new zn.optim.Adam(p, { lr: 0.01, amsgrad: true })],
  ["AdamW", (p) => new zn.optim.AdamW(p, { lr: 0.01 })],
  ["RMSprop", (p) => new zn.optim.RMSprop(p, { lr: 0.01, momentum: 0.5 })],
  ["Adagrad", (p) => new zn.optim.Adagrad(p, { lr: 0.1 })],
  ["NAdam", (p) => new zn.optim.NAdam(p, { lr: 0.01, weightDecay: 0.1 })],
  ["RAdam", (p) => new zn.optim.RAdam(p, { lr: 0.01, betas: [0.9, 0.9] })],
  ["Adamax", (p) => new zn.optim.Adamax(p, { lr: 0.01 })],
  ["Adadelta", (p) => new zn.optim.Adadelta(p, { lr: 0.5 })],
];

gpuTest("optimizers match the CPU over several steps", () => {
  for (const [name, make] of OPTIMS) {
    zn.manualSeed(1);
    const net = new zn.nn.Sequential(
      new zn.nn.Linear(5, 8),
      new zn.nn.Tanh(),
      new zn.nn.Linear(8, 3),
    );
    const netG = new zn.nn.Sequential(
      new zn.nn.Linear(5, 8),
      new zn.nn.Tanh(),
      new zn.nn.Linear(8, 3),
    );
    netG.loadStateDict(net.stateDict());
    const optC = make([...net.parameters()]);
    const optG = make([...netG.parameters()]); // built before the move: state follows the parameters
    netG.cuda();
    const x = zn.randn([10, 5]), y = zn.randint(0, 3, [10]);
    const xg = x.cuda(), yg = y.cuda();
    for (let i = 0; i < 5; i++) {
      optC.zeroGrad();
      zn.nn.functional.crossEntropy(net.call(x), y).backward();
      optC.step();
      zn.tidy(() => {
        optG.zeroGrad();
        zn.nn.functional.crossEntropy(netG.call(xg), yg).backward();
        optG.step();
      });
    }
    const pc = [...net.parameters()], pg = [...netG.parameters()];
    pc.forEach((p, i) => same(p.detach(), pg[i].detach(), `${name} param ${i}`, 1e-4));
    for (const s of optG.state.values()) {
      for (const v of Object.values(s)) if (v instanceof zn.Tensor) assertEquals(v.device, DEV);
    }
  }
});

gpuTest(
  "optimizers step bfloat16 and float16 parameters with float32 state, as the CPU does",
  () => {
    for (const dtype of ["bfloat16", "float16"] as DType[]) {
      for (const [name, make] of OPTIMS) {
        const p0 = zn.randn([37]).to(dtype);
        const pc = p0.clone().requiresGrad_(true), pg = p0.cuda().requiresGrad_(true);
        const oc = make([pc]), og = make([pg]);
        for (let i = 0; i < 3; i++) {
          const g = zn.randn([37]).to(dtype);
          pc.grad = g;
          pg.grad = g.cuda();
          oc.step();
          og.step();
        }
        same(pc.detach(), pg.detach(), `${name} ${dtype}`, 0);
        for (const s of og.state.values()) {
          for (const v of Object.values(s)) {
            if (v instanceof zn.Tensor) {
              assertEquals(v.dtype, "float32");
            }
          }
        }
      }
    }
  },
);

gpuTest("Module.to moves parameters and buffers in place; safetensors round trip", () => {
  const net = new zn.nn.Sequential(new zn.nn.Conv2d(1, 2, 3), new zn.nn.BatchNorm2d(2));
  const params = [...net.parameters()];
  net.to("cuda");
  [...net.parameters()].forEach((p, i) => {
    assert(p === params[i]);
    assertEquals(p.device, DEV);
  });
  for (const b of net.buffers()) assertEquals(b.device, DEV);
  const bytes = zn.serialize(net.stateDict());
  const back = zn.deserialize(bytes, { device: "cuda" });
  for (const [k, v] of Object.entries(net.stateDict())) same(v.cpu(), back[k], k);
  net.cpu();
  assertEquals(params[0].device, "cpu");
});

gpuTest("dispose and using release device memory at once", () => {
  zn.cuda.synchronize();
  const before = zn.cuda.memoryAllocated();
  const t = zn.zeros([1 << 20], { device: "cuda" });
  assert(zn.cuda.memoryAllocated() >= before + 4 * (1 << 20));
  t.dispose();
  assertEquals(zn.cuda.memoryAllocated(), before);
  assertThrows(() => t.toArray(), Error, "tensor was disposed");
  {
    using u = zn.ones([1 << 18], { device: "cuda" });
    assertEquals(u.sum().item(), 1 << 18);
  }
  zn.tidy(() => {}); // nothing left from the block but the sum's scalar
  const v = zn.tidy(() => zn.ones([1000], { device: "cuda" }).mul(3).sum());
  assertEquals(v.item(), 3000);
  v.dispose();
});

gpuTest("a small MLP trains for 200 steps in tidy with flat device memory", () => {
  zn.manualSeed(0);
  const net = new zn.nn.Sequential(
    new zn.nn.Linear(784, 128),
    new zn.nn.ReLU(),
    new zn.nn.Linear(128, 10),
  ).cuda();
  const opt = new zn.optim.Adam(net.parameters(), { lr: 1e-3 });
  const xs = zn.randn([64, 784], { device: "cuda" });
  const ys = zn.randint(0, 10, [64], { device: "cuda" });
  const seen: number[] = [];
  let first = 0, last = 0;
  for (let step = 0; step < 200; step++) {
    const loss = zn.tidy(() => {
      opt.zeroGrad();
      const l = zn.nn.functional.crossEntropy(net.call(xs), ys);
      l.backward();
      opt.step();
      return l.item() as number;
    });
    if (step === 0) first = loss;
    last = loss;
    if (step >= 5) seen.push(zn.cuda.memoryAllocated());
  }
  assert(last < first, `loss ${first} -> ${last}`);
  const lo = Math.min(...seen), hi = Math.max(...seen);
  assertEquals(hi, lo, `device memory moved between ${lo} and ${hi} bytes`);
});

gpuTest("cross-device operands raise clear errors", () => {
  const c = zn.ones([2, 2]), g = zn.ones([2, 2], { device: "cuda" });
  const msg = "expected all tensors on the same device, but found";
  assertThrows(() => c.add(g), Error, `add: ${msg}`);
  assertThrows(() => g.matmul(c), Error, `matmul: ${msg}`);
  assertThrows(() => zn.cat([g, c]), Error, `cat: ${msg}`);
  assertThrows(() => zn.where(g.gt(0), g, c), Error, `where: ${msg}`);
  assertThrows(() => g.gather(1, zn.zeros([2, 2], { dtype: "int64" })), Error, `gather: ${msg}`);
  assertThrows(() => zn.nn.functional.mseLoss(g, c), Error, `mseLoss: ${msg}`);
  const net = new zn.nn.Linear(2, 2);
  assertThrows(() => net.call(g), Error, msg);
});

gpuTest("out of memory names the allocator's numbers", () => {
  // The largest tensor (2^31 - 1 float64 elements, 16 GiB) repeatedly, until the card is full.
  let err: Error | undefined;
  zn.tidy(() => {
    for (let i = 0; i < 64 && !err; i++) {
      try {
        zn.empty([2 ** 31 - 1], { dtype: "float64", device: "cuda" });
      } catch (e) {
        err = e as Error;
      }
    }
  });
  zn.cuda.emptyCache();
  assert(err, "no out-of-memory error after 1 TiB of allocations");
  assert(err.message.includes("out of memory"), err.message);
  assert(err.message.includes("allocated"), err.message);
  assert(err.message.includes("reserved"), err.message);
  assertEquals(zn.ones([4], { device: "cuda" }).sum().item(), 4); // still usable afterwards
});

gpuTest("linalg: factorizations and their gradients match the CPU's", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const a = rnd([2, 4, 4], dtype);
    const spd = a.matmul(a.mT).add(zn.eye(4, { dtype }).mul(4));
    const b = rnd([2, 4, 3], dtype);
    const L = zn.linalg;
    both(`linalg ${dtype}`, [a, spd, b], (x, s, r) => [
      L.det(x),
      L.inv(x),
      L.solve(x, r),
      L.cholesky(s),
      L.qr(x).R,
      L.eigvalsh(s),
      L.svdvals(x),
      L.pinv(x),
    ], dtype === "float32" ? 1e-4 : 1e-9);
    both(`linalg gradient ${dtype}`, [a], (x) => {
      const leaf = x.detach().requiresGrad_(true);
      L.det(leaf).sum().add(L.inv(leaf).sum()).add(L.svdvals(leaf).sum()).backward();
      return leaf.grad!;
    }, dtype === "float32" ? 1e-3 : 1e-8);
  }
});
