/**
 * A byte-pair-encoding tokenizer that reads Hugging Face `tokenizer.json`
 * files with a BPE model and a byte-level pre-tokenizer (GPT-2's kind) and
 * gives the same ids as the `tokenizers` package.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkPath, checkString, typeError } from "../../args.ts";
import { idTensor, readIds } from "./ids.ts";
import { BYTE_TO_CHAR, CHAR_TO_BYTE, GPT2_PATTERN } from "./byte_level.ts";

/**
 * A token added on top of the BPE model's vocabulary (`added_tokens` of
 * `tokenizer.json`): special tokens such as `<|endoftext|>`, and others.
 * They are split out of the text before the model runs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const tok = zn.data.text.BpeTokenizer.fromJson({
 *   model: { type: "BPE", vocab: { a: 0, "<s>": 1 }, merges: [] },
 *   pre_tokenizer: { type: "ByteLevel", add_prefix_space: false },
 *   decoder: { type: "ByteLevel" },
 *   added_tokens: [{ id: 1, content: "<s>", special: true }],
 * });
 * const t: zn.data.text.AddedToken = tok.addedTokens[0];
 * [t.content, t.special]; // ["<s>", true]
 * ```
 */
export interface AddedToken {
  /** Its id. */
  readonly id: number;
  /** Its text. */
  readonly content: string;
  /** Whether it is special (left out by `decode` with `skipSpecialTokens`). */
  readonly special: boolean;
  /** Whether it only matches a whole word (no word character next to it). */
  readonly singleWord: boolean;
  /** Whether it takes the whitespace on its left. */
  readonly lstrip: boolean;
  /** Whether it takes the whitespace on its right. */
  readonly rstrip: boolean;
  /** Whether it matches the normalized text (there is no normalizer here, so the same text, in a second pass). */
  readonly normalized: boolean;
}

/**
 * Options of {@link BpeTokenizer.decode}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.text.BpeDecodeOptions = { skipSpecialTokens: true };
 * opts.skipSpecialTokens; // true
 * ```
 */
export interface BpeDecodeOptions {
  /** Leave out special added tokens (default false, as `transformers`' `decode`). */
  skipSpecialTokens?: boolean;
}

const DECODE_KEYS = optionKeys<BpeDecodeOptions>({ skipSpecialTokens: 0 });

// ------------------------------------------------------------- config parsing

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const OP = "BpeTokenizer";

function bad(path: string, what: string, v: unknown): never {
  let got: string;
  if (v === undefined) got = "nothing";
  else if (v === null) got = "null";
  else if (Array.isArray(v)) got = "an array";
  else if (typeof v === "string") got = `a string (${JSON.stringify(v.slice(0, 40))})`;
  else if (typeof v === "object") got = "an object";
  else got = `${typeof v} ${String(v)}`;
  throw new TypeError(`${OP}: expected ${path} to be ${what}, got ${got}`);
}

function optString(o: Json, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") bad(`${path}.${key}`, "a string or null", v);
  return v;
}

function optBool(o: Json, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") bad(`${path}.${key}`, "a boolean", v);
  return v;
}

function tokenId(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    bad(path, "a token id (an integer in [0, 2^32))", v);
  }
  return v;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Drops the first `n` UTF-8 bytes of `s`, as Rust's `&s[n..]`. */
function dropBytes(s: string, n: number): string {
  if (n === 0) return s;
  const b = encoder.encode(s);
  if (n > b.length || (n < b.length && (b[n] & 0xc0) === 0x80)) {
    throw new RangeError(
      `${OP}: the continuing_subword_prefix does not end on a character boundary of merge token ${
        JSON.stringify(s)
      }`,
    );
  }
  return decoder.decode(b.subarray(n));
}

const SPACE = /^\p{White_Space}$/u;
const WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;

/** Whether a UTF-16 unit is whitespace (all of Unicode's White_Space lies in the BMP). */
function isSpace(unit: number): boolean {
  return unit < 0x80
    ? unit === 0x20 || (unit >= 0x09 && unit <= 0x0d)
    : SPACE.test(String.fromCharCode(unit));
}

