/**
 * Adadelta, as `torch.optim.Adadelta`: each step one fused native kernel per
 * parameter.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link Adadelta}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: Partial<zn.optim.AdadeltaOptions> = { lr: 1, rho: 0.9 };
 * new zn.optim.Adadelta([zn.zeros([2], { requiresGrad: true })], opts);
 * ```
 */
export interface AdadeltaOptions {
  /** Scales the update (default 1). */
  lr: number;
  /** Coefficient of the running averages (default 0.9). */
  rho: number;
  /** Added inside the square roots (default 1e-6). */
  eps: number;
  /** Weight decay (default 0). */
  weightDecay: number;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const ADADELTA_KEYS = optionKeys<AdadeltaOptions>({
  lr: 0,
  rho: 0,
  eps: 0,
  weightDecay: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * Adadelta: an adaptive step from running averages of squared gradients and
 * squared updates (Zeiler, 2012).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.Adadelta([w]);
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<AdadeltaOptions>, opts: Partial<AdadeltaOptions> = {}) {
    checkOptions("Adadelta", opts, ADADELTA_KEYS);
    super(params, {
      lr: 1,
      rho: 0.9,
      eps: 1e-6,
      weightDecay: 0,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: AdadeltaOptions): void {
    super.validate(g);
    if (!(g.rho >= 0 && g.rho <= 1)) throw new RangeError(`Invalid rho value: ${g.rho}`);
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
  }

  /** @internal */
  protected update(
    p: Tensor,
    grad: Tensor,
    state: ParamState,
    g: ParamGroup<AdadeltaOptions>,
  ): void {
    this.nextStep(state);
    const sq = this.buffer(state, "square_avg", p);
    const acc = this.buffer(state, "acc_delta", p);
    this.fused("adadelta", p, grad, [sq, acc], [
      g.rho,
      g.eps,
      g.weightDecay,
      g.maximize ? 1 : 0,
      g.lr,
    ]);
  }
}
