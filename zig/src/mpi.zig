//! MPI (Open MPI's libmpi.so.40), opened at run time with dlopen, so that
//! the library loads and runs where no MPI is installed; only
//! `zn.distributed` with the "mpi" backend needs it.
//!
//! Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...)
//! are the addresses of global objects in libmpi (`&ompi_mpi_comm_world`),
//! which is why this lives in Zig: a symbol's address is what dlsym returns,
//! where Deno's FFI statics read the value stored at it.
//!
//! Collectives run on a communicator from a small table: entry 0 is every
//! rank (MPI_COMM_WORLD), later entries are sub-groups made by newGroup. They
//! work in place where MPI allows it. Counts are C ints in MPI; longer
//! buffers go in chunks that each fit one.
const std = @import("std");
const Message = @import("message.zig").Message;
const builtin = @import("builtin");
const assert = std.debug.assert;
const pool = @import("pool.zig");

pub const supported = builtin.os.tag == .linux and builtin.link_libc;

const Handle = ?*anyopaque;

/// The entry points used, resolved by name.
const Api = struct {
    MPI_Initialized: *const fn (*c_int) callconv(.c) c_int,
    MPI_Finalized: *const fn (*c_int) callconv(.c) c_int,
    MPI_Init_thread: *const fn (?*c_int, ?*anyopaque, c_int, *c_int) callconv(.c) c_int,
    MPI_Finalize: *const fn () callconv(.c) c_int,
    MPI_Comm_rank: *const fn (Handle, *c_int) callconv(.c) c_int,
    MPI_Comm_size: *const fn (Handle, *c_int) callconv(.c) c_int,
    MPI_Barrier: *const fn (Handle) callconv(.c) c_int,
    MPI_Bcast: *const fn (?*anyopaque, c_int, Handle, c_int, Handle) callconv(.c) c_int,
    MPI_Allreduce: *const fn (?*const anyopaque, ?*anyopaque, c_int, Handle, Handle, Handle) callconv(.c) c_int,
    MPI_Allgather: *const fn (?*const anyopaque, c_int, Handle, ?*anyopaque, c_int, Handle, Handle) callconv(.c) c_int,
    MPI_Reduce_scatter_block: *const fn (?*const anyopaque, ?*anyopaque, c_int, Handle, Handle, Handle) callconv(.c) c_int,
    MPI_Gather: *const fn (?*const anyopaque, c_int, Handle, ?*anyopaque, c_int, Handle, c_int, Handle) callconv(.c) c_int,
    MPI_Scatter: *const fn (?*const anyopaque, c_int, Handle, ?*anyopaque, c_int, Handle, c_int, Handle) callconv(.c) c_int,
    MPI_Abort: *const fn (Handle, c_int) callconv(.c) c_int,
    MPI_Comm_group: *const fn (Handle, *Handle) callconv(.c) c_int,
    MPI_Group_incl: *const fn (Handle, c_int, [*]const c_int, *Handle) callconv(.c) c_int,
    MPI_Group_free: *const fn (*Handle) callconv(.c) c_int,
    MPI_Comm_create: *const fn (Handle, Handle, *Handle) callconv(.c) c_int,
    MPI_Comm_free: *const fn (*Handle) callconv(.c) c_int,
    MPI_Error_string: *const fn (c_int, [*]u8, *c_int) callconv(.c) c_int,
};

/// Predefined objects whose addresses are the handles.
const Objects = struct {
    ompi_mpi_comm_world: Handle,
    ompi_mpi_comm_null: Handle,
    ompi_mpi_byte: Handle,
    ompi_mpi_float: Handle,
    ompi_mpi_double: Handle,
    ompi_mpi_int8_t: Handle,
    ompi_mpi_uint8_t: Handle,
    ompi_mpi_int16_t: Handle,
    ompi_mpi_int32_t: Handle,
    ompi_mpi_int64_t: Handle,
    ompi_mpi_op_sum: Handle,
    ompi_mpi_op_prod: Handle,
    ompi_mpi_op_max: Handle,
    ompi_mpi_op_min: Handle,
};

/// MPI_THREAD_SERIALIZED: calls may come from any thread, one at a time
/// (the TypeScript side queues them).
const thread_serialized: c_int = 2;
/// MPI_IN_PLACE.
const in_place: ?*const anyopaque = @ptrFromInt(1);

