/**
 * `MultiheadAttention`, with PyTorch's parameters, masks and shapes.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { empty, zeros } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { fmtShape } from "../shape.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { Linear } from "./linear.ts";
import { linear } from "./functional/linear.ts";
import { attention, attentionComposed } from "./functional/attention_kernels.ts";
import { xavierNormal_, xavierUniform_ } from "./init.ts";
import { renamed } from "./torch_names.ts";
import { checkFlag, checkOptions, optionKeys } from "../options.ts";
import { checkNumber, checkOptionalTensor, checkSizeArg, checkTensor } from "../args.ts";

/**
 * Options of {@link MultiheadAttention}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.MultiheadAttentionOptions = { batchFirst: true, kdim: 6, vdim: 4 };
 * const mha = new zn.nn.MultiheadAttention(8, 2, opts);
 * Object.keys(mha.stateDict()); // ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
 * ```
 */
export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Learn biases of the input and output projections (default true). */
  bias?: boolean;
  /** Learn a key and a value (`bias_k`, `bias_v`) appended to every sequence (default false). */
  addBiasKv?: boolean;
  /** Append a zero key and value to every sequence (default false). */
  addZeroAttn?: boolean;
  /** The keys' feature size (default embedDim). */
  kdim?: number | null;
  /** The values' feature size (default embedDim). */
  vdim?: number | null;
  /** Inputs and output are `[batch, seq, feature]` instead of `[seq, batch, feature]` (default false). */
  batchFirst?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

/**
 * Options of {@link MultiheadAttention.forward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const mha = new zn.nn.MultiheadAttention(8, 2, { batchFirst: true });
 * const x = zn.randn([3, 5, 8]);
 * const opts: zn.nn.MultiheadAttentionCallOptions = {
 *   keyPaddingMask: zn.tensor([[false, false, false, true, true]]).expand(3, 5), // true = padding
 *   averageAttnWeights: false,
 * };
 * const [out, weights] = mha.call(x, x, x, opts);
 * [out.shape, weights?.shape]; // [[3, 5, 8], [3, 2, 5, 5]]
 * ```
 */
export interface MultiheadAttentionCallOptions {
  /**
   * `[batch, S]` (or `[S]` unbatched): bool, true = the key is padding and is
   * ignored; or float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights (default true). */
  needWeights?: boolean;
  /**
   * `[L, S]` or `[batch * numHeads, L, S]`: bool, true = the query may NOT
   * attend to the key (the opposite of scaledDotProductAttention's bool
   * masks, as in PyTorch); or float, added to the scores.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads (default true). */
  averageAttnWeights?: boolean;
  /**
   * A hint that `attnMask` (which must be given) is the causal mask; without
   * weights and a key padding mask the causal mask is then applied in its
   * place (default false).
   */
  isCausal?: boolean;
}

const MHA_KEYS = optionKeys<MultiheadAttentionOptions>({
  dropout: 0,
  bias: 0,
  addBiasKv: 0,
  addZeroAttn: 0,
  kdim: 0,
  vdim: 0,
  batchFirst: 0,
  dtype: 0,
});
const CALL_KEYS = optionKeys<MultiheadAttentionCallOptions>({
  keyPaddingMask: 0,
  needWeights: 0,
  attnMask: 0,
  averageAttnWeights: 0,
  isCausal: 0,
});
const NAMES: Record<string, string> = {
  inProjWeight: "in_proj_weight",
  qProjWeight: "q_proj_weight",
  kProjWeight: "k_proj_weight",
  vProjWeight: "v_proj_weight",
  inProjBias: "in_proj_bias",
  biasK: "bias_k",
  biasV: "bias_v",
  outProj: "out_proj",
};
const OP = "MultiheadAttention";

