/**
 * `zn.autograd.Function`: user-defined ops with their own forward and
 * backward, as `torch.autograd.Function`.
 *
 * An application is one "customFunction" entry over the tensor inputs, the
 * pack of its outputs' group (src/autograd/group.ts): its rule runs once
 * every output's gradient is in and calls the user's backward with them.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { isGradEnabled, noGrad } from "./grad_mode.ts";
import { type Node, record } from "./node.ts";
import { zeros } from "../ops/creation.ts";
import { type GroupGrads, groupView, placeholder } from "./group.ts";
import { isFloating } from "../dtype.ts";
import { fmtShape } from "../shape.ts";

/**
 * The context a {@link Function}'s forward fills and its backward reads:
 * saved tensors, flags, and any other values (as properties).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Scale extends zn.autograd.Function {
 *   static override forward(ctx: zn.autograd.FunctionCtx, x: zn.Tensor, k: number) {
 *     ctx.k = k;
 *     return x.mul(k);
 *   }
 *   static override backward(ctx: zn.autograd.FunctionCtx, g: zn.Tensor) {
 *     return [g.mul(ctx.k as number), null];
 *   }
 * }
 * ```
 */
export class FunctionCtx {
  /** Other values the forward keeps for the backward. */
  [key: string]: unknown;
  /** @internal */
  _saved: Tensor[] = [];
  /** @internal The saved tensors as the backward sees them. */
  _savedForBackward: Tensor[] | null = null;
  /** @internal */
  _nonDifferentiable: Set<Tensor> = new Set();
  /** @internal */
  _materialize = true;
  /** @internal */
  _needs: boolean[] = [];

  /** Saves tensors (inputs or outputs) for the backward: {@link FunctionCtx.savedTensors}. */
  saveForBackward(...tensors: (Tensor | null)[]): void {
    for (const t of tensors) {
      if (t !== null && !(t instanceof Tensor)) {
        throw new TypeError("saveForBackward: expected Tensors (or null)");
      }
    }
    this._saved = tensors as Tensor[];
  }

  /**
   * The tensors given to {@link FunctionCtx.saveForBackward}, in backward.
   * A saved tensor modified in place since makes backward throw, as in PyTorch.
   */
  get savedTensors(): Tensor[] {
    if (this._savedForBackward === null) {
      throw new Error("savedTensors: only available in backward (before the graph is freed)");
    }
    return this._savedForBackward;
  }

  /** Marks outputs that take no gradient: they do not require grad, and backward sees zeros for them. */
  markNonDifferentiable(...tensors: Tensor[]): void {
    for (const t of tensors) {
      if (!(t instanceof Tensor)) throw new TypeError("markNonDifferentiable: expected Tensors");
      this._nonDifferentiable.add(t);
    }
  }

  /** Whether backward sees zeros (default) or null for outputs no gradient reached. */
  setMaterializeGrads(on: boolean): void {
    this._materialize = !!on;
  }

  /** For each forward argument: whether it is a tensor whose gradient is wanted. */
  get needsInputGrad(): boolean[] {
    return this._needs.slice();
  }
}

interface ApplyState extends GroupGrads {
  ctx: FunctionCtx;
  fn: typeof Function;
  nArgs: number;
  /** Each forward argument's tensor metadata (null for other values). */
  argMeta: ({ shape: readonly number[]; dtype: Tensor["dtype"] } | null)[];
  /** Per output: metadata. */
  outMeta: { shape: readonly number[]; dtype: Tensor["dtype"]; device: string }[];
  /** The raw outputs and what the caller got for them (for saved outputs). */
  raw: Tensor[];
  routed: Tensor[];
  savedKeys: string[];
}

/**
 * Base class of user-defined differentiable ops. Subclasses define static
 * `forward(ctx, ...args)` (runs without recording; returns a tensor or an
 * array of tensors) and `backward(ctx, ...gradOutputs)` (returns one
 * gradient per forward argument: a tensor, or null for arguments without
 * one); `apply(...args)` runs it. A backward made of differentiable ops
 * supports double backward.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Exp extends zn.autograd.Function {
 *   static override forward(ctx: zn.autograd.FunctionCtx, x: zn.Tensor): zn.Tensor {
 *     const y = x.exp();
 *     ctx.saveForBackward(y);
 *     return y;
 *   }
 *   static override backward(ctx: zn.autograd.FunctionCtx, g: zn.Tensor): zn.Tensor[] {
 *     const [y] = ctx.savedTensors;
 *     return [g.mul(y)];
 *   }
 * }
 * const x = zn.tensor([0, 1], { requiresGrad: true });
 * Exp.apply(x).sum().backward();
 * x.grad!.toArray(); // [1, 2.7183]
 * ```
 */
