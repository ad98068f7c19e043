//! Gather/scatter family: index_select, gather, scatter (set and add) and sort.
//! Index tensors are int64, as in PyTorch. Every index is bounds-checked in a
//! first pass before any element moves; the offending value is reported.
const std = @import("std");
const dt = @import("dtype.zig");
const strided = @import("strided.zig");
const pool = @import("pool.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, IndexOutOfRange, OutOfMemory };

/// The index value that failed the last bounds check on this thread. Per
/// thread, so that callers on several threads (Deno Workers) each read their
/// own; every check runs on the calling thread, before any chunk is posted.
pub threadlocal var bad_index: i64 = 0;

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

fn checkIndex(v: i64, size: i64, wrap: bool) Error!void {
    const lo: i64 = if (wrap) -size else 0;
    if (v < lo or v >= size) {
        bad_index = v;
        return error.IndexOutOfRange;
    }
}

/// x: [outer, size, inner] contiguous, idx: [n] -> out: [outer, n, inner].
/// `wrap`: negative indices count from the end (advanced indexing).
pub fn indexSelect(elem_size: usize, x: [*]u8, xoff: i64, idx_base: [*]u8, ioff: i64, n: usize, out: [*]u8, ooff: i64, outer: usize, size: usize, inner: usize, wrap: bool) Error!void {
    const idx = ptr(i64, idx_base, ioff);
    const sz: i64 = @intCast(size);
    for (0..n) |i| try checkIndex(idx[i], sz, wrap);
    const xb = x + @as(usize, @intCast(xoff)) * elem_size;
    const ob = out + @as(usize, @intCast(ooff)) * elem_size;
    const row = inner * elem_size;
    for (0..outer) |o| {
        for (0..n) |i| {
            var v = idx[i];
            if (v < 0) v += sz;
            const src = xb + (o * size + @as(usize, @intCast(v))) * row;
            const dst = ob + (o * n + i) * row;
            @memcpy(dst[0..row], src[0..row]);
        }
    }
}

fn IdxCheck() type {
    return struct {
        idx: [*]const i64,
        size: i64,
        bad: *?i64,
        pub fn run(self: @This(), offs: [1]i64, len: usize, st: [1]i64) void {
            for (0..len) |i| {
                const v = self.idx[@as(usize, @intCast(offs[0] + @as(i64, @intCast(i)) * st[0]))];
                if ((v < 0 or v >= self.size) and self.bad.* == null) self.bad.* = v;
            }
        }
    };
}

fn checkAll(layout: *const strided.Layout(3), idx: [*]const i64, size: i64) Error!void {
    var l1: strided.Layout(1) = undefined;
    l1.ndim = layout.ndim;
    l1.numel = layout.numel;
    l1.shape = layout.shape;
    l1.strides[0] = layout.strides[0];
    var bad: ?i64 = null;
    l1.forRange(0, l1.numel, IdxCheck(){ .idx = idx, .size = size, .bad = &bad });
    if (bad) |v| {
        bad_index = v;
        return error.IndexOutOfRange;
    }
}

fn GatherBody(comptime T: type) type {
    return struct {
        idx: [*]const i64,
        x: [*]const T,
        out: [*]T,
        dim_stride: i64,
        pub fn run(self: @This(), offs: [3]i64, len: usize, st: [3]i64) void {
            for (0..len) |i| {
                const ii: i64 = @intCast(i);
                const v = self.idx[@intCast(offs[0] + ii * st[0])];
                self.out[@intCast(offs[2] + ii * st[2])] = self.x[@intCast(offs[1] + ii * st[1] + v * self.dim_stride)];
            }
        }
    };
}

/// out[p] = x[p with p[dim] = idx[p]] over idx's shape. Layout operands: idx, x, out;
/// x's stride at `dim` is used for the index and zeroed for the iteration.
pub fn gather(dtype: DType, x: [*]u8, xoff: i64, idx_base: [*]u8, ioff: i64, out: [*]u8, ooff: i64, layout_in: strided.Layout(3), dim: usize, size: i64) Error!void {
    var layout = layout_in;
    assert(dim < layout.ndim);
    const idx = ptr(i64, idx_base, ioff);
    try checkAll(&layout, idx, size);
    const dim_stride = layout.strides[1][dim];
    layout.strides[1][dim] = 0;
    switch (dtype) {
        inline else => |D| {
            const T = dt.Storage(D);
            const body = GatherBody(T){ .idx = idx, .x = ptr(T, x, xoff), .out = ptr(T, out, ooff), .dim_stride = dim_stride };
            layout.forRange(0, layout.numel, body);
        },
    }
}

/// How scatter combines a source element with its destination.
pub const ScatterMode = enum(u8) { set = 0, add = 1, prod = 2, amax = 3, amin = 4 };

/// `boolean`: T holds bool's 0 and 1, which sum and prod combine as
/// logical or and and (as PyTorch's bool scatter_reduce does).
fn ScatterBody(comptime T: type, comptime mode: ScatterMode, comptime boolean: bool) type {
    return struct {
        idx: [*]const i64,
        dst: [*]T,
        src: [*]const T,
        dim_stride: i64,
        pub fn run(self: @This(), offs: [3]i64, len: usize, st: [3]i64) void {
            for (0..len) |i| {
                const ii: i64 = @intCast(i);
                const v = self.idx[@intCast(offs[0] + ii * st[0])];
                const d: usize = @intCast(offs[1] + ii * st[1] + v * self.dim_stride);
                const s = self.src[@intCast(offs[2] + ii * st[2])];
                self.dst[d] = combine(self.dst[d], s);
            }
        }

        inline fn combine(a: T, b: T) T {
            const float = comptime dt.isFloat(T);
            if (boolean) return switch (mode) {
                .set => b,
                .add, .amax => a | b,
                .prod, .amin => a & b,
            };
            return switch (mode) {
                .set => b,
                .add => if (float) a + b else a +% b,
                .prod => if (float) a * b else a *% b,
                // NaN wins, as in PyTorch.
                .amax => if (float and (a != a or b != b)) a + b else @max(a, b),
                .amin => if (float and (a != a or b != b)) a + b else @min(a, b),
            };
        }
    };
}

/// dst[p with p[dim] = idx[p]] = src[p] combined by `mode` over idx's shape,
/// in order, so a repeated index takes the last value (set) or the
/// reduction of all of them. Operands: idx, dst, src.
pub fn scatter(mode: ScatterMode, dtype: DType, dst: [*]u8, doff: i64, idx_base: [*]u8, ioff: i64, src: [*]u8, soff: i64, layout_in: strided.Layout(3), dim: usize, size: i64) Error!void {
    var layout = layout_in;
    assert(dim < layout.ndim);
    const idx = ptr(i64, idx_base, ioff);
    try checkAll(&layout, idx, size);
    const dim_stride = layout.strides[1][dim];
    layout.strides[1][dim] = 0;
    switch (dtype) {
        inline else => |D| {
            const T = dt.Storage(D);
            // Half types reduce in float32 on the TypeScript side.
            if (mode != .set and (D == .float16 or D == .bfloat16)) return error.InvalidArgument;
            switch (mode) {
                inline else => |M| if (comptime M != .set and (D == .float16 or D == .bfloat16)) unreachable else {
                    layout.forRange(0, layout.numel, ScatterBody(T, M, D == .bool){ .idx = idx, .dst = ptr(T, dst, doff), .src = ptr(T, src, soff), .dim_stride = dim_stride });
                },
            }
        },
    }
}

/// Sorts items stably by ctx.less, with scratch (as long as items) beside
/// them: runs of 16 by insertion, then bottom-up merges from one buffer to
/// the other. It stands in for std.sort.block, whose in-place merging
/// compiled to some 35 KB of code for each element type.
fn stableSort(comptime C: type, items: []i64, scratch: []i64, ctx: C) void {
    assert(scratch.len == items.len);
    const n = items.len;
    const run = 16;
    var s: usize = 0;
    while (s < n) : (s += run) {
        const e = @min(n, s + run);
        for (s + 1..e) |k| {
            const v = items[k];
            var m = k;
            while (m > s and ctx.less(v, items[m - 1])) : (m -= 1) items[m] = items[m - 1];
            items[m] = v;
        }
    }
    var src = items;
    var dst = scratch;
    var width: usize = run;
    while (width < n) : (width *= 2) {
        var lo: usize = 0;
        while (lo < n) : (lo += 2 * width) {
            const mid = @min(n, lo + width);
            const hi = @min(n, lo + 2 * width);
            var a = lo;
            var b = mid;
            var o = lo;
            while (a < mid and b < hi) : (o += 1) {
                // The right run's item goes first only when strictly less:
                // ties keep their order.
                if (ctx.less(src[b], src[a])) {
                    dst[o] = src[b];
                    b += 1;
                } else {
                    dst[o] = src[a];
                    a += 1;
                }
            }
            @memcpy(dst[o..][0 .. mid - a], src[a..mid]);
            o += mid - a;
            @memcpy(dst[o..][0 .. hi - b], src[b..hi]);
        }
        const t = src;
        src = dst;
        dst = t;
    }
    if (src.ptr != items.ptr) @memcpy(items, src);
}

/// Sorts each line of x: [outer, r, inner] along r. NaN sorts above +inf (as in
/// PyTorch); ties keep their order (stable). Writes values and int64 indices.
pub fn sort(dtype: DType, x: [*]u8, xoff: i64, vals: [*]u8, voff: i64, idx_base: [*]u8, ioff: i64, outer: usize, r: usize, inner: usize, descending: bool) Error!void {
    switch (dtype) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .bool => |D| {
            const T = dt.Storage(D);
            const X = ptr(T, x, xoff);
            const Vout = ptr(T, vals, voff);
            const I = ptr(i64, idx_base, ioff);
            const lines = outer * inner;
            const Ctx = struct { x: [*]const T, v: [*]T, i: [*]i64, outer: usize, r: usize, inner: usize, desc: bool, chunks: u32, failed: *std.atomic.Value(bool) };
            var failed = std.atomic.Value(bool).init(false);
            const chunks = @min(pool.chunkCount(lines * @max(r, 1), 1 << 14), @as(u32, @intCast(@max(lines, 1))));
            const ctx = Ctx{ .x = X, .v = Vout, .i = I, .outer = outer, .r = r, .inner = inner, .desc = descending, .chunks = chunks, .failed = &failed };
            pool.run(chunks, &ctx, struct {
                const Cmp = struct {
                    line: [*]const T,
                    stride: usize,
                    desc: bool,
                    fn key(c: @This(), a: i64) T {
                        return c.line[@as(usize, @intCast(a)) * c.stride];
                    }
                    fn less(c: @This(), a: i64, b: i64) bool {
                        const va = c.key(a);
                        const vb = c.key(b);
                        if (comptime dt.isFloat(T)) {
                            const na = va != va;
                            const nb = vb != vb;
                            if (na or nb) return if (c.desc) (na and !nb) else (!na and nb);
                        }
                        return if (c.desc) va > vb else va < vb;
                    }
                };
                fn f(c: *const Ctx, chunk: u32) void {
                    const rg = pool.chunkRange(c.outer * c.inner, c.chunks, chunk);
                    const buf = std.heap.c_allocator.alloc(i64, 2 * c.r) catch {
                        c.failed.store(true, .monotonic);
                        return;
                    };
                    defer std.heap.c_allocator.free(buf);
                    const tmp = buf[0..c.r];
                    for (rg[0]..rg[1]) |li| {
                        const o = li / c.inner;
                        const j = li % c.inner;
                        const base = o * c.r * c.inner + j;
                        for (tmp, 0..) |*t, k| t.* = @intCast(k);
                        const cmp = Cmp{ .line = c.x + base, .stride = c.inner, .desc = c.desc };
                        stableSort(Cmp, tmp, buf[c.r..], cmp);
                        for (tmp, 0..) |t, k| {
                            c.i[base + k * c.inner] = t;
                            c.v[base + k * c.inner] = cmp.key(t);
                        }
                    }
                }
            }.f);
            if (failed.load(.monotonic)) return error.OutOfMemory;
        },
        else => return error.InvalidArgument,
    }
}