/**
 * Multi-head attention, as PyTorch's `nn.MultiheadAttention`: the query, key
 * and value are projected, split into `numHeads` heads of `embedDim /
 * numHeads` features, attended with scaled dot products and projected back.
 * Parameters and state-dict names are PyTorch's: `in_proj_weight`
 * `[3 embedDim, embedDim]` (or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim or vdim differ from embedDim), `in_proj_bias`,
 * `out_proj.weight`, `out_proj.bias` (and `bias_k`, `bias_v`). `call(query,
 * key, value, opts)` returns `[output, weights]`: output `[L, batch,
 * embedDim]` (`[batch, L, embedDim]` with batchFirst, `[L, embedDim]`
 * unbatched) and the weights `[batch, L, S]` averaged over heads, `[batch,
 * numHeads, L, S]` otherwise, or null without `needWeights`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const mha = new zn.nn.MultiheadAttention(16, 4);
 * const x = zn.randn([10, 2, 16]); // [L, batch, embedDim]
 * const causal = zn.nn.Transformer.generateSquareSubsequentMask(10);
 * const [out, weights] = mha.call(x, x, x, { attnMask: causal });
 * [out.shape, weights?.shape]; // [[10, 2, 16], [2, 10, 10]]
 * ```
 */
export class MultiheadAttention extends Module {
  /** The model's feature size. */
  readonly embedDim: number;
  /** The keys' feature size. */
  readonly kdim: number;
  /** The values' feature size. */
  readonly vdim: number;
  /** The number of heads. */
  readonly numHeads: number;
  /** Features per head, `embedDim / numHeads`. */
  readonly headDim: number;
  /** Dropout probability on the attention weights in training mode. */
  dropout: number;
  /** Whether inputs and output are batch-first. */
  readonly batchFirst: boolean;
  /** Whether a zero key and value are appended. */
  readonly addZeroAttn: boolean;
  /** The packed q, k, v projection `[3 embedDim, embedDim]` (`in_proj_weight`), or null. */
  inProjWeight: Parameter | null;
  /** The query projection `[embedDim, embedDim]` (`q_proj_weight`) when kdim or vdim differ. */
  qProjWeight: Parameter | null;
  /** The key projection `[embedDim, kdim]` (`k_proj_weight`) when kdim or vdim differ. */
  kProjWeight: Parameter | null;
  /** The value projection `[embedDim, vdim]` (`v_proj_weight`) when kdim or vdim differ. */
  vProjWeight: Parameter | null;
  /** The packed q, k, v projection bias `[3 embedDim]` (`in_proj_bias`), or null. */
  inProjBias: Parameter | null;
  /** The learnt key appended to the keys, `[1, 1, embedDim]` (`bias_k`), or null. */
  biasK: Parameter | null;
  /** The learnt value appended to the values, `[1, 1, embedDim]` (`bias_v`), or null. */
  biasV: Parameter | null;
  /** The output projection (`out_proj`). */
  outProj: Linear;

