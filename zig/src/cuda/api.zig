//! The CUDA exports' implementations (forwarded from abi_core.zig): devices, the
//! caching allocator, copies, and the kernel launches with their argument
//! checks (the same checks, in the same order, as the CPU exports).
//!
//! Status codes (DESIGN.md): 0 ok, 1 bad argument, 2 index out of range,
//! 3 no driver or device, 4 CUDA error, 5 out of device memory, 6 not
//! supported on CUDA, 7 integer division by zero, 8 negative integer power.
const std = @import("std");
const drv = @import("driver.zig");
const am = @import("alloc.zig");
const abi = @import("abi.zig");
const blas = @import("blas.zig");
const dt = @import("../dtype.zig");
const ew = @import("../elementwise.zig");
const red = @import("../reduce.zig");
const opt = @import("../optim.zig");
const conv = @import("../conv.zig");
const ix = @import("../index.zig");
const strided = @import("../strided.zig");
const ptx = @import("zeno_ptx");
const cubin = @import("cubin.zig");
const DType = dt.DType;

pub const ok: i32 = 0;
pub const bad_argument: i32 = 1;
pub const index_out_of_range: i32 = 2;
pub const no_device: i32 = 3;
pub const cuda_error: i32 = 4;
pub const out_of_memory: i32 = 5;
pub const unsupported: i32 = 6;
pub const division_by_zero: i32 = 7;
pub const negative_power: i32 = 8;

const max_devices = 16;
const block = 256;

const Device = struct {
    index: u32,
    ctx: drv.Context,
    stream: drv.Stream,
    module: drv.Module,
    heap: am.Allocator,
    /// 256 bytes of device memory for flags and the index check.
    scratch: u64,
    sm_count: u32,
    blas: blas.Handle = null,
};

var devices: [max_devices]?*Device = @splat(null);
var current: ?*Device = null;
var allow_tf32 = false;
var initialized = false;

fn api() ?*const drv.Api {
    const a = drv.open() orelse return null;
    if (!initialized) {
        if (drv.record(a, "cuInit", a.cuInit(0)) != drv.success) return null;
        initialized = true;
    }
    return a;
}

/// The current device with its context current on this thread.
fn dev() ?*Device {
    const d = current orelse {
        if (drv.open() != null) drv.setMessage("no CUDA device selected (zeno_cuda_set_device)", .{});
        return null;
    };
    _ = api_storage().cuCtxSetCurrent(d.ctx);
    return d;
}

fn api_storage() *const drv.Api {
    return drv.open().?;
}

fn check(call: []const u8, r: drv.Result) i32 {
    if (r == drv.success) return ok;
    _ = drv.record(api_storage(), call, r);
    return if (r == drv.error_out_of_memory) out_of_memory else cuda_error;
}

fn fail(status: i32, comptime fmt: []const u8, args: anytype) i32 {
    drv.setMessage(fmt, args);
    return status;
}

// ---------------------------------------------------------------- management

pub fn init() i32 {
    const a = api() orelse return no_device;
    var n: c_int = 0;
    if (drv.record(a, "cuDeviceGetCount", a.cuDeviceGetCount(&n)) != drv.success) return no_device;
    if (n <= 0) return fail(no_device, "no CUDA device", .{});
    return ok;
}

pub fn deviceCount() i32 {
    const a = api() orelse return 0;
    var n: c_int = 0;
    if (a.cuDeviceGetCount(&n) != drv.success) return 0;
    return n;
}

fn getDevice(a: *const drv.Api, index: i32) ?drv.Device {
    if (index < 0 or index >= deviceCount()) {
        drv.setMessage("no CUDA device {d}", .{index});
        return null;
    }
    var d: drv.Device = 0;
    if (drv.record(a, "cuDeviceGet", a.cuDeviceGet(&d, index)) != drv.success) return null;
    return d;
}

pub fn deviceName(index: i32, buf: [*]u8, len: i32) i32 {
    const a = api() orelse return -no_device;
    const d = getDevice(a, index) orelse return -bad_argument;
    var name: [256]u8 = @splat(0);
    if (drv.record(a, "cuDeviceGetName", a.cuDeviceGetName(&name, name.len, d)) != drv.success) return -cuda_error;
    const n = std.mem.indexOfScalar(u8, &name, 0) orelse name.len;
    if (len < 0) return -bad_argument;
    const m = @min(n, @as(usize, @intCast(len)));
    @memcpy(buf[0..m], name[0..m]);
    return @intCast(n);
}

fn attribute(a: *const drv.Api, d: drv.Device, attr: drv.Attribute) f64 {
    var v: c_int = 0;
    _ = a.cuDeviceGetAttribute(&v, @backingInt(attr), d);
    return @floatFromInt(v);
}

pub fn deviceProps(index: i32, out: [*]f64) i32 {
    const a = api() orelse return no_device;
    const d = getDevice(a, index) orelse return bad_argument;
    var total: usize = 0;
    if (drv.record(a, "cuDeviceTotalMem", a.cuDeviceTotalMem_v2(&total, d)) != drv.success) return cuda_error;
    out[0] = @floatFromInt(total);
    out[1] = attribute(a, d, .multiprocessor_count);
    out[2] = attribute(a, d, .compute_capability_major);
    out[3] = attribute(a, d, .compute_capability_minor);
    out[4] = attribute(a, d, .max_threads_per_block);
    out[5] = attribute(a, d, .max_shared_memory_per_block);
    out[6] = attribute(a, d, .l2_cache_size);
    out[7] = attribute(a, d, .clock_rate);
    return ok;
}

fn driverAlloc(ctx: *anyopaque, bytes: u64) am.Error!u64 {
    _ = ctx;
    const a = api_storage();
    var p: drv.DevicePtr = 0;
    const r = a.cuMemAlloc_v2(&p, @intCast(bytes));
    if (r == drv.error_out_of_memory) {
        _ = drv.record(a, "cuMemAlloc", r);
        return error.OutOfMemory;
    }
    if (r != drv.success) {
        _ = drv.record(a, "cuMemAlloc", r);
        return error.Driver;
    }
    return p;
}

fn driverFree(ctx: *anyopaque, p: u64) void {
    _ = ctx;
    const a = api_storage();
    _ = drv.record(a, "cuMemFree", a.cuMemFree_v2(p));
}

var dummy_ctx: u8 = 0;

pub fn setDevice(index: i32) i32 {
    const a = api() orelse return no_device;
    const d = getDevice(a, index) orelse return no_device;
    const i: usize = @intCast(index);
    if (i >= max_devices) return fail(unsupported, "device {d}: at most {d} devices", .{ index, max_devices });
    if (devices[i]) |existing| {
        current = existing;
        return check("cuCtxSetCurrent", a.cuCtxSetCurrent(existing.ctx));
    }
    var ctx: drv.Context = null;
    if (check("cuDevicePrimaryCtxRetain", a.cuDevicePrimaryCtxRetain(&ctx, d)) != ok) return cuda_error;
    if (check("cuCtxSetCurrent", a.cuCtxSetCurrent(ctx)) != ok) return cuda_error;
    var stream: drv.Stream = null;
    if (check("cuStreamCreate", a.cuStreamCreate(&stream, 0)) != ok) return cuda_error;
    var module: drv.Module = null;
    const major: u32 = @intFromFloat(attribute(a, d, .compute_capability_major));
    const minor: u32 = @intFromFloat(attribute(a, d, .compute_capability_minor));
    if (check("cuModuleLoadData", cubin.loadModule(a, &module, ptx.text, major, minor)) != ok) return cuda_error;
    var scratch: drv.DevicePtr = 0;
    const s = check("cuMemAlloc", a.cuMemAlloc_v2(&scratch, 256));
    if (s != ok) return s;
    const device = std.heap.c_allocator.create(Device) catch return fail(out_of_memory, "host out of memory", .{});
    device.* = .{
        .index = @intCast(i),
        .ctx = ctx,
        .stream = stream,
        .module = module,
        .heap = am.Allocator.init(std.heap.c_allocator, .{ .ctx = &dummy_ctx, .alloc = driverAlloc, .free = driverFree }),
        .scratch = scratch,
        .sm_count = @intFromFloat(attribute(a, d, .multiprocessor_count)),
    };
    devices[i] = device;
    current = device;
    return ok;
}

/// The current device's stream (its context made current on this thread),
/// for libraries that queue work beside Zeno's kernels (NCCL); null without
/// a device.
pub fn currentStream() ?drv.Stream {
    const d = dev() orelse return null;
    return d.stream;
}

