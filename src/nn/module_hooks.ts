/**
 * @internal Module hooks: forward pre-hooks, forward hooks, and full backward
 * (pre-)hooks with PyTorch's semantics.
 *
 * A full backward hook sees the gradients of the module's tensor inputs and
 * outputs together, and may replace the input gradients. The tape records one
 * tensor per entry, so a group of tensors (the inputs, or the outputs) goes
 * through a pair of steps: one "hookPack" entry over the whole group, with a
 * placeholder scalar as its output, and one "hookView" entry per tensor,
 * aliasing that tensor's memory, with the placeholder as its only input.
 * Backward reaches each view first (its rule keeps the tensor's gradient and
 * passes a zero to the placeholder); the pack entry runs after all of them, so
 * its rule has every gradient of the group at once and hands them on, after
 * the hooks have seen (and possibly replaced) them.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { isGradEnabled, noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { zeros } from "../ops/creation.ts";
import { isFloating } from "../dtype.ts";

/** Gradients of one group, in the group's order (null where none flowed). */
type Grads = (Tensor | null)[];

interface GroupState {
  grads: Grads;
  /** Shape, dtype and device of each tensor of the group (null for other values). */
  metas: ({ shape: number[]; dtype: Tensor["dtype"]; device: string } | null)[];
  /** Called once every gradient of the group is in; returns those to pass on. */
  ready: (grads: Grads) => Grads;
}

/**
 * A handle that removes the hook it was returned for.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(2, 2);
 * const h = net.registerForwardHook((_m, _args, out) => out);
 * h.remove();
 * ```
 */
export class RemovableHandle {
  readonly #list: unknown[];
  readonly #hook: unknown;

  /** @internal */
  constructor(list: unknown[], hook: unknown) {
    this.#list = list;
    this.#hook = hook;
  }

  /** Removes the hook (again: nothing). */
  remove(): void {
    const i = this.#list.indexOf(this.#hook);
    if (i >= 0) this.#list.splice(i, 1);
  }
}

/** A new tensor object on `t`'s memory (same shape, strides and offset). */
function alias(t: Tensor): Tensor {
  return new Tensor(t.storage, t.dtype, t.shape, t.strides, t.offset);
}

/**
 * @internal Routes the tensors of `group` that require grad through a pack
 * entry (see the module comment); returns the group with those tensors
 * replaced by their views. `ready` runs in backward with the group's
 * gradients (null for tensors that take no gradient) and returns the ones to
 * pass on. Without a tensor that requires grad, returns the group unchanged
 * and false.
 */
export function routeGroup(
  group: readonly unknown[],
  ready: (grads: Grads) => Grads,
): [unknown[], boolean] {
  const idx: number[] = [];
  group.forEach((v, i) => {
    if (v instanceof Tensor && v.requiresGrad) idx.push(i);
  });
  if (!isGradEnabled() || idx.length === 0) return [group.slice(), false];
  const tensors = idx.map((i) => group[i] as Tensor);
  const state: GroupState = {
    grads: new Array(group.length).fill(null),
    metas: group.map((v) =>
      v instanceof Tensor ? { shape: v.shape.slice(), dtype: v.dtype, device: v.device } : null
    ),
    ready,
  };
  const placeholder = noGrad(() => zeros([], { device: tensors[0].device }));
  const pack = record("hookPack", tensors, placeholder, {}, { state, idx });
  const out = group.slice();
  idx.forEach((i, k) => {
    out[i] = record("hookView", [pack], alias(tensors[k]), {}, { state, i });
  });
  return [out, true];
}

/** @internal The rule of "hookView": keeps the gradient, passes a zero on. */
export function hookViewRule(
  g: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const state = c.state as GroupState;
  state.grads[c.i as number] = g;
  return [noGrad(() => zeros([], { device: g.device }))];
}

/** @internal The rule of "hookPack": the hooks see the group's gradients. */
export function hookPackRule(
  _g: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  const state = c.state as GroupState;
  const idx = c.idx as number[];
  // As PyTorch's hooks see them: zeros for a tensor no gradient reached
  // (or that takes none), null for the other values.
  const grads = state.grads.map((g, i) => {
    const m = state.metas[i];
    if (g !== null || m === null) return g;
    return isFloating(m.dtype) ? zeros(m.shape, { dtype: m.dtype, device: m.device }) : null;
  });
  const passed = state.ready(grads);
  return idx.map((i) => passed[i] ?? null);
}
