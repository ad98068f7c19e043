/**
 * Resampling: `interpolate` (nearest, linear, bilinear, bicubic, trilinear)
 * as separable passes, one spatial dim at a time, each an `indexSelect` of
 * the neighbouring samples and a weighted sum (gradients come from those
 * rules).
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { checkShape, fmtShape } from "../../shape.ts";
import { checkTensor } from "../../args.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { tensor } from "../../ops/creation.ts";
import { indexSelect } from "../../ops/indexing.ts";
import { add, mul } from "../../ops/elementwise.ts";
import { reshape } from "../../ops/view.ts";
import { floatTensorHint, isFloating } from "../../dtype.ts";

/** Options of {@link interpolate}: the output `size` or a `scaleFactor`, one of the two. */
export interface InterpolateOptions {
  /** The output's spatial size: one number for every spatial dim, or one each. */
  size?: number | readonly number[];
  /** Multiplies each spatial size (floored): one number, or one each. */
  scaleFactor?: number | readonly number[];
  /** "nearest" (default), "linear" (3-D), "bilinear" (4-D), "bicubic" (4-D) or "trilinear" (5-D). */
  mode?: "nearest" | "linear" | "bilinear" | "bicubic" | "trilinear";
  /** Corner pixels' centres align (the linear modes; default false). */
  alignCorners?: boolean;
  /** Computes the scale from the output size, not from scaleFactor (default false). */
  recomputeScaleFactor?: boolean;
}
const INTERPOLATE_KEYS = optionKeys<InterpolateOptions>({
  size: 0,
  scaleFactor: 0,
  mode: 0,
  alignCorners: 0,
  recomputeScaleFactor: 0,
});
const MODE_DIMS: Record<string, number | null> = {
  nearest: null,
  linear: 1,
  bilinear: 2,
  bicubic: 2,
  trilinear: 3,
};

function perDim(v: number | readonly number[], n: number, op: string, name: string): number[] {
  const list = typeof v === "number" ? Array(n).fill(v) : [...v];
  if (list.length !== n || list.some((x) => typeof x !== "number" || !(x > 0))) {
    throw new RangeError(
      `${op}: ${name} must be a positive number or ${n} of them, got ${JSON.stringify(v)}`,
    );
  }
  return list;
}

/** The 1-D index and weight tables of one spatial dim: taps x [out] (typed arrays, sized first). */
function taps(
  mode: string,
  inSize: number,
  outSize: number,
  scale: number,
  alignCorners: boolean,
): { index: BigInt64Array[]; weight: Float64Array[] | null } {
  const src = (o: number, cubic: boolean) => {
    if (alignCorners) return outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    const s = scale * (o + 0.5) - 0.5;
    return !cubic && s < 0 ? 0 : s;
  };
  const clampI = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  const count = mode === "nearest" ? 1 : mode === "bicubic" ? 4 : 2;
  const index = Array.from({ length: count }, () => new BigInt64Array(outSize));
  if (mode === "nearest") {
    for (let o = 0; o < outSize; o++) {
      index[0][o] = BigInt(Math.min(Math.floor(o * scale), inSize - 1));
    }
    return { index, weight: null };
  }
  const weight = Array.from({ length: count }, () => new Float64Array(outSize));
  if (mode === "bicubic") {
    const A = -0.75;
    const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
    const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    for (let o = 0; o < outSize; o++) {
      const s = src(o, true);
      const i0 = Math.floor(s), t = s - i0;
      const w = [far(t + 1), near(t), near(1 - t), far(2 - t)];
      for (let k = 0; k < 4; k++) {
        index[k][o] = BigInt(clampI(i0 - 1 + k));
        weight[k][o] = w[k];
      }
    }
    return { index, weight };
  }
  for (let o = 0; o < outSize; o++) {
    const s = src(o, false);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    const l = s - i0;
    index[0][o] = BigInt(i0);
    index[1][o] = BigInt(Math.min(i0 + 1, inSize - 1));
    weight[0][o] = 1 - l;
    weight[1][o] = l;
  }
  return { index, weight };
}

