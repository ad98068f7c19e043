/**
 * The Transformer layers, stacks and model, with PyTorch's defaults,
 * semantics and state-dict names.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { full, ones, zeros } from "../ops/creation.ts";
import { Module } from "./module.ts";
import { Linear } from "./linear.ts";
import { Dropout } from "./dropout.ts";
import { LayerNorm } from "./normalization.ts";
import { ModuleList } from "./container.ts";
import { MultiheadAttention } from "./attention.ts";
import { xavierUniform_ } from "./init.ts";
import { gelu, relu } from "../ops/unary_fns.ts";
import { renamed } from "./torch_names.ts";
import { checkFlag, checkOptions, optionKeys } from "../options.ts";
import {
  checkIntArg,
  checkNumber,
  checkOptionalTensor,
  checkSizeArg,
  checkTensor,
  typeError,
} from "../args.ts";

/** Keys of state that stays off the module's public members (and that deepCopy copies). */
const CONFIG: unique symbol = Symbol("config");

/**
 * The feed-forward activation of the Transformer layers: `"relu"`, `"gelu"`
 * or a function of a tensor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const act: zn.nn.TransformerActivation = (x) => zn.nn.functional.silu(x);
 * new zn.nn.TransformerEncoderLayer(8, 2, { activation: act });
 * ```
 */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

/**
 * Options of {@link TransformerEncoderLayer} and {@link TransformerDecoderLayer}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.TransformerLayerOptions = {
 *   dimFeedforward: 64,
 *   dropout: 0,
 *   activation: "gelu",
 *   batchFirst: true,
 *   normFirst: true,
 * };
 * new zn.nn.TransformerEncoderLayer(16, 4, opts).call(zn.randn([2, 5, 16])).shape; // [2, 5, 16]
 * ```
 */
