/**
 * The optimizer base: parameter groups with per-group options, per-parameter
 * state, zeroGrad, and state dicts in PyTorch's layout (parameters numbered
 * in group order).
 *
 * @module
 */
import type { OptimKind } from "../backend.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { Tensor } from "../tensor.ts";
import { zerosLike } from "../ops/creation.ts";
import { clone, toDevice, toDType } from "../ops/elementwise.ts";
import type { DType } from "../dtype.ts";
import { deviceMismatch, disposedError, hold, internalScope, unhold } from "../lifetime.ts";
import { checkOptions } from "../options.ts";
import { checkIterable } from "../args.ts";

const ZERO_GRAD_KEYS = ["setToNone"] as const;

/**
 * The dtype of an optimizer's state buffers for a parameter of `d`: half
 * parameters keep float32 state (their updates underflow in half precision),
 * the others their own dtype.
 */
export function stateDType(d: DType): DType {
  return isHalf(d) ? "float32" : d;
}

function isHalf(d: DType): boolean {
  return d === "float16" || d === "bfloat16";
}

/** Moves (or converts) the state's tensors to the parameter's device and state dtype. */
function followParam(state: ParamState, device: string, dtype: DType): void {
  for (const k in state) {
    const v = state[k];
    if (v instanceof Tensor && (v.device !== device || v.dtype !== dtype)) {
      const moved = toDType(toDevice(v, device), dtype).contiguous();
      hold(moved);
      unhold(v);
      state[k] = moved;
    }
  }
}

/**
 * A group of parameters with its own options.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.SGD([w], { lr: 0.1 });
 * const group: zn.optim.ParamGroup<zn.optim.SGDOptions> = opt.paramGroups[0];
 * [group.lr, group.params.length]; // [0.1, 1]
 * ```
 */
export type ParamGroup<O> = O & { params: Tensor[] };

/**
 * Parameters as a list, or as groups with per-group options.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(4, 4), new zn.nn.Linear(4, 1));
 * const params: zn.optim.Params<zn.optim.SGDOptions> = [
 *   { params: net.at(0).parameters(), lr: 0.01 },
 *   { params: net.at(1).parameters() },
 * ];
 * const opt = new zn.optim.SGD(params, { lr: 0.1 });
 * opt.paramGroups.map((g) => g.lr); // [0.01, 0.1]
 * ```
 */
export type Params<O> = Iterable<Tensor> | (Partial<O> & { params: Iterable<Tensor> })[];

/**
 * One parameter's state: buffers and counters.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.Adam([w]);
 * w.sum().backward();
 * opt.step();
 * const state: zn.ParamState = opt.stateDict().state[0];
 * Object.keys(state).sort(); // ["exp_avg", "exp_avg_sq", "step"]
 * ```
 */
export type ParamState = Record<string, Tensor | number>;

/**
 * A serialisable optimizer state, PyTorch's layout.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.SGD([w], { lr: 0.1 });
 * const sd: zn.OptimizerStateDict = opt.stateDict();
 * sd.paramGroups[0].params; // [0]
 * opt.loadStateDict(sd);
 * ```
 */
export interface OptimizerStateDict {
  /** Per-parameter state, keyed by the parameter's number. */
  state: Record<number, ParamState>;
  /** The groups' options, with their parameters as numbers. */
  paramGroups: Record<string, unknown>[];
}

/**
 * Base class of the optimizers.
 *
 * float16 and bfloat16 parameters are stepped in float32 with float32 state
 * and rounded into the parameter once per step. With the `masterWeights`
 * option, the optimizer also keeps a float32 copy of each half parameter
 * (state `master_param`), steps that copy and rounds it into the parameter,
 * so updates smaller than the half type's resolution accumulate instead of
 * rounding away. A parameter changed outside the optimizer (a loaded state
 * dict, `copy_`) restarts its copy from the new value.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.zeros([2], { requiresGrad: true });
 * const opt = new zn.optim.SGD([w], { lr: 0.1 });
 * w.sum().backward();
 * opt.step();
 * w.toArray(); // [-0.1, -0.1]
 * ```
 *
 * @example Master weights for bfloat16 parameters
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([1], { dtype: "bfloat16", requiresGrad: true });
 * const opt = new zn.optim.SGD([w], { lr: 1e-3, masterWeights: true });
 * for (let i = 0; i < 10; i++) {
 *   w.grad = zn.ones([1], { dtype: "bfloat16" });
 *   opt.step();
 * }
 * w.item(); // 0.98828125 (without masterWeights, 1: each step rounds away)
 * ```
 */
export abstract class Optimizer<O extends { lr: number; masterWeights?: boolean }> {
  /** The parameter groups, each with its options. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state. */
  readonly state: Map<Tensor, ParamState> = new Map();
  /** Options that groups inherit. */
  readonly defaults: O;
  /** Each half parameter's version when its master copy was last rounded into it. */
  readonly #masterVersion: WeakMap<Tensor, number> = new WeakMap();

