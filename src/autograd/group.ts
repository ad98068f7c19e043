/**
 * @internal Several tensors' gradients gathered in one place: the tape
 * records one tensor per entry, so a group (a module's inputs or outputs, a
 * custom Function's outputs) passes through one "pack" entry whose output is
 * a placeholder scalar, and one "groupView" entry per tensor, aliasing its
 * memory with the placeholder as input. Backward reaches every view first
 * (each keeps its tensor's gradient and passes a zero on); the pack entry
 * runs after all of them with the whole group's gradients.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { noGrad } from "./grad_mode.ts";
import { record } from "./node.ts";
import { zeros } from "../ops/creation.ts";

/** The gradients a group's views keep, by position in the group. */
export interface GroupGrads {
  grads: (Tensor | null)[];
}

/** A new tensor object on `t`'s memory and version counter (same geometry). */
export function alias(t: Tensor): Tensor {
  const a = new Tensor(t.storage, t.dtype, t.shape, t.strides, t.offset);
  a.versionCounter = t.versionCounter;
  return a;
}

/** A placeholder scalar on `device`: the pack entry's output. */
export function placeholder(device: string): Tensor {
  return noGrad(() => zeros([], { device }));
}

/** Records `t`'s view in a group: position `i`, after the pack entry `pack`. */
export function groupView(pack: Tensor, t: Tensor, state: GroupGrads, i: number): Tensor {
  return record("groupView", [pack], alias(t), {}, { state, i });
}

/** The rule of "groupView": keeps the gradient, passes a zero to the placeholder. */
export function groupViewRule(
  g: Tensor,
  _s: unknown,
  c: Record<string, unknown>,
): (Tensor | null)[] {
  (c.state as GroupGrads).grads[c.i as number] = g;
  return [placeholder(g.device)];
}
