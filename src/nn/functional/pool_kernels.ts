/**
 * The pooling kernels behind pool.ts: the forward runs on the window kernels
 * of zig/src/conv.zig, each recorded with its backward, and the backward of
 * each is recorded too so that second derivatives flow through pooling.
 *
 * @module
 */
import type { Window2d } from "../../backend.ts";
import { emptyTensor, type Tensor } from "../../tensor.ts";
import { record } from "../../autograd/node.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { clone, toDType } from "../../ops/elementwise.ts";
import { gather } from "../../ops/indexing.ts";
import { reshape } from "../../ops/view.ts";
import { kernelOperand, window } from "./conv_kernels.ts";
import type { PoolWithIndices } from "./pool.ts";

type Pair = [number, number];

/** @internal The window geometry of a pooling op. */
export interface PoolGeom {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  output: Pair;
}

/** @internal The window-kernel record of a pooling geometry on a 4-D input. */
export function geomOf(x: Tensor, g: PoolGeom): Window2d {
  const [n, c, h, w] = x.shape;
  return window(n, c, [h, w], g.output, g.kernel, g.stride, g.padding, g.dilation);
}

/** Runs a pooling kernel from `src` (any float dtype) into a new tensor of `shape`. */
function runKernel(
  op:
    | "maxPool"
    | "maxPoolBackward"
    | "avgPool"
    | "avgPoolBackward"
    | "adaptiveAvgPool"
    | "adaptiveAvgPoolBackward",
  src: Tensor,
  shape: readonly number[],
  w: Window2d,
  idx: Tensor | null,
  avg?: { countIncludePad: boolean; divisorOverride: number },
): Tensor {
  return noGrad(() => {
    const half = src.dtype === "float16" || src.dtype === "bfloat16";
    const s = half && src.backend.halfPool
      ? (src.isContiguous() ? src : clone(src))
      : kernelOperand(src);
    const out = emptyTensor(shape, s.dtype, src.device);
    const ix = idx && !idx.isContiguous() ? idx.contiguous() : idx;
    s.backend.window2d(op, s, out, ix, w, avg);
    return out.dtype === src.dtype ? out : toDType(out, src.dtype);
  });
}

// ------------------------------------------------------------------ max pooling

/** @internal Max pooling of a 4-D input, recorded as "maxPool2d". */
export function maxPool2dCore(x: Tensor, g: PoolGeom): PoolWithIndices {
  const [n, c, h, w] = x.shape;
  const geom = geomOf(x, g);
  const shape = [n, c, g.output[0], g.output[1]];
  const indices = emptyTensor(shape, "int64", x.device);
  const values = runKernel("maxPool", x, shape, geom, indices);
  // runKernel filled `indices` in place (the kernel writes both outputs).
  record("maxPool2d", [x], values, {}, { indices, geom, inShape: [n, c, h, w] });
  return { values, indices };
}

/** @internal grad_input of max pooling: g scattered (added) to the argmax positions. */
export function maxPool2dBackward(
  g: Tensor,
  indices: Tensor,
  geom: Window2d,
  inShape: readonly number[],
): Tensor {
  const gi = runKernel("maxPoolBackward", g, inShape, geom, indices);
  return record("maxPool2dBackward", [g], gi, {}, { indices, geom, outShape: g.shape });
}

/** @internal The rule of "maxPool2d". */
export function maxPool2dRule(g: Tensor, _s: unknown, c: Record<string, unknown>): Tensor[] {
  return [
    maxPool2dBackward(g, c.indices as Tensor, c.geom as Window2d, c.inShape as number[]),
  ];
}

/** @internal The rule of "maxPool2dBackward": a gather by the same indices. */
export function maxPool2dBackwardRule(
  gg: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): Tensor[] {
  const outShape = c.outShape as number[];
  const [n, ch, h, w] = gg.shape;
  const idx = reshape(c.indices as Tensor, [n, ch, outShape[2] * outShape[3]]);
  return [reshape(gather(reshape(gg, [n, ch, h * w]), 2, idx), outShape)];
}

// ------------------------------------------------------------------ average pooling

/** @internal The divisor options of average pooling. */
export interface AvgCtx {
  countIncludePad: boolean;
  divisorOverride: number;
}

/** @internal Average pooling of a 4-D input, recorded as "avgPool2d". */
export function avgPool2dCore(x: Tensor, geom: Window2d, avg: AvgCtx): Tensor {
  const shape = [x.shape[0], x.shape[1], geom.output[0], geom.output[1]];
  const out = runKernel("avgPool", x, shape, geom, null, avg);
  return record("avgPool2d", [x], out, {}, { geom, avg, inShape: x.shape });
}

/** @internal grad_input of average pooling (itself linear in g). */
export function avgPool2dBackward(
  g: Tensor,
  geom: Window2d,
  avg: AvgCtx,
  inShape: readonly number[],
): Tensor {
  const gi = runKernel("avgPoolBackward", g, inShape, geom, null, avg);
  return record("avgPool2dBackward", [g], gi, {}, { geom, avg });
}

/** @internal The rule of "avgPool2d". */
export function avgPool2dRule(g: Tensor, _s: unknown, c: Record<string, unknown>): Tensor[] {
  return [avgPool2dBackward(g, c.geom as Window2d, c.avg as AvgCtx, c.inShape as number[])];
}

/** @internal The rule of "avgPool2dBackward": the forward pooling, by linearity. */
export function avgPool2dBackwardRule(
  gg: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): Tensor[] {
  return [avgPool2dCore(gg, c.geom as Window2d, c.avg as AvgCtx)];
}

// ------------------------------------------------------------------ adaptive

/** @internal Adaptive average pooling of a 4-D input, recorded as "adaptiveAvgPool2d". */
export function adaptiveCore(x: Tensor, geom: Window2d): Tensor {
  const shape = [x.shape[0], x.shape[1], geom.output[0], geom.output[1]];
  const out = runKernel("adaptiveAvgPool", x, shape, geom, null);
  return record("adaptiveAvgPool2d", [x], out, {}, { geom, inShape: x.shape });
}

/** @internal grad_input of adaptive average pooling. */
export function adaptiveAvgPool2dBackward(
  g: Tensor,
  geom: Window2d,
  inShape: readonly number[],
): Tensor {
  const gi = runKernel("adaptiveAvgPoolBackward", g, inShape, geom, null);
  return record("adaptiveAvgPool2dBackward", [g], gi, {}, { geom });
}

/** @internal The rule of "adaptiveAvgPool2d". */
export function adaptiveAvgPool2dRule(
  g: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): Tensor[] {
  return [adaptiveAvgPool2dBackward(g, c.geom as Window2d, c.inShape as number[])];
}

/** @internal The rule of "adaptiveAvgPool2dBackward": the forward pooling, by linearity. */
export function adaptiveAvgPool2dBackwardRule(
  gg: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): Tensor[] {
  return [adaptiveCore(gg, c.geom as Window2d)];
}