export interface TransformerLayerOptions {
  /** The feed-forward hidden size (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability (default 0.1), in the attention and after each block. */
  dropout?: number;
  /** The feed-forward activation (default "relu"). */
  activation?: TransformerActivation;
  /** The layer norms' eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs and outputs are `[batch, seq, feature]` instead of `[seq, batch, feature]` (default false). */
  batchFirst?: boolean;
  /** Normalize before each block (pre-norm) instead of after the residual sum (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers and layer norms (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
}

const LAYER_KEYS = optionKeys<TransformerLayerOptions>({
  dimFeedforward: 0,
  dropout: 0,
  activation: 0,
  layerNormEps: 0,
  batchFirst: 0,
  normFirst: 0,
  bias: 0,
  dtype: 0,
});

/**
 * Options of {@link TransformerEncoderLayer.forward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerEncoderLayer(8, 2, { dropout: 0 });
 * const opts: zn.nn.TransformerEncoderLayerCallOptions = {
 *   srcMask: zn.nn.Transformer.generateSquareSubsequentMask(5),
 *   isCausal: true,
 * };
 * layer.call(zn.randn([5, 3, 8]), opts).shape; // [5, 3, 8]
 * ```
 */
export interface TransformerEncoderLayerCallOptions {
  /** The self-attention mask `[S, S]` or `[batch * nhead, S, S]` (MultiheadAttention's attnMask). */
  srcMask?: Tensor | null;
  /** `[batch, S]`: true (or -inf) where the source is padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** A hint that `srcMask` is the causal mask (default false). */
  isCausal?: boolean;
}

/**
 * Options of {@link TransformerDecoderLayer.forward} and {@link TransformerDecoder.forward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerDecoderLayer(8, 2, { dropout: 0 });
 * const opts: zn.nn.TransformerDecoderCallOptions = {
 *   tgtMask: zn.nn.Transformer.generateSquareSubsequentMask(4),
 *   memoryKeyPaddingMask: zn.tensor([[false, false, false, true, true, true]]),
 * };
 * layer.call(zn.randn([4, 1, 8]), zn.randn([6, 1, 8]), opts).shape; // [4, 1, 8]
 * ```
 */
export interface TransformerDecoderCallOptions {
  /** The self-attention mask `[T, T]` or `[batch * nhead, T, T]`. */
  tgtMask?: Tensor | null;
  /** The cross-attention mask `[T, S]` or `[batch * nhead, T, S]`. */
  memoryMask?: Tensor | null;
  /** `[batch, T]`: true (or -inf) where the target is padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[batch, S]`: true (or -inf) where the memory is padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /**
   * A hint that `tgtMask` is the causal mask (layers: default false; the
   * decoder stack: default undefined, detected by comparing `tgtMask` with
   * the causal mask).
   */
  tgtIsCausal?: boolean;
  /** A hint that `memoryMask` is causal (default false). */
  memoryIsCausal?: boolean;
}

/**
 * Options of {@link TransformerEncoder.forward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const enc = new zn.nn.TransformerEncoder(new zn.nn.TransformerEncoderLayer(8, 2), 2);
 * const opts: zn.nn.TransformerEncoderCallOptions = {
 *   srcKeyPaddingMask: zn.tensor([[false, false, true]]),
 * };
 * enc.call(zn.randn([3, 1, 8]), opts).shape; // [3, 1, 8]
 * ```
 */
export interface TransformerEncoderCallOptions {
  /** The self-attention mask `[S, S]` or `[batch * nhead, S, S]`. */
  mask?: Tensor | null;
  /** `[batch, S]`: true (or -inf) where the source is padding. */
  srcKeyPaddingMask?: Tensor | null;
  /**
   * A hint that `mask` is the causal mask (default undefined: detected by
   * comparing `mask` with the causal mask).
   */
  isCausal?: boolean;
}

/**
 * Options of {@link Transformer.forward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const model = new zn.nn.Transformer(16, 2, { numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 32 });
 * const opts: zn.nn.TransformerCallOptions = {
 *   tgtMask: zn.nn.Transformer.generateSquareSubsequentMask(4),
 * };
 * model.call(zn.randn([6, 2, 16]), zn.randn([4, 2, 16]), opts).shape; // [4, 2, 16]
 * ```
 */
export interface TransformerCallOptions {
  /** The encoder's self-attention mask. */
  srcMask?: Tensor | null;
  /** The decoder's self-attention mask. */
  tgtMask?: Tensor | null;
  /** The decoder's cross-attention mask. */
  memoryMask?: Tensor | null;
  /** `[batch, S]`: true (or -inf) where the source is padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** `[batch, T]`: true (or -inf) where the target is padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** `[batch, S]`: true (or -inf) where the memory is padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /** A hint that `srcMask` is causal (default undefined: detected). */
  srcIsCausal?: boolean;
  /** A hint that `tgtMask` is causal (default undefined: detected). */
  tgtIsCausal?: boolean;
  /** A hint that `memoryMask` is causal (default false). */
  memoryIsCausal?: boolean;
}

/**
 * Options of {@link TransformerEncoder} and {@link TransformerDecoder}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.TransformerStackOptions = { norm: new zn.nn.LayerNorm(8) };
 * const enc = new zn.nn.TransformerEncoder(new zn.nn.TransformerEncoderLayer(8, 2), 3, opts);
 * Object.keys(enc.stateDict()).at(-1); // "norm.bias"
 * ```
 */
export interface TransformerStackOptions {
  /** A module applied to the last layer's output (default none). */
  norm?: Module | null;
}

/**
 * Options of {@link Transformer}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.TransformerOptions = { numEncoderLayers: 2, numDecoderLayers: 1, batchFirst: true };
 * const model = new zn.nn.Transformer(32, 4, opts);
 * model.call(zn.randn([2, 7, 32]), zn.randn([2, 5, 32])).shape; // [2, 5, 32]
 * ```
 */
export interface TransformerOptions extends TransformerLayerOptions {
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
  /** An encoder to use instead of the default stack (called as `(src, { mask, srcKeyPaddingMask, isCausal })`). */
  customEncoder?: Module | null;
  /** A decoder to use instead of the default stack (called as `(tgt, memory, opts)`). */
  customDecoder?: Module | null;
}

const TRANSFORMER_KEYS = optionKeys<TransformerOptions>({
  dimFeedforward: 0,
  dropout: 0,
  activation: 0,
  layerNormEps: 0,
  batchFirst: 0,
  normFirst: 0,
  bias: 0,
  dtype: 0,
  numEncoderLayers: 0,
  numDecoderLayers: 0,
  customEncoder: 0,
  customDecoder: 0,
});
const ENC_LAYER_CALL_KEYS = optionKeys<TransformerEncoderLayerCallOptions>({
  srcMask: 0,
  srcKeyPaddingMask: 0,
  isCausal: 0,
});
const DEC_CALL_KEYS = optionKeys<TransformerDecoderCallOptions>({
  tgtMask: 0,
  memoryMask: 0,
  tgtKeyPaddingMask: 0,
  memoryKeyPaddingMask: 0,
  tgtIsCausal: 0,
  memoryIsCausal: 0,
});
const ENC_CALL_KEYS = optionKeys<TransformerEncoderCallOptions>({
  mask: 0,
  srcKeyPaddingMask: 0,
  isCausal: 0,
});
const TRANSFORMER_CALL_KEYS = optionKeys<TransformerCallOptions>({
  srcMask: 0,
  tgtMask: 0,
  memoryMask: 0,
  srcKeyPaddingMask: 0,
  tgtKeyPaddingMask: 0,
  memoryKeyPaddingMask: 0,
  srcIsCausal: 0,
  tgtIsCausal: 0,
  memoryIsCausal: 0,
});
const STACK_KEYS = optionKeys<TransformerStackOptions>({ norm: 0 });
const LAYER_NAMES = { selfAttn: "self_attn", multiheadAttn: "multihead_attn" };
const FLOATS = new Set<DType>(["float32", "float64", "float16", "bfloat16"]);

/** The settings of a layer, checked. */
interface LayerConfig {
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  dropout: number;
  activation: TransformerActivation;
  layerNormEps: number;
  batchFirst: boolean;
  normFirst: boolean;
  bias: boolean;
  dtype: DType;
}

function layerConfig(
  op: string,
  dModel: number,
  nhead: number,
  opts: TransformerLayerOptions,
  keys: readonly string[],
): LayerConfig {
  checkSizeArg(dModel, op, "dModel");
  checkSizeArg(nhead, op, "nhead");
  checkOptions(op, opts, keys);
  const c: LayerConfig = {
    dModel,
    nhead,
    dimFeedforward: opts.dimFeedforward ?? 2048,
    dropout: opts.dropout ?? 0.1,
    activation: opts.activation ?? "relu",
    layerNormEps: opts.layerNormEps ?? 1e-5,
    batchFirst: opts.batchFirst ?? false,
    normFirst: opts.normFirst ?? false,
    bias: opts.bias ?? true,
    dtype: opts.dtype ?? "float32",
  };
  checkSizeArg(c.dimFeedforward, op, "dimFeedforward");
  checkNumber(c.dropout, op, "dropout");
  if (!(c.dropout >= 0 && c.dropout <= 1)) {
    throw new RangeError(
      `${op}: dropout probability has to be between 0 and 1, but got ${c.dropout}`,
    );
  }
  checkNumber(c.layerNormEps, op, "layerNormEps");
  checkFlag(op, "batchFirst", c.batchFirst);
  checkFlag(op, "normFirst", c.normFirst);
  checkFlag(op, "bias", c.bias);
  const a = c.activation;
  if (a !== "relu" && a !== "gelu" && typeof a !== "function") {
    typeError(op, "activation", `"relu", "gelu" or a function`, a);
  }
  if (dModel % nhead !== 0) {
    throw new RangeError(`${op}: dModel (${dModel}) must be divisible by nhead (${nhead})`);
  }
  return c;
}

function activationFn(a: TransformerActivation): (x: Tensor) => Tensor {
  return a === "relu" ? relu : a === "gelu" ? (x) => gelu(x) : a;
}

/** The checked options of a layer's or a stack's call. */
function callOptions<T>(op: string, opts: T, keys: readonly string[]): T {
  checkOptions(op, opts, keys);
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (k.endsWith("Causal")) {
      if (v !== undefined) checkFlag(op, k, v);
    } else checkOptionalTensor(v, op, k);
  }
  return opts;
}

