//! The CPU probe: a library of a few kilobytes whose one export says which
//! variant of the Zeno library this CPU runs. A package import downloads it
//! first where the OS does not tell the CPU's features, so that only the one
//! variant it needs of the large library is downloaded. Built for the
//! baseline CPU, so it runs on any x86-64 machine.
const cpu = @import("cpu.zig");

/// 1 baseline, 3 AVX2+FMA, 4 AVX-512 (see cpu.zig).
export fn zeno_cpu_level() callconv(.c) u32 {
    return cpu.level();
}
