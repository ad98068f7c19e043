/**
 * Autograd semantics and error paths, each compared with what PyTorch does:
 * accumulation into .grad, the scalar-output rule, freed graphs and
 * retainGraph, grad() with unused inputs, detach, grad mode nesting,
 * requiresGrad propagation, hooks, retainGrad, in-place ops and the version
 * counter, and the release of saved tensors after backward.
 */
import assert from "node:assert/strict";
import * as zn from "../mod.ts";
import type { Node, Tensor } from "../mod.ts";

const f64 = (v: number[]): Tensor => zn.tensor(v, { dtype: "float64" });
const leaf = (v: number[]): Tensor => zn.tensor(v, { dtype: "float64", requiresGrad: true });

function close(t: Tensor | null, want: number[], tol = 1e-12): void {
  assert.ok(t, "expected a gradient, got null");
  const got = t.toArray() as number[];
  assert.equal(got.length, want.length);
  got.forEach((g, i) =>
    assert.ok(Math.abs(g - want[i]) <= tol, `element ${i}: got ${g}, expected ${want[i]}`)
  );
}

function nodesOf(t: Tensor): Node[] {
  const seen = new Set<Node>();
  const stack = t.gradFn ? [t.gradFn] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const e of n.edges) if (e?.node) stack.push(e.node);
  }
  return [...seen];
}

// ------------------------------------------------------------------ backward and .grad

Deno.test("semantics: two backward calls accumulate into .grad", () => {
  const x = leaf([1, 2]);
  x.mul(x).sum().backward();
  close(x.grad, [2, 4]);
  x.mul(3).sum().backward();
  close(x.grad, [5, 7]);
  assert.equal(x.grad!.requiresGrad, false);
  assert.equal(x.grad!.gradFn, null);
});

Deno.test("semantics: backward on a non-scalar output without a gradient throws", () => {
  const x = leaf([1, 2]);
  assert.throws(
    () => x.mul(2).backward(),
    /grad can be implicitly created only for scalar outputs/,
  );
  x.mul(2).backward(f64([1, -1]));
  close(x.grad, [2, -2]);
  assert.throws(() => x.mul(2).backward(f64([1, 2, 3])), /mismatch in shape/);
});

Deno.test("semantics: a second backward through freed saved tensors throws; retainGraph allows it", () => {
  const x = leaf([1, 2]);
  const y = x.mul(x).sum();
  y.backward();
  assert.throws(() => y.backward(), /backward through the graph a second time/);
  const z = x.mul(x).sum();
  x.grad = null;
  z.backward(undefined, { retainGraph: true });
  z.backward();
  close(x.grad, [4, 8]);
});

Deno.test("semantics: a graph that saved no tensors can be backpropagated twice (as in PyTorch)", () => {
  const x = leaf([1, 2]);
  const y = x.add(1).sum();
  y.backward();
  y.backward();
  close(x.grad, [2, 2]);
});

Deno.test("semantics: grad() throws for an unused input unless allowUnused", () => {
  const x = leaf([1, 2]), b = leaf([3]);
  const y = x.mul(2).sum();
  assert.throws(
    () => zn.grad(y, [x, b], { retainGraph: true }),
    /appears to not have been used in the graph/,
  );
  const [gx, gb] = zn.grad(y, [x, b], { allowUnused: true });
  close(gx, [2, 2]);
  assert.equal(gb, null);
  // grad() returns the gradients and leaves .grad alone
  assert.equal(x.grad, null);
});

Deno.test("semantics: grad() of or with respect to a tensor that does not require grad throws", () => {
  const x = leaf([1, 2]), a = f64([1, 2]);
  assert.throws(() => zn.grad(x.mul(2).sum(), a), /does not require grad/);
  assert.throws(() => zn.grad(a.sum(), x), /does not require grad/);
  assert.throws(() => a.sum().backward(), /does not require grad/);
});

Deno.test("semantics: detach cuts the graph and shares the data", () => {
  const x = leaf([1, 2]);
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.gradFn, null);
  x.mul(2).add(d.mul(x)).sum().backward();
  // d(2x + d*x)/dx with d constant = 2 + d
  close(x.grad, [3, 4]);
  const y = x.exp();
  const yd = y.detach();
  assert.equal(yd.requiresGrad, false);
  zn.noGrad(() => x.add_(1));
  close(d, [2, 3]); // same storage
});

// ------------------------------------------------------------------ grad mode

