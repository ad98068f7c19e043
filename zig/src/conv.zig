//! Convolution lowering (im2col / col2im) and 2-D pooling, forward and
//! backward, over contiguous tensors seen as planes: x: [N, C, H, W] is
//! N*C planes of H*W elements. Every kernel is parallel over planes: a plane's
//! outputs depend on that plane only, so chunks never write the same memory.
//!
//! Convolution is im2col + the matmul kernel: for one sample the columns are
//! cols: [C * KH * KW, OH * OW] with row c*KH*KW + kh*KW + kw holding the input
//! element each output position sees through kernel tap (c, kh, kw) (zero in
//! the padding). The weight [O, C*KH*KW] times the columns is the output
//! [O, OH*OW]. col2im is the adjoint: it sums columns back into image
//! positions, which is the input gradient of a convolution and the forward of
//! a transposed convolution.
//!
//! Stride-1, dilation-1, single-group convolutions (and the input gradient of
//! a stride-1 convolution, a convolution with the weight flipped) run instead
//! on `direct`, which reads the padded image in place: no column matrix. The
//! im2col path stays the reference the tests compare it with.
//!
//! 1-D operations are the 2-D ones with H = 1 (the TypeScript side reshapes).
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const mm = @import("matmul.zig");
const DType = dt.DType;
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, IndexOutOfRange, OutOfMemory };

/// The geometry of a 2-D window op, as the i32 meta array carries it:
/// [n, c, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw].
pub const Geometry = struct {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,

    pub const meta_len = 14;

    pub fn fromMeta(meta: [*]const i32) Error!Geometry {
        for (0..meta_len) |i| if (meta[i] < 0) return error.InvalidArgument;
        const g = Geometry{
            .n = @intCast(meta[0]),
            .c = @intCast(meta[1]),
            .h = @intCast(meta[2]),
            .w = @intCast(meta[3]),
            .oh = @intCast(meta[4]),
            .ow = @intCast(meta[5]),
            .kh = @intCast(meta[6]),
            .kw = @intCast(meta[7]),
            .sh = @intCast(meta[8]),
            .sw = @intCast(meta[9]),
            .ph = @intCast(meta[10]),
            .pw = @intCast(meta[11]),
            .dh = @intCast(meta[12]),
            .dw = @intCast(meta[13]),
        };
        // Zero steps would make window loops spin or divide by zero.
        if (g.kh == 0 or g.kw == 0 or g.sh == 0 or g.sw == 0 or g.dh == 0 or g.dw == 0) return error.InvalidArgument;
        return g;
    }

    fn planes(g: *const Geometry) usize {
        return g.n * g.c;
    }
};

/// Numbered as in src/backend.ts (WINDOW2D).
pub const Op = enum(i32) {
    im2col = 0,
    col2im = 1,
    max_pool = 2,
    max_pool_backward = 3,
    avg_pool = 4,
    avg_pool_backward = 5,
    adaptive_avg_pool = 6,
    adaptive_avg_pool_backward = 7,
    /// im2col into one matrix for the whole batch: cols: [C*KH*KW, N*OH*OW],
    /// sample n's columns at n*OH*OW. The weight times it is one GEMM.
    im2col_batched = 8,
    /// The adjoint of im2col_batched.
    col2im_batched = 9,
};

/// Pooling options (ignored by the ops that do not pool by average).
pub const AvgOptions = struct {
    count_include_pad: bool = true,
    /// 0: divide by the window size.
    divisor: usize = 0,
};

fn Args(comptime T: type) type {
    return struct {
        g: Geometry,
        src: [*]const T,
        dst: [*]T,
        /// Max pooling: argmax per output, a flat index into its input plane.
        idx: ?[*]i64,
        avg: AvgOptions,
        chunks: u32,
        bad: *std.atomic.Value(bool),
    };
}

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

fn ceilDiv(a: i64, b: i64) i64 {
    assert(b > 0);
    return @divFloor(a + b - 1, b);
}

/// The outputs o in [lo, hi) of a row whose tap reads input o*stride + off
/// inside [0, size): the rest of the row sees padding.
fn validRange(size: usize, out: usize, stride: usize, off: i64) struct { usize, usize } {
    assert(stride > 0);
    const s: i64 = @intCast(stride);
    const n: i64 = @intCast(size);
    const lo: i64 = if (off >= 0) 0 else ceilDiv(-off, s);
    const hi: i64 = if (n - off <= 0) 0 else ceilDiv(n - off, s);
    const o: i64 = @intCast(out);
    const a = std.math.clamp(lo, 0, o);
    const b = std.math.clamp(hi, a, o);
    return .{ @intCast(a), @intCast(b) };
}

/// dst[0..n] = src[0..n] for the short runs of im2col and col2im (one row of
/// an output plane): an inline loop, where a call to memcpy per run would
/// cost more than the copy.
inline fn copyRun(comptime T: type, dst: [*]T, src: [*]const T, n: usize) void {
    const V = @Vector(8, T);
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) dst[i..][0..8].* = @as(V, src[i..][0..8].*);
    while (i < n) : (i += 1) dst[i] = src[i];
}

/// dst[0..n] = src[0..n] for short rows (a padded image's, a tap's): whole
/// vectors, the last one overlapping its predecessor, no call.
inline fn rowCopy(comptime T: type, dst: [*]T, src: [*]const T, n: usize) void {
    const V = @Vector(8, T);
    if (n < 8) {
        for (0..n) |i| dst[i] = src[i];
        return;
    }
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) dst[i..][0..8].* = @as(V, src[i..][0..8].*);
    if (i < n) dst[n - 8 ..][0..8].* = @as(V, src[n - 8 ..][0..8].*);
}

/// rowCopy from element type E to T (float16/bfloat16 widened to f32 a
/// vector at a time, as the direct kernels pad their images).
inline fn rowConvert(comptime T: type, comptime E: type, dst: [*]T, src: [*]const E, n: usize) void {
    if (E == T) return rowCopy(T, dst, src, n);
    comptime assert(T == f32);
    dt.widen(E, src, dst, n);
}

/// dst[0..n] = 0, inline for the same reason.
inline fn zeroRun(comptime T: type, dst: [*]T, n: usize) void {
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) dst[i..][0..8].* = @as(@Vector(8, T), @splat(0));
    while (i < n) : (i += 1) dst[i] = 0;
}

fn roundUp(x: usize, to: usize) usize {
    return (x + to - 1) / to * to;
}

/// dst[0..n] += src[0..n].
inline fn addRun(comptime T: type, dst: [*]T, src: [*]const T, n: usize) void {
    const V = @Vector(8, T);
    var i: usize = 0;
    while (i + 8 <= n) : (i += 8) {
        dst[i..][0..8].* = @as(V, dst[i..][0..8].*) + @as(V, src[i..][0..8].*);
    }
    while (i < n) : (i += 1) dst[i] += src[i];
}

/// cols: [KH*KW, OH*OW] for the plane's channel, rows `ld` elements apart;
/// zero where a tap sees padding.
fn im2colPlane(comptime T: type, g: *const Geometry, x: [*]const T, cols: [*]T, ld: usize) void {
    if (g.sw == 1 and g.ow == g.w and g.sh == 1) return im2colPlaneSame(T, g, x, cols, ld);
    for (0..g.kh) |ki| for (0..g.kw) |kj| {
        const row = cols + (ki * g.kw + kj) * ld;
        const offw: i64 = @as(i64, @intCast(kj * g.dw)) - @as(i64, @intCast(g.pw));
        const r = validRange(g.w, g.ow, g.sw, offw);
        for (0..g.oh) |oy| {
            const dst = row + oy * g.ow;
            const iy: i64 = @as(i64, @intCast(oy * g.sh + ki * g.dh)) - @as(i64, @intCast(g.ph));
            if (iy < 0 or iy >= @as(i64, @intCast(g.h))) {
                zeroRun(T, dst, g.ow);
                continue;
            }
            const src = x + @as(usize, @intCast(iy)) * g.w;
            zeroRun(T, dst, r[0]);
            if (g.sw == 1) {
                const base: usize = @intCast(@as(i64, @intCast(r[0])) + offw);
                copyRun(T, dst + r[0], src + base, r[1] - r[0]);
            } else {
                for (r[0]..r[1]) |ox| dst[ox] = src[@intCast(@as(i64, @intCast(ox * g.sw)) + offw)];
            }
            zeroRun(T, dst + r[1], g.ow - r[1]);
        }
    };
}

/// im2colPlane for stride 1 with as many output columns as input columns
/// ("same" width): a tap's valid output rows read consecutive input rows at
/// one fixed shift, so they are one long copy; then the few columns that see
/// horizontal padding are zeroed. Short per-row runs cost more than the data.
fn im2colPlaneSame(comptime T: type, g: *const Geometry, x: [*]const T, cols: [*]T, ld: usize) void {
    assert(g.sw == 1 and g.sh == 1 and g.ow == g.w);
    const w = g.w;
    for (0..g.kh) |ki| for (0..g.kw) |kj| {
        const row = cols + (ki * g.kw + kj) * ld;
        const offw: i64 = @as(i64, @intCast(kj * g.dw)) - @as(i64, @intCast(g.pw));
        const r = validRange(g.w, g.ow, 1, offw);
        // Output rows oy whose input row oy + ki*dh - ph lies inside [0, h).
        const offh: i64 = @as(i64, @intCast(ki * g.dh)) - @as(i64, @intCast(g.ph));
        const vr = validRange(g.h, g.oh, 1, offh);
        zeroRun(T, row, vr[0] * w);
        zeroRun(T, row + vr[1] * w, (g.oh - vr[1]) * w);
        if (vr[1] <= vr[0]) continue;
        if (r[1] <= r[0]) {
            zeroRun(T, row + vr[0] * w, (vr[1] - vr[0]) * w);
            continue;
        }
        // dst[j] = src[j + shift] over the valid rows' span, clipped to the
        // input: the first and last rows may start or end inside padding.
        const first: i64 = @as(i64, @intCast(vr[0] * w + r[0]));
        const last: i64 = @as(i64, @intCast((vr[1] - 1) * w + r[1]));
        const shift: i64 = offh * @as(i64, @intCast(w)) + offw;
        copyRun(T, row + @as(usize, @intCast(first)), x + @as(usize, @intCast(first + shift)), @intCast(last - first));
        // Columns outside [r0, r1) of each valid row read a neighbouring row: zero them.
        for (vr[0]..vr[1]) |oy| {
            const d = row + oy * w;
            zeroRun(T, d, r[0]);
            zeroRun(T, d + r[1], w - r[1]);
        }
    };
}

/// x = sum over taps of cols (rows `ld` apart) scattered back to the
/// positions they were read from.
fn col2imPlane(comptime T: type, g: *const Geometry, cols: [*]const T, x: [*]T, ld: usize) void {
    @memset(x[0 .. g.h * g.w], 0);
    for (0..g.kh) |ki| for (0..g.kw) |kj| {
        const row = cols + (ki * g.kw + kj) * ld;
        const offw: i64 = @as(i64, @intCast(kj * g.dw)) - @as(i64, @intCast(g.pw));
        const r = validRange(g.w, g.ow, g.sw, offw);
        for (0..g.oh) |oy| {
            const iy: i64 = @as(i64, @intCast(oy * g.sh + ki * g.dh)) - @as(i64, @intCast(g.ph));
            if (iy < 0 or iy >= @as(i64, @intCast(g.h))) continue;
            const dst = x + @as(usize, @intCast(iy)) * g.w;
            const src = row + oy * g.ow;
            if (g.sw == 1) {
                const base: usize = @intCast(@as(i64, @intCast(r[0])) + offw);
                addRun(T, dst + base, src + r[0], r[1] - r[0]);
            } else {
                for (r[0]..r[1]) |ox| dst[@intCast(@as(i64, @intCast(ox * g.sw)) + offw)] += src[ox];
            }
        }
    };
}

/// First in-range tap of a window that starts at `start` (may be negative).
fn firstTap(start: i64, step: usize) i64 {
    var s = start;
    const d: i64 = @intCast(step);
    if (s < 0) s += d * ceilDiv(-s, d);
    return s;
}

fn maxPoolPlane(comptime T: type, g: *const Geometry, x: [*]const T, out: [*]T, idx: [*]i64) void {
    // Windows inside the plane only (ceil mode can add a partial last one).
    const inside = 2 * g.oh <= g.h and 2 * g.ow <= g.w;
    if (inside and g.kh == 2 and g.kw == 2 and g.sh == 2 and g.sw == 2 and g.ph == 0 and g.pw == 0 and g.dh == 1 and g.dw == 1) {
        return maxPool2x2Plane(T, g, x, out, idx);
    }
    if (g.dh == 1 and g.dw == 1) return maxPoolPlaneSteps(T, true, g, x, out, idx);
    maxPoolPlaneSteps(T, false, g, x, out, idx);
}

/// 2x2 windows at stride 2 without padding (the common CNN pooling), VL
/// outputs at a time: the two input rows' 2*VL values split into even and odd
/// columns give the four taps as vectors, and selects keep the maximum and
/// its index with maxPoolPlaneSteps' rules (taps in row-major order, a later
/// tap wins only if greater or NaN). The last partial group reads its inputs
/// from a padded copy and stores only its outputs. The general loop stays the
/// reference (tests compare the two).
fn maxPool2x2Plane(comptime T: type, g: *const Geometry, x: [*]const T, out: [*]T, idx: [*]i64) void {
    const VL = 8;
    const V = @Vector(VL, T);
    const I = @Vector(VL, i64);
    const even = comptime blk: {
        var m: [VL]i32 = undefined;
        for (0..VL) |j| m[j] = if (2 * j < VL) @intCast(2 * j) else ~@as(i32, @intCast(2 * j - VL));
        break :blk m;
    };
    const odd = comptime blk: {
        var m: [VL]i32 = undefined;
        for (0..VL) |j| m[j] = if (2 * j + 1 < VL) @intCast(2 * j + 1) else ~@as(i32, @intCast(2 * j + 1 - VL));
        break :blk m;
    };
    const lane2: I = comptime blk: {
        var v: [VL]i64 = undefined;
        for (0..VL) |j| v[j] = @intCast(2 * j);
        break :blk v;
    };
    const w: i64 = @intCast(g.w);
    for (0..g.oh) |oy| {
        const r0 = x + 2 * oy * g.w;
        const r1 = r0 + g.w;
        var ox: usize = 0;
        while (ox < g.ow) : (ox += VL) {
            const cnt = @min(VL, g.ow - ox);
            var a: [2 * VL]T = undefined;
            var b: [2 * VL]T = undefined;
            if (cnt == VL) {
                a = r0[2 * ox ..][0 .. 2 * VL].*;
                b = r1[2 * ox ..][0 .. 2 * VL].*;
            } else {
                @memset(&a, 0);
                @memset(&b, 0);
                @memcpy(a[0 .. 2 * cnt], r0[2 * ox ..][0 .. 2 * cnt]);
                @memcpy(b[0 .. 2 * cnt], r1[2 * ox ..][0 .. 2 * cnt]);
            }
            const a0: V = a[0..VL].*;
            const a1: V = a[VL..].*;
            const b0: V = b[0..VL].*;
            const b1: V = b[VL..].*;
            const taps = [4]V{
                @shuffle(T, a0, a1, even), @shuffle(T, a0, a1, odd),
                @shuffle(T, b0, b1, even), @shuffle(T, b0, b1, odd),
            };
            const base: I = @as(I, @splat(@as(i64, @intCast(2 * oy)) * w + @as(i64, @intCast(2 * ox)))) + lane2;
            const offs = [4]i64{ 0, 1, w, w + 1 };
            var best = taps[0];
            var at = base;
            inline for (1..4) |t| {
                const v = taps[t];
                const take = (v > best) | (v != v);
                best = @select(T, take, v, best);
                at = @select(i64, take, base + @as(I, @splat(offs[t])), at);
            }
            const bo: [VL]T = best;
            const ao: [VL]i64 = at;
            @memcpy(out[oy * g.ow + ox ..][0..cnt], bo[0..cnt]);
            @memcpy(idx[oy * g.ow + ox ..][0..cnt], ao[0..cnt]);
        }
    }
}

/// Max pooling of one plane; `unit` (dilation 1) lets the compiler drop the
/// tap steps from the inner loops.
fn maxPoolPlaneSteps(comptime T: type, comptime unit: bool, g: *const Geometry, x: [*]const T, out: [*]T, idx: [*]i64) void {
    const h: i64 = @intCast(g.h);
    const w: i64 = @intCast(g.w);
    const dh: i64 = if (unit) 1 else @intCast(g.dh);
    const dw: i64 = if (unit) 1 else @intCast(g.dw);
    const span_h: i64 = @intCast((g.kh - 1) * g.dh + 1);
    const span_w: i64 = @intCast((g.kw - 1) * g.dw + 1);
    for (0..g.oh) |oy| {
        const hs0: i64 = @as(i64, @intCast(oy * g.sh)) - @as(i64, @intCast(g.ph));
        const he = @min(hs0 + span_h, h);
        const hs = firstTap(hs0, @intCast(dh));
        const o_row = out + oy * g.ow;
        const i_row = idx + oy * g.ow;
        for (0..g.ow) |ox| {
            const ws0: i64 = @as(i64, @intCast(ox * g.sw)) - @as(i64, @intCast(g.pw));
            const we = @min(ws0 + span_w, w);
            const ws = firstTap(ws0, @intCast(dw));
            // As PyTorch: NaN wins over numbers, the first of equal maxima wins.
            var best: T = -std.math.inf(T);
            var at: i64 = hs * w + ws;
            var iy = hs;
            while (iy < he) : (iy += dh) {
                var ix = ws;
                while (ix < we) : (ix += dw) {
                    const i = iy * w + ix;
                    const v = x[@intCast(i)];
                    if (v > best or v != v) {
                        best = v;
                        at = i;
                    }
                }
            }
            o_row[ox] = best;
            i_row[ox] = at;
        }
    }
}

