/**
 * `zn.nn.init`: in-place initialisation of weights, with PyTorch's formulas.
 * Each function fills its tensor under `noGrad` and returns it.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const fc = new zn.nn.Linear(4, 3);
 * zn.nn.init.kaimingNormal_(fc.weight, { nonlinearity: "relu" });
 * zn.nn.init.zeros_(fc.bias!).toArray(); // [0, 0, 0]
 * ```
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { normal as normalT, tensor as makeTensor, uniform as uniformT } from "../ops/creation.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkTensor } from "../args.ts";

/**
 * Nonlinearities known to {@link calculateGain}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const nl: zn.nn.init.Nonlinearity = "tanh";
 * zn.nn.init.calculateGain(nl); // 1.6667
 * ```
 */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/**
 * Options of the random initialisers.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.init.InitOptions = { generator: new zn.Generator(0) };
 * const a = zn.nn.init.normal_(zn.empty([3]), 0, 1, opts);
 * const b = zn.nn.init.normal_(zn.empty([3]), 0, 1, { generator: new zn.Generator(0) });
 * a.eq(b).all().item(); // true
 * ```
 */
export interface InitOptions {
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

/**
 * Options of the Kaiming initialisers.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.init.KaimingOptions = { mode: "fanOut", nonlinearity: "relu" };
 * zn.nn.init.kaimingNormal_(zn.empty([64, 32]), opts).std().item(); // about 0.177 = sqrt(2 / 64)
 * ```
 */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (default 0). */
  a?: number;
  /** Keep the variance of the forward ("fanIn", default) or backward ("fanOut") pass. */
  mode?: "fanIn" | "fanOut";
  /** Nonlinearity after this layer (default "leaky_relu"). */
  nonlinearity?: Nonlinearity;
}

const INIT_KEYS = optionKeys<InitOptions>({ generator: 0 });
const KAIMING_KEYS = optionKeys<KaimingOptions>({ generator: 0, a: 0, mode: 0, nonlinearity: 0 });

/**
 * The recommended gain for a nonlinearity (`param`: leaky_relu's negative slope,
 * default 0.01).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.calculateGain("relu"); // 1.4142
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity ${nonlinearity}`);
  }
}

/**
 * Fan-in and fan-out of a weight: `[out, in, ...kernel]` gives
 * `in * prod(kernel)` and `out * prod(kernel)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.calculateFanInAndFanOut(zn.empty([8, 3, 5, 5])); // [75, 200]
 * ```
 */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  checkTensor(tensor, "calculateFanInAndFanOut", "tensor");
  if (tensor.ndim < 2) {
    throw new RangeError(
      "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions",
    );
  }
  let receptive = 1;
  for (let i = 2; i < tensor.ndim; i++) receptive *= tensor.shape[i];
  return [tensor.shape[1] * receptive, tensor.shape[0] * receptive];
}

function fill(tensor: Tensor, values: Tensor): Tensor {
  noGrad(() => tensor.copy_(values));
  return tensor;
}

/**
 * Fills with samples of U(a, b) (default U(0, 1)).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.uniform_(zn.empty([3]), -1, 1);
 * ```
 */
export function uniform_(tensor: Tensor, a = 0, b = 1, opts: InitOptions = {}): Tensor {
  checkTensor(tensor, "uniform_", "tensor");
  checkOptions("uniform_", opts, INIT_KEYS);
  const g = opts.generator ?? defaultGenerator;
  return fill(tensor, uniformT(a, b, tensor.shape, { dtype: "float64", generator: g }));
}

/**
 * Fills with samples of N(mean, std²) (default N(0, 1)).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.normal_(zn.empty([3]), 0, 0.02);
 * ```
 */
export function normal_(tensor: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  checkTensor(tensor, "normal_", "tensor");
  checkOptions("normal_", opts, INIT_KEYS);
  const g = opts.generator ?? defaultGenerator;
  return fill(tensor, normalT(mean, std, tensor.shape, { dtype: "float64", generator: g }));
}

/**
 * Fills with `value`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.constant_(zn.empty([2]), 0.5).toArray(); // [0.5, 0.5]
 * ```
 */
export function constant_(tensor: Tensor, value: number): Tensor {
  checkTensor(tensor, "constant_", "tensor");
  noGrad(() => tensor.fill_(value));
  return tensor;
}

