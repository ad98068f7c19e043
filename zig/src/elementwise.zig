//! Elementwise kernel families: strided copy with cast, unary maps, binary maps
//! over broadcast strides, and the ternary `where`.
//!
//! Every family takes operands as (base pointer, element offset) plus a layout
//! (see strided.zig). Outputs may be strided too, so in-place ops on views work.
const std = @import("std");
const builtin = @import("builtin");
const dt = @import("dtype.zig");
const strided = @import("strided.zig");
const pool = @import("pool.zig");
const m = @import("libm.zig");
const vm = @import("vmath.zig");
const mm = @import("matmul.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, DivisionByZero, NegativePower };

/// Elements per chunk below which a kernel stays on the calling thread.
const grain: usize = 1 << 15;

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

/// Runs `body` over the layout's flat range, in parallel chunks when large.
fn parallel(comptime nops: usize, layout: *const strided.Layout(nops), body: anytype) void {
    const n = layout.numel;
    const chunks = pool.chunkCount(n, grain);
    const Ctx = struct { layout: *const strided.Layout(nops), body: @TypeOf(body), chunks: u32 };
    const ctx = Ctx{ .layout = layout, .body = body, .chunks = chunks };
    pool.run(chunks, &ctx, struct {
        fn f(c: *const Ctx, chunk: u32) void {
            const r = pool.chunkRange(c.layout.numel, c.chunks, chunk);
            c.layout.forRange(r[0], r[1], c.body);
        }
    }.f);
}

// ---------------------------------------------------------------- streaming stores

/// Streaming stores are inline assembly, which Zig's own x86 backend (debug
/// builds) does not assemble: only LLVM builds stream.
const can_stream = builtin.cpu.arch == .x86_64 and builtin.zig_backend == .stage2_llvm;
const has_avx = can_stream and std.Target.x86.featureSetHas(builtin.cpu.features, .avx);

/// Outputs of at least this many bytes (half the last-level cache of the
/// machines measured) are written with non-temporal stores on x86-64: such
/// an output would not stay in cache for its reader anyway, and a plain store
/// first reads each line it writes. 16M-float add, one thread: 18.8 GB/s
/// with plain stores, 37 GB/s streaming (Zen 3).
const stream_min_bytes: usize = 16 << 20;
/// Bytes per streaming store (one vector register).
const stream_width = if (has_avx) 32 else 16;

fn streams(bytes: usize) bool {
    return can_stream and bytes >= stream_min_bytes;
}

fn StreamVec(comptime T: type) type {
    return @Vector(stream_width / @sizeOf(T), T);
}

/// p[0 .. stream_width / @sizeOf(T)] = v, bypassing the caches; p is
/// stream_width-aligned. Callers end with streamFence.
inline fn streamStore(comptime T: type, p: [*]T, v: StreamVec(T)) void {
    comptime assert(can_stream);
    assert(@intFromPtr(p) % stream_width == 0);
    const bits: @Vector(stream_width / 4, f32) = @bitCast(v);
    if (has_avx) {
        asm volatile ("vmovntps %[v], (%[p])"
            :
            : [v] "x" (bits),
              [p] "r" (p),
            : .{ .memory = true });
    } else {
        asm volatile ("movntps %[v], (%[p])"
            :
            : [v] "x" (bits),
              [p] "r" (p),
            : .{ .memory = true });
    }
}

/// Orders the streaming stores before anything the thread does next (the
/// pool's completion count included), so other threads see them.
inline fn streamFence() void {
    comptime assert(can_stream);
    asm volatile ("sfence" ::: .{ .memory = true });
}

/// Contiguous float add, sub, mul and div can stream their output.
fn streamable(comptime T: type, comptime O: type, comptime op: Binary) bool {
    return can_stream and T == O and dt.isFloat(T) and switch (op) {
        .add, .sub, .mul, .div => true,
        else => false,
    };
}

/// o[i] = a[i] op b[i] for i < len with streaming stores: the same values as
/// binaryArith (IEEE operations lane by lane), scalar stores until o is
/// aligned and for the tail.
fn streamBinary(comptime T: type, comptime op: Binary, a: [*]const T, b: [*]const T, o: [*]T, len: usize) void {
    comptime assert(streamable(T, T, op));
    const V = StreamVec(T);
    const L = @typeInfo(V).vector.len;
    var i: usize = 0;
    while (i < len and @intFromPtr(o + i) % stream_width != 0) : (i += 1) o[i] = binaryArith(T, op, a[i], b[i]);
    while (i + L <= len) : (i += L) {
        const x: V = a[i..][0..L].*;
        const y: V = b[i..][0..L].*;
        streamStore(T, o + i, switch (op) {
            .add => x + y,
            .sub => x - y,
            .mul => x * y,
            .div => x / y,
            else => unreachable,
        });
    }
    while (i < len) : (i += 1) o[i] = binaryArith(T, op, a[i], b[i]);
    streamFence();
}

// ---------------------------------------------------------------- copy / cast

fn CopyBody(comptime S: DType, comptime D: DType) type {
    return struct {
        src: [*]const dt.Storage(S),
        dst: [*]dt.Storage(D),
        pub fn run(b: @This(), offs: [2]i64, len: usize, st: [2]i64) void {
            const s = b.src + @as(usize, @intCast(offs[0]));
            const d = b.dst + @as(usize, @intCast(offs[1]));
            if (st[0] == 1 and st[1] == 1) {
                const Src = dt.Storage(S);
                const Dst = dt.Storage(D);
                if (comptime S == D) {
                    // memmove: an overlapping copy within one buffer reads
                    // each element before it is overwritten only in this order
                    // when dst is below src; otherwise element by element.
                    if (@intFromPtr(d) <= @intFromPtr(s) or @intFromPtr(s) + len * @sizeOf(Src) <= @intFromPtr(d)) {
                        if (len > 0) @memmove(d[0..len], s[0..len]);
                        return;
                    }
                } else if (comptime dt.isFloat(Src) and dt.isFloat(Dst)) {
                    // float <-> double: one rounding per element, as convert.
                    if (apartBytes(@intFromPtr(d), len * @sizeOf(Dst), @intFromPtr(s), len * @sizeOf(Src))) {
                        const L = 8;
                        var i: usize = 0;
                        while (i + L <= len) : (i += L) {
                            const v: @Vector(L, Src) = s[i..][0..L].*;
                            d[i..][0..L].* = @as(@Vector(L, Dst), @floatCast(v));
                        }
                        while (i < len) : (i += 1) d[i] = dt.convert(D, S, s[i]);
                        return;
                    }
                } else if (comptime (S == .float32 and (D == .bfloat16 or D == .float16)) or
                    ((S == .bfloat16 or S == .float16) and D == .float32))
                {
                    // float <-> half: a vector at a time, rounding as convert does.
                    if (apartBytes(@intFromPtr(d), len * @sizeOf(Dst), @intFromPtr(s), len * @sizeOf(Src))) {
                        if (S == .float32) dt.narrow(Dst, s, d, len) else dt.widen(Src, s, d, len);
                        return;
                    }
                }
                for (0..len) |i| d[i] = dt.convert(D, S, s[i]);
            } else {
                const ss: usize = @intCast(st[0]);
                const ds: usize = @intCast(st[1]);
                for (0..len) |i| d[i * ds] = dt.convert(D, S, s[i * ss]);
            }
        }
    };
}

/// dst[i] = convert(src[i]) over a 2-operand layout (src strides, dst strides).
pub fn copy(src_dtype: DType, src: [*]u8, soff: i64, dst_dtype: DType, dst: [*]u8, doff: i64, layout: *const strided.Layout(2)) void {
    @setEvalBranchQuota(20_000);
    switch (src_dtype) {
        inline else => |S| switch (dst_dtype) {
            inline else => |D| {
                const sp = ptr(dt.Storage(S), src, soff);
                const dp = ptr(dt.Storage(D), dst, doff);
                if (transposing(layout, @sizeOf(dt.Storage(S)), @intFromPtr(sp), @sizeOf(dt.Storage(D)), @intFromPtr(dp))) {
                    return transposeCopy(S, D, layout, sp, dp);
                }
                const body = CopyBody(S, D){ .src = sp, .dst = dp };
                parallel(2, layout, body);
            },
        },
    }
}

/// Rows and columns per tile of a transposing copy: 16 source columns of 16
/// elements (a 64-byte line each for float32) and 16 destination rows, so
/// that few lines are live at once (a 1024 x 1024 transpose has every source
/// column and every destination row 4 KiB apart, in one L1 set).
const tile_edge = 16;

/// Whether the copy's last two dims are a transpose (the source walks its
/// rows with stride 1, the destination its columns) worth tiling: the row-
/// by-row loop reads the source with a stride of a whole row per element.
/// Non-negative strides and disjoint source and destination only (an
/// overlapping copy keeps the element-by-element order).
fn transposing(layout: *const strided.Layout(2), s_size: usize, s_addr: usize, d_size: usize, d_addr: usize) bool {
    const nd = layout.ndim;
    if (nd < 2) return false;
    const ss = &layout.strides[0];
    const ds = &layout.strides[1];
    if (ds[nd - 1] != 1 or ss[nd - 2] != 1 or ss[nd - 1] <= 1) return false;
    if (layout.shape[nd - 1] < 8 or layout.shape[nd - 2] < 8) return false;
    var s_span: usize = 1;
    var d_span: usize = 1;
    for (0..nd) |d| {
        if (ss[d] < 0 or ds[d] < 0) return false;
        const extent: usize = @intCast(layout.shape[d] - 1);
        s_span += extent * @as(usize, @intCast(ss[d]));
        d_span += extent * @as(usize, @intCast(ds[d]));
    }
    return apartBytes(s_addr, s_span * s_size, d_addr, d_span * d_size);
}

/// The copy as tiles: tasks are (plane, block of tile_edge destination
/// rows), planes being the dims before the last two.
fn transposeCopy(comptime S: DType, comptime D: DType, layout: *const strided.Layout(2), src: [*]const dt.Storage(S), dst: [*]dt.Storage(D)) void {
    const nd = layout.ndim;
    const rows: usize = @intCast(layout.shape[nd - 2]);
    const cols: usize = @intCast(layout.shape[nd - 1]);
    const planes = layout.numel / (rows * cols);
    const blocks = (rows + tile_edge - 1) / tile_edge;
    const tasks = planes * blocks;
    const Ctx = struct {
        layout: *const strided.Layout(2),
        src: [*]const dt.Storage(S),
        dst: [*]dt.Storage(D),
        rows: usize,
        cols: usize,
        blocks: usize,
        tasks: usize,
        chunks: u32,
    };
    const ctx = Ctx{
        .layout = layout,
        .src = src,
        .dst = dst,
        .rows = rows,
        .cols = cols,
        .blocks = blocks,
        .tasks = tasks,
        .chunks = @min(pool.chunkCount(layout.numel, grain), @as(u32, @intCast(tasks))),
    };
    pool.run(ctx.chunks, &ctx, struct {
        fn f(c: *const Ctx, chunk: u32) void {
            const l = c.layout;
            const n = l.ndim;
            const r = pool.chunkRange(c.tasks, c.chunks, chunk);
            const sc: usize = @intCast(l.strides[0][n - 1]);
            const dr: usize = @intCast(l.strides[1][n - 2]);
            for (r[0]..r[1]) |t| {
                // The plane's offsets: its index over dims 0 .. n-2, row-major.
                var p = t / c.blocks;
                var so: usize = 0;
                var do: usize = 0;
                var d = n - 2;
                while (d > 0) {
                    d -= 1;
                    const extent: usize = @intCast(l.shape[d]);
                    const i = p % extent;
                    p /= extent;
                    so += i * @as(usize, @intCast(l.strides[0][d]));
                    do += i * @as(usize, @intCast(l.strides[1][d]));
                }
                const r0 = (t % c.blocks) * tile_edge;
                const r1 = @min(c.rows, r0 + tile_edge);
                var c0: usize = 0;
                const size = @sizeOf(dt.Storage(S));
                if (comptime S == D and (size == 2 or size == 4 or size == 8)) {
                    if (r1 - r0 == tile_edge) {
                        // Whole tiles as VL x VL blocks transposed in registers:
                        // each source line read and each destination line
                        // written whole within the tile. Same dtype: the bits
                        // move as unsigned integers (halves and NaNs intact).
                        const E = @Int(.unsigned, 8 * size);
                        const VL = 32 / size;
                        const V = @Vector(VL, E);
                        const sb: [*]const E = @ptrCast(c.src);
                        const db: [*]E = @ptrCast(c.dst);
                        while (c0 + tile_edge <= c.cols) : (c0 += tile_edge) {
                            inline for (0..tile_edge / VL) |rg| inline for (0..tile_edge / VL) |cg| {
                                const rb = r0 + rg * VL;
                                const cb = c0 + cg * VL;
                                var blk: [VL]V = undefined;
                                inline for (0..VL) |k| blk[k] = (sb + so + (cb + k) * sc + rb)[0..VL].*;
                                const out = mm.transposeBlock(VL, E, blk);
                                inline for (0..VL) |j| (db + do + (rb + j) * dr + cb)[0..VL].* = out[j];
                            };
                        }
                    }
                }
                while (c0 < c.cols) : (c0 += tile_edge) {
                    const c1 = @min(c.cols, c0 + tile_edge);
                    for (r0..r1) |row| {
                        const drow = c.dst + do + row * dr;
                        const srow = c.src + so + row;
                        for (c0..c1) |col| drow[col] = dt.convert(D, S, srow[col * sc]);
                    }
                }
            }
        }
    }.f);
}

// ---------------------------------------------------------------- unary

pub const Unary = enum(i32) {
    neg = 0,
    abs = 1,
    sign = 2,
    exp = 3,
    exp2 = 4,
    log = 5,
    log2 = 6,
    log1p = 7,
    expm1 = 8,
    sqrt = 9,
    rsqrt = 10,
    reciprocal = 11,
    square = 12,
    sin = 13,
    cos = 14,
    tan = 15,
    tanh = 16,
    sigmoid = 17,
    relu = 18,
    leaky_relu = 19,
    elu = 20,
    gelu_erf = 21,
    gelu_tanh = 22,
    silu = 23,
    softplus = 24,
    floor = 25,
    ceil = 26,
    round = 27,
    trunc = 28,
    isnan = 29,
    isinf = 30,
    nan_to_num = 31,
    logical_not = 32,
    erf = 33,
    /// GELU's derivatives (the backward's factor on the gradient), fused: the
    /// composed forms take about ten passes over the activations.
    gelu_erf_grad = 34,
    gelu_tanh_grad = 35,
    asin = 36,
    acos = 37,
    atan = 38,
    sinh = 39,
    cosh = 40,
    asinh = 41,
    acosh = 42,
    atanh = 43,

    /// Ops whose result is bool whatever the input.
    pub fn isPredicate(op: Unary) bool {
        return op == .isnan or op == .isinf or op == .logical_not;
    }
    /// Ops defined on integer (and bool) inputs; the rest need float.
    pub fn allowsInt(op: Unary) bool {
        return switch (op) {
            .neg, .abs, .sign, .square, .relu, .floor, .ceil, .round, .trunc, .isnan, .isinf, .logical_not => true,
            else => false,
        };
    }
};

const Params = struct { a: f64, b: f64, c: f64 };

inline fn unaryFloat(comptime T: type, comptime op: Unary, x: T, p: Params) T {
    return switch (op) {
        .neg => -x,
        .abs => @abs(x),
        .sign => if (x > 0) 1 else if (x < 0) -1 else 0, // NaN and -0 give 0, as torch.sign
        .exp => @exp(x),
        .exp2 => @exp2(x),
        .log => @log(x),
        .log2 => @log2(x),
        .log1p => m.log1p(T, x),
        .expm1 => m.expm1(T, x),
        .sqrt => @sqrt(x),
        .rsqrt => 1 / @sqrt(x),
        .reciprocal => 1 / x,
        .square => x * x,
        .sin => @sin(x),
        .cos => @cos(x),
        .tan => @tan(x),
        .tanh => m.tanh(T, x),
        .sigmoid => 1 / (1 + @exp(-x)),
        .relu => if (x > 0 or x != x) x else 0,
        .leaky_relu => if (x > 0) x else x * @as(T, @floatCast(p.a)),
        .elu => if (x > 0) x else @as(T, @floatCast(p.a)) * m.expm1(T, x),
        // x Phi(x) through erfc: 0.5 x (1 + erf(x/sqrt2)) cancels to nothing
        // for negative x (float64 at x = -10 gives -0 for -7.6e-23). float32
        // is vmath's gelu32, so strided and contiguous runs give the same bits.
        .gelu_erf => if (T == f32) vm.gelu32(1, @as(@Vector(1, f32), @splat(x)))[0] else 0.5 * x * m.erfc(T, -x * std.math.sqrt1_2),
        .gelu_tanh => blk: {
            const k: T = @sqrt(2.0 / std.math.pi);
            break :blk 0.5 * x * (1 + m.tanh(T, k * (x + 0.044715 * x * x * x)));
        },
        .silu => x / (1 + @exp(-x)),
        .softplus => blk: {
            const beta: T = @floatCast(p.a);
            const threshold: T = @floatCast(p.b);
            break :blk if (x * beta > threshold) x else m.log1p(T, @exp(x * beta)) / beta;
        },
        .floor => @floor(x),
        .ceil => @ceil(x),
        .round => m.roundEven(T, x),
        .trunc => @trunc(x),
        .nan_to_num => if (x != x) @floatCast(p.a) else if (x == std.math.inf(T)) @floatCast(p.b) else if (x == -std.math.inf(T)) @floatCast(p.c) else x,
        .erf => m.erf(T, x),
        // Phi(x) + x phi(x), Phi through erfc (no cancellation for negative x).
        .gelu_erf_grad => 0.5 * m.erfc(T, -x * std.math.sqrt1_2) + x * @exp(-0.5 * x * x) * (1.0 / @sqrt(2.0 * std.math.pi)),
        .gelu_tanh_grad => blk: {
            const k: T = @sqrt(2.0 / std.math.pi);
            const t = m.tanh(T, k * (x + 0.044715 * x * x * x));
            break :blk 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
        },
        .asin => m.asin(T, x),
        .acos => m.acos(T, x),
        .atan => m.atan(T, x),
        .sinh => m.sinh(T, x),
        .cosh => m.cosh(T, x),
        .asinh => m.asinh(T, x),
        .acosh => m.acosh(T, x),
        .atanh => m.atanh(T, x),
        .isnan, .isinf, .logical_not => unreachable,
    };
}

inline fn unaryInt(comptime T: type, comptime op: Unary, x: T) T {
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

inline fn predicate(comptime T: type, comptime op: Unary, x: T) u8 {
    const float = comptime dt.isFloat(T);
    return switch (op) {
        .isnan => if (float) @intFromBool(x != x) else 0,
        .isinf => if (float) @intFromBool(@abs(x) == std.math.inf(T)) else 0,
        .logical_not => @intFromBool(x == 0),
        else => unreachable,
    };
}

/// Ops with a vectorised kernel (vmath.zig) on contiguous float runs (erf
/// and the GELU built on it: float32 only, float64 keeps the C library's).
fn vectorOp(comptime T: type, comptime op: Unary) bool {
    return switch (op) {
        .exp, .log, .tanh, .sigmoid, .silu, .gelu_tanh, .gelu_tanh_grad => true,
        .erf, .gelu_erf, .gelu_erf_grad => T == f32,
        else => false,
    };
}

/// Registers' worth of elements per vmath call: these functions are long
/// dependency chains (a division, two polynomials, exp), so independent
/// chains side by side keep the FMA units busy where one chain waits on
/// latency. Four against two, float32, 3M elements, 1 thread on Zen 3 (AVX2):
/// exp 4.5%, tanh 4%, sigmoid 7.5%, silu 9%, GELU 9% faster, though four
/// chains spill some of the 16 registers.
const unary_vectors = 4;

/// Contiguous run through vmath; the tail goes through a padded vector so
/// that every element gets the same function whatever the chunking. A half
/// E widens as it loads and rounds once as it stores (T is then f32).
fn vectorRun(comptime T: type, comptime E: type, comptime op: Unary, x: [*]const E, y: [*]E, len: usize) void {
    // GELU and erf: long dependency chains (a division, two polynomials, an
    // exp) that 4 vectors in flight do not hide (4096x768, 1 thread: 2.6 ms
    // at 4 vectors a step, 2.3 ms at 8).
    const n = comptime vm.lanes(T) * switch (op) {
        .gelu_erf, .gelu_erf_grad, .erf => 8,
        else => unary_vectors,
    };
    const V = @Vector(n, T);
    const f = struct {
        const half: V = @splat(0.5);
        const one: V = @splat(1);
        inline fn f(v: V) V {
            return switch (op) {
                .exp => vm.expMostlyNormal(T, n, v),
                .log => vm.log(T, n, v),
                .tanh => vm.tanh(T, n, v),
                .sigmoid => vm.sigmoid(T, n, v),
                .silu => vm.silu(T, n, v),
                .erf => vm.erf32(n, v),
                .gelu_erf => vm.gelu32(n, v),
                .gelu_tanh => blk: {
                    const k: V = @splat(@sqrt(2.0 / std.math.pi));
                    const c: V = @splat(0.044715);
                    break :blk half * v * (one + vm.tanh(T, n, k * (v + c * v * v * v)));
                },
                .gelu_tanh_grad => blk: {
                    const k: V = @splat(@sqrt(2.0 / std.math.pi));
                    const c: V = @splat(0.044715);
                    const t = vm.tanh(T, n, k * (v + c * v * v * v));
                    const c3: V = @splat(3 * 0.044715);
                    break :blk half * (one + t) + half * v * (one - t * t) * k * (one + c3 * v * v);
                },
                .gelu_erf_grad => vm.geluGrad32(n, v),
                else => unreachable,
            };
        }
    }.f;
    var i: usize = 0;
    while (i + n <= len) : (i += n) dt.storeVec(T, E, n, y + i, f(dt.loadVec(T, E, n, x + i)));
    if (i < len) {
        var buf: [n]T = @splat(0);
        for (buf[0 .. len - i], x[i..len]) |*d, v| d.* = dt.loadOne(T, E, v);
        const r: [n]T = f(buf);
        for (y[i..len], r[0 .. len - i]) |*d, v| dt.storeOne(T, E, d, v);
    }
}

/// Ops whose scalar form branches on the sign of x: on data of mixed sign
/// the branch mispredicts about half the time (relu ran at 2.8 ns an
/// element), so contiguous float runs use vector selects instead.
fn selectOp(comptime op: Unary) bool {
    return switch (op) {
        .relu, .leaky_relu, .sign => true,
        else => false,
    };
}

/// The vector form of selectOp's ops, element for element the scalar
/// unaryFloat (relu keeps NaN; sign gives 0 for NaN and -0).
fn selectRun(comptime T: type, comptime E: type, comptime op: Unary, x: [*]const E, y: [*]E, len: usize, p: Params) void {
    const n = comptime vm.lanes(T);
    const V = @Vector(n, T);
    const zero: V = @splat(0);
    const slope: V = @splat(@as(T, @floatCast(p.a)));
    var i: usize = 0;
    while (i + n <= len) : (i += n) {
        const v: V = dt.loadVec(T, E, n, x + i);
        dt.storeVec(T, E, n, y + i, switch (op) {
            .relu => @select(T, (v > zero) | (v != v), v, zero),
            .leaky_relu => @select(T, v > zero, v, v * slope),
            .sign => @select(T, v > zero, @as(V, @splat(1)), @select(T, v < zero, @as(V, @splat(-1)), zero)),
            else => unreachable,
        });
    }
    while (i < len) : (i += 1) dt.storeOne(T, E, &y[i], unaryFloat(T, op, dt.loadOne(T, E, x[i]), p));
}

/// Float ops that are one IEEE operation per element (or a bit operation):
/// their contiguous runs go through explicit vectors, which give the same
/// values lane by lane (the plain loop over `one` is left scalar).
fn plainVectorOp(comptime op: Unary) bool {
    return switch (op) {
        .neg, .abs, .sqrt, .rsqrt, .reciprocal, .square, .floor, .ceil, .trunc => true,
        else => false,
    };
}

fn plainVectorRun(comptime T: type, comptime op: Unary, x: [*]const T, y: [*]T, len: usize) void {
    const L = 32 / @sizeOf(T);
    const V = @Vector(L, T);
    const one: V = @splat(1);
    var i: usize = 0;
    while (i + L <= len) : (i += L) {
        const v: V = x[i..][0..L].*;
        const r: V = switch (op) {
            .neg => -v,
            .abs => @abs(v),
            .sqrt => @sqrt(v),
            .rsqrt => one / @sqrt(v),
            .reciprocal => one / v,
            .square => v * v,
            .floor => @floor(v),
            .ceil => @ceil(v),
            .trunc => @trunc(v),
            else => unreachable,
        };
        y[i..][0..L].* = r;
    }
    while (i < len) : (i += 1) y[i] = unaryFloat(T, op, x[i], undefined);
}

fn UnaryBody(comptime T: type, comptime O: type, comptime op: Unary) type {
    return struct {
        x: [*]const T,
        y: [*]O,
        p: Params,
        inline fn one(b: @This(), v: T) O {
            if (comptime op.isPredicate()) return predicate(T, op, v);
            if (comptime dt.isFloat(T)) return unaryFloat(T, op, v, b.p);
            return unaryInt(T, op, v);
        }
        pub fn run(b: @This(), offs: [2]i64, len: usize, st: [2]i64) void {
            const x = b.x + @as(usize, @intCast(offs[0]));
            const y = b.y + @as(usize, @intCast(offs[1]));
            if (st[0] == 1 and st[1] == 1) {
                if (comptime dt.isFloat(T) and vectorOp(T, op)) return vectorRun(T, T, op, x, y, len);
                if (comptime dt.isFloat(T) and selectOp(op)) return selectRun(T, T, op, x, y, len, b.p);
                if (comptime dt.isFloat(T) and plainVectorOp(op)) {
                    if (apart(T, y, x, len)) return plainVectorRun(T, op, x, y, len);
                }
                for (0..len) |i| y[i] = b.one(x[i]);
            } else {
                const xs: usize = @intCast(st[0]);
                const ys: usize = @intCast(st[1]);
                for (0..len) |i| y[i * ys] = b.one(x[i * xs]);
            }
        }
    };
}

// float16 and bfloat16 compute in f32, as PyTorch's CPU kernels do: each run
// is converted in blocks small enough to stay in L1 (never a float32 copy of
// the tensor), goes through the f32 body (its vector paths included), and is
// rounded back once.

/// Elements per conversion block: 2 KiB of f32 per operand.
const half_block = 512;

inline fn toF32(comptime D: DType, v: dt.Storage(D)) f32 {
    return dt.convert(.float32, D, v);
}
inline fn fromF32(comptime D: DType, v: f32) dt.Storage(D) {
    return dt.convert(D, .float32, v);
}

/// The unary body of a half dtype D: blocks through UnaryBody(f32, ...).
fn HalfUnaryBody(comptime D: DType, comptime op: Unary) type {
    const H = dt.Storage(D);
    const pred = op.isPredicate();
    const Out = if (pred) u8 else H;
    const F = UnaryBody(f32, if (pred) u8 else f32, op);
    return struct {
        x: [*]const H,
        y: [*]Out,
        p: Params,
        pub fn run(b: @This(), offs: [2]i64, len: usize, st: [2]i64) void {
            const x = b.x + @as(usize, @intCast(offs[0]));
            const y = b.y + @as(usize, @intCast(offs[1]));
            const xs: usize = @intCast(st[0]);
            const ys: usize = @intCast(st[1]);
            // The vector kernels convert in registers: no blocks to pass through.
            if (xs == 1 and ys == 1 and !pred) {
                if (comptime vectorOp(f32, op)) return vectorRun(f32, H, op, x, y, len);
                if (comptime selectOp(op)) return selectRun(f32, H, op, x, y, len, b.p);
            }
            var xin: [half_block]f32 = undefined;
            var yout: [half_block](if (pred) u8 else f32) = undefined;
            const f = F{ .x = &xin, .y = &yout, .p = b.p };
            var i: usize = 0;
            while (i < len) : (i += half_block) {
                const n = @min(half_block, len - i);
                if (xs == 1) dt.widen(H, x + i, &xin, n) else for (0..n) |k| {
                    xin[k] = toF32(D, x[(i + k) * xs]);
                }
                f.run(.{ 0, 0 }, n, .{ 1, 1 });
                if (pred) {
                    for (0..n) |k| y[(i + k) * ys] = yout[k];
                } else if (ys == 1) dt.narrow(H, &yout, y + i, n) else for (0..n) |k| {
                    y[(i + k) * ys] = fromF32(D, yout[k]);
                }
            }
        }
    };
}

/// The binary body of a half dtype D: blocks through BinaryBody(f32, ...); a
/// broadcast operand (stride 0) is converted once per block.
fn HalfBinaryBody(comptime D: DType, comptime op: Binary) type {
    const H = dt.Storage(D);
    const pred = op.isPredicate();
    const Out = if (pred) u8 else H;
    const F = BinaryBody(f32, if (pred) u8 else f32, op);
    return struct {
        a: [*]const H,
        b: [*]const H,
        o: [*]Out,
        /// A float32 operand in place of a (or b), every element: a plain
        /// number the half type cannot hold, kept in float32 as PyTorch keeps
        /// a scalar in its opmath type. That operand's pointer is not read.
        scalar_a: ?f32 = null,
        scalar_b: ?f32 = null,
        pub fn run(self: @This(), offs: [3]i64, len: usize, st: [3]i64) void {
            const a = self.a + @as(usize, @intCast(offs[0]));
            const b = self.b + @as(usize, @intCast(offs[1]));
            const o = self.o + @as(usize, @intCast(offs[2]));
            const as: usize = if (self.scalar_a != null) 0 else @intCast(st[0]);
            const bs: usize = if (self.scalar_b != null) 0 else @intCast(st[1]);
            const os: usize = @intCast(st[2]);
            var ain: [half_block]f32 = undefined;
            var bin: [half_block]f32 = undefined;
            var out: [half_block](if (pred) u8 else f32) = undefined;
            const f = F{ .a = &ain, .b = &bin, .o = &out };
            var i: usize = 0;
            while (i < len) : (i += half_block) {
                const n = @min(half_block, len - i);
                if (self.scalar_a) |v| {
                    ain[0] = v;
                } else if (as == 0) {
                    ain[0] = toF32(D, a[0]);
                } else if (as == 1) {
                    dt.widen(H, a + i, &ain, n);
                } else {
                    for (0..n) |k| ain[k] = toF32(D, a[(i + k) * as]);
                }
                if (self.scalar_b) |v| {
                    bin[0] = v;
                } else if (bs == 0) {
                    bin[0] = toF32(D, b[0]);
                } else if (bs == 1) {
                    dt.widen(H, b + i, &bin, n);
                } else {
                    for (0..n) |k| bin[k] = toF32(D, b[(i + k) * bs]);
                }
                f.run(.{ 0, 0, 0 }, n, .{ @intFromBool(as != 0), @intFromBool(bs != 0), 1 });
                if (pred) {
                    for (0..n) |k| o[(i + k) * os] = out[k];
                } else if (os == 1) dt.narrow(H, &out, o + i, n) else for (0..n) |k| {
                    o[(i + k) * os] = fromF32(D, out[k]);
                }
            }
        }
    };
}

/// y = op(x). Float ops need float32/float64 input; predicates write bool (u8).
pub fn unary(op: Unary, dtype: DType, x: [*]u8, xoff: i64, y: [*]u8, yoff: i64, layout: *const strided.Layout(2), p: Params) Error!void {
    @setEvalBranchQuota(20_000);
    switch (dtype) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool => |D| {
            const T = dt.Storage(D);
            switch (op) {
                inline else => |O| {
                    if (comptime !dt.isFloat(T) and !O.allowsInt()) return error.InvalidArgument;
                    const Out = if (comptime O.isPredicate()) u8 else T;
                    const body = UnaryBody(T, Out, O){ .x = ptr(T, x, xoff), .y = ptr(Out, y, yoff), .p = p };
                    parallel(2, layout, body);
                },
            }
        },
        inline .float16, .bfloat16 => |D| {
            const H = dt.Storage(D);
            switch (op) {
                inline else => |O| {
                    const Out = if (comptime O.isPredicate()) u8 else H;
                    const body = HalfUnaryBody(D, O){ .x = ptr(H, x, xoff), .y = ptr(Out, y, yoff), .p = p };
                    parallel(2, layout, body);
                },
            }
        },
    }
}

pub fn unaryParams(a: f64, b: f64, c: f64) Params {
    return .{ .a = a, .b = b, .c = c };
}

// ---------------------------------------------------------------- binary

pub const Binary = enum(i32) {
    add = 0,
    sub = 1,
    mul = 2,
    div = 3,
    pow = 4,
    maximum = 5,
    minimum = 6,
    remainder = 7,
    floor_divide = 8,
    atan2 = 9,
    eq = 10,
    ne = 11,
    lt = 12,
    le = 13,
    gt = 14,
    ge = 15,
    logical_and = 16,
    logical_or = 17,
    logical_xor = 18,
    /// C's fmod: the remainder with the dividend's sign (truncated division).
    fmod = 19,
    copysign = 20,

    pub fn isPredicate(op: Binary) bool {
        const i = @backingInt(op);
        return i >= @backingInt(Binary.eq) and i <= @backingInt(Binary.logical_xor);
    }
    pub fn floatOnly(op: Binary) bool {
        return op == .atan2 or op == .div or op == .copysign;
    }
    /// Integer ops with no result for a zero divisor (checked before any write).
    pub fn intDivides(op: Binary) bool {
        return op == .remainder or op == .floor_divide or op == .fmod;
    }
};

inline fn floorDivFloat(comptime T: type, a: T, b: T) T {
    // PyTorch's div_floor for floats: through fmod, so that the quotient is exact.
    if (b == 0) return a / b;
    const mod = m.fmod(T, a, b);
    var div = (a - mod) / b;
    if (mod != 0 and (b < 0) != (mod < 0)) div -= 1;
    if (div == 0) return std.math.copysign(@as(T, 0), a / b);
    var fl = @floor(div);
    if (div - fl > 0.5) fl += 1;
    return fl;
}

inline fn binaryArith(comptime T: type, comptime op: Binary, a: T, b: T) T {
    const float = comptime dt.isFloat(T);
    return switch (op) {
        .add => if (float) a + b else a +% b,
        .sub => if (float) a - b else a -% b,
        .mul => if (float) a * b else a *% b,
        .div => a / b,
        .pow => if (float) m.pow(T, a, b) else intPow(T, a, b),
        .maximum => if (float) (if (a != a or b != b) a + b else @max(a, b)) else @max(a, b),
        .minimum => if (float) (if (a != a or b != b) a + b else @min(a, b)) else @min(a, b),
        .remainder => if (float) blk: {
            var r = m.fmod(T, a, b);
            if (r != 0 and (r < 0) != (b < 0)) r += b;
            break :blk r;
        } else intMod(T, a, b),
        .floor_divide => if (float) floorDivFloat(T, a, b) else intFloorDiv(T, a, b),
        .atan2 => m.atan2(T, a, b),
        .fmod => if (float) m.fmod(T, a, b) else intRem(T, a, b),
        .copysign => std.math.copysign(a, b),
        else => unreachable,
    };
}

/// a // b for integers (b != 0, checked before). MIN // -1 overflows, and
/// x86 traps on it (SIGFPE) rather than wrap: PyTorch's result is MIN, the
/// wrapped negation. Shared with the CUDA kernels.
pub inline fn intFloorDiv(comptime T: type, a: T, b: T) T {
    if (comptime @typeInfo(T).int.signedness == .signed) {
        if (b == -1) return 0 -% a;
    }
    return @divFloor(a, b);
}

/// a % b with the dividend's sign (C's %, b != 0); MIN % -1 is 0, where
/// the division behind @rem would trap. Shared with the CUDA kernels.
pub inline fn intRem(comptime T: type, a: T, b: T) T {
    if (comptime @typeInfo(T).int.signedness == .signed) {
        if (b == -1) return 0;
    }
    return @rem(a, b);
}

/// a % b with the divisor's sign (b != 0); MIN % -1 is 0, where the
/// division behind @mod would trap.
pub inline fn intMod(comptime T: type, a: T, b: T) T {
    if (comptime @typeInfo(T).int.signedness == .signed) {
        if (b == -1) return 0;
    }
    return @mod(a, b);
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

/// The comparison and logical ops as 0/1 (shared with the CUDA kernels).
pub inline fn binaryPred(comptime T: type, comptime op: Binary, a: T, b: T) u8 {
    return @intFromBool(switch (op) {
        .eq => a == b,
        .ne => a != b,
        .lt => a < b,
        .le => a <= b,
        .gt => a > b,
        .ge => a >= b,
        .logical_and => a != 0 and b != 0,
        .logical_or => a != 0 or b != 0,
        .logical_xor => (a != 0) != (b != 0),
        else => unreachable,
    });
}

/// Ops whose contiguous runs go through explicit vectors: the plain loop
/// over `one` is left scalar by the compiler (it cannot rule out that o
/// overlaps a or b; a 1M-float add ran at 30 GB/s from L3). Lane by lane
/// the same IEEE operations (and NaN rule) as binaryArith.
fn vectorBinary(comptime T: type, comptime O: type, comptime op: Binary) bool {
    return T == O and T != bool and switch (op) {
        .add, .sub, .mul, .maximum, .minimum => true,
        .div => dt.isFloat(T),
        else => false,
    };
}

inline fn binaryVec(comptime T: type, comptime op: Binary, comptime V: type, x: V, y: V) V {
    const float = comptime dt.isFloat(T);
    return switch (op) {
        .add => if (float) x + y else x +% y,
        .sub => if (float) x - y else x -% y,
        .mul => if (float) x * y else x *% y,
        .div => x / y,
        .maximum => if (float) @select(T, x != x, x + y, @select(T, y != y, x + y, @max(x, y))) else @max(x, y),
        .minimum => if (float) @select(T, x != x, x + y, @select(T, y != y, x + y, @min(x, y))) else @min(x, y),
        else => unreachable,
    };
}

/// o[i] = a[i * sa] op b[i * sb] for i < len with sa, sb in {0, 1} (0: one
/// element broadcast), whole vectors then the tail element by element.
fn binaryVecRun(comptime T: type, comptime op: Binary, comptime sa: u1, comptime sb: u1, a: [*]const T, b: [*]const T, o: [*]T, len: usize) void {
    const L = 32 / @sizeOf(T);
    const V = @Vector(L, T);
    var i: usize = 0;
    const av: V = @splat(a[0]);
    const bv: V = @splat(b[0]);
    while (i + L <= len) : (i += L) {
        const x: V = if (sa == 1) a[i..][0..L].* else av;
        const y: V = if (sb == 1) b[i..][0..L].* else bv;
        o[i..][0..L].* = binaryVec(T, op, V, x, y);
    }
    while (i < len) : (i += 1) o[i] = binaryArith(T, op, a[i * sa], b[i * sb]);
}

/// Whether writing o[0..len] in vector steps reads every x[0..len] element
/// as the element-by-element loop would: x is o itself or apart from it.
fn apart(comptime T: type, o: [*]const T, x: [*]const T, len: usize) bool {
    const bytes = len * @sizeOf(T);
    return o == x or apartBytes(@intFromPtr(o), bytes, @intFromPtr(x), bytes);
}

/// Whether byte ranges [a, a + an) and [b, b + bn) do not overlap.
fn apartBytes(a: usize, an: usize, b: usize, bn: usize) bool {
    return a + an <= b or b + bn <= a;
}

fn BinaryBody(comptime T: type, comptime O: type, comptime op: Binary) type {
    return struct {
        a: [*]const T,
        b: [*]const T,
        o: [*]O,
        /// Write contiguous runs with streaming stores (a large output).
        stream: bool = false,
        inline fn one(a: T, b: T) O {
            if (comptime op.isPredicate()) return binaryPred(T, op, a, b);
            return binaryArith(T, op, a, b);
        }
        pub fn run(self: @This(), offs: [3]i64, len: usize, st: [3]i64) void {
            const a = self.a + @as(usize, @intCast(offs[0]));
            const b = self.b + @as(usize, @intCast(offs[1]));
            const o = self.o + @as(usize, @intCast(offs[2]));
            if (st[2] == 1 and len > 0) {
                if (comptime vectorBinary(T, O, op)) {
                    // A broadcast operand is read once up front, as the loops below do.
                    const a_ok = st[0] == 0 or (st[0] == 1 and apart(T, o, a, len));
                    const b_ok = st[1] == 0 or (st[1] == 1 and apart(T, o, b, len));
                    if (a_ok and b_ok) {
                        if (st[0] == 1 and st[1] == 1) {
                            if (comptime streamable(T, O, op)) {
                                if (self.stream) return streamBinary(T, op, a, b, o, len);
                            }
                            return binaryVecRun(T, op, 1, 1, a, b, o, len);
                        }
                        if (st[0] == 1 and st[1] == 0) return binaryVecRun(T, op, 1, 0, a, b, o, len);
                        if (st[0] == 0 and st[1] == 1) return binaryVecRun(T, op, 0, 1, a, b, o, len);
                    }
                }
                if (st[0] == 1 and st[1] == 1) {
                    for (0..len) |i| o[i] = one(a[i], b[i]);
                    return;
                }
                if (st[0] == 1 and st[1] == 0) {
                    const bv = b[0];
                    for (0..len) |i| o[i] = one(a[i], bv);
                    return;
                }
                if (st[0] == 0 and st[1] == 1) {
                    const av = a[0];
                    for (0..len) |i| o[i] = one(av, b[i]);
                    return;
                }
            }
            const as: usize = @intCast(st[0]);
            const bs: usize = @intCast(st[1]);
            const os: usize = @intCast(st[2]);
            for (0..len) |i| o[i * os] = one(a[i * as], b[i * bs]);
        }
    };
}

/// Scans b for a value that makes the op undefined for integers.
fn IntCheckBody(comptime T: type, comptime zero_bad: bool) type {
    return struct {
        b: [*]const T,
        bad: *bool,
        pub fn run(self: @This(), offs: [1]i64, len: usize, st: [1]i64) void {
            const b = self.b + @as(usize, @intCast(offs[0]));
            const bs: usize = @intCast(st[0]);
            for (0..len) |i| {
                const v = b[i * bs];
                if (if (zero_bad) v == 0 else v < 0) self.bad.* = true;
            }
        }
    };
}

/// out = op(a, b); layout operands: a, b, out. Predicates write bool (u8).
pub fn binary(op: Binary, dtype: DType, a: [*]u8, aoff: i64, b: [*]u8, boff: i64, out: [*]u8, ooff: i64, layout: *const strided.Layout(3)) Error!void {
    @setEvalBranchQuota(20_000);
    switch (dtype) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool => |D| {
            const T = dt.Storage(D);
            switch (op) {
                inline else => |O| {
                    if (comptime !dt.isFloat(T) and O.floatOnly()) return error.InvalidArgument;
                    if (comptime !dt.isFloat(T) and (O.intDivides() or O == .pow)) {
                        // Integer division by zero and negative powers have no integer result.
                        var bad = false;
                        var l1: strided.Layout(1) = undefined;
                        l1.ndim = layout.ndim;
                        l1.numel = layout.numel;
                        l1.shape = layout.shape;
                        l1.strides[0] = layout.strides[1];
                        l1.forRange(0, l1.numel, IntCheckBody(T, O != .pow){ .b = ptr(T, b, boff), .bad = &bad });
                        if (bad) return if (O == .pow) error.NegativePower else error.DivisionByZero;
                    }
                    const Out = if (comptime O.isPredicate()) u8 else T;
                    const body = BinaryBody(T, Out, O){ .a = ptr(T, a, aoff), .b = ptr(T, b, boff), .o = ptr(Out, out, ooff), .stream = streams(layout.numel * @sizeOf(Out)) };
                    parallel(3, layout, body);
                },
            }
        },
        inline .float16, .bfloat16 => |D| {
            const H = dt.Storage(D);
            switch (op) {
                inline else => |O| {
                    const Out = if (comptime O.isPredicate()) u8 else H;
                    const body = HalfBinaryBody(D, O){ .a = ptr(H, a, aoff), .b = ptr(H, b, boff), .o = ptr(Out, out, ooff) };
                    parallel(3, layout, body);
                },
            }
        },
    }
}

/// out = op(x, scalar), or op(scalar, x) with `scalar_first`, for a half x:
/// the scalar stays float32 (PyTorch's opmath type for a Python number
/// beside a half tensor), so a number the half type cannot hold (0.1) is not
/// rounded to it first. Layout operands: x, (ignored), out.
pub fn binaryScalar(op: Binary, dtype: DType, x: [*]u8, xoff: i64, scalar: f32, scalar_first: bool, out: [*]u8, ooff: i64, layout: *const strided.Layout(3)) Error!void {
    @setEvalBranchQuota(20_000);
    switch (dtype) {
        inline .float16, .bfloat16 => |D| {
            const H = dt.Storage(D);
            switch (op) {
                inline else => |O| {
                    const Out = if (comptime O.isPredicate()) u8 else H;
                    const xp = ptr(H, x, xoff);
                    var body = HalfBinaryBody(D, O){ .a = xp, .b = xp, .o = ptr(Out, out, ooff) };
                    var l = layout.*;
                    if (scalar_first) {
                        // x goes second: its strides move to operand 1.
                        l.strides[1] = layout.strides[0];
                        body.scalar_a = scalar;
                    } else body.scalar_b = scalar;
                    parallel(3, &l, body);
                },
            }
        },
        else => return error.InvalidArgument,
    }
}

// ---------------------------------------------------------------- where

fn WhereBody(comptime T: type) type {
    return struct {
        c: [*]const u8,
        a: [*]const T,
        b: [*]const T,
        o: [*]T,
        pub fn run(self: @This(), offs: [4]i64, len: usize, st: [4]i64) void {
            const c = self.c + @as(usize, @intCast(offs[0]));
            const a = self.a + @as(usize, @intCast(offs[1]));
            const b = self.b + @as(usize, @intCast(offs[2]));
            const o = self.o + @as(usize, @intCast(offs[3]));
            const cs: usize = @intCast(st[0]);
            const as: usize = @intCast(st[1]);
            const bs: usize = @intCast(st[2]);
            const os: usize = @intCast(st[3]);
            // A random condition makes the scalar loop's branch mispredict
            // about half the time: contiguous runs with each value operand
            // contiguous or one broadcast scalar (relu's backward,
            // where(mask, g, 0)) select whole vectors.
            if (cs == 1 and os == 1 and as <= 1 and bs <= 1) return whereRun(T, c, a, as == 1, b, bs == 1, o, len);
            for (0..len) |i| o[i * os] = if (c[i * cs] != 0) a[i * as] else b[i * bs];
        }
    };
}

/// o[i] = c[i] != 0 ? a[i] : b[i], where a and b are either contiguous or a
/// scalar repeated (stride 0). Works on the bits, so any storage type goes.
fn whereRun(comptime T: type, c: [*]const u8, a: [*]const T, a_vec: bool, b: [*]const T, b_vec: bool, o: [*]T, len: usize) void {
    const B = @Int(.unsigned, @bitSizeOf(T));
    const n = comptime @max(4, 32 / @sizeOf(T));
    const V = @Vector(n, B);
    const ab: [*]const B = @ptrCast(a);
    const bb: [*]const B = @ptrCast(b);
    const ob: [*]B = @ptrCast(o);
    const a0: V = @splat(ab[0]);
    const b0: V = @splat(bb[0]);
    const zero: @Vector(n, u8) = @splat(0);
    var i: usize = 0;
    while (i + n <= len) : (i += n) {
        const mask = @as(@Vector(n, u8), c[i..][0..n].*) != zero;
        const va: V = if (a_vec) ab[i..][0..n].* else a0;
        const vb: V = if (b_vec) bb[i..][0..n].* else b0;
        ob[i..][0..n].* = @select(B, mask, va, vb);
    }
    while (i < len) : (i += 1) ob[i] = if (c[i] != 0) ab[if (a_vec) i else 0] else bb[if (b_vec) i else 0];
}

/// out = cond ? a : b; layout operands: cond (bool), a, b, out. Any dtype (by size).
pub fn where(dtype: DType, c: [*]u8, coff: i64, a: [*]u8, aoff: i64, b: [*]u8, boff: i64, out: [*]u8, ooff: i64, layout: *const strided.Layout(4)) void {
    switch (dtype) {
        inline else => |D| {
            const T = dt.Storage(D);
            const body = WhereBody(T){ .c = ptr(u8, c, coff), .a = ptr(T, a, aoff), .b = ptr(T, b, boff), .o = ptr(T, out, ooff) };
            parallel(4, layout, body);
        },
    }
}

test "streaming binary stores give the plain loop's values at every alignment and length" {
    if (comptime !can_stream) return error.SkipZigTest;
    inline for (.{ f32, f64 }) |T| {
        var a: [80]T = undefined;
        var b: [80]T = undefined;
        for (&a, &b, 0..) |*x, *y, i| {
            x.* = @as(T, @floatFromInt(i)) * 0.37 - 9.5;
            y.* = @as(T, @floatFromInt(i % 11)) * 1.3 - 4.1;
        }
        inline for (.{ Binary.add, Binary.sub, Binary.mul, Binary.div }) |op| {
            var out: [96]T align(64) = undefined;
            for (0..9) |shift| for (0..70) |len| {
                @memset(&out, 12345);
                streamBinary(T, op, &a, &b, out[shift..].ptr, len);
                for (0..96) |i| {
                    const want: T = if (i >= shift and i < shift + len) binaryArith(T, op, a[i - shift], b[i - shift]) else 12345;
                    const U = @Int(.unsigned, @bitSizeOf(T));
                    try std.testing.expectEqual(@as(U, @bitCast(want)), @as(U, @bitCast(out[i])));
                }
            };
        }
    }
}

test "a large add streams its output through binary and matches the plain loop" {
    if (comptime !can_stream) return error.SkipZigTest;
    const n = stream_min_bytes / @sizeOf(f32) + 37;
    try std.testing.expect(streams(n * @sizeOf(f32)));
    const alloc = std.testing.allocator;
    const a = try alloc.alloc(f32, n);
    defer alloc.free(a);
    const b = try alloc.alloc(f32, n);
    defer alloc.free(b);
    const o = try alloc.alloc(f32, n + 1);
    defer alloc.free(o);
    for (a, b, 0..) |*x, *y, i| {
        x.* = @floatFromInt(i % 1000);
        y.* = 0.25 * @as(f32, @floatFromInt(i % 7));
    }
    var layout: strided.Layout(3) = undefined;
    layout.ndim = 1;
    layout.numel = n;
    layout.shape[0] = @intCast(n);
    for (0..3) |k| layout.strides[k][0] = 1;
    pool.setNumThreads(2);
    // Output offset 1: the streaming loop starts unaligned.
    try binary(.add, .float32, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(o.ptr), 1, &layout);
    for (0..n) |i| try std.testing.expectEqual(a[i] + b[i], o[i + 1]);
}

test "vector binary runs give the element-by-element values: every op, broadcasts, NaNs, tails" {
    inline for (.{ f32, f64, i64, i32, u8 }) |T| {
        const float = comptime dt.isFloat(T);
        var a: [70]T = undefined;
        var b: [70]T = undefined;
        for (&a, &b, 0..) |*x, *y, i| {
            if (float) {
                x.* = @as(T, @floatFromInt(i)) * 0.37 - 9.5;
                y.* = @as(T, @floatFromInt(i % 11)) * 1.3 - 4.1;
            } else {
                const v: i64 = @intCast(i * 37 % 101);
                x.* = @intCast(if (T == u8) v else v - 50);
                y.* = @intCast(i % 13 + 1);
            }
        }
        if (float) {
            a[3] = std.math.nan(T);
            b[9] = std.math.nan(T);
            a[17] = -0.0;
            b[17] = 0.0;
            b[20] = 0;
        }
        inline for (.{ Binary.add, Binary.sub, Binary.mul, Binary.div, Binary.maximum, Binary.minimum }) |op| {
            if (comptime vectorBinary(T, T, op)) {
                inline for (.{ .{ 1, 1 }, .{ 1, 0 }, .{ 0, 1 } }) |s| {
                    for (0..a.len) |len| {
                        var out: [72]T = @splat(42);
                        binaryVecRun(T, op, s[0], s[1], &a, &b, &out, len);
                        for (0..out.len) |i| {
                            const want: T = if (i < len) binaryArith(T, op, a[i * s[0]], b[i * s[1]]) else 42;
                            const U = @Int(.unsigned, @bitSizeOf(T));
                            try std.testing.expectEqual(@as(U, @bitCast(want)), @as(U, @bitCast(out[i])));
                        }
                    }
                }
            }
        }
    }
}

test "binary keeps the element-by-element order where the output partly overlaps an input" {
    // o = a shifted by one element: each step reads what the step before
    // wrote, so the values are 0, 1, 2, ...; a vector pass would read the
    // old squares (i * i + 1).
    var one_v: [1]f32 = .{1};
    var layout: strided.Layout(3) = undefined;
    layout.ndim = 1;
    layout.numel = 39;
    layout.shape[0] = 39;
    layout.strides[0][0] = 1;
    layout.strides[1][0] = 0;
    layout.strides[2][0] = 1;
    var shifted: [40]f32 = undefined;
    for (&shifted, 0..) |*x, i| x.* = @floatFromInt(i * i);
    try binary(.add, .float32, @ptrCast(&shifted), 0, @ptrCast(&one_v), 0, @ptrCast(&shifted), 1, &layout);
    for (shifted, 0..) |x, i| try std.testing.expectEqual(@as(f32, @floatFromInt(i)), x);
}

test "vector unary runs give the element-by-element values: every plain op, special values, tails" {
    inline for (.{ f32, f64 }) |T| {
        var x: [45]T = undefined;
        for (&x, 0..) |*v, i| v.* = @as(T, @floatFromInt(i)) * 0.73 - 11.2;
        x[2] = std.math.nan(T);
        x[5] = std.math.inf(T);
        x[6] = -std.math.inf(T);
        x[7] = -0.0;
        x[8] = 0.0;
        x[11] = -2.5;
        inline for (.{ Unary.neg, Unary.abs, Unary.sqrt, Unary.rsqrt, Unary.reciprocal, Unary.square, Unary.floor, Unary.ceil, Unary.trunc }) |op| {
            comptime assert(plainVectorOp(op));
            for (0..x.len) |len| {
                var y: [48]T = @splat(42);
                plainVectorRun(T, op, &x, &y, len);
                for (0..y.len) |i| {
                    const want: T = if (i < len) unaryFloat(T, op, x[i], undefined) else 42;
                    const U = @Int(.unsigned, @bitSizeOf(T));
                    // NaNs compare by class: the vector and scalar paths may quiet differently.
                    if (want != want) {
                        try std.testing.expect(y[i] != y[i]);
                    } else {
                        try std.testing.expectEqual(@as(U, @bitCast(want)), @as(U, @bitCast(y[i])));
                    }
                }
            }
        }
    }
}

test "contiguous copies: casts between float widths and overlapping moves keep the element-by-element result" {
    var s: [37]f32 = undefined;
    for (&s, 0..) |*v, i| v.* = @as(f32, @floatFromInt(i)) / 3.0;
    s[4] = std.math.inf(f32);
    var d: [37]f64 = undefined;
    var layout: strided.Layout(2) = undefined;
    layout.ndim = 1;
    layout.numel = s.len;
    layout.shape[0] = s.len;
    layout.strides[0][0] = 1;
    layout.strides[1][0] = 1;
    copy(.float32, @ptrCast(&s), 0, .float64, @ptrCast(&d), 0, &layout);
    for (s, d) |a, b| try std.testing.expectEqual(@as(f64, a), b);
    var back: [37]f32 = undefined;
    copy(.float64, @ptrCast(&d), 0, .float32, @ptrCast(&back), 0, &layout);
    try std.testing.expectEqualSlices(f32, &s, &back);
    // Within one buffer: 30 elements from offset 3 to offset 0 and to offset 5.
    inline for (.{ .{ 3, 0 }, .{ 0, 5 } }) |so| {
        var buf: [40]f32 = undefined;
        for (&buf, 0..) |*v, i| v.* = @floatFromInt(i * i);
        var want = buf;
        for (0..30) |i| want[so[1] + i] = want[so[0] + i];
        layout.numel = 30;
        layout.shape[0] = 30;
        copy(.float32, @ptrCast(&buf), so[0], .float32, @ptrCast(&buf), so[1], &layout);
        try std.testing.expectEqualSlices(f32, &want, &buf);
    }
}

test "transposing copies give the element-by-element result: planes, edge tiles, dtypes and casts" {
    const alloc = std.testing.allocator;
    // Source x: [P, C, R] contiguous, read as its transpose [P, R, C] (strides
    // [C*R, 1, R]) into a contiguous destination.
    const shapes = [_][3]usize{ .{ 1, 16, 16 }, .{ 2, 37, 21 }, .{ 3, 8, 64 }, .{ 1, 50, 33 }, .{ 2, 16, 9 } };
    inline for (.{ .{ DType.float32, DType.float32 }, .{ DType.float64, DType.float64 }, .{ DType.int64, DType.int64 }, .{ DType.uint8, DType.uint8 }, .{ DType.float32, DType.float64 }, .{ DType.bfloat16, DType.bfloat16 }, .{ DType.float16, DType.float16 }, .{ DType.int16, DType.int16 } }) |sd| {
        const S = dt.Storage(sd[0]);
        const D = dt.Storage(sd[1]);
        for (shapes) |sh| {
            const p = sh[0];
            const r = sh[1];
            const c = sh[2];
            const src = try alloc.alloc(S, p * r * c);
            defer alloc.free(src);
            for (src, 0..) |*v, i| v.* = dt.convert(sd[0], .int64, @as(i64, @intCast(if (comptime dt.isFloat(S)) i % 1000 else i % 97)));
            const dst = try alloc.alloc(D, p * r * c);
            defer alloc.free(dst);
            var layout: strided.Layout(2) = undefined;
            layout.ndim = 3;
            layout.numel = p * r * c;
            layout.shape[0] = @intCast(p);
            layout.shape[1] = @intCast(r);
            layout.shape[2] = @intCast(c);
            layout.strides[0][0] = @intCast(c * r);
            layout.strides[0][1] = 1;
            layout.strides[0][2] = @intCast(r);
            layout.strides[1][0] = @intCast(r * c);
            layout.strides[1][1] = @intCast(c);
            layout.strides[1][2] = 1;
            try std.testing.expect(transposing(&layout, @sizeOf(S), @intFromPtr(src.ptr), @sizeOf(D), @intFromPtr(dst.ptr)));
            @memset(dst, dt.convert(sd[1], .int64, 0));
            copy(sd[0], @ptrCast(src.ptr), 0, sd[1], @ptrCast(dst.ptr), 0, &layout);
            for (0..p) |pi| for (0..r) |ri| for (0..c) |ci| {
                const want = dt.convert(sd[1], sd[0], src[pi * c * r + ci * r + ri]);
                try std.testing.expectEqual(want, dst[(pi * r + ri) * c + ci]);
            };
        }
    }
}

test "vector half conversions match the scalar ones bit for bit" {
    var prng = std.Random.DefaultPrng.init(3);
    const rnd = prng.random();
    var src: [103]f32 = undefined;
    for (&src, 0..) |*v, i| {
        v.* = switch (i % 7) {
            0 => std.math.nan(f32),
            1 => std.math.inf(f32),
            2 => -0.0,
            3 => @bitCast(@as(u32, 0x3f808000)), // a bfloat16 tie: rounds to even
            4 => @bitCast(rnd.int(u32)),
            else => (rnd.float(f32) - 0.5) * 1e4,
        };
    }
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const H = dt.Storage(D);
        var vec: [103]H = undefined;
        dt.narrow(H, &src, &vec, src.len);
        var back: [103]f32 = undefined;
        dt.widen(H, &vec, &back, vec.len);
        for (src, vec, back) |s, h, b| {
            const want = fromF32(D, s);
            try std.testing.expectEqual(@as(u16, @bitCast(want)), @as(u16, @bitCast(h)));
            const wb = toF32(D, want);
            try std.testing.expect(@as(u32, @bitCast(wb)) == @as(u32, @bitCast(b)) or (wb != wb and b != b));
        }
    }
}

