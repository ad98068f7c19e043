/**
 * zn.data: datasets, DataLoader batching, shuffling, dropLast, collate,
 * async iteration, and randomSplit.
 */
import {
  deepStrictEqual,
  notDeepStrictEqual,
  ok,
  rejects,
  strictEqual,
  throws,
} from "node:assert/strict";
import * as zn from "../mod.ts";
import {
  ConcatDataset,
  DataLoader,
  Dataset,
  defaultCollate,
  IterableDataset,
  randomSplit,
  Subset,
  TensorDataset,
} from "../src/data/mod.ts";

const ids = (t: zn.Tensor) => (t.toArray() as number[]).map(Number);

function rows(n: number) {
  const x = zn.arange(n * 2).reshape([n, 2]).to("float32");
  const y = zn.arange(n);
  return new TensorDataset(x, y);
}

class Numbers extends Dataset<{ x: number; v: number[]; s: string }> {
  constructor(readonly n: number) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number) {
    return { x: i, v: [i * 0.5, i], s: `#${i}` };
  }
}

Deno.test("TensorDataset: rows, negative indices, size checks", () => {
  const ds = rows(5);
  strictEqual(ds.length, 5);
  const [x, y] = ds.get(-1);
  deepStrictEqual(x.toArray(), [8, 9]);
  deepStrictEqual(ids(y.reshape([1])), [4]);
  throws(() => ds.get(5), RangeError);
  throws(() => new TensorDataset(zn.zeros([3]), zn.zeros([4])), RangeError);
  deepStrictEqual([...ds].length, 5);
});

Deno.test("DataLoader: sequential batches, length and dropLast", () => {
  const ds = rows(10);
  const loader = new DataLoader(ds, { batchSize: 4 });
  strictEqual(loader.length, 3);
  const batches = [...loader];
  deepStrictEqual(batches.map(([x]) => x.shape), [[4, 2], [4, 2], [2, 2]]);
  deepStrictEqual(batches.flatMap(([, y]) => ids(y)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  strictEqual(batches[0][1].dtype, "int64");
  deepStrictEqual(batches[2][0].toArray(), [[16, 17], [18, 19]]);
  const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
  strictEqual(dropped.length, 2);
  deepStrictEqual([...dropped].map(([x]) => x.shape[0]), [4, 4]);
  deepStrictEqual([...new DataLoader(ds)].length, 10);
  throws(() => new DataLoader(ds, { batchSize: 0 }), RangeError);
});

Deno.test("DataLoader: shuffle is reproducible per seed and new each epoch", () => {
  const ds = rows(20);
  const epochs = (seed: number) => {
    const loader = new DataLoader(ds, {
      batchSize: 6,
      shuffle: true,
      generator: new zn.Generator(seed),
    });
    return [0, 1, 2].map(() =>
      [...loader].flatMap(([x, y]) => {
        // the features still match their labels after the gather
        deepStrictEqual(ids(x.select(1, 0)), ids(y).map((v) => 2 * v));
        return ids(y);
      })
    );
  };
  const a = epochs(1), b = epochs(1), c = epochs(2);
  deepStrictEqual(a, b);
  notDeepStrictEqual(a, c);
  notDeepStrictEqual(a[0], a[1]);
  for (const e of a) deepStrictEqual([...e].sort((p, q) => p - q), [...Array(20).keys()]);
  // the same draws as randperm with the same generator
  deepStrictEqual(a[0], ids(zn.randperm(20, { generator: new zn.Generator(1) })));
  // the global generator follows manualSeed
  const loader = new DataLoader(ds, { batchSize: 20, shuffle: true });
  zn.manualSeed(3);
  const first = ids([...loader][0][1]);
  zn.manualSeed(3);
  deepStrictEqual(ids([...loader][0][1]), first);
});

Deno.test("DataLoader: default collate of records, arrays, numbers and strings", () => {
  const loader = new DataLoader(new Numbers(5), { batchSize: 2 });
  const [b0, , b2] = [...loader];
  strictEqual(b0.x.dtype, "int64");
  deepStrictEqual(ids(b0.x), [0, 1]);
  strictEqual(b0.v[0].dtype, "float64");
  deepStrictEqual(b0.v[0].toArray(), [0, 0.5]);
  deepStrictEqual(b0.s, ["#0", "#1"]);
  deepStrictEqual(ids(b2.x), [4]);
  const b = defaultCollate([[zn.ones([2]), true], [zn.zeros([2]), false]]);
  deepStrictEqual(b[0].toArray(), [[1, 1], [0, 0]]);
  deepStrictEqual(b[1].toArray(), [true, false]);
  deepStrictEqual(defaultCollate([new Float32Array([1, 2]), new Float32Array([3, 4])]).shape, [
    2,
    2,
  ]);
  throws(() => defaultCollate([[1, 2], [3]]), RangeError);
  throws(() => defaultCollate([1, "a"]), TypeError);
});

Deno.test("DataLoader: a custom collate gets the samples; TensorDataset gathers with getBatch", () => {
  const ds = rows(6);
  let calls = 0;
  const orig = ds.get.bind(ds);
  ds.get = (i: number) => {
    calls++;
    return orig(i);
  };
  const fast = [...new DataLoader(ds, { batchSize: 3 })];
  strictEqual(calls, 0); // one indexSelect per tensor, no per-row get
  deepStrictEqual(fast[1][0].toArray(), [[6, 7], [8, 9], [10, 11]]);
  const custom = [
    ...new DataLoader(ds, {
      batchSize: 4,
      collate: (samples) => samples.map(([, y]) => Number(y.item())),
    }),
  ];
  deepStrictEqual(custom, [[0, 1, 2, 3], [4, 5]]);
  strictEqual(calls, 6);
  const sub = new Subset(ds, [5, 0, 3]);
  deepStrictEqual([...new DataLoader(sub, { batchSize: 2 })].map(([, y]) => ids(y)), [[5, 0], [3]]);
  strictEqual(calls, 6);
});

Deno.test("DataLoader: async iteration matches sync and awaits async samples", async () => {
  const ds = rows(11);
  const loader = new DataLoader(ds, {
    batchSize: 3,
    shuffle: true,
    generator: new zn.Generator(5),
  });
  const sync = [...loader].map(([, y]) => ids(y));
  const again = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new zn.Generator(5) });
  const got: number[][] = [];
  for await (const [, y] of again) got.push(ids(y));
  deepStrictEqual(got, sync);

  // An async dataset: reads of the next batch start before the current batch is handed out.
  const started: number[] = [];
  class Slow extends Dataset<Promise<number>> {
    get length() {
      return 6;
    }
    get(i: number) {
      started.push(i);
      return new Promise<number>((r) => setTimeout(() => r(i * 10), 1));
    }
  }
  const seen: number[][] = [];
  for await (const b of new DataLoader(new Slow(), { batchSize: 2, prefetch: 1 })) {
    seen.push(ids(b));
    if (seen.length === 1) deepStrictEqual(started, [0, 1, 2, 3]);
  }
  deepStrictEqual(seen, [[0, 10], [20, 30], [40, 50]]);
  throws(() => [...new DataLoader(new Slow(), { batchSize: 2 })], TypeError);
  const noAhead: number[] = [];
  started.length = 0;
  for await (const b of new DataLoader(new Slow(), { batchSize: 2, prefetch: 0 })) {
    noAhead.push(...ids(b));
    if (noAhead.length === 2) deepStrictEqual(started, [0, 1]);
  }
  await rejects(async () => {
    class Bad extends Dataset<Promise<number>> {
      get length() {
        return 2;
      }
      get(): Promise<number> {
        return Promise.reject(new Error("read failed"));
      }
    }
    for await (const _ of new DataLoader(new Bad())) { /* nothing */ }
  }, /read failed/);
});

