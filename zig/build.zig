//! Builds the Zeno shared library.
//!
//!   zig build                      the variant this CPU runs best (ReleaseFast)
//!   zig build variants             every CPU variant of this OS and arch
//!   zig build all                  every shipped OS and arch (cross-compiled)
//!
//! File names carry OS and arch (`libzeno-linux-x86_64.so`). On x86-64 there
//! are three variants: baseline (any x86-64 CPU), `-v3` (AVX2 + FMA) and
//! `-v4` (AVX-512). The loader asks a library which level the CPU supports
//! (plain CPUID code in every variant) and opens the best variant present.
const std = @import("std");

const Variant = struct {
    arch: std.Target.Cpu.Arch,
    os: std.Target.Os.Tag,
    /// Null: the architecture's baseline CPU.
    cpu: ?*const std.Target.Cpu.Model,
    suffix: []const u8,
};

fn osName(os: std.Target.Os.Tag) []const u8 {
    return switch (os) {
        .linux => "linux",
        .macos => "macos",
        .windows => "windows",
        else => @tagName(os),
    };
}

const Variants = struct {
    items: [3]Variant,
    len: usize,
    fn slice(self: *const Variants) []const Variant {
        return self.items[0..self.len];
    }
};

fn variantsFor(arch: std.Target.Cpu.Arch, os: std.Target.Os.Tag) Variants {
    const x86 = std.Target.x86.cpu;
    const base: Variant = .{ .arch = arch, .os = os, .cpu = null, .suffix = "" };
    if (arch == .x86_64) return .{ .items = .{
        base,
        .{ .arch = arch, .os = os, .cpu = &x86.x86_64_v3, .suffix = "-v3" },
        .{ .arch = arch, .os = os, .cpu = &x86.x86_64_v4, .suffix = "-v4" },
    }, .len = 3 };
    return .{ .items = .{ base, base, base }, .len = 1 };
}

/// The CUDA kernels as PTX, built once for every host library: an nvptx64
/// object (sm_80; the driver JITs it for newer GPUs) whose emitted assembly is
/// wrapped in a module that `@embedFile`s it (NUL-terminated, as
/// cuModuleLoadData wants).
fn addPtx(b: *std.Build) struct { module: *std.Build.Module, file: std.Build.LazyPath } {
    const target = b.resolveTargetQuery(.{
        .cpu_arch = .nvptx64,
        .os_tag = .cuda,
        .cpu_model = .{ .explicit = &std.Target.nvptx.cpu.sm_80 },
    });
    const obj = b.addObject(.{
        .name = "zeno_kernels",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/ptx_root.zig"),
            .target = target,
            .optimize = .fast,
        }),
    });
    obj.bundle_ubsan_rt = false;
    obj.bundle_compiler_rt = false;
    const wf = b.addWriteFiles();
    _ = wf.addCopyFile(obj.getEmittedAsm(), "zeno_kernels.ptx");
    const src = wf.add("zeno_ptx.zig", "pub const text: [:0]const u8 = @embedFile(\"zeno_kernels.ptx\");\n");
    return .{ .module = b.createModule(.{ .root_source_file = src }), .file = obj.getEmittedAsm() };
}

/// The variant the loader opens on `host`: the same test as cpu.zig's
/// level(), on the features the compiler detected.
fn bestVariant(list: []const Variant, host: std.Target) Variant {
    if (list.len == 1) return list[0];
    const f = std.Target.x86.Feature;
    const has = struct {
        fn all(t: std.Target, fs: []const std.Target.x86.Feature) bool {
            for (fs) |x| if (!std.Target.x86.featureSetHas(t.cpu.features, x)) return false;
            return true;
        }
    }.all;
    const v3 = has(host, &.{ f.avx, f.avx2, f.fma, f.f16c, f.movbe, f.bmi, f.bmi2 });
    const v4 = v3 and has(host, &.{ f.avx512f, f.avx512dq, f.avx512cd, f.avx512bw, f.avx512vl });
    const want: []const u8 = if (v4) "-v4" else if (v3) "-v3" else "";
    for (list) |v| if (std.mem.eql(u8, v.suffix, want)) return v;
    return list[0];
}

