//! Device code: every CUDA kernel, compiled to PTX by Zig's nvptx64 backend
//! (build.zig: target nvptx64-cuda, sm_80) and embedded in the host library.
//!
//! Each kernel takes one parameter block from abi.zig by value. The op enums
//! come from the CPU kernel files, and the semantics follow them line by line
//! (see the CPU function named in each section). Per-dtype instances are
//! exported under "<family>_<dtype>" names at comptime.
//!
//! Elementwise kernels run a grid-stride loop over the flat index: the
//! contiguous case uses it as the offset; the strided case decodes it with
//! the layout's dims (innermost first, unrolled up to abi.max_dims), in u32
//! arithmetic when the tensor has fewer than 2^32 elements.
const std = @import("std");
const abi = @import("abi.zig");
const dt = @import("../dtype.zig");
const dm = @import("dmath.zig");
const vm = @import("../vmath.zig");
const ew = @import("../elementwise.zig");
const red = @import("../reduce.zig");
const opt = @import("../optim.zig");
const conv = @import("../conv.zig");
const DType = dt.DType;

// ---------------------------------------------------------------- basics

/// Global-memory pointers; allowzero, since optional operands arrive as 0
/// (and a non-allowzero pointer made from 0 would let the compiler drop the
/// `!= 0` checks).
fn G(comptime T: type) type {
    return [*]allowzero addrspace(.global) T;
}

inline fn gp(comptime T: type, addr: u64) G(T) {
    return @ptrFromInt(addr);
}

inline fn nctaid() u32 {
    return asm ("mov.u32 %[r], %nctaid.x;"
        : [r] "=r" (-> u32),
    );
}

inline fn globalId() u64 {
    return @as(u64, @workGroupId(0)) * @workGroupSize(0) + @workItemId(0);
}

inline fn gridSize() u64 {
    return @as(u64, nctaid()) * @workGroupSize(0);
}

/// A block-wide barrier. `barrier.sync` (not `bar.sync`, which is the
/// `.aligned` form): LLVM does not know the inline asm is convergent and may
/// duplicate it into divergent branches (seen: the reduce kernels' lead
/// thread got its own copy, and `bar.sync` then hung on the GPU); the
/// non-aligned form only needs every thread to arrive the same number of times.
inline fn barrier() void {
    asm volatile ("barrier.sync 0;" ::: .{ .memory = true });
}

/// The type a dtype computes in: float16/bfloat16 widen to float32.
fn Compute(comptime D: DType) type {
    return switch (D) {
        .float16, .bfloat16, .float32 => f32,
        .float64 => f64,
        else => dt.Storage(D),
    };
}

inline fn load(comptime D: DType, v: dt.Storage(D)) Compute(D) {
    return switch (D) {
        .float16 => @floatCast(v),
        .bfloat16 => dt.bf16ToF32(v),
        else => v,
    };
}

inline fn store(comptime D: DType, v: Compute(D)) dt.Storage(D) {
    return switch (D) {
        .float16 => @floatCast(v),
        .bfloat16 => dt.f32ToBf16(v),
        else => v,
    };
}

fn isFloatD(comptime D: DType) bool {
    return D == .float32 or D == .float64 or D == .float16 or D == .bfloat16;
}

const all_dtypes = std.enums.values(DType);

fn ShLayout(comptime nops: usize) type {
    return struct {
        var l: abi.Layout(nops) addrspace(.shared) = undefined;
    };
}

/// Element offsets of flat index `flat` for each operand (the layout sits in
/// shared memory, so that this loop indexes it at run time without a copy).
noinline fn decode(comptime nops: usize, l: *addrspace(.shared) const abi.Layout(nops), flat: u64) [nops]i64 {
    var offs: [nops]i64 = @splat(0);
    const nd = l.ndim;
    if (flat <= std.math.maxInt(u32)) {
        var rem: u32 = @intCast(flat);
        for (0..nd) |d| {
            const s: u32 = l.shape[d];
            const q = rem / s;
            const i: i64 = rem - q * s;
            rem = q;
            inline for (0..nops) |k| offs[k] += i * l.strides[k][d];
        }
    } else {
        var rem = flat;
        for (0..nd) |d| {
            const s: u64 = l.shape[d];
            const q = rem / s;
            const i: i64 = @intCast(rem - q * s);
            rem = q;
            inline for (0..nops) |k| offs[k] += i * l.strides[k][d];
        }
    }
    return offs;
}

/// Calls body.run(offsets) for every element of the layout (one copy of the
/// body: the contiguous case only skips the decode).
inline fn forEach(comptime nops: usize, l: *const abi.Layout(nops), body: anytype) void {
    const sl = &ShLayout(nops).l;
    if (@workItemId(0) == 0) sl.* = l.*;
    barrier();
    const n = l.numel;
    const contiguous = l.contiguous != 0;
    var i = globalId();
    const step = gridSize();
    while (i < n) : (i += step) {
        const o: i64 = @intCast(i);
        body.run(if (contiguous) @as([nops]i64, @splat(o)) else decode(nops, sl, i));
    }
}

/// f.apply on every lane of one 16-byte vector per operand.
inline fn applyLanes(comptime S: type, comptime nin: usize, comptime w: usize, xs: [nin]@Vector(w, @Int(.unsigned, @bitSizeOf(S))), f: anytype) @Vector(w, @Int(.unsigned, @bitSizeOf(S))) {
    var y: @Vector(w, @Int(.unsigned, @bitSizeOf(S))) = undefined;
    inline for (0..w) |l| {
        var e: [nin]S = undefined;
        inline for (0..nin) |k| e[k] = @bitCast(xs[k][l]);
        y[l] = @bitCast(f.apply(e));
    }
    return y;
}

/// The contiguous fast path of the elementwise kernels: `nin` inputs and the
/// output, all of storage type S, `n` elements each. Every thread moves 16
/// bytes per operand per step (one ld.global.v4/st.global.v4), since scalar
/// loads keep too few bytes in flight to reach the memory bandwidth (the
/// scalar loop reached about a fifth of it on an H200). `f.apply([nin]S) S`
/// computes one element. Returns false, having done nothing, when an operand
/// is not 16-byte aligned (a view at an odd offset): then the caller runs the
/// general loop. The test is uniform over the grid, so nothing diverges.
inline fn flatVector(comptime S: type, comptime nin: usize, ins: [nin]u64, out: u64, n: u64, f: anytype) bool {
    const w = 16 / @sizeOf(S);
    comptime std.debug.assert(w * @sizeOf(S) == 16);
    var bits = out;
    inline for (ins) |x| bits |= x;
    if (bits % 16 != 0) return false;
    // Vectors of the bits: bfloat16's storage is a packed struct.
    const B = @Int(.unsigned, @bitSizeOf(S));
    const V = @Vector(w, B);
    const VP = [*]addrspace(.global) V;
    const nv = n / w;
    const step = gridSize();
    var j = globalId();
    // Two steps per pass, every load issued before the first store: the
    // stores may alias the inputs, so the compiler cannot hoist the next
    // step's loads above them itself, and one step's loads alone leave the
    // memory system about a third idle (66% of the H200's bandwidth).
    while (j + step < nv) : (j += 2 * step) {
        var xs: [2][nin]V = undefined;
        inline for (0..2) |u| {
            inline for (0..nin) |k| xs[u][k] = @as(VP, @ptrFromInt(ins[k]))[j + u * step];
        }
        inline for (0..2) |u| {
            @as(VP, @ptrFromInt(out))[j + u * step] = applyLanes(S, nin, w, xs[u], f);
        }
    }
    if (j < nv) {
        var xs: [nin]V = undefined;
        inline for (0..nin) |k| xs[k] = @as(VP, @ptrFromInt(ins[k]))[j];
        @as(VP, @ptrFromInt(out))[j] = applyLanes(S, nin, w, xs, f);
    }
    // The last n % w elements, one per thread.
    const t = nv * w + globalId();
    if (t < n) {
        var e: [nin]S = undefined;
        inline for (0..nin) |k| e[k] = gp(S, ins[k])[t];
        gp(S, out)[t] = f.apply(e);
    }
    return true;
}

inline fn at(p: anytype, off: i64) @TypeOf(&p[0]) {
    return &p[@intCast(off)];
}

// ---------------------------------------------------------------- copy / fill
// elementwise.zig: copy (dt.convert's PyTorch cast rules).

fn copyKernel(comptime S: DType, comptime D: DType) fn (abi.CopyArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.CopyArgs) callconv(.kernel) void {
            const Body = struct {
                s: G(dt.Storage(S)),
                d: G(dt.Storage(D)),
                inline fn run(b: @This(), o: [2]i64) void {
                    at(b.d, o[1]).* = dt.convert(D, S, at(b.s, o[0]).*);
                }
            };
            forEach(2, &a.l, Body{ .s = gp(dt.Storage(S), a.src), .d = gp(dt.Storage(D), a.dst) });
        }
    }.k;
}

fn fillKernel(comptime T: type) fn (abi.FillArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.FillArgs) callconv(.kernel) void {
            const Body = struct {
                d: G(T),
                v: T,
                inline fn run(b: @This(), o: [1]i64) void {
                    at(b.d, o[0]).* = b.v;
                }
            };
            forEach(1, &a.l, Body{ .d = gp(T, a.dst), .v = @truncate(a.bits) });
        }
    }.k;
}

// ---------------------------------------------------------------- unary
// elementwise.zig: unaryFloat, unaryInt, predicate.

