/**
 * GPT-2 (`GPT2LMHeadModel`) with Hugging Face's state-dict names and tensor
 * layouts, so that its `model.safetensors` files load as they are, and
 * generation with a KV cache.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { Generator } from "../random.ts";
import { arange, ones } from "../ops/creation.ts";
import { cat } from "../ops/join.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { tidy } from "../lifetime.ts";
import {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type StateDict,
} from "../nn/module.ts";
import type { Parameter } from "../nn/parameter.ts";
import { Embedding } from "../nn/embedding.ts";
import { Linear } from "../nn/linear.ts";
import { LayerNorm } from "../nn/normalization.ts";
import { Dropout } from "../nn/dropout.ts";
import { ModuleList } from "../nn/container.ts";
import { normal_, ones_, zeros_ } from "../nn/init.ts";
import { scaledDotProductAttention } from "../nn/functional/attention.ts";
import { renamed } from "../nn/torch_names.ts";
import { sampleLogits } from "../sampling/logits.ts";
import { load } from "../io/safetensors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntArg, checkObject, checkPath, checkTensor, typeError } from "../args.ts";
import { fmtShape } from "../shape.ts";
import { Conv1D } from "./conv1d.ts";
import { KVCache } from "./kv_cache.ts";
import {
  ACTIVATIONS,
  configFromJson,
  resolveConfig,
  type ResolvedGPT2Config,
} from "./gpt2_config.ts";

/** Keys of state that stays off the module's public members (and that deepCopy copies). */
const ACT: unique symbol = Symbol("act");

/**
 * The MLP activations a GPT-2 config may name (`activation_function`), as
 * Hugging Face computes them: `"gelu_new"` (GPT-2's, the tanh approximation
 * of GELU, as are `"gelu_fast"` and `"gelu_pytorch_tanh"`), `"gelu"` and
 * `"gelu_python"` (exact), `"quick_gelu"`, `"relu"`, `"silu"`/`"swish"`,
 * `"tanh"` and `"sigmoid"`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const act: zn.models.GPT2Activation = "gelu_new";
 * new zn.models.GPT2({ vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, activationFunction: act });
 * ```
 */
export type GPT2Activation =
  | "gelu_new"
  | "gelu_fast"
  | "gelu_pytorch_tanh"
  | "gelu"
  | "gelu_python"
  | "quick_gelu"
  | "relu"
  | "silu"
  | "swish"
  | "tanh"
  | "sigmoid";

/**
 * A GPT-2 configuration: Hugging Face's `GPT2Config` in camelCase (`nEmbd`
 * for `n_embd`). The five sizes are required; the other settings default to
 * Hugging Face's. {@link GPT2.configFromJson} reads a `config.json`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const config: zn.models.GPT2Config = {
 *   vocabSize: 101,
 *   nPositions: 32,
 *   nEmbd: 32,
 *   nLayer: 2,
 *   nHead: 4,
 *   residPdrop: 0,
 * };
 * new zn.models.GPT2(config).config.nInner; // 128 (4 * nEmbd)
 * ```
 */
export interface GPT2Config {
  /** Vocabulary size (`vocab_size`). */
  vocabSize: number;
  /** The most positions a sequence may have (`n_positions`, the rows of `wpe`). */
  nPositions: number;
  /** Width of the embeddings and hidden states (`n_embd`). */
  nEmbd: number;
  /** Number of Transformer blocks (`n_layer`). */
  nLayer: number;
  /** Attention heads per block (`n_head`); it divides `nEmbd`. */
  nHead: number;
  /** The MLP's hidden width (`n_inner`); null or unset: `4 * nEmbd`. */
  nInner?: number | null;
  /** The MLP activation (`activation_function`, default `"gelu_new"`). */
  activationFunction?: GPT2Activation;
  /** Dropout after the attention and MLP projections (`resid_pdrop`, default 0.1). */
  residPdrop?: number;
  /** Dropout on the embeddings (`embd_pdrop`, default 0.1). */
  embdPdrop?: number;
  /** Dropout on the attention weights (`attn_pdrop`, default 0.1). */
  attnPdrop?: number;
  /** The layer norms' eps (`layer_norm_epsilon`, default 1e-5). */
  layerNormEpsilon?: number;
  /** The std of the random initial weights (`initializer_range`, default 0.02). */
  initializerRange?: number;
  /** Scale the attention scores by 1/√headDim (`scale_attn_weights`, default true). */
  scaleAttnWeights?: boolean;
  /** Also scale layer i's scores by 1/(i + 1) (`scale_attn_by_inverse_layer_idx`, default false). */
  scaleAttnByInverseLayerIdx?: boolean;
  /**
   * Hugging Face's mixed-precision switch (`reorder_and_upcast_attn`, default
   * false): Zeno's attention already computes in the parameters' dtype
   * (float32 or float64), so both settings give the same results.
   */
  reorderAndUpcastAttn?: boolean;
  /** The LM head shares the token embedding's weight (`tie_word_embeddings`, default true). */
  tieWordEmbeddings?: boolean;
}

