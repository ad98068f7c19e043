// zn.data.text: the BPE tokenizer against the Hugging Face `tokenizers`
// package (tests/fixtures/text/, made by make_text_fixtures.py: a GPT-2-style
// byte-level BPE trained offline, its tokenizer.json and the package's ids
// for varied strings), the character and byte vocabularies, and the token
// window dataset with the DataLoader.
import * as zn from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

const { BpeTokenizer, ByteVocab, CharVocab, TokenWindowDataset } = zn.data.text;
const dir = new URL("./fixtures/text/", import.meta.url);
const tokenizerJson = Deno.readTextFileSync(new URL("tokenizer.json", dir));
interface Case {
  text: string;
  ids: number[];
  decoded?: string;
  decodedSkipSpecial?: string;
}
const fx = JSON.parse(Deno.readTextFileSync(new URL("bpe_cases.json", dir))) as {
  vocab_size: number;
  cases: Case[];
  prefix_space_cases: { text: string; ids: number[] }[];
  decode_cases: { ids: number[]; text: string }[];
  tokenizers: Record<string, Record<string, unknown>>;
  variant_texts: string[];
  variants: { name: string; tokenizer: string | null; model: object; ids: number[][] }[];
};

Deno.test("text: BpeTokenizer gives the tokenizers package's ids, and decodes back", () => {
  const tok = BpeTokenizer.fromJson(tokenizerJson);
  assertEquals(tok.vocabSize, fx.vocab_size);
  assert(fx.cases.length > 200);
  for (const c of fx.cases) {
    assertEquals(tok.encode(c.text), c.ids, JSON.stringify(c.text));
    assertEquals(tok.decode(c.ids), c.decoded ?? c.text, `decode ${JSON.stringify(c.text)}`);
    assertEquals(
      tok.decode(c.ids, { skipSpecialTokens: true }),
      c.decodedSkipSpecial ?? c.text,
      `decode skipping special tokens ${JSON.stringify(c.text)}`,
    );
  }
  // Round trips wherever no added token took whitespace.
  const plain = fx.cases.filter((c) => c.decoded === undefined);
  assert(plain.length > 200);
  for (const c of plain) assertEquals(tok.decode(tok.encode(c.text)), c.text);
  // Ids split inside a character decode to U+FFFD, as the package does.
  for (const c of fx.decode_cases) assertEquals(tok.decode(c.ids), c.text);
});

Deno.test("text: BpeTokenizer with add_prefix_space", () => {
  const config = JSON.parse(tokenizerJson);
  config.pre_tokenizer.add_prefix_space = true;
  const tok = BpeTokenizer.fromJson(config);
  assert(tok.addPrefixSpace);
  for (const c of fx.prefix_space_cases) {
    assertEquals(tok.encode(c.text), c.ids, JSON.stringify(c.text));
  }
});

Deno.test("text: BpeTokenizer model options: ignore_merges, unk_token, fuse_unk, byte_fallback, affixes", () => {
  for (const v of fx.variants) {
    const config = structuredClone(
      v.tokenizer === null ? JSON.parse(tokenizerJson) : fx.tokenizers[v.tokenizer],
    ) as { model: Record<string, unknown> };
    Object.assign(config.model, v.model);
    const tok = BpeTokenizer.fromJson(config);
    fx.variant_texts.forEach((text, i) => {
      assertEquals(tok.encode(text), v.ids[i], `${v.name}: ${JSON.stringify(text)}`);
    });
  }
});

Deno.test("text: BpeTokenizer lookups, tensors, merges as strings or pairs", () => {
  const tok = BpeTokenizer.fromJson(tokenizerJson);
  assertEquals(tok.tokenToId("<|endoftext|>"), 0);
  assertEquals(tok.idToToken(0), "<|endoftext|>");
  assertEquals(tok.tokenToId("no such token"), undefined);
  assertEquals(tok.idToToken(1e9), undefined);
  assertEquals(tok.addedTokens.map((t) => t.content), [
    "<|endoftext|>",
    "<|pad|>",
    "[MASK]",
    "zeno_token",
  ]);
  const t = tok.encodeTensor("Hello world");
  assertEquals([t.dtype, t.toArray()], ["int64", tok.encode("Hello world")]);
  assertEquals(tok.decode(t), "Hello world");
  assertEquals(tok.decode([40n, 370n]), tok.decode([40, 370]));
  assertEquals(
    BpeTokenizer.fromFile(new URL("tokenizer.json", dir)).encode("Hello world"),
    tok.encode("Hello world"),
  );
  assertThrows(() => BpeTokenizer.fromFile(new URL("missing.json", dir)), Deno.errors.NotFound);
  // The same tokenizer with merges written "a b" instead of ["a", "b"].
  const config = JSON.parse(tokenizerJson);
  config.model.merges = config.model.merges.map((m: string[]) => m.join(" "));
  const tok2 = BpeTokenizer.fromJson(config);
  for (const c of fx.cases.slice(0, 60)) assertEquals(tok2.encode(c.text), c.ids);
  // Without a decoder, tokens are joined by spaces (as the package does).
  const noDecoder = BpeTokenizer.fromJson({ ...JSON.parse(tokenizerJson), decoder: null });
  assertEquals(noDecoder.decode(tok.encode("a b")), "a Ġb");
});

