// zn.save / zn.saveSync replace a file whole or not at all: everything is
// checked before the first byte, the bytes go to a temporary file beside the
// target, which is flushed and renamed over it; a failed save removes the
// temporary file and leaves the old file as it was.
import assert from "node:assert/strict";
import * as zn from "../mod.ts";

/** Equal bytes (without node:assert's element-by-element diff of large arrays). */
function assertSameBytes(got: Uint8Array, want: Uint8Array, msg: string): void {
  assert.ok(got.length === want.length && got.every((b, i) => b === want[i]), msg);
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** A folder with one good file, `m.safetensors`; `fn` gets both paths and the file's bytes. */
async function withGoodFile(
  fn: (dir: string, path: string, good: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.safetensors`;
    zn.saveSync({ w: zn.arange(6).to("float32").reshape(2, 3), b: zn.ones([3]) }, path, {
      metadata: { version: "1" },
    });
    await fn(dir, path, Deno.readFileSync(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("safetensors save: a failed save leaves the old file and no temporary file", async () => {
  await withGoodFile(async (dir, path, good) => {
    const gone = zn.randn([4]);
    gone.dispose();
    // A disposed tensor among several, sorted after tensors that would be written first.
    const tensors = { a: zn.randn([1000]), b: zn.zeros([3]), z_gone: gone, c: zn.ones([2, 2]) };
    let err: unknown = null;
    try {
      zn.saveSync(tensors, path);
    } catch (e) {
      err = e;
    }
    assertSameBytes(Deno.readFileSync(path), good, "the old file changed");
    assert.deepEqual(listing(dir), ["m.safetensors"]);
    assert.match(String(err), /save: "z_gone": tensor was disposed/);
    err = await zn.save(tensors, path).then(() => null, (e) => e);
    assertSameBytes(Deno.readFileSync(path), good, "the old file changed");
    assert.deepEqual(listing(dir), ["m.safetensors"]);
    assert.match(String(err), /save: "z_gone": tensor was disposed/);

    // A bad name, a bad tensor, bad metadata: the same.
    const bad: [Record<string, zn.Tensor>, zn.SaveOptions][] = [
      [{ a: zn.ones([2]), "\ud800": zn.ones([1]) }, {}],
      [{ a: zn.ones([2]), x: [1] as unknown as zn.Tensor }, {}],
      [{ a: zn.ones([2]) }, { metadata: { k: 1 as unknown as string } }],
    ];
    for (const [t, o] of bad) {
      assert.throws(() => zn.saveSync(t, path, o), TypeError);
      await assert.rejects(() => zn.save(t, path, o), TypeError);
      assertSameBytes(Deno.readFileSync(path), good, "the old file changed");
      assert.deepEqual(listing(dir), ["m.safetensors"]);
    }
  });
});

Deno.test("safetensors save: a failure while writing removes the temporary file", async () => {
  await withGoodFile(async (dir, path, good) => {
    // A transposed view is copied out when its turn comes: disposed while the
    // save awaits its first writes, it fails the save half-way.
    const base = zn.randn([30, 20]);
    const late = base.transpose(0, 1);
    const pending = zn.save({ a: zn.randn([200_000]), late }, path);
    base.dispose();
    await assert.rejects(() => pending, /tensor was disposed/);
    assertSameBytes(Deno.readFileSync(path), good, "the old file changed");
    assert.deepEqual(listing(dir), ["m.safetensors"]);
  });
});

Deno.test("safetensors save: a successful save replaces the file", async () => {
  await withGoodFile(async (dir, path, good) => {
    const a = { x: zn.tensor([1, 2, 3], { dtype: "int32" }) };
    zn.saveSync(a, path);
    assert.notEqual(Deno.readFileSync(path).length, good.length);
    assertSameBytes(Deno.readFileSync(path), zn.serialize(a), "not replaced");
    assert.deepEqual(listing(dir), ["m.safetensors"]);

    const b = { y: zn.randn([5, 5]) };
    await zn.save(b, path, { metadata: { v: "2" } });
    assertSameBytes(
      Deno.readFileSync(path),
      zn.serialize(b, { metadata: { v: "2" } }),
      "not replaced",
    );
    assert.deepEqual(zn.loadMetadataSync(path), { v: "2" });
    assert.deepEqual(listing(dir), ["m.safetensors"]);

    // A contiguous CPU tensor disposed while an async save runs is still written whole.
    const c = zn.randn([50_000]);
    const want = [...c.toTypedArray()];
    const pending = zn.save({ c }, path);
    c.dispose();
    await pending;
    const back = zn.loadSync(path).c.toTypedArray();
    assert.ok(back.length === want.length && back.every((v, i) => v === want[i]));

    // A file URL, and a new file.
    const url = new URL(`file://${dir}/new file.safetensors`);
    await zn.save(a, url);
    zn.saveSync(b, url);
    assertSameBytes(Deno.readFileSync(url), zn.serialize(b), "not replaced");
    assert.deepEqual(listing(dir), ["m.safetensors", "new file.safetensors"]);
  });
});

Deno.test("safetensors save: a folder that does not exist is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing/m.safetensors`;
    const t = { w: zn.ones([2]) };
    const re =
      /save: cannot write ".*missing\/m\.safetensors": the folder ".*missing" does not exist/;
    assert.throws(() => zn.saveSync(t, path), Deno.errors.NotFound);
    assert.throws(() => zn.saveSync(t, path), re);
    await assert.rejects(() => zn.save(t, path), Deno.errors.NotFound);
    await assert.rejects(() => zn.save(t, new URL(`file://${path}`)), re);
    assert.deepEqual(listing(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "safetensors save: the file keeps its permission bits, and links are followed",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withGoodFile(async (dir, path) => {
      Deno.chmodSync(path, 0o640);
      await zn.save({ x: zn.ones([1]) }, path);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o640);
      zn.saveSync({ x: zn.ones([1]) }, path);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o640);

      Deno.symlinkSync(path, `${dir}/link.safetensors`);
      zn.saveSync({ viaLink: zn.zeros([2]) }, `${dir}/link.safetensors`);
      assert.ok(Deno.lstatSync(`${dir}/link.safetensors`).isSymlink);
      assert.deepEqual(Object.keys(zn.loadSync(path)), ["viaLink"]);
      assert.deepEqual(listing(dir), ["link.safetensors", "m.safetensors"]);
    });
  },
});