/// The library's compilation units (src/abi_<unit>.zig), each compiled to an
/// object of its own and linked into one library. LLVM optimizes a unit on
/// one thread, so one unit of everything took about 120 s on a 2-core
/// machine; as three (the convolution and the elementwise kernels are the
/// two largest) they compile side by side in about 70. The core unit holds
/// the thread pool the others call (pool.zig) and embeds the PTX.
pub const units = [_][]const u8{ "core", "conv", "elementwise" };

fn addVariant(b: *std.Build, step: *std.Build.Step, v: Variant, optimize: std.builtin.Optimize, strip: bool, ptx: *std.Build.Module) void {
    var query: std.Target.Query = .{ .cpu_arch = v.arch, .os_tag = v.os };
    if (v.os == .linux) {
        // glibc, at a version old enough for any current distribution.
        query.abi = .gnu;
        query.glibc_version = .{ .major = 2, .minor = 28, .patch = 0 };
    }
    query.cpu_model = if (v.cpu) |model| .{ .explicit = model } else .baseline;
    const target = b.resolveTargetQuery(query);
    const name = b.fmt("zeno-{s}-{s}{s}", .{ osName(v.os), @tagName(v.arch), v.suffix });
    const lib = b.addLibrary(.{
        .name = name,
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .target = target,
            .optimize = optimize,
            // libc for the real dlopen (the CUDA driver is opened at run time).
            .link_libc = true,
            .strip = strip,
        }),
    });
    for (units) |unit| {
        const obj = b.addObject(.{
            .name = b.fmt("zeno-{s}", .{unit}),
            .root_module = b.createModule(.{
                .root_source_file = b.path(b.fmt("src/abi_{s}.zig", .{unit})),
                .target = target,
                .optimize = optimize,
                .link_libc = true,
                .strip = strip,
            }),
        });
        if (std.mem.eql(u8, unit, "core")) obj.root_module.addImport("zeno_ptx", ptx);
        lib.root_module.addObject(obj);
    }
    const install = b.addInstallArtifact(lib, .{});
    step.dependOn(&install.step);
}

/// The CPU probe (src/cpu_probe.zig) of an x86-64 OS: `zeno-cpu-<os>-x86_64`,
/// a few kilobytes with no libc or compiler-rt (CPUID needs neither).
fn addProbe(b: *std.Build, step: *std.Build.Step, os: std.Target.Os.Tag) void {
    const lib = b.addLibrary(.{
        .name = b.fmt("zeno-cpu-{s}-x86_64", .{osName(os)}),
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/cpu_probe.zig"),
            .target = b.resolveTargetQuery(.{ .cpu_arch = .x86_64, .os_tag = os, .cpu_model = .baseline }),
            .optimize = .ReleaseSmall,
            .strip = true,
        }),
    });
    lib.bundle_compiler_rt = false;
    lib.bundle_ubsan_rt = false;
    step.dependOn(&b.addInstallArtifact(lib, .{}).step);
}

