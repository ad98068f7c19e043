//! The C ABI's core unit: the library's exports other than the
//! convolution's (abi_conv.zig) and the elementwise kernels'
//! (abi_elementwise.zig), the thread pool (which the other units call) and
//! the CUDA, MPI, NCCL and rendezvous exports. The conventions are in abi.zig.
const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
pub const panic = abi.panic;
/// This unit holds the thread pool that the other units call (pool.zig).
pub const pool_role: pool.Role = .owner;
const Status = abi.Status;
const status = abi.status;
const dtypeOf = abi.dtypeOf;
const validNdim = abi.validNdim;
const validShape = abi.validShape;
const dt = @import("dtype.zig");
const strided = @import("strided.zig");
const pool = @import("pool.zig");
const cpu = @import("cpu.zig");
const red = @import("reduce.zig");
const mm = @import("matmul.zig");
const ix = @import("index.zig");
const opt = @import("optim.zig");
const norm = @import("norm.zig");
const loss = @import("loss.zig");
const rnn = @import("rnn.zig");
const attn = @import("attention.zig");
const la = @import("linalg.zig");

export fn zeno_abi_version() callconv(.c) u32 {
    return abi.abi_version;
}

/// The best variant this CPU runs: 1 baseline, 3 AVX2+FMA, 4 AVX-512.
export fn zeno_cpu_level() callconv(.c) u32 {
    return cpu.level();
}

/// The level this library file was compiled for.
export fn zeno_build_level() callconv(.c) u32 {
    return cpu.buildLevel();
}

export fn zeno_num_threads() callconv(.c) u32 {
    return pool.numThreads();
}

export fn zeno_set_num_threads(n: i32) callconv(.c) i32 {
    if (n < 1 or n > pool.max_threads) return @backingInt(Status.invalid_argument);
    pool.setNumThreads(@intCast(n));
    return 0;
}

extern "c" fn mallopt(param: c_int, value: c_int) c_int;

/// Keeps freed memory in the C heap for reuse. Tensor results are typed
/// arrays whose memory comes from the C allocator; with glibc's defaults each
/// result above the mmap threshold is a fresh mapping whose pages fault on
/// first write (several microseconds per 4 KiB page in a virtual machine),
/// and freed heap tops are returned to the system and faulted in again. With
/// no mappings (every size from the heap: a 64 MiB exp took 50-80 ms through
/// fresh mappings, 12-17 ms in reused heap) and no trimming, results reuse
/// memory that is already mapped. Returns 1 when applied, 0 on C libraries
/// without mallopt.
export fn zeno_tune_malloc() callconv(.c) i32 {
    if (comptime !(builtin.os.tag == .linux and builtin.abi.isGnu() and builtin.link_libc)) return 0;
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_TOP_PAD: c_int = -2;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_MMAP_MAX: c_int = -4;
    var ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
    // No mapped chunks at all: large results come from the heap too.
    ok = mallopt(M_MMAP_MAX, 0) == 1 and ok;
    ok = mallopt(M_TRIM_THRESHOLD, std.math.maxInt(c_int)) == 1 and ok;
    ok = mallopt(M_TOP_PAD, 16 << 20) == 1 and ok;
    return @intFromBool(ok);
}

/// Bytes from `p` to the next 64-byte boundary (0 when aligned). Large tensor
/// arrays start there: the C heap hands out addresses 16 bytes past a line,
/// so without the offset every vector load or store of a row straddles two
/// cache lines (a 1024x1024 float32 matmul ran 2-4% slower writing C 16 bytes
/// off alignment).
export fn zeno_align_pad(p: [*]u8) callconv(.c) i32 {
    const a: usize = @intFromPtr(p);
    return @intCast((64 - a % 64) % 64);
}

/// Asks for transparent huge pages on the whole 2 MiB pages inside `bytes`
/// bytes at `p`, and returns the offset of the first 2 MiB boundary
/// (host_memory.placeHuge); -1 where the system has no such advice or the
/// memory holds no whole huge page.
export fn zeno_place_huge(p: [*]u8, bytes: f64) callconv(.c) i32 {
    std.debug.assert(bytes >= 0);
    return host_memory.placeHuge(p, @intFromFloat(bytes));
}

// ---------------------------------------------------------------- host memory
// Large CPU tensors' memory, recycled when the garbage collector frees it
// (host_memory.zig). The library doubles as a Node-API module for that.

const host_memory = @import("host_memory.zig");

/// Node-API's entry point: `process.dlopen` of this library calls it once per
/// isolate (the main one and each Worker's).
export fn napi_register_module_v1(env: ?*anyopaque, exports: ?*anyopaque) callconv(.c) ?*anyopaque {
    // Blocks may be finalized on any thread while an isolate that never
    // loaded the library as a Node-API module still runs: never unloaded.
    pool.pinLibrary();
    return host_memory.register(env, exports);
}

/// The pool's counters into out[0..6]: pooled bytes, bytes handed out,
/// blocks allocated, blocks reused, blocks given back, the pooling limit.
export fn zeno_host_memory_stats(out: [*]f64) callconv(.c) void {
    const s = host_memory.global.stats();
    const values = [_]f64{
        @floatFromInt(s.pooled_bytes), @floatFromInt(s.outstanding_bytes),
        @floatFromInt(s.fresh),        @floatFromInt(s.reused),
        @floatFromInt(s.returned),     @floatFromInt(s.pool_limit),
    };
    @memcpy(out[0..values.len], &values);
}

/// The index value behind the last index_out_of_range status.
export fn zeno_bad_index() callconv(.c) f64 {
    return @floatFromInt(ix.bad_index);
}