Deno.test("text: BpeTokenizer refuses what it does not support, and bad input, clearly", () => {
  const base = () => JSON.parse(tokenizerJson);
  const withKey = (path: string[], value: unknown) => {
    const c = base();
    let o = c;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path[path.length - 1]] = value;
    return c;
  };
  assertThrows(() => BpeTokenizer.fromJson("{"), SyntaxError, "not JSON");
  assertThrows(() => BpeTokenizer.fromJson(3 as never), TypeError, "json");
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["normalizer"], { type: "NFC" })),
    TypeError,
    "normalizer",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["pre_tokenizer"], { type: "Whitespace" })),
    TypeError,
    "ByteLevel pre_tokenizer",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["decoder"], { type: "WordPiece" })),
    TypeError,
    "decoder",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["post_processor"], { type: "TemplateProcessing" })),
    TypeError,
    "post_processor",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "type"], "WordPiece")),
    TypeError,
    "BPE",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "dropout"], 0.1)),
    TypeError,
    "dropout",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["truncation"], { max_length: 5 })),
    TypeError,
    "truncation",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "vocab"], [])),
    TypeError,
    "model.vocab",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "vocab", "a"], -1)),
    TypeError,
    "token id",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "merges"], [["zz", "q"]])),
    RangeError,
    "not in the vocabulary",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "merges"], ["a b c"])),
    TypeError,
    "two tokens",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["model", "unk_token"], "<nope>")),
    RangeError,
    "unk_token",
  );
  assertThrows(
    () => BpeTokenizer.fromJson(withKey(["added_tokens"], [{ id: 5 }])),
    TypeError,
    "content",
  );
  const tok = BpeTokenizer.fromJson(base());
  assertThrows(() => tok.encode(5 as never), TypeError, "text");
  assertThrows(() => tok.decode([1e6]), RangeError, "not in the vocabulary");
  assertThrows(() => tok.decode([1.5]), RangeError, "1.5");
  assertThrows(() => tok.decode("abc" as never), TypeError, "ids");
  assertThrows(() => tok.decode(zn.tensor([1.0])), TypeError, "integer tensor");
  assertThrows(
    () => tok.decode([1], { skip_special_tokens: true } as never),
    TypeError,
    "skipSpecialTokens",
  );
});

Deno.test("text: the tokenizer's speed on ~100 KB of text (informative)", () => {
  const text = Deno.readTextFileSync(new URL("train.txt", dir)).repeat(4).slice(0, 100_000);
  const tok = BpeTokenizer.fromJson(tokenizerJson);
  const t0 = performance.now();
  const n = tok.encode(text).length;
  const ms = performance.now() - t0;
  assert(n > 10_000);
  assert(ms < 10_000, `${ms} ms`);
});

Deno.test("text: CharVocab", () => {
  const v = CharVocab.fromText("hello world 😀é");
  assertEquals(v.chars, [" ", "d", "e", "h", "l", "o", "r", "w", "é", "😀"]);
  assertEquals(v.size, 10);
  const ids = v.encode("hello 😀");
  assertEquals(ids, [3, 2, 4, 4, 5, 0, 9]);
  assertEquals(v.decode(ids), "hello 😀");
  assertEquals(v.decode(v.encodeTensor("world")), "world");
  assertEquals(v.encodeTensor("dew").dtype, "int64");
  // Code point order, as Python's sorted(set(text)): U+FF01 before U+1F600.
  assertEquals(CharVocab.fromText("😀！a").chars, ["a", "！", "😀"]);
  assertEquals(new CharVocab("cab").encode("abc"), [1, 2, 0]);
  assertEquals(new CharVocab(["x", "y"]).decode([1n, 0n]), "yx");
  assertThrows(() => v.encode("hello?"), RangeError, '"?"');
  assertThrows(() => v.decode([10]), RangeError, "not in the vocabulary");
  assertThrows(() => v.decode([-1]), RangeError, "-1");
  assertThrows(() => new CharVocab(["a", "a"]), RangeError, "twice");
  assertThrows(() => new CharVocab(["ab"]), TypeError, "one character");
  assertThrows(() => new CharVocab(3 as never), TypeError, "chars");
  assertThrows(() => CharVocab.fromText(null as never), TypeError, "text");
});

