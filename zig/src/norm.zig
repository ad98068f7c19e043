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
//! Without a mean buffer the same kernels give the RMS norm (no centring):
//!   rstd = 1 / sqrt(sum(x^2) / d + eps), y = x * rstd * w,
//!   dx = rstd * (gw - xhat * mean(gw * xhat)), dw = sum over rows of g * xhat
//!
//! Batch norm works per channel of x: [n, c, s] (s: the spatial size) with
//! three kernels that the TypeScript side composes: the channel statistics
//! (mean and biased variance), the channel gradient sums (sum of g and of
//! g * (x - m)), and one per-channel affine map that gives both the forward
//! (y = a * x + k) and the input gradient (dx = a * g + b * (x - m) + k).
//!
//! Each kernel keeps a plain reference loop beside it (`...Reference`) that
//! the tests compare it with.
//!
//! The kernels are generic over the storage type E of the data (x, g, y, dx
//! and layer norm's w, b, dw, db) and compute in T = dt.Compute(E): float16
//! and bfloat16 widen as they are loaded and round once as they are stored.
//! The statistics and per-channel terms (mean, rstd, variance, the channel
//! sums, a, b, k, m) are T: float32 for the halves, as PyTorch keeps them.
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

/// sum(x[0..n]) with four vector accumulators; the sum is taken in the
/// compute type's precision (a row of a layer norm is short and in L1).
fn rowSum(comptime E: type, x: [*]const E, n: usize) dt.Compute(E) {
    const T = dt.Compute(E);
    const L = vm.lanes(T);
    const V = @Vector(L, T);
    var a: [4]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + 4 * L <= n) : (i += 4 * L) {
        inline for (0..4) |u| a[u] += dt.loadVec(T, E, L, x + i + u * L);
    }
    while (i + L <= n) : (i += L) a[0] += dt.loadVec(T, E, L, x + i);
    var s = @reduce(.Add, (a[0] + a[1]) + (a[2] + a[3]));
    while (i < n) : (i += 1) s += dt.loadOne(T, E, x[i]);
    return s;
}

/// sum((x - c)^2) over x[0..n].
fn rowCenteredSquares(comptime E: type, x: [*]const E, n: usize, c: dt.Compute(E)) dt.Compute(E) {
    const T = dt.Compute(E);
    const L = vm.lanes(T);
    const V = @Vector(L, T);
    const cv: V = @splat(c);
    var a: [4]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + 4 * L <= n) : (i += 4 * L) {
        inline for (0..4) |u| {
            const e = dt.loadVec(T, E, L, x + i + u * L) - cv;
            a[u] += e * e;
        }
    }
    while (i + L <= n) : (i += L) {
        const e = dt.loadVec(T, E, L, x + i) - cv;
        a[0] += e * e;
    }
    var s = @reduce(.Add, (a[0] + a[1]) + (a[2] + a[3]));
    while (i < n) : (i += 1) {
        const e = dt.loadOne(T, E, x[i]) - c;
        s += e * e;
    }
    return s;
}

