/**
 * @internal Helpers of the distributions: PyTorch's `torch.distributions.utils`
 * (probabilities to logits and back, clamping) and constraint checks.
 *
 * @module
 */
import type { DType } from "../dtype.ts";
import { isFloating } from "../dtype.ts";
import { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { typeError } from "../args.ts";
import { fmtShape } from "../shape.ts";
import { where } from "../ops/elementwise.ts";
import { exp, log1p } from "../ops/unary_fns.ts";

/** @internal `torch.finfo(dtype).eps` and `.min` of a floating dtype. */
export function finfo(dtype: DType): { eps: number; min: number } {
  switch (dtype) {
    case "float64":
      return { eps: 2 ** -52, min: -Number.MAX_VALUE };
    case "float16":
      return { eps: 2 ** -10, min: -65504 };
    case "bfloat16":
      return { eps: 2 ** -7, min: -3.3895313892515355e38 };
    default:
      return { eps: 2 ** -23, min: -3.4028234663852886e38 };
  }
}

/** @internal Probabilities clamped into [eps, 1 - eps], as `clamp_probs`. */
export function clampProbs(probs: Tensor): Tensor {
  const { eps } = finfo(probs.dtype);
  return probs.clamp(eps, 1 - eps);
}

/** @internal `probs_to_logits`: log-probabilities, or log-odds when `binary`. */
export function probsToLogits(probs: Tensor, binary: boolean): Tensor {
  const p = clampProbs(probs);
  return binary ? p.log().sub(log1p(p.neg())) : p.log();
}

/** @internal `logits_to_probs`: softmax over the last dim, or the sigmoid when `binary`. */
export function logitsToProbs(logits: Tensor, binary: boolean): Tensor {
  return binary ? logits.sigmoid() : logits.softmax(-1);
}

/**
 * @internal log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for all x,
 * with the exact gradient 1 - sigmoid(x) at 0 too (both branches are taken
 * from x >= 0 there).
 */
export function logSigmoid(x: Tensor): Tensor {
  const neg = x.lt(0);
  const m = where(neg, x, 0);
  const absX = where(neg, x.neg(), x);
  return m.sub(log1p(exp(absX.neg())));
}

/**
 * @internal `binary_cross_entropy_with_logits(x, t, reduction="none")`:
 * `(1 - t) x - logSigmoid(x)`.
 */
export function bceWithLogits(x: Tensor, t: Tensor): Tensor {
  return t.neg().add(1).mul(x).sub(logSigmoid(x));
}

/** @internal A number as a 0-d tensor of `like`'s dtype and device (float32 on the CPU without one). */
export function asParam(v: Tensor | number, like: Tensor | undefined): Tensor {
  if (v instanceof Tensor) return v;
  return like ? tensor(v, { dtype: like.dtype, device: like.device }) : tensor(v);
}

/** @internal Throws unless `v` is a Tensor or a number (NaN passes: the constraint check names it). */
export function checkParam(v: unknown, op: string, name: string): asserts v is Tensor | number {
  if (!(v instanceof Tensor) && typeof v !== "number") {
    typeError(op, name, "a Tensor or a number", v);
  }
  if (v instanceof Tensor && v.isDisposed) typeError(op, name, "a live Tensor", v);
}

/** @internal A floating dtype for draws from parameters of `dtype`. */
export function floatingOf(dtype: DType): DType {
  return isFloating(dtype) ? dtype : "float32";
}

/**
 * @internal Throws PyTorch's `ValueError` (a RangeError here) when `valid`
 * (a bool tensor) is not all true.
 */
export function checkConstraint(
  dist: string,
  name: string,
  value: Tensor,
  constraint: string,
  valid: (v: Tensor) => Tensor,
): void {
  const ok = noGrad(() => valid(value.detach()).all().item());
  if (!ok) {
    throw new RangeError(
      `${dist}: expected parameter ${name} (Tensor of shape ${
        fmtShape(value.shape)
      }) to satisfy the constraint ${constraint}, but found invalid values:\n${
        noGrad(() => value.detach().toString())
      }`,
    );
  }
}
