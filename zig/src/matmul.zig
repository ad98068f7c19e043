//! Matrix multiply: C[b] = A[b] @ B[b] for a batch of row-major results.
//!
//! A: [M, K] with strides (rs_a, cs_a), B: [K, N] with strides (rs_b, cs_b), so
//! transposed operands arrive without copies. C: [M, N] contiguous.
//!
//! Floats run BLIS-style. For each (jc, pc) block, B[pc.., jc..] (KC x NC) is
//! packed into NR-wide panels and A[.., pc..] into MR-high panels (both packed
//! in parallel), then a register-tiled micro-kernel (MR x NR accumulators in
//! SIMD registers, FMA where the CPU has it) sweeps tiles of C that the threads
//! claim over both M and N. Tile sizes derive from the vector length and the
//! register count at comptime (6x16 f32 / 6x8 f64 with AVX2; with AVX-512
//! 6x64 f32, where products narrower than a panel and the recurrent layers'
//! packed weights take 12x32, and 12x16 f64). Matrix-vector shapes (M or
//! N = 1) take a dot/axpy path, and batches of small matrices run one matrix
//! per thread. Packing buffers are
//! cached between calls. A plain reference loop (`reference`) stays beside it
//! for the tests.
//!
//! float16 and bfloat16 operands compute in f32, as PyTorch's CPU kernels
//! do: they are converted a vector at a time as they are packed (never a
//! float32 copy of a whole operand), the micro-kernel is the f32 one, and
//! each C tile is rounded once when it is stored. A product deeper than one
//! pass over k (KC) accumulates in an f32 copy of C, rounded at the end.
//! Where the CPU has AVX-512 BF16 (checked at run time), bfloat16 packs
//! instead as pairs along k and the micro-kernel multiplies them with
//! vdpbf16ps, two products per lane, accumulating in f32 (as oneDNN does).
const std = @import("std");
const builtin = @import("builtin");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const cpu = @import("cpu.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, OutOfMemory };

pub const Strides = struct { a_batch: i64, a_row: i64, a_col: i64, b_batch: i64, b_row: i64, b_col: i64 };

const is_x86 = builtin.cpu.arch == .x86_64 or builtin.cpu.arch == .x86;
const has_avx512 = is_x86 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f);
const has_avx = is_x86 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx);

const has_fma = switch (builtin.cpu.arch) {
    .x86_64 => std.Target.x86.featureSetHas(builtin.cpu.features, .fma),
    .aarch64 => true,
    else => false,
};

/// SIMD registers the micro-kernel may fill: 16 on SSE/AVX2, 32 with AVX-512 and on AArch64.
pub const vector_registers = if (is_x86 and !has_avx512) 16 else 32;

pub inline fn madd(comptime V: type, a: V, b: V, c: V) V {
    return if (has_fma) @mulAdd(V, a, b, c) else a * b + c;
}

// ---------------------------------------------------------------------------
// Packing buffer cache: one buffer kept between calls (the library is called
// from one thread; a concurrent caller that finds it taken allocates its own).

const cache_limit_bytes = 64 << 20;
var cache_busy = std.atomic.Value(bool).init(false);
var cache_mem: []align(64) u8 = &.{};

const Buffer = struct {
    mem: []align(64) u8,
    cached: bool,

    fn get(bytes: usize) Error!Buffer {
        const alloc = std.heap.c_allocator;
        const want = @max(bytes, 64);
        if (want <= cache_limit_bytes and cache_busy.cmpxchgStrong(false, true, .acquire, .monotonic) == null) {
            if (cache_mem.len < want) {
                if (cache_mem.len > 0) alloc.free(cache_mem);
                cache_mem = &.{};
                // Grow with headroom so slowly rising sizes do not reallocate each call.
                const size = @min(cache_limit_bytes, @max(want, want + want / 4));
                cache_mem = alloc.alignedAlloc(u8, .@"64", size) catch {
                    cache_busy.store(false, .release);
                    return error.OutOfMemory;
                };
            }
            return .{ .mem = cache_mem[0..want], .cached = true };
        }
        const mem = alloc.alignedAlloc(u8, .@"64", want) catch return error.OutOfMemory;
        return .{ .mem = mem, .cached = false };
    }

    fn put(self: Buffer) void {
        if (self.cached) cache_busy.store(false, .release) else std.heap.c_allocator.free(self.mem);
    }
};

/// The transpose of a VL x VL block held as VL vectors (rows in, columns
/// out). Blocks of 4- and 8-byte elements filling whole 128-bit lanes take
/// the lane-wise form (lanewiseTranspose); others the perfect-shuffle
/// reference (perfectShuffleTranspose), which the tests compare it with.
pub inline fn transposeBlock(comptime VL: usize, comptime T: type, rows: [VL]@Vector(VL, T)) [VL]@Vector(VL, T) {
    comptime assert(std.math.isPowerOfTwo(VL));
    const S = @sizeOf(T);
    if (comptime (S == 4 or S == 8) and VL * S >= 16 and VL * S <= 64) return lanewiseTranspose(VL, T, rows);
    return perfectShuffleTranspose(VL, T, rows);
}

/// transposeBlock as log2(VL) rounds of interleaving row i with row i +
/// VL/2. Each round is a perfect shuffle of the index bits, so after
/// log2(VL) of them row and column bits have traded places. Plain, but the
/// interleaves cross 128-bit lanes, which x86 shuffles do not in one
/// instruction: a 16 x 16 float32 block compiled to about 450 instructions
/// with spills, where lanewiseTranspose takes 64 shuffles.
pub inline fn perfectShuffleTranspose(comptime VL: usize, comptime T: type, rows: [VL]@Vector(VL, T)) [VL]@Vector(VL, T) {
    comptime assert(std.math.isPowerOfTwo(VL));
    const V = @Vector(VL, T);
    const lo = comptime interleaveMask(VL, 0);
    const hi = comptime interleaveMask(VL, VL / 2);
    var r = rows;
    inline for (0..comptime std.math.log2_int(usize, VL)) |_| {
        var o: [VL]V = undefined;
        inline for (0..VL / 2) |i| {
            o[2 * i] = @shuffle(T, r[i], r[i + VL / 2], lo);
            o[2 * i + 1] = @shuffle(T, r[i], r[i + VL / 2], hi);
        }
        r = o;
    }
    return r;
}

/// transposeBlock in the shapes of x86's shuffles (unpcklps/unpckhps,
/// unpcklpd/unpckhpd within 128-bit lanes, then vshuff32x4 or vperm2f128
/// across them), each of which one @shuffle below compiles to. E = 16 /
/// sizeof(T) elements per lane, Ln = VL / E lanes.
///
/// 1. Each group q of E rows is transposed within every lane: afterwards
///    w[q][j] holds, in lane L, column E L + j of rows E q .. E q + E - 1
///    (float32: two rounds of unpacks, float64: one).
/// 2. Column E L + j is then lane L of w[0][j], ..., w[Ln-1][j] side by side:
///    for each j, a transpose of an Ln x Ln matrix of whole lanes (zmm: two
///    rounds of taking the even and the odd lanes of a pair; ymm: one).
///
/// 16 x 16 float32: 64 shuffles (32 and 32); 8 x 8 float64: 24.
inline fn lanewiseTranspose(comptime VL: usize, comptime T: type, rows: [VL]@Vector(VL, T)) [VL]@Vector(VL, T) {
    const V = @Vector(VL, T);
    const E = 16 / @sizeOf(T);
    const Ln = VL / E;
    comptime assert(E * Ln == VL and (E == 2 or E == 4) and (Ln == 1 or Ln == 2 or Ln == 4));
    const m = struct {
        /// Per lane: a[lane + x0], b[lane + x0], a[lane + x1], b[lane + x1] (E = 4), or a[lane + x0], b[lane + x0] (E = 2).
        fn pairs(comptime x0: usize, comptime x1: usize) [VL]i32 {
            @setEvalBranchQuota(10_000);
            var r: [VL]i32 = undefined;
            for (0..Ln) |l| {
                const b = l * E;
                if (E == 4) {
                    r[b + 0] = b + x0;
                    r[b + 1] = ~@as(i32, b + x0);
                    r[b + 2] = b + x1;
                    r[b + 3] = ~@as(i32, b + x1);
                } else {
                    r[b + 0] = b + x0;
                    r[b + 1] = ~@as(i32, b + x0);
                }
            }
            return r;
        }
        /// Per lane (E = 4): a's elements h, h + 1 then b's (unpcklpd h = 0, unpckhpd h = 2).
        fn halves(comptime h: usize) [VL]i32 {
            @setEvalBranchQuota(10_000);
            var r: [VL]i32 = undefined;
            for (0..Ln) |l| {
                const b = l * E;
                r[b + 0] = b + h;
                r[b + 1] = b + h + 1;
                r[b + 2] = ~@as(i32, b + h);
                r[b + 3] = ~@as(i32, b + h + 1);
            }
            return r;
        }
        /// Whole lanes: a's lanes p, p + 2, then b's lanes p, p + 2 (Ln = 4);
        /// a's lane p, then b's lane p (Ln = 2).
        fn lanes(comptime p: usize) [VL]i32 {
            @setEvalBranchQuota(10_000);
            var r: [VL]i32 = undefined;
            const from = if (Ln == 4) [4]usize{ p, p + 2, p, p + 2 } else [2]usize{ p, p };
            for (0..Ln) |l| {
                for (0..E) |i| {
                    const idx: i32 = @intCast(from[l] * E + i);
                    r[l * E + i] = if (l < Ln / 2) idx else ~idx;
                }
            }
            return r;
        }
    };
    const Op = enum { unpack_lo, unpack_hi, unpack_lo64, unpack_hi64, lanes_even, lanes_odd };
    const op = struct {
        /// One x86 shuffle. As inline assembly where the vector fills a
        /// ymm or zmm register: LLVM merges a chain of @shuffle into one
        /// permutation and lowers that back to element inserts and spills
        /// (a 16 x 16 float32 block: about 450 instructions either way).
        inline fn op(comptime o: Op, a: V, b: V) V {
            const bits = VL * @sizeOf(T) * 8;
            if (comptime is_x86 and ((bits == 512 and has_avx512) or (bits == 256 and has_avx))) {
                const insn = switch (o) {
                    .unpack_lo => if (E == 4) "vunpcklps" else "vunpcklpd",
                    .unpack_hi => if (E == 4) "vunpckhps" else "vunpckhpd",
                    .unpack_lo64 => "vunpcklpd",
                    .unpack_hi64 => "vunpckhpd",
                    // zmm: lanes 0, 2 of a then of b (0x88), or 1, 3 (0xdd). ymm:
                    // lane 0 of a and of b, or lane 1; with AVX-512 the EVEX
                    // vshuff32x4 (0x00, 0x03), as VEX-only vperm2f128 (0x20,
                    // 0x31) cannot name ymm16-31.
                    .lanes_even => if (bits == 512) "vshuff32x4 $0x88," else if (has_avx512) "vshuff32x4 $0x00," else "vperm2f128 $0x20,",
                    .lanes_odd => if (bits == 512) "vshuff32x4 $0xdd," else if (has_avx512) "vshuff32x4 $0x03," else "vperm2f128 $0x31,",
                };
                return asm (insn ++ " %[b], %[a], %[r]"
                    : [r] "=v" (-> V),
                    : [a] "v" (a),
                      [b] "v" (b),
                );
            }
            return @shuffle(T, a, b, switch (o) {
                .unpack_lo => if (E == 4) m.pairs(0, 1) else m.pairs(0, 0),
                .unpack_hi => if (E == 4) m.pairs(2, 3) else m.pairs(1, 1),
                .unpack_lo64 => m.halves(0),
                .unpack_hi64 => m.halves(2),
                .lanes_even => m.lanes(0),
                .lanes_odd => m.lanes(1),
            });
        }
    }.op;
    // 1. w[q][j]: lane L holds column E L + j of the group's rows.
    var w: [Ln][E]V = undefined;
    inline for (0..Ln) |q| {
        const r = rows[q * E ..][0..E];
        if (E == 4) {
            const lo01 = op(.unpack_lo, r[0], r[1]);
            const hi01 = op(.unpack_hi, r[0], r[1]);
            const lo23 = op(.unpack_lo, r[2], r[3]);
            const hi23 = op(.unpack_hi, r[2], r[3]);
            w[q][0] = op(.unpack_lo64, lo01, lo23);
            w[q][1] = op(.unpack_hi64, lo01, lo23);
            w[q][2] = op(.unpack_lo64, hi01, hi23);
            w[q][3] = op(.unpack_hi64, hi01, hi23);
        } else {
            w[q][0] = op(.unpack_lo, r[0], r[1]);
            w[q][1] = op(.unpack_hi, r[0], r[1]);
        }
    }
    // 2. Column E L + j = lane L of w[0..Ln][j].
    var out: [VL]V = undefined;
    inline for (0..E) |j| {
        if (Ln == 1) {
            out[j] = w[0][j];
        } else if (Ln == 2) {
            out[j] = op(.lanes_even, w[0][j], w[1][j]);
            out[E + j] = op(.lanes_odd, w[0][j], w[1][j]);
        } else {
            // s0 = [M00 M02 M10 M12], s1 = [M01 M03 M11 M13], s2, s3 the same of rows 2, 3.
            const s0 = op(.lanes_even, w[0][j], w[1][j]);
            const s1 = op(.lanes_odd, w[0][j], w[1][j]);
            const s2 = op(.lanes_even, w[2][j], w[3][j]);
            const s3 = op(.lanes_odd, w[2][j], w[3][j]);
            out[j] = op(.lanes_even, s0, s2);
            out[2 * E + j] = op(.lanes_odd, s0, s2);
            out[E + j] = op(.lanes_even, s1, s3);
            out[3 * E + j] = op(.lanes_odd, s1, s3);
        }
    }
    return out;
}

