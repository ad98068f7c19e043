//! CPU feature detection, so the loader can pick the best build variant.
const std = @import("std");
const builtin = @import("builtin");

/// 1: baseline, 3: x86-64-v3 (AVX2, FMA, BMI2, F16C), 4: x86-64-v4 (AVX-512 F/BW/DQ/VL).
/// Other architectures report 1: their variant is the only one.
pub fn level() u32 {
    if (builtin.cpu.arch != .x86_64) return 1;
    const l1 = cpuid(1, 0);
    const osxsave = (l1.ecx >> 27) & 1 == 1;
    const avx = (l1.ecx >> 28) & 1 == 1;
    const fma = (l1.ecx >> 12) & 1 == 1;
    const f16c = (l1.ecx >> 29) & 1 == 1;
    const movbe = (l1.ecx >> 22) & 1 == 1;
    if (!(osxsave and avx and fma and f16c and movbe)) return 1;
    const xcr0 = xgetbv0();
    // The OS must save the YMM state (bits 1 and 2), or AVX faults.
    if (xcr0 & 0x6 != 0x6) return 1;
    if (cpuid(0, 0).eax < 7) return 1;
    const l7 = cpuid(7, 0);
    const avx2 = (l7.ebx >> 5) & 1 == 1;
    const bmi1 = (l7.ebx >> 3) & 1 == 1;
    const bmi2 = (l7.ebx >> 8) & 1 == 1;
    if (!(avx2 and bmi1 and bmi2)) return 1;
    const avx512f = (l7.ebx >> 16) & 1 == 1;
    const avx512dq = (l7.ebx >> 17) & 1 == 1;
    const avx512cd = (l7.ebx >> 28) & 1 == 1;
    const avx512bw = (l7.ebx >> 30) & 1 == 1;
    const avx512vl = (l7.ebx >> 31) & 1 == 1;
    // Opmask and ZMM state (bits 5, 6, 7) must be enabled by the OS too.
    const zmm_os = xcr0 & 0xe0 == 0xe0;
    if (avx512f and avx512dq and avx512cd and avx512bw and avx512vl and zmm_os) return 4;
    return 3;
}

/// Whether the CPU has AVX-512 BF16 (vdpbf16ps): CPUID leaf 7 subleaf 1,
/// EAX bit 5. Callers run it only in AVX-512 builds on a CPU of level 4,
/// so the ZMM state is already known to be enabled.
pub fn hasAvx512Bf16() bool {
    if (builtin.cpu.arch != .x86_64) return false;
    if (cpuid(0, 0).eax < 7) return false;
    return (cpuid(7, 1).eax >> 5) & 1 == 1;
}

/// Whether this library file was built with AVX-512 (the x86-64-v4 variant).
pub const build_avx512 = builtin.cpu.arch == .x86_64 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f);

var avx512_bf16 = std.atomic.Value(i8).init(-1);

/// hasAvx512Bf16 asked once, and only in AVX-512 builds: whether the BF16
/// instructions (vdpbf16ps, vcvtneps2bf16) that the bfloat16 kernels write
/// out may run.
pub fn avx512Bf16() bool {
    if (!build_avx512) return false;
    const known = avx512_bf16.load(.monotonic);
    if (known >= 0) return known == 1;
    const yes = hasAvx512Bf16();
    avx512_bf16.store(@intFromBool(yes), .monotonic);
    return yes;
}

const Leaf = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, sub: u32) Leaf {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [_] "={eax}" (eax),
          [_] "={ebx}" (ebx),
          [_] "={ecx}" (ecx),
          [_] "={edx}" (edx),
        : [_] "{eax}" (leaf),
          [_] "{ecx}" (sub),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

fn xgetbv0() u32 {
    var eax: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("xgetbv"
        : [_] "={eax}" (eax),
          [_] "={edx}" (edx),
        : [_] "{ecx}" (@as(u32, 0)),
    );
    return eax;
}

/// The level this build was compiled for: a variant refuses to run below it.
pub fn buildLevel() u32 {
    if (builtin.cpu.arch != .x86_64) return 1;
    const f = std.Target.x86.Feature;
    if (std.Target.x86.featureSetHas(builtin.cpu.features, f.avx512f)) return 4;
    if (std.Target.x86.featureSetHas(builtin.cpu.features, f.avx2)) return 3;
    return 1;
}
