/**
 * @internal Members under PyTorch's snake_case names: layers whose
 * parameters and children are camelCase properties here (`selfAttn`,
 * `inProjWeight`) list them as `self_attn`, `in_proj_weight` for traversal and
 * state dicts, so that PyTorch's checkpoints load as they are.
 *
 * @module
 */

/** @internal `members` with the keys that `names` maps renamed (the others as they are). */
export function renamed(
  members: [string, unknown][],
  names: Readonly<Record<string, string>>,
): [string, unknown][] {
  return members.map(([k, v]) => [Object.hasOwn(names, k) ? names[k] : k, v]);
}