inline fn unaryFloat(comptime F: type, comptime op: ew.Unary, x: F, a: abi.UnaryArgs) F {
    const wide: f64 = x;
    const V1 = @Vector(1, F);
    return switch (op) {
        .neg => -x,
        .abs => @abs(x),
        .sign => if (x > 0) 1 else if (x < 0) -1 else 0,
        .exp => vm.exp(F, 1, @as(V1, @splat(x)))[0],
        .exp2 => @floatCast(dm.exp2(wide)),
        .log => vm.log(F, 1, @as(V1, @splat(x)))[0],
        .log2 => @floatCast(dm.log2(wide)),
        .log1p => @floatCast(dm.log1p(wide)),
        .expm1 => @floatCast(dm.expm1(wide)),
        .sqrt => @sqrt(x),
        .rsqrt => 1 / @sqrt(x),
        .reciprocal => 1 / x,
        .square => x * x,
        .sin => @floatCast(dm.sin(wide)),
        .cos => @floatCast(dm.cos(wide)),
        .tan => @floatCast(dm.tan(wide)),
        .tanh => vm.tanh(F, 1, @as(V1, @splat(x)))[0],
        .sigmoid => vm.sigmoid(F, 1, @as(V1, @splat(x)))[0],
        .relu => if (x > 0 or x != x) x else 0,
        .leaky_relu => if (x > 0) x else x * @as(F, @floatCast(a.a)),
        .elu => if (x > 0) x else @as(F, @floatCast(a.a)) * @as(F, @floatCast(dm.expm1(wide))),
        // float32 (and the half types, computed in float32): the CPU's gelu32,
        // bit for bit.
        .gelu_erf => if (F == f32) vm.gelu32(1, @as(V1, @splat(x)))[0] else 0.5 * x * (1 + @as(F, @floatCast(dm.erf(@as(f64, x * std.math.sqrt1_2))))),
        .gelu_tanh => blk: {
            const k: F = @sqrt(2.0 / std.math.pi);
            const t = k * (x + 0.044715 * x * x * x);
            break :blk 0.5 * x * (1 + vm.tanh(F, 1, @as(V1, @splat(t)))[0]);
        },
        .silu => vm.silu(F, 1, @as(V1, @splat(x)))[0],
        .softplus => blk: {
            const beta: F = @floatCast(a.a);
            const threshold: F = @floatCast(a.b);
            if (x * beta > threshold) break :blk x;
            const e = vm.exp(F, 1, @as(V1, @splat(x * beta)))[0];
            break :blk @as(F, @floatCast(dm.log1p(e))) / beta;
        },
        .floor => @floor(x),
        .ceil => @ceil(x),
        .round => dm.roundEven(F, x),
        .trunc => @trunc(x),
        .nan_to_num => if (x != x) @floatCast(a.a) else if (x == std.math.inf(F)) @floatCast(a.b) else if (x == -std.math.inf(F)) @floatCast(a.c) else x,
        .erf => @floatCast(dm.erf(wide)),
        .gelu_erf_grad => @floatCast(0.5 * (1 + dm.erf(wide * std.math.sqrt1_2)) + wide * dm.exp(-0.5 * wide * wide) * (1.0 / @sqrt(2.0 * std.math.pi))),
        .gelu_tanh_grad => blk: {
            const k: F = @sqrt(2.0 / std.math.pi);
            const t = vm.tanh(F, 1, @as(V1, @splat(k * (x + 0.044715 * x * x * x))))[0];
            break :blk 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
        },
        .asin => @floatCast(dm.asin(wide)),
        .acos => @floatCast(dm.acos(wide)),
        .atan => @floatCast(dm.atan(wide)),
        .sinh => @floatCast(dm.sinh(wide)),
        .cosh => @floatCast(dm.cosh(wide)),
        .asinh => @floatCast(dm.asinh(wide)),
        .acosh => @floatCast(dm.acosh(wide)),
        .atanh => @floatCast(dm.atanh(wide)),
        .isnan, .isinf, .logical_not => unreachable,
    };
}

inline fn unaryInt(comptime T: type, comptime op: ew.Unary, x: T) T {
    return switch (op) {
        .neg => if (T == u8) 0 -% x else -%x,
        .abs => if (T == u8) x else if (x < 0) -%x else x,
        .sign => if (x > 0) 1 else if (x < 0) if (T == u8) 0 else -1 else 0,
        .square => x *% x,
        .relu => if (x > 0) x else 0,
        .floor, .ceil, .round, .trunc => x,
        else => unreachable,
    };
}

inline fn predicate(comptime C: type, comptime op: ew.Unary, x: C) u8 {
    const float = C == f32 or C == f64;
    return switch (op) {
        .isnan => if (float) @intFromBool(x != x) else 0,
        .isinf => if (float) @intFromBool(@abs(x) == std.math.inf(C)) else 0,
        .logical_not => @intFromBool(x == 0),
        else => unreachable,
    };
}

fn unaryOne(comptime D: DType, comptime op: ew.Unary, x: G(dt.Storage(D)), y: u64, a: *const abi.UnaryArgs, o: [2]i64) void {
    const S = dt.Storage(D);
    const C = Compute(D);
    const float = comptime isFloatD(D);
    if (comptime (!float and !op.allowsInt())) return;
    const v = load(D, at(x, o[0]).*);
    if (comptime op.isPredicate()) {
        at(gp(u8, y), o[1]).* = predicate(C, op, v);
    } else {
        at(gp(S, y), o[1]).* = if (comptime float) store(D, unaryFloat(C, op, v, a.*)) else unaryInt(C, op, v);
    }
}

/// Every unary op on any layout, one element per thread per step. The host
/// sends contiguous, 16-byte aligned float32 and float64 operands of the
/// abi.flatUnary ops to unaryFlatKernel instead.
fn unaryKernel(comptime D: DType) fn (abi.UnaryArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.UnaryArgs) callconv(.kernel) void {
            @setEvalBranchQuota(100_000);
            const Body = struct {
                x: G(dt.Storage(D)),
                a: *const abi.UnaryArgs,
                inline fn run(b: @This(), o: [2]i64) void {
                    switch (b.a.op) {
                        inline 0...std.enums.values(ew.Unary).len - 1 => |op| unaryOne(D, @enumFromInt(op), b.x, b.a.y, b.a, o),
                        else => {},
                    }
                }
            };
            forEach(2, &a.l, Body{ .x = gp(dt.Storage(D), a.x), .a = &a });
        }
    }.k;
}

/// The 16-byte vector path (flatVector) of one unary op, for contiguous,
/// 16-byte aligned float32 and float64 operands of the abi.flatUnary ops (the
/// host checks all three before it picks this kernel). unaryKernel needs the
/// registers of its costliest op (80, and a 632-byte stack frame, for float32
/// on sm_90), which leaves room for few threads per multiprocessor and so few
/// loads in flight: exp over 256M floats ran at 73% of an H200's bandwidth
/// through it. exp alone needs 32 registers (all ops in one kernel: 48).
fn unaryFlatKernel(comptime D: DType, comptime op: ew.Unary) fn (abi.UnaryArgs) callconv(.kernel) void {
    comptime std.debug.assert((D == .float32 or D == .float64) and abi.flatUnary(op));
    return struct {
        fn k(a: abi.UnaryArgs) callconv(.kernel) void {
            const Apply = struct {
                args: *const abi.UnaryArgs,
                inline fn apply(f: @This(), e: [1]dt.Storage(D)) dt.Storage(D) {
                    return unaryFloat(Compute(D), op, e[0], f.args.*);
                }
            };
            _ = flatVector(dt.Storage(D), 1, .{a.x}, a.y, a.l.numel, Apply{ .args = &a });
        }
    }.k;
}

// ---------------------------------------------------------------- binary
// elementwise.zig: binaryArith, binaryPred, floorDivFloat.

inline fn floorDivFloat(comptime F: type, a: F, b: F) F {
    if (b == 0) return a / b;
    const mod: F = @floatCast(dm.fmod(a, b));
    var div = (a - mod) / b;
    if (mod != 0 and (b < 0) != (mod < 0)) div -= 1;
    if (div == 0) return std.math.copysign(@as(F, 0), a / b);
    var fl = @floor(div);
    if (div - fl > 0.5) fl += 1;
    return fl;
}

fn intPow(comptime T: type, base: T, exp_in: T) T {
    var result: T = 1;
    var b = base;
    var e = exp_in;
    while (e > 0) {
        if (e & 1 == 1) result = result *% b;
        b = b *% b;
        e >>= 1;
    }
    return result;
}

inline fn binaryArith(comptime T: type, comptime op: ew.Binary, a: T, b: T) T {
    const float = T == f32 or T == f64;
    return switch (op) {
        .add => if (float) a + b else a +% b,
        .sub => if (float) a - b else a -% b,
        .mul => if (float) a * b else a *% b,
        .div => a / b,
        .pow => if (float) @floatCast(dm.pow(a, b)) else intPow(T, a, b),
        .maximum => if (float) (if (a != a or b != b) a + b else @max(a, b)) else @max(a, b),
        .minimum => if (float) (if (a != a or b != b) a + b else @min(a, b)) else @min(a, b),
        .remainder => if (float) blk: {
            var r: T = @floatCast(dm.fmod(a, b));
            if (r != 0 and (r < 0) != (b < 0)) r += b;
            break :blk r;
        } else ew.intMod(T, a, b),
        .floor_divide => if (float) floorDivFloat(T, a, b) else ew.intFloorDiv(T, a, b),
        .atan2 => @floatCast(dm.atan2(a, b)),
        .fmod => if (float) @floatCast(dm.fmod(a, b)) else ew.intRem(T, a, b),
        .copysign => std.math.copysign(a, b),
        else => unreachable,
    };
}

fn binaryOne(comptime D: DType, comptime op: ew.Binary, a: *const abi.BinaryArgs, o: [3]i64) void {
    const S = dt.Storage(D);
    const C = Compute(D);
    const float = comptime isFloatD(D);
    if (comptime (!float and op.floatOnly())) return;
    const x = load(D, at(gp(S, a.a), o[0]).*);
    const y = load(D, at(gp(S, a.b), o[1]).*);
    if (comptime op.isPredicate()) {
        at(gp(u8, a.out), o[2]).* = ew.binaryPred(C, op, x, y);
    } else {
        at(gp(S, a.out), o[2]).* = store(D, binaryArith(C, op, x, y));
    }
}

/// The binary ops with a vector path: the vector loop unrolls the op once per
/// lane, so the ones that call the device libm (pow, atan2, fmod) stay scalar
/// and keep the PTX small (it is JIT-compiled where no cubin matches).
fn vectorBinary(comptime op: ew.Binary) bool {
    return switch (op) {
        .add, .sub, .mul, .div, .maximum, .minimum => true,
        else => false,
    };
}

