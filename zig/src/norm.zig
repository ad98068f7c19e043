//! Normalization kernels, each one pass over the data (two for statistics).
//!
//! Layer norm normalizes each row of x: [rows, d] over its d elements (the
//! TypeScript side flattens the normalized dims into d), then applies a
//! per-element affine w, b: [d]:
//!   mean = sum(x) / d, var = sum((x - mean)^2) / d, rstd = 1 / sqrt(var + eps)
//!   y = (x - mean) * rstd * w + b
//! Its backward, with xhat = (x - mean) * rstd and gw = g * w:
//!   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
//!   dw = sum over rows of g * xhat, db = sum over rows of g
//!
//! Each kernel keeps a plain reference loop beside it (`...Reference`) that
//! the tests compare it with.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, OutOfMemory };

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

fn optPtr(comptime T: type, base: ?[*]u8, off: i64) ?[*]T {
    return if (base) |b| ptr(T, b, off) else null;
}

/// Lanes per vector for T (8 floats or 4 doubles on AVX2).
fn lanes(comptime T: type) usize {
    return std.simd.suggestVectorLength(T) orelse 4;
}

/// sum(x[0..n]) with four vector accumulators; the sum is taken in T's
/// precision (a row of a layer norm is short and in L1).
fn rowSum(comptime T: type, x: [*]const T, n: usize) T {
    const L = comptime lanes(T);
    const V = @Vector(L, T);
    var a: [4]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + 4 * L <= n) : (i += 4 * L) {
        inline for (0..4) |u| a[u] += @as(V, x[i + u * L ..][0..L].*);
    }
    while (i + L <= n) : (i += L) a[0] += @as(V, x[i..][0..L].*);
    var s = @reduce(.Add, (a[0] + a[1]) + (a[2] + a[3]));
    while (i < n) : (i += 1) s += x[i];
    return s;
}

/// sum((x - c)^2) over x[0..n].
fn rowCenteredSquares(comptime T: type, x: [*]const T, n: usize, c: T) T {
    const L = comptime lanes(T);
    const V = @Vector(L, T);
    const cv: V = @splat(c);
    var a: [4]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + 4 * L <= n) : (i += 4 * L) {
        inline for (0..4) |u| {
            const e = @as(V, x[i + u * L ..][0..L].*) - cv;
            a[u] += e * e;
        }
    }
    while (i + L <= n) : (i += L) {
        const e = @as(V, x[i..][0..L].*) - cv;
        a[0] += e * e;
    }
    var s = @reduce(.Add, (a[0] + a[1]) + (a[2] + a[3]));
    while (i < n) : (i += 1) s += (x[i] - c) * (x[i] - c);
    return s;
}

