/**
 * Loads the PyTorch fixtures that tests/fixtures/make_fixtures.py writes,
 * rebuilds each case's inputs with Zeno, runs the same op and compares the
 * result's dtype, shape and values with PyTorch's.
 *
 * @module
 */
import * as zn from "../mod.ts";
import type { DType, IndexItem, Tensor } from "../mod.ts";

// ---------------------------------------------------------------- fixture format

/** A tensor as the fixtures store it (see make_fixtures.py). */
export interface TensorRec {
  dtype: DType;
  shape: number[];
  data?: (number | boolean | string)[];
  gen?: { a: number; m: number; lo: number; hi: number; int: boolean };
  view?: unknown[][];
}

/** One fixture case. */
export interface Case {
  name: string;
  op: string;
  inputs: unknown[];
  args: Record<string, unknown>;
  out: TensorRec[];
  tol?: { rtol: number; atol: number };
  sample?: number;
}

/** Tolerances for one comparison. */
export interface Tol {
  rtol: number;
  atol: number;
}

/** Default tolerances per output dtype (exact for ints and bools). */
export const DEFAULT_TOL: Partial<Record<DType, Tol>> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-12, atol: 1e-12 },
  float16: { rtol: 2e-3, atol: 1e-3 },
  bfloat16: { rtol: 1e-2, atol: 1e-2 },
};

const FLOATING = new Set<DType>(["float32", "float64", "float16", "bfloat16"]);

/** Reads one fixture file's cases. */
export function loadCases(file: string): Case[] {
  const url = new URL(`./fixtures/${file}.json`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)).cases as Case[];
}

function num(v: number | boolean | string): number {
  if (typeof v === "string") {
    if (v === "nan") return NaN;
    if (v === "inf") return Infinity;
    if (v === "-inf") return -Infinity;
    throw new Error(`fixture: bad number ${v}`);
  }
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The flat values of a stored or generated tensor, as numbers (bools as 0/1). */
export function recValues(rec: TensorRec): number[] {
  if (rec.data) return rec.data.map(num);
  const g = rec.gen!;
  const n = product(rec.shape);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const k = (i * g.a + 11) % g.m;
    if (rec.dtype === "bool") out[i] = k % 2;
    else if (g.int || !FLOATING.has(rec.dtype)) {
      out[i] = Math.trunc(g.lo) + (k % Math.trunc(g.hi - g.lo));
    } else out[i] = g.lo + (g.hi - g.lo) * (k / (g.m - 1));
  }
  return out;
}

/** Builds a Zeno tensor from a record, applying its views. */
export function makeTensor(rec: TensorRec): Tensor {
  const values = recValues(rec);
  const data = rec.dtype === "bool" ? values.map((v) => v !== 0) : values;
  let t = zn.tensor(data, { dtype: rec.dtype }).reshape(rec.shape);
  for (const v of rec.view ?? []) {
    switch (v[0]) {
      case "t":
        t = t.transpose(v[1] as number, v[2] as number);
        break;
      case "p":
        t = t.permute(v[1] as number[]);
        break;
      case "s": {
        const dim = v[1] as number;
        const items: IndexItem[] = [];
        for (let d = 0; d < dim; d++) items.push({});
        items.push({
          start: v[2] as number | null,
          stop: v[3] as number | null,
          step: v[4] as number | null,
        });
        t = t.index(...items);
        break;
      }
      case "e":
        t = t.expand(v[1] as number[]);
        break;
      case "sel":
        t = t.select(v[1] as number, v[2] as number);
        break;
      default:
        throw new Error(`fixture: unknown view ${JSON.stringify(v)}`);
    }
  }
  return t;
}

/** Index items with PyTorch's None (null) as zn.newaxis. */
function newaxes(items: IndexItem[]): IndexItem[] {
  return items.map((it) => (it === null ? zn.newaxis : it));
}

/** Decodes an input or argument: tensors, slices, non-finite floats, lists. */
// deno-lint-ignore no-explicit-any
export function decode(v: unknown): any {
  if (Array.isArray(v)) return v.map(decode);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("dtype" in o && "shape" in o) return makeTensor(o as unknown as TensorRec);
    if ("f" in o) return num(o.f as string);
    if ("slice" in o) {
      const [start, stop, step] = o.slice as (number | null)[];
      return { start, stop, step };
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decode(x);
    return out;
  }
  return v;
}

// ---------------------------------------------------------------- comparison

/** Float values as the smaller fixture files store them: shape and row-major data. */
export interface FloatRec {
  shape: number[];
  data: (number | string)[];
}

