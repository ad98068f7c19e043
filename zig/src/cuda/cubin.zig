//! Prebuilt kernels: the embedded PTX assembled ahead of time for one GPU
//! architecture, so the first CUDA use skips the driver's JIT compile
//! (13-21 s for the 2 MB of PTX on an H200).
//!
//! `.ci/check_ptx.sh` writes `zeno_kernels.<hash>.sm_<major><minor>.cubin`
//! beside the host library, where `<hash>` is the first 16 hex digits of the
//! PTX's SHA-256. The name ties the cubin to the PTX it came from: a library
//! rebuilt with other kernels finds no cubin of its hash and JIT-compiles
//! its own PTX, so a stale cubin can never be loaded. Any failure to find,
//! read or load a cubin falls back to the PTX; `ZENO_CUDA_CUBIN=0` skips
//! the lookup.
const std = @import("std");
const builtin = @import("builtin");
const drv = @import("driver.zig");

const pool = @import("../pool.zig");

/// The file name's hash: the first 8 bytes of the PTX's SHA-256 in hex.
pub fn ptxHash(text: []const u8) [16]u8 {
    var digest: [32]u8 = undefined;
    std.crypto.hash.sha2.Sha256.hash(text, &digest, .{});
    return std.fmt.bytesToHex(digest[0..8].*, .lower);
}

/// `<dir of the library>/zeno_kernels.<hash>.sm_<major><minor>.cubin`, or
/// null when the library's path is unknown or too long.
fn cubinPath(buf: []u8, text: []const u8, major: u32, minor: u32) ?[:0]const u8 {
    const os = builtin.os.tag;
    if (!(builtin.link_libc and (os == .linux or os.isDarwin()))) return null;
    var info: pool.DlInfo = undefined;
    if (pool.dladdr(@ptrCast(&cubinPath), &info) == 0) return null;
    const lib = std.mem.span(info.fname orelse return null);
    const dir = if (std.mem.lastIndexOfScalar(u8, lib, '/')) |i| lib[0..i] else ".";
    const hash = ptxHash(text);
    return std.mem.printSentinel(buf, "{s}/zeno_kernels.{s}.sm_{d}{d}.cubin", .{ dir, &hash, major, minor }, 0) catch null;
}

/// The whole file, in memory from the C allocator (the caller frees it), or
/// null when it does not exist or cannot be read.
fn readFile(path: [:0]const u8) ?[]u8 {
    const f = std.c.fopen(path.ptr, "rb") orelse return null;
    defer _ = std.c.fclose(f);
    const gpa = std.heap.c_allocator;
    var buf = gpa.alloc(u8, 8 << 20) catch return null;
    var len: usize = 0;
    while (true) {
        if (len == buf.len) {
            // Cubins are a few MiB; anything past 256 MiB is not one.
            if (buf.len >= 256 << 20) break;
            buf = gpa.realloc(buf, buf.len * 2) catch break;
        }
        const n = std.c.fread(buf[len..].ptr, 1, buf.len - len, f);
        if (n == 0) return if (len > 0) buf[0..len] else blk: {
            gpa.free(buf);
            break :blk null;
        };
        len += n;
    }
    gpa.free(buf);
    return null;
}

fn disabled() bool {
    const v = std.c.getenv("ZENO_CUDA_CUBIN") orelse return false;
    return std.mem.eql(u8, std.mem.span(v), "0");
}

/// Loads the kernels into the current context: the cubin for this
/// architecture when one matches the PTX, else the PTX itself.
pub fn loadModule(a: *const drv.Api, out: *drv.Module, text: [:0]const u8, major: u32, minor: u32) drv.Result {
    if (!disabled()) {
        var path_buf: [4096]u8 = undefined;
        if (cubinPath(&path_buf, text, major, minor)) |path| {
            if (readFile(path)) |bytes| {
                defer std.heap.c_allocator.free(bytes);
                // A cubin the driver refuses (one from a newer toolkit, say)
                // is not an error: the PTX below still works.
                if (a.cuModuleLoadData(out, bytes.ptr) == drv.success) return drv.success;
            }
        }
    }
    return a.cuModuleLoadData(out, text.ptr);
}

test "the hash names the PTX's first 8 SHA-256 bytes in hex" {
    // sha256("abc") = ba7816bf8f01cfea...
    try std.testing.expectEqualStrings("ba7816bf8f01cfea", &ptxHash("abc"));
}
