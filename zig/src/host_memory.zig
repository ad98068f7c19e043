//! Memory for large CPU tensors that comes back when the garbage collector
//! frees the tensor, also inside a synchronous loop.
//!
//! A CPU tensor's memory is an ArrayBuffer. One that V8 allocates is
//! zero-filled every time, from C-heap memory freed whenever the collector
//! last ran: a loop that drops its results (no `dispose`, no `tidy`) pays a
//! zero fill and cold caches for every result. Measured on one thread, a
//! [4096, 1024] softmax ran in 5.8 ms that way against 3.0 with its memory
//! reused at once.
//!
//! Node-API creates an ArrayBuffer over a native module's own memory with a
//! finalizer, and Deno runs that finalizer when the collector frees the
//! buffer: during a synchronous loop too, often on one of the collector's
//! threads. So this pool hands out blocks for such buffers, takes them back
//! in the finalizer, and gives them to the next result of the same size class
//! without a zero fill (unless asked for) and without page faults.
//!
//! src/host_memory.ts loads this library a second time as a Node-API module
//! (`process.dlopen`); `register` resolves the few Node-API functions it
//! uses from the host process with dlsym, so the library still loads where
//! they are absent (Python through ctypes, the Zig tests), and the
//! TypeScript side falls back to ArrayBuffers of V8's own.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

/// A block of memory behind one external ArrayBuffer.
pub const Block = struct {
    /// What malloc returned (freed with it).
    raw: [*]u8,
    /// The aligned start handed out.
    data: [*]u8,
    /// Bytes usable at `data`; the block's size class.
    capacity: usize,
    /// The next free block of the same class, while pooled.
    next: ?*Block,
};

const cache_line: usize = 64;
/// Bytes of a transparent huge page (x86-64 and arm64 with 4 KiB base pages).
const huge_page: usize = 2 << 20;
/// Blocks of this many bytes or more ask for huge pages (see placeHuge).
const huge_min_bytes: usize = 4 << 20;
/// Blocks of this many bytes or more start on a huge page boundary, in a
/// buffer with a huge page of slack: below it the slack costs more than it
/// gains (the thresholds of src/cpu_backend.ts's own arrays).
const huge_align_bytes: usize = 32 << 20;
/// The largest block handed out (V8's ArrayBuffers reach 2^53 - 1 bytes;
/// nothing this side of a terabyte is a tensor on a CPU).
pub const max_bytes: usize = 1 << 40;
/// Distinct size classes kept at once; training loops repeat a few dozen.
const max_classes = 64;

/// The size class of a request: rounded up to 1/16 of its power of two (at
/// least a page), so that shapes a few percent apart share blocks while the
/// waste stays under 6.25%.
pub fn capacityFor(bytes: usize) usize {
    assert(bytes >= 1 and bytes <= max_bytes);
    const step = @max(4096, std.math.floorPowerOfTwo(usize, bytes) >> 4);
    return std.mem.alignForward(usize, bytes, step);
}

const Class = struct {
    capacity: usize = 0,
    head: ?*Block = null,
    last_use: u64 = 0,
};

/// Counters read by `zeno_host_memory_stats` (tests, benchmarks).
pub const Stats = struct {
    pooled_bytes: usize,
    outstanding_bytes: usize,
    fresh: u64,
    reused: u64,
    returned: u64,
    pool_limit: usize,
};