/// [a[from], b[from], a[from+1], b[from+1], ...] as a @shuffle mask.
fn interleaveMask(comptime VL: usize, comptime from: usize) [VL]i32 {
    var m: [VL]i32 = undefined;
    for (0..VL / 2) |j| {
        m[2 * j] = @intCast(from + j);
        m[2 * j + 1] = ~@as(i32, @intCast(from + j));
    }
    return m;
}

test "transposeBlock swaps rows and columns; the lane-wise form matches the perfect shuffles" {
    inline for (.{ f64, f32, u32, u16 }) |T| {
        inline for (.{ 2, 4, 8, 16 }) |VL| {
            var rows: [VL]@Vector(VL, T) = undefined;
            for (0..VL) |i| {
                var a: [VL]T = undefined;
                for (0..VL) |j| a[j] = if (@typeInfo(T) == .float) @floatFromInt(i * 100 + j) else @intCast(i * 100 + j);
                rows[i] = a;
            }
            const t = transposeBlock(VL, T, rows);
            const ref = perfectShuffleTranspose(VL, T, rows);
            for (0..VL) |i| {
                const ti: [VL]T = t[i];
                const ri: [VL]T = ref[i];
                for (0..VL) |j| {
                    const want: T = if (@typeInfo(T) == .float) @floatFromInt(j * 100 + i) else @intCast(j * 100 + i);
                    try std.testing.expectEqual(want, ti[j]);
                    try std.testing.expectEqual(want, ri[j]);
                }
            }
        }
    }
}

fn roundUp(x: usize, to: usize) usize {
    return (x + to - 1) / to * to;
}

/// The kernel for this target: full-width vectors (512-bit where AVX-512
/// exists, even when the target prefers 256-bit auto-vectorisation) and as many
/// micro-tile rows as the registers hold: MR * NV accumulators plus NV B
/// vectors and a broadcast.
fn Gemm(comptime T: type) type {
    return GemmFor(T, T, T);
}

/// The kernel for this target reading A and B of element type E and writing
/// C of element type C, computing in T.
fn GemmFor(comptime T: type, comptime E: type, comptime C: type) type {
    const vl = if (has_avx512) 64 / @sizeOf(T) else (std.simd.suggestVectorLength(T) orelse 4);
    // AVX-512: 6 x 4 vectors. Each k step loads NV B vectors and broadcasts
    // MR elements of A for MR * NV multiply-adds: 10 loads for 24 here
    // against 14 for 24 in 12 x 2 vectors. Measured on Ice Lake (1 thread,
    // f32): the kernel alone on panels in L1 and L2 went from 155-157 to
    // 166-172 GFLOP/s (the FMA peak is 177), and 1024^3 from 127-133 to
    // 135-141, eight runs each taking turns.
    // float32 only: float64 stays on 12 x 2 (1024^3 ran at 55-56 GFLOP/s
    // there against 62-69 in 6 x 4), as a second set of tile shapes for it
    // would cost the library's first build more than it gains.
    const wide = has_avx512 and vector_registers >= 32 and T == f32;
    const mr = if (wide) 6 else if (vector_registers >= 32) 12 else 6;
    const nv = if (wide) 4 else 2;
    comptime assert(mr * nv + nv + 1 <= vector_registers);
    return KernelFor(T, E, C, vl, mr, nv, null, false);
}

/// The kernel for narrow products where Gemm's rows are 4 vectors wide
/// (AVX-512): rows of 2 vectors, 12 of them a tile; Gemm itself elsewhere.
/// A 64-column panel of a product 32 columns wide is half padding, and small
/// products pay a tile's fixed costs twice as often in 6-row tiles: 256
/// products of 32^3 ran at 30-33 GFLOP/s in 6 x 4-vector tiles against 78-87
/// in 12 x 2 (1 thread, Ice Lake).
fn GemmNarrow(comptime T: type) type {
    const G = Gemm(T);
    return if (G.NV == 2) G else Kernel(T, G.VL, 12, 2, null);
}

/// Whether a product n columns wide runs on GemmNarrow: where Gemm's panels
/// would pad it by more than an eighth (never where GemmNarrow is Gemm).
fn narrowCols(comptime T: type, n: usize) bool {
    const G = Gemm(T);
    if (G.NV == 2) return false;
    return (roundUp(n, G.NR) - n) * 8 > n;
}

/// The bfloat16 kernel on BF16 dot products (AVX-512 builds; callers check
/// `hasBf16Dot` first), writing C of element type C (bfloat16 or f32).
fn GemmBf16Dot(comptime C: type) type {
    comptime assert(has_avx512);
    return KernelFor(f32, dt.BF16, C, 16, 12, 2, null, true);
}

/// Whether this CPU runs vdpbf16ps (cpu.avx512Bf16).
pub fn hasBf16Dot() bool {
    return has_avx512 and cpu.avx512Bf16();
}
/// Tests set this to run the converting bfloat16 kernel on a CPU with BF16.
pub var bf16_dot_disabled = false;

/// acc + (a's bfloat16 pairs) · (b's pairs), lane by lane: vdpbf16ps. The
/// instruction is written out because the build's target (x86-64-v4) does
/// not include it; it runs only where hasBf16Dot said yes.
pub inline fn dotBf16(acc: @Vector(16, f32), a: @Vector(16, u32), b: @Vector(16, u32)) @Vector(16, f32) {
    return asm ("vdpbf16ps %[b], %[a], %[acc]"
        : [acc] "=v" (-> @Vector(16, f32)),
        : [a] "v" (a),
          [b] "v" (b),
          [_] "0" (acc),
    );
}

/// The GEMM for vector length `vl` and micro-tiles of `mr` rows by `nv`
/// vectors (tests also run other targets' shapes on this one). `blocks`
/// overrides KC, MC, NC and MB (the tests use tiny blocks to reach every loop).
fn Kernel(comptime T: type, comptime vl: usize, comptime mr: usize, comptime nv: usize, comptime blocks: ?[4]usize) type {
    return KernelFor(T, T, T, vl, mr, nv, blocks, false);
}

