/**
 * Tabular data: CSV text or files to a TensorDataset of features and target.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { TensorDataset } from "./dataset.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkArray, checkPath, checkString } from "../args.ts";
import { isText, pyInt, toInt64, toNumber } from "./py_number.ts";

/**
 * Options of {@link csv}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.CsvOptions = { header: false, targetColumn: 0, delimiter: ";" };
 * const ds = zn.data.csv("1;0.5;2\n0;1.5;3\n", opts);
 * ds.tensors[1].toArray(); // [1, 0]
 * ```
 */
export interface CsvOptions {
  /**
   * Whether the first row names the columns (default: detected, true when
   * the first row has a field that is not a number).
   */
  header?: boolean;
  /**
   * The target column: a name (with a header), an index (negative counts
   * from the end), or null for features only (default: the last column).
   */
  targetColumn?: string | number | null;
  /** Field separator (default ","). */
  delimiter?: string;
}

/**
 * A TensorDataset from CSV: features `[N, F]` float32 and, unless
 * `targetColumn` is null, the target `[N]`: int64 when every value is
 * written as an integer (class labels; `3.0` is a float; read exactly, a
 * value outside the int64 range is a RangeError), float32 otherwise, and
 * class indices when it holds text (the sorted distinct names are in
 * `classes`).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const ds = zn.data.csv("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n", { targetColumn: "label" });
 * ds instanceof zn.data.CsvDataset; // true
 * [ds.columns, ds.target, ds.classes]; // [["a", "b"], "label", ["cat", "dog"]]
 * ds.tensors[1].toArray(); // [0, 1, 0]
 * ```
 */
export class CsvDataset extends TensorDataset<Tensor[]> {
  /** Names of the feature columns (`"0"`, `"1"`, ... without a header). */
  readonly columns: readonly string[];
  /** Name of the target column, or null. */
  readonly target: string | null;
  /** The class names of a text target, by index; null otherwise. */
  readonly classes: readonly string[] | null;

  /** @internal Use {@link csv}. */
  constructor(
    tensors: Tensor[],
    columns: readonly string[],
    target: string | null,
    classes: readonly string[] | null,
  ) {
    checkArray(tensors, "CsvDataset", "tensors");
    super(...tensors);
    this.columns = columns;
    this.target = target;
    this.classes = classes;
  }
}

/**
 * Splits CSV text into rows of fields (RFC 4180 quoting; blank lines skipped).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.data.parseCsv('a,b\n1,"x,y"\n\n2,3\n'); // [["a", "b"], ["1", "x,y"], ["2", "3"]]
 * ```
 */
export function parseCsv(text: string, delimiter = ","): string[][] {
  checkString(text, "parseCsv", "text");
  checkString(delimiter, "parseCsv", "delimiter");
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n") {
    throw new TypeError(`csv: delimiter must be one character other than a quote or newline`);
  }
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  let quoted = false;
  for (; i < n; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field.trim() === "") {
      quoted = true;
      field = "";
    } else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.length > 1 || row[0].trim() !== "") rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (quoted) throw new SyntaxError("csv: unterminated quoted field");
  row.push(field);
  if (row.length > 1 || row[0].trim() !== "") rows.push(row);
  return rows;
}

/**
 * A {@link CsvDataset} (a TensorDataset of features float32 `[N, F]` and
 * target `[N]`) from CSV text, or from a file when `textOrPath` is a URL or
 * a string without a newline. Numbers are read as Python's `float()` reads
 * them (`inf`, `-nan`, `1_000`, `1e5` and `" 3.5 "` read as numbers, but
 * not `0x10`); empty or blank fields read as NaN; a text target becomes
 * class indices in the sorted order of its names. An integer target is read
 * exactly into int64; a value outside the int64 range is a RangeError.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { csv } = zn.data;
 * const ds = csv("a,b,label\n1,2,0\n3,4,1\n", { targetColumn: "label" });
 * const [x, y] = ds.tensors;
 * x.toArray(); // [[1, 2], [3, 4]]
 * y.dtype; // "int64"
 * zn.mean(x, 0).toArray(); // [2, 3]
 * ```
 */
export function csv(textOrPath: string | URL, opts: CsvOptions = {}): CsvDataset {
  checkPath(textOrPath, "csv", "the CSV text or path");
  checkOptions("csv", opts, optionKeys<CsvOptions>({ header: 0, targetColumn: 0, delimiter: 0 }));
  const text = textOrPath instanceof URL || !/[\r\n]/.test(textOrPath)
    ? Deno.readTextFileSync(textOrPath)
    : textOrPath;
  const rows = parseCsv(text, opts.delimiter ?? ",");
  if (rows.length === 0) throw new RangeError("csv: no rows");
  const width = rows[0].length;
  const header = opts.header ?? rows[0].some(isText);
  const names = header ? rows[0].map((f) => f.trim()) : rows[0].map((_, k) => String(k));
  const body = header ? rows.slice(1) : rows;
  body.forEach((r, k) => {
    if (r.length !== width) {
      throw new RangeError(
        `csv: row ${k + (header ? 2 : 1)} has ${r.length} fields, expected ${width}`,
      );
    }
  });
  const tc = opts.targetColumn === undefined ? -1 : opts.targetColumn;
  let t: number | null = null;
  if (typeof tc === "string") {
    t = names.indexOf(tc);
    if (t < 0) throw new RangeError(`csv: no column named "${tc}" (columns: ${names.join(", ")})`);
  } else if (typeof tc === "number") {
    t = tc < 0 ? tc + width : tc;
    if (!Number.isInteger(t) || t < 0 || t >= width) {
      throw new RangeError(`csv: targetColumn ${tc} is out of range for ${width} columns`);
    }
  }
  const n = body.length;
  const featureCols = names.map((_, k) => k).filter((k) => k !== t);
  const f = featureCols.length;
  const x = new Float32Array(n * f);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < f; c++) {
      const s = body[r][featureCols[c]];
      const v = toNumber(s);
      if (v === undefined) {
        throw new TypeError(
          `csv: non-numeric value "${s}" in column "${names[featureCols[c]]}", row ${
            r + (header ? 2 : 1)
          }`,
        );
      }
      x[r * f + c] = v;
    }
  }
  const tensors: Tensor[] = [tensor(x, { shape: [n, f] })];
  let classes: string[] | null = null;
  if (t !== null) {
    const raw = body.map((r) => r[t].trim());
    if (raw.some(isText)) {
      classes = [...new Set(raw)].sort();
      const index = new Map(classes.map((c, k) => [c, k]));
      tensors.push(tensor(BigInt64Array.from(raw, (s) => BigInt(index.get(s)!))));
    } else if (n > 0 && raw.every((s) => pyInt(s) !== undefined)) {
      // Read from the text, exactly: through a float, integers past 2^53 would be rounded.
      const name = names[t];
      tensors.push(
        tensor(BigInt64Array.from(raw, (s, r) => toInt64(s, name, r + (header ? 2 : 1)))),
      );
    } else {
      tensors.push(tensor(Float32Array.from(raw, (s) => toNumber(s)!)));
    }
  }
  return new CsvDataset(
    tensors,
    featureCols.map((k) => names[k]),
    t === null ? null : names[t],
    classes,
  );
}
