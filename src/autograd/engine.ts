/**
 * The backward pass: walks the tape from the outputs in dependency order,
 * applies each node's rule from rules.ts, sums gradients per node, and hands
 * them to leaves (`.grad`) or to the caller (`grad`).
 *
 * @module
 */
import { fmtShape, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { setGradEnabled } from "./grad_mode.ts";
import { type Edge, type Node, releaseNode } from "./node.ts";
import { RULES } from "./rules.ts";
import { add, toDType, unary } from "../ops/elementwise.ts";
import { any } from "../ops/reduce.ts";
import { isFloating } from "../dtype.ts";
import { anomalyChecksNan } from "./anomaly.ts";
import { withoutAutocast } from "../amp/autocast.ts";
import { onesLike } from "../ops/creation.ts";
import { internalScope } from "../lifetime.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkTensor } from "../args.ts";

/**
 * Options of {@link Tensor.backward}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([2.0], { requiresGrad: true });
 * const y = x.pow(2).sum();
 * const opts: zn.BackwardOptions = { retainGraph: true };
 * y.backward(undefined, opts);
 * y.backward(); // a second pass: the graph was kept
 * x.grad!.toArray(); // [8]
 * ```
 */
export interface BackwardOptions {
  /** Keep the saved tensors, so that backward can run again (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order derivatives. */
  createGraph?: boolean;
}

/**
 * Options of {@link grad}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([3.0], { requiresGrad: true });
 * const unused = zn.tensor([1.0], { requiresGrad: true });
 * const opts: zn.GradOptions = { allowUnused: true };
 * const [dx, du] = zn.grad(x.mul(x).sum(), [x, unused], opts);
 * [dx!.toArray(), du]; // [[6], null]
 * ```
 */
export interface GradOptions extends BackwardOptions {
  /** Gradients of the outputs (default: ones for scalar outputs). */
  gradOutputs?: (Tensor | null)[];
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

const BACKWARD_KEYS = optionKeys<BackwardOptions>({ retainGraph: 0, createGraph: 0 });
const GRAD_KEYS = optionKeys<GradOptions>({
  retainGraph: 0,
  createGraph: 0,
  gradOutputs: 0,
  allowUnused: 0,
});

function addGrad(a: Tensor | undefined, b: Tensor): Tensor {
  return a === undefined ? b : add(a, b);
}

/**
 * addGrad for a pass that records no graph: the sum of the first two terms is
 * a new tensor that only the pass holds (`owned`), and later terms add into
 * it in place, as PyTorch's engine accumulates into its input buffers. A
 * weight used at every step of a loop then costs one read-add-write per use,
 * where a new sum each time cost an allocation and a zero fill too (a
 * hand-written LSTM cell over 64 steps made 128 1 MiB sums a pass). A sum
 * leaves `owned` when it leaves the pass's maps (a rule, a hook or a leaf's
 * `.grad` may then hold it).
 */
function addOwned(owned: Set<Tensor>, a: Tensor | undefined, b: Tensor): Tensor {
  if (a === undefined) return b;
  // A rule added its gradient into the sum itself (Rule's `into`). The same
  // tensor given for two inputs that meet (add's rule) is not owned: summed.
  if (b === a && owned.has(a)) return a;
  if (owned.has(a) && sameShape(a.shape, b.shape) && a.dtype === b.dtype) {
    a.add_(b);
    return a;
  }
  const s = add(a, b);
  if (sameShape(s.shape, a.shape)) owned.add(s);
  return s;
}

function rootGrad(out: Tensor, g: Tensor | null | undefined, op: string): Tensor {
  if (g === null || g === undefined) {
    if (out.numel !== 1) {
      throw new RangeError(
        `${op}: grad can be implicitly created only for scalar outputs (got shape ${
          fmtShape(out.shape)
        })`,
      );
    }
    return onesLike(out);
  }
  if (g.shape.length !== out.shape.length || g.shape.some((s, i) => s !== out.shape[i])) {
    throw new RangeError(
      `${op}: mismatch in shape: grad_output has a shape of ${
        fmtShape(g.shape)
      } and output has a shape of ${fmtShape(out.shape)}`,
    );
  }
  return g;
}

function checkSaved(node: Node): Record<string, Tensor> {
  // As in PyTorch, only a node whose saved tensors were freed refuses a second backward.
  const hadSaved = Object.keys(node.savedVersions).length > 0;
  if (!hadSaved) return node.saved ?? {};
  if (node.released || node.saved === null) {
    throw new Error(
      `backward: trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call backward() or grad(). Specify retainGraph: true if you need to backward through the graph a second time (node ${node.name})`,
    );
  }
  for (const k in node.saved) {
    const t = node.saved[k];
    if (t.version !== node.savedVersions[k]) {
      throw new Error(
        `backward: one of the variables needed for gradient computation has been modified by an inplace operation: [${t.dtype} ${
          fmtShape(t.shape)
        }] saved by ${node.name} is at version ${t.version}; expected version ${
          node.savedVersions[k]
        } instead`,
      );
    }
  }
  return node.saved;
}

/** Anomaly detection: a rule that returned NaN, with the forward call that recorded it. */
function checkNanGrads(node: Node, grads: readonly (Tensor | null | undefined)[]): void {
  grads.forEach((g, i) => {
    if (!g || !isFloating(g.dtype)) return;
    if (!(any(unary("isnan", g)).item() as boolean)) return;
    const where = node.trace ? `\nThe forward call that recorded it:\n${node.trace}` : "";
    throw new Error(
      `backward: Function '${node.name}' returned nan values in its ${i}th output.${where}`,
    );
  });
}

function applyHooks(hooks: readonly ((g: Tensor) => Tensor | void)[], g: Tensor): Tensor {
  for (const h of hooks) {
    const r = h(g);
    if (r !== undefined) g = r;
  }
  return g;
}

/** True when a hook (a tensor's or a module's) could keep a gradient the backward pass made (then no early release). */
function hasHooks(roots: readonly Tensor[]): boolean {
  const seen = new Set<Node>();
  const stack: Node[] = [];
  for (const r of roots) {
    if (r.hooks.length) return true;
    if (r.gradFn) stack.push(r.gradFn);
  }
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.hooks.length || n.keepsGradients) return true;
    for (const e of n.edges) {
      if (e?.leaf && e.leaf.hooks.length) return true;
      if (e?.node && !seen.has(e.node)) stack.push(e.node);
    }
  }
  return false;
}

