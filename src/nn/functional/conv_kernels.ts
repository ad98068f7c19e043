/**
 * The convolution kernels behind conv1d, conv2d and convTranspose2d: the
 * im2col + GEMM and direct paths, the shared scratch buffers, the tape rules,
 * and the argument helpers that the convolution and pooling ops share. The
 * public functions live in conv.ts.
 *
 * @module
 */
import { backendFor, type Storage, type Window2d } from "../../backend.ts";
import type { DType } from "../../dtype.ts";
import { contiguousStrides, numel } from "../../shape.ts";
import { emptyTensor, outputTensor, Tensor } from "../../tensor.ts";
import { record } from "../../autograd/node.ts";
import type { Node } from "../../autograd/node.ts";
import { isGradEnabled, noGrad } from "../../autograd/grad_mode.ts";
import { add, clone, toDType } from "../../ops/elementwise.ts";
import { sum } from "../../ops/reduce.ts";
import { narrow, permute, reshape, transpose } from "../../ops/view.ts";
import { typeError } from "../../args.ts";
import type { SizeArg } from "./conv.ts";

type Pair = [number, number];

/** @internal Geometry of a 2-D convolution on a 4-D input. */
export interface Conv2dParams {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

/** @internal `v` as one value per spatial dim, checked against `min`. */
export function sizeArg(v: SizeArg, n: number, name: string, op: string, min: number): number[] {
  if (typeof v !== "number" && !Array.isArray(v)) {
    typeError(op, name, "an integer or an array of integers", v);
  }
  const vals = typeof v === "number" ? new Array<number>(n).fill(v) : [...v];
  if (vals.length === 1 && n > 1) { while (vals.length < n) vals.push(vals[0]); }
  if (vals.length !== n || vals.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(
      `${op}: ${name} must be ${
        min === 0 ? "a non-negative" : "a positive"
      } integer or ${n} of them, got ${typeof v === "number" ? v : `[${vals.join(", ")}]`}`,
    );
  }
  return vals;
}

export { checkFloatTensor as checkFloatInput } from "../../args.ts";

/** @internal A contiguous copy of `x` in its compute dtype (float16/bfloat16 compute in float32). */
export function kernelOperand(x: Tensor): Tensor {
  return noGrad(() => {
    const cd = x.dtype === "float16" || x.dtype === "bfloat16" ? "float32" : x.dtype;
    let t = x.dtype === cd ? x : toDType(x, cd);
    if (!t.isContiguous()) t = clone(t);
    return t;
  });
}

/** @internal The geometry record the window kernels take. */
export function window(
  batch: number,
  channels: number,
  input: Pair,
  output: Pair,
  kernel: Pair,
  stride: Pair,
  padding: Pair,
  dilation: Pair,
): Window2d {
  return { batch, channels, input, output, kernel, stride, padding, dilation };
}

function convOutSize(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

// ------------------------------------------------------------------ scratch

// im2col columns (and the columns col2im folds back) are the largest buffers
// of a convolution and never leave the op that fills them: they live in one
// reusable buffer per device and dtype instead of a fresh zero-filled
// allocation per call. Every user fills all of it before reading (im2col and
// the matmul kernel write every element) and is done with it before the next
// user starts, so one buffer serves them all; an op that needs two at once
// takes a second slot. Each holds the largest size seen.
const scratchStore = new Map<string, Storage>();

/** @internal A contiguous tensor of `shape` on the shared scratch buffer. */
export function scratchTensor(
  shape: readonly number[],
  dtype: DType,
  device: string,
  slot = 0,
): Tensor {
  const key = `${device}/${dtype}/${slot}`;
  const n = numel(shape);
  let st = scratchStore.get(key);
  if (st === undefined || st.length < n) {
    st = backendFor(device).alloc(dtype, n);
    // Held for good, and unseen by tidy scopes: only this module uses it.
    st.tracked = true;
    st.owners = 1;
    scratchStore.set(key, st);
  }
  return new Tensor(st, dtype, shape, contiguousStrides(shape), 0);
}

/** Frees the scratch buffers (they are rebuilt on the next convolution). */
export function releaseConvScratch(): void {
  scratchStore.clear();
}

// ------------------------------------------------------------------ direct convolution

/**
 * @internal Which convolution kernel runs where both could: "direct" takes the
 * direct kernel wherever it applies (see directDType), "gemm" always lowers to
 * im2col + GEMM, the reference path that tests compare the direct kernel with.
 */
export const convKernel: { mode: "direct" | "gemm" } = { mode: "direct" };

/** A contiguous operand of the direct kernel in its dtype `cd`. */
function directOperand(t: Tensor, cd: DType): Tensor {
  return noGrad(() => {
    let r = t.dtype === cd ? t : toDType(t, cd);
    if (!r.isContiguous()) r = clone(r);
    return r;
  });
}

/**
 * The dtype in which a stride-1, dilation-1, single-group convolution of x
 * runs on the backend's direct kernel (x's own, or float32 for a half x
 * where the backend takes only float32), or null where the direct kernel
 * does not apply. The direct kernel reads the padded image in place, where
 * im2col + GEMM first writes a column matrix as large as the GEMM's work; on
 * AVX2 it won on every layer of bench/workloads.json (forward and backward:
 * the CNN's 5x5 layers 1.5-1.7x, the ResNet 3x3 block 1.3x).
 */
function directDType(x: Tensor, p: Conv2dParams): DType | null {
  if (convKernel.mode === "gemm" || x.backend.conv2dDirect === undefined) return null;
  if (p.groups !== 1 || p.stride[0] !== 1 || p.stride[1] !== 1) return null;
  if (p.dilation[0] !== 1 || p.dilation[1] !== 1) return null;
  const half = x.dtype === "float16" || x.dtype === "bfloat16";
  if (half) return x.backend.halfConvDirect ? x.dtype : "float32";
  return x.dtype === "float32" || x.dtype === "float64" ? x.dtype : null;
}

// ------------------------------------------------------------------ kernels

/**
 * @internal conv2d of a 4-D input x: [N, C, H, W] with w: [O, C/G, KH, KW]
 * (symmetric padding), recorded as "conv2d". Shapes are checked by the caller.
 */
export function conv2dCore(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams): Tensor {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const g = p.groups;
  const oh = convOutSize(h, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const ow = convOutSize(wd, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const out = noGrad(() => {
    const dd = directDType(x, p);
    if (dd !== null) {
      // x: [N, C, H, W] * w: [O, C, KH, KW] + b -> [N, O, OH, OW], no columns.
      const xd = directOperand(x, dd);
      const y = outputTensor([n, o, oh, ow], dd, x.device);
      const bc = b ? directOperand(b, dd) : null;
      xd.backend.conv2dDirect!(xd, directOperand(w, dd), bc, y, {
        kernel: [kh, kw],
        padding: p.padding,
        mode: "forward",
      });
      return y.dtype === x.dtype ? y : toDType(y, x.dtype);
    }
    const xc = kernelOperand(x);
    const cd = xc.dtype;
    const l = oh * ow, nl = n * l, og = o / g;
    const kdim = cg * kh * kw;
    // cols: [C*KH*KW, N*L] = [G, Kg, N*L]: the whole batch in one matrix, so
    // the product is one GEMM per group rather than one per image.
    const cols = scratchTensor([g, kdim, nl], cd, x.device);
    xc.backend.window2d(
      "im2colBatched",
      xc,
      cols,
      null,
      window(n, c, [h, wd], [oh, ow], [kh, kw], p.stride, p.padding, p.dilation),
    );
    const wc = w.dtype === cd ? w : toDType(w, cd);
    // [G, Og, Kg] @ [G, Kg, N*L] -> [G, Og, N*L] = [O, N, L]
    const prod = scratchTensor([g, og, nl], cd, x.device, 1);
    xc.backend.matmul(reshape(wc, [g, og, kdim]), cols, prod);
    // [O, N, L] -> [N, O, OH, OW], with the bias added in the same pass.
    const yt = permute(reshape(prod, [o, n, oh, ow]), [1, 0, 2, 3]);
    const y = b ? add(yt, reshape(b.dtype === cd ? b : toDType(b, cd), [1, o, 1, 1])) : clone(yt);
    return y.dtype === x.dtype ? y : toDType(y, x.dtype);
  });
  return record("conv2d", [x, w, b], out, {
    x: w.requiresGrad ? x : undefined,
    w: x.requiresGrad ? w : undefined,
  }, { ...p });
}

/**
 * @internal Transposed conv2d of x: [N, Cin, H, W] with w: [Cin, Cout/G, KH, KW]
 * to an output of size `size` (OH, OW), recorded as "convTranspose2d".
 */
export function convTranspose2dCore(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  p: Conv2dParams,
  size: Pair,
): Tensor {
  const [n, cin, h, wd] = x.shape;
  const [, cog, kh, kw] = w.shape;
  const g = p.groups;
  const cig = cin / g;
  const cout = cog * g;
  const out = noGrad(() => {
    const xc = kernelOperand(x);
    const cd = xc.dtype;
    const wc = w.dtype === cd ? w : toDType(w, cd);
    const kdim = cog * kh * kw;
    const l = h * wd;
    const nl = n * l;
    // x as [Cin, N*L] = [G, Cin/G, N*L], the batch side by side.
    const x2 = scratchTensor([cin, n, l], cd, x.device, 1);
    x2.backend.copy(permute(reshape(xc, [n, cin, l]), [1, 0, 2]), x2);
    // [G, Cout/G*KK, Cin/G] @ [G, Cin/G, N*L] -> cols [G, Cout/G*KK, N*L]
    const cols = scratchTensor([g, kdim, nl], cd, x.device);
    if (cig === 0) cols.backend.fill(cols, 0);
    else {xc.backend.matmul(
        transpose(reshape(wc, [g, cig, kdim]), 1, 2),
        reshape(x2, [g, cig, nl]),
        cols,
      );}
    const y = emptyTensor([n, cout, size[0], size[1]], cd, x.device);
    y.backend.window2d(
      "col2imBatched",
      cols,
      y,
      null,
      window(n, cout, size, [h, wd], [kh, kw], p.stride, p.padding, p.dilation),
    );
    const r = b ? add(y, reshape(b.dtype === cd ? b : toDType(b, cd), [1, cout, 1, 1])) : y;
    return r.dtype === x.dtype ? r : toDType(r, x.dtype);
  });
  return record("convTranspose2d", [x, w, b], out, {
    x: w.requiresGrad ? x : undefined,
    w: x.requiresGrad ? w : undefined,
  }, { ...p, inSize: [h, wd] });
}

/**
 * The weight gradient of a convolution as a convolution: wgrad[o, c, i, j] =
 * sum_n,y,x g[n, o, y, x] * x[n, c, y*s + i*d - p, x*s + j*d - p], i.e. a conv
 * of the input (batch and channels swapped) by the gradient, with stride and
 * dilation exchanged. Returns [G*A, B, KH, KW] where `a` ([N, G*A, ...]) is the
 * operand whose channels become the kernel's outputs and `b` ([N, G*B, ...])
 * the one that slides.
 */
function crossCorrelate(
  slide: Tensor,
  filt: Tensor,
  p: Conv2dParams,
  kernel: Pair,
): Tensor {
  const g = p.groups;
  const [n, cs, hs, ws] = slide.shape;
  const [, cf, hf, wf] = filt.shape;
  const bs = cs / g, af = cf / g;
  // slide: [N, G, B, H, W] -> [B, G*N, H, W]; filt: [N, G, A, h, w] -> [G*A, N, h, w]
  const xs = reshape(permute(reshape(slide, [n, g, bs, hs, ws]), [2, 1, 0, 3, 4]), [
    bs,
    g * n,
    hs,
    ws,
  ]);
  const fs = reshape(permute(reshape(filt, [n, g, af, hf, wf]), [1, 2, 0, 3, 4]), [
    g * af,
    n,
    hf,
    wf,
  ]);
  const r = conv2dCore(xs, fs, null, {
    stride: p.dilation,
    padding: p.padding,
    dilation: p.stride,
    groups: g,
  });
  // r: [B, G*A, k', k'] -> [G*A, B, KH, KW]
  const t = transpose(r, 0, 1);
  return narrow(narrow(t, 2, 0, kernel[0]), 3, 0, kernel[1]);
}

/** @internal The rule of "conv2d". */
export function conv2dRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const p = c as unknown as Conv2dParams;
  const [ex, ew, eb] = node.edges;
  let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
  if (ex) {
    const [, , h, w] = ex.shape;
    gx = isGradEnabled() ? null : directInputGrad(g, s.w, p, [h, w]);
    gx ??= convTranspose2dCore(g, s.w, null, p, [h, w]);
  }
  if (ew) {
    const [, , kh, kw] = ew.shape;
    // Without a graph of the backward itself: the im2col form. Otherwise a
    // convolution (slide the input, filter by the gradient), differentiable.
    gw = isGradEnabled() ? crossCorrelate(s.x, g, p, [kh, kw]) : weightGrad(s.x, g, p, [kh, kw]);
    if (gw.dtype !== ew.dtype) gw = toDType(gw, ew.dtype);
  }
  if (eb) gb = sum(g, [0, 2, 3]);
  return [gx, gw, gb];
}

/**
 * The input gradient of a stride-1 convolution on the direct kernel: the
 * convolution of g with the weight flipped and its channels swapped, padded by
 * K-1-P. Null where the direct kernel does not apply (then the caller lowers
 * it to GEMM + col2im). Not differentiable: only for backward passes that
 * build no graph.
 */
function directInputGrad(g: Tensor, w: Tensor, p: Conv2dParams, size: Pair): Tensor | null {
  const [n, , oh, ow] = g.shape;
  const [, c, kh, kw] = w.shape;
  const ph = kh - 1 - p.padding[0], pw = kw - 1 - p.padding[1];
  if (ph < 0 || pw < 0) return null;
  const cd = directDType(g, p);
  if (cd === null) return null;
  // Stride 1: the padded gradient has exactly the input's size.
  if (oh + 2 * ph - kh + 1 !== size[0] || ow + 2 * pw - kw + 1 !== size[1]) return null;
  const gc = directOperand(g, cd);
  const gx = outputTensor([n, c, size[0], size[1]], cd, g.device);
  gc.backend.conv2dDirect!(gc, directOperand(w, cd), null, gx, {
    kernel: [kh, kw],
    padding: [ph, pw],
    mode: "inputGrad",
  });
  return gx;
}

/**
 * conv2d's weight gradient through im2col: for each image n and group,
 * gw[o, k] += g[n, o, :] @ cols[n, k, :]^T, with cols = im2col(x).
 * x: [N, C, H, W], g: [N, O, OH, OW] -> [O, C/G, KH, KW]. Not differentiable:
 * only for backward passes that build no graph.
 */
function weightGrad(x: Tensor, g: Tensor, p: Conv2dParams, kernel: Pair): Tensor {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = g.shape;
  const [kh, kw] = kernel;
  const gr = p.groups;
  const cg = c / gr, og = o / gr, kdim = cg * kh * kw, l = oh * ow;
  // Stride 1: the kernel picks a dot-product form for few taps per output
  // channel and per-image columns into a GEMM for many (zig/src/conv.zig);
  // the batched im2col below stays the general path and the reference.
  const dd = directDType(x, p);
  if (dd !== null) {
    // Stride 1: g: [N, O, OH, OW] against the padded x, no columns.
    const xd = directOperand(x, dd);
    const gw = outputTensor([o, c, kh, kw], dd, x.device);
    xd.backend.conv2dDirect!(xd, directOperand(g, dd), null, gw, {
      kernel,
      padding: p.padding,
      mode: "weightGrad",
    });
    return gw;
  }
  const xc = kernelOperand(x);
  const cd = xc.dtype;
  const nl = n * l;
  // g as [O, N*L] = [G, Og, N*L].
  const g2 = scratchTensor([o, n, l], cd, x.device, 1);
  g2.backend.copy(permute(reshape(g, [n, o, l]), [1, 0, 2]), g2);
  const cols = scratchTensor([gr, kdim, nl], cd, x.device);
  xc.backend.window2d(
    "im2colBatched",
    xc,
    cols,
    null,
    window(n, c, [h, wd], [oh, ow], kernel, p.stride, p.padding, p.dilation),
  );
  // [G, Og, N*L] @ [G, N*L, Kg] -> [G, Og, Kg]
  const gw = emptyTensor([gr, og, kdim], cd, x.device);
  if (nl === 0) return reshape(gw, [o, cg, kh, kw]);
  xc.backend.matmul(reshape(g2, [gr, og, nl]), transpose(cols, 1, 2), gw);
  return reshape(gw, [o, cg, kh, kw]);
}

/** @internal The rule of "convTranspose2d". */
export function convTranspose2dRule(
  g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const p = c as unknown as Conv2dParams;
  const [h, w] = c.inSize as Pair;
  const [ex, ew, eb] = node.edges;
  let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
  if (ex) {
    const r = conv2dCore(g, s.w, null, p);
    // Larger only when outputPadding >= stride (allowed with dilation).
    gx = r.shape[2] === h && r.shape[3] === w ? r : narrow(narrow(r, 2, 0, h), 3, 0, w);
  }
  if (ew) {
    const [, , kh, kw] = ew.shape;
    // slide the output gradient, filter by the input: [Cin, Cout/G, KH, KW].
    gw = crossCorrelate(g, s.x, p, [kh, kw]);
  }
  if (eb) gb = sum(g, [0, 2, 3]);
  return [gx, gw, gb];
}