pub fn lastError(buf: [*]u8, len: i32) i32 {
    const m = drv.message();
    if (len < 0) return -bad_argument;
    const n = @min(m.len, @as(usize, @intCast(len)));
    @memcpy(buf[0..n], m[0..n]);
    return @intCast(m.len);
}

/// A byte count or element offset from f64: a non-negative integer below 2^53.
fn count(v: f64) ?u64 {
    if (!(v >= 0) or v > 9007199254740992.0 or @trunc(v) != v) return null;
    return @intFromFloat(v);
}

pub fn malloc(bytes: f64, out: [*]u64) i32 {
    const d = dev() orelse return no_device;
    const n = count(bytes) orelse return fail(bad_argument, "malloc: bad size {d}", .{bytes});
    const p = d.heap.alloc(n) catch |e| return switch (e) {
        error.OutOfMemory => fail(out_of_memory, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY: out of memory ({d} bytes, after emptying the cache)", .{n}),
        error.Driver => cuda_error,
    };
    out[0] = p;
    return ok;
}

pub fn free(p: u64) i32 {
    const d = dev() orelse return no_device;
    if (p == 0) return ok;
    if (!d.heap.free(p)) return fail(bad_argument, "free: 0x{x} is not a live allocation", .{p});
    return ok;
}

pub fn emptyCache() i32 {
    const d = dev() orelse return no_device;
    // Blocks in the cache may still be read by queued work.
    const s = check("cuStreamSynchronize", api_storage().cuStreamSynchronize(d.stream));
    if (s != ok) return s;
    d.heap.emptyCache();
    return ok;
}

pub fn memoryStats(out: [*]f64) i32 {
    const d = dev() orelse return no_device;
    d.heap.stats.toF64(out[0..8]);
    return ok;
}

pub fn resetPeak() i32 {
    const d = dev() orelse return no_device;
    d.heap.resetPeak();
    return ok;
}

pub fn synchronize() i32 {
    const d = dev() orelse return no_device;
    return check("cuStreamSynchronize", api_storage().cuStreamSynchronize(d.stream));
}

pub fn htod(dst: u64, src: [*]u8, bytes: f64) i32 {
    _ = dev() orelse return no_device;
    const n = count(bytes) orelse return bad_argument;
    if (n == 0) return ok;
    return check("cuMemcpyHtoD", api_storage().cuMemcpyHtoD_v2(dst, src, @intCast(n)));
}

pub fn dtoh(dst: [*]u8, src: u64, bytes: f64) i32 {
    const d = dev() orelse return no_device;
    const n = count(bytes) orelse return bad_argument;
    const a = api_storage();
    const s = check("cuStreamSynchronize", a.cuStreamSynchronize(d.stream));
    if (s != ok or n == 0) return s;
    return check("cuMemcpyDtoH", a.cuMemcpyDtoH_v2(dst, src, @intCast(n)));
}

pub fn dtod(dst: u64, src: u64, bytes: f64) i32 {
    const d = dev() orelse return no_device;
    const n = count(bytes) orelse return bad_argument;
    if (n == 0) return ok;
    return check("cuMemcpyDtoDAsync", api_storage().cuMemcpyDtoDAsync_v2(dst, src, @intCast(n), d.stream));
}

pub fn memset0(dst: u64, bytes: f64) i32 {
    const d = dev() orelse return no_device;
    const n = count(bytes) orelse return bad_argument;
    if (n == 0) return ok;
    return check("cuMemsetD8Async", api_storage().cuMemsetD8Async(dst, 0, @intCast(n), d.stream));
}

pub fn setAllowTf32(on: i32) i32 {
    allow_tf32 = on != 0;
    return ok;
}

// ---------------------------------------------------------------- launches

fn function(d: *Device, comptime name: [:0]const u8) ?drv.Function {
    // One cache per kernel: the struct must use `name`, or every
    // instantiation would share one type (and one cache).
    const S = struct {
        const kernel = name;
        var f: [max_devices]drv.Function = @splat(null);
    };
    if (S.f[d.index] == null) {
        var f: drv.Function = null;
        if (drv.record(api_storage(), "cuModuleGetFunction(" ++ name ++ ")", api_storage().cuModuleGetFunction(&f, d.module, name)) != drv.success) return null;
        S.f[d.index] = f;
    }
    return S.f[d.index];
}

fn launch3(d: *Device, comptime name: [:0]const u8, grid: [3]u32, threads: u32, args: anytype) i32 {
    const f = function(d, name) orelse return cuda_error;
    var block_args = args;
    var params = [_]?*anyopaque{@ptrCast(&block_args)};
    return check("cuLaunchKernel(" ++ name ++ ")", api_storage().cuLaunchKernel(f, grid[0], grid[1], grid[2], threads, 1, 1, 0, d.stream, &params, null));
}

/// Blocks for a grid-stride loop over n items.
fn blocksFor(d: *const Device, n: u64) u32 {
    const want = (n + block - 1) / block;
    const cap: u64 = @as(u64, @max(d.sm_count, 1)) * 32;
    return @intCast(@max(1, @min(want, cap)));
}

fn launch(d: *Device, comptime name: [:0]const u8, n: u64, args: anytype) i32 {
    return launch3(d, name, .{ blocksFor(d, n), 1, 1 }, block, args);
}

/// Blocks for kernels.flatVector over n elements of `size` bytes: one block
/// per 256 threads of two 16-byte vectors each, uncapped, so that every
/// thread makes one pass (the whole grid's loads in flight at once, as
/// PyTorch's vectorised elementwise kernels do). The kernels fall back to
/// their grid-stride loop for inputs the vector path refuses, which any grid
/// size covers.
fn flatBlocks(n: u64, size: u64) u32 {
    const per_block = block * (16 / size) * 2;
    return @intCast(@max(1, @min((n + per_block - 1) / per_block, std.math.maxInt(i32))));
}

/// launch, with the grid of flatBlocks where the layout is contiguous.
fn launchElementwise(d: *Device, comptime name: [:0]const u8, contiguous: bool, n: u64, size: u64, args: anytype) i32 {
    const grid = if (contiguous) @max(flatBlocks(n, size), blocksFor(d, n)) else blocksFor(d, n);
    return launch3(d, name, .{ grid, 1, 1 }, block, args);
}

fn sizeOf(d: DType) u64 {
    return switch (d) {
        inline else => |x| @sizeOf(dt.Storage(x)),
    };
}

/// A device address plus an element offset.
fn addr(base: u64, off: f64, d: DType) ?u64 {
    const o = count(off) orelse return null;
    return base + o * sizeOf(d);
}

fn addrBytes(base: u64, off: f64, elem: u64) ?u64 {
    const o = count(off) orelse return null;
    return base + o * elem;
}

fn dtypeOf(code: i32) ?DType {
    return dt.DType.from(code);
}

fn contains(list: []const DType, d: DType) bool {
    return std.mem.indexOfScalar(DType, list, d) != null;
}

fn validNdim(ndim: i32) bool {
    return ndim >= 0 and ndim <= strided.max_dims;
}

fn packed_(comptime nops: usize, ndim: i32, meta: [*]const i32) ?abi.Layout(nops) {
    return abi.pack(nops, ndim, meta);
}

fn tooManyDims() i32 {
    return fail(unsupported, "more than {d} dims after dropping size-1 dims: not supported on CUDA", .{abi.max_dims});
}

fn nameFor(comptime prefix: []const u8, comptime d: DType) [:0]const u8 {
    return prefix ++ @tagName(d);
}

fn sizeName(comptime prefix: []const u8, comptime T: type) [:0]const u8 {
    return prefix ++ std.fmt.comptimePrint("{d}", .{@sizeOf(T)});
}

pub fn copy(src_dtype: i32, src: u64, soff: f64, dst_dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32) i32 {
    const sd = dtypeOf(src_dtype) orelse return bad_argument;
    const dd = dtypeOf(dst_dtype) orelse return bad_argument;
    if (!validNdim(ndim)) return bad_argument;
    const d = dev() orelse return no_device;
    const l = packed_(2, ndim, meta) orelse return tooManyDims();
    if (l.numel == 0) return ok;
    const s = addr(src, soff, sd) orelse return bad_argument;
    const t = addr(dst, doff, dd) orelse return bad_argument;
    @setEvalBranchQuota(20_000);
    return switch (sd) {
        inline else => |S| switch (dd) {
            inline else => |D| launch(d, "copy_" ++ @tagName(S) ++ "_" ++ @tagName(D), l.numel, abi.CopyArgs{ .src = s, .dst = t, .l = l }),
        },
    };
}

pub fn fill(dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32, bits: u64) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (!validNdim(ndim)) return bad_argument;
    const d = dev() orelse return no_device;
    const l = packed_(1, ndim, meta) orelse return tooManyDims();
    if (l.numel == 0) return ok;
    const t = addr(dst, doff, dd) orelse return bad_argument;
    const args = abi.FillArgs{ .dst = t, .bits = bits, .l = l };
    return switch (sizeOf(dd)) {
        1 => launch(d, "fill_1", l.numel, args),
        2 => launch(d, "fill_2", l.numel, args),
        4 => launch(d, "fill_4", l.numel, args),
        else => launch(d, "fill_8", l.numel, args),
    };
}