var api: Api = undefined;
var obj: Objects = undefined;
var state: enum(u8) { closed, ready, finalized } = .closed;

/// Communicators by id: 0 is every rank (set at init), later ids the groups
/// newGroup made on this rank; null where free. A fixed table: ids cross the
/// FFI boundary as small integers, and a job seldom has more than a few groups.
pub const max_comms = 256;
var comms: [max_comms]Handle = @splat(null);

pub const Error = error{ Unavailable, InvalidArgument, MpiFailed };

/// Element types, as the TypeScript side numbers them.
pub const DType = enum(i32) { float32 = 0, float64 = 1, int8 = 2, uint8 = 3, int16 = 4, int32 = 5, int64 = 6 };
/// Reductions, as the TypeScript side numbers them.
pub const Op = enum(i32) { sum = 0, product = 1, max = 2, min = 3 };

fn typeHandle(d: DType) Handle {
    return switch (d) {
        .float32 => obj.ompi_mpi_float,
        .float64 => obj.ompi_mpi_double,
        .int8 => obj.ompi_mpi_int8_t,
        .uint8 => obj.ompi_mpi_uint8_t,
        .int16 => obj.ompi_mpi_int16_t,
        .int32 => obj.ompi_mpi_int32_t,
        .int64 => obj.ompi_mpi_int64_t,
    };
}

fn typeSize(d: DType) usize {
    return switch (d) {
        .int8, .uint8 => 1,
        .int16 => 2,
        .float32, .int32 => 4,
        .float64, .int64 => 8,
    };
}

fn opHandle(o: Op) Handle {
    return switch (o) {
        .sum => obj.ompi_mpi_op_sum,
        .product => obj.ompi_mpi_op_prod,
        .max => obj.ompi_mpi_op_max,
        .min => obj.ompi_mpi_op_min,
    };
}

// ---------------------------------------------------------------- messages

var last: Message = .{};

fn setMessage(comptime fmt: []const u8, args: anytype) void {
    last.set(fmt, args);
}

/// The message of the last failed call.
pub fn message() *const Message {
    return &last;
}

fn check(call: []const u8, rc: c_int) Error!void {
    if (rc == 0) return;
    var buf: [256]u8 = undefined;
    var len: c_int = 0;
    const text: []const u8 = if (api.MPI_Error_string(rc, &buf, &len) == 0 and len > 0 and len <= buf.len) buf[0..@intCast(len)] else "unknown error";
    setMessage("{s} failed: {s} (error {d})", .{ call, text, rc });
    return error.MpiFailed;
}

fn ready() Error!void {
    if (state != .ready) {
        setMessage("MPI is not initialized", .{});
        return error.Unavailable;
    }
}

// ---------------------------------------------------------------- timeouts
// MPI's collectives wait forever for a rank that never arrives (a rank stuck
// in a loop, or one that skipped a collective). A watchdog thread ends this
// process when one collective has waited past the timeout; mpirun then stops
// the other ranks, so the job ends with the message instead of hanging.

var timeout_ns: u64 = 0;
/// CLOCK_MONOTONIC nanoseconds by which the collective in flight must end (0: none).
var deadline_ns = std.atomic.Value(u64).init(0);
/// The collective in flight, for the watchdog's message.
var in_flight: []const u8 = "";
var watchdog: ?std.Thread = null;

fn nowNs() u64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

fn watch() void {
    while (true) {
        _ = std.c.nanosleep(&.{ .sec = 0, .nsec = 50 * std.time.ns_per_ms }, null);
        const d = deadline_ns.load(.acquire);
        if (d != 0 and nowNs() > d) {
            std.debug.print("zeno: {s} waited longer than the process group's timeout ({d} s); a rank did not reach it. Ending this rank.\n", .{ in_flight, timeout_ns / std.time.ns_per_s });
            std.c._exit(1);
        }
    }
}

