/**
 * `zn.autograd.functional`: Jacobians, Hessians and vector products of a
 * function, as `torch.autograd.functional`.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const f = (x: zn.Tensor) => x.pow(3).sum();
 * zn.autograd.functional.hessian(f, zn.tensor([1, 2])).toArray(); // [[6, 0], [0, 12]]
 * ```
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { enableGrad } from "./grad_mode.ts";
import { grad } from "./engine.ts";
import { onesLike, zerosLike } from "../ops/creation.ts";
import { stack } from "../ops/join.ts";
import { checkOptions } from "../options.ts";
import { fmtShape } from "../shape.ts";

/**
 * Options of the functions in `zn.autograd.functional`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.autograd.functional.FunctionalOptions = { createGraph: true };
 * zn.autograd.functional.jacobian((x) => x.sin(), zn.tensor([0]), opts).toArray(); // [[1]]
 * ```
 */
export interface FunctionalOptions {
  /** Record the result's computation, so it can be differentiated again (default false). */
  createGraph?: boolean;
  /** Throw when an output does not depend on an input, instead of giving zeros (default false). */
  strict?: boolean;
}

const KEYS = ["createGraph", "strict"] as const;

type Inputs = Tensor | readonly Tensor[];
type Fn = (...xs: Tensor[]) => Tensor | readonly Tensor[];

function asList(x: Inputs, op: string, what: string): Tensor[] {
  const list = x instanceof Tensor ? [x] : Array.isArray(x) ? [...x] : null;
  if (list === null || list.some((t) => !(t instanceof Tensor))) {
    throw new TypeError(`${op}: ${what} must be a Tensor or an array of Tensors`);
  }
  return list;
}

/** Fresh leaves that require grad, on the inputs' values (detached). */
function leaves(xs: Tensor[]): Tensor[] {
  return xs.map((x) => x.detach().requiresGrad_(true));
}

/** func's outputs as a list, and whether it returned one tensor. */
function callFn(fn: Fn, xs: Tensor[], op: string): [Tensor[], boolean] {
  if (typeof fn !== "function") throw new TypeError(`${op}: func must be a function`);
  const r = enableGrad(() => fn(...xs));
  return [asList(r as Inputs, op, "func's output"), r instanceof Tensor];
}

/** dOut/dIn products for each input, zeros where an output does not depend on it (unless strict). */
function vjps(
  outs: Tensor[],
  ins: Tensor[],
  v: Tensor[],
  createGraph: boolean,
  strict: boolean,
  op: string,
): Tensor[] {
  const live = outs.map((o, i) => [o, v[i]] as const).filter(([o]) => o.requiresGrad);
  if (live.length === 0) {
    if (strict) throw new Error(`${op}: the output of func does not require grad (strict)`);
    return ins.map((x) => zerosLike(x));
  }
  const gs = enableGrad(() =>
    grad(live.map(([o]) => o), ins, {
      gradOutputs: live.map(([, g]) => g),
      createGraph,
      retainGraph: true,
      allowUnused: true,
    })
  );
  return gs.map((g, i) => {
    if (g !== null) return createGraph ? g : g.detach();
    if (strict) throw new Error(`${op}: output is independent of input ${i} (strict)`);
    return zerosLike(ins[i]);
  });
}

function checkV(v: Inputs | undefined, outs: Tensor[], op: string, what: string): Tensor[] {
  if (v === undefined) {
    if (outs.length !== 1 || outs[0].numel !== 1) {
      throw new Error(
        `${op}: ${what} may be omitted only when func returns a single one-element tensor`,
      );
    }
    return [onesLike(outs[0].detach())];
  }
  const vs = asList(v, op, what);
  if (vs.length !== outs.length) {
    throw new RangeError(`${op}: ${what} has ${vs.length} tensor(s), expected ${outs.length}`);
  }
  vs.forEach((t, i) => {
    if (t.shape.length !== outs[i].shape.length || t.shape.some((d, k) => d !== outs[i].shape[k])) {
      throw new RangeError(
        `${op}: ${what} ${i} has shape ${fmtShape(t.shape)}, expected ${fmtShape(outs[i].shape)}`,
      );
    }
  });
  return vs;
}