test "stableSort orders by key and keeps ties in order, at every length around its runs and merges" {
    const Cmp = struct {
        keys: []const u8,
        fn less(c: @This(), a: i64, b: i64) bool {
            return c.keys[@intCast(a)] < c.keys[@intCast(b)];
        }
    };
    var prng = std.Random.DefaultPrng.init(7);
    const rand = prng.random();
    var keys: [300]u8 = undefined;
    var items: [300]i64 = undefined;
    var scratch: [300]i64 = undefined;
    for ([_]usize{ 0, 1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256, 257, 300 }) |n| {
        // Few distinct keys: many ties.
        for (keys[0..n]) |*k| k.* = rand.intRangeLessThan(u8, 0, 7);
        for (items[0..n], 0..) |*it, k| it.* = @intCast(k);
        stableSort(Cmp, items[0..n], scratch[0..n], Cmp{ .keys = keys[0..n] });
        var seen: [300]bool = @splat(false);
        for (items[0..n], 0..) |it, k| {
            try std.testing.expect(!seen[@intCast(it)]);
            seen[@intCast(it)] = true;
            if (k > 0) {
                const prev = items[k - 1];
                try std.testing.expect(keys[@intCast(prev)] <= keys[@intCast(it)]);
                if (keys[@intCast(prev)] == keys[@intCast(it)]) try std.testing.expect(prev < it);
            }
        }
    }
}
