/**
 * Pooling: max, average and adaptive average pooling in 1-D and 2-D with
 * PyTorch's semantics, on the window kernels of zig/src/conv.zig.
 *
 * Each forward records one tape entry whose rule runs the matching backward
 * kernel, itself recorded: the backward of max pooling scatters the gradient
 * to the argmax positions, so its own derivative gathers by the same indices;
 * the average poolings are linear, so the derivative of their backward is the
 * forward pooling again. Second derivatives therefore flow through pooling.
 *
 * @module
 */
import { checkShape, fmtShape } from "../../shape.ts";
import type { Tensor } from "../../tensor.ts";
import { squeeze, unsqueeze } from "../../ops/view.ts";
import { cat } from "../../ops/join.ts";
import { tensor } from "../../ops/creation.ts";
import type { SizeArg } from "./conv.ts";
import { checkFloatInput, sizeArg, window } from "./conv_kernels.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { typeError } from "../../args.ts";
import {
  adaptiveCore,
  avgPool2dCore,
  geomOf,
  maxPool2dCore,
  type PoolGeom,
} from "./pool_kernels.ts";

/**
 * Options of {@link maxPool1d} and {@link maxPool2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts = { stride: 1, ceilMode: true } satisfies zn.nn.functional.MaxPoolOptions;
 * zn.nn.functional.maxPool1d(zn.tensor([[[1, 3, 2, 5]]]), 2, opts).toArray(); // [[[3, 3, 5]]]
 * ```
 */
export interface MaxPoolOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg | null;
  /** Implicit -infinity padding per side, at most half the kernel (default 0). */
  padding?: SizeArg;
  /** Step between window taps (default 1). */
  dilation?: SizeArg;
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
  /** Also return the argmax indices (flat positions in each input plane). */
  returnIndices?: boolean;
}

/**
 * Options of {@link avgPool2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.AvgPoolOptions = { padding: 1, countIncludePad: false };
 * zn.nn.functional.avgPool2d(zn.ones([1, 1, 2, 2]), 2, opts).toArray(); // [[[[1, 1], [1, 1]]]]
 * ```
 */
export interface AvgPoolOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg | null;
  /** Implicit zero padding per side, at most half the kernel (default 0). */
  padding?: SizeArg;
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
  /** Count the padding in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead of its size. */
  divisorOverride?: number | null;
}

const MAX_POOL_KEYS = optionKeys<MaxPoolOptions>({
  stride: 0,
  padding: 0,
  dilation: 0,
  ceilMode: 0,
  returnIndices: 0,
});
const AVG_POOL_KEYS = optionKeys<AvgPoolOptions>({
  stride: 0,
  padding: 0,
  ceilMode: 0,
  countIncludePad: 0,
  divisorOverride: 0,
});

/**
 * Pooled values with the argmax index of each output.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[[1, 3, 2, 5]]]);
 * const r: zn.nn.functional.PoolWithIndices = zn.nn.functional.maxPool1d(x, 2, {
 *   returnIndices: true,
 * });
 * [r.values.toArray(), r.indices.toArray()]; // [[[[3, 5]]], [[[1, 3]]]]
 * ```
 */
export interface PoolWithIndices {
  /** The pooled tensor. */
  values: Tensor;
  /** int64 flat index of each maximum within its input plane. */
  indices: Tensor;
}

type Pair = [number, number];

function pair(v: number[]): Pair {
  return [v[0], v[1]];
}

