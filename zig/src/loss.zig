//! Cross entropy of logits x: [n, c] against int64 class indices t: [n],
//! fused: one pass per row for the loss and one for its gradient, where the
//! composed form takes a log-softmax, a gather, the ignore mask and the
//! reductions (and as many again backward).
//!   lse_i = max_i + log(sum_j exp(x_ij - max_i))
//!   loss  = sum over kept rows of (lse_i - x_i[t_i]), divided by their count
//!           for the mean (rows whose target is the ignore index are not kept)
//!   dx_ij = scale * (exp(x_ij - lse_i) - [j == t_i]) on kept rows, 0 on the others,
//!           scale = the upstream gradient / (count for the mean, 1 for the sum)
//!
//! Logits, loss, upstream gradient and dx are of the storage type E; lse and
//! count are of the compute type T = dt.Compute(E) (float32 for the halves,
//! whose logits widen as they are loaded and whose dx rounds once).
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const red = @import("reduce.zig");
const ix = @import("index.zig");
const vm = @import("vmath.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, IndexOutOfRange, OutOfMemory };

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

/// Checks every target is a class in [0, c) or the ignore index; the first
/// one that is not goes to index.bad_index (the error message names it).
fn checkTargets(t: [*]const i64, n: usize, c: usize, ignore: i64) Error!void {
    for (0..n) |i| {
        const v = t[i];
        if (v != ignore and (v < 0 or v >= @as(i64, @intCast(c)))) {
            ix.bad_index = v;
            return error.IndexOutOfRange;
        }
    }
}

fn CrossEntropy(comptime E: type) type {
    return struct {
        const T = dt.Compute(E);
        const w = vm.lanes(T);
        const V = @Vector(w, T);

        const Fwd = struct {
            x: [*]const E,
            t: [*]const i64,
            lse: [*]T,
            /// Per chunk: the sum of its kept rows' losses and their count.
            partial: [*]f64,
            n: usize,
            c: usize,
            ignore: i64,
            chunks: u32,
        };

        fn forwardTask(f: *const Fwd, chunk: u32) void {
            const range = pool.chunkRange(f.n, f.chunks, chunk);
            var sum: f64 = 0;
            var count: f64 = 0;
            for (range[0]..range[1]) |i| {
                const x = f.x + i * f.c;
                const mx = red.lineMax(E, x, f.c);
                const ls: T = @floatCast(@log(red.expShiftSum(E, x, null, mx, f.c)));
                f.lse[i] = mx + ls;
                const ti = f.t[i];
                if (ti == f.ignore) continue;
                // -(log_softmax(x)[t]), in PyTorch's order: (x - max) - log(sum).
                const lp = (dt.loadOne(T, E, x[@intCast(ti)]) - mx) - ls;
                sum -= lp;
                count += 1;
            }
            f.partial[2 * chunk] = sum;
            f.partial[2 * chunk + 1] = count;
        }

        const Bwd = struct {
            x: [*]const E,
            t: [*]const i64,
            lse: [*]const T,
            dx: [*]E,
            scale: T,
            n: usize,
            c: usize,
            ignore: i64,
            chunks: u32,
        };

        fn backwardTask(b: *const Bwd, chunk: u32) void {
            const range = pool.chunkRange(b.n, b.chunks, chunk);
            const sv: V = @splat(b.scale);
            for (range[0]..range[1]) |i| {
                const x = b.x + i * b.c;
                const dx = b.dx + i * b.c;
                const ti = b.t[i];
                if (ti == b.ignore) {
                    @memset(dx[0..b.c], std.mem.zeroes(E));
                    continue;
                }
                const lv: V = @splat(b.lse[i]);
                const tu: usize = @intCast(ti);
                var j: usize = 0;
                while (j + w <= b.c) : (j += w) {
                    var d = vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + j) - lv) * sv;
                    // The target's one-hot term before the one rounding.
                    if (tu >= j and tu < j + w) {
                        const hit = std.simd.iota(u32, w) == @as(@Vector(w, u32), @splat(@intCast(tu - j)));
                        d = @select(T, hit, d - sv, d);
                    }
                    dt.storeVec(T, E, w, dx + j, d);
                }
                while (j < b.c) : (j += 1) {
                    var d = @exp(dt.loadOne(T, E, x[j]) - b.lse[i]) * b.scale;
                    if (j == tu) d -= b.scale;
                    dt.storeOne(T, E, &dx[j], d);
                }
            }
        }
    };
}

