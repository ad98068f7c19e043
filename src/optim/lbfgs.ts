/**
 * L-BFGS, as `torch.optim.LBFGS`: the same iteration, history, stopping
 * tests and strong-Wolfe line search, on the parameters flattened into one
 * vector.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { enableGrad, noGrad } from "../autograd/grad_mode.ts";
import { tensor, zeros } from "../ops/creation.ts";
import { cat, stack } from "../ops/join.ts";
import { hold, unhold } from "../lifetime.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { Optimizer, type ParamGroup, type Params, type ParamState } from "./optimizer.ts";

/**
 * Options of {@link LBFGS}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: Partial<zn.optim.LBFGSOptions> = { lr: 1, lineSearchFn: "strong_wolfe" };
 * new zn.optim.LBFGS([zn.zeros([2], { requiresGrad: true })], opts);
 * ```
 */
export interface LBFGSOptions {
  /** Step length (default 1). */
  lr: number;
  /** Iterations per `step` (default 20). */
  maxIter: number;
  /** Function evaluations per `step` (default maxIter · 5/4, rounded down). */
  maxEval: number;
  /** Stop when the gradient's largest magnitude is at most this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when the loss or the parameters change less than this (default 1e-9). */
  toleranceChange: number;
  /** Update pairs kept (default 100). */
  historySize: number;
  /** "strong_wolfe" for a line search, or null (the default): fixed steps. */
  lineSearchFn: "strong_wolfe" | null;
}

const LBFGS_KEYS = optionKeys<LBFGSOptions>({
  lr: 0,
  maxIter: 0,
  maxEval: 0,
  toleranceGrad: 0,
  toleranceChange: 0,
  historySize: 0,
  lineSearchFn: 0,
});

const dot = (a: Tensor, b: Tensor): number => a.mul(b).sum().item() as number;
const absMax = (a: Tensor): number => a.abs().max().item() as number;

/** The minimizer of the cubic through (x1, f1, g1), (x2, f2, g2), within bounds. */
function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos = x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Evaluate = (t: number) => [number, Tensor];

/** PyTorch's _strong_wolfe: [loss, flat gradient, step, evaluations]. */
function strongWolfe(
  evaluate: Evaluate,
  t: number,
  d: Tensor,
  f: number,
  g: Tensor,
  gtd: number,
  maxLs: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
): [number, Tensor, number, number] {
  const dNorm = absMax(d);
  let [fNew, gNew] = evaluate(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0, fPrev = f, gPrev = g, gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [], bf: number[] = [], bg: Tensor[] = [], bgtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bf, bg, bgtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bf, bg] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bf, bg, bgtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) [bracket, bf, bg] = [[0, t], [f, fNew], [g, gNew]];
  // Zoom: shrink the bracket until a point meets the strong Wolfe conditions.
  let insufProgress = false;
  let [low, high] = bf[0] <= bf[bf.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1]);
    const bMax = Math.max(...bracket), bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bf[low]) {
      bracket[high] = t;
      bf[high] = fNew;
      bg[high] = gNew;
      bgtd[high] = gtdNew;
      [low, high] = bf[0] <= bf[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        bracket[high] = bracket[low];
        bf[high] = bf[low];
        bg[high] = bg[low];
        bgtd[high] = bgtd[low];
      }
      bracket[low] = t;
      bf[low] = fNew;
      bg[low] = gNew;
      bgtd[low] = gtdNew;
    }
  }
  return [bf[low], bg[low], bracket[low], evals];
}

