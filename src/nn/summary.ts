/**
 * `zn.nn.summary`: a per-layer table of a model (layer, output shape,
 * parameters), as torchinfo prints it.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { zeros } from "../ops/creation.ts";
import { checkIntList } from "../args.ts";
import { checkDType, type DType, ITEMSIZE } from "../dtype.ts";
import { checkOptions } from "../options.ts";
import { Module } from "./module.ts";
import type { RemovableHandle } from "./module_hooks.ts";

/**
 * Options of {@link summary}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.SummaryOptions = { dtype: "float64", depth: 1 };
 * zn.nn.summary(new zn.nn.Linear(2, 2).double(), [1, 2], opts).totalParams; // 6
 * ```
 */
export interface SummaryOptions {
  /** The input's dtype (default float32). */
  dtype?: DType;
  /** The input's device (default "cpu"). */
  device?: string;
  /** Nesting levels to show (default 3, as torchinfo). */
  depth?: number;
}

/**
 * One row of a {@link ModelSummary}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const row: zn.nn.SummaryRow = zn.nn.summary(new zn.nn.Linear(2, 3), [4, 2]).rows[0];
 * row.outputShape; // [4, 3]
 * ```
 */
export interface SummaryRow {
  /** The module's class name. */
  type: string;
  /** Its dotted name in the model ("" for the model). */
  name: string;
  /** Nesting level (0 for the model). */
  depth: number;
  /** The output's shape (the first tensor's, for several outputs), or null. */
  outputShape: number[] | null;
  /** Parameter elements the module holds itself (not its children's). */
  params: number;
}

/**
 * What {@link summary} returns: the rows, the totals, and the table as text
 * (`toString()`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const s: zn.nn.ModelSummary = zn.nn.summary(new zn.nn.Linear(2, 3), [4, 2]);
 * s.trainableParams; // 9
 * ```
 */
export interface ModelSummary {
  /** One row per module, in call order within each parent. */
  rows: SummaryRow[];
  /** Parameter elements in all. */
  totalParams: number;
  /** Those that require grad. */
  trainableParams: number;
  /** Bytes the parameters take. */
  paramBytes: number;
  /** The table, as torchinfo prints it. */
  toString(): string;
}

const SUMMARY_KEYS = ["dtype", "device", "depth"] as const;

function firstShape(out: unknown): number[] | null {
  if (out instanceof Tensor) return out.shape.slice();
  if (Array.isArray(out)) {
    for (const o of out) {
      const s = firstShape(o);
      if (s) return s;
    }
  }
  return null;
}

const fmtCount = (n: number) => n.toLocaleString("en-US");

/**
 * Runs `model` once on zeros of `inputShape` (without recording gradients)
 * and lists each module with its output shape and parameter count, nested
 * as in the model, followed by the totals, as torchinfo's `summary` does.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(784, 128), new zn.nn.ReLU(), new zn.nn.Linear(128, 10));
 * const s = zn.nn.summary(net, [1, 784]);
 * s.totalParams; // 101770
 * console.log(String(s));
 * ```
 */
export function summary(
  model: Module,
  inputShape: readonly number[],
  opts: SummaryOptions = {},
): ModelSummary {
  if (!(model instanceof Module)) throw new TypeError("summary: model must be a Module");
  checkIntList(inputShape, "summary", "inputShape");
  checkOptions("summary", opts, SUMMARY_KEYS);
  const dtype = opts.dtype === undefined ? "float32" : checkDType(opts.dtype, "summary");
  const depthLimit = opts.depth ?? 3;
  const names = new Map<Module, [string, number]>();
  for (const [name, m] of model.namedModules()) {
    names.set(m, [name, name === "" ? 0 : name.split(".").length]);
  }
  const rows = new Map<Module, SummaryRow>();
  const order: Module[] = [];
  const handles: RemovableHandle[] = [];
  const addRow = (m: Module) => {
    const [name, depth] = names.get(m)!;
    let params = 0;
    for (const p of m.parameters(false)) params += p.numel;
    rows.set(m, { type: m.constructor.name, name, depth, outputShape: null, params });
    order.push(m);
  };
  for (const m of names.keys()) {
    // A pre-hook fixes the row's place when the module starts (parents before
    // children); the forward hook fills in its output.
    handles.push(m.registerForwardPreHook((mod) => {
      if (!rows.has(mod)) {
        addRow(mod);
      }
    }));
    handles.push(m.registerForwardHook((mod, _args, out) => {
      const row = rows.get(mod)!;
      row.outputShape ??= firstShape(out);
    }));
  }
  try {
    noGrad(() => {
      const x = zeros([...inputShape], { dtype, device: opts.device ?? "cpu" });
      (model.call as (...a: unknown[]) => unknown)(x);
    });
  } finally {
    for (const h of handles) h.remove();
  }
  // Modules the forward never called still hold parameters.
  for (const m of names.keys()) if (!rows.has(m)) addRow(m);
  let total = 0, trainable = 0, bytes = 0;
  for (const p of model.parameters()) {
    total += p.numel;
    if (p.requiresGrad) trainable += p.numel;
    bytes += p.numel * ITEMSIZE[p.dtype];
  }
  const list = order.map((m) => rows.get(m)!);
  return {
    rows: list,
    totalParams: total,
    trainableParams: trainable,
    paramBytes: bytes,
    toString: () => table(list, depthLimit, total, trainable, bytes),
  };
}

function table(
  rows: SummaryRow[],
  depthLimit: number,
  total: number,
  trainable: number,
  bytes: number,
): string {
  const w = [41, 26, 23];
  const line = "=".repeat(w[0] + w[1] + w[2]);
  const pad = (s: string, n: number) => s.length >= n ? s + " " : s.padEnd(n);
  const out = [
    line,
    pad("Layer (type:depth-idx)", w[0]) + pad("Output Shape", w[1]) + "Param #",
    line,
  ];
  const counters: number[] = [];
  for (const r of rows) {
    if (r.depth > depthLimit) continue;
    counters[r.depth] = (counters[r.depth] ?? 0) + 1;
    counters.length = r.depth + 1;
    const label = r.depth === 0
      ? r.type
      : `${"│    ".repeat(r.depth - 1)}${r.depth === 1 ? "├─" : "└─"}${r.type}: ${r.depth}-${
        counters[r.depth]
      }`;
    const shape = r.outputShape ? `[${r.outputShape.join(", ")}]` : "--";
    out.push(pad(label, w[0]) + pad(shape, w[1]) + (r.params ? fmtCount(r.params) : "--"));
  }
  out.push(
    line,
    `Total params: ${fmtCount(total)}`,
    `Trainable params: ${fmtCount(trainable)}`,
    `Non-trainable params: ${fmtCount(total - trainable)}`,
    `Params size (MB): ${(bytes / 1e6).toFixed(2)}`,
    line,
  );
  return out.join("\n");
}
