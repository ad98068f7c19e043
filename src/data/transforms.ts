/**
 * `zn.data.transforms`: image transforms (torchvision's) as functions of a
 * tensor, for one image `[C, H, W]` or a batch `[N, C, H, W]`.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { transforms } = zn.data;
 * const augment = transforms.compose(
 *   transforms.randomCrop(28, { padding: 2, generator: new zn.Generator(0) }),
 *   transforms.normalize([0.1307], [0.3081]),
 * );
 * augment(zn.rand([8, 1, 28, 28])).shape; // [8, 1, 28, 28]
 * ```
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { full, tensor } from "../ops/creation.ts";
import { stack } from "../ops/join.ts";
import { defaultGenerator, type Generator } from "../random.ts";
import { indexTensor } from "./sampling.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkFunction, typeError } from "../args.ts";

/**
 * A transform: a function from a tensor to a tensor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const scale: zn.data.transforms.Transform = (x) => x.div(255);
 * const t = zn.data.transforms.compose(scale, zn.data.transforms.normalize(0.5, 0.5));
 * t(zn.full([1, 1, 1], 255)).toArray(); // [[[1]]]
 * ```
 */
export type Transform = (x: Tensor) => Tensor;

function checkImage(x: Tensor, op: string): void {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new RangeError(
      `${op}: expected an image [C, H, W] or a batch [N, C, H, W], got [${x.shape}]`,
    );
  }
}

/**
 * Chains transforms, applied left to right, like `transforms.Compose`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { transforms } = zn.data;
 * const t = transforms.compose((x) => x.mul(2), (x) => x.add(1));
 * t(zn.tensor([1])).toArray(); // [3]
 * ```
 */
export function compose(...fns: (Transform | readonly Transform[])[]): Transform {
  const list = fns.flat() as Transform[];
  for (const f of list) checkFunction(f, "compose", "each transform");
  return (x) => list.reduce((y, f) => f(y), x);
}

/**
 * Subtracts `mean` and divides by `std` per channel, like
 * `transforms.Normalize`: `out[c] = (x[c] - mean[c]) / std[c]`. A single
 * number applies to every channel.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { transforms } = zn.data;
 * const x = zn.ones([2, 1, 1]);
 * transforms.normalize([0.5, 0.25], [0.5, 0.25])(x).toArray(); // [[[1]], [[3]]]
 * ```
 */
export function normalize(
  mean: number | readonly number[],
  std: number | readonly number[],
): Transform {
  for (const [name, v] of [["mean", mean], ["std", std]] as const) {
    if (typeof v !== "number" && !Array.isArray(v)) {
      typeError("normalize", name, "a number or an array of numbers", v);
    }
  }
  const m = typeof mean === "number" ? [mean] : mean.slice();
  const s = typeof std === "number" ? [std] : std.slice();
  if (s.some((v) => v === 0)) {
    throw new RangeError(
      `normalize: std evaluated to zero after conversion to float, leading to division by zero`,
    );
  }
  return (x) => {
    checkImage(x, "normalize");
    const c = x.shape[x.ndim - 3];
    for (const [name, v] of [["mean", m], ["std", s]] as const) {
      if (v.length !== 1 && v.length !== c) {
        throw new RangeError(`normalize: ${name} has ${v.length} values for ${c} channels`);
      }
    }
    const dtype = x.dtype === "float64" ? "float64" : "float32";
    const shape = [m.length === 1 ? 1 : c, 1, 1];
    const mt = tensor(m as number[], { dtype }).reshape(shape);
    const st = tensor(s as number[], { dtype }).reshape(shape);
    return x.sub(mt).div(st);
  };
}

/**
 * Options of {@link randomCrop}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.transforms.RandomCropOptions = { padding: 4, fill: 0 };
 * const crop = zn.data.transforms.randomCrop(32, opts);
 * crop(zn.randn([3, 32, 32])).shape; // [3, 32, 32]
 * ```
 */
export interface RandomCropOptions {
  /**
   * Padding added before cropping: one number for every side, `[lr, tb]`
   * (left and right, top and bottom), or `[left, top, right, bottom]`.
   */
  padding?: number | readonly number[];
  /** Value of the padding (default 0). */
  fill?: number;
  /** Random source of the crop positions (default: the global generator). */
  generator?: Generator;
}

function paddingSides(p: number | readonly number[] | undefined): [number, number, number, number] {
  if (p === undefined) return [0, 0, 0, 0];
  if (typeof p !== "number" && !Array.isArray(p)) {
    typeError("randomCrop", "padding", "an integer or an array of integers", p);
  }
  const a = typeof p === "number" ? [p] : p;
  const sides: [number, number, number, number] = a.length === 1
    ? [a[0], a[0], a[0], a[0]]
    : a.length === 2
    ? [a[0], a[1], a[0], a[1]]
    : a.length === 4
    ? [a[0], a[1], a[2], a[3]]
    : (() => {
      throw new RangeError(`randomCrop: padding must have 1, 2 or 4 values, got ${a.length}`);
    })();
  for (const v of sides) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`randomCrop: padding must be non-negative integers, got ${v}`);
    }
  }
  return sides;
}

