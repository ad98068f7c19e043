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
        return @backingInt(k) >= @backingInt(Kind.nadam);
    }
};

/// Number of hyper-parameter slots each call passes.
pub const hyper_len = 12;
/// Slots with the per-step scalars `derive` adds (12..15).
pub const derived_len = 16;

/// The per-step scalars some kinds take from slots 12..15, computed on the
/// host in f64 (the device has no pow): shared by the CPU step and the CUDA
/// launcher, so both see the same values.
pub fn derive(kind: Kind, h: *[derived_len]f64) void {
    switch (kind) {
        .adam => {
            const t = h[5];
            h[12] = @sqrt(1 - std.math.pow(f64, h[2], t));
            h[13] = h[0] / (1 - std.math.pow(f64, h[1], t));
            h[14] = 1 - h[0] * h[4];
        },
        .adagrad => h[12] = h[0] / (1 + (h[4] - 1) * h[1]),
        else => {},
    }
}

/// Whether the step of `kind` with hyper-parameters `h` reads s1, s2, s3.
pub fn statesUsed(kind: Kind, h: []const f64) [3]bool {
    return switch (kind) {
        .sgd => .{ h[1] != 0, false, false },
        .adam => .{ true, true, h[6] != 0 },
        .rmsprop => .{ true, h[4] > 0, h[5] != 0 },
        .adagrad => .{ true, false, false },
        .nadam, .radam, .adamax, .adadelta => .{ true, true, false },
    };
}

// Each kind's step on one element, as values: (param, s1, s2, s3) in, the
// same out (states a kind does not use pass through). The CPU loops and the
// CUDA kernel (cuda/kernels.zig) both call these; `init` casts the host's
// f64 scalars once.

/// torch.lerp's two forms: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w).
pub inline fn lerp(comptime T: type, a: T, b: T, w: T) T {
    return if (@abs(w) < 0.5) a + w * (b - a) else b - (b - a) * (1 - w);
}

/// SGD. h: lr, momentum, dampening, weight_decay, nesterov, maximize,
/// first_step. s1: momentum buffer (when momentum != 0).
pub fn Sgd(comptime T: type) type {
    return struct {
        lr: T,
        momentum: T,
        damp: T,
        wd: T,
        nesterov: bool,
        maximize: bool,
        first: bool,
        pub fn init(h: []const f64) @This() {
            return .{ .lr = @floatCast(h[0]), .momentum = @floatCast(h[1]), .damp = @floatCast(1 - h[2]), .wd = @floatCast(h[3]), .nesterov = h[4] != 0, .maximize = h[5] != 0, .first = h[6] != 0 };
        }
        pub inline fn apply(s: @This(), p: T, g: T, st: [3]T) [4]T {
            var d = if (s.maximize) -g else g;
            if (s.wd != 0) d += s.wd * p;
            var buf = st[0];
            if (s.momentum != 0) {
                buf = if (s.first) d else buf * s.momentum + s.damp * d;
                d = if (s.nesterov) d + s.momentum * buf else buf;
            }
            return .{ p - s.lr * d, buf, st[1], st[2] };
        }
    };
}

/// Adam and AdamW. h: lr, beta1, beta2, eps, weight_decay, step, amsgrad,
/// maximize, decoupled (AdamW); derived: sqrt(bias correction 2),
/// lr / bias correction 1, 1 - lr weight_decay. s1: exp_avg, s2: exp_avg_sq,
/// s3: max_exp_avg_sq.
pub fn Adam(comptime T: type) type {
    return struct {
        b1: T,
        b2: T,
        eps: T,
        wd: T,
        amsgrad: bool,
        maximize: bool,
        decoupled: bool,
        bc2_sqrt: T,
        step_size: T,
        decay: T,
        pub fn init(h: []const f64) @This() {
            return .{ .b1 = @floatCast(h[1]), .b2 = @floatCast(h[2]), .eps = @floatCast(h[3]), .wd = @floatCast(h[4]), .amsgrad = h[6] != 0, .maximize = h[7] != 0, .decoupled = h[8] != 0, .bc2_sqrt = @floatCast(h[12]), .step_size = @floatCast(h[13]), .decay = @floatCast(h[14]) };
        }
        pub inline fn apply(s: @This(), p0: T, g0: T, st: [3]T) [4]T {
            var p = p0;
            var g = if (s.maximize) -g0 else g0;
            if (s.decoupled) {
                p *= s.decay;
            } else if (s.wd != 0) g += s.wd * p;
            const m = st[0] + (g - st[0]) * (1 - s.b1);
            const v = st[1] * s.b2 + (1 - s.b2) * g * g;
            var vv = v;
            var vmax = st[2];
            if (s.amsgrad) {
                vmax = @max(vmax, v);
                vv = vmax;
            }
            const denom = @sqrt(vv) / s.bc2_sqrt + s.eps;
            return .{ p - s.step_size * (m / denom), m, v, vmax };
        }
    };
}