/**
 * One Transformer encoder layer, as PyTorch's `nn.TransformerEncoderLayer`:
 * self-attention then a feed-forward block (`linear2(dropout(activation(linear1(x))))`),
 * each with dropout, a residual connection and a layer norm, after the sum
 * (default) or before the block (`normFirst`). Children: `self_attn`,
 * `linear1`, `dropout`, `linear2`, `norm1`, `norm2`, `dropout1`, `dropout2`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true });
 * layer.call(zn.randn([2, 10, 16])).shape; // [2, 10, 16]
 * Object.keys(layer.stateDict())[0]; // "self_attn.in_proj_weight"
 * ```
 */
export class TransformerEncoderLayer extends Module {
  /** The self-attention (`self_attn`). */
  selfAttn: MultiheadAttention;
  /** The first feed-forward linear layer, dModel to dimFeedforward. */
  linear1: Linear;
  /** The dropout inside the feed-forward block. */
  dropout: Dropout;
  /** The second feed-forward linear layer, dimFeedforward to dModel. */
  linear2: Linear;
  /** Whether the layer norms come before the blocks. */
  normFirst: boolean;
  /** The layer norm of the self-attention block. */
  norm1: LayerNorm;
  /** The layer norm of the feed-forward block. */
  norm2: LayerNorm;
  /** The dropout after the self-attention. */
  dropout1: Dropout;
  /** The dropout after the feed-forward block. */
  dropout2: Dropout;
  /** The feed-forward activation. */
  activation: (x: Tensor) => Tensor;
  /** @internal The layer's settings. */
  readonly [CONFIG]: LayerConfig;

