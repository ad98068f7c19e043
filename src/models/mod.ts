/**
 * `zn.models`: ready-made models with the state-dict names and tensor layouts
 * of their reference implementations, so that published checkpoints load as
 * they are. {@link GPT2} is Hugging Face's `GPT2LMHeadModel` (its
 * `save_pretrained` folders load with `GPT2.fromPretrained`), with generation
 * over a {@link KVCache}.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const model = new zn.models.GPT2({ vocabSize: 101, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 });
 * model.eval();
 * const ids = model.generate(zn.tensor([[1n, 2n, 3n]]), { maxNewTokens: 5, temperature: 0 });
 * ids.shape; // [1, 8]
 * ```
 *
 * @module
 */
export * from "./gpt2.ts";
export * from "./conv1d.ts";
export * from "./kv_cache.ts";