/// RMSprop. h: lr, alpha, eps, weight_decay, momentum, centered, maximize.
/// s1: square_avg, s2: momentum_buffer, s3: grad_avg.
pub fn Rmsprop(comptime T: type) type {
    return struct {
        lr: T,
        alpha: T,
        eps: T,
        wd: T,
        momentum: T,
        centered: bool,
        maximize: bool,
        pub fn init(h: []const f64) @This() {
            return .{ .lr = @floatCast(h[0]), .alpha = @floatCast(h[1]), .eps = @floatCast(h[2]), .wd = @floatCast(h[3]), .momentum = @floatCast(h[4]), .centered = h[5] != 0, .maximize = h[6] != 0 };
        }
        pub inline fn apply(s: @This(), p: T, g0: T, st: [3]T) [4]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p;
            const sq = st[0] * s.alpha + (1 - s.alpha) * g * g;
            var ga = st[2];
            var avg: T = undefined;
            if (s.centered) {
                ga += (g - ga) * (1 - s.alpha);
                avg = @sqrt(sq - ga * ga) + s.eps;
            } else avg = @sqrt(sq) + s.eps;
            if (s.momentum > 0) {
                const buf = st[1] * s.momentum + g / avg;
                return .{ p - s.lr * buf, sq, buf, ga };
            }
            return .{ p - s.lr * (g / avg), sq, st[1], ga };
        }
    };
}

/// Adagrad. h: lr, lr_decay, weight_decay, eps, step, maximize; derived: the
/// decayed lr. s1: sum.
pub fn Adagrad(comptime T: type) type {
    return struct {
        clr: T,
        wd: T,
        eps: T,
        maximize: bool,
        pub fn init(h: []const f64) @This() {
            return .{ .clr = @floatCast(h[12]), .wd = @floatCast(h[2]), .eps = @floatCast(h[3]), .maximize = h[5] != 0 };
        }
        pub inline fn apply(s: @This(), p: T, g0: T, st: [3]T) [4]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p;
            const sum = st[0] + g * g;
            return .{ p - s.clr * (g / (@sqrt(sum) + s.eps)), sum, st[1], st[2] };
        }
    };
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
        pub inline fn apply(s: @This(), p0: T, g0: T, st: [3]T) [4]T {
            var p = p0;
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) {
                if (s.decoupled) p *= s.decay else g += s.wd * p;
            }
            const m = lerp(T, st[0], g, 1 - s.b1);
            const v = st[1] * s.b2 + (1 - s.b2) * g * g;
            const denom = @sqrt(v / s.bc2) + s.eps;
            p += s.c_grad * (g / denom);
            p += s.c_avg * (m / denom);
            return .{ p, m, v, st[2] };
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
        pub inline fn apply(s: @This(), p0: T, g0: T, st: [3]T) [4]T {
            var p = p0;
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) {
                if (s.decoupled) p *= s.decay else g += s.wd * p;
            }
            const m = lerp(T, st[0], g, 1 - s.b1);
            const v = st[1] * s.b2 + (1 - s.b2) * g * g;
            const corrected = m / s.bc1;
            if (s.rect != 0) {
                const adaptive = s.bc2_sqrt / (@sqrt(v) + s.eps);
                p += -(corrected * s.lr * adaptive * s.rect);
            } else p += -(corrected * s.lr);
            return .{ p, m, v, st[2] };
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
        pub inline fn apply(s: @This(), p: T, g0: T, st: [3]T) [4]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p;
            const m = lerp(T, st[0], g, 1 - s.b1);
            // torch.maximum: NaN from either side propagates.
            const a = st[1] * s.b2;
            const b = @abs(g) + s.eps;
            const u = if (a != a or b != b) a + b else @max(a, b);
            return .{ p + -s.clr * (m / u), m, u, st[2] };
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
        pub inline fn apply(s: @This(), p: T, g0: T, st: [3]T) [4]T {
            var g = if (s.maximize) -g0 else g0;
            if (s.wd != 0) g += s.wd * p;
            const sq = st[0] * s.rho + (1 - s.rho) * g * g;
            const std_ = @sqrt(sq + s.eps);
            const delta = @sqrt(st[1] + s.eps) / std_ * g;
            const acc = st[1] * s.rho + (1 - s.rho) * delta * delta;
            return .{ p + -s.lr * delta, sq, acc, st[2] };
        }
    };
}

