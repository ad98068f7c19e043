/**
 * Functional dropout.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { bernoulli } from "../../ops/creation.ts";
import type { Generator } from "../../random.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkTensor } from "../../args.ts";

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
  checkTensor(input, "dropout");
  checkOptions("dropout", opts, DROPOUT_KEYS);
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  if (!(opts.training ?? true) || p === 0) return input;
  if (p === 1) return input.mul(0);
  const mask = bernoulli(1 - p, input.shape, {
    dtype: input.dtype,
    device: input.device,
    generator: opts.generator,
  });
  return input.mul(mask.mul(1 / (1 - p)));
}
