/**
 * Pooling modules: max, average and adaptive pools in 1, 2 and 3 dims.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";
import type { SizeArg } from "./functional/conv.ts";
import { maxPool3d } from "./functional/conv3d.ts";
import {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  avgPool1d,
  avgPool2d,
  maxPool1d,
  maxPool2d,
} from "./functional/pool.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkArray, checkIntList, checkSizeArg } from "../args.ts";

/**
 * Options of {@link MaxPool1d} and {@link MaxPool2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.MaxPoolModuleOptions = { stride: 1, padding: 1 };
 * const pool = new zn.nn.MaxPool2d(3, opts);
 * pool.call(zn.randn([1, 2, 5, 5])).shape; // [1, 2, 5, 5]
 * ```
 */
export interface MaxPoolModuleOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg | null;
  /** Implicit -infinity padding per side (default 0). */
  padding?: SizeArg;
  /** Step between window taps (default 1). */
  dilation?: SizeArg;
  /** Round the output size up (default false). */
  ceilMode?: boolean;
}

/**
 * Options of {@link AvgPool2d}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.AvgPoolModuleOptions = { ceilMode: true };
 * const pool = new zn.nn.AvgPool2d(2, opts);
 * pool.call(zn.randn([1, 2, 5, 5])).shape; // [1, 2, 3, 3]
 * ```
 */
export interface AvgPoolModuleOptions {
  /** Step between windows (default: the kernel size). */
  stride?: SizeArg | null;
  /** Implicit zero padding per side (default 0). */
  padding?: SizeArg;
  /** Round the output size up (default false). */
  ceilMode?: boolean;
  /** Count the padding in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide each window's sum by this instead of its size. */
  divisorOverride?: number | null;
}

const MAX_POOL_KEYS = optionKeys<MaxPoolModuleOptions>({
  stride: 0,
  padding: 0,
  dilation: 0,
  ceilMode: 0,
});
const AVG_POOL_KEYS = optionKeys<AvgPoolModuleOptions>({
  stride: 0,
  padding: 0,
  ceilMode: 0,
  countIncludePad: 0,
  divisorOverride: 0,
});

/** Shared shape of the windowed pools: a kernel size, options, and the function to call. */
abstract class WindowPool<O> extends Module {
  /** Window size. */
  readonly kernelSize: SizeArg;
  /** The pooling options. */
  readonly options: O;
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: O) {
    super();
    checkIntList(kernelSize, this.constructor.name, "kernelSize", { single: true, min: 1 });
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }
  /** @internal The functional form this module wraps. */
  protected abstract pool(input: Tensor, kernelSize: SizeArg, opts: O): Tensor;
  /** Pools the input. */
  override forward(input: Tensor): Tensor {
    return this.pool(input, this.kernelSize, this.options);
  }
}

/**
 * 1-D max pooling over `[N, C, L]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.MaxPool1d(2).call(zn.randn([1, 2, 8])).shape; // [1, 2, 4]
 * ```
 */
export class MaxPool1d extends WindowPool<MaxPoolModuleOptions> {
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: MaxPoolModuleOptions = {}) {
    checkOptions("MaxPool1d", opts, MAX_POOL_KEYS);
    super(kernelSize, opts);
  }
  /** @internal */
  protected pool(input: Tensor, kernelSize: SizeArg, opts: MaxPoolModuleOptions): Tensor {
    return maxPool1d(input, kernelSize, opts);
  }
}

/**
 * 2-D max pooling over `[N, C, H, W]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.MaxPool2d(2).call(zn.randn([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 * ```
 */
export class MaxPool2d extends WindowPool<MaxPoolModuleOptions> {
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: MaxPoolModuleOptions = {}) {
    checkOptions("MaxPool2d", opts, MAX_POOL_KEYS);
    super(kernelSize, opts);
  }
  /** @internal */
  protected pool(input: Tensor, kernelSize: SizeArg, opts: MaxPoolModuleOptions): Tensor {
    return maxPool2d(input, kernelSize, opts);
  }
}

/**
 * 3-D max pooling over `[N, C, D, H, W]` inputs (no indices).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.MaxPool3d(2).call(zn.randn([1, 2, 4, 4, 4])).shape; // [1, 2, 2, 2, 2]
 * ```
 */
export class MaxPool3d extends WindowPool<Omit<MaxPoolModuleOptions, "returnIndices">> {
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: Omit<MaxPoolModuleOptions, "returnIndices"> = {}) {
    checkOptions("MaxPool3d", opts, ["stride", "padding", "dilation", "ceilMode"]);
    super(kernelSize, opts);
  }
  /** @internal */
  protected pool(
    input: Tensor,
    kernelSize: SizeArg,
    opts: Omit<MaxPoolModuleOptions, "returnIndices">,
  ): Tensor {
    return maxPool3d(input, kernelSize, opts);
  }
}

