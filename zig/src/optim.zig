//! Fused optimizer updates: one pass over a parameter, its gradient and its
//! state buffers per step, in the parameter's dtype with scalars precomputed
//! in f64 (the order of operations follows PyTorch's single-tensor path).
//!
//! p, g, s1..s3: [n] contiguous. `h` holds the hyper-parameters; their
//! meaning per kind is documented on each kernel.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const DType = dt.DType;

pub const Error = error{InvalidArgument};

pub const Kind = enum(i32) {
    sgd = 0,
    adam = 1,
    rmsprop = 2,
    adagrad = 3,
    nadam = 4,
    radam = 5,
    adamax = 6,
    adadelta = 7,

    /// Kinds whose step reads and writes s1 and s2 (and only those).
    pub fn twoBuffers(k: Kind) bool {
        return @intFromEnum(k) >= @intFromEnum(Kind.nadam);
    }
};

/// Number of hyper-parameter slots each call passes.
pub const hyper_len = 12;

fn Args(comptime T: type) type {
    return struct { p: [*]T, g: [*]const T, s1: ?[*]T, s2: ?[*]T, s3: ?[*]T, h: [hyper_len]f64, n: usize, chunks: u32 };
}

/// SGD. h: lr, momentum, dampening, weight_decay, nesterov, maximize, first_step.
/// s1: momentum buffer (when momentum != 0).
fn sgd(comptime T: type, a: *const Args(T), lo: usize, hi: usize) void {
    const lr: T = @floatCast(a.h[0]);
    const momentum: T = @floatCast(a.h[1]);
    const damp: T = @floatCast(1 - a.h[2]);
    const wd: T = @floatCast(a.h[3]);
    const nesterov = a.h[4] != 0;
    const maximize = a.h[5] != 0;
    const first = a.h[6] != 0;
    for (lo..hi) |i| {
        var d = if (maximize) -a.g[i] else a.g[i];
        if (wd != 0) d += wd * a.p[i];
        if (momentum != 0) {
            const buf = a.s1.?;
            buf[i] = if (first) d else buf[i] * momentum + damp * d;
            d = if (nesterov) d + momentum * buf[i] else buf[i];
        }
        a.p[i] -= lr * d;
    }
}

/// Adam and AdamW over [lo, hi): whole vectors first (adamVector), then the
/// scalar reference loop for the tail.
fn adam(comptime T: type, a: *const Args(T), lo: usize, hi: usize) void {
    const decoupled = a.h[8] != 0;
    const has_wd = a.h[4] != 0;
    const amsgrad = a.h[6] != 0;
    // The flags pick one loop each at comptime: no branches per element.
    const done = switch (@as(u3, @intFromBool(decoupled)) << 2 | @as(u3, @intFromBool(has_wd)) << 1 | @intFromBool(amsgrad)) {
        inline else => |f| adamVector(T, f & 4 != 0, f & 2 != 0, f & 1 != 0, a, lo, hi),
    };
    adamScalar(T, a, done, hi);
}

