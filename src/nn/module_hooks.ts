/**
 * @internal Module hooks: forward pre-hooks, forward hooks, and full backward
 * (pre-)hooks with PyTorch's semantics. A full backward hook sees the
 * gradients of the module's tensor inputs and outputs together, and may
 * replace the input gradients: each group goes through a pack entry and its
 * views (src/autograd/group.ts), and the pack's rule runs the hooks.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { isGradEnabled } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { zeros } from "../ops/creation.ts";
import { isFloating } from "../dtype.ts";
import { type GroupGrads, groupView, placeholder } from "../autograd/group.ts";

/** Gradients of one group, in the group's order (null where none flowed). */
type Grads = (Tensor | null)[];

interface GroupState extends GroupGrads {
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
  const pack = record("hookPack", tensors, placeholder(tensors[0].device), {}, { state, idx });
  // Its hooks may keep the gradients they see: no early release in backward.
  pack.gradFn!.keepsGradients = true;
  const out = group.slice();
  idx.forEach((i, k) => out[i] = groupView(pack, tensors[k], state, i));
  return [out, true];
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
