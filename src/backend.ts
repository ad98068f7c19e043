/**
 * The device contract. A backend owns storage on one device and runs the
 * primitive kernel families on it; tensor code calls only this interface and
 * never branches on the device. Operands arrive as strided views whose shapes
 * and dtypes the op layer has already checked and broadcast.
 *
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";

/**
 * Memory that holds a tensor's elements on some device. Views share one
 * storage; the lifetime fields are managed by src/lifetime.ts.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const t = zn.ones([2, 3]);
 * const s: zn.Storage = t.storage;
 * [s.device, s.length]; // ["cpu", 6]
 * t.index(0).storage === s; // true: views share the storage
 * ```
 */
export interface Storage {
  /** The device the memory lives on, e.g. "cpu" or "cuda:0". */
  readonly device: string;
  /** Capacity in elements. */
  readonly length: number;
  /** True once the memory was released; kernels then refuse it. */
  disposed: boolean;
  /** @internal Number of long-lived holds (grads, parameters, buffers, optimizer state, keep). */
  owners: number;
  /** @internal Whether the lifetime bookkeeping has seen this storage. */
  tracked: boolean;
  /** Releases the memory now (idempotent). */
  dispose(): void;
}

/**
 * A strided window on a storage: what every kernel reads and writes.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const t = zn.ones([2, 3]).transpose(0, 1);
 * const v: zn.View = t; // every Tensor is a View
 * [v.shape, v.strides]; // [[3, 2], [1, 3]]
 * ```
 */
export interface View {
  /** The memory viewed. */
  readonly storage: Storage;
  /** Element type. */
  readonly dtype: DType;
  /** Size of each dim. */
  readonly shape: readonly number[];
  /** Step in elements along each dim. */
  readonly strides: readonly number[];
  /** Element offset of the first element. */
  readonly offset: number;
}

/** How a scatter combines each source element with its destination (zig/src/index.zig's ScatterMode). */
export const SCATTER_MODE = { set: 0, add: 1, prod: 2, amax: 3, amin: 4 } as const;
/** A scatter's combining rule. */
export type ScatterMode = keyof typeof SCATTER_MODE;

/** Unary ops, numbered as in zig/src/elementwise.zig. */
export const UNARY = {
  neg: 0,
  abs: 1,
  sign: 2,
  exp: 3,
  exp2: 4,
  log: 5,
  log2: 6,
  log1p: 7,
  expm1: 8,
  sqrt: 9,
  rsqrt: 10,
  reciprocal: 11,
  square: 12,
  sin: 13,
  cos: 14,
  tan: 15,
  tanh: 16,
  sigmoid: 17,
  relu: 18,
  leakyRelu: 19,
  elu: 20,
  geluErf: 21,
  geluTanh: 22,
  silu: 23,
  softplus: 24,
  floor: 25,
  ceil: 26,
  round: 27,
  trunc: 28,
  isnan: 29,
  isinf: 30,
  nanToNum: 31,
  logicalNot: 32,
  erf: 33,
  geluErfGrad: 34,
  geluTanhGrad: 35,
  asin: 36,
  acos: 37,
  atan: 38,
  sinh: 39,
  cosh: 40,
  asinh: 41,
  acosh: 42,
  atanh: 43,
} as const;
/** A unary op name. */
export type UnaryOp = keyof typeof UNARY;

/** Binary ops, numbered as in zig/src/elementwise.zig. */
export const BINARY = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  remainder: 7,
  floorDivide: 8,
  atan2: 9,
  eq: 10,
  ne: 11,
  lt: 12,
  le: 13,
  gt: 14,
  ge: 15,
  logicalAnd: 16,
  logicalOr: 17,
  logicalXor: 18,
  fmod: 19,
  copysign: 20,
} as const;
/** A binary op name. */
export type BinaryOp = keyof typeof BINARY;

/** Scans, numbered as in zig/src/reduce.zig (logcumsumexp: floating dtypes only). */
export const SCAN = { cumsum: 0, cumprod: 1, logcumsumexp: 2 } as const;
/** A scan op name. */
export type ScanOp = keyof typeof SCAN;

