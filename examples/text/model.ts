/**
 * The text job's models, both mapping token ids `[B, T]` to next-token
 * logits `[B, T, vocabSize]`: a small GPT (token and position embeddings,
 * pre-norm Transformer blocks with causal self-attention through the fused
 * `scaledDotProductAttention` kernel, a final LayerNorm and a linear head)
 * and an LSTM (embedding, `nn.LSTM`, linear head).
 *
 * @module
 */
import * as zn from "../../mod.ts";

const nn = zn.nn;
const F = zn.nn.functional;

/** The model kinds the training script can build. */
export type ModelKind = "gpt" | "lstm";

/** What a model is built from; saved in the checkpoint's metadata. */
export interface ModelConfig {
  /** "gpt" or "lstm". */
  kind: ModelKind;
  /** The number of token ids. */
  vocabSize: number;
  /** The longest context the GPT sees (its position table); the LSTM trains on windows of it. */
  blockSize: number;
  /** Transformer blocks (GPT) or stacked LSTM layers. */
  layers: number;
  /** The embedding width (GPT: also the residual width). */
  dim: number;
  /** GPT: attention heads (`dim` divisible by it). */
  heads: number;
  /** LSTM: the hidden state's size. */
  hidden: number;
}

/** A model of either kind: `call(ids [B, T])` gives logits `[B, T, vocabSize]`. */
export type TextModel = GPT | LSTMModel;

/** Builds a fresh model (initialised from the global generator: seed it first). */
export function buildModel(config: ModelConfig): TextModel {
  if (config.kind === "gpt") return new GPT(config);
  if (config.kind === "lstm") return new LSTMModel(config);
  throw new RangeError(`unknown model "${config.kind}"; expected "gpt" or "lstm"`);
}

/** Multi-head causal self-attention: one projection to q, k, v, the fused kernel, one out. */
export class CausalSelfAttention extends zn.nn.Module {
  /** The heads. */
  readonly heads: number;
  /** x → [q, k, v]. */
  qkv: zn.nn.Linear;
  /** The heads' outputs → x. */
  proj: zn.nn.Linear;

  /** Attention over `dim` features in `heads` heads. */
  constructor(dim: number, heads: number) {
    super();
    if (dim % heads !== 0) {
      throw new RangeError(`the width ${dim} is not divisible by ${heads} heads`);
    }
    this.heads = heads;
    this.qkv = new nn.Linear(dim, 3 * dim);
    this.proj = new nn.Linear(dim, dim);
  }

  /** `x [B, T, C]` → `[B, T, C]`, position t seeing positions 0..t. */
  override forward(x: zn.Tensor): zn.Tensor {
    const [B, T, C] = x.shape;
    const h = this.heads;
    // [B, T, 3, h, C/h] → [3, B, h, T, C/h]
    const qkv = this.qkv.call(x).reshape(B, T, 3, h, C / h).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
    const y = F.scaledDotProductAttention(q, k, v, { isCausal: true }); // [B, h, T, C/h]
    return this.proj.call(y.transpose(1, 2).reshape(B, T, C));
  }
}

/** A pre-norm Transformer block: x + attn(ln(x)), then x + mlp(ln(x)). */
export class Block extends zn.nn.Module {
  /** The norm before attention. */
  ln1: zn.nn.LayerNorm;
  /** The attention. */
  attn: CausalSelfAttention;
  /** The norm before the MLP. */
  ln2: zn.nn.LayerNorm;
  /** The MLP: dim → 4·dim → GELU → dim. */
  mlp: zn.nn.Sequential;

  /** A block of width `dim` with `heads` attention heads. */
  constructor(dim: number, heads: number) {
    super();
    this.ln1 = new nn.LayerNorm(dim);
    this.attn = new CausalSelfAttention(dim, heads);
    this.ln2 = new nn.LayerNorm(dim);
    this.mlp = new nn.Sequential(
      new nn.Linear(dim, 4 * dim),
      new nn.GELU(),
      new nn.Linear(4 * dim, dim),
    );
  }

  /** `[B, T, C]` → `[B, T, C]`. */
  override forward(x: zn.Tensor): zn.Tensor {
    const a = x.add(this.attn.call(this.ln1.call(x)));
    return a.add(this.mlp.call(this.ln2.call(a)));
  }
}

/** A character-level GPT: embeddings, pre-norm blocks, final LayerNorm, linear head. */
export class GPT extends zn.nn.Module {
  /** What it was built from. */
  readonly config: ModelConfig;
  /** Token embeddings `[vocabSize, dim]`. */
  tokEmb: zn.nn.Embedding;
  /** Position embeddings `[blockSize, dim]`. */
  posEmb: zn.nn.Embedding;
  /** The Transformer blocks. */
  blocks: zn.nn.ModuleList;
  /** The final norm. */
  lnF: zn.nn.LayerNorm;
  /** dim → vocabSize logits. */
  head: zn.nn.Linear;

