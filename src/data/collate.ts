/**
 * The default collate: a list of samples to one batch, like PyTorch's
 * `default_collate`.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import type { TypedArray } from "../dtype.ts";
import { tensor } from "../ops/creation.ts";
import { stack } from "../ops/join.ts";
import { checkArray } from "../args.ts";

/**
 * The batch type that {@link defaultCollate} makes from samples of type `S`:
 * tensors, numbers, booleans and typed arrays become one tensor, strings a
 * list, and tuples, arrays and records are collated element by element.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * type Sample = { x: zn.Tensor; label: number; name: string };
 * const batch: zn.data.Collated<Sample> = zn.data.defaultCollate<Sample>([
 *   { x: zn.ones([2]), label: 0, name: "a" },
 *   { x: zn.zeros([2]), label: 1, name: "b" },
 * ]);
 * [batch.x.shape, batch.label.dtype, batch.name]; // [[2, 2], "int64", ["a", "b"]]
 * ```
 */
export type Collated<S> = S extends Tensor ? Tensor
  : S extends number | boolean | bigint | TypedArray ? Tensor
  : S extends string ? string[]
  : S extends readonly unknown[] ? { [K in keyof S]: Collated<S[K]> }
  : S extends Record<string, unknown> ? { [K in keyof S]: Collated<S[K]> }
  : S[];

/**
 * Collates `samples` into a batch, like PyTorch's `default_collate`:
 * tensors are stacked on a new dim 0; numbers become an int64 tensor when
 * all are integers and a float64 one otherwise (PyTorch's `int` and `float`
 * rules; keep float targets in tensors to fix their dtype); booleans a bool
 * tensor; typed arrays are stacked as 1-D tensors; strings stay a list; and
 * tuples, arrays and plain records are collated field by field.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { defaultCollate } = zn.data;
 * const batch = defaultCollate([
 *   { x: zn.ones([2]), y: 0 },
 *   { x: zn.zeros([2]), y: 1 },
 * ]);
 * batch.x.shape; // [2, 2]
 * batch.y.toArray(); // [0, 1]
 * ```
 */
export function defaultCollate<S>(samples: readonly S[]): Collated<S> {
  checkArray(samples, "defaultCollate", "samples");
  return collate(samples as readonly unknown[], "batch") as Collated<S>;
}

function collate(samples: readonly unknown[], path: string): unknown {
  if (samples.length === 0) throw new RangeError("defaultCollate: cannot collate an empty batch");
  const first = samples[0];
  if (first instanceof Tensor) {
    for (const s of samples) {
      if (!(s instanceof Tensor)) throw typeMix(path);
    }
    return stack(samples as Tensor[], 0);
  }
  if (typeof first === "number" || typeof first === "bigint") {
    const v = new Float64Array(samples.length);
    let allInt = true;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      if (typeof s !== "number" && typeof s !== "bigint") throw typeMix(path);
      v[i] = Number(s);
      if (!Number.isInteger(v[i])) allInt = false;
    }
    if (!allInt) return tensor(v);
    const a = new BigInt64Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      a[i] = typeof s === "bigint" ? s : BigInt(s as number);
    }
    return tensor(a);
  }
  if (typeof first === "boolean") {
    for (const s of samples) if (typeof s !== "boolean") throw typeMix(path);
    return tensor(samples as boolean[]);
  }
  if (typeof first === "string") {
    for (const s of samples) if (typeof s !== "string") throw typeMix(path);
    return samples.slice();
  }
  if (ArrayBuffer.isView(first) && !(first instanceof DataView)) {
    return stack(
      samples.map((s) => {
        if (!ArrayBuffer.isView(s) || s instanceof DataView) throw typeMix(path);
        return tensor(s as TypedArray);
      }),
      0,
    );
  }
  if (Array.isArray(first)) {
    const n = first.length;
    for (const s of samples) {
      if (!Array.isArray(s)) throw typeMix(path);
      if (s.length !== n) {
        throw new RangeError(
          `defaultCollate: each element in list of batch should be of equal size (${path})`,
        );
      }
    }
    const out = new Array(n);
    for (let k = 0; k < n; k++) {
      out[k] = collate(samples.map((s) => (s as unknown[])[k]), `${path}[${k}]`);
    }
    return out;
  }
  if (first !== null && typeof first === "object" && isPlainObject(first)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) {
      out[key] = collate(
        samples.map((s) => {
          if (s === null || typeof s !== "object" || !(key in s)) {
            throw new TypeError(`defaultCollate: sample lacks key "${key}" (${path})`);
          }
          return (s as Record<string, unknown>)[key];
        }),
        `${path}.${key}`,
      );
    }
    return out;
  }
  throw new TypeError(
    `defaultCollate: batch must contain tensors, numbers, booleans, strings, typed arrays, arrays or records; found ${
      first === null ? "null" : typeof first
    } at ${path}`,
  );
}

function isPlainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

function typeMix(path: string): TypeError {
  return new TypeError(`defaultCollate: samples mix types at ${path}`);
}
