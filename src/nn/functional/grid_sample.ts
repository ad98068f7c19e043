/**
 * Spatial transformers' sampling: affineGrid builds a sampling grid from
 * affine matrices, gridSample reads an image at a grid's points (bilinear,
 * nearest or bicubic, three padding modes). Both are composed of tensor ops (gathers and
 * arithmetic), so the gradients with respect to the image, the grid and the
 * matrices follow from the ops' rules.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { fmtShape } from "../../shape.ts";
import { checkIntList, checkTensor } from "../../args.ts";
import { checkOptions } from "../../options.ts";
import { linspace, ones } from "../../ops/creation.ts";
import { stack } from "../../ops/join.ts";
import { where } from "../../ops/elementwise.ts";

/** Options of {@linkcode affineGrid}. */
export interface AffineGridOptions {
  /** Grid points at the corner pixels' centres (true) or at the image's edges (false, the default). */
  alignCorners?: boolean;
}

/**
 * The sampling grid `[N, H, W, 2]` (x, y in [-1, 1]) of the affine maps
 * `theta: [N, 2, 3]` for an output of `size` `[N, C, H, W]`, as
 * `torch.nn.functional.affine_grid`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const identity = zn.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]);
 * zn.nn.functional.affineGrid(identity, [1, 1, 2, 2]).shape; // [1, 2, 2, 2]
 * ```
 */
export function affineGrid(
  theta: Tensor,
  size: readonly number[],
  opts: AffineGridOptions = {},
): Tensor {
  const op = "affineGrid";
  checkOptions(op, opts, ["alignCorners"]);
  checkTensor(theta, op, "theta");
  checkIntList(size, op, "size", { min: 0 });
  if (size.length !== 4) {
    throw new RangeError(
      `${op}: only 4-D sizes ([N, C, H, W]) are supported, got ${fmtShape(size)}`,
    );
  }
  const [n, , h, w] = size;
  if (theta.ndim !== 3 || theta.shape[0] !== n || theta.shape[1] !== 2 || theta.shape[2] !== 3) {
    throw new RangeError(
      `${op}: Expected a batch of 2D affine matrices of shape Nx2x3 for size ${
        fmtShape(size)
      }. Got ${fmtShape(theta.shape)}.`,
    );
  }
  if (theta.dtype !== "float32" && theta.dtype !== "float64") {
    throw new TypeError(`${op}: expected theta to be float32 or float64, got ${theta.dtype}`);
  }
  const align = opts.alignCorners ?? false;
  const o = { dtype: theta.dtype, device: theta.device };
  const axis = (len: number) => {
    const l = linspace(-1, 1, len, o);
    return align || len <= 1 ? (len === 1 ? l.mul(0) : l) : l.mul((len - 1) / len);
  };
  const xs = axis(w).reshape([1, w]).expand([h, w]);
  const ys = axis(h).reshape([h, 1]).expand([h, w]);
  const base = stack([xs, ys, ones([h, w], o)], -1).reshape([1, h * w, 3]);
  return base.matmul(theta.mT).reshape([n, h, w, 2]);
}

/** Options of {@linkcode gridSample}. */
export interface GridSampleOptions {
  /** "bilinear" (the default), "nearest" or "bicubic" (cubic convolution, A = -0.75, as PyTorch). */
  mode?: "bilinear" | "nearest" | "bicubic";
  /** Where points outside the image read: "zeros" (the default), "border" or "reflection". */
  paddingMode?: "zeros" | "border" | "reflection";
  /** As in {@linkcode affineGrid} (default false). */
  alignCorners?: boolean;
}

/** Reflects coordinates into [low/2, high/2] (PyTorch's reflect_coordinates). */
function reflect(x: Tensor, twiceLow: number, twiceHigh: number): Tensor {
  if (twiceLow === twiceHigh) return x.mul(0);
  const min = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = x.sub(min).abs();
  const extra = d.fmod(span);
  const flips = d.div(span).floor();
  const even = flips.remainder(2).eq(0);
  return where(even, extra.add(min), extra.neg().add(span + min));
}

type Padding = "zeros" | "border" | "reflection";

/** Pixel coordinates of normalized ones along an axis of `size` pixels. */
function unnormalize(g: Tensor, size: number, align: boolean): Tensor {
  return align ? g.add(1).mul((size - 1) / 2) : g.add(1).mul(size).sub(1).div(2);
}

/** Pixel coordinates moved in by the padding mode (PyTorch's compute_coordinates). */
function padCoordinates(x: Tensor, size: number, padding: Padding, align: boolean): Tensor {
  if (padding === "border") return x.clamp(0, size - 1);
  if (padding === "reflection") {
    const r = align ? reflect(x, 0, 2 * (size - 1)) : reflect(x, -1, 2 * size - 1);
    return r.clamp(0, size - 1);
  }
  return x;
}

/** Pixel coordinates of normalized ones, with the padding mode applied. */
function sourceIndex(g: Tensor, size: number, padding: Padding, align: boolean): Tensor {
  return padCoordinates(unnormalize(g, size, align), size, padding, align);
}

/**
 * Cubic convolution weights (A = -0.75, as PyTorch's
 * get_cubic_upsample_coefficients) of the taps at -1, 0, 1, 2 for fractional
 * offsets t in [0, 1).
 */