/**
 * L-BFGS (Liu and Nocedal, 1989) as torch.optim.LBFGS: `step(closure)`
 * runs up to `maxIter` iterations, each re-evaluating the closure (which
 * clears the gradients, computes the loss, calls backward and returns the
 * loss). One parameter group only, as in PyTorch. The history lives in the
 * first parameter's state (`old_dirs` and `old_stps` stacked as rows).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1.5, -0.5], { requiresGrad: true });
 * const opt = new zn.optim.LBFGS([x], { lineSearchFn: "strong_wolfe" });
 * const closure = () => {
 *   opt.zeroGrad();
 *   const loss = x.sub(zn.tensor([1.0, 2.0])).square().sum();
 *   loss.backward();
 *   return loss;
 * };
 * opt.step(closure);
 * x.toArray(); // close to [1, 2]
 * ```
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  /** Optimizes `params` with the given options. */
  constructor(params: Params<LBFGSOptions>, opts: Partial<LBFGSOptions> = {}) {
    checkOptions("LBFGS", opts, LBFGS_KEYS);
    const maxIter = opts.maxIter ?? 20;
    super(params, {
      lr: 1,
      maxIter,
      maxEval: Math.floor(maxIter * 5 / 4),
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
      ...opts,
    });
    if (this.paramGroups.length !== 1) {
      throw new Error("LBFGS doesn't support per-parameter options (parameter groups)");
    }
  }

  /** @internal */
  protected override validate(g: LBFGSOptions): void {
    super.validate(g);
    if (g.lineSearchFn !== null && g.lineSearchFn !== "strong_wolfe") {
      throw new RangeError(`LBFGS: only 'strong_wolfe' is supported, got ${g.lineSearchFn}`);
    }
    for (const k of ["maxIter", "maxEval", "historySize"] as const) {
      if (!Number.isInteger(g[k]) || g[k] < 1) {
        throw new RangeError(`LBFGS: ${k} must be a positive integer, got ${g[k]}`);
      }
    }
  }

  /** @internal Not used: LBFGS steps all parameters at once. */
  protected update(_p: Tensor, _g: Tensor, _s: ParamState, _group: ParamGroup<LBFGSOptions>) {
    throw new Error("LBFGS: step needs a closure");
  }

  #params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  #flatGrad(): Tensor {
    return cat(
      this.#params().map((p) =>
        p.grad
          ? p.grad.reshape([-1]).to(p.dtype)
          : zeros([p.numel], { dtype: p.dtype, device: p.device })
      ),
      0,
    );
  }

  #addGrad(step: number, update: Tensor): void {
    let off = 0;
    for (const p of this.#params()) {
      p.add_(update.narrow(0, off, p.numel).reshape(p.shape as number[]).mul(step));
      off += p.numel;
    }
  }

  /**
   * Runs up to `maxIter` iterations; `closure` re-evaluates the model and
   * returns the loss. Returns the loss of the first evaluation.
   */
  override step(closure?: () => Tensor): Tensor {
    if (!closure) throw new TypeError("LBFGS.step: a closure that returns the loss is required");
    const g = this.paramGroups[0];
    const params = this.#params();
    const state = this.state.get(params[0]) ?? {};
    this.state.set(params[0], state);
    const evaluate = (): [Tensor, number] => {
      const l = enableGrad(closure);
      return [l, Number(l.item())];
    };
    return noGrad(() => {
      state.n_iter = (state.n_iter as number) ?? 0;
      const [origLoss, first] = evaluate();
      let loss = first;
      let currentEvals = 1;
      state.func_evals = ((state.func_evals as number) ?? 0) + 1;
      let flatGrad = this.#flatGrad();
      if (absMax(flatGrad) <= g.toleranceGrad) return origLoss;
      let d = state.d as Tensor | undefined;
      let t = state.t as number | undefined;
      let oldDirs: Tensor[] = state.old_dirs instanceof Tensor ? state.old_dirs.unbind(0) : [];
      let oldStps: Tensor[] = state.old_stps instanceof Tensor ? state.old_stps.unbind(0) : [];
      let ro: number[] = state.ro instanceof Tensor ? (state.ro.toArray() as number[]) : [];
      let hDiag = (state.H_diag as number | undefined) ?? 1;
      let prevFlatGrad = state.prev_flat_grad as Tensor | undefined;
      let prevLoss = state.prev_loss as number | undefined;
      let nIter = 0;
      while (nIter < g.maxIter) {
        nIter++;
        state.n_iter = (state.n_iter as number) + 1;
        if (state.n_iter === 1) {
          d = flatGrad.neg();
          oldDirs = [];
          oldStps = [];
          ro = [];
          hDiag = 1;
        } else {
          const y = flatGrad.sub(prevFlatGrad!);
          const s = d!.mul(t!);
          const ys = dot(y, s);
          if (ys > 1e-10) {
            if (oldDirs.length === g.historySize) {
              oldDirs.shift();
              oldStps.shift();
              ro.shift();
            }
            oldDirs.push(y);
            oldStps.push(s);
            ro.push(1 / ys);
            hDiag = ys / dot(y, y);
          }
          // The two-loop recursion: d = -H g.
          const al = new Array<number>(oldDirs.length);
          let q = flatGrad.neg();
          for (let i = oldDirs.length - 1; i >= 0; i--) {
            al[i] = dot(oldStps[i], q) * ro[i];
            q = q.sub(oldDirs[i].mul(al[i]));
          }
          let r = q.mul(hDiag);
          for (let i = 0; i < oldDirs.length; i++) {
            const be = dot(oldDirs[i], r) * ro[i];
            r = r.add(oldStps[i].mul(al[i] - be));
          }
          d = r;
        }
        prevFlatGrad = flatGrad.clone();
        prevLoss = loss;
        t = state.n_iter === 1
          ? Math.min(1, 1 / (flatGrad.abs().sum().item() as number)) * g.lr
          : g.lr;
        const gtd = dot(flatGrad, d!);
        if (gtd > -g.toleranceChange) break;
        let lsEvals = 0;
        let optCond = false;
        if (g.lineSearchFn === "strong_wolfe") {
          const x0 = params.map((p) => p.clone());
          const dir = d!;
          const evalAt: Evaluate = (step) => {
            this.#addGrad(step, dir);
            const [, l] = evaluate();
            const fg = this.#flatGrad();
            params.forEach((p, i) => p.copy_(x0[i]));
            return [l, fg];
          };
          [loss, flatGrad, t, lsEvals] = strongWolfe(
            evalAt,
            t,
            dir,
            loss,
            flatGrad,
            gtd,
            g.maxEval - currentEvals,
          );
          this.#addGrad(t, dir);
          optCond = absMax(flatGrad) <= g.toleranceGrad;
        } else {
          this.#addGrad(t, d!);
          if (nIter !== g.maxIter) {
            loss = evaluate()[1];
            flatGrad = this.#flatGrad();
            optCond = absMax(flatGrad) <= g.toleranceGrad;
            lsEvals = 1;
          }
        }
        currentEvals += lsEvals;
        state.func_evals = (state.func_evals as number) + lsEvals;
        if (nIter === g.maxIter || currentEvals >= g.maxEval || optCond) break;
        if (absMax(d!.mul(t)) <= g.toleranceChange) break;
        if (Math.abs(loss - prevLoss) < g.toleranceChange) break;
      }
      for (const p of params) p.versionCounter.value++;
      const put = (k: string, v: Tensor | number | undefined) => {
        const old = state[k];
        if (old instanceof Tensor) unhold(old);
        if (v === undefined) {
          delete state[k];
          return;
        }
        if (v instanceof Tensor) hold(v);
        state[k] = v;
      };
      put("d", d);
      put("t", t);
      put("old_dirs", oldDirs.length ? stack(oldDirs, 0) : undefined);
      put("old_stps", oldStps.length ? stack(oldStps, 0) : undefined);
      put("ro", ro.length ? tensor(ro, { dtype: "float64" }) : undefined);
      put("H_diag", hDiag);
      put("prev_flat_grad", prevFlatGrad);
      put("prev_loss", prevLoss);
      return origLoss;
    });
  }
}
