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

/** Options of {@link csv}. */
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

/** Splits CSV text into rows of fields (RFC 4180 quoting; blank lines skipped). */
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

// ------------------------------------------------------------- numbers
//
// A field is read as Python's float() reads a string (CPython's
// PyFloat_FromString): non-ASCII white space and decimal digits of any script
// first become ASCII; then surrounding ASCII white space is dropped;
// underscores are allowed only between two digits ("1_000"); what is left
// must be a decimal number ("1", "-2.", ".5", "1e-3") or, in any case,
// "inf", "infinity" or "nan" with an optional sign. JavaScript's Number()
// differs: it reads "0x10", "0b1" and "0o7" as integers, "" and " " as 0,
// and refuses "inf", "+nan" and "1_000".

/** Python's ASCII white space (Py_ISSPACE): space, \t, \n, \v, \f, \r. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** The non-ASCII characters that Python's str.isspace() accepts (Py_UNICODE_ISSPACE). */
const UNICODE_SPACE = /^[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * The value of a Unicode decimal digit: they come in contiguous runs of ten,
 * 0 to 9, so the value is the distance from the run's start, mod 10.
 */
function digitValue(cp: number): number {
  let start = cp;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/**
 * `s` as Python's float() and int() see it: non-ASCII white space as " ",
 * non-ASCII decimal digits as ASCII ones, surrounding ASCII white space
 * removed, underscores between digits removed. Undefined when a non-ASCII
 * character is neither, or an underscore is misplaced.
 */
function normalizeNumber(s: string): string | undefined {
  let t = s;
  if (/[^ -~\t-\r]/.test(s)) { // anything but printable ASCII and \t to \r: the slow path
    t = "";
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) t += ch;
      else if (UNICODE_SPACE.test(ch)) t += " ";
      else if (DECIMAL_DIGIT.test(ch)) t += String.fromCharCode(0x30 + digitValue(cp));
      else return undefined;
    }
  }
  let a = 0, b = t.length;
  while (a < b && isAsciiSpace(t.charCodeAt(a))) a++;
  while (b > a && isAsciiSpace(t.charCodeAt(b - 1))) b--;
  t = t.slice(a, b);
  if (t.includes("_")) {
    if (/(^|[^0-9])_|_([^0-9]|$)/.test(t)) return undefined; // only between two digits
    t = t.replaceAll("_", "");
  }
  return t;
}

const DECIMAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const INF = /^[+-]?inf(inity)?$/i;
const NAN = /^[+-]?nan$/i;
const INTEGER = /^[+-]?[0-9]+$/;

/**
 * What Python's `float(s)` returns for the string `s`, or undefined where
 * it raises ValueError (including for an empty or blank string). Unlike
 * JavaScript's `Number`, it refuses `"0x10"`, `"0b1"`, `"0o7"` and `""`, and
 * reads `"inf"`, `"-nan"`, `"1_000"` and digits of other scripts (`"١٢"`).
 *
 * @example
 * ```ts
 * import { pyFloat } from "./csv.ts";
 * pyFloat(" 1_000 "); // 1000
 * pyFloat("-inf"); // -Infinity
 * pyFloat("0x10"); // undefined (Number("0x10") is 16)
 * ```
 */
export function pyFloat(s: string): number | undefined {
  const t = normalizeNumber(s);
  if (t === undefined) return undefined;
  if (DECIMAL.test(t)) return Number(t);
  if (INF.test(t)) return t.charCodeAt(0) === 0x2d ? -Infinity : Infinity;
  if (NAN.test(t)) return NaN;
  return undefined;
}

/**
 * The exact value of `s` when Python's `int(s)` reads it (base 10: digits,
 * a sign, surrounding white space, underscores between digits), or
 * undefined.
 */
function pyInt(s: string): bigint | undefined {
  const t = normalizeNumber(s);
  return t !== undefined && INTEGER.test(t) ? BigInt(t) : undefined;
}

/** A field with nothing but white space: a missing value, read as NaN. */
function isBlank(s: string): boolean {
  return normalizeNumber(s) === "";
}

/** A field that is neither a number nor blank. */
function isText(s: string): boolean {
  return pyFloat(s) === undefined && !isBlank(s);
}

/** A number field's value (NaN for a blank one); undefined for text. */
function toNumber(s: string): number | undefined {
  return isBlank(s) ? NaN : pyFloat(s);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A field of an int64 column, exactly (no rounding through a float), or a
 * RangeError naming the value, the column and the row.
 */
function toInt64(s: string, column: string, row: number): bigint {
  const v = pyInt(s);
  const where = `in column "${column}", row ${row}`;
  if (v === undefined) {
    const f = pyFloat(s);
    throw new RangeError(
      `csv: value "${s.trim()}" ${where} cannot be stored in an int64 column${
        f !== undefined && !Number.isFinite(f) ? " (NaN and infinities have no int64 value)" : ""
      }`,
    );
  }
  if (v < INT64_MIN || v > INT64_MAX) {
    throw new RangeError(
      `csv: value "${s.trim()}" ${where} is outside the int64 range [${INT64_MIN}, ${INT64_MAX}]`,
    );
  }
  return v;
}

/**
 * A {@link CsvDataset} (a TensorDataset of features float32 `[N, F]` and
 * target `[N]`) from CSV text, or from a file when `textOrPath` is a URL or
 * a string without a newline. Numbers are read as Python's `float()` reads
 * them (see {@link pyFloat}: `inf`, `-nan`, `1_000`, `1e5`, `" 3.5 "`, but
 * not `0x10`); empty or blank fields read as NaN; a text target becomes
 * class indices in the sorted order of its names. An integer target is read
 * exactly into int64; a value outside the int64 range is a RangeError.
 *
 * @example
 * ```ts
 * import * as zn from "../../mod.ts";
 * import { csv } from "./mod.ts";
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