function unwrap<T>(list: T[], single: boolean): T | T[] {
  return single ? list[0] : list;
}

/**
 * The vector-Jacobian product `vᵀ J` of `func` at `inputs`: returns
 * `[outputs, vjp]` (each a tensor, or an array for several).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const [y, g] = zn.autograd.functional.vjp((x) => x.mul(x), zn.tensor([1, 2]), zn.tensor([1, 1]));
 * (g as zn.Tensor).toArray(); // [2, 4]
 * ```
 */
export function vjp(
  func: Fn,
  inputs: Inputs,
  v?: Inputs,
  opts: FunctionalOptions = {},
): [Tensor | Tensor[], Tensor | Tensor[]] {
  checkOptions("vjp", opts, KEYS);
  const xs = leaves(asList(inputs, "vjp", "inputs"));
  const [outs, singleOut] = callFn(func, xs, "vjp");
  const vs = checkV(v, outs, "vjp", "v");
  const r = vjps(outs, xs, vs, !!opts.createGraph, !!opts.strict, "vjp");
  const o = opts.createGraph ? outs : outs.map((t) => t.detach());
  return [unwrap(o, singleOut), unwrap(r, inputs instanceof Tensor)];
}

/**
 * The Jacobian-vector product `J v` of `func` at `inputs` (by the double
 * backward trick): returns `[outputs, jvp]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const [, d] = zn.autograd.functional.jvp((x) => x.mul(x), zn.tensor([1, 2]), zn.tensor([1, 0]));
 * (d as zn.Tensor).toArray(); // [2, 0]
 * ```
 */
export function jvp(
  func: Fn,
  inputs: Inputs,
  v?: Inputs,
  opts: FunctionalOptions = {},
): [Tensor | Tensor[], Tensor | Tensor[]] {
  checkOptions("jvp", opts, KEYS);
  const xs = leaves(asList(inputs, "jvp", "inputs"));
  const [outs, single] = callFn(func, xs, "jvp");
  let vs: Tensor[];
  if (v === undefined) {
    if (xs.length !== 1 || xs[0].numel !== 1) {
      throw new Error("jvp: v may be omitted only when inputs is a single one-element tensor");
    }
    vs = [onesLike(xs[0].detach())];
  } else {
    vs = asList(v, "jvp", "v");
    if (vs.length !== xs.length) {
      throw new RangeError(`jvp: v has ${vs.length} tensor(s), expected ${xs.length}`);
    }
  }
  // u ↦ uᵀ J is linear in u; its gradient with respect to u, taken along v, is J v.
  const us = outs.map((o) => zerosLike(o).requiresGrad_(true));
  const gIn = enableGrad(() => vjps(outs, xs, us, true, !!opts.strict, "jvp"));
  const r = enableGrad(() =>
    grad(gIn.filter((g) => g.requiresGrad), us, {
      gradOutputs: vs.filter((_v, i) => gIn[i].requiresGrad),
      createGraph: !!opts.createGraph,
      allowUnused: true,
    })
  ).map((g, i) => {
    if (g !== null) return opts.createGraph ? g : g.detach();
    if (opts.strict) throw new Error(`jvp: output ${i} is independent of the inputs (strict)`);
    return zerosLike(outs[i]);
  });
  return [unwrap(outs.map((t) => opts.createGraph ? t : t.detach()), single), unwrap(r, single)];
}

/**
 * The Jacobian of `func` at `inputs`: for one input and one output a tensor
 * of shape `[...output.shape, ...input.shape]`; an array over inputs (or
 * outputs), or an array of arrays `[output][input]`, for several.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const J = zn.autograd.functional.jacobian((x) => x.mul(zn.tensor([2, 3])), zn.tensor([1, 1]));
 * J.toArray(); // [[2, 0], [0, 3]]
 * ```
 */
