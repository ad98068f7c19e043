/**
 * Finds, fetches and opens the native library.
 *
 * Search order:
 * 1. `ZENO_LIB`: a library file, or a folder of builds.
 * 2. A checkout (this file beside `zig/build.zig`): its build in
 *    `zig/zig-out/lib` (`deno task build`).
 * 3. A package (imported from JSR, a URL or another project's folder): the
 *    prebuilt library of this version for this OS, arch and CPU level, from
 *    the cache folder, or downloaded into it from the release files
 *    (`ZENO_LIB_URL` overrides where). Every file is checked against the
 *    SHA-256 sum pinned in ./manifest.ts before it is opened, on download and
 *    on every load from the cache.
 *
 * On x86-64 each OS has three variants (baseline, AVX2 `-v3`, AVX-512 `-v4`)
 * and the loader opens the best one the CPU runs: it reads the CPU's features
 * (/proc/cpuinfo on Linux) or asks the baseline library, whose CPUID code is
 * plain in every variant.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ABI_VERSION, SYMBOLS, type ZenoSymbols } from "./symbols.ts";
import { RELEASE } from "./manifest.ts";

/** Where the release files are published: `<base>/v<version>/<file>`. */
const RELEASE_URL = "https://github.com/zeno-dl/zeno/releases/download";

/** The loaded library and what the loader learned about it. */
export interface NativeLibrary {
  /** The library's exports. */
  symbols: ZenoSymbols;
  /** The file that was opened. */
  path: string;
  /** CPU level of the opened build: 1 baseline, 3 AVX2+FMA, 4 AVX-512. */
  level: number;
}

function osName(): string {
  switch (Deno.build.os) {
    case "darwin":
      return "macos";
    case "windows":
      return "windows";
    default:
      return Deno.build.os;
  }
}

function fileName(suffix: string): string {
  const base = `zeno-${osName()}-${Deno.build.arch}${suffix}`;
  if (Deno.build.os === "windows") return `${base}.dll`;
  if (Deno.build.os === "darwin") return `lib${base}.dylib`;
  return `lib${base}.so`;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * An environment variable, or undefined when unset, empty or not readable
 * (no --allow-env).
 *
 * @example
 * ```ts
 * import { env } from "./loader.ts";
 * env("ZENO_LIB"); // undefined unless set
 * ```
 */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: fall through to the other places
  }
}

function open(path: string): Deno.DynamicLibrary<typeof SYMBOLS> {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    throw new Error(
      `zeno: could not open the native library ${path}: ${(e as Error).message}` +
        ` (an outdated build? run \`deno task build\`)`,
    );
  }
  const abi = lib.symbols.zeno_abi_version();
  if (abi !== ABI_VERSION) {
    lib.close();
    throw new Error(
      `zeno: the native library ${path} has ABI version ${abi}, but this Zeno needs ${ABI_VERSION}; rebuild it with \`deno task build\``,
    );
  }
  return lib;
}

const LEVEL_NAMES: Record<number, string> = {
  1: "baseline x86-64",
  3: "x86-64-v3 (AVX2, FMA)",
  4: "x86-64-v4 (AVX-512)",
};

/** The one export asked of a library (or of the CPU probe) before choosing a variant. */
const PROBE_SYMBOLS = { zeno_cpu_level: { parameters: [], result: "u32" } } as const;

/** The variants of one OS and arch, best first. */
const VARIANTS = [[4, "-v4"], [3, "-v3"], [1, ""]] as const;

function variants(): readonly (readonly [number, string])[] {
  return Deno.build.arch === "x86_64" ? VARIANTS : [[1, ""]];
}

/** `ZENO_CPU_LEVEL` (1, 3 or 4): forces a lower variant (to compare or rule one out). */
function levelCap(): number {
  const cap = env("ZENO_CPU_LEVEL");
  if (cap === undefined) return 4;
  if (!["1", "3", "4"].includes(cap)) {
    throw new Error(`zeno: ZENO_CPU_LEVEL must be 1, 3 or 4, got "${cap}"`);
  }
  return Number(cap);
}