/**
 * Options of the GPT-2 constructors ({@link GPT2}, {@link GPT2Model} and
 * their blocks).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.models.GPT2Options = { dtype: "float64", generator: new zn.Generator(0) };
 * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 };
 * new zn.models.GPT2(config, opts).lmHead.weight.dtype; // "float64"
 * ```
 */
export interface GPT2Options {
  /** Parameter dtype: "float32" (default) or "float64". */
  dtype?: DType;
  /** Generator for the random initial weights (default: the one `manualSeed` seeds). */
  generator?: Generator;
}

/**
 * Options of {@link GPT2.fromPretrained}.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const opts: zn.models.GPT2PretrainedOptions = { dtype: "float32", device: "cpu" };
 * const model = await zn.models.GPT2.fromPretrained("gpt2-folder", opts);
 * ```
 */
export interface GPT2PretrainedOptions {
  /** Parameter dtype, "float32" (default) or "float64"; the file's tensors are converted. */
  dtype?: DType;
  /** The device the model is placed on (default "cpu"). */
  device?: string;
}

/**
 * Options of {@link GPT2.generate}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const model = new zn.models.GPT2({ vocabSize: 20, nPositions: 16, nEmbd: 8, nLayer: 1, nHead: 2 });
 * const opts: zn.models.GPT2GenerateOptions = {
 *   maxNewTokens: 4,
 *   temperature: 0.8,
 *   topK: 10,
 *   topP: 0.9,
 *   generator: new zn.Generator(1),
 * };
 * model.eval().generate(zn.tensor([1n, 2n, 3n]), opts).shape; // [7]
 * ```
 */
export interface GPT2GenerateOptions {
  /** How many tokens to add to each sequence (required). */
  maxNewTokens: number;
  /** Divides the logits before sampling (default 1); 0 is greedy decoding (the argmax). */
  temperature?: number;
  /** Sample among the `topK` most likely tokens only; 0 or unset: no limit. */
  topK?: number;
  /** Sample among the most likely tokens whose probability reaches `topP`, in (0, 1] (default 1). */
  topP?: number;
  /** Generator to draw from (default: the one `manualSeed` seeds). */
  generator?: Generator;
  /**
   * Keep the past keys and values (a {@link KVCache}) so that each new token
   * costs one position (default true); false recomputes the whole sequence
   * for every token (the same tokens, slower).
   */
  useCache?: boolean;
}

const OPTION_KEYS = optionKeys<GPT2Options>({ dtype: 0, generator: 0 });
const PRETRAINED_KEYS = optionKeys<GPT2PretrainedOptions>({ dtype: 0, device: 0 });
const GENERATE_KEYS = optionKeys<GPT2GenerateOptions>({
  maxNewTokens: 0,
  temperature: 0,
  topK: 0,
  topP: 0,
  generator: 0,
  useCache: 0,
});

/** Set (as a symbol key, which option checks do not see) to build without random weights. */
const SKIP_INIT = Symbol("skipInit");
type BuildOptions = GPT2Options & { [SKIP_INIT]?: boolean };

/** PyTorch's (Hugging Face's) names of the members that are camelCase here. */
const NAMES: Readonly<Record<string, string>> = {
  lmHead: "lm_head",
  lnF: "ln_f",
  ln1: "ln_1",
  ln2: "ln_2",
  cAttn: "c_attn",
  cProj: "c_proj",
  cFc: "c_fc",
  attnDropout: "attn_dropout",
  residDropout: "resid_dropout",
};

function checkBuildOptions(op: string, opts: unknown): { dtype: DType; generator?: Generator } {
  checkOptions(op, opts, OPTION_KEYS);
  const o = (opts ?? {}) as GPT2Options;
  const dtype = o.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    typeError(op, "dtype", '"float32" or "float64"', dtype);
  }
  const g = o.generator;
  if (g !== undefined && !(g instanceof Generator)) typeError(op, "generator", "a Generator", g);
  return { dtype, generator: g };
}

/**
 * GPT-2's causal self-attention (Hugging Face's `GPT2Attention`): `cAttn`
 * projects to queries, keys and values (`[nEmbd, 3 * nEmbd]`, Hugging Face's
 * layout), `nHead` heads attend causally through
 * `zn.nn.functional.scaledDotProductAttention`, and `cProj` projects back.
 * With a {@link KVCache}, the new positions attend to the cached ones too.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 };
 * const attn = new zn.models.GPT2Attention(config).eval();
 * attn.call(zn.randn([2, 5, 8])).shape; // [2, 5, 8]
 * ```
 */