  /** A GPT of `config.layers` blocks of width `config.dim`. */
  constructor(config: ModelConfig) {
    super();
    this.config = { ...config };
    const { vocabSize, blockSize, dim, heads, layers } = config;
    this.tokEmb = new nn.Embedding(vocabSize, dim);
    this.posEmb = new nn.Embedding(blockSize, dim);
    this.blocks = new nn.ModuleList(Array.from({ length: layers }, () => new Block(dim, heads)));
    this.lnF = new nn.LayerNorm(dim);
    this.head = new nn.Linear(dim, vocabSize, { bias: false });
    // GPT-2's scale for the embeddings: N(0, 0.02) instead of N(0, 1).
    zn.noGrad(() => {
      nn.init.normal_(this.tokEmb.weight, 0, 0.02);
      nn.init.normal_(this.posEmb.weight, 0, 0.02);
    });
  }

  /** `ids [B, T]` (int64, T ≤ blockSize) → logits `[B, T, vocabSize]`. */
  override forward(ids: zn.Tensor): zn.Tensor {
    const T = ids.shape[1];
    if (T > this.config.blockSize) {
      throw new RangeError(
        `a context of ${T} tokens exceeds the block size ${this.config.blockSize}`,
      );
    }
    const pos = zn.arange(T, { device: ids.device });
    let x = this.tokEmb.call(ids).add(this.posEmb.call(pos));
    for (const block of this.blocks) x = (block as Block).call(x);
    return this.head.call(this.lnF.call(x));
  }
}

/** A character-level LSTM: embedding, stacked `nn.LSTM`, linear head. */
export class LSTMModel extends zn.nn.Module {
  /** What it was built from. */
  readonly config: ModelConfig;
  /** Token embeddings `[vocabSize, dim]`. */
  emb: zn.nn.Embedding;
  /** The recurrent layers (batch-first). */
  lstm: zn.nn.LSTM;
  /** hidden → vocabSize logits. */
  head: zn.nn.Linear;

  /** An LSTM of `config.layers` layers of `config.hidden` units over `config.dim` embeddings. */
  constructor(config: ModelConfig) {
    super();
    this.config = { ...config };
    const { vocabSize, dim, hidden, layers } = config;
    this.emb = new nn.Embedding(vocabSize, dim);
    this.lstm = new nn.LSTM(dim, hidden, { numLayers: layers, batchFirst: true });
    this.head = new nn.Linear(hidden, vocabSize);
  }

  /** `ids [B, T]` → logits `[B, T, vocabSize]`, from zero states. */
  override forward(ids: zn.Tensor): zn.Tensor {
    return this.step(ids, null)[0];
  }

  /** `ids [B, T]` from `state` (null: zeros) → `[logits [B, T, vocabSize], the state after]`. */
  step(ids: zn.Tensor, state: [zn.Tensor, zn.Tensor] | null): [zn.Tensor, [zn.Tensor, zn.Tensor]] {
    const [out, next] = this.lstm.call(this.emb.call(ids), state);
    return [this.head.call(out), next];
  }
}

/** How {@link generate} picks each next token. */
export interface SampleOptions {
  /** Divides the logits (0: greedy). */
  temperature: number;
  /** Keeps the k most likely tokens (0: all). */
  topK: number;
  /** Keeps the most likely tokens whose probability reaches p (1: all). */
  topP: number;
  /** The random source. */
  generator: zn.Generator;
}

/**
 * Continues `prompt` (token ids, at least one) by `maxNewTokens` tokens drawn
 * with `zn.sampling.sampleLogits`; `onToken` sees each new id as it comes.
 * The GPT reads the last `blockSize` tokens each step; the LSTM carries its
 * state, reading each token once. Returns the new ids.
 */
export function generate(
  model: TextModel,
  prompt: readonly number[],
  maxNewTokens: number,
  opts: SampleOptions,
  onToken?: (id: number) => void,
): number[] {
  if (prompt.length === 0) throw new RangeError("generate needs a prompt of at least one token");
  const device = model.parameters().next().value!.device;
  const ids = [...prompt];
  const out: number[] = [];
  const sample = (logits: zn.Tensor) =>
    Number(
      zn.sampling.sampleLogits(logits, {
        temperature: opts.temperature,
        topK: opts.topK,
        topP: opts.topP,
        generator: opts.generator,
      }).item(),
    );
  const asTensor = (list: readonly number[]) =>
    zn.tensor(BigInt64Array.from(list, (v) => BigInt(v)), { shape: [1, list.length] }).to(device);
  const wasTraining = model.training;
  model.eval();
  zn.noGrad(() => {
    if (model instanceof LSTMModel) {
      // The prompt once, then one token at a time from the carried state.
      let state: [zn.Tensor, zn.Tensor] | null = null;
      let input = ids;
      for (let i = 0; i < maxNewTokens; i++) {
        const prev = state;
        const [id, next] = zn.tidy(() => {
          const [logits, next] = model.step(asTensor(input), prev);
          return [sample(logits.select(1, -1).select(0, 0)), next] as const;
        });
        prev?.forEach((t) => t.dispose());
        state = next;
        out.push(id);
        onToken?.(id);
        input = [id];
      }
    } else {
      const block = model.config.blockSize;
      for (let i = 0; i < maxNewTokens; i++) {
        const id = zn.tidy(() => {
          const ctx = ids.length > block ? ids.slice(ids.length - block) : ids;
          return sample(model.call(asTensor(ctx)).select(1, -1).select(0, 0));
        });
        ids.push(id);
        out.push(id);
        onToken?.(id);
      }
    }
  });
  model.train(wasTraining);
  return out;
}
