/**
 * `zn.optim.lrScheduler`: learning-rate schedulers with
 * `torch.optim.lr_scheduler`'s semantics: the constructor takes the initial
 * step, `step()` advances one epoch (or iteration), and each scheduler
 * follows PyTorch's chainable update rule, so the sequences match PyTorch's.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD(new zn.nn.Linear(2, 1).parameters(), { lr: 0.1 });
 * const sched = new zn.optim.lrScheduler.CosineAnnealingLR(opt, { tMax: 4 });
 * const lrs: number[] = [];
 * for (let epoch = 0; epoch < 4; epoch++) {
 *   opt.step(); // after the epoch's updates
 *   sched.step();
 *   lrs.push(sched.getLastLr()[0]);
 * }
 * lrs; // [0.0854, 0.05, 0.0146, 0]
 * ```
 *
 * @module
 */
import { Optimizer } from "./optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";
import {
  checkArray,
  checkFunction,
  checkIntList,
  checkNumber,
  checkObject,
  checkSizeArg,
  typeError,
} from "../args.ts";

type AnyOptimizer = Optimizer<{ lr: number }>;
type Group = { lr: number; initialLr?: number; [k: string]: unknown };

function groups(opt: AnyOptimizer): Group[] {
  return opt.paramGroups as unknown as Group[];
}

/** Throws a TypeError unless `opt` is an Optimizer. */
function checkOptimizer(opt: unknown, op: string): void {
  if (!(opt instanceof Optimizer)) typeError(op, "optimizer", "an Optimizer", opt);
}

/**
 * Base class: keeps `baseLrs`, `lastEpoch` and the last learning rates.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const sched = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 2, gamma: 0.5 });
 * sched.getLastLr(); // [1]
 * ```
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' `lr` this scheduler sets. */
  readonly optimizer: AnyOptimizer;
  /** Each group's initial learning rate. */
  readonly baseLrs: number[];
  /** The current epoch (or iteration) count; -1 before the first step. */
  lastEpoch: number = -1;
  /** @internal */
  stepCount = 0;
  #lastLr: number[] = [];

  /** @internal */
  constructor(optimizer: AnyOptimizer) {
    checkOptimizer(optimizer, new.target.name);
    this.optimizer = optimizer;
    for (const g of groups(optimizer)) g.initialLr ??= g.lr;
    this.baseLrs = groups(optimizer).map((g) => g.initialLr!);
  }

  #initial = false;

  /** @internal Takes the first step; subclasses call it at the end of their constructor. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.#initial = true;
    try {
      this.step();
    } finally {
      this.#initial = false;
    }
  }

  /** @internal Whether the constructor's first step is running. */
  protected get isInitial(): boolean {
    return this.#initial;
  }

  /** @internal The learning rates for `lastEpoch`, from the groups' current ones. */
  protected abstract getLr(): number[];

  /** @internal The closed form, used when stepping to an explicit epoch. */
  protected closedForm(): number[] | undefined {
    return undefined;
  }

  /** Advances one epoch (or jumps to `epoch`) and sets the groups' learning rates. */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedForm() ?? this.getLr();
    }
    groups(this.optimizer).forEach((g, i) => g.lr = values[i]);
    this.#lastLr = values.slice();
  }

  /** The learning rates the last step set. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** The scheduler's counters, to resume training. */
  stateDict(): Record<string, unknown> {
    return {
      lastEpoch: this.lastEpoch,
      stepCount: this.stepCount,
      baseLrs: this.baseLrs.slice(),
      lastLr: this.#lastLr.slice(),
    };
  }

  /**
   * Restores counters saved by {@link stateDict}. They are all checked
   * first (`lastEpoch` a number, `stepCount` a count, `lastLr` one number
   * per group), so a load that throws leaves the scheduler as it was.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
   * const a = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
   * a.step();
   * const b = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
   * b.loadStateDict(a.stateDict());
   * b.lastEpoch; // 1
   * ```
   */
  loadStateDict(sd: Record<string, unknown>): void {
    const what = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== "object") {
      throw new TypeError(`${what}: expected a state dict object`);
    }
    const { lastEpoch, stepCount, lastLr } = sd;
    if (typeof lastEpoch !== "number" || Number.isNaN(lastEpoch)) {
      throw new TypeError(`${what}: lastEpoch must be a number, got ${String(lastEpoch)}`);
    }
    if (typeof stepCount !== "number" || !Number.isInteger(stepCount) || stepCount < 0) {
      throw new TypeError(`${what}: stepCount must be a count, got ${String(stepCount)}`);
    }
    const n = groups(this.optimizer).length;
    if (
      !Array.isArray(lastLr) || lastLr.length !== n || lastLr.some((v) => typeof v !== "number")
    ) {
      throw new TypeError(`${what}: lastLr must be ${n} number(s), one per parameter group`);
    }
    this.lastEpoch = lastEpoch;
    this.stepCount = stepCount;
    this.#lastLr = lastLr.slice();
  }

  /** @internal The groups' current learning rates. */
  protected current(): number[] {
    return groups(this.optimizer).map((g) => g.lr);
  }
}

