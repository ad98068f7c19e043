//! The FMA peak of one core in GFLOP/s: independent chains of the widest
//! float32 fused multiply-adds the CPU has, the best of seven rounds, printed
//! on stderr with the CPU model the compiler detected. `deno task compare` runs it (`zig run`, native CPU) to put the
//! matmul rows against this machine's own ceiling.
const std = @import("std");
const builtin = @import("builtin");

const x86 = builtin.cpu.arch == .x86_64;
const lanes: usize = if (x86 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f))
    16
else if (x86 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx))
    8
else
    4;
/// More chains than FMA latency times FMA ports (4 x 2 on current x86
/// cores), and few enough to stay in registers (32 with AVX-512, 16 below).
const chains: usize = if (lanes == 16) 24 else 12;
const V = @Vector(lanes, f32);

fn now() u64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

pub fn main() void {
    var acc: [chains]V = undefined;
    for (&acc, 0..) |*x, i| x.* = @splat(@floatFromInt(i));
    var b: V = @splat(0.999);
    std.mem.doNotOptimizeAway(&b);
    const iters: usize = 10_000_000;
    var best: f64 = 0;
    for (0..7) |_| {
        const t0 = now();
        for (0..iters) |_| {
            inline for (0..chains) |i| acc[i] = @mulAdd(V, acc[i], b, b);
        }
        const seconds = @as(f64, @floatFromInt(now() - t0)) / 1e9;
        const flops: f64 = @floatFromInt(2 * lanes * chains * iters);
        best = @max(best, flops / seconds / 1e9);
    }
    std.mem.doNotOptimizeAway(&acc);
    std.debug.print("{d:.1} {s}\n", .{ best, builtin.cpu.model.name });
}
