// Runs a Deno command in a process of its own, for tests that must survive a
// crash or a hang of what they run (a killed child fails its test instead of
// the test runner).

/** What a child process left. */
export interface DenoRun {
  /** Exit code (nonzero, or 128 + signal, on failure). */
  code: number;
  /** The signal that ended it, if any (SIGKILL after a timeout). */
  signal: Deno.Signal | null;
  /** True for exit code 0. */
  success: boolean;
  /** True when the timeout killed it. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `deno ...args`, killed after `timeoutMs` (default 5 minutes). */
export async function runDeno(
  args: string[],
  opts: { cwd?: string | URL; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<DenoRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs ?? 300_000);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      signal: out.signal,
      success: out.success,
      timedOut,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