  /** A layer of `dModel` features with `nhead` attention heads. */
  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    const c = layerConfig("TransformerEncoderLayer", dModel, nhead, opts, LAYER_KEYS);
    super();
    this[CONFIG] = c;
    const { bias, dtype } = c;
    this.selfAttn = new MultiheadAttention(dModel, nhead, {
      dropout: c.dropout,
      bias,
      batchFirst: c.batchFirst,
      dtype,
    });
    this.linear1 = new Linear(dModel, c.dimFeedforward, { bias, dtype });
    this.dropout = new Dropout(c.dropout);
    this.linear2 = new Linear(c.dimFeedforward, dModel, { bias, dtype });
    this.normFirst = c.normFirst;
    this.norm1 = new LayerNorm(dModel, { eps: c.layerNormEps, bias, dtype });
    this.norm2 = new LayerNorm(dModel, { eps: c.layerNormEps, bias, dtype });
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
    this.activation = activationFn(c.activation);
  }

  /** PyTorch's name for the self-attention. */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), LAYER_NAMES);
  }

  /**
   * A deep copy: a layer of the same class and settings with copies of the
   * parameters, in the same training mode (what the stacks hold).
   */
  clone(): this {
    const c = this[CONFIG];
    const Ctor = this.constructor as new (d: number, h: number, o: TransformerLayerOptions) => this;
    const { dModel, nhead, ...opts } = c;
    const now = { ...opts, normFirst: this.normFirst, activation: this.activation };
    return copyInto(new Ctor(dModel, nhead, now), this);
  }

  /** Runs the layer on `src` `[S, batch, dModel]` (`[batch, S, dModel]` with batchFirst; `[S, dModel]` unbatched). */
  override forward(src: Tensor, opts: TransformerEncoderLayerCallOptions = {}): Tensor {
    const op = "TransformerEncoderLayer";
    checkTensor(src, op, "src");
    callOptions(op, opts, ENC_LAYER_CALL_KEYS);
    const mask = opts.srcMask ?? null, kpm = opts.srcKeyPaddingMask ?? null;
    const isCausal = opts.isCausal ?? false;
    const sa = (x: Tensor) =>
      this.dropout1.call(
        this.selfAttn.call(x, x, x, {
          attnMask: mask,
          keyPaddingMask: kpm,
          needWeights: false,
          isCausal,
        })[0],
      );
    const ff = (x: Tensor) =>
      this.dropout2.call(
        this.linear2.call(this.dropout.call(this.activation(this.linear1.call(x)))),
      );
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(ff(this.norm2.call(x)));
    } else {
      x = this.norm1.call(x.add(sa(x)));
      x = this.norm2.call(x.add(ff(x)));
    }
    return x;
  }
}

/**
 * One Transformer decoder layer, as PyTorch's `nn.TransformerDecoderLayer`:
 * self-attention over the target, cross-attention to the memory (the
 * encoder's output), then the feed-forward block, each with dropout, a
 * residual connection and a layer norm (after the sum, or before the block
 * with `normFirst`). Children: `self_attn`, `multihead_attn`, `linear1`,
 * `dropout`, `linear2`, `norm1`, `norm2`, `norm3`, `dropout1`, `dropout2`,
 * `dropout3`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerDecoderLayer(16, 4, { dimFeedforward: 32 });
 * const tgt = zn.randn([5, 2, 16]), memory = zn.randn([7, 2, 16]);
 * const tgtMask = zn.nn.Transformer.generateSquareSubsequentMask(5);
 * layer.call(tgt, memory, { tgtMask, tgtIsCausal: true }).shape; // [5, 2, 16]
 * ```
 */
