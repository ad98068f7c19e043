//! N-d strided iteration shared by the kernel families.
//!
//! Layout metadata crosses the FFI boundary as one i32 array:
//! `[shape[0..ndim], strides_op0[0..ndim], strides_op1[0..ndim], ...]`, strides in
//! elements. The TypeScript side merges contiguous dims first, so ndim is small.
const std = @import("std");
const assert = std.debug.assert;

pub const max_dims = 32;

pub fn Layout(comptime nops: usize) type {
    return struct {
        const Self = @This();
        ndim: usize,
        shape: [max_dims]i64,
        strides: [nops][max_dims]i64,
        numel: usize,

        /// Reads `ndim` dims of shape and strides for `nops` operands from `meta`.
        pub fn fromMeta(ndim_in: i32, meta: [*]const i32) Self {
            assert(ndim_in >= 0 and ndim_in <= max_dims);
            var self: Self = undefined;
            const nd: usize = @intCast(ndim_in);
            var numel: usize = 1;
            if (nd == 0) {
                // A 0-d tensor is one element: iterate it as shape [1].
                self.ndim = 1;
                self.shape[0] = 1;
                for (0..nops) |k| self.strides[k][0] = 0;
                self.numel = 1;
                return self;
            }
            self.ndim = nd;
            for (0..nd) |d| {
                assert(meta[d] >= 0);
                self.shape[d] = meta[d];
                numel *= @intCast(meta[d]);
                for (0..nops) |k| self.strides[k][d] = meta[(k + 1) * nd + d];
            }
            self.numel = numel;
            return self;
        }

        pub fn allContiguous(self: *const Self) bool {
            for (0..nops) |k| {
                var expect: i64 = 1;
                var d = self.ndim;
                while (d > 0) {
                    d -= 1;
                    if (self.shape[d] != 1 and self.strides[k][d] != expect) return false;
                    expect *= self.shape[d];
                }
            }
            return true;
        }

        /// Visits the flat index range [begin, end) in row-major order as runs along
        /// the last dim: `body.run(offsets, len, inner_strides)`, offsets relative to
        /// each operand's base.
        pub fn forRange(self: *const Self, begin: usize, end: usize, body: anytype) void {
            if (begin >= end) return;
            const nd = self.ndim;
            var idx: [max_dims]i64 = undefined;
            var offs: [nops]i64 = @splat(0);
            var rem: i64 = @intCast(begin);
            var d = nd;
            while (d > 0) {
                d -= 1;
                const s = self.shape[d];
                idx[d] = @mod(rem, s);
                rem = @divFloor(rem, s);
                for (0..nops) |k| offs[k] += idx[d] * self.strides[k][d];
            }
            var inner: [nops]i64 = undefined;
            for (0..nops) |k| inner[k] = self.strides[k][nd - 1];
            const last = self.shape[nd - 1];
            var pos: usize = begin;
            while (pos < end) {
                const avail: usize = @intCast(last - idx[nd - 1]);
                const len = @min(avail, end - pos);
                body.run(offs, len, inner);
                pos += len;
                if (pos >= end) break;
                // Advance the multi-index by len (always to the end of this row here).
                for (0..nops) |k| offs[k] += @as(i64, @intCast(len)) * inner[k];
                idx[nd - 1] += @intCast(len);
                var c = nd - 1;
                while (idx[c] == self.shape[c] and c > 0) {
                    for (0..nops) |k| offs[k] -= self.shape[c] * self.strides[k][c];
                    idx[c] = 0;
                    c -= 1;
                    idx[c] += 1;
                    for (0..nops) |k| offs[k] += self.strides[k][c];
                }
            }
        }
    };
}

test "forRange visits a transposed 2x3 in row-major order" {
    const meta = [_]i32{ 2, 3, 1, 2 }; // shape [2,3], strides [1,2] (a transpose)
    const L = Layout(1).fromMeta(2, &meta);
    var seen: [6]i64 = undefined;
    var n: usize = 0;
    const Body = struct {
        seen: *[6]i64,
        n: *usize,
        fn run(b: @This(), offs: [1]i64, len: usize, st: [1]i64) void {
            for (0..len) |i| {
                b.seen[b.n.*] = offs[0] + @as(i64, @intCast(i)) * st[0];
                b.n.* += 1;
            }
        }
    };
    L.forRange(1, 6, Body{ .seen = &seen, .n = &n });
    try std.testing.expectEqualSlices(i64, &.{ 2, 4, 1, 3, 5 }, seen[0..5]);
}
