// Tokenizer speed: zn.data.text.BpeTokenizer against the Hugging Face
// `tokenizers` package (when python3 has it) on the same ~100 KB of text
// (README.md and the TypeScript sources, cut to 100,000 characters), with
// the test fixture's tokenizer (tests/fixtures/text/tokenizer.json).
//   deno run --allow-read --allow-run --allow-ffi --allow-env bench/tokenizer_bench.ts
// "cold": a fresh tokenizer (empty word cache) encodes the text once;
// "warm": the same tokenizer encodes it again (every word cached).
import * as zn from "../mod.ts";

const root = new URL("..", import.meta.url);
const tokenizerPath = new URL("tests/fixtures/text/tokenizer.json", root);

function benchText(limit = 100_000): string {
  const parts = [Deno.readTextFileSync(new URL("README.md", root))];
  const walk = (dir: URL) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) walk(u);
      else if (e.name.endsWith(".ts")) parts.push(Deno.readTextFileSync(u));
    }
  };
  walk(new URL("src/", root));
  return parts.join("\n").slice(0, limit);
}

function best(times: number[]): number {
  return Math.min(...times);
}

const text = benchText();
const json = Deno.readTextFileSync(tokenizerPath);
const cold: number[] = [], warm: number[] = [];
let ids: number[] = [];
for (let r = 0; r < 5; r++) {
  const tok = zn.data.text.BpeTokenizer.fromJson(json);
  let t0 = performance.now();
  ids = tok.encode(text);
  cold.push(performance.now() - t0);
  t0 = performance.now();
  for (let k = 0; k < 5; k++) tok.encode(text);
  warm.push((performance.now() - t0) / 5);
}
const n = ids.length;
const rate = (ms: number) => `${(n / (ms / 1000) / 1e6).toFixed(2)} M tokens/s`;
console.log(
  `text: ${text.length} characters, ${new TextEncoder().encode(text).length} bytes, ${n} tokens`,
);
console.log(
  `zeno      cold ${best(cold).toFixed(1)} ms (${rate(best(cold))}), warm ${
    best(warm).toFixed(1)
  } ms (${rate(best(warm))})`,
);

const py = `
import sys, time
from tokenizers import Tokenizer
text = sys.stdin.read()
path = sys.argv[1]
cold, warm = [], []
for r in range(5):
    tok = Tokenizer.from_file(path)
    t0 = time.perf_counter(); ids = tok.encode(text).ids; cold.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for k in range(5): tok.encode(text)
    warm.append((time.perf_counter() - t0) / 5)
print(len(ids), min(cold) * 1000, min(warm) * 1000)
print(','.join(map(str, ids)))
`;
try {
  const child = new Deno.Command("python3", {
    args: ["-c", py, decodeURIComponent(tokenizerPath.pathname)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim().split("\n").pop());
  const [head, idLine] = new TextDecoder().decode(out.stdout).trim().split("\n");
  const [pn, pc, pw] = head.split(/\s+/).map(Number);
  console.log(
    `tokenizers cold ${pc.toFixed(1)} ms (${rate(pc)}), warm ${pw.toFixed(1)} ms (${rate(pw)})`,
  );
  const same = pn === n && idLine === ids.join(",");
  console.log(same ? "the same ids" : `the ids differ (${pn} vs ${n} tokens)`);
} catch (e) {
  console.log(`tokenizers (python3): not run: ${(e as Error).message}`);
}
