//! Vectorised exp, log, tanh and sigmoid for float32 and float64, and erf for
//! float32 (@Vector of
//! the build's natural width), for the contiguous fast paths of the unary and
//! softmax kernels. Range reduction plus polynomial, after Cephes (exp, logf,
//! tanh) and fdlibm (log for float64). The scalar C-library functions stay the
//! reference: the tests below sweep the float range against them.
//!
//! Special values follow the C library: exp(NaN) = NaN, exp(+inf) = +inf,
//! exp(-inf) = 0, overflow gives +inf, underflow gives denormals then 0;
//! log(x < 0) = NaN, log(±0) = -inf, log(+inf) = +inf, denormal inputs are
//! exact-scaled first.
//!
//! Measured maximum error (`VMATH_VERBOSE=1 zig build test` prints it; the
//! build then reports the test step's stderr as a failure, so only for
//! measuring; `zig test -lc -mcpu x86_64 src/vmath.zig` checks the non-FMA
//! path), the same on x86-64 baseline (SSE2) and x86_64_v3 (AVX2 + FMA):
//!   float32 (every 97th bit pattern, 389th for tanh/sigmoid, plus specials;
//!   reference: the float64 C library rounded to float32)
//!     exp 1 ulp, log 1 ulp, tanh 1 ulp (relative 1.2e-7),
//!     sigmoid relative 1.5e-7 where the result is normal (for x in
//!     (-104, -88.7) the true result is denormal but exp(-x) overflows, so
//!     it gives 0, exactly as the scalar kernel's 1 / (1 + exp(-x)) does)
//!     erf 2 ulp (relative 2.3e-7; erf32, float32 only: float64 keeps the
//!     C library's erf)
//!     GELU (erf form, gelu32) 6 ulp for x >= -1 (7 without FMA); below,
//!     relative error 4.6e-7 per unit of x^2/2 (the result is about
//!     exp(-x^2/2), whose float32 argument rounds by up to x^2/2 * 2^-24);
//!     denormal results (x below about -13.1) lose precision with the
//!     format, and -0 below about -14.5 (PyTorch's float32 GELU gives 0 from
//!     about -13)
//!   float64 (2M random inputs plus specials; reference: the C library)
//!     exp 2 ulp, log 1 ulp, tanh 2 ulp (relative 3.9e-16),
//!     sigmoid 3 ulp (relative 4.6e-16)
const std = @import("std");
const builtin = @import("builtin");

/// Lanes per vector for T on the CPU this is compiled for.
pub fn lanes(comptime T: type) comptime_int {
    return std.simd.suggestVectorLength(T) orelse 4;
}

pub fn Vec(comptime T: type) type {
    return @Vector(lanes(T), T);
}

/// Fused multiply-add only where the CPU has it; a libcall otherwise.
const has_fma = switch (builtin.cpu.arch) {
    .x86_64, .x86 => builtin.cpu.has(.x86, .fma),
    .aarch64 => true,
    else => false,
};

inline fn fma(a: anytype, b: anytype, c: anytype) @TypeOf(a) {
    if (has_fma) return @mulAdd(@TypeOf(a), a, b, c);
    return a * b + c;
}

fn Bits(comptime T: type) type {
    return if (T == f32) i32 else i64;
}

/// 2^k for k in the normal exponent range.
inline fn pow2(comptime T: type, comptime n: usize, k: @Vector(n, Bits(T))) @Vector(n, T) {
    const I = Bits(T);
    const mant = if (T == f32) 23 else 52;
    const bias: @Vector(n, I) = @splat(if (T == f32) 127 else 1023);
    const sh: @Vector(n, std.math.Log2Int(I)) = @splat(mant);
    return @bitCast((k +% bias) << sh);
}

/// float32 exp of a clamped x as y * 2^n, y in [0.7, 1.42]: n = round(x / ln2)
/// with the 1.5 * 2^23 trick (no SSE4.1 round), then Cephes expf's
/// polynomial of the remainder (ln2 split so that n * C1 is exact).
inline fn expReduce32(comptime n: usize, xc: @Vector(n, f32)) struct { y: @Vector(n, f32), n: @Vector(n, i32) } {
    const V = @Vector(n, f32);
    const IV = @Vector(n, i32);
    const c = struct {
        fn c(v: f32) V {
            return @splat(v);
        }
    }.c;
    const magic: f32 = 12582912.0;
    const t = xc * c(std.math.log2e) + c(magic);
    const nf = t - c(magic);
    var r = fma(nf, c(-0.693359375), xc);
    r = fma(nf, c(2.12194440e-4), r);
    // Estrin's scheme: the same polynomial in three dependent steps after
    // r^2 instead of five.
    const r2 = r * r;
    const p45 = fma(c(1.9875691500E-4), r, c(1.3981999507E-3));
    const p23 = fma(c(8.3334519073E-3), r, c(4.1665795894E-2));
    const p01 = fma(c(1.6666665459E-1), r, c(5.0000001201E-1));
    const p = fma(fma(p45, r2, p23), r2, p01);
    return .{ .y = fma(p, r2, r) + c(1.0), .n = @as(IV, @bitCast(t)) -% @as(IV, @bitCast(c(magic))) };
}