/**
 * Runs backward from `roots`. With `capture`, gradients reaching those
 * tensors are returned instead of accumulated into leaves.
 *
 * Without createGraph (and without hooks that could keep a gradient), the
 * pass runs in an internal scope: its device temporaries are released as
 * soon as it ends; the leaves' `.grad` and the captured gradients stay.
 */
export function runBackward(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  opts: BackwardOptions,
  capture?: readonly Tensor[],
): Map<Tensor, Tensor> {
  // Backward runs with autocast off, as PyTorch's engine does.
  if (opts.createGraph || hasHooks(roots)) {
    return withoutAutocast(() => backwardPass(roots, rootGrads, opts, capture));
  }
  return internalScope(() => withoutAutocast(() => backwardPass(roots, rootGrads, opts, capture)));
}

function backwardPass(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  opts: BackwardOptions,
  capture?: readonly Tensor[],
): Map<Tensor, Tensor> {
  const createGraph = opts.createGraph ?? false;
  const retain = opts.retainGraph ?? createGraph;
  // Dependency counts over the nodes reachable from the roots.
  const deps = new Map<Node, number>();
  const stack: Node[] = [];
  for (const r of roots) {
    if (r.gradFn && !deps.has(r.gradFn)) {
      deps.set(r.gradFn, 0);
      stack.push(r.gradFn);
    }
  }
  // Edges into each leaf: its gradient is final once all were processed.
  const leafDeps = new Map<Tensor, number>();
  while (stack.length) {
    const n = stack.pop()!;
    for (const e of n.edges) {
      if (e?.leaf) leafDeps.set(e.leaf, (leafDeps.get(e.leaf) ?? 0) + 1);
      if (!e?.node) continue;
      const c = deps.get(e.node);
      if (c === undefined) {
        deps.set(e.node, 1);
        stack.push(e.node);
      } else deps.set(e.node, c + 1);
    }
  }
  const captureNodes = new Map<Node, Tensor>();
  const captureLeaves = new Set<Tensor>();
  for (const t of capture ?? []) {
    if (t.gradFn) captureNodes.set(t.gradFn, t);
    else captureLeaves.add(t);
  }
  const captured = new Map<Tensor, Tensor>();
  const pending = new Map<Node, Tensor>();
  // Sums only this pass holds (see addOwned); a graph-recording pass keeps
  // every sum out of place.
  const owned = new Set<Tensor>();
  const sum = (a: Tensor | undefined, b: Tensor): Tensor =>
    createGraph ? addGrad(a, b) : addOwned(owned, a, b);
  const leafGrads = new Map<Tensor, Tensor>();
  roots.forEach((r, i) => {
    if (r.gradFn) pending.set(r.gradFn, sum(pending.get(r.gradFn), rootGrads[i]));
    else if (captureLeaves.has(r)) captured.set(r, sum(captured.get(r), rootGrads[i]));
    else leafGrads.set(r, sum(leafGrads.get(r), rootGrads[i]));
  });
  const ready: Node[] = [...pending.keys()].filter((n) => deps.get(n) === 0);
  const rootLeaves = new Set(roots.filter((r) => !r.gradFn));
  const outerCallbacks = endCallbacks;
  const callbacks: (() => void)[] = [];
  endCallbacks = callbacks;
  const prevMode = setGradEnabled(createGraph);
  try {
    while (ready.length) {
      const node = ready.pop()!;
      let g = pending.get(node);
      if (g === undefined) {
        // No gradient reached this node: only release its children.
        for (const e of node.edges) {
          if (e?.node) decrement(e.node);
          else if (e?.leaf) leafDone(e.leaf);
        }
        continue;
      }
      pending.delete(node);
      owned.delete(g);
      g = applyHooks(node.hooks, g);
      if (node.retained) node.retained.grad = node.retained.grad ? add(node.retained.grad, g) : g;
      const cap = captureNodes.get(node);
      if (cap) captured.set(cap, sum(captured.get(cap), g));
      const saved = checkSaved(node);
      const rule = RULES[node.name];
      if (!rule) throw new Error(`backward: no derivative rule for ${node.name}`);
      const into = createGraph ? undefined : (i: number) => intoOf(node, i);
      const grads = rule(g, saved, node.ctx, node, into);
      if (anomalyChecksNan()) checkNanGrads(node, grads);
      if (!retain) releaseNode(node, createGraph);
      node.edges.forEach((e: Edge | null, i) => {
        if (!e) return;
        let gi = grads[i];
        if (gi === null || gi === undefined) {
          if (e.node) decrement(e.node);
          else if (e.leaf) leafDone(e.leaf);
          return;
        }
        if (gi.dtype !== e.dtype) gi = toDType(gi, e.dtype);
        if (e.node) {
          pending.set(e.node, sum(pending.get(e.node), gi));
          decrement(e.node);
        } else if (e.leaf) {
          if (captureLeaves.has(e.leaf)) captured.set(e.leaf, sum(captured.get(e.leaf), gi));
          else if (!capture) leafGrads.set(e.leaf, sum(leafGrads.get(e.leaf), gi));
          leafDone(e.leaf);
        }
      });
    }
    // Leaves that were roots themselves, or whose edges were all skipped.
    for (const leaf of [...leafGrads.keys()]) accumulate(leaf);
    // Callbacks may queue more callbacks; each runs once.
    for (let i = 0; i < callbacks.length; i++) callbacks[i]();
  } finally {
    setGradEnabled(prevMode);
    endCallbacks = outerCallbacks;
  }
  return captured;

  /**
   * The sum that the gradient for `node`'s input i goes into, where this
   * pass alone holds it (see addOwned) and it has that input's dtype: a rule
   * may add into it in place (Rule's `into`).
   */
  function intoOf(node: Node, i: number): Tensor | undefined {
    const e = node.edges[i];
    if (!e) return undefined;
    let sum: Tensor | undefined;
    if (e.node) sum = pending.get(e.node);
    else if (e.leaf && captureLeaves.has(e.leaf)) sum = captured.get(e.leaf);
    else if (e.leaf && !capture) sum = leafGrads.get(e.leaf);
    return sum !== undefined && owned.has(sum) && sum.dtype === e.dtype ? sum : undefined;
  }

  function decrement(n: Node): void {
    const c = deps.get(n)! - 1;
    deps.set(n, c);
    if (c === 0) ready.push(n);
  }

  /**
   * One edge into `leaf` processed: after its last, its gradient is final
   * and goes into `.grad` at once (its post-accumulate hooks run while the
   * rest of the pass goes on: DistributedDataParallel starts a bucket's
   * reduction there). A leaf that is also a root waits for the end.
   */
  function leafDone(leaf: Tensor): void {
    const c = leafDeps.get(leaf)! - 1;
    leafDeps.set(leaf, c);
    if (c === 0 && !rootLeaves.has(leaf)) accumulate(leaf);
  }

  function accumulate(leaf: Tensor): void {
    const g0 = leafGrads.get(leaf);
    if (g0 === undefined) return;
    leafGrads.delete(leaf);
    owned.delete(g0);
    const g = applyHooks(leaf.hooks, g0);
    leaf.grad = leaf.grad ? add(leaf.grad, g) : (createGraph ? g : g.detach());
    for (const h of [...leaf.postAccumulateGradHooks]) h(leaf);
  }
}