/// The element step of `kind` for compute type T.
pub fn StepOf(comptime kind: Kind, comptime T: type) type {
    return switch (kind) {
        .sgd => Sgd(T),
        .adam => Adam(T),
        .rmsprop => Rmsprop(T),
        .adagrad => Adagrad(T),
        .nadam => Nadam(T),
        .radam => Radam(T),
        .adamax => Adamax(T),
        .adadelta => Adadelta(T),
    };
}

/// The operands of one step: the parameter and gradient in storage type P
/// (a half type computes in f32), the states in the compute type C.
fn Args(comptime P: type, comptime C: type) type {
    return struct { p: [*]P, g: [*]const P, s: [3]?[*]C, h: [derived_len]f64, n: usize, chunks: u32 };
}

/// The plain element loop over [lo, hi): the reference path, and the only one
/// for every kind but Adam (whose vector loop is below).
fn elementLoop(comptime D: DType, comptime kind: Kind, a: *const Args(dt.Storage(D), Compute(D)), lo: usize, hi: usize) void {
    const C = Compute(D);
    const s = StepOf(kind, C).init(&a.h);
    const used = statesUsed(kind, &a.h);
    for (lo..hi) |i| {
        var st: [3]C = @splat(0);
        inline for (0..3) |k| {
            if (used[k]) st[k] = a.s[k].?[i];
        }
        const r = s.apply(dt.convert(cd(D), D, a.p[i]), dt.convert(cd(D), D, a.g[i]), st);
        a.p[i] = dt.convert(D, cd(D), r[0]);
        inline for (0..3) |k| {
            if (used[k]) a.s[k].?[i] = r[k + 1];
        }
    }
}

/// The compute dtype of a parameter dtype: half types step in f32.
fn cd(comptime D: DType) DType {
    return if (D == .float64) .float64 else .float32;
}
fn Compute(comptime D: DType) type {
    return dt.Storage(cd(D));
}

/// Adam over [lo, hi): whole vectors first (adamVector, f32 and f64), then
/// the element loop for the tail.
fn adam(comptime D: DType, a: *const Args(dt.Storage(D), Compute(D)), lo: usize, hi: usize) void {
    if (comptime D != .float32 and D != .float64) return elementLoop(D, .adam, a, lo, hi);
    const decoupled = a.h[8] != 0;
    const has_wd = a.h[4] != 0;
    const amsgrad = a.h[6] != 0;
    // The flags pick one loop each at comptime: no branches per element.
    const done = switch (@as(u3, @intFromBool(decoupled)) << 2 | @as(u3, @intFromBool(has_wd)) << 1 | @intFromBool(amsgrad)) {
        inline else => |f| adamVector(dt.Storage(D), f & 4 != 0, f & 2 != 0, f & 1 != 0, a, lo, hi),
    };
    elementLoop(D, .adam, a, done, hi);
}