/// exp(x) for float32 lanes whose results are normal floats (x from about
/// -87.3 to 88.7): exp's reduction and polynomial, then one scaling by 2^n
/// where exp scales twice so that denormal results round once, and no
/// NaN select. Callers take it for vectors whose lanes are all in range
/// (a NaN lane is not) and exp for the rest.
inline fn expNormal32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const e = expReduce32(n, x);
    return e.y * pow2(f32, n, e.n);
}

/// exp(x), lane-wise.
pub fn exp(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    const V = @Vector(n, T);
    const I = Bits(T);
    const IV = @Vector(n, I);
    const s = struct {
        fn c(v: T) V {
            return @splat(v);
        }
    };
    // Clamp so that n stays in range; out there the result overflows to inf
    // or underflows to 0 by itself.
    const hi: T = if (T == f32) 89.0 else 710.0;
    const lo: T = if (T == f32) -110.0 else -750.0;
    const xc = @min(@max(x, s.c(lo)), s.c(hi));
    var y: V = undefined;
    var ni: IV = undefined;
    if (T == f32) {
        const e = expReduce32(n, xc);
        y = e.y;
        ni = e.n;
    } else {
        // n = round(x / ln2) with the 1.5 * 2^mant trick (no SSE4.1 round).
        const magic: T = 6755399441055744.0;
        const t = xc * s.c(std.math.log2e) + s.c(magic);
        const nf = t - s.c(magic);
        ni = @as(IV, @bitCast(t)) -% @as(IV, @bitCast(s.c(magic)));
        // Cephes exp: Pade form 1 + 2 x P(x^2) / (Q(x^2) - x P(x^2)).
        var r = fma(nf, s.c(-6.93145751953125E-1), xc);
        r = fma(nf, s.c(-1.42860682030941723212E-6), r);
        const z = r * r;
        var p = s.c(1.26177193074810590878E-4);
        p = fma(p, z, s.c(3.02994407707441961300E-2));
        p = fma(p, z, s.c(9.99999999999999999910E-1));
        p = p * r;
        var q = s.c(3.00198505138664455042E-6);
        q = fma(q, z, s.c(2.52448340349684104192E-3));
        q = fma(q, z, s.c(2.27265548208155028766E-1));
        q = fma(q, z, s.c(2.00000000000000000009E0));
        y = s.c(1.0) + s.c(2.0) * (p / (q - p));
    }
    // Scale by 2^n in two steps so that denormal results round only once.
    const n1 = ni >> @splat(1);
    const n2 = ni - n1;
    const res = y * pow2(T, n, n1) * pow2(T, n, n2);
    return @select(T, x != x, x, res);
}

/// log(x), lane-wise.
pub fn log(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    const V = @Vector(n, T);
    const I = Bits(T);
    const IV = @Vector(n, I);
    const s = struct {
        fn c(v: T) V {
            return @splat(v);
        }
        fn ci(v: I) IV {
            return @splat(v);
        }
    };
    const mant = if (T == f32) 23 else 52;
    // Denormals: scale into the normal range first.
    const tiny = x < s.c(std.math.floatMin(T));
    const xs = @select(T, tiny, x * s.c(if (T == f32) 0x1p23 else 0x1p52), x);
    const ebias: IV = @select(I, tiny, s.ci(mant), s.ci(0));
    const bits: IV = @bitCast(xs);
    // xs = m * 2^e with m in [sqrt(1/2), sqrt(2)).
    const one_bits: I = @bitCast(@as(T, 1.0));
    const sqrt_half_off: I = if (T == f32) 0x3f3504f3 else 0x3fe6a09e667f3bcd;
    // Shift the bits so that the mantissa boundary falls at sqrt(1/2).
    const shifted = bits +% s.ci(one_bits - sqrt_half_off);
    const sh: @Vector(n, std.math.Log2Int(I)) = @splat(mant);
    const e = (shifted >> sh) -% s.ci(if (T == f32) 127 else 1023) -% ebias;
    const mant_mask: I = (@as(I, 1) << mant) - 1;
    const m: V = @bitCast((shifted & s.ci(mant_mask)) +% s.ci(sqrt_half_off));
    const ef: V = @floatFromInt(e);
    const f = m - s.c(1.0);
    var res: V = undefined;
    if (T == f32) {
        // Cephes logf polynomial on f = m - 1 in [sqrt(1/2) - 1, sqrt(2) - 1).
        const z = f * f;
        var p = s.c(7.0376836292E-2);
        p = fma(p, f, s.c(-1.1514610310E-1));
        p = fma(p, f, s.c(1.1676998740E-1));
        p = fma(p, f, s.c(-1.2420140846E-1));
        p = fma(p, f, s.c(1.4249322787E-1));
        p = fma(p, f, s.c(-1.6668057665E-1));
        p = fma(p, f, s.c(2.0000714765E-1));
        p = fma(p, f, s.c(-2.4999993993E-1));
        p = fma(p, f, s.c(3.3333331174E-1));
        var y = p * f * z;
        y = fma(ef, s.c(-2.12194440e-4), y);
        y = fma(z, s.c(-0.5), y);
        res = fma(ef, s.c(0.693359375), f + y);
    } else {
        // fdlibm log kernel: s = f / (2 + f), log(1 + f) = f - hfsq + s (hfsq + R).
        const hfsq = s.c(0.5) * f * f;
        const q = f / (s.c(2.0) + f);
        const z = q * q;
        const w = z * z;
        var t1 = fma(w, s.c(1.531383769920937332e-01), s.c(2.222219843214978396e-01));
        t1 = fma(w, t1, s.c(3.999999999940941908e-01));
        t1 = w * t1;
        var t2 = fma(w, s.c(1.479819860511658591e-01), s.c(1.818357216161805012e-01));
        t2 = fma(w, t2, s.c(2.857142874366239149e-01));
        t2 = fma(w, t2, s.c(6.666666666666735130e-01));
        t2 = z * t2;
        const r = t1 + t2;
        res = ef * s.c(6.93147180369123816490e-01) - ((hfsq - (q * (hfsq + r) + ef * s.c(1.90821492927058770002e-10))) - f);
    }
    const inf = s.c(std.math.inf(T));
    const nan = s.c(std.math.nan(T));
    res = @select(T, x == inf, inf, res);
    res = @select(T, x == s.c(0), -inf, res);
    res = @select(T, x < s.c(0), nan, res);
    return @select(T, x != x, x, res);
}