export fn zeno_reduce(op: i32, dtype: i32, x: [*]u8, xoff: i32, out: ?[*]u8, ooff: i32, idx: ?[*]u8, ioff: i32, outer: i32, r: i32, inner: i32, p: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(red.Reduce, op) orelse return status(error.InvalidArgument);
    if (!validShape(outer, r, inner) or xoff < 0 or ooff < 0 or ioff < 0) return status(error.InvalidArgument);
    const needs_idx = o == .argmax or o == .argmin;
    if ((needs_idx and idx == null) or (!needs_idx and out == null)) return status(error.InvalidArgument);
    // max/min/arg* of an empty line have no value; the TypeScript side refuses them.
    if (r == 0 and (o == .max or o == .min or o == .argmax or o == .argmin)) return status(error.InvalidArgument);
    if (outer == 0 or inner == 0) return 0;
    red.reduce(o, d, x, xoff, out, ooff, idx, ioff, red.shape(outer, r, inner), p) catch |e| return status(e);
    return 0;
}

/// The sum (op 0) or mean (op 1) of a contiguous float x: [lead, outer, r]
/// over lead and r, into out: [outer] (reduce.planes).
export fn zeno_reduce_planes(op: i32, dtype: i32, x: [*]u8, xoff: i32, out: [*]u8, ooff: i32, lead: i32, outer: i32, r: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(red.Reduce, op) orelse return status(error.InvalidArgument);
    if (lead < 0 or !validShape(outer, r, 1) or xoff < 0 or ooff < 0) return status(error.InvalidArgument);
    if (outer == 0) return 0;
    red.planes(o, d, x, xoff, out, ooff, @intCast(lead), @intCast(outer), @intCast(r)) catch |e| return status(e);
    return 0;
}

export fn zeno_scan(op: i32, dtype: i32, x: [*]u8, xoff: i32, out: [*]u8, ooff: i32, outer: i32, r: i32, inner: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(red.Scan, op) orelse return status(error.InvalidArgument);
    if (!validShape(outer, r, inner) or xoff < 0 or ooff < 0) return status(error.InvalidArgument);
    red.scan(o, d, x, xoff, out, ooff, red.shape(outer, r, inner)) catch |e| return status(e);
    return 0;
}

export fn zeno_softmax_backward(log: i32, dtype: i32, g: [*]u8, goff: i32, y: [*]u8, yoff: i32, dx: [*]u8, dxoff: i32, outer: i32, r: i32, inner: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (!validShape(outer, r, inner) or goff < 0 or yoff < 0 or dxoff < 0) return status(error.InvalidArgument);
    if (outer == 0 or r == 0 or inner == 0) return 0;
    red.softmaxBackward(log != 0, d, g, goff, y, yoff, dx, dxoff, red.shape(outer, r, inner)) catch |e| return status(e);
    return 0;
}

export fn zeno_softmax(log: i32, dtype: i32, x: [*]u8, xoff: i32, out: [*]u8, ooff: i32, outer: i32, r: i32, inner: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (!validShape(outer, r, inner) or xoff < 0 or ooff < 0) return status(error.InvalidArgument);
    if (outer == 0 or r == 0 or inner == 0) return 0;
    red.softmax(log != 0, d, x, xoff, out, ooff, red.shape(outer, r, inner)) catch |e| return status(e);
    return 0;
}

/// meta: [a_batch, a_row, a_col, b_batch, b_row, b_col] strides in elements.
/// meta: [a's batch, row and column strides, b's, accumulate (0: C = A @ B,
/// 1: C += A @ B, float32 and float64 only)].
export fn zeno_matmul(dtype: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, c: [*]u8, coff: i32, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (batch < 0 or m < 0 or n < 0 or k < 0 or aoff < 0 or boff < 0 or coff < 0) return status(error.InvalidArgument);
    for (0..6) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    if (meta[6] != 0 and meta[6] != 1) return status(error.InvalidArgument);
    if (batch == 0 or m == 0 or n == 0) return 0;
    const s = mm.Strides{ .a_batch = meta[0], .a_row = meta[1], .a_col = meta[2], .b_batch = meta[3], .b_row = meta[4], .b_col = meta[5] };
    mm.matmul(d, a, aoff, b, boff, c, coff, @intCast(batch), @intCast(m), @intCast(n), @intCast(k), s, meta[6] == 1) catch |e| return status(e);
    return 0;
}

export fn zeno_index_select(elem_size: i32, x: [*]u8, xoff: i32, idx: [*]u8, ioff: i32, n: i32, out: [*]u8, ooff: i32, outer: i32, size: i32, inner: i32, wrap: i32) callconv(.c) i32 {
    if (elem_size <= 0 or elem_size > 8 or n < 0 or !validShape(outer, size, inner) or xoff < 0 or ioff < 0 or ooff < 0) return status(error.InvalidArgument);
    ix.indexSelect(@intCast(elem_size), x, xoff, idx, ioff, @intCast(n), out, ooff, @intCast(outer), @intCast(size), @intCast(inner), wrap != 0) catch |e| return status(e);
    return 0;
}

