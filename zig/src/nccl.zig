//! NCCL (libnccl.so.2), opened at run time with dlopen as libcuda and libmpi
//! are, so that the library loads where NCCL is not installed; only
//! `zn.distributed` with the "nccl" backend needs it. NCCL's communicators
//! live in a small table here; their collectives are queued on the CUDA
//! backend's stream of the current device (zig/src/cuda/api.zig), after the
//! kernels queued before them and before the ones queued after, so a
//! collective needs no synchronisation of its own with Zeno's kernels.
//!
//! The unique id that every rank passes to ncclCommInitRank comes from rank
//! 0 (ncclGetUniqueId) and reaches the others over MPI or the TCP rendezvous
//! (rendezvous.zig); the TypeScript side picks which.
const std = @import("std");
const Message = @import("message.zig").Message;
const builtin = @import("builtin");
const assert = std.debug.assert;

pub const supported = builtin.os.tag == .linux and builtin.link_libc;

pub const Error = error{ Unavailable, InvalidArgument, NcclFailed };

/// ncclUniqueId: passed by value to ncclCommInitRank.
pub const UniqueId = extern struct { internal: [128]u8 };
const Comm = ?*anyopaque;
const Stream = ?*anyopaque;
const Result = c_int;

comptime {
    assert(@sizeOf(UniqueId) == 128);
}

/// The entry points used, resolved by name.
const Api = struct {
    ncclGetVersion: *const fn (*c_int) callconv(.c) Result,
    ncclGetUniqueId: *const fn (*UniqueId) callconv(.c) Result,
    ncclCommInitRank: *const fn (*Comm, c_int, UniqueId, c_int) callconv(.c) Result,
    ncclCommDestroy: *const fn (Comm) callconv(.c) Result,
    ncclCommAbort: *const fn (Comm) callconv(.c) Result,
    ncclAllReduce: *const fn (u64, u64, usize, c_int, c_int, Comm, Stream) callconv(.c) Result,
    ncclBroadcast: *const fn (u64, u64, usize, c_int, c_int, Comm, Stream) callconv(.c) Result,
    ncclAllGather: *const fn (u64, u64, usize, c_int, Comm, Stream) callconv(.c) Result,
    ncclReduceScatter: *const fn (u64, u64, usize, c_int, c_int, Comm, Stream) callconv(.c) Result,
    ncclSend: *const fn (u64, usize, c_int, c_int, Comm, Stream) callconv(.c) Result,
    ncclRecv: *const fn (u64, usize, c_int, c_int, Comm, Stream) callconv(.c) Result,
    ncclGroupStart: *const fn () callconv(.c) Result,
    ncclGroupEnd: *const fn () callconv(.c) Result,
    ncclGetErrorString: *const fn (Result) callconv(.c) [*:0]const u8,
    ncclGetLastError: *const fn (Comm) callconv(.c) [*:0]const u8,
};

var api: Api = undefined;
var opened = false;
var version: c_int = 0;

/// NCCL's element types, as ncclDataType_t numbers them (the TypeScript side
/// sends these numbers).
pub const DType = enum(c_int) { int8 = 0, uint8 = 1, int32 = 2, int64 = 4, float16 = 6, float32 = 7, float64 = 8, bfloat16 = 9 };
/// ncclRedOp_t (avg: NCCL 2.10 and later).
pub const Op = enum(c_int) { sum = 0, product = 1, max = 2, min = 3, avg = 4 };

// ---------------------------------------------------------------- messages

var last: Message = .{};

fn setMessage(comptime fmt: []const u8, args: anytype) void {
    last.set(fmt, args);
}

/// Sets the message of a call made without a CUDA device current on this thread.
pub fn noDevice() void {
    setMessage("the nccl backend needs a CUDA device; none is selected on this thread", .{});
}

/// The message of the last failed call.
pub fn message() *const Message {
    return &last;
}

