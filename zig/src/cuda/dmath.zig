//! Scalar math for the device kernels: no libcalls exist on nvptx, so every
//! function is plain Zig. float32 results are computed in float64 and rounded
//! once (within 1 ulp of the correctly rounded result); float64 uses the same
//! algorithms as the CPU side: vmath.zig's exp/log/tanh (1-2 ulp), fdlibm/musl
//! erf, sin/cos/tan (compiler_rt's fdlibm port in libm/), std.math's expm1,
//! log1p and atan2, an exact fmod, and a pow after Go's (a few ulp).
//! The host unit tests below compare every function with the C library.
const std = @import("std");
const builtin = @import("builtin");
const vm = @import("../vmath.zig");
const trig = @import("libm/trig.zig");
const rem_pio2 = @import("libm/rem_pio2.zig").rem_pio2;

const is_ptx = builtin.cpu.arch == .nvptx64 or builtin.cpu.arch == .nvptx;

inline fn v1(x: f64) @Vector(1, f64) {
    return @splat(x);
}

pub inline fn exp(x: f64) f64 {
    return vm.exp(f64, 1, v1(x))[0];
}
pub inline fn log(x: f64) f64 {
    return vm.log(f64, 1, v1(x))[0];
}
pub inline fn tanh(x: f64) f64 {
    return vm.tanh(f64, 1, v1(x))[0];
}
pub inline fn expf(x: f32) f32 {
    return vm.exp(f32, 1, @as(@Vector(1, f32), @splat(x)))[0];
}
pub inline fn logf(x: f32) f32 {
    return vm.log(f32, 1, @as(@Vector(1, f32), @splat(x)))[0];
}
pub inline fn tanhf(x: f32) f32 {
    return vm.tanh(f32, 1, @as(@Vector(1, f32), @splat(x)))[0];
}
pub noinline fn expm1(x: f64) f64 {
    return std.math.expm1(x);
}
pub noinline fn log1p(x: f64) f64 {
    return std.math.log1p(x);
}
pub noinline fn atan2(y: f64, x: f64) f64 {
    return std.math.atan2(y, x);
}
// std.math's asin, acos, atan and atanh are fdlibm's, on arithmetic, @sqrt
// and log1p only; its sinh, cosh, asinh and acosh call the exp and log
// builtins, which have no device library, so they are written out below.
pub noinline fn asin(x: f64) f64 {
    return std.math.asin(x);
}
pub noinline fn acos(x: f64) f64 {
    return std.math.acos(x);
}
pub noinline fn atan(x: f64) f64 {
    return std.math.atan(x);
}
pub noinline fn atanh(x: f64) f64 {
    return std.math.atanh(x);
}

/// musl's sinh: through expm1 below the overflow threshold, exp(|x|/2)^2 past it.
pub noinline fn sinh(x: f64) f64 {
    const h: f64 = if (x < 0) -0.5 else 0.5;
    const ax = @abs(x);
    if (ax < 709.7822265625) {
        const t = std.math.expm1(ax);
        if (ax < 1) {
            if (ax < 0x1p-26) return x;
            return h * (2 * t - t * t / (t + 1));
        }
        return h * (t + t / (t + 1));
    }
    if (ax != ax) return x;
    const e = exp(0.5 * ax);
    return (2 * h * e) * e;
}

/// musl's cosh: 1 + expm1 terms near 0, (e + 1/e) / 2 beyond, exp(|x|/2)^2 past overflow.
pub noinline fn cosh(x: f64) f64 {
    const ax = @abs(x);
    if (ax < std.math.ln2) {
        if (ax < 0x1p-26) return 1;
        const t = std.math.expm1(ax);
        return 1 + t * t / (2 * (1 + t));
    }
    if (ax < 709.7822265625) {
        const t = exp(ax);
        return 0.5 * (t + 1 / t);
    }
    if (ax != ax) return ax;
    const e = exp(0.5 * ax);
    return (0.5 * e) * e;
}

/// musl's asinh, with vmath's log.
pub noinline fn asinh(x: f64) f64 {
    const ax = @abs(x);
    var r: f64 = undefined;
    if (ax >= 0x1p26) {
        r = log(ax) + std.math.ln2; // also inf and NaN
    } else if (ax >= 2) {
        r = log(2 * ax + 1 / (@sqrt(ax * ax + 1) + ax));
    } else if (ax >= 0x1p-26) {
        r = std.math.log1p(ax + ax * ax / (@sqrt(ax * ax + 1) + 1));
    } else return x;
    return if (x < 0) -r else r;
}