/** The factorizations the `linalg` kernel runs (zig/src/linalg.zig's Op). */
export const LINALG = { lu: 0, luSolve: 1, cholesky: 2, qr: 3, eigh: 4, svd: 5 } as const;
/** A factorization of the `linalg` kernel. */
export type LinalgOp = keyof typeof LINALG;

/**
 * Sizes of one `linalg` call: `batch` matrices of m x n; `k` is the number of
 * right-hand sides (luSolve), 1 for complete/full factors (qr, svd) or for
 * the upper triangle (eigh); `vectors` asks eigh and svd for their vectors.
 */
export interface LinalgDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  vectors: boolean;
}

/** Reductions, numbered as in zig/src/reduce.zig. */
export const REDUCE = {
  sum: 0,
  mean: 1,
  prod: 2,
  max: 3,
  min: 4,
  argmax: 5,
  argmin: 6,
  var: 7,
  logsumexp: 8,
  norm: 9,
  all: 10,
  any: 11,
} as const;
/** A reduction name. */
export type ReduceOp = keyof typeof REDUCE;

/** A contiguous tensor seen as [outer, r, inner] for one-axis kernels. */
export interface Axis3 {
  outer: number;
  r: number;
  inner: number;
}

/** What a device must provide. */
export interface Backend {
  /** The device name, e.g. "cpu". */
  readonly device: string;
  /** Zero-filled storage for `numel` elements. */
  alloc(dtype: DType, numel: number): Storage;
  /**
   * Storage whose contents are unspecified, for outputs a kernel overwrites
   * entirely (skips the zero fill on devices where it costs a pass over memory).
   */
  allocUninit?(dtype: DType, numel: number): Storage;
  /**
   * Storage holding a copy of (or, on the CPU, owning) host data in storage
   * format. Every backend but the CPU's must copy: callers may pass a view of
   * a live CPU tensor.
   */
  fromHost(dtype: DType, data: TypedArray): Storage;
  /** A contiguous host copy of a view, in storage format. */
  toHost(x: View): TypedArray;
  /** Sets every element of a view to `value`. */
  fill(x: View, value: number | bigint | boolean): void;
  /** dst = src converted to dst's dtype; src may carry broadcast (0) strides. */
  copy(src: View, dst: View): void;
  /** out = op(x) elementwise; `params` are the op's numeric arguments. */
  unary(op: UnaryOp, x: View, out: View, params?: readonly number[]): void;
  /** out = op(a, b); a and b already carry out's shape (broadcast strides). */
  binary(op: BinaryOp, a: View, b: View, out: View): void;
  /**
   * out = op(x, scalar), or op(scalar, x) with `scalarFirst`, for a
   * float16/bfloat16 x of out's shape, the scalar kept in float32 (PyTorch's
   * opmath type for a number beside a half tensor). Optional: without it a
   * number the half type cannot hold computes through float32 copies.
   */
  binaryScalar?(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean, out: View): void;
  /** out = cond ? a : b, all views of out's shape. */
  where(cond: View, a: View, b: View, out: View): void;
  /** Reduces a contiguous x along r; writes `out` and/or int64 `idx` ([outer, inner]). */
  reduce(
    op: ReduceOp,
    x: View,
    axis: Axis3,
    out: View | null,
    idx: View | null,
    p?: number,
  ): void;
  /**
   * The sum (or mean) of a contiguous floating x: [lead, outer, r] over
   * lead and r into out: [outer], in one pass rounded once (a conv bias
   * gradient's [N, C, H, W] over [0, 2, 3]). Optional: without it such
   * reductions take two passes of `reduce`, or one over a permuted copy.
   */
  reducePlanes?(
    op: "sum" | "mean",
    x: View,
    lead: number,
    outer: number,
    r: number,
    out: View,
  ): void;
  /** Cumulative sum (or product) of a contiguous x along r. */
  scan(op: ScanOp, x: View, axis: Axis3, out: View): void;
  /** softmax or logSoftmax of a contiguous x along r. */
  softmax(log: boolean, x: View, axis: Axis3, out: View): void;
  /**
   * The gradient of softmax (log false) or logSoftmax along r from the
   * output y and its gradient g (same dtype, all contiguous, same shape as
   * dx): y * (g - sum(g * y)), or g - exp(y) * sum(g). Optional: without it
   * the rule is composed.
   */
  softmaxBackward?(log: boolean, g: View, y: View, axis: Axis3, dx: View): void;
  /**
   * True when {@link Backend.matmul} takes float16/bfloat16 operands directly
   * (accumulating in float32, as tensor cores do); otherwise the op layer
   * computes them in float32.
   */
  readonly halfMatmul?: boolean;
  /**
   * True when {@link Backend.conv2dDirect} takes float16/bfloat16 tensors
   * directly (computing in float32 inside the kernel); otherwise the op
   * layer converts them to float32 first.
   */
  readonly halfConvDirect?: boolean;
  /**
   * True when {@link Backend.window2d}'s pooling ops take float16/bfloat16
   * tensors directly; otherwise the op layer converts them to float32 first.
   */
  readonly halfPool?: boolean;
  /**
   * True when {@link Backend.reduce}, {@link Backend.scan},
   * {@link Backend.softmax}, {@link Backend.softmaxBackward} and the cross
   * entropy kernels take float16/bfloat16 tensors directly (computing in
   * float32 or wider inside the kernel, rounding each result once; cross
   * entropy's lse and count are then float32); otherwise the op layer
   * converts them to float32 first.
   */
  readonly halfReduce?: boolean;
  /**
   * True when the norm kernels ({@link Backend.layerNorm},
   * {@link Backend.layerNormBackward}, {@link Backend.channelStats},
   * {@link Backend.channelGradSums}, {@link Backend.channelAffine}) take
   * float16/bfloat16 data (x, g, out, dx and layer norm's w, b, dw, db)
   * with float32 statistics and per-channel terms; otherwise half norms are
   * composed.
   */
  readonly halfNorm?: boolean;
  /**
   * True when {@link Backend.layerNorm} and {@link Backend.layerNormBackward}
   * take a null mean: the RMS norm, out = x * rstd (* w), rstd = 1 /
   * sqrt(mean(x^2) + eps).
   */
  readonly rmsNorm?: boolean;
  /**
   * Optional: a direct stride-1, dilation-1, single-group convolution
   * (zig/src/conv.zig, Direct), which needs no column matrix. All views
   * contiguous; x: [N, C, H, W]. Modes:
   * "forward": w: [O, C, KH, KW], bias: [O] or null, out: [N, O, OH, OW];
   * "inputGrad": the same with w: [C, O, KH, KW] used flipped (the input
   * gradient of a stride-1 convolution, x being the output gradient);
   * "weightGrad": w holds the output gradient g: [N, O, OH, OW], bias is
   * null, out: [O, C, KH, KW] receives the weight gradient.
   */
  conv2dDirect?(x: View, w: View, bias: View | null, out: View, geom: DirectConv): void;
  /**
   * Layer norm of each row of x: [rows, d], saving the row statistics:
   * out = (x - mean) * rstd (* w) (+ b), rstd = 1 / sqrt(var + eps); w, b: [d]
   * or null; mean, rstd: [rows] (float32 for half data, see
   * {@link Backend.halfNorm}); mean null: the RMS norm where
   * {@link Backend.rmsNorm}. All contiguous. Optional: without it the layer
   * norm is composed from reductions.
   */
  layerNorm?(
    x: View,
    w: View | null,
    b: View | null,
    out: View,
    mean: View | null,
    rstd: View,
    eps: number,
  ): void;
  /**
   * Layer norm's backward from the saved statistics (shapes as in
   * {@link Backend.layerNorm}); dx: [rows, d], dw, db: [d]; each output may be
   * null when its gradient is not wanted.
   */
  layerNormBackward?(
    g: View,
    x: View,
    mean: View | null,
    rstd: View,
    w: View | null,
    dx: View | null,
    dw: View | null,
    db: View | null,
  ): void;
  /**
   * One LSTM layer's time loop in one direction (zig/src/rnn.zig): gx:
   * [T, B, 4H] (x @ W_ih^T, gates i, f, g, o), wHh: [4H, H], bias: [4H]
   * (added to every step's gates), h0, c0: [B, H]; bias, h0 and c0 null
   * mean zero. Writes y: [T, B, H] (h at each t) and ws: [T, B, 5H] (the
   * gates and cell states that backward reads). `reverse` walks t from T-1
   * down. All contiguous, float32 or float64. Optional, as are lstmBackward,
   * gru and gruBackward: without them the recurrence is composed.
   */
  /**
   * Batched dense factorizations (zig/src/linalg.zig, whose file comment
   * gives each op's buffers in order): every view contiguous, float32 or
   * float64 (pivots and status codes int32), computed in float64. Optional:
   * without it the linalg functions raise a clear error.
   */
  linalg?(op: LinalgOp, bufs: readonly (View | null)[], dims: LinalgDims): void;
  lstm?(
    gx: View,
    wHh: View,
    bias: View | null,
    h0: View | null,
    c0: View | null,
    y: View,
    ws: View,
    reverse: boolean,
  ): void;
  /**
   * LSTM's backward from what lstm saved: c0 as given to lstm (null: zero),
   * dy: [T, B, H] (the gradient of y), dcLast: [B, H] (of the last cell
   * state); writes dg: [T, B, 4H] (of gx and of the bias at each step), dh0
   * (skipped when null) and dc0: [B, H].
   */
  lstmBackward?(
    wHh: View,
    c0: View | null,
    ws: View,
    dy: View,
    dcLast: View,
    dg: View,
    dh0: View | null,
    dc0: View,
    reverse: boolean,
  ): void;
  /**
   * One GRU layer's time loop (gates r, z, n): gx: [T, B, 3H] (x @ W_ih^T +
   * b_ih), wHh: [3H, H], bHh: [3H], h0: [B, H]; writes y: [T, B, H] and ws:
   * [T, B, 4H] (r, z, n and the hidden part of n's pre-activation).
   */
  gru?(gx: View, wHh: View, bHh: View, h0: View, y: View, ws: View, reverse: boolean): void;
  /**
   * GRU's backward: writes dgx: [T, B, 3H] (the gradient of gx), dgh: [T, B, 3H]
   * (of h @ W_hh^T + b_hh at each step) and dh0: [B, H].
   */
  gruBackward?(
    wHh: View,
    h0: View,
    y: View,
    ws: View,
    dy: View,
    dgx: View,
    dgh: View,
    dh0: View,
    reverse: boolean,
  ): void;
  /**
   * Scaled dot-product attention, fused (zig/src/attention.zig): q: [n, L, E],
   * k: [n, S, E], v: [n, S, Ev]; writes o: [n, L, Ev] and lse: [n, L] (each
   * row's log-sum-exp, which backward reads). Every key, or with `causal`
   * keys j <= i for row i. All contiguous, float32 or float64 (and float16
   * or bfloat16 q, k, v with float32 o and lse where
   * {@link Backend.halfAttention}; backward then reads that float32 o).
   * Optional, as is attentionBackward: without them attention is composed.
   */
  attention?(q: View, k: View, v: View, o: View, lse: View, scale: number, causal: boolean): void;
  /** The largest head dim (E and Ev) `attention` takes; unset: any. */
  readonly attentionMaxHeadDim?: number;
  /**
   * True when {@link Backend.attention} and its backward take float16/
   * bfloat16 q, k, v (computing in float32, each gradient rounded once) with
   * float32 o and lse; otherwise half attention is composed.
   */
  readonly halfAttention?: boolean;
  /** Its backward: writes dq, dk, dv (shaped as q, k, v) from dout: [n, L, Ev]. */
  attentionBackward?(
    q: View,
    k: View,
    v: View,
    o: View,
    dout: View,
    lse: View,
    dq: View,
    dk: View,
    dv: View,
    scale: number,
    causal: boolean,
  ): void;
  /**
   * Per-channel mean and biased variance of x: [n, c, s] (contiguous, n * s >
   * 0); mean, variance: [c]. Optional, as are channelGradSums and
   * channelAffine: without them batch norm is composed from reductions. For
   * half data (where {@link Backend.halfNorm}) the per-channel views of all
   * three kernels (mean, variance, sg, sgx, a, b, m, k) are float32.
   */
  channelStats?(x: View, mean: View, variance: View): void;
  /**
   * Per-channel sums over g: [n, c, s]: sg = sum g, and with x: [n, c, s] and
   * m: [c], sgx = sum g * (x - m).
   */
  channelGradSums?(g: View, x: View | null, m: View | null, sg: View, sgx: View | null): void;
  /**
   * out = a * u + b * (v - m) + k per channel of u, v, out: [n, c, s]; a, b,
   * m, k: [c]; v, m and b come together or not at all; k may be null.
   */
  channelAffine?(
    u: View,
    v: View | null,
    m: View | null,
    a: View,
    b: View | null,
    k: View | null,
    out: View,
  ): void;
  /**
   * Cross entropy of logits x: [n, c] against int64 classes t: [n] (targets
   * equal to `ignoreIndex` are left out): loss: [] receives the mean over
   * the kept rows (or the sum), count: [1] their number, lse: [n] each row's
   * log-sum-exp. All contiguous; a target out of range is an error. Optional,
   * as is crossEntropyBackward: without them cross entropy is composed.
   */
  crossEntropy?(
    x: View,
    t: View,
    lse: View,
    loss: View,
    count: View,
    ignoreIndex: number,
    mean: boolean,
  ): void;
  /**
   * dx = scale * (softmax(x) - onehot(t)) on kept rows, 0 on ignored ones;
   * scale = g (one element) over count for the mean.
   */
  crossEntropyBackward?(
    x: View,
    t: View,
    lse: View,
    g: View,
    count: View,
    dx: View,
    ignoreIndex: number,
    mean: boolean,
  ): void;
  /** c[b] = a[b] @ b[b]; a: [B, M, K], b: [B, K, N] strided, c: [B, M, N] contiguous. */
  matmul(a: View, b: View, c: View): void;
  /**
   * c[b] += a[b] @ b[b] for float32 and float64, shapes and layouts as in
   * `matmul` (a weight's gradient summed over its uses, without a product
   * of its own and an add after). Optional: without it the sum takes a
   * product and an add.
   */
  matmulAccumulate?(a: View, b: View, c: View): void;
  /** out = x (contiguous [outer, size, inner]) at int64 `idx` along the middle axis. */
  indexSelect(x: View, idx: View, out: View, axis: Axis3, wrap: boolean, op: string): void;
  /** out = x gathered along `dim` at idx (shapes per torch.gather). */
  gather(x: View, idx: View, out: View, dim: number, op: string): void;
  /**
   * dst[idx along dim] = src, or combined with it by `mode`, in place on dst.
   * "add", "prod", "amax" and "amin" take no float16 or bfloat16 (callers
   * reduce those in float32).
   */
  scatter(mode: ScatterMode, dst: View, idx: View, src: View, dim: number, op: string): void;
  /** Sorts a contiguous x along r into values and int64 indices. */
  sort(x: View, axis: Axis3, values: View, indices: View, descending: boolean): void;
  /**
   * One fused optimizer update of a contiguous parameter, in place, from its
   * contiguous gradient and state buffers (see zig/src/optim.zig for `hyper`).
   */
  optimStep(
    kind: OptimKind,
    param: View,
    grad: View,
    states: readonly (View | null)[],
    hyper: readonly number[],
  ): void;
  /**
   * A 2-D window kernel over contiguous [N, C, H, W] planes (zig/src/conv.zig):
   * im2col x -> cols [N, C*KH*KW, OH*OW], col2im cols -> x (overwritten),
   * im2colBatched x -> cols [C*KH*KW, N*OH*OW] (one matrix for the batch;
   * col2imBatched is its adjoint),
   * pooling x -> out [N, C, OH, OW] (max pooling also writes int64 `idx`),
   * and the pooling backwards grad_out -> grad_in (overwritten).
   */
  window2d(
    op: Window2dOp,
    src: View,
    dst: View,
    idx: View | null,
    geom: Window2d,
    avg?: { countIncludePad: boolean; divisorOverride: number },
  ): void;
}

