/**
 * @internal Option checks shared by the recurrent layers and cells.
 *
 * @module
 */
import { type DType, isFloating } from "../dtype.ts";
import { describe, typeError } from "../args.ts";

/** @internal Throws unless `v` is a boolean (or undefined: the default). */
export function boolOption(v: unknown, dflt: boolean, op: string, name: string): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") typeError(op, name, "a boolean", v);
  return v;
}

/** @internal The dtype option of a recurrent layer: a floating dtype, float32 by default. */
export function floatDTypeOption(v: unknown, op: string): DType {
  if (v === undefined) return "float32";
  if (typeof v !== "string" || !isFloating(v as DType)) {
    throw new TypeError(
      `${op}: dtype must be a floating dtype (float32, float64, float16, bfloat16), got ${
        describe(v)
      }`,
    );
  }
  return v as DType;
}