/// musl's acosh, with vmath's log; NaN below 1.
pub noinline fn acosh(x: f64) f64 {
    if (x != x or x < 1) return std.math.nan(f64);
    if (x < 2) return std.math.log1p(x - 1 + @sqrt((x - 1) * (x - 1) + 2 * (x - 1)));
    if (x < 0x1p26) return log(2 * x - 1 / (x + @sqrt(x * x - 1)));
    return log(x) + std.math.ln2;
}

/// Round half to even.
pub inline fn roundEven(comptime T: type, x: T) T {
    if (is_ptx) {
        return if (T == f32)
            asm ("cvt.rni.f32.f32 %[r], %[x];"
                : [r] "=f" (-> f32),
                : [x] "f" (x),
            )
        else
            asm ("cvt.rni.f64.f64 %[r], %[x];"
                : [r] "=d" (-> f64),
                : [x] "d" (x),
            );
    }
    // Host (tests): adding and subtracting 2^52 rounds to even.
    const big: T = if (T == f32) 0x1p23 else 0x1p52;
    if (!(@abs(x) < big)) return x;
    const r = (@abs(x) + big) - big;
    return std.math.copysign(r, x);
}

/// 2^x: exact powers for integers, exp of a small fraction otherwise.
pub noinline fn exp2(x: f64) f64 {
    if (x != x) return x;
    if (x >= 1024) return std.math.inf(f64);
    if (x < -1080) return 0;
    const n = roundEven(f64, x);
    const f = x - n; // exact, |f| <= 0.5
    const e = exp(f * std.math.ln2);
    return std.math.scalbn(e, @as(i32, @intFromFloat(n)));
}

/// log2 through frexp, so that powers of two are exact.
pub noinline fn log2(x: f64) f64 {
    if (!(x > 0) or x == std.math.inf(f64)) return log(x) * std.math.log2e;
    const fr = std.math.frexp(x); // x = m 2^e, m in [0.5, 1)
    var m = fr.significand;
    var e: f64 = @floatFromInt(fr.exponent);
    if (m < std.math.sqrt1_2) {
        m *= 2;
        e -= 1;
    }
    if (m == 1) return e;
    return e + log(m) * std.math.log2e;
}

pub noinline fn sin(x: f64) f64 {
    var ix = @as(u64, @bitCast(x)) >> 32;
    ix &= 0x7fffffff;
    if (ix <= 0x3fe921fb) {
        if (ix < 0x3e500000) return x;
        return trig.sin(x, 0.0, 0);
    }
    if (ix >= 0x7ff00000) return x - x;
    var y: [2]f64 = undefined;
    const n = rem_pio2(x, &y);
    return switch (n & 3) {
        0 => trig.sin(y[0], y[1], 1),
        1 => trig.cos(y[0], y[1]),
        2 => -trig.sin(y[0], y[1], 1),
        else => -trig.cos(y[0], y[1]),
    };
}

pub noinline fn cos(x: f64) f64 {
    var ix = @as(u64, @bitCast(x)) >> 32;
    ix &= 0x7fffffff;
    if (ix <= 0x3fe921fb) {
        if (ix < 0x3e46a09e) return 1.0;
        return trig.cos(x, 0);
    }
    if (ix >= 0x7ff00000) return x - x;
    var y: [2]f64 = undefined;
    const n = rem_pio2(x, &y);
    return switch (n & 3) {
        0 => trig.cos(y[0], y[1]),
        1 => -trig.sin(y[0], y[1], 1),
        2 => -trig.cos(y[0], y[1]),
        else => trig.sin(y[0], y[1], 1),
    };
}

pub noinline fn tan(x: f64) f64 {
    var ix = @as(u64, @bitCast(x)) >> 32;
    ix &= 0x7fffffff;
    if (ix <= 0x3fe921fb) {
        if (ix < 0x3e400000) return x;
        return trig.tan(x, 0.0, false);
    }
    if (ix >= 0x7ff00000) return x - x;
    var y: [2]f64 = undefined;
    const n = rem_pio2(x, &y);
    return trig.tan(y[0], y[1], n & 1 != 0);
}

