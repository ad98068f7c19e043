// Regression tests for inputs that used to crash the process or give a
// silently wrong value: integer division overflow, JavaScript numbers that
// no int64 holds, indexing's spellings, indexPut_ with accumulate, empty
// batches, and a native library built for a CPU level above this one.
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import { runDeno } from "./deno_process.ts";
import { fileURLToPath } from "node:url";

const INT_DTYPES = ["int8", "int16", "int32", "int64"] as const;
const BITS = { int8: 8, int16: 16, int32: 32, int64: 64 } as const;

function minOf(dtype: typeof INT_DTYPES[number]): zn.Tensor {
  const min = -(2n ** BigInt(BITS[dtype] - 1));
  return zn.tensor([min, min, 7n, -7n], { dtype });
}

// -------------------------------------------------------------- MIN // -1

Deno.test("floorDivide and remainder of MIN by -1 give PyTorch's MIN and 0, for every signed dtype", () => {
  // PyTorch 2.13: torch.floor_divide(MIN, -1) == MIN (the wrapped negation),
  // torch.remainder(MIN, -1) == 0; x86 division traps on MIN / -1 (SIGFPE).
  for (const dtype of INT_DTYPES) {
    const min = -(2n ** BigInt(BITS[dtype] - 1));
    const x = minOf(dtype);
    const minus1 = zn.full([4], -1n, { dtype });
    const want = [min, min, -7n, 7n];
    const asBig = (t: zn.Tensor) =>
      Array.from(t.toTypedArray() as ArrayLike<number | bigint>, BigInt);
    assertEquals(asBig(x.floorDivide(-1)), want, `${dtype} // -1 (scalar)`);
    assertEquals(asBig(x.floorDivide(minus1)), want, `${dtype} // -1 (tensor)`);
    assertEquals(asBig(x.remainder(-1)), [0n, 0n, 0n, 0n], `${dtype} % -1 (scalar)`);
    assertEquals(asBig(x.remainder(minus1)), [0n, 0n, 0n, 0n], `${dtype} % -1 (tensor)`);
    assertEquals(asBig(x.div(-1, { roundingMode: "floor" })), want, `${dtype} div floor`);
    // Other divisors are unchanged: Python's floor semantics.
    assertEquals(asBig(zn.tensor([-7n, 7n], { dtype }).floorDivide(2)), [-4n, 3n]);
    assertEquals(asBig(zn.tensor([-7n, 7n], { dtype }).remainder(-2)), [-1n, -1n]);
  }
});

// -------------------------------------------------------------- int64 range

Deno.test("numbers outside int64 raise RangeError naming the value and the op, where an int64 is made", () => {
  const bad = [2 ** 63, 1e300, -(2 ** 64), NaN, Infinity, -Infinity];
  for (const v of bad) {
    assertThrows(() => zn.tensor([1, v], { dtype: "int64" }), RangeError, "tensor: value");
    assertThrows(() => zn.full([2], v, { dtype: "int64" }), RangeError, "full: value");
    assertThrows(() => zn.arange(3).fill_(v), RangeError, "fill_: value");
    assertThrows(
      () => zn.zeros([2], { dtype: "int64" }).indexPut_([[0]], v),
      RangeError,
      "indexPut_",
    );
    assertThrows(() => zn.fullLike(zn.arange(2), v), RangeError, "fullLike: value");
  }
  // Scalar operands of integer ops: integral values past int64 (1e300 is an
  // integer to JavaScript) are refused instead of wrapping.
  for (const v of [2 ** 63, 1e300, -1e300]) {
    assertThrows(() => zn.arange(3).add(v), RangeError, "add: value");
    assertThrows(() => zn.arange(3).mul(v), RangeError, "mul: value");
    assertThrows(() => zn.arange(3).maskedFill(zn.arange(3).gt(0), v), RangeError, "maskedFill");
    assertThrows(() => zn.where(zn.arange(3).gt(0), zn.arange(3), v), RangeError, "where");
  }
  const e = assertThrows(() => zn.tensor([2 ** 63], { dtype: "int64" }), RangeError);
  assert(e.message.includes("9223372036854775808"), e.message);
  // Non-finite scalars still promote integer tensors to float, as in PyTorch.
  assertEquals(zn.arange(2).add(NaN).dtype, "float32");
  // The largest values do fit.
  const edge = zn.tensor([-(2n ** 63n), 2n ** 63n - 1n]);
  assertEquals(Array.from(edge.toTypedArray() as BigInt64Array), [-(2n ** 63n), 2n ** 63n - 1n]);
  assertEquals(zn.tensor([-(2 ** 63)], { dtype: "int64" }).toTypedArray()[0], -(2n ** 63n));
  // Smaller integer dtypes refuse what they cannot hold, as torch.tensor does.
  assertThrows(() => zn.tensor([300], { dtype: "uint8" }), RangeError, "uint8");
  assertThrows(() => zn.tensor([-1], { dtype: "uint8" }), RangeError, "uint8");
  assertThrows(() => zn.tensor([2 ** 31], { dtype: "int32" }), RangeError, "int32");
  assertThrows(() => zn.full([1], 128, { dtype: "int8" }), RangeError, "int8");
  // Fractions truncate toward zero, as a cast does.
  assertEquals(zn.tensor([1.7, -1.7], { dtype: "int64" }).toArray(), [1, -1]);
});