/// tanh(x), lane-wise: an odd polynomial near 0, 1 - 2 / (exp(2|x|) + 1) beyond.
pub fn tanh(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    const V = @Vector(n, T);
    const c = struct {
        fn c(v: T) V {
            return @splat(v);
        }
    }.c;
    const a = @abs(x);
    const z = x * x;
    var small: V = undefined;
    if (T == f32) {
        var p = c(-5.70498872745E-3);
        p = fma(p, z, c(2.06390887954E-2));
        p = fma(p, z, c(-5.37397155531E-2));
        p = fma(p, z, c(1.33314422036E-1));
        p = fma(p, z, c(-3.33332819422E-1));
        small = fma(p * z, x, x);
    } else {
        var p = c(-9.64399179425052238628E-1);
        p = fma(p, z, c(-9.92877231001918586564E1));
        p = fma(p, z, c(-1.61468768441708447952E3));
        var q = z + c(1.12811678491632931402E2);
        q = fma(q, z, c(2.23548839060100448583E3));
        q = fma(q, z, c(4.84406305325125486048E3));
        small = fma(x * z, p / q, x);
    }
    const big_abs = c(1.0) - c(2.0) / (expMostlyNormal(T, n, a + a) + c(1.0));
    const big = @select(T, x < c(0), -big_abs, big_abs);
    return @select(T, a < c(0.625), small, big);
}

/// 1 / (1 + exp(-x)), lane-wise (the same formula as the scalar kernel).
pub fn sigmoid(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    const one: @Vector(n, T) = @splat(1.0);
    return one / (one + expMostlyNormal(T, n, -x));
}

/// exp(x) for float32 gate math: inputs clamped to [-87, 88], where 2^n stays
/// a normal number, so one scaling step does (exp's two steps round denormal
/// results once); NaN stays NaN. Relative error as exp's away from the ends.
inline fn expGate32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const V = @Vector(n, f32);
    const lo: V = @splat(-87.0);
    const hi: V = @splat(88.0);
    const e = expReduce32(n, @min(@max(x, lo), hi));
    return @select(f32, x != x, x, e.y * pow2(f32, n, e.n));
}

/// The logistic function for recurrent layers' gates: float32 within 1e-7
/// of the exact value (absolute; measured over [-20, 20]), about 1.5x the
/// speed of `sigmoid`; float64 is `sigmoid` itself.
pub fn sigmoidGate(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    if (T != f32) return sigmoid(T, n, x);
    const one: @Vector(n, f32) = @splat(1.0);
    return one / (one + expGate32(n, -x));
}

/// tanh for recurrent layers' gates: float32 as 2 sigmoid(2x) - 1, within
/// 2e-7 of the exact value (absolute, so relatively coarser near 0; measured
/// over [-20, 20]); float64 is `tanh` itself.
pub fn tanhGate(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    if (T != f32) return tanh(T, n, x);
    const one: @Vector(n, f32) = @splat(1.0);
    const two: @Vector(n, f32) = @splat(2.0);
    return two / (one + expGate32(n, -two * x)) - one;
}

