/**
 * Functional attention: scaled dot-product attention with PyTorch's
 * semantics.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { broadcastShapes, fmtShape } from "../../shape.ts";
import { checkFlag, checkOptions, optionKeys } from "../../options.ts";
import { checkNumber, checkOptionalTensor, checkTensor, typeError } from "../../args.ts";
import { attention } from "./attention_kernels.ts";
import { lowerPrecision } from "../../amp/autocast.ts";
import { floatTensorHint, isFloating } from "../../dtype.ts";

/**
 * Options of {@link scaledDotProductAttention}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const q = zn.randn([2, 4, 8]), k = zn.randn([2, 6, 8]), v = zn.randn([2, 6, 8]);
 * const opts: zn.nn.functional.ScaledDotProductAttentionOptions = { isCausal: true, scale: 0.5 };
 * zn.nn.functional.scaledDotProductAttention(q, k, v, opts).shape; // [2, 4, 8]
 * ```
 */
export interface ScaledDotProductAttentionOptions {
  /**
   * A mask broadcastable to `[..., L, S]`: bool (true = the position takes
   * part, false = masked out) or float of the query's dtype (added to the
   * scores, e.g. 0 and -Infinity). Not together with `isCausal`.
   */
  attnMask?: Tensor | null;
  /** Dropout probability on the attention weights (default 0; applied whenever > 0). */
  dropoutP?: number;
  /**
   * Mask with the lower triangle of ones(L, S), aligned top-left as in
   * PyTorch: query i sees keys 0..i (default false).
   */
  isCausal?: boolean;
  /** The factor on q kᵀ (default 1/√E, E the query's last dim). */
  scale?: number | null;
  /**
   * Grouped-query attention: the query's heads (dim -3) are a multiple of
   * the key's and value's, each key/value head serving that many query heads
   * (default false).
   */
  enableGqa?: boolean;
}

const SDPA_KEYS = optionKeys<ScaledDotProductAttentionOptions>({
  attnMask: 0,
  dropoutP: 0,
  isCausal: 0,
  scale: 0,
  enableGqa: 0,
});

const OP = "scaledDotProductAttention";
const FLOATS = new Set(["float32", "float64", "float16", "bfloat16"]);

/**
 * softmax(q kᵀ · scale + mask) v, as PyTorch's
 * `F.scaled_dot_product_attention`: q `[..., L, E]`, k `[..., S, E]`,
 * v `[..., S, Ev]` (batch dims broadcast), output `[..., L, Ev]`. A row whose
 * every key is masked out gives zeros (and zero gradients), as PyTorch's CPU
 * kernels. Dropout is applied whenever `dropoutP > 0`: pass 0 in evaluation.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * const q = zn.randn([2, 4, 5, 8]); // [batch, heads, L, E]
 * const k = zn.randn([2, 4, 7, 8]), v = zn.randn([2, 4, 7, 16]);
 * F.scaledDotProductAttention(q, k, v).shape; // [2, 4, 5, 16]
 * const keep = zn.ones([5, 7], { dtype: "bool" }).tril(); // true = takes part
 * F.scaledDotProductAttention(q, k, v, { attnMask: keep }).shape; // [2, 4, 5, 16]
 * F.scaledDotProductAttention(q, k, v, { isCausal: true }); // the same mask
 * ```
 */
