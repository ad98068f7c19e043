//! A one-shot TCP rendezvous, as torchrun's store serves NCCL: rank 0
//! listens on MASTER_PORT, every other rank connects to MASTER_ADDR, and once
//! all of them have arrived rank 0 hands each its payload (NCCL's 128-byte
//! unique id). It is also a barrier: no rank returns before every rank of the
//! job has reached it. Blocking calls with a deadline, so that
//! `initProcessGroup` stays synchronous as PyTorch's is and a rank that never
//! arrives ends the others with a message instead of a hang.
//!
//! Wire format (little-endian):
//!   client -> rank 0: magic "ZNRV", version 1, rank, world size (4 x u32)
//!   rank 0 -> client: status (u32: 0 ok, 1 refused), payload length (u32), payload
const std = @import("std");
const Message = @import("message.zig").Message;
const builtin = @import("builtin");
const assert = std.debug.assert;

pub const supported = builtin.os.tag == .linux and builtin.link_libc;

pub const Error = error{ Unavailable, InvalidArgument, Failed, TimedOut };

const magic: u32 = 0x56524e5a; // "ZNRV"
const version: u32 = 1;
/// The largest payload handed out (NCCL's id is 128 bytes).
pub const max_payload = 4096;
/// Ranks a rendezvous takes (one connection each on rank 0).
pub const max_ranks = 65536;

// The few libc calls, declared here with plain C types (std.c's socket
// declarations differ between platforms; this file only runs on Linux).
const c = struct {
    extern "c" fn socket(domain: c_int, kind: c_int, protocol: c_int) c_int;
    extern "c" fn bind(fd: c_int, addr: *const anyopaque, len: u32) c_int;
    extern "c" fn listen(fd: c_int, backlog: c_int) c_int;
    extern "c" fn accept(fd: c_int, addr: ?*anyopaque, len: ?*u32) c_int;
    extern "c" fn connect(fd: c_int, addr: *const anyopaque, len: u32) c_int;
    extern "c" fn send(fd: c_int, buf: *const anyopaque, len: usize, flags: c_int) isize;
    extern "c" fn recv(fd: c_int, buf: *anyopaque, len: usize, flags: c_int) isize;
    extern "c" fn close(fd: c_int) c_int;
    extern "c" fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const anyopaque, len: u32) c_int;
    extern "c" fn poll(fds: [*]PollFd, n: c_ulong, timeout_ms: c_int) c_int;
    extern "c" fn getaddrinfo(node: [*:0]const u8, service: [*:0]const u8, hints: *const AddrInfo, res: *?*AddrInfo) c_int;
    extern "c" fn freeaddrinfo(res: *AddrInfo) void;
    extern "c" fn gai_strerror(code: c_int) [*:0]const u8;
    extern "c" fn __errno_location() *c_int;
    extern "c" fn strerror(code: c_int) [*:0]const u8;
};

/// glibc's struct addrinfo on Linux (ai_addr before ai_canonname).
const AddrInfo = extern struct {
    flags: c_int = 0,
    family: c_int = 0,
    socktype: c_int = 0,
    protocol: c_int = 0,
    addrlen: u32 = 0,
    addr: ?*anyopaque = null,
    canonname: ?[*:0]u8 = null,
    next: ?*AddrInfo = null,
};

/// struct sockaddr_in6, which an IPv6 wildcard listener binds (it takes IPv4 too).
const SockAddrIn6 = extern struct {
    family: u16,
    port: u16,
    flowinfo: u32 = 0,
    addr: [16]u8 = @splat(0),
    scope_id: u32 = 0,
};

/// struct sockaddr_in.
const SockAddrIn = extern struct {
    family: u16,
    port: u16,
    addr: u32 = 0,
    zero: [8]u8 = @splat(0),
};

const PollFd = extern struct { fd: c_int, events: i16, revents: i16 = 0 };

comptime {
    assert(@sizeOf(AddrInfo) == 48 or @sizeOf(usize) != 8);
    assert(@sizeOf(SockAddrIn6) == 28);
    assert(@sizeOf(SockAddrIn) == 16);
    assert(@sizeOf(PollFd) == 8);
}