/// Free blocks by size class, shared by every thread: takes come from the
/// JavaScript threads (the main one and Workers), gives from finalizers on
/// any thread.
pub const Pool = struct {
    mutex: std.Io.Mutex = .init,
    classes: [max_classes]Class = @splat(.{}),
    /// Bytes of the blocks waiting in the classes.
    pooled_bytes: usize = 0,
    /// Bytes of the blocks handed out and not given back yet.
    outstanding_bytes: usize = 0,
    /// The most bytes pooled; a block given back over it is freed, or frees
    /// the classes used least recently.
    pool_limit: usize,
    /// The most bytes handed out at once: past it `take` refuses (and the
    /// caller allocates elsewhere), so a host that delays finalizers holds
    /// at most this much.
    outstanding_limit: usize,
    clock: u64 = 0,
    fresh: u64 = 0,
    reused: u64 = 0,
    returned: u64 = 0,

    fn lock(p: *Pool) void {
        p.mutex.lockUncancelable(lockIo());
    }

    fn unlock(p: *Pool) void {
        p.mutex.unlock(lockIo());
    }

    /// The class of `capacity`, claiming a slot for it when `claim` (the
    /// slot of the class used least recently, its blocks moved to `victims`).
    fn classOf(p: *Pool, capacity: usize, claim: bool, victims: *?*Block) ?*Class {
        var empty: ?*Class = null;
        var oldest: ?*Class = null;
        for (&p.classes) |*c| {
            if (c.capacity == capacity) return c;
            if (c.capacity == 0) {
                if (empty == null) empty = c;
            } else if (oldest == null or c.last_use < oldest.?.last_use) {
                oldest = c;
            }
        }
        if (!claim) return null;
        const slot = empty orelse blk: {
            p.drain(oldest.?, victims);
            break :blk oldest.?;
        };
        slot.* = .{ .capacity = capacity, .last_use = p.clock };
        return slot;
    }

    /// Moves every block of `c` to `victims` (freed after the lock is let go).
    fn drain(p: *Pool, c: *Class, victims: *?*Block) void {
        while (c.head) |b| {
            c.head = b.next;
            b.next = victims.*;
            victims.* = b;
            p.pooled_bytes -= c.capacity;
        }
    }

    /// A block of at least `bytes` bytes: a pooled one of its class, or a new
    /// one; null when out of memory or past `outstanding_limit`.
    pub fn take(p: *Pool, bytes: usize) ?*Block {
        assert(bytes >= 1 and bytes <= max_bytes);
        const capacity = capacityFor(bytes);
        var victims: ?*Block = null;
        defer freeAll(victims);
        p.lock();
        p.clock += 1;
        const c = p.classOf(capacity, true, &victims).?;
        c.last_use = p.clock;
        if (c.head) |b| {
            c.head = b.next;
            p.pooled_bytes -= capacity;
            p.outstanding_bytes += capacity;
            p.reused += 1;
            p.unlock();
            b.next = null;
            return b;
        }
        if (p.outstanding_bytes + capacity > p.outstanding_limit) {
            p.unlock();
            return null;
        }
        // Reserved before the lock is let go: another thread's take counts it.
        p.outstanding_bytes += capacity;
        p.fresh += 1;
        p.unlock();
        return newBlock(capacity) orelse {
            p.lock();
            p.outstanding_bytes -= capacity;
            p.fresh -= 1;
            p.unlock();
            return null;
        };
    }

    /// Takes back a block handed out by `take`: pooled for its class, or
    /// freed when the pool is full.
    pub fn give(p: *Pool, b: *Block) void {
        assert(b.next == null);
        var victims: ?*Block = null;
        defer freeAll(victims);
        p.lock();
        defer p.unlock();
        assert(p.outstanding_bytes >= b.capacity);
        p.outstanding_bytes -= b.capacity;
        p.returned += 1;
        if (b.capacity > p.pool_limit) {
            victims = b;
            return;
        }
        // Full: the classes used least recently go first, this one last.
        while (p.pooled_bytes + b.capacity > p.pool_limit) {
            var oldest: ?*Class = null;
            for (&p.classes) |*c| {
                if (c.head == null or c.capacity == b.capacity) continue;
                if (oldest == null or c.last_use < oldest.?.last_use) oldest = c;
            }
            p.drain(oldest orelse break, &victims);
        }
        const c = p.classOf(b.capacity, true, &victims).?;
        if (p.pooled_bytes + b.capacity > p.pool_limit) {
            b.next = victims;
            victims = b;
            return;
        }
        b.next = c.head;
        c.head = b;
        p.pooled_bytes += b.capacity;
    }

    /// Frees every pooled block (blocks handed out are not touched).
    pub fn release(p: *Pool) void {
        var victims: ?*Block = null;
        defer freeAll(victims);
        p.lock();
        defer p.unlock();
        for (&p.classes) |*c| {
            p.drain(c, &victims);
            c.* = .{};
        }
        assert(p.pooled_bytes == 0);
    }

    pub fn stats(p: *Pool) Stats {
        p.lock();
        defer p.unlock();
        return .{
            .pooled_bytes = p.pooled_bytes,
            .outstanding_bytes = p.outstanding_bytes,
            .fresh = p.fresh,
            .reused = p.reused,
            .returned = p.returned,
            .pool_limit = p.pool_limit,
        };
    }
};

fn lockIo() std.Io {
    return std.Io.Threaded.global_single_threaded.io();
}

