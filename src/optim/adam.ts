/**
 * Adam and AdamW (decoupled weight decay), with amsgrad and maximize, as
 * `torch.optim.Adam` and `torch.optim.AdamW`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link Adam} and {@link AdamW}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opts: Partial<zn.optim.AdamOptions> = { lr: 3e-4, betas: [0.9, 0.95], weightDecay: 0.1 };
 * const opt = new zn.optim.AdamW([w], opts);
 * opt.paramGroups[0].betas; // [0.9, 0.95]
 * ```
 */
export interface AdamOptions {
  /** Learning rate (default 0.001). */
  lr: number;
  /** Coefficients of the running averages of the gradient and its square (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Weight decay (default 0 for Adam, 0.01 for AdamW). */
  weightDecay: number;
  /** Use the maximum of past squared averages (default false). */
  amsgrad: boolean;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const ADAM_KEYS = optionKeys<AdamOptions>({
  lr: 0,
  betas: 0,
  eps: 0,
  weightDecay: 0,
  amsgrad: 0,
  maximize: 0,
  masterWeights: 0,
});

/** @internal The checks of Adam's options, shared by the Adam variants. */
export function validateAdam(
  g: { eps: number; betas: [number, number]; weightDecay: number },
): void {
  if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
  if (!(g.betas[0] >= 0 && g.betas[0] < 1)) {
    throw new RangeError(`Invalid beta parameter at index 0: ${g.betas[0]}`);
  }
  if (!(g.betas[1] >= 0 && g.betas[1] < 1)) {
    throw new RangeError(`Invalid beta parameter at index 1: ${g.betas[1]}`);
  }
  if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
}

/**
 * Adam: one fused kernel per parameter per step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.Adam([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * w.toArray(); // [0.9, 0.9]
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  /** @internal Whether weight decay is decoupled (AdamW). */
  protected decoupled = false;

  /** Optimizes `params` with the given options. */
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    checkOptions("Adam", opts, ADAM_KEYS);
    super(params, {
      lr: 0.001,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: AdamOptions): void {
    super.validate(g);
    validateAdam(g);
  }

  /** @internal */
  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamOptions>): void {
    const step = this.nextStep(state);
    const m = this.buffer(state, "exp_avg", p);
    const v = this.buffer(state, "exp_avg_sq", p);
    const vmax = g.amsgrad ? this.buffer(state, "max_exp_avg_sq", p) : null;
    this.fused("adam", p, grad, [m, v, vmax], [
      g.lr,
      g.betas[0],
      g.betas[1],
      g.eps,
      g.weightDecay,
      step,
      g.amsgrad ? 1 : 0,
      g.maximize ? 1 : 0,
      this.decoupled ? 1 : 0,
    ]);
  }
}

/**
 * AdamW: Adam with decoupled weight decay (default 0.01).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.AdamW([w], { lr: 0.1, weightDecay: 0.1 });
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class AdamW extends Adam {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    checkOptions("AdamW", opts, ADAM_KEYS);
    super(params, { weightDecay: 0.01, ...opts });
    this.decoupled = true;
  }
}