/// Contiguous float operands of the ops above take the 16-byte vector path
/// (the op is uniform, so its switch sits outside that loop); the rest run
/// the general loop, one copy for every op.
fn binaryKernel(comptime D: DType) fn (abi.BinaryArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.BinaryArgs) callconv(.kernel) void {
            @setEvalBranchQuota(100_000);
            if (comptime isFloatD(D)) {
                if (a.l.contiguous != 0) switch (a.op) {
                    inline 0...std.enums.values(ew.Binary).len - 1 => |opi| {
                        const op: ew.Binary = @enumFromInt(opi);
                        if (comptime vectorBinary(op)) {
                            const Apply = struct {
                                inline fn apply(_: @This(), e: [2]dt.Storage(D)) dt.Storage(D) {
                                    return store(D, binaryArith(Compute(D), op, load(D, e[0]), load(D, e[1])));
                                }
                            };
                            if (flatVector(dt.Storage(D), 2, .{ a.a, a.b }, a.out, a.l.numel, Apply{})) return;
                        }
                    },
                    else => {},
                };
            }
            const Body = struct {
                a: *const abi.BinaryArgs,
                inline fn run(b: @This(), o: [3]i64) void {
                    switch (b.a.op) {
                        inline 0...std.enums.values(ew.Binary).len - 1 => |op| binaryOne(D, @enumFromInt(op), b.a, o),
                        else => {},
                    }
                }
            };
            forEach(3, &a.l, Body{ .a = &a });
        }
    }.k;
}

/// Integer remainder/floor_divide (zero divisor) and pow (negative exponent)
/// have no result: sets *flag (u32) to 1 when operand 0 holds such a value.
fn intCheckKernel(comptime T: type) fn (abi.CheckArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.CheckArgs) callconv(.kernel) void {
            const Body = struct {
                b: G(T),
                flag: G(u32),
                zero_bad: bool,
                inline fn run(s: @This(), o: [1]i64) void {
                    const v = at(s.b, o[0]).*;
                    if (if (s.zero_bad) v == 0 else v < 0) s.flag[0] = 1;
                }
            };
            forEach(1, &a.l, Body{ .b = gp(T, a.idx), .flag = gp(u32, a.result), .zero_bad = a.lo == 0 });
        }
    }.k;
}

// ---------------------------------------------------------------- where

fn whereKernel(comptime T: type) fn (abi.WhereArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.WhereArgs) callconv(.kernel) void {
            const Body = struct {
                c: G(u8),
                a: G(T),
                b: G(T),
                o: G(T),
                inline fn run(s: @This(), o: [4]i64) void {
                    at(s.o, o[3]).* = if (at(s.c, o[0]).* != 0) at(s.a, o[1]).* else at(s.b, o[2]).*;
                }
            };
            forEach(4, &a.l, Body{ .c = gp(u8, a.c), .a = gp(T, a.a), .b = gp(T, a.b), .o = gp(T, a.out) });
        }
    }.k;
}

// ---------------------------------------------------------------- block reductions

pub const block = 256;
var sh_f: [block]f64 addrspace(.shared) = undefined;
var sh_u: [block]u64 addrspace(.shared) = undefined;
var sh_i: [block]u64 addrspace(.shared) = undefined;

const Combine = enum { sum, max, min, max_nan };

inline fn combineF(comptime c: Combine, a: f64, b: f64) f64 {
    return switch (c) {
        .sum => a + b,
        // fmax/fmin: a NaN operand is ignored (Zig's @max on the CPU).
        .max => if (a != a) b else if (b != b) a else @max(a, b),
        .min => if (a != a) b else if (b != b) a else @min(a, b),
        // NaN wins (softmax's max).
        .max_nan => if (a != a) a else if (b != b) b else @max(a, b),
    };
}

/// Tree reduction over the block (blockDim = `block`); every thread gets the result.
inline fn blockF(comptime c: Combine, v: f64) f64 {
    const t = @workItemId(0);
    sh_f[t] = v;
    barrier();
    var s: u32 = block / 2;
    while (s > 0) : (s >>= 1) {
        if (t < s) sh_f[t] = combineF(c, sh_f[t], sh_f[t + s]);
        barrier();
    }
    const r = sh_f[0];
    barrier();
    return r;
}

/// Wrapping integer sum or product over the block (mod 2^64, so the
/// truncation to the element type equals wrapping in that type).
inline fn blockWrap(comptime prod: bool, v: u64) u64 {
    const t = @workItemId(0);
    sh_u[t] = v;
    barrier();
    var s: u32 = block / 2;
    while (s > 0) : (s >>= 1) {
        if (t < s) sh_u[t] = if (prod) sh_u[t] *% sh_u[t + s] else sh_u[t] +% sh_u[t + s];
        barrier();
    }
    const r = sh_u[0];
    barrier();
    return r;
}

fn Bits(comptime T: type) type {
    return @Int(.unsigned, @bitSizeOf(T));
}

inline fn toBits(comptime T: type, v: T) u64 {
    return @as(Bits(T), @bitCast(v));
}

inline fn fromBits(comptime T: type, v: u64) T {
    return @bitCast(@as(Bits(T), @truncate(v)));
}

/// The running best of max/min/argmax/argmin: NaN wins, then the larger
/// (smaller) value, then the smaller index (reduce.zig's first-index rule).
fn Best(comptime T: type, comptime want_max: bool) type {
    return struct {
        v: T,
        i: u64,
        const none = std.math.maxInt(u64);
        inline fn better(a: @This(), b: @This()) bool {
            if (b.i == none) return a.i != none;
            if (a.i == none) return false;
            const float = T == f32 or T == f64;
            if (float) {
                const an = a.v != a.v;
                const bn = b.v != b.v;
                if (an or bn) return if (an and bn) a.i < b.i else an;
            }
            if (a.v == b.v) return a.i < b.i;
            return if (want_max) a.v > b.v else a.v < b.v;
        }
        inline fn reduceBlock(self: @This()) @This() {
            const t = @workItemId(0);
            sh_u[t] = toBits(T, self.v);
            sh_i[t] = self.i;
            barrier();
            var s: u32 = block / 2;
            while (s > 0) : (s >>= 1) {
                if (t < s) {
                    const a = @This(){ .v = fromBits(T, sh_u[t]), .i = sh_i[t] };
                    const b = @This(){ .v = fromBits(T, sh_u[t + s]), .i = sh_i[t + s] };
                    if (b.better(a)) {
                        sh_u[t] = sh_u[t + s];
                        sh_i[t] = sh_i[t + s];
                    }
                }
                barrier();
            }
            const r = @This(){ .v = fromBits(T, sh_u[0]), .i = sh_i[0] };
            barrier();
            return r;
        }
    };
}

// ---------------------------------------------------------------- reduce
// reduce.zig: reduceLine, reduceBool. Lines are x[o, :, j]; a line is either
// reduced by a whole block (inner == 1, long lines: host sets the grid so) or
// by one thread.

fn Line(comptime T: type) type {
    return struct {
        x: G(T),
        stride: u64,
        n: u64,
        /// This thread's share: first index and step.
        first: u64,
        step: u64,
        whole_block: bool,
        inline fn get(l: @This(), i: u64) T {
            return l.x[i * l.stride];
        }
        inline fn f(l: @This(), i: u64) f64 {
            const v = l.get(i);
            return if (T == f32 or T == f64) v else @floatFromInt(v);
        }
        inline fn redF(l: @This(), comptime c: Combine, v: f64) f64 {
            return if (l.whole_block) blockF(c, v) else v;
        }
        inline fn sum(l: @This()) f64 {
            var s: f64 = 0;
            var i = l.first;
            while (i < l.n) : (i += l.step) s += l.f(i);
            return l.redF(.sum, s);
        }
    };
}

