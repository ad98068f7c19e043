// A tensor multiplied in several matmuls gets the sum of their gradients.
// From the third use on, the backward pass adds each product into that sum
// in place (Rule's `into`, Backend.matmulAccumulate); these tests compare
// the results with plain float64 loops over the same values, and with a pass
// that records a graph (which never sums in place).
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { cpuBackend } from "../src/cpu_backend.ts";

/** Runs `f`, counting the in-place product sums it makes on the CPU. */
function countingSums(f: () => void): number {
  const orig = cpuBackend.matmulAccumulate!;
  let calls = 0;
  cpuBackend.matmulAccumulate = (a, b, c) => {
    calls++;
    orig(a, b, c);
  };
  try {
    f();
  } finally {
    cpuBackend.matmulAccumulate = orig;
  }
  return calls;
}

/** Row-major values of a tensor as float64 numbers. */
function values(t: zn.Tensor): number[] {
  return Array.from(t.contiguous().toTypedArray() as Float32Array | Float64Array);
}

/** c += a @ b for row-major [m, k] and [k, n] arrays, with a and b optionally transposed. */
function addProduct(
  c: number[],
  a: number[],
  b: number[],
  m: number,
  k: number,
  n: number,
  ta = false,
  tb = false,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] += s;
    }
  }
}

function assertClose(got: zn.Tensor, want: number[], tol: number, what: string): void {
  const g = values(got);
  assert(g.length === want.length, `${what}: ${g.length} values, want ${want.length}`);
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - want[i]));
  assert(worst <= tol, `${what}: largest difference ${worst} > ${tol}`);
}

for (const dtype of ["float32", "float64"] as const) {
  const tol = dtype === "float32" ? 1e-4 : 1e-11;

  Deno.test(`a ${dtype} weight used at every step gets the sum of the steps' gradients`, () => {
    zn.manualSeed(7);
    const [steps, b, i, h] = [6, 5, 33, 40];
    const w = zn.randn([i, h], { dtype }).requiresGrad_(true);
    const xs = Array.from({ length: steps }, () => zn.randn([b, i], { dtype }));
    const rs = Array.from({ length: steps }, () => zn.randn([b, h], { dtype }));
    let loss = zn.zeros([], { dtype });
    for (let s = 0; s < steps; s++) loss = loss.add(xs[s].matmul(w).mul(rs[s]).sum());
    // The first two gradients make the sum; the other steps add into it.
    const sums = countingSums(() => loss.backward());
    assert(sums === steps - 2, `${sums} products summed in place, want ${steps - 2}`);
    // d loss / d w = sum over steps of x_s^T r_s.
    const want = new Array<number>(i * h).fill(0);
    for (let s = 0; s < steps; s++) addProduct(want, values(xs[s]), values(rs[s]), i, b, h, true);
    assertClose(w.grad!, want, tol, `${dtype} weight gradient`);
  });

  Deno.test(`a ${dtype} input multiplied by several weights gets the sum of its gradients`, () => {
    zn.manualSeed(8);
    const [m, k, n, uses] = [7, 19, 12, 4];
    const x = zn.randn([m, k], { dtype }).requiresGrad_(true);
    // An intermediate too: its sum is a pending node gradient, not a leaf's.
    const hid = x.mul(2);
    const ws = Array.from({ length: uses }, () => zn.randn([k, n], { dtype }));
    const rs = Array.from({ length: uses }, () => zn.randn([m, n], { dtype }));
    let loss = zn.zeros([], { dtype });
    for (let u = 0; u < uses; u++) loss = loss.add(hid.matmul(ws[u]).mul(rs[u]).sum());
    const sums = countingSums(() => loss.backward());
    assert(sums === uses - 2, `${sums} products summed in place, want ${uses - 2}`);
    // d loss / d x = 2 sum over uses of r_u w_u^T.
    const want = new Array<number>(m * k).fill(0);
    for (let u = 0; u < uses; u++) {
      addProduct(want, values(rs[u]), values(ws[u]), m, n, k, false, true);
    }
    assertClose(x.grad!, want.map((v) => 2 * v), tol, `${dtype} input gradient`);
  });
}

Deno.test("a square matrix times itself, several times, matches a pass that records a graph", () => {
  zn.manualSeed(9);
  const run = (createGraph: boolean) => {
    zn.manualSeed(10);
    const a = zn.randn([16, 16]).requiresGrad_(true);
    let loss = zn.zeros([]);
    for (let s = 0; s < 4; s++) loss = loss.add(a.matmul(a).mul(s + 1).sum());
    const sums = countingSums(() => loss.backward(null, { createGraph }));
    // Eight gradients for a: six go into the sum in place, none with a graph.
    assert(sums === (createGraph ? 0 : 6), `${sums} products summed in place`);
    return a.grad!.detach();
  };
  const inPlace = run(false), graph = run(true);
  assertClose(inPlace, values(graph), 1e-4, "a @ a gradient");
});

Deno.test("weight gradients summed in place leave the operands and earlier gradients untouched", () => {
  zn.manualSeed(11);
  const w = zn.randn([8, 6]).requiresGrad_(true);
  const xs = Array.from({ length: 5 }, () => zn.randn([3, 8]));
  const before = xs.map(values);
  let loss = zn.zeros([]);
  for (const x of xs) loss = loss.add(x.matmul(w).sum());
  loss.backward();
  const first = values(w.grad!);
  xs.forEach((x, s) => assertClose(x, before[s], 0, `operand ${s}`));
  // A second backward adds to .grad (PyTorch's accumulation), from a fresh sum.
  let loss2 = zn.zeros([]);
  for (const x of xs) loss2 = loss2.add(x.matmul(w).sum());
  loss2.backward();
  assertClose(w.grad!, first.map((v) => 2 * v), 1e-5, "gradient after two passes");
});

Deno.test("slices of one tensor, overlapping and more than two, sum their gradients into it", () => {
  // Slices' gradients (narrow, select, strided slices) from the third on go
  // into the sum in place, each into its own region.
  const run = (createGraph: boolean) => {
    const x = zn.tensor([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]).requiresGrad_(true);
    const h = x.mul(1); // an intermediate: its sum is a node's pending gradient
    const parts = [
      h.narrow(1, 0, 3).mul(2), // columns 0-2, weight 2
      h.narrow(1, 2, 3).mul(3), // columns 2-4, weight 3 (overlaps column 2)
      h.select(0, 1).mul(5), // row 1, weight 5
      h.narrow(1, 4, 2).mul(7), // columns 4-5, weight 7 (overlaps column 4)
      h.index(":", { step: 2 }).mul(11), // even columns, weight 11
    ];
    let loss = zn.zeros([]);
    for (const p of parts) loss = loss.add(p.sum());
    loss.backward(null, { createGraph });
    return values(x.grad!.detach());
  };
  // Per column: 2 (cols 0-2) + 3 (2-4) + 7 (4-5) + 11 (even); row 1 adds 5.
  const col = [2 + 11, 2, 2 + 3 + 11, 3, 3 + 7 + 11, 7];
  const want = [...col, ...col.map((v) => v + 5)];
  assertClose(zn.tensor(run(false)), want, 0, "in place");
  assertClose(zn.tensor(run(true)), want, 0, "with a graph");
});