  /** Attention over `embedDim` features in `numHeads` heads. */
  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    checkSizeArg(embedDim, OP, "embedDim");
    checkSizeArg(numHeads, OP, "numHeads");
    checkOptions(OP, opts, MHA_KEYS);
    const dropout = opts.dropout ?? 0;
    checkNumber(dropout, OP, "dropout");
    if (!(dropout >= 0 && dropout <= 1)) {
      throw new RangeError(
        `${OP}: dropout probability has to be between 0 and 1, but got ${dropout}`,
      );
    }
    const kdim = opts.kdim ?? embedDim, vdim = opts.vdim ?? embedDim;
    checkSizeArg(kdim, OP, "kdim");
    checkSizeArg(vdim, OP, "vdim");
    for (const k of ["bias", "addBiasKv", "addZeroAttn", "batchFirst"] as const) {
      if (opts[k] !== undefined) checkFlag(OP, k, opts[k]);
    }
    if (embedDim % numHeads !== 0) {
      throw new RangeError(
        `${OP}: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`,
      );
    }
    super();
    this.embedDim = embedDim;
    this.kdim = kdim;
    this.vdim = vdim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = dropout;
    this.batchFirst = opts.batchFirst ?? false;
    this.addZeroAttn = opts.addZeroAttn ?? false;
    const dtype = opts.dtype ?? "float32";
    const param = (shape: number[]) => new Parameter(empty(shape, { dtype }));
    const packed = kdim === embedDim && vdim === embedDim;
    this.inProjWeight = packed ? param([3 * embedDim, embedDim]) : null;
    this.qProjWeight = packed ? null : param([embedDim, embedDim]);
    this.kProjWeight = packed ? null : param([embedDim, kdim]);
    this.vProjWeight = packed ? null : param([embedDim, vdim]);
    const bias = opts.bias ?? true;
    this.inProjBias = bias ? param([3 * embedDim]) : null;
    const biasKv = opts.addBiasKv ?? false;
    this.biasK = biasKv ? param([1, 1, embedDim]) : null;
    this.biasV = biasKv ? param([1, 1, embedDim]) : null;
    this.outProj = new Linear(embedDim, embedDim, { bias, dtype });
    this.resetParameters();
  }

  /** PyTorch's names for the parameters and the output projection. */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /**
   * Re-initialises the parameters as PyTorch: Xavier-uniform projections,
   * zero biases (the output projection's too), Xavier-normal `bias_k` and
   * `bias_v`.
   */
  resetParameters(): void {
    for (const w of [this.inProjWeight, this.qProjWeight, this.kProjWeight, this.vProjWeight]) {
      if (w) xavierUniform_(w);
    }
    if (this.inProjBias) {
      noGrad(() => {
        this.inProjBias!.zero_();
        this.outProj.bias?.zero_();
      });
    }
    if (this.biasK) xavierNormal_(this.biasK);
    if (this.biasV) xavierNormal_(this.biasV);
  }

  /**
   * Attends from `query` `[L, batch, embedDim]` to `key` `[S, batch, kdim]`
   * and `value` `[S, batch, vdim]` (batch first with `batchFirst`; 2-D
   * unbatched): `[output, weights or null]`.
   */
  override forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiheadAttentionCallOptions = {},
  ): [Tensor, Tensor | null] {
    checkTensor(query, OP, "query");
    checkTensor(key, OP, "key");
    checkTensor(value, OP, "value");
    checkOptions(OP, opts, CALL_KEYS);
    const kpm = opts.keyPaddingMask ?? null, mask = opts.attnMask ?? null;
    checkOptionalTensor(kpm, OP, "keyPaddingMask");
    checkOptionalTensor(mask, OP, "attnMask");
    const needWeights = opts.needWeights ?? true;
    const average = opts.averageAttnWeights ?? true;
    let isCausal = opts.isCausal ?? false;
    checkFlag(OP, "needWeights", needWeights);
    checkFlag(OP, "averageAttnWeights", average);
    checkFlag(OP, "isCausal", isCausal);
    const batched = this.checkShapes(query, key, value, kpm, mask);
    const dtype = this.outProj.weight.dtype;
    for (const [name, t] of [["query", query], ["key", key], ["value", value]] as const) {
      if (t.dtype !== dtype) {
        throw new TypeError(
          `${OP}: expected ${name} of the parameters' dtype ${dtype}, got ${t.dtype}`,
        );
      }
    }
    // Batch first from here on: [B, L, E].
    const selfAttention = query === key && key === value, kvSame = key === value;
    let q = query, k = key, v = value;
    if (!batched) [q, k, v] = [q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)];
    else if (!this.batchFirst) {
      [q, k, v] = [q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)];
    }
    const [B, L, E] = q.shape;
    if (E !== this.embedDim) {
      throw new RangeError(
        `${OP}: was expecting embedding dimension of ${this.embedDim}, but got ${E}`,
      );
    }
    if (k.shape[2] !== this.kdim || v.shape[2] !== this.vdim) {
      throw new RangeError(
        `${OP}: expected key and value with ${this.kdim} and ${this.vdim} features, got key ${
          fmtShape(key.shape)
        } and value ${fmtShape(value.shape)}`,
      );
    }
    if (k.shape[0] !== B || v.shape[0] !== B || k.shape[1] !== v.shape[1]) {
      throw new RangeError(
        `${OP}: query, key and value must have one batch size and key and value one sequence length; got query ${
          fmtShape(query.shape)
        }, key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)}`,
      );
    }
    let keyPad = canonicalMask(kpm?.ndim === 1 ? kpm.unsqueeze(0) : kpm, "keyPaddingMask", dtype);
    if (isCausal && mask === null) {
      throw new Error(
        `${OP}: isCausal is a hint that attnMask is causal and needs attnMask; ` +
          "Transformer.generateSquareSubsequentMask(L) makes one",
      );
    }
    let attnMask: Tensor | null = null;
    if (!(isCausal && keyPad === null && !needWeights)) {
      attnMask = canonicalMask(mask, "attnMask", dtype);
      if (keyPad !== null) isCausal = false;
    }
    const H = this.numHeads, D = this.headDim;
    let S = k.shape[1];
    if (attnMask !== null) {
      const want = attnMask.ndim === 2 ? [L, S] : [B * H, L, S];
      if (attnMask.shape.some((s, i) => s !== want[i])) {
        throw new RangeError(
          `${OP}: the shape of the ${attnMask.ndim}-D attnMask is ${
            fmtShape(attnMask.shape)
          }, but should be ${fmtShape(want)}`,
        );
      }
    }
    // In-projection.
    let [qp, kp, vp] = this.projectInputs(q, k, v, selfAttention, kvSame);
    if (this.biasK && this.biasV) {
      kp = cat([kp, this.biasK.expand(B, 1, E)], 1);
      vp = cat([vp, this.biasV.expand(B, 1, E)], 1);
      attnMask = padColumn(attnMask);
      keyPad = padColumn(keyPad);
    }
    // Heads: [B, H, seq, D].
    const heads = (t: Tensor) => t.reshape(B, t.shape[1], H, D).transpose(1, 2);
    const qh = heads(qp);
    let kh = heads(kp), vh = heads(vp);
    if (this.addZeroAttn) {
      const z = zeros([B, H, 1, D], { dtype, device: kh.device });
      kh = cat([kh, z], 2);
      vh = cat([vh, z], 2);
      attnMask = padColumn(attnMask);
      keyPad = padColumn(keyPad);
    }
    S = kh.shape[2];
    let merged: Tensor | null = attnMask === null
      ? null
      : attnMask.ndim === 2
      ? attnMask
      : attnMask.reshape(B, H, L, S);
    if (keyPad !== null) {
      if (keyPad.shape[0] !== B || keyPad.shape[1] !== S) {
        throw new RangeError(
          `${OP}: expected keyPaddingMask of shape ${fmtShape([B, S])}, got ${
            fmtShape(kpm!.shape)
          }`,
        );
      }
      const kv = keyPad.reshape(B, 1, 1, S);
      merged = merged === null ? kv : merged.add(kv);
    }
    const dropoutP = this.training ? this.dropout : 0;
    const plan = { mask: merged, isCausal: false, scale: 1 / Math.sqrt(D), dropoutP };
    let out: Tensor, weights: Tensor | null = null;
    if (needWeights) {
      // A plain softmax, as PyTorch's path with weights: rows with every key
      // masked out give NaN.
      ({ out, weights } = attentionComposed(qh, kh, vh, { ...plan, safeSoftmax: false }));
    } else {
      out = attention(qh, kh, vh, {
        ...plan,
        isCausal: merged === null && isCausal,
        safeSoftmax: true,
      });
    }
    out = linear(out.transpose(1, 2).reshape(B, L, E), this.outProj.weight, this.outProj.bias);
    if (!batched) out = out.squeeze(0);
    else if (!this.batchFirst) out = out.transpose(0, 1);
    if (weights !== null) {
      if (average) weights = weights.mean(1);
      if (!batched) weights = weights.squeeze(0);
    }
    return [out, weights];
  }

  /** The q, k, v projections, batch first. */
  private projectInputs(q: Tensor, k: Tensor, v: Tensor, self: boolean, kvSame: boolean): Tensor[] {
    const E = this.embedDim, W = this.inProjWeight, b = this.inProjBias;
    const part = (t: Tensor | null, i: number, n = 1) => t ? t.narrow(0, i * E, n * E) : null;
    if (W === null) {
      return [
        linear(q, this.qProjWeight!, part(b, 0)),
        linear(k, this.kProjWeight!, part(b, 1)),
        linear(v, this.vProjWeight!, part(b, 2)),
      ];
    }
    if (self) return linear(q, W, b).chunk(3, -1);
    if (kvSame) {
      return [
        linear(q, part(W, 0)!, part(b, 0)),
        ...linear(k, part(W, 1, 2)!, part(b, 1, 2)).chunk(2, -1),
      ];
    }
    return [
      linear(q, part(W, 0)!, part(b, 0)),
      linear(k, part(W, 1)!, part(b, 1)),
      linear(v, part(W, 2)!, part(b, 2)),
    ];
  }

  /** PyTorch's checks of the input and mask dims; returns whether the input is batched. */
  private checkShapes(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    kpm: Tensor | null,
    mask: Tensor | null,
  ): boolean {
    const nd = query.ndim;
    if (nd !== 2 && nd !== 3) {
      throw new RangeError(
        `${OP}: query should be unbatched 2-D or batched 3-D, got ${fmtShape(query.shape)}`,
      );
    }
    const kind = nd === 3 ? "batched (3-D)" : "unbatched (2-D)";
    if (key.ndim !== nd || value.ndim !== nd) {
      throw new RangeError(
        `${OP}: for ${kind} query, expected key and value to be ${nd}-D, got key ${
          fmtShape(key.shape)
        } and value ${fmtShape(value.shape)}`,
      );
    }
    if (kpm !== null && kpm.ndim !== nd - 1) {
      throw new RangeError(
        `${OP}: for ${kind} query, expected keyPaddingMask to be null or ${nd - 1}-D, got ${
          fmtShape(kpm.shape)
        }`,
      );
    }
    if (mask !== null) {
      if (mask.ndim !== 2 && mask.ndim !== 3) {
        throw new RangeError(
          `${OP}: for ${kind} query, expected attnMask to be null, 2-D or 3-D, got ${
            fmtShape(mask.shape)
          }`,
        );
      }
      if (nd === 2 && mask.ndim === 3) {
        const want = [this.numHeads, query.shape[0], key.shape[0]];
        if (mask.shape.some((s, i) => s !== want[i])) {
          throw new RangeError(
            `${OP}: expected attnMask of shape ${fmtShape(want)}, got ${fmtShape(mask.shape)}`,
          );
        }
      }
    }
    return nd === 3;
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, batchFirst=${this.batchFirst}`;
  }
}

/** PyTorch's `_canonical_mask`: a bool mask (true = masked out) as 0 / -inf of `dtype`. */
function canonicalMask(mask: Tensor | null, name: string, dtype: DType): Tensor | null {
  if (mask === null) return null;
  if (mask.dtype === "bool") {
    return zeros(mask.shape, { dtype, device: mask.device }).maskedFill(mask, -Infinity);
  }
  if (mask.dtype !== dtype) {
    throw new TypeError(`${OP}: expected ${name} to be bool or ${dtype}, got ${mask.dtype}`);
  }
  return mask;
}

/** A zero (not masked) column appended to the last dim. */
function padColumn(mask: Tensor | null): Tensor | null {
  if (mask === null) return null;
  const z = zeros([...mask.shape.slice(0, -1), 1], { dtype: mask.dtype, device: mask.device });
  return cat([mask, z], -1);
}