Deno.test("DataLoader: IterableDataset batches in stream order", async () => {
  const stream = IterableDataset.from(function* () {
    for (let i = 0; i < 7; i++) yield zn.tensor([i, -i]);
  });
  const batches = [...new DataLoader(stream, { batchSize: 3 })];
  deepStrictEqual(batches.map((b) => b.shape), [[3, 2], [3, 2], [1, 2]]);
  deepStrictEqual([...new DataLoader(stream, { batchSize: 3, dropLast: true })].length, 2);
  const asyncCount: number[] = [];
  for await (const b of new DataLoader(stream, { batchSize: 4 })) asyncCount.push(b.shape[0]);
  deepStrictEqual(asyncCount, [4, 3]);
  throws(() => new DataLoader(stream, { shuffle: true }), TypeError);
  throws(() => new DataLoader(stream).length, TypeError);
});

Deno.test("ConcatDataset and Subset index across their parts", () => {
  const a = rows(3), b = rows(4);
  const both = new ConcatDataset([a, b]);
  strictEqual(both.length, 7);
  deepStrictEqual([...both].map(([, y]) => Number(y.item())), [0, 1, 2, 0, 1, 2, 3]);
  deepStrictEqual(both.get(-1)[1].item(), b.get(3)[1].item());
  throws(() => both.get(7), RangeError);
  const sub = new Subset(both, [6, 0]);
  deepStrictEqual(sub.get(0)[0].toArray(), [6, 7]);
  deepStrictEqual([...new DataLoader(both, { batchSize: 4 })].map(([x]) => x.shape[0]), [4, 3]);
});

Deno.test("randomSplit: PyTorch's fraction rounding, disjoint, reproducible", () => {
  const ds = rows(10);
  const sizes = (f: number[], n = 10) => randomSplit(rows(n), f).map((s) => s.length);
  deepStrictEqual(sizes([0.7, 0.15, 0.15]), [8, 1, 1]); // floor 7, 1, 1 + remainder 1 to the first
  deepStrictEqual(sizes([0.7, 0.15, 0.15], 101), [71, 15, 15]);
  deepStrictEqual(sizes([0.34, 0.33, 0.33], 7), [3, 2, 2]);
  deepStrictEqual(sizes([0.5, 0.5], 3), [2, 1]);
  deepStrictEqual(sizes([0.1, 0.1, 0.1, 0.7], 12), [2, 1, 1, 8]); // sizes checked with torch
  deepStrictEqual(sizes([6, 4]), [6, 4]);
  throws(() => randomSplit(ds, [5, 4]), RangeError);
  throws(() => randomSplit(ds, [0.6, 0.3]), RangeError);

  const split = (seed: number) =>
    randomSplit(ds, [0.6, 0.2, 0.2], { generator: new zn.Generator(seed) }).map((s) => s.indices);
  const [tr, va, te] = split(4);
  deepStrictEqual([tr.length, va.length, te.length], [6, 2, 2]);
  deepStrictEqual([...tr, ...va, ...te].sort((a, b) => a - b), [...Array(10).keys()]);
  deepStrictEqual(split(4), [tr, va, te]);
  notDeepStrictEqual(split(5), [tr, va, te]);
  const [part] = randomSplit(ds, [0.6, 0.4], { generator: new zn.Generator(4) });
  ok(part instanceof Subset);
  strictEqual(part.get(0)[1].item(), part.indices[0]);
});
