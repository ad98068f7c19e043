/**
 * Options objects: every public function that takes an options bag checks
 * its keys, so that a misspelt or snake_case option (`weight_decay`,
 * `label_smoothing`) is an error instead of a silently ignored setting.
 *
 * @module
 */

/**
 * Throws a TypeError when `opts` is not a plain options object, or has a key
 * not in `allowed`. `undefined` passes. Keys whose value is `undefined` are
 * checked too (a typo is a typo). No allocation when every key is known.
 */
export function checkOptions(op: string, opts: unknown, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) notAnObject(op, opts);
  for (const k in opts) {
    if (!allowed.includes(k)) unknownOption(op, k, allowed);
  }
}

/**
 * Throws a TypeError unless `value` is a boolean: a positional flag such as
 * `keepdim` given an options object (`sum(0, { keepdim: false })`) would
 * otherwise count as true.
 */
export function checkFlag(op: string, name: string, value: unknown): void {
  if (typeof value === "boolean") return;
  throw new TypeError(
    `${op}: ${name} must be a boolean, got ${describe(value)}${
      typeof value === "object" && value !== null
        ? ` (${name} is a positional argument, not an option)`
        : ""
    }`,
  );
}

/**
 * The keys of an options interface, listed once and checked by the compiler
 * to be exactly the interface's keys (inherited ones included): adding an
 * option to the interface without listing it here is a type error.
 */
export function optionKeys<T>(keys: { [K in keyof Required<T>]: 0 }): readonly string[] {
  return Object.keys(keys);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `a string (${JSON.stringify(v)})`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") {
    return `${typeof v} ${String(v)}`;
  }
  return typeof v;
}

function notAnObject(op: string, v: unknown): never {
  throw new TypeError(`${op}: expected an options object, got ${describe(v)}`);
}

/** "weight_decay" → "weightDecay"; also "keepDim" → "keepdim" (same letters, other case). */
function suggestion(key: string, allowed: readonly string[]): string | undefined {
  const camel = key.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  if (camel !== key && allowed.includes(camel)) return camel;
  const loose = key.replaceAll("_", "").toLowerCase();
  return allowed.find((a) => a.toLowerCase() === loose);
}

function unknownOption(op: string, key: string, allowed: readonly string[]): never {
  const hint = suggestion(key, allowed);
  throw new TypeError(
    `${op}: unknown option ${JSON.stringify(key)}${
      hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ""
    }; valid options: ${allowed.length > 0 ? allowed.join(", ") : "none"}`,
  );
}