/** PyTorch's pooling_output_shape. */
function poolOutSize(
  size: number,
  k: number,
  pad: number,
  s: number,
  d: number,
  ceil: boolean,
): number {
  let o = Math.floor((size + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil && (o - 1) * s >= size + pad) o--;
  return o;
}

/** Brings input to [N, C, H, W] (1-D: H = 1); returns it and the undo. */
function to4d(op: string, x: Tensor, nd: 1 | 2): [Tensor, (y: Tensor) => Tensor] {
  if (x.ndim !== nd + 1 && x.ndim !== nd + 2) {
    throw new RangeError(
      `${op}: expected ${nd + 1}D (unbatched) or ${
        nd + 2
      }D (batched) input, but got input of size: ${fmtShape(x.shape)}`,
    );
  }
  const batched = x.ndim === nd + 2;
  const spatial = x.shape.slice(batched ? 2 : 1);
  if (spatial.some((s) => s === 0) || (batched && x.shape[1] === 0)) {
    throw new RangeError(
      `${op}: expected input with non-zero channel and spatial sizes, but got input of size: ${
        fmtShape(x.shape)
      }`,
    );
  }
  let t = batched ? x : unsqueeze(x, 0);
  if (nd === 1) t = unsqueeze(t, 2);
  const undo = (y: Tensor): Tensor => {
    let r = nd === 1 ? squeeze(y, 2) : y;
    if (!batched) r = squeeze(r, 0);
    return r;
  };
  return [t, undo];
}

function poolGeometry(
  op: string,
  x: Tensor,
  nd: 1 | 2,
  kernelSize: SizeArg,
  stride: SizeArg | null | undefined,
  padding: SizeArg,
  dilation: SizeArg,
  ceil: boolean,
): PoolGeom {
  const k = sizeArg(kernelSize, nd, "kernelSize", op, 1);
  const noStride = stride == null || (typeof stride !== "number" && stride.length === 0);
  const s = noStride ? k : sizeArg(stride!, nd, "stride", op, 1);
  const p = sizeArg(padding, nd, "padding", op, 0);
  const d = sizeArg(dilation, nd, "dilation", op, 1);
  for (let i = 0; i < nd; i++) {
    if (p[i] > Math.floor(k[i] / 2)) {
      throw new RangeError(
        `${op}: pad should be at most half of kernel size, but got padding=${
          p.join(", ")
        } and kernelSize=${k.join(", ")}`,
      );
    }
  }
  const spatial = x.shape.slice(2);
  const inner = nd === 1 ? [spatial[1]] : spatial;
  const out = inner.map((size, i) => poolOutSize(size, k[i], p[i], s[i], d[i], ceil));
  if (out.some((o) => o < 1)) {
    throw new RangeError(
      `${op}: given input size: (${[x.shape[1], ...inner].join("x")}). Calculated output size: (${
        [x.shape[1], ...out].join("x")
      }). Output size is too small`,
    );
  }
  const two = (v: number[], one: number): Pair => nd === 1 ? [one, v[0]] : pair(v);
  return {
    kernel: two(k, 1),
    stride: two(s, 1),
    padding: two(p, 0),
    dilation: two(d, 1),
    output: two(out, 1),
  };
}

function maxPoolNd(
  op: string,
  nd: 1 | 2,
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions,
): Tensor | PoolWithIndices {
  checkOptions(op, opts, MAX_POOL_KEYS);
  checkFloatInput(input, op);
  const [x, undo] = to4d(op, input, nd);
  const g = poolGeometry(
    op,
    x,
    nd,
    kernelSize,
    opts.stride,
    opts.padding ?? 0,
    opts.dilation ?? 1,
    opts.ceilMode ?? false,
  );
  const r = maxPool2dCore(x, g);
  if (!opts.returnIndices) return undo(r.values);
  return { values: undo(r.values), indices: undo(r.indices) };
}

/**
 * 1-D max pooling of input [N, C, L] (or [C, L]). With `returnIndices`,
 * returns `{ values, indices }`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[[1, 3, 2, 5, 4]]]);
 * zn.nn.functional.maxPool1d(x, 2).toArray(); // [[[3, 5]]]
 * ```
 */
export function maxPool1d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions & { returnIndices: true },
): PoolWithIndices;
/** 1-D max pooling without indices: returns the pooled tensor. */
export function maxPool1d(
  input: Tensor,
  kernelSize: SizeArg,
  opts?: MaxPoolOptions & { returnIndices?: false },
): Tensor;
export function maxPool1d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions = {},
): Tensor | PoolWithIndices {
  return maxPoolNd("maxPool1d", 1, input, kernelSize, opts);
}

/**
 * 2-D max pooling of input [N, C, H, W] (or [C, H, W]); `stride` defaults
 * to the kernel size. With `returnIndices`, returns `{ values, indices }`
 * where indices are flat positions in each H x W plane.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.arange(16).to("float32").reshape(1, 1, 4, 4);
 * zn.nn.functional.maxPool2d(x, 2).toArray(); // [[[[5, 7], [13, 15]]]]
 * ```
 */