export class GPT2Attention extends Module {
  /** The block's index (keys its cache entry; scales the scores with `scaleAttnByInverseLayerIdx`). */
  readonly layerIdx: number;
  /** Width of the hidden states. */
  readonly nEmbd: number;
  /** Number of heads. */
  readonly nHead: number;
  /** The factor on the attention scores. */
  readonly scale: number;
  /** Projection to queries, keys and values (`c_attn`). */
  cAttn: Conv1D;
  /** Output projection (`c_proj`). */
  cProj: Conv1D;
  /** Dropout on the attention weights (`attn_dropout`; its `p` is passed to the attention when training). */
  attnDropout: Dropout;
  /** Dropout after the output projection (`resid_dropout`). */
  residDropout: Dropout;

  /** The attention of block `layerIdx` (default 0) of a model with `config`. */
  constructor(config: GPT2Config, layerIdx = 0, opts: GPT2Options = {}) {
    const op = "GPT2Attention";
    const c = resolveConfig(op, config);
    checkIntArg(layerIdx, op, "layerIdx", 0);
    const { dtype } = checkBuildOptions(op, opts);
    super();
    this.layerIdx = layerIdx;
    this.nEmbd = c.nEmbd;
    this.nHead = c.nHead;
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(c.nEmbd / c.nHead) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= layerIdx + 1;
    this.scale = scale;
    this.cAttn = new Conv1D(3 * c.nEmbd, c.nEmbd, { dtype });
    this.cProj = new Conv1D(c.nEmbd, c.nEmbd, { dtype });
    this.attnDropout = new Dropout(c.attnPdrop);
    this.residDropout = new Dropout(c.residPdrop);
  }

  /** Hugging Face's names (`c_attn`, `c_proj`, ...). */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /**
   * Attends over `hidden` (`[batch, seq, nEmbd]`); with `cache`, appends this
   * block's keys and values to it and attends to the cached positions too.
   */
  override forward(hidden: Tensor, cache: KVCache | null = null): Tensor {
    const op = "GPT2Attention";
    checkTensor(hidden, op, "hidden");
    if (hidden.ndim !== 3 || hidden.shape[2] !== this.nEmbd) {
      throw new RangeError(
        `${op}: expected hidden states of shape [batch, seq, ${this.nEmbd}], got ${
          fmtShape(hidden.shape)
        }`,
      );
    }
    if (cache !== null && cache !== undefined && !(cache instanceof KVCache)) {
      typeError(op, "cache", "a KVCache or null", cache);
    }
    const [B, T, C] = hidden.shape;
    const H = this.nHead, D = C / H;
    // [B, T, 3C] -> [3, B, H, T, D]: Hugging Face splits q, k, v along the last dim.
    const qkv = this.cAttn.call(hidden).reshape([B, T, 3, H, D]).permute(2, 0, 3, 1, 4);
    const q = qkv.select(0, 0);
    let k = qkv.select(0, 1), v = qkv.select(0, 2);
    let past = 0;
    if (cache) {
      past = cache.getSeqLength(this.layerIdx);
      [k, v] = cache.update(k, v, this.layerIdx);
    }
    const dropoutP = this.training ? this.attnDropout.p : 0;
    let out: Tensor;
    if (past === 0) {
      // No past: the causal mask of PyTorch's is_causal (the fused kernel's).
      out = scaledDotProductAttention(q, k, v, { isCausal: true, scale: this.scale, dropoutP });
    } else if (T === 1) {
      // One new position sees every cached one and itself.
      out = scaledDotProductAttention(q, k, v, { scale: this.scale, dropoutP });
    } else {
      // Several new positions after a past: the causal mask aligned bottom-right.
      const keep = ones([T, past + T], { dtype: "bool", device: q.device }).tril(past);
      out = scaledDotProductAttention(q, k, v, { attnMask: keep, scale: this.scale, dropoutP });
    }
    return this.residDropout.call(this.cProj.call(out.transpose(1, 2).reshape([B, T, C])));
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `nEmbd=${this.nEmbd}, nHead=${this.nHead}, layerIdx=${this.layerIdx}`;
  }
}

/**
 * GPT-2's feed-forward block (Hugging Face's `GPT2MLP`): `cFc` to
 * `intermediateSize` features, the config's activation, `cProj` back to
 * `nEmbd`, dropout.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 };
 * const mlp = new zn.models.GPT2MLP(32, config);
 * mlp.call(zn.randn([2, 5, 8])).shape; // [2, 5, 8]
 * ```
 */
