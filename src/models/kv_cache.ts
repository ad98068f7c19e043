/**
 * `KVCache`: the keys and values of past positions, per attention layer, so
 * that decoding one more token attends to them instead of recomputing the
 * whole prefix (Hugging Face's `DynamicCache`).
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { cat } from "../ops/join.ts";
import { hold, unhold } from "../lifetime.ts";
import { fmtShape } from "../shape.ts";
import { checkIntArg, checkTensor, typeError } from "../args.ts";

/**
 * A growing cache of attention keys and values, one pair per layer, each
 * `[batch, heads, seq, headDim]` (any rank of at least 2: the sequence is
 * dim -2), as Hugging Face's `DynamicCache`. {@link KVCache.update} appends a
 * layer's new keys and values along the sequence and returns all of them.
 * The cache holds its tensors beyond `zn.tidy` scopes (like a module's
 * buffers) until it replaces them or {@link KVCache.dispose} is called.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const cache = new zn.models.KVCache();
 * cache.update(zn.randn([1, 2, 5, 4]), zn.randn([1, 2, 5, 4]), 0); // a 5-token prompt
 * const [k, v] = cache.update(zn.randn([1, 2, 1, 4]), zn.randn([1, 2, 1, 4]), 0); // one more
 * [k.shape, v.shape, cache.getSeqLength()]; // [[1, 2, 6, 4], [1, 2, 6, 4], 6]
 * cache.dispose();
 * ```
 */
export class KVCache {
  #keys: Tensor[] = [];
  #values: Tensor[] = [];

  /** The number of layers that hold keys and values. */
  get numLayers(): number {
    return this.#keys.length;
  }

  /**
   * The number of positions cached for `layerIdx` (default 0): 0 for a layer
   * not updated yet.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const cache = new zn.models.KVCache();
   * cache.getSeqLength(); // 0
   * cache.update(zn.zeros([1, 1, 3, 2]), zn.zeros([1, 1, 3, 2]), 0);
   * cache.getSeqLength(0); // 3
   * ```
   */
  getSeqLength(layerIdx = 0): number {
    checkIntArg(layerIdx, "KVCache.getSeqLength", "layerIdx", 0);
    const k = this.#keys[layerIdx];
    return k === undefined ? 0 : k.shape[k.ndim - 2];
  }

  /**
   * Appends `key` and `value` (new positions along dim -2) to layer
   * `layerIdx` and returns the layer's keys and values so far. Layers are
   * added in order: `layerIdx` is at most {@link KVCache.numLayers}. The
   * returned tensors stay valid until the layer's next update: outside
   * autograd the cache then releases them (their memory goes back to the
   * pool at once).
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const cache = new zn.models.KVCache();
   * const [k] = cache.update(zn.ones([2, 3, 4]), zn.ones([2, 3, 4]), 0);
   * k.shape; // [2, 3, 4]
   * ```
   */
  update(key: Tensor, value: Tensor, layerIdx: number): [Tensor, Tensor] {
    const op = "KVCache.update";
    checkTensor(key, op, "key");
    checkTensor(value, op, "value");
    checkIntArg(layerIdx, op, "layerIdx", 0);
    if (key.isDisposed) typeError(op, "key", "a live Tensor", key);
    if (value.isDisposed) typeError(op, "value", "a live Tensor", value);
    if (layerIdx > this.#keys.length) {
      throw new RangeError(
        `${op}: layers are added in order: layer ${layerIdx} cannot follow the ${this.#keys.length} cached ones`,
      );
    }
    if (key.ndim < 2 || value.ndim !== key.ndim) {
      throw new RangeError(
        `${op}: expected key and value of one rank of at least 2 ([..., seq, dim]), got key ${
          fmtShape(key.shape)
        } and value ${fmtShape(value.shape)}`,
      );
    }
    if (key.shape[key.ndim - 2] !== value.shape[value.ndim - 2]) {
      throw new RangeError(
        `${op}: key and value must have the same sequence length (dim -2), got key ${
          fmtShape(key.shape)
        } and value ${fmtShape(value.shape)}`,
      );
    }
    const oldK = this.#keys[layerIdx], oldV = this.#values[layerIdx];
    let k: Tensor, v: Tensor;
    if (oldK === undefined) {
      // Copies: the cache owns what it holds (the new keys are often views
      // of a larger projection, whose memory it would otherwise keep).
      k = key.clone();
      v = value.clone();
    } else {
      checkLike(op, "key", oldK, key);
      checkLike(op, "value", oldV, value);
      k = cat([oldK, key], key.ndim - 2);
      v = cat([oldV, value], value.ndim - 2);
    }
    hold(k);
    hold(v);
    this.#keys[layerIdx] = k;
    this.#values[layerIdx] = v;
    if (oldK !== undefined) {
      release(oldK);
      release(oldV);
    }
    return [k, v];
  }

  /**
   * Releases every cached tensor; the cache is empty afterwards.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const cache = new zn.models.KVCache();
   * cache.update(zn.ones([1, 2]), zn.ones([1, 2]), 0);
   * cache.dispose();
   * cache.numLayers; // 0
   * ```
   */
  dispose(): void {
    for (const t of [...this.#keys, ...this.#values]) release(t);
    this.#keys = [];
    this.#values = [];
  }

  /**
   * `using cache = new zn.models.KVCache()` disposes it at the end of the
   * block.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * {
   *   using cache = new zn.models.KVCache();
   *   cache.update(zn.ones([1, 2]), zn.ones([1, 2]), 0);
   * } // released here
   * ```
   */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Lets go of a cached tensor: disposed at once unless autograd may still read it. */
function release(t: Tensor): void {
  unhold(t);
  if (!t.requiresGrad && t.storage.owners <= 0) t.dispose();
}

/** New positions must match the cached ones in every dim but the sequence. */
function checkLike(op: string, name: string, old: Tensor, t: Tensor): void {
  const n = old.ndim;
  const same = t.ndim === n && t.shape.every((s, i) => i === n - 2 || s === old.shape[i]);
  if (!same) {
    throw new RangeError(
      `${op}: the new ${name} ${fmtShape(t.shape)} does not match the cached ${
        fmtShape(old.shape)
      } outside the sequence dim (-2)`,
    );
  }
  if (t.dtype !== old.dtype || t.device !== old.device) {
    throw new TypeError(
      `${op}: the new ${name} is ${t.dtype} on ${t.device}, the cached one ${old.dtype} on ${old.device}`,
    );
  }
}
