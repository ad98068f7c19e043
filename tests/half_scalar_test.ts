/**
 * Arithmetic between float16/bfloat16 tensors and plain numbers: PyTorch
 * computes in float32 with the number as a float32 scalar and rounds once.
 * A number the half dtype holds exactly runs on the half kernel as a half
 * operand; any other number runs on the CPU's scalar kernel, kept in float32
 * (other backends compute through float32 copies). All must give PyTorch's
 * values.
 */
import * as zn from "../mod.ts";
import { assertEquals } from "./assert_helpers.ts";

// torch.tensor([3., -1.5, 100.], dtype=...) op number, printed by PyTorch 2.13.
const TORCH: Record<"bfloat16" | "float16", Record<string, number[]>> = {
  bfloat16: {
    "mul 2.1": [6.3125, -3.15625, 210.0],
    "add 0.1": [3.09375, -1.3984375, 100.0],
    "div 3": [1.0, -0.5, 33.25],
    "mul 2": [6.0, -3.0, 200.0],
  },
  float16: {
    "mul 2.1": [6.30078125, -3.150390625, 210.0],
    "add 0.1": [3.099609375, -1.400390625, 100.125],
    "div 3": [1.0, -0.5, 33.34375],
  },
};

function apply(x: zn.Tensor, op: string, v: number): zn.Tensor {
  if (op === "mul") return x.mul(v);
  if (op === "add") return x.add(v);
  if (op === "sub") return x.sub(v);
  if (op === "div") return x.div(v);
  if (op === "lt") return x.lt(v);
  if (op === "rsub") return zn.sub(v, x);
  if (op === "rdiv") return zn.div(v, x);
  if (op === "pow") return x.abs().pow(v);
  throw new Error(op);
}

Deno.test("half tensor with a number gives PyTorch's values, exact and inexact numbers alike", () => {
  for (const dtype of ["bfloat16", "float16"] as const) {
    const x = zn.tensor([3, -1.5, 100], { dtype });
    for (const [key, want] of Object.entries(TORCH[dtype])) {
      const [op, v] = key.split(" ");
      const got = apply(x, op, Number(v));
      assertEquals(got.dtype, dtype, `${dtype} ${key}: dtype`);
      assertEquals(Array.from(got.toArray() as number[]), want, `${dtype} ${key}`);
    }
  }
});

Deno.test("half tensor with a number equals the float32 computation rounded once", () => {
  const base = zn.randn([1000], { generator: zn.manualSeed(3) }).mul(50);
  for (const dtype of ["bfloat16", "float16"] as const) {
    const x = base.to(dtype);
    const xf = x.to("float32");
    for (const op of ["mul", "add", "sub", "div", "lt", "rsub", "rdiv", "pow"]) {
      for (const v of [2, 0.5, -3, 0.125, 2.1, 1e-5, -0.3, 7]) {
        const got = apply(x, op, v);
        const f = apply(xf, op, v);
        const want = op === "lt" ? f : f.to(dtype);
        assertEquals(got.dtype, want.dtype, `${dtype} ${op} ${v}: dtype`);
        const g = Array.from(got.toArray() as ArrayLike<number | boolean>);
        const w = Array.from(want.toArray() as ArrayLike<number | boolean>);
        let bad = -1;
        for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) bad = bad < 0 ? i : bad;
        assertEquals(bad, -1, `${dtype} ${op} ${v}: element ${bad}: ${g[bad]} vs ${w[bad]}`);
      }
    }
  }
});

Deno.test("half tensor views with a number: strides and broadcast shapes kept", () => {
  const base = zn.randn([6, 5], { generator: zn.manualSeed(4) });
  for (const dtype of ["bfloat16", "float16"] as const) {
    const x = base.to(dtype).mT.narrow(1, 1, 4); // [5, 4], strided
    for (
      const [got, want] of [
        [x.mul(0.1), x.to("float32").mul(0.1).to(dtype)],
        [zn.sub(0.3, x), zn.sub(0.3, x.to("float32")).to(dtype)],
        [x.gt(0.2), x.to("float32").gt(0.2)],
      ]
    ) {
      assertEquals(got.shape, [5, 4]);
      assertEquals(got.toArray(), want.toArray(), `${dtype}`);
    }
  }
});
