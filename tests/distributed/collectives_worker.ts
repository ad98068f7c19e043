// One rank of tests/distributed_test.ts's MPI job: run under
// `deno task launch -n N`. Checks every collective's result against the value
// the ranks' inputs give, and exits non-zero with the largest difference when
// one is off. `fail` as the first argument makes rank 1 throw before the first
// collective (the launcher must stop the others, not hang).
import * as zn from "../../mod.ts";

const mode = Deno.args[0] ?? "check";
zn.distributed.initProcessGroup({ backend: "mpi", timeout: mode === "stall" ? 2 : 60 });
const rank = zn.distributed.getRank();
const size = zn.distributed.getWorldSize();
if (mode === "fail" && rank === 1) throw new Error("rank 1 fails on purpose");
if (mode === "stall") {
  // Rank 1 never reaches the collective (and never exits on its own).
  if (rank === 1) { for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); }
  zn.distributed.allReduce(zn.ones([4]));
  throw new Error("the stalled allReduce returned");
}

function expectClose(what: string, got: zn.Tensor, want: number[], tol = 0): void {
  const g = Array.from(got.toTypedArray() as ArrayLike<number | bigint>, Number);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(g[i] - want[i]));
  if (g.length !== want.length || !(worst <= tol)) {
    throw new Error(
      `rank ${rank}: ${what}: got [${g}], want [${want}] (largest difference ${worst})`,
    );
  }
}

const ranks = Array.from({ length: size }, (_, r) => r);
const sum = (f: (r: number) => number) => ranks.reduce((a, r) => a + f(r), 0);
const base = [1, -2, 3.5, 0.25, 7];
const value = (r: number, i: number) => base[i] * (r + 1) + r;

for (const dtype of ["float32", "float64", "bfloat16", "float16"] as const) {
  const make = () => zn.tensor(base.map((_, i) => value(rank, i))).to(dtype);
  const tol = dtype === "bfloat16" ? 0.25 : dtype === "float16" ? 0.05 : 1e-5;
  expectClose(
    `${dtype} sum`,
    zn.distributed.allReduce(make()),
    base.map((_, i) => sum((r) => value(r, i))),
    tol,
  );
  expectClose(
    `${dtype} avg`,
    zn.distributed.allReduce(make(), { op: "avg" }),
    base.map((_, i) => sum((r) => value(r, i)) / size),
    tol,
  );
  expectClose(
    `${dtype} max`,
    zn.distributed.allReduce(make(), { op: "max" }),
    base.map((_, i) => Math.max(...ranks.map((r) => value(r, i)))),
    tol,
  );
}
for (const dtype of ["int32", "int64", "uint8", "int8", "int16"] as const) {
  const make = () => zn.tensor([rank + 1, 2 * rank + 3, 5]).to(dtype);
  expectClose(`${dtype} sum`, zn.distributed.allReduce(make()), [
    sum((r) => r + 1),
    sum((r) => 2 * r + 3),
    5 * size,
  ]);
  expectClose(`${dtype} min`, zn.distributed.allReduce(make(), { op: "min" }), [1, 3, 5]);
  expectClose(
    `${dtype} product`,
    zn.distributed.allReduce(make(), { op: "product" }),
    [ranks.reduce((a, r) => a * (r + 1), 1), ranks.reduce((a, r) => a * (2 * r + 3), 1), 5 ** size],
  );
}
// A strided view reduces in place, leaving the rest of its base alone.
const m = zn.tensor([[1, 2, 3], [4, 5, 6]]).mul(rank + 1);
zn.distributed.allReduce(m.mT.narrow(0, 1, 1));
const k = sum((r) => r + 1);
expectClose("strided view", m, [
  1 * (rank + 1),
  2 * k,
  3 * (rank + 1),
  4 * (rank + 1),
  5 * k,
  6 * (rank + 1),
], 1e-5);
// A leaf that requires grad reduces in place too (its gradient record untouched).
const w = zn.full([2], rank + 1, { requiresGrad: true });
zn.distributed.allReduce(w);
expectClose("leaf", w.detach(), [k, k]);
if (!w.requiresGrad) throw new Error(`rank ${rank}: the leaf lost requiresGrad`);

// broadcast: every dtype's bits, from the last rank.
const last = size - 1;
for (const dtype of ["float32", "bfloat16", "int64", "uint8"] as const) {
  const t = zn.tensor([rank * 10 + 1, rank * 10 + 2]).to(dtype);
  zn.distributed.broadcast(t, last);
  expectClose(`broadcast ${dtype}`, t, [last * 10 + 1, last * 10 + 2]);
}
const big = zn.arange(100000).to("float32").add(rank);
zn.distributed.broadcast(big, 0);
expectClose(
  "broadcast 100000",
  big.narrow(0, 99990, 10),
  Array.from({ length: 10 }, (_, i) => 99990 + i),
);

