/**
 * `zn.optim.swaUtils`: weight averaging as PyTorch's `torch.optim.swa_utils`:
 * {@link AveragedModel} keeps a running average (stochastic weight averaging,
 * or an exponential moving average) of a model's parameters, {@link updateBn}
 * recomputes batch-norm statistics for averaged weights, and {@link SWALR}
 * anneals the learning rate to a constant for the averaging phase.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(3, 1);
 * const ema = new zn.optim.swaUtils.AveragedModel(net, {
 *   multiAvgFn: zn.optim.swaUtils.getEmaMultiAvgFn(0.9),
 * });
 * const opt = new zn.optim.SGD(net.parameters(), { lr: 0.1 });
 * for (let step = 0; step < 5; step++) {
 *   opt.zeroGrad();
 *   net.call(zn.randn([8, 3])).square().mean().backward();
 *   opt.step();
 *   ema.updateParameters(net);
 * }
 * ema.call(zn.randn([2, 3])).shape; // [2, 1]
 * ```
 *
 * @module
 */
import { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { isFloating } from "../dtype.ts";
import { fmtShape } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { checkFunction, checkNumber, checkObject, typeError } from "../args.ts";
import { BatchNorm } from "../nn/batch_norm.ts";
import { LRScheduler } from "./lr_scheduler.ts";
import { Optimizer } from "./optimizer.ts";

/**
 * Averages one tensor: returns the new average of `averaged` (the average
 * so far) and `current` (the model's value) after `numAveraged` updates.
 */
export type AvgFn = (averaged: Tensor, current: Tensor, numAveraged: number) => Tensor;

/**
 * Averages lists of tensors in place (one list per device and dtype):
 * `averaged[i]` becomes the new average of itself and `current[i]`.
 */
export type MultiAvgFn = (averaged: Tensor[], current: Tensor[], numAveraged: number) => void;

/**
 * An exponential moving average, in place: `a = decay a + (1 - decay) c`
 * (as PyTorch's `get_ema_multi_avg_fn`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([0.0]);
 * zn.optim.swaUtils.getEmaMultiAvgFn(0.9)([a], [zn.tensor([1.0])], 1);
 * a.item(); // ≈ 0.1
 * ```
 */
export function getEmaMultiAvgFn(decay = 0.999): MultiAvgFn {
  checkNumber(decay, "getEmaMultiAvgFn", "decay");
  return (averaged, current) => {
    for (let i = 0; i < averaged.length; i++) {
      const a = averaged[i], c = current[i];
      if (isFloating(a.dtype)) a.lerp_(c, 1 - decay);
      else a.copy_(a.mul(decay).add(c.mul(1 - decay)));
    }
  };
}

/**
 * The running mean of stochastic weight averaging, in place:
 * `a += (c - a) / (n + 1)` (as PyTorch's `get_swa_multi_avg_fn`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const a = zn.tensor([1.0]);
 * zn.optim.swaUtils.getSwaMultiAvgFn()([a], [zn.tensor([4.0])], 2);
 * a.item(); // 2
 * ```
 */
export function getSwaMultiAvgFn(): MultiAvgFn {
  return (averaged, current, n) => {
    for (let i = 0; i < averaged.length; i++) {
      const a = averaged[i], c = current[i];
      if (isFloating(a.dtype)) a.lerp_(c, 1 / (n + 1));
      else a.copy_(a.add(c.sub(a).div(n + 1)));
    }
  };
}

/**
 * An exponential moving average of one tensor: `decay a + (1 - decay) c`
 * (as PyTorch's `get_ema_avg_fn`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.optim.swaUtils.getEmaAvgFn(0.5)(zn.tensor([0.0]), zn.tensor([1.0]), 1).item(); // 0.5
 * ```
 */
export function getEmaAvgFn(decay = 0.999): AvgFn {
  checkNumber(decay, "getEmaAvgFn", "decay");
  return (averaged, current) => averaged.mul(decay).add(current.mul(1 - decay));
}

/**
 * The running mean of one tensor: `a + (c - a) / (n + 1)` (as PyTorch's
 * `get_swa_avg_fn`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.optim.swaUtils.getSwaAvgFn()(zn.tensor([1.0]), zn.tensor([4.0]), 2).item(); // 2
 * ```
 */
export function getSwaAvgFn(): AvgFn {
  return (averaged, current, n) => averaged.add(current.sub(averaged).div(n + 1));
}

/** Options of {@link AveragedModel}. */
export interface AveragedModelOptions {
  /** Keep the average on this device (default: the model's). */
  device?: string;
  /** Averages one tensor at a time (see {@link AvgFn}). */
  avgFn?: AvgFn;
  /** Averages lists of tensors in place (see {@link MultiAvgFn}); wins over avgFn. */
  multiAvgFn?: MultiAvgFn;
  /**
   * Average the buffers too (default false: the buffers are copied from the
   * model at each update, as PyTorch does).
   */
  useBuffers?: boolean;
}

const AVERAGED_KEYS = ["device", "avgFn", "multiAvgFn", "useBuffers"] as const;

/**
 * A running average of a model's weights, as PyTorch's
 * `torch.optim.swa_utils.AveragedModel`: `module` is a deep copy of the
 * model, `updateParameters(model)` folds the model's current parameters into
 * it (the first call copies them), and calling the averaged model runs the
 * copy. By default the average is the plain mean of every update (SWA);
 * {@link getEmaMultiAvgFn} makes it an exponential moving average. The
 * state dict holds `n_averaged` and the copy's entries under `module.`, as
 * PyTorch's does.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(2, 1);
 * const swa = new zn.optim.swaUtils.AveragedModel(net);
 * swa.updateParameters(net);
 * zn.noGrad(() => net.weight.add_(1));
 * swa.updateParameters(net); // the mean of the two
 * Object.keys(swa.stateDict()); // ["n_averaged", "module.weight", "module.bias"]
 * ```
 */
export class AveragedModel<M extends Module = Module> extends Module {
  /** The averaged copy of the model. */
  module: M;
  /** How one tensor is averaged, if given. */
  readonly avgFn: AvgFn | null;
  /** How lists of tensors are averaged, if given. */
  readonly multiAvgFn: MultiAvgFn | null;
  /** Whether buffers are averaged too. */
  readonly useBuffers: boolean;

  /** Averages `model`'s weights (a deep copy of it, on `device` if given). */
  constructor(model: M, opts: AveragedModelOptions = {}) {
    const op = "AveragedModel";
    if (!(model instanceof Module)) typeError(op, "model", "a Module", model);
    checkObject(opts, op, "options");
    checkOptions(op, opts, AVERAGED_KEYS);
    if (opts.avgFn !== undefined) checkFunction(opts.avgFn, op, "avgFn");
    if (opts.multiAvgFn !== undefined) checkFunction(opts.multiAvgFn, op, "multiAvgFn");
    super();
    const device = opts.device;
    this.registerBuffer(
      "n_averaged",
      tensor(0n, { dtype: "int64", ...(device !== undefined ? { device } : {}) }),
    );
    this.module = model.deepCopy();
    if (device !== undefined) this.module.to(device);
    this.avgFn = opts.avgFn ?? null;
    this.multiAvgFn = opts.multiAvgFn ?? null;
    this.useBuffers = opts.useBuffers ?? false;
  }

  /** Runs the averaged copy. */
  // deno-lint-ignore no-explicit-any
  override forward(...args: any[]): any {
    return this.module.call(...(args as Parameters<M["forward"]>));
  }

  /** The number of updates so far. */
  get nAveraged(): number {
    return Number(this.getBuffer("n_averaged")!.item());
  }

  /** Folds `model`'s current parameters (and buffers, with useBuffers) into the average. */
  updateParameters(model: Module): void {
    if (!(model instanceof Module)) typeError("updateParameters", "model", "a Module", model);
    const mine = this.useBuffers
      ? [...this.module.parameters(), ...this.module.buffers()]
      : [...this.module.parameters()];
    const theirs = this.useBuffers
      ? [...model.parameters(), ...model.buffers()]
      : [...model.parameters()];
    if (mine.length !== theirs.length) {
      throw new RangeError(
        `AveragedModel.updateParameters: the model has ${theirs.length} ${
          this.useBuffers ? "parameters and buffers" : "parameters"
        }, the average ${mine.length}`,
      );
    }
    const n = this.nAveraged;
    noGrad(() => {
      const averaged = mine.map((p) => p.detach());
      const current = theirs.map((p, i) => p.detach().to(averaged[i].device));
      averaged.forEach((a, i) => {
        if (a.shape.join() !== current[i].shape.join()) {
          throw new RangeError(
            `AveragedModel.updateParameters: tensor ${i} is ${
              fmtShape(current[i].shape)
            }, the average's ${fmtShape(a.shape)}`,
          );
        }
      });
      if (n === 0) {
        averaged.forEach((a, i) => a.copy_(current[i]));
      } else if (this.multiAvgFn || !this.avgFn) {
        const fn = this.multiAvgFn ?? getSwaMultiAvgFn();
        // One call per device and dtype, as PyTorch groups them.
        const groups = new Map<string, [Tensor[], Tensor[]]>();
        averaged.forEach((a, i) => {
          const key = `${a.device}/${a.dtype}`;
          if (!groups.has(key)) groups.set(key, [[], []]);
          const [ga, gc] = groups.get(key)!;
          ga.push(a);
          gc.push(current[i]);
        });
        for (const [ga, gc] of groups.values()) fn(ga, gc, n);
      } else {
        averaged.forEach((a, i) => a.copy_(this.avgFn!(a, current[i], n)));
      }
      if (!this.useBuffers) {
        // The buffers follow the model (batch norm statistics, counters).
        const bm = [...this.module.buffers()], bs = [...model.buffers()];
        bm.forEach((b, i) => {
          if (bs[i]) b.copy_(bs[i].detach().to(b.device));
        });
      }
      this.getBuffer("n_averaged")!.add_(1);
    });
  }
}

/** Options of {@link updateBn}. */
export interface UpdateBnOptions {
  /** Move each batch to this device first. */
  device?: string;
}

/**
 * Recomputes the batch-norm running statistics of `model` over one pass of
 * `loader` (as PyTorch's `update_bn`): the statistics are reset and averaged
 * over every batch (a cumulative average), in training mode; each batch is
 * a tensor, or an array whose first element is the input. The model's mode
 * and each layer's momentum are restored afterwards. A model without batch
 * norm is left alone.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(2, 3), new zn.nn.BatchNorm1d(3));
 * zn.optim.swaUtils.updateBn([zn.randn([8, 2]), zn.randn([8, 2])], net);
 * ```
 */
export function updateBn(
  loader: Iterable<Tensor | readonly unknown[]>,
  model: Module,
  opts: UpdateBnOptions = {},
): void {
  const op = "updateBn";
  if (!(model instanceof Module)) typeError(op, "model", "a Module", model);
  checkObject(opts, op, "options");
  checkOptions(op, opts, ["device"]);
  const momenta = new Map<BatchNorm, number | null>();
  for (const m of model.modules()) {
    if (m instanceof BatchNorm) {
      m.resetRunningStats();
      momenta.set(m, m.momentum);
    }
  }
  if (momenta.size === 0) return;
  const wasTraining = model.training;
  model.train();
  for (const m of momenta.keys()) m.momentum = null;
  try {
    noGrad(() => {
      for (const batch of loader) {
        let input = (Array.isArray(batch) ? batch[0] : batch) as Tensor;
        if (opts.device !== undefined) input = input.to(opts.device);
        model.call(input);
      }
    });
  } finally {
    for (const [m, momentum] of momenta) m.momentum = momentum;
    model.train(wasTraining);
  }
}

/** Options of {@link SWALR}. */
export interface SWALROptions {
  /** Epochs of the anneal from the current rate to swaLr (default 10). */
  annealEpochs?: number;
  /** "cos" (default) or "linear". */
  annealStrategy?: "cos" | "linear";
}

type Group = { lr: number; swaLr?: number };

/**
 * Anneals each group's learning rate to `swaLr` over `annealEpochs` epochs
 * and holds it there (as PyTorch's `SWALR`), for the averaging phase of
 * stochastic weight averaging. `swaLr` is one rate or one per group.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const sched = new zn.optim.swaUtils.SWALR(opt, 0.1, { annealEpochs: 2, annealStrategy: "linear" });
 * sched.step();
 * sched.step();
 * sched.getLastLr(); // [0.1]
 * ```
 */
export class SWALR extends LRScheduler {
  /** Epochs of the anneal. */
  readonly annealEpochs: number;
  /** The anneal's shape. */
  readonly annealStrategy: "cos" | "linear";

  /** Anneals `optimizer`'s rates to `swaLr`. */
  constructor(
    optimizer: Optimizer<{ lr: number }>,
    swaLr: number | number[],
    opts: SWALROptions = {},
  ) {
    const op = "SWALR";
    if (!(optimizer instanceof Optimizer)) typeError(op, "optimizer", "an Optimizer", optimizer);
    checkObject(opts, op, "options");
    checkOptions(op, opts, ["annealEpochs", "annealStrategy"]);
    const groups = optimizer.paramGroups as unknown as Group[];
    const rates = Array.isArray(swaLr) ? swaLr : groups.map(() => swaLr);
    if (rates.length !== groups.length) {
      throw new RangeError(
        `${op}: expected ${groups.length} values for swaLr, got ${rates.length}`,
      );
    }
    rates.forEach((r) => checkNumber(r, op, "swaLr"));
    const strategy = opts.annealStrategy ?? "cos";
    if (strategy !== "cos" && strategy !== "linear") {
      throw new RangeError(
        `${op}: annealStrategy must be one of 'cos' or 'linear', instead got ${
          JSON.stringify(strategy)
        }`,
      );
    }
    const epochs = opts.annealEpochs ?? 10;
    if (!Number.isInteger(epochs) || epochs < 0) {
      throw new RangeError(`${op}: annealEpochs must be equal or greater than 0, got ${epochs}`);
    }
    groups.forEach((g, i) => g.swaLr = rates[i]);
    super(optimizer);
    this.annealEpochs = epochs;
    this.annealStrategy = strategy;
    this.initialStep();
  }

  #anneal(t: number): number {
    return this.annealStrategy === "linear" ? t : (1 - Math.cos(Math.PI * t)) / 2;
  }

  /** @internal */
  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups as unknown as Group[];
    let step = this.stepCount - 1;
    if (this.annealEpochs === 0) step = Math.max(1, step);
    const span = Math.max(1, this.annealEpochs);
    const prevAlpha = this.#anneal(Math.max(0, Math.min(1, (step - 1) / span)));
    const alpha = this.#anneal(Math.max(0, Math.min(1, step / span)));
    return groups.map((g) => {
      const swa = g.swaLr!;
      // The rate before the anneal began, recovered from the current one.
      const prev = prevAlpha === 1 ? swa : (g.lr - prevAlpha * swa) / (1 - prevAlpha);
      return swa * alpha + prev * (1 - alpha);
    });
  }
}