/// meta: [idx shape, idx strides, x strides, out strides] (ndim each).
export fn zeno_gather(dtype: i32, x: [*]u8, xoff: i32, idx: [*]u8, ioff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (ndim < 1 or !validNdim(ndim) or dim < 0 or dim >= ndim or size < 0 or xoff < 0 or ioff < 0 or ooff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(3).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ix.gather(d, x, xoff, idx, ioff, out, ooff, layout, @intCast(dim), size) catch |e| return status(e);
    return 0;
}

/// meta: [idx shape, idx strides, dst strides, src strides] (ndim each).
/// op: index.ScatterMode (0 set, 1 add, 2 prod, 3 amax, 4 amin).
export fn zeno_scatter(op: i32, dtype: i32, dst: [*]u8, doff: i32, idx: [*]u8, ioff: i32, src: [*]u8, soff: i32, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const mode = std.enums.fromInt(ix.ScatterMode, op) orelse return status(error.InvalidArgument);
    if (ndim < 1 or !validNdim(ndim) or dim < 0 or dim >= ndim or size < 0 or doff < 0 or ioff < 0 or soff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(3).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ix.scatter(mode, d, dst, doff, idx, ioff, src, soff, layout, @intCast(dim), size) catch |e| return status(e);
    return 0;
}

export fn zeno_sort(dtype: i32, x: [*]u8, xoff: i32, vals: [*]u8, voff: i32, idx: [*]u8, ioff: i32, outer: i32, r: i32, inner: i32, descending: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (!validShape(outer, r, inner) or xoff < 0 or voff < 0 or ioff < 0) return status(error.InvalidArgument);
    if (outer == 0 or r == 0 or inner == 0) return 0;
    ix.sort(d, x, xoff, vals, voff, idx, ioff, @intCast(outer), @intCast(r), @intCast(inner), descending != 0) catch |e| return status(e);
    return 0;
}

/// One fused optimizer step on a contiguous parameter (see optim.zig for the
/// hyper-parameter slots of each kind); hyper: f64[12].
export fn zeno_optim_step(kind: i32, dtype: i32, p: [*]u8, poff: i32, g: [*]u8, goff: i32, s1: ?[*]u8, s1off: i32, s2: ?[*]u8, s2off: i32, s3: ?[*]u8, s3off: i32, n: i32, hyper: [*]const f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const k = std.enums.fromInt(opt.Kind, kind) orelse return status(error.InvalidArgument);
    if (n < 0 or poff < 0 or goff < 0 or s1off < 0 or s2off < 0 or s3off < 0) return status(error.InvalidArgument);
    if (n == 0) return 0;
    opt.step(k, d, p, poff, g, goff, s1, s1off, s2, s2off, s3, s3off, @intCast(n), hyper[0..opt.hyper_len].*) catch |e| return status(e);
    return 0;
}

/// meta: [xoff, woff, boff, yoff, mean off, rstd off, rows, d]; w and b may be null.
export fn zeno_layer_norm(dtype: i32, x: [*]u8, w: ?[*]u8, b: ?[*]u8, y: [*]u8, mean: ?[*]u8, rstd: [*]u8, meta: [*]const i32, eps: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..8) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    if (!(eps >= 0)) return status(error.InvalidArgument);
    norm.layerNorm(d, x, meta[0], w, meta[1], b, meta[2], y, meta[3], mean, meta[4], rstd, meta[5], @intCast(meta[6]), @intCast(meta[7]), eps) catch |e| return status(e);
    return 0;
}

/// One recurrent layer's time loop in one direction (rnn.zig): LSTM.
/// meta: [gx, w_hh, bias, h0, c0, y, ws offsets, steps, batch, hidden,
/// reverse]; bias, h0 and c0 may be null (zero).
export fn zeno_lstm_forward(dtype: i32, gx: ?[*]u8, w_hh: ?[*]u8, bias: ?[*]u8, h0: ?[*]u8, c0: ?[*]u8, y: ?[*]u8, ws: ?[*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = rnnDims(meta[7..11]) orelse return status(error.InvalidArgument);
    const b = rnnBufs(7, .{ gx, w_hh, bias, h0, c0, y, ws }, meta) orelse return status(error.InvalidArgument);
    rnn.lstmForward(d, b, dims) catch |e| return status(e);
    return 0;
}

/// LSTM backward. meta: the offsets of w_hh, c0, ws, dy, dc_last, dg, dh0,
/// dc0, then steps, batch, hidden, reverse; c0 and dh0 may be null.
export fn zeno_lstm_backward(dtype: i32, w_hh: ?[*]u8, c0: ?[*]u8, ws: ?[*]u8, dy: ?[*]u8, dc_last: ?[*]u8, dg: ?[*]u8, dh0: ?[*]u8, dc0: ?[*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = rnnDims(meta[8..12]) orelse return status(error.InvalidArgument);
    const b = rnnBufs(8, .{ w_hh, c0, ws, dy, dc_last, dg, dh0, dc0 }, meta) orelse return status(error.InvalidArgument);
    rnn.lstmBackward(d, b, dims) catch |e| return status(e);
    return 0;
}

/// Buffers with their element offsets from meta (null stays null); null
/// when an offset is negative.
fn rnnBufs(comptime n: usize, bases: [n]?[*]u8, meta: [*]const i32) ?[n]?rnn.Buf {
    var b: [n]?rnn.Buf = undefined;
    for (&b, bases, 0..) |*x, base, i| {
        if (meta[i] < 0) return null;
        x.* = if (base) |p| .{ .base = p, .off = meta[i] } else null;
    }
    return b;
}

/// GRU forward. meta: [gx, w_hh, b_hh, h0, y, ws offsets, steps, batch, hidden, reverse].
export fn zeno_gru_forward(dtype: i32, gx: [*]u8, w_hh: [*]u8, b_hh: [*]u8, h0: [*]u8, y: [*]u8, ws: [*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = rnnDims(meta[6..10]) orelse return status(error.InvalidArgument);
    for (0..6) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    const b = [6]rnn.Buf{ .{ .base = gx, .off = meta[0] }, .{ .base = w_hh, .off = meta[1] }, .{ .base = b_hh, .off = meta[2] }, .{ .base = h0, .off = meta[3] }, .{ .base = y, .off = meta[4] }, .{ .base = ws, .off = meta[5] } };
    rnn.gruForward(d, b, dims) catch |e| return status(e);
    return 0;
}

/// GRU backward. meta: the offsets of w_hh, h0, y, ws, dy, dgx, dgh, dh0,
/// then steps, batch, hidden, reverse.
export fn zeno_gru_backward(dtype: i32, w_hh: [*]u8, h0: [*]u8, y: [*]u8, ws: [*]u8, dy: [*]u8, dgx: [*]u8, dgh: [*]u8, dh0: [*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = rnnDims(meta[8..12]) orelse return status(error.InvalidArgument);
    const bases = [8][*]u8{ w_hh, h0, y, ws, dy, dgx, dgh, dh0 };
    var b: [8]rnn.Buf = undefined;
    for (&b, bases, 0..) |*x, base, i| {
        if (meta[i] < 0) return status(error.InvalidArgument);
        x.* = .{ .base = base, .off = meta[i] };
    }
    rnn.gruBackward(d, b, dims) catch |e| return status(e);
    return 0;
}

/// Fused scaled dot-product attention (attention.zig). meta: the offsets of
/// q, k, v, o, lse, then n, L, S, E, Ev, causal.
export fn zeno_attention_forward(dtype: i32, q: [*]u8, k: [*]u8, v: [*]u8, o: [*]u8, lse: [*]u8, meta: [*]const i32, scale: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = attnDims(meta[5..11], scale) orelse return status(error.InvalidArgument);
    const bases = [5][*]u8{ q, k, v, o, lse };
    var b: [5]attn.Buf = undefined;
    for (&b, bases, 0..) |*x, base, i| {
        if (meta[i] < 0) return status(error.InvalidArgument);
        x.* = .{ .base = base, .off = meta[i] };
    }
    attn.forward(d, b, dims) catch |e| return status(e);
    return 0;
}

/// Its backward. meta: the offsets of q, k, v, o, do, lse, dq, dk, dv, then
/// n, L, S, E, Ev, causal.
export fn zeno_attention_backward(dtype: i32, q: [*]u8, k: [*]u8, v: [*]u8, o: [*]u8, do_: [*]u8, lse: [*]u8, dq: [*]u8, dk: [*]u8, dv: [*]u8, meta: [*]const i32, scale: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const dims = attnDims(meta[9..15], scale) orelse return status(error.InvalidArgument);
    const bases = [9][*]u8{ q, k, v, o, do_, lse, dq, dk, dv };
    var b: [9]attn.Buf = undefined;
    for (&b, bases, 0..) |*x, base, i| {
        if (meta[i] < 0) return status(error.InvalidArgument);
        x.* = .{ .base = base, .off = meta[i] };
    }
    attn.backward(d, b, dims) catch |e| return status(e);
    return 0;
}

fn attnDims(m: []const i32, scale: f64) ?attn.Dims {
    for (m[0..5]) |x| if (x < 0) return null;
    if (m[5] != 0 and m[5] != 1) return null;
    if (!std.math.isFinite(scale)) return null;
    return .{ .n = @intCast(m[0]), .l = @intCast(m[1]), .s = @intCast(m[2]), .e = @intCast(m[3]), .ev = @intCast(m[4]), .scale = scale, .causal = m[5] == 1 };
}

fn rnnDims(m: []const i32) ?rnn.Dims {
    if (m[0] < 0 or m[1] < 0 or m[2] < 0 or (m[3] != 0 and m[3] != 1)) return null;
    return .{ .steps = @intCast(m[0]), .batch = @intCast(m[1]), .hidden = @intCast(m[2]), .reverse = m[3] == 1 };
}

/// meta: [goff, xoff, mean off, rstd off, woff, dxoff, dwoff, dboff, rows, d];
/// w, dx, dw and db may be null.
export fn zeno_layer_norm_backward(dtype: i32, g: [*]u8, x: [*]u8, mean: ?[*]u8, rstd: [*]u8, w: ?[*]u8, dx: ?[*]u8, dw: ?[*]u8, db: ?[*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..10) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    norm.layerNormBackward(d, g, meta[0], x, meta[1], mean, meta[2], rstd, meta[3], w, meta[4], dx, meta[5], dw, meta[6], db, meta[7], @intCast(meta[8]), @intCast(meta[9])) catch |e| return status(e);
    return 0;
}

/// meta: [xoff, mean off, variance off, n, c, s]; x: [n, c, s].
export fn zeno_channel_stats(dtype: i32, x: [*]u8, mean: [*]u8, variance: [*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..6) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    norm.channelStats(d, x, meta[0], mean, meta[1], variance, meta[2], @intCast(meta[3]), @intCast(meta[4]), @intCast(meta[5])) catch |e| return status(e);
    return 0;
}

/// meta: [goff, xoff, m off, sg off, sgx off, n, c, s]; x, m and sgx may be null together.
export fn zeno_channel_grad_sums(dtype: i32, g: [*]u8, x: ?[*]u8, m: ?[*]u8, sg: [*]u8, sgx: ?[*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..8) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    if ((x == null) != (m == null)) return status(error.InvalidArgument);
    norm.channelGradSums(d, g, meta[0], x, meta[1], m, meta[2], sg, meta[3], sgx, meta[4], @intCast(meta[5]), @intCast(meta[6]), @intCast(meta[7])) catch |e| return status(e);
    return 0;
}

/// meta: [uoff, voff, m off, aoff, boff, koff, out off, n, c, s]; v, m and b
/// may be null together, k alone.
export fn zeno_channel_affine(dtype: i32, u: [*]u8, v: ?[*]u8, m: ?[*]u8, a: [*]u8, b: ?[*]u8, k: ?[*]u8, out: [*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..10) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    if ((v == null) != (m == null)) return status(error.InvalidArgument);
    norm.channelAffine(d, u, meta[0], v, meta[1], m, meta[2], a, meta[3], b, meta[4], k, meta[5], out, meta[6], @intCast(meta[7]), @intCast(meta[8]), @intCast(meta[9])) catch |e| return status(e);
    return 0;
}

/// An ignore index that is an integer (exactly representable in an f64).
fn ignoreIndex(v: f64) ?i64 {
    if (!(@abs(v) <= 9007199254740992) or @trunc(v) != v) return null;
    return @intFromFloat(v);
}

/// meta: [xoff, toff, lse off, loss off, count off, n, c, mean (0 or 1)];
/// x: [n, c], t: int64 [n].
export fn zeno_cross_entropy(dtype: i32, x: [*]u8, t: [*]u8, lse: [*]u8, out: [*]u8, count: [*]u8, meta: [*]const i32, ignore: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..8) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    const ig = ignoreIndex(ignore) orelse return status(error.InvalidArgument);
    loss.crossEntropy(d, x, meta[0], t, meta[1], lse, meta[2], out, meta[3], count, meta[4], @intCast(meta[5]), @intCast(meta[6]), ig, meta[7] != 0) catch |e| return status(e);
    return 0;
}

/// meta: [xoff, toff, lse off, g off, count off, dx off, n, c, mean (0 or 1)].
export fn zeno_cross_entropy_backward(dtype: i32, x: [*]u8, t: [*]u8, lse: [*]u8, g: [*]u8, count: [*]u8, dx: [*]u8, meta: [*]const i32, ignore: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    for (0..9) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    const ig = ignoreIndex(ignore) orelse return status(error.InvalidArgument);
    loss.crossEntropyBackward(d, x, meta[0], t, meta[1], lse, meta[2], g, meta[3], count, meta[4], dx, meta[5], @intCast(meta[6]), @intCast(meta[7]), ig, meta[8] != 0) catch |e| return status(e);
    return 0;
}

/// Batched dense linear algebra (linalg.zig): op (linalg.Op), the op's
/// buffers in the order linalg.zig's file comment lists them (null where it
/// has fewer), meta: i32[10] [five element offsets, batch, m, n, k, vectors].
/// Each matrix is contiguous and row-major.
export fn zeno_linalg(op: i32, dtype: i32, b0: ?[*]u8, b1: ?[*]u8, b2: ?[*]u8, b3: ?[*]u8, b4: ?[*]u8, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(la.Op, op) orelse return status(error.InvalidArgument);
    for (0..10) |i| if (meta[i] < 0) return status(error.InvalidArgument);
    const bases = [5]?[*]u8{ b0, b1, b2, b3, b4 };
    var bufs: [5]la.Buf = undefined;
    for (&bufs, bases, 0..) |*b, base, i| b.* = .{ .base = base, .off = @intCast(meta[i]) };
    const dims = la.Dims{ .batch = @intCast(meta[5]), .m = @intCast(meta[6]), .n = @intCast(meta[7]), .k = @intCast(meta[8]), .vectors = meta[9] != 0 };
    la.run(o, d, bufs, dims) catch |e| return status(e);
    return 0;
}

test {
    _ = loss;
    _ = norm;
    _ = pool;
    _ = red;
    _ = strided;
    _ = dt;
    _ = mm;
    _ = opt;
    _ = @import("vmath.zig");
    _ = @import("rnn.zig");
    _ = @import("attention.zig");
    _ = la;
    _ = ix;
}

// ---------------------------------------------------------------- CUDA
// The CUDA backend's exports (zig/src/cuda/DESIGN.md). Device addresses cross
// as u64, element offsets and byte counts as f64; host arrays (meta, hyper,
// out) stay buffers. Without a CUDA driver every export returns 3.

const cuda = @import("cuda/api.zig");

/// One lock around every CUDA export: the device state (current device,
/// stream, caching allocator, cuBLAS handle, the driver library itself) is
/// per process, and Deno Workers call in from threads of their own.
var cuda_lock: std.Io.Mutex = .init;

fn lockIo() std.Io {
    return std.Io.Threaded.global_single_threaded.io();
}

export fn zeno_cuda_init() callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.init();
}

export fn zeno_cuda_device_count() callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.deviceCount();
}

export fn zeno_cuda_device_name(dev: i32, buf: [*]u8, len: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.deviceName(dev, buf, len);
}

/// out: Float64Array(8), see DESIGN.md.
export fn zeno_cuda_device_props(dev: i32, out: [*]f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.deviceProps(dev, out);
}

export fn zeno_cuda_set_device(dev: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.setDevice(dev);
}

export fn zeno_cuda_last_error(buf: [*]u8, len: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.lastError(buf, len);
}

/// out: BigUint64Array(1) receives the device address.
export fn zeno_cuda_malloc(bytes: f64, out: [*]u64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.malloc(bytes, out);
}

export fn zeno_cuda_free(ptr: u64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.free(ptr);
}

export fn zeno_cuda_empty_cache() callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.emptyCache();
}

/// out: Float64Array(8), see DESIGN.md.
export fn zeno_cuda_memory_stats(out: [*]f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.memoryStats(out);
}

export fn zeno_cuda_reset_peak() callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.resetPeak();
}

