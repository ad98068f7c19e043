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
//! Batch norm works per channel of x: [n, c, s] (s: the spatial size) with
//! three kernels that the TypeScript side composes: the channel statistics
//! (mean and biased variance), the channel gradient sums (sum of g and of
//! g * (x - m)), and one per-channel affine map that gives both the forward
//! (y = a * x + k) and the input gradient (dx = a * g + b * (x - m) + k).
//!
//! Each kernel keeps a plain reference loop beside it (`...Reference`) that
//! the tests compare it with.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const vm = @import("vmath.zig");
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

/// sum(x[0..n]) with four vector accumulators; the sum is taken in T's
/// precision (a row of a layer norm is short and in L1).
fn rowSum(comptime T: type, x: [*]const T, n: usize) T {
    const L = vm.lanes(T);
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
    const L = vm.lanes(T);
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
        const L = vm.lanes(T);
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

fn Channels(comptime T: type) type {
    return struct {
        const L = vm.lanes(T);
        const V = @Vector(L, T);

        /// sum(u) and, with v, sum(u * (v - m)) over one block of s elements,
        /// in f64 (blocks are long: a 56x56 image is 3,136 elements).
        fn blockSums(u: [*]const T, v: ?[*]const T, m: T, s: usize) [2]f64 {
            var a0: V = @splat(0);
            var a1: V = @splat(0);
            var b0: V = @splat(0);
            var b1: V = @splat(0);
            const mv: V = @splat(m);
            var i: usize = 0;
            while (i + 2 * L <= s) : (i += 2 * L) {
                const p: V = u[i..][0..L].*;
                const q: V = u[i + L ..][0..L].*;
                a0 += p;
                a1 += q;
                if (v) |vv| {
                    b0 += p * (@as(V, vv[i..][0..L].*) - mv);
                    b1 += q * (@as(V, vv[i + L ..][0..L].*) - mv);
                }
            }
            var s0: f64 = @reduce(.Add, a0 + a1);
            var s1: f64 = @reduce(.Add, b0 + b1);
            while (i < s) : (i += 1) {
                s0 += u[i];
                if (v) |vv| s1 += u[i] * (vv[i] - m);
            }
            return .{ s0, s1 };
        }

        const Sums = struct {
            u: [*]const T,
            v: ?[*]const T,
            m: ?[*]const T,
            out0: [*]T,
            out1: ?[*]T,
            n: usize,
            c: usize,
            s: usize,
            /// Statistics mode: out0 = mean, out1 = biased variance of u.
            stats: bool,
            chunks: u32,
        };

        fn sumsTask(t: *const Sums, chunk: u32) void {
            const range = pool.chunkRange(t.c, t.chunks, chunk);
            const count: f64 = @floatFromInt(t.n * t.s);
            for (range[0]..range[1]) |j| {
                var s0: f64 = 0;
                var s1: f64 = 0;
                if (t.stats) {
                    for (0..t.n) |i| s0 += blockSums(t.u + (i * t.c + j) * t.s, null, 0, t.s)[0];
                    const mean: T = @floatCast(s0 / count);
                    // Second pass: squares about the mean (no cancellation).
                    for (0..t.n) |i| {
                        const blk = t.u + (i * t.c + j) * t.s;
                        s1 += blockSums(blk, blk, mean, t.s)[1];
                    }
                    t.out0[j] = mean;
                    t.out1.?[j] = @floatCast(s1 / count);
                } else {
                    const m: T = if (t.m) |mm| mm[j] else 0;
                    for (0..t.n) |i| {
                        const off = (i * t.c + j) * t.s;
                        const r = blockSums(t.u + off, if (t.v) |vv| vv + off else null, m, t.s);
                        s0 += r[0];
                        s1 += r[1];
                    }
                    t.out0[j] = @floatCast(s0);
                    if (t.out1) |o| o[j] = @floatCast(s1);
                }
            }
        }

        fn sums(t: *Sums) void {
            t.chunks = @min(pool.chunkCount(t.n * t.c * t.s, 1 << 14), @as(u32, @intCast(t.c)));
            pool.run(t.chunks, @as(*const Sums, t), sumsTask);
        }

        const Affine = struct {
            u: [*]const T,
            v: ?[*]const T,
            m: ?[*]const T,
            a: [*]const T,
            b: ?[*]const T,
            k: ?[*]const T,
            out: [*]T,
            n: usize,
            c: usize,
            s: usize,
            chunks: u32,
        };

        fn affineTask(t: *const Affine, chunk: u32) void {
            const range = pool.chunkRange(t.n * t.c, t.chunks, chunk);
            for (range[0]..range[1]) |blk| {
                const j = blk % t.c;
                const off = blk * t.s;
                const u = t.u + off;
                const o = t.out + off;
                const a: V = @splat(t.a[j]);
                const k: V = @splat(if (t.k) |kk| kk[j] else 0);
                const b: V = @splat(if (t.b) |bb| bb[j] else 0);
                const m: V = @splat(if (t.m) |mm| mm[j] else 0);
                var i: usize = 0;
                while (i + L <= t.s) : (i += L) {
                    var r = a * @as(V, u[i..][0..L].*) + k;
                    if (t.v) |vv| r += b * (@as(V, vv[off + i ..][0..L].*) - m);
                    o[i..][0..L].* = r;
                }
                while (i < t.s) : (i += 1) {
                    var r = a[0] * u[i] + k[0];
                    if (t.v) |vv| r += b[0] * (vv[off + i] - m[0]);
                    o[i] = r;
                }
            }
        }

        fn affine(t: *Affine) void {
            t.chunks = @min(pool.chunkCount(t.n * t.c * t.s, 1 << 14), @as(u32, @intCast(t.n * t.c)));
            pool.run(t.chunks, @as(*const Affine, t), affineTask);
        }
    };
}

/// Per-channel mean and biased variance of x: [n, c, s]; mean, variance: [c].
pub fn channelStats(dtype: DType, x: [*]u8, xoff: i64, mean: [*]u8, moff: i64, variance: [*]u8, voff: i64, n: usize, c: usize, s: usize) Error!void {
    if (n * s == 0) return error.InvalidArgument;
    if (c == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            var t = Channels(T).Sums{ .u = ptr(T, x, xoff), .v = null, .m = null, .out0 = ptr(T, mean, moff), .out1 = ptr(T, variance, voff), .n = n, .c = c, .s = s, .stats = true, .chunks = 0 };
            Channels(T).sums(&t);
        },
        else => return error.InvalidArgument,
    }
}

