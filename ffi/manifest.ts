/**
 * The prebuilt native libraries of this version and their SHA-256 sums,
 * written by `deno task dist` (ffi/dist.ts). The loader opens a downloaded
 * or cached library only when its sum is the one pinned here.
 *
 * @module
 */

/** This version's release files: file name to SHA-256 (hex). */
export const RELEASE: { version: string; files: Readonly<Record<string, string>> } = {
  version: "0.1.0",
  files: {
    "libzeno-cpu-linux-x86_64.so":
      "24787126a2d1bb146fa78ea645620bd9c40a9160fb42e7302ef5b75ac7965c98",
    "libzeno-cpu-macos-x86_64.dylib":
      "4abedfc010bd785f371242d2f1c49cd1e38312495b0e3a513cecb8ab77dbd9fa",
    "libzeno-linux-aarch64.so": "122c3e6eda6d1e125317d6a07359732441913f1dcf4264c939dfcbc1e5f6a4e4",
    "libzeno-linux-x86_64-v3.so":
      "95e16bc0e4de3901d8fa1928f8d64ee5c31dc558e52168d6fbe3706f561c8107",
    "libzeno-linux-x86_64-v4.so":
      "3f20ac1f9590bfbd03f19480a5dc774301876025d4f8ec55baf01f83f7303859",
    "libzeno-linux-x86_64.so": "6c602e07a5ced9c539c205e4710ed5b72643fa8cbfabe9152cb0ec6903cfe290",
    "libzeno-macos-aarch64.dylib":
      "5833ec0599b775e07b0d46c9f7253d338cf7b597e7cc8eab5fd753a686e0b220",
    "libzeno-macos-x86_64-v3.dylib":
      "386a6836059483b6b16b7209f268e67e06e9c75001546846075094358b1e08a6",
    "libzeno-macos-x86_64-v4.dylib":
      "6ea70fe869f86d3e6fa70172359bb232de609da42491f7ea7a8f82b85808deda",
    "libzeno-macos-x86_64.dylib":
      "0d43324833073b706c732dc9b2a46176951bb65ee4376b386c8c7692291b8032",
    "zeno-cpu-windows-x86_64.dll":
      "0a6cd390428919c5200b095b7e16d70fea1b6e1362bde06688e15da7f92cc0e6",
    "zeno-windows-x86_64-v3.dll":
      "ef0f14017110bf6e33204faec7b014ca3d8501e2c0381b27c8189f22490fbeb3",
    "zeno-windows-x86_64-v4.dll":
      "5238d2948e10f3e63363c48dcdad339713346cd482cb5c74e457bbe297f501b7",
    "zeno-windows-x86_64.dll": "3a14100c9bdd73064b61812fafae45e15b2cf6fe297f415a1fa16ec790ce4b3f",
  },
};