pub fn build(b: *std.Build) void {
    const optimize = b.option(std.builtin.Optimize, "optimize", "Optimization mode (default ReleaseFast)") orelse .fast;
    // Symbols kept (-Dstrip=false) name the kernels in a profiler's report.
    const strip = b.option(bool, "strip", "Strip symbols (default: all but Debug builds)") orelse (optimize != .debug);
    const host = b.graph.host.result;
    const ptx = addPtx(b);
    const install_ptx = b.addInstallFile(ptx.file, "lib/zeno_kernels.ptx");
    b.getInstallStep().dependOn(&install_ptx.step);
    b.step("ptx", "Build only the CUDA kernels' PTX (zig-out/lib/zeno_kernels.ptx)").dependOn(&install_ptx.step);

    // By default only the variant this CPU loads: a first build compiles the
    // kernels once, not three times. `zig build variants` adds the others.
    const host_variants = variantsFor(host.cpu.arch, host.os.tag);
    const best = bestVariant(host_variants.slice(), host);
    addVariant(b, b.getInstallStep(), best, optimize, strip, ptx.module);
    const variants = b.step("variants", "Every CPU variant of this OS and arch");
    variants.dependOn(&install_ptx.step);
    for (host_variants.slice()) |v| addVariant(b, variants, v, optimize, strip, ptx.module);

    const all = b.step("all", "Cross-compile every shipped OS and arch");
    // CI checks that every target compiles; the CPU variants share their code.
    const baseline_only = b.option(bool, "baseline-only", "With `all`: only the baseline CPU variant of each target") orelse false;
    const shipped = [_]struct { std.Target.Cpu.Arch, std.Target.Os.Tag }{
        .{ .x86_64, .linux },   .{ .aarch64, .linux },
        .{ .x86_64, .macos },   .{ .aarch64, .macos },
        .{ .x86_64, .windows },
    };
    for (shipped) |s| {
        const vs = variantsFor(s[0], s[1]);
        const list = vs.slice();
        for (if (baseline_only) list[0..1] else list) |v| addVariant(b, all, v, optimize, strip, ptx.module);
        if (s[0] == .x86_64 and !baseline_only) addProbe(b, all, s[1]);
    }

    // Zig unit tests of the kernels (reference paths against the fast paths).
    const tests = b.addTest(.{ .root_module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = b.graph.host,
        .optimize = .safe,
        .link_libc = true,
    }) });
    tests.root_module.addImport("zeno_ptx", ptx.module);
    const run_tests = b.addRunArtifact(tests);
    const test_step = b.step("test", "Run the Zig unit tests (and compile the GEMM benchmark)");
    test_step.dependOn(&run_tests.step);

    // CUDA smoke test: every kernel family against the CPU exports on device 0
    // (run it on a machine with an NVIDIA GPU; baseline CPU so it runs anywhere).
    const smoke_target = b.resolveTargetQuery(.{ .cpu_model = .baseline });
    const zeno_module = b.createModule(.{
        .root_source_file = b.path("src/root.zig"),
        .target = smoke_target,
        .optimize = .fast,
        .link_libc = true,
    });
    zeno_module.addImport("zeno_ptx", ptx.module);
    const smoke = b.addExecutable(.{
        .name = "cuda-smoke",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/cuda/smoke.zig"),
            .target = smoke_target,
            .optimize = .fast,
            .link_libc = true,
        }),
    });
    smoke.root_module.addImport("zeno", zeno_module);
    b.step("cuda-smoke", "Build zig-out/bin/cuda-smoke (CUDA kernels against the CPU ones)").dependOn(&b.addInstallArtifact(smoke, .{}).step);

    // GEMM benchmark (GFLOP/s of matmul, 1 and 2 threads). Built for
    // x86_64_v3 (AVX2 + FMA) on x86-64 hosts unless -Dbench-cpu says otherwise.
    const bench_cpu = b.option([]const u8, "bench-cpu", "CPU model for bench-gemm (default x86_64_v3 on x86-64, else native)");
    var bench_query: std.Target.Query = .{};
    if (bench_cpu) |name| {
        bench_query = std.Target.Query.parse(.{ .cpu_features = name }) catch @panic("bad -Dbench-cpu");
    } else if (host.cpu.arch == .x86_64) {
        bench_query.cpu_model = .{ .explicit = &std.Target.x86.cpu.x86_64_v3 };
    }
    const bench = b.addExecutable(.{
        .name = "bench-gemm",
        .root_module = b.createModule(.{
            .root_source_file = b.path("bench_gemm.zig"),
            .target = b.resolveTargetQuery(bench_query),
            .optimize = .fast,
            .link_libc = true,
        }),
    });
    // Compiled with the tests, so that it follows matmul's signature.
    test_step.dependOn(&bench.step);
    const run_bench = b.addRunArtifact(bench);
    b.step("bench-gemm", "Benchmark matmul GFLOP/s (ReleaseFast)").dependOn(&run_bench.step);
}