/// Layer norm over rows of E, computed in T = dt.Compute(E).
fn LayerNorm(comptime E: type) type {
    return struct {
        const T = dt.Compute(E);
        const L = vm.lanes(T);
        const V = @Vector(L, T);

        /// L elements at p, widened to T.
        inline fn ld(p: [*]const E) V {
            return dt.loadVec(T, E, L, p);
        }
        inline fn one(v: E) T {
            return dt.loadOne(T, E, v);
        }

        const Fwd = struct {
            x: [*]const E,
            w: ?[*]const E,
            b: ?[*]const E,
            y: [*]E,
            /// null: the RMS norm.
            mean: ?[*]T,
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
            const mu = if (f.mean == null) 0 else rowSum(E, x, d) / @as(T, @floatFromInt(d));
            const v = rowCenteredSquares(E, x, d, mu) / @as(T, @floatFromInt(d));
            const rs = 1 / @sqrt(v + f.eps);
            if (f.mean) |m| m[r] = mu;
            f.rstd[r] = rs;
            const muv: V = @splat(mu);
            const rsv: V = @splat(rs);
            var i: usize = 0;
            while (i + L <= d) : (i += L) {
                var e = (ld(x + i) - muv) * rsv;
                if (f.w) |w| e *= ld(w + i);
                if (f.b) |b| e += ld(b + i);
                dt.storeVec(T, E, L, y + i, e);
            }
            while (i < d) : (i += 1) {
                var e = (one(x[i]) - mu) * rs;
                if (f.w) |w| e *= one(w[i]);
                if (f.b) |b| e += one(b[i]);
                dt.storeOne(T, E, &y[i], e);
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
            g: [*]const E,
            x: [*]const E,
            /// null: the RMS norm.
            mean: ?[*]const T,
            rstd: [*]const T,
            w: ?[*]const E,
            dx: ?[*]E,
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
                const mu: T = if (bw.mean) |m| m[r] else 0;
                const rs = bw.rstd[r];
                const muv: V = @splat(mu);
                const rsv: V = @splat(rs);
                // Row sums of gw and gw * xhat; the affine partials on the way.
                var s1: V = @splat(0);
                var s2: V = @splat(0);
                var i: usize = 0;
                while (i + L <= d) : (i += L) {
                    const xh = (ld(x + i) - muv) * rsv;
                    const gv = ld(g + i);
                    const gw = if (bw.w) |w| gv * ld(w + i) else gv;
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
                    const xh = (one(x[i]) - mu) * rs;
                    const gi = one(g[i]);
                    const gw = if (bw.w) |w| gi * one(w[i]) else gi;
                    t1 += gw;
                    t2 += gw * xh;
                    if (part) |p| {
                        p[i] += gi * xh;
                        p[d + i] += gi;
                    }
                }
                const dx = bw.dx orelse continue;
                // The RMS norm has no mean to differentiate through.
                if (bw.mean == null) t1 = 0;
                const c1: V = @splat(t1 * inv_d);
                const c2: V = @splat(t2 * inv_d);
                i = 0;
                while (i + L <= d) : (i += L) {
                    const xh = (ld(x + i) - muv) * rsv;
                    const gv = ld(g + i);
                    const gw = if (bw.w) |w| gv * ld(w + i) else gv;
                    dt.storeVec(T, E, L, dx + r * d + i, rsv * (gw - c1 - xh * c2));
                }
                while (i < d) : (i += 1) {
                    const xh = (one(x[i]) - mu) * rs;
                    const gi = one(g[i]);
                    const gw = if (bw.w) |w| gi * one(w[i]) else gi;
                    dt.storeOne(T, E, &dx[r * d + i], rs * (gw - t1 * inv_d - xh * t2 * inv_d));
                }
            }
        }

        fn backward(bw: *Bwd, dw: ?[*]E, db: ?[*]E) Error!void {
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
                if (dw) |p| dt.storeOne(T, E, &p[j], sw);
                if (db) |p| dt.storeOne(T, E, &p[j], sb);
            }
        }
    };
}

/// Layer norm forward: y = (x - mean) * rstd (* w) (+ b) per row, saving mean and rstd.
/// x, y: [rows, d]; w, b: [d] or null; mean, rstd: [rows] (the compute
/// type). mean null: the RMS norm, y = x * rstd (* w) (+ b).
pub fn layerNorm(dtype: DType, x: [*]u8, xoff: i64, w: ?[*]u8, woff: i64, b: ?[*]u8, boff: i64, y: [*]u8, yoff: i64, mean: ?[*]u8, moff: i64, rstd: [*]u8, roff: i64, rows: usize, d: usize, eps: f64) Error!void {
    if (rows == 0) return;
    if (d == 0) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            var f = LayerNorm(E).Fwd{
                .x = ptr(E, x, xoff),
                .w = optPtr(E, w, woff),
                .b = optPtr(E, b, boff),
                .y = ptr(E, y, yoff),
                .mean = optPtr(T, mean, moff),
                .rstd = ptr(T, rstd, roff),
                .rows = rows,
                .d = d,
                .eps = @floatCast(eps),
                .chunks = 0,
            };
            LayerNorm(E).forward(&f);
        },
        else => return error.InvalidArgument,
    }
}

