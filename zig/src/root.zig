//! The whole library as one compilation: the Zig tests and the CUDA smoke
//! test build from here. The shipped library is built from its three units
//! instead, in parallel (build.zig): abi_core.zig, abi_conv.zig and
//! abi_elementwise.zig, whose exports are the C ABI (conventions in abi.zig).
const abi = @import("abi.zig");
pub const panic = abi.panic;

comptime {
    _ = @import("abi_core.zig");
    _ = @import("abi_conv.zig");
    _ = @import("abi_elementwise.zig");
}

test {
    _ = @import("abi_core.zig");
    _ = @import("conv.zig");
    _ = @import("elementwise.zig");
    _ = @import("host_memory.zig");
}