export class GPT2MLP extends Module {
  /** The config's activation name. */
  readonly activationFunction: GPT2Activation;
  /** Projection to the hidden width (`c_fc`). */
  cFc: Conv1D;
  /** Projection back to `nEmbd` (`c_proj`). */
  cProj: Conv1D;
  /** Dropout after `cProj`. */
  dropout: Dropout;
  /** @internal The activation. */
  readonly [ACT]: (x: Tensor) => Tensor;

  /** An MLP of hidden width `intermediateSize` for a model with `config`. */
  constructor(intermediateSize: number, config: GPT2Config, opts: GPT2Options = {}) {
    const op = "GPT2MLP";
    checkIntArg(intermediateSize, op, "intermediateSize", 1);
    const c = resolveConfig(op, config);
    const { dtype } = checkBuildOptions(op, opts);
    super();
    this.activationFunction = c.activationFunction;
    this[ACT] = ACTIVATIONS[c.activationFunction];
    this.cFc = new Conv1D(intermediateSize, c.nEmbd, { dtype });
    this.cProj = new Conv1D(c.nEmbd, intermediateSize, { dtype });
    this.dropout = new Dropout(c.residPdrop);
  }

  /** Hugging Face's names (`c_fc`, `c_proj`). */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /** Applies the block to `hidden` (`[..., nEmbd]`). */
  override forward(hidden: Tensor): Tensor {
    return this.dropout.call(this.cProj.call(this[ACT](this.cFc.call(hidden))));
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `activation=${this.activationFunction}`;
  }
}

/**
 * One GPT-2 Transformer block (Hugging Face's `GPT2Block`), pre-norm:
 * `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 };
 * const block = new zn.models.GPT2Block(config).eval();
 * block.call(zn.randn([1, 4, 8])).shape; // [1, 4, 8]
 * ```
 */
export class GPT2Block extends Module {
  /** Layer norm before the attention (`ln_1`). */
  ln1: LayerNorm;
  /** The causal self-attention. */
  attn: GPT2Attention;
  /** Layer norm before the MLP (`ln_2`). */
  ln2: LayerNorm;
  /** The feed-forward block. */
  mlp: GPT2MLP;

  /** Block `layerIdx` (default 0) of a model with `config`. */
  constructor(config: GPT2Config, layerIdx = 0, opts: GPT2Options = {}) {
    const op = "GPT2Block";
    const c = resolveConfig(op, config);
    checkIntArg(layerIdx, op, "layerIdx", 0);
    const { dtype } = checkBuildOptions(op, opts);
    super();
    this.ln1 = new LayerNorm(c.nEmbd, { eps: c.layerNormEpsilon, dtype });
    this.attn = new GPT2Attention(c, layerIdx, { dtype });
    this.ln2 = new LayerNorm(c.nEmbd, { eps: c.layerNormEpsilon, dtype });
    this.mlp = new GPT2MLP(c.nInner, c, { dtype });
  }

  /** Hugging Face's names (`ln_1`, `ln_2`). */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /** Applies the block to `hidden` (`[batch, seq, nEmbd]`), with an optional cache. */
  override forward(hidden: Tensor, cache: KVCache | null = null): Tensor {
    const h = hidden.add(this.attn.call(this.ln1.call(hidden), cache));
    return h.add(this.mlp.call(this.ln2.call(h)));
  }
}

/**
 * The GPT-2 Transformer without a head (Hugging Face's `GPT2Model`): token
 * (`wte`) and position (`wpe`) embeddings, `nLayer` blocks (`h`) and a final
 * layer norm (`lnF`). Its output is the hidden states.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 2, nHead: 2 };
 * const body = new zn.models.GPT2Model(config).eval();
 * body.call(zn.tensor([[1n, 2n, 3n]])).shape; // [1, 3, 8]
 * ```
 */
export class GPT2Model extends Module {
  /** The settings, with every default filled in. */
  readonly config: Readonly<Required<GPT2Config>>;
  /** Token embeddings, `[vocabSize, nEmbd]`. */
  wte: Embedding;
  /** Position embeddings, `[nPositions, nEmbd]`. */
  wpe: Embedding;
  /** Dropout on the summed embeddings. */
  drop: Dropout;
  /** The blocks ({@link GPT2Block}s). */
  h: ModuleList;
  /** The final layer norm (`ln_f`). */
  lnF: LayerNorm;

