/**
 * The kernel benchmarks: one list that `bench/ops_bench.ts` registers with
 * `Deno.bench` and `bench/table.ts` reads to turn times into throughput.
 *
 * Each group compares ways of doing one job at one size (float32 against
 * float64, contiguous against strided or broadcast operands, one thread
 * against all, a dropped result against `dispose()` and `zn.tidy`); its
 * `baseline` is the plain float32 call as users write it. Names carry the
 * size, so `deno bench --filter "add 1M"` picks a group and plain
 * `deno bench` output stands on its own.
 *
 * Work per call: matmul and conv count 2 FLOPs per multiply-add; the
 * memory-bound kernels count the bytes they must read and write (each input
 * element read once, each output element written once), so a strided or
 * broadcast row is charged the same bytes as its contiguous reference.
 *
 * @module
 */
import * as zn from "../mod.ts";
import { library } from "../ffi/loader.ts";

const F = zn.nn.functional;

/** What one call of a benchmark does, in the unit its throughput is shown in. */
export type Work = { flops: number } | { bytes: number };

/** One `Deno.bench` row. */
export interface Kernel {
  /** The `Deno.bench` group: the job and the size every row in it shares. */
  group: string;
  /** The `Deno.bench` name: unique, and carries the size. */
  name: string;
  /** The reference row of its group (one per group). */
  baseline?: boolean;
  /** Work per call; none for calls too small for a rate to mean anything (per-op overhead). */
  work?: Work;
  /** Runs the call with this many threads instead of `zn.getNumThreads()`. */
  threads?: number;
  /** Iteration count for slow calls (Deno's default otherwise). */
  n?: number;
  /**
   * Makes the inputs (on the first, warmup, call; so `--filter` skips the
   * others' allocations) and returns the code that is timed.
   */
  setup: () => () => void;
}

const F32 = 4, F64 = 8;
const f64 = { dtype: "float64" } as const;

const kernels: Kernel[] = [];

function group(name: string, rows: Omit<Kernel, "group">[]): void {
  for (const r of rows) kernels.push({ group: name, ...r });
}

/** Runs `fn` with `n` threads, then restores the count. */
function withThreads(n: number, fn: () => void): () => void {
  return () => {
    const prev = zn.getNumThreads();
    zn.setNumThreads(n);
    try {
      fn();
    } finally {
      zn.setNumThreads(prev);
    }
  };
}

zn.manualSeed(0);

// --- matmul -----------------------------------------------------------------

for (const [n, iters] of [[1024, 10], [128, undefined]] as const) {
  const sz = `${n}x${n}x${n}`;
  const work = { flops: 2 * n * n * n };
  group(`matmul ${sz}`, [
    {
      name: `matmul ${sz} float32`,
      baseline: true,
      work,
      n: iters,
      setup: () => {
        const a = zn.randn([n, n]), b = zn.randn([n, n]);
        return () => a.matmul(b);
      },
    },
    {
      name: `matmul ${sz} float64`,
      work,
      n: iters,
      setup: () => {
        const a = zn.randn([n, n], f64), b = zn.randn([n, n], f64);
        return () => a.matmul(b);
      },
    },
    {
      name: `matmul ${sz} float32, B transposed (a.matmul(b.mT))`,
      work,
      n: iters,
      setup: () => {
        const a = zn.randn([n, n]), b = zn.randn([n, n]);
        return () => a.matmul(b.mT);
      },
    },
    {
      name: `matmul ${sz} float32, 1 thread`,
      work,
      threads: 1,
      n: iters,
      setup: () => {
        const a = zn.randn([n, n]), b = zn.randn([n, n]);
        return withThreads(1, () => a.matmul(b));
      },
    },
  ]);
}

// --- conv2d: a ResNet 3x3 layer -------------------------------------------------