/** The CPU level to load for: what the CPU supports, capped by `ZENO_CPU_LEVEL`. */
function cpuLevel(lib: Deno.DynamicLibrary<typeof SYMBOLS>): number {
  const cpu = lib.symbols.zeno_cpu_level();
  try {
    return Math.min(cpu, levelCap());
  } catch (e) {
    lib.close();
    throw e;
  }
}

/**
 * The CPU level read from the OS without opening a library: Linux lists the
 * features the kernel enabled in /proc/cpuinfo (readable with --allow-all
 * only). Undefined where it cannot be read.
 */
function osCpuLevel(): number | undefined {
  if (Deno.build.arch !== "x86_64") return 1;
  if (Deno.build.os !== "linux") return undefined;
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/cpuinfo");
  } catch {
    return undefined;
  }
  const line = text.split("\n").find((l) => l.startsWith("flags"));
  if (!line) return undefined;
  const flags = new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
  const has = (fs: string[]) => fs.every((f) => flags.has(f));
  // Linux lists AVX only where the kernel saves its state (no osxsave flag).
  const v3 = has(["avx", "avx2", "fma", "f16c", "movbe", "bmi1", "bmi2"]);
  const v4 = v3 && has(["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]);
  return Math.min(v4 ? 4 : v3 ? 3 : 1, levelCap());
}

/**
 * Refuses a library built for more than this CPU runs: its first kernel
 * would die with an illegal instruction. `zeno_cpu_level` and
 * `zeno_build_level` are plain CPUID code and constants in every variant,
 * so asking is safe before anything else runs.
 */
function checkLevel(lib: Deno.DynamicLibrary<typeof SYMBOLS>, path: string, level: number): void {
  const cpu = cpuLevel(lib);
  if (level <= cpu) return;
  lib.close();
  throw new Error(
    `zeno: the native library ${path} (ZENO_LIB) is built for ${
      LEVEL_NAMES[level] ?? `level ${level}`
    }, but this CPU supports only ${LEVEL_NAMES[cpu] ?? `level ${cpu}`}; ` +
      `point ZENO_LIB at the folder of builds (the loader picks the best one) or at a ${
        fileName(cpu >= 3 ? "-v3" : "")
      } file`,
  );
}

/**
 * Opens the best variant in `dir` (a folder holding one or more builds) that
 * this CPU runs. Any variant can say which level the CPU supports (plain
 * CPUID code in each), so the folder needs only the ones it uses.
 */
function openFromDir(folder: string): NativeLibrary | undefined {
  const dir = folder.length > 1 ? folder.replace(/[\\/]+$/, "") : folder;
  const present = variants().filter(([, suffix]) => exists(`${dir}/${fileName(suffix)}`));
  if (present.length === 0) return undefined;
  // Ask any variant for the CPU level through its CPUID export alone (a
  // variant left from an older build may lack newer exports), then open the
  // pick with the whole table.
  const [, askSuffix] = present[present.length - 1];
  let probe: Deno.DynamicLibrary<typeof PROBE_SYMBOLS>;
  try {
    probe = Deno.dlopen(`${dir}/${fileName(askSuffix)}`, PROBE_SYMBOLS);
  } catch (e) {
    throw new Error(
      `zeno: could not open the native library ${dir}/${fileName(askSuffix)}: ${
        (e as Error).message
      }`,
    );
  }
  let cpu: number;
  try {
    cpu = Math.min(probe.symbols.zeno_cpu_level(), levelCap());
  } finally {
    probe.close();
  }
  const pick = present.find(([level]) => level <= cpu);
  if (pick === undefined) {
    throw new Error(
      `zeno: ${dir} holds builds for ${
        present.map(([l]) => LEVEL_NAMES[l]).join(", ")
      } only, but this CPU supports ${LEVEL_NAMES[cpu] ?? `level ${cpu}`}; ` +
        "run `deno task build` here to build this CPU's variant, or `deno task build:variants` for all",
    );
  }
  const [level, suffix] = pick;
  const path = `${dir}/${fileName(suffix)}`;
  return { symbols: open(path).symbols, path, level };
}

/** This checkout's build folder, when this file sits in a checkout (beside zig/build.zig). */
function checkoutDir(): string | undefined {
  const here = new URL(import.meta.url);
  if (here.protocol !== "file:") return undefined;
  if (!exists(fileURLToPath(new URL("../zig/build.zig", here)))) return undefined;
  return fileURLToPath(new URL("../zig/zig-out/lib", here));
}

// ------------------------------------------------------------ prebuilt files

/**
 * The folder that caches downloaded libraries: `ZENO_CACHE`, else `zeno` in
 * `DENO_DIR`, else in the user's cache folder (`XDG_CACHE_HOME`, ~/.cache,
 * ~/Library/Caches, %LOCALAPPDATA%), one subfolder per version.
 */
function cacheDir(): string {
  const own = env("ZENO_CACHE");
  if (own) return `${own}/${RELEASE.version}`;
  const denoDir = env("DENO_DIR");
  if (denoDir) return `${denoDir}/zeno/${RELEASE.version}`;
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  const base = Deno.build.os === "windows"
    ? env("LOCALAPPDATA") ?? `${home}/AppData/Local`
    : Deno.build.os === "darwin"
    ? `${home}/Library/Caches`
    : env("XDG_CACHE_HOME") ?? `${home}/.cache`;
  return `${base}/zeno/${RELEASE.version}`;
}

function releaseUrl(name: string): string {
  const base = (env("ZENO_LIB_URL") ?? RELEASE_URL).replace(/\/+$/, "");
  return `${base}/v${RELEASE.version}/${name}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The pinned sum of a release file, or an error saying none is shipped. */
function pinned(name: string): string {
  const sum = RELEASE.files[name];
  if (sum === undefined) {
    throw new Error(
      `zeno ${RELEASE.version} ships no prebuilt library ${name} for ${Deno.build.os} ${Deno.build.arch}; ` +
        "build it with zig (`deno task build` in a checkout) and set ZENO_LIB to it",
    );
  }
  return sum;
}

/** `bytes` checked against the pinned sum of `name`. */
function verify(name: string, bytes: Uint8Array, from: string): void {
  const want = pinned(name);
  const got = sha256(bytes);
  if (got !== want) {
    throw new Error(
      `zeno: ${from} is not the ${name} of zeno ${RELEASE.version}: its SHA-256 is ${got}, ` +
        `expected ${want}; refusing to open it (delete it to download it again)`,
    );
  }
}

/** A cached release file's path after checking its sum; undefined when not cached. */
function cachedFile(name: string): string | undefined {
  const path = `${cacheDir()}/${name}`;
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch {
    return undefined;
  }
  verify(name, bytes, path);
  return path;
}

/** The CPU probe's file name (zig/src/cpu_probe.zig): its one export says the CPU level. */
function probeName(): string {
  const base = `zeno-cpu-${osName()}-${Deno.build.arch}`;
  if (Deno.build.os === "windows") return `${base}.dll`;
  if (Deno.build.os === "darwin") return `lib${base}.dylib`;
  return `lib${base}.so`;
}

/**
 * The CPU level for a package import: from the OS where it tells, else from
 * the cached CPU probe (a few kilobytes, downloaded by init()); undefined
 * when neither is at hand.
 */
function prebuiltLevel(): number | undefined {
  const fromOs = osCpuLevel();
  if (fromOs !== undefined) return fromOs;
  const path = cachedFile(probeName());
  if (path === undefined) return undefined;
  const probe = Deno.dlopen(path, PROBE_SYMBOLS);
  try {
    return Math.min(probe.symbols.zeno_cpu_level(), levelCap());
  } finally {
    probe.close();
  }
}

/** The variants this version ships for this OS and arch, best first. */
function shipped(): readonly (readonly [number, string])[] {
  return variants().filter(([, suffix]) => RELEASE.files[fileName(suffix)] !== undefined);
}

/** The best shipped variant that a CPU of `level` runs, as [level, suffix]. */
function wanted(level: number): readonly [number, string] {
  const pick = shipped().find(([l]) => l <= level);
  if (pick === undefined) pinned(fileName("")); // throws: nothing shipped here
  return pick!;
}

function openPrebuilt(): NativeLibrary | undefined {
  const cpu = prebuiltLevel();
  if (cpu === undefined) return undefined;
  const [level, suffix] = wanted(cpu);
  const path = cachedFile(fileName(suffix));
  if (path === undefined) return undefined;
  return { symbols: open(path).symbols, path, level };
}

/** Downloads one release file into the cache, checked before it is kept. */
async function download(name: string): Promise<void> {
  const dir = cacheDir();
  const path = `${dir}/${name}`;
  if (exists(path)) return;
  const url = releaseUrl(name);
  let bytes: Uint8Array;
  try {
    const res = await fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new Error(
      `zeno: could not download the native library from ${url} (${(e as Error).message}), ` +
        `and ${path} is not cached. Run once with network access (--allow-net), set ZENO_LIB_URL ` +
        "to a mirror of the release files, or build the library with zig (`deno task build` in a " +
        "checkout) and set ZENO_LIB to it",
    );
  }
  verify(name, bytes, url);
  await Deno.mkdir(dir, { recursive: true });
  // A temporary name, then a rename: a reader never sees half a file.
  const tmp = `${path}.${crypto.randomUUID()}.part`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

let loaded: NativeLibrary | undefined;

function openEnv(path: string): NativeLibrary {
  let isDir = false;
  try {
    isDir = Deno.statSync(path).isDirectory;
  } catch {
    throw new Error(`zeno: ZENO_LIB points to ${path}, which does not exist`);
  }
  if (isDir) {
    const lib = openFromDir(path);
    if (!lib) throw new Error(`zeno: ZENO_LIB folder ${path} holds no ${fileName("")} build`);
    return lib;
  }
  const lib = open(path);
  const level = lib.symbols.zeno_build_level();
  checkLevel(lib, path, level);
  return { symbols: lib.symbols, path, level };
}

/**
 * The native library, opened on first use.
 *
 * @example
 * ```ts
 * import { library } from "./loader.ts";
 * console.log(library().path);
 * ```
 */
export function library(): NativeLibrary {
  if (loaded) return loaded;
  const fromEnv = env("ZENO_LIB");
  if (fromEnv) return loaded = openEnv(fromEnv);
  const dir = checkoutDir();
  if (dir) {
    loaded = openFromDir(dir);
    if (loaded) return loaded;
    throw new Error(
      `zeno: no native library found in ${dir}; run \`deno task build\`, or set ZENO_LIB`,
    );
  }
  loaded = openPrebuilt();
  if (loaded) return loaded;
  throw new Error(
    `zeno: the native library of zeno ${RELEASE.version} is not in ${cacheDir()} yet: ` +
      "`await zn.init()` downloads it (importing mod.ts does so itself)",
  );
}

/**
 * Prepares the native library: a package import (JSR, a URL, another
 * project's folder) downloads this CPU's prebuilt library into the cache
 * once; checkouts and `ZENO_LIB` need nothing. Importing mod.ts calls it.
 *
 * @example
 * ```ts
 * import { init } from "./loader.ts";
 * await init();
 * ```
 */
export async function init(): Promise<void> {
  if (loaded || env("ZENO_LIB") || checkoutDir()) return;
  if (prebuiltLevel() === undefined) await download(probeName());
  const [, suffix] = wanted(prebuiltLevel()!);
  await download(fileName(suffix));
  library();
}
