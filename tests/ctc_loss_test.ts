/**
 * F.ctcLoss and nn.CTCLoss against PyTorch (tests/fixtures/ctc.json):
 * losses and gradients with respect to the log-probabilities.
 */
import * as zn from "../mod.ts";
import { assert } from "./assert_helpers.ts";

interface Rec {
  shape: number[];
  data: (number | string)[];
}
interface CtcCase {
  name: string;
  opts: { reduction?: "mean" | "sum" | "none"; blank?: number; zero_infinity?: boolean };
  logProbs: Rec;
  targets: Rec;
  inputLengths: number[];
  targetLengths: number[];
  out: Rec;
  grad: Rec | null;
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/ctc.json", import.meta.url)),
) as { cases: CtcCase[] };
const num = (v: number | string) => v === "inf" ? Infinity : v === "-inf" ? -Infinity : Number(v);

function close(got: zn.Tensor, want: Rec, what: string): void {
  assert(got.shape.join() === want.shape.join(), `${what}: shape ${got.shape}, want ${want.shape}`);
  const g = got.reshape([-1]).toArray() as number[];
  let diff = 0;
  g.forEach((v, i) => {
    const w = num(want.data[i]);
    diff = Math.max(diff, v === w ? 0 : Math.abs(v - w));
  });
  assert(diff < 1e-9, `${what}: largest difference ${diff}`);
}

for (const c of fx.cases) {
  Deno.test(`ctcLoss matches PyTorch: ${c.name}`, () => {
    const lp = zn.tensor(c.logProbs.data.map(num), { dtype: "float64" }).reshape(c.logProbs.shape)
      .requiresGrad_(true);
    const targets = zn.tensor(c.targets.data.map((v) => BigInt(v)), { dtype: "int64" })
      .reshape(c.targets.shape);
    const opts = {
      ...(c.opts.reduction ? { reduction: c.opts.reduction } : {}),
      ...(c.opts.blank !== undefined ? { blank: c.opts.blank } : {}),
      ...(c.opts.zero_infinity ? { zeroInfinity: true } : {}),
    };
    const out = zn.nn.functional.ctcLoss(lp, targets, c.inputLengths, c.targetLengths, opts);
    close(out, c.out, "loss");
    if (!c.grad) return;
    out.sum().backward();
    close(lp.grad!, c.grad, "gradient");
  });
}

Deno.test("CTCLoss module equals the functional form; bad labels and lengths name the op", () => {
  const lp = zn.randn([5, 2, 4], { dtype: "float64" }).logSoftmax(2);
  const targets = zn.tensor([[1n, 2n], [3n, 1n]]);
  const m = new zn.nn.CTCLoss({ reduction: "sum" });
  const a = m.call(lp, targets, [5, 4], [2, 2]).item() as number;
  const b = zn.nn.functional.ctcLoss(lp, targets, [5, 4], [2, 2], { reduction: "sum" }).item();
  assert(a === b, `module ${a}, functional ${b}`);
  const msgOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  const m1 = msgOf(() =>
    zn.nn.functional.ctcLoss(lp, zn.tensor([[0n, 1n], [1n, 1n]]), [5, 5], [2, 2])
  );
  assert(m1.includes("ctcLoss") && m1.includes("blank"), m1);
  const m2 = msgOf(() => zn.nn.functional.ctcLoss(lp, targets, [6, 5], [2, 2]));
  assert(m2.includes("ctcLoss") && m2.includes("input_lengths"), m2);
});