/// The vector form of adamScalar, the same operations in the same order on
/// VL elements at a time. Returns where it stopped (the tail is the
/// caller's).
fn adamVector(comptime T: type, comptime decoupled: bool, comptime has_wd: bool, comptime amsgrad: bool, a: *const Args(T), lo: usize, hi: usize) usize {
    const VL = comptime std.simd.suggestVectorLength(T) orelse 4;
    const V = @Vector(VL, T);
    const b1: T = @floatCast(a.h[1]);
    const b2: T = @floatCast(a.h[2]);
    const eps: V = @splat(@as(T, @floatCast(a.h[3])));
    const wd: V = @splat(@as(T, @floatCast(a.h[4])));
    const t = a.h[5];
    const maximize = a.h[7] != 0;
    const bc1 = 1 - std.math.pow(f64, a.h[1], t);
    const bc2_sqrt: V = @splat(@as(T, @floatCast(@sqrt(1 - std.math.pow(f64, a.h[2], t)))));
    const step_size: V = @splat(@as(T, @floatCast(a.h[0] / bc1)));
    const decay: V = @splat(@as(T, @floatCast(1 - a.h[0] * a.h[4])));
    const one_b1: V = @splat(1 - b1);
    const one_b2: V = @splat(1 - b2);
    const b2v: V = @splat(b2);
    const m = a.s1.?;
    const v = a.s2.?;
    var i = lo;
    while (i + VL <= hi) : (i += VL) {
        var g: V = a.g[i..][0..VL].*;
        if (maximize) g = -g;
        var p: V = a.p[i..][0..VL].*;
        if (decoupled) {
            p *= decay;
        } else if (has_wd) g += wd * p;
        var mm: V = m[i..][0..VL].*;
        mm += (g - mm) * one_b1;
        m[i..][0..VL].* = mm;
        var vv: V = v[i..][0..VL].*;
        vv = vv * b2v + one_b2 * g * g;
        v[i..][0..VL].* = vv;
        if (amsgrad) {
            const vmax = a.s3.?;
            const mx = @max(@as(V, vmax[i..][0..VL].*), vv);
            vmax[i..][0..VL].* = mx;
            vv = mx;
        }
        const denom = @sqrt(vv) / bc2_sqrt + eps;
        p -= step_size * (mm / denom);
        a.p[i..][0..VL].* = p;
    }
    return i;
}

/// Adam and AdamW, the plain reference loop. h: lr, beta1, beta2, eps,
/// weight_decay, step, amsgrad, maximize, decoupled (AdamW). s1: exp_avg,
/// s2: exp_avg_sq, s3: max_exp_avg_sq.
fn adamScalar(comptime T: type, a: *const Args(T), lo: usize, hi: usize) void {
    const lr = a.h[0];
    const b1: T = @floatCast(a.h[1]);
    const b2: T = @floatCast(a.h[2]);
    const eps: T = @floatCast(a.h[3]);
    const wd: T = @floatCast(a.h[4]);
    const t = a.h[5];
    const amsgrad = a.h[6] != 0;
    const maximize = a.h[7] != 0;
    const decoupled = a.h[8] != 0;
    const bc1 = 1 - std.math.pow(f64, a.h[1], t);
    const bc2_sqrt: T = @floatCast(@sqrt(1 - std.math.pow(f64, a.h[2], t)));
    const step_size: T = @floatCast(lr / bc1);
    const decay: T = @floatCast(1 - lr * a.h[4]);
    const m = a.s1.?;
    const v = a.s2.?;
    for (lo..hi) |i| {
        var g = if (maximize) -a.g[i] else a.g[i];
        if (decoupled) {
            a.p[i] *= decay;
        } else if (wd != 0) g += wd * a.p[i];
        m[i] += (g - m[i]) * (1 - b1);
        v[i] = v[i] * b2 + (1 - b2) * g * g;
        var vv = v[i];
        if (amsgrad) {
            const vmax = a.s3.?;
            vmax[i] = @max(vmax[i], vv);
            vv = vmax[i];
        }
        const denom = @sqrt(vv) / bc2_sqrt + eps;
        a.p[i] -= step_size * (m[i] / denom);
    }
}

/// RMSprop. h: lr, alpha, eps, weight_decay, momentum, centered, maximize.
/// s1: square_avg, s2: momentum_buffer, s3: grad_avg.
fn rmsprop(comptime T: type, a: *const Args(T), lo: usize, hi: usize) void {
    const lr: T = @floatCast(a.h[0]);
    const alpha: T = @floatCast(a.h[1]);
    const eps: T = @floatCast(a.h[2]);
    const wd: T = @floatCast(a.h[3]);
    const momentum: T = @floatCast(a.h[4]);
    const centered = a.h[5] != 0;
    const maximize = a.h[6] != 0;
    const sq = a.s1.?;
    for (lo..hi) |i| {
        var g = if (maximize) -a.g[i] else a.g[i];
        if (wd != 0) g += wd * a.p[i];
        sq[i] = sq[i] * alpha + (1 - alpha) * g * g;
        var avg: T = undefined;
        if (centered) {
            const ga = a.s3.?;
            ga[i] += (g - ga[i]) * (1 - alpha);
            avg = @sqrt(sq[i] - ga[i] * ga[i]) + eps;
        } else avg = @sqrt(sq[i]) + eps;
        if (momentum > 0) {
            const buf = a.s2.?;
            buf[i] = buf[i] * momentum + g / avg;
            a.p[i] -= lr * buf[i];
        } else a.p[i] -= lr * (g / avg);
    }
}