  /** @internal */
  constructor(params: Params<O>, defaults: O) {
    this.defaults = defaults;
    checkIterable(
      params,
      this.constructor.name,
      "params",
      "an iterable of Tensors or of parameter groups",
    );
    const list = [...params as Iterable<unknown>];
    if (list.length === 0) throw new RangeError("optimizer got an empty parameter list");
    const groups: (Partial<O> & { params: Iterable<Tensor> })[] = list[0] instanceof Tensor
      ? [{ params: list as Tensor[] } as unknown as Partial<O> & { params: Iterable<Tensor> }]
      : list as (Partial<O> & { params: Iterable<Tensor> })[];
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group of parameters with options that override the defaults. */
  addParamGroup(group: Partial<O> & { params: Iterable<Tensor> }): void {
    checkOptions(
      `${this.constructor.name} parameter group`,
      group,
      [...Object.keys(this.defaults), "params"],
    );
    if (group.params == null) {
      throw new TypeError(`${this.constructor.name}: a parameter group needs "params"`);
    }
    checkIterable(
      group.params,
      this.constructor.name,
      "a group's params",
      "an iterable of Tensors",
    );
    const params = [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new TypeError("optimizer can only optimize Tensors");
      if (!p.isLeaf) throw new Error("optimizer can't optimize a non-leaf Tensor");
      if (seen.has(p)) throw new Error("some parameters appear in more than one parameter group");
      seen.add(p);
    }
    const merged = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validate(merged);
    this.paramGroups.push(merged);
  }

  /** @internal Checks a group's options. */
  protected validate(group: O): void {
    if (!(group.lr >= 0)) throw new RangeError(`Invalid learning rate: ${group.lr}`);
  }

  /** Clears the gradients: to null (default) or to zeros. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    checkOptions("zeroGrad", opts, ZERO_GRAD_KEYS);
    const none = opts.setToNone ?? true;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (none) p.grad = null;
        else p.grad = zerosLike(p.grad);
      }
    }
  }

  /**
   * Applies one update. `closure`, when given, re-evaluates the model and
   * returns the loss, which `step` returns.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? closure() : undefined;
    // Temporaries (converted gradients, fills) are released when the step ends;
    // state buffers are long-lived holders and stay.
    internalScope(() =>
      noGrad(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            if (!p.grad) continue;
            if (!p.isContiguous()) throw new Error("optimizer: parameters must be contiguous");
            if (p.grad.device !== p.device) {
              throw deviceMismatch("optimizer step", p.device, p.grad.device);
            }
            let state = this.state.get(p);
            if (!state) this.state.set(p, state = {});
            else followParam(state, p.device, stateDType(p.dtype));
            const master = group.masterWeights && isHalf(p.dtype) ? this.#master(p, state) : null;
            const target = master ?? p;
            const grad = p.grad.isContiguous() && p.grad.dtype === target.dtype
              ? p.grad
              : clone(p.grad.to(target.dtype));
            this.update(target, grad, state, group);
            if (master) p.copy_(master);
            p.versionCounter.value++;
            if (master) this.#masterVersion.set(p, p.versionCounter.value);
          }
        }
      }), () => undefined);
    return loss;
  }

  /**
   * The float32 master copy of a half parameter, made from the parameter on
   * first use and again whenever the parameter changed since the last step
   * rounded the copy into it. A copy restored by {@link loadStateDict} is
   * trusted until the next step.
   */
  #master(p: Tensor, state: ParamState): Tensor {
    const m = state.master_param;
    const seen = this.#masterVersion.get(p);
    const stale = seen !== undefined && seen !== p.versionCounter.value;
    if (m instanceof Tensor) return stale ? m.copy_(p) : m;
    const made = toDType(p, "float32").contiguous();
    hold(made);
    state.master_param = made;
    return made;
  }

  /** @internal Updates one parameter. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): void;

  /** @internal Runs a fused kernel on a parameter and its state buffers. */
  protected fused(
    kind: OptimKind,
    p: Tensor,
    grad: Tensor,
    states: (Tensor | null)[],
    hyper: number[],
  ): void {
    p.backend.optimStep(kind, p, grad, states, hyper);
  }

  /** @internal Counts one more step in the state's "step" and returns it. */
  protected nextStep(state: ParamState): number {
    const step = ((state.step as number | undefined) ?? 0) + 1;
    state.step = step;
    return step;
  }

  /** @internal A state buffer, created as zeros (or `init`) on first use. */
  protected buffer(state: ParamState, name: string, p: Tensor, init = 0): Tensor {
    let b = state[name];
    if (!(b instanceof Tensor)) {
      b = zerosLike(p, { dtype: stateDType(p.dtype) });
      if (init !== 0) b.fill_(init);
      hold(b);
      state[name] = b;
    }
    return b;
  }