Deno.test("semantics: noGrad and enableGrad nest and restore the mode", () => {
  const w = leaf([1, 2]);
  assert.equal(zn.isGradEnabled(), true);
  const r = zn.noGrad(() => {
    assert.equal(zn.isGradEnabled(), false);
    const a = w.mul(2);
    const b = zn.enableGrad(() => {
      assert.equal(zn.isGradEnabled(), true);
      const inner = zn.noGrad(() => w.mul(3));
      assert.equal(inner.requiresGrad, false);
      return w.mul(4);
    });
    assert.equal(zn.isGradEnabled(), false);
    return [a, b];
  });
  assert.equal(r[0].requiresGrad, false);
  assert.equal(r[1].requiresGrad, true);
  assert.equal(zn.isGradEnabled(), true);
  assert.throws(() =>
    zn.noGrad(() => {
      throw new Error("boom");
    })
  );
  assert.equal(zn.isGradEnabled(), true, "an exception must restore grad mode");
});

Deno.test("semantics: requiresGrad propagates to float results only", () => {
  const x = leaf([1, 3, 2]);
  const c = f64([1, 1, 1]);
  assert.equal(c.mul(2).requiresGrad, false);
  assert.equal(x.mul(c).requiresGrad, true);
  assert.equal(x.sum().requiresGrad, true);
  assert.equal(x.argmax().requiresGrad, false);
  assert.equal(x.gt(1).requiresGrad, false);
  assert.equal(x.eq(c).requiresGrad, false);
  assert.equal(x.to("int32").requiresGrad, false);
  assert.equal(x.max(0).indices.requiresGrad, false);
  assert.equal(x.sort().indices.requiresGrad, false);
  assert.equal(x.isLeaf, true);
  assert.equal(x.mul(2).isLeaf, false);
  assert.throws(() => zn.tensor([1n, 2n]).requiresGrad_(), /only floating point tensors/);
  assert.throws(() => x.mul(2).requiresGrad_(false), /leaf variables/);
});

// ------------------------------------------------------------------ hooks and retainGrad

Deno.test("semantics: a hook can replace a leaf's gradient and its handle removes it", () => {
  const x = leaf([1, 2]);
  const seen: number[][] = [];
  const h = x.registerHook((g) => {
    seen.push(g.toArray() as number[]);
    return g.mul(3);
  });
  x.mul(2).sum().backward();
  close(x.grad, [6, 6]);
  assert.deepEqual(seen, [[2, 2]]);
  h.remove();
  x.grad = null;
  x.mul(2).sum().backward();
  close(x.grad, [2, 2]);
  assert.equal(seen.length, 1);
});

