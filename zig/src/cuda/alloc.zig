//! The caching device allocator.
//!
//! Sizes are rounded up to a size class: multiples of 512 bytes up to 1 MiB,
//! multiples of 2 MiB above. A freed block goes to its class's free list and
//! is handed out again for the next request of that class without a driver
//! call. Only `emptyCache` (and an out-of-memory retry) returns cached blocks
//! to the driver. All work runs on one stream per device, so a block freed
//! after a launch can be reused by a later launch in stream order.
//!
//! The driver is injected (`Source`), so the bookkeeping is unit-tested with
//! a fake one here.
const std = @import("std");
const assert = std.debug.assert;

pub const small_quantum: u64 = 512;
pub const small_limit: u64 = 1 << 20;
pub const large_quantum: u64 = 2 << 20;

pub const Error = error{ OutOfMemory, Driver };

/// Where blocks come from: the CUDA driver, or a fake in tests.
pub const Source = struct {
    ctx: *anyopaque,
    alloc: *const fn (ctx: *anyopaque, bytes: u64) Error!u64,
    free: *const fn (ctx: *anyopaque, ptr: u64) void,
};

pub const Stats = struct {
    allocated: u64 = 0,
    max_allocated: u64 = 0,
    reserved: u64 = 0,
    max_reserved: u64 = 0,
    alloc_count: u64 = 0,
    free_count: u64 = 0,
    cache_hits: u64 = 0,
    oom_retries: u64 = 0,

    pub fn toF64(s: Stats, out: *[8]f64) void {
        out.* = .{
            @floatFromInt(s.allocated),   @floatFromInt(s.max_allocated),
            @floatFromInt(s.reserved),    @floatFromInt(s.max_reserved),
            @floatFromInt(s.alloc_count), @floatFromInt(s.free_count),
            @floatFromInt(s.cache_hits),  @floatFromInt(s.oom_retries),
        };
    }
};

/// The size class of a request (0 bytes is one small block: a valid token).
pub fn roundSize(bytes: u64) u64 {
    const b = @max(bytes, 1);
    if (b <= small_limit) return std.mem.alignForward(u64, b, small_quantum);
    return std.mem.alignForward(u64, b, large_quantum);
}

pub const Allocator = struct {
    gpa: std.mem.Allocator,
    source: Source,
    /// Live blocks: address -> class size.
    live: std.AutoHashMapUnmanaged(u64, u64) = .empty,
    /// Cached blocks per class size.
    cache: std.AutoHashMapUnmanaged(u64, std.ArrayList(u64)) = .empty,
    stats: Stats = .{},

    pub fn init(gpa: std.mem.Allocator, source: Source) Allocator {
        return .{ .gpa = gpa, .source = source };
    }

    pub fn deinit(self: *Allocator) void {
        self.emptyCache();
        var it = self.cache.valueIterator();
        while (it.next()) |list| list.deinit(self.gpa);
        self.cache.deinit(self.gpa);
        self.live.deinit(self.gpa);
    }

    pub fn alloc(self: *Allocator, bytes: u64) Error!u64 {
        const size = roundSize(bytes);
        assert(size >= bytes and size % small_quantum == 0);
        // Bookkeeping space first, so that a host allocation failure cannot
        // leak a device block.
        self.live.ensureUnusedCapacity(self.gpa, 1) catch return error.OutOfMemory;
        var ptr: u64 = 0;
        if (self.cache.getPtr(size)) |list| {
            if (list.pop()) |p| {
                ptr = p;
                self.stats.cache_hits += 1;
            }
        }
        if (ptr == 0) {
            ptr = self.source.alloc(self.source.ctx, size) catch |e| switch (e) {
                error.OutOfMemory => blk: {
                    // Give every cached block back, then try once more.
                    self.stats.oom_retries += 1;
                    self.emptyCache();
                    break :blk try self.source.alloc(self.source.ctx, size);
                },
                else => return e,
            };
            assert(ptr != 0);
            self.stats.reserved += size;
            self.stats.max_reserved = @max(self.stats.max_reserved, self.stats.reserved);
        }
        self.live.putAssumeCapacity(ptr, size);
        self.stats.allocated += size;
        self.stats.max_allocated = @max(self.stats.max_allocated, self.stats.allocated);
        self.stats.alloc_count += 1;
        return ptr;
    }

    /// Returns a block to its class's cache; false if `ptr` is not live.
    pub fn free(self: *Allocator, ptr: u64) bool {
        const kv = self.live.fetchRemove(ptr) orelse return false;
        const size = kv.value;
        assert(self.stats.allocated >= size);
        self.stats.allocated -= size;
        self.stats.free_count += 1;
        const gop = self.cache.getOrPut(self.gpa, size) catch {
            self.release(ptr, size);
            return true;
        };
        if (!gop.found_existing) gop.value_ptr.* = .empty;
        gop.value_ptr.append(self.gpa, ptr) catch self.release(ptr, size);
        return true;
    }

    fn release(self: *Allocator, ptr: u64, size: u64) void {
        assert(self.stats.reserved >= size);
        self.source.free(self.source.ctx, ptr);
        self.stats.reserved -= size;
    }

    /// Frees every cached block back to the driver.
    pub fn emptyCache(self: *Allocator) void {
        var it = self.cache.iterator();
        while (it.next()) |e| {
            for (e.value_ptr.items) |p| self.release(p, e.key_ptr.*);
            e.value_ptr.clearRetainingCapacity();
        }
    }

    pub fn resetPeak(self: *Allocator) void {
        self.stats.max_allocated = self.stats.allocated;
        self.stats.max_reserved = self.stats.reserved;
    }

    pub fn isLive(self: *const Allocator, ptr: u64) bool {
        return self.live.contains(ptr);
    }
};

