//! What every compilation unit of the C ABI shares (abi_core.zig,
//! abi_conv.zig, abi_elementwise.zig): the status codes, the version, and
//! the argument checks.
//!
//! Conventions (mirrored by ffi/symbols.ts, checked by tests/ffi_symbols_test.ts):
//! - tensors cross as (buffer, element offset: i32); sizes are i32 (the
//!   TypeScript side keeps numel below 2^31);
//! - layouts cross as one i32 metadata array (see strided.zig);
//! - every kernel returns a Status; the TypeScript side turns it into an error.
//!   Shapes and dtypes are validated in TypeScript first; the checks here are
//!   a second line that keeps a bad call from touching memory out of bounds.
const std = @import("std");
const builtin = @import("builtin");
const dt = @import("dtype.zig");
const strided = @import("strided.zig");

/// Release builds print a panic's message and stop, without the stack trace
/// printer (DWARF parsing, symbol lookup): the library's ReleaseFast build
/// is stripped, so a trace would name no functions anyway, and leaving the
/// printer out takes a tenth of the library's code from the first build.
/// Debug and ReleaseSafe builds (the Zig tests) keep the full handler. Each
/// unit's root declares `pub const panic = abi.panic;`.
pub const panic = if (builtin.mode == .fast or builtin.mode == .small)
    std.debug.simple_panic
else
    std.debug.FullPanic(std.debug.defaultPanic);

/// Bumped whenever an export's signature or meaning changes.
pub const abi_version: u32 = 2;

pub const Status = enum(i32) {
    ok = 0,
    invalid_argument = 1,
    index_out_of_range = 2,
    division_by_zero = 3,
    negative_power = 4,
    out_of_memory = 5,
};

comptime {
    // Layouts that cross the FFI boundary.
    std.debug.assert(@sizeOf(i32) == 4 and @sizeOf(i64) == 8 and @sizeOf(f64) == 8);
    std.debug.assert(@sizeOf(dt.BF16) == 2 and @sizeOf(f16) == 2);
    std.debug.assert(@backingInt(dt.DType.float32) == 0 and @backingInt(dt.DType.bool) == 9);
    std.debug.assert(std.enums.values(dt.DType).len == 10);
}

pub fn status(err: anyerror) i32 {
    const s: Status = switch (err) {
        error.IndexOutOfRange => .index_out_of_range,
        error.DivisionByZero => .division_by_zero,
        error.NegativePower => .negative_power,
        error.OutOfMemory => .out_of_memory,
        else => .invalid_argument,
    };
    return @backingInt(s);
}

pub fn dtypeOf(code: i32) ?dt.DType {
    return dt.DType.from(code);
}

pub fn validNdim(ndim: i32) bool {
    return ndim >= 0 and ndim <= strided.max_dims;
}

pub fn validShape(outer: i32, r: i32, inner: i32) bool {
    return outer >= 0 and r >= 0 and inner >= 0;
}
