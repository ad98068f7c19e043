/**
 * `deno task dist`: the release files of this version.
 *
 *   deno task dist [--out dist] [--from <folder of built libraries>]
 *
 * Cross-compiles every shipped OS, arch and CPU variant (`zig build all`,
 * ReleaseFast), copies the libraries into `<out>/v<version>/` beside a
 * `manifest.json` of their SHA-256 sums, and pins the same sums in
 * ffi/manifest.ts, which the published package carries: a package of this
 * version opens only these exact files. Publishing a version is: this task,
 * the folder's files uploaded as the release `v<version>`, then
 * `deno publish`. `--from` takes libraries built elsewhere instead of
 * building (the files must be named as zig/build.zig names them).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url);

/** One release file. */
export interface DistFile {
  /** SHA-256 of the file, hex. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** A library file name that the release ships (not import libraries or symbols). */
export function isLibrary(name: string): boolean {
  return /^(lib)?zeno-(cpu-)?[a-z]+-[a-z0-9_]+(-v[34])?\.(so|dylib|dll)$/.test(name);
}

/** ffi/manifest.ts's text for `version` and `files`. */
export function manifestSource(version: string, files: Record<string, DistFile>): string {
  const lines = Object.keys(files).sort().map((n) =>
    `    ${JSON.stringify(n)}: "${files[n].sha256}",`
  );
  return `/**
 * The prebuilt native libraries of this version and their SHA-256 sums,
 * written by \`deno task dist\` (ffi/dist.ts). The loader opens a downloaded
 * or cached library only when its sum is the one pinned here.
 *
 * @module
 */

/** This version's release files: file name to SHA-256 (hex). */
export const RELEASE: { version: string; files: Readonly<Record<string, string>> } = {
  version: ${JSON.stringify(version)},
  files: {
${lines.join("\n")}
  },
};
`;
}

/** Copies the libraries in `from` into `dir` and returns their sums. */
export async function collect(from: string, dir: string): Promise<Record<string, DistFile>> {
  await Deno.mkdir(dir, { recursive: true });
  const files: Record<string, DistFile> = {};
  for await (const e of Deno.readDir(from)) {
    if (!e.isFile || !isLibrary(e.name)) continue;
    const bytes = await Deno.readFile(`${from}/${e.name}`);
    await Deno.writeFile(`${dir}/${e.name}`, bytes);
    files[e.name] = {
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes: bytes.length,
    };
  }
  return files;
}

/** Writes `text` to `path` through a temporary file and a rename. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: "dist" }, from: { type: "string" } },
    strict: true,
  });
  const version = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).version as string;
  let from = args.values.from;
  if (from === undefined) {
    const prefix = await Deno.makeTempDir({ prefix: "zeno-dist-" });
    const build = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        fileURLToPath(new URL("ffi/build.ts", root)),
        "--all",
        `--prefix=${prefix}`,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!build.success) Deno.exit(build.code || 1);
    from = prefix;
  }
  const dir = `${args.values.out}/v${version}`;
  // Zig installs Windows DLLs under bin/, the others under lib/.
  const files: Record<string, DistFile> = {};
  for (const sub of args.values.from === undefined ? ["lib", "bin"] : [""]) {
    const folder = sub ? `${from}/${sub}` : from;
    try {
      await Deno.stat(folder);
    } catch {
      continue;
    }
    Object.assign(files, await collect(folder, dir));
  }
  if (Object.keys(files).length === 0) throw new Error(`dist: ${from} holds no libraries`);
  await writeAtomic(`${dir}/manifest.json`, JSON.stringify({ version, files }, null, 2) + "\n");
  const manifest = fileURLToPath(new URL("ffi/manifest.ts", root));
  await writeAtomic(manifest, manifestSource(version, files));
  // In the project's format, so that `deno fmt --check` passes.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", manifest] }).output();
  for (const [name, f] of Object.entries(files).sort()) {
    console.log(`${f.sha256}  ${(f.bytes / 2 ** 20).toFixed(1).padStart(5)} MiB  ${name}`);
  }
  console.log(
    `dist: ${Object.keys(files).length} libraries in ${dir}; sums pinned in ffi/manifest.ts`,
  );
}