const AF_INET: c_int = 2;
const AF_INET6: c_int = 10;
const SOCK_STREAM: c_int = 1;
const SOCK_CLOEXEC: c_int = 0o2000000;
const SOL_SOCKET: c_int = 1;
const SO_REUSEADDR: c_int = 2;
const IPPROTO_TCP: c_int = 6;
const IPPROTO_IPV6: c_int = 41;
const IPV6_V6ONLY: c_int = 26;
const TCP_NODELAY: c_int = 1;
const POLLIN: i16 = 1;
const POLLOUT: i16 = 4;
const MSG_NOSIGNAL: c_int = 0x4000;
const EINTR: c_int = 4;

// ---------------------------------------------------------------- messages

var last: Message = .{};

fn setMessage(comptime fmt: []const u8, args: anytype) void {
    last.set(fmt, args);
}

/// The message of the last failed call.
pub fn message() *const Message {
    return &last;
}

fn errnoText() [*:0]const u8 {
    return c.strerror(c.__errno_location().*);
}

// ---------------------------------------------------------------- clock

fn nowMs() u64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * 1000 + @as(u64, @intCast(ts.nsec)) / std.time.ns_per_ms;
}

/// Milliseconds left before `deadline`, at least 0.
fn left(deadline: u64) c_int {
    const now = nowMs();
    return if (now >= deadline) 0 else @intCast(@min(deadline - now, std.math.maxInt(c_int)));
}

/// Waits until `fd` is ready for `events`; false on timeout.
fn waitFor(fd: c_int, events: i16, deadline: u64) bool {
    while (true) {
        var p = [1]PollFd{.{ .fd = fd, .events = events }};
        const r = c.poll(&p, 1, left(deadline));
        if (r > 0) return true;
        if (r == 0) return false;
        if (c.__errno_location().* != EINTR) return false;
    }
}

fn sendAll(fd: c_int, bytes: []const u8, deadline: u64) bool {
    var done: usize = 0;
    while (done < bytes.len) {
        if (!waitFor(fd, POLLOUT, deadline)) return false;
        const n = c.send(fd, bytes.ptr + done, bytes.len - done, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 and c.__errno_location().* == EINTR) continue;
            return false;
        }
        done += @intCast(n);
    }
    return true;
}

fn recvAll(fd: c_int, bytes: []u8, deadline: u64) bool {
    var done: usize = 0;
    while (done < bytes.len) {
        if (!waitFor(fd, POLLIN, deadline)) return false;
        const n = c.recv(fd, bytes.ptr + done, bytes.len - done, 0);
        if (n <= 0) {
            if (n < 0 and c.__errno_location().* == EINTR) continue;
            return false;
        }
        done += @intCast(n);
    }
    return true;
}

fn words(comptime n: usize, bytes: *const [4 * n]u8) [n]u32 {
    var out: [n]u32 = undefined;
    for (&out, 0..) |*w, i| w.* = std.mem.readInt(u32, bytes[4 * i ..][0..4], .little);
    return out;
}

fn putWords(comptime n: usize, ws: [n]u32) [4 * n]u8 {
    var out: [4 * n]u8 = undefined;
    for (ws, 0..) |w, i| std.mem.writeInt(u32, out[4 * i ..][0..4], w, .little);
    return out;
}

// ---------------------------------------------------------------- rendezvous

/// Every rank of a job of `size` calls it once with the same host and port.
/// Rank 0 listens on `port` (all interfaces) and, once the other ranks have
/// connected, sends them `payload`; on every other rank `payload` receives
/// rank 0's. Fails with a message after `timeout_ms` if a rank is missing.
pub fn exchange(host: [:0]const u8, port: u16, rank: u32, size: u32, payload: []u8, timeout_ms: u64) Error!void {
    if (size == 0 or size > max_ranks or rank >= size or payload.len > max_payload or port == 0) {
        setMessage("rendezvous: rank {d} of {d} on port {d} with {d} bytes: out of range", .{ rank, size, port, payload.len });
        return error.InvalidArgument;
    }
    if (comptime !supported) {
        setMessage("rendezvous: not supported on this platform", .{});
        return error.Unavailable;
    }
    const deadline = nowMs() + timeout_ms;
    if (size == 1) return;
    if (rank == 0) return serve(port, size, payload, deadline, timeout_ms);
    return join(host, port, rank, size, payload, deadline, timeout_ms);
}