/** The end-of-pass callbacks of the backward pass now running (null outside one). */
let endCallbacks: (() => void)[] | null = null;

/**
 * @internal Runs `fn` once the backward pass now running has accumulated
 * every leaf's gradient (and run their post-accumulate hooks): the end of
 * backward, for DistributedDataParallel's last buckets.
 */
export function queueBackwardCallback(fn: () => void): void {
  if (!endCallbacks) throw new Error("queueBackwardCallback: no backward pass is running");
  endCallbacks.push(fn);
}

/** @internal The Tensor.backward entry. */
export function backward(
  t: Tensor,
  gradient: Tensor | null | undefined,
  opts: BackwardOptions,
): void {
  if (gradient != null && !Array.isArray((gradient as { shape?: unknown }).shape)) {
    throw new TypeError(
      "backward: gradient must be a Tensor or null; options go second: backward(null, { retainGraph: true })",
    );
  }
  checkOptions("backward", opts, BACKWARD_KEYS);
  if (!t.requiresGrad) {
    throw new Error(
      "backward: element 0 of tensors does not require grad and does not have a grad_fn",
    );
  }
  const run = () => void runBackward([t], [rootGrad(t, gradient, "backward")], opts);
  // The implicit root gradient is a temporary too.
  if (opts.createGraph || hasHooks([t])) run();
  else internalScope(run);
}

