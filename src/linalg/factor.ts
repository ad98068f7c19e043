/**
 * @internal What every linalg function shares: argument checks with
 * PyTorch's messages, the call into the backend's batched factorization
 * kernel (zig/src/linalg.zig), and the tape entry of a function with several
 * differentiable results.
 *
 * @module
 */
import { outputTensor, type Tensor } from "../tensor.ts";
import { checkTensor } from "../args.ts";
import { floatTensorHint } from "../dtype.ts";
import type { LinalgOp } from "../backend.ts";
import { fmtShape } from "../shape.ts";
import { isGradEnabled, noGrad } from "../autograd/grad_mode.ts";
import { record } from "../autograd/node.ts";
import { type GroupGrads, groupView, placeholder } from "../autograd/group.ts";

/** Checks `a` is a float32/float64 tensor of at least two dims. */
export function checkMatrix(a: unknown, op: string, name = "A"): asserts a is Tensor {
  checkTensor(a, op, name);
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(
      `${op}: expected ${name} to be a float32 or float64 tensor, got ${a.dtype}${
        floatTensorHint(a.dtype)
      }`,
    );
  }
  if (a.ndim < 2) {
    throw new RangeError(
      `${op}: The input tensor ${name} must have at least 2 dimensions, got shape ${
        fmtShape(a.shape)
      }`,
    );
  }
}

/** Checks `a` is a batch of square float matrices. */
export function checkSquare(a: unknown, op: string, name = "A"): asserts a is Tensor {
  checkMatrix(a, op, name);
  const [m, n] = a.shape.slice(-2);
  if (m !== n) {
    throw new RangeError(
      `${op}: ${name} must be batches of square matrices, but they are ${m} by ${n} matrices`,
    );
  }
}

/** The batch shape and matrix sizes of `a`. */
export function matrixDims(
  a: Tensor,
): { batchShape: number[]; batch: number; m: number; n: number } {
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((p, s) => p * s, 1);
  return { batchShape, batch, m: a.shape[a.ndim - 2], n: a.shape[a.ndim - 1] };
}

/** The kernel that runs `op` on `a`'s device, or a clear error. */
function kernelFor(a: Tensor, op: string) {
  const f = a.backend.linalg;
  if (!f) throw new Error(`${op}: not available on the ${a.device} backend`);
  return f.bind(a.backend);
}

/**
 * Runs a factorization on the contiguous float matrices `inputs[0]` (and,
 * for luSolve, more), writing `outputs` (allocated here: shapes and dtypes
 * given). Nothing is recorded.
 */
export function runFactor(
  op: LinalgOp,
  name: string,
  inputs: Tensor[],
  outputs: { shape: number[]; dtype: "float32" | "float64" | "int32" }[],
  dims: { batch: number; m: number; n: number; k?: number; vectors?: boolean },
): Tensor[] {
  return noGrad(() => {
    const run = kernelFor(inputs[0], name);
    const ins = inputs.map((t) => t.detach().contiguous());
    const outs = outputs.map((o) => outputTensor(o.shape, o.dtype, inputs[0].device));
    run(op, [...ins, ...outs], {
      batch: dims.batch,
      m: dims.m,
      n: dims.n,
      k: dims.k ?? 0,
      vectors: dims.vectors ?? false,
    });
    return outs;
  });
}

/** The 1-based batch element and value of the first non-zero status, or null. */
export function firstFailure(info: Tensor): { index: number; code: number } | null {
  const codes = info.toArray() as unknown;
  const flat = (Array.isArray(codes) ? codes.flat(Infinity) : [codes]) as number[];
  for (let i = 0; i < flat.length; i++) if (flat[i] !== 0) return { index: i, code: flat[i] };
  return null;
}

/** PyTorch's prefix for a failure in one matrix of a batch. */
export function batchPrefix(a: Tensor, index: number): string {
  return a.ndim > 2 ? `(Batch element ${index}): ` : "";
}

/** The gradients a multi-result entry's rule receives, and its results. */
export interface MultiState extends GroupGrads {
  /** The results as returned (recorded aliases while recording). */
  outs: Tensor[];
}

/**
 * Records a function of `inputs` with several differentiable results: one
 * tape entry `name` whose rule gets `ctx.state` (a MultiState: the results'
 * gradients, null where none arrived, and the results). Returns the results
 * the caller hands out.
 */
export function recordMulti(
  name: string,
  inputs: Tensor[],
  outs: Tensor[],
  saved: Record<string, Tensor>,
  ctx: Record<string, unknown> = {},
): Tensor[] {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return outs;
  const state: MultiState = { grads: outs.map(() => null), outs };
  const pack = record(name, inputs, placeholder(inputs[0].device), saved, { ...ctx, state });
  const routed = outs.map((o, i) => groupView(pack, o, state, i));
  state.outs = routed;
  return routed;
}

/**
 * The gradients a multi-result rule works with: each result's, or zeros of
 * its shape where none arrived; cleared for the next backward pass.
 */
export function takeGrads(
  c: Record<string, unknown>,
): { grads: (Tensor | null)[]; outs: Tensor[] } {
  const state = c.state as MultiState;
  const grads = [...state.grads];
  state.grads.fill(null);
  return { grads, outs: state.outs };
}