fn reduceLine(comptime T: type, comptime op: red.Reduce, l: Line(T), p: f64, out: G(u8), idx: G(i64), li: u64) void {
    const float = T == f32 or T == f64;
    const lead = !l.whole_block or @workItemId(0) == 0;
    const outT: G(T) = @ptrCast(@alignCast(out));
    switch (op) {
        .sum, .prod => {
            if (float) {
                var s: f64 = if (op == .sum) 0 else 1;
                var i = l.first;
                while (i < l.n) : (i += l.step) s = if (op == .sum) s + l.f(i) else s * l.f(i);
                if (op == .sum) {
                    s = l.redF(.sum, s);
                } else if (l.whole_block) {
                    // Products of the partial products, in a tree.
                    const t = @workItemId(0);
                    sh_f[t] = s;
                    barrier();
                    var k: u32 = block / 2;
                    while (k > 0) : (k >>= 1) {
                        if (t < k) sh_f[t] *= sh_f[t + k];
                        barrier();
                    }
                    s = sh_f[0];
                    barrier();
                }
                if (lead) outT[li] = @floatCast(s);
            } else {
                var s: u64 = if (op == .sum) 0 else 1;
                var i = l.first;
                while (i < l.n) : (i += l.step) {
                    const v: u64 = @bitCast(@as(i64, l.get(i)));
                    s = if (op == .sum) s +% v else s *% v;
                }
                if (l.whole_block) s = blockWrap(op == .prod, s);
                if (lead) outT[li] = @bitCast(@as(Bits(T), @truncate(s)));
            }
        },
        .mean => {
            if (!float) return;
            const s = l.sum();
            if (lead) outT[li] = @floatCast(s / @as(f64, @floatFromInt(l.n)));
        },
        .max, .min, .argmax, .argmin => {
            const B = Best(T, op == .max or op == .argmax);
            var best = B{ .v = undefined, .i = B.none };
            var i = l.first;
            while (i < l.n) : (i += l.step) {
                const c = B{ .v = l.get(i), .i = i };
                if (c.better(best)) best = c;
            }
            if (l.whole_block) best = best.reduceBlock();
            if (lead) {
                if (op == .max or op == .min) outT[li] = best.v;
                if (@intFromPtr(idx) != 0) idx[li] = @intCast(best.i);
            }
        },
        .variance => {
            if (!float) return;
            const nf: f64 = @floatFromInt(l.n);
            const mean = l.sum() / nf;
            var ss: f64 = 0;
            var i = l.first;
            while (i < l.n) : (i += l.step) {
                const d = l.f(i) - mean;
                ss += d * d;
            }
            ss = l.redF(.sum, ss);
            const denom = nf - p;
            if (lead) outT[li] = @floatCast(if (denom <= 0) std.math.nan(f64) else ss / denom);
        },
        .logsumexp => {
            if (!float) return;
            var mx: f64 = -std.math.inf(f64);
            var i = l.first;
            while (i < l.n) : (i += l.step) mx = combineF(.max, mx, l.f(i));
            mx = l.redF(.max, mx);
            if (mx == -std.math.inf(f64) or mx == std.math.inf(f64)) {
                if (lead) outT[li] = @floatCast(mx);
                return;
            }
            var s: f64 = 0;
            i = l.first;
            while (i < l.n) : (i += l.step) s += dm.exp(l.f(i) - mx);
            s = l.redF(.sum, s);
            if (lead) outT[li] = @floatCast(mx + dm.log(s));
        },
        .norm => {
            if (!float) return;
            var r: f64 = 0;
            var i = l.first;
            if (p == std.math.inf(f64)) {
                while (i < l.n) : (i += l.step) r = combineF(.max, r, @abs(l.f(i)));
                r = l.redF(.max, r);
            } else if (p == -std.math.inf(f64)) {
                r = std.math.inf(f64);
                while (i < l.n) : (i += l.step) r = combineF(.min, r, @abs(l.f(i)));
                r = l.redF(.min, r);
            } else if (p == 0) {
                while (i < l.n) : (i += l.step) r += if (l.get(i) != 0) 1 else 0;
                r = l.redF(.sum, r);
            } else if (p == 1) {
                while (i < l.n) : (i += l.step) r += @abs(l.f(i));
                r = l.redF(.sum, r);
            } else if (p == 2) {
                while (i < l.n) : (i += l.step) {
                    const v = l.f(i);
                    r += v * v;
                }
                r = @sqrt(l.redF(.sum, r));
            } else {
                while (i < l.n) : (i += l.step) r += dm.pow(@abs(l.f(i)), p);
                r = dm.pow(l.redF(.sum, r), 1 / p);
            }
            if (lead) outT[li] = @floatCast(r);
        },
        .all, .any => {
            const any = op == .any;
            var hit = false;
            var i = l.first;
            while (i < l.n) : (i += l.step) {
                if ((l.get(i) != 0) == any) hit = true;
            }
            if (l.whole_block) hit = blockWrap(false, @intFromBool(hit)) != 0;
            if (lead) out[li] = @intFromBool(if (any) hit else !hit);
        },
    }
}

fn reduceRun(comptime T: type, comptime op: red.Reduce, a: *const abi.ReduceArgs) void {
    const lines = a.outer * a.inner;
    const x = gp(T, a.x);
    const out = gp(u8, a.out);
    const idx = gp(i64, a.idx);
    if (a.inner == 1 and @workGroupSize(0) == block and a.r >= 64) {
        // A block per line.
        var li: u64 = @workGroupId(0);
        while (li < lines) : (li += nctaid()) {
            const l = Line(T){ .x = x + li * a.r, .stride = 1, .n = a.r, .first = @workItemId(0), .step = block, .whole_block = true };
            reduceLine(T, op, l, a.p, out, idx, li);
        }
    } else {
        var li = globalId();
        while (li < lines) : (li += gridSize()) {
            const o = li / a.inner;
            const j = li - o * a.inner;
            const l = Line(T){ .x = x + o * a.r * a.inner + j, .stride = a.inner, .n = a.r, .first = 0, .step = 1, .whole_block = false };
            reduceLine(T, op, l, a.p, out, idx, li);
        }
    }
}

fn reduceKernel(comptime D: DType) fn (abi.ReduceArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.ReduceArgs) callconv(.kernel) void {
            switch (a.op) {
                inline 0...std.enums.values(red.Reduce).len - 1 => |o| reduceRun(dt.Storage(D), @enumFromInt(o), &a),
                else => {},
            }
        }
    }.k;
}

// ---------------------------------------------------------------- scan
// reduce.zig: scan. One thread per line, in order (the CPU's exact sums).

fn scanKernel(comptime D: DType) fn (abi.ScanArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.ScanArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const x = gp(T, a.x);
            const out = gp(T, a.out);
            const lines = a.outer * a.inner;
            const cumsum = a.op == @intFromEnum(red.Scan.cumsum);
            var li = globalId();
            while (li < lines) : (li += gridSize()) {
                const o = li / a.inner;
                const j = li - o * a.inner;
                const base = o * a.r * a.inner + j;
                if (comptime T == f32 or T == f64) {
                    const lse = a.op == @intFromEnum(red.Scan.logcumsumexp);
                    var acc: f64 = if (lse) -std.math.inf(f64) else if (cumsum) 0 else 1;
                    for (0..a.r) |i| {
                        const v: f64 = x[base + i * a.inner];
                        acc = if (lse) red.logAddExp(acc, v, dm.exp, dm.log1p) else if (cumsum) acc + v else acc * v;
                        out[base + i * a.inner] = @floatCast(acc);
                    }
                } else {
                    var acc: T = if (cumsum) 0 else 1;
                    for (0..a.r) |i| {
                        const v = x[base + i * a.inner];
                        acc = if (cumsum) acc +% v else acc *% v;
                        out[base + i * a.inner] = acc;
                    }
                }
            }
        }
    }.k;
}

// ---------------------------------------------------------------- softmax
// reduce.zig: softmax. float32 exps in float32 (vmath, as the CPU's
// contiguous path), summed in float64.

inline fn expT(comptime T: type, x: T) T {
    return vm.exp(T, 1, @as(@Vector(1, T), @splat(x)))[0];
}

fn softmaxKernel(comptime D: DType) fn (abi.SoftmaxArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.SoftmaxArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const x = gp(T, a.x);
            const out = gp(T, a.out);
            const lines = a.outer * a.inner;
            const log = a.log != 0;
            if (a.inner == 1 and @workGroupSize(0) == block and a.r >= 64) {
                const t: u64 = @workItemId(0);
                var li: u64 = @workGroupId(0);
                while (li < lines) : (li += nctaid()) {
                    const xl = x + li * a.r;
                    const ol = out + li * a.r;
                    var mx: f64 = -std.math.inf(f64);
                    var i = t;
                    while (i < a.r) : (i += block) mx = combineF(.max_nan, mx, xl[i]);
                    const m: T = @floatCast(blockF(.max_nan, mx));
                    var s: f64 = 0;
                    i = t;
                    while (i < a.r) : (i += block) {
                        const e = expT(T, xl[i] - m);
                        if (!log) ol[i] = e;
                        s += e;
                    }
                    s = blockF(.sum, s);
                    i = t;
                    if (log) {
                        const ls: T = @floatCast(dm.log(s));
                        while (i < a.r) : (i += block) ol[i] = xl[i] - m - ls;
                    } else {
                        const inv: T = @floatCast(1 / s);
                        while (i < a.r) : (i += block) ol[i] *= inv;
                    }
                }
                return;
            }
            var li = globalId();
            while (li < lines) : (li += gridSize()) {
                const o = li / a.inner;
                const j = li - o * a.inner;
                const base = o * a.r * a.inner + j;
                const st = a.inner;
                var m: T = -std.math.inf(T);
                for (0..a.r) |i| {
                    const v = x[base + i * st];
                    if (v != v) {
                        m = v;
                        break;
                    }
                    m = @max(m, v);
                }
                var s: f64 = 0;
                for (0..a.r) |i| {
                    const e = expT(T, x[base + i * st] - m);
                    if (!log) out[base + i * st] = e;
                    s += e;
                }
                if (log) {
                    const ls: T = @floatCast(dm.log(s));
                    for (0..a.r) |i| out[base + i * st] = x[base + i * st] - m - ls;
                } else {
                    const inv: T = @floatCast(1 / s);
                    for (0..a.r) |i| out[base + i * st] *= inv;
                }
            }
        }
    }.k;
}

// ---------------------------------------------------------------- matmul
// The reference GEMM when cuBLAS is missing (and for integers): 16x16 tiles
// in shared memory, one output per thread; grid (n/16, m/16, batch).

pub const tile = 16;

fn Tiles(comptime C: type) type {
    return struct {
        var a: [tile * tile]C addrspace(.shared) = undefined;
        var b: [tile * tile]C addrspace(.shared) = undefined;
    };
}

fn matmulKernel(comptime D: DType) fn (abi.MatmulArgs) callconv(.kernel) void {
    return struct {
        fn k(p: abi.MatmulArgs) callconv(.kernel) void {
            const S = dt.Storage(D);
            const C = Compute(D);
            const float = comptime isFloatD(D);
            const t = Tiles(C);
            const tx = @workItemId(0) % tile;
            const ty = @workItemId(0) / tile;
            const col = @workGroupId(0) * tile + tx;
            const row = @workGroupId(1) * tile + ty;
            const bi: u64 = @workGroupId(2);
            const A = gp(S, p.a);
            const B = gp(S, p.b);
            const Cm = gp(S, p.c);
            const a_base: i64 = @as(i64, @intCast(bi)) * p.a_batch;
            const b_base: i64 = @as(i64, @intCast(bi)) * p.b_batch;
            var acc: C = 0;
            var k0: u32 = 0;
            while (k0 < p.k) : (k0 += tile) {
                const ka = k0 + tx;
                t.a[ty * tile + tx] = if (row < p.m and ka < p.k)
                    load(D, A[@intCast(a_base + @as(i64, row) * p.a_row + @as(i64, ka) * p.a_col)])
                else
                    0;
                const kb = k0 + ty;
                t.b[ty * tile + tx] = if (col < p.n and kb < p.k)
                    load(D, B[@intCast(b_base + @as(i64, kb) * p.b_row + @as(i64, col) * p.b_col)])
                else
                    0;
                barrier();
                inline for (0..tile) |kk| {
                    if (float) {
                        acc += t.a[ty * tile + kk] * t.b[kk * tile + tx];
                    } else {
                        acc +%= t.a[ty * tile + kk] *% t.b[kk * tile + tx];
                    }
                }
                barrier();
            }
            if (row < p.m and col < p.n) Cm[(bi * p.m + row) * p.n + col] = store(D, acc);
        }
    }.k;
}