/// Adagrad. h: lr, lr_decay, weight_decay, eps, step, maximize. s1: sum.
fn adagrad(comptime T: type, a: *const Args(T), lo: usize, hi: usize) void {
    const clr: T = @floatCast(a.h[0] / (1 + (a.h[4] - 1) * a.h[1]));
    const wd: T = @floatCast(a.h[2]);
    const eps: T = @floatCast(a.h[3]);
    const maximize = a.h[5] != 0;
    const sum = a.s1.?;
    for (lo..hi) |i| {
        var g = if (maximize) -a.g[i] else a.g[i];
        if (wd != 0) g += wd * a.p[i];
        sum[i] += g * g;
        a.p[i] -= clr * (g / (@sqrt(sum[i]) + eps));
    }
}

// The optimizers below keep their per-element step in one place, shared
// with the CUDA kernel (cuda/kernels.zig): the host (TypeScript) computes the
// per-step scalars in f64, as PyTorch does in Python, and `init` casts them.

/// torch.lerp's two forms: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w).
pub inline fn lerp(comptime T: type, a: T, b: T, w: T) T {
    return if (@abs(w) < 0.5) a + w * (b - a) else b - (b - a) * (1 - w);
}

/// NAdam. h: beta1, beta2, eps, weight_decay, decoupled, maximize, bias
/// correction 2, the gradient's coefficient -lr (1 - mu) / (1 - mu_prod),
/// exp_avg's -lr mu_next / (1 - mu_prod_next), 1 - lr weight_decay.
/// s1: exp_avg, s2: exp_avg_sq.
pub fn Nadam(comptime T: type) type {
    return struct {
        b1: T,
        b2: T,
        eps: T,
        wd: T,
        decoupled: bool,
        maximize: bool,
        bc2: T,
        c_grad: T,
        c_avg: T,
        decay: T,
        pub fn init(h: []const f64) @This() {
            return .{ .b1 = @floatCast(h[0]), .b2 = @floatCast(h[1]), .eps = @floatCast(h[2]), .wd = @floatCast(h[3]), .decoupled = h[4] != 0, .maximize = h[5] != 0, .bc2 = @floatCast(h[6]), .c_grad = @floatCast(h[7]), .c_avg = @floatCast(h[8]), .decay = @floatCast(h[9]) };
        }
        /// The new (param, exp_avg, exp_avg_sq).
        pub inline fn apply(s: @This(), p0: T, g0: T, m0: T, v0: T) [3]T {
            var p = p0;
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) {
                if (s.decoupled) p *= s.decay else g += s.wd * p;
            }
            const m = lerp(T, m0, g, 1 - s.b1);
            const v = v0 * s.b2 + (1 - s.b2) * g * g;
            const denom = @sqrt(v / s.bc2) + s.eps;
            p += s.c_grad * (g / denom);
            p += s.c_avg * (m / denom);
            return .{ p, m, v };
        }
    };
}