  /** A model with `config`, randomly initialised as Hugging Face does. */
  constructor(config: GPT2Config, opts: GPT2Options = {}) {
    const op = "GPT2Model";
    const c = resolveConfig(op, config);
    const { dtype, generator } = checkBuildOptions(op, opts);
    super();
    this.config = c;
    this.wte = new Embedding(c.vocabSize, c.nEmbd, { dtype });
    this.wpe = new Embedding(c.nPositions, c.nEmbd, { dtype });
    this.drop = new Dropout(c.embdPdrop);
    this.h = new ModuleList(
      Array.from({ length: c.nLayer }, (_, i) => new GPT2Block(c, i, { dtype })),
    );
    this.lnF = new LayerNorm(c.nEmbd, { eps: c.layerNormEpsilon, dtype });
    if (!(opts as BuildOptions)[SKIP_INIT]) initWeights(this, c, generator);
  }

  /** Hugging Face's names (`ln_f`). */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /**
   * The hidden states `[batch, seq, nEmbd]` of int64 (or int32) token ids
   * `[batch, seq]` (or `[seq]`, giving `[seq, nEmbd]`). With `cache`, the ids
   * continue the cached positions.
   */
  override forward(inputIds: Tensor, cache: KVCache | null = null): Tensor {
    const op = "GPT2Model";
    const ids = checkIds(op, inputIds, this.config.vocabSize);
    checkCache(op, cache);
    const out = hiddenStates(this, ids, cache ?? null, op);
    return inputIds.ndim === 1 ? out.squeeze(0) : out;
  }
}

/**
 * GPT-2 with its language-model head (Hugging Face's `GPT2LMHeadModel`):
 * {@link GPT2Model} as `transformer` and `lmHead` (`[vocabSize, nEmbd]`, by
 * default the token embedding's own weight). Its state dict has Hugging
 * Face's names and layouts (`transformer.h.0.attn.c_attn.weight` is
 * `[nEmbd, 3 * nEmbd]`), so `model.safetensors` files load as they are
 * ({@link GPT2.fromPretrained}, or `loadStateDict(await zn.load(path))`),
 * and `zn.save(model.stateDict(), path)` writes a file `transformers` reads.
 * A new model has random weights, initialised as Hugging Face does (N(0,
 * 0.02²), the residual projections `c_proj` scaled by 1/√(2·nLayer)), and
 * is in training mode; call `eval()` to turn dropout off.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const model = new zn.models.GPT2({ vocabSize: 101, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 });
 * model.eval();
 * const ids = zn.tensor([[5n, 17n, 42n]]);
 * model.call(ids).shape; // [1, 3, 101]: next-token logits at each position
 * model.generate(ids, { maxNewTokens: 5, temperature: 0 }).shape; // [1, 8]
 * ```
 */
export class GPT2 extends Module {
  /** The settings, with every default filled in. */
  readonly config: Readonly<Required<GPT2Config>>;
  /** The Transformer. */
  transformer: GPT2Model;
  /** The language-model head (`lm_head`), without bias. */
  lmHead: Linear;

  /** A model with `config`, randomly initialised as Hugging Face does. */
  constructor(config: GPT2Config, opts: GPT2Options = {}) {
    const op = "GPT2";
    const c = resolveConfig(op, config);
    const { dtype, generator } = checkBuildOptions(op, opts);
    super();
    this.config = c;
    this.transformer = new GPT2Model(c, { dtype, [SKIP_INIT]: true } as BuildOptions);
    this.lmHead = new Linear(c.nEmbd, c.vocabSize, { bias: false, dtype });
    if (c.tieWordEmbeddings) this.lmHead.weight = this.transformer.wte.weight;
    if (!(opts as BuildOptions)[SKIP_INIT]) initWeights(this, c, generator);
  }

  /** Hugging Face's names (`lm_head`). */
  protected override ownMembers(): [string, unknown][] {
    return renamed(super.ownMembers(), NAMES);
  }

  /**
   * Next-token logits `[batch, seq, vocabSize]` of int64 (or int32) token
   * ids `[batch, seq]` (or `[seq]`, giving `[seq, vocabSize]`); sequences
   * have at most `nPositions` tokens. With `cache` (a {@link KVCache}), the
   * ids continue the positions it holds, and their keys and values are
   * added to it.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const model = new zn.models.GPT2({ vocabSize: 50, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 });
   * model.eval();
   * const cache = new zn.models.KVCache();
   * model.call(zn.tensor([[1n, 2n, 3n]]), cache); // the prompt: [1, 3, 50]
   * model.call(zn.tensor([[4n]]), cache).shape; // one more position: [1, 1, 50]
   * ```
   */
  override forward(inputIds: Tensor, cache: KVCache | null = null): Tensor {
    const op = "GPT2";
    const ids = checkIds(op, inputIds, this.config.vocabSize);
    checkCache(op, cache);
    const logits = this.lmHead.call(hiddenStates(this.transformer, ids, cache ?? null, op));
    return inputIds.ndim === 1 ? logits.squeeze(0) : logits;
  }

