/**
 * `Parameter`: a tensor that a {@link Module} registers as one of its weights.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { hold } from "../lifetime.ts";

/**
 * A leaf tensor that requires grad (by default) and that a `Module` registers
 * as a parameter when it is assigned to one of the module's properties. It
 * shares storage with the tensor it wraps, like `torch.nn.Parameter`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = new zn.nn.Parameter(zn.zeros([2, 3]));
 * w.requiresGrad; // true
 * w.isLeaf; // true
 * ```
 */
export class Parameter extends Tensor {
  /** Wraps `data` (sharing its storage); `requiresGrad` defaults to true. */
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) {
      throw new TypeError(`Parameter: expected a Tensor, got ${typeof data}`);
    }
    super(data.storage, data.dtype, data.shape, data.strides, data.offset, false);
    this.versionCounter = data.versionCounter;
    if (requiresGrad) this.requiresGrad = true;
    // A parameter is long-lived: zn.tidy scopes never release its memory.
    hold(this);
  }
}