test "gate sigmoid and tanh stay within their bounds of the exact values" {
    var max_s: f64 = 0;
    var max_t: f64 = 0;
    var k: i32 = -40000;
    while (k <= 40000) : (k += 1) {
        const x: f32 = @as(f32, @floatFromInt(k)) * 0.0005;
        const v: @Vector(4, f32) = @splat(x);
        const s = sigmoidGate(f32, 4, v)[0];
        const t = tanhGate(f32, 4, v)[0];
        const xd: f64 = x;
        max_s = @max(max_s, @abs(s - 1 / (1 + @exp(-xd))));
        max_t = @max(max_t, @abs(t - std.math.tanh(xd)));
    }
    try std.testing.expect(max_s < 1e-7);
    try std.testing.expect(max_t < 2e-7);
    const nan: @Vector(4, f32) = @splat(std.math.nan(f32));
    try std.testing.expect(std.math.isNan(sigmoidGate(f32, 4, nan)[0]));
    try std.testing.expect(std.math.isNan(tanhGate(f32, 4, nan)[0]));
    const big: @Vector(4, f32) = .{ 1e30, -1e30, std.math.inf(f32), -std.math.inf(f32) };
    // Far out: 1 and -1 exactly; towards 0 the clamp leaves 1 / (1 + e^88), about 6e-39.
    const s = sigmoidGate(f32, 4, big);
    try std.testing.expect(s[0] == 1 and s[2] == 1 and s[1] >= 0 and s[1] < 1e-37 and s[3] < 1e-37);
    try std.testing.expectEqual(@Vector(4, f32){ 1, -1, 1, -1 }, tanhGate(f32, 4, big));
}

/// x / (1 + exp(-x)), lane-wise.
pub fn silu(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    const one: @Vector(n, T) = @splat(1.0);
    return x / (one + expMostlyNormal(T, n, -x));
}

/// Taylor coefficients of erf in x²: erf(x) = x * sum_k c[k] x^(2k), with
/// c[k] = (2 / sqrt(pi)) (-1)^k / (k! (2k + 1)), computed here in f64.
const erf_taylor = blk: {
    var c: [9]f64 = undefined;
    var fact: f64 = 1;
    for (0..c.len) |k| {
        if (k > 0) fact *= @floatFromInt(k);
        const sign: f64 = if (k % 2 == 0) 1 else -1;
        c[k] = 2.0 / @sqrt(@as(f64, std.math.pi)) * sign / (fact * @as(f64, @floatFromInt(2 * k + 1)));
    }
    break :blk c;
};

/// erfc(z) for float32 z >= 0, lane-wise: t exp(-z² + P(t)) with
/// t = 1 / (1 + z/2), the Chebyshev-fitted form of Numerical Recipes'
/// erfcc (fractional error below 1.2e-7 in exact arithmetic).
pub fn erfc32(comptime n: usize, z: @Vector(n, f32)) @Vector(n, f32) {
    const V = @Vector(n, f32);
    const one: V = @splat(1);
    const c = struct {
        fn c(v: f32) V {
            return @splat(v);
        }
    }.c;
    const t = one / (one + c(0.5) * z);
    // P(t) = sum c_i t^i, i = 0..9, by Estrin's scheme: four dependent
    // steps after t^2, where Horner's rule chains nine FMAs. GELU is bound
    // by that latency, not by the FMA count (4096x768, 1 thread: Horner
    // 4.9 ms).
    const t2 = t * t;
    const t4 = t2 * t2;
    const t8 = t4 * t4;
    const p01 = fma(c(1.00002368), t, c(-1.26551223));
    const p23 = fma(c(0.09678418), t, c(0.37409196));
    const p45 = fma(c(0.27886807), t, c(-0.18628806));
    const p67 = fma(c(1.48851587), t, c(-1.13520398));
    const p89 = fma(c(0.17087277), t, c(-0.82215223));
    const p03 = fma(p23, t2, p01);
    const p47 = fma(p67, t2, p45);
    const q = fma(p89, t8, fma(p47, t4, p03));
    return t * expMostlyNormal32(n, fma(-z, z, q));
}

/// exp(x) for float32 lanes, through expNormal32 when every lane's result
/// is a normal float (all of a GELU's arguments from about -13 up), else
/// through exp: the same values, with one scaling instead of two on the usual
/// vector.
pub inline fn expMostlyNormal32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const lo: @Vector(n, f32) = @splat(-87.0);
    const hi: @Vector(n, f32) = @splat(88.0);
    if (@reduce(.And, (x >= lo) & (x <= hi))) return expNormal32(n, x);
    return exp(f32, n, x);
}

/// exp(x), lane-wise, for f32 through expMostlyNormal32 (one scaling when
/// every lane's result is a normal float: a softmax's x - max, a row's exps
/// against its log-sum-exp), for f64 through exp. The same values as exp.
pub inline fn expMostlyNormal(comptime T: type, comptime n: usize, x: @Vector(n, T)) @Vector(n, T) {
    if (T == f32) return expMostlyNormal32(n, x);
    return exp(T, n, x);
}

/// erf(x) for float32, lane-wise. |x| < 0.8: the Taylor series through
/// x^17 (its next term is below 2^-27 relative there); beyond, 1 - erfc(|x|)
/// (erfc32). All on f32 lanes: an error of e in -z² + P(t) is a relative
/// error of e in erfc, which 1 - erfc shrinks (measured: 2 ulp at most over
/// the sweep below).
/// NaN stays NaN; erf(±inf) = ±1.
pub fn erf32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const V = @Vector(n, f32);
    const c = struct {
        fn c(v: f32) V {
            return @splat(v);
        }
    }.c;
    const a = @abs(x);
    // Small |x|: Horner in x².
    const z2 = x * x;
    var p = c(@floatCast(erf_taylor[erf_taylor.len - 1]));
    inline for (1..erf_taylor.len) |i| p = fma(p, z2, c(@floatCast(erf_taylor[erf_taylor.len - 1 - i])));
    const small = x * p;
    // Large |x|: 1 - erfc(|x|), the sign put back.
    const big_abs = c(1) - erfc32(n, a);
    const big = @select(f32, x < c(0), -big_abs, big_abs);
    return @select(f32, a < c(0.8), small, big);
}

