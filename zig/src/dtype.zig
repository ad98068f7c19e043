//! Element types as numbered across the FFI boundary (keep in step with src/dtype.ts).
const std = @import("std");
const cpu = @import("cpu.zig");

pub const DType = enum(i32) {
    float32 = 0,
    float64 = 1,
    float16 = 2,
    bfloat16 = 3,
    int64 = 4,
    int32 = 5,
    int16 = 6,
    int8 = 7,
    uint8 = 8,
    bool = 9,

    pub fn from(code: i32) ?DType {
        return std.enums.fromInt(DType, code);
    }
};

/// bfloat16 is stored as its raw 16 bits; conversions go through f32.
pub const BF16 = packed struct { bits: u16 };

/// The Zig type that stores one element of `d`.
pub fn Storage(comptime d: DType) type {
    return switch (d) {
        .float32 => f32,
        .float64 => f64,
        .float16 => f16,
        .bfloat16 => BF16,
        .int64 => i64,
        .int32 => i32,
        .int16 => i16,
        .int8 => i8,
        .uint8 => u8,
        .bool => u8,
    };
}

pub fn isFloat(comptime T: type) bool {
    return T == f32 or T == f64;
}

/// True for f16 and bfloat16, the types kernels widen to f32 to compute.
pub fn isHalf(comptime E: type) bool {
    return E == f16 or E == BF16;
}

/// The type a kernel computes elements of storage type E in: f32 for the
/// halves (loadVec/loadOne widen, storeVec/storeOne round), E otherwise.
pub fn Compute(comptime E: type) type {
    return if (isHalf(E)) f32 else E;
}

pub fn bf16ToF32(x: BF16) f32 {
    return @bitCast(@as(u32, x.bits) << 16);
}

/// Round to nearest even, as PyTorch does; NaN stays a (quiet) NaN.
pub fn f32ToBf16(x: f32) BF16 {
    const u: u32 = @bitCast(x);
    if (std.math.isNan(x)) return .{ .bits = @truncate((u >> 16) | 0x40) };
    const rounding: u32 = 0x7fff + ((u >> 16) & 1);
    return .{ .bits = @truncate((u +% rounding) >> 16) };
}

// Element types beside a compute type T, a vector at a time: loads widen E
// to T, stores round T to C (f16 with the hardware conversion where there is
// one; bfloat16 by the bit shift, and rounding to nearest even with NaN kept
// quiet, as f32ToBf16). The half kernels (matmul, conv, elementwise) convert
// through these in registers or small blocks, never a whole tensor.

pub inline fn loadVec(comptime T: type, comptime E: type, comptime n: usize, p: [*]const E) @Vector(n, T) {
    if (E == T) return p[0..n].*;
    if (E == f16) return @floatCast(@as(@Vector(n, f16), p[0..n].*));
    comptime std.debug.assert(E == BF16 and T == f32);
    const bits: @Vector(n, u16) = @as([*]const u16, @ptrCast(p))[0..n].*;
    return @bitCast(@as(@Vector(n, u32), bits) << @splat(16));
}

pub inline fn loadOne(comptime T: type, comptime E: type, v: E) T {
    if (E == T) return v;
    if (E == f16) return @floatCast(v);
    comptime std.debug.assert(E == BF16 and T == f32);
    return bf16ToF32(v);
}

pub inline fn storeVec(comptime T: type, comptime C: type, comptime n: usize, p: [*]C, v: @Vector(n, T)) void {
    if (C == T) {
        p[0..n].* = v;
    } else if (C == f16) {
        p[0..n].* = @as(@Vector(n, f16), @floatCast(v));
    } else {
        comptime std.debug.assert(C == BF16 and T == f32);
        if (comptime has_avx512 and n % 16 == 0) {
            if (hasBf16Convert()) {
                const lanes: [n]f32 = v;
                inline for (0..n / 16) |k| storeBf16x16(p + k * 16, lanes[k * 16 ..][0..16].*);
                return;
            }
        }
        @as([*]u16, @ptrCast(p))[0..n].* = roundBf16(n, v);
    }
}

const has_avx512 = cpu.build_avx512;

/// Tests set this to run the integer rounding on a CPU with AVX-512 BF16.
pub var bf16_convert_disabled = false;

/// Whether bfloat16 stores may use vcvtneps2bf16 (cpu.avx512Bf16).
pub fn hasBf16Convert() bool {
    return cpu.avx512Bf16() and !bf16_convert_disabled;
}

/// 16 floats rounded to bfloat16 by vcvtneps2bf16: one instruction where the
/// integer rounding takes about ten. It rounds to nearest even and quiets
/// NaNs exactly as f32ToBf16, but flushes float32 denormals to zero where
/// PyTorch rounds them to bfloat16 denormals: a vector with any denormal lane
/// (vfpclassps) takes the integer rounding instead. The instructions are
/// written out because the build's target (x86-64-v4) does not include
/// AVX-512 BF16; they run only where hasBf16Convert said yes.
inline fn storeBf16x16(p: [*]BF16, v: @Vector(16, f32)) void {
    const denormal = asm ("vfpclassps $0x20, %[v], %[m]"
        : [m] "=k" (-> u16),
        : [v] "v" (v),
    );
    const out: @Vector(16, u16) = if (denormal == 0) asm ("vcvtneps2bf16 %[v], %[o]"
        : [o] "=v" (-> @Vector(16, u16)),
        : [v] "v" (v),
    ) else roundBf16(16, v);
    @as([*]u16, @ptrCast(p))[0..16].* = out;
}

