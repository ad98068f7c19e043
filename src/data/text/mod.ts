/**
 * `zn.data.text`: text to token ids and back, and token windows for
 * language-model training: a character-level vocabulary, a byte-level one,
 * a byte-pair-encoding tokenizer that reads Hugging Face `tokenizer.json`
 * files (GPT-2's kind) with the `tokenizers` package's ids, and a dataset
 * of (input, next-token target) windows.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { CharVocab, TokenWindowDataset } = zn.data.text;
 * const corpus = "to be or not to be, that is the question";
 * const vocab = CharVocab.fromText(corpus);
 * const ds = new TokenWindowDataset(vocab.encodeTensor(corpus), 16, { stride: 4 });
 * const loader = new zn.data.DataLoader(ds, { batchSize: 4, shuffle: true, dropLast: true });
 * for (const [x, y] of loader) {
 *   x.shape; // [4, 16] (int64 ids; y is x shifted by one token)
 * }
 * ```
 *
 * @module
 */
export * from "./vocab.ts";
export * from "./bpe.ts";
export * from "./window.ts";