/// RAdam. h: beta1, beta2, eps, weight_decay, decoupled, maximize, lr, bias
/// correction 1, sqrt(bias correction 2), the rectification term (0: the
/// variance is not yet tractable, plain momentum step), 1 - lr weight_decay.
/// s1: exp_avg, s2: exp_avg_sq.
pub fn Radam(comptime T: type) type {
    return struct {
        b1: T,
        b2: T,
        eps: T,
        wd: T,
        decoupled: bool,
        maximize: bool,
        lr: T,
        bc1: T,
        bc2_sqrt: T,
        rect: T,
        decay: T,
        pub fn init(h: []const f64) @This() {
            return .{ .b1 = @floatCast(h[0]), .b2 = @floatCast(h[1]), .eps = @floatCast(h[2]), .wd = @floatCast(h[3]), .decoupled = h[4] != 0, .maximize = h[5] != 0, .lr = @floatCast(h[6]), .bc1 = @floatCast(h[7]), .bc2_sqrt = @floatCast(h[8]), .rect = @floatCast(h[9]), .decay = @floatCast(h[10]) };
        }
        /// The new (param, exp_avg, exp_avg_sq).
        pub inline fn apply(s: @This(), p0: T, g0: T, m0: T, v0: T) [3]T {
            var p = p0;
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) {
                if (s.decoupled) p *= s.decay else g += s.wd * p;
            }
            const m = lerp(T, m0, g, 1 - s.b1);
            const v = v0 * s.b2 + (1 - s.b2) * g * g;
            const corrected = m / s.bc1;
            if (s.rect != 0) {
                const adaptive = s.bc2_sqrt / (@sqrt(v) + s.eps);
                p += -(corrected * s.lr * adaptive * s.rect);
            } else p += -(corrected * s.lr);
            return .{ p, m, v };
        }
    };
}

/// Adamax. h: beta1, beta2, eps, weight_decay, maximize, lr / bias
/// correction 1. s1: exp_avg, s2: exp_inf.
pub fn Adamax(comptime T: type) type {
    return struct {
        b1: T,
        b2: T,
        eps: T,
        wd: T,
        maximize: bool,
        clr: T,
        pub fn init(h: []const f64) @This() {
            return .{ .b1 = @floatCast(h[0]), .b2 = @floatCast(h[1]), .eps = @floatCast(h[2]), .wd = @floatCast(h[3]), .maximize = h[4] != 0, .clr = @floatCast(h[5]) };
        }
        /// The new (param, exp_avg, exp_inf).
        pub inline fn apply(s: @This(), p0: T, g0: T, m0: T, inf0: T) [3]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p0;
            const m = lerp(T, m0, g, 1 - s.b1);
            // torch.maximum: NaN from either side propagates.
            const a = inf0 * s.b2;
            const b = @abs(g) + s.eps;
            const u = if (a != a or b != b) a + b else @max(a, b);
            return .{ p0 + -s.clr * (m / u), m, u };
        }
    };
}

/// Adadelta. h: rho, eps, weight_decay, maximize, lr. s1: square_avg,
/// s2: acc_delta.
pub fn Adadelta(comptime T: type) type {
    return struct {
        rho: T,
        eps: T,
        wd: T,
        maximize: bool,
        lr: T,
        pub fn init(h: []const f64) @This() {
            return .{ .rho = @floatCast(h[0]), .eps = @floatCast(h[1]), .wd = @floatCast(h[2]), .maximize = h[3] != 0, .lr = @floatCast(h[4]) };
        }
        /// The new (param, square_avg, acc_delta).
        pub inline fn apply(s: @This(), p0: T, g0: T, sq0: T, acc0: T) [3]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p0;
            const sq = sq0 * s.rho + (1 - s.rho) * g * g;
            const std_ = @sqrt(sq + s.eps);
            const delta = @sqrt(acc0 + s.eps) / std_ * g;
            const acc = acc0 * s.rho + (1 - s.rho) * delta * delta;
            return .{ p0 + -s.lr * delta, sq, acc };
        }
    };
}

/// The loop of the two-buffer optimizers above over [lo, hi).
fn twoBuffer(comptime T: type, comptime S: type, a: *const Args(T), lo: usize, hi: usize) void {
    const s = S.init(&a.h);
    const s1 = a.s1.?;
    const s2 = a.s2.?;
    for (lo..hi) |i| {
        const r = s.apply(a.p[i], a.g[i], s1[i], s2[i]);
        a.p[i] = r[0];
        s1[i] = r[1];
        s2[i] = r[2];
    }
}

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

fn optPtr(comptime T: type, base: ?[*]u8, off: i64) ?[*]T {
    return if (base) |b| ptr(T, b, off) else null;
}