fn newBlock(capacity: usize) ?*Block {
    const alignment = if (capacity >= huge_align_bytes) huge_page else cache_line;
    const header: *Block = @ptrCast(@alignCast(std.c.malloc(@sizeOf(Block)) orelse return null));
    const raw: [*]u8 = @ptrCast(std.c.malloc(capacity + alignment) orelse {
        std.c.free(header);
        return null;
    });
    const data: [*]u8 = @ptrFromInt(std.mem.alignForward(usize, @intFromPtr(raw), alignment));
    header.* = .{ .raw = raw, .data = data, .capacity = capacity, .next = null };
    // Once per block: a pooled block keeps its huge pages for every reuse,
    // and C-heap memory collapsed once stays on them for later blocks.
    if (capacity >= huge_min_bytes) _ = placeHuge(data, capacity);
    return header;
}

fn freeAll(list: ?*Block) void {
    var next = list;
    while (next) |b| {
        next = b.next;
        std.c.free(b.raw);
        std.c.free(b);
    }
}

/// MADV_COLLAPSE (Linux 6.1), which this Zig's std.os.linux.MADV lacks.
const madv_collapse: u32 = 25;

/// Asks the kernel to back the whole 2 MiB pages inside `bytes` bytes at `p`
/// with transparent huge pages (madvise MADV_HUGEPAGE; the system default is
/// often "only where asked"), and returns the offset of the first 2 MiB
/// boundary: an array given a huge page of slack starts there, so that all of
/// it is on huge pages. C-heap memory comes in 4 KiB pages: a 64 MiB tensor is
/// 16,384 pages, a TLB miss every 4 KiB of a streaming kernel and a fault for
/// each on first write, where huge pages make it 32 of each (NumPy advises
/// its arrays of 4 MiB and more the same way). Measured on one thread over
/// 16M float32: add 5.8 to 4.7-5.1 ms, sum 2.7 to 1.9-2.2 ms. Returns -1 where
/// the system has no such advice or the memory holds no whole huge page; a
/// refusal by the kernel changes nothing but the speed.
pub fn placeHuge(p: [*]u8, bytes: usize) i32 {
    if (comptime builtin.os.tag != .linux) return -1;
    const start: usize = @intFromPtr(p);
    const end: usize = start + bytes;
    const first = std.mem.alignForward(usize, start, huge_page);
    const last = std.mem.alignBackward(usize, end, huge_page);
    if (last <= first) return -1;
    const linux = std.os.linux;
    _ = linux.madvise(@ptrFromInt(first), last - first, linux.MADV.HUGEPAGE);
    // The advice only shapes later faults: memory the C heap hands out again
    // is mostly faulted in already, in 4 KiB pages, and stays so. Collapsing
    // (Linux 6.1 and later; refused harmlessly before) puts it on huge pages
    // now, once: memory on them stays there when reused. Measured in the
    // all-reduce benchmark, whose 16 MB tensor reuses such memory: 3.8-5.0 to
    // 7.8 GB/s.
    _ = linux.madvise(@ptrFromInt(first), last - first, madv_collapse);
    return @intCast(first - start);
}

/// The process's pool; its limits are set by `register`.
pub var global: Pool = .{ .pool_limit = 1 << 30, .outstanding_limit = 0 };

// ---------------------------------------------------------------- Node-API

const Env = ?*anyopaque;
const Value = ?*anyopaque;
const CallbackInfo = ?*anyopaque;
const napi_ok: c_int = 0;
const Callback = fn (Env, CallbackInfo) callconv(.c) Value;
const Finalize = fn (Env, ?*anyopaque, ?*anyopaque) callconv(.c) void;

/// The Node-API functions used, each resolved as `napi_` ++ its field name.
const Api = struct {
    create_function: *const fn (Env, [*]const u8, usize, *const Callback, ?*anyopaque, *Value) callconv(.c) c_int,
    set_named_property: *const fn (Env, Value, [*:0]const u8, Value) callconv(.c) c_int,
    get_cb_info: *const fn (Env, CallbackInfo, *usize, [*]Value, ?*Value, ?*?*anyopaque) callconv(.c) c_int,
    get_value_double: *const fn (Env, Value, *f64) callconv(.c) c_int,
    get_value_bool: *const fn (Env, Value, *bool) callconv(.c) c_int,
    get_null: *const fn (Env, *Value) callconv(.c) c_int,
    create_external_arraybuffer: *const fn (Env, ?*anyopaque, usize, *const Finalize, ?*anyopaque, *Value) callconv(.c) c_int,
    create_arraybuffer: *const fn (Env, usize, *?*anyopaque, *Value) callconv(.c) c_int,
};

var api: Api = undefined;
/// 0 not tried, 1 resolved, 2 absent; written under `global`'s lock.
var api_state: std.atomic.Value(u8) = .init(0);