/// Layer norm backward from the saved mean and rstd: dx: [rows, d] (or null),
/// dw, db: [d] (each may be null); g, x: [rows, d]; w: [d] or null. mean
/// null: the RMS norm's backward.
pub fn layerNormBackward(dtype: DType, g: [*]u8, goff: i64, x: [*]u8, xoff: i64, mean: ?[*]u8, moff: i64, rstd: [*]u8, roff: i64, w: ?[*]u8, woff: i64, dx: ?[*]u8, dxoff: i64, dw: ?[*]u8, dwoff: i64, db: ?[*]u8, dboff: i64, rows: usize, d: usize) Error!void {
    if (d == 0) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            if (rows == 0) {
                // No rows: the affine gradients are sums over nothing.
                if (optPtr(E, dw, dwoff)) |p| @memset(p[0..d], std.mem.zeroes(E));
                if (optPtr(E, db, dboff)) |p| @memset(p[0..d], std.mem.zeroes(E));
                return;
            }
            var bw = LayerNorm(E).Bwd{
                .g = ptr(E, g, goff),
                .x = ptr(E, x, xoff),
                .mean = optPtr(T, mean, moff),
                .rstd = ptr(T, rstd, roff),
                .w = optPtr(E, w, woff),
                .dx = optPtr(E, dx, dxoff),
                .partial = null,
                .rows = rows,
                .d = d,
                .chunks = 0,
            };
            try LayerNorm(E).backward(&bw, optPtr(E, dw, dwoff), optPtr(E, db, dboff));
        },
        else => return error.InvalidArgument,
    }
}

/// The channel kernels over data of E, computed in T = dt.Compute(E).
fn Channels(comptime E: type) type {
    return struct {
        const T = dt.Compute(E);
        const L = vm.lanes(T);
        const V = @Vector(L, T);

        inline fn ld(p: [*]const E) V {
            return dt.loadVec(T, E, L, p);
        }
        inline fn one(v: E) T {
            return dt.loadOne(T, E, v);
        }

        /// sum(u) and, with v, sum(u * (v - m)) over one block of s elements,
        /// in f64 (blocks are long: a 56x56 image is 3,136 elements).
        fn blockSums(u: [*]const E, v: ?[*]const E, m: T, s: usize) [2]f64 {
            var a0: V = @splat(0);
            var a1: V = @splat(0);
            var b0: V = @splat(0);
            var b1: V = @splat(0);
            const mv: V = @splat(m);
            var i: usize = 0;
            while (i + 2 * L <= s) : (i += 2 * L) {
                const p = ld(u + i);
                const q = ld(u + i + L);
                a0 += p;
                a1 += q;
                if (v) |vv| {
                    b0 += p * (ld(vv + i) - mv);
                    b1 += q * (ld(vv + i + L) - mv);
                }
            }
            var s0: f64 = @reduce(.Add, a0 + a1);
            var s1: f64 = @reduce(.Add, b0 + b1);
            while (i < s) : (i += 1) {
                s0 += one(u[i]);
                if (v) |vv| s1 += one(u[i]) * (one(vv[i]) - m);
            }
            return .{ s0, s1 };
        }

        const Sums = struct {
            u: [*]const E,
            v: ?[*]const E,
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
            u: [*]const E,
            v: ?[*]const E,
            m: ?[*]const T,
            a: [*]const T,
            b: ?[*]const T,
            k: ?[*]const T,
            out: [*]E,
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
                    var r = a * ld(u + i) + k;
                    if (t.v) |vv| r += b * (ld(vv + off + i) - m);
                    dt.storeVec(T, E, L, o + i, r);
                }
                while (i < t.s) : (i += 1) {
                    var r = a[0] * one(u[i]) + k[0];
                    if (t.v) |vv| r += b[0] * (one(vv[off + i]) - m[0]);
                    dt.storeOne(T, E, &o[i], r);
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
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            var t = Channels(E).Sums{ .u = ptr(E, x, xoff), .v = null, .m = null, .out0 = ptr(T, mean, moff), .out1 = ptr(T, variance, voff), .n = n, .c = c, .s = s, .stats = true, .chunks = 0 };
            Channels(E).sums(&t);
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
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            var t = Channels(E).Sums{ .u = ptr(E, g, goff), .v = optPtr(E, x, xoff), .m = optPtr(T, m, moff), .out0 = ptr(T, sg, sgoff), .out1 = optPtr(T, sgx, sgxoff), .n = n, .c = c, .s = s, .stats = false, .chunks = 0 };
            Channels(E).sums(&t);
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
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const T = dt.Compute(E);
            var t = Channels(E).Affine{ .u = ptr(E, u, uoff), .v = optPtr(E, v, voff), .m = optPtr(T, m, moff), .a = ptr(T, a, aoff), .b = optPtr(T, b, boff), .k = optPtr(T, k, koff), .out = ptr(E, out, ooff), .n = n, .c = c, .s = s, .chunks = 0 };
            Channels(E).affine(&t);
        },
        else => return error.InvalidArgument,
    }
}