Deno.test("index arrays and randint bounds outside int64 are refused, not wrapped", () => {
  const x = zn.arange(4);
  assertThrows(() => x.index([2 ** 63]), RangeError, "index");
  assertThrows(() => x.index([1e300]), RangeError, "index");
  assertThrows(() => x.index([NaN]), TypeError, "index");
  assertThrows(() => x.index(2 ** 63), RangeError, "index");
  assertThrows(() => x.indexPut_([[2 ** 63]], 1), RangeError, "index");
  assertThrows(() => zn.randint(0, 2 ** 64, [2]), RangeError, "randint");
  assertThrows(() => zn.randint(-(2 ** 64), 0, [2]), RangeError, "randint");
  assertThrows(() => zn.randint(0, Infinity, [2]), RangeError, "randint");
  assertThrows(() => zn.randint(0, 300, [2], { dtype: "uint8" }), RangeError, "randint");
  // Bounds past 2^53 draw exactly, as bigints.
  const big = zn.randint(2n ** 62n, 2n ** 62n + 3n, [200]).toTypedArray() as BigInt64Array;
  assert(big.every((v) => v >= 2n ** 62n && v < 2n ** 62n + 3n));
  assertEquals(new Set(big).size, 3, "all three values drawn");
  const full = zn.randint(-(2n ** 63n), 2n ** 63n - 1n, [64]).toTypedArray() as BigInt64Array;
  assert(full.some((v) => v < 0n) && full.some((v) => v > 0n));
});

