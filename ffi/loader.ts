/**
 * Finds and opens the native library.
 *
 * Search order: the `ZENO_LIB` environment variable (a file, or a folder of
 * builds), then the local build in `zig/zig-out/lib` beside this file, then,
 * when Zeno is imported from a remote URL, the prebuilt binary for this OS and
 * arch fetched once into a cache folder. On x86-64 the baseline build is
 * asked which level the CPU supports and the best variant is opened.
 *
 * @module
 */
import { ABI_VERSION, SYMBOLS, type ZenoSymbols } from "./symbols.ts";

/** Where prebuilt binaries are published, for remote imports. */
const RELEASE_URL = "https://github.com/zeno-dl/zeno/releases/download";
/** The package version whose binaries a remote import fetches. */
const VERSION = "0.1.0";

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

/**
 * The CPU level to load for: what the CPU supports, capped by
 * `ZENO_CPU_LEVEL` (1, 3 or 4), which forces a lower variant (to compare
 * variants, or to rule one out).
 */
function cpuLevel(lib: Deno.DynamicLibrary<typeof SYMBOLS>): number {
  const cpu = lib.symbols.zeno_cpu_level();
  let cap: string | undefined;
  try {
    cap = Deno.env.get("ZENO_CPU_LEVEL");
  } catch {
    return cpu; // no --allow-env
  }
  if (cap === undefined || cap === "") return cpu;
  if (!["1", "3", "4"].includes(cap)) {
    lib.close();
    throw new Error(`zeno: ZENO_CPU_LEVEL must be 1, 3 or 4, got "${cap}"`);
  }
  return Math.min(cpu, Number(cap));
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

/** Opens the best variant in `dir` (a folder holding the builds). */
function openFromDir(dir: string): NativeLibrary | undefined {
  const base = `${dir}/${fileName("")}`;
  if (!exists(base)) return undefined;
  const lib = open(base);
  const level = cpuLevel(lib);
  for (const [want, suffix] of [[4, "-v4"], [3, "-v3"]] as const) {
    const path = `${dir}/${fileName(suffix)}`;
    if (level >= want && exists(path)) {
      lib.close();
      const best = open(path);
      return { symbols: best.symbols, path, level: want };
    }
  }
  return { symbols: lib.symbols, path: base, level: 1 };
}

function envLib(): string | undefined {
  try {
    return Deno.env.get("ZENO_LIB");
  } catch {
    return undefined; // no --allow-env: fall through to the other places
  }
}

function localDir(): string | undefined {
  const url = new URL("../zig/zig-out/lib", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** Fetches the prebuilt binaries for this platform into a cache folder (remote imports only). */
async function fetchPrebuilt(): Promise<string> {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  const dir = Deno.env.get("ZENO_CACHE") ?? `${home}/.cache/zeno/${VERSION}`;
  await Deno.mkdir(dir, { recursive: true });
  const suffixes = Deno.build.arch === "x86_64" ? ["", "-v3", "-v4"] : [""];
  for (const s of suffixes) {
    const name = fileName(s);
    const path = `${dir}/${name}`;
    if (exists(path)) continue;
    const res = await fetch(`${RELEASE_URL}/v${VERSION}/${name}`);
    if (!res.ok) throw new Error(`zeno: could not download ${name}: HTTP ${res.status}`);
    const tmp = `${path}.part`;
    await Deno.writeFile(tmp, new Uint8Array(await res.arrayBuffer()));
    await Deno.rename(tmp, path);
  }
  return dir;
}

let loaded: NativeLibrary | undefined;

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
  const env = envLib();
  if (env) {
    let isDir = false;
    try {
      isDir = Deno.statSync(env).isDirectory;
    } catch {
      throw new Error(`zeno: ZENO_LIB points to ${env}, which does not exist`);
    }
    if (isDir) {
      loaded = openFromDir(env);
      if (!loaded) throw new Error(`zeno: ZENO_LIB folder ${env} holds no ${fileName("")}`);
    } else {
      const lib = open(env);
      const level = lib.symbols.zeno_build_level();
      checkLevel(lib, env, level);
      loaded = { symbols: lib.symbols, path: env, level };
    }
    return loaded;
  }
  const dir = localDir();
  if (dir) {
    loaded = openFromDir(dir);
    if (loaded) return loaded;
    throw new Error(
      `zeno: no native library found (looked for ${dir}/${
        fileName("")
      }); run \`deno task build\`, or set ZENO_LIB`,
    );
  }
  throw new Error(
    "zeno: imported from a remote URL: call `await zn.init()` once before using tensors, so the native library can be downloaded",
  );
}

/**
 * Prepares the native library, downloading the prebuilt binary when Zeno is
 * imported from a remote URL. Local checkouts need no call.
 *
 * @example
 * ```ts
 * import { init } from "./loader.ts";
 * await init();
 * ```
 */
export async function init(): Promise<NativeLibrary> {
  if (loaded) return loaded;
  if (envLib() || localDir()) return library();
  const dir = await fetchPrebuilt();
  loaded = openFromDir(dir);
  if (!loaded) throw new Error(`zeno: the download into ${dir} holds no ${fileName("")}`);
  return loaded;
}