/// `Kernel` with A and B of element type E and C of element type C (f16 or
/// bfloat16 beside an f32 T). With C narrower than T a product must fit in
/// one pass over k: C is stored once, rounded, and never read back.
/// `dot2` (bfloat16 on BF16 dot products): A and B pack as u32 pairs of
/// consecutive k, and the micro-kernel is `microDot`.
fn KernelFor(comptime T: type, comptime E: type, comptime C: type, comptime vl: usize, comptime mr: usize, comptime nv: usize, comptime blocks: ?[4]usize, comptime dot2: bool) type {
    comptime assert(E == T or T == f32);
    comptime assert(nv == 2 or (nv == 4 and !dot2));
    comptime assert(C == T or C == E);
    comptime assert(!dot2 or (E == dt.BF16 and T == f32 and vl == 16));
    return struct {
        /// A packed element: T, or with dot2 a pair of bfloat16 along k.
        const P = if (dot2) u32 else T;
        /// Bytes one k step of one packed row or column takes.
        const PB: usize = if (dot2) 2 else @sizeOf(T);
        /// Packed elements that kc steps along k take in one row or column.
        inline fn depth(kc: usize) usize {
            return if (dot2) (kc + 1) / 2 else kc;
        }
        const VL = vl;
        const V = @Vector(VL, T);
        /// Vectors per micro-tile row.
        const NV = nv;
        const NR = NV * VL;
        const MR = mr;
        /// KC: the depth of one pass over C; a packed B micro-panel (KC x NR)
        /// takes 64 KiB. Deep panels beat L1-sized ones: each pass ends by
        /// loading and storing the C tile, and the hardware prefetchers
        /// stream the panels from L2 as fast as the FMAs consume them
        /// (measured on Zen 3 with AVX2, f32, 1 thread: KC 256 -> 1024 took
        /// 512^3 from 93.6 to 95.5 GFLOP/s and 1024^3 from 94.5 to 96).
        /// k is cut into equal passes of at most KC (see kStep). The
        /// 512-bit kernels sweep B panels past an A panel held in L1 (see
        /// JB), so their A panel and a B panel stream share L1: KC 384 (a
        /// 6 x 4-vector tile's B panel takes 96 KiB and streams through, a
        /// 12 x 2-vector tile's 48 KiB).
        const KC: usize = if (blocks) |bl| bl[0] else if (JB > 0) 384 else @max(128, @min(1024, (64 << 10) / (NR * PB)));
        /// The 512-bit kernels (AVX-512, f32 and f64; not the bfloat16 dot
        /// products) run the A panels of a tile outermost: one A panel (MR x
        /// KC, 9-18 KiB) stays in L1 while the micro-kernel sweeps JB columns
        /// of B panels (480 KiB: ten of 48 KiB, or five of 96 KiB) that stay
        /// in L2 across the tile's A panels. B micro-panel outermost, the 64
        /// KiB B panel did not fit L1 and came again from L3 for each tile: measured on Ice Lake
        /// (AVX-512, two FMA units; 1 thread), 1024^3 went from 111-114 to
        /// 127-130 GFLOP/s and 2048^3 from 116-117 to 123-124. 0: B
        /// micro-panel outermost (AVX2, SSE and the dot products, tuned on
        /// Zen 3). The tests' tiny blocks sweep two B panels at a time.
        const JB: usize = if (dot2 or VL * @sizeOf(T) != 64) 0 else if (blocks != null) 2 * NR else 20 / NV * NR;
        /// MC: a packed A block (MC x KC) stays in L2 (~320 KiB, with room
        /// for a B micro-panel beside it). Each B micro-panel comes from L3
        /// once per MC rows, so a taller block halves that traffic against a
        /// 160 KiB one (the same speed on a quiet machine; L3 is shared with
        /// everything else running).
        const MC: usize = if (blocks) |bl| bl[1] else @max(MR, (320 << 10) / (KC * PB) / MR * MR);
        /// NC: a packed B block (KC x NC) stays in L3 (~4 MiB). Every MC rows
        /// read it again, while A and C stream past it: an 8 MiB block lost
        /// 5-7% at 2048^3 with another process using L3 (94-95 against
        /// 88-91 GFLOP/s, 1 thread, two runs side by side).
        const NC: usize = if (blocks) |bl| bl[2] else @max(NR, (4 << 20) / (KC * PB) / NR * NR);
        /// MB: rows of A packed at once for one (jc, pc) block (~3 MiB) where
        /// threads share the blocks. One thread packs MC rows at a time, so
        /// that the packed block is written to L2 and read from there
        /// instead of passing through L3 (measured on Ice Lake, 1 thread:
        /// packing A went from 5.3% to 3.9% of 1024^3).
        const MB: usize = if (blocks) |bl| bl[3] else @max(MC, (3 << 20) / (KC * PB) / MC * MC);
        /// Up to this many multiply-adds, rows of A contiguous along k are not
        /// packed (the tests' tiny blocks always pack, to reach every packing path).
        const direct_a_max_flops = if (blocks == null) 256 * 256 * 256 else 0;
        /// Up to this many rows, rows of A contiguous along k are not packed
        /// unless their stride is a multiple of 4 KiB (the rows would then share
        /// L1 sets with each other and evict the B panel). Measured on Zen 3:
        /// 2-4% faster at 384-512 rows with 2 threads, the same with 1; 2-3%
        /// slower at 768 rows.
        const direct_a_max_rows = if (blocks == null) 512 else 0;
        /// Up to this many rows of C, full panels of a row-major B are read
        /// in place (see Step.b_direct); each is read once per A panel. Not
        /// where B's row stride is a multiple of 4 KiB: a panel's k steps
        /// would then share one L1 set and each start a page. Measured on
        /// Ice Lake, 1 thread: [32, 1024] x [1024, 256] 45-65 -> 71-87
        /// GFLOP/s; [32, 256] x [256, 1024] (a 4 KiB stride) 53-94 -> 53-73
        /// with 2 threads, so it stays packed.
        const direct_b_max_rows = if (blocks == null) 48 else 0;
        /// Split: the most packing space the shared operand may take (A of
        /// 2048 x 2048 float32 takes 16 MiB).
        const share_max_bytes = 16 << 20;
        /// Below this many multiply-adds a single matrix runs on the calling thread.
        const parallel_min_flops = 64 * 64 * 64;
        /// Batches whose matrices are at most this big run one matrix per thread.
        const batch_parallel_max_flops = 192 * 192 * 192;

        const Args = struct {
            a: [*]const E,
            b: [*]const E,
            c: [*]C,
            m: usize,
            n: usize,
            k: usize,
            rsa: usize,
            csa: usize,
            rsb: usize,
            csb: usize,
            /// c += a @ b instead of c = a @ b (C == T only: a narrower C is
            /// stored once, rounded, and never read back).
            accumulate: bool = false,
            /// C's row stride when C is a block of a wider matrix (0: n).
            ldc: usize = 0,
            /// A packed beforehand for every pass over k (see Split.shared_a):
            /// pass pc's panels start at roundUp(m, MR) * pc elements.
            a_packed: ?[*]const P = null,
            /// B packed beforehand in the same way: pass pc's panels start
            /// at roundUp(n, NR) * pc elements.
            b_packed: ?[*]const P = null,

            fn cStride(self: *const Args) usize {
                return if (self.ldc != 0) self.ldc else self.n;
            }
        };

        // -------------------------------------------------------------------
        // Packing

        /// dst[kk * W + r] = src_r[kk * step] for r < W, kk < kc, where row r
        /// starts at base + r * rstride. Rows at or past `rows` are zero.
        inline fn packPanel(comptime W: usize, base: [*]const E, rstride: usize, step: usize, rows: usize, kc: usize, dst: [*]T) void {
            if (rows == W and rstride == 1) {
                // Each k step reads W contiguous elements.
                for (0..kc) |kk| {
                    const src = base + kk * step;
                    if (E == T) {
                        inline for (0..W) |r| dst[kk * W + r] = src[r];
                    } else if (W % VL == 0) {
                        inline for (0..W / VL) |g| (dst + kk * W + g * VL)[0..VL].* = dt.loadVec(T, E, VL, src + g * VL);
                    } else {
                        inline for (0..W) |r| dst[kk * W + r] = dt.loadOne(T, E, src[r]);
                    }
                }
            } else if (rows == W and step == 1) {
                // Each row is contiguous along k (a row-major A, or the weight
                // of a linear layer as B): load VL x VL blocks, transpose them in
                // registers and store whole vectors. W = G * VL + R: G full
                // blocks and, when R > 0, a block of R rows (padded with copies
                // of its last row) whose columns are also stored VL wide. Such a
                // store runs VL - R elements into the next k step's slots (the
                // first of a full block's): the R block is stored first and the
                // full blocks' stores overwrite them, and the next VL k steps'
                // stores those past the last one (with W < VL / 2 a store
                // runs into several). In the panel's last block, the stores
                // that would run past its end store exactly, so nothing past
                // the panel is written. One block at a time: two (NR = 32)
                // held all 32 zmm registers.
                const G = W / VL;
                const R = W % VL;
                var kk: usize = 0;
                while (kk + VL <= kc) : (kk += VL) {
                    const last = kk + VL == kc;
                    if (R > 0) {
                        var blk: [VL]V = undefined;
                        inline for (0..VL) |i| blk[i] = dt.loadVec(T, E, VL, base + (G * VL + @min(i, R - 1)) * rstride + kk);
                        const cols = transposeBlock(VL, T, blk);
                        inline for (0..VL) |j| {
                            const at = dst + (kk + j) * W + G * VL;
                            if (!last or j * W + G * VL + VL <= VL * W) {
                                at[0..VL].* = cols[j];
                            } else {
                                const a: [VL]T = cols[j];
                                at[0..R].* = a[0..R].*;
                            }
                        }
                    }
                    inline for (0..G) |g| {
                        var blk: [VL]V = undefined;
                        inline for (0..VL) |i| blk[i] = dt.loadVec(T, E, VL, base + (g * VL + i) * rstride + kk);
                        const cols = transposeBlock(VL, T, blk);
                        inline for (0..VL) |j| (dst + (kk + j) * W + g * VL)[0..VL].* = cols[j];
                    }
                }
                while (kk < kc) : (kk += 1) {
                    inline for (0..W) |r| dst[kk * W + r] = dt.loadOne(T, E, base[r * rstride + kk]);
                }
            } else {
                for (0..kc) |kk| {
                    inline for (0..W) |r| {
                        dst[kk * W + r] = if (r < rows) dt.loadOne(T, E, base[r * rstride + kk * step]) else 0;
                    }
                }
            }
        }

        /// Packs A panels [p0, p1) of the block A[i0 .. i0+mb, pc .. pc+kc].
        fn packA(args: *const Args, row0: usize, mb: usize, pc: usize, kc: usize, dst: [*]P, p0: usize, p1: usize) void {
            if (dot2) {
                for (p0..p1) |p| {
                    const ip = p * MR;
                    const base = args.a + (row0 + ip) * args.rsa + pc * args.csa;
                    packPairs(MR, base, args.rsa, args.csa, @min(MR, mb - ip), kc, dst + ip * depth(kc));
                }
                return;
            }
            var first_partial = p0;
            if (args.rsa == 1) {
                // A transposed row-major matrix (a weight gradient's xᵀ): read
                // each k row once, sequentially, across the full panels, as
                // packB does. Panel by panel, every k step would read a few
                // elements of another row, and the block's rows (kc of them,
                // far apart) fall out of L2 between neighbouring panels:
                // measured 12% on the whole 512 x 1024 x 2048 multiply.
                const full = @max(p0, @min(p1, mb / MR));
                for (0..kc) |kk| {
                    const src = args.a + row0 + (pc + kk) * args.csa;
                    for (p0..full) |p| (dst + p * MR * kc + kk * MR)[0..MR].* = dt.loadVec(T, E, MR, src + p * MR);
                }
                first_partial = full;
            }
            for (first_partial..p1) |p| {
                const ip = p * MR;
                const rows = @min(MR, mb - ip);
                const base = args.a + (row0 + ip) * args.rsa + pc * args.csa;
                packPanel(MR, base, args.rsa, args.csa, rows, kc, dst + ip * kc);
            }
        }

        /// Packs B panels [p0, p1) of the block B[pc .. pc+kc, jc .. jc+nc].
        fn packB(args: *const Args, pc: usize, jc: usize, nc: usize, kc: usize, dst: [*]P, p0: usize, p1: usize) void {
            if (dot2) {
                for (p0..p1) |p| {
                    const jp = p * NR;
                    const base = args.b + pc * args.rsb + (jc + jp) * args.csb;
                    packPairs(NR, base, args.csb, args.rsb, @min(NR, nc - jp), kc, dst + jp * depth(kc));
                }
                return;
            }
            var first_partial = p0;
            if (args.csb == 1) {
                // Row-major B: read each row once, sequentially, across the full panels.
                const full = @max(p0, @min(p1, nc / NR));
                for (0..kc) |kk| {
                    const src = args.b + (pc + kk) * args.rsb + jc;
                    for (p0..full) |p| {
                        inline for (0..NV) |v| (dst + p * NR * kc + kk * NR + v * VL)[0..VL].* = dt.loadVec(T, E, VL, src + p * NR + v * VL);
                    }
                }
                first_partial = full;
            }
            for (first_partial..p1) |p| {
                const jp = p * NR;
                const cols = @min(NR, nc - jp);
                packPanel(NR, args.b + pc * args.rsb + (jc + jp) * args.csb, args.csb, args.rsb, cols, kc, dst + jp * kc);
            }
        }

        /// The dot2 packing: dst[kp * W + r] holds elements 2kp (low half)
        /// and 2kp + 1 (high half) of row r, which starts at base + r *
        /// rstride and steps `step` along k. Rows at or past `rows`, and the
        /// high half past an odd kc, are zero.
        fn packPairs(comptime W: usize, base: [*]const E, rstride: usize, step: usize, rows: usize, kc: usize, dst: [*]u32) void {
            const h: [*]const u16 = @ptrCast(base);
            const kp_n = depth(kc);
            const full = kc / 2;
            var kp: usize = 0;
            if (rows == W and rstride == 1) {
                // Each k step holds W contiguous elements (a row-major B, a
                // transposed A): interleave two k rows a vector at a time.
                while (kp < full) : (kp += 1) {
                    const lo: @Vector(W, u32) = @as(@Vector(W, u16), (h + 2 * kp * step)[0..W].*);
                    const hi: @Vector(W, u32) = @as(@Vector(W, u16), (h + (2 * kp + 1) * step)[0..W].*);
                    (dst + kp * W)[0..W].* = lo | (hi << @splat(16));
                }
            } else if (rows == W and step == 1) {
                // Rows contiguous along k (a row-major A, a linear layer's
                // weight as B): a row's pairs are consecutive u32s. Transpose
                // 16 x 16 blocks of them; a partial block of R rows repeats
                // its last row and stores R lanes.
                const VL16 = 16;
                const G = W / VL16;
                const R = W % VL16;
                const U = @Vector(VL16, u32);
                while (kp + VL16 <= full) : (kp += VL16) {
                    var cols: [G + 1][VL16]U = undefined;
                    inline for (0..G + @intFromBool(R > 0)) |g| {
                        var blk: [VL16]U = undefined;
                        inline for (0..VL16) |i| {
                            const r = if (g < G) g * VL16 + i else G * VL16 + @min(i, R - 1);
                            blk[i] = @bitCast(@as(@Vector(2 * VL16, u16), (h + r * rstride + 2 * kp)[0 .. 2 * VL16].*));
                        }
                        cols[g] = transposeBlock(VL16, u32, blk);
                    }
                    inline for (0..VL16) |j| {
                        const row = dst + (kp + j) * W;
                        inline for (0..G) |g| (row + g * VL16)[0..VL16].* = cols[g][j];
                        if (R > 0) {
                            const a: [VL16]u32 = cols[G][j];
                            (row + G * VL16)[0..R].* = a[0..R].*;
                        }
                    }
                }
                while (kp < full) : (kp += 1) {
                    inline for (0..W) |r| {
                        const lo: u32 = h[r * rstride + 2 * kp];
                        const hi: u32 = h[r * rstride + 2 * kp + 1];
                        dst[kp * W + r] = lo | (hi << 16);
                    }
                }
            } else {
                while (kp < full) : (kp += 1) {
                    inline for (0..W) |r| {
                        if (r < rows) {
                            const lo: u32 = h[r * rstride + 2 * kp * step];
                            const hi: u32 = h[r * rstride + (2 * kp + 1) * step];
                            dst[kp * W + r] = lo | (hi << 16);
                        } else dst[kp * W + r] = 0;
                    }
                }
            }
            if (kp < kp_n) {
                // An odd kc: the last pair's high half is zero on both sides.
                assert(kp + 1 == kp_n and kc % 2 == 1);
                inline for (0..W) |r| dst[kp * W + r] = if (r < rows) h[r * rstride + 2 * kp * step] else 0;
            }
        }

        // -------------------------------------------------------------------
        // Micro-kernel

        /// The dot2 micro-kernel: c[0..rows, 0..cols] (+)= A @ B over kp
        /// packed pairs, A an MR-row panel and B an NR-column panel of pairs.
        fn microDot(kp_n: usize, a: [*]const u32, b: [*]const u32, c: [*]C, ldc: usize, rows: usize, cols: usize, accumulate: bool) void {
            comptime assert(dot2);
            assert(C == T or !accumulate);
            const U = @Vector(VL, u32);
            prefetchTile(c, ldc, rows, cols);
            var acc: [MR][NV]V = undefined;
            inline for (0..MR) |i| {
                inline for (0..NV) |v| acc[i][v] = @splat(0);
            }
            var ap = a;
            var bp = b;
            for (0..kp_n) |_| {
                var bv: [NV]U = undefined;
                inline for (0..NV) |v| bv[v] = bp[v * VL ..][0..VL].*;
                inline for (0..MR) |i| {
                    const ai: U = @splat(ap[i]);
                    inline for (0..NV) |v| acc[i][v] = dotBf16(acc[i][v], ai, bv[v]);
                }
                ap += MR;
                bp += NR;
            }
            storeTile(MR, &acc, c, ldc, rows, cols, accumulate);
        }

        /// Prefetches every cache line of c[0..rows, 0..cols] for writing.
        inline fn prefetchTile(c: [*]C, ldc: usize, rows: usize, cols: usize) void {
            const line = 64 / @sizeOf(C);
            for (0..rows) |i| {
                const row = c + i * ldc;
                var j: usize = 0;
                while (j < cols) : (j += line) @prefetch(row + j, .{ .rw = .write });
                // A row that does not start on a line boundary ends in one more.
                @prefetch(row + cols - 1, .{ .rw = .write });
            }
        }

        /// Stores (or adds) the accumulators of a tile into c[0..rows, 0..cols].
        inline fn storeTile(comptime R: usize, acc: *const [R][NV]V, c: [*]C, ldc: usize, rows: usize, cols: usize, accumulate: bool) void {
            if (rows == R and cols == NR) {
                inline for (0..R) |i| {
                    const row = c + i * ldc;
                    inline for (0..NV) |v| {
                        if (C == T and accumulate) {
                            const dst = row[v * VL ..][0..VL];
                            const old: V = dst.*;
                            dst.* = old + acc[i][v];
                        } else dt.storeVec(T, C, VL, row + v * VL, acc[i][v]);
                    }
                }
            } else {
                var tmp: [R][NR]T = undefined;
                inline for (0..R) |i| {
                    inline for (0..NV) |v| tmp[i][v * VL ..][0..VL].* = acc[i][v];
                }
                for (0..rows) |i| {
                    const row = c + i * ldc;
                    if (C == T and accumulate) {
                        for (0..cols) |j| row[j] += tmp[i][j];
                    } else {
                        for (0..cols) |j| dt.storeOne(T, C, &row[j], tmp[i][j]);
                    }
                }
            }
        }

        /// c[0..rows, 0..cols] (+)= A (MR x kc) @ b_panel (kc x NR). A is a packed
        /// panel, or with `a_packed` false rows of A (stride lda, contiguous along k).
        /// The panel's k steps are ldb elements apart: NR in a packed panel,
        /// B's row stride where full panels of a row-major B are read in place.
        fn micro(comptime a_packed: bool, kc: usize, a: [*]const T, lda: usize, b: [*]const T, ldb: usize, c: [*]C, ldc: usize, rows: usize, cols: usize, accumulate: bool) void {
            microRows(MR, a_packed, kc, a, lda, b, ldb, c, ldc, rows, cols, accumulate);
        }

        /// Rows of microShort's tiles: 8 where MR is 12, 3 where it is 6 with
        /// 4 vectors a row; MR where no shorter tile is built.
        const SR: usize = if (MR > 8) 8 else if (NV == 4) MR / 2 else MR;

        /// micro for a last tile of at most SR rows: a shorter kernel instead
        /// of MR rows of which some are dropped (M = 32 ends in 8 rows of 12,
        /// or 2 of 6: a hand-written LSTM cell's [32, 256] x [256, 1024] spent
        /// 12.5% of its FMAs on padding rows in 12-row tiles). A separate
        /// function, so that micro's own code stays as it is.
        fn microShort(comptime a_packed: bool, kc: usize, a: [*]const T, lda: usize, b: [*]const T, ldb: usize, c: [*]C, ldc: usize, rows: usize, cols: usize, accumulate: bool) void {
            microRows(SR, a_packed, kc, a, lda, b, ldb, c, ldc, rows, cols, accumulate);
        }

        /// Whether a tile of `rows` rows runs on microShort.
        inline fn short(rows: usize) bool {
            return SR < MR and rows <= SR;
        }

        /// micro with R accumulator rows (rows <= R <= MR); a packed A panel
        /// keeps its MR stride.
        inline fn microRows(comptime R: usize, comptime a_packed: bool, kc: usize, a: [*]const T, lda: usize, b: [*]const T, ldb: usize, c: [*]C, ldc: usize, rows: usize, cols: usize, accumulate: bool) void {
            comptime assert(R <= MR);
            assert(rows <= R);
            // A narrower C is stored once, never read back (see KernelFor).
            assert(C == T or !accumulate);
            const mr_ = rows;
            const nr = cols;
            // The C tile is needed after the k loop: fetch it meanwhile,
            // every cache line of its rows (a row of 4 vectors spans 4).
            prefetchTile(c, ldc, mr_, nr);
            var acc: [R][NV]V = undefined;
            inline for (0..R) |i| {
                inline for (0..NV) |v| acc[i][v] = @splat(0);
            }
            // Unpacked A: rows past `rows` read row 0 (their results are dropped).
            var arow: [R][*]const T = undefined;
            if (!a_packed) {
                inline for (0..R) |i| arow[i] = a + (if (i < mr_) i else 0) * lda;
            }
            var ap = a;
            var bp = b;
            // Unpacked A is not unrolled: unrolled, the compiler loaded U
            // consecutive k of every row at once and spilled them (48 values
            // for 12 rows), and a 256^3 multiply ran at 86 instead of 135
            // GFLOP/s where it did so.
            const U = if (a_packed) 4 else 1;
            var kk: usize = 0;
            while (kk + U <= kc) : (kk += U) {
                inline for (0..U) |u| {
                    var bv: [NV]V = undefined;
                    inline for (0..NV) |v| bv[v] = bp[u * ldb + v * VL ..][0..VL].*;
                    inline for (0..R) |i| {
                        const ai: V = @splat(if (a_packed) ap[u * MR + i] else arow[i][kk + u]);
                        inline for (0..NV) |v| acc[i][v] = madd(V, ai, bv[v], acc[i][v]);
                    }
                }
                ap += U * MR;
                bp += U * ldb;
            }
            while (kk < kc) : (kk += 1) {
                var bv: [NV]V = undefined;
                inline for (0..NV) |v| bv[v] = bp[v * VL ..][0..VL].*;
                inline for (0..R) |i| {
                    const ai: V = @splat(if (a_packed) ap[i] else arow[i][kk]);
                    inline for (0..NV) |v| acc[i][v] = madd(V, ai, bv[v], acc[i][v]);
                }
                ap += MR;
                bp += ldb;
            }
            storeTile(R, &acc, c, ldc, mr_, nr, accumulate);
        }

        // -------------------------------------------------------------------
        // Blocked driver

        /// The depth of each pass over C: k in equal passes of at most KC
        /// (a multiple of 8 where that stays within KC), so that no pass is a
        /// thin remainder whose C loads and stores cost as much as a full one.
        fn kStep(k: usize) usize {
            const passes = (k + KC - 1) / KC;
            const even = (k + passes - 1) / passes;
            return @min(KC, roundUp(even, 8));
        }

        /// Elements of packed A and packed B.
        const PackElems = struct { a: usize, b: usize };

        /// Elements of packing space one blocked multiply needs.
        fn packElems(m: usize, n: usize, k: usize) PackElems {
            const kc = @min(k, KC);
            return .{
                .a = roundUp(roundUp(@min(m, MB), MR) * depth(kc), 64 / @sizeOf(P)),
                .b = roundUp(roundUp(@min(n, NC), NR) * depth(kc), 64 / @sizeOf(P)),
            };
        }

        fn bufBytes(m: usize, n: usize, k: usize) usize {
            const e = packElems(m, n, k);
            return (e.a + e.b) * @sizeOf(P);
        }

        const Step = struct {
            args: *const Args,
            apack: [*]P,
            bpack: [*]P,
            jc: usize,
            nc: usize,
            pc: usize,
            kc: usize,
            ic0: usize,
            mb: usize,
            // Packing tasks: a_tasks over the A panels, then b_tasks over the B panels.
            a_panels: usize,
            a_tasks: usize,
            /// Small problems with rows of A contiguous along k skip packing A.
            a_direct: bool,
            /// Few rows of C with a row-major B: the micro-kernel reads B's
            /// full panels where they are, and only a last partial panel is
            /// packed (zero-padded). Packing would move all of B twice for
            /// the few times each panel is read.
            b_direct: bool,
            b_panels: usize,
            b_tasks: usize,
            // Compute tiles: m_tiles x n_tiles, each a near-equal share of
            // the A panels and of the B panels.
            m_tiles: usize,
            n_tiles: usize,
        };

        fn packTask(s: *const Step, chunk: u32) void {
            const t: usize = chunk;
            if (t < s.a_tasks) {
                const p0 = s.a_panels * t / s.a_tasks;
                const p1 = s.a_panels * (t + 1) / s.a_tasks;
                packA(s.args, s.ic0, s.mb, s.pc, s.kc, s.apack, p0, p1);
            } else {
                const u = t - s.a_tasks;
                // Read in place, B's full panels need no packing.
                const first = if (s.b_direct) s.nc / NR else 0;
                const p0 = first + (s.b_panels - first) * u / s.b_tasks;
                const p1 = first + (s.b_panels - first) * (u + 1) / s.b_tasks;
                packB(s.args, s.pc, s.jc, s.nc, s.kc, s.bpack, p0, p1);
            }
        }

        fn computeTask(s: *const Step, chunk: u32) void {
            const im = @as(usize, chunk) / s.n_tiles;
            const in = @as(usize, chunk) % s.n_tiles;
            const r0 = s.a_panels * im / s.m_tiles * MR;
            const r1 = @min(s.mb, s.a_panels * (im + 1) / s.m_tiles * MR);
            const c0 = s.b_panels * in / s.n_tiles * NR;
            const c1 = @min(s.nc, s.b_panels * (in + 1) / s.n_tiles * NR);
            const accumulate = s.pc != 0 or s.args.accumulate;
            if (JB > 0) {
                // A panel in L1 across a sweep of B panels (JB columns in L2); see JB.
                var jb = c0;
                while (jb < c1) : (jb += JB) {
                    const je = @min(c1, jb + JB);
                    var ir = r0;
                    while (ir < r1) : (ir += MR) {
                        var jr = jb;
                        while (jr < je) : (jr += NR) tile(s, ir, @min(MR, r1 - ir), jr, @min(NR, je - jr), accumulate);
                    }
                }
            } else {
                // B micro-panel in L1 across the A panels of this tile (A block in L2).
                var jr = c0;
                while (jr < c1) : (jr += NR) {
                    var ir = r0;
                    while (ir < r1) : (ir += MR) tile(s, ir, @min(MR, r1 - ir), jr, @min(NR, c1 - jr), accumulate);
                }
            }
        }

        /// The micro-kernel on C's rows ir.. and columns jr.. of the step's block.
        inline fn tile(s: *const Step, ir: usize, rows: usize, jr: usize, nr: usize, accumulate: bool) void {
            const args = s.args;
            const ldc = args.cStride();
            const cp = args.c + (s.ic0 + ir) * ldc + s.jc + jr;
            if (dot2) {
                const d = depth(s.kc);
                return microDot(d, s.apack + ir * d, s.bpack + jr * d, cp, ldc, rows, nr, accumulate);
            }
            // A full panel of a B read in place (see Step.b_direct), else the packed one.
            const b_in_place = E == T and s.b_direct and nr == NR;
            const bp = if (b_in_place) args.b + s.pc * args.rsb + s.jc + jr else s.bpack + jr * s.kc;
            const ldb = if (b_in_place) args.rsb else NR;
            if (E == T and s.a_direct) {
                const ap = args.a + (s.ic0 + ir) * args.rsa + s.pc;
                if (short(rows)) {
                    microShort(false, s.kc, ap, args.rsa, bp, ldb, cp, ldc, rows, nr, accumulate);
                } else micro(false, s.kc, ap, args.rsa, bp, ldb, cp, ldc, rows, nr, accumulate);
            } else if (short(rows)) {
                microShort(true, s.kc, s.apack + ir * s.kc, 0, bp, ldb, cp, ldc, rows, nr, accumulate);
            } else {
                micro(true, s.kc, s.apack + ir * s.kc, 0, bp, ldb, cp, ldc, rows, nr, accumulate);
            }
        }

        /// Whether `blocked` reads rows of A in place instead of packing them.
        fn aDirect(args: *const Args) bool {
            return E == T and args.a_packed == null and args.csa == 1 and (args.m * args.n * args.k <= direct_a_max_flops or
                (args.m <= direct_a_max_rows and (args.rsa * @sizeOf(T)) % 4096 != 0));
        }

        /// Whether `blocked` reads B's full panels in place (see Step.b_direct).
        fn bDirect(args: *const Args) bool {
            return E == T and !dot2 and args.b_packed == null and args.csb == 1 and args.m <= direct_b_max_rows and (args.rsb * @sizeOf(T)) % 4096 != 0;
        }

        /// Packing space `blocked` needs for `args`: none for an operand
        /// packed beforehand.
        fn ownPackElems(args: *const Args) PackElems {
            return packElems(if (args.a_packed != null) 0 else args.m, if (args.b_packed != null) 0 else args.n, args.k);
        }

        /// The blocked multiply on packing space `mem` (ownPackElems).
        /// With `parallel` false it never touches the pool (safe inside a pool task).
        fn blocked(args: *const Args, mem: []align(64) u8, parallel: bool) void {
            const e = ownPackElems(args);
            const base: [*]P = @ptrCast(mem.ptr);
            const apack = base;
            const bpack = base + e.a;
            const threads: usize = if (parallel) pool.numThreads() else 1;
            // Unpacked A feeds the micro-kernel as it is: only in the compute type.
            const a_direct = aDirect(args);
            const b_direct = bDirect(args);
            // A is packed here unless read in place or packed beforehand.
            const pack_a = !a_direct and args.a_packed == null;
            // Rows of A packed per step (see MB).
            const mb_step: usize = if (threads > 1) MB else MC;
            var jc: usize = 0;
            while (jc < args.n) : (jc += NC) {
                const nc: usize = @min(NC, args.n - jc);
                var pc: usize = 0;
                const kstep = kStep(args.k);
                while (pc < args.k) : (pc += kstep) {
                    const kc: usize = @min(kstep, args.k - pc);
                    var ic0: usize = 0;
                    while (ic0 < args.m) : (ic0 += mb_step) {
                        const mb: usize = @min(mb_step, args.m - ic0);
                        const b_packed = if (b_direct) (nc % NR != 0) else true;
                        var s = Step{
                            .args = args,
                            .apack = apack,
                            .bpack = bpack,
                            .jc = jc,
                            .nc = nc,
                            .pc = pc,
                            .kc = kc,
                            .ic0 = ic0,
                            .mb = mb,
                            .a_panels = (mb + MR - 1) / MR,
                            .a_tasks = if (pack_a) 1 else 0,
                            .a_direct = a_direct,
                            .b_direct = b_direct,
                            .b_panels = (nc + NR - 1) / NR,
                            .b_tasks = if (ic0 == 0 and b_packed and args.b_packed == null) 1 else 0,
                            .m_tiles = 0,
                            .n_tiles = 0,
                        };
                        // Tiles: MC-row blocks, split over N too until every
                        // thread has a few, and as many tiles as make an equal
                        // count per thread (tiles are claimed as threads free up,
                        // so a thread with one tile more would end each step last).
                        var m_tiles: usize = (mb + MC - 1) / MC;
                        var n_tiles: usize = 1;
                        if (threads > 1) {
                            const want = 4 * threads;
                            if (m_tiles < want) n_tiles = @min(s.b_panels, (want + m_tiles - 1) / m_tiles);
                            while ((m_tiles * n_tiles) % threads != 0 and m_tiles < s.a_panels) m_tiles += 1;
                            if (pack_a) s.a_tasks = @min(s.a_panels, 2 * threads);
                            if (s.b_tasks > 0 and !b_direct) s.b_tasks = @min(s.b_panels, 2 * threads);
                        }
                        m_tiles = @min(m_tiles, s.a_panels);
                        if (args.a_packed) |ap| s.apack = @constCast(ap + roundUp(args.m, MR) * pc + ic0 * kc);
                        if (args.b_packed) |bp| s.bpack = @constCast(bp + roundUp(args.n, NR) * pc + jc * kc);
                        s.m_tiles = m_tiles;
                        s.n_tiles = n_tiles;
                        const pack_chunks: u32 = @intCast(s.a_tasks + s.b_tasks);
                        const tiles: u32 = @intCast(m_tiles * n_tiles);
                        if (threads > 1) {
                            const sp: *const Step = &s;
                            pool.run(pack_chunks, sp, packTask);
                            pool.run(tiles, sp, computeTask);
                        } else {
                            for (0..pack_chunks) |t| packTask(&s, @intCast(t));
                            for (0..tiles) |t| computeTask(&s, @intCast(t));
                        }
                    }
                }
            }
        }

        // -------------------------------------------------------------------
        // Matrix-vector: y[i] = sum_k X[i, k] v[k] for i < len, y contiguous.

        const Gemv = struct {
            y: [*]C,
            len: usize,
            k: usize,
            x: [*]const E,
            xr: usize,
            xc: usize,
            v: [*]const E,
            vs: usize,
            /// Rows per chunk when split over threads (a multiple of 4 * VL).
            grain: usize,
            /// y += X v instead of y = X v (C == T only).
            accumulate: bool,

            inline fn put(g: *const Gemv, i: usize, v: T) void {
                if (C == T and g.accumulate) g.y[i] += v else dt.storeOne(T, C, &g.y[i], v);
            }

            inline fn putVec(g: *const Gemv, i: usize, v: V) void {
                if (C == T and g.accumulate) {
                    const old: V = (g.y + i)[0..VL].*;
                    (g.y + i)[0..VL].* = old + v;
                } else dt.storeVec(T, C, VL, g.y + i, v);
            }
        };

        fn dot(x: [*]const E, v: [*]const E, k: usize) T {
            var acc: [4]V = @splat(@splat(0));
            var kk: usize = 0;
            while (kk + 4 * VL <= k) : (kk += 4 * VL) {
                inline for (0..4) |q| {
                    const xv: V = dt.loadVec(T, E, VL, x + kk + q * VL);
                    const vv: V = dt.loadVec(T, E, VL, v + kk + q * VL);
                    acc[q] = madd(V, xv, vv, acc[q]);
                }
            }
            while (kk + VL <= k) : (kk += VL) {
                const xv: V = dt.loadVec(T, E, VL, x + kk);
                const vv: V = dt.loadVec(T, E, VL, v + kk);
                acc[0] = madd(V, xv, vv, acc[0]);
            }
            var s: T = @reduce(.Add, (acc[0] + acc[1]) + (acc[2] + acc[3]));
            while (kk < k) : (kk += 1) s += dt.loadOne(T, E, x[kk]) * dt.loadOne(T, E, v[kk]);
            return s;
        }

        fn gemvRange(g: *const Gemv, lo: usize, hi: usize) void {
            if (g.xc == 1 and g.vs == 1) {
                for (lo..hi) |i| g.put(i, dot(g.x + i * g.xr, g.v, g.k));
            } else if (g.xr == 1) {
                // Columns of X are contiguous: accumulate 4 vectors of y over k.
                var i = lo;
                while (i + 4 * VL <= hi) : (i += 4 * VL) {
                    var acc: [4]V = @splat(@splat(0));
                    for (0..g.k) |kk| {
                        const s: V = @splat(dt.loadOne(T, E, g.v[kk * g.vs]));
                        const col = g.x + kk * g.xc + i;
                        inline for (0..4) |q| acc[q] = madd(V, s, dt.loadVec(T, E, VL, col + q * VL), acc[q]);
                    }
                    inline for (0..4) |q| g.putVec(i + q * VL, acc[q]);
                }
                while (i < hi) : (i += 1) {
                    var s: T = 0;
                    for (0..g.k) |kk| s += dt.loadOne(T, E, g.x[i + kk * g.xc]) * dt.loadOne(T, E, g.v[kk * g.vs]);
                    g.put(i, s);
                }
            } else {
                for (lo..hi) |i| {
                    var s: T = 0;
                    for (0..g.k) |kk| s += dt.loadOne(T, E, g.x[i * g.xr + kk * g.xc]) * dt.loadOne(T, E, g.v[kk * g.vs]);
                    g.put(i, s);
                }
            }
        }

        fn gemvTask(g: *const Gemv, chunk: u32) void {
            const lo = @as(usize, chunk) * g.grain;
            gemvRange(g, lo, @min(g.len, lo + g.grain));
        }

        fn gemv(args: *const Args, parallel: bool) void {
            const g: Gemv = if (args.m == 1)
                .{ .y = args.c, .len = args.n, .k = args.k, .x = args.b, .xr = args.csb, .xc = args.rsb, .v = args.a, .vs = args.csa, .grain = 0, .accumulate = args.accumulate }
            else
                .{ .y = args.c, .len = args.m, .k = args.k, .x = args.a, .xr = args.rsa, .xc = args.csa, .v = args.b, .vs = args.rsb, .grain = 0, .accumulate = args.accumulate };
            const threads: usize = if (parallel) pool.numThreads() else 1;
            if (threads == 1 or g.len * g.k < 1 << 16 or g.len < 8 * VL) {
                gemvRange(&g, 0, g.len);
                return;
            }
            var gp = g;
            const chunks = @min(4 * threads, g.len / (4 * VL));
            gp.grain = roundUp((g.len + chunks - 1) / chunks, 4 * VL);
            const gpp: *const Gemv = &gp;
            pool.run(@intCast((g.len + gp.grain - 1) / gp.grain), gpp, gemvTask);
        }

        // -------------------------------------------------------------------
        // Entry points

        /// One matrix on packing space `mem` (bufBytes bytes); `parallel` as in `blocked`.
        fn runWith(args: *const Args, mem: []align(64) u8, parallel: bool) void {
            if (args.m == 0 or args.n == 0) return;
            if (args.k == 0) {
                // An empty sum: C = 0, or C unchanged when accumulating.
                if (!args.accumulate) @memset(args.c[0 .. args.m * args.n], std.mem.zeroes(C));
            } else if (args.m == 1 or args.n == 1) {
                gemv(args, parallel);
            } else {
                blocked(args, mem, parallel and args.m * args.n * args.k >= parallel_min_flops);
            }
        }

        fn needsBuffer(m: usize, n: usize, k: usize) bool {
            return m > 1 and n > 1 and k > 0;
        }

        fn run(args: *const Args) Error!void {
            if (!needsBuffer(args.m, args.n, args.k)) return runWith(args, &.{}, true);
            const threads: usize = pool.numThreads();
            if (threads > 1 and args.m * args.n * args.k >= parallel_min_flops) {
                if (Split.plan(args, threads)) |plan| return runSplit(args, plan);
            }
            const buf = try Buffer.get(bufBytes(args.m, args.n, args.k));
            defer buf.put();
            runWith(args, buf.mem, true);
        }

        // -------------------------------------------------------------------
        // One matrix over threads, each on its own part of C

        /// Each part of C's columns (or of its rows), one or two a thread, is
        /// a serial blocked product in its own packing space (the operand all
        /// parts read is packed once beforehand, see shared_a). Apart from
        /// that operand, nothing one part packs is read by another, and the
        /// joins after it and at the end are the only synchronisation. Where cores
        /// are far apart (virtual CPUs on different dies, where a cache line
        /// takes 400 ns instead of 80 to cross), packed blocks shared between
        /// threads and a barrier after each block cost 10-15% of a large
        /// product; packing the other operand twice costs 1-2%. `blocked` with
        /// shared blocks remains for products too narrow to split.
        const Split = struct {
            args: *const Args,
            /// Parts are column blocks (A packed by every part) or row blocks
            /// (B packed by every part): whichever repeats the smaller operand.
            by_cols: bool,
            parts: usize,
            /// Panels (NR columns or MR rows) to share out.
            panels: usize,
            mem: []align(64) u8 = &.{},
            per_part: usize = 0,
            /// Column parts: A packed once for all of them, each part packing
            /// a share of its panels for every pass over k before any part
            /// multiplies (null: every part packs all of A itself). One join
            /// more per product, where shared blocks took one per block, and
            /// the operand is read and packed once instead of once per part:
            /// measured on Ice Lake with 2 threads (each packing all of A cost
            /// 10% of 1024^3), 1024^3 and 2048^3 went from 210-240 and 231-251
            /// to 218-252 and 249-274 GFLOP/s, three runs taking turns.
            shared_a: ?[*]P = null,
            /// Row parts: B packed once in the same way.
            shared_b: ?[*]P = null,

            /// Parts need at least this many panels each, or the scheme
            /// with shared blocks runs instead.
            const min_panels = 4;

            fn plan(args: *const Args, threads: usize) ?Split {
                const col_panels = (args.n + NR - 1) / NR;
                const row_panels = (args.m + MR - 1) / MR;
                // The wider side, or the other where the wider one has too
                // few panels (256 columns are four 64-column panels).
                var by_cols = args.n >= args.m;
                if ((if (by_cols) col_panels else row_panels) < min_panels * threads) by_cols = !by_cols;
                const panels = if (by_cols) col_panels else row_panels;
                if (panels < min_panels * threads) return null;
                // Two parts a thread where there are panels enough, claimed
                // as threads free up: where another process takes turns on
                // one of the cores, a thread with a fixed half finishes
                // last. Measured with 2 threads and a busy process on one
                // core: 1024^3 went from 107-139 to 130-167 GFLOP/s
                // (medians of five), 2048^3 from 129 to 144; on quiet cores
                // 1024^3 is the same (267-283 against 274-281) and 2048^3 4%
                // slower (232 against 242: each part reads the shared A).
                const parts = if (panels >= min_panels * 2 * threads) 2 * threads else threads;
                return .{ .args = args, .by_cols = by_cols, .parts = parts, .panels = panels };
            }

            fn range(sp: *const Split, part: usize) struct { usize, usize } {
                const w: usize = if (sp.by_cols) NR else MR;
                const len = if (sp.by_cols) sp.args.n else sp.args.m;
                const lo = sp.panels * part / sp.parts * w;
                const hi = @min(len, sp.panels * (part + 1) / sp.parts * w);
                return .{ lo, hi };
            }

            fn sub(sp: *const Split, part: usize) Args {
                const lo, const hi = sp.range(part);
                var a = sp.args.*;
                a.ldc = sp.args.cStride();
                if (sp.by_cols) {
                    a.b = sp.args.b + lo * sp.args.csb;
                    a.c = sp.args.c + lo;
                    a.n = hi - lo;
                } else {
                    a.a = sp.args.a + lo * sp.args.rsa;
                    a.c = sp.args.c + lo * a.ldc;
                    a.m = hi - lo;
                }
                return a;
            }

            /// Part `chunk`'s share of the shared operand's panels, packed
            /// for every pass over k.
            fn packTaskShared(sp: *const Split, chunk: u32) void {
                const part: usize = chunk;
                const args = sp.args;
                const len = if (sp.by_cols) args.m else args.n;
                const w: usize = if (sp.by_cols) MR else NR;
                const panels = (len + w - 1) / w;
                const p0 = panels * part / sp.parts;
                const p1 = panels * (part + 1) / sp.parts;
                const kstep = kStep(args.k);
                var pc: usize = 0;
                while (pc < args.k) : (pc += kstep) {
                    const kc = @min(kstep, args.k - pc);
                    if (sp.shared_a) |dst| packA(args, 0, args.m, pc, kc, dst + roundUp(args.m, MR) * pc, p0, p1);
                    if (sp.shared_b) |dst| packB(args, pc, 0, args.n, kc, dst + roundUp(args.n, NR) * pc, p0, p1);
                }
            }

            fn task(sp: *const Split, chunk: u32) void {
                const part: usize = chunk;
                assert(part < sp.parts);
                var a = sp.sub(part);
                if (sp.shared_a) |ap| a.a_packed = ap;
                if (sp.shared_b) |bp| a.b_packed = bp;
                const e = ownPackElems(&a);
                assert(a.m > 0 and a.n > 0 and (e.a + e.b) * @sizeOf(P) <= sp.per_part);
                const mem: []align(64) u8 = @alignCast(sp.mem[part * sp.per_part ..][0..sp.per_part]);
                blocked(&a, mem, false);
            }
        };

        fn runSplit(args: *const Args, plan: Split) Error!void {
            var sp = plan;
            assert(sp.parts >= 2 and sp.panels >= Split.min_panels * sp.parts);
            // Every part gets packing space for the widest one.
            var widest: usize = 0;
            for (0..sp.parts) |p| {
                const lo, const hi = sp.range(p);
                widest = @max(widest, hi - lo);
            }
            // The operand every part would pack is packed once, shared
            // (see Split.shared_a), unless the parts read it in place or it
            // would take more than share_max_bytes.
            const sub0 = sp.sub(0);
            const shared_elems = if (sp.by_cols) roundUp(args.m, MR) * args.k else roundUp(args.n, NR) * args.k;
            const shared_bytes = roundUp(shared_elems * @sizeOf(P), 64);
            const share = !dot2 and shared_bytes <= share_max_bytes and
                (if (sp.by_cols) !aDirect(&sub0) else !bDirect(&sub0));
            // A part packs only the operand it does not share.
            const m = if (!sp.by_cols) widest else if (share) 0 else args.m;
            const n = if (sp.by_cols) widest else if (share) 0 else args.n;
            sp.per_part = roundUp(bufBytes(m, n, args.k), 64);
            const buf = try Buffer.get(sp.per_part * sp.parts + (if (share) shared_bytes else 0));
            defer buf.put();
            sp.mem = buf.mem;
            if (share) {
                const at: [*]P = @ptrCast(@alignCast(buf.mem.ptr + sp.per_part * sp.parts));
                if (sp.by_cols) sp.shared_a = at else sp.shared_b = at;
            }
            const spp: *const Split = &sp;
            if (share) pool.run(@intCast(sp.parts), spp, Split.packTaskShared);
            pool.run(@intCast(sp.parts), spp, Split.task);
        }

        const Batch = struct {
            a: [*]const E,
            b: [*]const E,
            c: [*]C,
            batch: usize,
            m: usize,
            n: usize,
            k: usize,
            s: Strides,
            mem: []align(64) u8,
            per_task: usize,
            tasks: usize,
            accumulate: bool,
        };

        fn argsAt(bt: *const Batch, bi: usize) Args {
            const ab: isize = @intCast(bi);
            return .{
                .a = bt.a + @as(usize, @intCast(ab * bt.s.a_batch)),
                .b = bt.b + @as(usize, @intCast(ab * bt.s.b_batch)),
                .c = bt.c + bi * bt.m * bt.n,
                .m = bt.m,
                .n = bt.n,
                .k = bt.k,
                .rsa = @intCast(bt.s.a_row),
                .csa = @intCast(bt.s.a_col),
                .rsb = @intCast(bt.s.b_row),
                .csb = @intCast(bt.s.b_col),
                .accumulate = bt.accumulate,
            };
        }

        fn batchTask(bt: *const Batch, chunk: u32) void {
            const t: usize = chunk;
            const mem: []align(64) u8 = @alignCast(bt.mem[t * bt.per_task ..][0..bt.per_task]);
            for (bt.batch * t / bt.tasks..bt.batch * (t + 1) / bt.tasks) |bi| {
                const args = argsAt(bt, bi);
                runWith(&args, mem, false);
            }
        }

        /// C[b] = A[b] @ B[b], or with `accumulate` C[b] += A[b] @ B[b] (C == T only).
        fn runBatch(a: [*]const E, b: [*]const E, c: [*]C, batch: usize, m: usize, n: usize, k: usize, s: Strides, accumulate: bool) Error!void {
            assert(C == T or !accumulate);
            var bt = Batch{ .a = a, .b = b, .c = c, .batch = batch, .m = m, .n = n, .k = k, .s = s, .mem = &.{}, .per_task = 0, .tasks = 1, .accumulate = accumulate };
            const threads: usize = pool.numThreads();
            if (batch > 1 and threads > 1 and m * n * k <= batch_parallel_max_flops) {
                // Small matrices: one thread per matrix, each with its own packing space.
                bt.tasks = @min(batch, threads);
                bt.per_task = if (needsBuffer(m, n, k)) roundUp(bufBytes(m, n, k), 64) else 0;
                const buf = try Buffer.get(bt.per_task * bt.tasks);
                defer buf.put();
                bt.mem = buf.mem;
                const btp: *const Batch = &bt;
                pool.run(@intCast(bt.tasks), btp, batchTask);
                return;
            }
            for (0..batch) |bi| {
                const args = argsAt(&bt, bi);
                try run(&args);
            }
        }
    };
}

