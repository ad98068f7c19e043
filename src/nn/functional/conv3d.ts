/**
 * Volumetric convolution and max pooling, composed of their 2-D kernels:
 * conv3d is one conv2d per kernel depth tap (the input's depth slices that
 * tap reads stacked into the batch), maxPool3d pools each depth slice in 2-D
 * and then takes the maximum over the depth window. Gradients follow from
 * the 2-D rules.
 *
 * x: [N, C, D, H, W] (or [C, D, H, W]); conv3d weight: [O, C / groups, kD, kH, kW].
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { fmtShape } from "../../shape.ts";
import { checkTensor } from "../../args.ts";
import { checkOptions } from "../../options.ts";
import { cat, stack } from "../../ops/join.ts";
import { full, tensor, zeros } from "../../ops/creation.ts";
import { conv2d, type ConvOptions, type SizeArg } from "./conv.ts";
import { maxPool2d, type MaxPoolOptions, type PoolWithIndices } from "./pool.ts";
import { where } from "../../ops/elementwise.ts";
import { sizeArg } from "./conv_kernels.ts";

/** Pads dim 2 (depth) of x: [N, C, D, H, W] with `before`/`after` planes of `value`. */
function padDepth(x: Tensor, before: number, after: number, value: number): Tensor {
  if (before === 0 && after === 0) return x;
  const [n, c, , h, w] = x.shape;
  const o = { dtype: x.dtype, device: x.device };
  const plane = (k: number) =>
    value === 0 ? zeros([n, c, k, h, w], o) : full([n, c, k, h, w], value, o);
  return cat([...(before ? [plane(before)] : []), x, ...(after ? [plane(after)] : [])], 2);
}

/** The depth slices d0, d0 + step, ... (count of them) as a batch: [N·count, C, H, W]. */
function depthSlices(x: Tensor, d0: number, step: number, count: number): Tensor {
  const [n, c, , h, w] = x.shape;
  const s = step === 1
    ? x.narrow(2, d0, count)
    : stack(Array.from({ length: count }, (_, i) => x.select(2, d0 + i * step)), 2);
  return s.permute([0, 2, 1, 3, 4]).reshape([n * count, c, h, w]);
}

/** [N·D, C, H, W] back to [N, C, D, H, W]. */
function unslice(y: Tensor, n: number, d: number): Tensor {
  const [, c, h, w] = y.shape;
  return y.reshape([n, d, c, h, w]).permute([0, 2, 1, 3, 4]);
}

function batched5d(input: Tensor, op: string): [Tensor, (t: Tensor) => Tensor] {
  checkTensor(input, op);
  if (input.ndim === 5) return [input, (t) => t];
  if (input.ndim === 4) return [input.unsqueeze(0), (t) => t.squeeze(0)];
  throw new RangeError(
    `${op}: expected 4D (unbatched) or 5D (batched) input, but got input of size: ${
      fmtShape(input.shape)
    }`,
  );
}

/**
 * 3-D convolution of `[N, C, D, H, W]`, as `torch.nn.functional.conv3d`
 * (stride, padding, "same"/"valid", dilation, groups).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.conv3d(zn.randn([1, 2, 4, 5, 5]), zn.randn([3, 2, 3, 3, 3]), null, { padding: 1 });
 * y.shape; // [1, 3, 4, 5, 5]
 * ```
 */
