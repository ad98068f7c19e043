/**
 * Reductions, scans, softmax and the norms on bfloat16 and float16 tensors
 * against PyTorch (tests/fixtures/half_reduce.json): PyTorch in float64 on the
 * same rounded inputs is the reference, so each result may differ by Zeno's
 * float32 (or wider) arithmetic and its one rounding to the half type. The
 * kernels take the half tensors directly (no float32 copy of the input).
 * Where a result is several rounded half ops (most gradients), the bound is
 * PyTorch's own error in the half type on the same case, with a margin.
 */
import * as zn from "../mod.ts";
import { assert, assertEquals } from "./assert_helpers.ts";
import type { FloatRec } from "./fixture_harness.ts";

type Half = "bfloat16" | "float16";

interface ReduceCase {
  dtype: Half;
  op: string;
  input?: FloatRec;
  inputs?: FloatRec[];
  out?: FloatRec;
  indices?: FloatRec;
  r?: FloatRec;
  grad?: FloatRec;
  grads?: FloatRec[];
  logits?: FloatRec;
  target?: FloatRec;
  /** PyTorch's own error in the half type against the float64 reference. */
  torchErr?: number;
  torchGradErrs?: number[];
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/half_reduce.json", import.meta.url)),
) as { cases: ReduceCase[] };

function half(r: FloatRec, dtype: Half): zn.Tensor {
  return zn.tensor(r.data as number[], { dtype: "float64" }).reshape(r.shape).to(dtype);
}

/** Largest |got - want| / (|want| + scale) over the elements, scale the mean magnitude. */
function worst(got: zn.Tensor, want: FloatRec): number {
  const g = Array.from(got.to("float64").toTypedArray() as Float64Array);
  const w = want.data as number[];
  assertEquals(g.length, w.length, `sizes ${g.length} and ${w.length}`);
  const scale = w.reduce((s, v) => s + Math.abs(v), 0) / Math.max(w.length, 1);
  let m = 0;
  g.forEach((v, i) => m = Math.max(m, Math.abs(v - w[i]) / (Math.abs(w[i]) + scale)));
  return m;
}

const F = zn.nn.functional;

/** Zeno's spelling of each fixture op. */
const REDUCTIONS: Record<
  string,
  (x: zn.Tensor) => zn.Tensor | { values: zn.Tensor; indices: zn.Tensor }
> = {
  "sum all": (x) => x.sum(),
  "sum dim -1": (x) => x.sum(-1),
  "sum dim 0": (x) => x.sum(0),
  "sum dims [0, 2, 3]": (x) => x.sum([0, 2, 3]),
  "mean dim 1": (x) => x.mean(1),
  "mean dims [0, 2]": (x) => x.mean([0, 2]),
  "var dim -1": (x) => x.var(-1),
  "std dim 0": (x) => x.std(0),
  "amax dim 1": (x) => x.amax(1),
  "amin all": (x) => x.amin(),
  "max dim -1": (x) => x.max(-1),
  "argmax dim 0": (x) => x.argmax(0),
  "logsumexp dim -1": (x) => x.logsumexp(-1),
  "logsumexp dim 1": (x) => x.logsumexp(1),
  "norm 2 all": (x) => x.norm(),
  "norm 1 dim -1": (x) => x.norm(1, -1),
  "prod dim -1": (x) => x.prod(-1),
  "cumsum dim 1": (x) => x.cumsum(1),
  "cumprod dim -1": (x) => x.cumprod(-1),
  "logcumsumexp dim 0": (x) => zn.logcumsumexp(x, 0),
  "softmax dim -1": (x) => x.softmax(-1),
  "softmax dim 1": (x) => x.softmax(1),
  "logSoftmax dim -1": (x) => x.logSoftmax(-1),
};

