/**
 * Anomaly detection and inference mode, as `torch.autograd.detect_anomaly`
 * and `torch.inference_mode`.
 *
 * @module
 */
import { noGrad } from "./grad_mode.ts";
import { checkOptions } from "../options.ts";

let anomaly = false;
let checkNan = true;

/**
 * Options of {@link detectAnomaly}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.autograd.AnomalyOptions = { checkNan: false };
 * zn.autograd.detectAnomaly(() => 1, opts); // 1
 * ```
 */
export interface AnomalyOptions {
  /** Raise when a backward rule returns NaN (default true). */
  checkNan?: boolean;
}

/** Whether anomaly detection is on (inside {@link detectAnomaly}). */
export function isAnomalyEnabled(): boolean {
  return anomaly;
}

/** @internal Whether backward checks each rule's gradients for NaN. */
export function anomalyChecksNan(): boolean {
  return anomaly && checkNan;
}

/**
 * Runs `fn` with anomaly detection: each recorded op keeps the stack of the
 * call that made it, and a backward rule that returns NaN raises an error
 * naming the op and showing that stack. Slow: for debugging.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const x = zn.tensor([0], { requiresGrad: true });
 * try {
 *   zn.autograd.detectAnomaly(() => x.sqrt().mul(0).sum().backward());
 * } catch (e) {
 *   String(e).includes("returned nan values"); // true
 * }
 * ```
 */
export function detectAnomaly<T>(fn: () => T, opts: AnomalyOptions = {}): T {
  checkOptions("detectAnomaly", opts, ["checkNan"]);
  if (typeof fn !== "function") throw new TypeError("detectAnomaly: expected a function");
  const prev = [anomaly, checkNan] as const;
  anomaly = true;
  checkNan = opts.checkNan ?? true;
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("detectAnomaly: fn must be synchronous");
    return r;
  } finally {
    [anomaly, checkNan] = prev;
  }
}

/**
 * Runs `fn` for inference: nothing is recorded for backward (as
 * {@link noGrad}; Zeno keeps no view or version bookkeeping that inference
 * mode could skip beyond that).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(2, 1);
 * zn.autograd.inferenceMode(() => net.call(zn.ones([1, 2]))).requiresGrad; // false
 * ```
 */
export function inferenceMode<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new TypeError("inferenceMode: expected a function");
  return noGrad(fn);
}