/// The vector form of Adam(T).apply, the same operations in the same order on
/// VL elements at a time. Returns where it stopped (the tail is the
/// caller's).
fn adamVector(comptime T: type, comptime decoupled: bool, comptime has_wd: bool, comptime amsgrad: bool, a: *const Args(T, T), lo: usize, hi: usize) usize {
    const VL = comptime std.simd.suggestVectorLength(T) orelse 4;
    const V = @Vector(VL, T);
    const b1: T = @floatCast(a.h[1]);
    const b2: T = @floatCast(a.h[2]);
    const eps: V = @splat(@as(T, @floatCast(a.h[3])));
    const wd: V = @splat(@as(T, @floatCast(a.h[4])));
    const maximize = a.h[7] != 0;
    const bc2_sqrt: V = @splat(@as(T, @floatCast(a.h[12])));
    const step_size: V = @splat(@as(T, @floatCast(a.h[13])));
    const decay: V = @splat(@as(T, @floatCast(a.h[14])));
    const one_b1: V = @splat(1 - b1);
    const one_b2: V = @splat(1 - b2);
    const b2v: V = @splat(b2);
    const m = a.s[0].?;
    const v = a.s[1].?;
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
            const vmax = a.s[2].?;
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

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

fn optPtr(comptime T: type, base: ?[*]u8, off: i64) ?[*]T {
    return if (base) |b| ptr(T, b, off) else null;
}

/// One fused step. States a kind needs must be present (checked here too).
/// float16 and bfloat16 parameters step in f32 (each element converted in
/// registers) with f32 states.
pub fn step(kind: Kind, dtype: DType, p: [*]u8, poff: i64, g: [*]u8, goff: i64, s1: ?[*]u8, s1off: i64, s2: ?[*]u8, s2off: i64, s3: ?[*]u8, s3off: i64, n: usize, hyper: [hyper_len]f64) Error!void {
    var h: [derived_len]f64 = @splat(0);
    @memcpy(h[0..hyper_len], &hyper);
    derive(kind, &h);
    const used = statesUsed(kind, &h);
    const given = [3]bool{ s1 != null, s2 != null, s3 != null };
    for (used, given) |u, gv| if (u and !gv) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const P = dt.Storage(D);
            const C = Compute(D);
            const chunks = pool.chunkCount(n, 1 << 14);
            const args = Args(P, C){
                .p = ptr(P, p, poff),
                .g = ptr(P, g, goff),
                .s = .{ optPtr(C, s1, s1off), optPtr(C, s2, s2off), optPtr(C, s3, s3off) },
                .h = h,
                .n = n,
                .chunks = chunks,
            };
            switch (kind) {
                inline else => |K| pool.run(chunks, &args, struct {
                    fn f(c: *const Args(P, C), chunk: u32) void {
                        const r = pool.chunkRange(c.n, c.chunks, chunk);
                        if (K == .adam) adam(D, c, r[0], r[1]) else elementLoop(D, K, c, r[0], r[1]);
                    }
                }.f),
            }
        },
        else => return error.InvalidArgument,
    }
}

test "vector Adam matches the element loop bit for bit" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const rnd = prng.random();
    inline for (.{ DType.float32, DType.float64 }) |D| {
        const T = dt.Storage(D);
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
            var h: [derived_len]f64 = @splat(0);
            h[0] = 1e-3;
            h[1] = 0.9;
            h[2] = 0.999;
            h[3] = 1e-8;
            h[4] = if (flags & 1 != 0) 0.01 else 0;
            h[5] = 3;
            h[6] = @floatFromInt(flags >> 1 & 1);
            h[7] = @floatFromInt(flags >> 2 & 1);
            h[8] = @floatFromInt(flags >> 3 & 1);
            derive(.adam, &h);
            var args: [2]Args(T, T) = undefined;
            for (0..2) |s| args[s] = .{ .p = bufs[s][0].ptr, .g = bufs[s][1].ptr, .s = .{ bufs[s][2].ptr, bufs[s][3].ptr, bufs[s][4].ptr }, .h = h, .n = n, .chunks = 1 };
            adam(D, &args[0], 0, n);
            elementLoop(D, .adam, &args[1], 0, n);
            for (0..5) |k| try std.testing.expectEqualSlices(T, bufs[1][k], bufs[0][k]);
        }
    }
}

test "half-precision parameters step in f32 and round once" {
    // SGD with momentum on bfloat16: the f32 step, then one rounding.
    const p = [_]dt.BF16{ dt.f32ToBf16(1.0), dt.f32ToBf16(-0.5) };
    var pv = p;
    const g = [_]dt.BF16{ dt.f32ToBf16(0.25), dt.f32ToBf16(2.0) };
    var buf = [_]f32{ 0.1, -0.2 };
    var h: [hyper_len]f64 = @splat(0);
    h[0] = 0.1;
    h[1] = 0.9;
    try step(.sgd, .bfloat16, @ptrCast(&pv), 0, @ptrCast(@constCast(&g)), 0, @ptrCast(&buf), 0, null, 0, null, 0, 2, h);
    const want_buf = [_]f32{ 0.1 * 0.9 + 0.25, -0.2 * 0.9 + 2.0 };
    try std.testing.expectEqualSlices(f32, &want_buf, &buf);
    try std.testing.expectEqual(dt.f32ToBf16(1.0 - 0.1 * want_buf[0]), pv[0]);
    try std.testing.expectEqual(dt.f32ToBf16(-0.5 - 0.1 * want_buf[1]), pv[1]);
}
