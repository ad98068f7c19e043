//! The C ABI's convolution unit: the direct convolution and the lowering
//! and pooling windows (conv.zig), a compilation unit of its own so that it
//! builds beside the others (build.zig). The conventions are in abi.zig.
const std = @import("std");
const abi = @import("abi.zig");
pub const panic = abi.panic;
/// The thread pool is the core unit's (pool.zig).
pub const pool_role: @import("pool.zig").Role = .client;
const status = abi.status;
const dtypeOf = abi.dtypeOf;
const conv = @import("conv.zig");

/// The direct stride-1 convolution (conv.Direct): x: [N, C, H, W], w, bias
/// (null: none) and out: [N, O, OH, OW], all contiguous; meta: i32[10]
/// [n, c, h, w, o, kh, kw, ph, pw, mode] (conv.Direct.Mode; weight_grad
/// takes the output gradient in w's place and writes the weight gradient).
export fn zeno_conv2d_direct(dtype: i32, x: [*]u8, xoff: i32, w: [*]u8, woff: i32, bias: ?[*]u8, boff: i32, out: [*]u8, ooff: i32, meta: [*]const i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    if (xoff < 0 or woff < 0 or boff < 0 or ooff < 0) return status(error.InvalidArgument);
    const g = conv.Direct.fromMeta(meta) catch |e| return status(e);
    conv.direct(d, x, xoff, w, woff, bias, boff, out, ooff, g) catch |e| return status(e);
    return 0;
}

/// Convolution lowering and 2-D pooling over contiguous [N, C, H, W] planes
/// (conv.zig). op: conv.Op; meta: i32[14] geometry (conv.Geometry); idx:
/// int64 argmax of max pooling (null otherwise); count_include_pad and
/// divisor (0: none) apply to average pooling.
export fn zeno_window2d(op: i32, dtype: i32, src: [*]u8, soff: i32, dst: [*]u8, doff: i32, idx: ?[*]u8, ioff: i32, meta: [*]const i32, count_include_pad: i32, divisor: i32) callconv(.c) i32 {
    const d = dtypeOf(dtype) orelse return status(error.InvalidArgument);
    const o = std.enums.fromInt(conv.Op, op) orelse return status(error.InvalidArgument);
    if (soff < 0 or doff < 0 or ioff < 0 or divisor < 0) return status(error.InvalidArgument);
    const g = conv.Geometry.fromMeta(meta) catch |e| return status(e);
    const avg = conv.AvgOptions{ .count_include_pad = count_include_pad != 0, .divisor = @intCast(divisor) };
    conv.run(o, d, src, soff, dst, doff, idx, ioff, g, avg) catch |e| return status(e);
    return 0;
}