fn LayerNorm(comptime T: type) type {
    return struct {
        const L = lanes(T);
        const V = @Vector(L, T);

        const Fwd = struct {
            x: [*]const T,
            w: ?[*]const T,
            b: ?[*]const T,
            y: [*]T,
            mean: [*]T,
            rstd: [*]T,
            rows: usize,
            d: usize,
            eps: T,
            chunks: u32,
        };

        fn forwardRow(f: *const Fwd, r: usize) void {
            const d = f.d;
            const x = f.x + r * d;
            const y = f.y + r * d;
            const mu = rowSum(T, x, d) / @as(T, @floatFromInt(d));
            const v = rowCenteredSquares(T, x, d, mu) / @as(T, @floatFromInt(d));
            const rs = 1 / @sqrt(v + f.eps);
            f.mean[r] = mu;
            f.rstd[r] = rs;
            const muv: V = @splat(mu);
            const rsv: V = @splat(rs);
            var i: usize = 0;
            while (i + L <= d) : (i += L) {
                var e = (@as(V, x[i..][0..L].*) - muv) * rsv;
                if (f.w) |w| e *= @as(V, w[i..][0..L].*);
                if (f.b) |b| e += @as(V, b[i..][0..L].*);
                y[i..][0..L].* = e;
            }
            while (i < d) : (i += 1) {
                var e = (x[i] - mu) * rs;
                if (f.w) |w| e *= w[i];
                if (f.b) |b| e += b[i];
                y[i] = e;
            }
        }

        fn forwardTask(f: *const Fwd, chunk: u32) void {
            const range = pool.chunkRange(f.rows, f.chunks, chunk);
            for (range[0]..range[1]) |r| forwardRow(f, r);
        }

        fn forward(f: *Fwd) void {
            f.chunks = pool.chunkCount(f.rows * f.d, 1 << 14);
            f.chunks = @min(f.chunks, @as(u32, @intCast(f.rows)));
            pool.run(f.chunks, @as(*const Fwd, f), forwardTask);
        }

        const Bwd = struct {
            g: [*]const T,
            x: [*]const T,
            mean: [*]const T,
            rstd: [*]const T,
            w: ?[*]const T,
            dx: ?[*]T,
            /// Per chunk: dw partial sums [d], then db partial sums [d].
            partial: ?[*]T,
            rows: usize,
            d: usize,
            chunks: u32,
        };

        fn backwardTask(bw: *const Bwd, chunk: u32) void {
            const d = bw.d;
            const range = pool.chunkRange(bw.rows, bw.chunks, chunk);
            const part: ?[*]T = if (bw.partial) |p| p + @as(usize, chunk) * 2 * d else null;
            if (part) |p| @memset(p[0 .. 2 * d], 0);
            const inv_d: T = 1 / @as(T, @floatFromInt(d));
            for (range[0]..range[1]) |r| {
                const x = bw.x + r * d;
                const g = bw.g + r * d;
                const mu = bw.mean[r];
                const rs = bw.rstd[r];
                const muv: V = @splat(mu);
                const rsv: V = @splat(rs);
                // Row sums of gw and gw * xhat; the affine partials on the way.
                var s1: V = @splat(0);
                var s2: V = @splat(0);
                var i: usize = 0;
                while (i + L <= d) : (i += L) {
                    const xh = (@as(V, x[i..][0..L].*) - muv) * rsv;
                    const gv: V = g[i..][0..L].*;
                    const gw = if (bw.w) |w| gv * @as(V, w[i..][0..L].*) else gv;
                    s1 += gw;
                    s2 += gw * xh;
                    if (part) |p| {
                        p[i..][0..L].* = @as(V, p[i..][0..L].*) + gv * xh;
                        p[d + i ..][0..L].* = @as(V, p[d + i ..][0..L].*) + gv;
                    }
                }
                var t1 = @reduce(.Add, s1);
                var t2 = @reduce(.Add, s2);
                while (i < d) : (i += 1) {
                    const xh = (x[i] - mu) * rs;
                    const gw = if (bw.w) |w| g[i] * w[i] else g[i];
                    t1 += gw;
                    t2 += gw * xh;
                    if (part) |p| {
                        p[i] += g[i] * xh;
                        p[d + i] += g[i];
                    }
                }
                const dx = bw.dx orelse continue;
                const c1: V = @splat(t1 * inv_d);
                const c2: V = @splat(t2 * inv_d);
                i = 0;
                while (i + L <= d) : (i += L) {
                    const xh = (@as(V, x[i..][0..L].*) - muv) * rsv;
                    const gv: V = g[i..][0..L].*;
                    const gw = if (bw.w) |w| gv * @as(V, w[i..][0..L].*) else gv;
                    dx[r * d + i ..][0..L].* = rsv * (gw - c1 - xh * c2);
                }
                while (i < d) : (i += 1) {
                    const xh = (x[i] - mu) * rs;
                    const gw = if (bw.w) |w| g[i] * w[i] else g[i];
                    dx[r * d + i] = rs * (gw - t1 * inv_d - xh * t2 * inv_d);
                }
            }
        }

        fn backward(bw: *Bwd, dw: ?[*]T, db: ?[*]T) Error!void {
            const d = bw.d;
            bw.chunks = @min(pool.chunkCount(bw.rows * d, 1 << 14), @as(u32, @intCast(bw.rows)));
            const want_affine = dw != null or db != null;
            var buf: []T = &.{};
            defer if (buf.len > 0) std.heap.c_allocator.free(buf);
            if (want_affine) {
                buf = std.heap.c_allocator.alloc(T, @as(usize, bw.chunks) * 2 * d) catch return error.OutOfMemory;
                bw.partial = buf.ptr;
            }
            pool.run(bw.chunks, @as(*const Bwd, bw), backwardTask);
            if (!want_affine) return;
            // Chunk partials in chunk order: the same sums whatever the thread timing.
            for (0..d) |j| {
                var sw: T = 0;
                var sb: T = 0;
                for (0..bw.chunks) |c| {
                    sw += buf[c * 2 * d + j];
                    sb += buf[c * 2 * d + d + j];
                }
                if (dw) |p| p[j] = sw;
                if (db) |p| p[j] = sb;
            }
        }
    };
}

