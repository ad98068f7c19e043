/**
 * Command-line flags for the example scripts: `--name value` or
 * `--name=value`, `--help`/`-h`, and one-line errors with exit code 2 for an
 * unknown flag (with the closest valid one), a malformed or missing value and
 * an unexpected argument.
 *
 * ```ts ignore
 * const cli = new Cli({
 *   name: "train",
 *   usage: "deno task train [flags]",
 *   summary: "Trains a model.",
 *   flags: {
 *     epochs: { type: "integer", min: 1, default: 8, description: "passes over the data" },
 *     model: { choices: ["cnn", "mlp"], default: "cnn", description: "the architecture" },
 *   },
 * });
 * const flags = cli.parse(); // { epochs: number; model: "cnn" | "mlp" }
 * ```
 *
 * @module
 */
import { dirname } from "node:path";
import * as zn from "../mod.ts";

interface CommonFlag {
  /** One line for `--help`. */
  description: string;
  /** How `--help` names the value, e.g. "N" or "FILE". */
  metavar?: string;
}

/** A flag whose value is text, optionally one of `choices` or matching `pattern`. */
export interface StringFlag extends CommonFlag {
  /** "string" (the default). */
  type?: "string";
  /** The value when the flag is not given; without one the value is undefined. */
  default?: string;
  /** The only values allowed. */
  choices?: readonly string[];
  /** A pattern the whole value must match. */
  pattern?: RegExp;
  /** What `pattern` allows, in words (for the error line and the help). */
  expected?: string;
}

/** A flag whose value is a number: any finite number, or an integer. */
export interface NumberFlag extends CommonFlag {
  /** "integer" or "number". */
  type: "integer" | "number";
  /** The value when the flag is not given; without one the value is undefined. */
  default?: number;
  /** The smallest value allowed. */
  min?: number;
  /** The value must be greater than this. */
  above?: number;
}

/** One flag's description. */
export type FlagSpec = StringFlag | NumberFlag;

type ValueOf<F> = F extends NumberFlag ? number
  : F extends { choices: readonly (infer C extends string)[] } ? C
  : string;

/** `--device`: cpu, cuda or cuda:N, default cpu (give it a description). */
export const DEVICE_FLAG = {
  pattern: /^(cpu|cuda(:\d+)?)$/,
  expected: "cpu, cuda or cuda:N",
  metavar: "cpu|cuda",
  default: "cpu",
  description: "the device",
} as const satisfies StringFlag;

/** The parsed values: a flag without a default may be undefined. */
export type Flags<S extends Record<string, FlagSpec>> = {
  -readonly [K in keyof S]: S[K] extends { default: string | number } ? ValueOf<S[K]>
    : ValueOf<S[K]> | undefined;
};

/** A usage mistake: the message names the flag or the argument. */
export class FlagError extends Error {
  override name = "FlagError";
}

/** What a script is called and what it does, and its flags. */
export interface CliInfo<S extends Record<string, FlagSpec>> {
  /** The prefix of error lines, e.g. "train". */
  name: string;
  /** The usage line, e.g. "deno task train [flags]". */
  usage: string;
  /** One sentence on what the script does. */
  summary?: string;
  /** The flags by name, without the dashes. */
  flags: S;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The valid name closest to `given` (a typo, a prefix, `_` for `-`), if any is close. */
export function closest(given: string, names: readonly string[]): string | undefined {
  const g = given.toLowerCase().replaceAll("_", "-");
  if (g === "") return undefined;
  let best: string | undefined, bestD = Infinity;
  for (const n of names) {
    const d = n.startsWith(g) ? 1 : distance(g, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(g.length / 3)) ? best : undefined;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value's parsed form, or a FlagError naming the flag and the value. */
function parseValue(name: string, spec: FlagSpec, raw: string): string | number {
  const bad = (expected: string) =>
    new FlagError(`--${name} expects ${expected}, got ${JSON.stringify(raw)}`);
  if (spec.type === "integer" || spec.type === "number") {
    const expected = describeNumber(spec);
    const ok = spec.type === "integer" ? INTEGER.test(raw) : NUMBER.test(raw);
    const v = Number(raw);
    if (!ok || !Number.isFinite(v) || (spec.type === "integer" && !Number.isSafeInteger(v))) {
      throw bad(expected);
    }
    if (spec.min !== undefined && v < spec.min) throw bad(expected);
    if (spec.above !== undefined && !(v > spec.above)) throw bad(expected);
    return v;
  }
  const { choices, pattern, expected } = spec as StringFlag;
  if (choices && !choices.includes(raw)) throw bad(`one of ${choices.join(", ")}`);
  if (pattern && !pattern.test(raw)) throw bad(expected ?? `${pattern}`);
  if (raw === "") throw bad("a value");
  return raw;
}

function describeNumber(spec: NumberFlag): string {
  const what = spec.type === "integer" ? "an integer" : "a number";
  if (spec.above !== undefined) return `${what} > ${spec.above}`;
  if (spec.min !== undefined) return `${what} >= ${spec.min}`;
  return what;
}

/**
 * The flags of `args`. Throws a FlagError for an unknown flag, a malformed
 * or missing value, or an argument that is not a flag. `--help` is not
 * handled here (see {@link wantsHelp}).
 */
export function parseFlags<const S extends Record<string, FlagSpec>>(
  args: readonly string[],
  specs: S,
): Flags<S> {
  const names = Object.keys(specs);
  const values: Record<string, string | number | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.default;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new FlagError(`unexpected argument ${JSON.stringify(arg)}`);
    }
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const name = flag.replace(/^--?/, "");
    if (!flag.startsWith("--") || !Object.hasOwn(specs, name)) {
      const near = closest(name, names);
      throw new FlagError(`unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ""}`);
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      // A following "--flag" is the next flag, not a value; "-1" is a value.
      if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
        throw new FlagError(`--${name} needs a value`);
      }
      raw = args[++i];
    }
    values[name] = parseValue(name, specs[name], raw);
  }
  return values as Flags<S>;
}

