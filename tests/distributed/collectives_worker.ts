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

// bool: bytes, a sum or a max is an or, a product or a min an and (as PyTorch's NCCL).
{
  const make = () => zn.tensor([rank === 0, rank === last, true, false]);
  expectClose("bool sum (or)", zn.distributed.allReduce(make()), [1, 1, 1, 0]);
  expectClose("bool max (or)", zn.distributed.allReduce(make(), { op: "max" }), [1, 1, 1, 0]);
  expectClose("bool product (and)", zn.distributed.allReduce(make(), { op: "product" }), [
    size === 1 ? 1 : 0,
    size === 1 ? 1 : 0,
    1,
    0,
  ]);
  const strided = zn.tensor([[rank === 0, false], [true, false]]).mT; // staged through uint8
  zn.distributed.allReduce(strided, { op: "min" });
  expectClose("bool min (and), strided", strided, [size === 1 ? 1 : 0, 1, 0, 0]);
  if (strided.dtype !== "bool") {
    throw new Error(`rank ${rank}: bool allReduce gave ${strided.dtype}`);
  }
  const b = zn.tensor([rank % 2 === 0, rank % 2 === 1]);
  zn.distributed.broadcast(b, last);
  expectClose("bool broadcast", b, [last % 2 === 0 ? 1 : 0, last % 2 === 1 ? 1 : 0]);
  const got = ranks.map(() => zn.zeros([2], { dtype: "bool" }));
  zn.distributed.allGather(got, zn.tensor([rank === 0, true]));
  got.forEach((o, r) => expectClose(`bool allGather from ${r}`, o, [r === 0 ? 1 : 0, 1]));
  let refused = "";
  try {
    zn.distributed.allReduce(make(), { op: "avg" });
  } catch (e) {
    refused = (e as Error).message;
  }
  if (!refused.includes('op "avg" needs a floating tensor, got bool')) {
    throw new Error(`rank ${rank}: bool avg gave "${refused}"`);
  }
}

