/**
 * Every ```ts block of README.md runs as it is written, so that the
 * documentation cannot drift from the library: each block is written to a
 * temporary file, with its import of "@zeno/zeno" or "./mod.ts" pointed at
 * this checkout's mod.ts, and run in its own process; it must exit 0. Blocks
 * marked ```ts ignore (those that need a GPU) are left out.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runDeno } from "./deno_process.ts";

const root = new URL("..", import.meta.url);
const README = new URL("README.md", root);
const MOD = new URL("mod.ts", root).href;
const CONFIG = fileURLToPath(new URL("deno.json", root));

/** A fenced code block: the line of its opening fence (1-based), its info string and its code. */
interface Block {
  line: number;
  info: string;
  code: string;
}

/** The fenced code blocks of a markdown text (``` or ~~~ fences, possibly indented). */
function codeBlocks(md: string): Block[] {
  const blocks: Block[] = [];
  const lines = md.split(/\r?\n/);
  let open: { fence: string; indent: number; line: number; info: string; body: string[] } | null =
    null;
  lines.forEach((text, i) => {
    const m = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(text);
    if (!open) {
      if (m && !(m[2][0] === "`" && m[3].includes("`"))) {
        open = { fence: m[2], indent: m[1].length, line: i + 1, info: m[3].trim(), body: [] };
      }
    } else if (m && m[2][0] === open.fence[0] && m[2].length >= open.fence.length && !m[3].trim()) {
      blocks.push({ line: open.line, info: open.info, code: open.body.join("\n") + "\n" });
      open = null;
    } else {
      const drop = Math.min(open.indent, /^ */.exec(text)![0].length);
      open.body.push(text.slice(drop));
    }
  });
  return blocks;
}

/** Whether a block is TypeScript that must run: `ts`/`typescript`, not marked `ignore`. */
function mustRun(info: string): boolean {
  const [lang, ...attrs] = info.split(/[\s,{}]+/).filter((w) => w);
  return (lang === "ts" || lang === "typescript") && !attrs.includes("ignore");
}

/** The block's code with its imports of the package pointed at `mod`. */
function rewriteImports(code: string, mod: string): string {
  return code.replace(/(["'])(?:@zeno\/zeno|\.\/mod\.ts)\1/g, JSON.stringify(mod));
}

/** Runs `code` as a script in its own process: exit code and output. */
async function runScript(
  code: string,
  name: string,
): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "zeno_readme_" });
  try {
    const file = `${dir}/${name}.ts`;
    await Deno.writeTextFile(file, code);
    const out = await runDeno(
      ["run", "--config", CONFIG, "--allow-ffi", "--allow-read", "--allow-env", file],
      { cwd: root },
    );
    return { code: out.code, output: out.stdout + out.stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const blocks = codeBlocks(await Deno.readTextFile(README)).filter((b) => mustRun(b.info));

Deno.test("README.md has ts blocks to run", () => {
  ok(blocks.length >= 3, `found ${blocks.length} runnable ts blocks`);
});

for (const block of blocks) {
  const lines = block.code.split("\n");
  // The first line names the block in the failure; the first statement names the test.
  const first = lines[0].trim();
  const statement = lines.find((l) => l.trim() && !l.startsWith("import "))?.trim() ?? first;
  Deno.test(`README.md line ${block.line}: ${statement}`, async () => {
    const r = await runScript(rewriteImports(block.code, MOD), `readme_line_${block.line}`);
    equal(
      r.code,
      0,
      `the ts block at README.md line ${block.line}, which starts with \`${first}\`, ` +
        `exited with ${r.code}:\n${r.output}`,
    );
  });
}

Deno.test("the README check: extraction, the ignore mark, imports, and failing blocks fail", async () => {
  const md = [
    "# t", //                                           1
    "```ts", //                                         2
    'import * as zn from "@zeno/zeno";', //             3
    "zn;", //                                           4
    "```", //                                           5
    "```ts ignore", //                                  6
    "gpu();", //                                        7
    "```", //                                           8
    "```sh", //                                         9
    "deno task test", //                                10
    "```", //                                           11
    "~~~typescript", //                                 12
    "import { tensor } from './mod.ts';", //            13
    "```", //                                           14
    "~~~", //                                           15
  ].join("\n");
  const all = codeBlocks(md);
  deepEqual(all.map((b) => [b.line, b.info]), [[2, "ts"], [6, "ts ignore"], [9, "sh"], [
    12,
    "typescript",
  ]]);
  const run = all.filter((b) => mustRun(b.info));
  deepEqual(run.map((b) => b.line), [2, 12]);
  equal(run[1].code, "import { tensor } from './mod.ts';\n```\n");
  equal(rewriteImports(run[0].code, MOD), `import * as zn from ${JSON.stringify(MOD)};\nzn;\n`);
  equal(
    rewriteImports(run[1].code, MOD).split("\n")[0],
    `import { tensor } from ${JSON.stringify(MOD)};`,
  );
  const bad = await runScript('throw new Error("a README block that throws");\n', "throws");
  equal(bad.code, 1);
  match(bad.output, /a README block that throws/);
  equal((await runScript("await Promise.reject(new Error('rejected'));\n", "rejects")).code, 1);
});