test "float32 to and from float16/bfloat16 copies round as convert does, vector path included" {
    var prng = std.Random.DefaultPrng.init(5);
    const rnd = prng.random();
    const n = 1000;
    var src: [n]f32 = undefined;
    for (&src, 0..) |*v, i| v.* = switch (i % 10) {
        0 => std.math.nan(f32),
        1 => std.math.inf(f32),
        2 => -std.math.inf(f32),
        3 => @bitCast(@as(u32, 0x3f808000) + @as(u32, @intCast(i % 3)) * 0x10000), // bfloat16 ties
        4 => 1e-40, // denormal
        5 => 70000.0, // past float16's range
        else => (rnd.float(f32) - 0.5) * 1000,
    };
    const meta = [_]i32{ n, 1, 1 };
    const layout = strided.Layout(2).fromMeta(1, &meta);
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const H = dt.Storage(D);
        var half: [n]H = undefined;
        copy(.float32, @ptrCast(&src), 0, D, @ptrCast(&half), 0, &layout);
        for (src, half) |f, h| {
            const want = dt.convert(D, .float32, f);
            if (D == .bfloat16) try std.testing.expectEqual(want.bits, h.bits) else try std.testing.expectEqual(@as(u16, @bitCast(want)), @as(u16, @bitCast(h)));
        }
        var back: [n]f32 = undefined;
        copy(D, @ptrCast(&half), 0, .float32, @ptrCast(&back), 0, &layout);
        for (half, back) |h, f| {
            const want = dt.convert(.float32, D, h);
            try std.testing.expectEqual(@as(u32, @bitCast(want)), @as(u32, @bitCast(f)));
        }
    }
}

