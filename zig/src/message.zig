//! The text of a module's last failure, for the TypeScript side's error
//! (exports return a status; a `..._last_error` export copies this out).
//! One per module that talks to an outside library (MPI, NCCL, the
//! rendezvous), each written by that module's calls only.
const std = @import("std");

pub const Message = struct {
    buf: [512]u8 = undefined,
    len: usize = 0,

    /// Formats the message (cut at 512 bytes).
    pub fn set(m: *Message, comptime fmt: []const u8, args: anytype) void {
        const s = std.fmt.bufPrint(&m.buf, fmt, args) catch m.buf[0..];
        m.len = s.len;
    }

    pub fn text(m: *const Message) []const u8 {
        return m.buf[0..m.len];
    }

    /// Copies the message into out (at most len bytes); returns the bytes copied.
    pub fn copyOut(m: *const Message, out: [*]u8, len: i32) i32 {
        const n = @min(m.len, @as(usize, @intCast(@max(len, 0))));
        @memcpy(out[0..n], m.buf[0..n]);
        return @intCast(n);
    }
};

test "a long message is cut, and copied out no further than asked" {
    var m: Message = .{};
    const long: [600]u8 = @splat('x');
    m.set("{s}", .{&long});
    try std.testing.expectEqual(@as(usize, 512), m.text().len);
    m.set("rank {d}", .{3});
    var out: [4]u8 = undefined;
    try std.testing.expectEqual(@as(i32, 4), m.copyOut(&out, 4));
    try std.testing.expectEqualStrings("rank", &out);
    try std.testing.expectEqual(@as(i32, 0), m.copyOut(&out, -1));
}
