/**
 * Gradient checking by finite differences, in float64.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { noGrad } from "./grad_mode.ts";
import { grad } from "./engine.ts";
import { fmtShape } from "../shape.ts";
import { tensor } from "../ops/creation.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkArray, checkFunction, checkTensor } from "../args.ts";

/**
 * Options of {@link gradcheck}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([3], { dtype: "float64", requiresGrad: true });
 * const opts: zn.autograd.GradcheckOptions = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 };
 * zn.autograd.gradcheck((t) => t.exp().sum(), [x], opts); // true
 * ```
 */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
}

const GRADCHECK_KEYS = optionKeys<GradcheckOptions>({ eps: 0, atol: 0, rtol: 0 });

function toOutputs(r: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/**
 * Compares the analytic gradients of `fn` at `inputs` (float64 tensors that
 * require grad) with central finite differences. Returns true, or throws an
 * error naming the input, the element and the largest difference.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.randn([3], { dtype: "float64", requiresGrad: true });
 * zn.autograd.gradcheck((t) => t.mul(t).sin(), [x]); // true
 * ```
 */
export function gradcheck(
  fn: (...xs: Tensor[]) => Tensor | Tensor[],
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): boolean {
  checkFunction(fn, "gradcheck");
  checkArray(inputs, "gradcheck", "inputs");
  checkOptions("gradcheck", opts, GRADCHECK_KEYS);
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-3;
  for (const x of inputs) {
    checkTensor(x, "gradcheck", "each of inputs");
    if (x.dtype !== "float64") {
      throw new TypeError(`gradcheck: inputs must be float64, got ${x.dtype}`);
    }
  }
  const base = inputs.map((x) => noGrad(() => x.toTypedArray() as Float64Array).slice());
  const diffInputs = inputs.filter((x) => x.requiresGrad);
  if (diffInputs.length === 0) throw new Error("gradcheck: no input requires grad");
  const evalAt = (vals: Float64Array[]): Float64Array[] =>
    noGrad(() => {
      const xs = inputs.map((x, i) =>
        tensor(vals[i], { shape: x.shape.slice(), dtype: "float64" })
      );
      return toOutputs(fn(...xs)).map((o) => o.to("float64").toTypedArray() as Float64Array);
    });
  const outs = toOutputs(fn(...inputs));
  const outSizes = outs.map((o) => o.numel);
  for (let o = 0; o < outs.length; o++) {
    if (!outs[o].requiresGrad) continue;
    for (let j = 0; j < outSizes[o]; j++) {
      // Analytic row j: the vector-Jacobian product with a one-hot output gradient.
      const onehot = new Float64Array(outSizes[o]);
      onehot[j] = 1;
      const gout = tensor(onehot, { shape: outs[o].shape.slice(), dtype: outs[o].dtype });
      const analytic = grad(outs[o], diffInputs, {
        gradOutputs: [gout],
        retainGraph: true,
        allowUnused: true,
      });
      diffInputs.forEach((x, k) => {
        const idx = inputs.indexOf(x);
        const a = analytic[k]
          ? analytic[k]!.to("float64").toTypedArray() as Float64Array
          : new Float64Array(x.numel);
        for (let e = 0; e < x.numel; e++) {
          const plus = base.map((b) => b.slice()), minus = base.map((b) => b.slice());
          plus[idx][e] += eps;
          minus[idx][e] -= eps;
          const num = (evalAt(plus)[o][j] - evalAt(minus)[o][j]) / (2 * eps);
          const diff = Math.abs(num - a[e]);
          if (!(diff <= atol + rtol * Math.abs(num))) {
            throw new Error(
              `gradcheck: Jacobian mismatch for output ${o} element ${j} with respect to input ${idx} ${
                fmtShape(x.shape)
              } element ${e}: numerical ${num}, analytical ${a[e]} (difference ${diff})`,
            );
          }
        }
      });
    }
  }
  return true;
}