export fn zeno_cuda_synchronize() callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.synchronize();
}

export fn zeno_cuda_htod(dst: u64, src: [*]u8, bytes: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.htod(dst, src, bytes);
}

export fn zeno_cuda_dtoh(dst: [*]u8, src: u64, bytes: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.dtoh(dst, src, bytes);
}

export fn zeno_cuda_dtod(dst: u64, src: u64, bytes: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.dtod(dst, src, bytes);
}

export fn zeno_cuda_memset0(dst: u64, bytes: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.memset0(dst, bytes);
}

export fn zeno_cuda_set_allow_tf32(on: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.setAllowTf32(on);
}

export fn zeno_cuda_copy(src_dtype: i32, src: u64, soff: f64, dst_dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.copy(src_dtype, src, soff, dst_dtype, dst, doff, ndim, meta);
}

/// meta: [shape, dst strides]; bits: the element's bit pattern (low bytes).
export fn zeno_cuda_fill(dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32, bits: u64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.fill(dtype, dst, doff, ndim, meta, bits);
}

export fn zeno_cuda_unary(op: i32, dtype: i32, x: u64, xoff: f64, y: u64, yoff: f64, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.unary(op, dtype, x, xoff, y, yoff, ndim, meta, a, b, c);
}

export fn zeno_cuda_binary(op: i32, dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.binary(op, dtype, a, aoff, b, boff, out, ooff, ndim, meta);
}