{
  const [N, C, H, W, O] = [8, 64, 56, 56, 64];
  const sz = `3x3 ${N}x${C}x${H}x${W} -> ${O}`;
  const work = { flops: 2 * N * O * H * W * C * 9 };
  const weight = (opts = {}) => zn.randn([O, C, 3, 3], opts);
  group(`conv2d ${sz}`, [
    {
      name: `conv2d ${sz} float32`,
      baseline: true,
      work,
      n: 10,
      setup: () => {
        const x = zn.randn([N, C, H, W]), w = weight();
        return () => F.conv2d(x, w, null, { padding: 1 });
      },
    },
    {
      name: `conv2d ${sz} float64`,
      work,
      n: 10,
      setup: () => {
        const x = zn.randn([N, C, H, W], f64), w = weight(f64);
        return () => F.conv2d(x, w, null, { padding: 1 });
      },
    },
    {
      name: `conv2d ${sz} float32, channels-last input (permuted view)`,
      work,
      n: 10,
      setup: () => {
        const x = zn.randn([N, H, W, C]).permute(0, 3, 1, 2), w = weight();
        return () => F.conv2d(x, w, null, { padding: 1 });
      },
    },
  ]);
}

// --- elementwise ---------------------------------------------------------------

{
  const n = 1 << 20, side = 1 << 10;
  group("add 1M", [
    {
      name: "add 1M float32 contiguous",
      baseline: true,
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => a.add(b);
      },
    },
    {
      name: "add 1M float32 strided (transposed 1024x1024 views)",
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([side, side]).mT, b = zn.randn([side, side]).mT;
        return () => a.add(b);
      },
    },
    {
      name: "add 1M float32 broadcast (1024x1024 + 1024 row)",
      work: { bytes: (2 * n + side) * F32 },
      setup: () => {
        const a = zn.randn([side, side]), b = zn.randn([side]);
        return () => a.add(b);
      },
    },
    {
      name: "add 1M float32 in place (a.add_(b))",
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => a.add_(b);
      },
    },
    {
      name: "add 1M float64 contiguous",
      work: { bytes: 3 * n * F64 },
      setup: () => {
        const a = zn.randn([n], f64), b = zn.randn([n], f64);
        return () => a.add(b);
      },
    },
  ]);

  group("mul 1M", [
    {
      name: "mul 1M float32",
      baseline: true,
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => a.mul(b);
      },
    },
    {
      name: "mul 1M float64",
      work: { bytes: 3 * n * F64 },
      setup: () => {
        const a = zn.randn([n], f64), b = zn.randn([n], f64);
        return () => a.mul(b);
      },
    },
  ]);

  group("exp 1M", [
    {
      name: "exp 1M float32",
      baseline: true,
      work: { bytes: 2 * n * F32 },
      setup: () => {
        const a = zn.randn([n]);
        return () => a.exp();
      },
    },
    {
      name: "exp 1M float64",
      work: { bytes: 2 * n * F64 },
      setup: () => {
        const a = zn.randn([n], f64);
        return () => a.exp();
      },
    },
  ]);

  // Out of cache: a fresh 64 MB result per call against one written in place.
  const big = 1 << 24;
  group("add 16M float32", [
    {
      name: "add 16M float32, new result",
      baseline: true,
      work: { bytes: 3 * big * F32 },
      n: 20,
      setup: () => {
        const a = zn.randn([big]), b = zn.randn([big]);
        return () => a.add(b);
      },
    },
    {
      name: "add 16M float32 in place (a.add_(b))",
      work: { bytes: 3 * big * F32 },
      n: 20,
      setup: () => {
        const a = zn.randn([big]), b = zn.randn([big]);
        return () => a.add_(b);
      },
    },
  ]);

  // How the result's memory goes back: the garbage collector (finalizers),
  // dispose() at once, or the end of a tidy scope.
  group("add 1M float32, result lifetime", [
    {
      name: "add 1M float32, result dropped",
      baseline: true,
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => a.add(b);
      },
    },
    {
      name: "add 1M float32, result.dispose()",
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => a.add(b).dispose();
      },
    },
    {
      name: "add 1M float32 in zn.tidy",
      work: { bytes: 3 * n * F32 },
      setup: () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return () => zn.tidy(() => a.add(b));
      },
    },
  ]);
}

// --- reductions ------------------------------------------------------------------