/// gi = 0, then gi[idx] += g: an index outside the plane sets `bad` and is skipped.
fn maxPoolBackwardPlane(comptime T: type, g: *const Geometry, go: [*]const T, idx: [*]const i64, gi: [*]T, bad: *std.atomic.Value(bool)) void {
    const hw = g.h * g.w;
    @memset(gi[0..hw], 0);
    for (0..g.oh * g.ow) |o| {
        const i = idx[o];
        if (i < 0 or i >= @as(i64, @intCast(hw))) {
            bad.store(true, .monotonic);
            continue;
        }
        gi[@intCast(i)] += go[o];
    }
}

/// The clipped window of an average-pool output and its divisor (PyTorch's rules).
const AvgWindow = struct { hs: usize, he: usize, ws: usize, we: usize, div: usize };

fn avgWindow(g: *const Geometry, o: AvgOptions, oy: usize, ox: usize) AvgWindow {
    const h: i64 = @intCast(g.h);
    const w: i64 = @intCast(g.w);
    var hs: i64 = @as(i64, @intCast(oy * g.sh)) - @as(i64, @intCast(g.ph));
    var ws: i64 = @as(i64, @intCast(ox * g.sw)) - @as(i64, @intCast(g.pw));
    var he = @min(hs + @as(i64, @intCast(g.kh)), h + @as(i64, @intCast(g.ph)));
    var we = @min(ws + @as(i64, @intCast(g.kw)), w + @as(i64, @intCast(g.pw)));
    // The padded window size counts padding but not the overhang of ceil mode.
    const padded: i64 = (he - hs) * (we - ws);
    hs = @max(hs, 0);
    ws = @max(ws, 0);
    he = @min(he, h);
    we = @min(we, w);
    if (he <= hs or we <= ws) return .{ .hs = 0, .he = 0, .ws = 0, .we = 0, .div = 1 };
    const inside: i64 = (he - hs) * (we - ws);
    const div: usize = if (o.divisor != 0) o.divisor else if (o.count_include_pad) @intCast(padded) else @intCast(inside);
    return .{ .hs = @intCast(hs), .he = @intCast(he), .ws = @intCast(ws), .we = @intCast(we), .div = div };
}

fn avgPoolPlane(comptime T: type, g: *const Geometry, o: AvgOptions, x: [*]const T, out: [*]T) void {
    for (0..g.oh) |oy| for (0..g.ow) |ox| {
        const win = avgWindow(g, o, oy, ox);
        var s: T = 0;
        for (win.hs..win.he) |iy| for (win.ws..win.we) |ix| {
            s += x[iy * g.w + ix];
        };
        out[oy * g.ow + ox] = s / @as(T, @floatFromInt(win.div));
    };
}

fn avgPoolBackwardPlane(comptime T: type, g: *const Geometry, o: AvgOptions, go: [*]const T, gi: [*]T) void {
    @memset(gi[0 .. g.h * g.w], 0);
    for (0..g.oh) |oy| for (0..g.ow) |ox| {
        const win = avgWindow(g, o, oy, ox);
        const v = go[oy * g.ow + ox] / @as(T, @floatFromInt(win.div));
        for (win.hs..win.he) |iy| for (win.ws..win.we) |ix| {
            gi[iy * g.w + ix] += v;
        };
    };
}

/// Output o of `out` covers inputs [floor(o*n/out), ceil((o+1)*n/out)).
fn adaptiveRange(o: usize, n: usize, out: usize) struct { usize, usize } {
    assert(out > 0);
    return .{ o * n / out, ((o + 1) * n + out - 1) / out };
}

fn adaptivePlane(comptime T: type, g: *const Geometry, x: [*]const T, out: [*]T) void {
    for (0..g.oh) |oy| {
        const rh = adaptiveRange(oy, g.h, g.oh);
        for (0..g.ow) |ox| {
            const rw = adaptiveRange(ox, g.w, g.ow);
            var s: T = 0;
            for (rh[0]..rh[1]) |iy| for (rw[0]..rw[1]) |ix| {
                s += x[iy * g.w + ix];
            };
            const count = (rh[1] - rh[0]) * (rw[1] - rw[0]);
            out[oy * g.ow + ox] = s / @as(T, @floatFromInt(count));
        }
    }
}

fn adaptiveBackwardPlane(comptime T: type, g: *const Geometry, go: [*]const T, gi: [*]T) void {
    @memset(gi[0 .. g.h * g.w], 0);
    for (0..g.oh) |oy| {
        const rh = adaptiveRange(oy, g.h, g.oh);
        for (0..g.ow) |ox| {
            const rw = adaptiveRange(ox, g.w, g.ow);
            const count = (rh[1] - rh[0]) * (rw[1] - rw[0]);
            const v = go[oy * g.ow + ox] / @as(T, @floatFromInt(count));
            for (rh[0]..rh[1]) |iy| for (rw[0]..rw[1]) |ix| {
                gi[iy * g.w + ix] += v;
            };
        }
    }
}

fn plane(comptime op: Op, comptime T: type, a: *const Args(T), p: usize) void {
    const g = &a.g;
    assert(p < g.planes());
    const hw = g.h * g.w;
    const l = g.oh * g.ow;
    const kk = g.kh * g.kw;
    switch (op) {
        .im2col => im2colPlane(T, g, a.src + p * hw, a.dst + p * kk * l, l),
        .col2im => col2imPlane(T, g, a.src + p * kk * l, a.dst + p * hw, l),
        // Plane p = n*C + c: rows c*KK.. of the [C*KK, N*L] matrix, columns n*L...
        .im2col_batched => im2colPlane(T, g, a.src + p * hw, a.dst + (p % g.c) * kk * g.n * l + (p / g.c) * l, g.n * l),
        .col2im_batched => col2imPlane(T, g, a.src + (p % g.c) * kk * g.n * l + (p / g.c) * l, a.dst + p * hw, g.n * l),
        .max_pool => maxPoolPlane(T, g, a.src + p * hw, a.dst + p * l, a.idx.? + p * l),
        .max_pool_backward => maxPoolBackwardPlane(T, g, a.src + p * l, a.idx.? + p * l, a.dst + p * hw, a.bad),
        .avg_pool => avgPoolPlane(T, g, a.avg, a.src + p * hw, a.dst + p * l),
        .avg_pool_backward => avgPoolBackwardPlane(T, g, a.avg, a.src + p * l, a.dst + p * hw),
        .adaptive_avg_pool => adaptivePlane(T, g, a.src + p * hw, a.dst + p * l),
        .adaptive_avg_pool_backward => adaptiveBackwardPlane(T, g, a.src + p * l, a.dst + p * hw),
    }
}

/// Runs `op` over every plane. src/dst are (buffer, element offset) pairs of
/// contiguous tensors: im2col x -> cols, col2im cols -> x, pooling x -> out
/// (idx: int64 argmax, max pooling only), backward grad_out -> grad_in (which
/// is overwritten, not accumulated).
pub fn run(op: Op, dtype: DType, src: [*]u8, soff: i64, dst: [*]u8, doff: i64, idx: ?[*]u8, ioff: i64, g: Geometry, avg: AvgOptions) Error!void {
    const needs_idx = op == .max_pool or op == .max_pool_backward;
    if (needs_idx and idx == null) return error.InvalidArgument;
    if ((op == .adaptive_avg_pool or op == .adaptive_avg_pool_backward) and (g.oh == 0 or g.ow == 0)) return error.InvalidArgument;
    const planes = g.planes();
    if (planes == 0) return;
    var bad = std.atomic.Value(bool).init(false);
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            // Work per plane decides how many planes a chunk takes.
            const work = @max(1, g.h * g.w + g.oh * g.ow * g.kh * g.kw);
            const grain = @max(1, (1 << 15) / work);
            const chunks = pool.chunkCount(planes, grain);
            assert(chunks >= 1 and chunks <= planes);
            const args = Args(T){
                .g = g,
                .src = ptr(T, src, soff),
                .dst = ptr(T, dst, doff),
                .idx = if (idx) |b| ptr(i64, b, ioff) else null,
                .avg = avg,
                .chunks = chunks,
                .bad = &bad,
            };
            switch (op) {
                inline else => |O| pool.run(chunks, &args, struct {
                    fn f(c: *const Args(T), chunk: u32) void {
                        const r = pool.chunkRange(c.g.planes(), c.chunks, chunk);
                        for (r[0]..r[1]) |p| plane(O, T, c, p);
                    }
                }.f),
            }
        },
        inline .float16, .bfloat16 => |D| {
            const H = dt.Storage(D);
            switch (op) {
                .im2col, .col2im, .im2col_batched, .col2im_batched => return error.InvalidArgument,
                inline else => |O| try halfPools(H, O, ptr(H, src, soff), ptr(H, dst, doff), if (idx) |b| ptr(i64, b, ioff) else null, g, avg, &bad),
            }
        },
        else => return error.InvalidArgument,
    }
    if (bad.load(.monotonic)) return error.IndexOutOfRange;
}

/// The pooling ops on float16/bfloat16 planes: each plane converts to an
/// f32 scratch plane (in L1, never a float32 copy of the tensor), runs the
/// f32 plane kernel, and its result rounds once into the output plane.
fn halfPools(comptime H: type, comptime O: Op, src: [*]const H, dst: [*]H, idx: ?[*]i64, g: Geometry, avg: AvgOptions, bad: *std.atomic.Value(bool)) Error!void {
    const forward = comptime (O == .max_pool or O == .avg_pool or O == .adaptive_avg_pool);
    const hw = g.h * g.w;
    const l = g.oh * g.ow;
    const in_len = if (forward) hw else l;
    const out_len = if (forward) l else hw;
    const planes = g.planes();
    const grain = @max(1, (1 << 15) / @max(1, hw + l * g.kh * g.kw));
    const chunks = pool.chunkCount(planes, grain);
    const per = roundUp(in_len + out_len, 16);
    const scratch = std.heap.c_allocator.alignedAlloc(f32, .@"64", per * chunks) catch return error.OutOfMemory;
    defer std.heap.c_allocator.free(scratch);
    const Ctx = struct {
        g: Geometry,
        src: [*]const H,
        dst: [*]H,
        idx: ?[*]i64,
        avg: AvgOptions,
        bad: *std.atomic.Value(bool),
        scratch: [*]f32,
        per: usize,
        in_len: usize,
        out_len: usize,
        chunks: u32,

        fn task(c: *const @This(), chunk: u32) void {
            const ge = &c.g;
            const lo = ge.oh * ge.ow;
            const sin = c.scratch + @as(usize, chunk) * c.per;
            const sout = sin + c.in_len;
            const r = pool.chunkRange(ge.planes(), c.chunks, chunk);
            for (r[0]..r[1]) |p| {
                dt.widen(H, c.src + p * c.in_len, sin, c.in_len);
                switch (O) {
                    .max_pool => maxPoolPlane(f32, ge, sin, sout, c.idx.? + p * lo),
                    .max_pool_backward => maxPoolBackwardPlane(f32, ge, sin, c.idx.? + p * lo, sout, c.bad),
                    .avg_pool => avgPoolPlane(f32, ge, c.avg, sin, sout),
                    .avg_pool_backward => avgPoolBackwardPlane(f32, ge, c.avg, sin, sout),
                    .adaptive_avg_pool => adaptivePlane(f32, ge, sin, sout),
                    .adaptive_avg_pool_backward => adaptiveBackwardPlane(f32, ge, sin, sout),
                    else => comptime unreachable,
                }
                dt.narrow(H, sout, c.dst + p * c.out_len, c.out_len);
            }
        }
    };
    if ((O == .max_pool or O == .max_pool_backward) and idx == null) return error.InvalidArgument;
    const ctx = Ctx{ .g = g, .src = src, .dst = dst, .idx = idx, .avg = avg, .bad = bad, .scratch = scratch.ptr, .per = per, .in_len = in_len, .out_len = out_len, .chunks = chunks };
    pool.run(chunks, &ctx, Ctx.task);
}

// ------------------------------------------------------------------ direct convolution

/// A stride-1, dilation-1, single-group convolution computed straight from
/// the (zero-padded) image, with no column matrix: for the shapes of small
/// CNNs the GEMM alone takes longer than a direct kernel (the column matrix
/// is as large as the GEMM's work, and packing it costs as much again).
///
/// out[n, o, y, x] = bias[o] + sum_c,i,j wt(o, c, i, j) * x[n, c, y + i - ph, x + j - pw]
/// x: [N, C, H, W], out: [N, O, OH, OW] with OH = H + 2ph - KH + 1, all contiguous.
/// wt(o, c, i, j) is w[o, c, i, j] (w: [O, C, KH, KW]); in mode input_grad it is
/// w[c, o, KH-1-i, KW-1-j] (w: [C, O, KH, KW]): the input gradient of a
/// stride-1 convolution is this convolution of the output gradient with
/// padding KH-1-ph.
pub const Direct = struct {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    ph: usize,
    pw: usize,
    mode: Mode,

    /// forward: out = conv(x, w) + bias. input_grad: the same with w read
    /// rotated (see above). weight_grad: gw[o, c, i, j] = sum_n,y,x
    /// g[n, o, y, x] * x[n, c, y + i - ph, x + j - pw], with g: [N, O, OH, OW]
    /// in w's place and gw: [O, C, KH, KW] in out's.
    pub const Mode = enum(i32) { forward = 0, input_grad = 1, weight_grad = 2 };

    pub const meta_len = 10;

    pub fn fromMeta(meta: [*]const i32) Error!Direct {
        for (0..meta_len) |i| if (meta[i] < 0) return error.InvalidArgument;
        const d = Direct{
            .n = @intCast(meta[0]),
            .c = @intCast(meta[1]),
            .h = @intCast(meta[2]),
            .w = @intCast(meta[3]),
            .o = @intCast(meta[4]),
            .kh = @intCast(meta[5]),
            .kw = @intCast(meta[6]),
            .ph = @intCast(meta[7]),
            .pw = @intCast(meta[8]),
            .mode = std.enums.fromInt(Mode, meta[9]) orelse return error.InvalidArgument,
        };
        if (d.kh == 0 or d.kw == 0) return error.InvalidArgument;
        if (d.h + 2 * d.ph < d.kh or d.w + 2 * d.pw < d.kw) return error.InvalidArgument;
        return d;
    }

    pub fn oh(d: *const Direct) usize {
        return d.h + 2 * d.ph - d.kh + 1;
    }
    pub fn ow(d: *const Direct) usize {
        return d.w + 2 * d.pw - d.kw + 1;
    }

    /// Whether every offset into the zero-padded image [C, H + 2PH, W + 2PW]
    /// fits the u32s of a tap table (see TapOrder.offsets).
    fn tapTableFits(d: *const Direct) bool {
        return d.c * (d.h + 2 * d.ph) * (d.w + 2 * d.pw) <= std.math.maxInt(u32);
    }

    /// Whether the channel kernel's tiles should skip the products that
    /// kernel columns at a row's edges take from the padding: they are
    /// pw*(pw + 1) of every OW*KW a row takes, and skipping them costs the
    /// taps' (i, j, c) order, which on wide rows (ResNet's 56 columns, 1.2%
    /// of the products in the padding) ran 1-2% slower than (i, c, j). On
    /// conv2's rows of 14 (8.6%) it ran 3.5% faster.
    fn columnCutsPay(d: *const Direct) bool {
        return 100 * d.pw * (d.pw + 1) >= 4 * d.ow() * d.kw;
    }

    /// The channel kernels' tap order: (i, c, j) where no columns are cut,
    /// else (i, j, c) for two-row tiles (which read a kernel row at a time)
    /// and (j, i, c) for one-row tiles (see TapOrder).
    fn tapOrder(d: *const Direct, two_row_tiles: bool) TapOrder {
        if (!d.columnCutsPay()) return .rows;
        return if (two_row_tiles and d.oh() > 1) .row_columns else .columns;
    }

    /// The output columns x whose kernel columns ja ..= jb read inside the
    /// image at some j (PW <= x + j < PW + W): the weight gradient's view of
    /// validCols, for a tile of taps on those columns.
    fn validOutCols(d: *const Direct, ja: usize, jb: usize) struct { usize, usize } {
        assert(ja <= jb);
        const lo = if (d.pw > jb) d.pw - jb else 0;
        const hi = if (d.w + d.pw > ja) @min(d.ow(), d.w + d.pw - ja) else 0;
        return .{ @min(lo, hi), hi };
    }

    /// The columns x0 + u (u < width) of a tile whose kernel column j reads
    /// inside the image (PW <= x0 + u + j < PW + W), as u's range: the rest
    /// read the zero padding. Empty where the column sees only padding.
    fn validCols(d: *const Direct, x0: usize, width: usize, j: usize) struct { usize, usize } {
        const lo = if (d.pw > x0 + j) @min(d.pw - x0 - j, width) else 0;
        const hi = if (d.pw + d.w > x0 + j) @min(width, d.pw + d.w - x0 - j) else 0;
        return .{ @min(lo, hi), hi };
    }

    /// The output rows y whose kernel row i reads inside the image (the
    /// weight gradient's view of validRows). Empty where row i sees only padding.
    fn validOutRows(d: *const Direct, i: usize) struct { usize, usize } {
        const lo = if (d.ph > i) d.ph - i else 0;
        const hi = if (d.h + d.ph > i) @min(d.oh(), d.h + d.ph - i) else 0;
        return .{ @min(lo, hi), hi };
    }

    /// The padded rows that a two-row tile (output rows y and y + 1) reads
    /// inside the image: padded row y + i is tap row i of row y and tap row
    /// i - 1 of row y + 1.
    fn twoRows(d: *const Direct, y: usize) TwoRows {
        assert(y + 1 < d.oh());
        return .{ .y = y, .kh = d.kh, .lo = @max(y, d.ph), .hi = @min(y + d.kh + 1, d.ph + d.h) };
    }

    /// The kernel rows i that output row y reads inside the image
    /// (0 <= y + i - PH < H): the rest read the zero padding, and their
    /// products are skipped. Empty where the row sees only padding.
    fn validRows(d: *const Direct, y: usize) struct { usize, usize } {
        const lo = if (d.ph > y) d.ph - y else 0;
        const hi = if (d.h + d.ph > y) @min(d.kh, d.h + d.ph - y) else 0;
        return .{ @min(lo, hi), hi };
    }
};