// ---------------------------------------------------------------- indexing
// index.zig: indexSelect, gather, scatter (the bounds check runs first, in
// checkKernel; the host reads its result before moving anything).

fn checkKernel(a: abi.CheckArgs) callconv(.kernel) void {
    const Body = struct {
        idx: G(i64),
        result: G(u64),
        lo: i64,
        size: i64,
        l: *const abi.Layout(1),
        flat: u64,
        inline fn run(s: @This(), o: [1]i64) void {
            const v = at(s.idx, o[0]).*;
            if (v < s.lo or v >= s.size) _ = @atomicRmw(u64, &s.result[0], .Min, s.flat, .monotonic);
        }
    };
    // forEach does not pass the flat index: walk it here.
    const sl = &ShLayout(1).l;
    if (@workItemId(0) == 0) sl.* = a.l;
    barrier();
    const n = a.l.numel;
    var i = globalId();
    while (i < n) : (i += gridSize()) {
        const o = if (a.l.contiguous != 0) [1]i64{@intCast(i)} else decode(1, sl, i);
        const b = Body{ .idx = gp(i64, a.idx), .result = gp(u64, a.result), .lo = a.lo, .size = a.size, .l = &a.l, .flat = i };
        b.run(o);
    }
}

fn indexSelectKernel(comptime T: type) fn (abi.IndexSelectArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.IndexSelectArgs) callconv(.kernel) void {
            const x = gp(T, a.x);
            const idx = gp(i64, a.idx);
            const out = gp(T, a.out);
            const total = a.outer * a.n * a.inner;
            const size: i64 = @intCast(a.size);
            var e = globalId();
            while (e < total) : (e += gridSize()) {
                const j = e % a.inner;
                const rest = e / a.inner;
                const i = rest % a.n;
                const o = rest / a.n;
                var v = idx[i];
                if (v < 0) v += size;
                out[e] = x[(o * a.size + @as(u64, @intCast(v))) * a.inner + j];
            }
        }
    }.k;
}

fn gatherKernel(comptime T: type) fn (abi.GatherArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.GatherArgs) callconv(.kernel) void {
            const Body = struct {
                idx: G(i64),
                x: G(T),
                out: G(T),
                ds: i64,
                inline fn run(s: @This(), o: [3]i64) void {
                    const v = at(s.idx, o[0]).*;
                    at(s.out, o[2]).* = at(s.x, o[1] + v * s.ds).*;
                }
            };
            forEach(3, &a.l, Body{ .idx = gp(i64, a.idx), .x = gp(T, a.x), .out = gp(T, a.out), .ds = a.dim_stride });
        }
    }.k;
}

fn scatterKernel(comptime D: DType) fn (abi.ScatterArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.ScatterArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const atomic_add = D == .float32 or D == .float64 or D == .int32 or D == .int64;
            const Body = struct {
                idx: G(i64),
                dst: G(T),
                src: G(T),
                ds: i64,
                add: bool,
                inline fn run(s: @This(), o: [3]i64) void {
                    const v = at(s.idx, o[0]).*;
                    const d = at(s.dst, o[1] + v * s.ds);
                    const x = at(s.src, o[2]).*;
                    if (atomic_add and s.add) {
                        if (D == .int64) {
                            _ = @atomicRmw(u64, @as(*addrspace(.global) u64, @ptrCast(d)), .Add, @bitCast(x), .monotonic);
                        } else {
                            _ = @atomicRmw(T, d, .Add, x, .monotonic);
                        }
                    } else d.* = x;
                }
            };
            forEach(3, &a.l, Body{ .idx = gp(i64, a.idx), .dst = gp(T, a.dst), .src = gp(T, a.src), .ds = a.dim_stride, .add = a.add != 0 });
        }
    }.k;
}

// ---------------------------------------------------------------- sort
// index.zig: sort. One block per line, a bitonic sort of (value, index)
// pairs in shared memory; comparing indices on ties makes it stable, as the
// CPU's block sort. Lines longer than abi.sort_max are sorted on the host.

fn SortSh(comptime T: type) type {
    return struct {
        var key: [abi.sort_max]T addrspace(.shared) = undefined;
        var pos: [abi.sort_max]u32 addrspace(.shared) = undefined;
    };
}

fn sortKernel(comptime D: DType) fn (abi.SortArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.SortArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const float = T == f32 or T == f64;
            const sh = SortSh(T);
            const x = gp(T, a.x);
            const vals = gp(T, a.vals);
            const idxo = gp(i64, a.idx);
            const r: u32 = @intCast(a.r);
            const desc = a.descending != 0;
            var n2: u32 = 1;
            while (n2 < r) n2 <<= 1;
            const t = @workItemId(0);
            const nt = @workGroupSize(0);
            const lines = a.outer * a.inner;
            var li: u64 = @workGroupId(0);
            while (li < lines) : (li += nctaid()) {
                const o = li / a.inner;
                const j = li - o * a.inner;
                const base = o * a.r * a.inner + j;
                var i: u32 = t;
                while (i < n2) : (i += nt) {
                    if (i < r) sh.key[i] = x[base + @as(u64, i) * a.inner];
                    sh.pos[i] = i;
                }
                barrier();
                var kk: u32 = 2;
                while (kk <= n2) : (kk <<= 1) {
                    var jj: u32 = kk >> 1;
                    while (jj > 0) : (jj >>= 1) {
                        i = t;
                        while (i < n2) : (i += nt) {
                            const p = i ^ jj;
                            if (p > i) {
                                const pi = sh.pos[i];
                                const pp = sh.pos[p];
                                // before(u, v): element u sorts ahead of v (padding last).
                                const before = struct {
                                    inline fn f(pu: u32, vu: T, pv: u32, vv: T, rr: u32, dsc: bool) bool {
                                        if (pu >= rr) return false;
                                        if (pv >= rr) return true;
                                        if (float) {
                                            const nu = vu != vu;
                                            const nv = vv != vv;
                                            if (nu or nv) {
                                                if (nu and nv) return pu < pv;
                                                return if (dsc) nu else nv;
                                            }
                                        }
                                        if (vu == vv) return pu < pv;
                                        return if (dsc) vu > vv else vu < vv;
                                    }
                                }.f;
                                const ki = if (pi < r) sh.key[i] else undefined;
                                const kp = if (pp < r) sh.key[p] else undefined;
                                const up = (i & kk) == 0;
                                const swap = if (up) before(pp, kp, pi, ki, r, desc) else before(pi, ki, pp, kp, r, desc);
                                if (swap) {
                                    sh.key[i] = kp;
                                    sh.key[p] = ki;
                                    sh.pos[i] = pp;
                                    sh.pos[p] = pi;
                                }
                            }
                        }
                        barrier();
                    }
                }
                i = t;
                while (i < r) : (i += nt) {
                    vals[base + @as(u64, i) * a.inner] = sh.key[i];
                    idxo[base + @as(u64, i) * a.inner] = sh.pos[i];
                }
                barrier();
            }
        }
    }.k;
}

// ---------------------------------------------------------------- optimizers
// optim.zig: each kind's element step (StepOf), shared with the CPU loops;
// the host derives the per-step scalars (optim.derive) exactly as the CPU
// does. Half parameters step in f32 with f32 states.

fn optimKernel(comptime D: DType) fn (abi.OptimArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.OptimArgs) callconv(.kernel) void {
            const P = dt.Storage(D);
            const C = Compute(D);
            const p = gp(P, a.p);
            const g = gp(P, a.g);
            const s = [3]G(C){ gp(C, a.s1), gp(C, a.s2), gp(C, a.s3) };
            const stride = gridSize();
            switch (a.kind) {
                inline 0...std.enums.values(opt.Kind).len - 1 => |ki| {
                    const kind: opt.Kind = @enumFromInt(ki);
                    const st = opt.StepOf(kind, C).init(&a.h);
                    const used = opt.statesUsed(kind, &a.h);
                    var i = globalId();
                    while (i < a.n) : (i += stride) {
                        var sv: [3]C = @splat(0);
                        inline for (0..3) |j| {
                            if (used[j]) sv[j] = s[j][i];
                        }
                        const r = st.apply(load(D, p[i]), load(D, g[i]), sv);
                        p[i] = store(D, r[0]);
                        inline for (0..3) |j| {
                            if (used[j]) s[j][i] = r[j + 1];
                        }
                    }
                },
                else => {},
            }
        }
    }.k;
}

// ---------------------------------------------------------------- window2d
// conv.zig. Forward ops: one thread per output element. col2im gathers per
// input element in the CPU's tap order (the same sums); the pooling
// backward ops scatter with atomic adds into a zeroed gradient (the host
// clears it first), so their float sums may differ in the last bits.

const Geo = struct {
    n: u64,
    c: u64,
    h: i64,
    w: i64,
    oh: i64,
    ow: i64,
    kh: i64,
    kw: i64,
    sh: i64,
    sw: i64,
    ph: i64,
    pw: i64,
    dh: i64,
    dw: i64,
    fn from(g: [14]u32) Geo {
        return .{ .n = g[0], .c = g[1], .h = g[2], .w = g[3], .oh = g[4], .ow = g[5], .kh = g[6], .kw = g[7], .sh = g[8], .sw = g[9], .ph = g[10], .pw = g[11], .dh = g[12], .dw = g[13] };
    }
};

inline fn ceilDiv(a: i64, b: i64) i64 {
    return @divFloor(a + b - 1, b);
}

inline fn firstTap(start: i64, step: i64) i64 {
    var s = start;
    if (s < 0) s += step * ceilDiv(-s, step);
    return s;
}

const AvgWin = struct { hs: i64, he: i64, ws: i64, we: i64, div: i64 };

