/**
 * Printing tensors the way PyTorch does: `tensor([[1., 2.], [3., 4.]])`,
 * summarised with `...` beyond 1000 elements.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { isFloating } from "./dtype.ts";

const THRESHOLD = 1000;
const EDGE = 3;
const PRECISION = 4;

function formatter(values: number[], floating: boolean): (v: number) => string {
  if (!floating) return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const abs = finite.map(Math.abs).filter((v) => v !== 0);
  const allInt = finite.every((v) => Number.isInteger(v));
  const maxA = abs.length ? Math.max(...abs) : 0;
  const minA = abs.length ? Math.min(...abs) : 0;
  const special = (v: number) => Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (allInt) {
    if (maxA / minA > 1000 || maxA > 1e8) return (v) => Number.isFinite(v) ? sci(v) : special(v);
    return (v) => Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v);
  }
  if (maxA / minA > 1000 || maxA > 1e8 || minA < 1e-4) {
    return (v) => Number.isFinite(v) ? sci(v) : special(v);
  }
  return (v) => Number.isFinite(v) ? v.toFixed(PRECISION) : special(v);
}

function sci(v: number): string {
  const [m, e] = v.toExponential(PRECISION).split("e");
  const exp = Number(e);
  return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/**
 * PyTorch-style text for a tensor.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.tensor([1.5, 2]).toString(); // "tensor([1.5000, 2.0000])"
 * ```
 */
export function formatTensor(t: Tensor): string {
  const summarize = t.numel > THRESHOLD;
  const floating = isFloating(t.dtype);
  const nested = t.toArray();
  // Collect the values that will be shown, to pick one format for all.
  const shown: number[] = [];
  const collect = (x: unknown, d: number): void => {
    if (d === t.ndim) {
      shown.push(typeof x === "boolean" ? (x ? 1 : 0) : (x as number));
      return;
    }
    const a = x as unknown[];
    const idx = summarize && a.length > 2 * EDGE
      ? [...a.keys()].filter((i) => i < EDGE || i >= a.length - EDGE)
      : [...a.keys()];
    for (const i of idx) collect(a[i], d + 1);
  };
  collect(nested, 0);
  const fmt = t.dtype === "bool" ? (v: number) => String(v) : formatter(shown, floating);
  const str = (x: unknown): string =>
    typeof x === "boolean" ? (x ? "True" : "False") : fmt(x as number);
  // As PyTorch, the column width comes from the shown finite non-zero values
  // (for floats), so "nan" and "inf" do not widen it.
  const widthOf = floating ? shown.filter((v) => Number.isFinite(v) && v !== 0) : shown;
  const width = Math.max(
    1,
    ...widthOf.map((v) => t.dtype === "bool" ? (v ? 4 : 5) : str(v).length),
  );
  const indent = "tensor(".length;
  const LINEWIDTH = 80;
  const render = (x: unknown, d: number): string => {
    if (d === t.ndim) return str(x).padStart(width);
    const a = x as unknown[];
    const parts: string[] = [];
    const cut = summarize && a.length > 2 * EDGE;
    const last = d === t.ndim - 1;
    if (cut) {
      for (let i = 0; i < EDGE; i++) parts.push(render(a[i], d + 1));
      parts.push(last ? " ..." : "...");
      for (let i = a.length - EDGE; i < a.length; i++) parts.push(render(a[i], d + 1));
    } else {
      for (const y of a) parts.push(render(y, d + 1));
    }
    if (last) {
      // Wrap long rows at 80 columns, as PyTorch's _vector_str.
      const perLine = Math.max(1, Math.floor((LINEWIDTH - indent - d) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < parts.length; i += perLine) {
        lines.push(parts.slice(i, i + perLine).join(", "));
      }
      return `[${lines.join(",\n" + " ".repeat(indent + d + 1))}]`;
    }
    const sep = "," + "\n".repeat(t.ndim - 1 - d) + " ".repeat(indent + d + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = t.ndim === 0 ? str(nested) : t.numel === 0 ? "[]" : render(nested, 0);
  const defaultDType = t.dtype === "float32" || t.dtype === "int64" || t.dtype === "bool";
  const extras: string[] = [];
  if (t.numel === 0 && t.ndim !== 1) extras.push(`size=(${t.shape.join(", ")})`);
  if (!defaultDType) extras.push(`dtype=${t.dtype}`);
  if (t.device !== "cpu") extras.push(`device='${t.device}'`);
  return `tensor(${body}${extras.length ? ", " + extras.join(", ") : ""})`;
}
