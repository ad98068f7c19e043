/**
 * NAdam, RAdam and Adamax, as `torch.optim.NAdam`, `RAdam` and `Adamax`:
 * each step one fused native kernel per parameter (zig/src/optim.zig), with
 * the per-step scalars computed here in float64 as PyTorch computes them.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { validateAdam } from "./adam.ts";

/**
 * Options of {@link NAdam}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: Partial<zn.optim.NAdamOptions> = { lr: 2e-3, momentumDecay: 4e-3 };
 * new zn.optim.NAdam([zn.zeros([2], { requiresGrad: true })], opts);
 * ```
 */
export interface NAdamOptions {
  /** Learning rate (default 0.002). */
  lr: number;
  /** Coefficients of the running averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Weight decay (default 0). */
  weightDecay: number;
  /** Momentum decay psi (default 0.004). */
  momentumDecay: number;
  /** Decay the weights directly, as AdamW (default false). */
  decoupledWeightDecay: boolean;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const NADAM_KEYS = optionKeys<NAdamOptions>({
  lr: 0,
  betas: 0,
  eps: 0,
  weightDecay: 0,
  momentumDecay: 0,
  decoupledWeightDecay: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * NAdam: Adam with Nesterov momentum (Dozat, 2016).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.NAdam([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class NAdam extends Optimizer<NAdamOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<NAdamOptions>, opts: Partial<NAdamOptions> = {}) {
    checkOptions("NAdam", opts, NADAM_KEYS);
    super(params, {
      lr: 0.002,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      momentumDecay: 4e-3,
      decoupledWeightDecay: false,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: NAdamOptions): void {
    super.validate(g);
    validateAdam(g);
    if (!(g.momentumDecay >= 0)) {
      throw new RangeError(`Invalid momentum_decay value: ${g.momentumDecay}`);
    }
  }

  /** @internal */
  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<NAdamOptions>): void {
    const step = this.nextStep(state);
    const [b1, b2] = g.betas;
    const mu = b1 * (1 - 0.5 * 0.96 ** (step * g.momentumDecay));
    const muNext = b1 * (1 - 0.5 * 0.96 ** ((step + 1) * g.momentumDecay));
    // PyTorch keeps the product in a float32 scalar tensor.
    const muProduct = Math.fround(((state.mu_product as number | undefined) ?? 1) * mu);
    state.mu_product = muProduct;
    const m = this.buffer(state, "exp_avg", p);
    const v = this.buffer(state, "exp_avg_sq", p);
    this.fused("nadam", p, grad, [m, v], [
      b1,
      b2,
      g.eps,
      g.weightDecay,
      g.decoupledWeightDecay ? 1 : 0,
      g.maximize ? 1 : 0,
      1 - b2 ** step,
      -g.lr * (1 - mu) / (1 - muProduct),
      -g.lr * muNext / (1 - muProduct * muNext),
      1 - g.lr * g.weightDecay,
    ]);
  }
}

/**
 * Options of {@link RAdam}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: Partial<zn.optim.RAdamOptions> = { lr: 1e-3, decoupledWeightDecay: true, weightDecay: 0.01 };
 * new zn.optim.RAdam([zn.zeros([2], { requiresGrad: true })], opts);
 * ```
 */
export interface RAdamOptions {
  /** Learning rate (default 0.001). */
  lr: number;
  /** Coefficients of the running averages (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Weight decay (default 0). */
  weightDecay: number;
  /** Decay the weights directly, as AdamW (default false). */
  decoupledWeightDecay: boolean;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const RADAM_KEYS = optionKeys<RAdamOptions>({
  lr: 0,
  betas: 0,
  eps: 0,
  weightDecay: 0,
  decoupledWeightDecay: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * RAdam: Adam with the variance of the adaptive rate rectified (Liu et
 * al., 2019); the first steps are plain momentum steps.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.RAdam([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * w.toArray(); // [0.9, 0.9]
 * ```
 */
export class RAdam extends Optimizer<RAdamOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<RAdamOptions>, opts: Partial<RAdamOptions> = {}) {
    checkOptions("RAdam", opts, RADAM_KEYS);
    super(params, {
      lr: 0.001,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      decoupledWeightDecay: false,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: RAdamOptions): void {
    super.validate(g);
    validateAdam(g);
  }

  /** @internal */
  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<RAdamOptions>): void {
    const step = this.nextStep(state);
    const [b1, b2] = g.betas;
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    const rhoInf = 2 / (1 - b2) - 1;
    const rhoT = rhoInf - 2 * step * b2 ** step / bc2;
    const rect = rhoT > 5
      ? ((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) ** 0.5
      : 0;
    const m = this.buffer(state, "exp_avg", p);
    const v = this.buffer(state, "exp_avg_sq", p);
    this.fused("radam", p, grad, [m, v], [
      b1,
      b2,
      g.eps,
      g.weightDecay,
      g.decoupledWeightDecay ? 1 : 0,
      g.maximize ? 1 : 0,
      g.lr,
      bc1,
      bc2 ** 0.5,
      rect,
      1 - g.lr * g.weightDecay,
    ]);
  }
}

/**
 * Options of {@link Adamax}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: Partial<zn.optim.AdamaxOptions> = { lr: 2e-3 };
 * new zn.optim.Adamax([zn.zeros([2], { requiresGrad: true })], opts);
 * ```
 */
export interface AdamaxOptions {
  /** Learning rate (default 0.002). */
  lr: number;
  /** Coefficients of the running average and the infinity norm (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the norm (default 1e-8). */
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

const ADAMAX_KEYS = optionKeys<AdamaxOptions>({
  lr: 0,
  betas: 0,
  eps: 0,
  weightDecay: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * Adamax: Adam with the infinity norm (Kingma and Ba, 2014).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.Adamax([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * ```
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<AdamaxOptions>, opts: Partial<AdamaxOptions> = {}) {
    checkOptions("Adamax", opts, ADAMAX_KEYS);
    super(params, {
      lr: 0.002,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: AdamaxOptions): void {
    super.validate(g);
    validateAdam(g);
  }

  /** @internal */
  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<AdamaxOptions>): void {
    const step = this.nextStep(state);
    const m = this.buffer(state, "exp_avg", p);
    const u = this.buffer(state, "exp_inf", p);
    this.fused("adamax", p, grad, [m, u], [
      g.betas[0],
      g.betas[1],
      g.eps,
      g.weightDecay,
      g.maximize ? 1 : 0,
      g.lr / (1 - g.betas[0] ** step),
    ]);
  }
}