/// A B operand packed once and multiplied many times: the hidden-to-hidden
/// weights of a recurrent layer, read at every time step. Packing B costs as
/// much memory traffic as a small step's whole multiply, so it is done once
/// per layer call. The column panels (NR wide, `panelWidth`) may come in any
/// order (`col_of` maps panel p's first column), so that a thread's columns
/// can be the four gates of its own hidden units; every panel holds all of k,
/// in passes of at most KC.
pub fn PackedB(comptime T: type) type {
    comptime assert(dt.isFloat(T));
    // Tiles of 2 vectors a row, as the other targets' Gemm: with Gemm's 4
    // (AVX-512), a batch of 32 ran in 4-row tiles, and an LSTM layer (b32
    // t64 h256, forward and backward, 1 thread, Ice Lake) took 62-78 ms
    // against 64-68.
    const G = GemmNarrow(T);
    // A shorter tile of the same panel width, for row counts that the full
    // height splits badly: 32 rows (a recurrent layer's batch) take three
    // 12-row tiles, 36 rows of work, or four 8-row tiles, 32 (six 6-row
    // tiles or eight 4-row tiles with 4-vector rows). The unpacked-A
    // kernel also keeps its row pointers in registers at 8 rows.
    const S = Kernel(T, G.VL, @max(1, G.MR * 2 / 3), G.NV, null);
    comptime assert(S.NR == G.NR and S.KC == G.KC);
    return struct {
        const Self = @This();
        /// Columns per panel.
        pub const panel_width: usize = G.NR;
        /// Rows of A per micro-tile.
        pub const tile_rows: usize = G.MR;
        /// Lanes of the kernel's vectors: full width where AVX-512 exists, so
        /// the elementwise work beside a multiply may use them too.
        pub const vector_len: usize = G.VL;

        data: [*]T,
        panels: usize,
        k: usize,
        kstep: usize,

        /// Elements of packing space for `panels` panels over depth k.
        pub fn elems(panels: usize, k: usize) usize {
            return panels * G.NR * k;
        }

        /// Packs panel p of `panels`: the `width[p]` (<= NR) columns of B that
        /// start at column `col_of(p)`; B: [k, n] with strides (rsb, csb).
        /// Columns past the width are zero.
        pub fn pack(mem: []T, b: [*]const T, rsb: usize, csb: usize, k: usize, panels: usize, ctx: anytype, comptime col_of: fn (@TypeOf(ctx), usize) [2]usize) Self {
            assert(mem.len >= elems(panels, k));
            const kstep = G.kStep(k);
            const self = Self{ .data = mem.ptr, .panels = panels, .k = k, .kstep = kstep };
            for (0..panels) |p| self.packPanel(b, rsb, csb, p, col_of(ctx, p));
            return self;
        }

        fn packPanel(self: Self, b: [*]const T, rsb: usize, csb: usize, p: usize, col: [2]usize) void {
            assert(col[1] <= G.NR);
            var pc: usize = 0;
            while (pc < self.k) : (pc += self.kstep) {
                const kc = @min(self.kstep, self.k - pc);
                G.packPanel(G.NR, b + pc * rsb + col[0] * csb, csb, rsb, col[1], kc, self.panelAt(p, pc));
            }
        }

        fn panelAt(self: Self, p: usize, pc: usize) [*]T {
            // Passes of one panel are consecutive: pass pc starts after pc rows.
            return self.data + p * G.NR * self.k + pc * G.NR;
        }

        /// Whether m rows take fewer padded rows in the short tiles.
        fn short(m: usize) bool {
            const full = (m + G.MR - 1) / G.MR * G.MR;
            const part = (m + S.MR - 1) / S.MR * S.MR;
            return part < full;
        }

        fn tiles(comptime K: type, m: usize, kc: usize, a: [*]const T, lda: usize, panel: [*]const T, c: [*]T, ldc: usize, accumulate: bool) void {
            var i: usize = 0;
            while (i < m) : (i += K.MR) {
                K.micro(false, kc, a + i * lda, lda, panel, K.NR, c + i * ldc, ldc, @min(K.MR, m - i), K.NR, accumulate);
            }
        }

        /// c[0..m, panel j's columns] = a @ B[:, panels p0..p1), panel j of the
        /// range stored at c + (j - p0) * NR (row stride ldc). a: [m, k] with
        /// rows contiguous along k (row stride lda). Single-threaded: callers
        /// split panels over the pool.
        pub fn mul(self: Self, a: [*]const T, lda: usize, m: usize, c: [*]T, ldc: usize, p0: usize, p1: usize) void {
            assert(p0 <= p1 and p1 <= self.panels);
            var pc: usize = 0;
            while (pc < self.k) : (pc += self.kstep) {
                const kc = @min(self.kstep, self.k - pc);
                for (p0..p1) |p| {
                    if (short(m)) {
                        tiles(S, m, kc, a + pc, lda, self.panelAt(p, pc), c + (p - p0) * G.NR, ldc, pc != 0);
                    } else {
                        tiles(G, m, kc, a + pc, lda, self.panelAt(p, pc), c + (p - p0) * G.NR, ldc, pc != 0);
                    }
                }
            }
        }
    };
}

