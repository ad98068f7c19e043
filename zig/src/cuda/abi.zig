//! Kernel parameter blocks, shared by the host (host.zig) and the device code
//! (kernels.zig): each kernel takes one of these extern structs by value, so
//! both sides agree on the layout by construction.
//!
//! Device addresses are u64 and already include the operand's element offset.
//! Layout dims are stored innermost first (the reverse of the CPU meta), so
//! that the device can decode a flat index with compile-time-unrolled loops.
const std = @import("std");
const DType = @import("../dtype.zig").DType;
const ew = @import("../elementwise.zig");
const opt = @import("../optim.zig");

/// Dims a device layout holds after the TypeScript side's coalescing; more
/// gives status 6.
pub const max_dims = 12;

pub fn Layout(comptime nops: usize) type {
    return extern struct {
        numel: u64,
        ndim: u32,
        /// 1 when every operand is contiguous (flat index = offset).
        contiguous: u32,
        shape: [max_dims]u32,
        strides: [nops][max_dims]i32,
    };
}

/// The unary ops with a 16-byte vector kernel on float32 and float64 (kernels'
/// unaryFlatKernel, one per op): those without a device libm call.
pub fn flatUnary(op: ew.Unary) bool {
    return switch (op) {
        .neg, .abs, .sign, .exp, .log, .sqrt, .rsqrt, .reciprocal, .square, .tanh, .sigmoid => true,
        .relu, .leaky_relu, .gelu_tanh, .silu, .floor, .ceil, .trunc => true,
        else => false,
    };
}

pub const CopyArgs = extern struct { src: u64, dst: u64, l: Layout(2) };
pub const FillArgs = extern struct { dst: u64, bits: u64, l: Layout(1) };
pub const UnaryArgs = extern struct { x: u64, y: u64, a: f64, b: f64, c: f64, op: u32, pad: u32 = 0, l: Layout(2) };
pub const BinaryArgs = extern struct { a: u64, b: u64, out: u64, op: u32, pad: u32 = 0, l: Layout(3) };
pub const WhereArgs = extern struct { c: u64, a: u64, b: u64, out: u64, l: Layout(4) };

/// x: [outer, r, inner] contiguous.
pub const ReduceArgs = extern struct { x: u64, out: u64, idx: u64, outer: u64, r: u64, inner: u64, p: f64, op: u32, pad: u32 = 0 };
pub const ScanArgs = extern struct { x: u64, out: u64, outer: u64, r: u64, inner: u64, op: u32, pad: u32 = 0 };
pub const SoftmaxArgs = extern struct { x: u64, out: u64, outer: u64, r: u64, inner: u64, log: u32, pad: u32 = 0 };

/// Strides in elements; c is [batch, m, n] contiguous.
pub const MatmulArgs = extern struct {
    a: u64,
    b: u64,
    c: u64,
    batch: u32,
    m: u32,
    n: u32,
    k: u32,
    a_batch: i64,
    a_row: i64,
    a_col: i64,
    b_batch: i64,
    b_row: i64,
    b_col: i64,
};

/// x: [outer, size, inner] -> out: [outer, n, inner]; elem_size bytes.
pub const IndexSelectArgs = extern struct { x: u64, idx: u64, out: u64, n: u64, outer: u64, size: u64, inner: u64, elem_size: u32, pad: u32 = 0 };

/// Operands idx, x|dst, out|src; operand 1's stride at `dim` is zero in the
/// layout and given as dim_stride.
pub const GatherArgs = extern struct { idx: u64, x: u64, out: u64, dim_stride: i64, l: Layout(3) };
pub const ScatterArgs = extern struct { idx: u64, dst: u64, src: u64, dim_stride: i64, add: u32, pad: u32 = 0, l: Layout(3) };

/// Index bounds check: the smallest flat position whose index is outside
/// [lo, size) is atomically min-ed into *result (u64, preset to all ones).
pub const CheckArgs = extern struct { idx: u64, result: u64, lo: i64, size: i64, l: Layout(1) };

