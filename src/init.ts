/**
 * Explicit start-up for remote imports.
 *
 * @module
 */
import { init as initLibrary } from "../ffi/loader.ts";

/**
 * Prepares the native library: a remote (JSR) import downloads the prebuilt
 * binary for this OS and arch once; a local checkout needs no call.
 *
 * @example
 * ```ts
 * import * as zn from "../mod.ts";
 * await zn.init();
 * ```
 */
export async function init(): Promise<void> {
  await initLibrary();
}