inline fn avgWindow(g: Geo, cip: bool, divisor: u32, oy: i64, ox: i64) AvgWin {
    var hs = oy * g.sh - g.ph;
    var ws = ox * g.sw - g.pw;
    var he = @min(hs + g.kh, g.h + g.ph);
    var we = @min(ws + g.kw, g.w + g.pw);
    const padded = (he - hs) * (we - ws);
    hs = @max(hs, 0);
    ws = @max(ws, 0);
    he = @min(he, g.h);
    we = @min(we, g.w);
    if (he <= hs or we <= ws) return .{ .hs = 0, .he = 0, .ws = 0, .we = 0, .div = 1 };
    const inside = (he - hs) * (we - ws);
    const div: i64 = if (divisor != 0) divisor else if (cip) padded else inside;
    return .{ .hs = hs, .he = he, .ws = ws, .we = we, .div = div };
}

inline fn adaptiveRange(o: i64, n: i64, out: i64) [2]i64 {
    return .{ @divFloor(o * n, out), @divFloor((o + 1) * n + out - 1, out) };
}

/// The input element that column position `pos` of plane `p` sees through
/// kernel tap `tap` (0 in the padding): one element of im2col.
inline fn im2colValue(comptime T: type, g: Geo, src: G(T), p: i64, tap: i64, pos: i64) T {
    const ox = @mod(pos, g.ow);
    const oy = @divFloor(pos, g.ow);
    const iy = oy * g.sh + @divFloor(tap, g.kw) * g.dh - g.ph;
    const ix = ox * g.sw + @mod(tap, g.kw) * g.dw - g.pw;
    if (iy < 0 or iy >= g.h or ix < 0 or ix >= g.w) return 0;
    return src[@intCast(p * g.h * g.w + iy * g.w + ix)];
}

/// col2im for the input element at `pix` (= iy * W + ix) of its plane: the sum,
/// in the CPU's tap order, of the columns that read it. Tap t's row starts at
/// base + t * ld.
inline fn col2imSum(comptime T: type, g: Geo, src: G(T), pix: i64, base: i64, ld: i64) T {
    const ix = @mod(pix, g.w);
    const iy = @divFloor(pix, g.w);
    var s: T = 0;
    var ki: i64 = 0;
    while (ki < g.kh) : (ki += 1) {
        const ty = iy + g.ph - ki * g.dh;
        if (ty < 0 or @mod(ty, g.sh) != 0) continue;
        const oy = @divFloor(ty, g.sh);
        if (oy >= g.oh) continue;
        var kj: i64 = 0;
        while (kj < g.kw) : (kj += 1) {
            const tx = ix + g.pw - kj * g.dw;
            if (tx < 0 or @mod(tx, g.sw) != 0) continue;
            const ox = @divFloor(tx, g.sw);
            if (ox >= g.ow) continue;
            s += src[@intCast(base + (ki * g.kw + kj) * ld + oy * g.ow + ox)];
        }
    }
    return s;
}

fn windowKernel(comptime D: DType) fn (abi.WindowArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.WindowArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const g = Geo.from(a.g);
            const src = gp(T, a.src);
            const dst = gp(T, a.dst);
            const idx = gp(i64, a.idx);
            const hw = g.h * g.w;
            const l = g.oh * g.ow;
            const kk = g.kh * g.kw;
            var e = globalId();
            const step = gridSize();
            const op: conv.Op = @enumFromInt(a.op);
            while (e < a.total) : (e += step) {
                const ei: i64 = @intCast(e);
                switch (op) {
                    .im2col => {
                        // e indexes cols: [plane, kk, oh, ow].
                        const pos = @mod(ei, l);
                        const tap = @mod(@divFloor(ei, l), kk);
                        dst[e] = im2colValue(T, g, src, @divFloor(ei, l * kk), tap, pos);
                    },
                    .im2col_batched => {
                        // e indexes cols: [c, kk, n, oh, ow] (rows c*KK + tap, columns n*L + ...).
                        const nn: i64 = @intCast(g.n);
                        const pos = @mod(ei, l);
                        const n = @mod(@divFloor(ei, l), nn);
                        const row = @divFloor(ei, l * nn);
                        const p = n * @as(i64, @intCast(g.c)) + @divFloor(row, kk);
                        dst[e] = im2colValue(T, g, src, p, @mod(row, kk), pos);
                    },
                    .col2im_batched => {
                        // e indexes x: [n, c, h, w]; the columns are [C*KK, N*L].
                        const nn: i64 = @intCast(g.n);
                        const p = @divFloor(ei, hw);
                        const n = @divFloor(p, @as(i64, @intCast(g.c)));
                        const c = @mod(p, @as(i64, @intCast(g.c)));
                        dst[e] = col2imSum(T, g, src, @mod(ei, hw), c * kk * nn * l + n * l, nn * l);
                    },
                    .col2im => {
                        // e indexes x: [plane, h, w]; sum the taps that read it.
                        const p = @divFloor(ei, hw);
                        dst[e] = col2imSum(T, g, src, @mod(ei, hw), p * kk * l, l);
                    },
                    .max_pool => {
                        const ox = @mod(ei, g.ow);
                        const oy = @mod(@divFloor(ei, g.ow), g.oh);
                        const p = @divFloor(ei, l);
                        const x = src + @as(u64, @intCast(p * hw));
                        const hs0 = oy * g.sh - g.ph;
                        const ws0 = ox * g.sw - g.pw;
                        const he = @min(hs0 + (g.kh - 1) * g.dh + 1, g.h);
                        const we = @min(ws0 + (g.kw - 1) * g.dw + 1, g.w);
                        const hs = firstTap(hs0, g.dh);
                        const ws = firstTap(ws0, g.dw);
                        var best: T = -std.math.inf(T);
                        var bi: i64 = hs * g.w + ws;
                        var iy = hs;
                        while (iy < he) : (iy += g.dh) {
                            var ix = ws;
                            while (ix < we) : (ix += g.dw) {
                                const i = iy * g.w + ix;
                                const v = x[@intCast(i)];
                                if (v > best or v != v) {
                                    best = v;
                                    bi = i;
                                }
                            }
                        }
                        dst[e] = best;
                        idx[e] = bi;
                    },
                    .max_pool_backward => {
                        // e indexes grad_out; grad_in was zeroed by the host.
                        const p = @divFloor(ei, l);
                        const i = idx[e];
                        if (i < 0 or i >= hw) {
                            gp(u32, a.flag)[0] = 1;
                        } else {
                            _ = @atomicRmw(T, &dst[@intCast(p * hw + i)], .Add, src[e], .monotonic);
                        }
                    },
                    .avg_pool, .avg_pool_backward => {
                        const ox = @mod(ei, g.ow);
                        const oy = @mod(@divFloor(ei, g.ow), g.oh);
                        const p = @divFloor(ei, l);
                        const win = avgWindow(g, a.count_include_pad != 0, a.divisor, oy, ox);
                        if (op == .avg_pool) {
                            var s: T = 0;
                            var iy = win.hs;
                            while (iy < win.he) : (iy += 1) {
                                var ix = win.ws;
                                while (ix < win.we) : (ix += 1) s += src[@intCast(p * hw + iy * g.w + ix)];
                            }
                            dst[e] = s / @as(T, @floatFromInt(win.div));
                        } else {
                            const v = src[e] / @as(T, @floatFromInt(win.div));
                            var iy = win.hs;
                            while (iy < win.he) : (iy += 1) {
                                var ix = win.ws;
                                while (ix < win.we) : (ix += 1) _ = @atomicRmw(T, &dst[@intCast(p * hw + iy * g.w + ix)], .Add, v, .monotonic);
                            }
                        }
                    },
                    .adaptive_avg_pool, .adaptive_avg_pool_backward => {
                        const ox = @mod(ei, g.ow);
                        const oy = @mod(@divFloor(ei, g.ow), g.oh);
                        const p = @divFloor(ei, l);
                        const rh = adaptiveRange(oy, g.h, g.oh);
                        const rw = adaptiveRange(ox, g.w, g.ow);
                        const count = (rh[1] - rh[0]) * (rw[1] - rw[0]);
                        if (op == .adaptive_avg_pool) {
                            var s: T = 0;
                            var iy = rh[0];
                            while (iy < rh[1]) : (iy += 1) {
                                var ix = rw[0];
                                while (ix < rw[1]) : (ix += 1) s += src[@intCast(p * hw + iy * g.w + ix)];
                            }
                            dst[e] = s / @as(T, @floatFromInt(count));
                        } else {
                            const v = src[e] / @as(T, @floatFromInt(count));
                            var iy = rh[0];
                            while (iy < rh[1]) : (iy += 1) {
                                var ix = rw[0];
                                while (ix < rw[1]) : (ix += 1) _ = @atomicRmw(T, &dst[@intCast(p * hw + iy * g.w + ix)], .Add, v, .monotonic);
                            }
                        }
                    },
                }
            }
        }
    }.k;
}

// ---------------------------------------------------------------- exports

// ---------------------------------------------------------------- recurrent layers
// rnn.zig's gate math, a thread per (row, unit), over one step's rows; the
// step's hidden GEMM runs in cuBLAS before each launch (api.zig). sigmoid
// and tanh are vmath's at width 1, as the CPU's vector path computes them.

inline fn sigmoidT(comptime T: type, x: T) T {
    return vm.sigmoid(T, 1, @as(@Vector(1, T), @splat(x)))[0];
}

inline fn tanhT(comptime T: type, x: T) T {
    return vm.tanh(T, 1, @as(@Vector(1, T), @splat(x)))[0];
}