/// The orders in which the channel kernels read their taps: kernel row i,
/// kernel column j, input channel (or channel pair) c.
const TapOrder = enum {
    /// (i, c, j): a kernel row's taps in one run, for tiles that skip no
    /// padding columns (see Direct.columnCutsPay).
    rows,
    /// (i, j, c): within a kernel row, the taps of one kernel column
    /// together, for two-row tiles, which read one kernel row at a time.
    row_columns,
    /// (j, i, c): a kernel column's taps together, and within it a row's:
    /// for one-row tiles, whose stretches of one column run over every
    /// kernel row they read (conv2's 5 rows of 8 channel pairs in one loop
    /// instead of five).
    columns,

    /// Tap t's (i, c, j) for a kernel of kh x kw on cn channels.
    fn split(o: TapOrder, t: usize, kh: usize, cn: usize, kw: usize) struct { usize, usize, usize } {
        return switch (o) {
            .rows => .{ t / (cn * kw), t / kw % cn, t % kw },
            .row_columns => .{ t / (kw * cn), t % cn, t / cn % kw },
            .columns => .{ t / cn % kh, t % cn, t / (kh * cn) },
        };
    }

    /// offs[t] = (c*HP + i)*WR + j in a padded image [cn, HP, WR].
    fn offsets(o: TapOrder, d: *const Direct, cn: usize, hp: usize, wr: usize, offs: []u32) void {
        assert(offs.len == cn * d.kh * d.kw and cn * hp * wr <= std.math.maxInt(u32));
        for (offs, 0..) |*off, t| {
            const i, const c, const j = o.split(t, d.kh, cn, d.kw);
            off.* = @intCast((c * hp + i) * wr + j);
        }
    }

    /// The taps a one-row tile reads from kernel rows kr and columns
    /// [j0, j1): `steps` stretches of `len` taps, the first at `first`, each
    /// `stride` after the one before. Whole rows or columns make one.
    fn stretch(o: TapOrder, d: *const Direct, cn: usize, kr: struct { usize, usize }, j0: usize, j1: usize) Stretch {
        const per_row = d.kw * cn;
        const all_cols = j0 == 0 and j1 == d.kw;
        return switch (o) {
            .rows, .row_columns => if (all_cols)
                .{ .steps = 1, .first = kr[0] * per_row, .stride = 0, .len = (kr[1] - kr[0]) * per_row }
            else blk: {
                assert(o == .row_columns);
                break :blk .{ .steps = kr[1] - kr[0], .first = kr[0] * per_row + j0 * cn, .stride = per_row, .len = (j1 - j0) * cn };
            },
            .columns => if (kr[0] == 0 and kr[1] == d.kh)
                .{ .steps = 1, .first = j0 * d.kh * cn, .stride = 0, .len = (j1 - j0) * d.kh * cn }
            else
                .{ .steps = j1 - j0, .first = (j0 * d.kh + kr[0]) * cn, .stride = d.kh * cn, .len = (kr[1] - kr[0]) * cn },
        };
    }
};

/// See TapOrder.stretch.
const Stretch = struct { steps: usize, first: usize, stride: usize, len: usize };

/// See Direct.twoRows.
const TwoRows = struct {
    y: usize,
    kh: usize,
    lo: usize,
    hi: usize,

    /// Which rows of the tile a padded row feeds.
    const Feeds = enum { upper, both, lower };

    fn feeds(r: TwoRows, pr: usize) Feeds {
        return if (pr == r.y) .upper else if (pr == r.y + r.kh) .lower else .both;
    }
    /// Padded row pr's tap row for output row y (0 where it feeds only y + 1).
    fn upperTap(r: TwoRows, pr: usize) usize {
        return if (pr < r.y + r.kh) pr - r.y else 0;
    }
    /// Padded row pr's tap row for output row y + 1 (0 where it feeds only y).
    fn lowerTap(r: TwoRows, pr: usize) usize {
        return if (pr > r.y) pr - r.y - 1 else 0;
    }
};

fn DirectKernel(comptime T: type) type {
    return DirectKernelFor(T, T);
}

