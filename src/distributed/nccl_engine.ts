/**
 * The NCCL engine: `libnccl.so.2`, opened by the native library at run time
 * (zig/src/nccl.zig), so that Zeno loads where NCCL is not installed; and the
 * TCP rendezvous (zig/src/rendezvous.zig) that hands NCCL's unique id from
 * rank 0 to the others when no MPI launched the job.
 *
 * @module
 */
import { env } from "../../ffi/loader.ts";
import { installedEngine, mpi } from "./mpi_engine.ts";

/** The NCCL version `.ci/install_engines.sh --nccl` installs (.ci/toolchain.env). */
export const NCCL_VERSION = "2.32.6";

/** Element type codes of NCCL's ncclDataType_t (zig/src/nccl.zig's DType); bool travels as uint8. */
export const NCCL_DTYPES = {
  int8: 0,
  uint8: 1,
  bool: 1,
  int32: 2,
  int64: 4,
  float16: 6,
  float32: 7,
  float64: 8,
  bfloat16: 9,
} as const;

/** Reduction codes of NCCL's ncclRedOp_t. */
export const NCCL_OPS = { sum: 0, product: 1, max: 2, min: 3, avg: 4 } as const;

/** Bytes of NCCL's unique id. */
export const NCCL_ID_BYTES = 128;

/** The installed NCCL's folder (lib/libnccl.so.2), if there is one. */
export function ncclPrefix(): string | undefined {
  return installedEngine(`nccl-${NCCL_VERSION}`, "libnccl.so.2");
}

/**
 * Where libnccl is looked for, in order: `ZENO_NCCL_LIB`, the engines folder,
 * then the system's library path.
 */
export function ncclLibraryCandidates(): string[] {
  const own = env("ZENO_NCCL_LIB");
  if (own) return [own];
  const out: string[] = [];
  const prefix = ncclPrefix();
  if (prefix) out.push(`${prefix}/lib/libnccl.so.2`);
  out.push("libnccl.so.2");
  return out;
}

function message(read: (buf: Uint8Array, len: number) => number): string {
  const buf = new Uint8Array(512);
  const n = read(buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** The message of NCCL's last failed call. */
export function ncclLastError(): string {
  return message((b, n) => mpi().zeno_nccl_last_error(b, n));
}

/** Throws `op`'s failure with NCCL's message when `status` is not 0. */
export function ncclCheck(op: string, status: number): void {
  if (status !== 0) {
    throw new Error(`${op}: ${ncclLastError() || `NCCL call failed (status ${status})`}`);
  }
}

let loadedVersion = 0;

/**
 * Opens libnccl (once per process) and returns its version as text
 * ("2.32.6"); an error naming every path tried and how to install NCCL when
 * none opens.
 *
 * @internal
 */
export function ncclLoad(op: string): string {
  const tried: string[] = [];
  if (loadedVersion === 0) {
    for (const path of ncclLibraryCandidates()) {
      const bytes = new TextEncoder().encode(path);
      const out = new Int32Array(1);
      if (mpi().zeno_nccl_open(bytes, bytes.length, out) === 0) {
        loadedVersion = out[0];
        break;
      }
      const why = ncclLastError();
      if (!why.includes("could not be opened")) throw new Error(`${op}: NCCL (${path}): ${why}`);
      tried.push(`${path}: ${why}`);
    }
  }
  if (loadedVersion === 0) {
    throw new Error(
      `${op}: the "nccl" backend needs NCCL's libnccl.so.2, and none could be opened (${
        tried.join("; ")
      }). Install NCCL ${NCCL_VERSION} (\`bash .ci/install_engines.sh --nccl\` in a checkout, ` +
        `or \`pip install nvidia-nccl-cu13==${NCCL_VERSION}\`) and set ZENO_NCCL_LIB to its libnccl.so.2`,
    );
  }
  const v = loadedVersion;
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

/** A fresh NCCL unique id (rank 0 makes it). @internal */
export function ncclUniqueId(op: string): Uint8Array {
  const id = new Uint8Array(NCCL_ID_BYTES);
  ncclCheck(op, mpi().zeno_nccl_unique_id(id));
  return id;
}

/**
 * The TCP rendezvous of the job's ranks at `host:port`: rank 0 hands
 * `payload` to every other rank, whose `payload` receives it; no rank
 * returns before all have arrived, and after `timeout` seconds the call
 * fails naming what was missing. @internal
 */
export function rendezvous(
  op: string,
  where: { host: string; port: number; rank: number; size: number; timeout: number },
  payload: Uint8Array,
): void {
  const host = new TextEncoder().encode(where.host);
  const status = mpi().zeno_rendezvous(
    host,
    host.length,
    where.port,
    where.rank,
    where.size,
    payload,
    payload.length,
    where.timeout,
  );
  if (status !== 0) {
    const why = message((b, n) => mpi().zeno_rendezvous_last_error(b, n));
    throw new Error(`${op}: ${why || `the rendezvous at ${where.host}:${where.port} failed`}`);
  }
}
