/**
 * Builds the native library with the pinned Zig (ReleaseFast).
 *
 *   deno task build        this OS and arch (all CPU variants)
 *   deno task build:all    every shipped OS and arch
 *
 * Zig is looked for in $ZIG, then on PATH, then in the toolchain cache that
 * .ci/install_toolchain.sh fills; its version must match .ci/toolchain.env.
 * Zig's cache makes a build with nothing changed near-instant, and unlike a
 * timestamp check it cannot miss a source edited while a build ran.
 *
 * @module
 */

const root = new URL("..", import.meta.url);
const zigDir = new URL("zig/", root);

function pinned(): string {
  const env = Deno.readTextFileSync(new URL(".ci/toolchain.env", root));
  const m = env.match(/^ZIG_VERSION=(\S+)$/m);
  if (!m) throw new Error("ffi/build.ts: .ci/toolchain.env names no ZIG_VERSION");
  return m[1];
}

async function version(cmd: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args: ["version"], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

async function findZig(want: string): Promise<string> {
  const home = Deno.env.get("HOME") ?? ".";
  const deno = Deno.env.get("DENO_VERSION") ??
    Deno.readTextFileSync(new URL(".ci/toolchain.env", root)).match(/^DENO_VERSION=(\S+)$/m)?.[1];
  const cache = Deno.env.get("ZENO_TOOLCHAIN_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/zeno/toolchain`;
  const candidates = [
    Deno.env.get("ZIG"),
    "zig",
    `${cache}/deno-${deno}-zig-${want}/bin/zig`,
  ].filter((c): c is string => !!c);
  const seen: string[] = [];
  for (const c of candidates) {
    const v = await version(c);
    if (v === want) return c;
    if (v) seen.push(`${c} is ${v}`);
  }
  throw new Error(
    `Zig ${want} not found${seen.length ? ` (${seen.join("; ")})` : ""}. ` +
      "Install it with `bash .ci/install_toolchain.sh` (or set ZIG to its path).",
  );
}

const all = Deno.args.includes("--all");
const zig = await findZig(pinned());
const args = ["build", ...(all ? ["all"] : []), "--summary", "none"];
const status = await new Deno.Command(zig, {
  args,
  cwd: zigDir,
  stdout: "inherit",
  stderr: "inherit",
})
  .spawn().status;
if (!status.success) Deno.exit(status.code || 1);
