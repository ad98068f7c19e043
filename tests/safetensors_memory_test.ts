// Safetensors: loading a large file reads each tensor straight into its own
// storage; the memory it takes stays close to the file's size.
import "../src/cpu_backend.ts";
import assert from "node:assert/strict";
import { load, loadSync } from "../src/io/mod.ts";

const MB = 1 << 20;

/** A ~64 MB file of two float32 tensors, written in 1 MB chunks (no big buffer). */
function writeBig(path: string): number {
  const sizes = [12 * MB, 4 * MB]; // elements
  let at = 0;
  const header: Record<string, unknown> = {};
  sizes.forEach((n, i) => {
    header[`t${i}`] = { dtype: "F32", shape: [n], data_offsets: [at, at + 4 * n] };
    at += 4 * n;
  });
  let json = JSON.stringify(header);
  json += " ".repeat((8 - json.length % 8) % 8);
  using f = Deno.openSync(path, { write: true, create: true, truncate: true });
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  f.writeSync(prefix);
  f.writeSync(new TextEncoder().encode(json));
  const chunk = new Float32Array(MB / 4);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i;
  const bytes = new Uint8Array(chunk.buffer);
  for (let done = 0; done < at; done += MB) {
    for (let w = 0; w < MB;) w += f.writeSync(bytes.subarray(w));
  }
  return 8 + json.length + at;
}

Deno.test("safetensors memory: a 64 MB file loads with RSS growth under 2x its size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/big.safetensors`;
    const size = writeBig(path);
    assert.ok(size > 64 * MB);
    const before = Deno.memoryUsage().rss;
    const t = await load(path);
    const grew = Deno.memoryUsage().rss - before;
    assert.equal(t.t0.numel, 12 * MB);
    assert.equal((t.t1.toTypedArray() as Float32Array)[MB / 4 + 3], 3);
    assert.ok(
      grew < 2 * size,
      `RSS grew by ${(grew / MB).toFixed(1)} MB for a ${size / MB} MB file`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors memory: loadSync of the same file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/big.safetensors`;
    const size = writeBig(path);
    const before = Deno.memoryUsage().rss;
    const t = loadSync(path);
    const grew = Deno.memoryUsage().rss - before;
    assert.equal((t.t0.toTypedArray() as Float32Array)[12 * MB - 1], MB / 4 - 1);
    assert.ok(
      grew < 2 * size,
      `RSS grew by ${(grew / MB).toFixed(1)} MB for a ${size / MB} MB file`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