/// The direct kernels computing in T on tensors of element type E
/// (float16/bfloat16 beside an f32 T): images, output gradients and
/// weights convert as they are padded or packed, and outputs round once as
/// they are stored, so no tensor is ever copied whole to f32.
fn DirectKernelFor(comptime T: type, comptime E: type) type {
    comptime assert(E == T or T == f32);
    return struct {
        /// Output channels per micro-tile: MR x NV vectors of accumulators
        /// (8 on AVX2) hide the FMA latency, and each tap loads NV vectors
        /// and MR weights for MR * NV FMAs.
        const MR = 4;
        const VL = 32 / @sizeOf(T);
        const NV = 2;
        /// Output columns per micro-tile.
        const NR = VL * NV;
        const V = @Vector(VL, T);

        const Ctx = struct {
            d: Direct,
            x: [*]const E,
            wp: [*]const T,
            bias: ?[*]const E,
            out: [*]E,
            /// Padded image scratch, one per chunk: xp_len elements each.
            xp: [*]T,
            xp_len: usize,
            hp: usize,
            /// Padded row length (see runWith).
            wr: usize,
            /// Channel kernel: where tap t reads the padded image (see
            /// TapOrder.offsets), in the order of `order`.
            taps: [*]const u32,
            order: TapOrder,
            chunks: u32,
        };

        /// wp[ob][c][i][j][B]: the weights of output block ob (B channels) in
        /// the order the micro-kernels read them, zero past the last channel.
        /// bias[o0 .. o0 + n] in T (zero past O and without a bias): a tile's
        /// starting accumulators.
        fn biasBlock(comptime n: usize, d: *const Direct, bias: ?[*]const E, o0: usize) [n]T {
            var init: [n]T = @splat(0);
            if (bias) |b| {
                for (0..@min(n, d.o - o0)) |r| init[r] = dt.loadOne(T, E, b[o0 + r]);
            }
            return init;
        }

        /// The lane kernel reads taps in (c, i, j) order, the channel kernel
        /// in `order`'s.
        fn packWeights(comptime form: Form, d: *const Direct, order: TapOrder, w: [*]const E, wp: [*]T) void {
            const B = comptime block(form);
            const blocks = (d.o + B - 1) / B;
            var q: usize = 0;
            for (0..blocks) |ob| for (0..d.c * d.kh * d.kw) |t| {
                const i, const c, const j = if (form == .lanes)
                    .{ t / d.kw % d.kh, t / (d.kh * d.kw), t % d.kw }
                else
                    order.split(t, d.kh, d.c, d.kw);
                inline for (0..B) |r| {
                    const o = ob * B + r;
                    wp[q] = if (o >= d.o) 0 else if (d.mode == .input_grad)
                        dt.loadOne(T, E, w[((c * d.o + o) * d.kh + (d.kh - 1 - i)) * d.kw + (d.kw - 1 - j)])
                    else
                        dt.loadOne(T, E, w[((o * d.c + c) * d.kh + i) * d.kw + j]);
                    q += 1;
                }
            };
        }

        /// Copies image n of x into xp: [C, HP, WR] with zero borders (the
        /// image at row ph, column pw). The borders are zeroed only where
        /// `zero` says so: the images of one chunk share a buffer, and each
        /// writes the same interior.
        fn padImage(d: *const Direct, x: [*]const E, n: usize, xp: [*]T, hp: usize, wr: usize, zero: bool) void {
            if (zero) @memset(xp[0 .. d.c * hp * wr], 0);
            for (0..d.c) |c| for (0..d.h) |y| {
                const src = x + ((n * d.c + c) * d.h + y) * d.w;
                rowConvert(T, E, xp + (c * hp + y + d.ph) * wr + d.pw, src, d.w);
            };
        }

        /// The first `n` lanes of `v` to dst[0..n], rounded to E (the
        /// whole vector rounded at once, then the lanes copied).
        inline fn storeLanes(dst: [*]E, v: V, n: usize) void {
            var tmp: [VL]E = undefined;
            dt.storeVec(T, E, VL, &tmp, v);
            @memcpy(dst[0..n], tmp[0..n]);
        }

        /// Outputs o0 .. o0+MR (those below O) of row y, columns x0 .. x0+cols.
        fn micro(ctx: *const Ctx, xp: [*]const T, wb: [*]const T, n: usize, o0: usize, y: usize, x0: usize, cols: usize) void {
            const d = &ctx.d;
            var acc: [MR][NV]V = undefined;
            inline for (0..MR) |r| {
                const b: T = if (ctx.bias) |bias| (if (o0 + r < d.o) dt.loadOne(T, E, bias[o0 + r]) else 0) else 0;
                inline for (0..NV) |v| acc[r][v] = @splat(b);
            }
            var wq = wb;
            for (0..d.c) |c| for (0..d.kh) |i| {
                const row = xp + (c * ctx.hp + y + i) * ctx.wr + x0;
                for (0..d.kw) |j| {
                    var bv: [NV]V = undefined;
                    inline for (0..NV) |v| bv[v] = row[j + v * VL ..][0..VL].*;
                    inline for (0..MR) |r| {
                        const a: V = @splat(wq[r]);
                        inline for (0..NV) |v| acc[r][v] = mm.madd(V, a, bv[v], acc[r][v]);
                    }
                    wq += MR;
                }
            };
            const oh = d.oh();
            const ow = d.ow();
            inline for (0..MR) |r| {
                if (o0 + r < d.o) {
                    const dst = ctx.out + ((n * d.o + o0 + r) * oh + y) * ow + x0;
                    if (cols == NR) {
                        inline for (0..NV) |v| dt.storeVec(T, E, VL, dst + v * VL, acc[r][v]);
                    } else {
                        var tmp: [NR]E = undefined;
                        inline for (0..NV) |v| dt.storeVec(T, E, VL, tmp[v * VL ..].ptr, acc[r][v]);
                        @memcpy(dst[0..cols], tmp[0..cols]);
                    }
                }
            }
        }

        // ------------------------------------------------------- weight gradient

        /// Output channels and taps per weight-gradient micro-tile: JB taps
        /// of one kernel row for MRG channels, JB * MRG vector accumulators
        /// over the columns, reduced across lanes at the end.
        const MRG = 2;
        const JB = 5;

        const GradCtx = struct {
            d: Direct,
            x: [*]const E,
            g: [*]const E,
            gw: [*]E,
            /// The whole batch padded: xp [N, C, HP, WR] and gp [N, O, OH, GR]
            /// (g's rows widened to whole vectors with zeros).
            xp: [*]T,
            gp: [*]T,
            hp: usize,
            wr: usize,
            gr: usize,
            n_chunks: u32,
            tasks: usize,
            t_chunks: u32,
        };

        fn padBatch(ctx: *const GradCtx, chunk: u32) void {
            const d = &ctx.d;
            const oh = d.oh();
            const ow = d.ow();
            const r = pool.chunkRange(d.n, ctx.n_chunks, chunk);
            for (r[0]..r[1]) |n| {
                padImage(d, ctx.x, n, ctx.xp + n * d.c * ctx.hp * ctx.wr, ctx.hp, ctx.wr, true);
                const gp = ctx.gp + n * d.o * oh * ctx.gr;
                for (0..d.o * oh) |row| {
                    const dst = gp + row * ctx.gr;
                    rowConvert(T, E, dst, ctx.g + (n * d.o * oh + row) * ow, ow);
                    @memset(dst[ow..ctx.gr], 0);
                }
            }
        }

        /// One task: output channels ob*MRG.., input channel c, kernel row i.
        fn gradTask(ctx: *const GradCtx, chunk: u32) void {
            const d = &ctx.d;
            const oh = d.oh();
            const ow = d.ow();
            const tiles = ctx.gr / VL;
            const r = pool.chunkRange(ctx.tasks, ctx.t_chunks, chunk);
            for (r[0]..r[1]) |t| {
                const i = t % d.kh;
                const c = (t / d.kh) % d.c;
                const o0 = (t / d.kh / d.c) * MRG;
                // Lanes past the last output column hold g = 0; their x lanes
                // are zeroed too, so an inf in the image cannot make 0 * inf.
                var last_mask: @Vector(VL, bool) = undefined;
                inline for (0..VL) |l| last_mask[l] = (tiles - 1) * VL + l < ow;
                var j0: usize = 0;
                while (j0 < d.kw) : (j0 += JB) {
                    const jn = @min(JB, d.kw - j0);
                    var acc: [MRG][JB]V = @splat(@splat(@splat(0)));
                    for (0..d.n) |n| for (0..oh) |y| {
                        var grow: [MRG][*]const T = undefined;
                        inline for (0..MRG) |q| {
                            const o = @min(o0 + q, d.o - 1);
                            grow[q] = ctx.gp + ((n * d.o + o) * oh + y) * ctx.gr;
                        }
                        const xrow = ctx.xp + ((n * d.c + c) * ctx.hp + y + i) * ctx.wr + j0;
                        for (0..tiles) |xt| {
                            const x0 = xt * VL;
                            var gv: [MRG]V = undefined;
                            inline for (0..MRG) |q| gv[q] = grow[q][x0..][0..VL].*;
                            inline for (0..JB) |jj| {
                                if (jj < jn) {
                                    var xv: V = xrow[x0 + jj ..][0..VL].*;
                                    if (xt + 1 == tiles) xv = @select(T, last_mask, xv, @as(V, @splat(0)));
                                    inline for (0..MRG) |q| acc[q][jj] = mm.madd(V, gv[q], xv, acc[q][jj]);
                                }
                            }
                        }
                    };
                    inline for (0..MRG) |q| {
                        if (o0 + q < d.o) {
                            const dst = ctx.gw + ((o0 + q) * d.c + c) * d.kh * d.kw + i * d.kw + j0;
                            inline for (0..JB) |jj| {
                                if (jj < jn) dt.storeOne(T, E, &dst[jj], @reduce(.Add, acc[q][jj]));
                            }
                        }
                    }
                }
            }
        }

        // ------------------------------- weight gradient through image columns

        /// Many taps and few output channels (see weightGrad), and images
        /// too large for the channel form's tables: per image, gwT[t, o] += cols_n[t, :] @
        /// g_n[o, :]^T with cols_n = im2col(x[n]): [T, L] (T = C*KH*KW,
        /// L = OH*OW). One image's columns stay in cache where the batch's
        /// column matrix (the reference path) went through memory twice, and
        /// the columns are the GEMM's unpacked A operand. Each chunk of
        /// images accumulates in its own gwT; the chunks are summed at the end.
        const ColsCtx = struct {
            d: Direct,
            x: [*]const T,
            g: [*]const T,
            mem: [*]T,
            /// Elements of `mem` per chunk: cols, part, acc and the padded image, then packing space.
            per_chunk: usize,
            cols_len: usize,
            acc_len: usize,
            /// The padded image: [C, H + 2PH, W + 2PW].
            xp_len: usize,
            gemm_bytes: usize,
            chunks: u32,
        };

        fn colsTask(ctx: *const ColsCtx, chunk: u32) void {
            const d = &ctx.d;
            const taps = d.c * d.kh * d.kw;
            const l = d.oh() * d.ow();
            const cols = ctx.mem + @as(usize, chunk) * ctx.per_chunk;
            const part = cols + ctx.cols_len;
            const acc = part + ctx.acc_len;
            const xp = acc + ctx.acc_len;
            const gm: [*]align(64) u8 = @ptrCast(@alignCast(xp + ctx.xp_len));
            @memset(acc[0 .. taps * d.o], 0);
            const r = pool.chunkRange(d.n, ctx.chunks, chunk);
            const hp = d.h + 2 * d.ph;
            const wr = d.w + 2 * d.pw;
            for (r[0]..r[1]) |n| {
                padImage(d, ctx.x, n, xp, hp, wr, n == r[0]);
                colsFromPadded(d, xp, hp, wr, cols);
                // acc[t, o] += sum_q cols[t, q] * g[n, o, q]: B[q, o] read with strides (1, L).
                const gn = ctx.g + n * d.o * l;
                if (d.o > 1 and l > 0) {
                    mm.serialAccumulate(T, cols, gn, acc, taps, d.o, l, l, 1, 1, l, gm[0..ctx.gemm_bytes]);
                } else {
                    // One output channel: the matrix-vector path, which overwrites.
                    mm.serial(T, cols, gn, part, taps, d.o, l, l, 1, 1, l, gm[0..ctx.gemm_bytes]);
                    addRun(T, acc, part, taps * d.o);
                }
            }
        }

        /// cols[(c*KH + i)*KW + j][y*OW + x] = xp[c, y + i, x + j]: im2col of
        /// one image from its padded copy, one row copy per tap and output row
        /// (whole vectors, the last one overlapping) and no padding cases.
        fn colsFromPadded(d: *const Direct, xp: [*]const T, hp: usize, wr: usize, cols: [*]T) void {
            const oh = d.oh();
            const ow = d.ow();
            const l = oh * ow;
            for (0..d.c) |c| for (0..d.kh) |i| for (0..d.kw) |j| {
                const row0 = cols + ((c * d.kh + i) * d.kw + j) * l;
                for (0..oh) |y| {
                    const src = xp + (c * hp + y + i) * wr + j;
                    rowCopy(T, row0 + y * ow, src, ow);
                }
            };
        }

        fn weightGradColumns(d: Direct, x: [*]const T, g: [*]const T, gw: [*]T) Error!void {
            comptime assert(E == T);
            const taps = d.c * d.kh * d.kw;
            const l = d.oh() * d.ow();
            const chunks: u32 = @intCast(@min(d.n, pool.numThreads()));
            // Element counts rounded to 64 bytes keep every region aligned.
            const align_elems = 64 / @sizeOf(T);
            const cols_len = roundUp(taps * l, align_elems);
            const acc_len = roundUp(taps * d.o, align_elems);
            const gemm_bytes = mm.serialBufBytes(T, taps, d.o, l);
            const xp_len = roundUp(d.c * (d.h + 2 * d.ph) * (d.w + 2 * d.pw), align_elems);
            const per_chunk = cols_len + 2 * acc_len + xp_len + gemm_bytes / @sizeOf(T);
            const gpa = std.heap.c_allocator;
            const mem = gpa.alignedAlloc(T, .@"64", per_chunk * chunks) catch return error.OutOfMemory;
            defer gpa.free(mem);
            const ctx = ColsCtx{
                .d = d,
                .x = x,
                .g = g,
                .mem = mem.ptr,
                .per_chunk = per_chunk,
                .cols_len = cols_len,
                .acc_len = acc_len,
                .xp_len = xp_len,
                .gemm_bytes = gemm_bytes,
                .chunks = chunks,
            };
            pool.run(chunks, &ctx, colsTask);
            // gw[o, t] = sum over chunks of acc[t, o].
            for (0..d.o) |o| for (0..taps) |t| {
                var sum: T = 0;
                for (0..chunks) |ch| sum += (mem.ptr + ch * per_chunk + cols_len + acc_len)[t * d.o + o];
                gw[o * taps + t] = sum;
            };
        }

        // ------------------------------------- weight gradient, channel form

        /// The forward channel kernel's roles swapped: per image, gwT[t, o] += sum_q xp[t's window at q] *
        /// gT[q, o], vectors over CB output channels of gT (g transposed
        /// to [L, O], L = OH*OW, zero past O), each image element broadcast,
        /// WT taps per tile. No column matrix is built: a tap's window at
        /// position q is xp + offt[t] + offq[q] in the padded image.
        /// Positions run in blocks of about QB (whole output rows) so that a
        /// block of gT stays in L1 across the tiles; each chunk of images
        /// sums into its own gwT. A tile's taps are WT consecutive ones in
        /// TapOrder.row_columns: one kernel row, and mostly one kernel
        /// column, so the tile sums only the output rows and columns whose
        /// windows read its taps inside the image.
        const WT = 6;
        const QB = 256;

        const WgCtx = struct {
            d: Direct,
            x: [*]const E,
            g: [*]const E,
            mem: [*]T,
            /// Elements of `mem` per chunk: acc [blocks][taps][CB], then gT
            /// [blocks][L][CB], then the padded image.
            per_chunk: usize,
            acc_len: usize,
            gt_len: usize,
            hp: usize,
            wr: usize,
            /// offt[t]: (c*HP + i)*WR + j for t = (i*KW + j)*C + c (see
            /// TapOrder.row_columns).
            offt: [*]const u32,
            chunks: u32,
        };

        fn wgTask(ctx: *const WgCtx, chunk: u32) void {
            const d = &ctx.d;
            const taps = d.c * d.kh * d.kw;
            const l = d.oh() * d.ow();
            const blocks = (d.o + CB - 1) / CB;
            const acc = ctx.mem + @as(usize, chunk) * ctx.per_chunk;
            const gt = acc + ctx.acc_len;
            const xp = gt + ctx.gt_len;
            @memset(acc[0 .. blocks * taps * CB], 0);
            const r = pool.chunkRange(d.n, ctx.chunks, chunk);
            for (r[0]..r[1]) |n| {
                padImage(d, ctx.x, n, xp, ctx.hp, ctx.wr, n == r[0]);
                transposeGrad(d, ctx.g + n * d.o * l, gt);
                const per_row = d.kw * d.c;
                const ow = d.ow();
                const rows_per_block = @max(1, QB / ow);
                var y0: usize = 0;
                while (y0 < d.oh()) : (y0 += rows_per_block) {
                    const y1 = @min(d.oh(), y0 + rows_per_block);
                    for (0..blocks) |ob| {
                        const gtb = gt + ob * l * CB;
                        // Taps of kernel row i see the image only from output
                        // rows validOutRows(i): the other positions multiply padding.
                        for (0..d.kh) |i| {
                            const yr = d.validOutRows(i);
                            const ya = @max(y0, yr[0]);
                            const yb = @min(y1, yr[1]);
                            if (ya >= yb) continue;
                            var t0: usize = i * per_row;
                            while (t0 < (i + 1) * per_row) {
                                const tt = @min(WT, (i + 1) * per_row - t0);
                                // The tile's kernel columns ja..jb read inside
                                // the image from output columns xr (the union of
                                // each column's: a tap outside its own reads zeros).
                                const ja = (t0 - i * per_row) / d.c;
                                const jb = (t0 + tt - 1 - i * per_row) / d.c;
                                const xr = d.validOutCols(ja, jb);
                                if (xr[0] < xr[1]) switch (tt) {
                                    inline 1...WT => |k| wgMicro(k, ctx, xp, gtb, acc + (ob * taps + t0) * CB, t0, .{ ya, yb }, xr),
                                    else => unreachable,
                                };
                                t0 += tt;
                            }
                        }
                    }
                }
            }
        }

        /// gt[ob][q][r] = g[ob*CB + r, q] (g: [O, L], one image's), zero
        /// past O: VL x VL blocks through register transposes, the last
        /// L % VL positions element by element.
        fn transposeGrad(d: *const Direct, g: [*]const E, gt: [*]T) void {
            const l = d.oh() * d.ow();
            const blocks = (d.o + CB - 1) / CB;
            const lv = l - l % VL;
            for (0..blocks) |ob| {
                const dst = gt + ob * l * CB;
                inline for (0..2) |v| {
                    const o0 = ob * CB + v * VL;
                    var q: usize = 0;
                    while (q < lv) : (q += VL) {
                        var rows: [VL]V = undefined;
                        inline for (0..VL) |r| {
                            rows[r] = if (o0 + r < d.o) dt.loadVec(T, E, VL, g + (o0 + r) * l + q) else @splat(0);
                        }
                        const cols = transpose(rows);
                        inline for (0..VL) |u| (dst + (q + u) * CB + v * VL)[0..VL].* = cols[u];
                    }
                    for (lv..l) |qq| {
                        for (0..VL) |r| dst[qq * CB + v * VL + r] = if (o0 + r < d.o) dt.loadOne(T, E, g[(o0 + r) * l + qq]) else 0;
                    }
                }
            }
        }

        /// acc[k][0..CB] += sum over output rows y in yr and columns x in xr
        /// of xp[offt[t0+k] + y*WR + x] * gtb[y*OW + x][0..CB].
        fn wgMicro(comptime tt: usize, ctx: *const WgCtx, xp: [*]const T, gtb: [*]const T, accb: [*]T, t0: usize, yr: struct { usize, usize }, xr: struct { usize, usize }) void {
            const ow = ctx.d.ow();
            var base: [tt][*]const T = undefined;
            inline for (0..tt) |k| base[k] = xp + ctx.offt[t0 + k];
            var acc: [tt][2]V = @splat(.{ @as(V, @splat(0)), @as(V, @splat(0)) });
            for (yr[0]..yr[1]) |y| {
                const grow = gtb + y * ow * CB;
                const xrow = y * ctx.wr;
                for (xr[0]..xr[1]) |xx| {
                    const gq = grow + xx * CB;
                    const g0: V = gq[0..VL].*;
                    const g1: V = gq[VL..CB].*;
                    inline for (0..tt) |k| {
                        const xv: V = @splat(base[k][xrow + xx]);
                        acc[k][0] = mm.madd(V, g0, xv, acc[k][0]);
                        acc[k][1] = mm.madd(V, g1, xv, acc[k][1]);
                    }
                }
            }
            inline for (0..tt) |k| {
                const dst = accb + k * CB;
                dst[0..VL].* = @as(V, dst[0..VL].*) + acc[k][0];
                dst[VL..CB].* = @as(V, dst[VL..CB].*) + acc[k][1];
            }
        }

        fn weightGradChannels(d: Direct, x: [*]const E, g: [*]const E, gw: [*]E) Error!void {
            const taps = d.c * d.kh * d.kw;
            const oh = d.oh();
            const ow = d.ow();
            const l = oh * ow;
            const hp = d.h + 2 * d.ph;
            const wr = d.w + 2 * d.pw;
            if (!d.tapTableFits()) return error.InvalidArgument;
            const blocks = (d.o + CB - 1) / CB;
            // Each chunk of images sums into its own accumulators, added in
            // chunk order at the end (the same result for any timing). Four
            // chunks per thread rather than one: threads claim chunks as
            // they finish, so one slowed by the rest of the machine takes
            // fewer instead of the others waiting for its equal share.
            const threads: usize = pool.numThreads();
            const chunks: u32 = @intCast(@max(1, @min(d.n, if (threads > 1) 4 * threads else 1)));
            const align_elems = 64 / @sizeOf(T);
            const acc_len = roundUp(blocks * taps * CB, align_elems);
            const gt_len = roundUp(blocks * l * CB, align_elems);
            const xp_len = roundUp(d.c * hp * wr, align_elems);
            const per_chunk = acc_len + gt_len + xp_len;
            const gpa = std.heap.c_allocator;
            const mem = gpa.alignedAlloc(T, .@"64", per_chunk * chunks) catch return error.OutOfMemory;
            defer gpa.free(mem);
            const offt = gpa.alloc(u32, taps) catch return error.OutOfMemory;
            defer gpa.free(offt);
            TapOrder.row_columns.offsets(&d, d.c, hp, wr, offt);
            const ctx = WgCtx{
                .d = d,
                .x = x,
                .g = g,
                .mem = mem.ptr,
                .per_chunk = per_chunk,
                .acc_len = acc_len,
                .gt_len = gt_len,
                .hp = hp,
                .wr = wr,
                .offt = offt.ptr,
                .chunks = chunks,
            };
            pool.run(chunks, &ctx, wgTask);
            // The chunks' sums into the first chunk's, in chunk order (the
            // same bits as adding each output's chunks one by one), then
            // gw[o, c, i, j] = acc[o / CB][t][o % CB], t = (i*KW + j)*C + c.
            for (1..chunks) |ch| addRun(T, mem.ptr, mem.ptr + ch * per_chunk, blocks * taps * CB);
            for (0..d.o) |o| for (0..d.c) |c| for (0..d.kh) |i| for (0..d.kw) |j| {
                const at = ((o / CB) * taps + (i * d.kw + j) * d.c + c) * CB + o % CB;
                dt.storeOne(T, E, &gw[((o * d.c + c) * d.kh + i) * d.kw + j], mem[at]);
            };
        }

        /// The weight gradient on the channel form wherever a vector of
        /// output channels is at least a quarter full: measured against the
        /// other two it won from the CNN's first layer (16 channels, 1x5x5
        /// taps: 0.93 ms against the dot kernel's 2.1) to a ResNet block
        /// (64 channels, 64x3x3: 83-95 ms against the columns' 121). With
        /// fewer channels the dot kernel (few taps) or a GEMM on image
        /// columns (many) waste fewer lanes.
        const channel_min_outputs = 4;
        const dot_max_taps = 64;

        fn weightGrad(d: Direct, x: [*]const E, g: [*]const E, gw: [*]E) Error!void {
            const taps = d.c * d.kh * d.kw;
            if (d.n == 0 or d.oh() == 0 or d.ow() == 0 or taps == 0 or d.o == 0) return weightGradDot(d, x, g, gw);
            if (d.o >= channel_min_outputs and d.tapTableFits()) {
                if (comptime Pairs.available) {
                    if (d.o > Pairs.L and mm.hasBf16Dot() and !mm.bf16_dot_disabled) return Pairs.weightGradPairs(d, x, g, gw);
                }
                return weightGradChannels(d, x, g, gw);
            }
            // The columns form multiplies g in place: only in the compute type.
            if (E == T and taps > dot_max_taps) return weightGradColumns(d, x, g, gw);
            return weightGradDot(d, x, g, gw);
        }

        fn weightGradDot(d: Direct, x: [*]const E, g: [*]const E, gw: [*]E) Error!void {
            const oh = d.oh();
            const ow = d.ow();
            const taps = d.o * d.c * d.kh * d.kw;
            if (taps == 0) return;
            if (d.n == 0 or oh == 0 or ow == 0) {
                @memset(gw[0..taps], std.mem.zeroes(E));
                return;
            }
            const tiles = (ow + VL - 1) / VL;
            const hp = d.h + 2 * d.ph;
            // Each tap row reads VL columns from x0 + j, j < kw.
            const wr = tiles * VL + d.kw - 1;
            assert(wr >= d.w + 2 * d.pw);
            const gr = tiles * VL;
            const gpa = std.heap.c_allocator;
            const xp = gpa.alignedAlloc(T, .@"64", d.n * d.c * hp * wr) catch return error.OutOfMemory;
            defer gpa.free(xp);
            const gp = gpa.alignedAlloc(T, .@"64", d.n * d.o * oh * gr) catch return error.OutOfMemory;
            defer gpa.free(gp);
            const tasks = ((d.o + MRG - 1) / MRG) * d.c * d.kh;
            const ctx = GradCtx{
                .d = d,
                .x = x,
                .g = g,
                .gw = gw,
                .xp = xp.ptr,
                .gp = gp.ptr,
                .hp = hp,
                .wr = wr,
                .gr = gr,
                .n_chunks = pool.chunkCount(d.n, 1),
                .tasks = tasks,
                .t_chunks = pool.chunkCount(tasks, 1),
            };
            pool.run(ctx.n_chunks, &ctx, padBatch);
            pool.run(ctx.t_chunks, &ctx, gradTask);
        }

        // ------------------------------------------------ channel-vector kernel

        /// Output channels per channel-kernel tile: two vectors of them.
        const CB = 2 * VL;
        /// Output columns per channel-kernel tile at most: UR x 2 vector
        /// accumulators, two weight vectors and a broadcast fill 15 of 16
        /// AVX2 registers. (Tiles of 7-14 columns on AVX-512's 32 registers
        /// were measured slower on conv2's rows of 14: 3.1-3.2 ms against 2.9.)
        const UR = 6;

        /// Columns of the next channel-kernel tile when `left` remain: six at
        /// a time, the last 7-9 split so that no tile is short of four.
        fn tileCols(left: usize) usize {
            return switch (left) {
                0...6 => left,
                7, 8 => 4,
                9 => 5,
                else => UR,
            };
        }

        /// Leading or trailing columns a tile skips at most where a kernel
        /// column reads the padding (see validCols): each count is its own
        /// compiled loop. Wider padding skips this many; the rest multiply
        /// the padding's zeros.
        const max_cut = 3;
        /// Codes of the compiled column ranges: 0 every column, 1 .. max_cut
        /// that many leading columns skipped, max_cut + 1 .. 2 * max_cut
        /// trailing ones, and `no_cols` none.
        const no_cols = 2 * max_cut + 1;

        fn cutCode(comptime ur: usize, cols: struct { usize, usize }) u8 {
            if (cols[0] >= cols[1]) return no_cols;
            const lead = cols[0];
            const trail = ur - cols[1];
            // Both at once only on rows narrower than a tile and its padding:
            // skip the side with more.
            const cut: usize = if (lead >= trail) @min(lead, max_cut) else max_cut + @as(usize, @min(trail, max_cut));
            return @intCast(cut);
        }

        /// The range of u that code `code` computes in a tile of ur columns.
        fn cutRange(comptime ur: usize, comptime code: u8) struct { usize, usize } {
            if (code <= max_cut) return .{ @min(code, ur), ur };
            return .{ 0, ur - @min(code - max_cut, ur) };
        }

        /// A tile's kernel columns [j0, j1) that share one cut code.
        const ColumnRun = struct { j0: usize, j1: usize, code: u8 };
        /// Codes change along the kernel's columns at most this often: the
        /// leading cuts falling, then the trailing ones rising, with a run
        /// of `no_cols` at either end.
        const max_runs = 2 * max_cut + 3;

        /// The runs of kernel columns with one cut code for the tile at
        /// column x0, ur wide: one run of every column without cuts.
        fn columnRuns(comptime ur: usize, d: *const Direct, order: TapOrder, x0: usize, runs: *[max_runs]ColumnRun) usize {
            if (order == .rows) {
                runs[0] = .{ .j0 = 0, .j1 = d.kw, .code = 0 };
                return 1;
            }
            var count: usize = 0;
            for (0..d.kw) |j| {
                const code = cutCode(ur, d.validCols(x0, ur, j));
                if (count > 0 and runs[count - 1].code == code) {
                    runs[count - 1].j1 = j + 1;
                } else {
                    assert(count < max_runs);
                    runs[count] = .{ .j0 = j, .j1 = j + 1, .code = code };
                    count += 1;
                }
            }
            return count;
        }

        /// Outputs o0 .. o0+CB (those below O) of row y, columns x0 .. x0+ur:
        /// the weights of CB channels as two vectors, each input element
        /// broadcast. Vectors run over channels, so a narrow row (conv2's 14
        /// columns) wastes no lanes. The kernel rows and columns whose
        /// products read the padding are skipped: rows for the whole tile,
        /// columns for the tile's columns at the row's edges.
        fn microCh(comptime ur: usize, ctx: *const Ctx, xp: [*]const T, wb: [*]const T, n: usize, o0: usize, y: usize, x0: usize) void {
            // Every column cut is unrolled at compile time.
            @setEvalBranchQuota(20_000);
            const d = &ctx.d;
            const init = biasBlock(CB, d, ctx.bias, o0);
            const b0: V = init[0..VL].*;
            const b1: V = init[VL..].*;
            var acc: [ur][2]V = undefined;
            inline for (0..ur) |u| acc[u] = .{ b0, b1 };
            const base = xp + y * ctx.wr + x0;
            const kr = d.validRows(y);
            var runs: [max_runs]ColumnRun = undefined;
            const nruns = columnRuns(ur, &ctx.d, ctx.order, x0, &runs);
            // One loop over a stretch of taps through their image offsets:
            // nested loops over channels and kernel columns would end a
            // KW-trip loop every few FMAs.
            for (runs[0..nruns]) |cr| {
                switch (cr.code) {
                    inline 0...2 * max_cut => |code| {
                        const cu = comptime cutRange(ur, code);
                        const st = ctx.order.stretch(d, d.c, kr, cr.j0, cr.j1);
                        for (0..st.steps) |k| {
                            const t0 = st.first + k * st.stride;
                            for (t0..t0 + st.len) |t| {
                                const row = base + ctx.taps[t];
                                const wq = wb + t * CB;
                                const w0: V = wq[0..VL].*;
                                const w1: V = wq[VL..CB].*;
                                inline for (cu[0]..cu[1]) |u| {
                                    const xv: V = @splat(row[u]);
                                    acc[u][0] = mm.madd(V, w0, xv, acc[u][0]);
                                    acc[u][1] = mm.madd(V, w1, xv, acc[u][1]);
                                }
                            }
                        }
                    },
                    else => {},
                }
            }
            storeCh(ur, ctx, &acc, n, o0, y, x0);
        }

        /// Stores a channel tile's accumulators (row y, columns x0..x0+ur).
        inline fn storeCh(comptime ur: usize, ctx: *const Ctx, acc: *const [ur][2]V, n: usize, o0: usize, y: usize, x0: usize) void {
            const d = &ctx.d;
            // Channels in lanes, columns in registers: transposed in
            // registers, each channel's ur columns are one row of output.
            // A tile that is not its row's last may store whole vectors: the
            // lanes past its columns belong to the tiles to its right, which
            // this thread writes next.
            const oh = d.oh();
            const ow = d.ow();
            // Columns in groups of VL (more than one only for doubles).
            inline for (0..(ur + VL - 1) / VL) |g| {
                const k = @min(VL, ur - g * VL);
                const xg = x0 + g * VL;
                const whole = xg + VL <= ow;
                inline for (0..2) |v| {
                    var rows: [VL]V = @splat(@splat(0));
                    inline for (0..k) |u| rows[u] = acc[g * VL + u][v];
                    const cols = transpose(rows);
                    inline for (0..VL) |r| {
                        const o = o0 + v * VL + r;
                        if (o < d.o) {
                            const dst = ctx.out + ((n * d.o + o) * oh + y) * ow + xg;
                            if (E != T) {
                                if (whole) dt.storeVec(T, E, VL, dst, cols[r]) else storeLanes(dst, cols[r], k);
                            } else if (whole) dst[0..VL].* = cols[r] else storeFirst(k, dst, cols[r]);
                        }
                    }
                }
            }
        }

        /// Output rows per channel tile: two where the registers hold two
        /// rows' accumulators (AVX-512's 32), one on AVX2's 16.
        const ch_rows = if (mm.vector_registers >= 32) 2 else 1;

        /// microCh for output rows y and y + 1: padded row y + i is tap row i
        /// of row y and tap row i - 1 of row y + 1, so each broadcast feeds
        /// four FMAs, and the loop's per-tap work (offset, address, loop
        /// count) is spread over twice the FMAs, which with one row and tiles
        /// of four columns set the pace instead of the FMA units.
        fn microCh2(comptime ur: usize, ctx: *const Ctx, xp: [*]const T, wb: [*]const T, n: usize, o0: usize, y: usize, x0: usize) void {
            // Every column cut and feed is unrolled at compile time.
            @setEvalBranchQuota(20_000);
            const d = &ctx.d;
            const init = biasBlock(CB, d, ctx.bias, o0);
            const b0: V = init[0..VL].*;
            const b1: V = init[VL..].*;
            var acc: [2][ur][2]V = undefined;
            inline for (0..2) |k| {
                inline for (0..ur) |u| acc[k][u] = .{ b0, b1 };
            }
            const per_row = d.kw * d.c;
            var runs: [max_runs]ColumnRun = undefined;
            assert(ctx.order != .columns);
            const nruns = columnRuns(ur, &ctx.d, ctx.order, x0, &runs);
            const rows = d.twoRows(y);
            var pr = rows.lo;
            while (pr < rows.hi) : (pr += 1) {
                const base = xp + pr * ctx.wr + x0;
                const wu = wb + rows.upperTap(pr) * per_row * CB;
                const wl = wb + rows.lowerTap(pr) * per_row * CB;
                switch (rows.feeds(pr)) {
                    inline else => |f| for (runs[0..nruns]) |cr| {
                        switch (cr.code) {
                            inline 0...2 * max_cut => |code| {
                                const cu = comptime cutRange(ur, code);
                                // The table's first kernel row, in either order: c*HP*WR + j.
                                for (cr.j0 * d.c..cr.j1 * d.c) |t| {
                                    const row = base + ctx.taps[t];
                                    var wv: [2][2]V = undefined;
                                    if (f != .lower) wv[0] = .{ wu[t * CB ..][0..VL].*, wu[t * CB + VL ..][0..VL].* };
                                    if (f != .upper) wv[1] = .{ wl[t * CB ..][0..VL].*, wl[t * CB + VL ..][0..VL].* };
                                    inline for (cu[0]..cu[1]) |u| {
                                        const xv: V = @splat(row[u]);
                                        inline for (0..2) |k| {
                                            if ((k == 0 and f != .lower) or (k == 1 and f != .upper)) {
                                                acc[k][u][0] = mm.madd(V, wv[k][0], xv, acc[k][u][0]);
                                                acc[k][u][1] = mm.madd(V, wv[k][1], xv, acc[k][u][1]);
                                            }
                                        }
                                    }
                                }
                            },
                            else => {},
                        }
                    },
                }
            }
            storeCh(ur, ctx, &acc[0], n, o0, y, x0);
            storeCh(ur, ctx, &acc[1], n, o0, y + 1, x0);
        }

        /// The first `k` lanes of `v` to dst[0..k], in pieces of 4, 2 and 1
        /// lanes.
        inline fn storeFirst(comptime k: usize, dst: [*]T, v: V) void {
            comptime assert(k <= VL);
            comptime var at: usize = 0;
            inline for (.{ 8, 4, 2, 1 }) |piece| {
                if (piece <= VL and (k - at) >= piece) {
                    const mask: @Vector(piece, i32) = comptime blk: {
                        var m: [piece]i32 = undefined;
                        for (0..piece) |l| m[l] = at + l;
                        break :blk m;
                    };
                    dst[at..][0..piece].* = @shuffle(T, v, undefined, mask);
                    at += piece;
                }
            }
            comptime assert(at == k);
        }

        inline fn transpose(rows: [VL]V) [VL]V {
            return mm.transposeBlock(VL, T, rows);
        }

        /// One chunk of images: pad each, then every output row, block of
        /// output channels and tile of columns on the form's micro-kernel.
        fn task(comptime form: Form) fn (*const Ctx, u32) void {
            return struct {
                fn f(ctx: *const Ctx, chunk: u32) void {
                    const d = &ctx.d;
                    const B = comptime block(form);
                    const xp = ctx.xp + @as(usize, chunk) * ctx.xp_len;
                    const r = pool.chunkRange(d.n, ctx.chunks, chunk);
                    const blocks = (d.o + B - 1) / B;
                    const taps = d.c * d.kh * d.kw;
                    const oh = d.oh();
                    const ow = d.ow();
                    for (r[0]..r[1]) |n| {
                        padImage(d, ctx.x, n, xp, ctx.hp, ctx.wr, n == r[0]);
                        // Rows outermost: the KH padded rows of every channel that one
                        // output row reads stay in cache across the output blocks
                        // (a whole padded image may not fit; ResNet's 64x58x66 does not).
                        var y: usize = 0;
                        while (y < oh) {
                            const two = form == .channels and ch_rows == 2 and y + 1 < oh;
                            for (0..blocks) |ob| {
                                const wb = ctx.wp + ob * taps * B;
                                var x0: usize = 0;
                                while (x0 < ow) {
                                    if (form == .lanes) {
                                        const cols = @min(NR, ow - x0);
                                        micro(ctx, xp, wb, n, ob * B, y, x0, cols);
                                        x0 += cols;
                                    } else {
                                        const cols = tileCols(ow - x0);
                                        switch (cols) {
                                            inline 1...UR => |u| if (ch_rows == 2 and two)
                                                microCh2(u, ctx, xp, wb, n, ob * B, y, x0)
                                            else
                                                microCh(u, ctx, xp, wb, n, ob * B, y, x0),
                                            else => unreachable,
                                        }
                                        x0 += cols;
                                    }
                                }
                            }
                            y += if (two) 2 else 1;
                        }
                    }
                }
            }.f;
        }

        /// Taps per output below which the channel kernel's transposing
        /// store outweighs its fuller vectors (measured: the CNN's first layer,
        /// 25 taps, ran 15-20% slower on it; the ResNet block, 576 taps, ran
        /// 15% faster).
        const channel_min_taps = 64;

        /// The forward (or rotated) convolution on whichever kernel wastes
        /// fewer vector lanes: the lane kernel's vectors run over output
        /// columns (rows of 56 take four 16-lane tiles, the last half empty),
        /// the channel kernel's over output channels (64 channels fill all).
        fn run(d: Direct, x: [*]const E, w: [*]const E, bias: ?[*]const E, out: [*]E) Error!void {
            const ow = d.ow();
            const lanes_used = ow * roundUp(d.o, CB);
            const channels_used = d.o * roundUp(ow, NR);
            const taps = d.c * d.kh * d.kw;
            if (taps >= channel_min_taps and d.o > 0 and ow > 0 and channels_used > lanes_used and d.tapTableFits()) {
                if (comptime Pairs.available) {
                    if (mm.hasBf16Dot() and !mm.bf16_dot_disabled) return Pairs.runPairs(d, x, w, bias, out);
                }
                return runWith(.channels, d, x, w, bias, out);
            }
            return runWith(.lanes, d, x, w, bias, out);
        }

        /// The channel kernel on BF16 dot products (bfloat16 on a CPU with
        /// AVX-512 BF16): input channels pair up, (2p, 2p + 1), in a padded
        /// image that interleaves each pair's planes, so that a tap's two
        /// image elements are one aligned u32; each pair is broadcast
        /// against the pair's packed weights of 16 (or 32) output channels
        /// and multiplied with vdpbf16ps, two products per lane into f32.
        /// Pairing channels rather than kernel columns leaves no half-empty
        /// pair on kernels of odd width (5x5: 25 pair-taps per two channels
        /// where column pairs took 30), and an odd channel count pairs its
        /// last channel with zeros. Taps run kernel row by kernel row, so an
        /// output row skips the rows that read only padding. Output stores as
        /// microCh's: channels in lanes, transposed in registers, rounded once.
        const Pairs = struct {
            const available = E == dt.BF16 and T == f32 and @import("builtin").cpu.arch == .x86_64 and
                std.Target.x86.featureSetHas(@import("builtin").cpu.features, .avx512f);
            const L = 16;
            const VF = @Vector(L, f32);
            const VU = @Vector(L, u32);
            /// Output columns per tile at most: UR2 x NV2 accumulators, NV2
            /// weight vectors and a broadcast within 32 registers.
            const UR2 = 14;

            const PCtx = struct {
                d: Direct,
                x: [*]const E,
                bias: ?[*]const E,
                out: [*]E,
                /// Packed weights: [blocks][taps][nv * 16] u32, taps in `order`.
                wp: [*]const u32,
                /// Padded channel-pair images, one per chunk: [C2, HP, WR] u32.
                xp: [*]u32,
                xp_len: usize,
                hp: usize,
                wr: usize,
                /// Channel pairs: ceil(C / 2).
                c2: usize,
                /// offs[t] = (p*HP + i)*WR + j for pair-tap t (see TapOrder.offsets).
                offs: [*]const u32,
                order: TapOrder,
                chunks: u32,
            };

            /// w(o, c, i, j) as the forward reads it (rotated in input_grad mode), as bits.
            fn weightBits(d: *const Direct, w: [*]const E, o: usize, c: usize, i: usize, j: usize) u32 {
                const v = if (d.mode == .input_grad)
                    w[((c * d.o + o) * d.kh + (d.kh - 1 - i)) * d.kw + (d.kw - 1 - j)]
                else
                    w[((o * d.c + c) * d.kh + i) * d.kw + j];
                return @as(dt.BF16, v).bits;
            }

            /// wp[ob][t][r] for pair-tap t in PCtx.offs' order: channel 2p's
            /// weight in the low half, 2p + 1's (zero past C) in the high half,
            /// zero past the last output.
            fn packPairs(comptime nv: usize, d: *const Direct, order: TapOrder, w: [*]const E, wp: [*]u32, c2: usize) void {
                const cb = nv * L;
                const blocks = (d.o + cb - 1) / cb;
                var q: usize = 0;
                for (0..blocks) |ob| for (0..d.kh * c2 * d.kw) |t| {
                    const i, const p, const j = order.split(t, d.kh, c2, d.kw);
                    for (0..cb) |r| {
                        const o = ob * cb + r;
                        var bits: u32 = 0;
                        if (o < d.o) {
                            bits = weightBits(d, w, o, 2 * p, i, j);
                            if (2 * p + 1 < d.c) bits |= weightBits(d, w, o, 2 * p + 1, i, j) << 16;
                        }
                        wp[q] = bits;
                        q += 1;
                    }
                };
            }

            /// Image n as bfloat16 bits, [C, HP, WR] with zero borders and
            /// len - C*HP*WR elements of zero slack (zeroed where `zero`
            /// says, as padImage's).
            fn padImage16(d: *const Direct, x: [*]const E, n: usize, xp: [*]u16, hp: usize, wr: usize, len: usize, zero: bool) void {
                if (zero) @memset(xp[0..len], 0);
                const src16: [*]const u16 = @ptrCast(x);
                for (0..d.c) |c| for (0..d.h) |y| {
                    const src = src16 + ((n * d.c + c) * d.h + y) * d.w;
                    // Inline vectors: a memcpy call per row of 14 cost more than the copy.
                    rowCopy(u16, xp + (c * hp + y + d.ph) * wr + d.pw, src, d.w);
                };
            }

            /// Image n as xp[p][y + PH][x + PW] = x[2p] | x[2p + 1] << 16, zero
            /// borders (zeroed where `zero` says, as padImage's).
            fn padImagePairs(d: *const Direct, x: [*]const E, n: usize, xp: [*]u32, hp: usize, wr: usize, c2: usize, zero: bool) void {
                if (zero) @memset(xp[0 .. c2 * hp * wr], 0);
                const src16: [*]const u16 = @ptrCast(x);
                const hw = d.h * d.w;
                for (0..c2) |p| {
                    const lo = src16 + (n * d.c + 2 * p) * hw;
                    const has_hi = 2 * p + 1 < d.c;
                    for (0..d.h) |y| {
                        const dst = xp + (p * hp + y + d.ph) * wr + d.pw;
                        const a = lo + y * d.w;
                        if (has_hi) pairRow(true, dst, a, a + hw, d.w) else pairRow(false, dst, a, a, d.w);
                    }
                }
            }

            /// dst[i] = a[i] | b[i] << 16 (only a[i] without `hi`) for i < w:
            /// eight columns a vector, the last vector overlapping the one
            /// before where w is no multiple of 8 (it writes the same values
            /// again), so a row of CNN width (14) takes two vectors instead
            /// of a scalar loop (which took 4% of conv2's step).
            inline fn pairRow(comptime hi: bool, dst: [*]u32, a: [*]const u16, b: [*]const u16, w: usize) void {
                const PV = 8;
                if (w < PV) {
                    for (0..w) |i| dst[i] = @as(u32, a[i]) | if (hi) @as(u32, b[i]) << 16 else 0;
                    return;
                }
                var i: usize = 0;
                while (true) {
                    const at = @min(i, w - PV);
                    const va: @Vector(PV, u16) = a[at..][0..PV].*;
                    var v: @Vector(PV, u32) = va;
                    if (hi) {
                        const vb: @Vector(PV, u16) = b[at..][0..PV].*;
                        v |= @as(@Vector(PV, u32), vb) << @splat(16);
                    }
                    dst[at..][0..PV].* = v;
                    if (at == w - PV) return;
                    i += PV;
                }
            }

            fn pairMicro(comptime ur: usize, comptime nv: usize, ctx: *const PCtx, xp: [*]const u32, wb: [*]const u32, n: usize, o0: usize, y: usize, x0: usize) void {
                @setEvalBranchQuota(20_000);
                const d = &ctx.d;
                const cb = nv * L;
                var acc: [ur][nv]VF = undefined;
                const init = biasBlock(cb, d, ctx.bias, o0);
                inline for (0..ur) |u| {
                    inline for (0..nv) |v| acc[u][v] = init[v * L ..][0..L].*;
                }
                const base = xp + y * ctx.wr + x0;
                const kr = d.validRows(y);
                var runs: [max_runs]ColumnRun = undefined;
                const nruns = columnRuns(ur, d, ctx.order, x0, &runs);
                // As microCh: stretches of taps, each with one column cut.
                for (runs[0..nruns]) |cr| {
                    switch (cr.code) {
                        inline 0...2 * max_cut => |code| {
                            const cu = comptime cutRange(ur, code);
                            const st = ctx.order.stretch(d, ctx.c2, kr, cr.j0, cr.j1);
                            for (0..st.steps) |k| {
                                const t0 = st.first + k * st.stride;
                                for (t0..t0 + st.len) |t| {
                                    const at = base + ctx.offs[t];
                                    const wq = wb + t * cb;
                                    var wv: [nv]VU = undefined;
                                    inline for (0..nv) |v| wv[v] = wq[v * L ..][0..L].*;
                                    inline for (cu[0]..cu[1]) |u| {
                                        const xv: VU = @splat(at[u]);
                                        inline for (0..nv) |v| acc[u][v] = mm.dotBf16(acc[u][v], xv, wv[v]);
                                    }
                                }
                            }
                        },
                        else => {},
                    }
                }
                storeTile(ur, nv, ctx, &acc, n, o0, y, x0);
            }

            /// Channels in lanes: transposes each 16-channel vector's ur
            /// columns into rows of the output (row y, columns x0..x0+ur).
            inline fn storeTile(comptime ur: usize, comptime nv: usize, ctx: *const PCtx, acc: *const [ur][nv]VF, n: usize, o0: usize, y: usize, x0: usize) void {
                const d = &ctx.d;
                const oh = d.oh();
                const ow = d.ow();
                inline for (0..nv) |v| {
                    var rows: [L]VF = @splat(@splat(0));
                    inline for (0..ur) |u| rows[u] = acc[u][v];
                    const cols = mm.transposeBlock(L, f32, rows);
                    inline for (0..L) |r| {
                        const o = o0 + v * L + r;
                        if (o < d.o) {
                            const dst = ctx.out + ((n * d.o + o) * oh + y) * ow + x0;
                            var tmp: [L]E = undefined;
                            dt.storeVec(f32, E, L, &tmp, cols[r]);
                            @memcpy(dst[0..ur], tmp[0..ur]);
                        }
                    }
                }
            }

            /// pairMicro for output rows y and y + 1 with one vector of
            /// output channels. Padded row y + i is tap row i of row y and
            /// tap row i - 1 of row y + 1: each broadcast feeds two dot
            /// products, as a second vector of channels does in pairMicro
            /// (with one vector, one product per broadcast left the loads,
            /// not the dot products, setting the pace).
            fn pairMicro2(comptime ur: usize, ctx: *const PCtx, xp: [*]const u32, wb: [*]const u32, n: usize, o0: usize, y: usize, x0: usize) void {
                @setEvalBranchQuota(20_000);
                const d = &ctx.d;
                assert(d.o - o0 <= L);
                var acc: [2][ur][1]VF = undefined;
                const init = biasBlock(L, d, ctx.bias, o0);
                inline for (0..2) |k| {
                    inline for (0..ur) |u| acc[k][u][0] = init;
                }
                const per_row = ctx.c2 * d.kw;
                var runs: [max_runs]ColumnRun = undefined;
                assert(ctx.order != .columns);
                const nruns = columnRuns(ur, d, ctx.order, x0, &runs);
                const rows = d.twoRows(y);
                var pr = rows.lo;
                while (pr < rows.hi) : (pr += 1) {
                    const base = xp + pr * ctx.wr + x0;
                    const wu = wb + rows.upperTap(pr) * per_row * L;
                    const wl = wb + rows.lowerTap(pr) * per_row * L;
                    switch (rows.feeds(pr)) {
                        inline else => |f| for (runs[0..nruns]) |cr| {
                            switch (cr.code) {
                                inline 0...2 * max_cut => |code| {
                                    const cu = comptime cutRange(ur, code);
                                    // The table's first kernel row, in either order: p*HP*WR + j.
                                    for (cr.j0 * ctx.c2..cr.j1 * ctx.c2) |t| {
                                        const at = base + ctx.offs[t];
                                        const vu: VU = if (f != .lower) wu[t * L ..][0..L].* else undefined;
                                        const vl: VU = if (f != .upper) wl[t * L ..][0..L].* else undefined;
                                        inline for (cu[0]..cu[1]) |u| {
                                            const xv: VU = @splat(at[u]);
                                            if (f != .lower) acc[0][u][0] = mm.dotBf16(acc[0][u][0], xv, vu);
                                            if (f != .upper) acc[1][u][0] = mm.dotBf16(acc[1][u][0], xv, vl);
                                        }
                                    }
                                },
                                else => {},
                            }
                        },
                    }
                }
                storeTile(ur, 1, ctx, &acc[0], n, o0, y, x0);
                storeTile(ur, 1, ctx, &acc[1], n, o0, y + 1, x0);
            }

            /// Columns of the next tile when `left` remain: near-equal tiles of at most UR2.
            fn pairCols(left: usize) usize {
                const tiles = (left + UR2 - 1) / UR2;
                return (left + tiles - 1) / tiles;
            }

            fn pairTask(comptime nv: usize) fn (*const PCtx, u32) void {
                return struct {
                    fn f(ctx: *const PCtx, chunk: u32) void {
                        const d = &ctx.d;
                        const cb = nv * L;
                        const xp = ctx.xp + @as(usize, chunk) * ctx.xp_len;
                        const r = pool.chunkRange(d.n, ctx.chunks, chunk);
                        const blocks = (d.o + cb - 1) / cb;
                        const per_block = d.kh * ctx.c2 * d.kw * cb;
                        for (r[0]..r[1]) |n| {
                            padImagePairs(d, ctx.x, n, xp, ctx.hp, ctx.wr, ctx.c2, n == r[0]);
                            // One vector of channels: two output rows per tile.
                            var y: usize = 0;
                            while (y < d.oh()) {
                                const two = nv == 1 and y + 1 < d.oh();
                                for (0..blocks) |ob| {
                                    const wb = ctx.wp + ob * per_block;
                                    var x0: usize = 0;
                                    const ow = d.ow();
                                    while (x0 < ow) {
                                        const c = pairCols(ow - x0);
                                        switch (c) {
                                            inline 1...UR2 => |u| if (nv == 1 and two)
                                                pairMicro2(u, ctx, xp, wb, n, ob * cb, y, x0)
                                            else
                                                pairMicro(u, nv, ctx, xp, wb, n, ob * cb, y, x0),
                                            else => unreachable,
                                        }
                                        x0 += c;
                                    }
                                }
                                y += if (two) 2 else 1;
                            }
                        }
                    }
                }.f;
            }

            fn runPairs(d: Direct, x: [*]const E, w: [*]const E, bias: ?[*]const E, out: [*]E) Error!void {
                if (d.n == 0 or d.o == 0 or d.oh() == 0 or d.ow() == 0) return;
                assert(d.c > 0 and d.tapTableFits());
                const c2 = (d.c + 1) / 2;
                const hp = d.h + 2 * d.ph;
                const wr = d.w + 2 * d.pw;
                // Every tap reads inside [C2, HP, WR]: the last row of the
                // last pair at column OW - 1 + KW - 1 = WR - 1.
                const xp_len = roundUp(c2 * hp * wr, 16);
                const chunks = pool.chunkCount(d.n, @max(1, d.n / (4 * @as(usize, pool.numThreads()))));
                const gpa = std.heap.c_allocator;
                const xp = gpa.alignedAlloc(u32, .@"64", xp_len * chunks) catch return error.OutOfMemory;
                defer gpa.free(xp);
                const taps = d.kh * c2 * d.kw;
                const offs = gpa.alloc(u32, taps) catch return error.OutOfMemory;
                defer gpa.free(offs);
                inline for (.{ 1, 2 }) |nv| {
                    // One vector of channels where there are at most 16 of
                    // them, with two-row tiles (see TapOrder).
                    if ((nv == 1) == (d.o <= L)) {
                        const order = d.tapOrder(nv == 1);
                        order.offsets(&d, c2, hp, wr, offs);
                        const cb = nv * L;
                        const blocks = (d.o + cb - 1) / cb;
                        const wp = gpa.alignedAlloc(u32, .@"64", blocks * taps * cb) catch return error.OutOfMemory;
                        defer gpa.free(wp);
                        packPairs(nv, &d, order, w, wp.ptr, c2);
                        const ctx = PCtx{ .d = d, .x = x, .bias = bias, .out = out, .wp = wp.ptr, .xp = xp.ptr, .xp_len = xp_len, .hp = hp, .wr = wr, .c2 = c2, .offs = offs.ptr, .order = order, .chunks = chunks };
                        pool.run(chunks, &ctx, pairTask(nv));
                        return;
                    }
                }
                unreachable;
            }

            // ------------------------------------- weight gradient on pairs

            /// Taps per weight-gradient micro-tile: WT2 x 2 accumulators, two
            /// g vectors and broadcasts. Twelve taps (24 accumulators) made the
            /// compiler spill and shuffle accumulators: conv2's weight
            /// gradient took 1.8-2.2 ms with one thread against 1.6 with ten.
            const WT2 = 10;

            const WCtx = struct {
                d: Direct,
                x: [*]const E,
                g: [*]const E,
                /// Per chunk: acc [blocks][taps][cb] f32, then gT2, then the padded image.
                mem: [*]u8,
                per_chunk: usize,
                acc_len: usize,
                gt_len: usize,
                xp_len: usize,
                hp: usize,
                wr: usize,
                /// Position pairs per output row, and in all.
                row_pairs: usize,
                qp: usize,
                offt: [*]const u32,
                /// offq[qp]: y*WR + 2p; mask[qp]: both halves, or the low one
                /// for a row's last column alone.
                offq: [*]const u32,
                mask: [*]const u32,
                chunks: u32,
            };

            /// gt[ob][qp][r] = the g pair of channel ob*cb + r at position pair qp.
            fn pairGrad(comptime nv: usize, ctx: *const WCtx, g: [*]const E, gt: [*]u32) void {
                const d = &ctx.d;
                const cb = nv * L;
                const blocks = (d.o + cb - 1) / cb;
                const oh = d.oh();
                const ow = d.ow();
                const g16: [*]const u16 = @ptrCast(g);
                for (0..blocks) |ob| {
                    const dst = gt + ob * ctx.qp * cb;
                    for (0..cb) |r| {
                        const o = ob * cb + r;
                        for (0..oh) |y| for (0..ctx.row_pairs) |pp| {
                            var bits: u32 = 0;
                            if (o < d.o) {
                                const row = g16 + (o * oh + y) * ow;
                                bits = row[2 * pp];
                                if (2 * pp + 1 < ow) bits |= @as(u32, row[2 * pp + 1]) << 16;
                            }
                            dst[(y * ctx.row_pairs + pp) * cb + r] = bits;
                        };
                    }
                }
            }

            /// acc[k][0..cb] += sum over output rows ya..yb and column pairs
            /// pa..pb of x pair(t0 + k) · g pair.
            /// `masked`: some pair ends a row of odd width alone (see WCtx.mask).
            fn pairWgMicro(comptime tt: usize, comptime nv: usize, comptime masked: bool, ctx: *const WCtx, xp: [*]const u16, gtb: [*]const u32, accb: [*]f32, t0: usize, ya: usize, yb: usize, pa: usize, pb: usize) void {
                const cb = nv * L;
                var base: [tt][*]const u16 = undefined;
                inline for (0..tt) |k| base[k] = xp + ctx.offt[t0 + k];
                var acc: [tt][nv]VF = @splat(@splat(@splat(0)));
                for (ya..yb) |y| for (y * ctx.row_pairs + pa..y * ctx.row_pairs + pb) |q| {
                    var gv: [nv]VU = undefined;
                    inline for (0..nv) |v| gv[v] = gtb[q * cb + v * L ..][0..L].*;
                    const oq = ctx.offq[q];
                    const mq = if (masked) ctx.mask[q] else 0xffff_ffff;
                    inline for (0..tt) |k| {
                        const pair = std.mem.readInt(u32, @ptrCast(base[k] + oq), .little) & mq;
                        const xv: VU = @splat(pair);
                        inline for (0..nv) |v| acc[k][v] = mm.dotBf16(acc[k][v], xv, gv[v]);
                    }
                };
                inline for (0..tt) |k| {
                    inline for (0..nv) |v| {
                        const dst = accb + k * cb + v * L;
                        dst[0..L].* = @as(VF, dst[0..L].*) + acc[k][v];
                    }
                }
            }

            fn pairWgTask(comptime nv: usize) fn (*const WCtx, u32) void {
                return struct {
                    fn f(ctx: *const WCtx, chunk: u32) void {
                        const d = &ctx.d;
                        const cb = nv * L;
                        const taps = d.c * d.kh * d.kw;
                        const blocks = (d.o + cb - 1) / cb;
                        const base = ctx.mem + @as(usize, chunk) * ctx.per_chunk;
                        const acc: [*]f32 = @ptrCast(@alignCast(base));
                        const gt: [*]u32 = @ptrCast(@alignCast(base + ctx.acc_len * 4));
                        const xp: [*]u16 = @ptrCast(@alignCast(base + (ctx.acc_len + ctx.gt_len) * 4));
                        @memset(acc[0 .. blocks * taps * cb], 0);
                        const l = d.oh() * d.ow();
                        const r = pool.chunkRange(d.n, ctx.chunks, chunk);
                        for (r[0]..r[1]) |n| {
                            padImage16(d, ctx.x, n, xp, ctx.hp, ctx.wr, ctx.xp_len, n == r[0]);
                            pairGrad(nv, ctx, ctx.g + n * d.o * l, gt);
                            const masked = d.ow() % 2 == 1;
                            for (0..blocks) |ob| {
                                const gtb = gt + ob * ctx.qp * cb;
                                // Taps in (i, j, c) order, a tile within one (i, j):
                                // kernel row i skips the output rows, kernel column
                                // j the column pairs, whose windows read only padding
                                // (a pair with one such column reads a zero for it).
                                for (0..d.kh) |i| {
                                    const yr = d.validOutRows(i);
                                    if (yr[0] >= yr[1]) continue;
                                    for (0..d.kw) |j| {
                                        const xr = d.validOutCols(j, j);
                                        if (xr[0] >= xr[1]) continue;
                                        const pa = xr[0] / 2;
                                        const pb = (xr[1] + 1) / 2;
                                        const first = (i * d.kw + j) * d.c;
                                        var t0: usize = first;
                                        while (t0 < first + d.c) {
                                            const tt = @min(WT2, first + d.c - t0);
                                            const accb = acc + (ob * taps + t0) * cb;
                                            switch (tt) {
                                                inline 1...WT2 => |k| if (masked)
                                                    pairWgMicro(k, nv, true, ctx, xp, gtb, accb, t0, yr[0], yr[1], pa, pb)
                                                else
                                                    pairWgMicro(k, nv, false, ctx, xp, gtb, accb, t0, yr[0], yr[1], pa, pb),
                                                else => unreachable,
                                            }
                                            t0 += tt;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }.f;
            }

            /// The weight gradient (the channel form's roles) on BF16 dot
            /// products: the reduction runs over pairs of adjacent output
            /// columns, whose image elements are adjacent for every tap.
            fn weightGradPairs(d: Direct, x: [*]const E, g: [*]const E, gw: [*]E) Error!void {
                assert(d.n > 0 and d.o > 0 and d.oh() > 0 and d.ow() > 0 and d.tapTableFits());
                const taps = d.c * d.kh * d.kw;
                const oh = d.oh();
                const ow = d.ow();
                const hp = d.h + 2 * d.ph;
                const wr = d.w + 2 * d.pw;
                const row_pairs = (ow + 1) / 2;
                const qp = oh * row_pairs;
                const threads: usize = pool.numThreads();
                const chunks: u32 = @intCast(@max(1, @min(d.n, if (threads > 1) 4 * threads else 1)));
                const gpa = std.heap.c_allocator;
                const offt = gpa.alloc(u32, taps) catch return error.OutOfMemory;
                defer gpa.free(offt);
                const offq = gpa.alloc(u32, qp) catch return error.OutOfMemory;
                defer gpa.free(offq);
                const mask = gpa.alloc(u32, qp) catch return error.OutOfMemory;
                defer gpa.free(mask);
                // In the f32 kernel's padded rows: the same WR here.
                TapOrder.row_columns.offsets(&d, d.c, d.h + 2 * d.ph, d.w + 2 * d.pw, offt);
                for (0..oh) |y| for (0..row_pairs) |pp| {
                    offq[y * row_pairs + pp] = @intCast(y * wr + 2 * pp);
                    mask[y * row_pairs + pp] = if (2 * pp + 1 < ow) 0xffff_ffff else 0x0000_ffff;
                };
                inline for (.{ 1, 2 }) |nv| {
                    if ((nv == 1) == (d.o <= L)) {
                        const cb = nv * L;
                        const blocks = (d.o + cb - 1) / cb;
                        // Element counts (4-byte) rounded to 64 bytes keep every region aligned.
                        const acc_len = roundUp(blocks * taps * cb, 16);
                        const gt_len = roundUp(blocks * qp * cb, 16);
                        // The padded image in u16, with slack for the last pair's second element.
                        const xp_len = roundUp(d.c * hp * wr + 2, 32);
                        const per_chunk = (acc_len + gt_len) * 4 + xp_len * 2;
                        const mem = gpa.alignedAlloc(u8, .@"64", per_chunk * chunks) catch return error.OutOfMemory;
                        defer gpa.free(mem);
                        const ctx = WCtx{ .d = d, .x = x, .g = g, .mem = mem.ptr, .per_chunk = per_chunk, .acc_len = acc_len, .gt_len = gt_len, .xp_len = xp_len, .hp = hp, .wr = wr, .row_pairs = row_pairs, .qp = qp, .offt = offt.ptr, .offq = offq.ptr, .mask = mask.ptr, .chunks = chunks };
                        pool.run(chunks, &ctx, pairWgTask(nv));
                        // The chunks' sums into the first chunk's, in chunk order
                        // (the same bits as adding each output's chunks one by
                        // one), then gw[o, c, i, j] = acc[o / cb][t][o % cb] with
                        // t = (i*KW + j)*C + c.
                        const acc0: [*]f32 = @ptrCast(@alignCast(mem.ptr));
                        for (1..chunks) |ch| {
                            const acc: [*]const f32 = @ptrCast(@alignCast(mem.ptr + ch * per_chunk));
                            addRun(f32, acc0, acc, blocks * taps * cb);
                        }
                        for (0..d.o) |o| for (0..d.c) |c| for (0..d.kh) |i| for (0..d.kw) |j| {
                            const at = ((o / cb) * taps + (i * d.kw + j) * d.c + c) * cb + o % cb;
                            dt.storeOne(f32, E, &gw[((o * d.c + c) * d.kh + i) * d.kw + j], acc0[at]);
                        };
                        return;
                    }
                }
                unreachable;
            }
        };

        const Form = enum { lanes, channels };

        /// Output channels per packed weight block of each kernel.
        fn block(comptime form: Form) usize {
            return if (form == .lanes) MR else CB;
        }

        fn runWith(comptime form: Form, d: Direct, x: [*]const E, w: [*]const E, bias: ?[*]const E, out: [*]E) Error!void {
            const oh = d.oh();
            const ow = d.ow();
            if (d.n == 0 or d.o == 0 or oh == 0 or ow == 0) return;
            if (d.c == 0) {
                for (0..d.n) |n| for (0..d.o) |o| {
                    const b: E = if (bias) |bp| bp[o] else std.mem.zeroes(E);
                    @memset(out[(n * d.o + o) * oh * ow ..][0 .. oh * ow], b);
                };
                return;
            }
            const B = comptime block(form);
            const hp = d.h + 2 * d.ph;
            // Padded row length: the lane kernel reads whole NR-column tiles
            // plus the kernel's overhang; channel tiles end at the last output
            // column (x0 + u + j < OW + KW - 1).
            const wr = if (form == .lanes) (ow + NR - 1) / NR * NR + d.kw - 1 else d.w + 2 * d.pw;
            assert(wr >= d.w + 2 * d.pw);
            const xp_len = roundUp(d.c * hp * wr, 64 / @sizeOf(T));
            const chunks = pool.chunkCount(d.n, @max(1, d.n / (4 * @as(usize, pool.numThreads()))));
            const gpa = std.heap.c_allocator;
            const blocks = (d.o + B - 1) / B;
            const wp = gpa.alignedAlloc(T, .@"64", blocks * d.c * d.kh * d.kw * B) catch return error.OutOfMemory;
            defer gpa.free(wp);
            const xp = gpa.alignedAlloc(T, .@"64", xp_len * chunks) catch return error.OutOfMemory;
            defer gpa.free(xp);
            const order = d.tapOrder(ch_rows == 2);
            packWeights(form, &d, order, w, wp.ptr);
            const taps = d.c * d.kh * d.kw;
            const offs = gpa.alloc(u32, if (form == .channels) taps else 0) catch return error.OutOfMemory;
            defer gpa.free(offs);
            if (form == .channels) {
                if (!d.tapTableFits()) return error.InvalidArgument;
                order.offsets(&d, d.c, hp, wr, offs);
            }
            const ctx = Ctx{ .d = d, .x = x, .wp = wp.ptr, .bias = bias, .out = out, .xp = xp.ptr, .xp_len = xp_len, .hp = hp, .wr = wr, .taps = offs.ptr, .order = order, .chunks = chunks };
            pool.run(chunks, &ctx, task(form));
        }
    };
}

/// The direct convolution (see Direct) for float32 and float64, and for
/// float16 and bfloat16 computing in f32.
pub fn direct(dtype: DType, x: [*]u8, xoff: i64, w: [*]u8, woff: i64, bias: ?[*]u8, boff: i64, out: [*]u8, ooff: i64, d: Direct) Error!void {
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const T = dt.Storage(D);
            const K = if (D == .float16 or D == .bfloat16) DirectKernelFor(f32, T) else DirectKernel(T);
            if (d.mode == .weight_grad) {
                if (bias != null) return error.InvalidArgument;
                return K.weightGrad(d, ptr(T, x, xoff), ptr(T, w, woff), ptr(T, out, ooff));
            }
            try K.run(d, ptr(T, x, xoff), ptr(T, w, woff), if (bias) |b| ptr(T, b, boff) else null, ptr(T, out, ooff));
        },
        else => return error.InvalidArgument,
    }
}

// ------------------------------------------------------------------ tests

const testing = std.testing;

fn convOut(size: usize, k: usize, s: usize, p: usize, d: usize) usize {
    return (size + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// Plain direct convolution: out[n, o, y, x] = sum_c,i,j w[o, c, i, j] * x[n, c, y*s + i*d - p, ...].
fn directConv(g: Geometry, o_ch: usize, x: []const f64, w: []const f64, out: []f64) void {
    for (0..g.n) |n| for (0..o_ch) |o| for (0..g.oh) |oy| for (0..g.ow) |ox| {
        var s: f64 = 0;
        for (0..g.c) |c| for (0..g.kh) |i| for (0..g.kw) |j| {
            const iy = @as(i64, @intCast(oy * g.sh + i * g.dh)) - @as(i64, @intCast(g.ph));
            const ix = @as(i64, @intCast(ox * g.sw + j * g.dw)) - @as(i64, @intCast(g.pw));
            if (iy < 0 or ix < 0 or iy >= g.h or ix >= g.w) continue;
            const xv = x[((n * g.c + c) * g.h + @as(usize, @intCast(iy))) * g.w + @as(usize, @intCast(ix))];
            s += xv * w[((o * g.c + c) * g.kh + i) * g.kw + j];
        };
        out[((n * o_ch + o) * g.oh + oy) * g.ow + ox] = s;
    };
}

fn fillPattern(buf: []f64, seed: u64) void {
    var rng = std.Random.DefaultPrng.init(seed);
    for (buf) |*v| v.* = rng.random().float(f64) * 2 - 1;
}

test "im2col + matmul matches a direct convolution" {
    // {stride, padding, dilation, kernel}; the last four keep the width ("same"),
    // which im2col copies in whole blocks.
    const cases = [_][4]usize{
        .{ 1, 0, 1, 3 }, .{ 2, 1, 1, 3 }, .{ 1, 2, 2, 2 }, .{ 3, 1, 2, 1 }, .{ 2, 3, 1, 5 },
        .{ 1, 1, 1, 3 }, .{ 1, 2, 2, 3 }, .{ 1, 2, 1, 5 }, .{ 1, 3, 1, 7 },
    };
    for (cases) |cs| {
        const s = cs[0];
        const p = cs[1];
        const d = cs[2];
        const k = cs[3];
        const h: usize = 7;
        const w: usize = 6;
        if (h + 2 * p < d * (k - 1) + 1) continue;
        var g = Geometry{ .n = 2, .c = 3, .h = h, .w = w, .oh = 0, .ow = 0, .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p, .dh = d, .dw = d };
        g.oh = convOut(h, k, s, p, d);
        g.ow = convOut(w, k, s, p, d);
        const o_ch: usize = 4;
        const kdim = g.c * k * k;
        const l = g.oh * g.ow;
        const a = testing.allocator;
        const x = try a.alloc(f64, g.n * g.c * h * w);
        defer a.free(x);
        const wt = try a.alloc(f64, o_ch * kdim);
        defer a.free(wt);
        const cols = try a.alloc(f64, g.n * kdim * l);
        defer a.free(cols);
        const want = try a.alloc(f64, g.n * o_ch * l);
        defer a.free(want);
        fillPattern(x, 1);
        fillPattern(wt, 2);
        directConv(g, o_ch, x, wt, want);
        try run(.im2col, .float64, @ptrCast(x.ptr), 0, @ptrCast(cols.ptr), 0, null, 0, g, .{});
        for (0..g.n) |n| for (0..o_ch) |o| for (0..l) |j| {
            var acc: f64 = 0;
            for (0..kdim) |r| acc += wt[o * kdim + r] * cols[(n * kdim + r) * l + j];
            try testing.expectApproxEqAbs(want[(n * o_ch + o) * l + j], acc, 1e-12);
        };
        // col2im is im2col's adjoint: <im2col(x), c> == <x, col2im(c)>.
        const c2 = try a.alloc(f64, cols.len);
        defer a.free(c2);
        const back = try a.alloc(f64, x.len);
        defer a.free(back);
        fillPattern(c2, 3);
        try run(.col2im, .float64, @ptrCast(c2.ptr), 0, @ptrCast(back.ptr), 0, null, 0, g, .{});
        var lhs: f64 = 0;
        var rhs: f64 = 0;
        for (cols, c2) |u, v| lhs += u * v;
        for (x, back) |u, v| rhs += u * v;
        try testing.expectApproxEqAbs(lhs, rhs, 1e-9);
        // The batched layout holds the same columns: cols_b[r, n*L + j] = cols[n, r, j].
        const cb = try a.alloc(f64, cols.len);
        defer a.free(cb);
        try run(.im2col_batched, .float64, @ptrCast(x.ptr), 0, @ptrCast(cb.ptr), 0, null, 0, g, .{});
        for (0..g.n) |n| for (0..kdim) |r| for (0..l) |j| {
            try testing.expectEqual(cols[(n * kdim + r) * l + j], cb[r * g.n * l + n * l + j]);
        };
        // And col2im_batched folds the same columns back as col2im does.
        const c2b = try a.alloc(f64, cols.len);
        defer a.free(c2b);
        for (0..g.n) |n| for (0..kdim) |r| for (0..l) |j| {
            c2b[r * g.n * l + n * l + j] = c2[(n * kdim + r) * l + j];
        };
        const back_b = try a.alloc(f64, x.len);
        defer a.free(back_b);
        try run(.col2im_batched, .float64, @ptrCast(c2b.ptr), 0, @ptrCast(back_b.ptr), 0, null, 0, g, .{});
        for (back, back_b) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
    }
}

test "max pooling picks the window maximum and routes its gradient" {
    // x: [1, 1, 4, 4] = 0..15, 2x2 windows, stride 2: maxima at the bottom-right corners.
    var x: [16]f32 = undefined;
    for (&x, 0..) |*v, i| v.* = @floatFromInt(i);
    const g = Geometry{ .n = 1, .c = 1, .h = 4, .w = 4, .oh = 2, .ow = 2, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .ph = 0, .pw = 0, .dh = 1, .dw = 1 };
    var out: [4]f32 = undefined;
    var idx: [4]i64 = undefined;
    try run(.max_pool, .float32, @ptrCast(&x), 0, @ptrCast(&out), 0, @ptrCast(&idx), 0, g, .{});
    try testing.expectEqualSlices(f32, &.{ 5, 7, 13, 15 }, &out);
    try testing.expectEqualSlices(i64, &.{ 5, 7, 13, 15 }, &idx);
    const go = [4]f32{ 1, 2, 3, 4 };
    var gi: [16]f32 = undefined;
    try run(.max_pool_backward, .float32, @ptrCast(@constCast(&go)), 0, @ptrCast(&gi), 0, @ptrCast(&idx), 0, g, .{});
    try testing.expectEqual(@as(f32, 4), gi[15]);
    try testing.expectEqual(@as(f32, 0), gi[0]);
    idx[0] = 99;
    try testing.expectError(error.IndexOutOfRange, run(.max_pool_backward, .float32, @ptrCast(@constCast(&go)), 0, @ptrCast(&gi), 0, @ptrCast(&idx), 0, g, .{}));
}

test "2x2 stride-2 max pooling matches the general loop: ties, NaN and odd sizes" {
    const a = testing.allocator;
    var prng = std.Random.DefaultPrng.init(7);
    const rnd = prng.random();
    for ([_][2]usize{ .{ 2, 2 }, .{ 4, 6 }, .{ 28, 28 }, .{ 14, 14 }, .{ 7, 37 }, .{ 5, 17 }, .{ 3, 33 } }) |hw| {
        const h = hw[0];
        const w = hw[1];
        const g = Geometry{ .n = 1, .c = 1, .h = h, .w = w, .oh = h / 2, .ow = w / 2, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .ph = 0, .pw = 0, .dh = 1, .dw = 1 };
        const x = try a.alloc(f32, h * w);
        defer a.free(x);
        // Few distinct values (ties), some NaN and infinities.
        for (x) |*v| v.* = switch (rnd.uintLessThan(u8, 12)) {
            0 => std.math.nan(f32),
            1 => -std.math.inf(f32),
            2 => std.math.inf(f32),
            else => @floatFromInt(rnd.uintLessThan(u8, 4)),
        };
        const l = g.oh * g.ow;
        const got = try a.alloc(f32, l);
        defer a.free(got);
        const want = try a.alloc(f32, l);
        defer a.free(want);
        const gi = try a.alloc(i64, l);
        defer a.free(gi);
        const wi = try a.alloc(i64, l);
        defer a.free(wi);
        maxPool2x2Plane(f32, &g, x.ptr, got.ptr, gi.ptr);
        maxPoolPlaneSteps(f32, true, &g, x.ptr, want.ptr, wi.ptr);
        try testing.expectEqualSlices(i64, wi, gi);
        for (want, got) |u, v| {
            if (u != u) try testing.expect(v != v) else try testing.expectEqual(u, v);
        }
    }
}

test "average pooling: padding counted or not, and its backward is the adjoint" {
    var x: [9]f64 = .{ 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    const g = Geometry{ .n = 1, .c = 1, .h = 3, .w = 3, .oh = 2, .ow = 2, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
    var out: [4]f64 = undefined;
    try run(.avg_pool, .float64, @ptrCast(&x), 0, @ptrCast(&out), 0, null, 0, g, .{ .count_include_pad = true });
    try testing.expectEqualSlices(f64, &.{ 0.25, 5.0 / 4.0, 11.0 / 4.0, 28.0 / 4.0 }, &out);
    try run(.avg_pool, .float64, @ptrCast(&x), 0, @ptrCast(&out), 0, null, 0, g, .{ .count_include_pad = false });
    try testing.expectEqualSlices(f64, &.{ 1, 2.5, 5.5, 7 }, &out);
    var go: [4]f64 = .{ 0.5, -1, 2, 3 };
    var gi: [9]f64 = undefined;
    try run(.avg_pool_backward, .float64, @ptrCast(&go), 0, @ptrCast(&gi), 0, null, 0, g, .{ .count_include_pad = false });
    var lhs: f64 = 0;
    var rhs: f64 = 0;
    for (out, go) |u, v| lhs += u * v;
    for (x, gi) |u, v| rhs += u * v;
    try testing.expectApproxEqAbs(lhs, rhs, 1e-12);
}

test "adaptive average pooling over uneven bins" {
    // 5 -> 3 bins: [0, 2), [1, 4), [3, 5).
    var x: [5]f64 = .{ 1, 2, 3, 4, 5 };
    const g = Geometry{ .n = 1, .c = 1, .h = 1, .w = 5, .oh = 1, .ow = 3, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .ph = 0, .pw = 0, .dh = 1, .dw = 1 };
    var out: [3]f64 = undefined;
    try run(.adaptive_avg_pool, .float64, @ptrCast(&x), 0, @ptrCast(&out), 0, null, 0, g, .{});
    try testing.expectEqualSlices(f64, &.{ 1.5, 3, 4.5 }, &out);
    var go: [3]f64 = .{ 1, 1, 1 };
    var gi: [5]f64 = undefined;
    try run(.adaptive_avg_pool_backward, .float64, @ptrCast(&go), 0, @ptrCast(&gi), 0, null, 0, g, .{});
    try testing.expectApproxEqAbs(@as(f64, 0.5 + 1.0 / 3.0), gi[1], 1e-12);
}

test "the direct convolution matches the plain loops: forward, input and weight gradients" {
    const a = testing.allocator;
    // {h, w, c, o, kh, kw, ph, pw, n}: widths below, at and past one tile,
    // output channels that do and do not fill the last block.
    const cases = [_][9]usize{
        .{ 7, 6, 3, 4, 3, 3, 1, 1, 2 },   .{ 5, 9, 2, 5, 5, 3, 2, 0, 1 },
        .{ 14, 14, 3, 6, 5, 5, 2, 2, 3 }, .{ 4, 19, 1, 1, 1, 4, 0, 2, 2 },
        .{ 3, 3, 2, 3, 3, 3, 0, 0, 1 },   .{ 6, 33, 2, 9, 2, 2, 1, 1, 2 },
        .{ 9, 12, 2, 3, 3, 7, 1, 3, 2 },  .{ 10, 11, 8, 7, 3, 3, 1, 1, 5 },
        // Padding past the kernel: output rows that read only padding.
        .{ 2, 4, 16, 16, 2, 2, 3, 3, 2 }, .{ 3, 5, 17, 12, 2, 3, 2, 1, 2 },
        // Column padding past the skipped columns' limit (max_cut), and a
        // tile whose kernel column reads padding on both sides.
        .{ 2, 3, 4, 5, 2, 3, 1, 5, 1 },   .{ 3, 1, 2, 3, 3, 3, 2, 2, 1 },
        // Enough images that a chunk pads several into one buffer.
        .{ 5, 6, 3, 18, 3, 3, 1, 2, 40 },
    };
    for (cases) |cs| {
        var d = Direct{ .h = cs[0], .w = cs[1], .c = cs[2], .o = cs[3], .kh = cs[4], .kw = cs[5], .ph = cs[6], .pw = cs[7], .n = cs[8], .mode = .forward };
        const oh = d.oh();
        const ow = d.ow();
        const x = try a.alloc(f64, d.n * d.c * d.h * d.w);
        defer a.free(x);
        const wt = try a.alloc(f64, d.o * d.c * d.kh * d.kw);
        defer a.free(wt);
        const bias = try a.alloc(f64, d.o);
        defer a.free(bias);
        const got = try a.alloc(f64, d.n * d.o * oh * ow);
        defer a.free(got);
        const want = try a.alloc(f64, got.len);
        defer a.free(want);
        fillPattern(x, 11);
        fillPattern(wt, 12);
        fillPattern(bias, 13);
        const g = Geometry{ .n = d.n, .c = d.c, .h = d.h, .w = d.w, .oh = oh, .ow = ow, .kh = d.kh, .kw = d.kw, .sh = 1, .sw = 1, .ph = d.ph, .pw = d.pw, .dh = 1, .dw = 1 };
        directConv(g, d.o, x, wt, want);
        for (0..d.n) |n| for (0..d.o) |o| for (0..oh * ow) |j| {
            want[(n * d.o + o) * oh * ow + j] += bias[o];
        };
        try direct(.float64, @ptrCast(x.ptr), 0, @ptrCast(wt.ptr), 0, @ptrCast(bias.ptr), 0, @ptrCast(got.ptr), 0, d);
        for (want, got) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
        // Both forward kernels, whichever the dispatch picked.
        inline for (.{ .lanes, .channels }) |form| {
            @memset(got, std.math.nan(f64));
            try DirectKernel(f64).runWith(form, d, x.ptr, wt.ptr, bias.ptr, got.ptr);
            for (want, got) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
        }

        // Rotated: the input gradient. gx[n, c, iy, ix] = sum_o,i,j
        // go[n, o, iy - i + ph, ix - j + pw] * w[o, c, i, j] over valid positions.
        const go = try a.alloc(f64, d.n * d.o * oh * ow);
        defer a.free(go);
        fillPattern(go, 14);
        const gx_want = try a.alloc(f64, x.len);
        defer a.free(gx_want);
        @memset(gx_want, 0);
        for (0..d.n) |n| for (0..d.o) |o| for (0..oh) |oy| for (0..ow) |ox| for (0..d.c) |c| for (0..d.kh) |i| for (0..d.kw) |j| {
            const iy = @as(i64, @intCast(oy + i)) - @as(i64, @intCast(d.ph));
            const ix = @as(i64, @intCast(ox + j)) - @as(i64, @intCast(d.pw));
            if (iy < 0 or ix < 0 or iy >= d.h or ix >= d.w) continue;
            gx_want[((n * d.c + c) * d.h + @as(usize, @intCast(iy))) * d.w + @as(usize, @intCast(ix))] +=
                go[((n * d.o + o) * oh + oy) * ow + ox] * wt[((o * d.c + c) * d.kh + i) * d.kw + j];
        };
        // The weight gradient: gw[o, c, i, j] = sum_n,y,x go[n, o, y, x] * x[n, c, y + i - ph, x + j - pw].
        {
            const gw_want = try a.alloc(f64, wt.len);
            defer a.free(gw_want);
            @memset(gw_want, 0);
            for (0..d.n) |n| for (0..d.o) |o| for (0..oh) |oy| for (0..ow) |ox| for (0..d.c) |c| for (0..d.kh) |i| for (0..d.kw) |j| {
                const iy = @as(i64, @intCast(oy + i)) - @as(i64, @intCast(d.ph));
                const ix = @as(i64, @intCast(ox + j)) - @as(i64, @intCast(d.pw));
                if (iy < 0 or ix < 0 or iy >= d.h or ix >= d.w) continue;
                gw_want[((o * d.c + c) * d.kh + i) * d.kw + j] += go[((n * d.o + o) * oh + oy) * ow + ox] *
                    x[((n * d.c + c) * d.h + @as(usize, @intCast(iy))) * d.w + @as(usize, @intCast(ix))];
            };
            const gw = try a.alloc(f64, wt.len);
            defer a.free(gw);
            var wd = d;
            wd.mode = .weight_grad;
            try direct(.float64, @ptrCast(x.ptr), 0, @ptrCast(go.ptr), 0, null, 0, @ptrCast(gw.ptr), 0, wd);
            for (gw_want, gw) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
            // Both weight-gradient kernels, whichever the dispatch picked.
            const K = DirectKernel(f64);
            @memset(gw, std.math.nan(f64));
            try K.weightGradDot(wd, x.ptr, go.ptr, gw.ptr);
            for (gw_want, gw) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
            @memset(gw, std.math.nan(f64));
            try K.weightGradColumns(wd, x.ptr, go.ptr, gw.ptr);
            for (gw_want, gw) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
            @memset(gw, std.math.nan(f64));
            try K.weightGradChannels(wd, x.ptr, go.ptr, gw.ptr);
            for (gw_want, gw) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
        }
        // Only where the rotated padding is non-negative (ph <= kh - 1).
        if (d.ph + 1 > d.kh or d.pw + 1 > d.kw) continue;
        const r = Direct{ .n = d.n, .c = d.o, .h = oh, .w = ow, .o = d.c, .kh = d.kh, .kw = d.kw, .ph = d.kh - 1 - d.ph, .pw = d.kw - 1 - d.pw, .mode = .input_grad };
        try testing.expectEqual(d.h, r.oh());
        try testing.expectEqual(d.w, r.ow());
        const gx = try a.alloc(f64, x.len);
        defer a.free(gx);
        try direct(.float64, @ptrCast(go.ptr), 0, @ptrCast(wt.ptr), 0, null, 0, @ptrCast(gx.ptr), 0, r);
        for (gx_want, gx) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
        inline for (.{ .lanes, .channels }) |form| {
            @memset(gx, std.math.nan(f64));
            try DirectKernel(f64).runWith(form, r, go.ptr, wt.ptr, null, gx.ptr);
            for (gx_want, gx) |u, v| try testing.expectApproxEqAbs(u, v, 1e-12);
        }
    }
}

/// Checks the direct kernels on half tensors (element type of D) against
/// the f64 ones on the same rounded values: forward with bias, both forward
/// forms, the input gradient, and both weight-gradient kernels.
fn checkDirectHalf(comptime D: DType, cs: [9]usize) !void {
    const a = testing.allocator;
    const H = dt.Storage(D);
    const K = DirectKernelFor(f32, H);
    var d = Direct{ .h = cs[0], .w = cs[1], .c = cs[2], .o = cs[3], .kh = cs[4], .kw = cs[5], .ph = cs[6], .pw = cs[7], .n = cs[8], .mode = .forward };
    const oh = d.oh();
    const ow = d.ow();
    const lens = [_]usize{ d.n * d.c * d.h * d.w, d.o * d.c * d.kh * d.kw, d.o, d.n * d.o * oh * ow };
    var wide: [4][]f64 = undefined;
    var half: [4][]H = undefined;
    for (0..4) |i| {
        wide[i] = try a.alloc(f64, lens[i]);
        half[i] = try a.alloc(H, lens[i]);
        fillPattern(wide[i], 21 + i);
        // The f64 operands hold exactly the half values.
        for (wide[i], half[i]) |*f, *h| {
            h.* = dt.convert(D, .float64, f.*);
            f.* = dt.convert(.float64, D, h.*);
        }
    }
    defer for (0..4) |i| {
        a.free(wide[i]);
        a.free(half[i]);
    };
    const x, const wt, const bias, const go = wide;
    const xh, const wh, const bh, const gh = half;
    const ulp: f64 = if (D == .bfloat16) 1.0 / 256.0 else 1.0 / 2048.0;
    const Check = struct {
        fn near(want: []const f64, got: []const H, u: f64) !void {
            for (want, got) |y, h| {
                const v: f64 = dt.convert(.float64, D, h);
                if (!(@abs(v - y) <= u * @abs(y) + 1e-5)) {
                    std.debug.print("{s}: got {d}, want {d}\n", .{ @tagName(D), v, y });
                    return error.TestUnexpectedResult;
                }
            }
        }
    };
    // Forward with bias, on both forms.
    const want = try a.alloc(f64, lens[3]);
    defer a.free(want);
    const got = try a.alloc(H, lens[3]);
    defer a.free(got);
    try DirectKernel(f64).run(d, x.ptr, wt.ptr, bias.ptr, want.ptr);
    inline for (.{ .lanes, .channels }) |form| {
        try K.runWith(form, d, xh.ptr, wh.ptr, bh.ptr, got.ptr);
        try Check.near(want, got, ulp);
    }
    // The BF16 dot-product kernel, where this CPU has it (f32 sums in
    // another order: a little more than one rounding of slack).
    if (comptime K.Pairs.available) {
        if (mm.hasBf16Dot()) {
            try K.Pairs.runPairs(d, xh.ptr, wh.ptr, bh.ptr, got.ptr);
            try Check.near(want, got, 2 * ulp);
        }
    }
    // The input gradient: the rotated forward of go, where the rotated
    // padding is non-negative (ph <= kh - 1).
    if (d.ph + 1 <= d.kh and d.pw + 1 <= d.kw) {
        var gd = d;
        gd.mode = .input_grad;
        gd.c = d.o;
        gd.o = d.c;
        gd.h = oh;
        gd.w = ow;
        gd.ph = d.kh - 1 - d.ph;
        gd.pw = d.kw - 1 - d.pw;
        const gx_want = try a.alloc(f64, lens[0]);
        defer a.free(gx_want);
        const gx = try a.alloc(H, lens[0]);
        defer a.free(gx);
        try DirectKernel(f64).run(gd, go.ptr, wt.ptr, null, gx_want.ptr);
        try direct(D, @ptrCast(gh.ptr), 0, @ptrCast(wh.ptr), 0, null, 0, @ptrCast(gx.ptr), 0, gd);
        try Check.near(gx_want, gx, 2 * ulp);
        if (comptime K.Pairs.available) {
            if (mm.hasBf16Dot()) {
                try K.Pairs.runPairs(gd, gh.ptr, wh.ptr, null, gx.ptr);
                try Check.near(gx_want, gx, 2 * ulp);
            }
        }
    }
    // The weight gradient, on both kernels.
    var wd = d;
    wd.mode = .weight_grad;
    const gw_want = try a.alloc(f64, lens[1]);
    defer a.free(gw_want);
    const gw = try a.alloc(H, lens[1]);
    defer a.free(gw);
    try DirectKernel(f64).weightGrad(wd, x.ptr, go.ptr, gw_want.ptr);
    try K.weightGradDot(wd, xh.ptr, gh.ptr, gw.ptr);
    try Check.near(gw_want, gw, ulp);
    if (wd.tapTableFits()) {
        try K.weightGradChannels(wd, xh.ptr, gh.ptr, gw.ptr);
        try Check.near(gw_want, gw, ulp);
        if (comptime K.Pairs.available) {
            if (mm.hasBf16Dot()) {
                @memset(gw, std.mem.zeroes(H));
                try K.Pairs.weightGradPairs(wd, xh.ptr, gh.ptr, gw.ptr);
                try Check.near(gw_want, gw, 2 * ulp);
            }
        }
    }
}

test "the direct convolution on float16 and bfloat16 matches the f64 kernels on the same values" {
    const cases = [_][9]usize{
        .{ 7, 6, 3, 4, 3, 3, 1, 1, 2 },     .{ 14, 14, 3, 6, 5, 5, 2, 2, 3 },
        .{ 6, 33, 2, 9, 2, 2, 1, 1, 2 },    .{ 10, 11, 8, 7, 3, 3, 1, 1, 5 },
        .{ 14, 14, 16, 32, 5, 5, 2, 2, 2 }, .{ 9, 20, 5, 40, 3, 4, 1, 2, 2 },
        .{ 12, 30, 4, 7, 4, 3, 0, 1, 1 },   .{ 2, 4, 16, 16, 2, 2, 3, 3, 2 },
        .{ 2, 4, 16, 16, 3, 3, 2, 2, 2 },   .{ 3, 5, 17, 12, 3, 3, 2, 1, 2 },
        .{ 13, 13, 7, 20, 5, 5, 2, 2, 2 },
        // Several images per chunk: padded buffers reused with their borders.
         .{ 6, 10, 6, 20, 3, 3, 1, 1, 40 },
        .{ 6, 10, 5, 12, 3, 3, 1, 1, 40 },
    };
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        for (cases) |cs| try checkDirectHalf(D, cs);
    }
}

test "pooling on float16 and bfloat16 planes is the f32 kernel on the same values, rounded once" {
    const a = testing.allocator;
    var prng = std.Random.DefaultPrng.init(9);
    const rnd = prng.random();
    // [2, 3, 9, 11] pooled 3x3, stride 2, padding 1 (adaptive: to 4 x 5).
    const g = Geometry{ .n = 2, .c = 3, .h = 9, .w = 11, .oh = 5, .ow = 6, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
    var ga = g;
    ga.oh = 4;
    ga.ow = 5;
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        const H = dt.Storage(D);
        inline for (.{ Op.max_pool, Op.avg_pool, Op.adaptive_avg_pool }) |fwd| {
            const geo = if (fwd == .adaptive_avg_pool) ga else g;
            const hw = geo.planes() * geo.h * geo.w;
            const l = geo.planes() * geo.oh * geo.ow;
            const xh = try a.alloc(H, hw);
            defer a.free(xh);
            const xf = try a.alloc(f32, hw);
            defer a.free(xf);
            for (xh, xf) |*h, *f| {
                h.* = dt.convert(D, .float32, rnd.float(f32) * 4 - 2);
                f.* = dt.convert(.float32, D, h.*);
            }
            const yh = try a.alloc(H, l);
            defer a.free(yh);
            const yf = try a.alloc(f32, l);
            defer a.free(yf);
            const ih = try a.alloc(i64, l);
            defer a.free(ih);
            const i_f = try a.alloc(i64, l);
            defer a.free(i_f);
            try run(fwd, D, @ptrCast(xh.ptr), 0, @ptrCast(yh.ptr), 0, @ptrCast(ih.ptr), 0, geo, .{});
            try run(fwd, .float32, @ptrCast(xf.ptr), 0, @ptrCast(yf.ptr), 0, @ptrCast(i_f.ptr), 0, geo, .{});
            for (yh, yf) |h, f| try testing.expectEqual(dt.convert(D, .float32, f), h);
            if (fwd == .max_pool) try testing.expectEqualSlices(i64, i_f, ih);
            // The backward: the output gradient back onto the input planes.
            const bwd: Op = @fromBackingInt(@intCast(@backingInt(fwd) + 1));
            const gih = try a.alloc(H, hw);
            defer a.free(gih);
            const gif = try a.alloc(f32, hw);
            defer a.free(gif);
            for (yh, yf) |*h, *f| {
                h.* = dt.convert(D, .float32, rnd.float(f32) - 0.5);
                f.* = dt.convert(.float32, D, h.*);
            }
            try run(bwd, D, @ptrCast(yh.ptr), 0, @ptrCast(gih.ptr), 0, @ptrCast(i_f.ptr), 0, geo, .{});
            try run(bwd, .float32, @ptrCast(yf.ptr), 0, @ptrCast(gif.ptr), 0, @ptrCast(i_f.ptr), 0, geo, .{});
            for (gih, gif) |h, f| try testing.expectEqual(dt.convert(D, .float32, f), h);
        }
    }
}