/// f32ToBf16 on n lanes: round to nearest even, NaN kept quiet.
inline fn roundBf16(comptime n: usize, v: @Vector(n, f32)) @Vector(n, u16) {
    const VU = @Vector(n, u32);
    const u: VU = @bitCast(v);
    const rounded = (u +% (@as(VU, @splat(0x7fff)) + ((u >> @splat(16)) & @as(VU, @splat(1))))) >> @splat(16);
    const nan = (u >> @splat(16)) | @as(VU, @splat(0x40));
    return @truncate(@select(u32, v != v, nan, rounded));
}

pub inline fn storeOne(comptime T: type, comptime C: type, p: *C, v: T) void {
    if (C == T) {
        p.* = v;
    } else if (C == f16) {
        p.* = @floatCast(v);
    } else {
        comptime std.debug.assert(C == BF16 and T == f32);
        p.* = f32ToBf16(v);
    }
}

/// dst[0..n] = src[0..n] widened from E to f32.
pub fn widen(comptime E: type, src: [*]const E, dst: [*]f32, n: usize) void {
    var i: usize = 0;
    while (i + 16 <= n) : (i += 16) dst[i..][0..16].* = loadVec(f32, E, 16, src + i);
    while (i < n) : (i += 1) dst[i] = loadOne(f32, E, src[i]);
}

/// dst[0..n] = src[0..n] rounded from f32 to E.
pub fn narrow(comptime E: type, src: [*]const f32, dst: [*]E, n: usize) void {
    var i: usize = 0;
    while (i + 16 <= n) : (i += 16) storeVec(f32, E, 16, dst + i, src[i..][0..16].*);
    while (i < n) : (i += 1) storeOne(f32, E, &dst[i], src[i]);
}

/// Converts one element between storage types with PyTorch's rules:
/// float to int truncates toward zero; anything to bool is `!= 0`.
pub inline fn convert(comptime To: DType, comptime From: DType, v: Storage(From)) Storage(To) {
    const S = Storage(To);
    if (To == From) return v;
    // Widen the source to a computable value first.
    if (From == .bfloat16) return convert(To, .float32, bf16ToF32(v));
    if (From == .float16) return convert(To, .float32, @as(f32, @floatCast(v)));
    if (To == .bfloat16) {
        const f: f32 = switch (From) {
            .float32 => v,
            .float64 => @floatCast(v),
            else => @floatFromInt(v),
        };
        return f32ToBf16(f);
    }
    if (To == .bool) {
        return @intFromBool(v != 0);
    }
    const from_float = From == .float32 or From == .float64;
    const to_float = To == .float32 or To == .float64 or To == .float16;
    if (from_float and to_float) return @floatCast(v);
    if (!from_float and to_float) return @floatFromInt(v);
    if (from_float and !to_float) {
        // Out-of-range and NaN conversions are undefined in PyTorch; keep them defined here.
        if (std.math.isNan(v)) return 0;
        const lo: f64 = @floatFromInt(std.math.minInt(S));
        const hi: f64 = @floatFromInt(std.math.maxInt(S));
        const t: f64 = @trunc(@as(f64, v));
        if (t <= lo) return std.math.minInt(S);
        if (t >= hi) return std.math.maxInt(S);
        return @intFromFloat(t);
    }
    // Integer to integer wraps, as a C cast does.
    const wide: u128 = @bitCast(@as(i128, v));
    const U = @Int(.unsigned, @bitSizeOf(S));
    return @bitCast(@as(U, @truncate(wide)));
}

test "bfloat16 rounds to nearest even" {
    try std.testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(1.0).bits);
    try std.testing.expectEqual(@as(f32, 1.0), bf16ToF32(f32ToBf16(1.0)));
    try std.testing.expectEqual(@as(u16, 0x3f80), f32ToBf16(@bitCast(@as(u32, 0x3f808000))).bits);
    try std.testing.expectEqual(@as(u16, 0x3f82), f32ToBf16(@bitCast(@as(u32, 0x3f818000))).bits);
}

test "bfloat16 vector stores round as f32ToBf16: denormals, ties, NaN, infinities, overflow" {
    var prng = std.Random.DefaultPrng.init(17);
    const rnd = prng.random();
    var src: [64]f32 = undefined;
    for (0..200) |round| {
        for (&src, 0..) |*v, i| {
            v.* = switch ((i + round) % 9) {
                0 => @bitCast(rnd.int(u32) & 0x807fffff), // a denormal (or zero)
                1 => @bitCast(@as(u32, 0x3f808000) | (rnd.int(u32) & 0x80010000)), // a tie
                2 => std.math.nan(f32),
                3 => @bitCast(@as(u32, 0x7f800001) | (rnd.int(u32) & 0x803fffff)), // a signalling NaN
                4 => if (rnd.boolean()) std.math.inf(f32) else -std.math.inf(f32),
                5 => std.math.floatMax(f32),
                else => @bitCast(rnd.int(u32)),
            };
        }
        // Whole vectors without denormals take the instruction where there is one.
        if (round % 2 == 0) {
            for (src[0..16]) |*v| {
                if (@abs(v.*) < std.math.floatMin(f32)) v.* = 1.5;
            }
        }
        for ([_]bool{ false, true }) |disabled| {
            bf16_convert_disabled = disabled;
            defer bf16_convert_disabled = false;
            var got: [64]BF16 = undefined;
            storeVec(f32, BF16, 64, &got, src);
            var got16: [16]BF16 = undefined;
            storeVec(f32, BF16, 16, &got16, src[0..16].*);
            for (src, got, 0..) |s, g, i| {
                try std.testing.expectEqual(f32ToBf16(s).bits, g.bits);
                if (i < 16) try std.testing.expectEqual(f32ToBf16(s).bits, got16[i].bits);
            }
        }
    }
}
