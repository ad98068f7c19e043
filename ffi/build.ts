/**
 * Builds the native library with the pinned Zig (ReleaseFast).
 *
 *   deno task build            the variant this CPU runs best, and the CUDA kernels
 *   deno task build:variants   every CPU variant of this OS and arch
 *   deno task build:all        every shipped OS and arch
 *   ffi/build.ts --all --prefix=<dir>   the same, installed under <dir>/lib
 *
 * The default build calls the compiler directly (`zig build-obj` for the
 * CUDA kernels' PTX and for each of the library's units, side by side,
 * then `zig build-lib` to link the units) with the flags that zig/build.zig
 * gives the same variant, so a first build compiles the kernels once and
 * skips compiling the build runner (about 80 s of a fresh 2-core machine's
 * first build); CI checks that both give the same bytes.
 * The other builds go through zig/build.zig. Zig was looked for in $ZIG,
 * then on PATH, then in the toolchain cache that .ci/install_toolchain.sh
 * fills; its version must match .ci/toolchain.env. Zig's cache makes a build
 * with nothing changed near-instant, and unlike a timestamp check it cannot
 * miss a source edited while a build ran.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const root = new URL("..", import.meta.url);
const zigDir = fileURLToPath(new URL("zig/", root));

/** The version .ci/toolchain.env pins for Zig or Deno. */
export function pinned(name: "ZIG_VERSION" | "DENO_VERSION"): string {
  const env = Deno.readTextFileSync(new URL(".ci/toolchain.env", root));
  const m = env.match(new RegExp(`^${name}=(\\S+)$`, "m"));
  if (!m) throw new Error(`ffi/build.ts: .ci/toolchain.env names no ${name}`);
  return m[1];
}

