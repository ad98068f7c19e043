// Rearranging and products (src/ops/rearrange.ts, src/ops/products.ts)
// against PyTorch: tests/fixtures/breadth.json, made by
// tests/fixtures/make_fixtures.py. Their gradients are in grad.json.
import { assertThrows as throwsWith } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { fixtureTests } from "./fixture_harness.ts";

fixtureTests("breadth");

/** Asserts that `fn` throws `cls` with a message holding every one of `parts`. */
function assertThrows(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error,
  ...parts: string[]
): void {
  const e = throwsWith(fn, cls);
  for (const p of parts) {
    if (!e.message.includes(p)) throw new Error(`expected "${p}" in the message: ${e.message}`);
  }
}

Deno.test("breadth: bad arguments name the op and the shapes", () => {
  assertThrows(() => zn.bmm(zn.ones([2, 3]), zn.ones([2, 3, 4])), RangeError, "bmm", "3-D");
  assertThrows(
    () => zn.bmm(zn.ones([2, 3, 4]), zn.ones([3, 4, 5])),
    RangeError,
    "bmm",
    "[2, 3, 4]",
  );
  assertThrows(
    () => zn.addmm(zn.ones([2, 3, 5]), zn.ones([3, 4]), zn.ones([4, 5])),
    RangeError,
    "addmm",
    "[2, 3, 5]",
  );
  assertThrows(() => zn.addmm(zn.ones([5]), zn.ones([3, 4]), zn.ones([5, 5])), RangeError, "addmm");
  assertThrows(() => zn.addmv(zn.ones([3]), zn.ones([3, 4]), zn.ones([3])), RangeError, "addmv");
  assertThrows(() => zn.einsum("ij,jk->ik", zn.ones([2, 3])), RangeError, "einsum", "2 operands");
  assertThrows(() => zn.einsum("ij->i", zn.ones([2, 3, 4])), RangeError, "einsum", "3 dims");
  assertThrows(
    () => zn.einsum("ij,jk->ik", zn.ones([2, 3]), zn.ones([4, 5])),
    RangeError,
    "einsum",
    "'j'",
  );
  assertThrows(
    () => zn.einsum("ii->i", zn.ones([2, 3])),
    RangeError,
    "einsum",
    "subscript i is repeated for operand 0 but the sizes don't match, 3 != 2",
  );
  assertThrows(() => zn.einsum("ij->k", zn.ones([3, 3])), RangeError, "einsum", "'k'");
  assertThrows(() => zn.unique(zn.ones([2, 2]), { dim: 2 }), RangeError, "unique", "dim");
  assertThrows(() => zn.roll(zn.ones([3]), [1, 2], [0]), RangeError, "roll", "same length");
  assertThrows(() => zn.rot90(zn.ones([3])), RangeError, "rot90", "2 dims");
  assertThrows(() => zn.repeat(zn.ones([2, 2]), [2]), RangeError, "repeat");
  assertThrows(
    () => zn.repeatInterleave(zn.ones([3]), zn.tensor([1n, 2n]), 0),
    RangeError,
    "repeatInterleave",
  );
  assertThrows(() => zn.movedim(zn.ones([2, 3]), [0, 1], [0]), RangeError, "movedim");
  assertThrows(() => zn.ones([2, 3, 4]).H, RangeError, "Tensor.H", "3-D");
  assertThrows(
    () => zn.addmm(zn.ones([2]), zn.ones([2, 2]), zn.ones([2, 2]), { gamma: 1 } as never),
    TypeError,
    "gamma",
  );
});

Deno.test("breadth: flip and repeat copy; movedim, unbind and T are views", () => {
  const x = zn.arange(6).to("float32").reshape(2, 3);
  const f = zn.flip(x, []);
  f.fill_(0);
  const r = x.repeat([1, 1]);
  r.fill_(0);
  const m = zn.movedim(x, 0, 1);
  m.fill_(1);
  if (x.sum().item() !== 6) throw new Error(`movedim should be a view: sum ${x.sum().item()}`);
});
