/**
 * Argument types (src/args.ts): a wrong type at a public entry point (null, a
 * number where a Tensor goes, a bigint size, a non-iterable parameter list)
 * is a TypeError naming the op, the parameter and what was given, raised
 * before any work; sizes past what can be allocated are RangeErrors.
 */
import { assertEquals, assertThrows } from "./assert_helpers.ts";
import * as zn from "../mod.ts";

Deno.test("a top-level op given null instead of a Tensor names the op and the value", () => {
  assertThrows(
    () => zn.clone(null as never),
    TypeError,
    "clone: expected input to be a Tensor, got null",
  );
  assertThrows(
    () => zn.reshape(5 as never, [5]),
    TypeError,
    "reshape: expected input to be a Tensor, got number 5",
  );
  assertThrows(
    () => zn.zerosLike(undefined as never),
    TypeError,
    "zerosLike: expected input to be a Tensor, got undefined",
  );
  assertThrows(
    () => zn.sort("abc" as never),
    TypeError,
    'sort: expected input to be a Tensor, got a string ("abc")',
  );
});

Deno.test("a list argument given a bigint or a tensor is a TypeError", () => {
  assertThrows(
    () => zn.squeeze(zn.ones([1, 2]), 2n as never),
    TypeError,
    "squeeze: expected dim to be an integer or an array of integers, got bigint 2n",
  );
  assertThrows(
    () => zn.ones([4]).unflatten(0, zn.ones([2]) as never),
    TypeError,
    "unflatten: expected sizes to be an array of integers, got a float32 Tensor",
  );
  assertThrows(
    () => zn.ones([2]).indexPut_(5 as never, 1),
    TypeError,
    "indexPut_: expected items to be an array, got number 5",
  );
});

Deno.test("confusionMatrix refuses a numClasses it cannot allocate", () => {
  assertThrows(
    () => zn.metrics.confusionMatrix([0, 1], [1, 0], 2 ** 31),
    RangeError,
    "confusionMatrix: expected numClasses to be an integer in [0, 1048576], got 2147483648",
  );
  assertThrows(() => zn.metrics.confusionMatrix([0], [46340]), RangeError, "[46341, 46341] matrix");
  // 10,000 classes fit (a [10000, 10000] tensor), as in PyTorch.
  assertEquals(zn.metrics.confusionMatrix([0], [9999]).shape, [10000, 10000]);
  assertThrows(
    () => zn.metrics.precision([0, 2 ** 40], [1, 0]),
    RangeError,
    "at most 1048576 classes",
  );
  assertThrows(
    () => zn.metrics.accuracy(null as never, [1]),
    TypeError,
    "accuracy: expected pred to be a Tensor or an array of class indices, got null",
  );
  // Without the [C, C] matrix, many classes stay cheap for the per-class scores.
  assertEquals(zn.metrics.recall([0, 65536], [0, 65536], { average: "micro" }), 1);
});

Deno.test("module constructors refuse bigint and non-integer sizes", () => {
  assertThrows(
    () => new zn.nn.Conv2d(2n as never, 3, 3),
    TypeError,
    "Conv2d: expected inChannels to be an integer, got bigint 2n",
  );
  assertThrows(
    () => new zn.nn.Conv2d(2, 3, 2n as never),
    TypeError,
    "Conv2d: expected kernelSize to be an integer or an array of integers",
  );
  assertThrows(() => new zn.nn.MaxPool2d(2n as never), TypeError, "MaxPool2d: expected kernelSize");
  assertThrows(
    () => new zn.nn.GroupNorm(1.5, 3),
    RangeError,
    "GroupNorm: expected numGroups to be an integer > 0, got 1.5",
  );
  assertThrows(
    () => new zn.nn.Unflatten(0, 4 as never),
    TypeError,
    "Unflatten: expected sizes to be an array of integers, got number 4",
  );
  assertThrows(
    () => new zn.nn.AdaptiveAvgPool2d(2 ** 16).call(zn.ones([1, 1, 2, 2])),
    RangeError,
    "adaptiveAvgPool2d: shape [1, 1, 65536, 65536] has 4294967296 elements",
  );
});

Deno.test("optimizers and schedulers name a bad parameter list or optimizer", () => {
  assertThrows(
    () => new zn.optim.SGD(5 as never),
    TypeError,
    "SGD: expected params to be an iterable of Tensors or of parameter groups, got number 5",
  );
  const w = zn.zeros([1], { requiresGrad: true });
  assertThrows(
    () => new zn.optim.lrScheduler.StepLR([w] as never, { stepSize: 1 }),
    TypeError,
    "StepLR: expected optimizer to be an Optimizer, got an array",
  );
  const opt = new zn.optim.SGD([w]);
  assertThrows(
    () => new zn.optim.lrScheduler.StepLR(opt, undefined as never),
    TypeError,
    "StepLR: expected options to be an object, got undefined",
  );
});

Deno.test("functions, bytes, paths and texts are checked by type", () => {
  assertThrows(
    () => zn.noGrad(3 as never),
    TypeError,
    "noGrad: expected fn to be a function, got number 3",
  );
  assertThrows(
    () => zn.deserialize(null as never),
    TypeError,
    "deserialize: expected bytes to be a Uint8Array, got null",
  );
  assertThrows(
    () => zn.saveSync({}, 1 as never),
    TypeError,
    "saveSync: expected path to be a string or URL, got number 1",
  );
  assertThrows(
    () => zn.data.parseCsv(5 as never),
    TypeError,
    "parseCsv: expected text to be a string, got number 5",
  );
  assertThrows(
    () => zn.nn.utils.clipGradNorm_([NaN] as never, 1),
    TypeError,
    "clipGradNorm_: expected each of params to be a Tensor, got number NaN",
  );
  assertThrows(
    () => zn.grad(zn.ones([1]), null as never),
    TypeError,
    "grad: expected inputs to be a Tensor, got null",
  );
});