pub fn unary(op: i32, dtype: i32, x: u64, xoff: f64, y: u64, yoff: f64, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const o = std.enums.fromInt(ew.Unary, op) orelse return bad_argument;
    if (!validNdim(ndim)) return bad_argument;
    const float = dd == .float32 or dd == .float64 or dd == .float16 or dd == .bfloat16;
    if (!float and !o.allowsInt()) return bad_argument;
    const d = dev() orelse return no_device;
    const l = packed_(2, ndim, meta) orelse return tooManyDims();
    if (l.numel == 0) return ok;
    const xa = addr(x, xoff, dd) orelse return bad_argument;
    const ya = addr(y, yoff, if (o.isPredicate()) .bool else dd) orelse return bad_argument;
    const args = abi.UnaryArgs{ .x = xa, .y = ya, .a = a, .b = b, .c = c, .op = @intCast(op), .l = l };
    if (l.contiguous != 0 and abi.flatUnary(o) and (xa | ya) % 16 == 0) switch (dd) {
        inline .float32, .float64 => |D| switch (o) {
            inline else => |O| if (comptime abi.flatUnary(O)) {
                const name = "unary_flat_" ++ @tagName(O) ++ "_" ++ @tagName(D);
                return launch3(d, name, .{ flatBlocks(l.numel, @sizeOf(dt.Storage(D))), 1, 1 }, block, args);
            },
        },
        else => {},
    };
    return switch (dd) {
        inline else => |D| launchElementwise(d, nameFor("unary_", D), l.contiguous != 0, l.numel, @sizeOf(dt.Storage(D)), args),
    };
}

pub fn binary(op: i32, dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const o = std.enums.fromInt(ew.Binary, op) orelse return bad_argument;
    if (!validNdim(ndim)) return bad_argument;
    const float = dd == .float32 or dd == .float64 or dd == .float16 or dd == .bfloat16;
    if (!float and o.floatOnly()) return bad_argument;
    const d = dev() orelse return no_device;
    const l = packed_(3, ndim, meta) orelse return tooManyDims();
    if (l.numel == 0) return ok;
    const aa = addr(a, aoff, dd) orelse return bad_argument;
    const ba = addr(b, boff, dd) orelse return bad_argument;
    const oa = addr(out, ooff, if (o.isPredicate()) .bool else dd) orelse return bad_argument;
    if (!float and dd != .bool and (o.intDivides() or o == .pow)) {
        // Integer division by zero and negative powers have no result: check first.
        var lb: abi.Layout(1) = undefined;
        lb.numel = l.numel;
        lb.ndim = l.ndim;
        lb.contiguous = 0;
        lb.shape = l.shape;
        lb.strides[0] = l.strides[1];
        const a_ = api_storage();
        var s = check("cuMemsetD8Async", a_.cuMemsetD8Async(d.scratch, 0, 4, d.stream));
        if (s != ok) return s;
        const args = abi.CheckArgs{ .idx = ba, .result = d.scratch, .lo = if (o == .pow) 1 else 0, .size = 0, .l = lb };
        s = switch (dd) {
            inline .int64, .int32, .int16, .int8, .uint8 => |D| launch(d, nameFor("intcheck_", D), l.numel, args),
            else => unreachable,
        };
        if (s != ok) return s;
        var flag: u32 = 0;
        s = readScratch(d, std.mem.asBytes(&flag));
        if (s != ok) return s;
        if (flag != 0) return if (o == .pow) negative_power else division_by_zero;
    }
    const args = abi.BinaryArgs{ .a = aa, .b = ba, .out = oa, .op = @intCast(op), .l = l };
    return switch (dd) {
        inline else => |D| launchElementwise(d, nameFor("binary_", D), l.contiguous != 0, l.numel, @sizeOf(dt.Storage(D)), args),
    };
}

fn readScratch(d: *Device, out: []u8) i32 {
    const a = api_storage();
    const s = check("cuStreamSynchronize", a.cuStreamSynchronize(d.stream));
    if (s != ok) return s;
    return check("cuMemcpyDtoH", a.cuMemcpyDtoH_v2(out.ptr, d.scratch, out.len));
}

pub fn where(dtype: i32, c: u64, coff: f64, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (!validNdim(ndim)) return bad_argument;
    const d = dev() orelse return no_device;
    const l = packed_(4, ndim, meta) orelse return tooManyDims();
    if (l.numel == 0) return ok;
    const args = abi.WhereArgs{
        .c = addrBytes(c, coff, 1) orelse return bad_argument,
        .a = addr(a, aoff, dd) orelse return bad_argument,
        .b = addr(b, boff, dd) orelse return bad_argument,
        .out = addr(out, ooff, dd) orelse return bad_argument,
        .l = l,
    };
    return switch (sizeOf(dd)) {
        1 => launch(d, "where_1", l.numel, args),
        2 => launch(d, "where_2", l.numel, args),
        4 => launch(d, "where_4", l.numel, args),
        else => launch(d, "where_8", l.numel, args),
    };
}

fn validShape(outer: i32, r: i32, inner: i32) bool {
    return outer >= 0 and r >= 0 and inner >= 0;
}

/// Grid for the line kernels (reduce, softmax): a block per line when lines
/// are contiguous and long, else a thread per line.
fn lineGrid(d: *const Device, lines: u64, r: u64, inner: u64) u32 {
    if (inner == 1 and r >= 64) return @intCast(@max(1, @min(lines, 1 << 20)));
    return blocksFor(d, lines);
}

pub fn reduce(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, p: f64) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const o = std.enums.fromInt(red.Reduce, op) orelse return bad_argument;
    if (!validShape(outer, r, inner)) return bad_argument;
    const needs_idx = o == .argmax or o == .argmin;
    if ((needs_idx and idx == 0) or (!needs_idx and out == 0)) return bad_argument;
    if (r == 0 and (o == .max or o == .min or o == .argmax or o == .argmin)) return bad_argument;
    if (!contains(&abi.reduce_dtypes, dd)) return bad_argument;
    const float = dd == .float32 or dd == .float64;
    if (!float and (o == .mean or o == .variance or o == .logsumexp or o == .norm)) return bad_argument;
    const d = dev() orelse return no_device;
    if (outer == 0 or inner == 0) return ok;
    const out_dtype: DType = if (o == .all or o == .any) .bool else dd;
    const args = abi.ReduceArgs{
        .x = addr(x, xoff, dd) orelse return bad_argument,
        .out = if (out == 0) 0 else addr(out, ooff, out_dtype) orelse return bad_argument,
        .idx = if (idx == 0) 0 else addr(idx, ioff, .int64) orelse return bad_argument,
        .outer = @intCast(outer),
        .r = @intCast(r),
        .inner = @intCast(inner),
        .p = p,
        .op = @intCast(op),
    };
    const lines = args.outer * args.inner;
    const grid = lineGrid(d, lines, args.r, args.inner);
    return switch (dd) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool => |D| launch3(d, nameFor("reduce_", D), .{ grid, 1, 1 }, block, args),
        else => bad_argument,
    };
}

pub fn scan(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const so = std.enums.fromInt(red.Scan, op) orelse return bad_argument;
    if (!validShape(outer, r, inner)) return bad_argument;
    if (!contains(&abi.scan_dtypes, dd)) return bad_argument;
    if (so == .logcumsumexp and dd != .float32 and dd != .float64) return bad_argument;
    const d = dev() orelse return no_device;
    if (outer == 0 or r == 0 or inner == 0) return ok;
    const args = abi.ScanArgs{
        .x = addr(x, xoff, dd) orelse return bad_argument,
        .out = addr(out, ooff, dd) orelse return bad_argument,
        .outer = @intCast(outer),
        .r = @intCast(r),
        .inner = @intCast(inner),
        .op = @intCast(op),
    };
    return switch (dd) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8 => |D| launch(d, nameFor("scan_", D), args.outer * args.inner, args),
        else => bad_argument,
    };
}