{
  const n = 1 << 20, side = 1 << 10;
  group("sum 1M", [
    {
      name: "sum 1M float32",
      baseline: true,
      work: { bytes: n * F32 },
      setup: () => {
        const a = zn.randn([n]);
        return () => a.sum();
      },
    },
    {
      name: "sum 1M float64",
      work: { bytes: n * F64 },
      setup: () => {
        const a = zn.randn([n], f64);
        return () => a.sum();
      },
    },
    {
      name: "sum 1M float32 strided (transposed 1024x1024 view)",
      work: { bytes: n * F32 },
      setup: () => {
        const a = zn.randn([side, side]).mT;
        return () => a.sum();
      },
    },
  ]);
}

{
  // The bias gradient of a linear layer: the batch's rows summed.
  const [r, c] = [4096, 768];
  group(`sum ${r}x${c} float32`, [
    {
      name: `sum ${r}x${c} float32 over dim 0 (linear bias grad)`,
      baseline: true,
      work: { bytes: (r * c + c) * F32 },
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.sum(0);
      },
    },
    {
      name: `sum ${r}x${c} float32 over dim 1`,
      work: { bytes: (r * c + r) * F32 },
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.sum(1);
      },
    },
    {
      name: `sum ${r}x${c} float32 over all dims`,
      work: { bytes: (r * c + 1) * F32 },
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.sum();
      },
    },
  ]);

  // The bias gradient of a conv layer: all but the channel dim summed.
  const shape = [32, 64, 56, 56], numel = 32 * 64 * 56 * 56;
  const sz = shape.join("x");
  group(`sum ${sz} float32`, [
    {
      name: `sum ${sz} float32 over [0, 2, 3] (conv bias grad)`,
      baseline: true,
      work: { bytes: (numel + 64) * F32 },
      setup: () => {
        const a = zn.randn(shape);
        return () => a.sum([0, 2, 3]);
      },
    },
    {
      name: `sum ${sz} float32 over [2, 3]`,
      work: { bytes: (numel + 32 * 64) * F32 },
      setup: () => {
        const a = zn.randn(shape);
        return () => a.sum([2, 3]);
      },
    },
    {
      name: `sum ${sz} float32 over all dims`,
      work: { bytes: (numel + 1) * F32 },
      setup: () => {
        const a = zn.randn(shape);
        return () => a.sum();
      },
    },
  ]);
}

// --- softmax and layer norm --------------------------------------------------------

{
  const [r, c] = [4096, 1024];
  const sz = `${r}x${c}`;
  const bytes = (elt: number) => ({ bytes: 2 * r * c * elt });
  group(`softmax ${sz}`, [
    {
      name: `softmax ${sz} float32 over the last dim`,
      baseline: true,
      work: bytes(F32),
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.softmax(-1);
      },
    },
    {
      name: `softmax ${sz} float32 over dim 0 (strided)`,
      work: bytes(F32),
      n: 10,
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.softmax(0);
      },
    },
    {
      name: `softmax ${sz} float32 logSoftmax over the last dim`,
      work: bytes(F32),
      setup: () => {
        const a = zn.randn([r, c]);
        return () => a.logSoftmax(-1);
      },
    },
    {
      name: `softmax ${sz} float64 over the last dim`,
      work: bytes(F64),
      setup: () => {
        const a = zn.randn([r, c], f64);
        return () => a.softmax(-1);
      },
    },
  ]);
}

{
  // A transformer's layer norm: [tokens, features], affine.
  const [r, c] = [4096, 768];
  const sz = `${r}x${c}`;
  const bytes = (elt: number) => ({ bytes: (2 * r * c + 2 * c) * elt });
  group(`layer norm ${sz}`, [
    {
      name: `layer norm ${sz} float32 (F.layerNorm)`,
      baseline: true,
      work: bytes(F32),
      setup: () => {
        const x = zn.randn([r, c]), w = zn.randn([c]), b = zn.randn([c]);
        return () => F.layerNorm(x, [c], w, b);
      },
    },
    {
      name: `layer norm ${sz} float32 written out (mean, var, rsqrt)`,
      work: bytes(F32),
      setup: () => {
        const x = zn.randn([r, c]), w = zn.randn([c]), b = zn.randn([c]);
        return () => {
          const mean = x.mean(-1, true);
          const v = x.var(-1, { correction: 0, keepdim: true });
          x.sub(mean).mul(v.add(1e-5).rsqrt()).mul(w).add(b);
        };
      },
    },
    {
      name: `layer norm ${sz} float64 (F.layerNorm)`,
      work: bytes(F64),
      setup: () => {
        const x = zn.randn([r, c], f64), w = zn.randn([c], f64), b = zn.randn([c], f64);
        return () => F.layerNorm(x, [c], w, b);
      },
    },
  ]);
}