/// A single-threaded float multiply for callers that are already inside a
/// pool task (they split the work themselves): c = a @ b, c: [m, n]
/// contiguous, a and b strided as in `Args`. `mem` is packing space of at
/// least `serialBufBytes(T, m, n, k)` bytes.
pub fn serial(comptime T: type, a: [*]const T, b: [*]const T, c: [*]T, m: usize, n: usize, k: usize, rsa: usize, csa: usize, rsb: usize, csb: usize, mem: []align(64) u8) void {
    comptime assert(dt.isFloat(T));
    assert(mem.len >= serialBufBytes(T, m, n, k));
    if (narrowCols(T, n)) return serialOn(T, GemmNarrow(T), a, b, c, m, n, k, rsa, csa, rsb, csb, mem, false);
    serialOn(T, Gemm(T), a, b, c, m, n, k, rsa, csa, rsb, csb, mem, false);
}

/// `serial` (or with `accumulate` `serialAccumulate`) on kernel G.
fn serialOn(comptime T: type, comptime G: type, a: [*]const T, b: [*]const T, c: [*]T, m: usize, n: usize, k: usize, rsa: usize, csa: usize, rsb: usize, csb: usize, mem: []align(64) u8, accumulate: bool) void {
    const args = G.Args{ .a = a, .b = b, .c = c, .m = m, .n = n, .k = k, .rsa = rsa, .csa = csa, .rsb = rsb, .csb = csb, .accumulate = accumulate };
    if (accumulate) G.blocked(&args, mem, false) else G.runWith(&args, mem, false);
}

