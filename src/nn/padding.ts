/**
 * The padding modules, as PyTorch's: ZeroPad, ConstantPad, ReflectionPad,
 * ReplicationPad and CircularPad in 1, 2 and 3 dims, each `F.pad` of the
 * last 1, 2 or 3 dims of a batched or unbatched input.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { fmtShape } from "../shape.ts";
import { checkIntList, checkTensor } from "../args.ts";
import { Module } from "./module.ts";
import { pad, type PadOptions } from "./functional/pad.ts";

/**
 * A padding size: one number for every side, or `[left, right]` per padded
 * dim from the last one back (`[left, right, top, bottom, front, back]`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const size: zn.nn.PadSize = [1, 2, 0, 1];
 * new zn.nn.ZeroPad2d(size).call(zn.ones([1, 1, 2, 2])).shape; // [1, 1, 3, 5]
 * ```
 */
export type PadSize = number | readonly number[];

/** @internal The padding modules' common part: F.pad over `nd` dims in one mode. */
abstract class PadNd extends Module {
  /** The padding, `[left, right]` per padded dim from the last one back. */
  readonly padding: number[];
  /** @internal */
  readonly #nd: 1 | 2 | 3;
  /** @internal */
  readonly #opts: PadOptions;
  /** @internal */
  constructor(nd: 1 | 2 | 3, padding: PadSize, mode: NonNullable<PadOptions["mode"]>, value = 0) {
    super();
    const name = this.constructor.name;
    checkIntList(padding, name, "padding", { single: true });
    const list = typeof padding === "number" ? new Array(2 * nd).fill(padding) : [...padding];
    if (list.length !== 2 * nd) {
      throw new RangeError(
        `${name}: padding must be an integer or ${2 * nd} integers, got ${
          typeof padding === "number" ? padding : `[${list.join(", ")}]`
        }`,
      );
    }
    if (typeof value !== "number") throw new TypeError(`${name}: value must be a number`);
    this.padding = list;
    this.#nd = nd;
    this.#opts = mode === "constant" ? { mode, value } : { mode };
  }
  /** Pads the input's last dims. */
  override forward(input: Tensor): Tensor {
    const name = this.constructor.name;
    checkTensor(input, name);
    const nd = this.#nd;
    if (input.ndim !== nd + 1 && input.ndim !== nd + 2) {
      throw new RangeError(
        `${name}: expected ${nd + 1}D or ${nd + 2}D input, got ${fmtShape(input.shape)}`,
      );
    }
    return pad(input, this.padding, this.#opts);
  }
  /** The module's settings. */
  override extraRepr(): string {
    const v = this.#opts.mode === "constant" && this.#opts.value !== 0
      ? `, value=${this.#opts.value}`
      : "";
    return `(${this.padding.join(", ")})${v}`;
  }
}

/**
 * Zero padding of the last 1 dim of `[N, C, W]` (or unbatched), as
 * `torch.nn.ZeroPad1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ZeroPad1d(1).call(zn.ones([1, 2, 5])).shape; // [1, 2, 7]
 * ```
 */
export class ZeroPad1d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(1, padding, "constant");
  }
}

/**
 * Zero padding of the last 2 dims of `[N, C, H, W]` (or unbatched), as
 * `torch.nn.ZeroPad2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ZeroPad2d(1).call(zn.ones([1, 2, 3, 5])).shape; // [1, 2, 5, 7]
 * ```
 */
export class ZeroPad2d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(2, padding, "constant");
  }
}

/**
 * Zero padding of the last 3 dims of `[N, C, D, H, W]` (or unbatched), as
 * `torch.nn.ZeroPad3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ZeroPad3d(1).call(zn.ones([1, 2, 3, 3, 5])).shape; // [1, 2, 5, 5, 7]
 * ```
 */
export class ZeroPad3d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(3, padding, "constant");
  }
}

/**
 * Padding with a constant `value` of the last 1 dim of `[N, C, W]` (or unbatched), as
 * `torch.nn.ConstantPad1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ConstantPad1d(1, 2).call(zn.ones([1, 2, 5])).shape; // [1, 2, 7]
 * ```
 */
export class ConstantPad1d extends PadNd {
  /** A padding of `padding` on each side (or per side), filled with `value`. */
  constructor(padding: PadSize, value: number) {
    super(1, padding, "constant", value);
  }
}

