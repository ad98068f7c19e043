/**
 * The Zeno half of the GPU comparison (bench/gpu_check.sh runs it beside
 * bench/gpu_compare.py on the same GPU). One section per run, so that the
 * caller can put a time limit on each:
 *
 *   deno run -A bench/gpu_compare.ts matmul|add|mlp|cnn
 *
 * Prints one JSON object per line: { name, unit, value, runs } where `value`
 * is the median of the runs (at least 5), a rate (TFLOP/s, GB/s) or a time
 * (ms per training step).
 *
 * @module
 */
import * as zn from "../mod.ts";
import { buildModel } from "../examples/mnist/model.ts";

const DEV = "cuda";
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function emit(name: string, unit: string, runs: number[]): void {
  console.log(JSON.stringify({ name, unit, value: median(runs), runs }));
}

/** Milliseconds of `fn` (synchronised), `RUNS` times after one warm-up. */
function timeRuns(fn: () => void, runs = RUNS): number[] {
  fn();
  zn.cuda.synchronize();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    zn.cuda.synchronize();
    out.push(performance.now() - t0);
  }
  return out;
}

function section(name: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    console.log(JSON.stringify({ name, error: String((e as Error).message ?? e).slice(0, 300) }));
  }
}

/** Products per timed run: float32 runs about 50 TFLOP/s, the others 400-800. */
function matmulReps(mode: string, n: number): number {
  return (mode === "float32" ? 10 : 40) * (n === 4096 ? 4 : 1);
}

function matmul(): void {
  for (const n of [4096, 8192]) {
    for (const mode of ["float32", "tf32", "bfloat16"] as const) {
      section(`matmul ${mode} ${n}`, () => {
        zn.cuda.matmul.allowTF32 = mode === "tf32";
        zn.tidy(() => {
          const dtype = mode === "bfloat16" ? "bfloat16" : "float32";
          const a = zn.full([n, n], 0.5, { device: DEV }).to(dtype);
          const b = zn.full([n, n], 0.25, { device: DEV }).to(dtype);
          // Enough products per run (tens of ms) that the synchronisation
          // and the timer do not count.
          const reps = matmulReps(mode, n);
          const ms = timeRuns(() => {
            for (let r = 0; r < reps; r++) a.matmul(b).dispose();
          });
          emit(`matmul ${mode} ${n}`, "TFLOP/s", ms.map((t) => (2 * n ** 3 * reps) / (t * 1e9)));
        });
        zn.cuda.matmul.allowTF32 = false;
      });
    }
  }
}

function add(): void {
  const n = 256 * 1024 * 1024;
  section("add float32 256M", () => {
    zn.tidy(() => {
      const f32 = { device: DEV, dtype: "float32" } as const;
      const a = zn.full([n], 1, f32), b = zn.full([n], 2, f32);
      const reps = 10;
      const ms = timeRuns(() => {
        for (let r = 0; r < reps; r++) a.add(b).dispose();
      });
      emit("add float32 256M", "GB/s", ms.map((t) => (3 * 4 * n * reps) / (t * 1e6)));
    });
  });
  section("exp float32 256M", () => {
    zn.tidy(() => {
      const a = zn.full([n], 0.5, { device: DEV, dtype: "float32" });
      const reps = 10;
      const ms = timeRuns(() => {
        for (let r = 0; r < reps; r++) a.exp().dispose();
      });
      emit("exp float32 256M", "GB/s", ms.map((t) => (2 * 4 * n * reps) / (t * 1e6)));
    });
  });
}

function train(arch: "mlp" | "cnn"): void {
  const name = `train step ${arch} batch 64 (Adam)`;
  section(name, () => {
    zn.manualSeed(0);
    const model = buildModel(arch).cuda();
    const opt = new zn.optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = zn.randn([64, 1, 28, 28], { device: DEV });
    const y = zn.randint(0, 10, [64], { device: DEV });
    const step = () =>
      zn.tidy(() => {
        opt.zeroGrad();
        zn.nn.functional.crossEntropy(model.call(x), y).backward();
        opt.step();
      });
    for (let i = 0; i < 10; i++) step();
    zn.cuda.synchronize();
    const before = zn.cuda.memoryAllocated();
    const steps = 50;
    const ms = timeRuns(() => {
      for (let i = 0; i < steps; i++) step();
    });
    emit(name, "ms/step", ms.map((t) => t / steps));
    // Device memory held after 300 more steps, against after the first 10:
    // a training loop must not grow it.
    emit(`device memory growth ${arch}, 300 steps`, "bytes", [zn.cuda.memoryAllocated() - before]);
  });
}

/** An LSTM layer and causal attention, forward and backward (the CPU comparison's shapes). */
function seq(): void {
  section("LSTM layer b32 t64 h256 fwd+bwd", () => {
    zn.manualSeed(0);
    const m = new zn.nn.LSTM(256, 256).cuda();
    const x = zn.randn([64, 32, 256], { device: DEV, requiresGrad: true });
    const ms = timeRuns(() =>
      zn.tidy(() => {
        m.call(x)[0].sum().backward();
        x.grad = null;
        for (const p of m.parameters()) p.grad = null;
      })
    );
    emit("LSTM layer b32 t64 h256 fwd+bwd", "ms/step", ms);
  });
  section("sdpa causal b8 h8 t512 d64 fwd+bwd", () => {
    const [q, k, v] = [0, 1, 2].map(() =>
      zn.randn([8, 8, 512, 64], { device: DEV, requiresGrad: true })
    );
    const ms = timeRuns(() =>
      zn.tidy(() => {
        zn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true }).sum().backward();
        q.grad = k.grad = v.grad = null;
      })
    );
    emit("sdpa causal b8 h8 t512 d64 fwd+bwd", "ms/step", ms);
  });
}

if (!zn.cuda.isAvailable()) {
  console.log(JSON.stringify({ name: "cuda", error: zn.cuda.unavailableReason() }));
  Deno.exit(0);
}
const which = Deno.args[0] ?? "all";
if (which === "matmul" || which === "all") matmul();
if (which === "add" || which === "all") add();
if (which === "mlp" || which === "all") train("mlp");
if (which === "cnn" || which === "all") train("cnn");
if (which === "seq" || which === "all") seq();