pub fn softmax(log: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (!validShape(outer, r, inner)) return bad_argument;
    if (dd != .float32 and dd != .float64) return bad_argument;
    const d = dev() orelse return no_device;
    if (outer == 0 or r == 0 or inner == 0) return ok;
    const args = abi.SoftmaxArgs{
        .x = addr(x, xoff, dd) orelse return bad_argument,
        .out = addr(out, ooff, dd) orelse return bad_argument,
        .outer = @intCast(outer),
        .r = @intCast(r),
        .inner = @intCast(inner),
        .log = @intFromBool(log != 0),
    };
    const grid = lineGrid(d, args.outer * args.inner, args.r, args.inner);
    return switch (dd) {
        inline .float32, .float64 => |D| launch3(d, nameFor("softmax_", D), .{ grid, 1, 1 }, block, args),
        else => bad_argument,
    };
}

// ---------------------------------------------------------------- matmul

pub fn matmul(dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, c: u64, coff: f64, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (batch < 0 or m < 0 or n < 0 or k < 0) return bad_argument;
    for (0..6) |i| if (meta[i] < 0) return bad_argument;
    if (!contains(&abi.matmul_dtypes, dd)) return bad_argument;
    const d = dev() orelse return no_device;
    if (batch == 0 or m == 0 or n == 0) return ok;
    const args = abi.MatmulArgs{
        .a = addr(a, aoff, dd) orelse return bad_argument,
        .b = addr(b, boff, dd) orelse return bad_argument,
        .c = addr(c, coff, dd) orelse return bad_argument,
        .batch = @intCast(batch),
        .m = @intCast(m),
        .n = @intCast(n),
        .k = @intCast(k),
        .a_batch = meta[0],
        .a_row = meta[1],
        .a_col = meta[2],
        .b_batch = meta[3],
        .b_row = meta[4],
        .b_col = meta[5],
    };
    return runMatmul(d, dd, args);
}

/// A matmul whose arguments are checked: cuBLAS for floats where it is
/// there, else the reference kernel.
fn runMatmul(d: *Device, dd: DType, args: abi.MatmulArgs) i32 {
    if (args.k == 0) return launchZero(d, args, dd);
    const float = dd == .float32 or dd == .float64 or dd == .float16 or dd == .bfloat16;
    if (float) {
        if (blas.open()) |lib| return cublasMatmul(d, lib, dd, args);
    }
    // The reference kernel; the grid's z dim holds at most 65535 batches.
    const item = sizeOf(dd);
    var done: u32 = 0;
    const total = args.batch;
    while (done < total) {
        const chunk = @min(total - done, 65535);
        var part = args;
        part.batch = chunk;
        part.a = args.a + @as(u64, done) * @as(u64, @intCast(args.a_batch)) * item;
        part.b = args.b + @as(u64, done) * @as(u64, @intCast(args.b_batch)) * item;
        part.c = args.c + @as(u64, done) * args.m * args.n * item;
        const grid = [3]u32{ (args.n + 15) / 16, (args.m + 15) / 16, chunk };
        const s = switch (dd) {
            inline .float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8 => |D| launch3(d, nameFor("matmul_", D), grid, 256, part),
            else => bad_argument,
        };
        if (s != ok) return s;
        done += chunk;
    }
    return ok;
}

/// k == 0: the product is all zeros.
fn launchZero(d: *Device, args: abi.MatmulArgs, dd: DType) i32 {
    const bytes = @as(u64, args.batch) * args.m * args.n * sizeOf(dd);
    return check("cuMemsetD8Async", api_storage().cuMemsetD8Async(args.c, 0, @intCast(bytes), d.stream));
}

fn cublasCheck(call: []const u8, s: blas.Status) i32 {
    if (s == 0) return ok;
    return fail(cuda_error, "{s}: cuBLAS status {d}", .{ call, s });
}

/// A cuBLAS operand: its plan, or a contiguous copy made first.
const Operand = struct { ptr: u64, trans: c_int, ld: i64, batch_stride: i64, temp: u64 = 0 };

fn operand(d: *Device, dd: DType, base: u64, rows: i64, cols: i64, sr: i64, sc: i64, bs: i64, batch: u32) ?Operand {
    if (blas.plan(rows, cols, sr, sc)) |p| return .{ .ptr = base, .trans = p.trans, .ld = p.ld, .batch_stride = bs };
    // Copy to a contiguous column-major [batch, cols, rows] (one matrix when broadcast).
    const nb: u64 = if (bs == 0) 1 else batch;
    const item = sizeOf(dd);
    const bytes = nb * @as(u64, @intCast(rows * cols)) * item;
    const tmp = d.heap.alloc(bytes) catch return null;
    var l = std.mem.zeroes(abi.Layout(2));
    l.numel = nb * @as(u64, @intCast(rows * cols));
    l.ndim = 3;
    l.shape[0] = @intCast(rows);
    l.shape[1] = @intCast(cols);
    l.shape[2] = @intCast(nb);
    l.strides[0][0] = @intCast(sr);
    l.strides[0][1] = @intCast(sc);
    l.strides[0][2] = @intCast(bs);
    l.strides[1][0] = 1;
    l.strides[1][1] = @intCast(rows);
    l.strides[1][2] = @intCast(rows * cols);
    const args = abi.CopyArgs{ .src = base, .dst = tmp, .l = l };
    const s = switch (dd) {
        inline .float32, .float64, .float16, .bfloat16 => |D| launch(d, "copy_" ++ @tagName(D) ++ "_" ++ @tagName(D), l.numel, args),
        else => bad_argument,
    };
    if (s != ok) {
        _ = d.heap.free(tmp);
        return null;
    }
    return .{ .ptr = tmp, .trans = blas.op_n, .ld = rows, .batch_stride = if (bs == 0) 0 else rows * cols, .temp = tmp };
}

fn cublasMatmul(d: *Device, lib: *const blas.Api, dd: DType, p: abi.MatmulArgs) i32 {
    if (d.blas == null) {
        var h: blas.Handle = null;
        const s = cublasCheck("cublasCreate", lib.cublasCreate_v2(&h));
        if (s != ok) return s;
        d.blas = h;
        const s2 = cublasCheck("cublasSetStream", lib.cublasSetStream_v2(h, d.stream));
        if (s2 != ok) return s2;
        if (blas.set_workspace) |set| {
            // Straight from the driver, outside the caching allocator: it
            // lives as long as the handle and is not a tensor's memory. Best
            // effort: without it cuBLAS uses its own default.
            var ws: drv.DevicePtr = 0;
            if (api_storage().cuMemAlloc_v2(&ws, blas.workspace_bytes) == drv.success) {
                if (set(h, ws, blas.workspace_bytes) != 0) _ = api_storage().cuMemFree_v2(ws);
            }
        }
    }
    const h = d.blas;
    const m: i64 = p.m;
    const n: i64 = p.n;
    const k: i64 = p.k;
    // C^T (n x m, column-major, ld n) = B^T (n x k) * A^T (k x m).
    const opa = operand(d, dd, p.b, n, k, p.b_col, p.b_row, p.b_batch, p.batch) orelse return fail(out_of_memory, "matmul: no memory for an operand copy", .{});
    defer if (opa.temp != 0) {
        _ = d.heap.free(opa.temp);
    };
    const opb = operand(d, dd, p.a, k, m, p.a_col, p.a_row, p.a_batch, p.batch) orelse return fail(out_of_memory, "matmul: no memory for an operand copy", .{});
    defer if (opb.temp != 0) {
        _ = d.heap.free(opb.temp);
    };
    const mode = if (dd == .float32 and allow_tf32) blas.tf32_tensor_op_math else blas.default_math;
    var s = cublasCheck("cublasSetMathMode", lib.cublasSetMathMode(h, mode));
    if (s != ok) return s;
    const batch: c_int = @intCast(p.batch);
    const stride_c = m * n;
    switch (dd) {
        .float32 => {
            const one: f32 = 1;
            const zero: f32 = 0;
            s = cublasCheck("cublasSgemmStridedBatched", lib.cublasSgemmStridedBatched(h, opa.trans, opb.trans, @intCast(n), @intCast(m), @intCast(k), &one, opa.ptr, @intCast(opa.ld), opa.batch_stride, opb.ptr, @intCast(opb.ld), opb.batch_stride, &zero, p.c, @intCast(n), stride_c, batch));
        },
        .float64 => {
            const one: f64 = 1;
            const zero: f64 = 0;
            s = cublasCheck("cublasDgemmStridedBatched", lib.cublasDgemmStridedBatched(h, opa.trans, opb.trans, @intCast(n), @intCast(m), @intCast(k), &one, opa.ptr, @intCast(opa.ld), opa.batch_stride, opb.ptr, @intCast(opb.ld), opb.batch_stride, &zero, p.c, @intCast(n), stride_c, batch));
        },
        .float16, .bfloat16 => {
            const one: f32 = 1;
            const zero: f32 = 0;
            const t: c_int = if (dd == .float16) blas.r_16f else blas.r_16bf;
            s = cublasCheck("cublasGemmStridedBatchedEx", lib.cublasGemmStridedBatchedEx(h, opa.trans, opb.trans, @intCast(n), @intCast(m), @intCast(k), &one, opa.ptr, t, @intCast(opa.ld), opa.batch_stride, opb.ptr, t, @intCast(opb.ld), opb.batch_stride, &zero, p.c, t, @intCast(n), stride_c, batch, blas.compute_32f, blas.gemm_default));
        },
        else => unreachable,
    }
    return s;
}