/// One fused step. States a kind needs must be present (checked here too).
pub fn step(kind: Kind, dtype: DType, p: [*]u8, poff: i64, g: [*]u8, goff: i64, s1: ?[*]u8, s1off: i64, s2: ?[*]u8, s2off: i64, s3: ?[*]u8, s3off: i64, n: usize, h: [hyper_len]f64) Error!void {
    const needs_s1 = switch (kind) {
        .sgd => h[1] != 0,
        else => true,
    };
    if (needs_s1 and s1 == null) return error.InvalidArgument;
    if (kind == .adam and (s2 == null or (h[6] != 0 and s3 == null))) return error.InvalidArgument;
    if (kind == .rmsprop and ((h[4] > 0 and s2 == null) or (h[5] != 0 and s3 == null))) return error.InvalidArgument;
    if (kind.twoBuffers() and s2 == null) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            const chunks = pool.chunkCount(n, 1 << 14);
            const args = Args(T){
                .p = ptr(T, p, poff),
                .g = ptr(T, g, goff),
                .s1 = optPtr(T, s1, s1off),
                .s2 = optPtr(T, s2, s2off),
                .s3 = optPtr(T, s3, s3off),
                .h = h,
                .n = n,
                .chunks = chunks,
            };
            switch (kind) {
                inline else => |K| pool.run(chunks, &args, struct {
                    fn f(c: *const Args(T), chunk: u32) void {
                        const r = pool.chunkRange(c.n, c.chunks, chunk);
                        switch (K) {
                            .sgd => sgd(T, c, r[0], r[1]),
                            .adam => adam(T, c, r[0], r[1]),
                            .rmsprop => rmsprop(T, c, r[0], r[1]),
                            .adagrad => adagrad(T, c, r[0], r[1]),
                            .nadam => twoBuffer(T, Nadam(T), c, r[0], r[1]),
                            .radam => twoBuffer(T, Radam(T), c, r[0], r[1]),
                            .adamax => twoBuffer(T, Adamax(T), c, r[0], r[1]),
                            .adadelta => twoBuffer(T, Adadelta(T), c, r[0], r[1]),
                        }
                    }
                }.f),
            }
        },
        else => return error.InvalidArgument,
    }
}

test "vector Adam matches the scalar reference loop bit for bit" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const rnd = prng.random();
    inline for (.{ f32, f64 }) |T| {
        const n: usize = 103; // whole vectors and a tail
        var bufs: [2][5][]T = undefined;
        for (&bufs) |*set| for (set) |*b| {
            b.* = try alloc.alloc(T, n);
        };
        defer for (bufs) |set| for (set) |b| alloc.free(b);
        for (0..16) |flags| {
            for (0..n) |i| {
                const vals = [5]T{ rnd.float(T) * 2 - 1, rnd.float(T) * 2 - 1, rnd.float(T) * 0.1, rnd.float(T) * 0.01, rnd.float(T) * 0.02 };
                for (0..5) |k| {
                    bufs[0][k][i] = vals[k];
                    bufs[1][k][i] = vals[k];
                }
            }
            var h: [hyper_len]f64 = @splat(0);
            h[0] = 1e-3;
            h[1] = 0.9;
            h[2] = 0.999;
            h[3] = 1e-8;
            h[4] = if (flags & 1 != 0) 0.01 else 0;
            h[5] = 3;
            h[6] = @floatFromInt(flags >> 1 & 1);
            h[7] = @floatFromInt(flags >> 2 & 1);
            h[8] = @floatFromInt(flags >> 3 & 1);
            var args: [2]Args(T) = undefined;
            for (0..2) |s| args[s] = .{ .p = bufs[s][0].ptr, .g = bufs[s][1].ptr, .s1 = bufs[s][2].ptr, .s2 = bufs[s][3].ptr, .s3 = bufs[s][4].ptr, .h = h, .n = n, .chunks = 1 };
            adam(T, &args[0], 0, n);
            adamScalar(T, &args[1], 0, n);
            for (0..5) |k| try std.testing.expectEqualSlices(T, bufs[1][k], bufs[0][k]);
        }
    }
}
