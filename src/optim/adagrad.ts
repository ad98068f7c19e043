/**
 * Adagrad, as `torch.optim.Adagrad`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link Adagrad}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opts: Partial<zn.optim.AdagradOptions> = { lr: 0.1, initialAccumulatorValue: 0.1 };
 * new zn.optim.Adagrad([w], opts).paramGroups[0].lr; // 0.1
 * ```
 */
export interface AdagradOptions {
  /** Learning rate (default 0.01). */
  lr: number;
  /** Learning-rate decay (default 0). */
  lrDecay: number;
  /** L2 penalty (default 0). */
  weightDecay: number;
  /** Starting value of the sum of squares (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator (default 1e-10). */
  eps: number;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const ADAGRAD_KEYS = optionKeys<AdagradOptions>({
  lr: 0,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * Adagrad: one fused kernel per parameter per step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.Adagrad([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    checkOptions("Adagrad", opts, ADAGRAD_KEYS);
    super(params, {
      lr: 0.01,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: AdagradOptions): void {
    super.validate(g);
    if (!(g.lrDecay >= 0)) throw new RangeError(`Invalid lr_decay value: ${g.lrDecay}`);
    if (!(g.initialAccumulatorValue >= 0)) {
      throw new RangeError(`Invalid initial_accumulator_value value: ${g.initialAccumulatorValue}`);
    }
  }

  /** @internal */
  protected update(
    p: Tensor,
    grad: Tensor,
    state: ParamState,
    g: ParamGroup<AdagradOptions>,
  ): void {
    const step = this.nextStep(state);
    const sum = this.buffer(state, "sum", p, g.initialAccumulatorValue);
    this.fused("adagrad", p, grad, [sum], [
      g.lr,
      g.lrDecay,
      g.weightDecay,
      g.eps,
      step,
      g.maximize ? 1 : 0,
    ]);
  }
}
