/**
 * zn.autograd.Function, zn.autograd.functional and anomaly detection against
 * PyTorch (expected values from torch 2.13, float64, on the same inputs).
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

const F64 = { dtype: "float64" as const };
const near = (got: unknown, want: unknown, what: string) => {
  const a = [got].flat(Infinity) as number[], b = [want].flat(Infinity) as number[];
  equal(a.length, b.length, `${what}: sizes`);
  const d = Math.max(0, ...a.map((v, i) => Math.abs(v - b[i])));
  ok(d < 1e-12, `${what}: largest difference ${d}`);
};

class Cube extends zn.autograd.Function {
  static override forward(ctx: zn.autograd.FunctionCtx, x: zn.Tensor, k: number): zn.Tensor {
    ctx.saveForBackward(x);
    ctx.k = k;
    return x.pow(3).mul(k);
  }
  static override backward(ctx: zn.autograd.FunctionCtx, g: zn.Tensor): (zn.Tensor | null)[] {
    const [x] = ctx.savedTensors;
    return [g.mul(x.pow(2)).mul(3 * (ctx.k as number)), null];
  }
}

Deno.test("Function: forward, backward and double backward match PyTorch's", () => {
  const x = zn.tensor([1, -2, 0.5], { ...F64, requiresGrad: true });
  const y = Cube.apply(x, 2) as zn.Tensor;
  near(y.toArray(), [2, -16, 0.25], "output");
  const [g] = zn.grad(y.sum(), x, { createGraph: true });
  near(g!.toArray(), [6, 24, 1.5], "gradient");
  const [gg] = zn.grad(g!.sum(), x);
  near(gg!.toArray(), [12, -24, 6], "second derivative");
  ok(zn.autograd.gradcheck((t) => Cube.apply(t, 1.5) as zn.Tensor, [x]));
});

let needs: boolean[] = [];
class SortF extends zn.autograd.Function {
  static override forward(ctx: zn.autograd.FunctionCtx, x: zn.Tensor): zn.Tensor[] {
    const { values, indices } = x.sort();
    ctx.saveForBackward(indices);
    ctx.markNonDifferentiable(indices);
    needs = ctx.needsInputGrad;
    return [values, indices];
  }
  static override backward(
    ctx: zn.autograd.FunctionCtx,
    gv: zn.Tensor,
    gi: zn.Tensor,
  ): zn.Tensor[] {
    ctx.giSeen = gi;
    const [i] = ctx.savedTensors;
    return [zn.zerosLike(gv).scatter(0, i, gv)];
  }
}

Deno.test("Function: several outputs, markNonDifferentiable and needsInputGrad", () => {
  const x = zn.tensor([3, 1, 2], { ...F64, requiresGrad: true });
  const [v, i] = SortF.apply(x) as zn.Tensor[];
  equal(i.requiresGrad, false);
  deepEqual(needs, [true]);
  v.mul(zn.tensor([1, 10, 100], F64)).sum().backward();
  deepEqual(x.grad!.toArray(), [100, 1, 10]);
  // Without a tape, forward runs and nothing is recorded.
  const [v2] = SortF.apply(zn.tensor([2, 1], F64)) as zn.Tensor[];
  equal(v2.requiresGrad, false);
  deepEqual(needs, [false]);
});

Deno.test("Function: wrong gradient counts and shapes, and saved tensors changed in place, raise", () => {
  class Short extends zn.autograd.Function {
    static override forward(_c: zn.autograd.FunctionCtx, x: zn.Tensor, y: zn.Tensor) {
      return x.mul(y);
    }
    static override backward(_c: zn.autograd.FunctionCtx, g: zn.Tensor) {
      return [g];
    }
  }
  const a = zn.ones([2], { requiresGrad: true }), b = zn.ones([2], { requiresGrad: true });
  throws(
    () => (Short.apply(a, b) as zn.Tensor).sum().backward(),
    /Short.backward returned an incorrect number of gradients \(expected 2, got 1\)/,
  );
  class BadShape extends zn.autograd.Function {
    static override forward(_c: zn.autograd.FunctionCtx, x: zn.Tensor) {
      return x.sum();
    }
    static override backward(_c: zn.autograd.FunctionCtx, g: zn.Tensor) {
      return [g.reshape([1])];
    }
  }
  throws(
    () => (BadShape.apply(a) as zn.Tensor).backward(),
    /BadShape.backward returned an invalid gradient at index 0 - got \[1\] but expected shape compatible with \[2\]/,
  );
  const x = zn.tensor([1, 2], { requiresGrad: true });
  const h = x.mul(1);
  const y = Cube.apply(h, 1) as zn.Tensor;
  zn.noGrad(() => h.add_(1));
  throws(() => y.sum().backward(), /modified by an inplace operation/);
  throws(() => zn.autograd.Function.apply(x), /call apply on a subclass/);
});

Deno.test("Function: setMaterializeGrads(false) passes null for outputs no gradient reached", () => {
  let seen: unknown = "unset";
  class Two extends zn.autograd.Function {
    static override forward(ctx: zn.autograd.FunctionCtx, x: zn.Tensor) {
      ctx.setMaterializeGrads(false);
      return [x.mul(2), x.mul(3)];
    }
    static override backward(
      _c: zn.autograd.FunctionCtx,
      g0: zn.Tensor | null,
      g1: zn.Tensor | null,
    ) {
      seen = g1;
      return [g0!.mul(2)];
    }
  }
  const x = zn.ones([2], { requiresGrad: true });
  (Two.apply(x) as zn.Tensor[])[0].sum().backward();
  equal(seen, null);
  deepEqual(x.grad!.toArray(), [2, 2]);
});

Deno.test("functional: jacobian, hessian, vjp, jvp, hvp and vhp match torch.autograd.functional", () => {
  const fn = zn.autograd.functional;
  const a = zn.tensor([1, 2], F64), b = zn.tensor([0.5, -1], F64);
  const H = fn.hessian((p: zn.Tensor, q: zn.Tensor) => p.pow(2).mul(q.sin()).sum(), [
    a,
    b,
  ]) as zn.Tensor[][];
  near(H.map((r) => r.map((h) => h.toArray())), [
    [[[0.958851077208406, -0], [0, -1.682941969615793]], [[1.7551651237807455, 0], [
      0,
      2.161209223472559,
    ]]],
    [[[1.7551651237807455, 0], [0, 2.161209223472559]], [[-0.479425538604203, 0], [
      -0,
      3.365883939231586,
    ]]],
  ], "hessian");
  const J = fn.jacobian((p: zn.Tensor, q: zn.Tensor) => p.mul(q.exp()), [a, b]) as zn.Tensor[];
  near(J.map((j) => j.toArray()), [
    [[1.6487212707001282, 0], [0, 0.36787944117144233]],
    [[1.6487212707001282, 0], [0, 0.7357588823428847]],
  ], "jacobian");
  const v = zn.tensor([1, -1], F64);
  near((fn.vjp((p) => p.pow(2).mul(3), a, v)[1] as zn.Tensor).toArray(), [6, -12], "vjp");
  near((fn.jvp((p) => p.pow(2).mul(3), a, v)[1] as zn.Tensor).toArray(), [6, -12], "jvp");
  const g3 = (p: zn.Tensor) => p.pow(3).sum().add(p.index(0).mul(p.index(1)));
  const w = zn.tensor([1, 2], F64);
  near((fn.hvp(g3, a, w)[1] as zn.Tensor).toArray(), [8, 25], "hvp");
  near((fn.vhp(g3, a, w)[1] as zn.Tensor).toArray(), [8, 25], "vhp");
  // Inputs are left as they were.
  equal(a.requiresGrad, false);
  throws(
    () =>
      fn.jacobian(
        (p) => p,
        a,
        { strict: true, vectorize: true } as zn.autograd.functional.FunctionalOptions,
      ),
    /jacobian.*vectorize/,
  );
  throws(
    () => fn.vjp((p) => p.mul(2), a),
    /v may be omitted only when func returns a single one-element tensor/,
  );
  throws(
    () => fn.jacobian((_p) => zn.ones([2]), a, { strict: true }),
    /does not require grad \(strict\)/,
  );
  near(
    fn.jacobian((_p) => zn.ones([2], F64), a).toArray(),
    [[0, 0], [0, 0]],
    "independent output gives zeros",
  );
});

Deno.test("detectAnomaly: a NaN gradient names the op and the call that recorded it", () => {
  const x = zn.tensor([0, 1], { requiresGrad: true });
  let msg = "";
  try {
    zn.autograd.detectAnomaly(() => x.sqrt().mul(0).sum().backward());
  } catch (e) {
    msg = String(e);
  }
  ok(/Function 'sqrt' returned nan values in its 0th output/.test(msg), msg);
  ok(msg.includes("autograd_function_test.ts"), "the recording call's stack");
  equal(zn.autograd.isAnomalyEnabled(), false);
  // Outside anomaly mode the NaN passes silently, as in PyTorch.
  x.grad = null;
  x.sqrt().mul(0).sum().backward();
  ok(Number.isNaN((x.grad!.toArray() as number[])[0]));
  equal(zn.autograd.inferenceMode(() => x.mul(2)).requiresGrad, false);
});
