/**
 * Sliding blocks: `unfold` (image to columns) and `fold` (columns back to an
 * image, overlaps summed). Both go through one table of flat positions in
 * the padded image: unfold gathers with it and fold scatter-adds with it, so
 * each is the other's adjoint and both get gradients from the gather and
 * scatter rules.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { checkShape, fmtShape } from "../../shape.ts";
import { checkIntList, checkTensor } from "../../args.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { tensor, zeros } from "../../ops/creation.ts";
import { gather, scatter } from "../../ops/indexing.ts";
import { expand, narrow, reshape } from "../../ops/view.ts";
import { pad } from "./pad.ts";

/** Options of {@link unfold} and {@link fold}: one number for both spatial dims, or two. */
export interface FoldOptions {
  /** Spacing of the kernel's taps (default 1). */
  dilation?: number | readonly number[];
  /** Zeros added on each side (default 0). */
  padding?: number | readonly number[];
  /** Step between blocks (default 1). */
  stride?: number | readonly number[];
}
const FOLD_KEYS = optionKeys<FoldOptions>({ dilation: 0, padding: 0, stride: 0 });

function pair(
  v: number | readonly number[],
  op: string,
  name: string,
  min: number,
): [number, number] {
  checkIntList(v, op, name, { single: true, min });
  const l = typeof v === "number" ? [v, v] : [...v];
  if (l.length !== 2) {
    throw new RangeError(`${op}: ${name} must be one number or two, got ${l.length}`);
  }
  return [l[0], l[1]];
}

interface Geometry {
  k: [number, number];
  d: [number, number];
  p: [number, number];
  s: [number, number];
  /** The padded image. */
  hp: number;
  wp: number;
  /** Blocks along each dim. */
  bh: number;
  bw: number;
}

function geometry(
  op: string,
  h: number,
  w: number,
  kernelSize: number | readonly number[],
  opts: FoldOptions,
): Geometry {
  checkOptions(op, opts, FOLD_KEYS);
  const k = pair(kernelSize, op, "kernelSize", 1);
  const d = pair(opts.dilation ?? 1, op, "dilation", 1);
  const p = pair(opts.padding ?? 0, op, "padding", 0);
  const s = pair(opts.stride ?? 1, op, "stride", 1);
  const hp = h + 2 * p[0], wp = w + 2 * p[1];
  const bh = Math.floor((hp - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
  const bw = Math.floor((wp - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
  // The position table has one entry per (tap, block): bounded before it is built.
  checkShape([k[0] * k[1], bh, bw], op);
  if (bh < 1 || bw < 1) {
    throw new RangeError(
      `${op}: the kernel ${JSON.stringify(k)} (dilation ${
        JSON.stringify(d)
      }) does not fit the padded size [${hp}, ${wp}]`,
    );
  }
  return { k, d, p, s, hp, wp, bh, bw };
}

/** Flat positions in the padded image of every (tap, block): [kh * kw * L], tap-major. */
function positions(g: Geometry, device: string): Tensor {
  const out = new BigInt64Array(g.k[0] * g.k[1] * g.bh * g.bw);
  let at = 0;
  for (let i = 0; i < g.k[0]; i++) {
    for (let j = 0; j < g.k[1]; j++) {
      for (let bi = 0; bi < g.bh; bi++) {
        for (let bj = 0; bj < g.bw; bj++) {
          out[at++] = BigInt((bi * g.s[0] + i * g.d[0]) * g.wp + bj * g.s[1] + j * g.d[1]);
        }
      }
    }
  }
  return tensor(out, { device });
}

/**
 * Extracts sliding blocks: `[N, C, H, W]` to `[N, C * kh * kw, L]` (L
 * blocks, row-major), as `torch.nn.functional.unfold`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.unfold(zn.zeros([1, 2, 4, 4]), 2, { stride: 2 }).shape; // [1, 8, 4]
 * ```
 */
export function unfold(
  input: Tensor,
  kernelSize: number | readonly number[],
  opts: FoldOptions = {},
): Tensor {
  checkTensor(input, "unfold");
  if (input.ndim !== 4) {
    throw new RangeError(`unfold: expected a 4-D [N, C, H, W] input, got ${fmtShape(input.shape)}`);
  }
  const [n, c, h, w] = input.shape;
  const g = geometry("unfold", h, w, kernelSize, opts);
  const padded = g.p[0] || g.p[1] ? pad(input, [g.p[1], g.p[1], g.p[0], g.p[0]]) : input;
  const flat = reshape(padded, [n, c, g.hp * g.wp]);
  const pos = positions(g, input.device);
  const idx = expand(reshape(pos, [1, 1, pos.numel]), [n, c, pos.numel]);
  const cols = gather(flat, 2, idx); // [N, C, kh kw L]
  return reshape(cols, [n, c * g.k[0] * g.k[1], g.bh * g.bw]);
}

/**
 * Sums sliding blocks back into an image: `[N, C * kh * kw, L]` to `[N, C,
 * outputSize...]`, overlapping taps added, as `torch.nn.functional.fold`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.fold(zn.ones([1, 4, 9]), [4, 4], 2).sum().item(); // 36
 * ```
 */
export function fold(
  input: Tensor,
  outputSize: number | readonly number[],
  kernelSize: number | readonly number[],
  opts: FoldOptions = {},
): Tensor {
  checkTensor(input, "fold");
  if (input.ndim !== 3) {
    throw new RangeError(
      `fold: expected a 3-D [N, C * kh * kw, L] input, got ${fmtShape(input.shape)}`,
    );
  }
  const [h, w] = pair(outputSize, "fold", "outputSize", 1);
  const g = geometry("fold", h, w, kernelSize, opts);
  const [n, ck, l] = input.shape;
  const taps = g.k[0] * g.k[1];
  if (ck % taps !== 0 || l !== g.bh * g.bw) {
    throw new RangeError(
      `fold: input ${fmtShape(input.shape)} does not hold ${taps} taps per channel and ${
        g.bh * g.bw
      } blocks for output [${h}, ${w}]`,
    );
  }
  const c = ck / taps;
  const src = reshape(input, [n, c, taps * l]);
  const pos = positions(g, input.device);
  const idx = expand(reshape(pos, [1, 1, pos.numel]), [n, c, pos.numel]);
  const base = zeros([n, c, g.hp * g.wp], { dtype: input.dtype, device: input.device });
  const img = reshape(scatter(base, 2, idx, src, true), [n, c, g.hp, g.wp]);
  return narrow(narrow(img, 2, g.p[0], h), 3, g.p[1], w);
}