Deno.test("semantics: a hook on a non-leaf changes the gradient flowing past it", () => {
  const x = leaf([1, 2]);
  const y = x.mul(x);
  y.registerHook((g) => g.mul(10));
  y.sum().backward();
  close(x.grad, [20, 40]);
  assert.throws(() => f64([1]).registerHook((g) => g), /doesn't require gradient/);
});

Deno.test("semantics: retainGrad keeps a non-leaf's gradient", () => {
  const x = leaf([1, 2]);
  const y = x.mul(3);
  const z = x.mul(3);
  y.retainGrad();
  y.mul(y).sum().add(z.sum()).backward();
  close(y.grad, [6, 12]);
  assert.equal(z.grad, null);
  close(x.grad, [21, 39]);
});

Deno.test("semantics: gradients meeting at one tensor add up, and no holder of a term sees the sum change", () => {
  // The pass adds a tensor's third and later gradient terms into the sum of
  // the first two in place: every pattern below checks that only that sum,
  // which nothing else holds, is written.
  const w = leaf([1, 2, 3]);
  // A weight used at every step of a loop.
  const xs = [[1, 0, 2], [3, 1, 1], [0, 2, 5], [1, 1, 1]].map(f64);
  let loss = f64([0]).sum();
  for (const x of xs) loss = loss.add(x.mul(w).sum());
  // add's rule hands the same gradient tensor to both of its inputs.
  const a = w.mul(2);
  a.retainGrad();
  const b = a.add(a);
  loss = loss.add(b.add(a).mul(f64([1, 2, 3])).sum()).add(a.mul(a).sum());
  loss.backward();
  // a: 3 * [1, 2, 3] from b + a, plus 2a = [4, 8, 12].
  close(a.grad, [7, 14, 21]);
  // w: the loop's sum of x, plus 2 * a's gradient.
  close(w.grad, [5 + 14, 4 + 28, 9 + 42]);
  // The same pass again accumulates into .grad; a's retained gradient is
  // the new pass's, the old one untouched.
  const before = a.grad!;
  const a2 = w.mul(2);
  a2.retainGrad();
  a2.add(a2).add(a2).sum().backward();
  close(before, [7, 14, 21]);
  close(a2.grad, [3, 3, 3]);
  close(w.grad, [25, 38, 57]);
  // grad() returns the summed gradient of a tensor reached three times.
  const v = leaf([1, -1]);
  const u = v.mul(3);
  const [gu] = zn.grad(u.sum().add(u.mul(2).sum()).add(u.mul(u).sum()), [u]);
  close(gu, [1 + 2 + 6, 1 + 2 - 6]);
});

// ------------------------------------------------------------------ in-place ops

Deno.test("semantics: an in-place op on a leaf that requires grad throws (allowed under noGrad)", () => {
  const x = leaf([1, 2]);
  assert.throws(() => x.add_(1), /leaf .*in-place/);
  assert.throws(() => x.mul_(2), /leaf .*in-place/);
  zn.noGrad(() => x.sub_(f64([0.5, 0.5])));
  close(x, [0.5, 1.5]);
  assert.equal(x.requiresGrad, true);
});

Deno.test("semantics: modifying a saved tensor in place makes backward throw the version error", () => {
  const x = leaf([0.5, 1]);
  const y = x.exp(); // exp saves its output
  const z = y.sum();
  y.add_(1);
  assert.throws(() => z.backward(), /modified by an inplace operation/);
  // through a view of the saved tensor too (views share the version counter)
  const a = x.sin().mul(1);
  const b = a.mul(a).sum(); // mul saves a
  a.select(0, 0).fill_(0);
  assert.throws(() => b.backward(), /modified by an inplace operation/);
});

Deno.test("semantics: in-place ops that do not touch saved tensors keep working", () => {
  const x = leaf([0.5, 1]);
  const y = x.exp();
  const z = y.mul(2); // the scalar 2 is all mul saves
  z.add_(1);
  z.sum().backward();
  close(x.grad, [2 * Math.exp(0.5), 2 * Math.exp(1)]);
  // an in-place op is itself recorded
  const w = leaf([1, 2]);
  const u = w.mul(2);
  u.mul_(3);
  u.sum().backward();
  close(w.grad, [6, 6]);
  assert.equal(u.version, 1);
  // as in PyTorch, multiplying in place by its own detached value invalidates what mul saved
  const v = leaf([1, 2]).mul(2);
  v.mul_(v.detach());
  assert.throws(() => v.sum().backward(), /modified by an inplace operation/);
});

// ------------------------------------------------------------------ memory

Deno.test("semantics: backward releases saved tensors and a training loop keeps no old nodes", () => {
  const w = zn.tensor([0.1, -0.2, 0.3], { dtype: "float64", requiresGrad: true });
  const data = f64([1, 2, 3]);
  let first: Node[] = [];
  let last: Node[] = [];
  for (let step = 0; step < 200; step++) {
    const loss = w.mul(data).tanh().pow(2).sum().add(w.norm());
    const nodes = nodesOf(loss);
    assert.ok(nodes.some((n) => n.saved !== null && Object.keys(n.saved).length > 0));
    loss.backward();
    for (const n of nodes) {
      assert.equal(n.saved, null, `node ${n.name} of step ${step} still holds its saved tensors`);
    }
    zn.noGrad(() => w.sub_(w.grad!.mul(0.01)));
    w.grad = null;
    if (step === 0) first = nodes;
    last = nodes;
  }
  // nothing chains one step's graph to the next: the leaf holds no node, and
  // the last graph does not reach the first one
  assert.equal(w.gradFn, null);
  const firstSet = new Set(first);
  assert.ok(last.every((n) => !firstSet.has(n)));
  assert.ok(first.every((n) => n.saved === null));
});

Deno.test("semantics: retainGraph keeps the saved tensors until a final backward", () => {
  const x = leaf([1, 2]);
  const y = x.exp().sum();
  const nodes = nodesOf(y);
  y.backward(undefined, { retainGraph: true });
  assert.ok(nodes.some((n) => n.saved !== null && Object.keys(n.saved).length > 0));
  y.backward();
  assert.ok(nodes.every((n) => n.saved === null));
  close(x.grad, [2 * Math.E, 2 * Math.exp(2)]);
});

Deno.test("semantics: clamp passes the whole gradient at an exact bound, as PyTorch does", () => {
  const x = leaf([-1, 0, 1, 2]);
  x.clamp(-1, 1).sum().backward();
  close(x.grad, [1, 1, 1, 0]);
  // tensor bounds get the gradient where they win; min > max gives everything to max
  const y = leaf([0, 5, -5]);
  const lo = leaf([1, 1, 1]), hi = leaf([3, 3, 0]);
  zn.clamp(y, lo, hi).sum().backward();
  close(y.grad, [0, 0, 0]);
  close(lo.grad, [1, 0, 0]);
  close(hi.grad, [0, 1, 1]);
});

Deno.test("matmul: a weight used as w.mT gets its gradient in w's own layout, with the same values", () => {
  zn.manualSeed(3);
  const x = zn.randn([6, 5]);
  const w = zn.randn([4, 5], { requiresGrad: true });
  const g = zn.randn([6, 4]);
  x.matmul(w.mT).backward(g);
  const grad = w.grad!;
  assert.ok(grad.isContiguous(), `strides ${grad.stride()}`);
  // d(x w^T)/dw contracted with g is g^T x.
  const want = g.mT.matmul(x).toArray() as number[][];
  const got = grad.toArray() as number[][];
  let worst = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 5; j++) worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
});
