/**
 * The wire format of the inference server: a tensor in a request or a
 * response body, as JSON (`{"input": nested arrays}`, answered with
 * `{"output": nested arrays, "shape": [...], "dtype": "..."}`) or as raw
 * little-endian bytes with the dtype and shape in the `X-Tensor-Dtype` and
 * `X-Tensor-Shape` headers. Every problem with a request is an
 * {@link HttpError} whose message names it.
 *
 * @module
 */
import { type DType, ITEMSIZE, STORAGE_CTOR, type TypedArray } from "../dtype.ts";

/**
 * An HTTP error status with a message for the client.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const e = new zn.serve.HttpError(400, "bad JSON");
 * e.status; // 400
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status code. */
  readonly status: number;
  /**
   * @param status The HTTP status code.
   * @param message What was wrong.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/**
 * A tensor on the wire: dtype, shape and its elements in a typed array.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const p: zn.serve.TensorPayload = {
 *   dtype: "float32",
 *   shape: [1, 2],
 *   data: new Float32Array([0.5, 1]),
 * };
 * ```
 */
export interface TensorPayload {
  /** The element type. */
  dtype: DType;
  /** The shape; the first dim is the batch. */
  shape: number[];
  /** The elements, row-major. */
  data: TypedArray;
}

/** The dtypes a request may carry. */
const WIRE_DTYPES: readonly DType[] = ["float32", "float64", "int64", "int32", "uint8"];

/** The header that carries a binary tensor's dtype. */
export const DTYPE_HEADER = "x-tensor-dtype";
/** The header that carries a binary tensor's shape (comma-separated). */
export const SHAPE_HEADER = "x-tensor-shape";

/** A request's media type: Content-Type without its parameters, lower case. */
function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** @internal Whether a request carries a raw tensor (and is answered with one). */
export function isBinary(req: Request): boolean {
  return mediaType(req) === "application/octet-stream";
}

/** Reads the body, refusing more than `maxBytes` (413) before and while reading. */
async function readBody(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpError(413, `request body of ${declared} bytes is over the limit of ${maxBytes}`);
  }
  if (!req.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new HttpError(413, `request body is over the limit of ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The shape of nested arrays, checked to be rectangular, and their numbers flattened. */
function flattenNested(v: unknown): { shape: number[]; values: number[] } {
  const shape: number[] = [];
  let probe = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const values: number[] = [];
  const walk = (x: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof x !== "number" && typeof x !== "boolean") {
        throw new HttpError(400, `input${path} is ${x === null ? "null" : typeof x}, not a number`);
      }
      values.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new HttpError(
        400,
        `input${path} is ${
          Array.isArray(x) ? `an array of ${x.length}` : "not an array"
        }; the nested arrays are ragged (expected ${shape[depth]} at depth ${depth})`,
      );
    }
    x.forEach((y, i) => walk(y, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, "");
  return { shape, values };
}

function checkDType(d: string): DType {
  if (!(WIRE_DTYPES as readonly string[]).includes(d)) {
    throw new HttpError(400, `unsupported dtype '${d}'; expected one of ${WIRE_DTYPES.join(", ")}`);
  }
  return d as DType;
}

function toTyped(dtype: DType, values: number[]): TypedArray {
  if (dtype === "int64") return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
  const Ctor = STORAGE_CTOR[dtype] as unknown as { from(a: number[]): TypedArray };
  return Ctor.from(values);
}

/**
 * Parses a request body into a tensor: JSON `{"input": [...], "dtype"?:
 * "float32"}` or raw bytes (`Content-Type: application/octet-stream`) with
 * the `X-Tensor-Dtype` and `X-Tensor-Shape` headers.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const req = new Request("http://x/v1/predict", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ input: [[1, 2]] }),
 * });
 * const p = await zn.serve.readPayload(req, 1 << 20);
 * p.shape; // [1, 2]
 * ```
 */
export async function readPayload(req: Request, maxBytes: number): Promise<TensorPayload> {
  const type = mediaType(req);
  if (type === "application/json") {
    const body = await readBody(req, maxBytes);
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(body));
    } catch (e) {
      throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc) || !("input" in doc)) {
      throw new HttpError(400, 'the JSON body must be an object with an "input" key');
    }
    for (const k of Object.keys(doc)) {
      if (k !== "input" && k !== "dtype") {
        throw new HttpError(
          400,
          `unknown key '${k}' in the JSON body; expected "input" and "dtype"`,
        );
      }
    }
    const d = doc as { input: unknown; dtype?: unknown };
    if (d.dtype !== undefined && typeof d.dtype !== "string") {
      throw new HttpError(400, '"dtype" must be a string');
    }
    const dtype = checkDType((d.dtype as string | undefined) ?? "float32");
    const { shape, values } = flattenNested(d.input);
    if (shape.length === 0) {
      throw new HttpError(400, '"input" must be an array (a batch of examples)');
    }
    return { dtype, shape, data: toTyped(dtype, values) };
  }
  if (type === "application/octet-stream") {
    const dh = req.headers.get(DTYPE_HEADER), sh = req.headers.get(SHAPE_HEADER);
    if (dh === null || sh === null) {
      throw new HttpError(
        400,
        `a binary body needs the ${DTYPE_HEADER} and ${SHAPE_HEADER} headers`,
      );
    }
    const dtype = checkDType(dh.trim());
    const shape = sh.split(",").map((s) => Number(s.trim()));
    if (sh.trim() === "" || shape.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new HttpError(400, `${SHAPE_HEADER} '${sh}' is not a comma-separated list of sizes`);
    }
    const numel = shape.reduce((a, b) => a * b, 1);
    const want = numel * ITEMSIZE[dtype];
    if (want > maxBytes) {
      throw new HttpError(
        413,
        `a ${dtype} tensor of shape [${shape}] is over the limit of ${maxBytes} bytes`,
      );
    }
    const body = await readBody(req, maxBytes);
    if (body.length !== want) {
      throw new HttpError(
        400,
        `the body has ${body.length} bytes; a ${dtype} tensor of shape [${shape}] has ${want}`,
      );
    }
    const Ctor = STORAGE_CTOR[dtype];
    const data = new Ctor(numel);
    new Uint8Array(data.buffer).set(body);
    return { dtype, shape, data };
  }
  throw new HttpError(
    415,
    `unsupported Content-Type '${type}'; send application/json or application/octet-stream`,
  );
}

function nest(data: TypedArray, shape: readonly number[]): unknown {
  const flat = Array.from(data as ArrayLike<number | bigint>, Number);
  const build = (at: number, depth: number): unknown => {
    if (depth === shape.length) return flat[at];
    const stride = shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[depth] }, (_, i) => build(at + i * stride, depth + 1));
  };
  return build(0, 0);
}

/**
 * The response of a prediction, in the request's format: JSON when `binary`
 * is false, raw bytes with the tensor headers when true.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const res = zn.serve.writePayload(
 *   { dtype: "float32", shape: [1, 2], data: new Float32Array([0.25, 0.75]) },
 *   false,
 * );
 * res.headers.get("content-type"); // "application/json"
 * ```
 */
export function writePayload(p: TensorPayload, binary: boolean): Response {
  if (binary) {
    return new Response(
      new Uint8Array(p.data.buffer as ArrayBuffer, p.data.byteOffset, p.data.byteLength),
      {
        headers: {
          "content-type": "application/octet-stream",
          [DTYPE_HEADER]: p.dtype,
          [SHAPE_HEADER]: p.shape.join(","),
        },
      },
    );
  }
  return Response.json({ output: nest(p.data, p.shape), shape: p.shape, dtype: p.dtype });
}
