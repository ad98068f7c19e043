//! The C ABI's elementwise unit: copy, unary, binary and where over strided
//! layouts (elementwise.zig), a compilation unit of its own so that it
//! builds beside the others (build.zig). The conventions are in abi.zig.
const std = @import("std");
const abi = @import("abi.zig");
pub const panic = abi.panic;
/// The thread pool is the core unit's (pool.zig).
pub const pool_role: @import("pool.zig").Role = .client;
const status = abi.status;
const dtypeOf = abi.dtypeOf;
const validNdim = abi.validNdim;
const strided = @import("strided.zig");
const ew = @import("elementwise.zig");

export fn zeno_copy(src_dtype: i32, src: [*]u8, soff: i32, dst_dtype: i32, dst: [*]u8, doff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    const sd = dtypeOf(src_dtype) orelse return status(error.InvalidArgument);
    const dd = dtypeOf(dst_dtype) orelse return status(error.InvalidArgument);
    if (!validNdim(ndim) or soff < 0 or doff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(2).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ew.copy(sd, src, soff, dd, dst, doff, &layout);
    return 0;
}

export fn zeno_unary(op: i32, dtype: i32, x: [*]u8, xoff: i32, y: [*]u8, yoff: i32, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(ew.Unary, op) orelse return status(error.InvalidArgument);
    if (!validNdim(ndim) or xoff < 0 or yoff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(2).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ew.unary(o, d, x, xoff, y, yoff, &layout, ew.unaryParams(a, b, c)) catch |e| return status(e);
    return 0;
}

export fn zeno_binary(op: i32, dtype: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(ew.Binary, op) orelse return status(error.InvalidArgument);
    if (!validNdim(ndim) or aoff < 0 or boff < 0 or ooff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(3).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ew.binary(o, d, a, aoff, b, boff, out, ooff, &layout) catch |e| return status(e);
    return 0;
}

/// out = op(a, scalar) (or op(scalar, a) with scalar_first != 0) for a
/// float16/bfloat16 a, the scalar in float32; meta is a 3-operand layout
/// whose middle operand is ignored.
export fn zeno_binary_scalar(op: i32, dtype: i32, a: [*]u8, aoff: i32, scalar: f64, scalar_first: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(ew.Binary, op) orelse return status(error.InvalidArgument);
    if (!validNdim(ndim) or aoff < 0 or ooff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(3).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ew.binaryScalar(o, d, a, aoff, @floatCast(scalar), scalar_first != 0, out, ooff, &layout) catch |e| return status(e);
    return 0;
}

export fn zeno_where(dtype: i32, c: [*]u8, coff: i32, a: [*]u8, aoff: i32, b: [*]u8, boff: i32, out: [*]u8, ooff: i32, ndim: i32, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (!validNdim(ndim) or coff < 0 or aoff < 0 or boff < 0 or ooff < 0) return status(error.InvalidArgument);
    const layout = strided.Layout(4).fromMeta(ndim, meta);
    if (layout.numel == 0) return 0;
    ew.where(d, c, coff, a, aoff, b, boff, out, ooff, &layout);
    return 0;
}
