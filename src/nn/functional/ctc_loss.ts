/**
 * The connectionist temporal classification loss (Graves et al., 2006), as
 * `torch.nn.functional.ctc_loss`: the forward (alpha) recursion over the
 * blank-extended targets in log space, one vectorized step per time step
 * over the whole batch, composed of tensor ops so that the gradient with
 * respect to the log-probabilities follows from their rules.
 *
 * logProbs: [T, N, C] (or [T, C]); targets: [N, S] padded, or the targets of
 * every sample concatenated ([sum of targetLengths]).
 *
 * @module
 */
import { Tensor } from "../../tensor.ts";
import { fmtShape } from "../../shape.ts";
import { checkTensor } from "../../args.ts";
import { checkOptions } from "../../options.ts";
import { full, tensor } from "../../ops/creation.ts";
import { cat, stack } from "../../ops/join.ts";
import { where } from "../../ops/elementwise.ts";
import { logsumexp } from "../../ops/reduce.ts";
import type { Reduction } from "./loss.ts";

/** Options of {@linkcode ctcLoss}. */
export interface CTCLossOptions {
  /** The blank label (default 0). */
  blank?: number;
  /** "mean" (the default: each loss over its target length, then the batch mean), "sum" or "none". */
  reduction?: Reduction;
  /** Infinite losses (targets the input is too short for) and their gradients become 0 (default false). */
  zeroInfinity?: boolean;
}

/** A stand-in for log(0) whose gradient stays finite (exp of it is exactly 0). */
const NEG = -1e30;

function lengthsOf(v: Tensor | readonly number[], n: number, op: string, name: string): number[] {
  const list = v instanceof Tensor
    ? (v.reshape([-1]).toArray() as (number | bigint)[]).map(Number)
    : [...v];
  if (list.length !== n || list.some((x) => !Number.isInteger(x) || x < 0)) {
    throw new RangeError(
      `${op}: expected ${name} to hold ${n} non-negative integers, got [${list.join(", ")}]`,
    );
  }
  return list;
}

/**
 * The CTC loss of `logProbs` (log-softmax outputs) against `targets`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const logProbs = zn.randn([6, 2, 4]).logSoftmax(2);
 * const targets = zn.tensor([[1n, 2n], [3n, 3n]]);
 * zn.nn.functional.ctcLoss(logProbs, targets, [6, 5], [2, 2]).shape; // []
 * ```
 */