export class TransformerDecoderLayer extends Module {
  /** The self-attention over the target (`self_attn`). */
  selfAttn: MultiheadAttention;
  /** The cross-attention to the memory (`multihead_attn`). */
  multiheadAttn: MultiheadAttention;
  /** The first feed-forward linear layer, dModel to dimFeedforward. */
  linear1: Linear;
  /** The dropout inside the feed-forward block. */
  dropout: Dropout;
  /** The second feed-forward linear layer, dimFeedforward to dModel. */
  linear2: Linear;
  /** Whether the layer norms come before the blocks. */
  normFirst: boolean;
  /** The layer norm of the self-attention block. */
  norm1: LayerNorm;
  /** The layer norm of the cross-attention block. */
  norm2: LayerNorm;
  /** The layer norm of the feed-forward block. */
  norm3: LayerNorm;
  /** The dropout after the self-attention. */
  dropout1: Dropout;
  /** The dropout after the cross-attention. */
  dropout2: Dropout;
  /** The dropout after the feed-forward block. */
  dropout3: Dropout;
  /** The feed-forward activation. */
  activation: (x: Tensor) => Tensor;
  /** @internal The layer's settings. */
  readonly [CONFIG]: LayerConfig;

  /** A layer of `dModel` features with `nhead` attention heads. */
  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    const c = layerConfig("TransformerDecoderLayer", dModel, nhead, opts, LAYER_KEYS);
    super();
    this[CONFIG] = c;
    const { bias, dtype } = c;
    const mha = () =>
      new MultiheadAttention(dModel, nhead, {
        dropout: c.dropout,
        bias,
        batchFirst: c.batchFirst,
        dtype,
      });
    this.selfAttn = mha();
    this.multiheadAttn = mha();
    this.linear1 = new Linear(dModel, c.dimFeedforward, { bias, dtype });
    this.dropout = new Dropout(c.dropout);
    this.linear2 = new Linear(c.dimFeedforward, dModel, { bias, dtype });
    this.normFirst = c.normFirst;
    this.norm1 = new LayerNorm(dModel, { eps: c.layerNormEps, bias, dtype });
    this.norm2 = new LayerNorm(dModel, { eps: c.layerNormEps, bias, dtype });
    this.norm3 = new LayerNorm(dModel, { eps: c.layerNormEps, bias, dtype });
    this.dropout1 = new Dropout(c.dropout);
    this.dropout2 = new Dropout(c.dropout);
    this.dropout3 = new Dropout(c.dropout);
    this.activation = activationFn(c.activation);
  }

  /** PyTorch's names for the attentions. */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), LAYER_NAMES);
  }

  /**
   * A deep copy: a layer of the same class and settings with copies of the
   * parameters, in the same training mode (what the stacks hold).
   */
  clone(): this {
    const c = this[CONFIG];
    const Ctor = this.constructor as new (d: number, h: number, o: TransformerLayerOptions) => this;
    const { dModel, nhead, ...opts } = c;
    const now = { ...opts, normFirst: this.normFirst, activation: this.activation };
    return copyInto(new Ctor(dModel, nhead, now), this);
  }

  /** Runs the layer on `tgt` `[T, batch, dModel]` and `memory` `[S, batch, dModel]` (batch first with batchFirst). */
  override forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderCallOptions = {}): Tensor {
    const op = "TransformerDecoderLayer";
    checkTensor(tgt, op, "tgt");
    checkTensor(memory, op, "memory");
    callOptions(op, opts, DEC_CALL_KEYS);
    const sa = (x: Tensor) =>
      this.dropout1.call(
        this.selfAttn.call(x, x, x, {
          attnMask: opts.tgtMask ?? null,
          keyPaddingMask: opts.tgtKeyPaddingMask ?? null,
          isCausal: opts.tgtIsCausal ?? false,
          needWeights: false,
        })[0],
      );
    const mha = (x: Tensor) =>
      this.dropout2.call(
        this.multiheadAttn.call(x, memory, memory, {
          attnMask: opts.memoryMask ?? null,
          keyPaddingMask: opts.memoryKeyPaddingMask ?? null,
          isCausal: opts.memoryIsCausal ?? false,
          needWeights: false,
        })[0],
      );
    const ff = (x: Tensor) =>
      this.dropout3.call(
        this.linear2.call(this.dropout.call(this.activation(this.linear1.call(x)))),
      );
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(mha(this.norm2.call(x)));
      x = x.add(ff(this.norm3.call(x)));
    } else {
      x = this.norm1.call(x.add(sa(x)));
      x = this.norm2.call(x.add(mha(x)));
      x = this.norm3.call(x.add(ff(x)));
    }
    return x;
  }
}