Deno.test("arange is exact past 2^53, as PyTorch's", () => {
  // torch.arange(2**53, 2**53 + 4) == [2**53, 2**53 + 1, 2**53 + 2, 2**53 + 3]
  assertEquals(Array.from(zn.arange(2 ** 53, 2 ** 53 + 4).toTypedArray() as BigInt64Array), [
    2n ** 53n,
    2n ** 53n + 1n,
    2n ** 53n + 2n,
    2n ** 53n + 3n,
  ]);
  assertEquals(
    Array.from(zn.arange(2n ** 62n, 2n ** 62n - 7n, -3n).toTypedArray() as BigInt64Array),
    [2n ** 62n, 2n ** 62n - 3n, 2n ** 62n - 6n],
  );
  assertEquals(zn.arange(5, 0, -2).toArray(), [5, 3, 1]);
  assertEquals(zn.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assertEquals(zn.arange(4, { dtype: "float64" }).dtype, "float64");
  assertThrows(() => zn.arange(0, 2n ** 63n), RangeError, "int64");
  assertThrows(() => zn.arange(0, 10, -1), RangeError, "arange");
  assertThrows(() => zn.arange(0n, 2n ** 40n), RangeError, "arange");
});

// -------------------------------------------------------------- tensor creation

Deno.test("plain numbers make float32; bigints, integer typed arrays and dtype make integers", () => {
  assertEquals(zn.tensor([1, 2]).dtype, "float32");
  assertEquals(zn.tensor([1.0, 2.0]).var().item(), 0.5); // the case that used to fail far away
  assertEquals(zn.tensor([1n, 2n]).dtype, "int64");
  assertEquals(zn.tensor(new Int32Array([1, 2])).dtype, "int32");
  assertEquals(zn.tensor([true, false]).dtype, "bool");
  assertEquals(zn.full([1], 3).dtype, "float32");
  assertEquals(zn.full([1], 3n).dtype, "int64");
  assertEquals(zn.arange(3).dtype, "int64");
  const e = assertThrows(() => zn.arange(4).to("int64").var(), TypeError);
  assert(e.message.includes('.to("float32")'), e.message);
});

// -------------------------------------------------------------- indexing

Deno.test("index: ':' is the full slice, zn.newaxis a new axis, and null a clear error", () => {
  const x = zn.arange(12).reshape(3, 4);
  assertEquals(x.index(":", 0).toArray(), [0, 4, 8]); // x[:, 0]
  assertEquals(x.index({}, 0).toArray(), [0, 4, 8]);
  assertEquals(x.index(":", ":", zn.newaxis).shape, [3, 4, 1]);
  assertEquals(x.index(zn.newaxis, "...", 1).shape, [1, 3]);
  assertEquals(x.index(1, ":").toArray(), [4, 5, 6, 7]);
  const e = assertThrows(() => x.index(null as never, 0), TypeError, 'use ":"');
  assert(e.message.includes("zn.newaxis"), e.message);
  assertThrows(() => x.index(undefined as never), TypeError, "zn.newaxis");
  assertThrows(() => x.index("::" as never), TypeError, "unsupported index item");
  // indexPut_ takes the same items.
  const y = zn.zeros([2, 3]);
  y.indexPut_([":", 1], 5);
  assertEquals(y.toArray(), [[0, 5, 0], [0, 5, 0]]);
});

Deno.test("indexPut_ with accumulate sums over repeated indices, as PyTorch's", () => {
  // Expected values from PyTorch 2.13's index_put_(..., accumulate=True).
  const a = zn.zeros([5]);
  a.indexPut_([[0, 0, 2, 4, 4, 4]], zn.tensor([1, 2, 3, 4, 5, 6]), { accumulate: true });
  assertEquals(a.toArray(), [3, 0, 3, 0, 15]);
  const b = zn.arange(12).to("float32").reshape(3, 4);
  b.indexPut_([[0, 0, 2], [1, 1, 3]], 10, { accumulate: true });
  assertEquals(b.toArray(), [[0, 21, 2, 3], [4, 5, 6, 7], [8, 9, 10, 21]]);
  const c = zn.arange(6).reshape(2, 3);
  c.indexPut_([[1, 1]], zn.tensor([[1n, 1n, 1n], [2n, 2n, 2n]]), { accumulate: true });
  assertEquals(c.toArray(), [[0, 1, 2], [6, 7, 8]]);
  const d = zn.arange(6).to("float32").reshape(2, 3);
  d.indexPut_([d.gt(2)], 0.5, { accumulate: true });
  assertEquals(d.toArray(), [[0, 1, 2], [3.5, 4.5, 5.5]]);
  const e = zn.arange(6).to("float32").reshape(2, 3);
  e.indexPut_([1], zn.tensor([1, 2, 3]), { accumulate: true });
  assertEquals(e.toArray(), [[0, 1, 2], [4, 6, 8]]);
  const f = zn.zeros([3], { dtype: "float16" });
  f.indexPut_([[1, 1]], 0.5, { accumulate: true });
  assertEquals(f.toArray(), [0, 1, 0]);
  // Without accumulate the write wins, as before.
  const g = zn.zeros([3]);
  g.indexPut_([[1, 1]], 4);
  assertEquals(g.toArray(), [0, 4, 0]);
  assertThrows(() => g.indexPut_([[1]], 1, { accumulate: 1 as never }), TypeError, "accumulate");
});

// -------------------------------------------------------------- empty batches

Deno.test("groupNorm on a zero-size batch returns an empty tensor, with gradients", () => {
  // torch.nn.functional.group_norm(torch.zeros(0, 4, 3), 2).shape == (0, 4, 3);
  // the weight's gradient is zeros.
  const x = zn.zeros([0, 4, 3], { requiresGrad: true });
  const w = zn.ones([4], { requiresGrad: true });
  const y = zn.nn.functional.groupNorm(x, 2, w, zn.zeros([4]));
  assertEquals(y.shape, [0, 4, 3]);
  y.sum().backward();
  assertEquals(x.grad!.shape, [0, 4, 3]);
  assertEquals(w.grad!.toArray(), [0, 0, 0, 0]);
  assertEquals(new zn.nn.GroupNorm(2, 4).call(zn.zeros([0, 4, 2, 2])).shape, [0, 4, 2, 2]);
});

// -------------------------------------------------------------- library level

const libDir = fileURLToPath(new URL("../zig/zig-out/lib", import.meta.url));
const LEVEL_TEXT: Record<number, string> = { 3: "x86-64-v3 (AVX2, FMA)", 4: "x86-64-v4 (AVX-512)" };
/** The x86-64 variants built here, best first. */
const built = Deno.build.os === "linux" && Deno.build.arch === "x86_64"
  ? ([[4, "-v4"], [3, "-v3"], [1, ""]] as const)
    .map(([level, suffix]) => ({ level, path: `${libDir}/libzeno-linux-x86_64${suffix}.so` }))
    .filter(({ path }) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    })
  : [];