// erf: musl's (from FreeBSD msun s_erf.c, Sun Microsystems 1993).
const erx = 8.45062911510467529297e-01;
const efx8 = 1.02703333676410069053e+00;
const pp = [_]f64{ 1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02, -5.77027029648944159157e-03, -2.37630166566501626084e-05 };
const qq = [_]f64{ 1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03, 1.32494738004321644526e-04, -3.96022827877536812320e-06 };
const pa = [_]f64{ -2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01, 3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02, -2.16637559486879084300e-03 };
const qa = [_]f64{ 1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02, 1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02 };
const ra = [_]f64{ -9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00 };
const sa = [_]f64{ 1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02 };
const rb = [_]f64{ -9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02 };
const sb = [_]f64{ 1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01 };

/// Horner evaluation c[0] + s*(c[1] + s*(...)).
inline fn poly(comptime c: []const f64, s: f64) f64 {
    var r: f64 = c[c.len - 1];
    comptime var i = c.len - 1;
    inline while (i > 0) {
        i -= 1;
        r = c[i] + s * r;
    }
    return r;
}

fn erfc1(x: f64) f64 {
    const s = @abs(x) - 1;
    return 1 - erx - poly(&pa, s) / poly(&qa, s);
}

fn erfc2(ix: u32, x_in: f64) f64 {
    if (ix < 0x3ff40000) return erfc1(x_in);
    const x = @abs(x_in);
    const s = 1 / (x * x);
    var r: f64 = undefined;
    var q: f64 = undefined;
    if (ix < 0x4006db6d) {
        r = poly(&ra, s);
        q = poly(&sa, s);
    } else {
        r = poly(&rb, s);
        q = poly(&sb, s);
    }
    const z: f64 = @bitCast(@as(u64, @bitCast(x)) & 0xffffffff00000000);
    return exp(-z * z - 0.5625) * exp((z - x) * (z + x) + r / q) / x;
}

pub noinline fn erf(x: f64) f64 {
    const hi: u32 = @truncate(@as(u64, @bitCast(x)) >> 32);
    const sign = hi >> 31;
    const ix = hi & 0x7fffffff;
    if (ix >= 0x7ff00000) return 1 - 2 * @as(f64, @floatFromInt(sign)) + 1 / x;
    if (ix < 0x3feb0000) {
        if (ix < 0x3e300000) return 0.125 * (8 * x + efx8 * x);
        const z = x * x;
        const y = poly(&pp, z) / poly(&qq, z);
        return x + x * y;
    }
    const y = if (ix < 0x40180000) 1 - erfc2(ix, x) else 1 - 0x1p-1022;
    return if (sign != 0) -y else y;
}

/// fmod, exact (musl's integer algorithm).
pub noinline fn fmod(x: f64, y: f64) f64 {
    var uxi: u64 = @bitCast(x);
    var uyi: u64 = @bitCast(y);
    var ex: i32 = @intCast((uxi >> 52) & 0x7ff);
    var ey: i32 = @intCast((uyi >> 52) & 0x7ff);
    const sx = uxi >> 63;
    if (uyi << 1 == 0 or y != y or ex == 0x7ff) return (x * y) / (x * y);
    if (uxi << 1 <= uyi << 1) {
        if (uxi << 1 == uyi << 1) return 0 * x;
        return x;
    }
    if (ex == 0) {
        var i = uxi << 12;
        while (i >> 63 == 0) : (i <<= 1) ex -= 1;
        uxi <<= @intCast(-ex + 1);
    } else {
        uxi &= std.math.maxInt(u64) >> 12;
        uxi |= 1 << 52;
    }
    if (ey == 0) {
        var i = uyi << 12;
        while (i >> 63 == 0) : (i <<= 1) ey -= 1;
        uyi <<= @intCast(-ey + 1);
    } else {
        uyi &= std.math.maxInt(u64) >> 12;
        uyi |= 1 << 52;
    }
    while (ex > ey) : (ex -= 1) {
        const i = uxi -% uyi;
        if (i >> 63 == 0) {
            if (i == 0) return 0 * x;
            uxi = i;
        }
        uxi <<= 1;
    }
    const i = uxi -% uyi;
    if (i >> 63 == 0) {
        if (i == 0) return 0 * x;
        uxi = i;
    }
    while (uxi >> 52 == 0) : (uxi <<= 1) ex -= 1;
    if (ex > 0) {
        uxi -= 1 << 52;
        uxi |= @as(u64, @intCast(ex)) << 52;
    } else {
        uxi >>= @intCast(-ex + 1);
    }
    uxi |= sx << 63;
    return @bitCast(uxi);
}