test "half unary vector kernels give the float32 kernel's values rounded once" {
    var prng = std.Random.DefaultPrng.init(9);
    const rnd = prng.random();
    const n = 1000; // whole vectors and a padded tail
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const H = dt.Storage(D);
        var x: [n]H = undefined;
        for (&x, 0..) |*v, i| v.* = fromF32(D, switch (i % 11) {
            0 => std.math.nan(f32),
            1 => -std.math.inf(f32),
            2 => -0.0,
            else => (rnd.float(f32) - 0.5) * 20,
        });
        var xf: [n]f32 = undefined;
        dt.widen(H, &x, &xf, n);
        inline for (.{ Unary.exp, Unary.log, Unary.tanh, Unary.sigmoid, Unary.silu, Unary.erf, Unary.gelu_erf, Unary.gelu_tanh, Unary.gelu_erf_grad, Unary.gelu_tanh_grad, Unary.relu, Unary.leaky_relu, Unary.sign }) |op| {
            comptime assert(vectorOp(f32, op) or selectOp(op));
            const p = Params{ .a = 0.01, .b = 0, .c = 0 };
            var got: [n]H = undefined;
            (HalfUnaryBody(D, op){ .x = &x, .y = &got, .p = p }).run(.{ 0, 0 }, n, .{ 1, 1 });
            var yf: [n]f32 = undefined;
            (UnaryBody(f32, f32, op){ .x = &xf, .y = &yf, .p = p }).run(.{ 0, 0 }, n, .{ 1, 1 });
            for (got, yf, 0..) |g, w, i| {
                const want = fromF32(D, w);
                if (@as(u16, @bitCast(want)) != @as(u16, @bitCast(g)) and !(w != w and toF32(D, g) != toF32(D, g))) {
                    std.debug.print("{s} {s} element {d}: {x} vs {x}\n", .{ @tagName(D), @tagName(op), i, @as(u16, @bitCast(g)), @as(u16, @bitCast(want)) });
                    return error.TestUnexpectedResult;
                }
            }
        }
    }
}