/**
 * Crops a random `size` window (a number for a square, or `[h, w]`) after
 * optional constant padding, like `transforms.RandomCrop`. On a batch each
 * image gets its own crop position (torchvision would use one position for
 * the whole batch tensor). Positions come from `generator`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { transforms } = zn.data;
 * const crop = transforms.randomCrop(32, { padding: 4, generator: new zn.Generator(1) });
 * crop(zn.rand([3, 32, 32])).shape; // [3, 32, 32]
 * ```
 */
export function randomCrop(
  size: number | readonly [number, number],
  opts: RandomCropOptions = {},
): Transform {
  checkOptions(
    "randomCrop",
    opts,
    optionKeys<RandomCropOptions>({ padding: 0, fill: 0, generator: 0 }),
  );
  if (typeof size !== "number" && !Array.isArray(size)) {
    typeError("randomCrop", "size", "an integer or an array of 2 integers", size);
  }
  const [h, w] = typeof size === "number" ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new RangeError(`randomCrop: size must be positive integers, got ${size}`);
  }
  const [pl, pt, pr, pb] = paddingSides(opts.padding);
  const fill = opts.fill ?? 0;
  return (x) => {
    checkImage(x, "randomCrop");
    const g = opts.generator ?? defaultGenerator;
    const hd = x.ndim - 2, wd = x.ndim - 1;
    const H = x.shape[hd], W = x.shape[wd];
    const Hp = H + pt + pb, Wp = W + pl + pr;
    if (h > Hp || w > Wp) {
      throw new RangeError(
        `randomCrop: required crop size [${h}, ${w}] is larger than the padded image [${Hp}, ${Wp}]`,
      );
    }
    let padded = x;
    if (pl || pt || pr || pb) {
      const shape = x.shape.slice();
      shape[hd] = Hp;
      shape[wd] = Wp;
      padded = full(shape, fill, { dtype: x.dtype });
      padded.narrow(hd, pt, H).narrow(wd, pl, W).copy_(x);
    }
    const crop = (img: Tensor) => {
      const i = g.nextInt(0, Hp - h + 1), j = g.nextInt(0, Wp - w + 1);
      return img.narrow(img.ndim - 2, i, h).narrow(img.ndim - 1, j, w);
    };
    if (x.ndim === 3) return crop(padded).contiguous();
    const n = x.shape[0];
    const out: Tensor[] = [];
    for (let k = 0; k < n; k++) out.push(crop(padded.select(0, k)));
    return n === 0 ? padded.narrow(hd, 0, h).narrow(wd, 0, w).contiguous() : stack(out, 0);
  };
}

/**
 * Options of {@link randomHorizontalFlip}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.transforms.RandomFlipOptions = { p: 1 };
 * const flip = zn.data.transforms.randomHorizontalFlip(opts);
 * flip(zn.tensor([[[1, 2, 3]]])).toArray(); // [[[3, 2, 1]]]
 * ```
 */
export interface RandomFlipOptions {
  /** Probability of flipping each image (default 0.5). */
  p?: number;
  /** Random source (default: the global generator). */
  generator?: Generator;
}

/**
 * Mirrors images left to right with probability `p`, like
 * `transforms.RandomHorizontalFlip`; on a batch each image is decided on its
 * own.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { transforms } = zn.data;
 * const flip = transforms.randomHorizontalFlip({ p: 1 });
 * flip(zn.tensor([[[1, 2, 3]]])).toArray(); // [[[3, 2, 1]]]
 * ```
 */
export function randomHorizontalFlip(opts: RandomFlipOptions = {}): Transform {
  checkOptions("randomHorizontalFlip", opts, optionKeys<RandomFlipOptions>({ p: 0, generator: 0 }));
  const p = opts.p ?? 0.5;
  return (x) => {
    checkImage(x, "randomHorizontalFlip");
    const g = opts.generator ?? defaultGenerator;
    const W = x.shape[x.ndim - 1];
    const rev = indexTensor(Array.from({ length: W }, (_, k) => W - 1 - k));
    if (x.ndim === 3) return g.nextFloat() < p ? x.indexSelect(2, rev) : x.clone();
    const n = x.shape[0];
    if (n === 0) return x.clone();
    const out: Tensor[] = [];
    for (let k = 0; k < n; k++) {
      const img = x.select(0, k);
      out.push(g.nextFloat() < p ? img.indexSelect(2, rev) : img);
    }
    return stack(out, 0);
  };
}