fn check(call: []const u8, comm: Comm, r: Result) Error!void {
    if (r == 0) return;
    const detail = std.mem.span(api.ncclGetLastError(comm));
    setMessage("{s} failed: {s}{s}{s}", .{ call, api.ncclGetErrorString(r), if (detail.len > 0) ": " else "", detail });
    return error.NcclFailed;
}

// ---------------------------------------------------------------- library

/// Opens libnccl at `path` (once per process; later calls keep the first)
/// and returns NCCL's version code (2.32.6: 23206).
pub fn open(path: []const u8) Error!i32 {
    if (opened) return version;
    if (comptime !supported) {
        setMessage("NCCL is not supported on this platform", .{});
        return error.Unavailable;
    }
    var lib = std.DynLib.open(path) catch |e| {
        setMessage("{s} could not be opened ({s})", .{ path, @errorName(e) });
        return error.Unavailable;
    };
    const info = @typeInfo(Api).@"struct";
    inline for (info.field_names, info.field_types) |name, F| {
        @field(api, name) = lib.lookup(F, name) orelse {
            setMessage("symbol {s} missing from {s} (zeno needs NCCL 2.10 or later)", .{ name, path });
            lib.close();
            return error.Unavailable;
        };
    }
    // Stays open for the life of the process: NCCL keeps threads in it.
    try check("ncclGetVersion", null, api.ncclGetVersion(&version));
    if (version < 21000) {
        setMessage("{s} is NCCL {d}; zeno needs 2.10 or later (ncclAvg)", .{ path, version });
        return error.Unavailable;
    }
    opened = true;
    return version;
}

fn ready() Error!void {
    if (!opened) {
        setMessage("NCCL is not loaded", .{});
        return error.Unavailable;
    }
}

/// A new unique id (rank 0 makes it; every rank of the job passes it to init).
pub fn uniqueId(out: *UniqueId) Error!void {
    try ready();
    try check("ncclGetUniqueId", null, api.ncclGetUniqueId(out));
}

// ---------------------------------------------------------------- communicators

/// Communicators by id; null where free.
pub const max_comms = 64;
var comms: [max_comms]Comm = @splat(null);

fn commOf(op: []const u8, id: i32) Error!Comm {
    if (id >= 0 and id < max_comms) {
        if (comms[@intCast(id)]) |c| return c;
    }
    setMessage("{s}: no NCCL communicator with id {d} on this rank", .{ op, id });
    return error.InvalidArgument;
}

/// Joins the communicator of `size` ranks that `uid` names, as `rank`, on
/// the CUDA device current on this thread. Returns its id.
pub fn init(uid: *const UniqueId, size: i32, rank: i32) Error!i32 {
    try ready();
    if (size < 1 or rank < 0 or rank >= size) {
        setMessage("ncclCommInitRank: rank {d} of {d}", .{ rank, size });
        return error.InvalidArgument;
    }
    const slot = for (comms, 0..) |c, i| {
        if (c == null) break i;
    } else {
        setMessage("at most {d} NCCL communicators at once", .{max_comms});
        return error.InvalidArgument;
    };
    var comm: Comm = null;
    try check("ncclCommInitRank", null, api.ncclCommInitRank(&comm, size, uid.*, rank));
    comms[slot] = comm;
    return @intCast(slot);
}

/// Destroys communicator `id` (after the work queued on it).
pub fn destroy(id: i32) Error!void {
    try ready();
    const comm = try commOf("destroyProcessGroup", id);
    comms[@intCast(id)] = null;
    try check("ncclCommDestroy", null, api.ncclCommDestroy(comm));
}

// ---------------------------------------------------------------- collectives
// Device addresses are u64; counts are elements of `dtype` (bytes for the
// byte-moving collectives, which travel as uint8).

fn enumOf(comptime E: type, comptime what: []const u8, v: i32) Error!E {
    return std.enums.fromInt(E, v) orelse {
        setMessage("NCCL: bad " ++ what ++ " {d}", .{v});
        return error.InvalidArgument;
    };
}

