/**
 * Character-level and byte-level vocabularies: text to token ids and back.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { checkIterable, checkString, typeError } from "../../args.ts";
import { idTensor, readIds } from "./ids.ts";

/**
 * A character-level vocabulary: one id per character (Unicode code point),
 * as in the character-level language models of Karpathy's char-RNN and
 * nanoGPT. {@link CharVocab.fromText} takes the sorted unique characters of
 * a text (Python's `sorted(set(text))`), so the ids follow code point order.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const vocab = zn.data.text.CharVocab.fromText("hello world");
 * vocab.chars; // [" ", "d", "e", "h", "l", "o", "r", "w"]
 * vocab.encode("hello"); // [3, 2, 4, 4, 5]
 * vocab.encodeTensor("low").toArray(); // [4, 5, 7]
 * vocab.decode([3, 2, 4, 4, 5]); // "hello"
 * ```
 */
export class CharVocab {
  /** The characters, by id. */
  readonly chars: readonly string[];
  #index: Map<string, number>;

  /**
   * A vocabulary of `chars` (distinct single characters, as an iterable or a
   * string), with ids in their order.
   */
  constructor(chars: Iterable<string>) {
    if (typeof chars !== "string") {
      checkIterable(chars, "CharVocab", "chars", "an iterable of characters");
    }
    const list: string[] = [];
    const index = new Map<string, number>();
    for (const c of chars) {
      if (typeof c !== "string" || c.length === 0 || [...c].length !== 1) {
        typeError("CharVocab", "each of chars", "a string of one character", c);
      }
      if (index.has(c)) {
        throw new RangeError(`CharVocab: character ${JSON.stringify(c)} is listed twice`);
      }
      index.set(c, list.length);
      list.push(c);
    }
    this.chars = Object.freeze(list);
    this.#index = index;
  }

  /**
   * The vocabulary of the distinct characters of `text`, sorted by code
   * point.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * zn.data.text.CharVocab.fromText("banana").chars; // ["a", "b", "n"]
   * ```
   */
  static fromText(text: string): CharVocab {
    checkString(text, "CharVocab.fromText", "text");
    const set = new Set<string>();
    for (const c of text) set.add(c);
    const chars = [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharVocab(chars);
  }

  /** The number of characters (ids are 0 .. size-1). */
  get size(): number {
    return this.chars.length;
  }

  /** The id of each character of `text`; a character not in the vocabulary is a RangeError. */
  encode(text: string): number[] {
    checkString(text, "CharVocab.encode", "text");
    const out: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.#index.get(c);
      if (id === undefined) {
        throw new RangeError(
          `CharVocab.encode: character ${JSON.stringify(c)} (U+${
            c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
          }) at position ${pos} is not in the vocabulary`,
        );
      }
      out.push(id);
      pos += c.length;
    }
    return out;
  }

  /** {@link CharVocab.encode} as a 1-D int64 tensor. */
  encodeTensor(text: string): Tensor {
    return idTensor(this.encode(text));
  }

  /** The text of `ids` (an array of numbers or bigints, or an integer tensor). */
  decode(ids: Iterable<number | bigint> | Tensor): string {
    const list = readIds(ids, "CharVocab.decode", this.chars.length);
    let s = "";
    for (const id of list) s += this.chars[id];
    return s;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * A byte-level vocabulary: the 256 byte values as ids, text encoded as
 * UTF-8. Any text encodes (no unknown characters); decoding bytes that are
 * not valid UTF-8 gives U+FFFD replacement characters, as Python's
 * `bytes.decode("utf-8", errors="replace")` does.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const vocab = new zn.data.text.ByteVocab();
 * vocab.size; // 256
 * vocab.encode("hé"); // [104, 195, 169]
 * vocab.decode([104, 195, 169]); // "hé"
 * vocab.decode([195]); // "\uFFFD"
 * ```
 */
export class ByteVocab {
  /** The number of ids: 256. */
  get size(): number {
    return 256;
  }

  /** The UTF-8 bytes of `text` (a lone surrogate encodes as U+FFFD). */
  encode(text: string): number[] {
    checkString(text, "ByteVocab.encode", "text");
    return Array.from(encoder.encode(text));
  }

  /** {@link ByteVocab.encode} as a 1-D int64 tensor. */
  encodeTensor(text: string): Tensor {
    return idTensor(this.encode(text));
  }

  /** The text of the UTF-8 bytes `ids`, invalid sequences replaced by U+FFFD. */
  decode(ids: Iterable<number | bigint> | Tensor): string {
    return decoder.decode(Uint8Array.from(readIds(ids, "ByteVocab.decode", 256)));
  }
}
