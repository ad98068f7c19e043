//! CUDA smoke test: runs every kernel family through the C ABI on device 0
//! and compares it with the CPU exports on the same data. Prints one
//! PASS/FAIL line per check with the largest difference, and exits 1 on any
//! failure (2 when there is no CUDA device).
//!
//!   cd zig && zig build cuda-smoke && ./zig-out/bin/cuda-smoke
//!
//! It links the library's exports directly (no Deno needed on the GPU machine).
const std = @import("std");

comptime {
    _ = @import("zeno");
}

extern fn zeno_cuda_init() callconv(.c) i32;
extern fn zeno_cuda_device_count() callconv(.c) i32;
extern fn zeno_cuda_device_name(dev: i32, buf: [*]u8, len: i32) callconv(.c) i32;
extern fn zeno_cuda_device_props(dev: i32, out: [*]f64) callconv(.c) i32;
extern fn zeno_cuda_set_device(dev: i32) callconv(.c) i32;
extern fn zeno_cuda_last_error(buf: [*]u8, len: i32) callconv(.c) i32;
extern fn zeno_cuda_malloc(bytes: f64, out: [*]u64) callconv(.c) i32;
extern fn zeno_cuda_free(ptr: u64) callconv(.c) i32;
extern fn zeno_cuda_empty_cache() callconv(.c) i32;
extern fn zeno_cuda_memory_stats(out: [*]f64) callconv(.c) i32;
extern fn zeno_cuda_synchronize() callconv(.c) i32;
extern fn zeno_cuda_htod(dst: u64, src: [*]u8, bytes: f64) callconv(.c) i32;
extern fn zeno_cuda_dtoh(dst: [*]u8, src: u64, bytes: f64) callconv(.c) i32;
extern fn zeno_cuda_dtod(dst: u64, src: u64, bytes: f64) callconv(.c) i32;
extern fn zeno_cuda_memset0(dst: u64, bytes: f64) callconv(.c) i32;
extern fn zeno_cuda_set_allow_tf32(on: i32) callconv(.c) i32;
extern fn zeno_cuda_copy(sd: i32, src: u64, soff: f64, dd: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_cuda_fill(dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32, bits: u64) callconv(.c) i32;
extern fn zeno_cuda_unary(op: i32, dtype: i32, x: u64, xoff: f64, y: u64, yoff: f64, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) callconv(.c) i32;
extern fn zeno_cuda_binary(op: i32, dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_cuda_where(dtype: i32, c: u64, coff: f64, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_cuda_reduce(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, p: f64) callconv(.c) i32;
extern fn zeno_cuda_scan(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) callconv(.c) i32;
extern fn zeno_cuda_softmax(log: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) callconv(.c) i32;
extern fn zeno_cuda_matmul(dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, c: u64, coff: f64, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_cuda_index_select(es: i32, x: u64, xoff: f64, idx: u64, ioff: f64, n: i32, out: u64, ooff: f64, outer: i32, size: i32, inner: i32, wrap: i32) callconv(.c) i32;
extern fn zeno_cuda_gather(dtype: i32, x: u64, xoff: f64, idx: u64, ioff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32;
extern fn zeno_cuda_scatter(op: i32, dtype: i32, dst: u64, doff: f64, idx: u64, ioff: f64, src: u64, soff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32;
extern fn zeno_cuda_sort(dtype: i32, x: u64, xoff: f64, vals: u64, voff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, desc: i32) callconv(.c) i32;
extern fn zeno_cuda_optim_step(kind: i32, dtype: i32, p: u64, poff: f64, g: u64, goff: f64, s1: u64, s1off: f64, s2: u64, s2off: f64, s3: u64, s3off: f64, n: i32, hyper: [*]const f64) callconv(.c) i32;
extern fn zeno_cuda_window2d(op: i32, dtype: i32, src: u64, soff: f64, dst: u64, doff: f64, idx: u64, ioff: f64, meta: [*]const i32, cip: i32, divisor: i32) callconv(.c) i32;
extern fn zeno_bad_index() callconv(.c) f64;

extern fn zeno_copy(sd: i32, src: [*]u8, soff: i32, dd: i32, dst: [*]u8, doff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_unary(op: i32, dtype: i32, x: [*]u8, xoff: i32, y: [*]u8, yoff: i32, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) callconv(.c) i32;
extern fn zeno_binary(op: i32, dtype: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_where(dtype: i32, c: [*]u8, coff: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_reduce(op: i32, dtype: i32, x: [*]u8, xoff: i32, out: ?[*]u8, ooff: i32, idx: ?[*]u8, ioff: i32, outer: i32, r: i32, inner: i32, p: f64) callconv(.c) i32;
extern fn zeno_scan(op: i32, dtype: i32, x: [*]u8, xoff: i32, out: [*]u8, ooff: i32, outer: i32, r: i32, inner: i32) callconv(.c) i32;
extern fn zeno_softmax(log: i32, dtype: i32, x: [*]u8, xoff: i32, out: [*]u8, ooff: i32, outer: i32, r: i32, inner: i32) callconv(.c) i32;
extern fn zeno_matmul(dtype: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, c: [*]u8, coff: i32, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) callconv(.c) i32;
extern fn zeno_index_select(es: i32, x: [*]u8, xoff: i32, idx: [*]u8, ioff: i32, n: i32, out: [*]u8, ooff: i32, outer: i32, size: i32, inner: i32, wrap: i32) callconv(.c) i32;
extern fn zeno_gather(dtype: i32, x: [*]u8, xoff: i32, idx: [*]u8, ioff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32;
extern fn zeno_scatter(op: i32, dtype: i32, dst: [*]u8, doff: i32, idx: [*]u8, ioff: i32, src: [*]u8, soff: i32, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32;
extern fn zeno_sort(dtype: i32, x: [*]u8, xoff: i32, vals: [*]u8, voff: i32, idx: [*]u8, ioff: i32, outer: i32, r: i32, inner: i32, desc: i32) callconv(.c) i32;
extern fn zeno_optim_step(kind: i32, dtype: i32, p: [*]u8, poff: i32, g: [*]u8, goff: i32, s1: ?[*]u8, s1off: i32, s2: ?[*]u8, s2off: i32, s3: ?[*]u8, s3off: i32, n: i32, hyper: [*]const f64) callconv(.c) i32;
extern fn zeno_window2d(op: i32, dtype: i32, src: [*]u8, soff: i32, dst: [*]u8, doff: i32, idx: ?[*]u8, ioff: i32, meta: [*]const i32, cip: i32, divisor: i32) callconv(.c) i32;

const gpa = std.heap.c_allocator;

fn nowNs() u64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

const Timer = struct {
    start: u64,
    fn read(t: Timer) u64 {
        return nowNs() - t.start;
    }
    fn reset(t: *Timer) void {
        t.start = nowNs();
    }
};
var failures: u32 = 0;
var checks: u32 = 0;

var t0: u64 = 0;

fn print(comptime fmt: []const u8, args: anytype) void {
    const ms = (nowNs() - t0) / std.time.ns_per_ms;
    std.debug.print("[{d:>6} ms] " ++ fmt ++ "\n", .{ms} ++ args);
}

fn lastError() []const u8 {
    const S = struct {
        var buf: [512]u8 = undefined;
    };
    const n = zeno_cuda_last_error(&S.buf, S.buf.len);
    return S.buf[0..@intCast(@max(0, @min(n, 512)))];
}

/// A failed call is one FAIL line (with the CUDA message); returns whether it worked.
fn call(what: []const u8, status: i32) bool {
    if (status == 0) return true;
    failures += 1;
    checks += 1;
    print("FAIL {s}: status {d}: {s}", .{ what, status, lastError() });
    return false;
}

fn dev(size: usize) u64 {
    var p: [1]u64 = undefined;
    if (!call("malloc", zeno_cuda_malloc(@floatFromInt(size), &p))) std.process.exit(1);
    return p[0];
}

fn up(comptime T: type, xs: []const T) u64 {
    const p = dev(xs.len * @sizeOf(T));
    _ = call("htod", zeno_cuda_htod(p, @ptrCast(@constCast(xs.ptr)), @floatFromInt(xs.len * @sizeOf(T))));
    return p;
}

fn down(comptime T: type, p: u64, n: usize) []T {
    const out = gpa.alloc(T, n) catch @panic("oom");
    _ = call("dtoh", zeno_cuda_dtoh(@ptrCast(out.ptr), p, @floatFromInt(n * @sizeOf(T))));
    return out;
}

fn bytes(xs: anytype) [*]u8 {
    return @ptrCast(@constCast(xs.ptr));
}

fn ulpDiff(comptime T: type, a: T, b: T) u64 {
    if (a != a and b != b) return 0;
    if (a == b) return 0;
    if (a != a or b != b) return std.math.maxInt(u64);
    const I = if (T == f32) i32 else i64;
    const ia: i64 = @as(I, @bitCast(a));
    const ib: i64 = @as(I, @bitCast(b));
    const fa: i128 = if (ia < 0) -@as(i128, ia & std.math.maxInt(I)) else ia;
    const fb: i128 = if (ib < 0) -@as(i128, ib & std.math.maxInt(I)) else ib;
    return @intCast(@abs(fa - fb));
}

/// Compares GPU and CPU results: floats within `max_ulp` ulp or `abs_tol`,
/// everything else exactly.
fn compare(comptime T: type, what: []const u8, gpu: []const T, cpu: []const T, max_ulp: u64, abs_tol: f64) void {
    checks += 1;
    var worst_ulp: u64 = 0;
    var worst_abs: f64 = 0;
    var bad: usize = 0;
    var first_bad: ?usize = null;
    for (gpu, cpu, 0..) |g, c, i| {
        const float = T == f32 or T == f64;
        var okay = true;
        if (float) {
            const u = ulpDiff(T, g, c);
            const d: f64 = if (u == 0) 0 else @abs(@as(f64, g) - @as(f64, c));
            if (u != std.math.maxInt(u64)) {
                worst_ulp = @max(worst_ulp, u);
                if (d == d) worst_abs = @max(worst_abs, d);
            }
            okay = u <= max_ulp or d <= abs_tol;
        } else okay = g == c;
        if (!okay) {
            bad += 1;
            if (first_bad == null) first_bad = i;
        }
    }
    if (bad == 0) {
        print("PASS {s}: {d} values, max {d} ulp, max abs diff {e}", .{ what, gpu.len, worst_ulp, worst_abs });
    } else {
        failures += 1;
        const i = first_bad.?;
        print("FAIL {s}: {d} of {d} differ (first at {d}: gpu {any} cpu {any}), max {d} ulp, max abs diff {e}", .{ what, bad, gpu.len, i, gpu[i], cpu[i], worst_ulp, worst_abs });
    }
}

fn random(comptime T: type, rng: std.Random, n: usize, lo: f64, hi: f64) []T {
    const xs = gpa.alloc(T, n) catch @panic("oom");
    for (xs) |*x| {
        const v = lo + (hi - lo) * rng.float(f64);
        x.* = if (T == f32 or T == f64) @floatCast(v) else @intFromFloat(@floor(v));
    }
    return xs;
}

const unary_names = [_][]const u8{ "neg", "abs", "sign", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "gelu_erf", "gelu_tanh", "silu", "softplus", "floor", "ceil", "round", "trunc", "isnan", "isinf", "nan_to_num", "logical_not", "erf", "gelu_erf_grad", "gelu_tanh_grad", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh" };
const binary_names = [_][]const u8{ "add", "sub", "mul", "div", "pow", "maximum", "minimum", "remainder", "floor_divide", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "fmod", "copysign" };
const reduce_names = [_][]const u8{ "sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "logsumexp", "norm", "all", "any" };

fn unaryChecks(comptime T: type, code: i32, rng: std.Random) void {
    const n = 4099;
    const tag = if (T == f32) "float32" else "float64";
    for (unary_names, 0..) |name, op| {
        const positive = std.mem.eql(u8, name, "log") or std.mem.eql(u8, name, "log2") or std.mem.eql(u8, name, "sqrt") or std.mem.eql(u8, name, "rsqrt") or std.mem.eql(u8, name, "log1p");
        const x = random(T, rng, n, if (positive) 0 else -6, 6);
        x[0] = std.math.nan(T);
        x[1] = std.math.inf(T);
        x[2] = -std.math.inf(T);
        x[3] = 0;
        x[4] = 2.5;
        x[5] = -3.5;
        const pred = op == 29 or op == 30 or op == 32;
        const meta = [_]i32{ n, 1, 1 };
        const dx = up(T, x);
        const dy = dev(n * @sizeOf(T));
        var label_buf: [64]u8 = undefined;
        const label = std.fmt.bufPrint(&label_buf, "unary {s} {s}", .{ name, tag }) catch "unary";
        const pa: f64 = if (std.mem.eql(u8, name, "softplus")) 1 else 0.1;
        const pb: f64 = 20;
        if (!call(label, zeno_cuda_unary(@intCast(op), code, dx, 0, dy, 0, 1, &meta, pa, pb, -1))) continue;
        if (pred) {
            const g = down(u8, dy, n);
            const c = gpa.alloc(u8, n) catch @panic("oom");
            _ = zeno_unary(@intCast(op), code, bytes(x), 0, bytes(c), 0, 1, &meta, pa, pb, -1);
            compare(u8, label, g, c, 0, 0);
        } else {
            const g = down(T, dy, n);
            const c = gpa.alloc(T, n) catch @panic("oom");
            _ = zeno_unary(@intCast(op), code, bytes(x), 0, bytes(c), 0, 1, &meta, pa, pb, -1);
            compare(T, label, g, c, 4, if (T == f32) 2e-6 else 1e-14);
        }
        _ = zeno_cuda_free(dx);
        _ = zeno_cuda_free(dy);
    }
}

fn binaryChecks(comptime T: type, code: i32, rng: std.Random) void {
    // a: [37, 61] transposed view of a [61, 37] buffer; b: a row broadcast [1, 61].
    const rows = 37;
    const cols = 61;
    const tag = @typeName(T);
    const float = T == f32 or T == f64;
    for (binary_names, 0..) |name, op| {
        if (!float and (op == 3 or op == 9 or op == 20)) continue;
        const a = random(T, rng, rows * cols, -20, 20);
        const b = random(T, rng, cols, if (float) -5 else 1, 5);
        if (!float) for (b) |*v| {
            if (v.* == 0) v.* = 1;
        };
        if (float and op == 4) for (a) |*v| {
            v.* = @abs(v.*);
        };
        const pred = op >= 10 and op <= 18;
        const meta = [_]i32{ rows, cols, 1, rows, 0, 1, cols, 1 };
        const da = up(T, a);
        const db = up(T, b);
        const dout = dev(rows * cols * @sizeOf(T));
        var label_buf: [64]u8 = undefined;
        const label = std.fmt.bufPrint(&label_buf, "binary {s} {s} (transposed, broadcast)", .{ name, tag }) catch "binary";
        if (!call(label, zeno_cuda_binary(@intCast(op), code, da, 0, db, 0, dout, 0, 2, &meta))) continue;
        if (pred) {
            const g = down(u8, dout, rows * cols);
            const c = gpa.alloc(u8, rows * cols) catch @panic("oom");
            _ = zeno_binary(@intCast(op), code, bytes(a), 0, bytes(b), 0, bytes(c), 0, 2, &meta);
            compare(u8, label, g, c, 0, 0);
        } else {
            const g = down(T, dout, rows * cols);
            const c = gpa.alloc(T, rows * cols) catch @panic("oom");
            _ = zeno_binary(@intCast(op), code, bytes(a), 0, bytes(b), 0, bytes(c), 0, 2, &meta);
            compare(T, label, g, c, 4, if (T == f32) 1e-5 else 1e-13);
        }
        _ = zeno_cuda_free(da);
        _ = zeno_cuda_free(db);
        _ = zeno_cuda_free(dout);
    }
}

fn reduceChecks(comptime T: type, code: i32, rng: std.Random) void {
    const float = T == f32 or T == f64;
    const shapes = [_][3]i32{ .{ 3, 1000, 1 }, .{ 4, 50, 7 }, .{ 1, 100000, 1 }, .{ 5, 3, 1 } };
    for (shapes) |sh| {
        const n: usize = @intCast(sh[0] * sh[1] * sh[2]);
        const lines: usize = @intCast(sh[0] * sh[2]);
        const x = random(T, rng, n, if (float) -3 else -50, if (float) 3 else 50);
        if (!float) x[n / 2] = 50; // a tie breaker for argmax is the first index
        const dx = up(T, x);
        for (reduce_names, 0..) |name, op| {
            if (!float and (op == 1 or op == 7 or op == 8 or op == 9)) continue;
            if (op == 2 and sh[1] > 100) continue; // products over/underflow
            const p: f64 = if (op == 7) 1 else 3;
            const arg = op == 5 or op == 6;
            const boolean = op == 10 or op == 11;
            var label_buf: [96]u8 = undefined;
            const label = std.fmt.bufPrint(&label_buf, "reduce {s} {s} [{d}, {d}, {d}]", .{ name, @typeName(T), sh[0], sh[1], sh[2] }) catch "reduce";
            const dout = dev(lines * 8);
            const didx = dev(lines * 8);
            if (!call(label, zeno_cuda_reduce(@intCast(op), code, dx, 0, if (arg) 0 else dout, 0, if (arg or op == 3) didx else 0, 0, sh[0], sh[1], sh[2], p))) continue;
            if (arg) {
                const g = down(i64, didx, lines);
                const c = gpa.alloc(i64, lines) catch @panic("oom");
                _ = zeno_reduce(@intCast(op), code, bytes(x), 0, null, 0, @ptrCast(c.ptr), 0, sh[0], sh[1], sh[2], p);
                compare(i64, label, g, c, 0, 0);
            } else if (boolean) {
                const g = down(u8, dout, lines);
                const c = gpa.alloc(u8, lines) catch @panic("oom");
                _ = zeno_reduce(@intCast(op), code, bytes(x), 0, @ptrCast(c.ptr), 0, null, 0, sh[0], sh[1], sh[2], p);
                compare(u8, label, g, c, 0, 0);
            } else {
                const g = down(T, dout, lines);
                const c = gpa.alloc(T, lines) catch @panic("oom");
                const ci = gpa.alloc(i64, lines) catch @panic("oom");
                _ = zeno_reduce(@intCast(op), code, bytes(x), 0, @ptrCast(c.ptr), 0, if (op == 3) @ptrCast(ci.ptr) else null, 0, sh[0], sh[1], sh[2], p);
                // The GPU adds in another order than the CPU: the rounding
                // error of a sum grows with the terms it adds (1e-12 was 15
                // ulp short for 100000 float64s on an H200).
                const terms: f64 = @floatFromInt(sh[1]);
                compare(T, label, g, c, 4, (if (T == f32) 1e-5 else 1e-12) * @max(1, terms / 1000));
                if (op == 3) compare(i64, "reduce max indices", down(i64, didx, lines), ci, 0, 0);
            }
            _ = zeno_cuda_free(dout);
            _ = zeno_cuda_free(didx);
        }
        _ = zeno_cuda_free(dx);
    }
}

fn softmaxChecks(comptime T: type, code: i32, rng: std.Random) void {
    const shapes = [_][3]i32{ .{ 7, 1000, 1 }, .{ 3, 20, 9 }, .{ 16, 10, 1 } };
    for (shapes) |sh| {
        const n: usize = @intCast(sh[0] * sh[1] * sh[2]);
        const x = random(T, rng, n, -10, 10);
        const dx = up(T, x);
        const dy = dev(n * @sizeOf(T));
        for (0..2) |log| {
            var label_buf: [96]u8 = undefined;
            const label = std.fmt.bufPrint(&label_buf, "{s} {s} [{d}, {d}, {d}]", .{ if (log == 1) "logSoftmax" else "softmax", @typeName(T), sh[0], sh[1], sh[2] }) catch "softmax";
            if (!call(label, zeno_cuda_softmax(@intCast(log), code, dx, 0, dy, 0, sh[0], sh[1], sh[2]))) continue;
            const g = down(T, dy, n);
            const c = gpa.alloc(T, n) catch @panic("oom");
            _ = zeno_softmax(@intCast(log), code, bytes(x), 0, bytes(c), 0, sh[0], sh[1], sh[2]);
            compare(T, label, g, c, 4, if (T == f32) 1e-7 else 1e-15);
        }
        _ = zeno_cuda_free(dx);
        _ = zeno_cuda_free(dy);
    }
}

fn matmulCheck(comptime T: type, code: i32, rng: std.Random, batch: i32, m: i32, n: i32, k: i32, ta: bool, tb: bool, b_broadcast: bool) void {
    const float = T == f32 or T == f64;
    const na: usize = @intCast(batch * m * k);
    const nb: usize = @intCast(if (b_broadcast) k * n else batch * k * n);
    const nc: usize = @intCast(batch * m * n);
    const a = random(T, rng, na, if (float) -1 else -5, if (float) 1 else 5);
    const b = random(T, rng, nb, if (float) -1 else -5, if (float) 1 else 5);
    const meta = [_]i32{
        m * k,                                if (ta) 1 else k, if (ta) m else 1,
        if (b_broadcast) 0 else k * n, if (tb) 1 else n, if (tb) k else 1,
    };
    const da = up(T, a);
    const db = up(T, b);
    const dc = dev(nc * @sizeOf(T));
    var label_buf: [96]u8 = undefined;
    const label = std.fmt.bufPrint(&label_buf, "matmul {s} {d}x[{d}x{d}]x[{d}x{d}]{s}{s}{s}", .{ @typeName(T), batch, m, k, k, n, if (ta) " A^T" else "", if (tb) " B^T" else "", if (b_broadcast) " B broadcast" else "" }) catch "matmul";
    if (call(label, zeno_cuda_matmul(code, da, 0, db, 0, dc, 0, batch, m, n, k, &meta))) {
        const g = down(T, dc, nc);
        const c = gpa.alloc(T, nc) catch @panic("oom");
        _ = zeno_matmul(code, bytes(a), 0, bytes(b), 0, bytes(c), 0, batch, m, n, k, &meta);
        compare(T, label, g, c, 64, if (T == f32) 1e-4 else 1e-12);
    }
    _ = zeno_cuda_free(da);
    _ = zeno_cuda_free(db);
    _ = zeno_cuda_free(dc);
}

fn miscChecks(rng: std.Random) void {
    // copy with cast from a transposed view
    {
        const x = random(f32, rng, 6 * 5, -100, 100);
        const meta = [_]i32{ 5, 6, 1, 5, 6, 1 };
        const dx = up(f32, x);
        const dy = dev(30 * 4);
        if (call("copy float32->int32 transposed", zeno_cuda_copy(0, dx, 0, 5, dy, 0, 2, &meta))) {
            const c = gpa.alloc(i32, 30) catch @panic("oom");
            _ = zeno_copy(0, bytes(x), 0, 5, bytes(c), 0, 2, &meta);
            compare(i32, "copy float32->int32 transposed", down(i32, dy, 30), c, 0, 0);
        }
        const dh = dev(30 * 2);
        const meta1 = [_]i32{ 30, 1, 1 };
        if (call("copy float32->bfloat16", zeno_cuda_copy(0, dx, 0, 3, dh, 0, 1, &meta1))) {
            const c = gpa.alloc(u16, 30) catch @panic("oom");
            _ = zeno_copy(0, bytes(x), 0, 3, bytes(c), 0, 1, &meta1);
            compare(u16, "copy float32->bfloat16", down(u16, dh, 30), c, 0, 0);
        }
        if (call("copy float32->float16", zeno_cuda_copy(0, dx, 0, 2, dh, 0, 1, &meta1))) {
            const c = gpa.alloc(u16, 30) catch @panic("oom");
            _ = zeno_copy(0, bytes(x), 0, 2, bytes(c), 0, 1, &meta1);
            compare(u16, "copy float32->float16", down(u16, dh, 30), c, 0, 0);
        }
        // fill a strided column with 2.5
        const fmeta = [_]i32{ 5, 6 };
        if (call("fill", zeno_cuda_fill(0, dx, 1, 1, &fmeta, @as(u32, @bitCast(@as(f32, 2.5)))))) {
            const g = down(f32, dx, 30);
            var okay = true;
            for (0..30) |i| {
                const want: f32 = if (i % 6 == 1) 2.5 else x[i];
                if (g[i] != want) okay = false;
            }
            checks += 1;
            if (okay) print("PASS fill (strided, offset 1)", .{}) else {
                failures += 1;
                print("FAIL fill (strided, offset 1)", .{});
            }
        }
    }
    // where with a broadcast condition
    {
        const n = 100;
        const c = gpa.alloc(u8, 10) catch @panic("oom");
        for (c, 0..) |*v, i| v.* = @intCast(i % 3 % 2);
        const a = random(f64, rng, n, -1, 1);
        const b = random(f64, rng, n, -1, 1);
        const meta = [_]i32{ 10, 10, 0, 1, 10, 1, 10, 1, 10, 1 };
        const dcnd = up(u8, c);
        const da = up(f64, a);
        const db = up(f64, b);
        const dout = dev(n * 8);
        if (call("where", zeno_cuda_where(1, dcnd, 0, da, 0, db, 0, dout, 0, 2, &meta))) {
            const o = gpa.alloc(f64, n) catch @panic("oom");
            _ = zeno_where(1, bytes(c), 0, bytes(a), 0, bytes(b), 0, bytes(o), 0, 2, &meta);
            compare(f64, "where float64 (broadcast condition)", down(f64, dout, n), o, 0, 0);
        }
    }
    // scan
    {
        const x = random(f32, rng, 3 * 500 * 2, -1, 1);
        const dx = up(f32, x);
        const dy = dev(x.len * 4);
        if (call("cumsum", zeno_cuda_scan(0, 0, dx, 0, dy, 0, 3, 500, 2))) {
            const c = gpa.alloc(f32, x.len) catch @panic("oom");
            _ = zeno_scan(0, 0, bytes(x), 0, bytes(c), 0, 3, 500, 2);
            compare(f32, "cumsum float32 [3, 500, 2]", down(f32, dy, x.len), c, 0, 0);
        }
    }
    // sort: short rows in shared memory, long rows on the host; with NaN and ties
    for ([_][3]i32{ .{ 6, 700, 1 }, .{ 2, 33, 3 }, .{ 1, 5000, 1 } }) |sh| {
        for (0..2) |desc| {
            const n: usize = @intCast(sh[0] * sh[1] * sh[2]);
            const x = random(f32, rng, n, -4, 4);
            for (x, 0..) |*v, i| {
                if (i % 7 == 0) v.* = @round(v.*);
            }
            x[3] = std.math.nan(f32);
            const dx = up(f32, x);
            const dv = dev(n * 4);
            const di = dev(n * 8);
            var label_buf: [96]u8 = undefined;
            const label = std.fmt.bufPrint(&label_buf, "sort float32 [{d}, {d}, {d}]{s}", .{ sh[0], sh[1], sh[2], if (desc == 1) " descending" else "" }) catch "sort";
            if (call(label, zeno_cuda_sort(0, dx, 0, dv, 0, di, 0, sh[0], sh[1], sh[2], @intCast(desc)))) {
                const cv = gpa.alloc(f32, n) catch @panic("oom");
                const ci = gpa.alloc(i64, n) catch @panic("oom");
                _ = zeno_sort(0, bytes(x), 0, bytes(cv), 0, bytes(ci), 0, sh[0], sh[1], sh[2], @intCast(desc));
                compare(f32, label, down(f32, dv, n), cv, 0, 0);
                compare(i64, "  (its indices: stable)", down(i64, di, n), ci, 0, 0);
            }
        }
    }
    // index_select, gather, scatter add, and an out-of-range index
    {
        const x = random(f32, rng, 4 * 10 * 3, -1, 1);
        const idx = [_]i64{ 9, 0, -1, 3, 3 };
        const dx = up(f32, x);
        const di = up(i64, &idx);
        const dout = dev(4 * 5 * 3 * 4);
        if (call("index_select", zeno_cuda_index_select(4, dx, 0, di, 0, 5, dout, 0, 4, 10, 3, 1))) {
            const c = gpa.alloc(f32, 60) catch @panic("oom");
            _ = zeno_index_select(4, bytes(x), 0, @ptrCast(@constCast(&idx)), 0, 5, bytes(c), 0, 4, 10, 3, 1);
            compare(f32, "index_select (negative index wraps)", down(f32, dout, 60), c, 0, 0);
        }
        const st = zeno_cuda_index_select(4, dx, 0, di, 0, 5, dout, 0, 4, 10, 3, 0);
        checks += 1;
        if (st == 2 and zeno_bad_index() == -1) print("PASS index_select reports index -1 out of range (status 2)", .{}) else {
            failures += 1;
            print("FAIL index_select bad index: status {d}, bad index {d}", .{ st, zeno_bad_index() });
        }
        // gather along dim 1 of x [4, 10, 3] with idx [4, 2, 3]
        const gi = gpa.alloc(i64, 24) catch @panic("oom");
        for (gi) |*v| v.* = rng.intRangeLessThan(i64, 0, 10);
        const meta = [_]i32{ 4, 2, 3, 6, 3, 1, 30, 3, 1, 6, 3, 1 };
        const dgi = up(i64, gi);
        const dg = dev(24 * 4);
        if (call("gather", zeno_cuda_gather(0, dx, 0, dgi, 0, dg, 0, 3, &meta, 1, 10))) {
            const c = gpa.alloc(f32, 24) catch @panic("oom");
            _ = zeno_gather(0, bytes(x), 0, bytes(gi), 0, bytes(c), 0, 3, &meta, 1, 10);
            compare(f32, "gather dim 1", down(f32, dg, 24), c, 0, 0);
        }
        const src = random(f64, rng, 24, -1, 1);
        const dst0 = random(f64, rng, 120, -1, 1);
        const ds = up(f64, src);
        const dd = up(f64, dst0);
        if (call("scatter add", zeno_cuda_scatter(1, 1, dd, 0, dgi, 0, ds, 0, 3, &meta, 1, 10))) {
            const c = gpa.dupe(f64, dst0) catch @panic("oom");
            _ = zeno_scatter(1, 1, bytes(c), 0, bytes(gi), 0, bytes(src), 0, 3, &meta, 1, 10);
            compare(f64, "scatter add float64 (atomics)", down(f64, dd, 120), c, 2, 1e-15);
        }
    }
    // integer division by zero is refused before anything runs
    {
        const a = [_]i32{ 1, 2, 3 };
        const b = [_]i32{ 1, 0, 3 };
        const meta = [_]i32{ 3, 1, 1, 1 };
        const da = up(i32, &a);
        const db = up(i32, &b);
        const st = zeno_cuda_binary(7, 5, da, 0, db, 0, da, 0, 1, &meta);
        checks += 1;
        if (st == 7) print("PASS int32 remainder by zero gives status 7", .{}) else {
            failures += 1;
            print("FAIL int32 remainder by zero gave status {d}", .{st});
        }
    }
    // optimizers
    for (0..8) |kind| {
        const n = 1000;
        const p = random(f32, rng, n, -1, 1);
        const g = random(f32, rng, n, -1, 1);
        const s1 = random(f32, rng, n, 0, 1);
        const s2 = random(f32, rng, n, 0, 1);
        const s3 = random(f32, rng, n, 0, 1);
        const hyper: [12]f64 = switch (kind) {
            0 => .{ 0.1, 0.9, 0, 0.01, 1, 0, 0, 0, 0, 0, 0, 0 },
            1 => .{ 0.001, 0.9, 0.999, 1e-8, 0.01, 3, 1, 0, 1, 0, 0, 0 },
            2 => .{ 0.01, 0.99, 1e-8, 0, 0.9, 1, 0, 0, 0, 0, 0, 0 },
            3 => .{ 0.01, 0.001, 0.0, 1e-10, 4, 0, 0, 0, 0, 0, 0, 0 },
            // nadam, radam, adamax, adadelta: the scalars the TypeScript side computes.
            4 => .{ 0.9, 0.999, 1e-8, 0.1, 0, 0, 0.003, -0.0009, -0.009, 0.999, 0, 0 },
            5 => .{ 0.9, 0.9, 1e-8, 0.1, 1, 0, 0.01, 0.47, 0.73, 0.4, 0.999, 0 },
            6 => .{ 0.9, 0.999, 1e-8, 0.1, 1, 0.02, 0, 0, 0, 0, 0, 0 },
            else => .{ 0.9, 1e-6, 0.1, 0, 1, 0, 0, 0, 0, 0, 0, 0 },
        };
        const dp = up(f32, p);
        const dg = up(f32, g);
        const d1 = up(f32, s1);
        const d2 = up(f32, s2);
        const d3 = up(f32, s3);
        const names = [_][]const u8{ "sgd (nesterov)", "adamw (amsgrad)", "rmsprop (centered, momentum)", "adagrad", "nadam", "radam (decoupled)", "adamax (maximize)", "adadelta" };
        if (call(names[kind], zeno_cuda_optim_step(@intCast(kind), 0, dp, 0, dg, 0, d1, 0, d2, 0, d3, 0, n, &hyper))) {
            _ = zeno_optim_step(@intCast(kind), 0, bytes(p), 0, bytes(g), 0, bytes(s1), 0, bytes(s2), 0, bytes(s3), 0, n, &hyper);
            var label_buf: [64]u8 = undefined;
            const label = std.fmt.bufPrint(&label_buf, "optim {s} float32", .{names[kind]}) catch "optim";
            compare(f32, label, down(f32, dp, n), p, 2, 1e-7);
        }
    }
    // window2d: im2col, col2im, pooling forward/backward
    {
        const geo = [14]i32{ 2, 3, 9, 8, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1 };
        const planes = 6;
        const hw = 72;
        const l = 20;
        const kk = 9;
        const x = random(f64, rng, planes * hw, -1, 1);
        const names = [_][]const u8{ "im2col", "col2im", "max_pool", "max_pool_backward", "avg_pool", "avg_pool_backward", "adaptive_avg_pool", "adaptive_avg_pool_backward" };
        const idx_buf = gpa.alloc(i64, planes * l) catch @panic("oom");
        const didx = dev(planes * l * 8);
        const cols = random(f64, rng, planes * kk * l, -1, 1);
        const go = random(f64, rng, planes * l, -1, 1);
        for (0..8) |op| {
            const src: []const f64 = switch (op) {
                1 => cols,
                3, 5, 7 => go,
                else => x,
            };
            const out_len: usize = switch (op) {
                0 => planes * kk * l,
                1, 3, 5, 7 => planes * hw,
                else => planes * l,
            };
            const ds = up(f64, src);
            const dout = dev(out_len * 8);
            const c = gpa.alloc(f64, out_len) catch @panic("oom");
            const uses_idx = op == 2 or op == 3;
            var label_buf: [64]u8 = undefined;
            const label = std.fmt.bufPrint(&label_buf, "window2d {s} float64", .{names[op]}) catch "window2d";
            const st = zeno_cuda_window2d(@intCast(op), 1, ds, 0, dout, 0, if (uses_idx) didx else 0, 0, &geo, 0, 0);
            _ = zeno_window2d(@intCast(op), 1, bytes(src), 0, bytes(c), 0, if (uses_idx) @ptrCast(idx_buf.ptr) else null, 0, &geo, 0, 0);
            if (call(label, st)) compare(f64, label, down(f64, dout, out_len), c, 4, 1e-14);
            if (op == 2) compare(i64, "window2d max_pool indices", down(i64, didx, planes * l), idx_buf, 0, 0);
        }
    }
}

pub fn main() void {
    t0 = nowNs();
    var prng = std.Random.DefaultPrng.init(42);
    const rng = prng.random();
    const st = zeno_cuda_init();
    if (st != 0) {
        print("FAIL zeno_cuda_init: status {d}: {s}", .{ st, lastError() });
        std.process.exit(2);
    }
    var name: [256]u8 = undefined;
    const nl = zeno_cuda_device_name(0, &name, name.len);
    var props: [8]f64 = undefined;
    _ = zeno_cuda_device_props(0, &props);
    print("devices: {d}; device 0: {s}, {d:.1} GiB, {d} SMs, compute capability {d}.{d}", .{ zeno_cuda_device_count(), name[0..@intCast(@max(0, @min(nl, 256)))], props[0] / (1 << 30), props[1], props[2], props[3] });
    var timer = Timer{ .start = nowNs() };
    if (!call("set_device(0)", zeno_cuda_set_device(0))) std.process.exit(1);
    print("set_device(0) with the PTX load: {d} ms", .{timer.read() / std.time.ns_per_ms});

    unaryChecks(f32, 0, rng);
    unaryChecks(f64, 1, rng);
    binaryChecks(f32, 0, rng);
    binaryChecks(f64, 1, rng);
    binaryChecks(i32, 5, rng);
    binaryChecks(i64, 4, rng);
    reduceChecks(f32, 0, rng);
    reduceChecks(f64, 1, rng);
    reduceChecks(i32, 5, rng);
    softmaxChecks(f32, 0, rng);
    softmaxChecks(f64, 1, rng);
    matmulCheck(f32, 0, rng, 3, 64, 96, 128, false, false, false);
    matmulCheck(f32, 0, rng, 2, 33, 17, 50, true, true, true);
    matmulCheck(f64, 1, rng, 2, 31, 45, 29, false, true, false);
    matmulCheck(i32, 5, rng, 2, 19, 23, 37, true, false, false);
    miscChecks(rng);

    // A big elementwise op and a big matmul: timing only.
    {
        const n: usize = 1 << 26;
        const dx = dev(n * 4);
        const meta = [_]i32{ @intCast(n), 1, 1 };
        _ = zeno_cuda_memset0(dx, @floatFromInt(n * 4));
        _ = zeno_cuda_synchronize();
        timer.reset();
        for (0..10) |_| _ = zeno_cuda_unary(3, 0, dx, 0, dx, 0, 1, &meta, 0, 0, 0);
        _ = zeno_cuda_synchronize();
        const ns = timer.read();
        print("time: exp over 2^26 float32 in place: {d:.3} ms ({d:.0} GB/s)", .{ @as(f64, @floatFromInt(ns)) / 1e7, 2.0 * @as(f64, @floatFromInt(n * 4 * 10)) / @as(f64, @floatFromInt(ns)) });
        _ = zeno_cuda_free(dx);
        const m = 4096;
        const da = dev(m * m * 4);
        const db = dev(m * m * 4);
        const dc = dev(m * m * 4);
        _ = zeno_cuda_memset0(da, m * m * 4);
        _ = zeno_cuda_memset0(db, m * m * 4);
        const mm = [_]i32{ 0, m, 1, 0, m, 1 };
        for (0..2) |tf32| {
            _ = zeno_cuda_set_allow_tf32(@intCast(tf32));
            _ = zeno_cuda_matmul(0, da, 0, db, 0, dc, 0, 1, m, m, m, &mm);
            _ = zeno_cuda_synchronize();
            timer.reset();
            for (0..10) |_| _ = zeno_cuda_matmul(0, da, 0, db, 0, dc, 0, 1, m, m, m, &mm);
            _ = zeno_cuda_synchronize();
            const t = timer.read();
            print("time: matmul 4096^3 float32{s}: {d:.3} ms ({d:.1} TFLOP/s)", .{ if (tf32 == 1) " (TF32)" else "", @as(f64, @floatFromInt(t)) / 1e7, 2.0 * m * m * m * 10 / @as(f64, @floatFromInt(t)) / 1e3 });
        }
    }
    var stats: [8]f64 = undefined;
    _ = zeno_cuda_memory_stats(&stats);
    print("memory: allocated {d:.0} B, max allocated {d:.0} B, reserved {d:.0} B, allocs {d}, frees {d}, cache hits {d}", .{ stats[0], stats[2 - 1], stats[2], stats[4], stats[5], stats[6] });
    _ = zeno_cuda_empty_cache();
    print("{s}: {d} checks, {d} failed", .{ if (failures == 0) "ALL PASS" else "FAILURES", checks, failures });
    if (failures != 0) std.process.exit(1);
}
