/**
 * `zn.sampling`: turning next-token logits into token ids, as Hugging
 * Face's generation warpers do: temperature, top-k and top-p (nucleus)
 * filtering, and a multinomial draw.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logits = zn.randn([2, 50]); // [batch, vocab]
 * const filtered = zn.sampling.topPFilter(zn.sampling.topKFilter(logits, 10), 0.9);
 * const ids = zn.sampling.sampleLogits(logits, { temperature: 0.8, topK: 10, topP: 0.9 });
 * [filtered.shape, ids.dtype]; // [[2, 50], "int64"]
 * ```
 *
 * @module
 */
export * from "./logits.ts";
