/**
 * Error paths: every bad call throws the right error class (RangeError for
 * bad shapes, dims and indices; TypeError for bad dtypes) with a message that
 * names the op and the shapes or values involved, and never crashes the
 * native library.
 */
import { deepEqual, ok, throws } from "node:assert/strict";
import * as zn from "../mod.ts";

type ErrorClass = new (...args: never[]) => Error;

/** Asserts that `fn` throws a `cls` whose message contains every part. */
function assertThrows(fn: () => unknown, cls: ErrorClass, ...parts: string[]): void {
  throws(fn, (e: unknown) => {
    ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${e}`);
    for (const p of parts) {
      ok(
        (e as Error).message.includes(p),
        `message ${JSON.stringify((e as Error).message)} lacks ${JSON.stringify(p)}`,
      );
    }
    return true;
  });
}

const x23 = () => zn.ones([2, 3]);

// ---------------------------------------------------------------- shapes

Deno.test("add of unbroadcastable shapes throws RangeError naming both shapes", () => {
  assertThrows(() => zn.add(x23(), zn.ones([4])), RangeError, "add", "[2, 3]", "[4]");
  assertThrows(
    () => zn.mul(zn.ones([2, 1, 3]), zn.ones([4, 2])),
    RangeError,
    "mul",
    "[2, 1, 3]",
    "[4, 2]",
  );
  assertThrows(
    () => zn.where(zn.ones([2]).gt(0), zn.ones([3]), 0),
    RangeError,
    "where",
    "[2]",
    "[3]",
  );
});

Deno.test("matmul of mismatched inner sizes throws RangeError naming the shapes", () => {
  assertThrows(() => zn.matmul(x23(), zn.ones([4, 5])), RangeError, "matmul", "[2, 3]", "[4, 5]");
  assertThrows(() => zn.matmul(zn.ones([3]), zn.ones([4])), RangeError, "matmul", "[3]", "[4]");
  assertThrows(
    () => zn.matmul(zn.ones([2, 2, 3]), zn.ones([3, 3, 4])),
    RangeError,
    "matmul",
    "[2]",
    "[3]",
  );
  assertThrows(() => zn.matmul(zn.ones([]), zn.ones([4])), RangeError, "matmul", "1D");
});

Deno.test("cat and stack of mismatched shapes throw RangeError naming the shapes", () => {
  assertThrows(() => zn.cat([x23(), zn.ones([2, 4])], 0), RangeError, "cat", "[2, 3]", "[2, 4]");
  assertThrows(() => zn.cat([x23(), zn.ones([3])], 0), RangeError, "cat", "2", "1");
  assertThrows(() => zn.cat([], 0), RangeError, "cat");
  assertThrows(() => zn.cat([x23(), x23()], 2), RangeError, "cat", "dimension out of range");
  assertThrows(() => zn.stack([x23(), zn.ones([3, 2])]), RangeError, "stack", "[2, 3]", "[3, 2]");
});

Deno.test("view and reshape to a wrong element count throw RangeError", () => {
  assertThrows(() => x23().view(4), RangeError, "view", "[4]", "6");
  assertThrows(() => x23().reshape(4, 2), RangeError, "reshape", "[4, 2]", "6");
  assertThrows(() => x23().reshape(-1, -1), RangeError, "reshape", "one dimension");
  assertThrows(() => x23().mT.view(6), RangeError, "view", "[3, 2]", "reshape");
  assertThrows(() => zn.ones([6]).unflatten(0, [4, 2]), RangeError, "unflatten", "[4, 2]");
});

Deno.test("expand to an incompatible shape throws RangeError naming both shapes", () => {
  assertThrows(() => x23().expand(2, 4), RangeError, "expand", "[2, 4]", "[2, 3]");
  assertThrows(() => x23().expand(3), RangeError, "expand", "(1)", "(2)");
  assertThrows(() => x23().copy_(zn.ones([3, 2])), RangeError, "copy_", "[2, 3]", "[3, 2]");
});

Deno.test("negative and fractional sizes throw RangeError naming the shape", () => {
  assertThrows(() => zn.zeros([2, -1]), RangeError, "zeros", "[2, -1]");
  assertThrows(() => zn.full([-1], 1), RangeError, "full", "[-1]");
  assertThrows(() => zn.randn([3, -2]), RangeError, "randn", "[3, -2]");
  assertThrows(() => zn.zeros([1.5]), RangeError, "zeros", "[1.5]");
  assertThrows(() => x23().reshape(-2, 3), RangeError, "reshape", "-2");
  assertThrows(() => zn.tensor([[1, 2], [3]]), RangeError, "tensor", "length 2");
  assertThrows(() => zn.linspace(0, 1, -1), RangeError, "linspace", "-1");
});

// ---------------------------------------------------------------- dims

Deno.test("out-of-range dims throw RangeError with the valid range", () => {
  assertThrows(() => x23().sum(2), RangeError, "sum", "[-2, 1]", "2");
  assertThrows(() => x23().sum(-3), RangeError, "sum", "-3");
  assertThrows(() => x23().transpose(0, 2), RangeError, "transpose", "2");
  assertThrows(() => x23().softmax(5), RangeError, "softmax", "5");
  assertThrows(() => x23().cumsum(-4), RangeError, "cumsum", "-4");
  assertThrows(() => x23().squeeze(3), RangeError, "squeeze", "3");
  assertThrows(() => x23().argmax(2), RangeError, "argmax", "2");
  assertThrows(() => x23().max(2), RangeError, "max", "2");
  assertThrows(() => x23().unsqueeze(4), RangeError, "unsqueeze", "4");
  assertThrows(() => zn.gather(x23(), 2, zn.tensor([[0n]])), RangeError, "gather", "2");
});

Deno.test("repeated dims throw RangeError naming the dim", () => {
  assertThrows(() => x23().sum([0, 0]), RangeError, "sum", "dim 0", "multiple times");
  assertThrows(() => x23().sum([1, -1]), RangeError, "sum", "dim 1", "multiple times");
  assertThrows(() => x23().permute(0, 0), RangeError, "permute", "multiple times");
  assertThrows(() => x23().permute(0), RangeError, "permute", "2", "1");
});

// ---------------------------------------------------------------- indices

Deno.test("select and narrow out of range throw RangeError naming index and size", () => {
  assertThrows(() => x23().select(1, 3), RangeError, "select", "3", "[2, 3]");
  assertThrows(() => x23().select(0, -3), RangeError, "select", "-3", "[2, 3]");
  assertThrows(() => x23().narrow(1, 2, 2), RangeError, "narrow", "(2)", "(3)");
});

Deno.test("index with out-of-range numbers, tensors and masks throws RangeError", () => {
  assertThrows(() => x23().index(5), RangeError, "index", "5", "size 2");
  assertThrows(() => x23().index(0, -4), RangeError, "index", "-4", "size 3");
  assertThrows(() => x23().index(zn.tensor([0n, 2n])), RangeError, "index", "2", "size 2");
  assertThrows(() => x23().index(zn.tensor([-3n])), RangeError, "index", "-3", "size 2");
  assertThrows(() => x23().index({}, [3]), RangeError, "index", "3", "dimension 1");
  assertThrows(() => x23().index(0, 0, 0), RangeError, "index", "too many indices");
  assertThrows(
    () => x23().index(zn.tensor([true, false, true])),
    RangeError,
    "index",
    "[3]",
    "[2, 3]",
  );
  assertThrows(() => x23().indexPut_([zn.tensor([7n])], 1), RangeError, "7", "size 2");
  assertThrows(() => x23().index("...", "..."), TypeError, "ellipsis");
  assertThrows(() => x23().index(zn.tensor([0.5])), TypeError, "index", "float32");
});

Deno.test("gather, scatter, scatterAdd and indexSelect with bad indices throw RangeError", () => {
  assertThrows(
    () => zn.gather(x23(), 1, zn.tensor([[0n, 3n]])),
    RangeError,
    "gather",
    "3",
    "size 3",
  );
  assertThrows(() => zn.gather(x23(), 1, zn.tensor([[-1n]])), RangeError, "gather", "-1");
  assertThrows(() => x23().scatter(1, zn.tensor([[5n]]), 1), RangeError, "scatter", "5", "size 3");
  assertThrows(() => x23().scatter(1, zn.tensor([[-1n]]), 1), RangeError, "scatter", "-1");
  assertThrows(
    () => x23().scatterAdd(0, zn.tensor([[2n]]), zn.ones([1, 1])),
    RangeError,
    "scatterAdd",
    "2",
    "size 2",
  );
  assertThrows(
    () => zn.indexSelect(x23(), 0, zn.tensor([0n, 2n])),
    RangeError,
    "indexSelect",
    "2",
    "size 2",
  );
  assertThrows(() => zn.indexSelect(x23(), 1, zn.tensor([-4n])), RangeError, "indexSelect", "-4");
  assertThrows(() => zn.gather(x23(), 1, zn.tensor([[0.5]])), TypeError, "gather", "float32");
  assertThrows(() => zn.oneHot(zn.tensor([0n, 3n]), 2), RangeError, "oneHot", "3");
  assertThrows(() => zn.oneHot(zn.tensor([-1n]), 2), RangeError, "oneHot", "-1");
  assertThrows(() => zn.topk(zn.ones([3]), 4), RangeError, "topk", "4", "3");
});

// ---------------------------------------------------------------- values and dtypes

Deno.test("integer division by zero throws RangeError", () => {
  assertThrows(
    () => zn.div(zn.tensor([1n, 2n]), 0, { roundingMode: "floor" }),
    RangeError,
    "division by zero",
  );
  assertThrows(
    () => zn.div(zn.tensor([1n, 2n]), zn.tensor([0n, 1n]), { roundingMode: "trunc" }),
    RangeError,
    "div",
    "division by zero",
  );
  assertThrows(
    () => zn.floorDivide(zn.tensor([1n, 2n]), zn.tensor([1n, 0n])),
    RangeError,
    "floorDivide",
    "division by zero",
  );
  assertThrows(
    () => zn.remainder(zn.tensor([1n, 2n]), 0),
    RangeError,
    "remainder",
    "division by zero",
  );
});

Deno.test("float division by zero gives infinities and NaN, not an error", () => {
  const r = zn.div(zn.tensor([1, -1, 0]), 0).toArray() as number[];
  ok(r[0] === Infinity && r[1] === -Infinity && Number.isNaN(r[2]), `got ${r}`);
});

Deno.test("dtype errors throw TypeError naming the op and the dtypes", () => {
  assertThrows(() => zn.mean(zn.tensor([1n, 2n])), TypeError, "mean", "int64");
  assertThrows(() => zn.var(zn.tensor([1n, 2n])), TypeError, "var", "int64");
  assertThrows(
    () => zn.matmul(zn.ones([2, 2]), zn.ones([2, 2], { dtype: "float64" })),
    TypeError,
    "matmul",
    "float32",
    "float64",
  );
  assertThrows(() => zn.where(zn.ones([2]), 1, 0), TypeError, "where", "float32");
  assertThrows(() => zn.sub(zn.tensor([true]), zn.tensor([false])), TypeError, "sub", "bool");
  assertThrows(() => zn.neg(zn.tensor([true])), TypeError, "neg", "bool");
  assertThrows(() => zn.ones([2]).to("float8" as zn.DType), TypeError, "float8");
  assertThrows(() => zn.maskedFill(x23(), x23(), 1), TypeError, "maskedFill", "float32");
  assertThrows(() => zn.lerp(zn.tensor([1n]), zn.tensor([2n]), 0.5), TypeError, "lerp", "int64");
  assertThrows(() => zn.oneHot(zn.tensor([1.5])), TypeError, "oneHot", "float32");
  assertThrows(() => zn.add(x23(), "1" as unknown as number), TypeError, "add", "string");
});

Deno.test("ops that need integer tensors say how to make one when given float32", () => {
  // zn.tensor of plain numbers is float32, the usual way to get here.
  const hint = [
    "zn.tensor of plain numbers is float32",
    '{ dtype: "int64" }',
    "zn.tensor([0n, 2n])",
    '.to("int64")',
  ];
  const F = zn.nn.functional;
  const idx = () => zn.tensor([0, 1]);
  assertThrows(() => x23().index(idx()), TypeError, "index", "float32", ...hint);
  assertThrows(() => x23().indexPut_([idx()], 1), TypeError, "float32", ...hint);
  assertThrows(() => zn.gather(x23(), 1, zn.tensor([[0]])), TypeError, "gather", "int64", ...hint);
  assertThrows(() => x23().scatter(1, zn.tensor([[0]]), 1), TypeError, "scatter", ...hint);
  assertThrows(
    () => x23().scatterAdd(1, zn.tensor([[0]]), zn.ones([1, 1])),
    TypeError,
    "scatterAdd",
    ...hint,
  );
  assertThrows(() => zn.indexSelect(x23(), 0, idx()), TypeError, "indexSelect", ...hint);
  assertThrows(() => zn.oneHot(idx(), 2), TypeError, "oneHot", "float32", ...hint);
  assertThrows(() => F.embedding(idx(), zn.ones([3, 2])), TypeError, "embedding", ...hint);
  assertThrows(() => new zn.nn.Embedding(3, 2).call(idx()), TypeError, "embedding", ...hint);
  assertThrows(() => F.nllLoss(x23(), idx()), TypeError, "nllLoss", "float32", ...hint);
  // crossEntropy reads a float target as probabilities; one of the class-index shape gets the hint.
  assertThrows(() => F.crossEntropy(x23(), idx()), RangeError, "crossEntropy", "[2]", ...hint);
  assertThrows(() => F.crossEntropy(zn.ones([3]), zn.tensor(1)), RangeError, ...hint);
  assertThrows(
    () => new zn.nn.CrossEntropyLoss().call(x23(), idx()),
    RangeError,
    "class indices",
    ...hint,
  );
  // Integer tensors work.
  deepEqual(x23().index(zn.tensor([0, 1], { dtype: "int64" })).shape, [2, 3]);
  deepEqual(zn.gather(x23(), 1, zn.tensor([[0n]])).toArray(), [[1]]);
  deepEqual(x23().index(idx().to("int64")).shape, [2, 3]);
  // A probability target of the wrong shape gets no class-index hint.
  throws(
    () => F.crossEntropy(x23(), zn.ones([2, 2])),
    (e: Error) => e instanceof RangeError && !e.message.includes("int64"),
  );
  // Non-floating dtypes that are still wrong get no hint.
  throws(
    () => zn.gather(x23(), 1, zn.tensor([[true]])),
    (e: Error) => e instanceof TypeError && e.message.includes("bool") && !e.message.includes("0n"),
  );
});

Deno.test("ops that need floating tensors say how to convert an integer one", () => {
  const ints = () => zn.tensor([1n, 2n]);
  const F = zn.nn.functional;
  assertThrows(() => zn.mean(ints()), TypeError, "mean", "int64", '.to("float32")');
  assertThrows(() => zn.var(ints()), TypeError, "var", "int64", '.to("float32")');
  assertThrows(() => zn.std(ints()), TypeError, "int64", '.to("float32")');
  assertThrows(() => zn.lerp(ints(), ints(), 0.5), TypeError, "lerp", '.to("float32")');
  assertThrows(() => ints().requiresGrad_(), TypeError, "requiresGrad", '.to("float32")');
  assertThrows(
    () => F.avgPool2d(zn.ones([1, 1, 2, 2], { dtype: "int32" }), 2),
    TypeError,
    "avgPool2d",
    "int32",
    '.to("float32")',
  );
  assertThrows(
    () => zn.tensor([1n], { requiresGrad: true }),
    TypeError,
    "requiresGrad",
    '{ dtype: "float32" }',
  );
  deepEqual(zn.var(ints().to("float32")).item(), 0.5);
});

Deno.test("item on a non-scalar throws RangeError naming the element count", () => {
  assertThrows(() => zn.ones([2]).item(), RangeError, "item", "2 elements");
  assertThrows(() => zn.ones([0]).item(), RangeError, "item", "0 elements");
});

Deno.test("reductions of empty inputs without an identity throw RangeError", () => {
  assertThrows(() => zn.amax(zn.ones([0, 3]), 0), RangeError, "amax", "[0, 3]");
  assertThrows(() => zn.argmax(zn.ones([0])), RangeError, "argmax", "non-empty");
});

Deno.test("other bad arguments throw RangeError or TypeError", () => {
  assertThrows(() => zn.split(zn.ones([5]), [2, 2]), RangeError, "split", "[2, 2]", "5");
  assertThrows(() => zn.chunk(zn.ones([5]), 0), RangeError, "chunk", "0");
  assertThrows(() => zn.arange(0, 5, 0), RangeError, "arange", "step");
  assertThrows(() => zn.randint(5, 5, [2]), RangeError, "randint", "low=5");
  assertThrows(() => zn.clamp(zn.ones([2])), TypeError, "clamp");
  assertThrows(() => zn.tril(zn.ones([3])), RangeError, "tril", "2 dimensions");
  assertThrows(
    () => zn.maskedFill(x23(), zn.ones([4]).gt(0), 1),
    RangeError,
    "maskedFill",
    "[2, 3]",
    "[4]",
  );
});

Deno.test("the library keeps working after errors", () => {
  for (let i = 0; i < 3; i++) {
    try {
      zn.gather(x23(), 1, zn.tensor([[9n]]));
    } catch { /* expected */ }
  }
  ok(zn.add(x23(), 1).sum().item() === 12);
});

Deno.test("a Tensor whose geometry leaves its storage is refused before any kernel runs", () => {
  const base = zn.zeros([4]);
  throws(
    () => new zn.Tensor(base.storage, "float32", [3], [2], 0),
    (e: unknown) => e instanceof RangeError && /do not fit a storage of 4 elements/.test(e.message),
  );
  throws(() => new zn.Tensor(base.storage, "float32", [2], [1], -1), RangeError);
  throws(() => new zn.Tensor(base.storage, "float32", [2], [-1], 1), RangeError);
  // The largest view that fits is accepted.
  deepEqual(new zn.Tensor(base.storage, "float32", [2], [3], 0).toArray(), [0, 0]);
});