export fn zeno_cuda_where(dtype: i32, c: u64, coff: f64, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.where(dtype, c, coff, a, aoff, b, boff, out, ooff, ndim, meta);
}

/// out/idx: 0 for none (as the CPU's null).
export fn zeno_cuda_reduce(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, p: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.reduce(op, dtype, x, xoff, out, ooff, idx, ioff, outer, r, inner, p);
}

export fn zeno_cuda_scan(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.scan(op, dtype, x, xoff, out, ooff, outer, r, inner);
}

export fn zeno_cuda_softmax(log: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.softmax(log, dtype, x, xoff, out, ooff, outer, r, inner);
}

// The recurrent and attention exports take the CPU exports' parameters with
// device addresses for the buffers (the offsets stay in meta).

export fn zeno_cuda_lstm_forward(dtype: i32, gx: u64, w_hh: u64, h0: u64, c0: u64, y: u64, ws: u64, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.lstmForward(dtype, gx, w_hh, h0, c0, y, ws, meta);
}

export fn zeno_cuda_lstm_backward(dtype: i32, w_hh: u64, h0: u64, c0: u64, y: u64, ws: u64, dy: u64, dc_last: u64, dg: u64, dh0: u64, dc0: u64, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.lstmBackward(dtype, w_hh, h0, c0, y, ws, dy, dc_last, dg, dh0, dc0, meta);
}

