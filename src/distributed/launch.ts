/**
 * The launcher: `deno task launch -n 2 script.ts [args...]` starts 2 ranks
 * of `deno run -A script.ts [args...]` on this machine under Open MPI's
 * `mpirun` (the one `.ci/install_engines.sh` installs, else the one on
 * PATH), each line of their output prefixed with its rank. Unless
 * `ZENO_NUM_THREADS` is set, each rank gets an equal share of the cores, and
 * under the pinned Open MPI each rank is bound to its own share (an unbound
 * rank that the scheduler puts on another rank's core waits for it: an
 * all-reduce of 4 KB took 3.7 µs instead of 1.3 in some runs). When one rank
 * fails, mpirun stops the others and the launcher exits with its status.
 *
 * @module
 */
import { openMpiPrefix } from "./mpi_engine.ts";

/**
 * What {@link mpirunCommand} builds the command from.
 *
 * @example
 * ```ts
 * import { mpirunCommand } from "./launch.ts";
 * const o = { nproc: 2, script: "train.ts", args: [], mpirun: "mpirun", deno: "deno", root: false };
 * mpirunCommand(o).args.length > 0; // true
 * ```
 */
export interface LaunchOptions {
  /** Ranks to start. */
  nproc: number;
  /** The script each rank runs. */
  script: string;
  /** The script's arguments. */
  args: string[];
  /** The mpirun executable. */
  mpirun: string;
  /** The deno executable. */
  deno: string;
  /** Whether the launcher runs as root (Open MPI refuses unless told). */
  root: boolean;
  /**
   * Logical CPUs to bind the ranks to, an equal share each (Open MPI 5's
   * mpirun); absent, or fewer than the ranks: unbound, and oversubscribed.
   */
  cpus?: number;
}

/**
 * The launcher's arguments: `-n N` (or `--nproc N`), the script, then its
 * arguments.
 *
 * @example
 * ```ts
 * import { parseLaunchArgs } from "./launch.ts";
 * parseLaunchArgs(["-n", "2", "train.ts", "--epochs", "1"]);
 * // { nproc: 2, script: "train.ts", args: ["--epochs", "1"] }
 * ```
 */
export function parseLaunchArgs(argv: string[]): { nproc: number; script: string; args: string[] } {
  let nproc = 1;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-n" || a === "--nproc") {
      const v = argv[++i];
      nproc = Number(v);
      if (!Number.isInteger(nproc) || nproc < 1 || nproc > 1024) {
        throw new RangeError(
          `launch: ${a} takes a whole number of processes in [1, 1024], got ${v}`,
        );
      }
    } else if (a.startsWith("-")) {
      throw new TypeError(`launch: unknown option ${a} (usage: launch -n N script.ts [args...])`);
    } else break;
  }
  if (i >= argv.length) {
    throw new TypeError("launch: no script given (usage: launch -n N script.ts [args...])");
  }
  return { nproc, script: argv[i], args: argv.slice(i + 1) };
}

/**
 * The mpirun command line that starts the ranks.
 *
 * @example
 * ```ts
 * import { mpirunCommand } from "./launch.ts";
 * const c = mpirunCommand({ nproc: 2, script: "t.ts", args: [], mpirun: "mpirun", deno: "deno", root: false });
 * c.cmd; // "mpirun"
 * ```
 */
export function mpirunCommand(o: LaunchOptions): { cmd: string; args: string[] } {
  const args = ["-n", String(o.nproc)];
  const share = o.cpus === undefined ? 0 : Math.floor(o.cpus / o.nproc);
  if (share >= 1) {
    args.push("--map-by", `slot:PE=${share}:HWTCPUS`, "--bind-to", "hwthread");
  } else {
    args.push("--oversubscribe", "--bind-to", "none");
  }
  args.push("--output", "tag");
  if (o.root) args.push("--allow-run-as-root");
  args.push(o.deno, "run", "-A", o.script, ...o.args);
  return { cmd: o.mpirun, args };
}

async function main(): Promise<number> {
  const { nproc, script, args } = parseLaunchArgs(Deno.args);
  const prefix = openMpiPrefix();
  const mpirun = prefix ? `${prefix}/bin/mpirun` : "mpirun";
  const env: Record<string, string> = {};
  if (prefix && !Deno.env.get("ZENO_MPI_LIB")) env.ZENO_MPI_LIB = `${prefix}/lib/libmpi.so.40`;
  // The ranks share this machine's cores (as torchrun sets OMP_NUM_THREADS).
  if (!Deno.env.get("ZENO_NUM_THREADS")) {
    env.ZENO_NUM_THREADS = String(Math.max(1, Math.floor(navigator.hardwareConcurrency / nproc)));
  }
  const root = Deno.uid?.() === 0;
  // Binding needs the pinned Open MPI 5 (its mapping syntax); a system
  // mpirun runs the ranks unbound.
  const cpus = prefix ? navigator.hardwareConcurrency : undefined;
  const c = mpirunCommand({ nproc, script, args, mpirun, deno: Deno.execPath(), root, cpus });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(c.cmd, { args: c.args, env, stdin: "null" }).spawn();
  } catch (e) {
    throw new Error(
      `launch: could not start ${mpirun} (${(e as Error).message}); install Open MPI ` +
        "(`bash .ci/install_engines.sh` in a checkout, or the system's openmpi package)",
    );
  }
  const stop = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const status = await child.status;
  return status.code;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}
