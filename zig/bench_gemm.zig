//! GEMM benchmark: GFLOP/s of `matmul` for square float32 (and a few float64)
//! problems with 1 and 2 threads.
//!
//!   zig build bench-gemm            (ReleaseFast, x86_64_v3 by default)
//!   ZENO_BENCH_M=4096 ZENO_BENCH_K=768 ZENO_BENCH_N=3072 ZENO_BENCH_T=2 zig build bench-gemm
const std = @import("std");
const mm = @import("src/matmul.zig");
const pool = @import("src/pool.zig");
const dt = @import("src/dtype.zig");

fn now() f64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(f64, @floatFromInt(ts.sec)) + @as(f64, @floatFromInt(ts.nsec)) * 1e-9;
}

fn bench(comptime T: type, n: usize, threads: u32, trans_a: bool, trans_b: bool) !f64 {
    return benchShape(T, n, n, n, threads, trans_a, trans_b);
}

/// GFLOP/s of [m, k] @ [k, n] (best of five rounds of ~0.2 s).
fn benchShape(comptime T: type, m: usize, n: usize, k: usize, threads: u32, trans_a: bool, trans_b: bool) !f64 {
    const alloc = std.heap.c_allocator;
    const a = try alloc.alignedAlloc(T, .@"64", m * k);
    defer alloc.free(a);
    const b = try alloc.alignedAlloc(T, .@"64", k * n);
    defer alloc.free(b);
    const c = try alloc.alignedAlloc(T, .@"64", m * n);
    defer alloc.free(c);
    for (a, 0..) |*v, i| v.* = @floatFromInt(@as(i64, @intCast(i % 7)) - 3);
    for (b, 0..) |*v, i| v.* = @floatFromInt(@as(i64, @intCast(i % 5)) - 2);
    pool.setNumThreads(threads);
    const mi: i64 = @intCast(m);
    const ni: i64 = @intCast(n);
    const ki: i64 = @intCast(k);
    const s = mm.Strides{
        .a_batch = 0,
        .a_row = if (trans_a) 1 else ki,
        .a_col = if (trans_a) mi else 1,
        .b_batch = 0,
        .b_row = if (trans_b) 1 else ni,
        .b_col = if (trans_b) ki else 1,
    };
    const dtype: dt.DType = if (T == f32) .float32 else .float64;
    const flops = 2.0 * @as(f64, @floatFromInt(m * n * k));
    // Warm up, then take the best of several timed rounds of ~0.2 s each.
    try mm.matmul(dtype, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c.ptr), 0, 1, m, n, k, s, false);
    const reps: usize = @max(1, @as(usize, @intFromFloat(0.2 / (flops / 50e9))));
    var best: f64 = 0;
    for (0..5) |_| {
        const t0 = now();
        for (0..reps) |_| try mm.matmul(dtype, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c.ptr), 0, 1, m, n, k, s, false);
        const dtm = (now() - t0) / @as(f64, @floatFromInt(reps));
        best = @max(best, flops / dtm / 1e9);
    }
    return best;
}

fn benchBatch(comptime T: type, batch: usize, n: usize, threads: u32) !f64 {
    const alloc = std.heap.c_allocator;
    const a = try alloc.alignedAlloc(T, .@"64", batch * n * n);
    defer alloc.free(a);
    const b = try alloc.alignedAlloc(T, .@"64", batch * n * n);
    defer alloc.free(b);
    const c = try alloc.alignedAlloc(T, .@"64", batch * n * n);
    defer alloc.free(c);
    for (a, 0..) |*v, i| v.* = @floatFromInt(@as(i64, @intCast(i % 7)) - 3);
    for (b, 0..) |*v, i| v.* = @floatFromInt(@as(i64, @intCast(i % 5)) - 2);
    pool.setNumThreads(threads);
    const ni: i64 = @intCast(n);
    const s = mm.Strides{ .a_batch = ni * ni, .a_row = ni, .a_col = 1, .b_batch = ni * ni, .b_row = ni, .b_col = 1 };
    const dtype: dt.DType = if (T == f32) .float32 else .float64;
    const flops = 2.0 * @as(f64, @floatFromInt(batch * n * n * n));
    try mm.matmul(dtype, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c.ptr), 0, batch, n, n, n, s, false);
    const reps: usize = @max(1, @as(usize, @intFromFloat(0.2 / (flops / 30e9))));
    var best: f64 = 0;
    for (0..5) |_| {
        const t0 = now();
        for (0..reps) |_| try mm.matmul(dtype, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c.ptr), 0, batch, n, n, n, s, false);
        const dtm = (now() - t0) / @as(f64, @floatFromInt(reps));
        best = @max(best, flops / dtm / 1e9);
    }
    return best;
}

fn envInt(name: [*:0]const u8) ?usize {
    const v = std.c.getenv(name) orelse return null;
    return std.fmt.parseInt(usize, std.mem.span(v), 10) catch null;
}

pub fn main() !void {
    // ZENO_BENCH_N=1024 ZENO_BENCH_T=1: time only that square float32 case
    // (for profiling).
    if (envInt("ZENO_BENCH_M")) |m| {
        // ZENO_BENCH_M=4096 ZENO_BENCH_K=768 ZENO_BENCH_N=3072: one float32 shape.
        const t: u32 = @intCast(envInt("ZENO_BENCH_T") orelse 1);
        const n = envInt("ZENO_BENCH_N") orelse m;
        const k = envInt("ZENO_BENCH_K") orelse m;
        for (0..envInt("ZENO_BENCH_R") orelse 3) |_| std.debug.print("f32 {d}x{d}x{d}  {d}    {d:>7.1}\n", .{ m, k, n, t, try benchShape(f32, m, n, k, t, false, false) });
        return;
    }
    if (envInt("ZENO_BENCH_N")) |n| {
        const t: u32 = @intCast(envInt("ZENO_BENCH_T") orelse 1);
        for (0..envInt("ZENO_BENCH_R") orelse 3) |_| std.debug.print("f32 {d:>5}         {d}    {d:>7.1}\n", .{ n, t, try bench(f32, n, t, false, false) });
        return;
    }
    const sizes = [_]usize{ 256, 512, 1024, 2048 };
    std.debug.print("case            threads  GFLOP/s\n", .{});
    for ([_]u32{ 1, 2 }) |t| {
        for (sizes) |n| std.debug.print("f32 {d:>5}         {d}    {d:>7.1}\n", .{ n, t, try bench(f32, n, t, false, false) });
        std.debug.print("f32 1024 A^T B^T  {d}    {d:>7.1}\n", .{ t, try bench(f32, 1024, t, true, true) });
        std.debug.print("f64 1024          {d}    {d:>7.1}\n", .{ t, try bench(f64, 1024, t, false, false) });
        std.debug.print("f32 256x[32^3]    {d}    {d:>7.1}\n", .{ t, try benchBatch(f32, 256, 32, t) });
        std.debug.print("f32 64x[64^3]     {d}    {d:>7.1}\n", .{ t, try benchBatch(f32, 64, 64, t) });
    }
}