/**
 * Gradients of `outputs` with respect to `inputs`, returned instead of
 * accumulated into `.grad` (like `torch.autograd.grad`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([3.0], { requiresGrad: true });
 * const [dx] = zn.grad(x.mul(x).sum(), x); // null for an input the outputs do not use
 * dx!.toArray(); // [6]
 * ```
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  opts: GradOptions = {},
): (Tensor | null)[] {
  checkOptions("grad", opts, GRAD_KEYS);
  const outs = Array.isArray(outputs) ? outputs as Tensor[] : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? inputs as Tensor[] : [inputs as Tensor];
  for (const t of outs) {
    checkTensor(t, "grad", Array.isArray(outputs) ? "each of outputs" : "outputs");
  }
  for (const t of ins) checkTensor(t, "grad", Array.isArray(inputs) ? "each of inputs" : "inputs");
  for (const t of ins) {
    if (!t.requiresGrad) {
      throw new Error("grad: one of the differentiated Tensors does not require grad");
    }
  }
  outs.forEach((o) => {
    if (!o.requiresGrad) {
      throw new Error(
        "grad: element 0 of tensors does not require grad and does not have a grad_fn",
      );
    }
  });
  const gouts = opts.gradOutputs ?? [];
  const rootGrads = outs.map((o, i) => rootGrad(o, gouts[i], "grad"));
  const got = runBackward(outs, rootGrads, opts, ins);
  return ins.map((t) => {
    const g = got.get(t);
    if (g === undefined) {
      if (opts.allowUnused) return null;
      throw new Error(
        "grad: one of the differentiated Tensors appears to not have been used in the graph. Set allowUnused: true if this is the desired behavior",
      );
    }
    return g;
  });
}