/// Sets the timeout of every later collective (0: none), starting the
/// watchdog the first time.
pub fn setTimeout(seconds: f64) Error!void {
    if (!(seconds >= 0 and seconds <= 1e9)) return error.InvalidArgument;
    if (comptime !supported) return;
    timeout_ns = @intFromFloat(seconds * std.time.ns_per_s);
    if (timeout_ns > 0 and watchdog == null) {
        // The watchdog runs this library's code for the life of the process:
        // keep the library loaded when the host closes it (as the pool's workers do).
        pool.pinLibrary();
        watchdog = std.Thread.spawn(.{ .stack_size = 64 << 10 }, watch, .{}) catch {
            setMessage("could not start the collectives' watchdog thread", .{});
            return error.Unavailable;
        };
        watchdog.?.detach();
    }
}

fn begin(name: []const u8) void {
    if (comptime !supported) return;
    if (timeout_ns == 0) return;
    in_flight = name;
    deadline_ns.store(nowNs() + timeout_ns, .release);
}

fn end() void {
    deadline_ns.store(0, .release);
}

// ---------------------------------------------------------------- lifecycle

/// Opens libmpi at `path` and initializes MPI (once per process: MPI cannot
/// start again after MPI_Finalize). Writes the rank and the world size.
pub fn init(path: []const u8, rank: *i32, size: *i32) Error!void {
    switch (state) {
        .ready => {},
        .finalized => {
            setMessage("MPI was finalized in this process and cannot start again", .{});
            return error.Unavailable;
        },
        .closed => {
            if (comptime !supported) {
                setMessage("MPI is not supported on this platform", .{});
                return error.Unavailable;
            }
            var lib = std.DynLib.open(path) catch |e| {
                setMessage("{s} could not be opened ({s})", .{ path, @errorName(e) });
                return error.Unavailable;
            };
            if (!resolve(Api, &lib, &api, true) or !resolve(Objects, &lib, &obj, false)) {
                lib.close();
                return error.Unavailable;
            }
            // The library stays open for the life of the process: MPI keeps
            // threads and handlers in it.
            var initialized: c_int = 0;
            try check("MPI_Initialized", api.MPI_Initialized(&initialized));
            if (initialized == 0) {
                var provided: c_int = 0;
                try check("MPI_Init_thread", api.MPI_Init_thread(null, null, thread_serialized, &provided));
                if (provided < thread_serialized) {
                    setMessage("MPI provides thread level {d}; zeno needs MPI_THREAD_SERIALIZED (2)", .{provided});
                    return error.Unavailable;
                }
            }
            state = .ready;
        },
    }
    var r: c_int = 0;
    var s: c_int = 0;
    comms[0] = obj.ompi_mpi_comm_world;
    try check("MPI_Comm_rank", api.MPI_Comm_rank(obj.ompi_mpi_comm_world, &r));
    try check("MPI_Comm_size", api.MPI_Comm_size(obj.ompi_mpi_comm_world, &s));
    rank.* = r;
    size.* = s;
}

/// Fills every field of `out` by name (functions, or objects' addresses).
fn resolve(comptime T: type, lib: *std.DynLib, out: *T, comptime functions: bool) bool {
    const info = @typeInfo(T).@"struct";
    inline for (info.field_names, info.field_types) |name, F| {
        const p = lib.lookup(if (functions) F else *anyopaque, name) orelse {
            setMessage("symbol {s} missing from the MPI library (zeno needs Open MPI's libmpi.so.40)", .{name});
            return false;
        };
        @field(out, name) = p;
    }
    return true;
}

pub fn finalize() Error!void {
    if (state != .ready) return;
    state = .finalized;
    var done: c_int = 0;
    try check("MPI_Finalized", api.MPI_Finalized(&done));
    if (done == 0) try check("MPI_Finalize", api.MPI_Finalize());
    comms = @splat(null);
}

// ---------------------------------------------------------------- groups

/// The communicator with id `id`, or an error naming `op`.
fn commOf(comptime op: []const u8, id: i32) Error!Handle {
    if (id >= 0 and id < max_comms) {
        if (comms[@intCast(id)]) |c| return c;
    }
    setMessage(op ++ ": no process group with id {d} on this rank (destroyed, or this rank is not in it)", .{id});
    return error.InvalidArgument;
}