/** 2-D window kernels, numbered as in zig/src/conv.zig. */
export const WINDOW2D = {
  im2col: 0,
  col2im: 1,
  maxPool: 2,
  maxPoolBackward: 3,
  avgPool: 4,
  avgPoolBackward: 5,
  adaptiveAvgPool: 6,
  adaptiveAvgPoolBackward: 7,
  im2colBatched: 8,
  col2imBatched: 9,
} as const;
/** A 2-D window kernel name. */
export type Window2dOp = keyof typeof WINDOW2D;

/** The geometry of a 2-D window op; pairs are (height, width). */
export interface Window2d {
  /** Batch size N. */
  batch: number;
  /** Channels C. */
  channels: number;
  /** Input size (H, W). */
  input: readonly [number, number];
  /** Output size (OH, OW). */
  output: readonly [number, number];
  /** Window (KH, KW). */
  kernel: readonly [number, number];
  /** Step between windows. */
  stride: readonly [number, number];
  /** Implicit padding on each side. */
  padding: readonly [number, number];
  /** Step between window taps. */
  dilation: readonly [number, number];
}

/** The geometry of {@link Backend.conv2dDirect}. */
export interface DirectConv {
  /** Kernel size (KH, KW). */
  kernel: readonly [number, number];
  /** Zero padding on each side (PH, PW). */
  padding: readonly [number, number];
  /** What to compute (see {@link Backend.conv2dDirect}). */
  mode: "forward" | "inputGrad" | "weightGrad";
}