export function maxPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions & { returnIndices: true },
): PoolWithIndices;
/** 2-D max pooling without indices: returns the pooled tensor. */
export function maxPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  opts?: MaxPoolOptions & { returnIndices?: false },
): Tensor;
export function maxPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions = {},
): Tensor | PoolWithIndices {
  return maxPoolNd("maxPool2d", 2, input, kernelSize, opts);
}

/**
 * 2-D average pooling of input [N, C, H, W] (or [C, H, W]); `stride`
 * defaults to the kernel size.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.arange(16).to("float32").reshape(1, 1, 4, 4);
 * zn.nn.functional.avgPool2d(x, 2).toArray(); // [[[[2.5, 4.5], [10.5, 12.5]]]]
 * ```
 */
export function avgPool2d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: AvgPoolOptions = {},
): Tensor {
  return avgPoolNd("avgPool2d", 2, input, kernelSize, opts);
}

/**
 * 1-D average pooling of input [N, C, L] (or [C, L]), as
 * `torch.nn.functional.avg_pool1d`; `stride` defaults to the kernel size.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[[1, 3, 2, 6]]]);
 * zn.nn.functional.avgPool1d(x, 2).toArray(); // [[[2, 4]]]
 * ```
 */
export function avgPool1d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: Omit<AvgPoolOptions, "divisorOverride"> = {},
): Tensor {
  checkOptions("avgPool1d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
  return avgPoolNd("avgPool1d", 1, input, kernelSize, opts);
}

function avgPoolNd(
  op: string,
  nd: 1 | 2,
  input: Tensor,
  kernelSize: SizeArg,
  opts: AvgPoolOptions,
): Tensor {
  checkOptions(op, opts, AVG_POOL_KEYS);
  checkFloatInput(input, op);
  const div = opts.divisorOverride ?? 0;
  if (opts.divisorOverride != null && (!Number.isInteger(div) || div === 0)) {
    throw new RangeError(`${op}: divisorOverride must be a non-zero integer, got ${div}`);
  }
  if (div < 0) {
    throw new RangeError(`${op}: divisorOverride must be positive, got ${div}`);
  }
  const [x, undo] = to4d(op, input, nd);
  const g = poolGeometry(op, x, nd, kernelSize, opts.stride, opts.padding ?? 0, 1, !!opts.ceilMode);
  return undo(avgPool2dCore(x, geomOf(x, g), {
    countIncludePad: opts.countIncludePad ?? true,
    divisorOverride: div,
  }));
}

/**
 * The adaptive pools' input as 4-D (with the function that restores an
 * unbatched result) and the output size, `outputSize`'s nulls keeping the
 * input's size; checked as PyTorch checks them.
 */
function adaptiveInput(
  op: string,
  input: Tensor,
  outputSize: number | readonly (number | null)[],
): [Tensor, (t: Tensor) => Tensor, number, number] {
  checkFloatInput(input, op);
  if (typeof outputSize !== "number" && !Array.isArray(outputSize)) {
    typeError(op, "outputSize", "an integer or an array of integers (or nulls)", outputSize);
  }
  const [x, undo] = to4d(op, input, 2);
  const req = typeof outputSize === "number" ? [outputSize, outputSize] : [...outputSize];
  if (req.length === 1) req.push(req[0]);
  const out = req.map((v, i) => v === null ? x.shape[2 + i] : v);
  if (out.length !== 2 || out.some((v) => !Number.isInteger(v) || v! < 1)) {
    throw new RangeError(
      `${op}: outputSize must be a positive integer or a pair of them (null keeps the input size), got ${
        typeof outputSize === "number" ? outputSize : `[${outputSize.map(String).join(", ")}]`
      }`,
    );
  }
  checkShape([x.shape[0], x.shape[1], out[0]!, out[1]!], op);
  return [x, undo, out[0]!, out[1]!];
}

/**
 * 2-D adaptive average pooling of input [N, C, H, W] (or [C, H, W]) to
 * `outputSize` (a number, or a pair whose null entries keep the input size).
 * Output cell i covers inputs [floor(i*H/OH), ceil((i+1)*H/OH)).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.ones([2, 3, 7, 5]);
 * zn.nn.functional.adaptiveAvgPool2d(x, [3, 2]).shape; // [2, 3, 3, 2]
 * ```
 */
export function adaptiveAvgPool2d(
  input: Tensor,
  outputSize: number | readonly (number | null)[],
): Tensor {
  const [x, undo, oh, ow] = adaptiveInput("adaptiveAvgPool2d", input, outputSize);
  const [n, c, h, w] = x.shape;
  const geom = window(n, c, [h, w], [oh, ow], [1, 1], [1, 1], [0, 0], [1, 1]);
  return undo(adaptiveCore(x, geom));
}

/**
 * The maxima over windows [floor(i in / out), ceil((i + 1) in / out)) of
 * dim d, one per output index. Shrinking: one amax per window (at most `in`
 * of them). Growing: each window holds one or two elements, so the maximum
 * of two gathers.
 */
function adaptiveMaxAlong(x: Tensor, d: number, out: number): Tensor {
  const n = x.shape[d];
  const start = (i: number) => Math.floor((i * n) / out);
  const end = (i: number) => Math.ceil(((i + 1) * n) / out);
  if (out <= n) {
    const parts: Tensor[] = [];
    for (let i = 0; i < out; i++) {
      parts.push(x.narrow(d, start(i), end(i) - start(i)).amax(d, true));
    }
    return parts.length === 1 ? parts[0] : cat(parts, d);
  }
  const first = new BigInt64Array(out), last = new BigInt64Array(out);
  for (let i = 0; i < out; i++) {
    first[i] = BigInt(start(i));
    last[i] = BigInt(end(i) - 1);
  }
  const pick = (t: BigInt64Array) => x.indexSelect(d, tensor(t, { device: x.device }));
  return pick(first).maximum(pick(last));
}

/**
 * Max pooling to a fixed output size, as
 * `torch.nn.functional.adaptive_max_pool2d` (values; the maximum is
 * separable, so rows then columns).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.adaptiveMaxPool2d(zn.arange(16).to("float32").reshape(1, 1, 4, 4), 2).toArray();
 * // [[[[5, 7], [13, 15]]]]
 * ```
 */
export function adaptiveMaxPool2d(
  input: Tensor,
  outputSize: number | readonly (number | null)[],
): Tensor {
  const op = "adaptiveMaxPool2d";
  const [x, undo, oh, ow] = adaptiveInput(op, input, outputSize);
  if (x.shape[2] === 0 || x.shape[3] === 0) {
    throw new RangeError(`${op}: expected non-empty spatial dims, got ${fmtShape(x.shape)}`);
  }
  return undo(adaptiveMaxAlong(adaptiveMaxAlong(x, 2, oh), 3, ow));
}

/** [N, C, L] (or [C, L]) as [N, C, 1, L] for a 2-D adaptive pool, and back. */
function adaptive1d(
  op: string,
  input: Tensor,
  outputSize: number,
): [Tensor, (t: Tensor) => Tensor, [number, number]] {
  checkFloatInput(input, op);
  if (input.ndim !== 2 && input.ndim !== 3) {
    throw new RangeError(
      `${op}: expected 2D (unbatched) or 3D (batched) input, but got input of size: ${
        fmtShape(input.shape)
      }`,
    );
  }
  if (!Number.isInteger(outputSize) || outputSize < 1) {
    throw new RangeError(`${op}: outputSize must be a positive integer, got ${outputSize}`);
  }
  return [unsqueeze(input, -2), (t) => squeeze(t, -2), [1, outputSize]];
}

/**
 * 1-D adaptive average pooling of input [N, C, L] (or [C, L]) to
 * `outputSize` cells, as `torch.nn.functional.adaptive_avg_pool1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.adaptiveAvgPool1d(zn.tensor([[[1, 2, 3, 4, 5, 6]]]), 2).toArray(); // [[[2, 5]]]
 * ```
 */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number): Tensor {
  const [x, undo, size] = adaptive1d("adaptiveAvgPool1d", input, outputSize);
  return undo(adaptiveAvgPool2d(x, size));
}

/**
 * 1-D adaptive max pooling of input [N, C, L] (or [C, L]) to `outputSize`
 * cells, as `torch.nn.functional.adaptive_max_pool1d` (values).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.adaptiveMaxPool1d(zn.tensor([[[1, 5, 3, 4, 2, 0]]]), 2).toArray(); // [[[5, 4]]]
 * ```
 */
export function adaptiveMaxPool1d(input: Tensor, outputSize: number): Tensor {
  const [x, undo, size] = adaptive1d("adaptiveMaxPool1d", input, outputSize);
  return undo(adaptiveMaxPool2d(x, size));
}
