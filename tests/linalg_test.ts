/**
 * zn.linalg against PyTorch (tests/fixtures/linalg.json): values, and the
 * gradients of a weighted sum of the results (eigen- and singular vectors
 * enter squared, which their sign does not change; the rules' gradcheck cases
 * are in autograd_gradcheck_test.ts), and the errors PyTorch raises, raised before any kernel runs.
 */
import * as zn from "../mod.ts";
import { assertMatches, makeTensor, type TensorRec } from "./fixture_harness.ts";
import { assert, assertThrows } from "./assert_helpers.ts";

interface LinalgCase {
  name: string;
  fn: string;
  kwargs: Record<string, unknown>;
  inputs: TensorRec[];
  outs: Record<string, TensorRec>;
  terms: [string, "id" | "sq"][];
  weights: TensorRec[];
  grads: (TensorRec | null)[];
}

const fixtures = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/linalg.json", import.meta.url)),
) as { cases: LinalgCase[] };

const L = zn.linalg;

function num(v: unknown): number {
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return v as number;
}

/** Runs one case's function: its results by the fixture's names. */
function call(c: LinalgCase, x: zn.Tensor[]): Record<string, zn.Tensor> {
  const k = c.kwargs;
  switch (c.fn) {
    case "det":
      return { out: L.det(x[0]) };
    case "slogdet":
      return L.slogdet(x[0]);
    case "inv":
      return { out: L.inv(x[0]) };
    case "solve":
      return { out: L.solve(x[0], x[1], k.left === undefined ? {} : { left: k.left as boolean }) };
    case "cholesky":
      return { out: L.cholesky(x[0], k.upper ? { upper: true } : {}) };
    case "qr":
      return L.qr(x[0], k.mode ? { mode: k.mode as "complete" } : {});
    case "eigh":
      return L.eigh(x[0], k.UPLO ? { UPLO: k.UPLO as "U" } : {});
    case "eigvalsh":
      return { out: L.eigvalsh(x[0]) };
    case "svd":
      return L.svd(x[0], k.full_matrices === false ? { fullMatrices: false } : {});
    case "svdvals":
      return { out: L.svdvals(x[0]) };
    case "pinv":
      return { out: L.pinv(x[0]) };
    case "lstsq":
      return { solution: L.lstsq(x[0], x[1]).solution };
    case "matrixPower":
      return { out: L.matrixPower(x[0], k.n as number) };
    case "vectorNorm":
      return { out: L.vectorNorm(x[0], num(k.ord), k.dim as number | null) };
    case "matrixNorm":
      return { out: L.matrixNorm(x[0], k.ord === "fro" || k.ord === "nuc" ? k.ord : num(k.ord)) };
    case "norm":
      return {
        out: k.ord === undefined ? L.norm(x[0]) : L.norm(x[0], k.ord as "nuc"),
      };
  }
  throw new Error(`unknown fixture function ${c.fn}`);
}

const TOL = {
  float64: { rtol: 1e-9, atol: 1e-10 },
  float32: { rtol: 2e-4, atol: 2e-5 },
} as const;

for (const c of fixtures.cases) {
  Deno.test(`linalg.${c.fn} matches PyTorch: ${c.name}`, () => {
    const inputs = c.inputs.map((r) => {
      const t = makeTensor(r);
      return t.dtype === "float32" || t.dtype === "float64" ? t.requiresGrad_(true) : t;
    });
    const res = call(c, inputs);
    for (const [name, rec] of Object.entries(c.outs)) {
      assertMatches(res[name], rec, `${c.name}: ${name}`, TOL[rec.dtype as "float64"]);
    }
    if (c.terms.length === 0) return;
    let loss: zn.Tensor | null = null;
    c.terms.forEach(([name, how], i) => {
      const r = res[name];
      const term = makeTensor(c.weights[i]).mul(how === "sq" ? r.mul(r) : r).sum();
      loss = loss ? loss.add(term) : term;
    });
    loss!.backward();
    c.grads.forEach((g, i) => {
      if (g === null) return;
      const tol = g.dtype === "float32" ? { rtol: 2e-3, atol: 2e-4 } : { rtol: 1e-7, atol: 1e-8 };
      assertMatches(inputs[i].grad!, g, `${c.name}: gradient of input ${i}`, tol);
    });
  });
}