/// GELU's exact form, x Φ(x) with Φ(x) = erfc(-x/√2)/2, for float32,
/// lane-wise, on erfc32's formula erfc(z) = t exp(-z² + P(t)), t = 1 / (1 +
/// z/2), z = |x|/√2:
///
///   GELU(x) = max(x, 0) - |x| erfc(z)/2 = max(x, 0) - |x| t exp(A/2) / 2,
///   A = 2 P(t) - x².
///
/// Neither side subtracts nearly equal numbers (0.5 x (1 + erf(x/√2)) loses
/// the relative accuracy of small negative results). The work is shaped for
/// the FMA units, which bound it: P by Horner's rule (geluArgs), A = 2P - x²
/// in one FMA (-x² exact inside it, so the tail's argument rounds once), and
/// exp(A/2) / 2 by expHalf32. Vectors with a lane beyond its range (x below
/// about -13 or above 13, NaN, inf) take the same arithmetic for their other
/// lanes and, for those, x Φ(x) with exp's careful scaling (denormal
/// results) or x. NaN and -inf give NaN (as PyTorch), +inf gives +inf.
pub fn gelu32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const g = geluArgs(n, x);
    // A >= -172 keeps 2^(n-1) in expHalf32 normal.
    const lo = k32(n, -172.0);
    const fast = @max(x, k32(n, 0)) - (@abs(x) * g.t) * expHalf32(n, @max(g.a, lo), -1);
    if (@reduce(.And, g.a >= lo)) return fast;
    // x below about -13: x t exp(A/2), scaled in two steps where the result
    // is denormal; above 13 (and NaN, +inf): x, as Φ(x) rounds to 1 there.
    // -inf: -inf * 0 = NaN.
    const deep = @select(f32, x < k32(n, 0), (x * g.t * k32(n, 0.5)) * exp(f32, n, k32(n, 0.5) * g.a), x);
    return @select(f32, g.a >= lo, fast, deep);
}

/// A float32 constant in each of n lanes.
inline fn k32(comptime n: usize, v: f32) @Vector(n, f32) {
    return @splat(v);
}

/// GELU's and its derivative's t = 1 / (1 + z/2) (z = |x|/√2) and A = 2 P(t)
/// - x², so that erfc(z) = t exp(A/2). 2 P is erfc32's P with its
/// coefficients doubled (exactly), by Horner's rule: nine FMAs, where
/// Estrin's scheme takes twelve multiplies; and no cancellation of large
/// partial sums near t = 1 (P(1) = 0), which splitting P into even and odd
/// halves suffers (12 ulp in GELU).
inline fn geluArgs(comptime n: usize, x: @Vector(n, f32)) struct { t: @Vector(n, f32), a: @Vector(n, f32) } {
    const t = k32(n, 1) / fma(@abs(x), k32(n, 0.5 * std.math.sqrt1_2), k32(n, 1));
    var q2 = k32(n, 2 * 0.17087277);
    inline for ([_]f32{ -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223 }) |k|
        q2 = fma(q2, t, k32(n, 2 * k));
    return .{ .t = t, .a = fma(-x, x, q2) };
}

/// exp(A/2) 2^s for float32 lanes with A >= -172 (and s >= -1, so that the
/// result is a normal float): n = round(A log2e / 2) by the 1.5 * 2^23
/// trick, with the magic offset by s so that tt's low bits hold n + s:
/// shifted up by 23 they are the exponent field's change for 2^(n+s) (the
/// magic's own bits shift out), added to 1 + expm1(r) by an integer add.
/// The remainder u = 2r = A - 2 n ln2 takes one constant (f32's ln2 doubled,
/// exact): its error n 4e-9 is far below A's own rounding.
inline fn expHalf32(comptime n: usize, big_a: @Vector(n, f32), comptime s: i32) @Vector(n, f32) {
    const IV = @Vector(n, i32);
    comptime std.debug.assert(s >= -1 and s <= 1);
    const magic: f32 = 12582912.0 + @as(f32, @floatFromInt(s));
    const tt = fma(big_a, k32(n, 0.5 * std.math.log2e), k32(n, magic));
    const nf = tt - k32(n, magic);
    const u = fma(nf, k32(n, -2 * 0.693147182464599609375), big_a);
    // exp(r) = exp(u/2) = 1 + u p(u): p of degree 5 fitted for the
    // relative error of 1 + u p(u) on |u| <= ln2 (1.7e-8 with these float32
    // coefficients, a quarter of an ulp; Cephes expf's degree-7 polynomial
    // takes one FMA more).
    var p = k32(n, 2.1630708943121135e-05);
    inline for ([_]f32{ 0.00026169235934503376, 0.0026042500976473093, 0.02083303965628147, 0.1249999850988388, 0.5 }) |k|
        p = fma(p, u, k32(n, k));
    const y = fma(p, u, k32(n, 1));
    const sh: @Vector(n, u5) = @splat(23);
    return @bitCast(@as(IV, @bitCast(y)) +% (@as(IV, @bitCast(tt)) << sh));
}

