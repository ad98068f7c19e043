/**
 * The padding modules against PyTorch's (tests/fixtures/padding.json): every
 * kind in 1, 2 and 3 dims, one size or per-side sizes, batched or not.
 */
import * as zn from "../mod.ts";
import { assert, assertThrows } from "./assert_helpers.ts";
import { assertNear, type FloatRec, floatTensor } from "./fixture_harness.ts";

interface PadCase {
  module: string;
  args: [number | number[], number?];
  x: FloatRec;
  out: FloatRec;
}

const fx = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/padding.json", import.meta.url)),
) as { cases: PadCase[] };

type PadCtor = new (padding: zn.nn.PadSize, value?: number) => zn.nn.Module;

for (const c of fx.cases) {
  Deno.test(`${c.module}(${JSON.stringify(c.args)}) matches PyTorch on [${c.x.shape}]`, () => {
    const Ctor = (zn.nn as unknown as Record<string, PadCtor>)[c.module];
    const m = c.args.length === 2 ? new Ctor(c.args[0], c.args[1]) : new Ctor(c.args[0]);
    assertNear(m.call(floatTensor(c.x)) as zn.Tensor, c.out, "value", 1e-15);
  });
}

Deno.test("padding modules refuse bad sizes and input ranks by name", () => {
  assertThrows(() => new zn.nn.ZeroPad2d([1, 2, 3]), RangeError, "ZeroPad2d: padding must be");
  assertThrows(() => new zn.nn.ReflectionPad1d(1.5), RangeError, "ReflectionPad1d");
  assertThrows(() => new zn.nn.CircularPad1d("1" as never), TypeError, "CircularPad1d");
  const e = assertThrows(
    () => new zn.nn.ReplicationPad2d(1).call(zn.ones([4])),
    RangeError,
    "ReplicationPad2d: expected 3D or 4D input",
  );
  assert(e.message.includes("[4]"), e.message);
  assertThrows(() => new zn.nn.ReflectionPad1d(3).call(zn.ones([1, 3])), RangeError, "pad");
  assert(
    new zn.nn.ConstantPad1d([1, 0], 2).toString().includes("(1, 0), value=2"),
    new zn.nn.ConstantPad1d([1, 0], 2).toString(),
  );
});