/** Copies `src`'s parameters and buffers and training mode into `dst`; returns `dst`. */
function copyInto<M extends Module>(dst: M, src: Module): M {
  dst.loadStateDict(src.stateDict());
  const modes = [...src.modules()].map((m) => m.training);
  [...dst.modules()].forEach((m, i) => (m.training = modes[i] ?? src.training));
  return dst;
}

function checkStack(
  op: string,
  layer: unknown,
  cls: abstract new (...a: never[]) => Module,
  numLayers: unknown,
): void {
  if (!(layer instanceof cls)) typeError(op, "the layer", `a ${cls.name}`, layer);
  checkIntArg(numLayers, op, "numLayers", 1);
}

/** The sequence length of a layer's input, as PyTorch's `_get_seq_len`. */
function seqLen(x: Tensor, batchFirst: boolean): number {
  return x.ndim === 2 ? x.shape[0] : x.shape[batchFirst ? 1 : 0];
}

/** PyTorch's `_detect_is_causal_mask`: the hint, or whether `mask` is the causal mask. */
function detectIsCausal(mask: Tensor | null, isCausal: boolean | undefined, size: number): boolean {
  if (isCausal !== undefined || mask === null) return isCausal === true;
  if (mask.ndim !== 2 || mask.shape[0] !== size || mask.shape[1] !== size) return false;
  // Other dtypes are MultiheadAttention's error to raise.
  if (mask.dtype !== "bool" && !FLOATS.has(mask.dtype)) return false;
  const causal = mask.dtype === "bool"
    ? ones([size, size], { dtype: "bool", device: mask.device }).triu(1)
    : Transformer.generateSquareSubsequentMask(size, { dtype: mask.dtype }).to(mask.device);
  return mask.eq(causal).all().item() as boolean;
}

/** PyTorch's `_canonical_mask` (a bool mask, true = masked out, as 0 / -inf). */
function canonical(mask: Tensor | null, like: Tensor, name: string): Tensor | null {
  if (mask !== null && mask.dtype !== "bool" && !FLOATS.has(mask.dtype)) {
    throw new TypeError(
      `TransformerEncoder: only bool and floating types of ${name} are supported, got ${mask.dtype}`,
    );
  }
  if (mask === null || mask.dtype !== "bool") return mask;
  return zeros(mask.shape, { dtype: like.dtype, device: mask.device }).maskedFill(mask, -Infinity);
}

/**
 * A stack of `numLayers` copies of an encoder layer (children `layers.0`,
 * `layers.1`, ...), then an optional `norm`, as PyTorch's
 * `nn.TransformerEncoder`. The layer given is copied, not shared.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerEncoderLayer(16, 4, { dimFeedforward: 32 });
 * const enc = new zn.nn.TransformerEncoder(layer, 2, { norm: new zn.nn.LayerNorm(16) });
 * enc.call(zn.randn([10, 2, 16])).shape; // [10, 2, 16]
 * Object.keys(enc.stateDict())[0]; // "layers.0.self_attn.in_proj_weight"
 * ```
 */
export class TransformerEncoder extends Module {
  /** The layers. */
  layers: ModuleList;
  /** The number of layers. */
  readonly numLayers: number;
  /** The module applied to the output, or null. */
  norm: Module | null;