fn isOddInteger(x: f64) bool {
    if (@abs(x) >= 1 << 53) return false;
    const r = std.math.modf(x);
    return r.fpart == 0.0 and @as(i64, @intFromFloat(r.ipart)) & 1 == 1;
}

/// x^y (std.math.pow's algorithm, after Go's, with this file's exp and log).
pub noinline fn pow(x: f64, y: f64) f64 {
    const math = std.math;
    if (y == 0 or x == 1) return 1;
    if (x != x or y != y) return math.nan(f64);
    if (y == 1) return x;
    if (x == 0) {
        if (y < 0) return if (isOddInteger(y)) math.copysign(math.inf(f64), x) else math.inf(f64);
        return if (isOddInteger(y)) x else 0;
    }
    if (math.isInf(y)) {
        if (x == -1) return 1.0;
        if ((@abs(x) < 1) == math.isPositiveInf(y)) return 0;
        return math.inf(f64);
    }
    if (math.isInf(x)) {
        if (math.isNegativeInf(x)) return pow(1 / x, -y);
        if (y < 0) return 0;
        if (y > 0) return math.inf(f64);
    }
    if (y == 0.5) return @sqrt(x);
    if (y == -0.5) return 1 / @sqrt(x);
    const r1 = math.modf(@abs(y));
    var yi = r1.ipart;
    var yf = r1.fpart;
    if (yf != 0 and x < 0) return math.nan(f64);
    if (yi >= 1 << 63) return exp(y * log(@abs(x)));
    var a1: f64 = 1.0;
    var ae: i32 = 0;
    if (yf != 0) {
        if (yf > 0.5) {
            yf -= 1;
            yi += 1;
        }
        a1 = exp(yf * log(x));
    }
    const r2 = math.frexp(x);
    var xe = r2.exponent;
    var x1 = r2.significand;
    var i: i64 = @intFromFloat(yi);
    while (i != 0) : (i >>= 1) {
        const overflow_shift = math.floatExponentBits(f64) + 1;
        if (xe < -(1 << overflow_shift) or (1 << overflow_shift) < xe) {
            ae += xe;
            break;
        }
        if (i & 1 == 1) {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if (x1 < 0.5) {
            x1 += x1;
            xe -= 1;
        }
    }
    if (y < 0) {
        a1 = 1 / a1;
        ae = -ae;
    }
    return math.scalbn(a1, ae);
}

// ------------------------------------------------------------------ tests
// On the host: every function against the C library.

const libc = struct {
    extern "c" fn sin(f64) f64;
    extern "c" fn cos(f64) f64;
    extern "c" fn tan(f64) f64;
    extern "c" fn erf(f64) f64;
    extern "c" fn pow(f64, f64) f64;
    extern "c" fn fmod(f64, f64) f64;
    extern "c" fn exp2(f64) f64;
    extern "c" fn log2(f64) f64;
    extern "c" fn expm1(f64) f64;
    extern "c" fn log1p(f64) f64;
    extern "c" fn asin(f64) f64;
    extern "c" fn acos(f64) f64;
    extern "c" fn atan(f64) f64;
    extern "c" fn sinh(f64) f64;
    extern "c" fn cosh(f64) f64;
    extern "c" fn asinh(f64) f64;
    extern "c" fn acosh(f64) f64;
    extern "c" fn atanh(f64) f64;
};

test "device inverse trigonometric and hyperbolic functions match the C library" {
    var rng = std.Random.DefaultPrng.init(11);
    const r = rng.random();
    var worst: [8]u64 = @splat(0);
    for (0..200_000) |k| {
        const u = r.float(f64) * 2 - 1; // [-1, 1)
        const scale: f64 = switch (k % 4) {
            0 => 1e-9,
            1 => 1,
            2 => 30,
            else => 700,
        };
        const x = u * scale;
        worst[0] = @max(worst[0], ulps(asin(u), libc.asin(u)));
        worst[1] = @max(worst[1], ulps(acos(u), libc.acos(u)));
        worst[2] = @max(worst[2], ulps(atan(x), libc.atan(x)));
        worst[3] = @max(worst[3], ulps(sinh(x), libc.sinh(x)));
        worst[4] = @max(worst[4], ulps(cosh(x), libc.cosh(x)));
        worst[5] = @max(worst[5], ulps(asinh(x * 1e3), libc.asinh(x * 1e3)));
        worst[6] = @max(worst[6], ulps(acosh(1 + @abs(x) * 1e3), libc.acosh(1 + @abs(x) * 1e3)));
        worst[7] = @max(worst[7], ulps(atanh(u), libc.atanh(u)));
    }
    // asin acos atan sinh cosh asinh acosh atanh
    const limit = [_]u64{ 1, 1, 1, 2, 2, 2, 2, 1 };
    for (worst, limit, 0..) |w, l, i| {
        if (w > l) {
            std.debug.print("function {d}: {d} ulp\n", .{ i, w });
            return error.TestUnexpectedResult;
        }
    }
    const inf = std.math.inf(f64);
    try std.testing.expectEqual(inf, sinh(inf));
    try std.testing.expectEqual(-inf, sinh(-inf));
    try std.testing.expectEqual(inf, cosh(-inf));
    try std.testing.expectEqual(inf, sinh(800));
    try std.testing.expectEqual(-inf, asinh(-inf));
    try std.testing.expect(std.math.isNan(acosh(0.5)));
    try std.testing.expect(std.math.isNan(sinh(std.math.nan(f64))));
    try std.testing.expect(std.math.isNan(cosh(std.math.nan(f64))));
}

fn ulps(a: f64, b: f64) u64 {
    if (a != a and b != b) return 0;
    if (a == b) return 0;
    if (a != a or b != b) return std.math.maxInt(u64);
    const ia: i64 = @bitCast(a);
    const ib: i64 = @bitCast(b);
    const fa: i128 = if (ia < 0) -@as(i128, ia & std.math.maxInt(i64)) else ia;
    const fb: i128 = if (ib < 0) -@as(i128, ib & std.math.maxInt(i64)) else ib;
    return @intCast(@abs(fa - fb));
}

test "device math matches the C library" {
    var rng = std.Random.DefaultPrng.init(7);
    const r = rng.random();
    var worst: [9]u64 = @splat(0);
    for (0..200_000) |k| {
        const scale: f64 = switch (k % 4) {
            0 => 1,
            1 => 10,
            2 => 1000,
            else => 1e6,
        };
        const x = (r.float(f64) * 2 - 1) * scale;
        const y = (r.float(f64) * 2 - 1) * 20;
        worst[0] = @max(worst[0], ulps(sin(x), libc.sin(x)));
        worst[1] = @max(worst[1], ulps(cos(x), libc.cos(x)));
        worst[2] = @max(worst[2], ulps(tan(x), libc.tan(x)));
        const xe = x / scale * 6;
        worst[3] = @max(worst[3], ulps(erf(xe), libc.erf(xe)));
        const px = @abs(x) / scale * 50;
        worst[4] = @max(worst[4], ulps(pow(px, y), libc.pow(px, y)));
        worst[5] = @max(worst[5], ulps(fmod(x, y), libc.fmod(x, y)));
        worst[6] = @max(worst[6], ulps(exp2(x / scale * 1000), libc.exp2(x / scale * 1000)));
        worst[7] = @max(worst[7], ulps(log2(@abs(x)), libc.log2(@abs(x))));
        worst[8] = @max(worst[8], ulps(expm1(x / scale * 50), libc.expm1(x / scale * 50)));
    }
    // sin cos tan erf pow fmod exp2 log2 expm1
    const limit = [_]u64{ 1, 1, 2, 2, 64, 0, 2, 2, 2 };
    for (worst, limit, 0..) |w, l, i| {
        if (w > l) {
            std.debug.print("function {d}: {d} ulp\n", .{ i, w });
            return error.TestUnexpectedResult;
        }
    }
    try std.testing.expectEqual(@as(f64, 3), log2(8));
    try std.testing.expectEqual(@as(f64, 0x1p-3), exp2(-3));
    try std.testing.expectEqual(@as(f64, 2), roundEven(f64, 2.5));
    try std.testing.expectEqual(@as(f64, -4), roundEven(f64, -3.5));
    try std.testing.expectEqual(@as(f64, 1), erf(std.math.inf(f64)));
}
