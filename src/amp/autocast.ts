/**
 * `zn.autocast`: mixed precision by op, as `torch.autocast`. Inside an
 * autocast region, the ops on PyTorch's lower-precision list (matmul, linear,
 * convolutions, bmm/baddbmm/addmm, attention, prelu, the LSTM layer) cast
 * their floating inputs (except float64) to the region's dtype, and the ops
 * on its float32 list (losses, cdist, prod, quantile, trace, reflection and
 * replication padding) cast them to float32; other ops run in their inputs'
 * dtypes. The casts are recorded, so gradients reach float32 parameters in
 * float32. Backward runs with autocast off, as in PyTorch.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { checkOptions } from "../options.ts";

/**
 * Options of {@link autocast}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.AutocastOptions = { deviceType: "cpu", dtype: "bfloat16" };
 * zn.autocast(opts, () => zn.ones([2, 2]).matmul(zn.ones([2, 2]))).dtype; // "bfloat16"
 * ```
 */
export interface AutocastOptions {
  /** "cpu" or "cuda": the device whose ops autocast (required). */
  deviceType: "cpu" | "cuda";
  /** The lower precision (default bfloat16 on the CPU, float16 on CUDA). */
  dtype?: "bfloat16" | "float16";
  /** When false, the region turns autocast off (default true). */
  enabled?: boolean;
}

interface State {
  enabled: boolean;
  dtype: "bfloat16" | "float16";
}

const states: Record<"cpu" | "cuda", State> = {
  cpu: { enabled: false, dtype: "bfloat16" },
  cuda: { enabled: false, dtype: "float16" },
};

/**
 * A region entered by {@link autocast}; leaving it (`exit()`, or the end of a
 * `using` block) restores the state before it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * {
 *   using _amp = zn.autocast({ deviceType: "cpu" });
 *   zn.ones([2, 2]).matmul(zn.ones([2, 2])).dtype; // "bfloat16"
 * }
 * zn.ones([2, 2]).matmul(zn.ones([2, 2])).dtype; // "float32"
 * ```
 */
export class AutocastRegion {
  readonly #device: "cpu" | "cuda";
  readonly #prev: State;
  #open = true;

  /** @internal */
  constructor(device: "cpu" | "cuda", prev: State) {
    this.#device = device;
    this.#prev = prev;
  }

  /** Leaves the region (again: nothing). */
  exit(): void {
    if (!this.#open) return;
    this.#open = false;
    states[this.#device] = this.#prev;
  }

  /** Leaves the region at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.exit();
  }
}

/**
 * Enters an autocast region for `opts.deviceType`. With `fn`, runs it inside
 * the region and returns its result; without, returns the region, to leave
 * with `exit()` or a `using` declaration.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(4, 2);
 * const y = zn.autocast({ deviceType: "cpu", dtype: "bfloat16" }, () => net.call(zn.randn([3, 4])));
 * y.dtype; // "bfloat16"
 * net.weight.dtype; // "float32": the parameters stay as they are
 * ```
 */
export function autocast(opts: AutocastOptions): AutocastRegion;
/**
 * Runs `fn` inside an autocast region for `opts.deviceType` and returns its result.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.autocast({ deviceType: "cpu" }, () => zn.ones([2, 2]).matmul(zn.ones([2, 2]))).dtype; // "bfloat16"
 * ```
 */
export function autocast<T>(opts: AutocastOptions, fn: () => T): T;
export function autocast<T>(opts: AutocastOptions, fn?: () => T): AutocastRegion | T {
  checkOptions("autocast", opts, ["deviceType", "dtype", "enabled"]);
  const device = opts?.deviceType;
  if (device !== "cpu" && device !== "cuda") {
    throw new TypeError(
      `autocast: deviceType must be "cpu" or "cuda", got ${JSON.stringify(device)}`,
    );
  }
  const dtype = opts.dtype ?? (device === "cpu" ? "bfloat16" : "float16");
  if (dtype !== "bfloat16" && dtype !== "float16") {
    throw new TypeError(
      `autocast: dtype must be "bfloat16" or "float16", got ${JSON.stringify(dtype)}`,
    );
  }
  const prev = states[device];
  states[device] = { enabled: opts.enabled ?? true, dtype };
  const region = new AutocastRegion(device, prev);
  if (fn === undefined) return region;
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("autocast: fn must be synchronous");
    return r;
  } finally {
    region.exit();
  }
}

/** Whether autocast is on for `deviceType` (default "cpu"). */
export function isAutocastEnabled(deviceType: "cpu" | "cuda" = "cpu"): boolean {
  return states[deviceType]?.enabled ?? false;
}

/** @internal Turns autocast off on every device while `fn` runs (backward). */
export function withoutAutocast<T>(fn: () => T): T {
  if (!states.cpu.enabled && !states.cuda.enabled) return fn();
  const prev = { cpu: states.cpu, cuda: states.cuda };
  states.cpu = { ...prev.cpu, enabled: false };
  states.cuda = { ...prev.cuda, enabled: false };
  try {
    return fn();
  } finally {
    states.cpu = prev.cpu;
    states.cuda = prev.cuda;
  }
}

function castTo<T>(args: T[], to: (t: Tensor) => DType | null): T[] {
  return args.map((a) => {
    if (!(a instanceof Tensor)) return a;
    const d = to(a);
    return (d === null || d === a.dtype ? a : a.to(d)) as T;
  });
}

function stateFor(args: readonly unknown[]): State | null {
  for (const a of args) {
    if (a instanceof Tensor) {
      const s = states[a.device === "cpu" ? "cpu" : "cuda"];
      return s.enabled ? s : null;
    }
  }
  return null;
}

const eligible = (d: DType) => d === "float32" || d === "float16" || d === "bfloat16";

/**
 * @internal The arguments of an op on PyTorch's lower-precision list: inside
 * an autocast region for their device, floating tensors other than float64
 * in the region's dtype; otherwise unchanged.
 */
export function lowerPrecision<T extends unknown[]>(...args: T): T {
  const s = stateFor(args);
  if (s === null) return args;
  return castTo(args, (t) => eligible(t.dtype) ? s.dtype : null) as T;
}

/**
 * @internal The arguments of an op on PyTorch's float32 list: inside an
 * autocast region, floating tensors other than float64 in float32.
 */
export function fullPrecision<T extends unknown[]>(...args: T): T {
  const s = stateFor(args);
  if (s === null) return args;
  return castTo(args, (t) => eligible(t.dtype) ? "float32" : null) as T;
}