/**
 * Multiplies the learning rate by `gamma` every `stepSize` epochs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
 * s.step();
 * s.getLastLr(); // [0.5]
 * ```
 */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Decay factor. */
  readonly gamma: number;
  /** Decays `optimizer`'s learning rates. */
  constructor(optimizer: AnyOptimizer, opts: { stepSize: number; gamma?: number }) {
    checkObject(opts, "StepLR", "options");
    checkOptions("StepLR", opts, ["stepSize", "gamma"]);
    checkSizeArg(opts.stepSize, "StepLR", "stepSize");
    super(optimizer);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
  /** @internal */
  protected override closedForm(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/**
 * Multiplies the learning rate by `gamma` at each milestone epoch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * new zn.optim.lrScheduler.MultiStepLR(opt, { milestones: [2, 4] });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /** Epochs at which to decay (sorted). */
  readonly milestones: number[];
  /** Decay factor. */
  readonly gamma: number;
  /** Decays `optimizer`'s learning rates at the milestones. */
  constructor(optimizer: AnyOptimizer, opts: { milestones: number[]; gamma?: number }) {
    checkObject(opts, "MultiStepLR", "options");
    checkOptions("MultiStepLR", opts, ["milestones", "gamma"]);
    checkIntList(opts.milestones, "MultiStepLR", "milestones");
    super(optimizer);
    this.milestones = opts.milestones.slice().sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.current();
    return this.current().map((lr) => lr * this.gamma ** hits);
  }
  /** @internal */
  protected override closedForm(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/**
 * Multiplies the learning rate by `gamma` every epoch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * new zn.optim.lrScheduler.ExponentialLR(opt, { gamma: 0.9 });
 * ```
 */
export class ExponentialLR extends LRScheduler {
  /** Decay factor. */
  readonly gamma: number;
  /** Decays `optimizer`'s learning rates every epoch. */
  constructor(optimizer: AnyOptimizer, opts: { gamma: number }) {
    checkObject(opts, "ExponentialLR", "options");
    checkOptions("ExponentialLR", opts, ["gamma"]);
    checkNumber(opts.gamma, "ExponentialLR", "gamma");
    super(optimizer);
    this.gamma = opts.gamma;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.current();
    return this.current().map((lr) => lr * this.gamma);
  }
  /** @internal */
  protected override closedForm(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/**
 * Cosine annealing from the base rate to `etaMin` over `tMax` epochs.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * new zn.optim.lrScheduler.CosineAnnealingLR(opt, { tMax: 10 });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Half-period in epochs. */
  readonly tMax: number;
  /** The lowest learning rate. */
  readonly etaMin: number;
  /** Anneals `optimizer`'s learning rates. */
  constructor(optimizer: AnyOptimizer, opts: { tMax: number; etaMin?: number }) {
    checkObject(opts, "CosineAnnealingLR", "options");
    checkOptions("CosineAnnealingLR", opts, ["tMax", "etaMin"]);
    checkNumber(opts.tMax, "CosineAnnealingLR", "tMax");
    super(optimizer);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, min = this.etaMin;
    if (e === 0) return this.current();
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => min + (b - min) * (1 + Math.cos(e * Math.PI / T)) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return this.current().map((lr, i) =>
        lr + (this.baseLrs[i] - min) * (1 - Math.cos(Math.PI / T)) / 2
      );
    }
    return this.current().map((lr) =>
      (1 + Math.cos(Math.PI * e / T)) / (1 + Math.cos(Math.PI * (e - 1) / T)) * (lr - min) + min
    );
  }
  /** @internal */
  protected override closedForm(): number[] {
    return this.baseLrs.map((b) =>
      this.etaMin + (b - this.etaMin) * (1 + Math.cos(Math.PI * this.lastEpoch / this.tMax)) / 2
    );
  }
}

/**
 * Scales the learning rate linearly from `startFactor` to `endFactor` over
 * `totalIters` epochs (a warm-up).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * new zn.optim.lrScheduler.LinearLR(opt, { startFactor: 0.1, totalIters: 4 }).getLastLr(); // [0.1]
 * ```
 */
export class LinearLR extends LRScheduler {
  /** Factor at epoch 0. */
  readonly startFactor: number;
  /** Factor from `totalIters` on. */
  readonly endFactor: number;
  /** Epochs of the ramp. */
  readonly totalIters: number;
  /** Ramps `optimizer`'s learning rates. */
  constructor(
    optimizer: AnyOptimizer,
    opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {},
  ) {
    checkOptions("LinearLR", opts, ["startFactor", "endFactor", "totalIters"]);
    super(optimizer);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) {
      throw new RangeError("LinearLR: startFactor must be in (0, 1]");
    }
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    const e = this.lastEpoch, s = this.startFactor, f = this.endFactor, n = this.totalIters;
    if (e === 0) return this.current().map((lr) => lr * s);
    if (e > n) return this.current();
    return this.current().map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  /** @internal */
  protected override closedForm(): number[] {
    const k = this.startFactor +
      (this.endFactor - this.startFactor) * Math.min(this.totalIters, this.lastEpoch) /
        this.totalIters;
    return this.baseLrs.map((b) => b * k);
  }
}

/**
 * Options of {@link OneCycleLR}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 0.1 });
 * const opts: zn.optim.lrScheduler.OneCycleOptions = { maxLr: 1, totalSteps: 10 };
 * const s = new zn.optim.lrScheduler.OneCycleLR(opt, opts);
 * s.getLastLr(); // [0.04]: maxLr / divFactor
 * ```
 */
export interface OneCycleOptions {
  /** Peak learning rate (one value for all groups, or one per group). */
  maxLr: number | number[];
  /** Total steps (or give `epochs` and `stepsPerEpoch`). */
  totalSteps?: number;
  /** Epochs, with `stepsPerEpoch`. */
  epochs?: number;
  /** Steps per epoch, with `epochs`. */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing (default 0.3). */
  pctStart?: number;
  /** "cos" (default) or "linear". */
  annealStrategy?: "cos" | "linear";
  /** Cycle momentum (SGD momentum or Adam's beta1) inversely (default true). */
  cycleMomentum?: boolean;
  /** Lower momentum (default 0.85). */
  baseMomentum?: number;
  /** Upper momentum (default 0.95). */
  maxMomentum?: number;
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** final lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Use three phases (default false). */
  threePhase?: boolean;
}

const ONE_CYCLE_KEYS = optionKeys<OneCycleOptions>({
  maxLr: 0,
  totalSteps: 0,
  epochs: 0,
  stepsPerEpoch: 0,
  pctStart: 0,
  annealStrategy: 0,
  cycleMomentum: 0,
  baseMomentum: 0,
  maxMomentum: 0,
  divFactor: 0,
  finalDivFactor: 0,
  threePhase: 0,
});

interface Phase {
  end: number;
  lr: [string, string];
  mom: [string, string];
}

/**
 * The 1cycle policy: warm up to `maxLr`, then anneal far below the start,
 * stepping once per batch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1, momentum: 0.9 });
 * new zn.optim.lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 100 });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  /** Total steps in the cycle. */
  readonly totalSteps: number;
  #phases: Phase[];
  #anneal: (start: number, end: number, pct: number) => number;
  #cycleMomentum: boolean;

  /** Schedules `optimizer` over one cycle. */
  constructor(optimizer: AnyOptimizer, opts: OneCycleOptions) {
    checkOptimizer(optimizer, "OneCycleLR");
    checkObject(opts, "OneCycleLR", "options");
    checkOptions("OneCycleLR", opts, ONE_CYCLE_KEYS);
    if (!Array.isArray(opts.maxLr)) checkNumber(opts.maxLr, "OneCycleLR", "maxLr");
    const total = opts.totalSteps ??
      (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined
        ? opts.epochs * opts.stepsPerEpoch
        : NaN);
    if (!(total > 0)) {
      throw new RangeError("OneCycleLR: give totalSteps, or epochs and stepsPerEpoch");
    }
    const pct = opts.pctStart ?? 0.3;
    const div = opts.divFactor ?? 25, finalDiv = opts.finalDivFactor ?? 1e4;
    const gs = groups(optimizer);
    const maxLrs = Array.isArray(opts.maxLr) ? opts.maxLr : gs.map(() => opts.maxLr as number);
    gs.forEach((g, i) => {
      g.initialLr = maxLrs[i] / div;
      g.lr = g.initialLr;
      g.maxLr = maxLrs[i];
      g.minLr = g.initialLr / finalDiv;
    });
    super(optimizer);
    this.totalSteps = total;
    this.#phases = opts.threePhase
      ? [
        { end: pct * total - 1, lr: ["initialLr", "maxLr"], mom: ["maxMomentum", "baseMomentum"] },
        {
          end: 2 * pct * total - 2,
          lr: ["maxLr", "initialLr"],
          mom: ["baseMomentum", "maxMomentum"],
        },
        { end: total - 1, lr: ["initialLr", "minLr"], mom: ["maxMomentum", "maxMomentum"] },
      ]
      : [
        { end: pct * total - 1, lr: ["initialLr", "maxLr"], mom: ["maxMomentum", "baseMomentum"] },
        { end: total - 1, lr: ["maxLr", "minLr"], mom: ["baseMomentum", "maxMomentum"] },
      ];
    this.#anneal = (opts.annealStrategy ?? "cos") === "cos"
      ? (s, e, p) => e + (s - e) / 2 * (Math.cos(Math.PI * p) + 1)
      : (s, e, p) => (e - s) * p + s;
    this.#cycleMomentum = opts.cycleMomentum ?? true;
    if (this.#cycleMomentum) {
      for (const g of gs) {
        if (!("momentum" in g) && !("betas" in g)) {
          throw new Error(
            "OneCycleLR: optimizer has neither momentum nor betas; pass cycleMomentum: false",
          );
        }
        g.maxMomentum = opts.maxMomentum ?? 0.95;
        g.baseMomentum = opts.baseMomentum ?? 0.85;
        setMomentum(g, g.maxMomentum as number);
      }
    }
    this.initialStep();
  }

  /** @internal */
  protected getLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new RangeError(
        `OneCycleLR: tried to step ${step} times; the total number of steps is ${this.totalSteps}`,
      );
    }
    return groups(this.optimizer).map((g) => {
      let start = 0;
      for (let i = 0; i < this.#phases.length; i++) {
        const ph = this.#phases[i];
        if (step <= ph.end || i === this.#phases.length - 1) {
          const pct = (step - start) / (ph.end - start);
          const lr = this.#anneal(g[ph.lr[0]] as number, g[ph.lr[1]] as number, pct);
          if (this.#cycleMomentum) {
            setMomentum(g, this.#anneal(g[ph.mom[0]] as number, g[ph.mom[1]] as number, pct));
          }
          return lr;
        }
        start = ph.end;
      }
      return g.lr;
    });
  }
}

/**
 * Options of {@link ReduceLROnPlateau}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const opts: zn.optim.lrScheduler.PlateauOptions = { patience: 0, factor: 0.5 };
 * const s = new zn.optim.lrScheduler.ReduceLROnPlateau(opt, opts);
 * s.step(1.0);
 * s.step(1.0); // no improvement: halve
 * s.getLastLr(); // [0.5]
 * ```
 */
export interface PlateauOptions {
  /** "min" (default: a lower metric is better) or "max". */
  mode?: "min" | "max";
  /** Factor to multiply the rate by (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** "rel" (default) or "abs". */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction (default 0). */
  cooldown?: number;
  /** Lower bound on the rate (one for all groups, or per group; default 0). */
  minLr?: number | number[];
  /** Smallest change of the rate worth applying (default 1e-8). */
  eps?: number;
}

const PLATEAU_KEYS = optionKeys<PlateauOptions>({
  mode: 0,
  factor: 0,
  patience: 0,
  threshold: 0,
  thresholdMode: 0,
  cooldown: 0,
  minLr: 0,
  eps: 0,
});

/**
 * Reduces the learning rate when a metric stops improving; `step(metric)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.ReduceLROnPlateau(opt, { patience: 0 });
 * s.step(1);
 * s.step(2);
 * s.getLastLr(); // [0.1]
 * ```
 */
export class ReduceLROnPlateau {
  /** The optimizer whose rates this scheduler lowers. */
  readonly optimizer: AnyOptimizer;
  /** The best metric so far. */
  best: number;
  /** Epochs since the last improvement. */
  numBadEpochs = 0;
  /** Epochs stepped. */
  lastEpoch = 0;
  #o: Required<Omit<PlateauOptions, "minLr">>;
  #minLrs: number[];
  #cooldownCounter = 0;

  /** Watches a metric for `optimizer`. */
  constructor(optimizer: AnyOptimizer, opts: PlateauOptions = {}) {
    checkOptimizer(optimizer, "ReduceLROnPlateau");
    checkOptions("ReduceLROnPlateau", opts, PLATEAU_KEYS);
    this.optimizer = optimizer;
    this.#o = {
      mode: opts.mode ?? "min",
      factor: opts.factor ?? 0.1,
      patience: opts.patience ?? 10,
      threshold: opts.threshold ?? 1e-4,
      thresholdMode: opts.thresholdMode ?? "rel",
      cooldown: opts.cooldown ?? 0,
      eps: opts.eps ?? 1e-8,
    };
    if (!(this.#o.factor < 1)) throw new RangeError("ReduceLROnPlateau: factor should be < 1.0");
    const n = optimizer.paramGroups.length;
    this.#minLrs = Array.isArray(opts.minLr) ? opts.minLr : new Array(n).fill(opts.minLr ?? 0);
    this.best = this.#o.mode === "min" ? Infinity : -Infinity;
  }

  #isBetter(a: number): boolean {
    const { mode, threshold, thresholdMode } = this.#o;
    if (mode === "min") {
      return thresholdMode === "rel" ? a < this.best * (1 - threshold) : a < this.best - threshold;
    }
    return thresholdMode === "rel" ? a > this.best * (threshold + 1) : a > this.best + threshold;
  }

  /** Records this epoch's metric, reducing the rates after `patience` bad epochs. */
  step(metric: number): void {
    this.lastEpoch++;
    if (this.#isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.#cooldownCounter > 0) {
      this.#cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.#o.patience) {
      groups(this.optimizer).forEach((g, i) => {
        const next = Math.max(g.lr * this.#o.factor, this.#minLrs[i]);
        if (g.lr - next > this.#o.eps) g.lr = next;
      });
      this.#cooldownCounter = this.#o.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** The groups' current learning rates. */
  getLastLr(): number[] {
    return groups(this.optimizer).map((g) => g.lr);
  }
}

/**
 * Runs schedulers one after another, switching at the milestones (for
 * example a LinearLR warm-up, then cosine annealing).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const { LinearLR, CosineAnnealingLR, SequentialLR } = zn.optim.lrScheduler;
 * const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 2 });
 * const cos = new CosineAnnealingLR(opt, { tMax: 8 });
 * new SequentialLR(opt, { schedulers: [warm, cos], milestones: [2] });
 * ```
 */
export class SequentialLR {
  /** The optimizer. */
  readonly optimizer: AnyOptimizer;
  /** The schedulers, in order. */
  readonly schedulers: LRScheduler[];
  /** Epochs at which the next scheduler takes over. */
  readonly milestones: number[];
  /** Epochs stepped. */
  lastEpoch: number;
  #lastLr: number[];

  /** Chains `schedulers` on `optimizer`. */
  constructor(optimizer: AnyOptimizer, opts: { schedulers: LRScheduler[]; milestones: number[] }) {
    checkOptimizer(optimizer, "SequentialLR");
    checkObject(opts, "SequentialLR", "options");
    checkOptions("SequentialLR", opts, ["schedulers", "milestones"]);
    checkArray(opts.schedulers, "SequentialLR", "schedulers");
    checkIntList(opts.milestones, "SequentialLR", "milestones");
    for (const s of opts.schedulers) {
      if (!(s instanceof LRScheduler)) {
        typeError("SequentialLR", "each scheduler", "an LRScheduler", s);
      }
    }
    if (opts.milestones.length !== opts.schedulers.length - 1) {
      throw new RangeError(
        `SequentialLR: expected ${
          opts.schedulers.length - 1
        } milestones, got ${opts.milestones.length}`,
      );
    }
    for (const s of opts.schedulers) {
      if (s.optimizer !== optimizer) {
        throw new Error("SequentialLR: schedulers must share the optimizer");
      }
    }
    this.optimizer = optimizer;
    this.schedulers = opts.schedulers;
    this.milestones = opts.milestones.slice();
    this.lastEpoch = 0;
    for (const g of groups(optimizer)) g.lr = g.initialLr!;
    for (const s of this.schedulers) s.lastEpoch--;
    (this.schedulers[0] as unknown as { initialStep(): void }).initialStep();
    this.#lastLr = this.schedulers[0].getLastLr();
  }

  /** Advances one epoch on the scheduler whose turn it is. */
  step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.#lastLr = s.getLastLr();
  }

  /** The learning rates the last step set. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }
}

/** One function per parameter group, or one for all of them. */
function lambdasFor(
  opt: AnyOptimizer,
  f: unknown,
  op: string,
): ((epoch: number) => number)[] {
  const n = opt.paramGroups.length;
  const list = Array.isArray(f) ? f : new Array(n).fill(f);
  if (list.length !== n) {
    throw new RangeError(`${op}: expected ${n} lrLambda(s), got ${list.length}`);
  }
  list.forEach((g, i) => checkFunction(g, op, Array.isArray(f) ? `lrLambda[${i}]` : "lrLambda"));
  return list as ((epoch: number) => number)[];
}

/** A per-group value given once or as one number per group. */
function perGroup(opt: AnyOptimizer, v: unknown, op: string, name: string): number[] {
  const n = opt.paramGroups.length;
  const list = Array.isArray(v) ? v : new Array(n).fill(v);
  if (list.length !== n) {
    throw new RangeError(
      `${op}: ${name} must have one value per parameter group (${n}), got ${list.length}`,
    );
  }
  list.forEach((x) => checkNumber(x, op, name));
  return list as number[];
}

/**
 * Sets each group's rate to its initial rate times `lrLambda(epoch)`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.LambdaLR(opt, (epoch) => 0.5 ** epoch);
 * s.step();
 * s.getLastLr(); // [0.5]
 * ```
 */
export class LambdaLR extends LRScheduler {
  /** The factor of each group's initial rate, per epoch. */
  readonly lrLambdas: ((epoch: number) => number)[];
  /** Schedules `optimizer` by `lrLambda` (one function, or one per group). */
  constructor(
    optimizer: AnyOptimizer,
    lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
  ) {
    checkOptimizer(optimizer, "LambdaLR");
    const fns = lambdasFor(optimizer, lrLambda, "LambdaLR");
    super(optimizer);
    this.lrLambdas = fns;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.lrLambdas[i](this.lastEpoch));
  }
}

/**
 * Multiplies each group's rate by `lrLambda(epoch)` every epoch after the first.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.MultiplicativeLR(opt, () => 0.9);
 * s.step();
 * s.step();
 * s.getLastLr(); // [0.81]
 * ```
 */
export class MultiplicativeLR extends LRScheduler {
  /** The factor applied at each epoch. */
  readonly lrLambdas: ((epoch: number) => number)[];
  /** Schedules `optimizer` by `lrLambda` (one function, or one per group). */
  constructor(
    optimizer: AnyOptimizer,
    lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[],
  ) {
    checkOptimizer(optimizer, "MultiplicativeLR");
    const fns = lambdasFor(optimizer, lrLambda, "MultiplicativeLR");
    super(optimizer);
    this.lrLambdas = fns;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    if (this.isInitial) return this.current();
    return this.current().map((lr, i) => lr * this.lrLambdas[i](this.lastEpoch));
  }
}

/**
 * Scales the rate by `factor` until epoch `totalIters`, then restores it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * new zn.optim.lrScheduler.ConstantLR(opt, { factor: 0.5, totalIters: 2 }).getLastLr(); // [0.5]
 * ```
 */
export class ConstantLR extends LRScheduler {
  /** The factor before `totalIters` (default 1/3). */
  readonly factor: number;
  /** The epoch at which the full rate returns (default 5). */
  readonly totalIters: number;
  /** Scales `optimizer`'s rates for the first epochs. */
  constructor(optimizer: AnyOptimizer, opts: { factor?: number; totalIters?: number } = {}) {
    checkObject(opts, "ConstantLR", "options");
    checkOptions("ConstantLR", opts, ["factor", "totalIters"]);
    const factor = opts.factor ?? 1 / 3;
    checkNumber(factor, "ConstantLR", "factor");
    if (factor > 1 || factor < 0) {
      throw new RangeError(`ConstantLR: factor must be in [0, 1], got ${factor}`);
    }
    const totalIters = opts.totalIters ?? 5;
    checkSizeArg(totalIters, "ConstantLR", "totalIters", 0);
    super(optimizer);
    this.factor = factor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.current().map((lr) => lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.current();
    return this.current().map((lr) => lr * (1 / this.factor));
  }
  /** @internal */
  protected override closedForm(): number[] {
    const on = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((b) => b * (this.factor + on * (1 - this.factor)));
  }
}

/**
 * Decays the rate to 0 over `totalIters` epochs as `(1 - t / totalIters) ** power`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.PolynomialLR(opt, { totalIters: 4, power: 2 });
 * s.step();
 * s.getLastLr(); // [0.5625]
 * ```
 */
export class PolynomialLR extends LRScheduler {
  /** Epochs of the decay (default 5). */
  readonly totalIters: number;
  /** The polynomial's power (default 1). */
  readonly power: number;
  /** Decays `optimizer`'s rates polynomially. */
  constructor(optimizer: AnyOptimizer, opts: { totalIters?: number; power?: number } = {}) {
    checkObject(opts, "PolynomialLR", "options");
    checkOptions("PolynomialLR", opts, ["totalIters", "power"]);
    const totalIters = opts.totalIters ?? 5;
    checkSizeArg(totalIters, "PolynomialLR", "totalIters");
    const power = opts.power ?? 1;
    checkNumber(power, "PolynomialLR", "power");
    super(optimizer);
    this.totalIters = totalIters;
    this.power = power;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    const e = this.lastEpoch, n = this.totalIters;
    if (this.isInitial || e > n) return this.current();
    const decay = ((1 - e / n) / (1 - (e - 1) / n)) ** this.power;
    return this.current().map((lr) => lr * decay);
  }
  /** @internal */
  protected override closedForm(): number[] {
    const n = this.totalIters;
    return this.baseLrs.map((b) => b * (1 - Math.min(n, this.lastEpoch) / n) ** this.power);
  }
}

/**
 * Cosine annealing with warm restarts (SGDR): the rate falls from the base
 * rate to `etaMin` over `t0` epochs, then restarts, each period `tMult`
 * times the last. `step(epoch)` takes fractional epochs (per-batch steps).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const s = new zn.optim.lrScheduler.CosineAnnealingWarmRestarts(opt, { t0: 2 });
 * s.step();
 * s.step(); // a restart
 * s.getLastLr(); // [1]
 * ```
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  /** The first period, in epochs. */
  readonly t0: number;
  /** Each period's length over the last one's (default 1). */
  readonly tMult: number;
  /** The lowest rate (default 0). */
  readonly etaMin: number;
  /** The current period's length. */
  tI: number;
  /** Epochs since the last restart. */
  tCur: number;
  /** Anneals `optimizer`'s rates with restarts. */
  constructor(optimizer: AnyOptimizer, opts: { t0: number; tMult?: number; etaMin?: number }) {
    checkObject(opts, "CosineAnnealingWarmRestarts", "options");
    checkOptions("CosineAnnealingWarmRestarts", opts, ["t0", "tMult", "etaMin"]);
    checkSizeArg(opts.t0, "CosineAnnealingWarmRestarts", "t0");
    const tMult = opts.tMult ?? 1;
    checkSizeArg(tMult, "CosineAnnealingWarmRestarts", "tMult");
    const etaMin = opts.etaMin ?? 0;
    checkNumber(etaMin, "CosineAnnealingWarmRestarts", "etaMin");
    super(optimizer);
    this.t0 = this.tI = opts.t0;
    this.tMult = tMult;
    this.etaMin = etaMin;
    this.tCur = -1;
    this.initialStep();
  }
  /** @internal */
  protected getLr(): number[] {
    return this.baseLrs.map((b) =>
      this.etaMin + (b - this.etaMin) * (1 + Math.cos(Math.PI * this.tCur / this.tI)) / 2
    );
  }
  /** Advances one epoch, or jumps to `epoch` (fractional epochs allowed). */
  override step(epoch?: number): void {
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      this.tCur++;
      if (this.tCur >= this.tI) {
        this.tCur %= this.tI;
        this.tI *= this.tMult;
      }
      super.step();
      return;
    }
    checkNumber(epoch, "CosineAnnealingWarmRestarts.step", "epoch");
    if (epoch < 0) {
      throw new RangeError(`CosineAnnealingWarmRestarts.step: epoch must be >= 0, got ${epoch}`);
    }
    if (epoch >= this.t0) {
      if (this.tMult === 1) this.tCur = epoch % this.t0;
      else {
        const n = Math.trunc(
          Math.log(epoch / this.t0 * (this.tMult - 1) + 1) / Math.log(this.tMult),
        );
        this.tCur = epoch - this.t0 * (this.tMult ** n - 1) / (this.tMult - 1);
        this.tI = this.t0 * this.tMult ** n;
      }
    } else {
      this.tI = this.t0;
      this.tCur = epoch;
    }
    super.step(Math.floor(epoch));
  }
  /** The counters and the current period, to resume training. */
  override stateDict(): Record<string, unknown> {
    return { ...super.stateDict(), tI: this.tI, tCur: this.tCur };
  }
  /** Restores a {@link stateDict}; a load that throws leaves the scheduler as it was. */
  override loadStateDict(sd: Record<string, unknown>): void {
    const what = "CosineAnnealingWarmRestarts.loadStateDict";
    if (sd === null || typeof sd !== "object") {
      throw new TypeError(`${what}: expected a state dict object`);
    }
    checkNumber(sd.tI, what, "tI");
    checkNumber(sd.tCur, what, "tCur");
    super.loadStateDict(sd);
    this.tI = sd.tI as number;
    this.tCur = sd.tCur as number;
  }
}

/**
 * Options of {@link CyclicLR}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.optim.lrScheduler.CyclicOptions = { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 4 };
 * ```
 */
export interface CyclicOptions {
  /** The lower bound of each cycle (one value, or one per group). */
  baseLr: number | number[];
  /** The upper bound of each cycle (one value, or one per group). */
  maxLr: number | number[];
  /** Iterations of the rising half (default 2000). */
  stepSizeUp?: number;
  /** Iterations of the falling half (default stepSizeUp). */
  stepSizeDown?: number;
  /** "triangular" (default), "triangular2" (halve each cycle) or "expRange" (gamma ** iteration). */
  mode?: "triangular" | "triangular2" | "expRange";
  /** The base of "expRange" (default 1). */
  gamma?: number;
  /** A custom amplitude scale, in place of mode's. */
  scaleFn?: (x: number) => number;
  /** What scaleFn takes: the cycle number or the iteration (default "cycle"). */
  scaleMode?: "cycle" | "iterations";
  /** Cycle momentum (SGD momentum or Adam's beta1) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** The lower momentum (default 0.8). */
  baseMomentum?: number | number[];
  /** The upper momentum (default 0.9). */
  maxMomentum?: number | number[];
}

const CYCLIC_KEYS = optionKeys<CyclicOptions>({
  baseLr: 0,
  maxLr: 0,
  stepSizeUp: 0,
  stepSizeDown: 0,
  mode: 0,
  gamma: 0,
  scaleFn: 0,
  scaleMode: 0,
  cycleMomentum: 0,
  baseMomentum: 0,
  maxMomentum: 0,
});

/**
 * The cyclical learning-rate policy: the rate moves between `baseLr` and
 * `maxLr` in triangles, stepping once per batch.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1, momentum: 0.9 });
 * const s = new zn.optim.lrScheduler.CyclicLR(opt, { baseLr: 0.1, maxLr: 0.5, stepSizeUp: 2 });
 * s.step();
 * s.getLastLr(); // [0.3]
 * ```
 */
export class CyclicLR extends LRScheduler {
  /** Each group's upper bound. */
  readonly maxLrs: number[];
  /** Iterations per cycle. */
  readonly totalSize: number;
  /** The rising part of a cycle. */
  readonly stepRatio: number;
  #scale: (x: number) => number;
  #scaleMode: "cycle" | "iterations";
  #momentum: { base: number[]; max: number[] } | null = null;

  /** Cycles `optimizer`'s rates. */
  constructor(optimizer: AnyOptimizer, opts: CyclicOptions) {
    checkOptimizer(optimizer, "CyclicLR");
    checkObject(opts, "CyclicLR", "options");
    checkOptions("CyclicLR", opts, CYCLIC_KEYS);
    const baseLrs = perGroup(optimizer, opts.baseLr, "CyclicLR", "baseLr");
    const maxLrs = perGroup(optimizer, opts.maxLr, "CyclicLR", "maxLr");
    const up = opts.stepSizeUp ?? 2000;
    checkSizeArg(up, "CyclicLR", "stepSizeUp");
    const down = opts.stepSizeDown ?? up;
    checkSizeArg(down, "CyclicLR", "stepSizeDown");
    const mode = opts.mode ?? "triangular";
    const gamma = opts.gamma ?? 1;
    checkNumber(gamma, "CyclicLR", "gamma");
    let scale: (x: number) => number, scaleMode: "cycle" | "iterations";
    if (opts.scaleFn !== undefined) {
      checkFunction(opts.scaleFn, "CyclicLR", "scaleFn");
      scale = opts.scaleFn;
      scaleMode = opts.scaleMode ?? "cycle";
      if (scaleMode !== "cycle" && scaleMode !== "iterations") {
        throw new RangeError(
          `CyclicLR: scaleMode must be "cycle" or "iterations", got ${String(scaleMode)}`,
        );
      }
    } else if (mode === "triangular") [scale, scaleMode] = [() => 1, "cycle"];
    else if (mode === "triangular2") [scale, scaleMode] = [(x) => 1 / 2 ** (x - 1), "cycle"];
    else if (mode === "expRange") [scale, scaleMode] = [(x) => gamma ** x, "iterations"];
    else throw new RangeError(`CyclicLR: unknown mode ${JSON.stringify(mode)}`);
    const gs = groups(optimizer);
    gs.forEach((g, i) => g.lr = baseLrs[i]);
    let momentum: { base: number[]; max: number[] } | null = null;
    if (opts.cycleMomentum ?? true) {
      if (gs.some((g) => !("momentum" in g) && !("betas" in g))) {
        throw new Error(
          "CyclicLR: optimizer has neither momentum nor betas; pass cycleMomentum: false",
        );
      }
      momentum = {
        base: perGroup(optimizer, opts.baseMomentum ?? 0.8, "CyclicLR", "baseMomentum"),
        max: perGroup(optimizer, opts.maxMomentum ?? 0.9, "CyclicLR", "maxMomentum"),
      };
      gs.forEach((g, i) => {
        setMomentum(g, momentum!.max[i]);
        g.maxMomentum = momentum!.max[i];
        g.baseMomentum = momentum!.base[i];
      });
    }
    super(optimizer);
    this.maxLrs = maxLrs;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.#scale = scale;
    this.#scaleMode = scaleMode;
    this.#momentum = momentum;
    this.initialStep();
    baseLrs.forEach((b, i) => this.baseLrs[i] = b);
  }
  /** @internal */
  protected getLr(): number[] {
    const e = this.lastEpoch;
    const cycle = Math.floor(1 + e / this.totalSize);
    const x = 1 + e / this.totalSize - cycle;
    const f = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const s = this.#scale(this.#scaleMode === "cycle" ? cycle : e);
    const lrs = this.baseLrs.map((b, i) => b + (this.maxLrs[i] - b) * f * s);
    if (this.#momentum) {
      const { base, max } = this.#momentum;
      groups(this.optimizer).forEach((g, i) => setMomentum(g, max[i] - (max[i] - base[i]) * f * s));
    }
    return lrs;
  }
}

/** Sets SGD's momentum or Adam's beta1. */
function setMomentum(g: Group, m: number): void {
  if ("betas" in g) g.betas = [m, (g.betas as number[])[1]];
  else g.momentum = m;
}

/**
 * Steps several schedulers together, each multiplying in its own factor
 * (for example a ConstantLR warm-up with an ExponentialLR decay).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opt = new zn.optim.SGD([zn.zeros([1], { requiresGrad: true })], { lr: 1 });
 * const { ConstantLR, ExponentialLR, ChainedScheduler } = zn.optim.lrScheduler;
 * const s = new ChainedScheduler([
 *   new ConstantLR(opt, { factor: 0.5, totalIters: 2 }),
 *   new ExponentialLR(opt, { gamma: 0.9 }),
 * ]);
 * s.step();
 * s.getLastLr(); // [0.45]
 * ```
 */
export class ChainedScheduler {
  /** The optimizer the schedulers share. */
  readonly optimizer: AnyOptimizer;
  /** The schedulers, stepped in order. */
  readonly schedulers: LRScheduler[];
  #lastLr: number[];

  /** Chains `schedulers`, which must share one optimizer. */
  constructor(schedulers: LRScheduler[]) {
    checkArray(schedulers, "ChainedScheduler", "schedulers");
    if (schedulers.length === 0) {
      throw new RangeError("ChainedScheduler: expected at least one scheduler");
    }
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) {
        typeError(
          "ChainedScheduler",
          `schedulers[${i}]`,
          "an LRScheduler (not ReduceLROnPlateau)",
          s,
        );
      }
      if (s.optimizer !== schedulers[0].optimizer) {
        throw new Error(
          `ChainedScheduler: schedulers[${i}] has another optimizer; all must share one`,
        );
      }
    });
    this.optimizer = schedulers[0].optimizer;
    this.schedulers = schedulers.slice();
    this.#lastLr = groups(this.optimizer).map((g) => g.lr);
  }

  /** Steps every scheduler once. */
  step(): void {
    for (const s of this.schedulers) s.step();
    this.#lastLr = groups(this.optimizer).map((g) => g.lr);
  }

  /** The learning rates after the last step. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  /** Each scheduler's state, in order. */
  stateDict(): Record<string, unknown> {
    return { schedulers: this.schedulers.map((s) => s.stateDict()), lastLr: this.#lastLr.slice() };
  }

  /** Restores a {@link stateDict}; a load that throws leaves every scheduler as it was. */
  loadStateDict(sd: Record<string, unknown>): void {
    const what = "ChainedScheduler.loadStateDict";
    if (sd === null || typeof sd !== "object") {
      throw new TypeError(`${what}: expected a state dict object`);
    }
    const list = sd.schedulers;
    if (!Array.isArray(list) || list.length !== this.schedulers.length) {
      throw new TypeError(`${what}: schedulers must hold ${this.schedulers.length} state dict(s)`);
    }
    const before = this.schedulers.map((s) => s.stateDict());
    try {
      this.schedulers.forEach((s, i) => s.loadStateDict(list[i] as Record<string, unknown>));
    } catch (e) {
      this.schedulers.forEach((s, i) => s.loadStateDict(before[i]));
      throw e;
    }
    this.#lastLr = groups(this.optimizer).map((g) => g.lr);
  }
}