/// `serial` adding into c: c += a @ b. Only for m, n > 1 and k > 0 (the
/// blocked path; the matrix-vector path overwrites).
pub fn serialAccumulate(comptime T: type, a: [*]const T, b: [*]const T, c: [*]T, m: usize, n: usize, k: usize, rsa: usize, csa: usize, rsb: usize, csb: usize, mem: []align(64) u8) void {
    comptime assert(dt.isFloat(T));
    assert(m > 1 and n > 1 and k > 0);
    assert(mem.len >= serialBufBytes(T, m, n, k));
    if (narrowCols(T, n)) return serialOn(T, GemmNarrow(T), a, b, c, m, n, k, rsa, csa, rsb, csb, mem, true);
    serialOn(T, Gemm(T), a, b, c, m, n, k, rsa, csa, rsb, csb, mem, true);
}

/// Packing space `serial` needs for an [m, k] @ [k, n] multiply.
pub fn serialBufBytes(comptime T: type, m: usize, n: usize, k: usize) usize {
    if (!Gemm(T).needsBuffer(m, n, k)) return 0;
    return roundUp(if (narrowCols(T, n)) GemmNarrow(T).bufBytes(m, n, k) else Gemm(T).bufBytes(m, n, k), 64);
}

/// The plain triple loop, in f64 for floats: the reference the tests compare with.
pub fn reference(comptime T: type, a: [*]const T, b: [*]const T, c: [*]T, m: usize, n: usize, k: usize, rsa: usize, csa: usize, rsb: usize, csb: usize) void {
    for (0..m) |i| {
        for (0..n) |j| {
            if (comptime dt.isFloat(T)) {
                var s: f64 = 0;
                for (0..k) |kk| s += @as(f64, a[i * rsa + kk * csa]) * @as(f64, b[kk * rsb + j * csb]);
                c[i * n + j] = @floatCast(s);
            } else {
                var s: T = 0;
                for (0..k) |kk| s +%= a[i * rsa + kk * csa] *% b[kk * rsb + j * csb];
                c[i * n + j] = s;
            }
        }
    }
}

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

