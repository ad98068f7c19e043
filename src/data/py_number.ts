/**
 * Numbers read from text fields as Python reads them, for csv.ts.
 *
 * @module
 */

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
 * @internal What Python's `float(s)` returns for the string `s`, or undefined where
 * it raises ValueError (including for an empty or blank string). Unlike
 * JavaScript's `Number`, it refuses `"0x10"`, `"0b1"`, `"0o7"` and `""`, and
 * reads `"inf"`, `"-nan"`, `"1_000"` and digits of other scripts (`"١٢"`).
 *
 * @example
 * ```ts
 * import { pyFloat } from "./py_number.ts";
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
 * @internal The exact value of `s` when Python's `int(s)` reads it (base 10: digits,
 * a sign, surrounding white space, underscores between digits), or
 * undefined.
 */
export function pyInt(s: string): bigint | undefined {
  const t = normalizeNumber(s);
  return t !== undefined && INTEGER.test(t) ? BigInt(t) : undefined;
}

/** A field with nothing but white space: a missing value, read as NaN. */
function isBlank(s: string): boolean {
  return normalizeNumber(s) === "";
}

/** @internal A field that is neither a number nor blank. */
export function isText(s: string): boolean {
  return pyFloat(s) === undefined && !isBlank(s);
}

/** @internal A number field's value (NaN for a blank one); undefined for text. */
export function toNumber(s: string): number | undefined {
  return isBlank(s) ? NaN : pyFloat(s);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * @internal A field of an int64 column, exactly (no rounding through a float), or a
 * RangeError naming the value, the column and the row.
 */
export function toInt64(s: string, column: string, row: number): bigint {
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