/** Fused optimizer kernels, numbered as in zig/src/optim.zig. */
export const OPTIM = {
  sgd: 0,
  adam: 1,
  rmsprop: 2,
  adagrad: 3,
  nadam: 4,
  radam: 5,
  adamax: 6,
  adadelta: 7,
} as const;
/** A fused optimizer kernel name. */
export type OptimKind = keyof typeof OPTIM;

const backends = new Map<string, Backend>();
// The CPU backend, looked up on every op: kept out of the map lookup.
let cpu: Backend | undefined;
const factories = new Map<string, (index: number, device: string) => Backend>();

/** Registers a backend under its device name. */
export function registerBackend(b: Backend): void {
  backends.set(b.device, b);
  if (b.device === "cpu") cpu = b;
}

/**
 * Registers a factory for a device type ("cuda"): called on the first use of
 * each "type:index" device, it initialises the device (or throws why not)
 * and returns its backend, which is then cached.
 */
export function registerBackendFactory(
  type: string,
  make: (index: number, device: string) => Backend,
): void {
  factories.set(type, make);
}

/**
 * The backend for a device name such as "cpu", "cuda" or "cuda:0" ("cuda"
 * means "cuda:0"). Devices other than the CPU initialise on first use.
 */
export function backendFor(device: string): Backend {
  if (device === "cpu" && cpu !== undefined) return cpu;
  const b = backends.get(device);
  if (b) return b;
  if (typeof device !== "string") {
    throw new TypeError(`expected a device string such as "cpu" or "cuda", got ${typeof device}`);
  }
  const m = /^([a-z]+)(?::(.*))?$/.exec(device);
  const type = m?.[1] ?? device;
  const make = factories.get(type);
  if (m && type === "cuda") {
    if (m[2] !== undefined && !/^(0|[1-9][0-9]{0,3})$/.test(m[2])) {
      throw new RangeError(
        `invalid device "${device}": expected "cuda" or "cuda:N" with a device index N >= 0`,
      );
    }
    const index = m[2] === undefined ? 0 : Number(m[2]);
    const name = `cuda:${index}`;
    const cached = backends.get(name);
    if (cached) {
      backends.set(device, cached);
      return cached;
    }
    if (!make) {
      throw new Error("CUDA is not available: the CUDA backend is not loaded in this build");
    }
    const made = make(index, name);
    backends.set(name, made);
    backends.set(device, made);
    return made;
  }
  if (device === "cpu:0" && backends.has("cpu")) return backends.get("cpu")!;
  throw new Error(`unknown device "${device}"; expected "cpu" or "cuda[:N]"`);
}

/**
 * The canonical name of a device ("cuda" -> "cuda:0"), initialising it.
 *
 * @example
 * ```ts
 * import "./cpu_backend.ts"; // registers the "cpu" backend
 * import { normalizeDevice } from "./backend.ts";
 * normalizeDevice("cpu"); // "cpu"
 * ```
 */
export function normalizeDevice(device: string): string {
  return backendFor(device).device;
}
