/**
 * The `Deno.dlopen` symbol table: the one TypeScript view of the native ABI.
 * Each entry mirrors an `export fn` in zig/src/root.zig; the test
 * tests/ffi_symbols_test.ts parses the Zig exports and checks that every
 * name, parameter type and result type agrees, so the two cannot drift.
 *
 * @module
 */

/** The ABI version this table describes; the library must report the same. */
export const ABI_VERSION = 1;

/** Parameter and result types of every native export. */
export const SYMBOLS = {
  zeno_abi_version: { parameters: [], result: "u32" },
  zeno_cpu_level: { parameters: [], result: "u32" },
  zeno_build_level: { parameters: [], result: "u32" },
  zeno_num_threads: { parameters: [], result: "u32" },
  zeno_set_num_threads: { parameters: ["i32"], result: "i32" },
  zeno_bad_index: { parameters: [], result: "f64" },
  zeno_copy: {
    parameters: ["i32", "buffer", "i32", "i32", "buffer", "i32", "i32", "buffer"],
    result: "i32",
  },
  zeno_unary: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
      "f64",
      "f64",
      "f64",
    ],
    result: "i32",
  },
  zeno_binary: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
    ],
    result: "i32",
  },
  zeno_where: {
    parameters: [
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
    ],
    result: "i32",
  },
  zeno_reduce: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "f64",
    ],
    result: "i32",
  },
  zeno_scan: {
    parameters: ["i32", "i32", "buffer", "i32", "buffer", "i32", "i32", "i32", "i32"],
    result: "i32",
  },
  zeno_softmax: {
    parameters: ["i32", "i32", "buffer", "i32", "buffer", "i32", "i32", "i32", "i32"],
    result: "i32",
  },
  zeno_matmul: {
    parameters: [
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "buffer",
    ],
    result: "i32",
  },
  zeno_index_select: {
    parameters: [
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
    result: "i32",
  },
  zeno_gather: {
    parameters: [
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
      "i32",
      "i32",
    ],
    result: "i32",
  },
  zeno_scatter: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
      "i32",
      "i32",
    ],
    result: "i32",
  },
  zeno_sort: {
    parameters: [
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
    result: "i32",
  },
  zeno_optim_step: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "buffer",
    ],
    result: "i32",
  },
  zeno_window2d: {
    parameters: [
      "i32",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's symbols. */
export type ZenoSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