  /**
   * Extends each sequence of `inputIds` (int64 `[batch, seq]` or `[seq]`)
   * by `maxNewTokens` tokens, one at a time, as Hugging Face's `generate`:
   * each token is drawn from the last position's logits by
   * `zn.sampling.sampleLogits` (temperature, then top-k, then top-p;
   * `temperature: 0` is greedy, `do_sample=False`), then fed back. With the
   * KV cache (the default) the prompt runs once and each new token costs one
   * position. Returns the ids with the new tokens appended (int64, the
   * input's rank). Runs without autograd, in the model's current mode (call
   * `eval()` first for no dropout). The model feeds positions up to
   * `nPositions - 1`, so prompt plus new tokens may reach `nPositions + 1`
   * (the last token is never fed back), as in Hugging Face's, which fails
   * past that; longer requests are refused before any work.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const model = new zn.models.GPT2({ vocabSize: 50, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 });
   * model.eval();
   * const prompt = zn.tensor([[1n, 2n, 3n], [4n, 5n, 6n]]);
   * model.generate(prompt, { maxNewTokens: 4, temperature: 0 }).shape; // [2, 7] (greedy)
   * const g = new zn.Generator(0);
   * model.generate(prompt, { maxNewTokens: 4, topK: 10, topP: 0.9, generator: g }).shape; // [2, 7]
   * ```
   */
  generate(inputIds: Tensor, opts: GPT2GenerateOptions): Tensor {
    const op = "GPT2.generate";
    const ids = checkIds(op, inputIds, this.config.vocabSize);
    checkObject(opts, op, "opts");
    checkOptions(op, opts, GENERATE_KEYS);
    const n = opts.maxNewTokens;
    if (n === undefined) throw new TypeError(`${op}: opts.maxNewTokens is required`);
    checkIntArg(n, op, "maxNewTokens", 0);
    const sampling = checkSampling(op, opts);
    const useCache = opts.useCache ?? true;
    if (typeof useCache !== "boolean") typeError(op, "useCache", "a boolean", useCache);
    const [B, T0] = ids.shape;
    const limit = this.config.nPositions;
    if (T0 > limit || T0 + n > limit + 1) {
      throw new RangeError(
        `${op}: a prompt of ${T0} tokens plus ${n} new ones exceeds the model's ${limit} positions (the sequences may reach ${
          limit + 1
        } tokens: the last one is never fed back)`,
      );
    }
    if (n === 0) return inputIds.to("int64").clone();
    const cache = useCache ? new KVCache() : null;
    const tokens: Tensor[] = [];
    try {
      noGrad(() => {
        let feed = ids;
        for (let i = 0; i < n; i++) {
          const next = tidy(() => {
            const h = hiddenStates(this.transformer, feed, cache, op);
            const logits = this.lmHead.call(h.select(1, h.shape[1] - 1)); // [B, vocab]
            return sampleLogits(logits, sampling).reshape([B, 1]);
          });
          tokens.push(next);
          if (i + 1 < n) feed = cache ? next : cat([ids, ...tokens], 1);
        }
      });
    } finally {
      cache?.dispose();
    }
    const out = cat([ids, ...tokens], 1);
    return inputIds.ndim === 1 ? out.squeeze(0) : out;
  }

  /**
   * Loads a state dict (see `zn.nn.Module.loadStateDict`) as Hugging Face
   * writes them: without `lm_head.weight` when the head is tied (it is the
   * token embedding), with or without the `transformer.` prefix (files of a
   * `GPT2Model`), and with the attention-mask buffers of older files
   * (`attn.bias`, `attn.masked_bias`) ignored. With a tied head,
   * `transformer.wte.weight` is the value of both. Everything is checked
   * before the first copy: a missing key or a wrong shape throws and leaves
   * the model unchanged.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const config = { vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 };
   * const a = new zn.models.GPT2(config), b = new zn.models.GPT2(config);
   * const sd = a.stateDict();
   * delete sd["lm_head.weight"]; // as in Hugging Face's files
   * b.loadStateDict(sd);
   * b.lmHead.weight.eq(a.lmHead.weight).all().item(); // true
   * ```
   */
  override loadStateDict(
    stateDict: StateDict,
    opts: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const op = "GPT2.loadStateDict";
    if (!(stateDict instanceof Map)) checkObject(stateDict, op, "stateDict");
    return super.loadStateDict(hfStateDict(stateDict, this.config.tieWordEmbeddings), opts);
  }

