/**
 * Tape entries. Every differentiable op that sees an input requiring grad
 * calls {@link record}, which attaches a {@link Node} to its output: the
 * rule's name (looked up in rules.ts at backward time), an edge per input,
 * the tensors the rule needs (with their versions), and the op's arguments.
 *
 * @module
 */
import { isAnomalyEnabled } from "./anomaly.ts";
import type { DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { isGradEnabled } from "./grad_mode.ts";

/**
 * Where an input's gradient goes: its node, or the leaf tensor itself.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1.0, 2.0], { requiresGrad: true });
 * const edge: zn.Edge | null = x.mul(2).gradFn!.edges[0];
 * edge?.leaf === x; // true: x is a leaf
 * ```
 */
export interface Edge {
  /** The input's own node (non-leaf inputs). */
  node: Node | null;
  /** The input tensor when it is a leaf requiring grad. */
  leaf: Tensor | null;
  /** The input's dtype, to cast gradients back after promotion. */
  dtype: DType;
  /** The input's shape. */
  shape: readonly number[];
}

/**
 * A hook on a tensor's gradient; may return a replacement.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1.0, 2.0], { requiresGrad: true });
 * const double: zn.GradHook = (g) => g.mul(2);
 * x.registerHook(double);
 * x.sum().backward();
 * x.grad!.toArray(); // [2, 2]
 * ```
 */
export type GradHook = (grad: Tensor) => Tensor | void;

/**
 * One recorded op: the `gradFn` of a tensor computed from tensors that
 * require grad.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([1.0, 2.0], { requiresGrad: true });
 * const node: zn.Node = x.mul(2).sum().gradFn!;
 * node.name; // "sum"
 * node.edges[0]?.node?.name; // "mul"
 * ```
 */
export class Node {
  /** Name of the rule in rules.ts. */
  readonly name: string;
  /** One entry per input (null: no gradient flows there). */
  readonly edges: (Edge | null)[];
  /** Tensors saved for backward, by name (released after a backward without retainGraph). */
  saved: Record<string, Tensor> | null;
  /** Versions of the saved tensors when saved. */
  readonly savedVersions: Record<string, number>;
  /** The op's non-tensor arguments. */
  readonly ctx: Record<string, unknown>;
  /** Shape and dtype of the output. */
  readonly outShape: readonly number[];
  /** @internal */
  readonly outDType: DType;
  /** Hooks registered on the output tensor. */
  hooks: GradHook[] = [];
  /** The output tensor, when it asked to retain its grad. */
  retained: Tensor | null = null;
  /** Set once backward has run without retainGraph. */
  released = false;
  /**
   * @internal Temporaries only this node reaches (a fused kernel's
   * workspace, an intermediate no caller sees): their memory is released
   * with the saved tensors, instead of waiting for the garbage collector.
   */
  owned: readonly Tensor[] | null = null;
  /**
   * @internal Whether the rule hands gradients to user code that may keep
   * them (module backward hooks): backward then releases no temporaries early.
   */
  keepsGradients = false;
  /** @internal The stack of the call that recorded this node (anomaly detection only). */
  trace: string | null = null;

  /** @internal */
  constructor(
    name: string,
    edges: (Edge | null)[],
    saved: Record<string, Tensor>,
    ctx: Record<string, unknown>,
    out: Tensor,
  ) {
    this.name = name;
    this.edges = edges;
    this.saved = saved;
    this.savedVersions = {};
    for (const k in saved) this.savedVersions[k] = saved[k].version;
    this.ctx = ctx;
    this.outShape = out.shape;
    this.outDType = out.dtype;
  }
}

function edgeOf(x: unknown): Edge | null {
  if (typeof x !== "object" || x === null || !("gradFn" in x)) return null;
  const t = x as Tensor;
  if (!t.requiresGrad) return null;
  return { node: t.gradFn, leaf: t.gradFn ? null : t, dtype: t.dtype, shape: t.shape };
}

/**
 * Attaches a tape entry to `out` when grad mode is on and any input requires
 * grad. `inputs` may hold numbers (no edge). `saved` names the tensors the
 * rule reads; save only what the gradients of the inputs that require grad
 * need, so that unrelated in-place writes do not invalidate the entry.
 * `owned` lists temporaries that nothing but this entry reaches (never a
 * tensor a caller holds, nor a view of one): they are disposed when the
 * entry is released after backward, or at once when nothing is recorded.
 * Returns `out`.
 */
export function record(
  name: string,
  inputs: readonly unknown[],
  out: Tensor,
  saved: Record<string, Tensor | undefined> = {},
  ctx: Record<string, unknown> = {},
  owned?: readonly Tensor[],
): Tensor {
  if (!isGradEnabled()) return releaseOwned(out, owned);
  let any = false;
  for (const x of inputs) {
    if (typeof x === "object" && x !== null && (x as Tensor).requiresGrad) {
      any = true;
      break;
    }
  }
  if (!any) return releaseOwned(out, owned);
  if (traceHook !== null) traceHook(name, inputs, out, ctx);
  if (
    out.dtype !== "float32" && out.dtype !== "float64" && out.dtype !== "float16" &&
    out.dtype !== "bfloat16"
  ) {
    return releaseOwned(out, owned); // integer and bool results are not differentiable
  }
  const keep: Record<string, Tensor> = {};
  for (const k in saved) if (saved[k]) keep[k] = saved[k]!;
  const node = new Node(name, inputs.map(edgeOf), keep, ctx, out);
  if (owned?.length) node.owned = owned;
  if (isAnomalyEnabled()) node.trace = new Error().stack?.split("\n").slice(2).join("\n") ?? null;
  out.attachGradFn(node);
  return out;
}

/**
 * @internal Sees every op that {@link record} attaches (ONNX export traces a
 * forward pass through it): the rule's name, the inputs, the output and the
 * op's arguments.
 */
export type TraceHook = (
  name: string,
  inputs: readonly unknown[],
  out: Tensor,
  ctx: Record<string, unknown>,
) => void;

let traceHook: TraceHook | null = null;

/** @internal Installs `hook` (null: none) and returns the one it replaces. */
export function setTraceHook(hook: TraceHook | null): TraceHook | null {
  const prev = traceHook;
  traceHook = hook;
  return prev;
}

/**
 * @internal Shows an op that records no tape entry (a comparison, a logical
 * op: their results are not differentiable) to the trace hook, when one is
 * installed and grad mode is on.
 */
export function traceOnly(name: string, inputs: readonly unknown[], out: Tensor): void {
  if (traceHook !== null && isGradEnabled()) traceHook(name, inputs, out, {});
}

/** Releases the memory of temporaries no tape entry will read. Returns `out`. */
function releaseOwned(out: Tensor, owned: readonly Tensor[] | undefined): Tensor {
  if (owned) { for (const t of owned) t.dispose(); }
  return out;
}

/**
 * @internal Drops a node's saved tensors after a backward pass without
 * retainGraph, releasing the memory of the temporaries it owns unless
 * `keepOwned` (a createGraph pass, whose new entries may read them).
 */
export function releaseNode(node: Node, keepOwned: boolean): void {
  node.saved = null;
  node.released = true;
  // A rule that ran with createGraph may have recorded ops on the temporaries.
  if (node.owned && !keepOwned) { for (const t of node.owned) t.dispose(); }
  node.owned = null;
}
