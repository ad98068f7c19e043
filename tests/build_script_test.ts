import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { bestSuffix, emitDigest } from "../ffi/build.ts";

/** One message of the compiler's protocol: a u32 tag, a u32 length, the body. */
function message(tag: number, body: number[]): number[] {
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  view.setUint32(0, tag, true);
  view.setUint32(4, body.length, true);
  return [...head, ...body];
}

Deno.test("emitDigest finds the output folder among the compiler's messages", () => {
  const digest = Array.from({ length: 16 }, (_, i) => i * 17);
  const stream = new Uint8Array([
    ...message(0, [...new TextEncoder().encode("0.17.1")]),
    ...message(6, [2, 115, 116, 100, 0]),
    ...message(2, [1, ...digest]),
    ...message(1, [0, 0, 0, 0, 0, 0, 0, 0]),
  ]);
  assertEquals(emitDigest(stream), {
    digest: "00112233445566778899aabbccddeeff",
    cacheHit: true,
  });
  const fresh = new Uint8Array(message(2, [0, ...digest]));
  assertEquals(emitDigest(fresh)?.cacheHit, false);
});

Deno.test("emitDigest reports nothing when the compiler sent no digest", () => {
  // A compile error: an error bundle and no emit_digest message.
  const stream = new Uint8Array([
    ...message(0, [...new TextEncoder().encode("0.17.1")]),
    ...message(1, [1, 0, 0, 0, 4, 0, 0, 0, 9, 9, 9, 9]),
  ]);
  assertEquals(emitDigest(stream), undefined);
  assertEquals(emitDigest(new Uint8Array(0)), undefined);
  // A digest message cut short is not taken for one.
  assertEquals(emitDigest(new Uint8Array(message(2, [1, 2, 3]))), undefined);
});

Deno.test("bestSuffix picks the highest x86-64 level whose features are all present", () => {
  const v3 = ["avx", "avx2", "fma", "f16c", "movbe", "bmi", "bmi2"];
  const v4 = [...v3, "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"];
  assertEquals(bestSuffix(new Set(v4)), "-v4");
  assertEquals(bestSuffix(new Set(v3)), "-v3");
  assertEquals(bestSuffix(new Set(v4.filter((f) => f !== "fma"))), "");
  assertEquals(bestSuffix(new Set()), "");
});