/// LSTM step: gs, gx: [B, 4H] (gates i, f, g, o); writes y [B, H] and ws [B, 5H].
fn lstmStepKernel(comptime D: DType) fn (abi.RnnStepArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.RnnStepArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const gs = gp(T, a.gs);
            const gx = gp(T, a.gx);
            const cp = gp(T, a.prev);
            const y = gp(T, a.y);
            const ws = gp(T, a.ws);
            const h = a.hidden;
            var id = globalId();
            while (id < a.batch * h) : (id += gridSize()) {
                const b = id / h;
                const u = id - b * h;
                const g = gs + b * 4 * h;
                const x = gx + b * 4 * h;
                const i = sigmoidT(T, g[u] + x[u]);
                const f = sigmoidT(T, g[h + u] + x[h + u]);
                const gc = tanhT(T, g[2 * h + u] + x[2 * h + u]);
                const o = sigmoidT(T, g[3 * h + u] + x[3 * h + u]);
                const c = f * cp[b * a.prev_stride + u] + i * gc;
                y[b * h + u] = o * tanhT(T, c);
                const w = ws + b * 5 * h;
                w[u] = i;
                w[h + u] = f;
                w[2 * h + u] = gc;
                w[3 * h + u] = o;
                w[4 * h + u] = c;
            }
        }
    }.k;
}

/// LSTM step backward: dG [B, 4H] of the step, the carried dc updated in place.
fn lstmGradKernel(comptime D: DType) fn (abi.RnnGradArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.RnnGradArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const dy = gp(T, a.dy);
            const cp = gp(T, a.prev);
            const ws = gp(T, a.ws);
            const dc = gp(T, a.state);
            const dg = gp(T, a.out);
            const h = a.hidden;
            var id = globalId();
            while (id < a.batch * h) : (id += gridSize()) {
                const b = id / h;
                const u = id - b * h;
                var dh = dy[id];
                if (a.carry != 0) dh += gp(T, a.carry)[id];
                const w = ws + b * 5 * h;
                const i = w[u];
                const f = w[h + u];
                const g = w[2 * h + u];
                const o = w[3 * h + u];
                const tc = tanhT(T, w[4 * h + u]);
                const dcv = dc[id] + dh * o * (1 - tc * tc);
                const r = dg + b * 4 * h;
                r[u] = dcv * g * i * (1 - i);
                r[h + u] = dcv * cp[b * a.prev_stride + u] * f * (1 - f);
                r[2 * h + u] = dcv * i * (1 - g * g);
                r[3 * h + u] = dh * tc * o * (1 - o);
                dc[id] = dcv * f;
            }
        }
    }.k;
}

/// GRU step: gs (h_prev @ W_hh^T), gx: [B, 3H] (gates r, z, n), bias b_hh
/// [3H]; writes y [B, H] and ws [B, 4H] (r, z, n, the hidden part of n).
fn gruStepKernel(comptime D: DType) fn (abi.RnnStepArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.RnnStepArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const gs = gp(T, a.gs);
            const gx = gp(T, a.gx);
            const hp = gp(T, a.prev);
            const bh = gp(T, a.bias);
            const y = gp(T, a.y);
            const ws = gp(T, a.ws);
            const h = a.hidden;
            var id = globalId();
            while (id < a.batch * h) : (id += gridSize()) {
                const b = id / h;
                const u = id - b * h;
                const g = gs + b * 3 * h;
                const x = gx + b * 3 * h;
                const ghn = g[2 * h + u] + bh[2 * h + u];
                const r = sigmoidT(T, x[u] + g[u] + bh[u]);
                const z = sigmoidT(T, x[h + u] + g[h + u] + bh[h + u]);
                const n = tanhT(T, x[2 * h + u] + r * ghn);
                y[id] = (1 - z) * n + z * hp[b * a.prev_stride + u];
                const w = ws + b * 4 * h;
                w[u] = r;
                w[h + u] = z;
                w[2 * h + u] = n;
                w[3 * h + u] = ghn;
            }
        }
    }.k;
}

/// GRU step backward: dgx, dgh [B, 3H] of the step; the carried dh in place.
fn gruGradKernel(comptime D: DType) fn (abi.RnnGradArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.RnnGradArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const dy = gp(T, a.dy);
            const hp = gp(T, a.prev);
            const ws = gp(T, a.ws);
            const dhio = gp(T, a.state);
            const dgx = gp(T, a.out);
            const dgh = gp(T, a.out2);
            const h = a.hidden;
            var id = globalId();
            while (id < a.batch * h) : (id += gridSize()) {
                const b = id / h;
                const u = id - b * h;
                var dh = dy[id];
                if (a.carry != 0) dh += gp(T, a.carry)[id] + dhio[id] * gp(T, a.z_next)[b * 4 * h + h + u];
                const w = ws + b * 4 * h;
                const r = w[u];
                const z = w[h + u];
                const n = w[2 * h + u];
                const ghn = w[3 * h + u];
                const dn = dh * (1 - z) * (1 - n * n);
                const dr = dn * ghn * r * (1 - r);
                const dz = dh * (hp[b * a.prev_stride + u] - n) * z * (1 - z);
                const ox = dgx + b * 3 * h;
                const oh = dgh + b * 3 * h;
                ox[u] = dr;
                ox[h + u] = dz;
                ox[2 * h + u] = dn;
                oh[u] = dr;
                oh[h + u] = dz;
                oh[2 * h + u] = dn * r;
                dhio[id] = dh;
            }
        }
    }.k;
}

/// GRU's dh0 = carry (dgh[first] @ W_hh) + dh z[first], over dh in place.
fn gruFirstKernel(comptime D: DType) fn (abi.RnnGradArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.RnnGradArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const dh = gp(T, a.state);
            const carry = gp(T, a.carry);
            const z = gp(T, a.z_next);
            const h = a.hidden;
            var id = globalId();
            while (id < a.batch * h) : (id += gridSize()) {
                const b = id / h;
                const u = id - b * h;
                dh[id] = carry[id] + dh[id] * z[b * 4 * h + h + u];
            }
        }
    }.k;
}

// ---------------------------------------------------------------- attention
// attention.zig's forms, flash-attention style: a block of attn_rows threads,
// a thread per query row (per key row for dk and dv) whose row and
// accumulators stay in registers (head dims up to a compile-time bound, one
// kernel per bound), the other side's rows staged through shared memory a
// tile at a time, and the softmax online: memory linear in the sequence
// length, no [L, S] matrix. Every thread of a block takes part in every
// staging loop and barrier; rows past the end only skip the math.

fn attnName(comptime prefix: []const u8, comptime D: DType, comptime emax: u32) [:0]const u8 {
    return prefix ++ @tagName(D) ++ std.fmt.comptimePrint("_{d}", .{emax});
}

inline fn logT(comptime T: type, x: T) T {
    return @floatCast(dm.log(@as(f64, x)));
}

/// Copies rows [r0, r0 + rows) of a [*, width] matrix into a tile of rows
/// `emax` apart, the block's threads striding over the elements.
inline fn stage(comptime T: type, comptime emax: u32, dst: [*]addrspace(.shared) T, src: G(T), r0: u64, rows: u64, width: u64) void {
    var idx: u64 = @workItemId(0);
    while (idx < rows * width) : (idx += abi.attn_rows) {
        const r = idx / width;
        const c = idx - r * width;
        dst[r * emax + c] = src[(r0 + r) * width + c];
    }
}

/// o = softmax(q k^T scale) v and lse per row; grid (row blocks, n).
fn attnFwdKernel(comptime D: DType, comptime emax: u32) fn (abi.AttnArgs) callconv(.kernel) void {
    const T = dt.Storage(D);
    const kt = abi.attnTileRows(T, emax);
    return struct {
        var ks: [kt * emax]T addrspace(.shared) = undefined;
        var vs: [kt * emax]T addrspace(.shared) = undefined;
        fn k(a: abi.AttnArgs) callconv(.kernel) void {
            const tid: u64 = @workItemId(0);
            const bh: u64 = @workGroupId(1);
            const row0: u64 = @as(u64, @workGroupId(0)) * abi.attn_rows;
            const qi = row0 + tid;
            const live = qi < a.l;
            const e = a.e;
            const ev = a.ev;
            const scale: T = @floatCast(a.scale);
            const kk = gp(T, a.k) + bh * a.s * e;
            const vv = gp(T, a.v) + bh * a.s * ev;
            var qr: [emax]T = @splat(0);
            var acc: [emax]T = @splat(0);
            if (live) {
                const q = gp(T, a.q) + (bh * a.l + qi) * e;
                inline for (0..emax) |c| if (c < e) {
                    qr[c] = q[c];
                };
            }
            var m: T = -std.math.inf(T);
            var sum: T = 0;
            // Causal: the block's rows see keys up to its last row.
            const last = @min(row0 + abi.attn_rows, a.l);
            const s_end = if (a.causal != 0) @min(a.s, last) else a.s;
            var j0: u64 = 0;
            while (j0 < s_end) : (j0 += kt) {
                const rows = @min(kt, s_end - j0);
                stage(T, emax, &ks, kk, j0, rows, e);
                stage(T, emax, &vs, vv, j0, rows, ev);
                barrier();
                if (live) {
                    const jend = if (a.causal != 0) @min(rows, (qi + 1) -| j0) else rows;
                    for (0..jend) |jj| {
                        var dot: T = 0;
                        inline for (0..emax) |c| if (c < e) {
                            dot += qr[c] * ks[jj * emax + c];
                        };
                        const sc = dot * scale;
                        const m_new = @max(m, sc);
                        const corr = expT(T, m - m_new);
                        const p = expT(T, sc - m_new);
                        sum = sum * corr + p;
                        inline for (0..emax) |c| if (c < ev) {
                            acc[c] = acc[c] * corr + p * vs[jj * emax + c];
                        };
                        m = m_new;
                    }
                }
                barrier();
            }
            if (live) {
                const o = gp(T, a.o) + (bh * a.l + qi) * ev;
                const inv: T = if (sum > 0) 1 / sum else 0;
                inline for (0..emax) |c| if (c < ev) {
                    o[c] = acc[c] * inv;
                };
                gp(T, a.lse)[bh * a.l + qi] = if (sum > 0) m + logT(T, sum) else -std.math.inf(T);
            }
        }
    }.k;
}