  /** `numLayers` copies of `encoderLayer`. */
  constructor(
    encoderLayer: TransformerEncoderLayer,
    numLayers: number,
    opts: TransformerStackOptions = {},
  ) {
    const op = "TransformerEncoder";
    checkStack(op, encoderLayer, TransformerEncoderLayer, numLayers);
    checkOptions(op, opts, STACK_KEYS);
    const norm = opts.norm ?? null;
    if (norm !== null && !(norm instanceof Module)) typeError(op, "norm", "a Module or null", norm);
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.clone()));
    this.numLayers = numLayers;
    this.norm = norm;
  }

  /** Runs the layers on `src` (the layers' layout). */
  override forward(src: Tensor, opts: TransformerEncoderCallOptions = {}): Tensor {
    const op = "TransformerEncoder";
    checkTensor(src, op, "src");
    callOptions(op, opts, ENC_CALL_KEYS);
    const kpm = canonical(opts.srcKeyPaddingMask ?? null, src, "srcKeyPaddingMask");
    const mask = canonical(opts.mask ?? null, src, "mask");
    const first = this.layers.at(0) as TransformerEncoderLayer;
    const isCausal = detectIsCausal(mask, opts.isCausal, seqLen(src, first.selfAttn.batchFirst));
    let out = src;
    for (const layer of this.layers) {
      out = (layer as TransformerEncoderLayer).call(out, {
        srcMask: mask,
        isCausal,
        srcKeyPaddingMask: kpm,
      });
    }
    return this.norm ? this.norm.call(out) : out;
  }
}

/**
 * A stack of `numLayers` copies of a decoder layer (children `layers.0`,
 * ...), then an optional `norm`, as PyTorch's `nn.TransformerDecoder`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layer = new zn.nn.TransformerDecoderLayer(16, 4, { dimFeedforward: 32, batchFirst: true });
 * const dec = new zn.nn.TransformerDecoder(layer, 2);
 * const tgtMask = zn.nn.Transformer.generateSquareSubsequentMask(5);
 * dec.call(zn.randn([2, 5, 16]), zn.randn([2, 9, 16]), { tgtMask }).shape; // [2, 5, 16]
 * ```
 */
export class TransformerDecoder extends Module {
  /** The layers. */
  layers: ModuleList;
  /** The number of layers. */
  readonly numLayers: number;
  /** The module applied to the output, or null. */
  norm: Module | null;

  /** `numLayers` copies of `decoderLayer`. */
  constructor(
    decoderLayer: TransformerDecoderLayer,
    numLayers: number,
    opts: TransformerStackOptions = {},
  ) {
    const op = "TransformerDecoder";
    checkStack(op, decoderLayer, TransformerDecoderLayer, numLayers);
    checkOptions(op, opts, STACK_KEYS);
    const norm = opts.norm ?? null;
    if (norm !== null && !(norm instanceof Module)) typeError(op, "norm", "a Module or null", norm);
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.clone()));
    this.numLayers = numLayers;
    this.norm = norm;
  }

  /** Runs the layers on `tgt` and `memory` (the layers' layout). */
  override forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderCallOptions = {}): Tensor {
    const op = "TransformerDecoder";
    checkTensor(tgt, op, "tgt");
    checkTensor(memory, op, "memory");
    callOptions(op, opts, DEC_CALL_KEYS);
    const first = this.layers.at(0) as TransformerDecoderLayer;
    const tgtMask = opts.tgtMask ?? null;
    const tgtIsCausal = detectIsCausal(
      tgtMask,
      opts.tgtIsCausal,
      seqLen(tgt, first.selfAttn.batchFirst),
    );
    let out = tgt;
    for (const layer of this.layers) {
      out = (layer as TransformerDecoderLayer).call(out, memory, { ...opts, tgtIsCausal });
    }
    return this.norm ? this.norm.call(out) : out;
  }
}

/**
 * The encoder-decoder Transformer of "Attention Is All You Need", as
 * PyTorch's `nn.Transformer` with its defaults (dModel 512, nhead 8, 6
 * encoder and 6 decoder layers, dimFeedforward 2048, dropout 0.1, ReLU, post-norm),
 * children `encoder` and `decoder` (each stack ending in a LayerNorm `norm`)
 * and every parameter of more than one dim re-initialised Xavier-uniform.
 * `call(src, tgt, opts)` returns the decoder's output, of tgt's shape.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const model = new zn.nn.Transformer(32, 4, {
 *   numEncoderLayers: 2,
 *   numDecoderLayers: 2,
 *   dimFeedforward: 64,
 * });
 * const src = zn.randn([10, 3, 32]), tgt = zn.randn([7, 3, 32]); // [seq, batch, dModel]
 * const tgtMask = zn.nn.Transformer.generateSquareSubsequentMask(7);
 * model.call(src, tgt, { tgtMask }).shape; // [7, 3, 32]
 * Object.keys(model.stateDict())[0]; // "encoder.layers.0.self_attn.in_proj_weight"
 * ```
 */
