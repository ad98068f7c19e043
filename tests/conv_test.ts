// Convolution and pooling against PyTorch (tests/fixtures/conv.json, written by
// tests/fixtures/make_conv_fixtures.py), gradient checks, and the error paths.
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import { conv1d, conv2d, convTranspose2d } from "../src/nn/functional/conv.ts";
import { adaptiveAvgPool2d, avgPool2d, maxPool1d, maxPool2d } from "../src/nn/functional/pool.ts";

interface Spec {
  shape: number[];
  a: number;
  lo: number;
  hi: number;
}
interface Rec {
  shape: number[];
  step: number;
  data: number[];
}
interface ConvCase {
  name: string;
  op: string;
  dtype: DType;
  args: Record<string, unknown>;
  inputs: { x: Spec; w: Spec | null; b: Spec | null };
  gout: Spec;
  out: Rec;
  indices?: Rec;
  grads: Record<string, Rec>;
  tol?: { rtol: number; atol: number };
  double?: boolean;
}

const CASES: ConvCase[] = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/conv.json", import.meta.url)),
).cases;

/** The fixture formula: element i = lo + (hi - lo) * (((i * a + 11) % 1009) / 1008). */
function make(s: Spec, dtype: DType, requiresGrad = false): Tensor {
  const n = s.shape.reduce((p, q) => p * q, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = s.lo + (s.hi - s.lo) * (((i * s.a + 11) % 1009) / 1008);
  const t = zn.tensor(v, { shape: s.shape, dtype: "float64" }).to(dtype);
  return requiresGrad ? t.requiresGrad_() : t;
}

function expectClose(name: string, got: Tensor, want: Rec, tol: { rtol: number; atol: number }) {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  const flat = got.to("float64").toTypedArray() as Float64Array;
  for (let j = 0; j < want.data.length; j++) {
    const g = flat[j * want.step], w = want.data[j];
    if (!(Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w))) {
      assert.fail(`${name}: element ${j * want.step}: got ${g}, want ${w}`);
    }
  }
}

// deno-lint-ignore no-explicit-any
type Args = any;

function run(c: ConvCase, x: Tensor, w: Tensor | null, b: Tensor | null): Tensor | {
  values: Tensor;
  indices: Tensor;
} {
  const a: Args = c.args;
  switch (c.op) {
    case "conv1d":
      return conv1d(x, w!, b, a);
    case "conv2d":
      return conv2d(x, w!, b, a);
    case "convTranspose2d":
      return convTranspose2d(x, w!, b, a);
    case "maxPool1d": {
      const { kernelSize, ...opts } = a;
      return maxPool1d(x, kernelSize, { ...opts, returnIndices: true });
    }
    case "maxPool2d": {
      const { kernelSize, ...opts } = a;
      return maxPool2d(x, kernelSize, { ...opts, returnIndices: true });
    }
    case "avgPool2d": {
      const { kernelSize, ...opts } = a;
      return avgPool2d(x, kernelSize, opts);
    }
    case "adaptiveAvgPool2d":
      return adaptiveAvgPool2d(x, a.outputSize);
  }
  throw new Error(`unknown op ${c.op}`);
}

const DEFAULT_TOL: Record<string, { rtol: number; atol: number }> = {
  float32: { rtol: 2e-5, atol: 2e-5 },
  float64: { rtol: 1e-10, atol: 1e-12 },
};

for (const c of CASES) {
  Deno.test(`conv fixtures: ${c.name}`, () => {
    const tol = c.tol ?? DEFAULT_TOL[c.dtype];
    const x = make(c.inputs.x, c.dtype, true);
    const w = c.inputs.w ? make(c.inputs.w, c.dtype, true) : null;
    const b = c.inputs.b ? make(c.inputs.b, c.dtype, true) : null;
    const r = run(c, x, w, b);
    const out = "values" in r ? r.values : r;
    expectClose(`${c.name} output`, out, c.out, tol);
    if (c.indices) {
      assert.ok("indices" in r);
      assert.equal(r.indices.dtype, "int64");
      expectClose(`${c.name} indices`, r.indices, c.indices, { rtol: 0, atol: 0 });
    }
    const gout = make(c.gout, c.dtype);
    const loss = out.mul(gout).sum();
    if (c.double) {
      const [gx, gw] = zn.grad(loss, [x, w!], { createGraph: true });
      gx!.square().sum().add(gw!.square().sum()).backward();
    } else {
      loss.backward();
    }
    expectClose(`${c.name} grad x`, x.grad!, c.grads.x, tol);
    if (c.grads.w) expectClose(`${c.name} grad w`, w!.grad!, c.grads.w, tol);
    if (c.grads.b) expectClose(`${c.name} grad b`, b!.grad!, c.grads.b, tol);
  });
}