/**
 * Padding with a constant `value` of the last 2 dims of `[N, C, H, W]` (or unbatched), as
 * `torch.nn.ConstantPad2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ConstantPad2d(1, 2).call(zn.ones([1, 2, 3, 5])).shape; // [1, 2, 5, 7]
 * ```
 */
export class ConstantPad2d extends PadNd {
  /** A padding of `padding` on each side (or per side), filled with `value`. */
  constructor(padding: PadSize, value: number) {
    super(2, padding, "constant", value);
  }
}

/**
 * Padding with a constant `value` of the last 3 dims of `[N, C, D, H, W]` (or unbatched), as
 * `torch.nn.ConstantPad3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ConstantPad3d(1, 2).call(zn.ones([1, 2, 3, 3, 5])).shape; // [1, 2, 5, 5, 7]
 * ```
 */
export class ConstantPad3d extends PadNd {
  /** A padding of `padding` on each side (or per side), filled with `value`. */
  constructor(padding: PadSize, value: number) {
    super(3, padding, "constant", value);
  }
}

/**
 * Reflection padding (the edge not repeated) of the last 1 dim of `[N, C, W]` (or unbatched), as
 * `torch.nn.ReflectionPad1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReflectionPad1d(1).call(zn.ones([1, 2, 5])).shape; // [1, 2, 7]
 * ```
 */
export class ReflectionPad1d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(1, padding, "reflect");
  }
}

/**
 * Reflection padding (the edge not repeated) of the last 2 dims of `[N, C, H, W]` (or unbatched), as
 * `torch.nn.ReflectionPad2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReflectionPad2d(1).call(zn.ones([1, 2, 3, 5])).shape; // [1, 2, 5, 7]
 * ```
 */
export class ReflectionPad2d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(2, padding, "reflect");
  }
}

/**
 * Reflection padding (the edge not repeated) of the last 3 dims of `[N, C, D, H, W]` (or unbatched), as
 * `torch.nn.ReflectionPad3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReflectionPad3d(1).call(zn.ones([1, 2, 3, 3, 5])).shape; // [1, 2, 5, 5, 7]
 * ```
 */
export class ReflectionPad3d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(3, padding, "reflect");
  }
}

/**
 * Replication padding (the edge repeated) of the last 1 dim of `[N, C, W]` (or unbatched), as
 * `torch.nn.ReplicationPad1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReplicationPad1d(1).call(zn.ones([1, 2, 5])).shape; // [1, 2, 7]
 * ```
 */
export class ReplicationPad1d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(1, padding, "replicate");
  }
}

/**
 * Replication padding (the edge repeated) of the last 2 dims of `[N, C, H, W]` (or unbatched), as
 * `torch.nn.ReplicationPad2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReplicationPad2d(1).call(zn.ones([1, 2, 3, 5])).shape; // [1, 2, 5, 7]
 * ```
 */
export class ReplicationPad2d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(2, padding, "replicate");
  }
}

/**
 * Replication padding (the edge repeated) of the last 3 dims of `[N, C, D, H, W]` (or unbatched), as
 * `torch.nn.ReplicationPad3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.ReplicationPad3d(1).call(zn.ones([1, 2, 3, 3, 5])).shape; // [1, 2, 5, 5, 7]
 * ```
 */
export class ReplicationPad3d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(3, padding, "replicate");
  }
}

/**
 * Circular padding (wrapping around) of the last 1 dim of `[N, C, W]` (or unbatched), as
 * `torch.nn.CircularPad1d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.CircularPad1d(1).call(zn.ones([1, 2, 5])).shape; // [1, 2, 7]
 * ```
 */
export class CircularPad1d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(1, padding, "circular");
  }
}

/**
 * Circular padding (wrapping around) of the last 2 dims of `[N, C, H, W]` (or unbatched), as
 * `torch.nn.CircularPad2d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.CircularPad2d(1).call(zn.ones([1, 2, 3, 5])).shape; // [1, 2, 5, 7]
 * ```
 */
export class CircularPad2d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(2, padding, "circular");
  }
}

/**
 * Circular padding (wrapping around) of the last 3 dims of `[N, C, D, H, W]` (or unbatched), as
 * `torch.nn.CircularPad3d`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * new zn.nn.CircularPad3d(1).call(zn.ones([1, 2, 3, 3, 5])).shape; // [1, 2, 5, 5, 7]
 * ```
 */
export class CircularPad3d extends PadNd {
  /** A padding of `padding` on each side (or per side). */
  constructor(padding: PadSize) {
    super(3, padding, "circular");
  }
}
