/**
 * Whether operations record onto the autograd tape.
 *
 * @module
 */
import { checkFunction } from "../args.ts";

let enabled = true;

/**
 * True while operations record for autograd.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.isGradEnabled(); // true
 * zn.noGrad(() => zn.isGradEnabled()); // false
 * ```
 */
export function isGradEnabled(): boolean {
  return enabled;
}

/** @internal Sets grad mode and returns the previous value. */
export function setGradEnabled(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/**
 * Runs `fn` without recording for autograd (like `torch.no_grad()`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * const y = zn.noGrad(() => w.mul(2));
 * y.requiresGrad; // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  checkFunction(fn, "noGrad");
  const prev = setGradEnabled(false);
  try {
    return fn();
  } finally {
    setGradEnabled(prev);
  }
}

/**
 * Runs `fn` with recording on, also inside {@link noGrad}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const w = zn.ones([2], { requiresGrad: true });
 * zn.noGrad(() => zn.enableGrad(() => w.mul(2))).requiresGrad; // true
 * ```
 */
export function enableGrad<T>(fn: () => T): T {
  checkFunction(fn, "enableGrad");
  const prev = setGradEnabled(true);
  try {
    return fn();
  } finally {
    setGradEnabled(prev);
  }
}
