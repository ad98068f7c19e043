//! The CUDA driver API, opened at run time (dlopen of libcuda.so.1), so that
//! the library loads and the CPU kernels work on machines without CUDA.
//! Only Linux looks for a driver; elsewhere `open` reports none.
//!
//! Every failing call records "<call>: <CUDA_ERROR_NAME>: <description>" for
//! zeno_cuda_last_error.
const std = @import("std");
const builtin = @import("builtin");

pub const Result = c_int;
pub const Device = c_int;
pub const Context = ?*anyopaque;
pub const Module = ?*anyopaque;
pub const Function = ?*anyopaque;
pub const Stream = ?*anyopaque;
pub const DevicePtr = u64;

pub const success: Result = 0;
pub const error_out_of_memory: Result = 2;

/// CUdevice_attribute values used here.
pub const Attribute = enum(c_int) {
    max_threads_per_block = 1,
    max_shared_memory_per_block = 8,
    clock_rate = 13,
    multiprocessor_count = 16,
    l2_cache_size = 38,
    compute_capability_major = 75,
    compute_capability_minor = 76,
};

/// The entry points, resolved by these exact names.
pub const Api = struct {
    cuInit: *const fn (c_uint) callconv(.c) Result,
    cuDeviceGetCount: *const fn (*c_int) callconv(.c) Result,
    cuDeviceGet: *const fn (*Device, c_int) callconv(.c) Result,
    cuDeviceGetName: *const fn ([*]u8, c_int, Device) callconv(.c) Result,
    cuDeviceGetAttribute: *const fn (*c_int, c_int, Device) callconv(.c) Result,
    cuDeviceTotalMem_v2: *const fn (*usize, Device) callconv(.c) Result,
    cuDevicePrimaryCtxRetain: *const fn (*Context, Device) callconv(.c) Result,
    cuCtxSetCurrent: *const fn (Context) callconv(.c) Result,
    cuCtxSynchronize: *const fn () callconv(.c) Result,
    cuMemAlloc_v2: *const fn (*DevicePtr, usize) callconv(.c) Result,
    cuMemFree_v2: *const fn (DevicePtr) callconv(.c) Result,
    cuMemGetInfo_v2: *const fn (*usize, *usize) callconv(.c) Result,
    cuMemcpyHtoD_v2: *const fn (DevicePtr, *const anyopaque, usize) callconv(.c) Result,
    cuMemcpyDtoH_v2: *const fn (*anyopaque, DevicePtr, usize) callconv(.c) Result,
    cuMemcpyDtoDAsync_v2: *const fn (DevicePtr, DevicePtr, usize, Stream) callconv(.c) Result,
    cuMemsetD8Async: *const fn (DevicePtr, u8, usize, Stream) callconv(.c) Result,
    cuStreamCreate: *const fn (*Stream, c_uint) callconv(.c) Result,
    cuStreamSynchronize: *const fn (Stream) callconv(.c) Result,
    cuModuleLoadData: *const fn (*Module, *const anyopaque) callconv(.c) Result,
    cuModuleGetFunction: *const fn (*Function, Module, [*:0]const u8) callconv(.c) Result,
    cuLaunchKernel: *const fn (Function, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, Stream, ?[*]?*anyopaque, ?[*]?*anyopaque) callconv(.c) Result,
    cuGetErrorName: *const fn (Result, *?[*:0]const u8) callconv(.c) Result,
    cuGetErrorString: *const fn (Result, *?[*:0]const u8) callconv(.c) Result,
};

/// Whether this build can look for a driver at all.
pub const supported = builtin.os.tag == .linux and builtin.link_libc;

var api_storage: Api = undefined;
var state: enum(u8) { untried, missing, loaded } = .untried;

/// The driver's entry points, or null when there is no usable driver.
pub fn open() ?*const Api {
    switch (state) {
        .loaded => return &api_storage,
        .missing => return null,
        .untried => {},
    }
    state = .missing;
    if (comptime !supported) {
        setMessage("no CUDA driver on this platform", .{});
        return null;
    }
    var lib = std.DynLib.open("libcuda.so.1") catch {
        setMessage("libcuda.so.1 could not be opened (no NVIDIA driver)", .{});
        return null;
    };
    if (!resolve(Api, &lib, &api_storage)) {
        lib.close();
        return null;
    }
    state = .loaded;
    return &api_storage;
}

/// Fills every field of `out` by name; false (with a message) if one is missing.
pub fn resolve(comptime T: type, lib: anytype, out: *T) bool {
    const info = @typeInfo(T).@"struct";
    inline for (info.field_names, info.field_types) |name, F| {
        const p = lib.lookup(F, name) orelse {
            setMessage("symbol {s} missing from the library", .{name});
            return false;
        };
        @field(out, name) = p;
    }
    return true;
}

// ---------------------------------------------------------------- messages

// Per thread: a Worker reads the message of its own failed call.
threadlocal var message_buf: [512]u8 = undefined;
threadlocal var message_len: usize = 0;

pub fn setMessage(comptime fmt: []const u8, args: anytype) void {
    const s = std.fmt.bufPrint(&message_buf, fmt, args) catch message_buf[0..];
    message_len = s.len;
}

pub fn message() []const u8 {
    return message_buf[0..message_len];
}

/// Records a failed driver call; returns the result unchanged.
pub fn record(api: *const Api, call: []const u8, r: Result) Result {
    if (r == success) return r;
    var name: ?[*:0]const u8 = null;
    var desc: ?[*:0]const u8 = null;
    _ = api.cuGetErrorName(r, &name);
    _ = api.cuGetErrorString(r, &desc);
    const n: []const u8 = if (name) |p| std.mem.span(p) else "CUDA_ERROR_UNKNOWN";
    const d: []const u8 = if (desc) |p| std.mem.span(p) else "unknown error";
    setMessage("{s}: {s}: {s} ({d})", .{ call, n, d, r });
    return r;
}

test "without a driver the message says so" {
    setMessage("{s}: {d}", .{ "x", 1 });
    try std.testing.expectEqualStrings("x: 1", message());
}
