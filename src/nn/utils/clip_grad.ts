/**
 * Gradient clipping.
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { stack } from "../../ops/join.ts";
import { tensor } from "../../ops/creation.ts";
import { checkOptions } from "../../options.ts";
import { checkIterable, checkTensor } from "../../args.ts";

const CLIP_NORM_KEYS = ["normType", "errorIfNonfinite"] as const;

function gradsOf(params: Iterable<Tensor> | Tensor, op: string): Tensor[] {
  if (!(params instanceof Tensor)) {
    checkIterable(params, op, "params", "a Tensor or an iterable of Tensors");
  }
  const list = params instanceof Tensor ? [params] : [...params];
  for (const p of list) checkTensor(p, op, "each of params");
  return list.filter((p) => p.grad !== null).map((p) => p.grad!);
}

/**
 * Scales the gradients of `params` in place so that their joint
 * `normType`-norm (default 2; Infinity for the max) is at most `maxNorm`.
 * Returns the total norm before clipping.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const fc = new zn.nn.Linear(3, 1);
 * fc.call(zn.randn([4, 3])).sum().backward();
 * const total = zn.nn.utils.clipGradNorm_(fc.parameters(), 1.0);
 * ```
 */
export function clipGradNorm_(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  opts: { normType?: number; errorIfNonfinite?: boolean } = {},
): Tensor {
  checkOptions("clipGradNorm_", opts, CLIP_NORM_KEYS);
  const p = opts.normType ?? 2;
  const grads = gradsOf(params, "clipGradNorm_");
  return noGrad(() => {
    if (grads.length === 0) return tensor(0.0);
    const norms = grads.map((g) => g.norm(p));
    const all = stack(norms.map((n) => n.to("float64")));
    const total = p === Infinity ? all.amax() : all.norm(p);
    const t = total.item() as number;
    if (opts.errorIfNonfinite && !Number.isFinite(t)) {
      throw new Error(
        `clipGradNorm_: the total norm of order ${p} for gradients from \`parameters\` is non-finite, so it cannot be clipped`,
      );
    }
    const coef = Math.min(maxNorm / (t + 1e-6), 1);
    if (coef < 1) { for (const g of grads) g.mul_(coef); }
    return total.to(grads[0].dtype);
  });
}

/**
 * Clamps the gradients of `params` into `[-clipValue, clipValue]` in place.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * w.mul(10).sum().backward();
 * zn.nn.utils.clipGradValue_([w], 1);
 * w.grad!.toArray(); // [1, 1]
 * ```
 */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  const grads = gradsOf(params, "clipGradValue_");
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}