function rand(shape: number[], seed: number): zn.Tensor {
  return zn.randn(shape, { dtype: "float64", generator: zn.manualSeed(seed) });
}

Deno.test("linalg raises PyTorch's errors before the kernel runs", () => {
  const sing = zn.tensor([[1.0, 2.0], [2.0, 4.0]]);
  assertThrows(() => L.inv(sing), RangeError, "The diagonal element 2 is zero");
  assertThrows(() => L.solve(sing, zn.tensor([1.0, 2.0])), RangeError, "singular");
  assertThrows(
    () => L.cholesky(zn.tensor([[1.0, 2.0], [2.0, 1.0]])),
    RangeError,
    "the leading minor of order 2 is not positive-definite",
  );
  assertThrows(
    () => L.cholesky(zn.stack([zn.eye(2), zn.tensor([[1.0, 2.0], [2.0, 1.0]])])),
    RangeError,
    "(Batch element 1)",
  );
  assertThrows(() => L.det(zn.zeros([2, 3])), RangeError, "square matrices, but they are 2 by 3");
  assertThrows(() => L.det(zn.zeros([3])), RangeError, "at least 2 dimensions");
  assertThrows(() => L.inv(zn.zeros([2, 2], { dtype: "int64" })), TypeError, "float32 or float64");
  assertThrows(() => L.solve(zn.eye(2), zn.zeros([3, 1])), RangeError, "Incompatible shapes");
  assertThrows(() => L.qr(zn.eye(2), { mode: "x" as "r" }), RangeError, "unrecognized mode");
  assertThrows(() => L.svd(zn.eye(2), { full: true } as never), TypeError, "unknown option 'full'");
  assertThrows(() => L.matrixNorm(zn.eye(2), 3), RangeError, "Order 3 not supported");
  assertThrows(() => L.matrixPower(zn.eye(2), 1.5), TypeError, "integer exponent");
});

Deno.test("qr with mode r returns R only and refuses to differentiate", () => {
  const a = rand([4, 3], 6).requiresGrad_(true);
  const { Q, R } = L.qr(a, { mode: "r" });
  assert(Q.numel === 0 && R.shape.join() === "3,3");
  assertThrows(() => R.sum().backward(), Error, "mode='r'");
});

Deno.test("eigh and svd reconstruct their batched inputs in float32 and float64", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const a = zn.randn([3, 5, 4], { dtype, generator: zn.manualSeed(3) });
    const { U, S, Vh } = L.svd(a, { fullMatrices: false });
    const back = U.mul(S.unsqueeze(-2)).matmul(Vh);
    const err = back.sub(a).abs().max().item() as number;
    assert(err < (dtype === "float32" ? 1e-5 : 1e-12), `${dtype} svd: largest difference ${err}`);
    const s = a.mT.matmul(a);
    const { eigenvalues: w, eigenvectors: v } = L.eigh(s);
    const back2 = v.mul(w.unsqueeze(-2)).matmul(v.mT);
    const err2 = back2.sub(s).abs().max().item() as number;
    assert(
      err2 < (dtype === "float32" ? 1e-4 : 1e-11),
      `${dtype} eigh: largest difference ${err2}`,
    );
    const full = L.svd(a);
    const orth = full.U.mT.matmul(full.U).sub(zn.eye(5, { dtype })).abs().max().item() as number;
    assert(orth < (dtype === "float32" ? 1e-5 : 1e-12), `${dtype} full U not orthonormal: ${orth}`);
  }
});
