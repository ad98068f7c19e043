/**
 * `zn.amp.GradScaler`: dynamic loss scaling for mixed-precision training, as
 * `torch.amp.GradScaler`.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { Optimizer } from "../optim/optimizer.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { typeError } from "../args.ts";

/**
 * Options of {@link GradScaler}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.amp.GradScalerOptions = { initScale: 1024, growthInterval: 100 };
 * new zn.amp.GradScaler(opts).getScale(); // 1024
 * ```
 */
export interface GradScalerOptions {
  /** The first scale (default 65536). */
  initScale?: number;
  /** Multiplies the scale after `growthInterval` steps without inf or NaN (default 2). */
  growthFactor?: number;
  /** Multiplies the scale after a step with inf or NaN gradients (default 0.5). */
  backoffFactor?: number;
  /** Steps without inf or NaN before the scale grows (default 2000). */
  growthInterval?: number;
  /** When false, every method passes through (default true). */
  enabled?: boolean;
}

const KEYS = optionKeys<GradScalerOptions>({
  initScale: 0,
  growthFactor: 0,
  backoffFactor: 0,
  growthInterval: 0,
  enabled: 0,
});

type AnyOptimizer = Optimizer<{ lr: number }>;
type Stage = { unscaled: boolean; foundInf: boolean };

/**
 * Scales the loss so that small half-precision gradients do not flush to
 * zero, unscales the gradients before the step, skips steps whose gradients
 * hold inf or NaN, and adapts the scale: halved after such a step, doubled
 * after `growthInterval` clean ones.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(4, 1);
 * const opt = new zn.optim.SGD(net.parameters(), { lr: 0.1 });
 * const scaler = new zn.amp.GradScaler();
 * const loss = net.call(zn.randn([8, 4])).square().mean();
 * scaler.scale(loss).backward();
 * scaler.step(opt); // unscales, then steps unless a gradient is inf or NaN
 * scaler.update();
 * ```
 */
export class GradScaler {
  #scale: number;
  #growthFactor: number;
  #backoffFactor: number;
  #growthInterval: number;
  #enabled: boolean;
  #growthTracker = 0;
  #stages = new Map<AnyOptimizer, Stage>();

