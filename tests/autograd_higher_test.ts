/**
 * Higher-order derivatives against PyTorch (tests/fixtures/grad_higher.json,
 * written by make_grad_fixtures.py): Hessian-vector products, gradients of
 * gradients, a full Hessian and a third derivative, all built with
 * createGraph.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertMatches, decode, type TensorRec, type Tol } from "./fixture_harness.ts";

interface HigherCase {
  name: string;
  inputs: TensorRec[];
  v: TensorRec | null;
  out: TensorRec[];
}

const cases = new Map<string, HigherCase>(
  (JSON.parse(
    Deno.readTextFileSync(new URL("./fixtures/grad_higher.json", import.meta.url)),
  ).cases as HigherCase[]).map((c) => [c.name, c]),
);

const F32: Tol = { rtol: 1e-4, atol: 1e-5 };

function check(name: string, got: Tensor[], tol?: Tol): void {
  const c = cases.get(name)!;
  got.forEach((g, i) => assertMatches(g.detach(), c.out[i], `${name} (result ${i})`, tol));
}

function load(name: string): { xs: Tensor[]; v: Tensor | null } {
  const c = cases.get(name);
  if (!c) throw new Error(`no fixture ${name}`);
  return { xs: c.inputs.map((r) => decode(r) as Tensor), v: c.v ? decode(c.v) as Tensor : null };
}

Deno.test("higher order: d/dx, d2/dx2 and a Hessian-vector product of sum(tanh(x) * x^3) match PyTorch", () => {
  const { xs: [x0], v } = load("tanh_x3");
  const x = x0.requiresGrad_(true);
  const f = x.tanh().mul(x.pow(3)).sum();
  const [g] = zn.grad(f, x, { createGraph: true });
  if (!g!.requiresGrad) throw new Error("a gradient built with createGraph must require grad");
  const [g2] = zn.grad(g!.sum(), x, { retainGraph: true });
  const [hv] = zn.grad(g!, x, { gradOutputs: [v!] });
  check("tanh_x3", [f, g!, g2!, hv!]);
});

Deno.test("higher order: double backward through matmul and softmax matches PyTorch", () => {
  const { xs: [w0, x0, c], v } = load("matmul_softmax");
  const w = w0.requiresGrad_(true), x = x0.requiresGrad_(true);
  const loss = x.matmul(w).softmax(-1).mul(c).sum();
  const [gw] = zn.grad(loss, w, { createGraph: true });
  const [hw, hx] = zn.grad(gw!.mul(v!).sum(), [w, x]);
  check("matmul_softmax", [loss, gw!, hw!, hx!]);
});

Deno.test("higher order: the full Hessian of a small network loss matches PyTorch", () => {
  const { xs: [p0, d] } = load("net_hessian");
  const p = p0.requiresGrad_(true);
  const net = (q: Tensor): Tensor => {
    const w1 = q.index({ stop: 4 }).reshape([2, 2]);
    const b = q.select(0, 4);
    const h = d.matmul(w1).add(b).tanh();
    return h.logSoftmax(1).select(1, 0).mean().neg().add(h.logsumexp(0).pow(2).sum().mul(0.1));
  };
  const loss = net(p);
  const [g] = zn.grad(loss, p, { createGraph: true });
  const rows: Tensor[] = [];
  for (let i = 0; i < 5; i++) rows.push(zn.grad(g!.select(0, i), p, { retainGraph: true })[0]!);
  check("net_hessian", [loss, zn.stack(rows)]);
});

Deno.test("higher order: a third derivative by repeated grad matches PyTorch", () => {
  const { xs: [y0] } = load("third_derivative");
  const y = y0.requiresGrad_(true);
  const h = y.mul(y.sin().exp());
  const [d1] = zn.grad(h.sum(), y, { createGraph: true });
  const [d2] = zn.grad(d1!.sum(), y, { createGraph: true });
  const [d3] = zn.grad(d2!.sum(), y);
  check("third_derivative", [d1!, d2!, d3!]);
});

Deno.test("higher order: a float32 Hessian-vector product through a normalisation matches PyTorch", () => {
  const { xs: [z0, w], v } = load("layernorm_hvp");
  const z = z0.requiresGrad_(true);
  const centred = z.sub(z.mean(1, true));
  const out = centred.div(z.var(1, { correction: 0, keepdim: true }).add(1e-5).sqrt()).mul(w).sum();
  const [gz] = zn.grad(out, z, { createGraph: true });
  const [hz] = zn.grad(gz!, z, { gradOutputs: [v!] });
  check("layernorm_hvp", [out, gz!, hz!], F32);
});

Deno.test("higher order: backward with createGraph leaves a differentiable .grad", () => {
  const x = zn.tensor([0.5, -1.5], { dtype: "float64", requiresGrad: true });
  x.pow(3).sum().backward(undefined, { createGraph: true });
  const g = x.grad!;
  if (!g.requiresGrad) throw new Error(".grad built with createGraph must require grad");
  const [gg] = zn.grad(g.sum(), x);
  // d/dx 3x^2 = 6x
  const got = gg!.toArray() as number[];
  if (Math.abs(got[0] - 3) > 1e-12 || Math.abs(got[1] + 9) > 1e-12) {
    throw new Error(`expected [3, -9], got [${got}]`);
  }
});