fn resolveApi() bool {
    // RTLD_DEFAULT is a null handle on glibc and musl; the host process
    // (deno) exports the Node-API functions from its executable.
    if (comptime !(builtin.os.tag == .linux and builtin.link_libc)) return false;
    inline for (comptime std.meta.fieldNames(Api)) |name| {
        const sym = std.c.dlsym(null, "napi_" ++ name) orelse return false;
        @field(api, name) = @ptrCast(@alignCast(sym));
    }
    return true;
}

/// The pool's limits: a quarter of the physical memory (at least 1 GiB) may
/// be handed out at once, and an eighth (1/4 to 1 GiB) pooled.
fn setLimits(p: *Pool) void {
    const total: u64 = std.process.totalSystemMemory() catch 8 << 30;
    p.outstanding_limit = @intCast(@max(total / 4, 1 << 30));
    p.pool_limit = @intCast(std.math.clamp(total / 8, 256 << 20, 1 << 30));
}

fn ensureApi() bool {
    switch (api_state.load(.acquire)) {
        1 => return true,
        2 => return false,
        else => {},
    }
    global.lock();
    defer global.unlock();
    if (api_state.load(.acquire) == 0) {
        const ok = resolveApi();
        if (ok) setLimits(&global);
        api_state.store(if (ok) 1 else 2, .release);
    }
    return api_state.load(.acquire) == 1;
}

fn nullValue(env: Env) Value {
    var v: Value = null;
    _ = api.get_null(env, &v);
    return v;
}

/// JavaScript `alloc(bytes, zero)`: an ArrayBuffer of `bytes` bytes over a
/// pooled block, zero-filled when `zero`; null when refused (bad arguments,
/// out of memory, past the outstanding limit), and the caller allocates an
/// ordinary ArrayBuffer instead.
fn allocCallback(env: Env, info: CallbackInfo) callconv(.c) Value {
    var argc: usize = 2;
    var argv: [2]Value = .{ null, null };
    if (api.get_cb_info(env, info, &argc, &argv, null, null) != napi_ok or argc < 2) return nullValue(env);
    var bytes_f: f64 = 0;
    var zero = false;
    if (api.get_value_double(env, argv[0], &bytes_f) != napi_ok) return nullValue(env);
    if (api.get_value_bool(env, argv[1], &zero) != napi_ok) return nullValue(env);
    const max: f64 = @floatFromInt(max_bytes);
    if (!(bytes_f >= 1 and bytes_f <= max and @floor(bytes_f) == bytes_f)) return nullValue(env);
    const bytes: usize = @intFromFloat(bytes_f);
    const b = global.take(bytes) orelse return nullValue(env);
    if (zero) @memset(b.data[0..bytes], 0);
    var out: Value = null;
    if (api.create_external_arraybuffer(env, b.data, bytes, &finalizeBlock, b, &out) != napi_ok) {
        global.give(b);
        return nullValue(env);
    }
    // V8 starts a young-generation collection for buffers from its own
    // allocator only: each allocation there checks whether the young
    // generation's buffers (external ones included) pass twice its semispace
    // size (Heap::AllocateExternalBackingStore). Blocks never pass there, so
    // a loop of them ran up a gigabyte (64 blocks of 16 MiB) before the first
    // collection; a 1-byte buffer of V8's own after each block runs the check,
    // and dropped blocks come back every few tens of megabytes.
    var probe_data: ?*anyopaque = null;
    var probe: Value = null;
    _ = api.create_arraybuffer(env, 1, &probe_data, &probe);
    return out;
}

/// The finalizer of a block's ArrayBuffer: on any thread, during a garbage
/// collection (or at the isolate's end); the block goes back to the pool.
fn finalizeBlock(env: Env, data: ?*anyopaque, hint: ?*anyopaque) callconv(.c) void {
    _ = env;
    _ = data;
    const b: *Block = @ptrCast(@alignCast(hint orelse return));
    global.give(b);
}

/// `napi_register_module_v1`: adds `alloc` to the module's exports. Without
/// the Node-API functions the exports stay empty.
pub fn register(env: Env, exports: Value) Value {
    if (!ensureApi()) return exports;
    var f: Value = null;
    if (api.create_function(env, "alloc", 5, &allocCallback, null, &f) != napi_ok) return exports;
    _ = api.set_named_property(env, exports, "alloc", f);
    return exports;
}

test "size classes round up by at most a sixteenth of the power of two" {
    const cases = [_][2]usize{
        .{ 1, 4096 },         .{ 4096, 4096 },        .{ 4097, 8192 },
        .{ 65536, 65536 },    .{ 65537, 69632 },      .{ 16 << 20, 16 << 20 },
        .{ (16 << 20) + 1, (17 << 20) },
    };
    for (cases) |c| try std.testing.expectEqual(c[1], capacityFor(c[0]));
    var bytes: usize = 1;
    while (bytes < 1 << 34) : (bytes = bytes * 3 + 7) {
        const cap = capacityFor(bytes);
        try std.testing.expect(cap >= bytes);
        try std.testing.expect(cap - bytes < @max(4096, bytes / 16 + 1));
        try std.testing.expectEqual(cap, capacityFor(cap));
    }
}