export function scaledDotProductAttention(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  opts: ScaledDotProductAttentionOptions = {},
): Tensor {
  [query, key, value] = lowerPrecision(query, key, value) as [Tensor, Tensor, Tensor];
  checkTensor(query, OP, "query");
  checkTensor(key, OP, "key");
  checkTensor(value, OP, "value");
  checkOptions(OP, opts, SDPA_KEYS);
  const mask = opts.attnMask ?? null;
  checkOptionalTensor(mask, OP, "attnMask");
  const dropoutP = opts.dropoutP ?? 0;
  checkNumber(dropoutP, OP, "dropoutP");
  if (!(dropoutP >= 0 && dropoutP <= 1)) {
    throw new RangeError(
      `${OP}: dropout probability has to be between 0 and 1, but got ${dropoutP}`,
    );
  }
  const isCausal = opts.isCausal ?? false;
  checkFlag(OP, "isCausal", isCausal);
  const enableGqa = opts.enableGqa ?? false;
  checkFlag(OP, "enableGqa", enableGqa);
  if (opts.scale !== undefined && opts.scale !== null) {
    if (typeof opts.scale !== "number" || !Number.isFinite(opts.scale)) {
      typeError(OP, "scale", "a finite number or null", opts.scale);
    }
  }
  let [q, k, v] = [query, key, value];
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
    throw new RangeError(
      `${OP}: expected query, key and value to be at least 2-D, got query ${
        fmtShape(q.shape)
      }, key ${fmtShape(k.shape)} and value ${fmtShape(v.shape)}`,
    );
  }
  if (!FLOATS.has(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new TypeError(
      `${OP}: expected query, key and value of one floating dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}${
        floatTensorHint([q, k, v].find((t) => !isFloating(t.dtype))?.dtype ?? q.dtype)
      }`,
    );
  }
  if (q.device !== k.device || q.device !== v.device) {
    throw new Error(
      `${OP}: expected query, key and value on one device, got ${q.device}, ${k.device} and ${v.device}`,
    );
  }
  const E = q.shape[q.ndim - 1], L = q.shape[q.ndim - 2];
  const S = k.shape[k.ndim - 2];
  if (k.shape[k.ndim - 1] !== E) {
    throw new RangeError(
      `${OP}: query's last dim (${E}) must equal key's (${k.shape[k.ndim - 1]}); got query ${
        fmtShape(q.shape)
      } and key ${fmtShape(k.shape)}`,
    );
  }
  if (v.shape[v.ndim - 2] !== S) {
    throw new RangeError(
      `${OP}: key and value must have the same sequence length (dim -2), got key ${
        fmtShape(k.shape)
      } and value ${fmtShape(v.shape)}`,
    );
  }
  if (enableGqa) [k, v] = repeatKvHeads(q, k, v);
  const batch = broadcastShapes(
    OP,
    q.shape.slice(0, -2),
    k.shape.slice(0, -2),
    v.shape.slice(0, -2),
  );
  if (mask !== null) {
    if (isCausal) {
      throw new Error(`${OP}: an explicit attnMask should not be set when isCausal is true`);
    }
    if (mask.dtype !== "bool" && mask.dtype !== q.dtype) {
      throw new TypeError(
        `${OP}: expected attnMask to be bool or of the query's dtype (${q.dtype}), got ${mask.dtype}`,
      );
    }
    if (mask.device !== q.device) {
      throw new Error(`${OP}: attnMask is on ${mask.device}, the query on ${q.device}`);
    }
    const scores = [...batch, L, S];
    const b = broadcastShapes(OP, scores, mask.shape);
    if (b.length !== scores.length || b.some((s, i) => s !== scores[i])) {
      throw new RangeError(
        `${OP}: attnMask of shape ${fmtShape(mask.shape)} cannot be broadcast to the scores' ${
          fmtShape(scores)
        }`,
      );
    }
  }
  const scale = opts.scale ?? 1 / Math.sqrt(E);
  return attention(q, k, v, { mask, isCausal, scale, dropoutP, safeSoftmax: true });
}

/** Grouped-query attention: each key/value head repeated for its group of query heads. */
function repeatKvHeads(q: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor] {
  if (q.ndim < 3 || k.ndim < 3 || v.ndim < 3) {
    throw new RangeError(
      `${OP}: enableGqa expects query, key and value with a heads dim (-3), got query ${
        fmtShape(q.shape)
      }, key ${fmtShape(k.shape)} and value ${fmtShape(v.shape)}`,
    );
  }
  const hq = q.shape[q.ndim - 3], hk = k.shape[k.ndim - 3], hv = v.shape[v.ndim - 3];
  if (hk === 0 || hv === 0 || hq % hk !== 0 || hq % hv !== 0) {
    throw new RangeError(
      `${OP}: the number of heads in key (${hk}) and value (${hv}) must divide the number of heads in query (${hq})`,
    );
  }
  const repeat = (t: Tensor, h: number): Tensor => {
    if (h === hq) return t;
    const lead = t.shape.slice(0, -3), tail = t.shape.slice(-2);
    return t.unsqueeze(-3).expand([...lead, h, hq / h, ...tail]).reshape([...lead, hq, ...tail]);
  };
  return [repeat(k, hk), repeat(v, hv)];
}