export class Function {
  /** The computation: runs without recording. Subclasses override it. */
  // deno-lint-ignore no-explicit-any
  static forward(_ctx: FunctionCtx, ..._args: any[]): any {
    throw new Error(`${this.name}: forward is not implemented`);
  }

  /** The gradients of the forward's arguments. Subclasses override it. */
  // deno-lint-ignore no-explicit-any
  static backward(_ctx: FunctionCtx, ..._gradOutputs: any[]): any {
    throw new Error(`${this.name}: backward is not implemented`);
  }

  /** Runs the function on `args`, recording it for backward when an input requires grad. */
  // deno-lint-ignore no-explicit-any
  static apply(...args: any[]): any {
    // deno-lint-ignore no-this-alias
    const fn = this;
    if (fn === Function) throw new Error("Function.apply: call apply on a subclass");
    const ctx = new FunctionCtx();
    const recording = isGradEnabled() && args.some((a) => a instanceof Tensor && a.requiresGrad);
    ctx._needs = args.map((a) => recording && a instanceof Tensor && a.requiresGrad);
    const result = noGrad(() => fn.forward(ctx, ...args));
    const single = !Array.isArray(result);
    const outs = (single ? [result] : result) as unknown[];
    outs.forEach((o, i) => {
      if (!(o instanceof Tensor)) {
        throw new TypeError(`${fn.name}.forward: output ${i} is not a Tensor`);
      }
    });
    if (!recording) return result;
    const raw = outs as Tensor[];
    const diff = raw.map((o) => !ctx._nonDifferentiable.has(o) && isFloating(o.dtype));
    if (!diff.some(Boolean)) return result;
    const inputs = args.filter((a): a is Tensor => a instanceof Tensor && a.requiresGrad);
    const savedKeys = ctx._saved.map((_t, i) => `s${i}`);
    const saved: Record<string, Tensor | undefined> = {};
    ctx._saved.forEach((t, i) => saved[savedKeys[i]] = t ?? undefined);
    const state: ApplyState = {
      ctx,
      fn,
      nArgs: args.length,
      argMeta: args.map((a) => a instanceof Tensor ? { shape: a.shape, dtype: a.dtype } : null),
      grads: raw.map(() => null),
      outMeta: raw.map((o) => ({ shape: o.shape, dtype: o.dtype, device: o.device })),
      raw,
      routed: [],
      savedKeys,
    };
    // The edges are the tensor arguments that require grad, in order.
    const node = record("customFunction", inputs, placeholder(raw[0].device), saved, { state });
    const routed = raw.map((o, i) => diff[i] ? groupView(node, o, state, i) : o);
    state.routed = routed;
    return single ? routed[0] : routed;
  }
}

/** @internal The rule of "customFunction": the user's backward. */
export function customFunctionRule(
  _g: Tensor,
  s: Record<string, Tensor>,
  c: Record<string, unknown>,
  node: Node,
): (Tensor | null)[] {
  const state = c.state as ApplyState;
  const { ctx, fn } = state;
  // Saved outputs are the caller's (recorded) outputs, so that a backward
  // recorded for double backward differentiates through this function again.
  ctx._savedForBackward = state.savedKeys.map((k) => {
    const t = s[k] as Tensor | undefined;
    if (t === undefined) return null as unknown as Tensor;
    const j = state.raw.indexOf(t);
    return j >= 0 && isGradEnabled() ? state.routed[j] : t;
  });
  const grads = state.grads.map((g, i) => {
    if (g !== null || !ctx._materialize) return g;
    const m = state.outMeta[i];
    return zeros([...m.shape], { dtype: m.dtype, device: m.device });
  });
  let r: unknown;
  try {
    r = fn.backward(ctx, ...grads);
  } finally {
    ctx._savedForBackward = null;
  }
  const list = (Array.isArray(r) ? r : [r]) as unknown[];
  if (list.length < state.nArgs || list.slice(state.nArgs).some((g) => g != null)) {
    throw new Error(
      `${fn.name}.backward returned an incorrect number of gradients (expected ${state.nArgs}, got ${list.length})`,
    );
  }
  const out: (Tensor | null)[] = [];
  state.argMeta.forEach((m, i) => {
    const g = list[i];
    if (!ctx._needs[i]) return;
    if (g === null || g === undefined) {
      out.push(null);
      return;
    }
    if (!(g instanceof Tensor)) {
      throw new TypeError(`${fn.name}.backward: gradient ${i} must be a Tensor or null`);
    }
    if (g.shape.length !== m!.shape.length || g.shape.some((d, k) => d !== m!.shape[k])) {
      throw new RangeError(
        `${fn.name}.backward returned an invalid gradient at index ${i} - got ${
          fmtShape(g.shape)
        } but expected shape compatible with ${fmtShape(m!.shape)}`,
      );
    }
    out.push(g);
  });
  if (out.length !== node.edges.length) {
    throw new Error(`${fn.name}: internal gradient count mismatch`);
  }
  return out;
}