test "blocks given back are reused by their class, and the pool stays under its limit" {
    var p: Pool = .{ .pool_limit = 3 * 65536, .outstanding_limit = 8 * 65536 };
    defer p.release();
    const a = p.take(65536).?;
    const b = p.take(65000).?; // the same class
    try std.testing.expectEqual(@as(usize, 2 * 65536), p.stats().outstanding_bytes);
    try std.testing.expectEqual(@as(usize, 0), @intFromPtr(a.data) % cache_line);
    @memset(a.data[0..65536], 1);
    p.give(a);
    const c = p.take(65536).?;
    try std.testing.expectEqual(a, c);
    try std.testing.expectEqual(@as(u64, 1), p.stats().reused);
    try std.testing.expectEqual(@as(u8, 1), c.data[65535]); // not zero-filled
    p.give(b);
    p.give(c);
    try std.testing.expectEqual(@as(usize, 2 * 65536), p.stats().pooled_bytes);
    try std.testing.expectEqual(@as(usize, 0), p.stats().outstanding_bytes);
    // Another class: the pool's limit frees the class used least recently.
    const d = p.take(2 * 65536).?;
    p.give(d);
    try std.testing.expectEqual(@as(usize, 2 * 65536), p.stats().pooled_bytes);
    try std.testing.expectEqual(d, p.take(2 * 65536).?);
    p.give(d);
    // Past the outstanding limit take refuses; a give makes room again.
    var held: [4]*Block = undefined;
    for (&held) |*h| h.* = p.take(2 * 65536).?;
    try std.testing.expectEqual(@as(?*Block, null), p.take(65536));
    p.give(held[0]);
    const e = p.take(65536).?;
    p.give(e);
    for (held[1..]) |h| p.give(h);
    try std.testing.expectEqual(@as(usize, 0), p.stats().outstanding_bytes);
    try std.testing.expect(p.stats().pooled_bytes <= p.pool_limit);
}

test "blocks of 32 MiB and more start on a huge page boundary" {
    var p: Pool = .{ .pool_limit = 64 << 20, .outstanding_limit = 128 << 20 };
    defer p.release();
    const bytes: usize = (33 << 20) + 3;
    const b = p.take(bytes).?;
    try std.testing.expectEqual(@as(usize, 0), @intFromPtr(b.data) % huge_page);
    try std.testing.expect(b.capacity >= bytes);
    @memset(b.data[0..b.capacity], 5);
    p.give(b);
    const c = p.take(bytes).?;
    try std.testing.expectEqual(b, c);
    try std.testing.expectEqual(@as(u8, 5), c.data[bytes - 1]);
    p.give(c);
}

test "takes and gives from several threads keep the counts" {
    var p: Pool = .{ .pool_limit = 1 << 20, .outstanding_limit = 64 << 20 };
    defer p.release();
    const Worker = struct {
        fn main(pool: *Pool, seed: u64) void {
            var rng = std.Random.DefaultPrng.init(seed);
            var held: [8]?*Block = @splat(null);
            for (0..2000) |_| {
                const i = rng.random().uintLessThan(usize, held.len);
                if (held[i]) |b| {
                    pool.give(b);
                    held[i] = null;
                } else {
                    const bytes = (rng.random().uintLessThan(usize, 4) + 1) * 40000;
                    const b = pool.take(bytes) orelse continue;
                    b.data[bytes - 1] = 7;
                    held[i] = b;
                }
            }
            for (held) |h| if (h) |b| pool.give(b);
        }
    };
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*t, i| t.* = try std.Thread.spawn(.{}, Worker.main, .{ &p, i + 1 });
    for (threads) |t| t.join();
    const s = p.stats();
    try std.testing.expectEqual(@as(usize, 0), s.outstanding_bytes);
    try std.testing.expectEqual(s.fresh + s.reused, s.returned);
    try std.testing.expect(s.pooled_bytes <= p.pool_limit);
}

test "outside a Node-API host the exports stay as they are" {
    var exports: u8 = 0;
    const e: Value = @ptrCast(&exports);
    try std.testing.expectEqual(e, register(null, e));
    try std.testing.expectEqual(@as(u8, 2), api_state.load(.acquire));
}
