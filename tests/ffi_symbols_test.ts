import assert from "node:assert/strict";
import { ABI_VERSION, SYMBOLS } from "../ffi/symbols.ts";
import { library } from "../ffi/loader.ts";
import { UNITS } from "../ffi/build.ts";

const ZIG_TO_FFI: Record<string, string> = {
  "i32": "i32",
  "u32": "u32",
  "f64": "f64",
  "u64": "u64",
  "[*]f64": "buffer",
  "[*]u64": "buffer",
  "[*]u8": "buffer",
  "?[*]u8": "buffer",
  "[*]const i32": "buffer",
  "[*]const f64": "buffer",
  "[*]const u8": "buffer",
  "?[*]const u8": "buffer",
  "[*]i32": "buffer",
};

interface Export {
  name: string;
  params: string[];
  result: string;
}

/** Every export of the C ABI's units (zig/src/abi_<unit>.zig). */
function zigExports(): Export[] {
  const src = UNITS.map((u) =>
    Deno.readTextFileSync(new URL(`../zig/src/abi_${u}.zig`, import.meta.url))
  ).join("\n");
  const re = /export fn (\w+)\(([^)]*)\) callconv\(\.c\) ([^{\s]+) \{/g;
  const out: Export[] = [];
  for (const m of src.matchAll(re)) {
    // Node-API's entry point (src/host_memory.ts), called by process.dlopen.
    if (m[1] === "napi_register_module_v1") continue;
    const params = m[2].trim() === "" ? [] : m[2].split(",").map((p) => {
      const type = p.split(":")[1].trim();
      const ffi = ZIG_TO_FFI[type];
      if (!ffi) throw new Error(`${m[1]}: no FFI mapping for Zig type ${type}`);
      return ffi;
    });
    const result = ZIG_TO_FFI[m[3]] ?? m[3];
    out.push({ name: m[1], params, result });
  }
  return out;
}

Deno.test("every Zig export matches the TypeScript symbol table, and back", () => {
  const exports = zigExports();
  assert.ok(exports.length >= 10, "parsed too few exports from zig/src/abi_*.zig");
  const table = SYMBOLS as Record<
    string,
    { name?: string; parameters: readonly string[]; result: string }
  >;
  const byName = new Map(exports.map((e) => [e.name, e]));
  for (const e of exports) {
    const t = table[e.name];
    assert.ok(t, `${e.name} is exported by Zig but missing from ffi/symbols.ts`);
    assert.deepEqual([...t.parameters], e.params, `${e.name}: parameter types differ`);
    assert.equal(t.result, e.result, `${e.name}: result types differ`);
  }
  for (const [key, t] of Object.entries(table)) {
    // An entry under another key (a non-blocking twin) names its export.
    const e = byName.get(t.name ?? key);
    assert.ok(e, `${key} is in ffi/symbols.ts but not exported by zig/src/abi_*.zig`);
    assert.deepEqual([...t.parameters], e.params, `${key}: parameter types differ from ${e.name}`);
    assert.equal(t.result, e.result, `${key}: result types differ from ${e.name}`);
  }
});

Deno.test("the loaded library reports the ABI version the table describes", () => {
  const lib = library();
  assert.equal(lib.symbols.zeno_abi_version(), ABI_VERSION);
  assert.ok([1, 3, 4].includes(lib.level), `unexpected CPU level ${lib.level}`);
  assert.equal(lib.symbols.zeno_build_level(), lib.level);
});

Deno.test("the loader picks the best variant the CPU supports", () => {
  const lib = library();
  const cpu = lib.symbols.zeno_cpu_level();
  assert.ok(lib.level <= cpu, `opened a level-${lib.level} build on a level-${cpu} CPU`);
  if (Deno.build.arch === "x86_64" && cpu >= 3) assert.ok(lib.level >= 3);
});

Deno.test("a library with another ABI version is refused with a clear message", async () => {
  // Run a child with ZENO_LIB pointing at a stand-in library that reports ABI 999.
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/fake.zig`;
    await Deno.writeTextFile(
      src,
      "export fn zeno_abi_version() callconv(.c) u32 { return 999; }\n",
    );
    const zig = Deno.env.get("ZIG") ?? "zig";
    let built: Deno.CommandOutput | undefined;
    try {
      // Without zig on PATH, output() throws at once rather than rejecting.
      built = await new Deno.Command(zig, {
        args: ["build-lib", "-dynamic", "-O", "ReleaseSmall", src, `-femit-bin=${dir}/libfake.so`],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch {
      built = undefined;
    }
    if (!built?.success || Deno.build.os !== "linux") {
      console.log("skipped: could not build the stand-in library here");
      return;
    }
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { library } from "${new URL("../ffi/loader.ts", import.meta.url)}"; library();`,
      ],
      env: { ZENO_LIB: `${dir}/libfake.so` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(child.stderr);
    assert.ok(!child.success);
    assert.match(err, /ABI version 999|could not open/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
