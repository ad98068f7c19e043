/**
 * Builds the native library with the pinned Zig (ReleaseFast).
 *
 *   deno task build        this OS and arch (all CPU variants)
 *   deno task build:all    every shipped OS and arch
 *
 * Zig is looked for in $ZIG, then on PATH, then in the toolchain cache that
 * .ci/install_toolchain.sh fills; its version must match .ci/toolchain.env.
 * The build is skipped when no source is newer than the built library, so a
 * second run is near-instant (Zig's own cache covers the rest).
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

function newestMtime(dir: URL): number {
  let newest = 0;
  for (const e of Deno.readDirSync(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) {
      if (e.name === "zig-out" || e.name === ".zig-cache") continue;
      newest = Math.max(newest, newestMtime(u));
    } else if (e.name.endsWith(".zig") || e.name.endsWith(".zon")) {
      newest = Math.max(newest, Deno.statSync(u).mtime?.getTime() ?? 0);
    }
  }
  return newest;
}

function builtMtime(): number {
  const lib = new URL("zig-out/lib/", zigDir);
  let oldest = Infinity;
  let count = 0;
  try {
    for (const e of Deno.readDirSync(lib)) {
      if (!e.name.includes("zeno-")) continue;
      count++;
      oldest = Math.min(oldest, Deno.statSync(new URL(e.name, lib)).mtime?.getTime() ?? 0);
    }
  } catch {
    return 0;
  }
  return count ? oldest : 0;
}

const all = Deno.args.includes("--all");
if (!all && builtMtime() > newestMtime(zigDir)) {
  console.log("zeno: native library is up to date");
  Deno.exit(0);
}
const zig = await findZig(pinned());
const args = ["build", ...(all ? ["all"] : []), "--summary", "none"];
console.log(`zeno: ${zig} ${args.join(" ")}`);
const status = await new Deno.Command(zig, {
  args,
  cwd: zigDir,
  stdout: "inherit",
  stderr: "inherit",
})
  .spawn().status;
if (!status.success) Deno.exit(status.code || 1);
