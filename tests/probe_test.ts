// Every public function, constructor and Tensor method called with hostile
// arguments (tests/probe/public_api_probe.ts) must refuse them with a clear
// error, never crash the process, hang, or fail inside with an internal
// JavaScript error. The probe runs in a process of its own, so a crash fails
// this test and names the call that caused it.
import { assert } from "./assert_helpers.ts";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 300_000;

Deno.test("probe: hostile arguments to every public function give clear errors and no crash", async () => {
  const script = fileURLToPath(new URL("./probe/public_api_probe.ts", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const lastCall = dec.decode(out.stderr).trimEnd().split("\n").slice(-3).join("\n");
  assert(
    out.success,
    `the probe died (code ${out.code}, signal ${out.signal}); its last calls:\n${lastCall}`,
  );
  const result = JSON.parse(dec.decode(out.stdout)) as {
    calls: number;
    unclear: { call: string; arg: string; kind: string; message: string; count: number }[];
  };
  assert(result.calls > 10_000, `only ${result.calls} calls ran`);
  assert(
    result.unclear.length === 0,
    `${result.unclear.length} calls failed without a clear error:\n` +
      result.unclear.slice(0, 40).map((f) => `  ${f.call} (${f.arg}): ${f.kind}: ${f.message}`)
        .join("\n"),
  );
});
