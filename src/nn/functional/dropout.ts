/**
 * Functional dropout: element-wise (dropout), whole channels (dropout1d/2d/3d),
 * and the SELU-preserving alpha variants (alphaDropout, featureAlphaDropout).
 * Each draws a Bernoulli keep mask from the seeded generator and is the
 * identity when not training or when p is 0.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { bernoulli } from "../../ops/creation.ts";
import type { Generator } from "../../random.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkTensor } from "../../args.ts";
import { floatTensorHint, isFloating } from "../../dtype.ts";
import { fmtShape } from "../../shape.ts";

/**
 * Options of {@link dropout}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.DropoutOptions = { training: false };
 * zn.nn.functional.dropout(zn.ones([3]), 0.5, opts).toArray(); // [1, 1, 1]
 * ```
 */
export interface DropoutOptions {
  /** Apply dropout (default true); when false the input is returned as is. */
  training?: boolean;
  /** Generator to draw the mask from (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

const DROPOUT_KEYS = optionKeys<DropoutOptions>({ training: 0, generator: 0 });

/**
 * Zeroes each element with probability `p` and scales the rest by
 * `1 / (1 - p)`, drawing from the seeded generator.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.manualSeed(0);
 * const y = zn.nn.functional.dropout(zn.ones([8]), 0.5); // zeros and twos
 * zn.nn.functional.dropout(zn.ones([2]), 0.5, { training: false }).toArray(); // [1, 1]
 * ```
 */
export function dropout(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  return dropoutImpl("dropout", input, p, opts, null, false);
}

/**
 * Checks the arguments, then masks `input` with a keep mask over its first
 * `maskDims` dims (all with null; broadcast over the rest): scaled by `1 / (1 - p)`, or for
 * the alpha variants moved to SELU's negative saturation and rescaled so
 * that a standard normal input keeps its mean and variance (PyTorch's
 * _dropout_impl).
 */
function dropoutImpl(
  op: string,
  input: Tensor,
  p: number,
  opts: DropoutOptions,
  maskDims: number | null,
  alpha: boolean,
): Tensor {
  checkTensor(input, op);
  checkOptions(op, opts, DROPOUT_KEYS);
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`${op}: probability has to be between 0 and 1, but got ${p}`);
  }
  if (!isFloating(input.dtype)) {
    // Scaling by 1 / (1 - p) has no integer result: PyTorch refuses too.
    throw new TypeError(
      `${op}: expected a floating point input, got ${input.dtype}${floatTensorHint(input.dtype)}`,
    );
  }
  if (!(opts.training ?? true) || p === 0 || input.numel === 0) return input;
  if (p === 1) return input.mul(0);
  const maskShape = input.shape.map((s, i) => maskDims === null || i < maskDims ? s : 1);
  const keep = bernoulli(1 - p, maskShape, {
    dtype: input.dtype,
    device: input.device,
    generator: opts.generator,
  });
  if (!alpha) return input.mul(keep.mul(1 / (1 - p)));
  // -SELU's scale * alpha: where SELU saturates for very negative inputs.
  const a = 1.7580993408473766;
  const scale = 1 / Math.sqrt((a * a * p + 1) * (1 - p));
  // kept: x * scale + a * scale * p; dropped: -a * scale + a * scale * p.
  const shift = keep.sub(1).mul(a * scale).add(a * scale * p);
  return input.mul(keep.mul(scale)).add(shift);
}

/** Dims of a channel mask: N and C for batched input, C alone for unbatched. */
function channelMaskDims(op: string, input: Tensor, batchedRank: number): number {
  checkTensor(input, op);
  if (input.ndim !== batchedRank && input.ndim !== batchedRank - 1) {
    throw new RangeError(
      `${op}: Expected ${
        batchedRank - 1
      }D or ${batchedRank}D input, but received a ${input.ndim}D input of size ${
        fmtShape(input.shape)
      }`,
    );
  }
  return input.ndim === batchedRank ? 2 : 1;
}

/**
 * Zeroes whole channels of `[N, C, L]` (or `[C, L]`) with probability `p`,
 * scaling the rest by `1 / (1 - p)`, as `torch.nn.functional.dropout1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.dropout1d(zn.ones([2, 3, 4]), 0.5);
 * y.shape; // [2, 3, 4]: each [n, c, :] row all zeros or all twos
 * ```
 */
export function dropout1d(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  return dropoutImpl("dropout1d", input, p, opts, channelMaskDims("dropout1d", input, 3), false);
}

/**
 * Zeroes whole channels of `[N, C, H, W]` with probability `p`, scaling the
 * rest by `1 / (1 - p)`, as `torch.nn.functional.dropout2d`. A 3-D input is
 * taken as `[N, C, L]`, as PyTorch takes it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const y = zn.nn.functional.dropout2d(zn.ones([2, 3, 4, 4]), 0.5);
 * y.shape; // [2, 3, 4, 4]: each [n, c] plane all zeros or all twos
 * ```
 */
export function dropout2d(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  checkTensor(input, "dropout2d");
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new RangeError(
      `dropout2d: Expected 3D or 4D input, but received a ${input.ndim}D input of size ${
        fmtShape(input.shape)
      }`,
    );
  }
  return dropoutImpl("dropout2d", input, p, opts, 2, false);
}

/**
 * Zeroes whole channels of `[N, C, D, H, W]` (or `[C, D, H, W]`) with
 * probability `p`, scaling the rest by `1 / (1 - p)`, as
 * `torch.nn.functional.dropout3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.dropout3d(zn.ones([1, 2, 2, 2, 2]), 0.5).shape; // [1, 2, 2, 2, 2]
 * ```
 */
export function dropout3d(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  return dropoutImpl("dropout3d", input, p, opts, channelMaskDims("dropout3d", input, 5), false);
}

/**
 * Alpha dropout for self-normalizing (SELU) networks, as
 * `torch.nn.functional.alpha_dropout`: dropped elements take SELU's
 * negative saturation value and all are rescaled so that a standard normal
 * input keeps mean 0 and variance 1.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.alphaDropout(zn.zeros([3]), 0.2, { training: false }).toArray(); // [0, 0, 0]
 * ```
 */
export function alphaDropout(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  return dropoutImpl("alphaDropout", input, p, opts, null, true);
}

/**
 * Alpha dropout of whole channels of `[N, C, ...]`, as
 * `torch.nn.functional.feature_alpha_dropout`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.featureAlphaDropout(zn.zeros([2, 3, 4]), 0.5).shape; // [2, 3, 4]
 * ```
 */
export function featureAlphaDropout(input: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  checkTensor(input, "featureAlphaDropout");
  if (input.ndim < 2) {
    throw new RangeError(
      `featureAlphaDropout: Feature dropout requires at least 2 dimensions in the input, got ${
        fmtShape(input.shape)
      }`,
    );
  }
  return dropoutImpl("featureAlphaDropout", input, p, opts, 2, true);
}
