/**
 * Functional embedding lookup.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { where } from "../../ops/elementwise.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { intTensorHint } from "../../dtype.ts";

/**
 * Options of {@link embedding}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const weight = zn.randn([4, 2], { requiresGrad: true });
 * const opts: zn.nn.functional.EmbeddingOptions = { paddingIdx: 0 };
 * zn.nn.functional.embedding(zn.tensor([0n, 3n]), weight, opts).sum().backward();
 * weight.grad!.index(0).toArray(); // [0, 0]
 * ```
 */
export interface EmbeddingOptions {
  /** Row whose gradient stays zero (negative counts from the end). */
  paddingIdx?: number | null;
}

const EMBEDDING_KEYS = optionKeys<EmbeddingOptions>({ paddingIdx: 0 });

/**
 * Rows of `weight` (`[numEmbeddings, dim]`) at the int64 `input` indices;
 * the result has shape `[...input.shape, dim]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]);
 * zn.nn.functional.embedding(zn.tensor([2n, 1n]), w).toArray(); // [[3, 4], [1, 2]]
 * ```
 */
export function embedding(input: Tensor, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  checkOptions("embedding", opts, EMBEDDING_KEYS);
  if (!(input instanceof Tensor) || (input.dtype !== "int64" && input.dtype !== "int32")) {
    throw new TypeError(
      `embedding: expected an int64 or int32 index tensor, got ${
        input instanceof Tensor ? input.dtype + intTensorHint(input.dtype) : typeof input
      }`,
    );
  }
  if (weight.ndim !== 2) throw new RangeError("embedding: weight must be 2-D");
  const idx = input.to("int64");
  let out = weight.indexSelect(0, idx.reshape(-1)).reshape([...input.shape, weight.shape[1]]);
  let pad = opts.paddingIdx;
  if (pad !== undefined && pad !== null && out.requiresGrad) {
    if (pad < 0) pad += weight.shape[0];
    const mask = idx.eq(pad).unsqueeze(-1);
    out = where(mask, out.detach(), out);
  }
  return out;
}
