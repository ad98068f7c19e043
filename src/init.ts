/**
 * Explicit start-up for remote imports.
 *
 * @module
 */
import { init as initLibrary } from "../ffi/loader.ts";

/**
 * Prepares the native library: imported as a package (JSR, a URL, another
 * project's folder), Zeno downloads this CPU's prebuilt library once into
 * the cache and checks its SHA-256 sum; a checkout or `ZENO_LIB` needs
 * nothing. Importing Zeno calls it, so a program needs no call of its own.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * await zn.init();
 * ```
 */
export async function init(): Promise<void> {
  await initLibrary();
}