const NORMS: Record<string, (x: zn.Tensor, w: zn.Tensor, b?: zn.Tensor) => zn.Tensor> = {
  "layerNorm": (x, w, b) => F.layerNorm(x, [96], w, b),
  "layerNorm two dims": (x, w, b) => F.layerNorm(x, [3, 40], w, b),
  "rmsNorm": (x, w) => F.rmsNorm(x, [96], w),
  "batchNorm": (x, w, b) => F.batchNorm(x, null, null, w, b, { training: true }),
  "groupNorm": (x, w, b) => F.groupNorm(x, 3, w, b),
  // q, k, v: the fused attention kernel.
  "attention": (q, k, v) => F.scaledDotProductAttention(q, k, v!),
  "attention causal": (q, k, v) => F.scaledDotProductAttention(q, k, v!, { isCausal: true }),
};

/** A few units in the last place of each half type (bfloat16 2^-8, float16 2^-11). */
function tolOf(dtype: Half): number {
  return dtype === "bfloat16" ? 2 ** -7 : 2 ** -10;
}

for (const c of fx.cases) {
  const tol = Math.max(tolOf(c.dtype), 1.5 * (c.torchErr ?? 0));
  const gradTol = (i: number) => Math.max(2 * tolOf(c.dtype), 1.5 * (c.torchGradErrs?.[i] ?? 0));
  if (c.logits) {
    Deno.test(`${c.op} on ${c.dtype} logits matches PyTorch, loss and gradient`, () => {
      const x = half(c.logits!, c.dtype).requiresGrad_(true);
      const t = zn.tensor(c.target!.data as number[], { dtype: "int64" });
      const reduction = c.op.endsWith("mean") ? "mean" : "sum";
      const loss = F.crossEntropy(x, t, { reduction });
      assertEquals(loss.dtype, c.dtype);
      assertEquals(loss.gradFn?.name, "crossEntropy");
      const e = worst(loss, c.out!);
      assert(e <= tol, `loss: largest relative difference ${e} (bound ${tol})`);
      loss.mul(0.75).backward();
      assertEquals(x.grad!.dtype, c.dtype);
      const ge = worst(x.grad!, c.grad!);
      assert(ge <= gradTol(0), `gradient: largest relative difference ${ge} (bound ${gradTol(0)})`);
    });
  } else if (c.input) {
    Deno.test(`${c.op} on ${c.dtype} matches PyTorch, forward and backward`, () => {
      const fn = REDUCTIONS[c.op];
      assert(fn !== undefined, `no Zeno spelling for ${c.op}`);
      const x = half(c.input!, c.dtype).requiresGrad_(c.grad !== undefined);
      const res = fn(x);
      const [out, idx] = res instanceof zn.Tensor
        ? (res.dtype === "int64" ? [null, res] : [res, null])
        : [res.values, res.indices];
      if (c.out) {
        assert(out !== null && out.dtype === c.dtype, `result dtype ${out?.dtype}`);
        const e = worst(out, c.out);
        assert(e <= tol, `value: largest relative difference ${e}`);
      }
      if (c.indices) assertEquals(Array.from(idx!.toArray() as number[]).flat(), c.indices.data);
      if (c.grad) {
        out!.mul(half(c.r!, c.dtype)).sum().backward();
        assertEquals(x.grad!.dtype, c.dtype);
        const ge = worst(x.grad!, c.grad);
        assert(
          ge <= gradTol(0),
          `gradient: largest relative difference ${ge} (bound ${gradTol(0)})`,
        );
      }
    });
  } else {
    Deno.test(`${c.op} on ${c.dtype} matches PyTorch, forward and backward of every parameter`, () => {
      const [x, w, b] = c.inputs!.map((r) => half(r, c.dtype).requiresGrad_(true));
      const out = NORMS[c.op](x, w, b);
      assertEquals(out.dtype, c.dtype);
      const e = worst(out, c.out!);
      assert(e <= tol, `value: largest relative difference ${e} (bound ${tol})`);
      out.mul(half(c.r!, c.dtype)).sum().backward();
      [x, w, b].filter((t) => t).forEach((t, i) => {
        assertEquals(t.grad!.dtype, c.dtype);
        const ge = worst(t.grad!, c.grads![i]);
        assert(ge <= gradTol(i), `gradient of input ${i}: largest relative difference ${ge}`);
      });
    });
  }
}