// allGather, into tensors of any strides.
const outs = ranks.map(() => zn.zeros([3, 2]).mT);
zn.distributed.allGather(outs, zn.full([2, 3], rank + 0.5));
outs.forEach((o, r) => expectClose(`allGather from ${r}`, o, Array(6).fill(r + 0.5)));

// reduceScatter: rank r gets the op over every rank's inputList[r].
for (const dtype of ["float32", "float64", "bfloat16", "int64"] as const) {
  const inputs = ranks.map((r) => zn.tensor([rank + r, 2 * rank - r, 1]).to(dtype));
  const out = zn.zeros([3], { dtype });
  zn.distributed.reduceScatter(out, inputs);
  expectClose(`reduceScatter ${dtype}`, out, [
    sum((q) => q + rank),
    sum((q) => 2 * q - rank),
    size,
  ]);
  if (dtype !== "int64") {
    zn.distributed.reduceScatter(out, inputs, { op: "avg" });
    expectClose(`reduceScatter avg ${dtype}`, out, [
      sum((q) => q + rank) / size,
      sum((q) => 2 * q - rank) / size,
      1,
    ], 0.02);
  }
  zn.distributed.reduceScatter(out, inputs, { op: "max" });
  expectClose(`reduceScatter max ${dtype}`, out, [last + rank, 2 * last - rank, 1]);
}

// gather to the last rank, scatter from rank 0, into strided views too.
for (const dtype of ["float32", "bfloat16", "int32"] as const) {
  const list = rank === last ? ranks.map(() => zn.zeros([3, 2], { dtype }).mT) : null;
  zn.distributed.gather(zn.full([2, 3], rank + 1, { dtype }), list, last);
  if (list) {
    list.forEach((o, r) => expectClose(`gather ${dtype} from ${r}`, o, Array(6).fill(r + 1)));
  }
  const parts = rank === 0 ? ranks.map((r) => zn.full([2, 2], 10 * r + 3, { dtype })) : null;
  const mine = zn.zeros([2, 2], { dtype }).mT;
  zn.distributed.scatter(mine, parts, 0);
  expectClose(`scatter ${dtype}`, mine, Array(4).fill(10 * rank + 3));
}

// asyncOp: calls return at once, run in issue order (mixed with blocking
// ones), and their results land by `await work.wait()`.
{
  const a = zn.full([1000], rank + 1);
  const b = zn.tensor([[1, 2], [3, 4]]).to("bfloat16").mul(rank + 1).mT; // staged: strided, half
  const c = zn.full([3], rank * 7);
  const wa = zn.distributed.allReduce(a, { asyncOp: true });
  const wb = zn.distributed.allReduce(b, { op: "max", asyncOp: true });
  zn.distributed.broadcast(c, last); // blocking, after both
  const gathered = ranks.map(() => zn.zeros([2]));
  const wg = zn.distributed.allGather(gathered, zn.full([2], rank), { asyncOp: true });
  const gone = zn.full([64], 1);
  const wd = zn.distributed.allReduce(gone, { asyncOp: true });
  gone.dispose(); // its memory stays until the call ends
  const wbar = zn.distributed.barrier({ asyncOp: true });
  await Promise.all([wa.wait(), wb.wait(), wg.wait(), wd.wait(), wbar.wait()]);
  for (const w of [wa, wb, wg, wd, wbar]) {
    if (!w.isCompleted()) throw new Error(`rank ${rank}: work not completed`);
  }
  expectClose("async allReduce", a.narrow(0, 0, 3), Array(3).fill(k));
  expectClose("async strided bfloat16 max", b, [1, 3, 2, 4].map((v) => v * size));
  expectClose("blocking broadcast between async calls", c, Array(3).fill(last * 7));
  gathered.forEach((o, r) => expectClose(`async allGather from ${r}`, o, [r, r]));
  const out = zn.zeros([3]);
  await zn.distributed.reduceScatter(out, ranks.map(() => zn.ones([3])), { asyncOp: true }).wait();
  expectClose("async reduceScatter", out, Array(3).fill(size));
}

zn.distributed.barrier();
zn.distributed.destroyProcessGroup();
if (zn.distributed.isInitialized()) throw new Error(`rank ${rank}: still initialized`);
// MPI starts once per process.
let again = "";
try {
  zn.distributed.initProcessGroup();
} catch (e) {
  again = (e as Error).message;
}
if (!again.includes("cannot start again")) {
  throw new Error(`rank ${rank}: a second start gave "${again}"`);
}
console.log(`rank ${rank} of ${size}: collectives ok`);