const top = built.find(({ level }) => level > 1);

async function loadWith(env: Record<string, string>): Promise<{ ok: boolean; text: string }> {
  const code = `import { library } from ${
    JSON.stringify(new URL("../ffi/loader.ts", import.meta.url).href)
  };
const lib = library();
console.log(lib.path, lib.level, lib.symbols.zeno_num_threads() > 0);`;
  const out = await runDeno(["eval", "--ext=ts", code], { env });
  return { ok: out.success, text: out.stdout + out.stderr };
}

Deno.test({
  name: "ZENO_LIB naming a build for a CPU level above this CPU is refused with a clear error",
  ignore: top === undefined,
  async fn() {
    // ZENO_CPU_LEVEL stands for a CPU without the top variant's features.
    const cap = top!.level === 4 ? 3 : 1;
    const r = await loadWith({ ZENO_LIB: top!.path, ZENO_CPU_LEVEL: `${cap}` });
    assert(!r.ok, `expected a refusal, got: ${r.text}`);
    assert(r.text.includes(`built for ${LEVEL_TEXT[top!.level]}`), r.text);
    assert(r.text.includes("supports only"), r.text);
    // A folder opens the best variant present that the (capped) CPU runs,
    // or says which build to make.
    const dir = await loadWith({ ZENO_LIB: libDir, ZENO_CPU_LEVEL: `${cap}` });
    const fits = built.find(({ level }) => level <= cap);
    if (fits) {
      assert(dir.ok, dir.text);
      assert(dir.text.includes(`${fits.path} ${fits.level} true`), dir.text);
    } else {
      assert(!dir.ok && dir.text.includes("run `deno task build` here"), dir.text);
    }
    const best = await loadWith({ ZENO_LIB: libDir });
    assert(best.ok && best.text.includes(`${built[0].path} ${built[0].level} true`), best.text);
    const bad = await loadWith({ ZENO_LIB: libDir, ZENO_CPU_LEVEL: "2" });
    assert(!bad.ok && bad.text.includes("ZENO_CPU_LEVEL must be 1, 3 or 4"), bad.text);
  },
});
