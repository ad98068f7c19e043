/** zn.data.transforms: normalize, randomCrop, randomHorizontalFlip and compose. */
import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import { transforms } from "../src/data/mod.ts";

const close = (a: number[], b: number[], tol = 1e-6) =>
  a.forEach((v, i) => ok(Math.abs(v - b[i]) <= tol, `at ${i}: ${v} vs ${b[i]}`));

Deno.test("normalize: per channel, on an image and on a batch", () => {
  const mean = [0.5, 0.25, 0.1], std = [0.5, 0.2, 2];
  const img = zn.rand([3, 4, 5], { generator: new zn.Generator(0) });
  const out = transforms.normalize(mean, std)(img);
  deepStrictEqual(out.shape, [3, 4, 5]);
  strictEqual(out.dtype, "float32");
  const a = img.toTypedArray() as Float32Array, o = out.toTypedArray() as Float32Array;
  close(
    Array.from(o),
    Array.from(a, (v, i) => (v - mean[Math.floor(i / 20)]) / std[Math.floor(i / 20)]),
  );
  const batch = zn.stack([img, img.mul(2)]);
  const ob = transforms.normalize(mean, std)(batch);
  deepStrictEqual(ob.shape, [2, 3, 4, 5]);
  close(Array.from(ob.select(0, 0).toTypedArray() as Float32Array), Array.from(o));
  // MNIST's usual constants on one channel
  const m = transforms.normalize([0.1307], [0.3081])(zn.ones([2, 1, 2, 2]));
  close(Array.from(m.toTypedArray() as Float32Array), Array(8).fill((1 - 0.1307) / 0.3081), 1e-5);
  throws(() => transforms.normalize([0, 0], [1, 1])(img), RangeError);
  throws(() => transforms.normalize(0, 0), RangeError);
  throws(() => transforms.normalize(0, 1)(zn.ones([4, 4])), RangeError);
});

/** Whether `crop` equals a window of `padded` ([C, H, W]); the window's corner or null. */
function findWindow(padded: number[][][], crop: number[][][]): [number, number] | null {
  const h = crop[0].length, w = crop[0][0].length;
  for (let i = 0; i + h <= padded[0].length; i++) {
    for (let j = 0; j + w <= padded[0][0].length; j++) {
      let same = true;
      for (let c = 0; c < crop.length && same; c++) {
        for (let y = 0; y < h && same; y++) {
          for (let x = 0; x < w && same; x++) same = padded[c][i + y][j + x] === crop[c][y][x];
        }
      }
      if (same) return [i, j];
    }
  }
  return null;
}

function pad(img: number[][][], l: number, t: number, r: number, b: number, fill = 0) {
  return img.map((ch) => {
    const W = ch[0].length + l + r;
    const rows = ch.map((row) => [...Array(l).fill(fill), ...row, ...Array(r).fill(fill)]);
    return [
      ...Array.from({ length: t }, () => Array(W).fill(fill)),
      ...rows,
      ...Array.from({ length: b }, () => Array(W).fill(fill)),
    ];
  });
}

Deno.test("randomCrop: windows of the padded image, reproducible per seed", () => {
  const img = zn.arange(2 * 6 * 6).reshape([2, 6, 6]).to("float32").add(1);
  const arr = img.toArray() as number[][][];
  const crop = transforms.randomCrop(6, { padding: 2, generator: new zn.Generator(3) });
  const corners = new Set<string>();
  for (let k = 0; k < 20; k++) {
    const out = crop(img);
    deepStrictEqual(out.shape, [2, 6, 6]);
    const at = findWindow(pad(arr, 2, 2, 2, 2), out.toArray() as number[][][]);
    ok(at, "not a window of the padded image");
    corners.add(at.join(","));
  }
  ok(corners.size > 5, "positions vary");
  const again = transforms.randomCrop(6, { padding: 2, generator: new zn.Generator(3) });
  deepStrictEqual(
    again(img).toArray(),
    transforms.randomCrop(6, { padding: 2, generator: new zn.Generator(3) })(img).toArray(),
  );
  // rectangular size, [lr, tb] padding with a fill value, no padding
  const rect = transforms.randomCrop([3, 8], {
    padding: [1, 0],
    fill: -1,
    generator: new zn.Generator(1),
  })(img);
  deepStrictEqual(rect.shape, [2, 3, 8]);
  ok(findWindow(pad(arr, 1, 0, 1, 0, -1), rect.toArray() as number[][][]));
  const small = transforms.randomCrop(4, { generator: new zn.Generator(2) })(img);
  ok(findWindow(arr, small.toArray() as number[][][]));
  throws(() => transforms.randomCrop(7)(img), RangeError);
  throws(() => transforms.randomCrop(3, { padding: [1, 2, 3] }), RangeError);
});

Deno.test("randomCrop: a batch gets a crop position per image", () => {
  const batch = zn.rand([16, 1, 8, 8], { generator: new zn.Generator(0) });
  const out = transforms.randomCrop(8, { padding: 3, generator: new zn.Generator(9) })(batch);
  deepStrictEqual(out.shape, [16, 1, 8, 8]);
  const corners = new Set<string>();
  for (let n = 0; n < 16; n++) {
    const src = batch.select(0, n).toArray() as number[][][];
    const at = findWindow(pad(src, 3, 3, 3, 3), out.select(0, n).toArray() as number[][][]);
    ok(at);
    corners.add(at.join(","));
  }
  ok(corners.size > 4, "each image is cropped on its own");
});

Deno.test("randomHorizontalFlip and compose", () => {
  const img = zn.tensor([[[1n, 2n, 3n], [4n, 5n, 6n]]]);
  deepStrictEqual(transforms.randomHorizontalFlip({ p: 1 })(img).toArray(), [[[3, 2, 1], [
    6,
    5,
    4,
  ]]]);
  deepStrictEqual(transforms.randomHorizontalFlip({ p: 0 })(img).toArray(), img.toArray());
  const batch = zn.stack(Array.from({ length: 12 }, () => img));
  const flipped = transforms.randomHorizontalFlip({ generator: new zn.Generator(0) })(batch);
  const kinds = new Set(
    Array.from({ length: 12 }, (_, k) => JSON.stringify(flipped.select(0, k).toArray())),
  );
  strictEqual(kinds.size, 2);
  const t = transforms.compose(
    transforms.randomCrop(3, { padding: 1, generator: new zn.Generator(0) }),
    [transforms.normalize(1, 2)],
  );
  const out = t(img.to("float32"));
  deepStrictEqual(out.shape, [1, 3, 3]);
  const raw = transforms.randomCrop(3, { padding: 1, generator: new zn.Generator(0) })(
    img.to("float32"),
  );
  deepStrictEqual(out.toArray(), raw.sub(1).div(2).toArray());
  notDeepStrictEqual(out.toArray(), img.toArray());
});