/// Scalars precomputed on the host exactly as optim.zig does.
pub const OptimArgs = extern struct { p: u64, g: u64, s1: u64, s2: u64, s3: u64, n: u64, kind: u32, pad: u32 = 0, h: [opt.derived_len]f64 };

/// geometry: [n, c, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw].
pub const WindowArgs = extern struct { src: u64, dst: u64, idx: u64, flag: u64, total: u64, g: [14]u32, op: u32, count_include_pad: u32, divisor: u32, pad: u32 = 0 };

/// Per-row sort in shared memory: rows of at most `sort_max` elements.
pub const sort_max = 2048;
pub const SortArgs = extern struct { x: u64, vals: u64, idx: u64, outer: u64, r: u64, inner: u64, descending: u32, pad: u32 = 0 };

/// One step of a recurrent layer's gate math (rnn.zig's forms), a thread per
/// (row, unit); B rows of H units. Addresses point at the step's rows: gs is
/// the step's h_prev @ W_hh^T ([B, G * H], contiguous), gx the input gates
/// ([B, G * H]), y [B, H], ws the workspace rows. `prev` is the LSTM's
/// c_prev or the GRU's h_prev, rows `prev_stride` apart (c0 and h0: H; a
/// workspace row's cell state: 5H). `bias` is the GRU's b_hh ([3H]).
pub const RnnStepArgs = extern struct { gs: u64, gx: u64, prev: u64, bias: u64, y: u64, ws: u64, batch: u64, hidden: u64, prev_stride: u64 };

/// One step of a recurrent layer's backward gate math. dy: the step's rows
/// of the output gradient; carry: dG[next] @ W_hh ([B, H]), 0 on the first
/// step walked back; prev as in RnnStepArgs; state: the carried dc (LSTM) or
/// dh (GRU), [B, H], updated in place; out: dG (LSTM, [B, 4H]) or dgx (GRU,
/// [B, 3H]); out2: dgh (GRU); z_next: the GRU's z of the step after (its
/// workspace rows, 4H apart), 0 with carry.
pub const RnnGradArgs = extern struct { dy: u64, carry: u64, prev: u64, ws: u64, state: u64, out: u64, out2: u64, z_next: u64, batch: u64, hidden: u64, prev_stride: u64 };

/// Fused attention (attention.zig's forms): q [n, L, E], k [n, S, E], v [n,
/// S, Ev], o and dout [n, L, Ev], lse and delta [n, L] (delta: rowsum(dout *
/// o), backward's scratch), dq, dk, dv shaped as q, k, v. All contiguous.
pub const AttnArgs = extern struct {
    q: u64,
    k: u64,
    v: u64,
    o: u64,
    lse: u64,
    dout: u64,
    delta: u64,
    dq: u64,
    dk: u64,
    dv: u64,
    n: u64,
    l: u64,
    s: u64,
    e: u64,
    ev: u64,
    scale: f64,
    causal: u32,
    pad: u32 = 0,
};

/// Head dims the fused attention kernels take: one kernel per bound (E and
/// Ev at most it), whose per-thread rows stay in registers.
pub const attn_head_dims = [_]u32{ 32, 64, 128 };
/// Rows per block (a thread per query or key row).
pub const attn_rows = 64;

/// Key/value rows one shared-memory tile holds for head-dim bound `emax`:
/// two tiles of emax elements each fit in 32 KiB.
pub fn attnTileRows(comptime T: type, comptime emax: u32) u32 {
    return @min(attn_rows, (16 << 10) / (emax * @sizeOf(T)));
}

/// Dtypes of the unary/binary/reduce/sort families (as the CPU, plus
/// float16/bfloat16 for unary and binary, computed in float32).
pub const ew_dtypes = [_]DType{ .float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8, .bool };
pub const reduce_dtypes = [_]DType{ .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool };
pub const scan_dtypes = [_]DType{ .float32, .float64, .int64, .int32, .int16, .int8, .uint8 };
pub const float_dtypes = [_]DType{ .float32, .float64 };
/// Parameter dtypes the optimizer kernels step (half ones with f32 states).
pub const optim_dtypes = [_]DType{ .float32, .float64, .float16, .bfloat16 };
pub const matmul_dtypes = [_]DType{ .float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8 };
pub const int_dtypes = [_]DType{ .int64, .int32, .int16, .int8, .uint8 };