export fn zeno_cuda_gru_forward(dtype: i32, gx: u64, w_hh: u64, b_hh: u64, h0: u64, y: u64, ws: u64, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.gruForward(dtype, gx, w_hh, b_hh, h0, y, ws, meta);
}

export fn zeno_cuda_gru_backward(dtype: i32, w_hh: u64, h0: u64, y: u64, ws: u64, dy: u64, dgx: u64, dgh: u64, dh0: u64, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.gruBackward(dtype, w_hh, h0, y, ws, dy, dgx, dgh, dh0, meta);
}

export fn zeno_cuda_attention_forward(dtype: i32, q: u64, k: u64, v: u64, o: u64, lse: u64, meta: [*]const i32, scale: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.attentionForward(dtype, q, k, v, o, lse, meta, scale);
}

export fn zeno_cuda_attention_backward(dtype: i32, q: u64, k: u64, v: u64, o: u64, do_: u64, lse: u64, dq: u64, dk: u64, dv: u64, meta: [*]const i32, scale: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.attentionBackward(dtype, q, k, v, o, do_, lse, dq, dk, dv, meta, scale);
}

/// meta: [a_batch, a_row, a_col, b_batch, b_row, b_col] strides in elements.
export fn zeno_cuda_matmul(dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, c: u64, coff: f64, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.matmul(dtype, a, aoff, b, boff, c, coff, batch, m, n, k, meta);
}

export fn zeno_cuda_index_select(elem_size: i32, x: u64, xoff: f64, idx: u64, ioff: f64, n: i32, out: u64, ooff: f64, outer: i32, size: i32, inner: i32, wrap: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.indexSelect(elem_size, x, xoff, idx, ioff, n, out, ooff, outer, size, inner, wrap);
}

export fn zeno_cuda_gather(dtype: i32, x: u64, xoff: f64, idx: u64, ioff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.gather(dtype, x, xoff, idx, ioff, out, ooff, ndim, meta, dim, size);
}

export fn zeno_cuda_scatter(op: i32, dtype: i32, dst: u64, doff: f64, idx: u64, ioff: f64, src: u64, soff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.scatter(op, dtype, dst, doff, idx, ioff, src, soff, ndim, meta, dim, size);
}

export fn zeno_cuda_sort(dtype: i32, x: u64, xoff: f64, vals: u64, voff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, descending: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.sort(dtype, x, xoff, vals, voff, idx, ioff, outer, r, inner, descending);
}

/// s1..s3: 0 for none; hyper: f64[12] as for zeno_optim_step.
export fn zeno_cuda_optim_step(kind: i32, dtype: i32, p: u64, poff: f64, g: u64, goff: f64, s1: u64, s1off: f64, s2: u64, s2off: f64, s3: u64, s3off: f64, n: i32, hyper: [*]const f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.optimStep(kind, dtype, p, poff, g, goff, s1, s1off, s2, s2off, s3, s3off, n, hyper);
}

/// idx: 0 for none.
export fn zeno_cuda_window2d(op: i32, dtype: i32, src: u64, soff: f64, dst: u64, doff: f64, idx: u64, ioff: f64, meta: [*]const i32, count_include_pad: i32, divisor: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return cuda.window2d(op, dtype, src, soff, dst, doff, idx, ioff, meta, count_include_pad, divisor);
}

test {
    _ = cuda;
}

// ---------------------------------------------------------------- MPI
// zn.distributed's "mpi" backend (mpi.zig): libmpi is opened at run time.
// Each export returns 0, or 1 with a message for zeno_mpi_last_error.
// Counts cross as f64 (exact to 2^53).

const mpi = @import("mpi.zig");

/// One lock around starting MPI and setting its timeout; the collectives take
/// turns by ticket (below). MPI runs at MPI_THREAD_SERIALIZED, and Deno
/// Workers (and non-blocking FFI calls) come in from threads of their own.
var mpi_lock: std.Io.Mutex = .init;

fn mpiStatus(r: mpi.Error!void) i32 {
    r catch return 1;
    return 0;
}

// Collectives run in the order they were issued: every rank issues the same
// collectives in the same order, and a call issued without waiting (a
// non-blocking FFI call, run on another thread) must not let a later one
// pass it. Each call holds a ticket, taken when it is issued: the
// TypeScript side takes one with zeno_mpi_ticket before a non-blocking call,
// a blocking call (ticket -1) takes the next one itself. A call waits until
// the tickets before it are done.
var mpi_next_ticket = std.atomic.Value(u32).init(0);
var mpi_serving = std.atomic.Value(u32).init(0);
/// Threads asleep in mpiEnter: mpiLeave wakes them only when there are any
/// (a futex wake is a system call, about 200 ns here, on every collective).
var mpi_waiters = std.atomic.Value(u32).init(0);