export function ctcLoss(
  logProbs: Tensor,
  targets: Tensor,
  inputLengths: Tensor | readonly number[],
  targetLengths: Tensor | readonly number[],
  opts: CTCLossOptions = {},
): Tensor {
  const op = "ctcLoss";
  checkOptions(op, opts, ["blank", "reduction", "zeroInfinity"]);
  checkTensor(logProbs, op, "logProbs");
  checkTensor(targets, op, "targets");
  if (logProbs.dtype !== "float32" && logProbs.dtype !== "float64") {
    throw new TypeError(`${op}: expected logProbs to be float32 or float64, got ${logProbs.dtype}`);
  }
  const unbatched = logProbs.ndim === 2;
  if (!unbatched && logProbs.ndim !== 3) {
    throw new RangeError(
      `${op}: expected logProbs of shape [T, N, C] or [T, C], got ${fmtShape(logProbs.shape)}`,
    );
  }
  const lp = unbatched ? logProbs.unsqueeze(1) : logProbs;
  const [t, n, c] = lp.shape;
  const blank = opts.blank ?? 0;
  if (!Number.isInteger(blank) || blank < 0 || blank >= c) {
    throw new RangeError(`${op}: blank must be in label range [0, ${c}), got ${blank}`);
  }
  const reduction = opts.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(`${op}: ${reduction} is not a valid value for reduction`);
  }
  const inLen = lengthsOf(inputLengths, n, op, "inputLengths");
  const tgLen = lengthsOf(targetLengths, n, op, "targetLengths");
  if (inLen.some((l) => l > t)) {
    throw new RangeError(
      `${op}: Expected input_lengths to have value at most ${t}, but got [${inLen.join(", ")}]`,
    );
  }
  // Each sample's labels, from a padded [N, S] or a concatenated 1-D tensor.
  const flat = (targets.reshape([-1]).toArray() as (number | bigint)[]).map(Number);
  const tg = unbatched ? targets.unsqueeze(0) : targets;
  const labels: number[][] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (tg.ndim === 2) {
      const s = tg.shape[1];
      if (tgLen[i] > s) {
        throw new RangeError(
          `${op}: Expected tensor to have size at least ${
            tgLen[i]
          } at dimension 1, but got size ${s} for argument #2 'targets'`,
        );
      }
      labels.push(flat.slice(i * s, i * s + tgLen[i]));
    } else {
      labels.push(flat.slice(at, at + tgLen[i]));
      at += tgLen[i];
    }
  }
  if (tg.ndim === 1 && at > flat.length) {
    throw new RangeError(
      `${op}: targets hold ${flat.length} labels, but targetLengths add up to ${at}`,
    );
  }
  for (const l of labels) {
    for (const v of l) {
      if (!Number.isInteger(v) || v < 0 || v >= c || v === blank) {
        throw new RangeError(
          `${op}: target labels must be in [0, ${c}) and not the blank (${blank}), got ${v}`,
        );
      }
    }
  }
  const sMax = Math.max(0, ...tgLen);
  const width = 2 * sMax + 1;
  // Blank-extended labels and where a state may be entered from two back.
  const ext = new Array<number>(n * width).fill(blank);
  const skip = new Array<boolean>(n * width).fill(false);
  labels.forEach((l, i) => {
    l.forEach((v, k) => {
      ext[i * width + 2 * k + 1] = v;
      if (k > 0 && l[k - 1] !== v) skip[i * width + 2 * k + 1] = true;
    });
  });
  const dev = { device: lp.device };
  const extT = tensor(ext.map(BigInt), { dtype: "int64", ...dev }).reshape([1, n, width]);
  const steps = lp.gather(2, extT.expand([t, n, width])); // [T, N, 2S+1]
  const skipT = tensor(skip, dev).reshape([n, width]);
  const o = { dtype: lp.dtype, ...dev };
  const neg = (cols: number) => full([n, cols], NEG, o);
  // alpha at t = 0: the leading blank and the first label.
  const start = tensor(
    Array.from(
      { length: n * width },
      (_, k) => (k % width) < 2 && (k % width) <= 2 * tgLen[Math.floor(k / width)] ? 0 : NEG,
    ),
    o,
  ).reshape([n, width]);
  let alpha = steps.select(0, 0).add(start);
  for (let step = 1; step < t; step++) {
    const a2 = cat([neg(1), alpha.narrow(1, 0, width - 1)], 1);
    const a3 = width > 2
      ? where(skipT, cat([neg(2), alpha.narrow(1, 0, width - 2)], 1), NEG)
      : neg(width);
    const next = logsumexp(stack([alpha, a2, a3], 0), 0).add(steps.select(0, step));
    const active = tensor(inLen.map((l) => step < l), dev).reshape([n, 1]);
    alpha = where(active, next, alpha);
  }
  const endIdx = tensor(tgLen.flatMap((s) => [BigInt(2 * s), BigInt(Math.max(0, 2 * s - 1))]), {
    dtype: "int64",
    ...dev,
  }).reshape([n, 2]);
  const ends = alpha.gather(1, endIdx);
  // With no labels the only end state is the blank; the second index repeats it.
  const second = tensor(tgLen.map((s) => s > 0), dev).reshape([n, 1]);
  const endsMasked = cat([ends.narrow(1, 0, 1), where(second, ends.narrow(1, 1, 1), NEG)], 1);
  // A sample with no input steps has likelihood zero unless it has no labels.
  const emptyInput = tensor(inLen.map((l) => l === 0), dev);
  let loss = logsumexp(endsMasked, 1).neg();
  // PyTorch's gradient with respect to logProbs carries an extra exp(logProbs)
  // at every step in the input (its kernel returns the gradient that
  // logSoftmax's backward expects, the same after it): a term of value 0
  // with that gradient gives the same numbers.
  const inside = tensor(
    Array.from({ length: t * n }, (_, k) => Math.floor(k / n) < inLen[k % n]),
    dev,
  ).reshape([t, n, 1]);
  const e = lp.exp();
  loss = loss.add(where(inside, e.sub(e.detach()), 0).sum([0, 2]));
  const infinite = loss.detach().gt(1e29).logicalOr(
    emptyInput.logicalAnd(tensor(tgLen.map((s) => s > 0), dev)),
  );
  const zeroLenOk = emptyInput.logicalAnd(tensor(tgLen.map((s) => s === 0), dev));
  loss = where(zeroLenOk, 0, loss);
  loss = where(infinite, opts.zeroInfinity ? 0 : Infinity, loss);
  if (reduction === "none") return unbatched ? loss.squeeze(0) : loss;
  if (reduction === "sum") return loss.sum();
  const denom = tensor(tgLen.map((s) => Math.max(s, 1)), o);
  return loss.div(denom).mean();
}