/// Layer norm forward: y = (x - mean) * rstd (* w) (+ b) per row, saving mean and rstd.
/// x, y: [rows, d]; w, b: [d] or null; mean, rstd: [rows].
pub fn layerNorm(dtype: DType, x: [*]u8, xoff: i64, w: ?[*]u8, woff: i64, b: ?[*]u8, boff: i64, y: [*]u8, yoff: i64, mean: [*]u8, moff: i64, rstd: [*]u8, roff: i64, rows: usize, d: usize, eps: f64) Error!void {
    if (rows == 0) return;
    if (d == 0) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            var f = LayerNorm(T).Fwd{
                .x = ptr(T, x, xoff),
                .w = optPtr(T, w, woff),
                .b = optPtr(T, b, boff),
                .y = ptr(T, y, yoff),
                .mean = ptr(T, mean, moff),
                .rstd = ptr(T, rstd, roff),
                .rows = rows,
                .d = d,
                .eps = @floatCast(eps),
                .chunks = 0,
            };
            LayerNorm(T).forward(&f);
        },
        else => return error.InvalidArgument,
    }
}

/// Layer norm backward from the saved mean and rstd: dx: [rows, d] (or null),
/// dw, db: [d] (each may be null); g, x: [rows, d]; w: [d] or null.
pub fn layerNormBackward(dtype: DType, g: [*]u8, goff: i64, x: [*]u8, xoff: i64, mean: [*]u8, moff: i64, rstd: [*]u8, roff: i64, w: ?[*]u8, woff: i64, dx: ?[*]u8, dxoff: i64, dw: ?[*]u8, dwoff: i64, db: ?[*]u8, dboff: i64, rows: usize, d: usize) Error!void {
    if (d == 0) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            if (rows == 0) {
                // No rows: the affine gradients are sums over nothing.
                if (optPtr(T, dw, dwoff)) |p| @memset(p[0..d], 0);
                if (optPtr(T, db, dboff)) |p| @memset(p[0..d], 0);
                return;
            }
            var bw = LayerNorm(T).Bwd{
                .g = ptr(T, g, goff),
                .x = ptr(T, x, xoff),
                .mean = ptr(T, mean, moff),
                .rstd = ptr(T, rstd, roff),
                .w = optPtr(T, w, woff),
                .dx = optPtr(T, dx, dxoff),
                .partial = null,
                .rows = rows,
                .d = d,
                .chunks = 0,
            };
            try LayerNorm(T).backward(&bw, optPtr(T, dw, dwoff), optPtr(T, db, dboff));
        },
        else => return error.InvalidArgument,
    }
}

/// The plain loops the optimised kernels are tested against (f64 throughout).
pub fn layerNormReference(comptime T: type, x: []const T, w: ?[]const T, b: ?[]const T, y: []T, mean: []T, rstd: []T, d: usize, eps: f64) void {
    const rows = x.len / d;
    for (0..rows) |r| {
        var s: f64 = 0;
        for (0..d) |i| s += x[r * d + i];
        const mu = s / @as(f64, @floatFromInt(d));
        var v: f64 = 0;
        for (0..d) |i| v += (x[r * d + i] - mu) * (x[r * d + i] - mu);
        const rs = 1 / @sqrt(v / @as(f64, @floatFromInt(d)) + eps);
        mean[r] = @floatCast(mu);
        rstd[r] = @floatCast(rs);
        for (0..d) |i| {
            var e = (x[r * d + i] - mu) * rs;
            if (w) |ww| e *= ww[i];
            if (b) |bb| e += bb[i];
            y[r * d + i] = @floatCast(e);
        }
    }
}

pub fn layerNormBackwardReference(comptime T: type, g: []const T, x: []const T, mean: []const T, rstd: []const T, w: ?[]const T, dx: []T, dw: []T, db: []T, d: usize) void {
    const rows = x.len / d;
    @memset(dw, 0);
    @memset(db, 0);
    var dwa = std.heap.page_allocator.alloc(f64, 2 * d) catch unreachable;
    defer std.heap.page_allocator.free(dwa);
    @memset(dwa, 0);
    for (0..rows) |r| {
        var t1: f64 = 0;
        var t2: f64 = 0;
        for (0..d) |i| {
            const xh = (@as(f64, x[r * d + i]) - mean[r]) * rstd[r];
            const gw = @as(f64, g[r * d + i]) * (if (w) |ww| @as(f64, ww[i]) else 1);
            t1 += gw;
            t2 += gw * xh;
            dwa[i] += g[r * d + i] * xh;
            dwa[d + i] += g[r * d + i];
        }
        const fd: f64 = @floatFromInt(d);
        for (0..d) |i| {
            const xh = (@as(f64, x[r * d + i]) - mean[r]) * rstd[r];
            const gw = @as(f64, g[r * d + i]) * (if (w) |ww| @as(f64, ww[i]) else 1);
            dx[r * d + i] = @floatCast(rstd[r] * (gw - t1 / fd - xh * t2 / fd));
        }
    }
    for (0..d) |i| {
        dw[i] = @floatCast(dwa[i]);
        db[i] = @floatCast(dwa[d + i]);
    }
}

