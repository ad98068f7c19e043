/**
 * @internal GPT-2 settings: checking a {@link GPT2Config}, filling its
 * defaults, and reading Hugging Face's `config.json` (snake_case keys, its
 * defaults for the keys a file leaves out, the options Zeno cannot run
 * refused with a clear error).
 *
 * @module
 */
import type { GPT2Activation, GPT2Config } from "./gpt2.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntArg, checkObject, describe, typeError } from "../args.ts";
import { gelu, relu, sigmoid, silu, tanh } from "../ops/unary_fns.ts";
import type { Tensor } from "../tensor.ts";

/** @internal A checked config with every default filled in (`nInner` resolved). */
export type ResolvedGPT2Config = Readonly<Required<GPT2Config>> & { readonly nInner: number };

/** @internal The keys of {@link GPT2Config}. */
export const CONFIG_KEYS: readonly string[] = optionKeys<GPT2Config>({
  vocabSize: 0,
  nPositions: 0,
  nEmbd: 0,
  nLayer: 0,
  nHead: 0,
  nInner: 0,
  activationFunction: 0,
  residPdrop: 0,
  embdPdrop: 0,
  attnPdrop: 0,
  layerNormEpsilon: 0,
  initializerRange: 0,
  scaleAttnWeights: 0,
  scaleAttnByInverseLayerIdx: 0,
  reorderAndUpcastAttn: 0,
  tieWordEmbeddings: 0,
});

/** @internal The activations GPT-2 configs name, as Hugging Face's `ACT2FN` computes them. */
export const ACTIVATIONS: Readonly<Record<GPT2Activation, (x: Tensor) => Tensor>> = {
  // NewGELUActivation, GELUFastActivation and PyTorchGELUTanh: one formula.
  gelu_new: (x) => gelu(x, { approximate: "tanh" }),
  gelu_fast: (x) => gelu(x, { approximate: "tanh" }),
  gelu_pytorch_tanh: (x) => gelu(x, { approximate: "tanh" }),
  gelu: (x) => gelu(x),
  gelu_python: (x) => gelu(x),
  quick_gelu: (x) => x.mul(sigmoid(x.mul(1.702))),
  relu: (x) => relu(x),
  silu: (x) => silu(x),
  swish: (x) => silu(x),
  tanh: (x) => tanh(x),
  sigmoid: (x) => sigmoid(x),
};

const REQUIRED = ["vocabSize", "nPositions", "nEmbd", "nLayer", "nHead"] as const;

/** @internal Checks `config` and fills the defaults (Hugging Face's `GPT2Config` defaults). */
export function resolveConfig(op: string, config: unknown): ResolvedGPT2Config {
  checkObject(config, op, "config");
  checkOptions(op, config, CONFIG_KEYS);
  const c = config as GPT2Config;
  for (const k of REQUIRED) {
    if (c[k] === undefined) {
      throw new TypeError(
        `${op}: config.${k} is required (the sizes ${
          REQUIRED.join(", ")
        } have no default; GPT2.configFromJson fills Hugging Face's)`,
      );
    }
    checkIntArg(c[k], op, `config.${k}`, 1);
  }
  const nInner = c.nInner ?? null;
  if (nInner !== null) checkIntArg(nInner, op, "config.nInner", 1);
  if (c.nEmbd % c.nHead !== 0) {
    throw new RangeError(
      `${op}: config.nEmbd (${c.nEmbd}) must be divisible by config.nHead (${c.nHead})`,
    );
  }
  const act = c.activationFunction ?? "gelu_new";
  if (typeof act !== "string" || !Object.hasOwn(ACTIVATIONS, act)) {
    throw new TypeError(
      `${op}: unsupported config.activationFunction ${describe(act)}; supported: ${
        Object.keys(ACTIVATIONS).join(", ")
      }`,
    );
  }
  const prob = (k: "residPdrop" | "embdPdrop" | "attnPdrop"): number => {
    const p = c[k] ?? 0.1;
    if (typeof p !== "number") typeError(op, `config.${k}`, "a number", p);
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`${op}: expected config.${k} to be a probability in [0, 1], got ${p}`);
    }
    return p;
  };
  const positive = (k: "layerNormEpsilon" | "initializerRange", dflt: number): number => {
    const v = c[k] ?? dflt;
    if (typeof v !== "number") typeError(op, `config.${k}`, "a number", v);
    if (!(v >= 0 && v < Infinity)) {
      throw new RangeError(`${op}: expected config.${k} to be a finite number >= 0, got ${v}`);
    }
    return v;
  };
  const flag = (
    k:
      | "scaleAttnWeights"
      | "scaleAttnByInverseLayerIdx"
      | "reorderAndUpcastAttn"
      | "tieWordEmbeddings",
    dflt: boolean,
  ): boolean => {
    const v = c[k] ?? dflt;
    if (typeof v !== "boolean") typeError(op, `config.${k}`, "a boolean", v);
    return v;
  };
  return {
    vocabSize: c.vocabSize,
    nPositions: c.nPositions,
    nEmbd: c.nEmbd,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nInner: nInner ?? 4 * c.nEmbd,
    activationFunction: act,
    residPdrop: prob("residPdrop"),
    embdPdrop: prob("embdPdrop"),
    attnPdrop: prob("attnPdrop"),
    layerNormEpsilon: positive("layerNormEpsilon", 1e-5),
    initializerRange: positive("initializerRange", 0.02),
    scaleAttnWeights: flag("scaleAttnWeights", true),
    scaleAttnByInverseLayerIdx: flag("scaleAttnByInverseLayerIdx", false),
    reorderAndUpcastAttn: flag("reorderAndUpcastAttn", false),
    tieWordEmbeddings: flag("tieWordEmbeddings", true),
  };
}