// ------------------------------------------------------------------ tests

const Fake = struct {
    next: u64 = 0x1000_0000,
    capacity: u64,
    used: u64 = 0,
    allocs: u32 = 0,
    frees: u32 = 0,

    fn allocFn(ctx: *anyopaque, bytes: u64) Error!u64 {
        const f: *Fake = @ptrCast(@alignCast(ctx));
        if (f.used + bytes > f.capacity) return error.OutOfMemory;
        f.used += bytes;
        f.allocs += 1;
        const p = f.next;
        f.next += bytes;
        return p;
    }
    fn freeFn(ctx: *anyopaque, ptr: u64) void {
        _ = ptr;
        const f: *Fake = @ptrCast(@alignCast(ctx));
        f.frees += 1;
    }
    fn source(f: *Fake) Source {
        return .{ .ctx = f, .alloc = allocFn, .free = freeFn };
    }
};

test "size classes" {
    try std.testing.expectEqual(@as(u64, 512), roundSize(0));
    try std.testing.expectEqual(@as(u64, 512), roundSize(1));
    try std.testing.expectEqual(@as(u64, 1024), roundSize(513));
    try std.testing.expectEqual(@as(u64, 1 << 20), roundSize(1 << 20));
    try std.testing.expectEqual(@as(u64, 2 << 20), roundSize((1 << 20) + 1));
    try std.testing.expectEqual(@as(u64, 4 << 20), roundSize((2 << 20) + 1));
}

test "freed blocks are reused without a driver call" {
    var fake = Fake{ .capacity = 1 << 30 };
    var a = Allocator.init(std.testing.allocator, fake.source());
    defer a.deinit();
    const p = try a.alloc(1000);
    try std.testing.expectEqual(@as(u64, 1024), a.stats.allocated);
    try std.testing.expect(a.free(p));
    try std.testing.expect(!a.free(p));
    try std.testing.expectEqual(@as(u64, 0), a.stats.allocated);
    try std.testing.expectEqual(@as(u64, 1024), a.stats.reserved);
    const q = try a.alloc(600);
    try std.testing.expectEqual(p, q);
    try std.testing.expectEqual(@as(u32, 1), fake.allocs);
    try std.testing.expectEqual(@as(u64, 1), a.stats.cache_hits);
    const r = try a.alloc(600);
    try std.testing.expect(r != q);
    try std.testing.expectEqual(@as(u64, 2048), a.stats.max_allocated);
    _ = a.free(q);
    _ = a.free(r);
    a.emptyCache();
    try std.testing.expectEqual(@as(u32, 2), fake.frees);
    try std.testing.expectEqual(@as(u64, 0), a.stats.reserved);
    try std.testing.expectEqual(@as(u64, 2048), a.stats.max_reserved);
    a.resetPeak();
    try std.testing.expectEqual(@as(u64, 0), a.stats.max_reserved);
}

test "out of memory empties the cache and retries once" {
    var fake = Fake{ .capacity = 4 << 20 };
    var a = Allocator.init(std.testing.allocator, fake.source());
    defer a.deinit();
    const p = try a.alloc(3 << 20); // a 4 MiB class block: the device is full
    _ = a.free(p);
    // A different class does not fit until the cached block is released.
    fake.used = 4 << 20;
    const Rel = struct {
        fn freeFn(ctx: *anyopaque, ptr: u64) void {
            _ = ptr;
            const f: *Fake = @ptrCast(@alignCast(ctx));
            f.frees += 1;
            f.used -|= 4 << 20;
        }
    };
    a.source.free = Rel.freeFn;
    const q = try a.alloc(1 << 20);
    try std.testing.expect(q != 0);
    try std.testing.expectEqual(@as(u64, 1), a.stats.oom_retries);
    try std.testing.expectEqual(@as(u32, 1), fake.frees);
    // Nothing left to release: the second failure is final.
    try std.testing.expectError(error.OutOfMemory, a.alloc(8 << 20));
    try std.testing.expectEqual(@as(u64, 2), a.stats.oom_retries);
    _ = a.free(q);
}