// ---------------------------------------------------------------- recurrent layers
// rnn.zig's time loops on the device: at each step the hidden GEMM in cuBLAS
// (row-major c [m, n] = a [m, k] @ B, B given by its strides) and one fused
// gate kernel (kernels.zig). The meta arrays are the CPU exports': operand
// offsets in elements, then steps, batch, hidden, reverse.

const RnnDims = struct {
    steps: u64,
    batch: u64,
    hidden: u64,
    reverse: bool,

    fn time(r: RnnDims, s: u64) u64 {
        return if (r.reverse) r.steps - 1 - s else s;
    }
};

fn rnnDims(m: []const i32) ?RnnDims {
    for (m[0..3]) |x| if (x < 0) return null;
    if (m[3] != 0 and m[3] != 1) return null;
    return .{ .steps = @intCast(m[0]), .batch = @intCast(m[1]), .hidden = @intCast(m[2]), .reverse = m[3] == 1 };
}

/// Device addresses of the operands: bases plus the meta's element offsets.
fn operandAddrs(comptime n: usize, bases: [n]u64, meta: [*]const i32, item: u64) ?[n]u64 {
    var out: [n]u64 = undefined;
    for (&out, bases, 0..) |*o, b, i| {
        if (meta[i] < 0 or b == 0) return null;
        o.* = b + @as(u64, @intCast(meta[i])) * item;
    }
    return out;
}

fn gemm(d: *Device, dd: DType, a: u64, m: u64, k: u64, b: u64, n: u64, b_row: i64, b_col: i64, c: u64) i32 {
    return runMatmul(d, dd, .{
        .a = a,
        .b = b,
        .c = c,
        .batch = 1,
        .m = @intCast(m),
        .n = @intCast(n),
        .k = @intCast(k),
        .a_batch = 0,
        .a_row = @intCast(k),
        .a_col = 1,
        .b_batch = 0,
        .b_row = b_row,
        .b_col = b_col,
    });
}

fn stepLaunch(d: *Device, comptime prefix: []const u8, dd: DType, n: u64, args: anytype) i32 {
    return switch (dd) {
        inline .float32, .float64 => |D| launch(d, nameFor(prefix, D), n, args),
        else => bad_argument,
    };
}

fn floatDtype(dtype: i32) ?DType {
    const dd = dtypeOf(dtype) orelse return null;
    return if (dd == .float32 or dd == .float64) dd else null;
}

fn stepScratch(d: *Device, bytes: u64, comptime what: []const u8) ?u64 {
    return d.heap.alloc(bytes) catch {
        _ = fail(out_of_memory, what ++ ": no device memory for a step's scratch ({d} bytes)", .{bytes});
        return null;
    };
}

/// LSTM forward. bases: gx, w_hh, h0, c0, y, ws (rnn.zig's shapes).
pub fn lstmForward(dtype: i32, gx: u64, w_hh: u64, h0: u64, c0: u64, y: u64, ws: u64, meta: [*]const i32) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const r = rnnDims(meta[6..10]) orelse return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(6, .{ gx, w_hh, h0, c0, y, ws }, meta, item) orelse return bad_argument;
    const d = dev() orelse return no_device;
    if (r.steps == 0 or r.batch == 0 or r.hidden == 0) return ok;
    const B = r.batch;
    const H = r.hidden;
    const gs = stepScratch(d, B * 4 * H * item, "lstm") orelse return out_of_memory;
    defer _ = d.heap.free(gs);
    for (0..r.steps) |s| {
        const t = r.time(s);
        const tp = if (s == 0) t else r.time(s - 1);
        const h_prev = if (s == 0) p[2] else p[4] + tp * B * H * item;
        // gs = h_prev @ W_hh^T: W_hh [4H, H] read as [H, 4H].
        var st = gemm(d, dd, h_prev, B, H, p[1], 4 * H, 1, @intCast(H), gs);
        if (st != ok) return st;
        const first = s == 0;
        st = stepLaunch(d, "lstm_step_", dd, B * H, abi.RnnStepArgs{
            .gs = gs,
            .gx = p[0] + t * B * 4 * H * item,
            .prev = if (first) p[3] else p[5] + (tp * B * 5 * H + 4 * H) * item,
            .bias = 0,
            .y = p[4] + t * B * H * item,
            .ws = p[5] + t * B * 5 * H * item,
            .batch = B,
            .hidden = H,
            .prev_stride = if (first) H else 5 * H,
        });
        if (st != ok) return st;
    }
    return ok;
}

/// LSTM backward. bases: w_hh, h0, c0, y, ws, dy, dc_last, dg, dh0, dc0.
pub fn lstmBackward(dtype: i32, w_hh: u64, h0: u64, c0: u64, y: u64, ws: u64, dy: u64, dc_last: u64, dg: u64, dh0: u64, dc0: u64, meta: [*]const i32) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const r = rnnDims(meta[10..14]) orelse return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(10, .{ w_hh, h0, c0, y, ws, dy, dc_last, dg, dh0, dc0 }, meta, item) orelse return bad_argument;
    const d = dev() orelse return no_device;
    if (r.steps == 0 or r.batch == 0 or r.hidden == 0) return ok;
    const B = r.batch;
    const H = r.hidden;
    // dc0 carries dc from the last step back to the first.
    var st = check("cuMemcpyDtoDAsync", api_storage().cuMemcpyDtoDAsync_v2(p[9], p[6], @intCast(B * H * item), d.stream));
    if (st != ok) return st;
    const dhs = stepScratch(d, B * H * item, "lstm backward") orelse return out_of_memory;
    defer _ = d.heap.free(dhs);
    var s: u64 = r.steps;
    while (s > 0) {
        s -= 1;
        const t = r.time(s);
        const later = s + 1 < r.steps;
        if (later) {
            // dG of the step walked before (the later one) @ W_hh [4H, H].
            st = gemm(d, dd, p[7] + r.time(s + 1) * B * 4 * H * item, B, 4 * H, p[0], H, @intCast(H), 1, dhs);
            if (st != ok) return st;
        }
        const first = s == 0;
        st = stepLaunch(d, "lstm_grad_", dd, B * H, abi.RnnGradArgs{
            .dy = p[5] + t * B * H * item,
            .carry = if (later) dhs else 0,
            .prev = if (first) p[2] else p[4] + (r.time(s - 1) * B * 5 * H + 4 * H) * item,
            .ws = p[4] + t * B * 5 * H * item,
            .state = p[9],
            .out = p[7] + t * B * 4 * H * item,
            .out2 = 0,
            .z_next = 0,
            .batch = B,
            .hidden = H,
            .prev_stride = if (first) H else 5 * H,
        });
        if (st != ok) return st;
    }
    return gemm(d, dd, p[7] + r.time(0) * B * 4 * H * item, B, 4 * H, p[0], H, @intCast(H), 1, p[8]);
}