/// Makes the group of world ranks `ranks` (distinct, in [0, world size),
/// in the order that numbers them in the group). Every rank of the world
/// calls it, members or not (MPI_Comm_create). Returns the group's id on a
/// member, -1 elsewhere.
pub fn newGroup(ranks: []const i32) Error!i32 {
    try ready();
    assert(ranks.len > 0);
    // A free slot first, before entering the collective: a rank whose table
    // is full fails here (the others then wait in MPI_Comm_create until the
    // timeout ends the job, as with any collective one rank skips).
    var slot: ?usize = null;
    for (comms[1..], 1..) |c, i| {
        if (c == null) {
            slot = i;
            break;
        }
    }
    const id = slot orelse {
        setMessage("newGroup: at most {d} process groups at once; destroy some first", .{max_comms - 1});
        return error.InvalidArgument;
    };
    begin("newGroup");
    defer end();
    var world_group: Handle = null;
    try check("MPI_Comm_group", api.MPI_Comm_group(obj.ompi_mpi_comm_world, &world_group));
    defer _ = api.MPI_Group_free(&world_group);
    var sub: Handle = null;
    try check("MPI_Group_incl", api.MPI_Group_incl(world_group, @intCast(ranks.len), ranks.ptr, &sub));
    defer _ = api.MPI_Group_free(&sub);
    var comm: Handle = null;
    try check("MPI_Comm_create", api.MPI_Comm_create(obj.ompi_mpi_comm_world, sub, &comm));
    if (comm == null or comm == obj.ompi_mpi_comm_null) return -1;
    comms[id] = comm;
    return @intCast(id);
}

/// Frees group `id` (a collective over its members; id 0, the world, stays).
pub fn freeGroup(id: i32) Error!void {
    try ready();
    if (id == 0) {
        setMessage("destroyProcessGroup: the default group ends with MPI itself", .{});
        return error.InvalidArgument;
    }
    _ = try commOf("destroyProcessGroup", id);
    begin("destroyProcessGroup");
    defer end();
    const i: usize = @intCast(id);
    var c = comms[i];
    comms[i] = null;
    try check("MPI_Comm_free", api.MPI_Comm_free(&c));
}

pub fn abort(code: i32) Error!void {
    try ready();
    try check("MPI_Abort", api.MPI_Abort(obj.ompi_mpi_comm_world, code));
}

// ---------------------------------------------------------------- collectives

/// Largest count one MPI call takes (a C int).
const max_count: usize = std.math.maxInt(c_int);

pub fn barrier(group: i32) Error!void {
    try ready();
    const comm = try commOf("barrier", group);
    begin("barrier");
    defer end();
    try check("MPI_Barrier", api.MPI_Barrier(comm));
}

/// buf: count elements of `dtype`, reduced over all ranks in place.
pub fn allReduce(group: i32, buf: [*]u8, count: usize, dtype: DType, op: Op) Error!void {
    try ready();
    const comm = try commOf("allReduce", group);
    begin("allReduce");
    defer end();
    const size = typeSize(dtype);
    var done: usize = 0;
    while (done < count) {
        const n = @min(max_count, count - done);
        try check("MPI_Allreduce", api.MPI_Allreduce(in_place, buf + done * size, @intCast(n), typeHandle(dtype), opHandle(op), comm));
        done += n;
    }
}

/// buf: bytes bytes, rank root's copied to every rank.
pub fn broadcast(group: i32, buf: [*]u8, bytes: usize, root: i32) Error!void {
    try ready();
    const comm = try commOf("broadcast", group);
    begin("broadcast");
    defer end();
    var done: usize = 0;
    while (done < bytes) {
        const n = @min(max_count, bytes - done);
        try check("MPI_Bcast", api.MPI_Bcast(buf + done, @intCast(n), obj.ompi_mpi_byte, root, comm));
        done += n;
    }
}

/// Collectives whose per-rank blocks are one MPI count each: at most a C int.
fn fitsOneCall(comptime name: []const u8, n: usize, comptime unit: []const u8) Error!void {
    if (n <= max_count) return;
    setMessage(name ++ " of {d} " ++ unit ++ " per rank: at most {d}", .{ n, max_count });
    return error.InvalidArgument;
}