/// Waits until every collective issued before it has finished (the ones
/// issued without waiting included); no MPI call of its own.
export fn zeno_mpi_fence() callconv(.c) i32 {
    _ = mpiEnter(-1);
    mpiLeave();
    return 0;
}

/// The next collective's ticket (for a call issued without waiting).
export fn zeno_mpi_ticket() callconv(.c) f64 {
    return @floatFromInt(mpi_next_ticket.fetchAdd(1, .monotonic));
}

fn mpiEnter(ticket: f64) u32 {
    const t: u32 = if (ticket >= 0 and ticket <= 4294967295.0 and @floor(ticket) == ticket)
        @intFromFloat(ticket)
    else
        mpi_next_ticket.fetchAdd(1, .monotonic);
    while (true) {
        const now = mpi_serving.load(.acquire);
        if (now == t) return t;
        // Counted before the futex checks the value again: a leaver that
        // advanced it after this load either sees the count and wakes, or
        // advanced it before the futex's check, which then does not sleep.
        _ = mpi_waiters.fetchAdd(1, .seq_cst);
        if (mpi_serving.load(.seq_cst) == now) {
            lockIo().futexWaitUncancelable(u32, &mpi_serving.raw, now);
        }
        _ = mpi_waiters.fetchSub(1, .seq_cst);
    }
}

fn mpiLeave() void {
    _ = mpi_serving.fetchAdd(1, .seq_cst);
    if (mpi_waiters.load(.seq_cst) > 0) {
        lockIo().futexWake(u32, &mpi_serving.raw, std.math.maxInt(u32));
    }
}

fn mpiCount(x: f64) ?usize {
    if (!(x >= 0 and x <= 9007199254740992.0) or @floor(x) != x) return null;
    return @intFromFloat(x);
}

/// path: the library's path (path_len bytes, no terminator); out: i32[2]
/// receives the rank and the world size.
export fn zeno_mpi_init(path: [*]const u8, path_len: i32, out: [*]i32) callconv(.c) i32 {
    mpi_lock.lockUncancelable(lockIo());
    defer mpi_lock.unlock(lockIo());
    if (path_len <= 0) return 1;
    return mpiStatus(mpi.init(path[0..@intCast(path_len)], &out[0], &out[1]));
}

export fn zeno_mpi_finalize() callconv(.c) i32 {
    // After every collective issued before it.
    _ = mpiEnter(-1);
    defer mpiLeave();
    return mpiStatus(mpi.finalize());
}

export fn zeno_mpi_abort(code: i32) callconv(.c) i32 {
    // No lock: a rank that gives up must not wait behind a stuck collective.
    return mpiStatus(mpi.abort(code));
}

export fn zeno_mpi_barrier(ticket: f64, group: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    return mpiStatus(mpi.barrier(group));
}

/// Makes the group of the n world ranks at `ranks` (every world rank calls
/// it); writes its id to out[0] (-1 on a rank outside it).
export fn zeno_mpi_new_group(ranks: [*]const i32, n: i32, out: [*]i32) callconv(.c) i32 {
    _ = mpiEnter(-1);
    defer mpiLeave();
    if (n <= 0) return 1;
    out[0] = mpi.newGroup(ranks[0..@intCast(n)]) catch return 1;
    return 0;
}

/// Frees group `group` (its members call it).
export fn zeno_mpi_free_group(group: i32) callconv(.c) i32 {
    _ = mpiEnter(-1);
    defer mpiLeave();
    return mpiStatus(mpi.freeGroup(group));
}

/// buf: count elements of dtype (mpi.DType), reduced in place with op (mpi.Op).
export fn zeno_mpi_all_reduce(ticket: f64, group: i32, buf: [*]u8, count: f64, dtype: i32, op: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(count) orelse return 1;
    const d = std.enums.fromInt(mpi.DType, dtype) orelse return 1;
    const o = std.enums.fromInt(mpi.Op, op) orelse return 1;
    return mpiStatus(mpi.allReduce(group, buf, n, d, o));
}

export fn zeno_mpi_broadcast(ticket: f64, group: i32, buf: [*]u8, bytes: f64, root: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(bytes) orelse return 1;
    return mpiStatus(mpi.broadcast(group, buf, n, root));
}

/// recv: group size * bytes.
export fn zeno_mpi_all_gather(ticket: f64, group: i32, send: [*]const u8, recv: [*]u8, bytes: f64) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(bytes) orelse return 1;
    return mpiStatus(mpi.allGather(group, send, recv, n));
}

/// send: group size * count elements; recv: count.
export fn zeno_mpi_reduce_scatter(ticket: f64, group: i32, send: [*]const u8, recv: [*]u8, count: f64, dtype: i32, op: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(count) orelse return 1;
    const d = std.enums.fromInt(mpi.DType, dtype) orelse return 1;
    const o = std.enums.fromInt(mpi.Op, op) orelse return 1;
    return mpiStatus(mpi.reduceScatter(group, send, recv, n, d, o));
}

/// recv: group size * bytes on the root (a rank of the group), null elsewhere.
export fn zeno_mpi_gather(ticket: f64, group: i32, send: [*]const u8, recv: ?[*]u8, bytes: f64, root: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(bytes) orelse return 1;
    return mpiStatus(mpi.gather(group, send, recv, n, root));
}

/// send: group size * bytes on the root (a rank of the group), null elsewhere.
export fn zeno_mpi_scatter(ticket: f64, group: i32, send: ?[*]const u8, recv: [*]u8, bytes: f64, root: i32) callconv(.c) i32 {
    _ = mpiEnter(ticket);
    defer mpiLeave();
    const n = mpiCount(bytes) orelse return 1;
    return mpiStatus(mpi.scatter(group, send, recv, n, root));
}