export function jacobian(
  func: Fn,
  inputs: Inputs,
  opts: FunctionalOptions = {},
  // deno-lint-ignore no-explicit-any
): any {
  checkOptions("jacobian", opts, KEYS);
  const xs = leaves(asList(inputs, "jacobian", "inputs"));
  const [outs, singleOut] = callFn(func, xs, "jacobian");
  const rows: Tensor[][] = outs.map((o) => {
    const n = o.numel;
    const perInput: Tensor[][] = xs.map(() => []);
    for (let k = 0; k < n; k++) {
      const e = zerosLike(o).reshape([n]);
      e.index(k).fill_(1);
      const g = vjps([o], xs, [e.reshape(o.shape)], !!opts.createGraph, !!opts.strict, "jacobian");
      g.forEach((t, i) => perInput[i].push(t));
    }
    return xs.map((x, i) =>
      n === 0
        ? zerosLike(x).reshape([0, ...x.shape]).reshape([...o.shape, ...x.shape])
        : stack(perInput[i], 0).reshape([...o.shape, ...x.shape])
    );
  });
  const singleIn = inputs instanceof Tensor;
  if (singleOut) return unwrap(rows[0], singleIn);
  return rows.map((r) => unwrap(r, singleIn));
}

/**
 * The Hessian of a scalar `func` at `inputs`: `[...x.shape, ...x.shape]`
 * for one input, an array of arrays `[i][j]` for several.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.autograd.functional.hessian((x) => x.pow(3).sum(), zn.tensor([1, 2])).toArray(); // [[6, 0], [0, 12]]
 * ```
 */
export function hessian(
  func: Fn,
  inputs: Inputs,
  opts: FunctionalOptions = {},
  // deno-lint-ignore no-explicit-any
): any {
  checkOptions("hessian", opts, KEYS);
  const single = inputs instanceof Tensor;
  const gradFn = (...xs: Tensor[]) => {
    const out = asList(func(...xs) as Inputs, "hessian", "func's output");
    if (out.length !== 1 || out[0].numel !== 1) {
      throw new Error("hessian: func must return a single one-element tensor");
    }
    const g = vjps(out, xs, [onesLike(out[0].detach())], true, !!opts.strict, "hessian");
    return single ? g[0] : g;
  };
  return jacobian(gradFn, inputs, opts);
}

/**
 * The vector-Hessian product `vᵀ H` of a scalar `func`: returns `[output, vhp]`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const [, p] = zn.autograd.functional.vhp((x) => x.pow(3).sum(), zn.tensor([1, 2]), zn.tensor([1, 1]));
 * (p as zn.Tensor).toArray(); // [6, 12]
 * ```
 */
export function vhp(
  func: Fn,
  inputs: Inputs,
  v: Inputs,
  opts: FunctionalOptions = {},
): [Tensor, Tensor | Tensor[]] {
  checkOptions("vhp", opts, KEYS);
  const single = inputs instanceof Tensor;
  let value: Tensor | null = null;
  const gradFn = (...xs: Tensor[]) => {
    const out = asList(func(...xs) as Inputs, "vhp", "func's output");
    if (out.length !== 1 || out[0].numel !== 1) {
      throw new Error("vhp: func must return a single one-element tensor");
    }
    value = out[0];
    return vjps(out, xs, [onesLike(out[0].detach())], true, !!opts.strict, "vhp");
  };
  const [, r] = vjp(gradFn, inputs, v, opts);
  const list = Array.isArray(r) ? r : [r];
  return [opts.createGraph ? value! : value!.detach(), unwrap(list, single)];
}

/**
 * The Hessian-vector product `H v` of a scalar `func`: returns
 * `[output, hvp]` (the Hessian is symmetric, so this equals `vᵀ H`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const [, p] = zn.autograd.functional.hvp((x) => x.pow(3).sum(), zn.tensor([1, 2]), zn.tensor([1, 0]));
 * (p as zn.Tensor).toArray(); // [6, 0]
 * ```
 */
export function hvp(
  func: Fn,
  inputs: Inputs,
  v: Inputs,
  opts: FunctionalOptions = {},
): [Tensor, Tensor | Tensor[]] {
  checkOptions("hvp", opts, KEYS);
  return vhp(func, inputs, v, opts);
}