/// delta = rowsum(dout * o): [n * L], a thread per row.
fn attnDeltaKernel(comptime D: DType) fn (abi.AttnArgs) callconv(.kernel) void {
    return struct {
        fn k(a: abi.AttnArgs) callconv(.kernel) void {
            const T = dt.Storage(D);
            const o = gp(T, a.o);
            const g = gp(T, a.dout);
            const delta = gp(T, a.delta);
            var row = globalId();
            while (row < a.n * a.l) : (row += gridSize()) {
                var acc: T = 0;
                for (0..a.ev) |c| acc += g[row * a.ev + c] * o[row * a.ev + c];
                delta[row] = acc;
            }
        }
    }.k;
}

/// dq = scale * sum_j p_ij (dout_i . v_j - delta_i) k_j; a thread per query row.
fn attnDqKernel(comptime D: DType, comptime emax: u32) fn (abi.AttnArgs) callconv(.kernel) void {
    const T = dt.Storage(D);
    const kt = abi.attnTileRows(T, emax);
    return struct {
        var ks: [kt * emax]T addrspace(.shared) = undefined;
        var vs: [kt * emax]T addrspace(.shared) = undefined;
        fn k(a: abi.AttnArgs) callconv(.kernel) void {
            const tid: u64 = @workItemId(0);
            const bh: u64 = @workGroupId(1);
            const row0: u64 = @as(u64, @workGroupId(0)) * abi.attn_rows;
            const qi = row0 + tid;
            const live = qi < a.l;
            const e = a.e;
            const ev = a.ev;
            const scale: T = @floatCast(a.scale);
            const kk = gp(T, a.k) + bh * a.s * e;
            const vv = gp(T, a.v) + bh * a.s * ev;
            var qr: [emax]T = @splat(0);
            var gr: [emax]T = @splat(0);
            var dq: [emax]T = @splat(0);
            var lse: T = 0;
            var delta: T = 0;
            if (live) {
                const q = gp(T, a.q) + (bh * a.l + qi) * e;
                const g = gp(T, a.dout) + (bh * a.l + qi) * ev;
                inline for (0..emax) |c| {
                    if (c < e) qr[c] = q[c];
                    if (c < ev) gr[c] = g[c];
                }
                lse = gp(T, a.lse)[bh * a.l + qi];
                delta = gp(T, a.delta)[bh * a.l + qi];
            }
            const last = @min(row0 + abi.attn_rows, a.l);
            const s_end = if (a.causal != 0) @min(a.s, last) else a.s;
            var j0: u64 = 0;
            while (j0 < s_end) : (j0 += kt) {
                const rows = @min(kt, s_end - j0);
                stage(T, emax, &ks, kk, j0, rows, e);
                stage(T, emax, &vs, vv, j0, rows, ev);
                barrier();
                if (live) {
                    const jend = if (a.causal != 0) @min(rows, (qi + 1) -| j0) else rows;
                    for (0..jend) |jj| {
                        var dot: T = 0;
                        var dp: T = 0;
                        inline for (0..emax) |c| {
                            if (c < e) dot += qr[c] * ks[jj * emax + c];
                            if (c < ev) dp += gr[c] * vs[jj * emax + c];
                        }
                        const p = expT(T, dot * scale - lse);
                        const ds = p * (dp - delta);
                        inline for (0..emax) |c| if (c < e) {
                            dq[c] += ds * ks[jj * emax + c];
                        };
                    }
                }
                barrier();
            }
            if (live) {
                const out = gp(T, a.dq) + (bh * a.l + qi) * e;
                inline for (0..emax) |c| if (c < e) {
                    out[c] = dq[c] * scale;
                };
            }
        }
    }.k;
}

/// dv = sum_i p_ij dout_i, dk = scale * sum_i p_ij (dout_i . v_j - delta_i) q_i;
/// a thread per key row, grid (key row blocks, n).
fn attnDkvKernel(comptime D: DType, comptime emax: u32) fn (abi.AttnArgs) callconv(.kernel) void {
    const T = dt.Storage(D);
    const kt = abi.attnTileRows(T, emax);
    return struct {
        var qs: [kt * emax]T addrspace(.shared) = undefined;
        var gs: [kt * emax]T addrspace(.shared) = undefined;
        var ls: [kt]T addrspace(.shared) = undefined;
        var ds_: [kt]T addrspace(.shared) = undefined;
        fn k(a: abi.AttnArgs) callconv(.kernel) void {
            const tid: u64 = @workItemId(0);
            const bh: u64 = @workGroupId(1);
            const key0: u64 = @as(u64, @workGroupId(0)) * abi.attn_rows;
            const kj = key0 + tid;
            const live = kj < a.s;
            const e = a.e;
            const ev = a.ev;
            const scale: T = @floatCast(a.scale);
            const qq = gp(T, a.q) + bh * a.l * e;
            const gg = gp(T, a.dout) + bh * a.l * ev;
            const lse = gp(T, a.lse) + bh * a.l;
            const delta = gp(T, a.delta) + bh * a.l;
            var kr: [emax]T = @splat(0);
            var vr: [emax]T = @splat(0);
            var dk: [emax]T = @splat(0);
            var dv: [emax]T = @splat(0);
            if (live) {
                const kp = gp(T, a.k) + (bh * a.s + kj) * e;
                const vp = gp(T, a.v) + (bh * a.s + kj) * ev;
                inline for (0..emax) |c| {
                    if (c < e) kr[c] = kp[c];
                    if (c < ev) vr[c] = vp[c];
                }
            }
            // Causal: only rows i >= j see key j; the block's first key is key0.
            var q0: u64 = if (a.causal != 0) @min(key0, a.l) else 0;
            while (q0 < a.l) : (q0 += kt) {
                const rows = @min(kt, a.l - q0);
                stage(T, emax, &qs, qq, q0, rows, e);
                stage(T, emax, &gs, gg, q0, rows, ev);
                if (tid < rows) {
                    ls[tid] = lse[q0 + tid];
                    ds_[tid] = delta[q0 + tid];
                }
                barrier();
                if (live) {
                    const first = if (a.causal != 0) @min(rows, kj -| q0) else 0;
                    for (first..rows) |ii| {
                        var dot: T = 0;
                        var dp: T = 0;
                        inline for (0..emax) |c| {
                            if (c < e) dot += qs[ii * emax + c] * kr[c];
                            if (c < ev) dp += gs[ii * emax + c] * vr[c];
                        }
                        const p = expT(T, dot * scale - ls[ii]);
                        const dsv = p * (dp - ds_[ii]);
                        inline for (0..emax) |c| {
                            if (c < ev) dv[c] += p * gs[ii * emax + c];
                            if (c < e) dk[c] += dsv * qs[ii * emax + c];
                        }
                    }
                }
                barrier();
            }
            if (live) {
                const dkp = gp(T, a.dk) + (bh * a.s + kj) * e;
                const dvp = gp(T, a.dv) + (bh * a.s + kj) * ev;
                inline for (0..emax) |c| {
                    if (c < e) dkp[c] = dk[c] * scale;
                    if (c < ev) dvp[c] = dv[c];
                }
            }
        }
    }.k;
}

const ew_dtypes = abi.ew_dtypes;
const reduce_dtypes = abi.reduce_dtypes;
const scan_dtypes = abi.scan_dtypes;
const float_dtypes = abi.float_dtypes;
const matmul_dtypes = abi.matmul_dtypes;
const int_dtypes = abi.int_dtypes;
const sizes = [_]type{ u8, u16, u32, u64 };

fn ex(comptime f: anytype, comptime name: []const u8) void {
    @export(f, .{ .name = name });
}

comptime {
    @setEvalBranchQuota(1_000_000);
    for (all_dtypes) |S| for (all_dtypes) |D| ex(&copyKernel(S, D), "copy_" ++ @tagName(S) ++ "_" ++ @tagName(D));
    for (sizes) |T| {
        const n = std.fmt.comptimePrint("{d}", .{@sizeOf(T)});
        ex(&fillKernel(T), "fill_" ++ n);
        ex(&whereKernel(T), "where_" ++ n);
        ex(&indexSelectKernel(T), "index_select_" ++ n);
        ex(&gatherKernel(T), "gather_" ++ n);
    }
    for (ew_dtypes) |D| {
        ex(&unaryKernel(D), "unary_" ++ @tagName(D));
        ex(&binaryKernel(D), "binary_" ++ @tagName(D));
        ex(&scatterKernel(D), "scatter_" ++ @tagName(D));
    }
    for (int_dtypes) |D| ex(&intCheckKernel(dt.Storage(D)), "intcheck_" ++ @tagName(D));
    for (reduce_dtypes) |D| {
        ex(&reduceKernel(D), "reduce_" ++ @tagName(D));
        ex(&sortKernel(D), "sort_" ++ @tagName(D));
    }
    for (scan_dtypes) |D| ex(&scanKernel(D), "scan_" ++ @tagName(D));
    for (float_dtypes) |D| {
        for (std.enums.values(ew.Unary)) |op| {
            if (abi.flatUnary(op)) ex(&unaryFlatKernel(D, op), "unary_flat_" ++ @tagName(op) ++ "_" ++ @tagName(D));
        }
        ex(&softmaxKernel(D), "softmax_" ++ @tagName(D));
        ex(&lstmStepKernel(D), "lstm_step_" ++ @tagName(D));
        ex(&lstmGradKernel(D), "lstm_grad_" ++ @tagName(D));
        ex(&gruStepKernel(D), "gru_step_" ++ @tagName(D));
        ex(&gruGradKernel(D), "gru_grad_" ++ @tagName(D));
        ex(&gruFirstKernel(D), "gru_first_" ++ @tagName(D));
        ex(&attnDeltaKernel(D), "attn_delta_" ++ @tagName(D));
        for (abi.attn_head_dims) |emax| {
            ex(&attnFwdKernel(D, emax), attnName("attn_fwd_", D, emax));
            ex(&attnDqKernel(D, emax), attnName("attn_dq_", D, emax));
            ex(&attnDkvKernel(D, emax), attnName("attn_dkv_", D, emax));
        }
        ex(&windowKernel(D), "window2d_" ++ @tagName(D));
    }
    for (abi.optim_dtypes) |D| ex(&optimKernel(D), "optim_" ++ @tagName(D));
    for (matmul_dtypes) |D| ex(&matmulKernel(D), "matmul_" ++ @tagName(D));
    ex(&checkKernel, "index_check");
}