/** Whether `args` asks for the help (`--help` or `-h`). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.some((a) => a === "--help" || a === "-h");
}

/** A script's flags: parsing with one-line errors, the help, and failing with one line. */
export class Cli<const S extends Record<string, FlagSpec>> {
  /** The script's name, usage, summary and flags. */
  readonly info: CliInfo<S>;

  /** A command line for the script described by `info`. */
  constructor(info: CliInfo<S>) {
    this.info = info;
  }

  /** `--name` of every flag, `--help` included. */
  get validFlags(): string {
    return [...Object.keys(this.info.flags), "help"].map((n) => `--${n}`).join(", ");
  }

  /** The `--help` text: the usage, the summary and one line per flag with its default. */
  help(): string {
    const rows: [string, string][] = Object.entries(this.info.flags).map(([name, spec]) => {
      const choices = (spec as StringFlag).choices;
      const meta = spec.metavar ??
        (spec.type === "integer"
          ? "N"
          : spec.type === "number"
          ? "X"
          : choices?.join("|") ?? "VALUE");
      const def = spec.default === undefined ? "" : ` (default ${spec.default})`;
      return [`--${name} ${meta}`, spec.description + def];
    });
    rows.push(["-h, --help", "print this help and exit"]);
    const width = Math.max(...rows.map(([l]) => l.length)) + 2;
    return [
      `usage: ${this.info.usage}`,
      ...(this.info.summary ? ["", this.info.summary] : []),
      "",
      "flags:",
      ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`),
    ].join("\n");
  }

  /**
   * The flags of `args`: with `--help` prints the help and exits 0; on a
   * usage mistake prints one line to stderr (with the valid flags) and exits 2.
   */
  parse(args: readonly string[] = Deno.args): Flags<S> {
    if (wantsHelp(args)) {
      console.log(this.help());
      Deno.exit(0);
    }
    try {
      return parseFlags(args, this.info.flags);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      return this.fail(`${e.message}; valid flags: ${this.validFlags}`, 2);
    }
  }

  /** Prints `name: message` to stderr and exits with `code`. */
  fail(message: string, code = 1): never {
    console.error(`${this.info.name}: ${message}`);
    Deno.exit(code);
  }

  /** Fails with one line (exit code 1) when `device` is not the CPU and CUDA is not available. */
  checkDevice(device: string): void {
    if (device !== "cpu" && !zn.cuda.isAvailable()) {
      this.fail(`--device ${device}: CUDA is not available: ${zn.cuda.unavailableReason()}`);
    }
  }

  /**
   * Checks that the file `path` given as `--flag` can be written before any
   * work starts: its folder exists and takes files, and it is not a folder.
   * Fails with exit code 2 otherwise. Returns whether the file exists.
   */
  checkOutputFile(flag: string, path: string): boolean {
    const dir = dirname(path);
    const statOf = (p: string) => {
      try {
        return Deno.statSync(p);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        return this.fail(`--${flag} ${path}: ${(e as Error).message}`, 2);
      }
    };
    const d = statOf(dir);
    if (!d) return this.fail(`--${flag} ${path}: the folder ${dir} does not exist`, 2);
    if (!d.isDirectory) return this.fail(`--${flag} ${path}: ${dir} is not a folder`, 2);
    const f = statOf(path);
    if (f?.isDirectory) return this.fail(`--${flag} ${path} is a folder; give a file name`, 2);
    try {
      Deno.removeSync(Deno.makeTempFileSync({ dir, prefix: ".write-check-" }));
    } catch (e) {
      return this.fail(`--${flag} ${path}: cannot write into ${dir}: ${(e as Error).message}`, 2);
    }
    return f !== undefined;
  }
}