/// GRU forward. bases: gx, w_hh, b_hh, h0, y, ws.
pub fn gruForward(dtype: i32, gx: u64, w_hh: u64, b_hh: u64, h0: u64, y: u64, ws: u64, meta: [*]const i32) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const r = rnnDims(meta[6..10]) orelse return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(6, .{ gx, w_hh, b_hh, h0, y, ws }, meta, item) orelse return bad_argument;
    const d = dev() orelse return no_device;
    if (r.steps == 0 or r.batch == 0 or r.hidden == 0) return ok;
    const B = r.batch;
    const H = r.hidden;
    const gs = stepScratch(d, B * 3 * H * item, "gru") orelse return out_of_memory;
    defer _ = d.heap.free(gs);
    for (0..r.steps) |s| {
        const t = r.time(s);
        const h_prev = if (s == 0) p[3] else p[4] + r.time(s - 1) * B * H * item;
        var st = gemm(d, dd, h_prev, B, H, p[1], 3 * H, 1, @intCast(H), gs);
        if (st != ok) return st;
        st = stepLaunch(d, "gru_step_", dd, B * H, abi.RnnStepArgs{
            .gs = gs,
            .gx = p[0] + t * B * 3 * H * item,
            .prev = h_prev,
            .bias = p[2],
            .y = p[4] + t * B * H * item,
            .ws = p[5] + t * B * 4 * H * item,
            .batch = B,
            .hidden = H,
            .prev_stride = H,
        });
        if (st != ok) return st;
    }
    return ok;
}

/// GRU backward. bases: w_hh, h0, y, ws, dy, dgx, dgh, dh0.
pub fn gruBackward(dtype: i32, w_hh: u64, h0: u64, y: u64, ws: u64, dy: u64, dgx: u64, dgh: u64, dh0: u64, meta: [*]const i32) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const r = rnnDims(meta[8..12]) orelse return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(8, .{ w_hh, h0, y, ws, dy, dgx, dgh, dh0 }, meta, item) orelse return bad_argument;
    const d = dev() orelse return no_device;
    if (r.steps == 0 or r.batch == 0 or r.hidden == 0) return ok;
    const B = r.batch;
    const H = r.hidden;
    const dhs = stepScratch(d, B * H * item, "gru backward") orelse return out_of_memory;
    defer _ = d.heap.free(dhs);
    var st: i32 = ok;
    // dh0 carries dh from the last step back to the first.
    var s: u64 = r.steps;
    while (s > 0) {
        s -= 1;
        const t = r.time(s);
        const later = s + 1 < r.steps;
        const tn = if (later) r.time(s + 1) else t;
        if (later) {
            st = gemm(d, dd, p[6] + tn * B * 3 * H * item, B, 3 * H, p[0], H, @intCast(H), 1, dhs);
            if (st != ok) return st;
        }
        st = stepLaunch(d, "gru_grad_", dd, B * H, abi.RnnGradArgs{
            .dy = p[4] + t * B * H * item,
            .carry = if (later) dhs else 0,
            .prev = if (s == 0) p[1] else p[2] + r.time(s - 1) * B * H * item,
            .ws = p[3] + t * B * 4 * H * item,
            .state = p[7],
            .out = p[5] + t * B * 3 * H * item,
            .out2 = p[6] + t * B * 3 * H * item,
            .z_next = if (later) p[3] + tn * B * 4 * H * item else 0,
            .batch = B,
            .hidden = H,
            .prev_stride = H,
        });
        if (st != ok) return st;
    }
    // dh0 = dgh[first] @ W_hh + dh z[first].
    const t0 = r.time(0);
    st = gemm(d, dd, p[6] + t0 * B * 3 * H * item, B, 3 * H, p[0], H, @intCast(H), 1, dhs);
    if (st != ok) return st;
    return stepLaunch(d, "gru_first_", dd, B * H, abi.RnnGradArgs{
        .dy = 0,
        .carry = dhs,
        .prev = 0,
        .ws = 0,
        .state = p[7],
        .out = 0,
        .out2 = 0,
        .z_next = p[3] + t0 * B * 4 * H * item,
        .batch = B,
        .hidden = H,
        .prev_stride = 0,
    });
}

// ---------------------------------------------------------------- attention
// Fused attention (kernels.zig's attn_* family). meta: the CPU exports'
// operand offsets, then n, L, S, E, Ev, causal. Head dims above the largest
// of abi.attn_head_dims give status 6 (the caller composes the op instead).

const AttnDims = struct { n: u64, l: u64, s: u64, e: u64, ev: u64, causal: bool };

fn attnDims(m: []const i32) ?AttnDims {
    for (m[0..5]) |x| if (x < 0) return null;
    if (m[5] != 0 and m[5] != 1) return null;
    return .{ .n = @intCast(m[0]), .l = @intCast(m[1]), .s = @intCast(m[2]), .e = @intCast(m[3]), .ev = @intCast(m[4]), .causal = m[5] == 1 };
}

/// Launches kernel `prefix` (per dtype and head-dim bound) over row blocks
/// of `rows` rows and every (batch, head), at most 65535 of those a launch.
fn attnLaunch(d: *Device, comptime prefix: []const u8, dd: DType, a: abi.AttnArgs, rows: u64) i32 {
    const need = @max(a.e, a.ev);
    const item = sizeOf(dd);
    var done: u64 = 0;
    while (done < a.n) {
        const chunk = @min(a.n - done, 65535);
        var part = a;
        part.n = chunk;
        part.q = a.q + done * a.l * a.e * item;
        part.k = a.k + done * a.s * a.e * item;
        part.v = a.v + done * a.s * a.ev * item;
        part.o = a.o + done * a.l * a.ev * item;
        part.lse = a.lse + done * a.l * item;
        if (a.dout != 0) part.dout = a.dout + done * a.l * a.ev * item;
        if (a.delta != 0) part.delta = a.delta + done * a.l * item;
        if (a.dq != 0) part.dq = a.dq + done * a.l * a.e * item;
        if (a.dk != 0) part.dk = a.dk + done * a.s * a.e * item;
        if (a.dv != 0) part.dv = a.dv + done * a.s * a.ev * item;
        const grid = [3]u32{ @intCast((rows + abi.attn_rows - 1) / abi.attn_rows), @intCast(chunk), 1 };
        const st = blk: switch (dd) {
            inline .float32, .float64 => |D| {
                inline for (abi.attn_head_dims) |emax| {
                    if (need <= emax) break :blk launch3(d, prefix ++ @tagName(D) ++ std.fmt.comptimePrint("_{d}", .{emax}), grid, abi.attn_rows, part);
                }
                break :blk unsupported;
            },
            else => bad_argument,
        };
        if (st != ok) return st;
        done += chunk;
    }
    return ok;
}

fn attnArgs(dm_: AttnDims, scale: f64) abi.AttnArgs {
    return .{ .q = 0, .k = 0, .v = 0, .o = 0, .lse = 0, .dout = 0, .delta = 0, .dq = 0, .dk = 0, .dv = 0, .n = dm_.n, .l = dm_.l, .s = dm_.s, .e = dm_.e, .ev = dm_.ev, .scale = scale, .causal = @intFromBool(dm_.causal) };
}

fn attnSupported(a: AttnDims) bool {
    return @max(a.e, a.ev) <= abi.attn_head_dims[abi.attn_head_dims.len - 1];
}

/// Forward. bases: q, k, v, o, lse.
pub fn attentionForward(dtype: i32, q: u64, k: u64, v: u64, o: u64, lse: u64, meta: [*]const i32, scale: f64) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const ad = attnDims(meta[5..11]) orelse return bad_argument;
    if (!std.math.isFinite(scale)) return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(5, .{ q, k, v, o, lse }, meta, item) orelse return bad_argument;
    if (!attnSupported(ad)) return fail(unsupported, "scaledDotProductAttention: head dims {d} and {d} (at most {d} on CUDA)", .{ ad.e, ad.ev, abi.attn_head_dims[abi.attn_head_dims.len - 1] });
    const d = dev() orelse return no_device;
    if (ad.n == 0 or ad.l == 0) return ok;
    var a = attnArgs(ad, scale);
    a.q = p[0];
    a.k = p[1];
    a.v = p[2];
    a.o = p[3];
    a.lse = p[4];
    return attnLaunch(d, "attn_fwd_", dd, a, ad.l);
}

