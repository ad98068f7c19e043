/**
 * Stochastic gradient descent with momentum, dampening, Nesterov, weight
 * decay and maximize, as `torch.optim.SGD`.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";

/**
 * Options of {@link SGD}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opts: Partial<zn.optim.SGDOptions> = { lr: 0.1, momentum: 0.9, nesterov: true };
 * const opt = new zn.optim.SGD([w], opts);
 * opt.paramGroups[0].momentum; // 0.9
 * ```
 */
export interface SGDOptions {
  /** Learning rate (default 0.001). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening for momentum (default 0). */
  dampening: number;
  /** L2 penalty (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false). */
  nesterov: boolean;
  /** Maximize the objective instead (default false). */
  maximize: boolean;
  /**
   * Keep a float32 copy of each float16/bfloat16 parameter, step it, and
   * round it into the parameter (default false). See {@linkcode Optimizer}.
   */
  masterWeights: boolean;
}

const SGD_KEYS = optionKeys<SGDOptions>({
  lr: 0,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: 0,
  maximize: 0,
  masterWeights: 0,
});

/**
 * SGD: one fused kernel per parameter per step.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const opt = new zn.optim.SGD([w], { lr: 0.5, momentum: 0.9 });
 * w.mul(w).sum().backward();
 * opt.step();
 * w.toArray(); // [0, 0]
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> = {}) {
    checkOptions("SGD", opts, SGD_KEYS);
    super(params, {
      lr: 0.001,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      masterWeights: false,
      ...opts,
    });
  }

  /** @internal */
  protected override validate(g: SGDOptions): void {
    super.validate(g);
    if (!(g.momentum >= 0)) throw new RangeError(`Invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError("Nesterov momentum requires a momentum and zero dampening");
    }
  }

  /** @internal */
  protected update(p: Tensor, grad: Tensor, state: ParamState, g: ParamGroup<SGDOptions>): void {
    const first = g.momentum !== 0 && !(state.momentum_buffer !== undefined);
    const buf = g.momentum !== 0 ? this.buffer(state, "momentum_buffer", p) : null;
    this.fused("sgd", p, grad, [buf], [
      g.lr,
      g.momentum,
      g.dampening,
      g.weightDecay,
      g.nesterov ? 1 : 0,
      g.maximize ? 1 : 0,
      first ? 1 : 0,
    ]);
  }
}