/// GELU's derivative (erf form), Φ(x) + x φ(x), for float32, lane-wise, on
/// gelu32's arithmetic: Φ(x) from h = erfc(z)/2 = t exp(A/2) / 2 (h for
/// x < 0, 1 - h above), φ(x) = exp(B/2) with B = -x² - ln 2π (the
/// normalising constant inside the exponent). Lanes beyond the fast range
/// (|x| above about 13, NaN, inf) take exp's careful scaling; ±inf give
/// NaN (inf * 0), as the scalar form.
pub fn geluGrad32(comptime n: usize, x: @Vector(n, f32)) @Vector(n, f32) {
    const V = @Vector(n, f32);
    const g = geluArgs(n, x);
    const t = g.t;
    const big_a = g.a;
    const big_b = fma(-x, x, k32(n, -@log(2.0 * std.math.pi)));
    const lo = k32(n, -172.0);
    const neg = x < k32(n, 0);
    const h = t * expHalf32(n, @max(big_a, lo), -1);
    const fast = fma(x, expHalf32(n, @max(big_b, lo), 0), @select(f32, neg, h, k32(n, 1) - h));
    const in_range = (big_a >= lo) & (big_b >= lo);
    if (@reduce(.And, in_range)) return fast;
    const hd: V = t * k32(n, 0.5) * exp(f32, n, k32(n, 0.5) * big_a);
    const deep = @select(f32, neg, hd, k32(n, 1) - hd) + x * exp(f32, n, k32(n, 0.5) * big_b);
    return @select(f32, in_range, fast, deep);
}

// ---------------------------------------------------------------- tests

const testing = std.testing;

/// Distance in ulps between two floats (0 when both NaN).
fn ulps(comptime T: type, a: T, b: T) u64 {
    if (a != a and b != b) return 0;
    if (a != a or b != b) return std.math.maxInt(u64);
    if (a == b) return 0;
    const I = Bits(T);
    const U = @Int(.unsigned, @bitSizeOf(T));
    const ord = struct {
        fn f(v: T) i128 {
            const i: I = @bitCast(v);
            return if (i < 0) -@as(i128, @as(U, @bitCast(i)) & std.math.maxInt(@Int(.unsigned, @bitSizeOf(T) - 1))) else i;
        }
    }.f;
    return @intCast(@abs(ord(a) - ord(b)));
}

fn specials(comptime T: type) [14]T {
    const inf = std.math.inf(T);
    return .{ 0.0, -0.0, inf, -inf, std.math.nan(T), std.math.floatMin(T), std.math.floatTrueMin(T), -std.math.floatTrueMin(T), std.math.floatMax(T), -std.math.floatMax(T), 1.0, -1.0, 0.5, std.math.floatMin(T) / 3 };
}

const Fn = enum { exp, log, tanh, sigmoid, erf, gelu };

fn applyV(comptime T: type, comptime f: Fn, v: Vec(T)) Vec(T) {
    const n = comptime lanes(T);
    return switch (f) {
        .exp => exp(T, n, v),
        .log => log(T, n, v),
        .tanh => tanh(T, n, v),
        .sigmoid => sigmoid(T, n, v),
        .erf => if (T == f32) erf32(n, v) else unreachable,
        .gelu => if (T == f32) gelu32(n, v) else unreachable,
    };
}

fn apply(comptime T: type, comptime f: Fn, x: T) T {
    return applyV(T, f, @splat(x))[0];
}

/// Reference: float32 through the float64 C library (near correctly rounded);
/// float64 through the C library itself.
fn reference(comptime T: type, comptime f: Fn, x: T) T {
    const libm = @import("libm.zig");
    if (T == f32) {
        const d: f64 = x;
        return @floatCast(switch (f) {
            .exp => @exp(d),
            .log => @log(d),
            .tanh => libm.tanh(f64, d),
            .sigmoid => 1 / (1 + @exp(-d)),
            .erf => libm.erf(f64, d),
            .gelu => 0.5 * d * erfc64(-d * std.math.sqrt1_2),
        });
    }
    return switch (f) {
        .exp => @exp(x),
        .log => @log(x),
        .tanh => libm.tanh(f64, x),
        .sigmoid => 1 / (1 + @exp(-x)),
        .erf => libm.erf(f64, x),
        .gelu => unreachable,
    };
}

/// The C library's double erfc (the GELU reference: relative accuracy where
/// erfc is tiny, which 1 - erf lacks).
fn erfc64(x: f64) f64 {
    return struct {
        extern "c" fn erfc(v: f64) f64;
    }.erfc(x);
}

/// VMATH_VERBOSE=1 zig build test prints the measured errors.
fn verbose() bool {
    const c = struct {
        extern "c" fn getenv(name: [*:0]const u8) ?[*:0]const u8;
    };
    return c.getenv("VMATH_VERBOSE") != null;
}

const Stat = struct { max_ulp: u64 = 0, max_rel: f64 = 0, worst: f64 = 0 };