export function conv3d(
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvOptions = {},
): Tensor {
  const op = "conv3d";
  checkOptions(op, opts, ["stride", "padding", "dilation", "groups"]);
  const [x, undo] = batched5d(input, op);
  checkTensor(weight, op, "weight");
  if (weight.ndim !== 5) {
    throw new RangeError(
      `${op}: expected a 5D weight [out_channels, in_channels/groups, kD, kH, kW], but got weight of size ${
        fmtShape(weight.shape)
      }`,
    );
  }
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
  const c = x.shape[1], o = weight.shape[0];
  if (weight.shape[1] * groups !== c || o % groups !== 0) {
    throw new RangeError(
      `${op}: given groups=${groups}, weight of size ${fmtShape(weight.shape)}, expected input${
        fmtShape(input.shape)
      } to have ${weight.shape[1] * groups} channels, but got ${c} channels instead`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== o)) {
    throw new RangeError(
      `${op}: expected bias of size [${o}] (out_channels), but got bias of size ${
        fmtShape(bias.shape)
      }`,
    );
  }
  const [sd, sh, sw] = sizeArg(opts.stride ?? 1, 3, "stride", op, 1);
  const [dd, dh, dw] = sizeArg(opts.dilation ?? 1, 3, "dilation", op, 1);
  const [kd, kh, kw] = weight.shape.slice(2);
  let pad: number[];
  const p = opts.padding ?? 0;
  if (p === "valid") pad = [0, 0, 0];
  else if (p === "same") {
    if (sd !== 1 || sh !== 1 || sw !== 1) {
      throw new RangeError(`${op}: padding='same' is not supported for strided convolutions`);
    }
    pad = [kd, kh, kw].map((k, i) => [dd, dh, dw][i] * (k - 1));
  } else pad = sizeArg(p, 3, "padding", op, 0).map((v) => 2 * v);
  // Total padding per dim; "same" may put one more on the far side.
  const [pdT, phT, pwT] = pad;
  const pdBefore = Math.floor(pdT / 2), pdAfter = pdT - pdBefore;
  const hw2: [number, number, number, number] = [
    Math.floor(pwT / 2),
    pwT - Math.floor(pwT / 2),
    Math.floor(phT / 2),
    phT - Math.floor(phT / 2),
  ];
  const [n, , d] = x.shape;
  const xp = padDepth(x, pdBefore, pdAfter, 0);
  const dOut = Math.floor((d + pdT - dd * (kd - 1) - 1) / sd) + 1;
  if (dOut < 1) {
    throw new RangeError(
      `${op}: the input's depth (${d}, padded ${d + pdT}) is smaller than the kernel's (${
        dd * (kd - 1) + 1
      })`,
    );
  }
  // Uneven "same" padding in H, W: pad explicitly, then convolve unpadded.
  const even = hw2[0] === hw2[1] && hw2[2] === hw2[3];
  let total: Tensor | null = null;
  for (let t = 0; t < kd; t++) {
    let slices = depthSlices(xp, t * dd, sd, dOut);
    if (!even) slices = padHW(slices, hw2);
    const y = conv2d(slices, weight.select(2, t), null, {
      stride: [sh, sw],
      padding: even ? [hw2[2], hw2[0]] : 0,
      dilation: [dh, dw],
      groups,
    });
    total = total ? total.add(y) : y;
  }
  let out = unslice(total!, n, dOut);
  if (bias) out = out.add(bias.reshape([1, -1, 1, 1, 1]));
  return undo(out);
}

/** Zero-pads the last two dims: [left, right, top, bottom]. */
function padHW(x: Tensor, p: [number, number, number, number]): Tensor {
  const [b, c, , w] = x.shape;
  const o = { dtype: x.dtype, device: x.device };
  let r = x;
  if (p[2] || p[3]) {
    r = cat([zeros([b, c, p[2], w], o), r, zeros([b, c, p[3], w], o)], 2);
  }
  if (p[0] || p[1]) {
    r = cat([zeros([b, c, r.shape[2], p[0]], o), r, zeros([b, c, r.shape[2], p[1]], o)], 3);
  }
  return r;
}

/**
 * 3-D max pooling of `[N, C, D, H, W]`, as `torch.nn.functional.max_pool3d`
 * (stride defaults to the kernel; padding, dilation, ceilMode). With
 * `returnIndices`, returns `{ values, indices }` where indices are flat
 * positions in each D x H x W volume, as PyTorch's.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.maxPool3d(zn.randn([1, 2, 4, 4, 4]), 2).shape; // [1, 2, 2, 2, 2]
 * const r = zn.nn.functional.maxPool3d(zn.arange(8).reshape([1, 1, 2, 2, 2]).to("float32"), 2, {
 *   returnIndices: true,
 * });
 * r.indices.item(); // 7
 * ```
 */