fn listenOn(port: u16) Error!c_int {
    // An IPv6 wildcard socket with V6ONLY off takes IPv4 peers too; where
    // IPv6 is off, an IPv4 one.
    var fd = c.socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const one: c_int = 1;
    const zero: c_int = 0;
    if (fd >= 0) {
        _ = c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, @sizeOf(c_int));
        _ = c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, @sizeOf(c_int));
        const a = SockAddrIn6{ .family = AF_INET6, .port = std.mem.nativeToBig(u16, port) };
        if (c.bind(fd, &a, @sizeOf(SockAddrIn6)) == 0 and c.listen(fd, 1024) == 0) return fd;
        _ = c.close(fd);
    }
    fd = c.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        setMessage("rendezvous: socket failed: {s}", .{errnoText()});
        return error.Failed;
    }
    _ = c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, @sizeOf(c_int));
    const a = SockAddrIn{ .family = AF_INET, .port = std.mem.nativeToBig(u16, port) };
    if (c.bind(fd, &a, @sizeOf(SockAddrIn)) != 0 or c.listen(fd, 1024) != 0) {
        setMessage("rendezvous: rank 0 cannot listen on port {d}: {s}", .{ port, errnoText() });
        _ = c.close(fd);
        return error.Failed;
    }
    return fd;
}

fn serve(port: u16, size: u32, payload: []const u8, deadline: u64, timeout_ms: u64) Error!void {
    const lfd = try listenOn(port);
    defer _ = c.close(lfd);
    const alloc = std.heap.c_allocator;
    // The connection of each rank (index rank - 1), -1 until it arrives.
    const peers = alloc.alloc(c_int, size - 1) catch {
        setMessage("rendezvous: out of memory for {d} ranks", .{size});
        return error.Failed;
    };
    defer alloc.free(peers);
    @memset(peers, -1);
    defer for (peers) |p| {
        if (p >= 0) _ = c.close(p);
    };
    var arrived: u32 = 0;
    while (arrived < size - 1) {
        if (!waitFor(lfd, POLLIN, deadline)) {
            setMessage("rendezvous: rank 0 waited {d} s on port {d} and {d} of the other {d} ranks arrived", .{ timeout_ms / 1000, port, arrived, size - 1 });
            return error.TimedOut;
        }
        const fd = c.accept(lfd, null, null);
        if (fd < 0) continue;
        var hello: [16]u8 = undefined;
        const w = if (recvAll(fd, &hello, deadline)) words(4, &hello) else [4]u32{ 0, 0, 0, 0 };
        // A stray connection (a port scan, another program) is dropped, not fatal.
        if (w[0] != magic or w[1] != version) {
            _ = c.close(fd);
            continue;
        }
        const r = w[2];
        if (w[3] != size or r == 0 or r >= size or peers[r - 1] >= 0) {
            _ = sendAll(fd, &putWords(2, .{ 1, 0 }), deadline);
            _ = c.close(fd);
            setMessage("rendezvous: a rank announced rank {d} of {d}; rank 0 expects ranks 1 to {d} of {d}, each once", .{ r, w[3], size - 1, size });
            return error.Failed;
        }
        const nodelay: c_int = 1;
        _ = c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, @sizeOf(c_int));
        peers[r - 1] = fd;
        arrived += 1;
    }
    const head = putWords(2, .{ 0, @intCast(payload.len) });
    for (peers, 1..) |fd, r| {
        if (!sendAll(fd, &head, deadline) or !sendAll(fd, payload, deadline)) {
            setMessage("rendezvous: rank 0 could not send to rank {d}", .{r});
            return error.Failed;
        }
    }
}