/** Whether a code point is a word character, as Rust's Unicode `\w`. */
function isWordChar(cp: number): boolean {
  if (cp < 0x80) {
    return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) ||
      (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f;
  }
  return WORD.test(String.fromCodePoint(cp));
}

/** The index where the code point holding UTF-16 index `i` starts. */
function codePointStart(s: string, i: number): number {
  const u = s.charCodeAt(i);
  if (u >= 0xdc00 && u <= 0xdfff && i > 0) {
    const h = s.charCodeAt(i - 1);
    if (h >= 0xd800 && h <= 0xdbff) return i - 1;
  }
  return i;
}

// ------------------------------------------------------------- merge heap

/** A min-heap of merges ordered by (rank, position), as the Rust BPE's queue. */
class MergeHeap {
  rank = new Int32Array(64);
  pos = new Int32Array(64);
  newId = new Int32Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  #less(i: number, j: number): boolean {
    const r = this.rank[i] - this.rank[j];
    return r < 0 || (r === 0 && this.pos[i] < this.pos[j]);
  }

  #swap(i: number, j: number): void {
    const { rank, pos, newId } = this;
    let t = rank[i];
    rank[i] = rank[j];
    rank[j] = t;
    t = pos[i];
    pos[i] = pos[j];
    pos[j] = t;
    t = newId[i];
    newId[i] = newId[j];
    newId[j] = t;
  }

  push(rank: number, pos: number, newId: number): void {
    if (this.size === this.rank.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.rank = grow(this.rank);
      this.pos = grow(this.pos);
      this.newId = grow(this.newId);
    }
    let i = this.size++;
    this.rank[i] = rank;
    this.pos[i] = pos;
    this.newId[i] = newId;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  /** Moves the smallest entry to slot `size` (past the heap) and returns that slot. */
  pop(): number {
    const last = --this.size;
    this.#swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.#less(l, m)) m = l;
      if (r < last && this.#less(r, m)) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
    return last;
  }
}

/** Words longer than this (in UTF-16 units) are not cached, as the Rust cache's limit. */
const CACHE_MAX_WORD = 256;
/** The most words the cache holds; past it, new words are not cached. */
const CACHE_CAPACITY = 100_000;

/**
 * A byte-pair-encoding tokenizer read from a Hugging Face `tokenizer.json`
 * with a BPE model, a `ByteLevel` pre-tokenizer and a `ByteLevel` decoder:
 * GPT-2's and those trained with `tokenizers`' `ByteLevelBPETokenizer`. `encode` gives the ids that the `tokenizers`
 * package gives (`Tokenizer.encode(text).ids`):
 *
 * 1. added tokens (`added_tokens`, e.g. `<|endoftext|>`) are split out of
 *    the text first, leftmost-longest, honouring their `single_word`,
 *    `lstrip` and `rstrip` flags (non-normalized ones first, then the
 *    others);
 * 2. each remaining piece gets a leading space if `add_prefix_space` and it
 *    has none, and is split by GPT-2's pattern
 *    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 *    (`\s` being Unicode White_Space, as the package's regex engine has it);
 * 3. each word's UTF-8 bytes become GPT-2's byte characters and are merged
 *    by the BPE merges in rank order (the package's algorithm: lowest rank
 *    first, leftmost of equal ranks), with a cache of words seen.
 *
 * `decode` maps the tokens back to bytes and reads them as UTF-8, invalid
 * sequences as U+FFFD. The model's `unk_token`, `continuing_subword_prefix`,
 * `end_of_word_suffix`, `fuse_unk`, `byte_fallback` and `ignore_merges` are
 * honoured. Unsupported parts of a `tokenizer.json` are errors that name
 * them: a normalizer, another pre-tokenizer, decoder or post-processor
 * (`ByteLevel` and none are read), BPE dropout, truncation. Text is a
 * JavaScript string: a lone surrogate encodes as U+FFFD, as `TextEncoder`
 * makes it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * // A tiny tokenizer: the bytes "a", "b", "Ġ" (a space) and two merges.
 * const json = {
 *   model: {
 *     type: "BPE",
 *     vocab: { a: 0, b: 1, "Ġ": 2, ab: 3, "Ġab": 4, "<|endoftext|>": 5 },
 *     merges: ["a b", "Ġ ab"],
 *   },
 *   pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
 *   decoder: { type: "ByteLevel" },
 *   added_tokens: [{ id: 5, content: "<|endoftext|>", special: true }],
 * };
 * const tok = zn.data.text.BpeTokenizer.fromJson(JSON.stringify(json));
 * tok.encode("ab ab<|endoftext|>"); // [3, 4, 5]
 * tok.decode([3, 4, 5]); // "ab ab<|endoftext|>"
 * tok.decode([3, 4, 5], { skipSpecialTokens: true }); // "ab ab"
 * ```
 */
export class BpeTokenizer {
  /** The added tokens, by id. */
  readonly addedTokens: readonly AddedToken[];
  /** Whether a space is put before each piece of text that lacks one (`add_prefix_space`). */
  readonly addPrefixSpace: boolean;

  #vocab = new Map<string, number>();
  #vocabR = new Map<number, string>();
  /** (left id, right id) -> index into #mergeRank, keyed by `left * #keyBase + right`. */
  #merges = new Map<number, number>();
  #keyBase = 1;
  #mergeRank: number[] = [];
  #unkToken: string | null;
  #prefix: string | null;
  #suffix: string | null;
  #fuseUnk: boolean;
  #byteFallback: boolean;
  #ignoreMerges: boolean;
  #useRegex: boolean;
  #byteDecoder: boolean;
  /** The vocabulary id of each byte's character (-1 if absent), for words without prefix/suffix handling. */
  #byteIds = new Int32Array(256).fill(-1);
  #simpleBytes: boolean;
  #addedById = new Map<number, AddedToken>();
  #addedByContent = new Map<string, number>();
  #specialSet = new Set<string>();
  #plainAdded: AddedToken[];
  #normalizedAdded: AddedToken[];
  #cache = new Map<string, number[]>();
  #heap = new MergeHeap();
  #maxId = -1;
  #vocabSize: number;

  /**
   * A tokenizer from a parsed `tokenizer.json` (use
   * {@link BpeTokenizer.fromJson} for text).
   */
  constructor(config: Record<string, unknown>) {
    if (!isObject(config)) {
      bad("the tokenizer config", "an object (a parsed tokenizer.json)", config);
    }
    for (const key of ["truncation", "padding"]) {
      if (config[key] !== undefined && config[key] !== null) {
        throw new TypeError(`${OP}: ${key} is not supported; set "${key}" to null`);
      }
    }
    const normalizer = config.normalizer;
    if (normalizer !== undefined && normalizer !== null) {
      throw new TypeError(
        `${OP}: normalizers are not supported (got ${
          isObject(normalizer) ? JSON.stringify(normalizer.type) : "one"
        }); expected "normalizer": null`,
      );
    }
    // Pre-tokenizer: ByteLevel.
    const pre = config.pre_tokenizer;
    if (!isObject(pre) || pre.type !== "ByteLevel") {
      throw new TypeError(
        `${OP}: only a ByteLevel pre_tokenizer is supported, got ${
          isObject(pre)
            ? JSON.stringify(pre.type)
            : pre === null || pre === undefined
            ? "none"
            : "a non-object"
        }`,
      );
    }
    this.addPrefixSpace = optBool(pre, "add_prefix_space", "pre_tokenizer", true);
    this.#useRegex = optBool(pre, "use_regex", "pre_tokenizer", true);
    // Decoder: ByteLevel or none.
    const dec = config.decoder;
    if (dec !== undefined && dec !== null && (!isObject(dec) || dec.type !== "ByteLevel")) {
      throw new TypeError(
        `${OP}: only a ByteLevel decoder (or none) is supported, got ${
          isObject(dec) ? JSON.stringify(dec.type) : "a non-object"
        }`,
      );
    }
    this.#byteDecoder = dec !== undefined && dec !== null;
    const post = config.post_processor;
    if (post !== undefined && post !== null && (!isObject(post) || post.type !== "ByteLevel")) {
      throw new TypeError(
        `${OP}: only a ByteLevel post_processor (or none) is supported, got ${
          isObject(post) ? JSON.stringify(post.type) : "a non-object"
        }`,
      );
    }
    // Model: BPE.
    const model = config.model;
    if (!isObject(model)) bad("model", "an object", model);
    if (model.type !== undefined && model.type !== "BPE") {
      throw new TypeError(
        `${OP}: only a BPE model is supported, got ${JSON.stringify(model.type)}`,
      );
    }
    const dropout = model.dropout;
    if (dropout !== undefined && dropout !== null && dropout !== 0) {
      throw new TypeError(`${OP}: BPE dropout is not supported (got ${String(dropout)})`);
    }
    this.#unkToken = optString(model, "unk_token", "model");
    // An empty prefix or suffix (as GPT-2's file has) changes nothing.
    this.#prefix = optString(model, "continuing_subword_prefix", "model") || null;
    this.#suffix = optString(model, "end_of_word_suffix", "model") || null;
    this.#fuseUnk = optBool(model, "fuse_unk", "model", false);
    this.#byteFallback = optBool(model, "byte_fallback", "model", false);
    this.#ignoreMerges = optBool(model, "ignore_merges", "model", false);
    const vocab = model.vocab;
    if (!isObject(vocab)) bad("model.vocab", "an object of token ids", vocab);
    for (const [token, id] of Object.entries(vocab)) {
      const v = tokenId(id, `model.vocab[${JSON.stringify(token)}]`);
      this.#vocab.set(token, v);
      this.#vocabR.set(v, token);
      if (v > this.#maxId) this.#maxId = v;
    }
    this.#keyBase = this.#maxId + 1;
    if (this.#keyBase * this.#keyBase > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        `${OP}: model.vocab ids up to ${this.#maxId} are too large (at most 2^26)`,
      );
    }
    const merges = model.merges ?? [];
    if (!Array.isArray(merges)) bad("model.merges", "an array", merges);
    const prefixBytes = this.#prefix === null ? 0 : encoder.encode(this.#prefix).length;
    merges.forEach((m: unknown, rank: number) => {
      let a: unknown, b: unknown;
      if (typeof m === "string") {
        const parts = m.split(" ");
        if (parts.length !== 2) {
          throw new TypeError(`${OP}: merge ${rank} (${JSON.stringify(m)}) is not two tokens`);
        }
        [a, b] = parts;
      } else if (Array.isArray(m) && m.length === 2) {
        [a, b] = m;
      } else {
        bad(`model.merges[${rank}]`, 'a pair of tokens ("a b" or ["a", "b"])', m);
      }
      if (typeof a !== "string" || typeof b !== "string") {
        bad(`model.merges[${rank}]`, "a pair of strings", m);
      }
      const aId = this.#vocab.get(a), bId = this.#vocab.get(b);
      const merged = a + dropBytes(b, prefixBytes);
      const newId = this.#vocab.get(merged);
      for (const [t, id] of [[a, aId], [b, bId], [merged, newId]] as const) {
        if (id === undefined) {
          throw new RangeError(
            `${OP}: merge ${rank} uses token ${JSON.stringify(t)}, which is not in the vocabulary`,
          );
        }
      }
      this.#merges.set(aId! * this.#keyBase + bId!, this.#mergeRank.length);
      this.#mergeRank.push(rank, newId!);
    });
    if (this.#unkToken !== null && !this.#vocab.has(this.#unkToken)) {
      throw new RangeError(
        `${OP}: unk_token ${JSON.stringify(this.#unkToken)} is not in the vocabulary`,
      );
    }
    for (let b = 0; b < 256; b++) this.#byteIds[b] = this.#vocab.get(BYTE_TO_CHAR[b]) ?? -1;
    this.#simpleBytes = this.#prefix === null && this.#suffix === null;
    // Added tokens.
    const added = config.added_tokens ?? [];
    if (!Array.isArray(added)) bad("added_tokens", "an array", added);
    const list: AddedToken[] = [];
    added.forEach((t: unknown, i: number) => {
      const path = `added_tokens[${i}]`;
      if (!isObject(t)) bad(path, "an object", t);
      const content = t.content;
      if (typeof content !== "string") bad(`${path}.content`, "a string", content);
      const special = optBool(t, "special", path, false);
      const tok: AddedToken = Object.freeze({
        id: tokenId(t.id, `${path}.id`),
        content,
        special,
        singleWord: optBool(t, "single_word", path, false),
        lstrip: optBool(t, "lstrip", path, false),
        rstrip: optBool(t, "rstrip", path, false),
        normalized: optBool(t, "normalized", path, !special),
      });
      list.push(tok);
    });
    list.sort((x, y) => x.id - y.id);
    for (const t of list) {
      this.#addedById.set(t.id, t);
      this.#addedByContent.set(t.content, t.id);
      if (t.special) this.#specialSet.add(t.content);
      if (t.id > this.#maxId) this.#maxId = t.id;
    }
    this.addedTokens = Object.freeze(list);
    // The matching order of the package: special tokens, then the others.
    const matchable = [...list.filter((t) => t.special), ...list.filter((t) => !t.special)]
      .filter((t) => t.content !== "");
    this.#plainAdded = matchable.filter((t) => !t.normalized);
    this.#normalizedAdded = matchable.filter((t) => t.normalized);
    const all = new Set<string>(this.#vocab.keys());
    for (const t of list) all.add(t.content);
    this.#vocabSize = all.size;
  }

  /**
   * A tokenizer from the text of a `tokenizer.json`, or from the object it
   * parses to.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const tok = zn.data.text.BpeTokenizer.fromJson(
   *   '{"model": {"type": "BPE", "vocab": {"h": 0, "i": 1, "hi": 2}, "merges": ["h i"]},' +
   *     '"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}}',
   * );
   * tok.encode("hi"); // [2]
   * ```
   */
  static fromJson(json: string | Record<string, unknown>): BpeTokenizer {
    if (typeof json === "string") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch (e) {
        throw new SyntaxError(`${OP}.fromJson: the text is not JSON: ${(e as Error).message}`);
      }
      return new BpeTokenizer(parsed as Record<string, unknown>);
    }
    if (!isObject(json)) typeError(`${OP}.fromJson`, "json", "a string or an object", json);
    return new BpeTokenizer(json);
  }

  /**
   * A tokenizer from a `tokenizer.json` file (read synchronously; needs
   * `--allow-read`).
   *
   * @example
   * ```ts ignore
   * import * as zn from "@zeno/zeno";
   * const tok = zn.data.text.BpeTokenizer.fromFile("tokenizer.json");
   * console.log(tok.encode("Hello world"));
   * ```
   */
  static fromFile(path: string | URL): BpeTokenizer {
    checkPath(path, `${OP}.fromFile`);
    return BpeTokenizer.fromJson(Deno.readTextFileSync(path));
  }

  /** The number of distinct tokens, added ones included (`get_vocab_size()` of the package). */
  get vocabSize(): number {
    return this.#vocabSize;
  }

  /** The id of `token` (an added token or a model token in byte characters), or undefined. */
  tokenToId(token: string): number | undefined {
    checkString(token, `${OP}.tokenToId`, "token");
    return this.#addedByContent.get(token) ?? this.#vocab.get(token);
  }

  /** The token of `id` (an added token's text, or a model token in byte characters), or undefined. */
  idToToken(id: number): string | undefined {
    if (typeof id !== "number") typeError(`${OP}.idToToken`, "id", "an integer", id);
    return this.#addedById.get(id)?.content ?? this.#vocabR.get(id);
  }

  /** The token ids of `text`, as the `tokenizers` package's `encode(text).ids`. */
  encode(text: string): number[] {
    checkString(text, `${OP}.encode`, "text");
    const out: number[] = [];
    for (const [piece, id] of this.#splitAdded(text)) {
      if (id >= 0) {
        out.push(id);
        continue;
      }
      if (piece === "") continue;
      const s = this.addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
      if (!this.#useRegex) {
        this.#word(s, out);
        continue;
      }
      const re = GPT2_PATTERN;
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(s)) !== null) this.#word(m[0], out);
    }
    return out;
  }

  /** {@link BpeTokenizer.encode} as a 1-D int64 tensor. */
  encodeTensor(text: string): Tensor {
    return idTensor(this.encode(text));
  }

  /**
   * The text of `ids` (numbers, bigints or an integer tensor): the tokens'
   * byte characters read back as UTF-8 (invalid sequences as U+FFFD), added
   * tokens as their text. An id in neither vocabulary is a RangeError.
   */
  decode(ids: Iterable<number | bigint> | Tensor, opts?: BpeDecodeOptions): string {
    const op = `${OP}.decode`;
    checkOptions(op, opts, DECODE_KEYS);
    const skip = opts?.skipSpecialTokens ?? false;
    if (typeof skip !== "boolean") typeError(op, "skipSpecialTokens", "a boolean", skip);
    const list = readIds(ids, op, this.#maxId + 1);
    const tokens: string[] = [];
    for (let i = 0; i < list.length; i++) {
      const id = list[i];
      const token = this.#addedById.get(id)?.content ?? this.#vocabR.get(id);
      if (token === undefined) {
        throw new RangeError(`${op}: id ${id} at position ${i} is not in the vocabulary`);
      }
      if (skip && this.#specialSet.has(token)) continue;
      tokens.push(token);
    }
    if (!this.#byteDecoder) return tokens.join(" ");
    const bytes: number[] = [];
    for (const t of tokens) {
      let ok = true;
      const start = bytes.length;
      for (const c of t) {
        const b = CHAR_TO_BYTE.get(c);
        if (b === undefined) {
          ok = false;
          break;
        }
        bytes.push(b);
      }
      if (!ok) {
        // A token with a character outside the byte table: its own UTF-8 bytes.
        bytes.length = start;
        for (const b of encoder.encode(t)) bytes.push(b);
      }
    }
    return decoder.decode(Uint8Array.from(bytes));
  }

  /** The pieces of `text`: [piece, -1] for text, [content, id] for an added token. */
  #splitAdded(text: string): [string, number][] {
    let pieces: [string, number][] = [[text, -1]];
    for (const set of [this.#plainAdded, this.#normalizedAdded]) {
      if (set.length === 0) continue;
      const next: [string, number][] = [];
      for (const p of pieces) {
        if (p[1] >= 0) next.push(p);
        else this.#findMatches(p[0], set, next);
      }
      pieces = next;
    }
    return pieces;
  }

  /**
   * The package's `find_matches`: leftmost-longest non-overlapping matches
   * of `tokens` in `s`, a single-word token dropped where a word character
   * touches it, lstrip/rstrip widening the match over whitespace.
   */
  #findMatches(s: string, tokens: readonly AddedToken[], out: [string, number][]): void {
    const next = tokens.map((t) => s.indexOf(t.content));
    let from = 0, startOffset = 0;
    for (;;) {
      // The leftmost match, the longest of those starting there.
      let best = -1;
      for (let k = 0; k < tokens.length; k++) {
        if (next[k] >= 0 && next[k] < from) next[k] = s.indexOf(tokens[k].content, from);
        if (next[k] < 0) continue;
        if (
          best < 0 || next[k] < next[best] ||
          (next[k] === next[best] && tokens[k].content.length > tokens[best].content.length)
        ) best = k;
      }
      if (best < 0) break;
      const t = tokens[best];
      let start = next[best];
      let stop = start + t.content.length;
      from = stop;
      if (t.singleWord) {
        const startSpace = start === 0 || !isWordChar(s.codePointAt(codePointStart(s, start - 1))!);
        const stopSpace = stop === s.length || !isWordChar(s.codePointAt(stop)!);
        if (!startSpace || !stopSpace) continue;
      }
      if (t.lstrip) {
        let newStart = start;
        while (newStart > 0 && isSpace(s.charCodeAt(newStart - 1))) newStart--;
        start = Math.max(newStart, startOffset);
      }
      if (t.rstrip) { while (stop < s.length && isSpace(s.charCodeAt(stop))) stop++; }
      if (startOffset < start) out.push([s.slice(startOffset, start), -1]);
      out.push([s.slice(start, stop), t.id]);
      startOffset = stop;
    }
    if (startOffset !== s.length || s.length === 0) out.push([s.slice(startOffset), -1]);
  }

  /** Appends the ids of one pre-tokenized word. */
  #word(w: string, out: number[]): void {
    const cached = this.#cache.get(w);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) out.push(cached[i]);
      return;
    }
    const ids = this.#bpe(w);
    if (w.length < CACHE_MAX_WORD && this.#cache.size < CACHE_CAPACITY) this.#cache.set(w, ids);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** The BPE of one word: its bytes as symbols, merged in rank order. */
  #bpe(w: string): number[] {
    const bytes = encoder.encode(w);
    const n = bytes.length;
    if (this.#ignoreMerges) {
      let mapped = "";
      for (let i = 0; i < n; i++) mapped += BYTE_TO_CHAR[bytes[i]];
      const id = this.#vocab.get(mapped);
      if (id !== undefined) return [id];
    }
    // Symbols as a linked list: id, prev, next, length (0 once merged away).
    const c: number[] = [], len: number[] = [];
    let unkId = -1, unkLen = 0;
    const add = (id: number, l: number) => {
      c.push(id);
      len.push(l);
    };
    for (let i = 0; i < n; i++) {
      let id: number | undefined;
      let s: string | undefined;
      if (this.#simpleBytes) {
        const v = this.#byteIds[bytes[i]];
        id = v >= 0 ? v : undefined;
      } else {
        s = BYTE_TO_CHAR[bytes[i]];
        if (i > 0 && this.#prefix !== null) s = this.#prefix + s;
        if (i === n - 1 && this.#suffix !== null) s = s + this.#suffix;
        id = this.#vocab.get(s);
      }
      if (id !== undefined) {
        if (unkId >= 0) {
          add(unkId, unkLen);
          unkId = -1;
        }
        add(id, 1);
        continue;
      }
      s ??= BYTE_TO_CHAR[bytes[i]];
      if (this.#byteFallback) {
        const fb: number[] = [];
        for (const b of encoder.encode(s)) {
          const f = this.#vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (f === undefined) break;
          fb.push(f);
        }
        if (fb.length === encoder.encode(s).length) {
          for (const f of fb) add(f, 1);
          continue;
        }
      }
      if (this.#unkToken !== null) {
        const u = this.#vocab.get(this.#unkToken)!;
        if (unkId >= 0 && this.#fuseUnk) unkLen += 1;
        else {
          if (unkId >= 0) add(unkId, unkLen);
          unkId = u;
          unkLen = 1;
        }
      }
    }
    if (unkId >= 0) add(unkId, unkLen);
    const m = c.length;
    if (m < 2) return c;
    const prev = new Int32Array(m), next = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < m ? i + 1 : -1;
    }
    const merges = this.#merges, info = this.#mergeRank, base = this.#keyBase;
    const heap = this.#heap;
    heap.clear();
    for (let i = 0; i + 1 < m; i++) {
      const k = merges.get(c[i] * base + c[i + 1]);
      if (k !== undefined) heap.push(info[k], i, info[k + 1]);
    }
    while (heap.size > 0) {
      const slot = heap.pop();
      const pos = heap.pos[slot], newId = heap.newId[slot];
      if (len[pos] === 0) continue;
      const right = next[pos];
      if (right === -1) continue;
      const k = merges.get(c[pos] * base + c[right]);
      if (k === undefined || info[k + 1] !== newId) continue; // an expired entry
      c[pos] = newId;
      len[pos] += len[right];
      next[pos] = next[right];
      len[right] = 0;
      if (next[right] !== -1) prev[next[right]] = pos;
      const p = prev[pos];
      if (p >= 0) {
        const kp = merges.get(c[p] * base + c[pos]);
        if (kp !== undefined) heap.push(info[kp], p, info[kp + 1]);
      }
      const nx = next[pos];
      if (nx !== -1) {
        const kn = merges.get(c[pos] * base + c[nx]);
        if (kn !== undefined) heap.push(info[kn], pos, info[kn + 1]);
      }
    }
    const result: number[] = [];
    for (let i = 0; i < m; i++) if (len[i] !== 0) result.push(c[i]);
    return result;
  }
}