pub fn allReduce(id: i32, buf: u64, count: usize, dtype: i32, op: i32, stream: Stream) Error!void {
    try ready();
    const comm = try commOf("allReduce", id);
    const d = try enumOf(DType, "dtype", dtype);
    const o = try enumOf(Op, "op", op);
    try check("ncclAllReduce", comm, api.ncclAllReduce(buf, buf, count, @backingInt(d), @backingInt(o), comm, stream));
}

pub fn broadcast(id: i32, buf: u64, bytes: usize, root: i32, stream: Stream) Error!void {
    try ready();
    const comm = try commOf("broadcast", id);
    try check("ncclBroadcast", comm, api.ncclBroadcast(buf, buf, bytes, @backingInt(DType.uint8), root, comm, stream));
}

/// recv: size * bytes, rank r's at r * bytes.
pub fn allGather(id: i32, send: u64, recv: u64, bytes: usize, stream: Stream) Error!void {
    try ready();
    const comm = try commOf("allGather", id);
    try check("ncclAllGather", comm, api.ncclAllGather(send, recv, bytes, @backingInt(DType.uint8), comm, stream));
}

/// send: size * count elements; recv: count.
pub fn reduceScatter(id: i32, send: u64, recv: u64, count: usize, dtype: i32, op: i32, stream: Stream) Error!void {
    try ready();
    const comm = try commOf("reduceScatter", id);
    const d = try enumOf(DType, "dtype", dtype);
    const o = try enumOf(Op, "op", op);
    try check("ncclReduceScatter", comm, api.ncclReduceScatter(send, recv, count, @backingInt(d), @backingInt(o), comm, stream));
}

/// gather (to_root) or scatter: the root sends or receives `bytes` to or from
/// every rank (its own block by a send to itself), as one NCCL group.
/// `all`: the root's size * bytes (0 elsewhere); `mine`: this rank's bytes.
pub fn rooted(id: i32, to_root: bool, mine: u64, all: u64, bytes: usize, root: i32, rank: i32, size: i32, stream: Stream) Error!void {
    try ready();
    const comm = try commOf(if (to_root) "gather" else "scatter", id);
    assert(size >= 1 and rank >= 0 and rank < size and root >= 0 and root < size);
    const u8t = @backingInt(DType.uint8);
    try check("ncclGroupStart", comm, api.ncclGroupStart());
    var failed: ?Error = null;
    if (rank == root) {
        for (0..@intCast(size)) |r| {
            const block = all + r * bytes;
            const res = if (to_root) api.ncclRecv(block, bytes, u8t, @intCast(r), comm, stream) else api.ncclSend(block, bytes, u8t, @intCast(r), comm, stream);
            check(if (to_root) "ncclRecv" else "ncclSend", comm, res) catch |e| {
                failed = e;
                break;
            };
        }
    }
    if (failed == null) {
        const res = if (to_root) api.ncclSend(mine, bytes, u8t, root, comm, stream) else api.ncclRecv(mine, bytes, u8t, root, comm, stream);
        check(if (to_root) "ncclSend" else "ncclRecv", comm, res) catch |e| {
            failed = e;
        };
    }
    // The group ends even after a failed call, so NCCL's group state is clean.
    const end = api.ncclGroupEnd();
    if (failed) |e| return e;
    try check("ncclGroupEnd", comm, end);
}

test "NCCL calls before the library is loaded fail with a message" {
    var uid: UniqueId = undefined;
    try std.testing.expectError(error.Unavailable, uniqueId(&uid));
    try std.testing.expectEqualStrings("NCCL is not loaded", message().text());
    try std.testing.expectError(error.Unavailable, allReduce(0, 0, 1, 7, 0, null));
    try std.testing.expectError(error.Unavailable, open("/nonexistent/libnccl.so.2"));
    try std.testing.expect(std.mem.indexOf(u8, message().text(), "/nonexistent/libnccl.so.2 could not be opened") != null);
}
