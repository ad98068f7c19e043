/**
 * {@link TokenWindowDataset}: fixed-length windows of a token stream, the
 * inputs and next-token targets of language-model training.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { isIntegral } from "../../dtype.ts";
import { tensor } from "../../ops/creation.ts";
import { Dataset } from "../dataset.ts";
import { checkOptions, optionKeys } from "../../options.ts";
import { checkIntArg, typeError } from "../../args.ts";

/**
 * Options of {@link TokenWindowDataset}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.text.TokenWindowOptions = { stride: 1 };
 * new zn.data.text.TokenWindowDataset([0, 1, 2, 3, 4, 5], 4, opts).length; // 2
 * ```
 */
export interface TokenWindowOptions {
  /** Tokens between the starts of consecutive windows (default `blockSize`: windows that do not overlap). */
  stride?: number;
}

const WINDOW_KEYS = optionKeys<TokenWindowOptions>({ stride: 0 });

/**
 * Windows of a token stream for next-token prediction: sample `i` is
 * `[input, target]`, two int64 tensors of shape `[blockSize]`, the input
 * being the tokens from `i * stride` and the target the same window shifted
 * by one token. A window needs `blockSize + 1` tokens, so there are
 * `floor((n - blockSize - 1) / stride) + 1` samples of `n` tokens (0 when
 * `n <= blockSize`). `tokens` is a 1-D integer tensor, an array of
 * non-negative integers (numbers or bigints) or an integer typed array; it
 * is copied. With a `zn.data.DataLoader`, batches are `[inputs, targets]` of
 * shape `[batchSize, blockSize]`, gathered in one step per batch
 * (`getBatch`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { text, DataLoader } = zn.data;
 * const vocab = text.CharVocab.fromText("hello world, hello zeno");
 * const ds = new text.TokenWindowDataset(vocab.encodeTensor("hello world, hello zeno"), 8);
 * ds.length; // 2
 * const [x, y] = ds.get(0);
 * vocab.decode(x); // "hello wo"
 * vocab.decode(y); // "ello wor"
 * for (const [xs, ys] of new DataLoader(ds, { batchSize: 2 })) {
 *   [xs.shape, ys.dtype]; // [[2, 8], "int64"]
 * }
 * ```
 */
export class TokenWindowDataset extends Dataset<[Tensor, Tensor]> {
  /** Tokens per window. */
  readonly blockSize: number;
  /** Tokens between the starts of consecutive windows. */
  readonly stride: number;
  #tokens: BigInt64Array;

  /** Windows of `blockSize` tokens of `tokens`, `stride` apart. */
  constructor(
    tokens: Tensor | readonly (number | bigint)[] | ArrayLike<number | bigint>,
    blockSize: number,
    opts?: TokenWindowOptions,
  ) {
    super();
    const op = "TokenWindowDataset";
    if (typeof blockSize !== "number") typeError(op, "blockSize", "an integer", blockSize);
    checkIntArg(blockSize, op, "blockSize", 1);
    checkOptions(op, opts, WINDOW_KEYS);
    const stride = opts?.stride ?? blockSize;
    if (typeof stride !== "number") typeError(op, "stride", "an integer", stride);
    checkIntArg(stride, op, "stride", 1);
    this.#tokens = readTokens(tokens, op);
    this.blockSize = blockSize;
    this.stride = stride;
  }

  /** The number of tokens. */
  get numTokens(): number {
    return this.#tokens.length;
  }

  /** The number of windows. */
  get length(): number {
    const n = this.#tokens.length - this.blockSize - 1;
    return n < 0 ? 0 : Math.floor(n / this.stride) + 1;
  }

  /** Window `i` (negative counts from the end): `[input, target]`, int64 `[blockSize]` each. */
  get(i: number): [Tensor, Tensor] {
    const start = this.#start(i, "TokenWindowDataset.get");
    const t = this.#tokens, b = this.blockSize;
    return [tensor(t.slice(start, start + b)), tensor(t.slice(start + 1, start + b + 1))];
  }

  /** The windows at `indices` stacked: `[inputs, targets]`, int64 `[indices.length, blockSize]` each. */
  override getBatch(indices: readonly number[]): [Tensor, Tensor] {
    const op = "TokenWindowDataset.getBatch";
    if (!Array.isArray(indices)) typeError(op, "indices", "an array of integers", indices);
    const b = this.blockSize, t = this.#tokens;
    const x = new BigInt64Array(indices.length * b), y = new BigInt64Array(indices.length * b);
    for (let k = 0; k < indices.length; k++) {
      const start = this.#start(indices[k], op);
      x.set(t.subarray(start, start + b), k * b);
      y.set(t.subarray(start + 1, start + b + 1), k * b);
    }
    return [tensor(x, { shape: [indices.length, b] }), tensor(y, { shape: [indices.length, b] })];
  }

  #start(i: number, op: string): number {
    const n = this.length;
    if (typeof i !== "number" || !Number.isInteger(i)) typeError(op, "index", "an integer", i);
    const j = i < 0 ? i + n : i;
    if (j < 0 || j >= n) throw new RangeError(`${op}: index ${i} is out of range for length ${n}`);
    return j * this.stride;
  }
}

function readTokens(tokens: unknown, op: string): BigInt64Array {
  if (tokens instanceof Tensor) {
    if (tokens.isDisposed) typeError(op, "tokens", "a live Tensor", tokens);
    if (tokens.ndim !== 1 || !isIntegral(tokens.dtype)) {
      throw new TypeError(
        `${op}: expected tokens to be a 1-D integer tensor, got a ${tokens.ndim}-D ${tokens.dtype} tensor`,
      );
    }
    const a = tokens.to("int64").toTypedArray() as BigInt64Array;
    for (let i = 0; i < a.length; i++) {
      if (a[i] < 0n) throw new RangeError(`${op}: token ${a[i]} at position ${i} is negative`);
    }
    return a;
  }
  const isArrayLike = Array.isArray(tokens) ||
    (ArrayBuffer.isView(tokens) && !(tokens instanceof DataView));
  if (!isArrayLike) {
    typeError(op, "tokens", "a 1-D integer tensor or an array of token ids", tokens);
  }
  const src = tokens as ArrayLike<unknown>;
  const out = new BigInt64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (typeof v === "bigint") {
      if (v < 0n || v > 0x7fffffffffffffffn) {
        throw new RangeError(`${op}: token ${v}n at position ${i} is not a non-negative int64`);
      }
      out[i] = v;
    } else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) {
      out[i] = BigInt(v);
    } else {
      throw new RangeError(
        `${op}: token ${String(v)} at position ${i} is not a non-negative integer`,
      );
    }
  }
  return out;
}
