/**
 * RMSprop, as `torch.optim.RMSprop`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link RMSprop}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opts: Partial<zn.optim.RMSpropOptions> = { lr: 0.01, alpha: 0.9, centered: true };
 * new zn.optim.RMSprop([w], opts).paramGroups[0].alpha; // 0.9
 * ```
 */
export interface RMSpropOptions {
  /** Learning rate (default 0.01). */
  lr: number;
  /** Smoothing constant (default 0.99). */
  alpha: number;
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the estimated variance (default false). */
  centered: boolean;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const RMSPROP_KEYS = optionKeys<RMSpropOptions>({
  lr: 0,
  alpha: 0,
  eps: 0,
  weightDecay: 0,
  momentum: 0,
  centered: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * RMSprop: one fused kernel per parameter per step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.RMSprop([w], { lr: 0.01 });
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    checkOptions("RMSprop", opts, RMSPROP_KEYS);
    super(params, {
      lr: 0.01,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: RMSpropOptions): void {
    super.validate(g);
    if (!(g.alpha >= 0)) throw new RangeError(`Invalid alpha value: ${g.alpha}`);
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    if (!(g.momentum >= 0)) throw new RangeError(`Invalid momentum value: ${g.momentum}`);
  }

  /** @internal */
  protected update(
    p: Tensor,
    grad: Tensor,
    state: ParamState,
    g: ParamGroup<RMSpropOptions>,
  ): void {
    this.nextStep(state);
    const sq = this.buffer(state, "square_avg", p);
    const buf = g.momentum > 0 ? this.buffer(state, "momentum_buffer", p) : null;
    const ga = g.centered ? this.buffer(state, "grad_avg", p) : null;
    this.fused("rmsprop", p, grad, [sq, buf, ga], [
      g.lr,
      g.alpha,
      g.eps,
      g.weightDecay,
      g.momentum,
      g.centered ? 1 : 0,
      g.maximize ? 1 : 0,
    ]);
  }
}