/// The plain loops the optimised kernels are tested against (f64 throughout).
/// `rms`: the RMS norm (mean written as 0).
pub fn layerNormReference(comptime T: type, x: []const T, w: ?[]const T, b: ?[]const T, y: []T, mean: []T, rstd: []T, d: usize, eps: f64, rms: bool) void {
    const rows = x.len / d;
    for (0..rows) |r| {
        var s: f64 = 0;
        for (0..d) |i| s += x[r * d + i];
        const mu = if (rms) 0 else s / @as(f64, @floatFromInt(d));
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

/// `rms`: the RMS norm's backward (mean unused).
pub fn layerNormBackwardReference(comptime T: type, g: []const T, x: []const T, mean: []const T, rstd: []const T, w: ?[]const T, dx: []T, dw: []T, db: []T, d: usize, rms: bool) void {
    const rows = x.len / d;
    const dwa = std.heap.page_allocator.alloc(f64, 2 * d) catch unreachable;
    defer std.heap.page_allocator.free(dwa);
    @memset(dwa, 0);
    for (0..rows) |r| {
        var t1: f64 = 0;
        var t2: f64 = 0;
        const mu: f64 = if (rms) 0 else mean[r];
        for (0..d) |i| {
            const xh = (@as(f64, x[r * d + i]) - mu) * rstd[r];
            const gw = @as(f64, g[r * d + i]) * (if (w) |ww| @as(f64, ww[i]) else 1);
            t1 += gw;
            t2 += gw * xh;
            dwa[i] += g[r * d + i] * xh;
            dwa[d + i] += g[r * d + i];
        }
        const fd: f64 = @floatFromInt(d);
        if (rms) t1 = 0;
        for (0..d) |i| {
            const xh = (@as(f64, x[r * d + i]) - mu) * rstd[r];
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
            for ([_]bool{ false, true }) |affine| for ([_]bool{ false, true }) |rms| {
                const wp: ?[*]u8 = if (affine) @ptrCast(w.ptr) else null;
                const bp: ?[*]u8 = if (affine) @ptrCast(b.ptr) else null;
                const mp: ?[*]u8 = if (rms) null else @ptrCast(mean.ptr);
                try layerNorm(D, @ptrCast(x.ptr), 0, wp, 0, bp, 0, @ptrCast(y.ptr), 0, mp, 0, @ptrCast(rstd.ptr), 0, rows, d, 1e-5);
                layerNormReference(T, x, if (affine) w else null, if (affine) b else null, y_ref, mean_ref, rstd_ref, d, 1e-5, rms);
                try std.testing.expect(maxRelDiff(T, y, y_ref) < tol);
                if (!rms) try std.testing.expect(maxRelDiff(T, mean, mean_ref) < tol);
                try std.testing.expect(maxRelDiff(T, rstd, rstd_ref) < tol);
                try layerNormBackward(D, @ptrCast(g.ptr), 0, @ptrCast(x.ptr), 0, mp, 0, @ptrCast(rstd.ptr), 0, wp, 0, @ptrCast(dx.ptr), 0, @ptrCast(dw.ptr), 0, @ptrCast(db.ptr), 0, rows, d);
                layerNormBackwardReference(T, g, x, mean, rstd, if (affine) w else null, dx_ref, dw_ref, db_ref, d, rms);
                const btol: f64 = if (T == f32) 1e-4 else 1e-10;
                try std.testing.expect(maxRelDiff(T, dx, dx_ref) < btol);
                try std.testing.expect(maxRelDiff(T, dw, dw_ref) < btol);
                try std.testing.expect(maxRelDiff(T, db, db_ref) < btol);
            };
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

/// Random values of E and the same values widened to f32.
fn halfPair(comptime E: type, alloc: std.mem.Allocator, rnd: std.Random, n: usize, scale: f64, shift: f64) !struct { []E, []f32 } {
    const h = try alloc.alloc(E, n);
    const f = try alloc.alloc(f32, n);
    for (h, f) |*p, *q| {
        dt.storeOne(f32, E, p, @floatCast(rnd.floatNorm(f64) * scale + shift));
        q.* = dt.loadOne(f32, E, p.*);
    }
    return .{ h, f };
}

/// Checks that each half result is the float32 kernel's result rounded to E.
fn expectRounded(comptime E: type, got: []const E, f: []const f32) !void {
    for (got, f, 0..) |h, v, i| {
        var want: E = undefined;
        dt.storeOne(f32, E, &want, v);
        if (dt.loadOne(f32, E, h) != dt.loadOne(f32, E, want)) {
            std.debug.print("at {d}: half {d}, float32 {d}\n", .{ i, dt.loadOne(f32, E, h), v });
            return error.TestUnexpectedResult;
        }
    }
}

test "half layer norm, RMS norm and channel kernels give the float32 kernels' results rounded once" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(11);
    const rnd = prng.random();
    pool.setNumThreads(3);
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const E = dt.Storage(D);
        for ([_][2]usize{ .{ 3, 5 }, .{ 33, 37 }, .{ 8, 768 } }) |sh| {
            const rows = sh[0];
            const d = sh[1];
            const x = try halfPair(E, alloc, rnd, rows * d, 3, 1);
            defer alloc.free(x[0]);
            defer alloc.free(x[1]);
            const g = try halfPair(E, alloc, rnd, rows * d, 1, 0);
            defer alloc.free(g[0]);
            defer alloc.free(g[1]);
            const w = try halfPair(E, alloc, rnd, d, 1, 0);
            defer alloc.free(w[0]);
            defer alloc.free(w[1]);
            const b = try halfPair(E, alloc, rnd, d, 1, 0);
            defer alloc.free(b[0]);
            defer alloc.free(b[1]);
            const yh = try alloc.alloc(E, 2 * rows * d + 2 * d);
            defer alloc.free(yh);
            const yf = try alloc.alloc(f32, 2 * rows * d + 2 * d + 4 * rows);
            defer alloc.free(yf);
            const stats = try alloc.alloc(f32, 4 * rows);
            defer alloc.free(stats);
            for ([_]bool{ false, true }) |rms| {
                const mh: ?[*]u8 = if (rms) null else @ptrCast(stats.ptr);
                const mf: ?[*]u8 = if (rms) null else @ptrCast(stats[2 * rows ..].ptr);
                try layerNorm(D, @ptrCast(x[0].ptr), 0, @ptrCast(w[0].ptr), 0, @ptrCast(b[0].ptr), 0, @ptrCast(yh.ptr), 0, mh, 0, @ptrCast(stats[rows..].ptr), 0, rows, d, 1e-5);
                try layerNorm(.float32, @ptrCast(x[1].ptr), 0, @ptrCast(w[1].ptr), 0, @ptrCast(b[1].ptr), 0, @ptrCast(yf.ptr), 0, mf, 0, @ptrCast(stats[3 * rows ..].ptr), 0, rows, d, 1e-5);
                try expectRounded(E, yh[0 .. rows * d], yf[0 .. rows * d]);
                try std.testing.expectEqualSlices(f32, stats[3 * rows .. 4 * rows], stats[rows .. 2 * rows]);
                // Backward from the half kernel's statistics (equal to float32's).
                const dxh = yh[rows * d ..];
                const dxf = yf[rows * d ..];
                try layerNormBackward(D, @ptrCast(g[0].ptr), 0, @ptrCast(x[0].ptr), 0, mh, 0, @ptrCast(stats[rows..].ptr), 0, @ptrCast(w[0].ptr), 0, @ptrCast(dxh.ptr), 0, @ptrCast(dxh[rows * d ..].ptr), 0, @ptrCast(dxh[rows * d + d ..].ptr), 0, rows, d);
                try layerNormBackward(.float32, @ptrCast(g[1].ptr), 0, @ptrCast(x[1].ptr), 0, mf, 0, @ptrCast(stats[3 * rows ..].ptr), 0, @ptrCast(w[1].ptr), 0, @ptrCast(dxf.ptr), 0, @ptrCast(dxf[rows * d ..].ptr), 0, @ptrCast(dxf[rows * d + d ..].ptr), 0, rows, d);
                try expectRounded(E, dxh[0 .. rows * d + 2 * d], dxf[0 .. rows * d + 2 * d]);
            }
        }
        // The channel kernels: x, g: [n, c, s]; statistics and terms in f32.
        const n = 3;
        const c = 4;
        const s = 37;
        const x = try halfPair(E, alloc, rnd, n * c * s, 2, 3);
        defer alloc.free(x[0]);
        defer alloc.free(x[1]);
        const g = try halfPair(E, alloc, rnd, n * c * s, 1, 0);
        defer alloc.free(g[0]);
        defer alloc.free(g[1]);
        var terms: [3 * c]f32 = undefined;
        for (&terms) |*t| t.* = @floatCast(rnd.floatNorm(f64));
        var sh_: [4 * c]f32 = undefined;
        var sf: [4 * c]f32 = undefined;
        try channelStats(D, @ptrCast(x[0].ptr), 0, @ptrCast(&sh_), 0, @ptrCast(sh_[c..].ptr), 0, n, c, s);
        try channelStats(.float32, @ptrCast(x[1].ptr), 0, @ptrCast(&sf), 0, @ptrCast(sf[c..].ptr), 0, n, c, s);
        try channelGradSums(D, @ptrCast(g[0].ptr), 0, @ptrCast(x[0].ptr), 0, @ptrCast(&sh_), 0, @ptrCast(sh_[2 * c ..].ptr), 0, @ptrCast(sh_[3 * c ..].ptr), 0, n, c, s);
        try channelGradSums(.float32, @ptrCast(g[1].ptr), 0, @ptrCast(x[1].ptr), 0, @ptrCast(&sf), 0, @ptrCast(sf[2 * c ..].ptr), 0, @ptrCast(sf[3 * c ..].ptr), 0, n, c, s);
        try std.testing.expectEqualSlices(f32, &sf, &sh_);
        const oh = try alloc.alloc(E, n * c * s);
        defer alloc.free(oh);
        const of = try alloc.alloc(f32, n * c * s);
        defer alloc.free(of);
        try channelAffine(D, @ptrCast(g[0].ptr), 0, @ptrCast(x[0].ptr), 0, @ptrCast(&sf), 0, @ptrCast(&terms), 0, @ptrCast(terms[c..].ptr), 0, @ptrCast(terms[2 * c ..].ptr), 0, @ptrCast(oh.ptr), 0, n, c, s);
        try channelAffine(.float32, @ptrCast(g[1].ptr), 0, @ptrCast(x[1].ptr), 0, @ptrCast(&sf), 0, @ptrCast(&terms), 0, @ptrCast(terms[c..].ptr), 0, @ptrCast(terms[2 * c ..].ptr), 0, @ptrCast(of.ptr), 0, n, c, s);
        try expectRounded(E, oh, of);
    }
}
