//! cuBLAS, opened at run time for matmul. Search order: the file named by
//! ZENO_CUBLAS; libcublas.so.13, .so.12 and .so in each directory of the
//! colon-separated ZENO_CUDA_LIB_PATH (e.g. a Python environment's
//! site-packages/nvidia/cu13/lib or nvidia/cublas/lib); then the same names
//! through the system's library search path. Without cuBLAS, matmul uses the
//! tiled reference kernel (kernels.zig).
//!
//! cuBLAS is column-major: the row-major product C = A B is computed as
//! C^T = B^T A^T, with B^T as cuBLAS's first operand (see `plan`).
const std = @import("std");
const drv = @import("driver.zig");

pub const Handle = ?*anyopaque;
pub const Status = c_int;

pub const op_n: c_int = 0;
pub const op_t: c_int = 1;
pub const default_math: c_int = 0;
pub const tf32_tensor_op_math: c_int = 3;
pub const r_32f: c_int = 0;
pub const r_64f: c_int = 1;
pub const r_16f: c_int = 2;
pub const r_16bf: c_int = 14;
pub const compute_32f: c_int = 68;
pub const gemm_default: c_int = -1;

pub const Api = struct {
    cublasCreate_v2: *const fn (*Handle) callconv(.c) Status,
    cublasSetStream_v2: *const fn (Handle, drv.Stream) callconv(.c) Status,
    cublasSetMathMode: *const fn (Handle, c_int) callconv(.c) Status,
    cublasSgemmStridedBatched: *const fn (Handle, c_int, c_int, c_int, c_int, c_int, *const f32, u64, c_int, i64, u64, c_int, i64, *const f32, u64, c_int, i64, c_int) callconv(.c) Status,
    cublasDgemmStridedBatched: *const fn (Handle, c_int, c_int, c_int, c_int, c_int, *const f64, u64, c_int, i64, u64, c_int, i64, *const f64, u64, c_int, i64, c_int) callconv(.c) Status,
    cublasGemmStridedBatchedEx: *const fn (Handle, c_int, c_int, c_int, c_int, c_int, *const anyopaque, u64, c_int, c_int, i64, u64, c_int, c_int, i64, *const anyopaque, u64, c_int, c_int, i64, c_int, c_int, c_int) callconv(.c) Status,
};

/// cublasSetWorkspace_v2 (CUDA 11.4 and later), looked up on its own: an
/// older cuBLAS still works, with its default workspace.
pub var set_workspace: ?*const fn (Handle, u64, usize) callconv(.c) Status = null;

/// The workspace given to each handle: 32 MiB, PyTorch's size on Hopper
/// (CUBLAS_WORKSPACE_CONFIG=:4096:8). Without one, cuBLAS passes over the
/// split-K kernels that need scratch space for some shapes.
pub const workspace_bytes: usize = 32 << 20;

var api_storage: Api = undefined;
var state: enum(u8) { untried, missing, loaded } = .untried;
var opened_path: [512]u8 = undefined;
var opened_len: usize = 0;

const names = [_][]const u8{ "libcublas.so.13", "libcublas.so.12", "libcublas.so" };

fn tryOpen(file: []const u8) bool {
    var lib = std.DynLib.open(file) catch return false;
    var tmp: Api = undefined;
    if (!drv.resolve(Api, &lib, &tmp)) {
        lib.close();
        return false;
    }
    api_storage = tmp;
    set_workspace = lib.lookup(@TypeOf(set_workspace.?), "cublasSetWorkspace_v2");
    const n = @min(file.len, opened_path.len);
    @memcpy(opened_path[0..n], file[0..n]);
    opened_len = n;
    return true;
}

fn env(name: [*:0]const u8) ?[]const u8 {
    if (comptime !drv.supported) return null;
    const v = std.c.getenv(name) orelse return null;
    return std.mem.span(v);
}

/// cuBLAS's entry points, or null when it cannot be found.
pub fn open() ?*const Api {
    switch (state) {
        .loaded => return &api_storage,
        .missing => return null,
        .untried => {},
    }
    state = .missing;
    if (comptime !drv.supported) return null;
    var found = false;
    if (env("ZENO_CUBLAS")) |p| found = tryOpen(p);
    if (!found) if (env("ZENO_CUDA_LIB_PATH")) |dirs| {
        var it = std.mem.splitScalar(u8, dirs, ':');
        outer: while (it.next()) |dir| {
            if (dir.len == 0) continue;
            for (names) |n| {
                var buf: [1024]u8 = undefined;
                const p = std.fmt.bufPrint(&buf, "{s}/{s}", .{ dir, n }) catch continue;
                if (tryOpen(p)) {
                    found = true;
                    break :outer;
                }
            }
        }
    };
    if (!found) for (names) |n| {
        if (tryOpen(n)) {
            found = true;
            break;
        }
    };
    if (!found) return null;
    state = .loaded;
    return &api_storage;
}

/// The file cuBLAS was opened from (empty when not loaded).
pub fn openedPath() []const u8 {
    return opened_path[0..opened_len];
}

/// How one operand enters cuBLAS: as a column-major R x C matrix whose
/// element (r, c) sits at r*sr + c*sc, either as is (N, ld = sc) or as the
/// transpose of a stored matrix (T, ld = sr). Null: neither works (a
/// broadcast or otherwise irregular inner stride), so copy it first.
pub const Plan = struct { trans: c_int, ld: i64 };

pub fn plan(rows: i64, cols: i64, sr_in: i64, sc_in: i64) ?Plan {
    // A stride along a dim of size 1 is never used.
    const sr = if (rows == 1) 1 else sr_in;
    const sc = if (cols == 1) @max(rows, 1) else sc_in;
    if (sr == 1 and sc >= @max(1, rows)) return .{ .trans = op_n, .ld = sc };
    const sr2 = if (rows == 1) @max(cols, 1) else sr_in;
    const sc2 = if (cols == 1) 1 else sc_in;
    if (sc2 == 1 and sr2 >= @max(1, cols)) return .{ .trans = op_t, .ld = sr2 };
    return null;
}

test "operand plans" {
    // Row-major B [k=3, n=4] contiguous: B^T as column-major 4 x 3, sr = 1, sc = 4.
    try std.testing.expectEqual(Plan{ .trans = op_n, .ld = 4 }, plan(4, 3, 1, 4).?);
    // A transposed view: sr = 3, sc = 1 -> T with ld 3.
    try std.testing.expectEqual(Plan{ .trans = op_t, .ld = 3 }, plan(4, 3, 3, 1).?);
    // A broadcast inner stride has to be copied.
    try std.testing.expect(plan(4, 3, 0, 4) == null);
    // A single column: any column stride.
    try std.testing.expectEqual(Plan{ .trans = op_n, .ld = 4 }, plan(4, 1, 1, 0).?);
    // A single row with a unit column stride.
    try std.testing.expect(plan(1, 5, 0, 1) != null);
    // Padded rows (ld larger than the row): fine.
    try std.testing.expectEqual(Plan{ .trans = op_n, .ld = 8 }, plan(4, 3, 1, 8).?);
}