  /** The optimizer's state: per-parameter buffers and the groups' options. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      return {
        ...opts,
        params: params.map((p) => index.get(p) ?? (index.set(p, index.size), index.size - 1)),
      };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const k in s) copy[k] = s[k] instanceof Tensor ? clone((s[k] as Tensor).detach()) : s[k];
      state[i] = copy;
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state from {@link stateDict} (same groups and parameter
   * shapes). Everything is checked (the groups, their parameter numbers and
   * options, each state tensor's shape and that it was not disposed) and
   * every state tensor converted to its parameter's device and dtype before
   * anything changes, so a load that throws leaves the optimizer as it was.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const w = zn.zeros([2], { requiresGrad: true });
   * const a = new zn.optim.Adam([w]), b = new zn.optim.Adam([w]);
   * w.sum().backward();
   * a.step();
   * b.loadStateDict(a.stateDict());
   * b.state.get(w)!.step; // 1
   * ```
   */
  loadStateDict(sd: OptimizerStateDict): void {
    if (
      sd === null || typeof sd !== "object" || !Array.isArray(sd.paramGroups) ||
      sd.state === null || typeof sd.state !== "object"
    ) {
      throw new TypeError("loadStateDict: expected an object with `state` and `paramGroups`");
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(
        `loadStateDict: loaded state dict has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    // 1. Check everything.
    const byIndex = new Map<number, Tensor>();
    const options: Record<string, unknown>[] = sd.paramGroups.map((g, gi) => {
      if (g === null || typeof g !== "object" || !Array.isArray(g.params)) {
        throw new TypeError(`loadStateDict: group ${gi} has no "params" list`);
      }
      const ids = g.params as unknown[];
      const mine = this.paramGroups[gi].params;
      if (ids.length !== mine.length) {
        throw new RangeError(
          `loadStateDict: group ${gi} has ${ids.length} parameters in the state dict and ${mine.length} in the optimizer`,
        );
      }
      ids.forEach((id, k) => {
        if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
          throw new TypeError(
            `loadStateDict: group ${gi} lists parameter ${String(id)}, not a parameter number`,
          );
        }
        if (byIndex.has(id)) {
          throw new RangeError(`loadStateDict: parameter ${id} is listed more than once`);
        }
        byIndex.set(id, mine[k]);
      });
      const { params: _ids, ...opts } = g;
      this.validate({ ...this.paramGroups[gi], ...opts } as unknown as O);
      return opts;
    });
    const entries: [Tensor, ParamState][] = [];
    const seen = new Set<Tensor>();
    for (const key in sd.state) {
      const p = byIndex.get(Number(key));
      if (!p) throw new RangeError(`loadStateDict: state for unknown parameter ${key}`);
      if (seen.has(p)) throw new RangeError(`loadStateDict: two states for parameter ${key}`);
      seen.add(p);
      const st = sd.state[key as unknown as number];
      if (st === null || typeof st !== "object") {
        throw new TypeError(`loadStateDict: the state of parameter ${key} is not an object`);
      }
      for (const k in st) {
        const v = st[k];
        if (!(v instanceof Tensor)) continue;
        if (v.isDisposed) throw disposedError(`loadStateDict: state ${k} of parameter ${key}`);
        if (k !== "step" && v.shape.join() !== p.shape.join()) {
          throw new RangeError(
            `loadStateDict: state ${k} of parameter ${key} has shape [${v.shape}], the parameter [${p.shape}]`,
          );
        }
      }
      entries.push([p, st]);
    }
    // 2. Convert the state tensors; on failure, release what was made.
    const made: Tensor[] = [];
    const staged = new Map<Tensor, ParamState>();
    try {
      for (const [p, st] of entries) {
        const s: ParamState = {};
        for (const k in st) {
          const v = st[k];
          if (v instanceof Tensor) {
            const t = clone(v.detach().to(p.device, stateDType(p.dtype)));
            made.push(t);
            s[k] = t;
          } else s[k] = v;
        }
        staged.set(p, s);
      }
    } catch (e) {
      for (const t of made) t.dispose();
      throw e;
    }
    // 3. Commit: nothing below can fail.
    options.forEach((opts, gi) => Object.assign(this.paramGroups[gi], opts));
    for (const s of this.state.values()) {
      for (const k in s) if (s[k] instanceof Tensor) unhold(s[k] as Tensor);
    }
    this.state.clear();
    for (const t of made) hold(t);
    for (const [p, s] of staged) this.state.set(p, s);
    for (const g of this.paramGroups) for (const p of g.params) this.#masterVersion.delete(p);
  }
}
