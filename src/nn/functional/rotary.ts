/**
 * Rotary position embeddings (RoPE).
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { tensor } from "../../ops/creation.ts";
import { cat, stack } from "../../ops/join.ts";
import { fmtShape, numel } from "../../shape.ts";
import { checkFlag, checkOptions, optionKeys } from "../../options.ts";
import { checkNumber, checkTensor, typeError } from "../../args.ts";

/**
 * Options of {@link rotaryEmbedding}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.functional.RotaryEmbeddingOptions = { base: 500000, positions: [4, 5, 6] };
 * zn.nn.functional.rotaryEmbedding(zn.randn([2, 3, 8]), opts).shape; // [2, 3, 8]
 * ```
 */
export interface RotaryEmbeddingOptions {
  /** The base of the frequencies θᵢ = base^(-2i/D) (default 10000). */
  base?: number;
  /**
   * The position of each row, shape `[L]` or broadcastable with the input's
   * leading dims as `[..., L]` (a tensor of any real dtype, or numbers);
   * default 0, 1, ..., L - 1.
   */
  positions?: Tensor | readonly number[];
  /**
   * Rotate adjacent pairs (x₀, x₁), (x₂, x₃), ... (the GPT-J / RoFormer
   * layout) instead of the two halves (default false).
   */
  interleaved?: boolean;
}

const ROTARY_KEYS = optionKeys<RotaryEmbeddingOptions>({ base: 0, positions: 0, interleaved: 0 });
const OP = "rotaryEmbedding";

/**
 * Rotary position embeddings of `x` `[..., L, D]` (D even): feature pair i
 * of the row at position p is rotated by the angle p·θᵢ, θᵢ = base^(-2i/D).
 * By default the pairs are (xᵢ, xᵢ₊D/2), the two halves of the features as in
 * GPT-NeoX and LLaMA (Hugging Face's `rotate_half`):
 * `out = cat(x₁ cos − x₂ sin, x₂ cos + x₁ sin)` with x₁, x₂ the halves; with
 * `interleaved` they are adjacent features. Angles are computed in float64
 * and cast to x's dtype. Apply it to queries and keys (`[batch, heads, L, D]`)
 * before attention: their dot products then depend on relative positions only.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const F = zn.nn.functional;
 * const q = zn.randn([2, 4, 16, 8]), k = zn.randn([2, 4, 16, 8]); // [batch, heads, L, D]
 * const out = F.scaledDotProductAttention(F.rotaryEmbedding(q), F.rotaryEmbedding(k), k);
 * out.shape; // [2, 4, 16, 8]
 * ```
 */
export function rotaryEmbedding(x: Tensor, opts: RotaryEmbeddingOptions = {}): Tensor {
  checkTensor(x, OP, "x");
  checkOptions(OP, opts, ROTARY_KEYS);
  const base = opts.base ?? 10000;
  checkNumber(base, OP, "base");
  if (!(base > 0 && Number.isFinite(base))) {
    throw new RangeError(`${OP}: expected base to be a positive finite number, got ${base}`);
  }
  const interleaved = opts.interleaved ?? false;
  checkFlag(OP, "interleaved", interleaved);
  if (x.ndim < 2) {
    throw new RangeError(`${OP}: expected x of shape [..., L, D], got ${fmtShape(x.shape)}`);
  }
  const dtype = x.dtype;
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "float16" && dtype !== "bfloat16") {
    throw new TypeError(`${OP}: expected a floating x, got ${dtype}`);
  }
  const D = x.shape[x.ndim - 1], L = x.shape[x.ndim - 2], half = D / 2;
  if (D % 2 !== 0) {
    throw new RangeError(`${OP}: expected an even last dim, got x of shape ${fmtShape(x.shape)}`);
  }
  // The positions and their shape.
  let pos: ArrayLike<number>, pShape: number[];
  const given = opts.positions;
  if (given === undefined) {
    pos = Float64Array.from({ length: L }, (_, i) => i);
    pShape = [L];
  } else if (given instanceof Tensor) {
    if (given.dtype === "bool") throw new TypeError(`${OP}: positions must be numbers, got bool`);
    pShape = given.shape.slice();
    pos = Array.from(given.toTypedArray() as ArrayLike<number | bigint>, Number);
  } else if (Array.isArray(given)) {
    given.forEach((p, i) => checkNumber(p, OP, `positions[${i}]`));
    pos = given as readonly number[];
    pShape = [given.length];
  } else {
    typeError(OP, "positions", "a Tensor or an array of numbers", given);
  }
  const rows = x.shape.slice(0, -1);
  const tableShape = [...pShape, half];
  const target = [...rows, half];
  const off = target.length - tableShape.length;
  if (
    pShape.length === 0 || off < 0 ||
    tableShape.some((s, i) => s !== 1 && s !== target[off + i])
  ) {
    throw new RangeError(
      `${OP}: positions of shape ${fmtShape(pShape)} do not broadcast to x's rows ${
        fmtShape(rows)
      }`,
    );
  }
  const n = numel(pShape);
  const cosT = new Float64Array(n * half), sinT = new Float64Array(n * half);
  const theta = Float64Array.from({ length: half }, (_, i) => Math.pow(base, (-2 * i) / D));
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < half; i++) {
      const a = pos[r] * theta[i];
      cosT[r * half + i] = Math.cos(a);
      sinT[r * half + i] = Math.sin(a);
    }
  }
  const table = (t: Float64Array) =>
    tensor(t, { shape: tableShape, dtype: "float64", device: x.device }).to(dtype);
  const c = table(cosT), s = table(sinT);
  if (interleaved) {
    const pairs = x.unflatten(-1, [half, 2]);
    const x1 = pairs.select(-1, 0), x2 = pairs.select(-1, 1);
    return stack([x1.mul(c).sub(x2.mul(s)), x2.mul(c).add(x1.mul(s))], -1).flatten(-2);
  }
  const x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return cat([x1.mul(c).sub(x2.mul(s)), x2.mul(c).add(x1.mul(s))], -1);
}