/**
 * Fills with zeros.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.zeros_(zn.ones([2])).toArray(); // [0, 0]
 * ```
 */
export function zeros_(tensor: Tensor): Tensor {
  checkTensor(tensor, "zeros_", "tensor");
  return constant_(tensor, 0);
}

/**
 * Fills with ones.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.ones_(zn.zeros([2])).toArray(); // [1, 1]
 * ```
 */
export function ones_(tensor: Tensor): Tensor {
  checkTensor(tensor, "ones_", "tensor");
  return constant_(tensor, 1);
}

/**
 * Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.xavierUniform_(zn.empty([4, 5]));
 * ```
 */
export function xavierUniform_(
  tensor: Tensor,
  gain = 1,
  opts: InitOptions = {},
): Tensor {
  checkTensor(tensor, "xavierUniform_", "tensor");
  checkOptions("xavierUniform_", opts, INIT_KEYS);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(tensor, -bound, bound, opts);
}

/**
 * Glorot normal: N(0, std²) with std = gain * sqrt(2 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.xavierNormal_(zn.empty([4, 5]));
 * ```
 */
export function xavierNormal_(tensor: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTensor(tensor, "xavierNormal_", "tensor");
  checkOptions("xavierNormal_", opts, INIT_KEYS);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return normal_(tensor, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

function kaimingStd(tensor: Tensor, opts: KaimingOptions): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const mode = opts.mode ?? "fanIn";
  if (mode !== "fanIn" && mode !== "fanOut") {
    throw new RangeError(`kaiming: mode must be "fanIn" or "fanOut", got ${mode}`);
  }
  const fan = mode === "fanIn" ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? "leaky_relu", opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * He uniform: U(-b, b) with b = gain * sqrt(3 / fan).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.kaimingUniform_(zn.empty([4, 5]), { nonlinearity: "relu" });
 * ```
 */
export function kaimingUniform_(tensor: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor(tensor, "kaimingUniform_", "tensor");
  checkOptions("kaimingUniform_", opts, KAIMING_KEYS);
  const bound = Math.sqrt(3) * kaimingStd(tensor, opts);
  return uniform_(tensor, -bound, bound, { generator: opts.generator });
}

/**
 * He normal: N(0, std²) with std = gain / sqrt(fan).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.init.kaimingNormal_(zn.empty([4, 5]), { mode: "fanOut" });
 * ```
 */
export function kaimingNormal_(tensor: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor(tensor, "kaimingNormal_", "tensor");
  checkOptions("kaimingNormal_", opts, KAIMING_KEYS);
  return normal_(tensor, 0, kaimingStd(tensor, opts), { generator: opts.generator });
}

/**
 * A (semi-)orthogonal matrix from the QR decomposition of a normal sample,
 * scaled by `gain`; dims after the first are flattened.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.nn.init.orthogonal_(zn.empty([3, 3]));
 * w.matmul(w.mT); // close to the identity
 * ```
 */
export function orthogonal_(tensor: Tensor, gain = 1, opts: InitOptions = {}): Tensor {
  checkTensor(tensor, "orthogonal_", "tensor");
  checkOptions("orthogonal_", opts, INIT_KEYS);
  if (tensor.ndim < 2) {
    throw new RangeError("orthogonal_: only tensors with 2 or more dimensions are supported");
  }
  const rows = tensor.shape[0];
  const cols = tensor.numel / rows;
  if (rows === 0 || cols === 0) return tensor;
  const g = opts.generator ?? defaultGenerator;
  // Orthonormalise the columns of an m x n sample (m >= n) by modified Gram-Schmidt.
  const tall = rows >= cols;
  const m = tall ? rows : cols, n = tall ? cols : rows;
  const a = new Float64Array(m * n);
  for (let i = 0; i < a.length; i++) a[i] = g.nextNormal();
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += a[i * n + j] * a[i * n + k];
      for (let i = 0; i < m; i++) a[i * n + j] -= dot * a[i * n + k];
    }
    let nrm = 0;
    for (let i = 0; i < m; i++) nrm += a[i * n + j] ** 2;
    nrm = Math.sqrt(nrm) || 1;
    for (let i = 0; i < m; i++) a[i * n + j] /= nrm;
  }
  const q = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      q[r * cols + c] = gain * (tall ? a[r * n + c] : a[c * n + r]);
    }
  }
  return fill(tensor, makeTensor(q, { shape: tensor.shape.slice() }));
}