// ------------------------------------------------------------------ gradcheck

function rnd(shape: number[], seed: number): Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.9;
  return zn.tensor(v, { shape, dtype: "float64" }).requiresGrad_();
}

Deno.test("gradcheck: conv2d with stride, padding, dilation and groups", () => {
  const x = rnd([1, 2, 4, 4], 1), w = rnd([2, 1, 2, 2], 2), b = rnd([2], 3);
  assert.ok(zn.autograd.gradcheck(
    (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1, dilation: [1, 2], groups: 2 }),
    [x, w, b],
  ));
});

Deno.test("gradcheck: conv1d with padding same", () => {
  const x = rnd([1, 2, 5], 4), w = rnd([1, 2, 2], 5);
  assert.ok(zn.autograd.gradcheck((x, w) => conv1d(x, w, null, { padding: "same" }), [x, w]));
});

Deno.test("gradcheck: convTranspose2d", () => {
  const x = rnd([1, 2, 2, 3], 6), w = rnd([2, 1, 2, 2], 7), b = rnd([1], 8);
  assert.ok(zn.autograd.gradcheck(
    (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    [x, w, b],
  ));
});

Deno.test("gradcheck: pooling", () => {
  const x = rnd([1, 2, 4, 5], 9);
  assert.ok(zn.autograd.gradcheck(
    (x) => maxPool2d(x, 2, { stride: 1, padding: 1, ceilMode: true }),
    [x],
  ));
  assert.ok(zn.autograd.gradcheck(
    (x) => avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    [x],
  ));
  assert.ok(zn.autograd.gradcheck((x) => adaptiveAvgPool2d(x, [3, 2]), [x]));
});

/** `t` as a graph leaf even where gradcheck evaluates under noGrad with plain inputs. */
function leaf(t: Tensor): Tensor {
  return t.requiresGrad ? t : t.detach().requiresGrad_();
}

Deno.test("gradcheck: second derivatives through conv2d and pooling", () => {
  const x = rnd([1, 2, 3, 3], 10), w = rnd([2, 2, 2, 2], 11);
  // The gradient of a conv as a function of (x, w) is itself checked.
  const gradFn = (x0: Tensor, w0: Tensor) =>
    zn.enableGrad(() => {
      const x = leaf(x0), w = leaf(w0);
      const y = conv2d(x, w, null, { padding: 1 });
      const [gx, gw] = zn.grad(y.square().sum(), [x, w], { createGraph: true });
      return [gx!, gw!];
    });
  assert.ok(zn.autograd.gradcheck(gradFn, [x, w]));
  const p = rnd([1, 1, 4, 4], 12);
  const poolGrad = (p0: Tensor) =>
    zn.enableGrad(() => {
      const p = leaf(p0);
      const loss = maxPool2d(p, 2).square().sum()
        .add(avgPool2d(p, 2, { padding: 1 }).square().sum())
        .add(adaptiveAvgPool2d(p, 3).square().sum());
      return zn.grad(loss, [p], { createGraph: true })[0]!;
    });
  assert.ok(zn.autograd.gradcheck(poolGrad, [p]));
});

// ------------------------------------------------------------------ other checks

Deno.test("conv2d: float16 and bfloat16 compute in float32 and keep their dtype", () => {
  const x = zn.randn([1, 2, 5, 5]), w = zn.randn([3, 2, 3, 3]);
  const ref = conv2d(x, w, null, { padding: 1 });
  for (const d of ["float16", "bfloat16"] as const) {
    const y = conv2d(x.to(d), w.to(d), null, { padding: 1 });
    assert.equal(y.dtype, d);
    const diff = y.to("float32").sub(ref).abs().amax().item() as number;
    assert.ok(diff < 0.15, `${d}: max difference ${diff}`);
  }
});

Deno.test("conv2d: non-contiguous input equals its contiguous copy", () => {
  const x = zn.randn([2, 3, 6, 5]).transpose(2, 3);
  const w = zn.randn([4, 3, 3, 3]);
  const a = conv2d(x, w, null, { padding: 1 });
  const b = conv2d(x.contiguous(), w, null, { padding: 1 });
  assert.deepEqual(a.toArray(), b.toArray());
});

Deno.test("maxPool2d: NaN wins its window, as in PyTorch", () => {
  const x = zn.tensor([[[[1, NaN], [3, 4]]]]).to("float32");
  const { values, indices } = maxPool2d(x, 2, { returnIndices: true });
  assert.ok(Number.isNaN(values.item()));
  assert.equal(Number(indices.item()), 1);
});

Deno.test("conv2d and pooling: errors name the op and the shapes", () => {
  const x = zn.zeros([2, 3, 8, 8]);
  assert.throws(() => conv2d(zn.zeros([3, 8]), zn.zeros([4, 3, 3, 3])), /conv2d: expected 3D/);
  assert.throws(() => conv2d(x, zn.zeros([4, 3, 3])), /conv2d: expected a 4D weight/);
  assert.throws(
    () => conv2d(x, zn.zeros([4, 2, 3, 3])),
    /conv2d: given groups=1, weight of size \[4, 2, 3, 3\], expected input\[2, 3, 8, 8\] to have 2 channels, but got 3/,
  );
  assert.throws(
    () => conv2d(x, zn.zeros([4, 1, 3, 3]), null, { groups: 2 }),
    /conv2d: in_channels \(3.*divisible by groups \(2\)/,
  );
  assert.throws(
    () => conv2d(zn.zeros([1, 4, 8, 8]), zn.zeros([3, 2, 3, 3]), null, { groups: 2 }),
    /conv2d: out_channels \(3.*divisible by groups \(2\)/,
  );
  assert.throws(
    () => conv2d(zn.zeros([1, 3, 2, 2]), zn.zeros([4, 3, 3, 3])),
    /conv2d: calculated padded input size per channel: \(2 x 2\)\. Kernel size: \(3 x 3\)/,
  );
  assert.throws(
    () => conv2d(x, zn.zeros([4, 3, 3, 3]), zn.zeros([3])),
    /conv2d: expected bias of size \[4\]/,
  );
  assert.throws(
    () => conv2d(x, zn.zeros([4, 3, 3, 3]), null, { stride: 2, padding: "same" }),
    /padding="same" is not supported for strided/,
  );
  assert.throws(
    () => conv2d(x, zn.zeros([4, 3, 3, 3]), null, { stride: 0 }),
    /conv2d: stride must be a positive integer/,
  );
  assert.throws(
    () => conv2d(x, zn.zeros([4, 3, 3, 3], { dtype: "float64" })),
    /conv2d: input type \(float32\) and weight type \(float64\)/,
  );
  assert.throws(
    () => conv2d(x.to("int64"), zn.zeros([4, 3, 3, 3])),
    /conv2d: expected a floating point input, got int64/,
  );
  assert.throws(() => conv1d(x, zn.zeros([4, 3, 3])), /conv1d: expected 2D \(unbatched\) or 3D/);
  assert.throws(
    () => convTranspose2d(x, zn.zeros([4, 3, 3, 3])),
    /convTranspose2d: given weight of size \[4, 3, 3, 3\], expected input\[2, 3, 8, 8\] to have 4 channels/,
  );
  assert.throws(
    () => convTranspose2d(x, zn.zeros([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    /convTranspose2d: output padding must be smaller than either stride or dilation/,
  );
  assert.throws(() => maxPool2d(x, 3, { padding: 2 }), /maxPool2d: pad should be at most half/);
  assert.throws(
    () => maxPool2d(zn.zeros([1, 1, 2, 2]), 3),
    /maxPool2d: given input size: \(1x2x2\)\. Calculated output size: \(1x0x0\)\. Output size is too small/,
  );
  assert.throws(() => maxPool1d(x, 2), /maxPool1d: expected 2D \(unbatched\) or 3D/);
  assert.throws(
    () => avgPool2d(x, 2, { divisorOverride: 0 }),
    /avgPool2d: divisorOverride must be a non-zero integer/,
  );
  assert.throws(() => adaptiveAvgPool2d(x, [0, 2]), /adaptiveAvgPool2d: outputSize must be/);
  assert.throws(() => avgPool2d(x.to("int32"), 2), /avgPool2d: expected a floating point input/);
});