Deno.test("text: ByteVocab", () => {
  const v = new ByteVocab();
  assertEquals(v.size, 256);
  assertEquals(v.encode("hé😀"), [104, 195, 169, 240, 159, 152, 128]);
  assertEquals(v.decode(v.encode("hé😀")), "hé😀");
  assertEquals(v.decode(v.encodeTensor("abc")), "abc");
  assertEquals(v.decode([0xf0, 0x9f]), "\uFFFD");
  assertEquals(v.decode([0xff, 0x61]), "\uFFFDa");
  assertThrows(() => v.decode([256]), RangeError, "256");
});

Deno.test("text: TokenWindowDataset windows, targets shifted by one, with the DataLoader", () => {
  const tokens = zn.arange(20);
  const ds = new TokenWindowDataset(tokens, 4);
  assertEquals([ds.length, ds.blockSize, ds.stride, ds.numTokens], [4, 4, 4, 20]);
  const [x, y] = ds.get(1);
  assertEquals([x.dtype, x.toArray(), y.toArray()], ["int64", [4, 5, 6, 7], [5, 6, 7, 8]]);
  assertEquals(ds.get(-1)[1].toArray(), [13, 14, 15, 16]);
  const dense = new TokenWindowDataset([0, 1, 2, 3, 4, 5], 3, { stride: 1 });
  assertEquals(dense.length, 3);
  assertEquals(dense.get(2).map((t) => t.toArray()), [[2, 3, 4], [3, 4, 5]]);
  assertEquals(new TokenWindowDataset([0, 1, 2], 3).length, 0);
  assertEquals(new TokenWindowDataset([0n, 1n, 2n, 3n], 3).length, 1);
  assertEquals(new TokenWindowDataset(new Int32Array([5, 6, 7]), 2).get(0)[1].toArray(), [6, 7]);
  // Batches through the DataLoader: [inputs, targets] of [batch, blockSize].
  const loader = new zn.data.DataLoader(ds, {
    batchSize: 3,
    shuffle: true,
    generator: new zn.Generator(0),
  });
  const seen: number[] = [];
  for (const [xs, ys] of loader) {
    assertEquals([xs.dtype, ys.dtype], ["int64", "int64"]);
    assertEquals(xs.shape[1], 4);
    assert(ys.sub(xs).eq(1).all().item() as boolean);
    seen.push(...(xs.index(":", 0).toArray() as number[]));
  }
  assertEquals(seen.sort((a, b) => a - b), [0, 4, 8, 12]);
  // The same batches as collating the samples one by one.
  const [bx, by] = ds.getBatch([3, 0]);
  assertEquals(bx.toArray(), [[12, 13, 14, 15], [0, 1, 2, 3]]);
  assertEquals(by.toArray(), [[13, 14, 15, 16], [1, 2, 3, 4]]);
  // A character-level corpus end to end.
  const text = "to be or not to be";
  const vocab = CharVocab.fromText(text);
  const chars = new TokenWindowDataset(vocab.encodeTensor(text), 5, { stride: 2 });
  const [cx, cy] = chars.get(1);
  assertEquals([vocab.decode(cx), vocab.decode(cy)], [" be o", "be or"]);
});

Deno.test("text: TokenWindowDataset argument errors", () => {
  assertThrows(() => new TokenWindowDataset(zn.arange(10), 0), RangeError, "blockSize");
  assertThrows(() => new TokenWindowDataset(zn.arange(10), 2, { stride: 0 }), RangeError, "stride");
  assertThrows(
    () => new TokenWindowDataset(zn.arange(10), 2, { step: 1 } as never),
    TypeError,
    "stride",
  );
  assertThrows(
    () => new TokenWindowDataset(zn.arange(10).reshape(2, 5), 2),
    TypeError,
    "1-D integer",
  );
  assertThrows(() => new TokenWindowDataset(zn.ones([10]), 2), TypeError, "1-D integer");
  assertThrows(() => new TokenWindowDataset([1, -1, 2], 1), RangeError, "-1");
  assertThrows(() => new TokenWindowDataset([1, 0.5], 1), RangeError, "0.5");
  assertThrows(() => new TokenWindowDataset("abc" as never, 1), TypeError, "tokens");
  const ds = new TokenWindowDataset(zn.arange(10), 3);
  assertThrows(() => ds.get(3), RangeError, "out of range");
  assertThrows(() => ds.get(1.5), TypeError, "index");
  assertThrows(() => ds.getBatch([0, 7]), RangeError, "out of range");
});
