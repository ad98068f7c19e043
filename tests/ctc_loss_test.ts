/**
 * F.ctcLoss and nn.CTCLoss against PyTorch (tests/fixtures/ctc.json):
 * losses and gradients with respect to the log-probabilities.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface CtcCase {
  name: string;
  opts: { reduction?: "mean" | "sum" | "none"; blank?: number; zero_infinity?: boolean };
  logProbs: FloatRec;
  targets: FloatRec;
  inputLengths: number[];
  targetLengths: number[];
  out: FloatRec;
  grad: FloatRec | null;
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/ctc.json", import.meta.url)),
) as { cases: CtcCase[] };
for (const c of fx.cases) {
  Deno.test(`ctcLoss matches PyTorch: ${c.name}`, () => {
    const lp = floatTensor(c.logProbs).requiresGrad_(true);
    const targets = zn.tensor(c.targets.data.map((v) => BigInt(v)), { dtype: "int64" })
      .reshape(c.targets.shape);
    const opts = {
      ...(c.opts.reduction ? { reduction: c.opts.reduction } : {}),
      ...(c.opts.blank !== undefined ? { blank: c.opts.blank } : {}),
      ...(c.opts.zero_infinity ? { zeroInfinity: true } : {}),
    };
    const out = zn.nn.functional.ctcLoss(lp, targets, c.inputLengths, c.targetLengths, opts);
    assertNear(out, c.out, "loss", 1e-9);
    if (!c.grad) return;
    out.sum().backward();
    assertNear(lp.grad!, c.grad, "gradient", 1e-9);
  });
}

Deno.test("CTCLoss module equals the functional form; bad labels and lengths name the op", () => {
  const lp = zn.randn([5, 2, 4], { dtype: "float64" }).logSoftmax(2);
  const targets = zn.tensor([[1n, 2n], [3n, 1n]]);
  const m = new zn.nn.CTCLoss({ reduction: "sum" });
  const a = m.call(lp, targets, [5, 4], [2, 2]).item() as number;
  const b = zn.nn.functional.ctcLoss(lp, targets, [5, 4], [2, 2], { reduction: "sum" }).item();
  assert(a === b, `module ${a}, functional ${b}`);
  const m1 = assertThrows(
    () => zn.nn.functional.ctcLoss(lp, zn.tensor([[0n, 1n], [1n, 1n]]), [5, 5], [2, 2]),
    RangeError,
    "ctcLoss",
  );
  assert(m1.message.includes("blank"), m1.message);
  const m2 = assertThrows(
    () => zn.nn.functional.ctcLoss(lp, targets, [6, 5], [2, 2]),
    RangeError,
    "ctcLoss",
  );
  assert(m2.message.includes("input_lengths"), m2.message);
});