  /**
   * A {@link GPT2Config} from the object of a Hugging Face `config.json`:
   * its snake_case keys (and the aliases `hidden_size`, `num_hidden_layers`,
   * ...) read, Hugging Face's defaults for the keys it leaves out, the keys
   * that do not change the model (`architectures`, token ids, `summary_*`,
   * ...) ignored. A `model_type` other than `"gpt2"`, `add_cross_attention`
   * and an activation Zeno lacks are refused.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const config = zn.models.GPT2.configFromJson({
   *   model_type: "gpt2",
   *   vocab_size: 101,
   *   n_positions: 32,
   *   n_embd: 32,
   *   n_layer: 2,
   *   n_head: 4,
   *   activation_function: "gelu_new",
   * });
   * [config.nEmbd, config.layerNormEpsilon]; // [32, 1e-5]
   * ```
   */
  static configFromJson(json: Record<string, unknown>): GPT2Config {
    return configFromJson("GPT2.configFromJson", json);
  }

  /**
   * Loads a model saved by Hugging Face's `save_pretrained`: the folder
   * `dir`'s `config.json` ({@link GPT2.configFromJson}) and
   * `model.safetensors` (float32, float16 or bfloat16 tensors, converted to
   * the model's dtype; see {@link GPT2.loadStateDict}). The model is returned
   * in evaluation mode, as Hugging Face's. Needs read permission. Sharded
   * checkpoints (`model.safetensors.index.json`) are not supported.
   *
   * @example
   * ```ts ignore
   * import * as zn from "@zeno/zeno";
   * const model = await zn.models.GPT2.fromPretrained("path/to/gpt2");
   * const ids = model.generate(zn.tensor([[464n, 3290n]]), { maxNewTokens: 20, topK: 50 });
   * ```
   */
  static async fromPretrained(
    dir: string | URL,
    opts: GPT2PretrainedOptions = {},
  ): Promise<GPT2> {
    const op = "GPT2.fromPretrained";
    checkPath(dir, op, "dir");
    checkOptions(op, opts, PRETRAINED_KEYS);
    const { dtype } = checkBuildOptions(op, { dtype: opts.dtype });
    const device = opts.device ?? "cpu";
    if (typeof device !== "string") typeError(op, "device", "a string", device);
    const configPath = fileIn(dir, "config.json");
    const weightsPath = fileIn(dir, "model.safetensors");
    let text: string;
    try {
      text = await Deno.readTextFile(configPath);
    } catch (e) {
      throw new Error(`${op}: cannot read ${String(configPath)}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(
        `${op}: ${String(configPath)} is not valid JSON: ${(e as Error).message}`,
      );
    }
    const config = configFromJson(op, json);
    let tensors: Record<string, Tensor>;
    try {
      tensors = await load(weightsPath);
    } catch (e) {
      if (
        e instanceof Deno.errors.NotFound &&
        await exists(fileIn(dir, "model.safetensors.index.json"))
      ) {
        throw new Error(
          `${op}: ${
            String(dir)
          } holds a sharded checkpoint (model.safetensors.index.json), which is not supported`,
        );
      }
      throw new Error(`${op}: cannot load ${String(weightsPath)}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const model = new GPT2(config, { dtype, [SKIP_INIT]: true } as BuildOptions);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      throw new Error(
        `${op}: the weights of ${String(weightsPath)} do not fit ${String(configPath)}: ${
          (e as Error).message
        }`,
        { cause: e },
      );
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    if (device !== "cpu") model.to(device);
    return model.eval();
  }
}

// ------------------------------------------------------------------ internals

/** Checks token ids: an int64 or int32 tensor `[batch, seq]` or `[seq]` within the vocabulary; returns them int64 and 2-D. */
function checkIds(op: string, ids: unknown, vocab: number): Tensor {
  checkTensor(ids, op, "inputIds");
  if (ids.isDisposed) typeError(op, "inputIds", "a live Tensor", ids);
  if (ids.dtype !== "int64" && ids.dtype !== "int32") {
    throw new TypeError(
      `${op}: expected int64 token ids, got ${ids.dtype} (make ids with bigints, e.g. zn.tensor([[1n, 2n]]), or .to("int64"))`,
    );
  }
  if ((ids.ndim !== 1 && ids.ndim !== 2) || ids.numel === 0) {
    throw new RangeError(
      `${op}: expected token ids of shape [batch, seq] or [seq] with at least one token, got ${
        fmtShape(ids.shape)
      }`,
    );
  }
  const lo = Number(ids.amin().item()), hi = Number(ids.amax().item());
  if (lo < 0 || hi >= vocab) {
    throw new RangeError(
      `${op}: token id ${lo < 0 ? lo : hi} is out of range for the vocabulary of ${vocab} tokens`,
    );
  }
  const ids64 = ids.to("int64");
  return ids.ndim === 1 ? ids64.unsqueeze(0) : ids64;
}

function checkCache(op: string, cache: unknown): void {
  if (cache !== null && cache !== undefined && !(cache instanceof KVCache)) {
    typeError(op, "cache", "a KVCache or null", cache);
  }
}

/** The checked sampling options of generate, for sampleLogits. */
function checkSampling(
  op: string,
  opts: GPT2GenerateOptions,
): { temperature: number; topK: number; topP: number; generator?: Generator } {
  const temperature = opts.temperature ?? 1;
  if (typeof temperature !== "number") typeError(op, "temperature", "a number", temperature);
  if (!(temperature >= 0 && temperature < Infinity)) {
    throw new RangeError(
      `${op}: expected temperature to be a positive number (or 0 for greedy decoding), got ${temperature}`,
    );
  }
  const topK = opts.topK ?? 0;
  checkIntArg(topK, op, "topK", 0);
  const topP = opts.topP ?? 1;
  if (typeof topP !== "number") typeError(op, "topP", "a number", topP);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`${op}: expected topP in (0, 1], got ${topP}`);
  const g = opts.generator;
  if (g !== undefined && !(g instanceof Generator)) typeError(op, "generator", "a Generator", g);
  return g === undefined ? { temperature, topK, topP } : { temperature, topK, topP, generator: g };
}

/** The hidden states of checked int64 ids `[B, T]`, continuing `cache`'s positions. */
function hiddenStates(model: GPT2Model, ids: Tensor, cache: KVCache | null, op: string): Tensor {
  const T = ids.shape[1];
  const past = cache ? cache.getSeqLength(0) : 0;
  const limit = model.config.nPositions;
  if (past + T > limit) {
    throw new RangeError(
      `${op}: ${
        past ? `${past} cached positions plus ` : ""
      }${T} tokens exceed the model's ${limit} positions`,
    );
  }
  const device = model.wte.weight.device;
  if (ids.device !== device) {
    throw new Error(`${op}: the token ids are on ${ids.device}, the model on ${device}`);
  }
  const pos = arange(past, past + T, { dtype: "int64", device });
  let h = model.drop.call(model.wte.call(ids).add(model.wpe.call(pos)));
  for (const block of model.h) h = (block as GPT2Block).call(h, cache);
  return model.lnF.call(h);
}

/** Hugging Face's initialisation (`GPT2PreTrainedModel._init_weights`). */
function initWeights(root: Module, c: ResolvedGPT2Config, generator?: Generator): void {
  const std = c.initializerRange;
  const g = generator === undefined ? {} : { generator };
  const done = new Set<Parameter>();
  noGrad(() => {
    for (const m of root.modules()) {
      if (m instanceof Embedding || m instanceof Linear || m instanceof Conv1D) {
        if (!done.has(m.weight)) normal_(m.weight, 0, std, g);
        done.add(m.weight);
        const bias = (m as { bias?: Parameter | null }).bias;
        if (bias) zeros_(bias);
      } else if (m instanceof LayerNorm) {
        if (m.weight) ones_(m.weight);
        if (m.bias) zeros_(m.bias);
      }
    }
    // GPT-2's scaled init of the residual projections, after the generic one.
    const projStd = std / Math.sqrt(2 * c.nLayer);
    for (const m of root.modules()) {
      if (m instanceof GPT2Attention || m instanceof GPT2MLP) {
        normal_(m.cProj.weight, 0, projStd, g);
      }
    }
  });
}

/** A state dict as Hugging Face writes it, renamed and completed for {@link GPT2}. */
function hfStateDict(sd: StateDict, tied: boolean): Map<string, Tensor> {
  const entries: [string, Tensor][] = sd instanceof Map ? [...sd] : Object.entries(sd);
  const maskBuffer = /^(transformer\.)?h\.\d+\.(attn|crossattention)\.(bias|masked_bias)$/;
  const base = !entries.some(([k]) => k.startsWith("transformer.")) &&
    entries.some(([k]) => k === "wte.weight" || k === "wpe.weight" || k.startsWith("h."));
  const out = new Map<string, Tensor>();
  for (const [k, v] of entries) {
    if (maskBuffer.test(k)) continue;
    out.set(base && k !== "lm_head.weight" ? `transformer.${k}` : k, v);
  }
  const wte = out.get("transformer.wte.weight");
  if (tied && wte !== undefined) out.set("lm_head.weight", wte);
  return out;
}

/** The file `name` in the folder `dir`. */
function fileIn(dir: string | URL, name: string): string | URL {
  if (dir instanceof URL) return new URL(name, dir.href.endsWith("/") ? dir : `${dir.href}/`);
  const d = dir.replace(/[\\/]+$/, "");
  return dir === "" ? name : `${d}/${name}`;
}

async function exists(path: string | URL): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