/// Seconds a collective may wait before the watchdog ends this rank (0: forever).
export fn zeno_mpi_set_timeout(seconds: f64) callconv(.c) i32 {
    mpi_lock.lockUncancelable(lockIo());
    defer mpi_lock.unlock(lockIo());
    return mpiStatus(mpi.setTimeout(seconds));
}

/// Copies the last failed call's message into buf; returns its length.
export fn zeno_mpi_last_error(buf: [*]u8, len: i32) callconv(.c) i32 {
    return mpi.message().copyOut(buf, len);
}

// ---------------------------------------------------------------- NCCL
// zig/src/nccl.zig: communicators whose collectives queue on the CUDA
// backend's stream, under the CUDA lock like every CUDA call.

const nccl = @import("nccl.zig");

fn ncclStatus(r: nccl.Error!void) i32 {
    r catch return 1;
    return 0;
}

/// The current device's stream, or null with NCCL's message set.
fn ncclStream() ?*anyopaque {
    if (cuda.currentStream()) |s| if (s) |stream| return stream;
    nccl.noDevice();
    return null;
}

/// Opens libnccl at path; writes its version code to out[0].
export fn zeno_nccl_open(path: [*]const u8, path_len: i32, out: [*]i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    if (path_len <= 0) return 1;
    out[0] = nccl.open(path[0..@intCast(path_len)]) catch return 1;
    return 0;
}

/// Writes a new 128-byte unique id to out.
export fn zeno_nccl_unique_id(out: [*]u8) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return ncclStatus(nccl.uniqueId(@ptrCast(@alignCast(out))));
}

/// Joins the communicator of uid (128 bytes) as rank of size on the current
/// CUDA device; writes its id to out[0].
export fn zeno_nccl_init(uid: [*]const u8, size: i32, rank: i32, out: [*]i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    _ = ncclStream() orelse return 1;
    var id: nccl.UniqueId = undefined;
    @memcpy(&id.internal, uid[0..128]);
    out[0] = nccl.init(&id, size, rank) catch return 1;
    return 0;
}

export fn zeno_nccl_destroy(comm: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    return ncclStatus(nccl.destroy(comm));
}

/// buf: count elements of dtype (nccl.DType), reduced in place with op (nccl.Op).
export fn zeno_nccl_all_reduce(comm: i32, buf: u64, count: f64, dtype: i32, op: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    const s = ncclStream() orelse return 1;
    const n = mpiCount(count) orelse return 1;
    return ncclStatus(nccl.allReduce(comm, buf, n, dtype, op, s));
}

export fn zeno_nccl_broadcast(comm: i32, buf: u64, bytes: f64, root: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    const s = ncclStream() orelse return 1;
    const n = mpiCount(bytes) orelse return 1;
    return ncclStatus(nccl.broadcast(comm, buf, n, root, s));
}

/// recv: group size * bytes.
export fn zeno_nccl_all_gather(comm: i32, send: u64, recv: u64, bytes: f64) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    const s = ncclStream() orelse return 1;
    const n = mpiCount(bytes) orelse return 1;
    return ncclStatus(nccl.allGather(comm, send, recv, n, s));
}

/// send: group size * count elements; recv: count.
export fn zeno_nccl_reduce_scatter(comm: i32, send: u64, recv: u64, count: f64, dtype: i32, op: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    const s = ncclStream() orelse return 1;
    const n = mpiCount(count) orelse return 1;
    return ncclStatus(nccl.reduceScatter(comm, send, recv, n, dtype, op, s));
}

/// gather (to_root 1) or scatter (0) of bytes per rank; all: the root's
/// group size * bytes (0 elsewhere).
export fn zeno_nccl_rooted(comm: i32, to_root: i32, mine: u64, all: u64, bytes: f64, root: i32, rank: i32, size: i32) callconv(.c) i32 {
    cuda_lock.lockUncancelable(lockIo());
    defer cuda_lock.unlock(lockIo());
    const s = ncclStream() orelse return 1;
    const n = mpiCount(bytes) orelse return 1;
    if (size < 1 or rank < 0 or rank >= size or root < 0 or root >= size) return 1;
    return ncclStatus(nccl.rooted(comm, to_root != 0, mine, all, n, root, rank, size, s));
}

/// Copies the last failed NCCL call's message into buf; returns its length.
export fn zeno_nccl_last_error(buf: [*]u8, len: i32) callconv(.c) i32 {
    return nccl.message().copyOut(buf, len);
}

// ---------------------------------------------------------------- rendezvous

const rendezvous = @import("rendezvous.zig");

/// The TCP rendezvous of rank of size at host:port (rendezvous.zig): on
/// rank 0 payload is sent to every rank, elsewhere it receives rank 0's.
export fn zeno_rendezvous(host: [*]const u8, host_len: i32, port: i32, rank: i32, size: i32, payload: [*]u8, payload_len: i32, timeout_s: f64) callconv(.c) i32 {
    if (host_len <= 0 or host_len > 255 or port <= 0 or port > 65535 or rank < 0 or size < 1 or payload_len < 0) return 1;
    if (!(timeout_s >= 0 and timeout_s <= 1e7)) return 1;
    var name: [256:0]u8 = @splat(0);
    @memcpy(name[0..@intCast(host_len)], host[0..@intCast(host_len)]);
    const z: [:0]const u8 = name[0..@intCast(host_len) :0];
    const ms: u64 = @intFromFloat(timeout_s * 1000);
    rendezvous.exchange(z, @intCast(port), @intCast(rank), @intCast(size), payload[0..@intCast(payload_len)], ms) catch return 1;
    return 0;
}

/// Copies the last failed rendezvous's message into buf; returns its length.
export fn zeno_rendezvous_last_error(buf: [*]u8, len: i32) callconv(.c) i32 {
    return rendezvous.message().copyOut(buf, len);
}

test {
    _ = mpi;
    _ = nccl;
    _ = rendezvous;
}