/// The loss (mean over kept rows, or sum) into loss[0] (the logits' type),
/// the kept rows' count into count[0] and each row's log-sum-exp into lse:
/// [n] (both the compute type).
pub fn crossEntropy(dtype: DType, x: [*]u8, xoff: i64, t: [*]u8, toff: i64, lse: [*]u8, loff: i64, loss: [*]u8, lossoff: i64, count: [*]u8, coff: i64, n: usize, c: usize, ignore: i64, mean: bool) Error!void {
    if (c == 0) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            const tp = ptr(i64, t, toff);
            try checkTargets(tp, n, c, ignore);
            const chunks: u32 = if (n == 0) 1 else @min(pool.chunkCount(n * c, 1 << 14), @as(u32, @intCast(n)));
            var partial: [2 * pool.max_threads * 4]f64 = undefined;
            assert(chunks <= pool.max_threads * 4);
            @memset(partial[0 .. 2 * chunks], 0);
            const f = CrossEntropy(E).Fwd{ .x = ptr(E, x, xoff), .t = tp, .lse = ptr(T, lse, loff), .partial = &partial, .n = n, .c = c, .ignore = ignore, .chunks = chunks };
            if (n > 0) pool.run(chunks, &f, CrossEntropy(E).forwardTask);
            // Chunk partials in chunk order: the same sum whatever the thread timing.
            var sum: f64 = 0;
            var kept: f64 = 0;
            for (0..chunks) |k| {
                sum += partial[2 * k];
                kept += partial[2 * k + 1];
            }
            // An all-ignored mean is 0 / 0 = NaN, as in PyTorch.
            dt.storeOne(T, E, &ptr(E, loss, lossoff)[0], @floatCast(if (mean) sum / kept else sum));
            ptr(T, count, coff)[0] = @floatCast(kept);
        },
        else => return error.InvalidArgument,
    }
}

/// dx: [n, c] from the saved lse and count; g: the upstream gradient (1
/// element of the logits' type).
pub fn crossEntropyBackward(dtype: DType, x: [*]u8, xoff: i64, t: [*]u8, toff: i64, lse: [*]u8, loff: i64, g: [*]u8, goff: i64, count: [*]u8, coff: i64, dx: [*]u8, dxoff: i64, n: usize, c: usize, ignore: i64, mean: bool) Error!void {
    if (c == 0) return error.InvalidArgument;
    if (n == 0) return;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            const gv = dt.loadOne(T, E, ptr(E, g, goff)[0]);
            const scale = if (mean) gv / ptr(T, count, coff)[0] else gv;
            const chunks = @min(pool.chunkCount(n * c, 1 << 14), @as(u32, @intCast(n)));
            const b = CrossEntropy(E).Bwd{ .x = ptr(E, x, xoff), .t = ptr(i64, t, toff), .lse = ptr(T, lse, loff), .dx = ptr(E, dx, dxoff), .scale = scale, .n = n, .c = c, .ignore = ignore, .chunks = chunks };
            pool.run(chunks, &b, CrossEntropy(E).backwardTask);
        },
        else => return error.InvalidArgument,
    }
}

/// The plain loops the fused kernels are tested against (f64 throughout).
fn reference(comptime T: type, x: []const T, t: []const i64, c: usize, ignore: i64, g: f64, mean: bool, dx: []f64) f64 {
    const n = t.len;
    var sum: f64 = 0;
    var kept: f64 = 0;
    for (0..n) |i| {
        if (t[i] == ignore) continue;
        var mx: f64 = -std.math.inf(f64);
        for (0..c) |j| mx = @max(mx, x[i * c + j]);
        var s: f64 = 0;
        for (0..c) |j| s += @exp(x[i * c + j] - mx);
        sum += mx + @log(s) - x[i * c + @as(usize, @intCast(t[i]))];
        kept += 1;
    }
    const scale = if (mean) g / kept else g;
    for (0..n) |i| {
        for (0..c) |j| {
            if (t[i] == ignore) {
                dx[i * c + j] = 0;
                continue;
            }
            var mx: f64 = -std.math.inf(f64);
            for (0..c) |q| mx = @max(mx, x[i * c + q]);
            var s: f64 = 0;
            for (0..c) |q| s += @exp(x[i * c + q] - mx);
            const p = @exp(x[i * c + j] - mx) / s;
            dx[i * c + j] = scale * (p - @as(f64, if (@as(i64, @intCast(j)) == t[i]) 1 else 0));
        }
    }
    return if (mean) sum / kept else sum;
}