/**
 * 2-D average pooling over `[N, C, H, W]` inputs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AvgPool2d(2, { stride: 1 }).call(zn.randn([1, 3, 4, 4])).shape; // [1, 3, 3, 3]
 * ```
 */
export class AvgPool2d extends WindowPool<AvgPoolModuleOptions> {
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: AvgPoolModuleOptions = {}) {
    checkOptions("AvgPool2d", opts, AVG_POOL_KEYS);
    super(kernelSize, opts);
  }
  /** @internal */
  protected pool(input: Tensor, kernelSize: SizeArg, opts: AvgPoolModuleOptions): Tensor {
    return avgPool2d(input, kernelSize, opts);
  }
}

/**
 * Average pooling to a fixed output size (null keeps an input size).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AdaptiveAvgPool2d(1).call(zn.randn([2, 8, 5, 7])).shape; // [2, 8, 1, 1]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** The output size. */
  readonly outputSize: number | (number | null)[];
  /** A pool to `outputSize`. */
  constructor(outputSize: number | readonly (number | null)[]) {
    super();
    this.outputSize = adaptiveSize(outputSize, "AdaptiveAvgPool2d");
  }
  /** Pools the input. */
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool2d(input, this.outputSize);
  }
}

/**
 * 1-D average pooling over `[N, C, L]` inputs, as `torch.nn.AvgPool1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AvgPool1d(2).call(zn.randn([1, 3, 8])).shape; // [1, 3, 4]
 * ```
 */
export class AvgPool1d extends WindowPool<Omit<AvgPoolModuleOptions, "divisorOverride">> {
  /** A pool with a `kernelSize` window. */
  constructor(kernelSize: SizeArg, opts: Omit<AvgPoolModuleOptions, "divisorOverride"> = {}) {
    checkOptions("AvgPool1d", opts, ["stride", "padding", "ceilMode", "countIncludePad"]);
    super(kernelSize, opts);
  }
  /** @internal */
  protected pool(
    input: Tensor,
    kernelSize: SizeArg,
    opts: Omit<AvgPoolModuleOptions, "divisorOverride">,
  ): Tensor {
    return avgPool1d(input, kernelSize, opts);
  }
}

/**
 * 1-D adaptive average pooling to `outputSize` cells, as
 * `torch.nn.AdaptiveAvgPool1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AdaptiveAvgPool1d(1).call(zn.randn([2, 8, 5])).shape; // [2, 8, 1]
 * ```
 */
export class AdaptiveAvgPool1d extends Module {
  /** The output size. */
  readonly outputSize: number;
  /** A pool to `outputSize` cells. */
  constructor(outputSize: number) {
    super();
    checkSizeArg(outputSize, "AdaptiveAvgPool1d", "outputSize");
    this.outputSize = outputSize;
  }
  /** Pools the input. */
  override forward(input: Tensor): Tensor {
    return adaptiveAvgPool1d(input, this.outputSize);
  }
}

/**
 * 1-D adaptive max pooling to `outputSize` cells, as
 * `torch.nn.AdaptiveMaxPool1d` (values).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AdaptiveMaxPool1d(2).call(zn.randn([2, 8, 5])).shape; // [2, 8, 2]
 * ```
 */
export class AdaptiveMaxPool1d extends Module {
  /** The output size. */
  readonly outputSize: number;
  /** A pool to `outputSize` cells. */
  constructor(outputSize: number) {
    super();
    checkSizeArg(outputSize, "AdaptiveMaxPool1d", "outputSize");
    this.outputSize = outputSize;
  }
  /** Pools the input. */
  override forward(input: Tensor): Tensor {
    return adaptiveMaxPool1d(input, this.outputSize);
  }
}

/** An adaptive pool's output size, checked and copied. */
function adaptiveSize(
  outputSize: number | readonly (number | null)[],
  name: string,
): number | (number | null)[] {
  if (typeof outputSize === "number") {
    checkSizeArg(outputSize, name, "outputSize");
    return outputSize;
  }
  checkArray(outputSize, name, "outputSize");
  for (const v of outputSize) {
    if (v !== null) checkSizeArg(v, name, "each of outputSize");
  }
  return [...outputSize];
}

/**
 * Max pooling to a fixed output size (values).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.AdaptiveMaxPool2d(1).call(zn.randn([2, 3, 5, 5])).shape; // [2, 3, 1, 1]
 * ```
 */
export class AdaptiveMaxPool2d extends Module {
  /** The output size. */
  readonly outputSize: number | (number | null)[];
  /** A pool to `outputSize`. */
  constructor(outputSize: number | readonly (number | null)[]) {
    super();
    this.outputSize = adaptiveSize(outputSize, "AdaptiveMaxPool2d");
  }
  /** Pools the input. */
  override forward(input: Tensor): Tensor {
    return adaptiveMaxPool2d(input, this.outputSize);
  }
}