fn maxRelDiff(comptime T: type, a: []const T, b: []const T) f64 {
    var worst: f64 = 0;
    for (a, b) |p, q| {
        const diff = @abs(@as(f64, p) - @as(f64, q)) / (1 + @abs(@as(f64, q)));
        worst = @max(worst, diff);
    }
    return worst;
}

test "layer norm forward and backward match the reference loops" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const rnd = prng.random();
    pool.setNumThreads(3);
    inline for (.{ f32, f64 }) |T| {
        const tol: f64 = if (T == f32) 2e-5 else 1e-12;
        const D: DType = if (T == f32) .float32 else .float64;
        for ([_][2]usize{ .{ 1, 1 }, .{ 3, 5 }, .{ 7, 8 }, .{ 33, 37 }, .{ 64, 768 }, .{ 200, 19 } }) |sh| {
            const rows = sh[0];
            const d = sh[1];
            const x = try alloc.alloc(T, rows * d);
            defer alloc.free(x);
            const g = try alloc.alloc(T, rows * d);
            defer alloc.free(g);
            const w = try alloc.alloc(T, d);
            defer alloc.free(w);
            const b = try alloc.alloc(T, d);
            defer alloc.free(b);
            for (x) |*v| v.* = @floatCast(rnd.floatNorm(f64) * 3 + 1);
            for (g) |*v| v.* = @floatCast(rnd.floatNorm(f64));
            for (w) |*v| v.* = @floatCast(rnd.floatNorm(f64));
            for (b) |*v| v.* = @floatCast(rnd.floatNorm(f64));
            const bufs = try alloc.alloc(T, 4 * rows * d + 4 * rows + 4 * d);
            defer alloc.free(bufs);
            const y = bufs[0 .. rows * d];
            const y_ref = bufs[rows * d .. 2 * rows * d];
            const dx = bufs[2 * rows * d .. 3 * rows * d];
            const dx_ref = bufs[3 * rows * d .. 4 * rows * d];
            var at = 4 * rows * d;
            const mean = bufs[at .. at + rows];
            at += rows;
            const rstd = bufs[at .. at + rows];
            at += rows;
            const mean_ref = bufs[at .. at + rows];
            at += rows;
            const rstd_ref = bufs[at .. at + rows];
            at += rows;
            const dw = bufs[at .. at + d];
            const db = bufs[at + d .. at + 2 * d];
            const dw_ref = bufs[at + 2 * d .. at + 3 * d];
            const db_ref = bufs[at + 3 * d .. at + 4 * d];
            for ([_]bool{ false, true }) |affine| {
                const wp: ?[*]u8 = if (affine) @ptrCast(w.ptr) else null;
                const bp: ?[*]u8 = if (affine) @ptrCast(b.ptr) else null;
                try layerNorm(D, @ptrCast(x.ptr), 0, wp, 0, bp, 0, @ptrCast(y.ptr), 0, @ptrCast(mean.ptr), 0, @ptrCast(rstd.ptr), 0, rows, d, 1e-5);
                layerNormReference(T, x, if (affine) w else null, if (affine) b else null, y_ref, mean_ref, rstd_ref, d, 1e-5);
                try std.testing.expect(maxRelDiff(T, y, y_ref) < tol);
                try std.testing.expect(maxRelDiff(T, mean, mean_ref) < tol);
                try std.testing.expect(maxRelDiff(T, rstd, rstd_ref) < tol);
                try layerNormBackward(D, @ptrCast(g.ptr), 0, @ptrCast(x.ptr), 0, @ptrCast(mean.ptr), 0, @ptrCast(rstd.ptr), 0, wp, 0, @ptrCast(dx.ptr), 0, @ptrCast(dw.ptr), 0, @ptrCast(db.ptr), 0, rows, d);
                layerNormBackwardReference(T, g, x, mean, rstd, if (affine) w else null, dx_ref, dw_ref, db_ref, d);
                const btol: f64 = if (T == f32) 1e-4 else 1e-10;
                try std.testing.expect(maxRelDiff(T, dx, dx_ref) < btol);
                try std.testing.expect(maxRelDiff(T, dw, dw_ref) < btol);
                try std.testing.expect(maxRelDiff(T, db, db_ref) < btol);
            }
        }
    }
}