async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** The path of a Zig of version `want`: $ZIG, `zig` on the PATH, or the pinned toolchain's. */
export async function findZig(want: string): Promise<string> {
  const home = Deno.env.get("HOME") ?? ".";
  const cache = Deno.env.get("ZENO_TOOLCHAIN_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/zeno/toolchain`;
  const candidates = [
    Deno.env.get("ZIG"),
    "zig",
    `${cache}/deno-${pinned("DENO_VERSION")}-zig-${want}/bin/zig`,
  ].filter((c): c is string => !!c);
  const seen: string[] = [];
  for (const c of candidates) {
    const v = (await output(c, ["version"]))?.trim();
    if (v === want) return c;
    if (v) seen.push(`${c} is ${v}`);
  }
  throw new Error(
    `Zig ${want} not found${seen.length ? ` (${seen.join("; ")})` : ""}. ` +
      "Install it with `bash .ci/install_toolchain.sh` (or set ZIG to its path).",
  );
}

/**
 * The x86-64 variant this CPU runs best, from the features Zig detects: the
 * same test as zig/src/cpu.zig's level() and zig/build.zig's bestVariant.
 */
export function bestSuffix(features: ReadonlySet<string>): "" | "-v3" | "-v4" {
  const has = (fs: string[]) => fs.every((f) => features.has(f));
  const v3 = has(["avx", "avx2", "fma", "f16c", "movbe", "bmi", "bmi2"]);
  const v4 = v3 && has(["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]);
  return v4 ? "-v4" : v3 ? "-v3" : "";
}

/** The native CPU's feature names from `zig targets` (ZON). */
export function nativeFeatures(targetsZon: string): Set<string> {
  const native = targetsZon.slice(targetsZon.indexOf(".native = .{"));
  const list = native.slice(native.indexOf(".features = .{"));
  const end = list.indexOf("}");
  return new Set([...list.slice(0, end).matchAll(/"([^"]+)"/g)].map((m) => m[1]));
}

/**
 * The library's compilation units (zig/src/abi_<unit>.zig), as zig/build.zig's
 * `units`: compiled in parallel, then linked.
 */
export const UNITS = ["core", "conv", "elementwise"] as const;

const MCPU: Record<string, string> = { "": "baseline", "-v3": "x86_64_v3", "-v4": "x86_64_v4" };

async function run(zig: string, args: string[], what: string): Promise<void> {
  const t0 = performance.now();
  console.error(`build: ${what} ...`);
  const status = await new Deno.Command(zig, {
    args,
    cwd: zigDir,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) Deno.exit(status.code || 1);
  console.error(`build: ${what} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Compiles through Zig's cache and installs the result at `dest`. With
 * `--listen=-` the compiler keeps its output under .zig-cache/o/<digest>/
 * and does no work when no input changed; given an output path instead
 * (`-femit-bin=<path>`), Zig 0.17 compiles everything again on every call.
 * `emit` is the output's file name in that folder. The copy goes to a
 * temporary name and is renamed over `dest`, so a process that has the old
 * library open keeps its copy. When the compiler reports no output (a
 * compile error), the command runs again without the protocol so that Zig
 * prints its errors, and the build stops.
 */
async function compileCached(
  zig: string,
  args: string[],
  emit: { flag: string; file: string },
  dest: string,
  what: string,
): Promise<void> {
  const t0 = performance.now();
  console.error(`build: ${what} ...`);
  const child = new Deno.Command(zig, {
    args: [...args, "--listen=-"],
    cwd: zigDir,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Two messages of std.zig.Client: update, then exit (a u32 tag and a
  // u32 body length each, little-endian, no bodies).
  const request = new Uint8Array(16);
  new DataView(request.buffer).setUint32(0, 1, true);
  const writer = child.stdin.getWriter();
  await writer.write(request);
  await writer.close();
  const { success, stdout } = await child.output();
  const emitted = success ? emitDigest(stdout) : undefined;
  if (emitted === undefined) {
    await run(zig, [...args, `${emit.flag}=${dest}`], `${what}, again to show the errors`);
    return;
  }
  const from = `${zigDir}.zig-cache/o/${emitted.digest}/${emit.file}`;
  const tmp = `${dest}.tmp-${Deno.pid}`;
  await Deno.copyFile(from, tmp);
  await Deno.rename(tmp, dest);
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(`build: ${what} ${emitted.cacheHit ? "unchanged" : "done"} in ${took} s`);
}

/**
 * The output folder's digest from the compiler's messages (std.zig.Server:
 * a u32 tag and a u32 body length, then the body; `emit_digest` is tag 2,
 * a flags byte whose lowest bit says the output came from the cache, and a
 * 16-byte digest), or undefined when none came.
 */
export function emitDigest(
  messages: Uint8Array,
): { digest: string; cacheHit: boolean } | undefined {
  const view = new DataView(messages.buffer, messages.byteOffset, messages.byteLength);
  let found: { digest: string; cacheHit: boolean } | undefined;
  for (let at = 0; at + 8 <= messages.length;) {
    const tag = view.getUint32(at, true);
    const len = view.getUint32(at + 4, true);
    const body = messages.subarray(at + 8, at + 8 + len);
    if (tag === 2 && body.length === 17) {
      const digest = [...body.subarray(1)].map((b) => b.toString(16).padStart(2, "0")).join("");
      found = { digest, cacheHit: (body[0] & 1) === 1 };
    }
    at += 8 + len;
  }
  return found;
}

/** This machine's variant, compiled directly (Linux and macOS hosts). */
async function buildHost(zig: string): Promise<void> {
  const os = Deno.build.os === "darwin" ? "macos" : Deno.build.os;
  const arch = Deno.build.arch;
  const suffix = arch === "x86_64"
    ? bestSuffix(nativeFeatures(await output(zig, ["targets"]) ?? ""))
    : "";
  const ext = os === "macos" ? "dylib" : "so";
  const name = `zeno-${os}-${arch}${suffix}`;
  const out = `${zigDir}zig-out/lib`;
  const gen = `${zigDir}.zig-cache/zeno-ptx`;
  const objs = `${zigDir}.zig-cache/zeno-units`;
  const wrapper = 'pub const text: [:0]const u8 = @embedFile("zeno_kernels.ptx");\n';
  const wrapperPath = `${gen}/zeno_ptx.zig`;
  await Deno.mkdir(out, { recursive: true });
  await Deno.mkdir(gen, { recursive: true });
  await Deno.mkdir(objs, { recursive: true });
  // As zig/build.zig's addPtx: sm_80 PTX, embedded by a generated module.
  const ptx = (async () => {
    await compileCached(
      zig,
      [
        "build-obj",
        ...["-target", "nvptx64-cuda", "-mcpu", "sm_80", "-O", "ReleaseFast"],
        ...["-fno-emit-bin", "-femit-asm", "-fno-compiler-rt", "-fno-ubsan-rt"],
        ...["--cache-dir", ".zig-cache", "--name", "zeno_kernels", "src/ptx_root.zig"],
      ],
      { flag: "-femit-asm", file: "zeno_kernels.s" },
      `${gen}/zeno_kernels.ptx`,
      "CUDA kernels (PTX)",
    );
    await Deno.copyFile(`${gen}/zeno_kernels.ptx`, `${out}/zeno_kernels.ptx`);
    let old = "";
    try {
      old = await Deno.readTextFile(wrapperPath);
    } catch { /* first build */ }
    if (old !== wrapper) await Deno.writeTextFile(wrapperPath, wrapper);
  })();
  // As zig/build.zig's addVariant: one object per unit, compiled side by
  // side (the core unit after the PTX it embeds), then linked. glibc 2.28
  // on Linux, stripped, libc linked.
  const target = os === "linux" ? `${arch}-linux-gnu.2.28` : `${arch}-${os}`;
  const flags = [
    "-fstrip",
    "-O",
    "ReleaseFast",
    "-target",
    target,
    "-mcpu",
    MCPU[suffix] ?? "baseline",
  ];
  const objects = await Promise.all(UNITS.map(async (unit) => {
    const module = unit === "core"
      ? ["--dep", "zeno_ptx", `-Mroot=src/abi_${unit}.zig`, `-Mzeno_ptx=${wrapperPath}`]
      : [`-Mroot=src/abi_${unit}.zig`];
    if (unit === "core") await ptx;
    const obj = `${objs}/zeno-${unit}.o`;
    await compileCached(
      zig,
      [
        "build-obj",
        ...flags,
        ...module,
        "-lc",
        "--cache-dir",
        ".zig-cache",
        "--name",
        `zeno-${unit}`,
      ],
      { flag: "-femit-bin", file: `zeno-${unit}.o` },
      obj,
      `the ${unit} unit (ReleaseFast)`,
    );
    return obj;
  }));
  await compileCached(
    zig,
    [
      "build-lib",
      ...flags,
      ...objects,
      "-lc",
      "--cache-dir",
      ".zig-cache",
      "--name",
      name,
      "-dynamic",
    ],
    { flag: "-femit-bin", file: `lib${name}.${ext}` },
    `${out}/lib${name}.${ext}`,
    `lib${name}.${ext} (linked)`,
  );
  if (arch === "x86_64") {
    // As zig/build.zig's addProbe: the CPU probe that package imports download.
    const probe = `zeno-cpu-${os}-${arch}`;
    await compileCached(
      zig,
      [
        "build-lib",
        ...["-fstrip", "-O", "ReleaseSmall", "-target", `${arch}-${os}`, "-mcpu", "baseline"],
        ...["-fno-compiler-rt", "-fno-ubsan-rt", "--cache-dir", ".zig-cache", "--name", probe],
        ...["-dynamic", "src/cpu_probe.zig"],
      ],
      { flag: "-femit-bin", file: `lib${probe}.${ext}` },
      `${out}/lib${probe}.${ext}`,
      `lib${probe}.${ext} (the CPU probe)`,
    );
  }
}

if (import.meta.main) {
  const zig = await findZig(pinned("ZIG_VERSION"));
  const step = Deno.args.includes("--all")
    ? "all"
    : Deno.args.includes("--variants")
    ? "variants"
    : undefined;
  const prefix = Deno.args.find((a) => a.startsWith("--prefix="))?.slice("--prefix=".length);
  if (step === undefined && prefix === undefined && ["linux", "darwin"].includes(Deno.build.os)) {
    await buildHost(zig);
  } else {
    const where = prefix ? ["-p", prefix] : [];
    await run(
      zig,
      ["build", ...(step ? [step] : []), ...where, "--summary", "none"],
      `zig build ${step ?? ""}`,
    );
  }
}