function cubicWeights(t: Tensor): Tensor[] {
  const a = -0.75;
  // |x| <= 1: ((A + 2)|x| - (A + 3))|x|² + 1; 1 < |x| < 2: ((A|x| - 5A)|x| + 8A)|x| - 4A.
  const near = (x: Tensor) => x.mul(a + 2).sub(a + 3).mul(x).mul(x).add(1);
  const far = (x: Tensor) => x.mul(a).sub(5 * a).mul(x).add(8 * a).mul(x).sub(4 * a);
  const s = t.neg().add(1);
  return [far(t.add(1)), near(t), near(s), far(s.add(1))];
}

/**
 * Samples `input: [N, C, H, W]` at `grid: [N, Ho, Wo, 2]` (x, y in [-1, 1])
 * into `[N, C, Ho, Wo]`, as `torch.nn.functional.grid_sample` (4-D).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const img = zn.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]);
 * const centre = zn.zeros([1, 1, 1, 2]);
 * zn.nn.functional.gridSample(img, centre).item(); // 2.5
 * ```
 */
export function gridSample(input: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor {
  const op = "gridSample";
  checkOptions(op, opts, ["mode", "paddingMode", "alignCorners"]);
  checkTensor(input, op, "input");
  checkTensor(grid, op, "grid");
  const mode = opts.mode ?? "bilinear";
  const padding = opts.paddingMode ?? "zeros";
  if (mode !== "bilinear" && mode !== "nearest" && mode !== "bicubic") {
    throw new RangeError(
      `${op}: expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '${mode}'`,
    );
  }
  if (padding !== "zeros" && padding !== "border" && padding !== "reflection") {
    throw new RangeError(
      `${op}: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: '${padding}'`,
    );
  }
  if (
    input.ndim !== 4 || grid.ndim !== 4 || grid.shape[3] !== 2 || grid.shape[0] !== input.shape[0]
  ) {
    throw new RangeError(
      `${op}: expected 4-D input [N, C, H, W] and grid [N, Ho, Wo, 2] with the same N, got ${
        fmtShape(input.shape)
      } and ${fmtShape(grid.shape)}`,
    );
  }
  if (input.dtype !== grid.dtype || (input.dtype !== "float32" && input.dtype !== "float64")) {
    throw new TypeError(
      `${op}: expected input and grid to be float32 or float64 of the same dtype, got ${input.dtype} and ${grid.dtype}`,
    );
  }
  const [n, c, h, w] = input.shape;
  const [, ho, wo] = grid.shape;
  const align = opts.alignCorners ?? false;
  const flat = input.reshape([n, c, h * w]);
  /** input at integer pixels (xi, yi), zero outside the image. */
  const tap = (xi: Tensor, yi: Tensor): Tensor => {
    const inside = xi.ge(0).logicalAnd(xi.le(w - 1)).logicalAnd(yi.ge(0)).logicalAnd(yi.le(h - 1));
    const idx = yi.clamp(0, h - 1).mul(w).add(xi.clamp(0, w - 1)).to("int64")
      .reshape([n, 1, ho * wo]).expand([n, c, ho * wo]);
    const v = flat.gather(2, idx).reshape([n, c, ho, wo]);
    return where(inside.unsqueeze(1), v, 0);
  };
  if (mode === "bicubic") {
    // The padding mode applies to each of the 4 x 4 taps, not to the point:
    // a point just outside the image still reads the taps inside it.
    const xs = unnormalize(grid.select(3, 0), w, align); // [N, Ho, Wo]
    const ys = unnormalize(grid.select(3, 1), h, align);
    const x0 = xs.floor().detach(), y0 = ys.floor().detach();
    const wx = cubicWeights(xs.sub(x0)), wy = cubicWeights(ys.sub(y0));
    const cols = [-1, 0, 1, 2].map((i) => padCoordinates(x0.add(i), w, padding, align).floor());
    const rows = [-1, 0, 1, 2].map((j) => padCoordinates(y0.add(j), h, padding, align).floor());
    let out: Tensor | null = null;
    for (let j = 0; j < 4; j++) {
      let row: Tensor | null = null;
      for (let i = 0; i < 4; i++) {
        const v = tap(cols[i], rows[j]).mul(wx[i].unsqueeze(1));
        row = row ? row.add(v) : v;
      }
      const v = row!.mul(wy[j].unsqueeze(1));
      out = out ? out.add(v) : v;
    }
    return out!;
  }
  const x = sourceIndex(grid.select(3, 0), w, padding, align); // [N, Ho, Wo]
  const y = sourceIndex(grid.select(3, 1), h, padding, align);
  if (mode === "nearest") {
    // Rounding has a zero derivative: the grid gets zeros, as in PyTorch,
    // rather than no gradient.
    const xr = x.round(), yr = y.round();
    return tap(xr.detach(), yr.detach()).add(xr.add(yr).mul(0).unsqueeze(1));
  }
  const x0 = x.floor().detach(), y0 = y.floor().detach();
  const x1 = x0.add(1), y1 = y0.add(1);
  const wx1 = x.sub(x0), wx0 = x1.sub(x), wy1 = y.sub(y0), wy0 = y1.sub(y);
  const wgt = (a: Tensor, b: Tensor) => a.mul(b).unsqueeze(1);
  return tap(x0, y0).mul(wgt(wx0, wy0))
    .add(tap(x1, y0).mul(wgt(wx1, wy0)))
    .add(tap(x0, y1).mul(wgt(wx0, wy1)))
    .add(tap(x1, y1).mul(wgt(wx1, wy1)));
}