export function maxPool3d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions & { returnIndices: true },
): PoolWithIndices;
/** 3-D max pooling without indices: returns the pooled tensor. */
export function maxPool3d(
  input: Tensor,
  kernelSize: SizeArg,
  opts?: MaxPoolOptions & { returnIndices?: false },
): Tensor;
export function maxPool3d(
  input: Tensor,
  kernelSize: SizeArg,
  opts: MaxPoolOptions = {},
): Tensor | PoolWithIndices {
  const op = "maxPool3d";
  checkOptions(op, opts, ["stride", "padding", "dilation", "ceilMode", "returnIndices"]);
  const [x, undo] = batched5d(input, op);
  const [kd, kh, kw] = sizeArg(kernelSize, 3, "kernelSize", op, 1);
  const [sd, sh, sw] = sizeArg(opts.stride ?? [kd, kh, kw], 3, "stride", op, 1);
  const [pd, ph, pw] = sizeArg(opts.padding ?? 0, 3, "padding", op, 0);
  const [dd, dh, dw] = sizeArg(opts.dilation ?? 1, 3, "dilation", op, 1);
  for (const [k, p] of [[kd, pd], [kh, ph], [kw, pw]]) {
    if (p > k / 2) {
      throw new RangeError(
        `${op}: pad should be at most half of effective kernel size, but got pad=${p}, kernel_size=${k}`,
      );
    }
  }
  const ceil = opts.ceilMode ?? false;
  const [n, , d, h, w] = x.shape;
  const span = dd * (kd - 1) + 1;
  const num = d + 2 * pd - span;
  let dOut = (ceil ? Math.ceil(num / sd) : Math.floor(num / sd)) + 1;
  // A last window must start inside the input or its left padding.
  if (ceil && (dOut - 1) * sd >= d + pd) dOut--;
  if (dOut < 1) {
    throw new RangeError(`${op}: output depth is too small (input ${fmtShape(x.shape)})`);
  }
  const after = Math.max(0, (dOut - 1) * sd + span - d - pd);
  const xp = padDepth(x, pd, after, -Infinity);
  const hw = {
    stride: [sh, sw],
    padding: [ph, pw],
    dilation: [dh, dw],
    ceilMode: ceil,
    returnIndices: true as const,
  };
  // Depth taps in PyTorch's order: a later tap wins only when strictly
  // greater or NaN, and the first tap inside the input always counts, so
  // ties and all -inf windows pick the index PyTorch picks. The gradient
  // goes to that one element, as PyTorch's does.
  const depth = (od: number, t: number) => od * sd - pd + t * dd;
  const firstTap = (od: number) => {
    for (let t = 0; t < kd; t++) if (depth(od, t) >= 0 && depth(od, t) < d) return t;
    return 0;
  };
  const firsts = Array.from({ length: dOut }, (_, od) => firstTap(od));
  const o = { device: x.device };
  const perSlice = (f: (od: number) => number | boolean, dtype: "bool" | "int64") =>
    tensor(Array.from({ length: n * dOut }, (_, i) => f(i % dOut)), { ...o, dtype })
      .reshape([n * dOut, 1, 1, 1]);
  let best: Tensor | null = null, bestIdx: Tensor | null = null;
  for (let t = 0; t < kd; t++) {
    const r = maxPool2d(depthSlices(xp, t * dd, sd, dOut), [kh, kw], hw);
    const planeBase = perSlice(
      (od) => Math.min(d - 1, Math.max(0, depth(od, t))) * h * w,
      "int64",
    );
    const idx = r.indices.add(planeBase);
    if (!best || !bestIdx) {
      best = r.values;
      bestIdx = idx;
      continue;
    }
    const inside = perSlice((od) => depth(od, t) >= 0 && depth(od, t) < d, "bool");
    const first = perSlice((od) => firsts[od] === t, "bool");
    const take = first.logicalOr(
      inside.logicalAnd(r.values.gt(best).logicalOr(r.values.isnan())),
    );
    best = where(take, r.values, best);
    bestIdx = where(take, idx, bestIdx);
  }
  const values = undo(unslice(best!, n, dOut));
  if (!opts.returnIndices) return values;
  return { values, indices: undo(unslice(bestIdx!, n, dOut)) };
}