// Sub-groups: the first and the last rank (every rank when there are 2);
// the ranks between are outside it. Roots are global ranks, as in PyTorch.
{
  for (
    const [bad, msg] of [
      [[size], `ranks must be global ranks in [0, ${size}), got ${size}`],
      [[0, 0], "ranks must be distinct, got [0, 0]"],
      [[], "ranks must name at least one rank"],
      [[0.5], "got 0.5"],
    ] as const
  ) {
    let got = "";
    try {
      zn.distributed.newGroup(bad as unknown as number[]);
    } catch (e) {
      got = (e as Error).message;
    }
    if (!got.startsWith("newGroup: ") || !got.includes(msg)) {
      throw new Error(`rank ${rank}: newGroup(${bad}) gave "${got}"`);
    }
  }
  const g = zn.distributed.newGroup(size > 1 ? [last, 0] : [0]); // numbered in ascending order
  const members = [0, last].filter((r, i, a) => a.indexOf(r) === i);
  const inside = members.includes(rank);
  const want = <T>(a: T, b: T) => (inside ? a : b);
  if (zn.distributed.getRank(g) !== want(members.indexOf(rank), -1)) {
    throw new Error(`rank ${rank}: getRank(group) = ${zn.distributed.getRank(g)}`);
  }
  if (zn.distributed.getWorldSize(g) !== want(members.length, -1)) {
    throw new Error(`rank ${rank}: getWorldSize(group) = ${zn.distributed.getWorldSize(g)}`);
  }
  const listed = zn.distributed.getProcessGroupRanks(g).join();
  if (listed !== members.join()) throw new Error(`rank ${rank}: group ranks [${listed}]`);
  if (zn.distributed.getGlobalRank(g, members.length - 1) !== last) {
    throw new Error(`rank ${rank}: getGlobalRank`);
  }
  if (zn.distributed.getGroupRank(g, last) !== members.length - 1) {
    throw new Error(`rank ${rank}: getGroupRank`);
  }
  // Every rank makes a group of its own too (every rank calls newGroup for each).
  const own = ranks.map((r) => zn.distributed.newGroup([r]))[rank];
  const solo = zn.full([2], rank + 1);
  zn.distributed.allReduce(solo, { group: own });
  expectClose("allReduce in a group of one", solo, [rank + 1, rank + 1]);
  if (inside) {
    const memberSum = members.reduce((a, r) => a + r + 1, 0);
    const t = zn.full([3], rank + 1);
    const work = zn.distributed.allReduce(t, { group: g, asyncOp: true });
    await work.wait();
    expectClose("group allReduce", t, Array(3).fill(memberSum));
    expectClose(
      "group avg",
      zn.distributed.allReduce(zn.full([2], rank + 1), { group: g, op: "avg" }),
      Array(2).fill(memberSum / members.length),
      1e-6,
    );
    const b = zn.full([2], rank * 10);
    zn.distributed.broadcast(b, last, { group: g });
    expectClose("group broadcast from the last rank", b, [last * 10, last * 10]);
    const outs = members.map(() => zn.zeros([2]));
    zn.distributed.allGather(outs, zn.full([2], rank), { group: g });
    outs.forEach((o, i) => expectClose(`group allGather ${i}`, o, [members[i], members[i]]));
    const list = rank === last ? members.map(() => zn.zeros([1])) : null;
    zn.distributed.gather(zn.full([1], rank + 5), list, last, { group: g });
    list?.forEach((o, i) => expectClose(`group gather ${i}`, o, [members[i] + 5]));
    const parts = rank === 0 ? members.map((r) => zn.full([1], 100 + r)) : null;
    const mine = zn.zeros([1]);
    zn.distributed.scatter(mine, parts, 0, { group: g });
    expectClose("group scatter", mine, [100 + rank]);
    const rs = zn.zeros([1]);
    zn.distributed.reduceScatter(rs, members.map((r) => zn.full([1], r + rank)), { group: g });
    expectClose("group reduceScatter", rs, [
      members.reduce((a, q) => a + q, 0) + rank * members.length,
    ]);
    zn.distributed.barrier({ group: g });
    let bad = "";
    try {
      zn.distributed.broadcast(zn.ones([1]), 1, { group: g });
    } catch (e) {
      bad = (e as Error).message;
    }
    if (size > 2 && !bad.includes("src must be a rank of the group (global ranks [0, 2])")) {
      throw new Error(`rank ${rank}: a root outside the group gave "${bad}"`);
    }
    // DistributedDataParallel over the group: gradients average over its members only.
    const model = new zn.nn.Linear(3, 1);
    if (rank !== 0) zn.noGrad(() => model.weight.fill_(rank));
    const ddp = new zn.nn.parallel.DistributedDataParallel(model, { processGroup: g });
    const w0 = model.weight.detach().clone();
    const x = (r: number) => zn.full([2, 3], r + 1);
    ddp.call(x(rank)).sum().backward();
    // d/dW of sum(x W^T + b) is the column sums of x: 2 (r + 1) each.
    const avg = members.reduce((a, r) => a + 2 * (r + 1), 0) / members.length;
    expectClose("DDP over a group: weight grad", model.weight.grad!, Array(3).fill(avg), 1e-6);
    zn.distributed.broadcast(w0, 0, { group: g });
    expectClose("DDP over a group: same start on every member", model.weight.detach(), [
      ...(w0.toTypedArray() as Float32Array),
    ]);
  } else {
    let refused = "";
    try {
      zn.distributed.allReduce(zn.ones([1]), { group: g });
    } catch (e) {
      refused = (e as Error).message;
    }
    if (!refused.includes(`allReduce: rank ${rank} is not in the group (ranks [0, ${last}])`)) {
      throw new Error(`rank ${rank}: a collective outside its group gave "${refused}"`);
    }
  }
  zn.distributed.destroyProcessGroup(g);
  let gone = "";
  try {
    zn.distributed.barrier({ group: g });
  } catch (e) {
    gone = (e as Error).message;
  }
  if (!gone.includes("was destroyed")) {
    throw new Error(`rank ${rank}: a destroyed group gave "${gone}"`);
  }
  // World collectives still run after the groups.
  expectClose("allReduce after groups", zn.distributed.allReduce(zn.ones([1])), [size]);
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
