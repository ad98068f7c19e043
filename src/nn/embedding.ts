/**
 * The `Embedding` module.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { empty } from "../ops/creation.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { Module } from "./module.ts";
import { Parameter } from "./parameter.ts";
import { embedding } from "./functional/embedding.ts";
import { normal_ } from "./init.ts";
import { checkOptions } from "../options.ts";

const EMBEDDING_KEYS = ["paddingIdx", "dtype"] as const;

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim`,
 * initialised from N(0, 1); the `paddingIdx` row starts at zero and gets no
 * gradient.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const emb = new zn.nn.Embedding(10, 4, { paddingIdx: 0 });
 * emb.call(zn.tensor([[1n, 2n], [0n, 9n]])).shape; // [2, 2, 4]
 * ```
 */
export class Embedding extends Module {
  /** Size of the table. */
  readonly numEmbeddings: number;
  /** Size of each vector. */
  readonly embeddingDim: number;
  /** The padding row (non-negative), or null. */
  readonly paddingIdx: number | null;
  /** The table, `[numEmbeddings, embeddingDim]`. */
  weight: Parameter;

  /** A table of `numEmbeddings` vectors of size `embeddingDim`. */
  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    opts: { paddingIdx?: number | null; dtype?: DType } = {},
  ) {
    checkOptions("Embedding", opts, EMBEDDING_KEYS);
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new RangeError("Embedding: paddingIdx must be within numEmbeddings");
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], { dtype: opts.dtype }));
    this.resetParameters();
  }

  /** Re-initialises from N(0, 1), zeroing the padding row. */
  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.paddingIdx;
      noGrad(() => this.weight.select(0, row).zero_());
    }
  }

  /** Looks up the rows at `input` (int64). */
  override forward(input: Tensor): Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  /** The module's settings. */
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${
      this.paddingIdx === null ? "" : `, paddingIdx=${this.paddingIdx}`
    }`;
  }
}
