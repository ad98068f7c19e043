// Small assertion helpers on node:assert (no network needed).
import { deepEqual, ok } from "node:assert/strict";

/** Asserts a condition. */
export function assert(cond: unknown, msg?: string): asserts cond {
  if (msg === undefined) ok(cond);
  else ok(cond, msg);
}

/** Deep equality. */
export function assertEquals(a: unknown, b: unknown, msg?: string): void {
  if (msg === undefined) deepEqual(a, b);
  else deepEqual(a, b, msg);
}

/** Asserts that `fn` throws an instance of `cls` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error = Error,
  includes = "",
): Error {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  ok(err !== undefined, `expected a throw (message including "${includes}")`);
  ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${err}`);
  ok(
    (err as Error).message.includes(includes),
    `message "${(err as Error).message}" does not include "${includes}"`,
  );
  return err as Error;
}