/** Hugging Face's keys (and its aliases) for each setting, with its defaults. */
const HF: readonly [string, keyof GPT2Config, unknown][] = [
  ["vocab_size", "vocabSize", 50257],
  ["n_positions", "nPositions", 1024],
  ["n_embd", "nEmbd", 768],
  ["n_layer", "nLayer", 12],
  ["n_head", "nHead", 12],
  ["n_inner", "nInner", null],
  ["activation_function", "activationFunction", "gelu_new"],
  ["resid_pdrop", "residPdrop", 0.1],
  ["embd_pdrop", "embdPdrop", 0.1],
  ["attn_pdrop", "attnPdrop", 0.1],
  ["layer_norm_epsilon", "layerNormEpsilon", 1e-5],
  ["initializer_range", "initializerRange", 0.02],
  ["scale_attn_weights", "scaleAttnWeights", true],
  ["scale_attn_by_inverse_layer_idx", "scaleAttnByInverseLayerIdx", false],
  ["reorder_and_upcast_attn", "reorderAndUpcastAttn", false],
  ["tie_word_embeddings", "tieWordEmbeddings", true],
];

/** `GPT2Config.attribute_map`: other names a config may use. */
const ALIASES: Readonly<Record<string, string>> = {
  hidden_size: "n_embd",
  max_position_embeddings: "n_positions",
  num_attention_heads: "n_head",
  num_hidden_layers: "n_layer",
};

/**
 * @internal A {@link GPT2Config} from the object of a Hugging Face
 * `config.json`: its snake_case keys read, its defaults for the keys left
 * out, the keys that do not change the language model (`architectures`,
 * token ids, `summary_*`, `use_cache`, ...) ignored, and the settings Zeno
 * cannot run refused.
 */
export function configFromJson(op: string, json: unknown): GPT2Config {
  checkObject(json, op, "json");
  const j = json as Record<string, unknown>;
  const get = (key: string): unknown => {
    let v: unknown = Object.hasOwn(j, key) ? j[key] : undefined;
    for (const [alias, name] of Object.entries(ALIASES)) {
      if (name !== key || !Object.hasOwn(j, alias)) continue;
      if (v !== undefined && v !== j[alias]) {
        throw new RangeError(
          `${op}: the config gives ${key} = ${String(v)} and its alias ${alias} = ${
            String(j[alias])
          }`,
        );
      }
      v = j[alias];
    }
    return v;
  };
  const modelType = get("model_type");
  if (modelType !== undefined && modelType !== "gpt2") {
    throw new TypeError(
      `${op}: the config is for model_type ${describe(modelType)}, not "gpt2"`,
    );
  }
  if (get("add_cross_attention") === true) {
    throw new TypeError(
      `${op}: add_cross_attention (GPT-2 as a decoder of an encoder-decoder model) is not supported`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, name, dflt] of HF) {
    const v = get(key);
    out[name] = v === undefined ? dflt : v;
  }
  // The same checks as the constructor, with the file's names in the message.
  try {
    resolveConfig(op, out);
  } catch (e) {
    const msg = (e as Error).message.replace(/config\.([A-Za-z]+)/g, (m, name: string) => {
      const hf = HF.find(([, n]) => n === name);
      return hf ? `config.json's ${hf[0]}` : m;
    });
    const Ctor = (e as Error).constructor as ErrorConstructor;
    throw new Ctor(msg);
  }
  return out as unknown as GPT2Config;
}