fn checkOne(comptime T: type, comptime f: Fn, x: T, got: T, st: *Stat) void {
    const want = reference(T, f, x);
    const u = ulps(T, got, want);
    if (u > st.max_ulp) {
        st.max_ulp = u;
        st.worst = x;
    }
    if (want == want and got == got and want != 0 and !std.math.isInf(want)) {
        const rel = @abs((@as(f64, got) - want) / want);
        // Relative error only where the result is a normal number.
        if (@abs(want) >= std.math.floatMin(T) and rel > st.max_rel) st.max_rel = rel;
    }
}

/// Checks a batch of inputs, one vector at a time.
fn checkBatch(comptime T: type, comptime f: Fn, xs: []const T, st: *Stat) void {
    const n = comptime lanes(T);
    var i: usize = 0;
    while (i + n <= xs.len) : (i += n) {
        const got: [n]T = applyV(T, f, xs[i..][0..n].*);
        for (0..n) |j| checkOne(T, f, xs[i + j], got[j], st);
    }
    for (xs[i..]) |x| checkOne(T, f, x, apply(T, f, x), st);
}

fn sweep32(comptime f: Fn, step: u64) Stat {
    var st: Stat = .{};
    checkBatch(f32, f, &specials(f32), &st);
    var buf: [1024]f32 = undefined;
    var k: usize = 0;
    var b: u64 = 0;
    while (b < (1 << 32)) : (b += step) {
        const x: f32 = @bitCast(@as(u32, @intCast(b)));
        if (x != x) continue;
        buf[k] = x;
        k += 1;
        if (k == buf.len) {
            checkBatch(f32, f, &buf, &st);
            k = 0;
        }
    }
    checkBatch(f32, f, buf[0..k], &st);
    return st;
}

fn sweep64(comptime f: Fn) Stat {
    var st: Stat = .{};
    checkBatch(f64, f, &specials(f64), &st);
    var prng = std.Random.DefaultPrng.init(42);
    const r = prng.random();
    var buf: [1024]f64 = undefined;
    for (0..1000) |_| {
        for (&buf, 0..) |*x, i| {
            // Alternate random bit patterns (all magnitudes) and the busy range.
            x.* = if (i % 2 == 0) @bitCast(r.int(u64) & 0x7fffffffffffffff | (@as(u64, r.int(u1)) << 63)) else (r.float(f64) - 0.5) * 1500;
            if (x.* != x.*) x.* = 1;
        }
        checkBatch(f64, f, &buf, &st);
    }
    return st;
}

test "vmath float32 exp and log within 1 ulp; tanh, sigmoid within 1e-6 relative" {
    const e = sweep32(.exp, 97);
    const l = sweep32(.log, 97);
    const t = sweep32(.tanh, 389);
    const s = sweep32(.sigmoid, 389);
    if (verbose())
        std.debug.print("\nf32 exp {d} ulp (at {e}), log {d} ulp (at {e}), tanh {d} ulp rel {e}, sigmoid {d} ulp rel {e}\n", .{ e.max_ulp, e.worst, l.max_ulp, l.worst, t.max_ulp, t.max_rel, s.max_ulp, s.max_rel });
    try testing.expect(e.max_ulp <= 2);
    try testing.expect(l.max_ulp <= 2);
    try testing.expect(t.max_rel <= 1e-6);
    try testing.expect(s.max_rel <= 1e-6);
}

test "vmath float32 erf within 2 ulp" {
    const e = sweep32(.erf, 97);
    if (verbose()) std.debug.print("\nf32 erf {d} ulp (at {e}), rel {e}\n", .{ e.max_ulp, e.worst, e.max_rel });
    try testing.expect(e.max_ulp <= 2);
    try testing.expectEqual(@as(f32, 1), apply(f32, .erf, std.math.inf(f32)));
    try testing.expectEqual(@as(f32, -1), apply(f32, .erf, -std.math.inf(f32)));
    try testing.expect(std.math.isNan(apply(f32, .erf, std.math.nan(f32))));
    try testing.expect(std.math.signbit(apply(f32, .erf, -0.0)));
}

test "vmath float32 GELU (erf form): few ulp to -1, then the rounding of x^2/2 bounds it" {
    // For x < 0 the result is about exp(-x^2/2): a float32 argument near -A
    // carries a rounding error of up to A * 2^-24, so below x = -1 the bound
    // is on the relative error per unit of x^2/2 (PyTorch's own float32 GELU
    // is 4% off at x = -5).
    var near: Stat = .{};
    var tail_rel: f64 = 0;
    var tail_at: f32 = 0;
    var buf: [1024]f32 = undefined;
    var k: usize = 0;
    var b: u64 = 0;
    while (b < (1 << 32) + buf.len * 97) : (b += 97) {
        if (b < (1 << 32)) {
            const x: f32 = @bitCast(@as(u32, @intCast(b)));
            if (x != x) continue;
            buf[k] = x;
            k += 1;
            if (k < buf.len) continue;
        } else if (k == 0) break;
        for (buf[0..k]) |x| {
            const got = apply(f32, .gelu, x);
            if (x >= -1) {
                checkOne(f32, .gelu, x, got, &near);
            } else {
                const want: f64 = reference(f32, .gelu, x);
                if (@abs(want) < std.math.floatMin(f32)) continue;
                const per = @abs((@as(f64, got) - want) / want) / @max(1, 0.5 * @as(f64, x) * x);
                if (per > tail_rel) {
                    tail_rel = per;
                    tail_at = x;
                }
            }
        }
        k = 0;
    }
    if (verbose()) std.debug.print("\nf32 gelu {d} ulp for x >= -1 (at {e}); below, relative error {e} per unit of max(1, x^2/2) (at {e})\n", .{ near.max_ulp, near.worst, tail_rel, tail_at });
    try testing.expect(near.max_ulp <= 8);
    try testing.expect(tail_rel <= 6e-7);
    try testing.expectEqual(std.math.inf(f32), apply(f32, .gelu, std.math.inf(f32)));
    try testing.expect(std.math.isNan(apply(f32, .gelu, -std.math.inf(f32))));
    try testing.expect(std.math.isNan(apply(f32, .gelu, std.math.nan(f32))));
    try testing.expectEqual(@as(f32, 0), apply(f32, .gelu, 0));
}

