/**
 * @internal GPT-2's byte-level pieces: the byte-to-character table of its
 * tokenizer (`bytes_to_unicode`) and its pre-tokenizer's regex, as the Hugging
 * Face `tokenizers` package applies them.
 *
 * @module
 */

/**
 * @internal The character that stands for each byte: printable Latin-1
 * characters for themselves, the other bytes for U+0100 onwards in order.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  }
  return out;
})();

/** @internal The byte each {@link BYTE_TO_CHAR} character stands for. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((c, b) => [c, b]),
);

/**
 * @internal GPT-2's pre-tokenization pattern,
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
 * with `\s` as the Unicode White_Space property, which is what the
 * `tokenizers` package's regex engine (Oniguruma) matches: JavaScript's `\s`
 * also takes U+FEFF and leaves out U+0085.
 */
export const GPT2_PATTERN: RegExp =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