// --- float16 and bfloat16 against float32 ------------------------------------------
// The half kernels convert in registers or L1-sized blocks; each group's
// float32 row is the baseline the half rows must not lose to. Bytes are the
// float32 row's traffic (the halves move half as many).

const HALVES = ["float32", "bfloat16", "float16"] as const;

function halfGroup(
  job: string,
  shape: number[],
  bytes: number,
  f: (x: zn.Tensor) => unknown,
): void {
  group(
    `half ${job}`,
    HALVES.map((dtype) => ({
      name: `half ${job} ${dtype}`,
      baseline: dtype === "float32",
      work: { bytes },
      setup: () => {
        const x = zn.randn(shape).to(dtype);
        return () => f(x);
      },
    })),
  );
}

{
  const n = 4 << 20, rw = 2 * n * F32;
  halfGroup("exp 4M", [n], rw, (x) => x.exp());
  halfGroup("sigmoid 4M", [n], rw, (x) => x.sigmoid());
  halfGroup("gelu 4M", [n], rw, (x) => F.gelu(x));
  halfGroup("mul by a number 4M", [n], rw, (x) => x.mul(2));
  halfGroup("sum 4M", [n], n * F32, (x) => x.sum());
  const m = 1024 * 4096, mw = 2 * m * F32;
  halfGroup("softmax 4096x1024", [4096, 1024], mw, (x) => F.softmax(x, -1));
  halfGroup("softmax dim 0 1024x4096", [1024, 4096], mw, (x) => F.softmax(x, 0));
  halfGroup("cumsum 4096x1024", [4096, 1024], mw, (x) => x.cumsum(1));
  halfGroup("cumsum dim 0 1024x4096", [1024, 4096], mw, (x) => x.cumsum(0));
  halfGroup(
    "transpose copy 2048x2048",
    [2048, 2048],
    2 * 2048 * 2048 * F32,
    (x) => x.mT.contiguous(),
  );
}

// --- per-op overhead -----------------------------------------------------------------

group("per-op overhead (add, 1 element)", [
  {
    name: "add 1 element, result dropped",
    baseline: true,
    setup: () => {
      const one = zn.randn([1]);
      return () => one.add(one);
    },
  },
  {
    name: "add 1 element, result.dispose()",
    setup: () => {
      const one = zn.randn([1]);
      return () => one.add(one).dispose();
    },
  },
  {
    name: "add 1 element in zn.tidy",
    setup: () => {
      const one = zn.randn([1]);
      return () => zn.tidy(() => one.add(one));
    },
  },
]);

for (const [i, k] of kernels.entries()) {
  if (kernels.findIndex((o) => o.name === k.name) !== i) {
    throw new Error(`two benches named "${k.name}"`);
  }
}

/** Every benchmark, in the order `deno bench` runs them. */
export const KERNELS: readonly Kernel[] = kernels;

/** The CPU variant of the loaded native library: "x86-64-v4", "x86-64-v3", "x86-64", "aarch64". */
export function cpuVariant(): string {
  const { level } = library();
  if (Deno.build.arch !== "x86_64") return Deno.build.arch;
  return level > 1 ? `x86-64-v${level}` : "x86-64";
}

const FEATURES: Record<string, string> = {
  "x86-64-v3": " (AVX2, FMA)",
  "x86-64-v4": " (AVX-512)",
};

/** One line on what the kernels run with: thread count, CPU variant, library file. */
export function runtimeLine(): string {
  const t = zn.getNumThreads(), v = cpuVariant();
  return `zeno: ${t} thread${t === 1 ? "" : "s"}, CPU variant ${v}${
    FEATURES[v] ?? ""
  }, ${library().path}`;
}
