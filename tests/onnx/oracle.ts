/**
 * onnxruntime as the oracle of ONNX tests: runs a model file through
 * tests/onnx/ort_run.py (which also runs onnx's full checker on it). The
 * Python packages come from .ci/install_oracles.sh; where they are missing
 * the tests that need them are ignored, except under CI, where they fail.
 *
 * @module
 */
import type { Tensor } from "../../mod.ts";

const here = new URL(".", import.meta.url);

/** The folder .ci/install_oracles.sh installs into (PYTHONPATH for the oracle). */
function oracleDir(): string {
  const env = Deno.env.get("ZENO_ORACLES_DIR");
  if (env) return env;
  const home = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
  const versions = Deno.readTextFileSync(new URL("../../.ci/toolchain.env", import.meta.url));
  const v = /ONNXRUNTIME_VERSION=(\S+)/.exec(versions)?.[1];
  return `${home}/zeno/oracles/onnxruntime-${v}`;
}

function pythonEnv(): Record<string, string> {
  const prev = Deno.env.get("PYTHONPATH");
  return { PYTHONPATH: prev ? `${oracleDir()}:${prev}` : oracleDir() };
}

/** Whether python3 imports onnx and onnxruntime (checked once). */
export const ortAvailable: boolean = (() => {
  try {
    const r = new Deno.Command("python3", {
      args: ["-c", "import onnx, onnxruntime"],
      env: pythonEnv(),
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return r.success;
  } catch {
    return false;
  }
})();

/** Ignore ONNX oracle tests only where the oracle is missing outside CI. */
export const ignoreOrt: boolean = !ortAvailable && Deno.env.get("CI") !== "true";

/** One model for onnxruntime: its file and its inputs by name. */
export interface OrtRequest {
  path: string;
  inputs: Record<string, Tensor>;
}

/** An output as onnxruntime gives it (values as float64). */
export interface OrtOutput {
  shape: number[];
  data: number[];
}

/** onnxruntime's outputs of each model, by output name, in one Python process. */
export async function ortRunMany(reqs: OrtRequest[]): Promise<Record<string, OrtOutput>[]> {
  const body = reqs.map((r) => ({
    model: r.path,
    inputs: Object.fromEntries(
      Object.entries(r.inputs).map(([k, t]) => [k, {
        dtype: t.dtype,
        shape: t.shape,
        data: Array.from(t.toTypedArray() as ArrayLike<number>, Number),
      }]),
    ),
  }));
  const p = new Deno.Command("python3", {
    args: [new URL("ort_run.py", here).pathname],
    env: pythonEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(body)));
  await w.close();
  const out = await p.output();
  if (!out.success) {
    throw new Error(
      `onnxruntime failed on ${reqs.map((r) => r.path).join(", ")}:\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** onnxruntime's outputs of the model at `path` on `inputs`, by output name. */
export async function ortRun(
  path: string,
  inputs: Record<string, Tensor>,
): Promise<Record<string, OrtOutput>> {
  return (await ortRunMany([{ path, inputs }]))[0];
}

/** Throws unless `got` matches `want` within atol + rtol * |want|, naming the largest difference. */
export function assertMatches(
  got: Tensor,
  want: OrtOutput,
  what: string,
  tol = 1e-5,
): void {
  if (got.shape.join() !== want.shape.join()) {
    throw new Error(`${what}: shape [${got.shape}] against onnxruntime's [${want.shape}]`);
  }
  const g = got.toTypedArray() as ArrayLike<number>;
  let worst = 0, at = -1;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs(Number(g[i]) - want.data[i]) / (1 + Math.abs(want.data[i]));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol)) {
    throw new Error(
      `${what}: largest difference ${worst} at ${at} (${g[at]} against ${
        want.data[at]
      }), over ${tol}`,
    );
  }
}