/**
 * Resamples the spatial dims (all after the first two) to `size` or by
 * `scaleFactor`, as `torch.nn.functional.interpolate`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([[[1, 2]]]);
 * zn.nn.functional.interpolate(x, { scaleFactor: 2 }).toArray(); // [[[1, 1, 2, 2]]]
 * zn.nn.functional.interpolate(x, { size: 3, mode: "linear", alignCorners: true }).toArray(); // [[[1, 1.5, 2]]]
 * ```
 */
export function interpolate(input: Tensor, opts: InterpolateOptions = {}): Tensor {
  checkTensor(input, "interpolate");
  checkOptions("interpolate", opts, INTERPOLATE_KEYS);
  const mode = opts.mode ?? "nearest";
  if (!(mode in MODE_DIMS)) {
    throw new RangeError(`interpolate: unknown mode ${String(mode)}`);
  }
  const spatial = input.ndim - 2;
  if (spatial < 1) {
    throw new RangeError(
      `interpolate: expected an [N, C, ...] input, got ${fmtShape(input.shape)}`,
    );
  }
  const want = MODE_DIMS[mode];
  if (want !== null && want !== spatial) {
    throw new RangeError(
      `interpolate: mode "${mode}" takes ${want + 2}-D input, got ${fmtShape(input.shape)}`,
    );
  }
  if (mode !== "nearest" && !isFloating(input.dtype)) {
    throw new TypeError(
      `interpolate: mode "${mode}" needs a floating point input, got ${input.dtype}${
        floatTensorHint(input.dtype)
      }`,
    );
  }
  if (mode === "nearest" && opts.alignCorners !== undefined) {
    throw new RangeError("interpolate: alignCorners only applies to the linear and cubic modes");
  }
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new RangeError("interpolate: give exactly one of size and scaleFactor");
  }
  const inSizes = input.shape.slice(2) as number[];
  let outSizes: number[], scales: number[];
  if (opts.size !== undefined) {
    outSizes = perDim(opts.size, spatial, "interpolate", "size");
    if (outSizes.some((s) => !Number.isInteger(s))) {
      throw new RangeError(`interpolate: size must be integers, got ${JSON.stringify(opts.size)}`);
    }
    scales = outSizes.map((o, i) => inSizes[i] / o);
  } else {
    const f = perDim(opts.scaleFactor!, spatial, "interpolate", "scaleFactor");
    outSizes = inSizes.map((s, i) => Math.floor(s * f[i]));
    scales = opts.recomputeScaleFactor
      ? outSizes.map((o, i) => inSizes[i] / o)
      : f.map((v) => 1 / v);
  }
  if (outSizes.some((s) => s < 1)) {
    throw new RangeError(`interpolate: the output size ${JSON.stringify(outSizes)} is empty`);
  }
  // Checked before the index tables are built: they hold a few entries per output position.
  checkShape([...input.shape.slice(0, 2), ...outSizes], "interpolate");
  const alignCorners = opts.alignCorners ?? false;
  let y = input;
  for (let d = 0; d < spatial; d++) {
    const dim = 2 + d;
    const t = taps(mode, inSizes[d], outSizes[d], scales[d], alignCorners);
    const shape = y.shape.map((_, i) => (i === dim ? outSizes[d] : 1));
    let acc: Tensor | null = null;
    t.index.forEach((idx, k) => {
      const picked = indexSelect(y, dim, tensor(idx, { device: y.device }));
      const term = t.weight === null ? picked : mul(
        picked,
        reshape(tensor(t.weight[k], { device: y.device }).to(y.dtype), shape),
      );
      acc = acc === null ? term : add(acc, term);
    });
    y = acc!;
  }
  return y;
}