/** A float64 tensor from a FloatRec ("inf"/"-inf"/"nan" decoded). */
export function floatTensor(rec: FloatRec): Tensor {
  return zn.tensor(rec.data.map(num), { dtype: "float64" }).reshape(rec.shape);
}

/**
 * Asserts `got` has `want`'s shape and every value within `tol` of it
 * (equal infinities match, NaN matches NaN); the message names the largest
 * difference.
 */
export function assertNear(got: Tensor, want: FloatRec, what: string, tol: number): void {
  if (got.shape.join() !== want.shape.join()) {
    throw new Error(`${what}: shape [${got.shape}], expected [${want.shape}]`);
  }
  const g = got.reshape([-1]).toArray() as number[];
  let diff = 0;
  g.forEach((v, i) => {
    const w = num(want.data[i]);
    const same = v === w || (Number.isNaN(v) && Number.isNaN(w));
    // Math.max keeps a NaN difference, so a NaN against a number fails.
    diff = same ? diff : Math.max(diff, Math.abs(v - w));
  });
  if (!(diff < tol)) throw new Error(`${what}: largest difference ${diff} (tolerance ${tol})`);
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** The flat values of a Zeno tensor as numbers (bools as 0/1). */
export function flatValues(t: Tensor): number[] {
  const a = t.toTypedArray();
  return Array.from(a as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Throws unless `actual` has the record's dtype and shape and its values
 * match within `tol` (NaN matches NaN; ints and bools exactly). With
 * `sample`, the record holds every sample-th element of the flat output.
 */
export function assertMatches(
  actual: Tensor,
  expected: TensorRec,
  ctx: string,
  tol?: Tol,
  sample?: number,
): void {
  if (actual.dtype !== expected.dtype) {
    throw new Error(`${ctx}: dtype ${actual.dtype}, expected ${expected.dtype}`);
  }
  const shape = actual.shape;
  if (shape.length !== expected.shape.length || shape.some((s, i) => s !== expected.shape[i])) {
    throw new Error(
      `${ctx}: shape [${shape.join(", ")}], expected [${expected.shape.join(", ")}]`,
    );
  }
  const all = flatValues(actual);
  const step = sample ?? 1;
  const exp = expected.data!.map(num);
  const nExpected = Math.ceil(all.length / step);
  if (exp.length !== nExpected) {
    throw new Error(`${ctx}: ${all.length} elements, fixture has ${exp.length} (sample ${step})`);
  }
  const floating = FLOATING.has(expected.dtype);
  const def = DEFAULT_TOL[expected.dtype] ?? { rtol: 0, atol: 0 };
  const t = floating
    ? { rtol: Math.max(def.rtol, tol?.rtol ?? 0), atol: Math.max(def.atol, tol?.atol ?? 0) }
    : { rtol: 0, atol: 0 };
  let bad = 0, worst = -1, worstExcess = -Infinity, worstDiff = 0;
  for (let j = 0; j < exp.length; j++) {
    const a = all[j * step];
    let e = exp[j];
    if (expected.dtype === "float32") e = Math.fround(e);
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const diff = Math.abs(a - e);
    const allowed = t.atol + t.rtol * Math.abs(e);
    const ok = floating && Number.isFinite(diff) && diff <= allowed;
    if (ok) continue;
    bad++;
    const excess = Number.isNaN(diff) ? Infinity : diff - allowed;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = j;
      worstDiff = diff;
    }
  }
  if (bad > 0) {
    const flatIndex = worst * step;
    const a = all[flatIndex];
    const e = exp[worst];
    throw new Error(
      `${ctx}: ${bad} of ${exp.length} compared elements differ (rtol ${t.rtol}, atol ${t.atol}); ` +
        `largest difference ${worstDiff} at index [${unravel(flatIndex, shape).join(", ")}]: ` +
        `got ${a}, expected ${e}`,
    );
  }
}

// ---------------------------------------------------------------- ops

type Result = Tensor | Tensor[];
// deno-lint-ignore no-explicit-any
type OpFn = (x: any[], a: any) => Result;

const UNARY = [
  "neg",
  "abs",
  "sign",
  "exp",
  "exp2",
  "log",
  "log2",
  "log1p",
  "expm1",
  "sqrt",
  "rsqrt",
  "reciprocal",
  "square",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "erf",
  "relu",
  "floor",
  "ceil",
  "round",
  "trunc",
  "isnan",
  "isinf",
  "logicalNot",
  "silu",
  "asin",
  "acos",
  "atan",
  "sinh",
  "cosh",
  "asinh",
  "acosh",
  "atanh",
] as const;

const BINARY = [
  "mul",
  "pow",
  "maximum",
  "minimum",
  "remainder",
  "floorDivide",
  "atan2",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "logicalAnd",
  "logicalOr",
  "logicalXor",
  "fmod",
  "copysign",
] as const;

const dimOf = (a: { dim?: number | number[] | null }) => a.dim ?? undefined;
const pair = (r: { values: Tensor; indices: Tensor }): Tensor[] => [r.values, r.indices];

/** Zeno's side of every fixture op, named as in make_fixtures.py. */
export const OPS: Record<string, OpFn> = {
  ...Object.fromEntries(UNARY.map((op) => [op, (x: Tensor[]) => zn[op](x[0])])),
  leakyRelu: (x, a) => zn.leakyRelu(x[0], a.negativeSlope),
  elu: (x, a) => zn.elu(x[0], a.alpha),
  gelu: (x, a) => zn.gelu(x[0], { approximate: a.approximate }),
  softplus: (x, a) => zn.softplus(x[0], { beta: a.beta, threshold: a.threshold }),
  nanToNum: (x, a) => zn.nanToNum(x[0], { nan: a.nan, posinf: a.posinf, neginf: a.neginf }),
  ...Object.fromEntries(BINARY.map((op) => [op, (x: Tensor[]) => zn[op](x[0], x[1])])),
  add: (x, a) => zn.add(x[0], x[1], a.alpha === undefined ? undefined : { alpha: a.alpha }),
  sub: (x, a) => zn.sub(x[0], x[1], a.alpha === undefined ? undefined : { alpha: a.alpha }),
  div: (x, a) => zn.div(x[0], x[1], a.roundingMode ? { roundingMode: a.roundingMode } : undefined),
  where: (x) => zn.where(x[0], x[1], x[2]),
  clamp: (x, a) => zn.clamp(x[0], a.min, a.max),
  lerp: (x) => zn.lerp(x[0], x[1], x[2]),
  sum: (x, a) => zn.sum(x[0], dimOf(a), a.keepdim ?? false),
  mean: (x, a) => zn.mean(x[0], dimOf(a), a.keepdim ?? false),
  prod: (x, a) => zn.prod(x[0], a.dim, a.keepdim ?? false),
  amax: (x, a) => zn.amax(x[0], dimOf(a), a.keepdim ?? false),
  amin: (x, a) => zn.amin(x[0], dimOf(a), a.keepdim ?? false),
  argmax: (x, a) => zn.argmax(x[0], a.dim, a.keepdim ?? false),
  argmin: (x, a) => zn.argmin(x[0], a.dim, a.keepdim ?? false),
  max: (x, a) =>
    a.dim === undefined || a.dim === null ? x[0].max() : pair(x[0].max(a.dim, a.keepdim ?? false)),
  min: (x, a) =>
    a.dim === undefined || a.dim === null ? x[0].min() : pair(x[0].min(a.dim, a.keepdim ?? false)),
  var: (x, a) => zn.var(x[0], dimOf(a), { correction: a.correction, keepdim: a.keepdim }),
  std: (x, a) => zn.std(x[0], dimOf(a), { correction: a.correction, keepdim: a.keepdim }),
  logsumexp: (x, a) => zn.logsumexp(x[0], dimOf(a), a.keepdim ?? false),
  norm: (x, a) => zn.norm(x[0], a.p ?? 2, dimOf(a), a.keepdim ?? false),
  all: (x, a) => zn.all(x[0], dimOf(a), a.keepdim ?? false),
  any: (x, a) => zn.any(x[0], dimOf(a), a.keepdim ?? false),
  cumsum: (x, a) => zn.cumsum(x[0], a.dim),
  cumprod: (x, a) => zn.cumprod(x[0], a.dim),
  softmax: (x, a) => zn.softmax(x[0], a.dim),
  logSoftmax: (x, a) => zn.logSoftmax(x[0], a.dim),
  matmul: (x) => zn.matmul(x[0], x[1]),
  cat: (x, a) => zn.cat(x, a.dim),
  stack: (x, a) => zn.stack(x, a.dim),
  split: (x, a) => zn.split(x[0], x[1], a.dim),
  chunk: (x, a) => zn.chunk(x[0], x[1], a.dim),
  tril: (x, a) => zn.tril(x[0], a.k ?? 0),
  triu: (x, a) => zn.triu(x[0], a.k ?? 0),
  gather: (x, a) => zn.gather(x[0], a.dim, x[1]),
  scatter: (x, a) => x[0].scatter(a.dim, x[1], x[2]),
  scatterAdd: (x, a) => x[0].scatterAdd(a.dim, x[1], x[2]),
  indexSelect: (x, a) => zn.indexSelect(x[0], a.dim, x[1]),
  maskedFill: (x) => zn.maskedFill(x[0], x[1], x[2]),
  oneHot: (x, a) => zn.oneHot(x[0], a.numClasses ?? -1),
  // PyTorch's None (JSON null) is zn.newaxis.
  index: (x) => x[0].index(...newaxes(x[1])),
  indexPut: (x) => x[0].clone().indexPut_(newaxes(x[1]), x[2]),
  sort: (x, a) => pair(zn.sort(x[0], a.dim ?? -1, a.descending ?? false)),
  topk: (x, a) => pair(zn.topk(x[0], a.k, a.dim ?? -1, a.largest ?? true)),
  reshape: (x, a) => x[0].reshape(a.shape),
  view: (x, a) => x[0].view(a.shape),
  transpose: (x, a) => x[0].transpose(a.dim0, a.dim1),
  permute: (x, a) => x[0].permute(a.dims),
  mT: (x) => x[0].mT,
  expand: (x, a) => x[0].expand(a.shape),
  squeeze: (x, a) => x[0].squeeze(a.dim ?? undefined),
  unsqueeze: (x, a) => x[0].unsqueeze(a.dim),
  flatten: (x, a) => x[0].flatten(a.startDim ?? 0, a.endDim ?? -1),
  unflatten: (x, a) => x[0].unflatten(a.dim, a.sizes),
  narrow: (x, a) => x[0].narrow(a.dim, a.start, a.length),
  select: (x, a) => x[0].select(a.dim, a.index),
  contiguous: (x) => x[0].contiguous(),
  flip: (x, a) => zn.flip(x[0], a.dims),
  roll: (x, a) => zn.roll(x[0], x[1], a.dims ?? undefined),
  rot90: (x, a) => zn.rot90(x[0], a.k ?? 1, a.dims ?? [0, 1]),
  repeat: (x, a) => x[0].repeat(a.sizes),
  tile: (x, a) => zn.tile(x[0], a.dims),
  repeatInterleave: (x, a) => zn.repeatInterleave(x[0], x[1], a.dim ?? undefined),
  movedim: (x, a) => zn.movedim(x[0], a.source, a.destination),
  unbind: (x, a) => zn.unbind(x[0], a.dim ?? 0),
  T: (x) => x[0].T,
  bmm: (x) => zn.bmm(x[0], x[1]),
  baddbmm: (x, a) => zn.baddbmm(x[0], x[1], x[2], { beta: a.beta, alpha: a.alpha }),
  addmm: (x, a) => zn.addmm(x[0], x[1], x[2], { beta: a.beta, alpha: a.alpha }),
  addmv: (x, a) => zn.addmv(x[0], x[1], x[2], { beta: a.beta, alpha: a.alpha }),
  outer: (x) => zn.outer(x[0], x[1]),
  einsum: (x, a) => zn.einsum(a.equation, ...x),
  nonzero: (x) => zn.nonzero(x[0]),
  nonzeroTuple: (x) => zn.nonzero(x[0], { asTuple: true }),
  maskedSelect: (x) => zn.maskedSelect(x[0], x[1]),
  maskedScatter: (x) => zn.maskedScatter(x[0], x[1], x[2]),
  take: (x) => zn.take(x[0], x[1]),
  takeAlongDim: (x, a) => zn.takeAlongDim(x[0], x[1], a.dim ?? undefined),
  indexAdd: (x, a) => zn.indexAdd(x[0], a.dim, x[1], x[2], { alpha: a.alpha }),
  indexCopy: (x, a) => zn.indexCopy(x[0], a.dim, x[1], x[2]),
  meshgrid: (x, a) => zn.meshgrid(x, { indexing: a.indexing }),
  cartesianProd: (x) => zn.cartesianProd(...x),
  searchsorted: (x, a) => zn.searchsorted(x[0], x[1], { right: a.right }),
  bucketize: (x, a) => zn.bucketize(x[0], x[1], { right: a.right }),
  kthvalue: (x, a) => pair(zn.kthvalue(x[0], x[1], a.dim ?? -1, a.keepdim ?? false)),
  median: (x, a) =>
    a.dim === undefined || a.dim === null
      ? zn.median(x[0])
      : pair(zn.median(x[0], a.dim, a.keepdim ?? false)),
  nanmedian: (x, a) =>
    a.dim === undefined || a.dim === null
      ? zn.nanmedian(x[0])
      : pair(zn.nanmedian(x[0], a.dim, a.keepdim ?? false)),
  quantile: (x, a) =>
    zn.quantile(x[0], x[1], {
      dim: a.dim ?? undefined,
      keepdim: a.keepdim,
      interpolation: a.interpolation,
    }),
  nanquantile: (x, a) =>
    zn.nanquantile(x[0], x[1], {
      dim: a.dim ?? undefined,
      keepdim: a.keepdim,
      interpolation: a.interpolation,
    }),
  mode: (x, a) => pair(zn.mode(x[0], a.dim ?? -1, a.keepdim ?? false)),
  cummax: (x, a) => pair(zn.cummax(x[0], a.dim)),
  cummin: (x, a) => pair(zn.cummin(x[0], a.dim)),
  unique: (x, a) =>
    zn.unique(x[0], {
      sorted: a.sorted,
      returnInverse: a.returnInverse,
      returnCounts: a.returnCounts,
      dim: a.dim,
    }),
  uniqueConsecutive: (x, a) =>
    zn.uniqueConsecutive(x[0], {
      returnInverse: a.returnInverse,
      returnCounts: a.returnCounts,
      dim: a.dim,
    }),
  histc: (x, a) => zn.histc(x[0], { bins: a.bins, min: a.min, max: a.max }),
  bincount: (x, a) => zn.bincount(x[0], { weights: x[1], minlength: a.minlength }),
  diagonal: (x, a) => zn.diagonal(x[0], a.offset ?? 0, a.dim1 ?? 0, a.dim2 ?? 1),
  diag: (x, a) => zn.diag(x[0], a.k ?? 0),
  diagEmbed: (x, a) => zn.diagEmbed(x[0], a.offset ?? 0, a.dim1 ?? -2, a.dim2 ?? -1),
  trace: (x) => zn.trace(x[0]),
  kron: (x) => zn.kron(x[0], x[1]),
  cross: (x, a) => zn.cross(x[0], x[1], a.dim ?? -1),
  cdist: (x, a) => zn.cdist(x[0], x[1], a.p ?? 2),
  cosineSimilarity: (x, a) => zn.cosineSimilarity(x[0], x[1], { dim: a.dim, eps: a.eps }),
  pairwiseDistance: (x, a) =>
    zn.pairwiseDistance(x[0], x[1], { p: a.p, eps: a.eps, keepdim: a.keepdim }),
  isclose: (x, a) => zn.isclose(x[0], x[1], { rtol: a.rtol, atol: a.atol, equalNan: a.equalNan }),
  clampMin: (x) => zn.clampMin(x[0], x[1]),
  clampMax: (x) => zn.clampMax(x[0], x[1]),
  logaddexp: (x) => zn.logaddexp(x[0], x[1]),
  logcumsumexp: (x, a) => zn.logcumsumexp(x[0], a.dim),
  xlogy: (x) => zn.xlogy(x[0], x[1]),
  sinc: (x) => zn.sinc(x[0]),
  hypot: (x) => zn.hypot(x[0], x[1]),
  nansum: (x, a) => zn.nansum(x[0], dimOf(a), a.keepdim ?? false),
  nanmean: (x, a) => zn.nanmean(x[0], dimOf(a), a.keepdim ?? false),
  diff: (x, a) =>
    zn.diff(x[0], a.n ?? 1, { dim: a.dim ?? -1, prepend: a.prepend, append: a.append }),
  to: (x, a) => x[0].to(a.dtype),
  toRoundTrip: (x, a) => x[0].to(a.dtype).to(x[0].dtype),
};

/** Runs one case and checks every output against PyTorch's. */
export function runCase(c: Case): void {
  const fn = OPS[c.op];
  if (!fn) throw new Error(`no Zeno op for fixture op ${c.op}`);
  const inputs = c.inputs.map(decode);
  const args = decode(c.args) as Record<string, unknown>;
  const result = fn(inputs, args);
  const outs = Array.isArray(result) ? result : [result];
  if (outs.length !== c.out.length) {
    throw new Error(`${c.name}: ${outs.length} outputs, PyTorch gave ${c.out.length}`);
  }
  outs.forEach((o, i) =>
    assertMatches(
      o,
      c.out[i],
      outs.length > 1 ? `${c.name} (output ${i})` : c.name,
      c.tol,
      c.sample,
    )
  );
}

/**
 * Registers one Deno test per case of a fixture file. `known` maps case
 * names to the reason they are ignored (a difference too large to fix now).
 */
export function fixtureTests(file: string, known: Record<string, string> = {}): void {
  for (const c of loadCases(file)) {
    Deno.test({
      name: `${file}: ${c.name} matches PyTorch`,
      ignore: c.name in known,
      fn: () => runCase(c),
    });
  }
}