  /** A scaler with the given options. */
  constructor(opts: GradScalerOptions = {}) {
    checkOptions("GradScaler", opts, KEYS);
    this.#scale = opts.initScale ?? 2 ** 16;
    this.#growthFactor = opts.growthFactor ?? 2;
    this.#backoffFactor = opts.backoffFactor ?? 0.5;
    this.#growthInterval = opts.growthInterval ?? 2000;
    this.#enabled = opts.enabled ?? true;
    if (!(this.#scale > 0)) {
      throw new RangeError(`GradScaler: initScale must be positive, got ${this.#scale}`);
    }
    if (!(this.#growthFactor > 1)) {
      throw new RangeError(
        `GradScaler: The growth factor must be > 1.0, got ${this.#growthFactor}`,
      );
    }
    if (!(this.#backoffFactor < 1 && this.#backoffFactor > 0)) {
      throw new RangeError(
        `GradScaler: The backoff factor must be < 1.0, got ${this.#backoffFactor}`,
      );
    }
    if (!Number.isInteger(this.#growthInterval) || this.#growthInterval <= 0) {
      throw new RangeError(
        `GradScaler: growthInterval must be a positive integer, got ${this.#growthInterval}`,
      );
    }
  }

  /** Whether the scaler is active. */
  isEnabled(): boolean {
    return this.#enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.#enabled ? this.#scale : 1;
  }

  /** Multiplies `outputs` (a tensor, or an array of them) by the scale. */
  scale<T extends Tensor | Tensor[]>(outputs: T): T {
    if (!this.#enabled) return outputs;
    if (outputs instanceof Tensor) return outputs.mul(this.#scale) as T;
    if (Array.isArray(outputs)) return outputs.map((o) => this.scale(o)) as T;
    return typeError("GradScaler.scale", "outputs", "a Tensor or an array of Tensors", outputs);
  }

  #stage(opt: AnyOptimizer): Stage {
    let s = this.#stages.get(opt);
    if (!s) this.#stages.set(opt, s = { unscaled: false, foundInf: false });
    return s;
  }

  /**
   * Divides the optimizer's gradients by the scale in place and records
   * whether any holds inf or NaN (for gradient clipping between backward
   * and step). Once per optimizer per {@link GradScaler.update}.
   */
  unscale_(optimizer: AnyOptimizer): void {
    if (!this.#enabled) return;
    if (!(optimizer instanceof Optimizer)) {
      typeError("GradScaler.unscale_", "optimizer", "an Optimizer", optimizer);
    }
    const st = this.#stage(optimizer);
    if (st.unscaled) {
      throw new Error(
        "unscale_() has already been called on this optimizer since the last update().",
      );
    }
    const inv = 1 / this.#scale;
    let found = false;
    noGrad(() => {
      for (const group of optimizer.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (!g) continue;
          if (g.dtype === "float16") throw new Error("Attempting to unscale FP16 gradients.");
          g.mul_(inv);
          if (!found && !Number.isFinite(g.abs().amax().item() as number)) found = true;
        }
      }
    });
    st.unscaled = true;
    st.foundInf = found;
  }

  /**
   * Unscales the gradients (unless {@link GradScaler.unscale_} did already)
   * and runs `optimizer.step()` unless one holds inf or NaN; returns the
   * step's result (undefined when skipped).
   */
  step(optimizer: AnyOptimizer, closure?: () => Tensor): Tensor | undefined {
    if (!this.#enabled) return optimizer.step(closure);
    if (closure !== undefined) {
      throw new Error("Closure use is not currently supported if GradScaler is enabled.");
    }
    const st = this.#stage(optimizer);
    if (!st.unscaled) this.unscale_(optimizer);
    if (st.foundInf) return undefined;
    return optimizer.step();
  }

  /**
   * Adapts the scale for the next iteration (or sets it to `newScale`) and
   * resets the per-optimizer records; call once per iteration, after the steps.
   */
  update(newScale?: number): void {
    if (!this.#enabled) return;
    if (newScale !== undefined) {
      if (!(typeof newScale === "number" && newScale > 0)) {
        throw new RangeError(
          `GradScaler.update: newScale must be a positive number, got ${String(newScale)}`,
        );
      }
      this.#scale = newScale;
    } else {
      if (this.#stages.size === 0) throw new Error("No inf checks were recorded prior to update.");
      const inf = [...this.#stages.values()].some((s) => s.foundInf);
      if (inf) {
        this.#scale *= this.#backoffFactor;
        this.#growthTracker = 0;
      } else if (++this.#growthTracker === this.#growthInterval) {
        this.#scale *= this.#growthFactor;
        this.#growthTracker = 0;
      }
      // PyTorch keeps the scale in a float32 tensor.
      this.#scale = Math.fround(this.#scale);
    }
    this.#stages.clear();
  }

  /** The scale and the growth settings, to resume training. */
  stateDict(): Record<string, number> {
    if (!this.#enabled) return {};
    return {
      scale: this.#scale,
      growthFactor: this.#growthFactor,
      backoffFactor: this.#backoffFactor,
      growthInterval: this.#growthInterval,
      growthTracker: this.#growthTracker,
    };
  }

  /** Restores a {@link GradScaler.stateDict}; a load that throws changes nothing. */
  loadStateDict(sd: Record<string, unknown>): void {
    if (!this.#enabled) return;
    const what = "GradScaler.loadStateDict";
    if (sd === null || typeof sd !== "object") {
      throw new TypeError(`${what}: expected a state dict object`);
    }
    const keys = [
      "scale",
      "growthFactor",
      "backoffFactor",
      "growthInterval",
      "growthTracker",
    ] as const;
    for (const k of keys) {
      if (typeof sd[k] !== "number" || Number.isNaN(sd[k])) {
        throw new TypeError(`${what}: ${k} must be a number, got ${String(sd[k])}`);
      }
    }
    this.#scale = sd.scale as number;
    this.#growthFactor = sd.growthFactor as number;
    this.#backoffFactor = sd.backoffFactor as number;
    this.#growthInterval = sd.growthInterval as number;
    this.#growthTracker = sd.growthTracker as number;
  }
}
