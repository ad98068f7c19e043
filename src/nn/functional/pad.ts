/**
 * Functional padding.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { full, tensor } from "../../ops/creation.ts";
import { cat } from "../../ops/join.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkArray } from "../../args.ts";
import { checkShape } from "../../shape.ts";

/**
 * Options of {@link pad}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.PadOptions = { mode: "reflect" };
 * zn.nn.functional.pad(zn.tensor([[[1, 2, 3]]]), [2, 0], opts).toArray(); // [[[3, 2, 1, 2, 3]]]
 * ```
 */
export interface PadOptions {
  /** "constant" (default), "reflect", "replicate" or "circular". */
  mode?: "constant" | "reflect" | "replicate" | "circular";
  /** Fill value of constant padding (default 0). */
  value?: number;
}

const PAD_KEYS = optionKeys<PadOptions>({ mode: 0, value: 0 });

/**
 * Pads the last dims: `padding` is `[lastLeft, lastRight, prevLeft,
 * prevRight, ...]` as in PyTorch. Negative constant pads crop.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.nn.functional.pad(zn.tensor([1, 2]), [1, 2]).toArray(); // [0, 1, 2, 0, 0]
 * zn.nn.functional.pad(zn.tensor([1.0, 2, 3]), [2, 0], { mode: "reflect" }).toArray(); // [3, 2, 1, 2, 3]
 * ```
 */
export function pad(input: Tensor, padding: readonly number[], opts: PadOptions = {}): Tensor {
  if (!(input instanceof Tensor)) throw new TypeError("pad: expected a Tensor");
  checkArray(padding, "pad", "padding");
  checkOptions("pad", opts, PAD_KEYS);
  if (padding.length % 2 !== 0 || padding.length / 2 > input.ndim) {
    throw new RangeError(
      `pad: padding length must be even and at most 2 * ndim (${
        2 * input.ndim
      }), got ${padding.length}`,
    );
  }
  const mode = opts.mode ?? "constant";
  let x = input;
  for (let i = 0; i < padding.length / 2; i++) {
    const d = input.ndim - 1 - i;
    const l = padding[2 * i], r = padding[2 * i + 1];
    if (!Number.isInteger(l) || !Number.isInteger(r)) {
      throw new TypeError("pad: padding sizes must be integers");
    }
    if (l === 0 && r === 0) continue;
    // A padded size past what a tensor may hold is refused by name, before any work.
    const size = x.shape.slice();
    size[d] = Math.max(0, x.shape[d] + l + r);
    checkShape(size, "pad");
    if (mode === "constant") x = padConstant(x, d, l, r, opts.value ?? 0);
    else x = x.indexSelect(d, padIndex(x.shape[d], l, r, mode));
  }
  return x === input ? input.clone() : x;
}

function padConstant(x: Tensor, d: number, l: number, r: number, value: number): Tensor {
  if (l < 0) {
    x = x.narrow(d, -l, x.shape[d] + l);
    l = 0;
  }
  if (r < 0) {
    x = x.narrow(d, 0, x.shape[d] + r);
    r = 0;
  }
  const block = (n: number) => {
    const shape = x.shape.slice();
    shape[d] = n;
    return full(shape, value, { dtype: x.dtype, device: x.device });
  };
  const parts: Tensor[] = [];
  if (l > 0) parts.push(block(l));
  parts.push(x);
  if (r > 0) parts.push(block(r));
  return parts.length === 1 ? x : cat(parts, d);
}

function padIndex(n: number, l: number, r: number, mode: string): Tensor {
  if (l < 0 || r < 0) throw new RangeError(`pad: negative padding needs mode "constant"`);
  if (mode === "reflect" && (l >= n || r >= n)) {
    throw new RangeError(
      `pad: padding size should be less than the corresponding input dimension, but got: padding (${l}, ${r}) at dimension of input size ${n}`,
    );
  }
  if (mode === "circular" && (l > n || r > n)) {
    throw new RangeError("pad: padding value causes wrapping around more than once");
  }
  const idx: number[] = [];
  for (let j = -l; j < n + r; j++) {
    if (mode === "replicate") idx.push(Math.min(Math.max(j, 0), n - 1));
    else if (mode === "circular") idx.push(((j % n) + n) % n);
    else if (mode === "reflect") idx.push(j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j);
    else throw new RangeError(`pad: unknown mode ${mode}`);
  }
  return tensor(idx, { dtype: "int64" });
}