/// Per-channel sums over g, x: [n, c, s]: sg[c] = sum g, and with x (and m:
/// [c]) sgx[c] = sum g * (x - m).
pub fn channelGradSums(dtype: DType, g: [*]u8, goff: i64, x: ?[*]u8, xoff: i64, m: ?[*]u8, moff: i64, sg: [*]u8, sgoff: i64, sgx: ?[*]u8, sgxoff: i64, n: usize, c: usize, s: usize) Error!void {
    if (c == 0) return;
    if ((x == null) != (sgx == null)) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            var t = Channels(T).Sums{ .u = ptr(T, g, goff), .v = optPtr(T, x, xoff), .m = optPtr(T, m, moff), .out0 = ptr(T, sg, sgoff), .out1 = optPtr(T, sgx, sgxoff), .n = n, .c = c, .s = s, .stats = false, .chunks = 0 };
            Channels(T).sums(&t);
        },
        else => return error.InvalidArgument,
    }
}

/// out = a[c] * u + b[c] * (v - m[c]) + k[c] over [n, c, s]; v, m and b come
/// together or not at all; k may be null (zero).
pub fn channelAffine(dtype: DType, u: [*]u8, uoff: i64, v: ?[*]u8, voff: i64, m: ?[*]u8, moff: i64, a: [*]u8, aoff: i64, b: ?[*]u8, boff: i64, k: ?[*]u8, koff: i64, out: [*]u8, ooff: i64, n: usize, c: usize, s: usize) Error!void {
    if ((v == null) != (b == null)) return error.InvalidArgument;
    if (n * c * s == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            var t = Channels(T).Affine{ .u = ptr(T, u, uoff), .v = optPtr(T, v, voff), .m = optPtr(T, m, moff), .a = ptr(T, a, aoff), .b = optPtr(T, b, boff), .k = optPtr(T, k, koff), .out = ptr(T, out, ooff), .n = n, .c = c, .s = s, .chunks = 0 };
            Channels(T).affine(&t);
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
    const dwa = std.heap.page_allocator.alloc(f64, 2 * d) catch unreachable;
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

test "channel statistics, sums and affine maps match plain loops" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(9);
    const rnd = prng.random();
    pool.setNumThreads(3);
    inline for (.{ f32, f64 }) |T| {
        const D: DType = if (T == f32) .float32 else .float64;
        const tol: f64 = if (T == f32) 1e-4 else 1e-11;
        for ([_][3]usize{ .{ 2, 3, 1 }, .{ 5, 1, 7 }, .{ 4, 6, 33 }, .{ 3, 2, 200 }, .{ 17, 5, 1 } }) |sh| {
            const n = sh[0];
            const c = sh[1];
            const s = sh[2];
            const x = try alloc.alloc(T, n * c * s);
            defer alloc.free(x);
            const g = try alloc.alloc(T, n * c * s);
            defer alloc.free(g);
            const out = try alloc.alloc(T, n * c * s);
            defer alloc.free(out);
            const ch = try alloc.alloc(T, 8 * c);
            defer alloc.free(ch);
            for (x) |*e| e.* = @floatCast(rnd.floatNorm(f64) * 2 + 3);
            for (g) |*e| e.* = @floatCast(rnd.floatNorm(f64));
            for (ch[4 * c ..]) |*e| e.* = @floatCast(rnd.floatNorm(f64));
            const mean = ch[0..c];
            const variance = ch[c .. 2 * c];
            const sg = ch[2 * c .. 3 * c];
            const sgx = ch[3 * c .. 4 * c];
            const a = ch[4 * c .. 5 * c];
            const b = ch[5 * c .. 6 * c];
            const k = ch[6 * c .. 7 * c];
            try channelStats(D, @ptrCast(x.ptr), 0, @ptrCast(mean.ptr), 0, @ptrCast(variance.ptr), 0, n, c, s);
            try channelGradSums(D, @ptrCast(g.ptr), 0, @ptrCast(x.ptr), 0, @ptrCast(mean.ptr), 0, @ptrCast(sg.ptr), 0, @ptrCast(sgx.ptr), 0, n, c, s);
            try channelAffine(D, @ptrCast(g.ptr), 0, @ptrCast(x.ptr), 0, @ptrCast(mean.ptr), 0, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(k.ptr), 0, @ptrCast(out.ptr), 0, n, c, s);
            for (0..c) |j| {
                var s0: f64 = 0;
                for (0..n) |i| for (0..s) |q| {
                    s0 += x[(i * c + j) * s + q];
                };
                const mu = s0 / @as(f64, @floatFromInt(n * s));
                var v: f64 = 0;
                var rg: f64 = 0;
                var rgx: f64 = 0;
                for (0..n) |i| for (0..s) |q| {
                    const at = (i * c + j) * s + q;
                    v += (x[at] - mu) * (x[at] - mu);
                    rg += g[at];
                    rgx += g[at] * (x[at] - mean[j]);
                    const want = @as(f64, a[j]) * g[at] + @as(f64, b[j]) * (x[at] - mean[j]) + k[j];
                    try std.testing.expect(@abs(out[at] - want) <= tol * (1 + @abs(want)));
                };
                v /= @as(f64, @floatFromInt(n * s));
                try std.testing.expect(@abs(mean[j] - mu) <= tol * (1 + @abs(mu)));
                try std.testing.expect(@abs(variance[j] - v) <= tol * (1 + v));
                try std.testing.expect(@abs(sg[j] - rg) <= tol * (1 + @abs(rg)));
                try std.testing.expect(@abs(sgx[j] - rgx) <= tol * (1 + @abs(rgx)));
            }
        }
    }
}