test "cross entropy forward and backward match the reference loops" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(5);
    const rnd = prng.random();
    pool.setNumThreads(3);
    inline for (.{ f32, f64 }) |T| {
        const D: DType = if (T == f32) .float32 else .float64;
        const tol: f64 = if (T == f32) 2e-5 else 1e-12;
        for ([_][2]usize{ .{ 1, 1 }, .{ 4, 10 }, .{ 64, 10 }, .{ 33, 1000 }, .{ 300, 7 } }) |sh| {
            const n = sh[0];
            const c = sh[1];
            const x = try alloc.alloc(T, n * c);
            defer alloc.free(x);
            const dx = try alloc.alloc(T, n * c);
            defer alloc.free(dx);
            const want = try alloc.alloc(f64, n * c);
            defer alloc.free(want);
            const t = try alloc.alloc(i64, n);
            defer alloc.free(t);
            const lse = try alloc.alloc(T, n);
            defer alloc.free(lse);
            for (x) |*v| v.* = @floatCast(rnd.floatNorm(f64) * 4);
            for (t, 0..) |*v, i| v.* = if (i % 5 == 3) -100 else @intCast(rnd.uintLessThan(usize, c));
            for ([_]bool{ true, false }) |mean| {
                var loss: T = 0;
                var count: T = 0;
                var g: T = 0.75;
                try crossEntropy(D, @ptrCast(x.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(lse.ptr), 0, @ptrCast(&loss), 0, @ptrCast(&count), 0, n, c, -100, mean);
                try crossEntropyBackward(D, @ptrCast(x.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(lse.ptr), 0, @ptrCast(&g), 0, @ptrCast(&count), 0, @ptrCast(dx.ptr), 0, n, c, -100, mean);
                const ref = reference(T, x, t, c, -100, 0.75, mean, want);
                if (std.math.isNan(ref)) {
                    try std.testing.expect(std.math.isNan(loss));
                } else try std.testing.expect(@abs(loss - ref) <= tol * (1 + @abs(ref)));
                for (dx, want) |p, q| try std.testing.expect(@abs(p - q) <= tol * (1 + @abs(q)));
            }
        }
    }
    // A target out of range is reported with its value.
    var x = [_]f32{ 0, 1, 2, 3 };
    var t = [_]i64{ 1, 7 };
    var lse: [2]f32 = undefined;
    var loss: f32 = 0;
    var count: f32 = 0;
    try std.testing.expectError(error.IndexOutOfRange, crossEntropy(.float32, @ptrCast(&x), 0, @ptrCast(&t), 0, @ptrCast(&lse), 0, @ptrCast(&loss), 0, @ptrCast(&count), 0, 2, 2, -100, true));
    try std.testing.expectEqual(@as(i64, 7), ix.bad_index);
}

test "half cross entropy gives the float32 kernel's loss and gradient rounded once" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(6);
    const rnd = prng.random();
    pool.setNumThreads(2);
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const E = dt.Storage(D);
        for ([_][2]usize{ .{ 5, 10 }, .{ 33, 1000 }, .{ 7, 37 } }) |sh| {
            const n = sh[0];
            const c = sh[1];
            const xh = try alloc.alloc(E, 2 * n * c);
            defer alloc.free(xh);
            const xf = try alloc.alloc(f32, 2 * n * c);
            defer alloc.free(xf);
            const t = try alloc.alloc(i64, n);
            defer alloc.free(t);
            for (xh[0 .. n * c], xf[0 .. n * c]) |*h, *f| {
                dt.storeOne(f32, E, h, @floatCast(rnd.floatNorm(f64) * 3));
                f.* = dt.loadOne(f32, E, h.*);
            }
            for (t, 0..) |*v, i| v.* = if (i % 4 == 1) -100 else @intCast(rnd.uintLessThan(usize, c));
            var lse: [2][64]f32 = undefined;
            var count: [2]f32 = undefined;
            var lh: E = undefined;
            var lf: f32 = 0;
            var gh: E = undefined;
            dt.storeOne(f32, E, &gh, 0.75);
            var gf: f32 = 0.75;
            try crossEntropy(D, @ptrCast(xh.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(&lse[0]), 0, @ptrCast(&lh), 0, @ptrCast(&count[0]), 0, n, c, -100, true);
            try crossEntropy(.float32, @ptrCast(xf.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(&lse[1]), 0, @ptrCast(&lf), 0, @ptrCast(&count[1]), 0, n, c, -100, true);
            try std.testing.expectEqualSlices(f32, lse[1][0..n], lse[0][0..n]);
            var want: E = undefined;
            dt.storeOne(f32, E, &want, lf);
            try std.testing.expectEqual(dt.loadOne(f32, E, want), dt.loadOne(f32, E, lh));
            const dxh = xh[n * c ..];
            const dxf = xf[n * c ..];
            try crossEntropyBackward(D, @ptrCast(xh.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(&lse[0]), 0, @ptrCast(&gh), 0, @ptrCast(&count[0]), 0, @ptrCast(dxh.ptr), 0, n, c, -100, true);
            try crossEntropyBackward(.float32, @ptrCast(xf.ptr), 0, @ptrCast(t.ptr), 0, @ptrCast(&lse[1]), 0, @ptrCast(&gf), 0, @ptrCast(&count[1]), 0, @ptrCast(dxf.ptr), 0, n, c, -100, true);
            for (dxh, dxf) |h, f| {
                dt.storeOne(f32, E, &want, f);
                try std.testing.expectEqual(dt.loadOne(f32, E, want), dt.loadOne(f32, E, h));
            }
        }
    }
}