fn join(host: [:0]const u8, port: u16, rank: u32, size: u32, payload: []u8, deadline: u64, timeout_ms: u64) Error!void {
    var service: [8:0]u8 = @splat(0);
    _ = std.fmt.bufPrint(&service, "{d}", .{port}) catch unreachable;
    const hints = AddrInfo{ .socktype = SOCK_STREAM };
    var list: ?*AddrInfo = null;
    const g = c.getaddrinfo(host.ptr, &service, &hints, &list);
    if (g != 0 or list == null) {
        setMessage("rendezvous: cannot resolve {s}: {s}", .{ host, c.gai_strerror(g) });
        return error.Failed;
    }
    defer c.freeaddrinfo(list.?);
    // Rank 0 may not listen yet: try every address until the deadline.
    const fd: c_int = connect: while (true) {
        var it = list;
        while (it) |ai| : (it = ai.next) {
            const s = c.socket(ai.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s < 0) continue;
            if (c.connect(s, ai.addr.?, ai.addrlen) == 0) break :connect s;
            _ = c.close(s);
        }
        if (left(deadline) == 0) {
            setMessage("rendezvous: rank {d} could not reach rank 0 at {s}:{d} within {d} s", .{ rank, host, port, timeout_ms / 1000 });
            return error.TimedOut;
        }
        _ = std.c.nanosleep(&.{ .sec = 0, .nsec = 50 * std.time.ns_per_ms }, null);
    };
    defer _ = c.close(fd);
    if (!sendAll(fd, &putWords(4, .{ magic, version, rank, size }), deadline)) {
        setMessage("rendezvous: rank {d} could not send to rank 0 at {s}:{d}", .{ rank, host, port });
        return error.Failed;
    }
    var head: [8]u8 = undefined;
    if (!recvAll(fd, &head, deadline)) {
        setMessage("rendezvous: rank {d} waited {d} s for rank 0 at {s}:{d} to hear from every rank", .{ rank, timeout_ms / 1000, host, port });
        return error.TimedOut;
    }
    const w = words(2, &head);
    if (w[0] != 0) {
        setMessage("rendezvous: rank 0 at {s}:{d} refused rank {d} of {d} (another world size, or the rank twice)", .{ host, port, rank, size });
        return error.Failed;
    }
    if (w[1] != payload.len) {
        setMessage("rendezvous: rank 0 sent {d} bytes, rank {d} expects {d}", .{ w[1], rank, payload.len });
        return error.Failed;
    }
    if (!recvAll(fd, payload, deadline)) {
        setMessage("rendezvous: rank {d} lost rank 0 at {s}:{d}", .{ rank, host, port });
        return error.Failed;
    }
}

// ---------------------------------------------------------------- tests

fn testRank(port: u16, rank: u32, size: u32, out: *[16]u8, status: *?Error) void {
    exchange("127.0.0.1", port, rank, size, out, 10_000) catch |e| {
        status.* = e;
    };
}

fn freePort() !u16 {
    // The kernel's choice for an ephemeral bind, released again.
    const fd = c.socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return error.SkipZigTest;
    defer _ = c.close(fd);
    var a = SockAddrIn{ .family = AF_INET, .port = 0, .addr = std.mem.nativeToBig(u32, 0x7f000001) };
    if (c.bind(fd, &a, @sizeOf(SockAddrIn)) != 0) return error.SkipZigTest;
    var len: u32 = @sizeOf(SockAddrIn);
    const getsockname = struct {
        extern "c" fn getsockname(fd: c_int, addr: *anyopaque, len: *u32) c_int;
    }.getsockname;
    if (getsockname(fd, &a, &len) != 0) return error.SkipZigTest;
    return std.mem.bigToNative(u16, a.port);
}

test "four ranks meet on loopback and every one gets rank 0's payload" {
    if (comptime !supported) return error.SkipZigTest;
    const port = try freePort();
    var outs: [4][16]u8 = undefined;
    var status: [4]?Error = @splat(null);
    for (&outs, 0..) |*o, r| @memset(o, @intCast(r + 100));
    var threads: [4]std.Thread = undefined;
    // Clients first: they retry until rank 0 listens.
    var r: u32 = 4;
    while (r > 0) {
        r -= 1;
        threads[r] = try std.Thread.spawn(.{}, testRank, .{ port, r, 4, &outs[r], &status[r] });
    }
    for (threads) |t| t.join();
    for (status) |s| try std.testing.expectEqual(@as(?Error, null), s);
    for (outs) |o| try std.testing.expectEqualSlices(u8, &outs[0], &o);
    try std.testing.expectEqual(@as(u8, 100), outs[3][7]);
}

test "a missing rank ends the others with a timeout naming the port" {
    if (comptime !supported) return error.SkipZigTest;
    const port = try freePort();
    var out: [16]u8 = @splat(0);
    try std.testing.expectError(error.TimedOut, exchange("127.0.0.1", port, 0, 3, &out, 300));
    try std.testing.expect(std.mem.indexOf(u8, message().text(), "0 of the other 2 ranks arrived") != null);
    try std.testing.expectError(error.TimedOut, exchange("127.0.0.1", port, 2, 3, &out, 300));
    try std.testing.expect(std.mem.indexOf(u8, message().text(), "could not reach rank 0 at 127.0.0.1") != null);
}

test "rendezvous arguments out of range are refused" {
    var out: [4]u8 = undefined;
    try std.testing.expectError(error.InvalidArgument, exchange("h", 1, 2, 2, &out, 10));
    try std.testing.expectError(error.InvalidArgument, exchange("h", 0, 0, 2, &out, 10));
    try std.testing.expectError(error.InvalidArgument, exchange("h", 1, 0, 0, &out, 10));
}