comptime {
    // CUDA caps kernel parameters at 4 KiB.
    std.debug.assert(@sizeOf(WhereArgs) < 4096);
    std.debug.assert(@sizeOf(OptimArgs) < 4096);
}

/// Packs CPU-order meta ([shape, strides op0, strides op1, ...], outermost
/// first) into a device layout; null when it has more than max_dims dims or a
/// negative entry. Size-1 dims are dropped (they never move an offset).
pub fn pack(comptime nops: usize, ndim: i32, meta: [*]const i32) ?Layout(nops) {
    if (ndim < 0) return null;
    const nd: usize = @intCast(ndim);
    var l: Layout(nops) = std.mem.zeroes(Layout(nops));
    var numel: u64 = 1;
    for (0..nd) |i| {
        if (meta[i] < 0) return null;
        numel *= @intCast(meta[i]);
    }
    l.numel = numel;
    if (numel == 0) return l;
    var out: usize = 0;
    var d = nd;
    while (d > 0) {
        d -= 1;
        if (meta[d] == 1) continue;
        if (out == max_dims) return null;
        l.shape[out] = @intCast(meta[d]);
        for (0..nops) |k| l.strides[k][out] = meta[(k + 1) * nd + d];
        out += 1;
    }
    if (out == 0) {
        // A scalar (or all size-1 dims): one element.
        l.shape[0] = 1;
        out = 1;
    }
    l.ndim = @intCast(out);
    var contiguous = numel > 1;
    for (0..nops) |k| {
        var expect: i64 = 1;
        for (0..out) |j| {
            if (l.strides[k][j] != expect) contiguous = false;
            expect *= l.shape[j];
        }
    }
    l.contiguous = @intFromBool(contiguous or numel == 1);
    return l;
}

/// The element offsets of flat index `flat` (host side mirror of the device
/// decode, for tests and for reporting a bad index).
pub fn offsets(comptime nops: usize, l: *const Layout(nops), flat: u64) [nops]i64 {
    var rem = flat;
    var offs: [nops]i64 = @splat(0);
    for (0..l.ndim) |d| {
        const s: u64 = l.shape[d];
        const i = rem % s;
        rem /= s;
        for (0..nops) |k| offs[k] += @as(i64, @intCast(i)) * l.strides[k][d];
    }
    return offs;
}

test "pack reverses dims, drops size-1 dims and spots contiguity" {
    // shape [2, 1, 3], strides a: [3, 3, 1] (contiguous), b: [1, 1, 2] (transposed)
    const meta = [_]i32{ 2, 1, 3, 3, 3, 1, 1, 1, 2 };
    const l = pack(2, 3, &meta).?;
    try std.testing.expectEqual(@as(u32, 2), l.ndim);
    try std.testing.expectEqual(@as(u64, 6), l.numel);
    try std.testing.expectEqual(@as(u32, 3), l.shape[0]);
    try std.testing.expectEqual(@as(u32, 2), l.shape[1]);
    try std.testing.expectEqual(@as(u32, 0), l.contiguous);
    const o = offsets(2, &l, 4); // [1, 0, 1]
    try std.testing.expectEqual(@as(i64, 4), o[0]);
    try std.testing.expectEqual(@as(i64, 3), o[1]);
    const c = pack(1, 3, &[_]i32{ 2, 1, 3, 3, 3, 1 }).?;
    try std.testing.expectEqual(@as(u32, 1), c.contiguous);
    const s = pack(1, 0, &[_]i32{}).?;
    try std.testing.expectEqual(@as(u64, 1), s.numel);
    try std.testing.expectEqual(@as(u32, 1), s.ndim);
    var big: [2 * 13]i32 = undefined;
    for (0..13) |i| {
        big[i] = 2;
        big[13 + i] = @as(i32, 1) << @intCast(12 - i);
    }
    try std.testing.expect(pack(1, 13, &big) == null);
}
