//! Root of the device module (build.zig compiles it to PTX): at src/ so that
//! the kernels can import the CPU files they share (dtype.zig, vmath.zig, the
//! op enums).
comptime {
    _ = @import("cuda/kernels.zig");
}