/// C = A @ B per batch, or with `accumulate` C += A @ B (float32 and
/// float64 only: a weight's gradient summed over the uses of the weight
/// goes into its sum without a product of its own and an add after).
pub fn matmul(dtype: DType, a: [*]u8, aoff: i64, b: [*]u8, boff: i64, c: [*]u8, coff: i64, batch: usize, m: usize, n: usize, k: usize, s: Strides, accumulate: bool) Error!void {
    if (accumulate and dtype != .float32 and dtype != .float64) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .int64, .int32, .int16, .int8, .uint8 => |D| {
            const T = dt.Storage(D);
            const A = ptr(T, a, aoff);
            const B = ptr(T, b, boff);
            const C = ptr(T, c, coff);
            if (comptime dt.isFloat(T)) {
                if (narrowCols(T, n)) return GemmNarrow(T).runBatch(A, B, C, batch, m, n, k, s, accumulate);
                try Gemm(T).runBatch(A, B, C, batch, m, n, k, s, accumulate);
            } else {
                for (0..batch) |bi| {
                    const ab = A + bi * @as(usize, @intCast(s.a_batch));
                    const bb = B + bi * @as(usize, @intCast(s.b_batch));
                    const cb = C + bi * m * n;
                    reference(T, ab, bb, cb, m, n, k, @intCast(s.a_row), @intCast(s.a_col), @intCast(s.b_row), @intCast(s.b_col));
                }
            }
        },
        inline .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            try halfBatch(E, ptr(E, a, aoff), ptr(E, b, boff), ptr(E, c, coff), batch, m, n, k, s);
        },
        else => return error.InvalidArgument,
    }
}

/// A half-precision batch (f16 or bfloat16 A, B and C), computed in f32.
fn halfBatch(comptime E: type, a: [*]const E, b: [*]const E, c: [*]E, batch: usize, m: usize, n: usize, k: usize, s: Strides) Error!void {
    if (comptime E == dt.BF16 and has_avx512) {
        if (hasBf16Dot() and !bf16_dot_disabled) return halfBatchWith(E, GemmBf16Dot(E), GemmBf16Dot(f32), a, b, c, batch, m, n, k, s);
    }
    return halfBatchWith(E, GemmFor(f32, E, E), GemmFor(f32, E, f32), a, b, c, batch, m, n, k, s);
}