/// Backward. bases: q, k, v, o, dout, lse, dq, dk, dv.
pub fn attentionBackward(dtype: i32, q: u64, k: u64, v: u64, o: u64, dout: u64, lse: u64, dq: u64, dk: u64, dv: u64, meta: [*]const i32, scale: f64) i32 {
    const dd = floatDtype(dtype) orelse return bad_argument;
    const ad = attnDims(meta[9..15]) orelse return bad_argument;
    if (!std.math.isFinite(scale)) return bad_argument;
    const item = sizeOf(dd);
    const p = operandAddrs(9, .{ q, k, v, o, dout, lse, dq, dk, dv }, meta, item) orelse return bad_argument;
    if (!attnSupported(ad)) return fail(unsupported, "scaledDotProductAttention backward: head dims {d} and {d} (at most {d} on CUDA)", .{ ad.e, ad.ev, abi.attn_head_dims[abi.attn_head_dims.len - 1] });
    const d = dev() orelse return no_device;
    if (ad.n == 0) return ok;
    const delta = stepScratch(d, @max(ad.n * ad.l, 1) * item, "scaledDotProductAttention backward") orelse return out_of_memory;
    defer _ = d.heap.free(delta);
    var a = attnArgs(ad, scale);
    a.q = p[0];
    a.k = p[1];
    a.v = p[2];
    a.o = p[3];
    a.dout = p[4];
    a.lse = p[5];
    a.dq = p[6];
    a.dk = p[7];
    a.dv = p[8];
    a.delta = delta;
    var st = stepLaunch(d, "attn_delta_", dd, ad.n * ad.l, a);
    if (st != ok) return st;
    if (ad.l > 0) {
        st = attnLaunch(d, "attn_dq_", dd, a, ad.l);
        if (st != ok) return st;
    }
    if (ad.s > 0) st = attnLaunch(d, "attn_dkv_", dd, a, ad.s);
    return st;
}

// ---------------------------------------------------------------- indexing

/// Bounds-checks int64 indices over a layout; on a bad one sets
/// ix.bad_index (for zeno_bad_index) and returns status 2.
fn checkIndices(d: *Device, idx_addr: u64, l: abi.Layout(1), lo: i64, size: i64) i32 {
    const a = api_storage();
    var s = check("cuMemsetD8Async", a.cuMemsetD8Async(d.scratch, 0xff, 8, d.stream));
    if (s != ok) return s;
    s = launch(d, "index_check", l.numel, abi.CheckArgs{ .idx = idx_addr, .result = d.scratch, .lo = lo, .size = size, .l = l });
    if (s != ok) return s;
    var pos: u64 = 0;
    s = readScratch(d, std.mem.asBytes(&pos));
    if (s != ok) return s;
    if (pos == std.math.maxInt(u64)) return ok;
    const off = if (l.contiguous != 0) @as(i64, @intCast(pos)) else abi.offsets(1, &l, pos)[0];
    var v: i64 = 0;
    s = check("cuMemcpyDtoH", a.cuMemcpyDtoH_v2(@ptrCast(&v), idx_addr + @as(u64, @intCast(off)) * 8, 8));
    if (s != ok) return s;
    ix.bad_index = v;
    return index_out_of_range;
}

pub fn indexSelect(elem_size: i32, x: u64, xoff: f64, idx: u64, ioff: f64, n: i32, out: u64, ooff: f64, outer: i32, size: i32, inner: i32, wrap: i32) i32 {
    if (elem_size <= 0 or elem_size > 8 or n < 0 or !validShape(outer, size, inner)) return bad_argument;
    if (elem_size != 1 and elem_size != 2 and elem_size != 4 and elem_size != 8) return bad_argument;
    const d = dev() orelse return no_device;
    const es: u64 = @intCast(elem_size);
    const ia = addrBytes(idx, ioff, 8) orelse return bad_argument;
    if (n > 0) {
        var l = std.mem.zeroes(abi.Layout(1));
        l.numel = @intCast(n);
        l.ndim = 1;
        l.contiguous = 1;
        l.shape[0] = @intCast(n);
        l.strides[0][0] = 1;
        const s = checkIndices(d, ia, l, if (wrap != 0) -@as(i64, size) else 0, size);
        if (s != ok) return s;
    }
    const args = abi.IndexSelectArgs{
        .x = addrBytes(x, xoff, es) orelse return bad_argument,
        .idx = ia,
        .out = addrBytes(out, ooff, es) orelse return bad_argument,
        .n = @intCast(n),
        .outer = @intCast(outer),
        .size = @intCast(size),
        .inner = @intCast(inner),
        .elem_size = @intCast(elem_size),
    };
    const total = args.outer * args.n * args.inner;
    if (total == 0) return ok;
    return switch (elem_size) {
        1 => launch(d, "index_select_1", total, args),
        2 => launch(d, "index_select_2", total, args),
        4 => launch(d, "index_select_4", total, args),
        else => launch(d, "index_select_8", total, args),
    };
}

/// Gather/scatter layouts: meta [idx shape, idx strides, x|dst strides,
/// out|src strides]; operand 1's stride at `dim` moves into dim_stride.
const IndexLayouts = struct { l: abi.Layout(3), check: abi.Layout(1), dim_stride: i64 };

fn indexLayouts(ndim: i32, meta: [*]const i32, dim: i32) ?IndexLayouts {
    const nd: usize = @intCast(ndim);
    var m: [4 * strided.max_dims]i32 = undefined;
    @memcpy(m[0 .. 4 * nd], meta[0 .. 4 * nd]);
    const ds: i64 = m[2 * nd + @as(usize, @intCast(dim))];
    m[2 * nd + @as(usize, @intCast(dim))] = 0;
    const l = abi.pack(3, ndim, &m) orelse return null;
    const c = abi.pack(1, ndim, &m) orelse return null;
    return .{ .l = l, .check = c, .dim_stride = ds };
}

pub fn gather(dtype: i32, x: u64, xoff: f64, idx: u64, ioff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (ndim < 1 or !validNdim(ndim) or dim < 0 or dim >= ndim or size < 0) return bad_argument;
    const d = dev() orelse return no_device;
    const ls = indexLayouts(ndim, meta, dim) orelse return tooManyDims();
    if (ls.l.numel == 0) return ok;
    const ia = addrBytes(idx, ioff, 8) orelse return bad_argument;
    const s = checkIndices(d, ia, ls.check, 0, size);
    if (s != ok) return s;
    const args = abi.GatherArgs{
        .idx = ia,
        .x = addr(x, xoff, dd) orelse return bad_argument,
        .out = addr(out, ooff, dd) orelse return bad_argument,
        .dim_stride = ls.dim_stride,
        .l = ls.l,
    };
    return switch (sizeOf(dd)) {
        1 => launch(d, "gather_1", ls.l.numel, args),
        2 => launch(d, "gather_2", ls.l.numel, args),
        4 => launch(d, "gather_4", ls.l.numel, args),
        else => launch(d, "gather_8", ls.l.numel, args),
    };
}

pub fn scatter(op: i32, dtype: i32, dst: u64, doff: f64, idx: u64, ioff: f64, src: u64, soff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (op < 0 or op > 1 or ndim < 1 or !validNdim(ndim) or dim < 0 or dim >= ndim or size < 0) return bad_argument;
    const add = op == 1;
    if (add and (dd == .float16 or dd == .bfloat16 or dd == .bool)) return bad_argument;
    if (add and (dd == .int16 or dd == .int8 or dd == .uint8)) return fail(unsupported, "scatter add of {s} is not supported on CUDA (no atomic add of that width)", .{@tagName(dd)});
    const d = dev() orelse return no_device;
    const ls = indexLayouts(ndim, meta, dim) orelse return tooManyDims();
    if (ls.l.numel == 0) return ok;
    const ia = addrBytes(idx, ioff, 8) orelse return bad_argument;
    const s = checkIndices(d, ia, ls.check, 0, size);
    if (s != ok) return s;
    const args = abi.ScatterArgs{
        .idx = ia,
        .dst = addr(dst, doff, dd) orelse return bad_argument,
        .src = addr(src, soff, dd) orelse return bad_argument,
        .dim_stride = ls.dim_stride,
        .add = @intFromBool(add),
        .l = ls.l,
    };
    return switch (dd) {
        inline else => |D| launch(d, nameFor("scatter_", D), ls.l.numel, args),
    };
}

// ---------------------------------------------------------------- sort