test "vmath float64 exp and log within 2 ulp; tanh, sigmoid relative error" {
    const e = sweep64(.exp);
    const l = sweep64(.log);
    const t = sweep64(.tanh);
    const s = sweep64(.sigmoid);
    if (verbose())
        std.debug.print("\nf64 exp {d} ulp (at {e}), log {d} ulp (at {e}), tanh {d} ulp rel {e}, sigmoid {d} ulp rel {e}\n", .{ e.max_ulp, e.worst, l.max_ulp, l.worst, t.max_ulp, t.max_rel, s.max_ulp, s.max_rel });
    try testing.expect(e.max_ulp <= 2);
    try testing.expect(l.max_ulp <= 2);
    try testing.expect(t.max_rel <= 1e-14);
    try testing.expect(s.max_rel <= 1e-14);
}

test "vmath special values" {
    inline for (.{ f32, f64 }) |T| {
        const inf = std.math.inf(T);
        try testing.expect(std.math.isNan(apply(T, .exp, std.math.nan(T))));
        try testing.expectEqual(inf, apply(T, .exp, inf));
        try testing.expectEqual(@as(T, 0), apply(T, .exp, -inf));
        try testing.expectEqual(inf, apply(T, .exp, 1000));
        try testing.expectEqual(@as(T, 0), apply(T, .exp, -1000));
        try testing.expectEqual(@as(T, 1), apply(T, .exp, 0));
        try testing.expectEqual(-inf, apply(T, .log, 0));
        try testing.expectEqual(-inf, apply(T, .log, -0.0));
        try testing.expectEqual(inf, apply(T, .log, inf));
        try testing.expectEqual(@as(T, 0), apply(T, .log, 1));
        try testing.expect(std.math.isNan(apply(T, .log, -1)));
        try testing.expect(std.math.isNan(apply(T, .log, -inf)));
        try testing.expect(std.math.isNan(apply(T, .log, std.math.nan(T))));
        try testing.expectEqual(@as(T, 1), apply(T, .tanh, inf));
        try testing.expectEqual(@as(T, -1), apply(T, .tanh, -inf));
        try testing.expect(std.math.isNan(apply(T, .tanh, std.math.nan(T))));
        try testing.expectEqual(@as(T, 1), apply(T, .sigmoid, inf));
        try testing.expectEqual(@as(T, 0), apply(T, .sigmoid, -inf));
        // Denormal in and out.
        try testing.expect(apply(T, .exp, if (T == f32) -100 else -740) > 0);
        try testing.expect(apply(T, .log, std.math.floatTrueMin(T)) < -100);
    }
}

test "vmath float32 GELU derivative (erf form): within 4e-7 of the exact value from -30 to 30" {
    var worst: f64 = 0;
    var at: f32 = 0;
    var x: f32 = -30;
    while (x <= 30) : (x += 1.0 / 256.0) {
        const got = geluGrad32(8, @splat(x))[0];
        const d: f64 = x;
        const want = 0.5 * erfc64(-d * std.math.sqrt1_2) + d * @exp(-0.5 * d * d) / @sqrt(2 * std.math.pi);
        if (@abs(got - want) > worst) {
            worst = @abs(got - want);
            at = x;
        }
    }
    if (verbose()) std.debug.print("\nf32 GELU derivative: largest difference {e} (at {e})\n", .{ worst, at });
    try testing.expect(worst <= 4e-7);
    // A lane out of the fast range leaves its neighbours' values as they are.
    const mixed = geluGrad32(4, .{ 0.5, -20, 1.5, std.math.nan(f32) });
    try testing.expectEqual(geluGrad32(4, @splat(0.5))[0], mixed[0]);
    try testing.expectEqual(geluGrad32(4, @splat(1.5))[0], mixed[2]);
    try testing.expectEqual(@as(f32, 0), mixed[1]);
    try testing.expect(std.math.isNan(mixed[3]));
    try testing.expectEqual(@as(f32, 1), geluGrad32(4, @splat(20))[0]);
    try testing.expect(std.math.isNan(geluGrad32(4, @splat(std.math.inf(f32)))[0]));
}