/// halfBatch on kernels `Direct` (C rounded as stored) and `Wide` (C in f32).
fn halfBatchWith(comptime E: type, comptime Direct: type, comptime Wide: type, a: [*]const E, b: [*]const E, c: [*]E, batch: usize, m: usize, n: usize, k: usize, s: Strides) Error!void {
    // One pass over k: each C tile is rounded as it is stored.
    if (k == 0 or Direct.kStep(k) >= k) return Direct.runBatch(a, b, c, batch, m, n, k, s, false);
    // Deeper: accumulate one matrix at a time in f32, then round.
    const acc = std.heap.c_allocator.alloc(f32, m * n) catch return error.OutOfMemory;
    defer std.heap.c_allocator.free(acc);
    const one = Strides{ .a_batch = 0, .a_row = s.a_row, .a_col = s.a_col, .b_batch = 0, .b_row = s.b_row, .b_col = s.b_col };
    for (0..batch) |bi| {
        const ab: isize = @intCast(bi);
        const ap = a + @as(usize, @intCast(ab * s.a_batch));
        const bp = b + @as(usize, @intCast(ab * s.b_batch));
        try Wide.runBatch(ap, bp, acc.ptr, 1, m, n, k, one, false);
        dt.narrow(E, acc.ptr, c + bi * m * n, m * n);
    }
}

/// Checks `G.runBatch` (null: the exported `matmul`) against the reference.
fn checkShape(comptime T: type, comptime G: ?type, alloc: std.mem.Allocator, rnd: std.Random, batch: usize, m: usize, n: usize, k: usize, ta: bool, tb: bool) !void {
    const a = try alloc.alloc(T, @max(1, batch * m * k));
    defer alloc.free(a);
    const b = try alloc.alloc(T, @max(1, batch * k * n));
    defer alloc.free(b);
    const c0 = try alloc.alloc(T, @max(1, batch * m * n));
    defer alloc.free(c0);
    const c1 = try alloc.alloc(T, @max(1, batch * m * n));
    defer alloc.free(c1);
    const c2 = try alloc.alloc(T, @max(1, batch * m * n));
    defer alloc.free(c2);
    for (a) |*v| v.* = rnd.float(T) - 0.5;
    for (b) |*v| v.* = rnd.float(T) - 0.5;
    for (c0) |*v| v.* = rnd.float(T) - 0.5;
    // Transposed operands are stored [K, M] / [N, K] and read through strides.
    const rsa: usize = if (ta) 1 else k;
    const csa: usize = if (ta) m else 1;
    const rsb: usize = if (tb) 1 else n;
    const csb: usize = if (tb) k else 1;
    const s = Strides{ .a_batch = @intCast(m * k), .a_row = @intCast(rsa), .a_col = @intCast(csa), .b_batch = @intCast(k * n), .b_row = @intCast(rsb), .b_col = @intCast(csb) };
    for (0..batch) |bi| reference(T, a.ptr + bi * m * k, b.ptr + bi * k * n, c2.ptr + bi * m * n, m, n, k, rsa, csa, rsb, csb);
    const tol: T = (if (T == f32) 2e-6 else 1e-14) * @as(T, @floatFromInt(k + 1));
    // C = A @ B over a C of NaNs (every element written), then C0 + A @ B.
    for ([_]bool{ false, true }) |accumulate| {
        if (accumulate) @memcpy(c1, c0) else @memset(c1, std.math.nan(T));
        if (G) |K| {
            try K.runBatch(a.ptr, b.ptr, c1.ptr, batch, m, n, k, s, accumulate);
        } else {
            const dtype: DType = if (T == f32) .float32 else .float64;
            try matmul(dtype, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c1.ptr), 0, batch, m, n, k, s, accumulate);
        }
        for (c1[0 .. batch * m * n], c2[0 .. batch * m * n], c0[0 .. batch * m * n]) |x, y, z| {
            const want = if (accumulate) y + z else y;
            if (!(@abs(x - want) <= tol + (if (accumulate) @abs(z) * std.math.floatEps(T) else 0))) {
                std.debug.print("{s} batch={d} m={d} n={d} k={d} ta={} tb={} accumulate={}: got {d}, want {d}\n", .{ @typeName(T), batch, m, n, k, ta, tb, accumulate, x, want });
                return error.TestUnexpectedResult;
            }
        }
    }
}

test "packed GEMM matches the reference over shapes, transposes and dtypes" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(1);
    const rnd = prng.random();
    const dims = [_]usize{ 1, 7, 17, 64, 255, 513 };
    inline for (.{ f32, f64 }) |T| {
        for ([_]u32{ 1, 2 }) |threads| {
            pool.setNumThreads(threads);
            for (dims) |m| for (dims) |n| for (dims) |k| {
                // The reference is slow in a safe build: big cubes only once each.
                const big = m * n * k > 64 * 255 * 255;
                if (big and !(threads == 2 and m == n and n == k)) continue;
                for (0..4) |t| try checkShape(T, null, alloc, rnd, 1, m, n, k, t & 1 != 0, t & 2 != 0);
            };
        }
    }
    pool.setNumThreads(2);
    // K = 0, empty outputs, and batches (small ones run one matrix per thread).
    for ([_][4]usize{ .{ 1, 5, 6, 0 }, .{ 2, 0, 6, 3 }, .{ 2, 6, 0, 3 }, .{ 37, 9, 11, 13 }, .{ 5, 64, 64, 64 }, .{ 3, 1, 40, 300 }, .{ 4, 40, 1, 300 }, .{ 3, 200, 210, 70 } }) |sz| {
        for (0..4) |t| {
            try checkShape(f32, null, alloc, rnd, sz[0], sz[1], sz[2], sz[3], t & 1 != 0, t & 2 != 0);
            try checkShape(f64, null, alloc, rnd, sz[0], sz[1], sz[2], sz[3], t & 1 != 0, t & 2 != 0);
        }
    }
}

test "other targets' tile shapes (AVX-512, SSE) match the reference" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(2);
    const rnd = prng.random();
    defer pool.setNumThreads(2);
    const shapes = [_][4]usize{ .{ 1, 7, 17, 64 }, .{ 1, 13, 35, 129 }, .{ 1, 64, 64, 64 }, .{ 1, 150, 97, 300 }, .{ 1, 255, 70, 513 }, .{ 6, 25, 40, 30 }, .{ 1, 1, 50, 9 } };
    const tiny = [4]usize{ 24, 24, 64, 48 }; // KC, MC, NC, MB: several blocks on every loop
    // The 512-bit kernels' B blocks with tiny blocks (5 panels) hold several of their two-panel sweeps and a partial one.
    inline for (.{ Kernel(f32, 16, 12, 2, null), Kernel(f64, 8, 12, 2, null), Kernel(f32, 16, 6, 4, null), Kernel(f64, 8, 6, 4, null), Kernel(f32, 4, 6, 2, null), Kernel(f64, 2, 6, 2, null), Kernel(f32, 8, 6, 2, tiny), Kernel(f32, 4, 6, 2, tiny), Kernel(f64, 8, 12, 2, .{ 16, 24, 32, 48 }), Kernel(f32, 16, 12, 2, .{ 24, 24, 160, 48 }), Kernel(f64, 8, 6, 4, .{ 16, 24, 160, 48 }), Kernel(f32, 16, 6, 4, .{ 24, 24, 320, 48 }) }) |K| {
        const T = @typeInfo(K.V).vector.child;
        // One thread runs the tiles in order, two claim them (and split products).
        for ([_]u32{ 1, 2 }) |threads| {
            pool.setNumThreads(threads);
            for (shapes) |sz| {
                for (0..4) |t| try checkShape(T, K, alloc, rnd, sz[0], sz[1], sz[2], sz[3], t & 1 != 0, t & 2 != 0);
            }
        }
    }
}

/// Checks the half-precision path (the exported `matmul` for dtype D)
/// against the f64 reference on the same half inputs: the only differences
/// are f32 accumulation and the final rounding to D.
fn checkHalf(comptime D: DType, alloc: std.mem.Allocator, rnd: std.Random, batch: usize, m: usize, n: usize, k: usize, ta: bool, tb: bool) !void {
    const E = dt.Storage(D);
    const a = try alloc.alloc(E, @max(1, batch * m * k));
    defer alloc.free(a);
    const b = try alloc.alloc(E, @max(1, batch * k * n));
    defer alloc.free(b);
    const c = try alloc.alloc(E, @max(1, batch * m * n));
    defer alloc.free(c);
    const af = try alloc.alloc(f64, @max(1, batch * m * k));
    defer alloc.free(af);
    const bf = try alloc.alloc(f64, @max(1, batch * k * n));
    defer alloc.free(bf);
    const want = try alloc.alloc(f64, @max(1, batch * m * n));
    defer alloc.free(want);
    for (a, af) |*h, *f| {
        h.* = dt.convert(D, .float32, rnd.float(f32) - 0.5);
        f.* = dt.convert(.float32, D, h.*);
    }
    for (b, bf) |*h, *f| {
        h.* = dt.convert(D, .float32, rnd.float(f32) - 0.5);
        f.* = dt.convert(.float32, D, h.*);
    }
    const rsa: usize = if (ta) 1 else k;
    const csa: usize = if (ta) m else 1;
    const rsb: usize = if (tb) 1 else n;
    const csb: usize = if (tb) k else 1;
    const s = Strides{ .a_batch = @intCast(m * k), .a_row = @intCast(rsa), .a_col = @intCast(csa), .b_batch = @intCast(k * n), .b_row = @intCast(rsb), .b_col = @intCast(csb) };
    try matmul(D, @ptrCast(a.ptr), 0, @ptrCast(b.ptr), 0, @ptrCast(c.ptr), 0, batch, m, n, k, s, false);
    for (0..batch) |bi| reference(f64, af.ptr + bi * m * k, bf.ptr + bi * k * n, want.ptr + bi * m * n, m, n, k, rsa, csa, rsb, csb);
    // Half a unit in the last place of D at the result's size, plus f32 sums.
    const ulp: f64 = if (D == .bfloat16) 1.0 / 256.0 else 1.0 / 2048.0;
    for (c[0 .. batch * m * n], want[0 .. batch * m * n]) |h, y| {
        const x: f64 = dt.convert(.float32, D, h);
        const tol = ulp * @abs(y) + 4e-7 * @as(f64, @floatFromInt(k + 1));
        if (!(@abs(x - y) <= tol)) {
            std.debug.print("{s} batch={d} m={d} n={d} k={d} ta={} tb={}: got {d}, want {d}\n", .{ @tagName(D), batch, m, n, k, ta, tb, x, y });
            return error.TestUnexpectedResult;
        }
    }
}

test "float16 and bfloat16 GEMMs match the reference on their rounded inputs" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(3);
    const rnd = prng.random();
    // Matrix-vector, one pass over k and several (k past KC), batches, every transpose.
    const shapes = [_][4]usize{ .{ 1, 1, 40, 33 }, .{ 1, 37, 1, 50 }, .{ 1, 7, 17, 64 }, .{ 1, 64, 70, 255 }, .{ 3, 25, 40, 30 }, .{ 1, 130, 97, 1500 }, .{ 2, 20, 33, 2100 }, .{ 1, 5, 6, 0 } };
    // bfloat16 twice where the CPU has BF16 dot products: on them, and converting.
    const bf16_runs: usize = if (hasBf16Dot()) 2 else 1;
    defer bf16_dot_disabled = false;
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        for (0..if (D == .bfloat16) bf16_runs else 1) |run| {
            bf16_dot_disabled = run == 1;
            for ([_]u32{ 1, 2 }) |threads| {
                pool.setNumThreads(threads);
                for (shapes) |sz| {
                    for (0..4) |t| try checkHalf(D, alloc, rnd, sz[0], sz[1], sz[2], sz[3], t & 1 != 0, t & 2 != 0);
                }
            }
        }
    }
}