/// send: bytes bytes from each rank; recv: size * bytes, rank r's at r * bytes.
pub fn allGather(group: i32, send: [*]const u8, recv: [*]u8, bytes: usize) Error!void {
    try ready();
    const comm = try commOf("allGather", group);
    try fitsOneCall("allGather", bytes, "bytes");
    begin("allGather");
    defer end();
    try check("MPI_Allgather", api.MPI_Allgather(send, @intCast(bytes), obj.ompi_mpi_byte, recv, @intCast(bytes), obj.ompi_mpi_byte, comm));
}

/// send: size * count elements of dtype; recv: count, the op over every
/// rank's block `rank` of send.
pub fn reduceScatter(group: i32, send: [*]const u8, recv: [*]u8, count: usize, dtype: DType, op: Op) Error!void {
    try ready();
    const comm = try commOf("reduceScatter", group);
    try fitsOneCall("reduceScatter", count, "elements");
    begin("reduceScatter");
    defer end();
    try check("MPI_Reduce_scatter_block", api.MPI_Reduce_scatter_block(send, recv, @intCast(count), typeHandle(dtype), opHandle(op), comm));
}

/// send: bytes from each rank; recv (root only, size * bytes): rank r's at r * bytes.
pub fn gather(group: i32, send: [*]const u8, recv: ?[*]u8, bytes: usize, root: i32) Error!void {
    try ready();
    const comm = try commOf("gather", group);
    try fitsOneCall("gather", bytes, "bytes");
    begin("gather");
    defer end();
    try check("MPI_Gather", api.MPI_Gather(send, @intCast(bytes), obj.ompi_mpi_byte, recv, @intCast(bytes), obj.ompi_mpi_byte, root, comm));
}

/// send (root only, size * bytes): block r goes to rank r's recv (bytes).
pub fn scatter(group: i32, send: ?[*]const u8, recv: [*]u8, bytes: usize, root: i32) Error!void {
    try ready();
    const comm = try commOf("scatter", group);
    try fitsOneCall("scatter", bytes, "bytes");
    begin("scatter");
    defer end();
    try check("MPI_Scatter", api.MPI_Scatter(send, @intCast(bytes), obj.ompi_mpi_byte, recv, @intCast(bytes), obj.ompi_mpi_byte, root, comm));
}

test "collectives before init fail with a message instead of calling into a missing library" {
    try std.testing.expectError(error.Unavailable, barrier(0));
    try std.testing.expectEqualStrings("MPI is not initialized", message().text());
    var buf: [4]u8 = undefined;
    try std.testing.expectError(error.Unavailable, allReduce(0, &buf, 1, .float32, .sum));
    var r: i32 = -1;
    var s: i32 = -1;
    try std.testing.expectError(error.Unavailable, init("/nonexistent/libmpi.so.40", &r, &s));
    try std.testing.expect(std.mem.indexOf(u8, message().text(), "could not be opened") != null);
    try std.testing.expectEqual(@as(i32, -1), r);
}

test "a collective on a group id this rank does not hold fails with a message" {
    state = .ready;
    defer state = .closed;
    var buf: [4]u8 = undefined;
    try std.testing.expectError(error.InvalidArgument, allReduce(7, &buf, 1, .float32, .sum));
    try std.testing.expect(std.mem.indexOf(u8, message().text(), "no process group with id 7") != null);
    try std.testing.expectError(error.InvalidArgument, barrier(-1));
    try std.testing.expectError(error.InvalidArgument, broadcast(max_comms, &buf, 4, 0));
    try std.testing.expectError(error.InvalidArgument, freeGroup(0));
}

test "the collectives' timeout takes seconds from 0 (none) and refuses the rest" {
    try setTimeout(0);
    try std.testing.expectEqual(@as(u64, 0), timeout_ns);
    try std.testing.expectError(error.InvalidArgument, setTimeout(-1));
    try std.testing.expectError(error.InvalidArgument, setTimeout(std.math.nan(f64)));
    // No collective in flight: begin/end are no-ops without a timeout.
    begin("barrier");
    try std.testing.expectEqual(@as(u64, 0), deadline_ns.load(.acquire));
    timeout_ns = std.time.ns_per_s;
    begin("barrier");
    try std.testing.expect(deadline_ns.load(.acquire) > nowNs());
    end();
    try std.testing.expectEqual(@as(u64, 0), deadline_ns.load(.acquire));
    timeout_ns = 0;
}