pub fn sort(dtype: i32, x: u64, xoff: f64, vals: u64, voff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, descending: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    if (!validShape(outer, r, inner)) return bad_argument;
    if (!contains(&abi.reduce_dtypes, dd)) return bad_argument;
    const d = dev() orelse return no_device;
    if (outer == 0 or r == 0 or inner == 0) return ok;
    const args = abi.SortArgs{
        .x = addr(x, xoff, dd) orelse return bad_argument,
        .vals = addr(vals, voff, dd) orelse return bad_argument,
        .idx = addr(idx, ioff, .int64) orelse return bad_argument,
        .outer = @intCast(outer),
        .r = @intCast(r),
        .inner = @intCast(inner),
        .descending = @intFromBool(descending != 0),
    };
    if (args.r > abi.sort_max) return sortOnHost(d, dd, args);
    const lines = args.outer * args.inner;
    var threads: u32 = 32;
    while (threads < 1024 and threads * 2 < args.r) threads *= 2;
    const grid: u32 = @intCast(@min(lines, 1 << 20));
    return switch (dd) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool => |D| launch3(d, nameFor("sort_", D), .{ grid, 1, 1 }, threads, args),
        else => bad_argument,
    };
}

/// Lines longer than the shared-memory sort: copy to the host, sort with the
/// CPU kernel (index.zig), copy back. Synchronous.
fn sortOnHost(d: *Device, dd: DType, a: abi.SortArgs) i32 {
    const n = a.outer * a.r * a.inner;
    const item = sizeOf(dd);
    const gpa = std.heap.c_allocator;
    const vs = gpa.alignedAlloc(u8, .@"8", n * item) catch return fail(out_of_memory, "sort: host out of memory", .{});
    defer gpa.free(vs);
    const is = gpa.alignedAlloc(u8, .@"8", n * 8) catch return fail(out_of_memory, "sort: host out of memory", .{});
    defer gpa.free(is);
    const xa = gpa.alignedAlloc(u8, .@"8", n * item) catch return fail(out_of_memory, "sort: host out of memory", .{});
    defer gpa.free(xa);
    const api_ = api_storage();
    var s = check("cuStreamSynchronize", api_.cuStreamSynchronize(d.stream));
    if (s != ok) return s;
    s = check("cuMemcpyDtoH", api_.cuMemcpyDtoH_v2(xa.ptr, a.x, xa.len));
    if (s != ok) return s;
    ix.sort(dd, xa.ptr, 0, vs.ptr, 0, is.ptr, 0, a.outer, a.r, a.inner, a.descending != 0) catch return fail(out_of_memory, "sort: host out of memory", .{});
    s = check("cuMemcpyHtoD", api_.cuMemcpyHtoD_v2(a.vals, vs.ptr, vs.len));
    if (s != ok) return s;
    return check("cuMemcpyHtoD", api_.cuMemcpyHtoD_v2(a.idx, is.ptr, is.len));
}

// ---------------------------------------------------------------- optimizers

pub fn optimStep(kind: i32, dtype: i32, p: u64, poff: f64, g: u64, goff: f64, s1: u64, s1off: f64, s2: u64, s2off: f64, s3: u64, s3off: f64, n: i32, hyper: [*]const f64) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const k = std.enums.fromInt(opt.Kind, kind) orelse return bad_argument;
    if (n < 0) return bad_argument;
    if (!contains(&abi.optim_dtypes, dd)) return bad_argument;
    const d = dev() orelse return no_device;
    if (n == 0) return ok;
    var h: [opt.derived_len]f64 = @splat(0);
    @memcpy(h[0..opt.hyper_len], hyper[0..opt.hyper_len]);
    opt.derive(k, &h);
    // The same checks as optim.step.
    const used = opt.statesUsed(k, &h);
    const given = [3]bool{ s1 != 0, s2 != 0, s3 != 0 };
    for (used, given) |u, gv| if (u and !gv) return bad_argument;
    // Half parameters keep f32 states.
    const sd: DType = if (dd == .float64) .float64 else .float32;
    const args = abi.OptimArgs{
        .p = addr(p, poff, dd) orelse return bad_argument,
        .g = addr(g, goff, dd) orelse return bad_argument,
        .s1 = if (s1 == 0) 0 else addr(s1, s1off, sd) orelse return bad_argument,
        .s2 = if (s2 == 0) 0 else addr(s2, s2off, sd) orelse return bad_argument,
        .s3 = if (s3 == 0) 0 else addr(s3, s3off, sd) orelse return bad_argument,
        .n = @intCast(n),
        .kind = @intCast(kind),
        .h = h,
    };
    return switch (dd) {
        inline .float32, .float64, .float16, .bfloat16 => |D| launch(d, nameFor("optim_", D), args.n, args),
        else => bad_argument,
    };
}

// ---------------------------------------------------------------- window2d

pub fn window2d(op: i32, dtype: i32, src: u64, soff: f64, dst: u64, doff: f64, idx: u64, ioff: f64, meta: [*]const i32, count_include_pad: i32, divisor: i32) i32 {
    const dd = dtypeOf(dtype) orelse return bad_argument;
    const o = std.enums.fromInt(conv.Op, op) orelse return bad_argument;
    if (divisor < 0) return bad_argument;
    const g = conv.Geometry.fromMeta(meta) catch return bad_argument;
    const needs_idx = o == .max_pool or o == .max_pool_backward;
    if (needs_idx and idx == 0) return bad_argument;
    if ((o == .adaptive_avg_pool or o == .adaptive_avg_pool_backward) and (g.oh == 0 or g.ow == 0)) return bad_argument;
    if (dd != .float32 and dd != .float64) return bad_argument;
    const d = dev() orelse return no_device;
    const planes: u64 = g.n * g.c;
    if (planes == 0) return ok;
    var geo: [14]u32 = undefined;
    for (0..14) |i| geo[i] = @intCast(meta[i]);
    const hw: u64 = g.h * g.w;
    const l: u64 = g.oh * g.ow;
    const kk: u64 = g.kh * g.kw;
    const total: u64 = switch (o) {
        .im2col, .im2col_batched => planes * kk * l,
        .col2im, .col2im_batched => planes * hw,
        else => planes * l,
    };
    const args = abi.WindowArgs{
        .src = addr(src, soff, dd) orelse return bad_argument,
        .dst = addr(dst, doff, dd) orelse return bad_argument,
        .idx = if (idx == 0) 0 else addr(idx, ioff, .int64) orelse return bad_argument,
        .flag = d.scratch,
        .total = total,
        .g = geo,
        .op = @intCast(op),
        .count_include_pad = @intFromBool(count_include_pad != 0),
        .divisor = @intCast(divisor),
    };
    const a = api_storage();
    const backward = o == .max_pool_backward or o == .avg_pool_backward or o == .adaptive_avg_pool_backward;
    if (backward) {
        // The backward ops accumulate into a zeroed gradient.
        const s = check("cuMemsetD8Async", a.cuMemsetD8Async(args.dst, 0, @intCast(planes * hw * sizeOf(dd)), d.stream));
        if (s != ok) return s;
    }
    if (o == .max_pool_backward) {
        const s = check("cuMemsetD8Async", a.cuMemsetD8Async(d.scratch, 0, 4, d.stream));
        if (s != ok) return s;
    }
    if (total > 0) {
        const s = switch (dd) {
            inline .float32, .float64 => |D| launch(d, nameFor("window2d_", D), total, args),
            else => bad_argument,
        };
        if (s != ok) return s;
    }
    if (o == .max_pool_backward) {
        var flag: u32 = 0;
        const s = readScratch(d, std.mem.asBytes(&flag));
        if (s != ok) return s;
        if (flag != 0) return fail(index_out_of_range, "max_pool backward: an index outside its plane", .{});
    }
    return ok;
}

test {
    _ = am;
    _ = abi;
    _ = blas;
    _ = drv;
    _ = cubin;
    _ = @import("dmath.zig");
}

test "without a driver every export reports status 3 and nothing crashes" {
    if (drv.open() != null) return; // a machine with a GPU: the smoke script covers it
    try std.testing.expectEqual(no_device, init());
    try std.testing.expectEqual(@as(i32, 0), deviceCount());
    var out: [1]u64 = undefined;
    try std.testing.expectEqual(no_device, malloc(16, &out));
    try std.testing.expectEqual(no_device, setDevice(0));
    const meta = [_]i32{ 4, 1, 1 };
    try std.testing.expectEqual(no_device, unary(0, 0, 0, 0, 0, 0, 1, &meta, 0, 0, 0));
    var buf: [256]u8 = undefined;
    const n = lastError(&buf, buf.len);
    try std.testing.expect(n > 0);
}