export class Transformer extends Module {
  /** The encoder stack (or the custom encoder). */
  encoder: Module;
  /** The decoder stack (or the custom decoder). */
  decoder: Module;
  /** The model's feature size. */
  readonly dModel: number;
  /** The number of attention heads. */
  readonly nhead: number;
  /** Whether inputs and output are batch-first. */
  readonly batchFirst: boolean;

  /** A Transformer of `dModel` features (default 512) and `nhead` heads (default 8). */
  constructor(dModel = 512, nhead = 8, opts: TransformerOptions = {}) {
    const op = "Transformer";
    const c = layerConfig(op, dModel, nhead, opts, TRANSFORMER_KEYS);
    const nEnc = opts.numEncoderLayers ?? 6, nDec = opts.numDecoderLayers ?? 6;
    checkIntArg(nEnc, op, "numEncoderLayers", 1);
    checkIntArg(nDec, op, "numDecoderLayers", 1);
    for (const k of ["customEncoder", "customDecoder"] as const) {
      const m = opts[k];
      if (m !== undefined && m !== null && !(m instanceof Module)) {
        typeError(op, k, "a Module or null", m);
      }
    }
    super();
    const { numEncoderLayers: _e, numDecoderLayers: _d, customEncoder, customDecoder, ...rest } =
      opts;
    const layerOpts: TransformerLayerOptions = { ...rest };
    const norm = () => new LayerNorm(dModel, { eps: c.layerNormEps, bias: c.bias, dtype: c.dtype });
    this.encoder = customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, layerOpts), nEnc, {
        norm: norm(),
      });
    this.decoder = customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, layerOpts), nDec, {
        norm: norm(),
      });
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = c.batchFirst;
    this.resetParameters();
  }

  /** Re-initialises every parameter of more than one dim Xavier-uniform, as PyTorch. */
  resetParameters(): void {
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }

  /**
   * Encodes `src` `[S, batch, dModel]` and decodes `tgt` `[T, batch, dModel]`
   * against it (batch first with batchFirst; 2-D unbatched).
   */
  override forward(src: Tensor, tgt: Tensor, opts: TransformerCallOptions = {}): Tensor {
    const op = "Transformer";
    checkTensor(src, op, "src");
    checkTensor(tgt, op, "tgt");
    callOptions(op, opts, TRANSFORMER_CALL_KEYS);
    const bdim = this.batchFirst ? 0 : 1;
    if (src.ndim === 3 && src.shape[bdim] !== tgt.shape[bdim]) {
      throw new RangeError(`${op}: the batch number of src and tgt must be equal`);
    }
    if (src.shape[src.ndim - 1] !== this.dModel || tgt.shape[tgt.ndim - 1] !== this.dModel) {
      throw new RangeError(`${op}: the feature number of src and tgt must be equal to dModel`);
    }
    const memory = this.encoder.call(src, {
      mask: opts.srcMask ?? null,
      srcKeyPaddingMask: opts.srcKeyPaddingMask ?? null,
      isCausal: opts.srcIsCausal,
    });
    return this.decoder.call(tgt, memory, {
      tgtMask: opts.tgtMask ?? null,
      memoryMask: opts.memoryMask ?? null,
      tgtKeyPaddingMask: opts.tgtKeyPaddingMask ?? null,
      memoryKeyPaddingMask: opts.memoryKeyPaddingMask ?? null,
      tgtIsCausal: opts.tgtIsCausal,
      memoryIsCausal: opts.memoryIsCausal ?? false,
    });
  }

  /**
   * The causal mask `[n, n]`: 0 on and below the diagonal, -Infinity above
   * (float32 by default), as PyTorch's `generate_square_subsequent_mask`.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * zn.nn.Transformer.generateSquareSubsequentMask(3).toArray();
   * // [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]
   * ```
   */
  static generateSquareSubsequentMask(n: number, opts: { dtype?: DType } = {}): Tensor {
    checkIntArg(n, "generateSquareSubsequentMask", "n", 0);
    checkOptions("generateSquareSubsequentMask", opts, ["dtype"]);
    return full([n, n], -Infinity, { dtype: opts.dtype ?? "float32" }).triu(1);
  }
}
