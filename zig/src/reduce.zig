//! Reductions, scans and softmax along one axis of a contiguous tensor viewed
//! as x: [outer, r, inner]; results are [outer, inner]. The TypeScript side
//! brings other cases (several dims, non-contiguous input) to this form.
//!
//! Every kernel is generic over the storage type E and computes in
//! dt.Compute(E): float16 and bfloat16 elements widen to f32 as they are
//! loaded (sums accumulate in f64 as for float32) and each result rounds once
//! as it is stored, so a half tensor is never copied to float32 first.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const vm = @import("vmath.zig");
const m = @import("libm.zig");
const DType = dt.DType;
const BF16 = dt.BF16;
const assert = std.debug.assert;

pub const Error = error{InvalidArgument};

pub const Reduce = enum(i32) {
    sum = 0,
    mean = 1,
    prod = 2,
    max = 3,
    min = 4,
    argmax = 5,
    argmin = 6,
    variance = 7,
    logsumexp = 8,
    norm = 9,
    all = 10,
    any = 11,
};

const Shape = struct { outer: usize, r: usize, inner: usize };

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

inline fn toF64(comptime T: type, v: T) f64 {
    return if (comptime dt.isFloat(T)) @floatCast(v) else @floatFromInt(v);
}

/// Stores a floating result (computed in f64) as E: rounded to the compute
/// type, then (halves) to E.
inline fn putFloat(comptime E: type, out: *E, v: f64) void {
    dt.storeOne(dt.Compute(E), E, out, @floatCast(v));
}

/// Sum of a contiguous run in f64, vectorised with several accumulators.
/// float32 and the halves add blocks of 8 x 16 elements in f32 first (each
/// lane four chains of two, then a tree of their sums), and the blocks in
/// f64: a block's f32 sum is off by at most 3 * 2^-24 of its magnitudes, so
/// the whole sum by at most 3 * 2^-24 * sum |x| before its final rounding,
/// however long the run, where PyTorch's float32 cascade grows with the
/// log of the length. One conversion to f64 per 8 elements of a lane keeps
/// the loop at memory speed (converting every element halved it); four
/// chains rather than two keep more loads in flight (16M floats, 1 thread:
/// 27-29 against 29-32 GB/s in a loop of the kernel alone).
fn sumContig(comptime E: type, x: [*]const E, n: usize) f64 {
    const T = dt.Compute(E);
    if (comptime !dt.isFloat(T)) {
        var s: f64 = 0;
        for (0..n) |i| s += toF64(T, x[i]);
        return s;
    }
    if (comptime dt.isHalf(E) or E == f32) {
        var acc: @Vector(run_lanes, f64) = @splat(0);
        const rest = addRun(E, x, n, &acc);
        return @reduce(.Add, acc) + rest;
    }
    const L = 8;
    const V = @Vector(L, f64);
    var acc0: V = @splat(0);
    var acc1: V = @splat(0);
    var i: usize = 0;
    while (i + 2 * L <= n) : (i += 2 * L) {
        acc0 += @as(V, @floatCast(dt.loadVec(T, E, L, x + i)));
        acc1 += @as(V, @floatCast(dt.loadVec(T, E, L, x + i + L)));
    }
    var s = @reduce(.Add, acc0 + acc1);
    while (i < n) : (i += 1) s += dt.loadOne(T, E, x[i]);
    return s;
}

const run_lanes = 16;

/// Adds a contiguous run of float32 or half elements to the f64 lanes of
/// `acc` in sumContig's blocks (8 x 16 elements in f32, four chains of two
/// per lane, a tree of their sums), and returns the sum of a run shorter
/// than one vector, which gets no lanes. The rest after the last whole block
/// is one more, shorter block on the same chains: its whole vectors, then
/// the last 16 elements with the lanes already added masked off (a line of
/// 196, a conv plane, had spent most of its time in a scalar tail of 68).
/// Callers summing many short lines (reduce.planes) add them all to one
/// `acc` and reduce its lanes once.
inline fn addRun(comptime E: type, x: [*]const E, n: usize, acc: *@Vector(run_lanes, f64)) f64 {
    const L = run_lanes;
    const B = 8;
    const VF = @Vector(L, f32);
    if (n < L) {
        var s: f64 = 0;
        for (0..n) |i| s += dt.loadOne(f32, E, x[i]);
        return s;
    }
    var i: usize = 0;
    while (i + B * L <= n) : (i += B * L) {
        var b: [4]VF = @splat(@splat(0));
        inline for (0..B) |k| b[k % 4] += dt.loadVec(f32, E, L, x + i + k * L);
        acc.* += @as(@Vector(L, f64), @floatCast((b[0] + b[1]) + (b[2] + b[3])));
    }
    if (i == n) return 0;
    var b: [4]VF = @splat(@splat(0));
    const whole = (n - i) / L;
    inline for (0..B - 1) |k| {
        if (k < whole) b[k % 4] += dt.loadVec(f32, E, L, x + i + k * L);
    }
    i += whole * L;
    if (i < n) {
        const last = dt.loadVec(f32, E, L, x + n - L);
        const skip: @Vector(L, u32) = @splat(@intCast(L - (n - i)));
        const fresh = @select(f32, std.simd.iota(u32, L) >= skip, last, @as(VF, @splat(0)));
        // On the chain the next whole vector would have taken.
        inline for (0..B) |k| {
            if (k == whole) b[k % 4] += fresh;
        }
    }
    acc.* += @as(@Vector(L, f64), @floatCast((b[0] + b[1]) + (b[2] + b[3])));
    return 0;
}

/// A line of n elements of storage type E, `stride` apart; `at` gives them
/// in the compute type.
fn Line(comptime E: type) type {
    return struct {
        x: [*]const E,
        stride: usize,
        n: usize,
        const T = dt.Compute(E);
        inline fn at(l: @This(), i: usize) T {
            return dt.loadOne(T, E, l.x[i * l.stride]);
        }
        fn sum(l: @This()) f64 {
            if (l.stride == 1) return sumContig(E, l.x, l.n);
            var s: f64 = 0;
            for (0..l.n) |i| s += toF64(T, l.at(i));
            return s;
        }
    };
}

/// One output of a floating or integer reduction of a line of E, stored as
/// E in `out` (and an index for the arg ops in `idx`). Floats accumulate in
/// f64; ints wrap.
fn reduceLine(comptime E: type, comptime op: Reduce, l: Line(E), p: f64, out: *E, idx: ?*i64) void {
    const T = dt.Compute(E);
    const float = comptime dt.isFloat(T);
    switch (op) {
        .sum => {
            if (float) putFloat(E, out, l.sum()) else {
                var s: T = 0;
                for (0..l.n) |i| s +%= l.at(i);
                out.* = s;
            }
        },
        .mean => {
            if (!float) unreachable;
            putFloat(E, out, l.sum() / @as(f64, @floatFromInt(l.n)));
        },
        .prod => {
            if (float) {
                var s: f64 = 1;
                for (0..l.n) |i| s *= toF64(T, l.at(i));
                putFloat(E, out, s);
            } else {
                var s: T = 1;
                for (0..l.n) |i| s *%= l.at(i);
                out.* = s;
            }
        },
        .max, .min, .argmax, .argmin => {
            assert(l.n > 0);
            const want_max = op == .max or op == .argmax;
            if (float and (op == .max or op == .min) and idx == null and l.stride == 1) {
                // Contiguous values only: the vector scan (strided lines stay
                // on this loop, the reference the tests compare it with).
                dt.storeOne(T, E, out, lineExtreme(E, want_max, l.x, l.n));
                return;
            }
            var best = l.at(0);
            var bi: usize = 0;
            if (!(float and best != best)) {
                for (1..l.n) |i| {
                    const v = l.at(i);
                    if (float and v != v) {
                        best = v;
                        bi = i;
                        break;
                    }
                    if (if (want_max) v > best else v < best) {
                        best = v;
                        bi = i;
                    }
                }
            }
            // A value of the line: exact in E.
            dt.storeOne(T, E, out, best);
            if (idx) |ip| ip.* = @intCast(bi);
        },
        .variance => {
            if (!float) unreachable;
            const nf: f64 = @floatFromInt(l.n);
            const mean = l.sum() / nf;
            var ss: f64 = 0;
            for (0..l.n) |i| {
                const d = toF64(T, l.at(i)) - mean;
                ss += d * d;
            }
            const denom = nf - p;
            putFloat(E, out, if (denom <= 0) std.math.nan(f64) else ss / denom);
        },
        .logsumexp => {
            if (!float) unreachable;
            var mx: f64 = -std.math.inf(f64);
            for (0..l.n) |i| mx = @max(mx, toF64(T, l.at(i)));
            if (mx == -std.math.inf(f64) or mx == std.math.inf(f64)) {
                putFloat(E, out, mx);
                return;
            }
            var s: f64 = 0;
            if (l.stride == 1) {
                // Contiguous: the vectorised exp pass. (For float32, x - max
                // rounded to float32 moves each term by at most |x - max|
                // * 2^-24 relative, which exp(x - max) makes negligible.)
                s = expShiftSum(E, l.x, null, @floatCast(mx), l.n);
            } else {
                for (0..l.n) |i| s += @exp(toF64(T, l.at(i)) - mx);
            }
            putFloat(E, out, mx + @log(s));
        },
        .norm => {
            if (!float) unreachable;
            var r: f64 = 0;
            if (p == std.math.inf(f64)) {
                for (0..l.n) |i| r = @max(r, @abs(toF64(T, l.at(i))));
            } else if (p == -std.math.inf(f64)) {
                r = std.math.inf(f64);
                for (0..l.n) |i| r = @min(r, @abs(toF64(T, l.at(i))));
            } else if (p == 0) {
                for (0..l.n) |i| r += if (l.at(i) != 0) 1 else 0;
            } else if (p == 1) {
                for (0..l.n) |i| r += @abs(toF64(T, l.at(i)));
            } else if (p == 2) {
                for (0..l.n) |i| {
                    const v = toF64(T, l.at(i));
                    r += v * v;
                }
                r = @sqrt(r);
            } else {
                for (0..l.n) |i| r += std.math.pow(f64, @abs(toF64(T, l.at(i))), p);
                r = std.math.pow(f64, r, 1 / p);
            }
            putFloat(E, out, r);
        },
        .all, .any => unreachable,
    }
}

fn reduceBool(comptime E: type, comptime any: bool, l: Line(E)) u8 {
    for (0..l.n) |i| {
        const nz = l.at(i) != 0;
        if (any and nz) return 1;
        if (!any and !nz) return 0;
    }
    return if (any) 0 else 1;
}

/// out[o, j] = op over x[o, :, j]. all/any write bool (u8); argmax/argmin write
/// only `idx` (i64); max/min write values and, when `idx` is given, indices.
pub fn reduce(op: Reduce, dtype: DType, x_base: [*]u8, xoff: i64, out_base: ?[*]u8, ooff: i64, idx_base: ?[*]u8, ioff: i64, sh: Shape, p: f64) Error!void {
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8, .bool => |D| {
            const T = dt.Storage(D);
            const float = comptime dt.isFloat(dt.Compute(T));
            switch (op) {
                inline else => |O| {
                    if (!float and (O == .mean or O == .variance or O == .logsumexp or O == .norm)) return error.InvalidArgument;
                    const Ctx = struct {
                        x: [*]const T,
                        out: ?[*]u8,
                        idx: ?[*]i64,
                        sh: Shape,
                        p: f64,
                        chunks: u32,
                    };
                    const ctx = Ctx{
                        .x = ptr(T, x_base, xoff),
                        .out = if (out_base) |o| o + @as(usize, @intCast(ooff)) * (if (O == .all or O == .any) 1 else @sizeOf(T)) else null,
                        .idx = if (idx_base) |ib| ptr(i64, ib, ioff) else null,
                        .sh = sh,
                        .p = p,
                        .chunks = pool.chunkCount(sh.outer * sh.inner * @max(sh.r, 1), 1 << 15),
                    };
                    if ((O == .sum or O == .mean) and float and sh.outer * sh.inner == 1 and sh.r >= 1 << 16) {
                        // One long sum: split the line, then add the partial sums.
                        var partial: [pool.max_threads * 4]f64 = undefined;
                        const PCtx = struct { x: [*]const T, n: usize, chunks: u32, partial: *[pool.max_threads * 4]f64 };
                        const pc = PCtx{ .x = ctx.x, .n = sh.r, .chunks = ctx.chunks, .partial = &partial };
                        pool.run(ctx.chunks, &pc, struct {
                            fn f(c: *const PCtx, chunk: u32) void {
                                const r = pool.chunkRange(c.n, c.chunks, chunk);
                                c.partial[chunk] = sumContig(T, c.x + r[0], r[1] - r[0]);
                            }
                        }.f);
                        var s: f64 = 0;
                        for (partial[0..ctx.chunks]) |v| s += v;
                        if (O == .mean) s /= @floatFromInt(sh.r);
                        putFloat(T, &ptr(T, ctx.out.?, 0)[0], s);
                        return;
                    }
                    if ((O == .sum or O == .mean) and sh.inner > 1 and sh.r > 0) {
                        return columns(T, O == .mean, ctx.x, @ptrCast(@alignCast(ctx.out.?)), sh);
                    }
                    const lines = sh.outer * sh.inner;
                    const chunks = pool.chunkCount(lines * @max(sh.r, 1), 1 << 15);
                    const c2 = Ctx{ .x = ctx.x, .out = ctx.out, .idx = ctx.idx, .sh = sh, .p = p, .chunks = @min(chunks, @as(u32, @intCast(@max(lines, 1)))) };
                    pool.run(c2.chunks, &c2, struct {
                        fn f(c: *const Ctx, chunk: u32) void {
                            const n_lines = c.sh.outer * c.sh.inner;
                            const r = pool.chunkRange(n_lines, c.chunks, chunk);
                            for (r[0]..r[1]) |li| {
                                const o = li / c.sh.inner;
                                const j = li % c.sh.inner;
                                const l = Line(T){ .x = c.x + o * c.sh.r * c.sh.inner + j, .stride = c.sh.inner, .n = c.sh.r };
                                if (O == .all or O == .any) {
                                    c.out.?[li] = reduceBool(T, O == .any, l);
                                } else if (O == .argmax or O == .argmin) {
                                    var v: T = undefined;
                                    reduceLine(T, O, l, c.p, &v, &c.idx.?[li]);
                                } else {
                                    const outp: [*]T = @ptrCast(@alignCast(c.out.?));
                                    reduceLine(T, O, l, c.p, &outp[li], if (c.idx) |ip| &ip[li] else null);
                                }
                            }
                        }
                    }.f);
                },
            }
        },
    }
}

/// out[o] = the sum (or mean) of x[l, o, i] over l < lead and i < r, x:
/// [lead, outer, r] contiguous, floats only: a conv bias gradient's sum of
/// [N, C, H, W] over [0, 2, 3] in one pass, each channel's H x W lines
/// added to f64 lanes of its own in sumContig's blocks (addRun), reduced
/// and rounded once (the
/// two-pass plan rounds the partial sums to the dtype in between, which a
/// half dtype cannot afford, and copying x permuted cost more than the sum).
pub fn planes(op: Reduce, dtype: DType, x_base: [*]u8, xoff: i64, out_base: [*]u8, ooff: i64, lead: usize, outer: usize, r: usize) Error!void {
    if (op != .sum and op != .mean) return error.InvalidArgument;
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const T = dt.Storage(D);
            const Ctx = struct { x: [*]const T, out: [*]T, lead: usize, outer: usize, r: usize, mean: bool, chunks: u32 };
            const ctx = Ctx{
                .x = ptr(T, x_base, xoff),
                .out = ptr(T, out_base, ooff),
                .lead = lead,
                .outer = outer,
                .r = r,
                .mean = op == .mean,
                .chunks = @intCast(@min(outer, pool.chunkCount(lead * outer * @max(r, 1), 1 << 15))),
            };
            pool.run(ctx.chunks, &ctx, struct {
                fn f(c: *const Ctx, chunk: u32) void {
                    const range = pool.chunkRange(c.outer, c.chunks, chunk);
                    // Blocks of channels whose lines lie next to each other
                    // in every plane, read plane by plane in memory order;
                    // no reduction of lanes per line.
                    const lanes = comptime T == f32 or dt.isHalf(T);
                    const CB = 32;
                    var o0 = range[0];
                    while (o0 < range[1]) {
                        const o1 = @min(range[1], o0 + CB);
                        var accs: [CB]@Vector(run_lanes, f64) = @splat(@splat(0));
                        var sums: [CB]f64 = @splat(0);
                        for (0..c.lead) |l| {
                            const line = c.x + (l * c.outer + o0) * c.r;
                            for (0..o1 - o0) |k| {
                                sums[k] += if (lanes) addRun(T, line + k * c.r, c.r, &accs[k]) else sumContig(T, line + k * c.r, c.r);
                            }
                        }
                        for (o0..o1) |o| {
                            var s = sums[o - o0] + @reduce(.Add, accs[o - o0]);
                            if (c.mean) s /= @floatFromInt(c.lead * c.r);
                            putFloat(T, &c.out[o], s);
                        }
                        o0 = o1;
                    }
                }
            }.f);
        },
        else => return error.InvalidArgument,
    }
}

/// At most this many columns per task of the column sum: 256 f64 sums (2 KiB,
/// in L1) and rows read 1 KiB (float32) at a time.
const col_block = 256;
/// Columns per task of the column sum: col_block, or fewer (a multiple of
/// 8, at least 64) where whole blocks would give fewer than two tasks per
/// thread (a 4096 x 768 bias gradient: 3 blocks of 256 left one of 2 threads
/// idle for a third of the time).
fn colWidth(outer: usize, inner: usize) usize {
    const want: usize = 2 * @as(usize, pool.numThreads());
    if (outer * ((inner + col_block - 1) / col_block) >= want) return col_block;
    const per_outer = (want + outer - 1) / outer;
    return @min(col_block, @max(64, std.mem.alignForward(usize, (inner + per_outer - 1) / per_outer, 8)));
}

/// Rows the column sum adds in registers before it updates the sums: four
/// sequential streams, and a quarter of the sums' loads and stores.
const col_rows = 4;

/// Column sums over at least 2 * row_block rows split the rows too (see
/// columnsByRows); fewer rows stay in one task per column block.
const row_block = 512;
/// At most this many row blocks: the partial sums stay below 64 per column.
const max_row_blocks = 64;
/// Columns per task where the rows are split: whole rows up to this many, so
/// that a task reads one contiguous stretch of memory.
const wide_block = 1024;

/// out[o, j] = sum (or mean) over x[o, :, j] for inner > 1, read row by row:
/// each task keeps the sums of a block of columns and adds rows to them four
/// at a time, so the input streams in order where the line loop (reduceLine,
/// the reference) walked each column with a stride of `inner` elements (a
/// bias gradient's sum over the batch of a 4096 x 768 matrix: 13 ms against
/// 0.7). Floats accumulate in f64, each group of col_rows rows added in the
/// compute type first (rows added in another order than the line loop's);
/// ints wrap. T is the storage type.
fn columns(comptime T: type, comptime mean: bool, x: [*]const T, out: [*]T, sh: Shape) void {
    assert(sh.inner > 1 and sh.r > 0);
    if (sh.r >= 2 * row_block and columnsByRows(T, mean, x, out, sh)) return;
    const width = colWidth(sh.outer, sh.inner);
    assert(width > 0 and width <= col_block);
    const blocks = (sh.inner + width - 1) / width;
    const Ctx = struct { x: [*]const T, out: [*]T, sh: Shape, width: usize, blocks: usize, chunks: u32 };
    const tasks = sh.outer * blocks;
    const chunks = @min(pool.chunkCount(sh.outer * sh.r * sh.inner, 1 << 15), @as(u32, @intCast(@min(tasks, 1 << 16))));
    const ctx = Ctx{ .x = x, .out = out, .sh = sh, .width = width, .blocks = blocks, .chunks = chunks };
    pool.run(chunks, &ctx, struct {
        const S = ColumnSums(T);

        fn f(c: *const Ctx, chunk: u32) void {
            const r = pool.chunkRange(c.sh.outer * c.blocks, c.chunks, chunk);
            for (r[0]..r[1]) |t| {
                const o = t / c.blocks;
                const j0 = (t % c.blocks) * c.width;
                const w = @min(c.width, c.sh.inner - j0);
                var sums: [col_block]S.A = @splat(0);
                S.addRows(c.x + o * c.sh.r * c.sh.inner + j0, c.sh.inner, c.sh.r, sums[0..w]);
                const dst = c.out + o * c.sh.inner + j0;
                for (0..w) |jj| S.put(mean, &dst[jj], sums[jj], c.sh.r);
            }
        }
    }.f);
}

/// columns over many rows (r >= 2 * row_block): tasks of row_block rows (more
/// where that would make over max_row_blocks) by whole rows of up to
/// wide_block columns, so that each task streams one contiguous stretch of
/// memory, where a block of columns read a short piece of every row (the
/// hardware prefetchers follow neither the stride nor the short runs).
/// Each task's sums go to a scratch array, added in row-block order at the
/// end. The split depends on the shape alone, so the result's bits do not
/// depend on the thread count. Measured on Ice Lake, a 4096 x 768 float32
/// bias gradient (sum over dim 0) took 1.5-1.9x the time of a sum of the
/// same data into one number with 2 threads, and 1.0-1.5x after (median
/// 1.2; 1 thread: 1.0-1.7x, then 1.0-1.2x). False, having done nothing,
/// when the scratch array cannot be allocated.
fn columnsByRows(comptime T: type, comptime mean: bool, x: [*]const T, out: [*]T, sh: Shape) bool {
    const S = ColumnSums(T);
    const rows = @max(row_block, (sh.r + max_row_blocks - 1) / max_row_blocks);
    const row_blocks = (sh.r + rows - 1) / rows;
    assert(row_blocks >= 2 and row_blocks <= max_row_blocks);
    const col_blocks = (sh.inner + wide_block - 1) / wide_block;
    const width = (sh.inner + col_blocks - 1) / col_blocks;
    assert(width > 0 and width <= wide_block);
    const scratch = std.heap.c_allocator.alloc(S.A, sh.outer * row_blocks * sh.inner) catch return false;
    defer std.heap.c_allocator.free(scratch);
    const tasks = sh.outer * col_blocks * row_blocks;
    const Ctx = struct { x: [*]const T, partial: []S.A, sh: Shape, rows: usize, row_blocks: usize, width: usize, col_blocks: usize, chunks: u32 };
    const chunks = @min(pool.chunkCount(sh.outer * sh.r * sh.inner, 1 << 15), @as(u32, @intCast(@min(tasks, 1 << 16))));
    const ctx = Ctx{ .x = x, .partial = scratch, .sh = sh, .rows = rows, .row_blocks = row_blocks, .width = width, .col_blocks = col_blocks, .chunks = chunks };
    pool.run(chunks, &ctx, struct {
        fn f(c: *const Ctx, chunk: u32) void {
            const r = pool.chunkRange(c.sh.outer * c.col_blocks * c.row_blocks, c.chunks, chunk);
            for (r[0]..r[1]) |t| {
                // Tasks run row blocks innermost: a chunk's tasks read on from one another.
                const rb = t % c.row_blocks;
                const cb = (t / c.row_blocks) % c.col_blocks;
                const o = t / (c.row_blocks * c.col_blocks);
                const j0 = cb * c.width;
                const w = @min(c.width, c.sh.inner - j0);
                const first = rb * c.rows;
                const n = @min(c.rows, c.sh.r - first);
                const sums = c.partial[(o * c.row_blocks + rb) * c.sh.inner + j0 ..][0..w];
                @memset(sums, 0);
                S.addRows(c.x + (o * c.sh.r + first) * c.sh.inner + j0, c.sh.inner, n, sums);
            }
        }
    }.f);
    // The row blocks' sums in order: row_blocks / (rows * sizeOf(T) / 8) of the input's bytes, at most 1/256.
    for (0..sh.outer) |o| {
        const part = scratch[o * row_blocks * sh.inner ..][0 .. row_blocks * sh.inner];
        for (0..sh.inner) |j| {
            var s = part[j];
            for (1..row_blocks) |rb| s = S.add(s, part[rb * sh.inner + j]);
            S.put(mean, &out[o * sh.inner + j], s, sh.r);
        }
    }
    return true;
}

/// The column sums' arithmetic for storage type T.
fn ColumnSums(comptime T: type) type {
    return struct {
        const float = dt.isFloat(dt.Compute(T));
        /// The sums' type: f64 for floats, T (wrapping) for ints.
        const A = if (float) f64 else T;
        const W = 8;
        const VA = @Vector(W, A);

        /// sums[j] += x[i * ld + j] for i < n, j < sums.len: whole vectors
        /// of columns col_rows rows at a time, then the last columns and rows.
        fn addRows(x: [*]const T, ld: usize, n: usize, sums: []A) void {
            const w = sums.len;
            const wv = w / W * W;
            var i: usize = 0;
            while (i + col_rows <= n) : (i += col_rows) {
                const row = x + i * ld;
                var v: usize = 0;
                while (v < wv) : (v += W) {
                    const part = rowsV(row + v, ld);
                    const sv: VA = sums[v..][0..W].*;
                    sums[v..][0..W].* = add(sv, part);
                }
                for (wv..w) |jj| {
                    inline for (0..col_rows) |q| sums[jj] = add(sums[jj], widen(row[q * ld + jj]));
                }
            }
            while (i < n) : (i += 1) {
                const row = x + i * ld;
                for (0..w) |jj| sums[jj] = add(sums[jj], widen(row[jj]));
            }
        }

        /// Stores a column's sum (or its mean over r rows) as T.
        inline fn put(comptime mean: bool, dst: *T, s: A, r: usize) void {
            if (float) {
                putFloat(T, dst, if (mean) s / @as(f64, @floatFromInt(r)) else s);
            } else dst.* = s;
        }

        /// W columns of col_rows rows from p (row stride ld), added in the
        /// compute type, as the sums' type: float32 and the halves add their
        /// rows in f32 (off by at most 3 * 2^-24 of their magnitudes) and
        /// widen to f64 once, where widening every element made the loop
        /// compute-bound.
        inline fn rowsV(p: [*]const T, ld: usize) VA {
            if (!float) {
                var s: VA = p[0..W].*;
                inline for (1..col_rows) |q| s +%= p[q * ld ..][0..W].*;
                return s;
            }
            const C = dt.Compute(T);
            var s: @Vector(W, C) = dt.loadVec(C, T, W, p);
            inline for (1..col_rows) |q| s += dt.loadVec(C, T, W, p + q * ld);
            return @floatCast(s);
        }
        inline fn widen(v: T) A {
            return if (float) @floatCast(dt.loadOne(dt.Compute(T), T, v)) else v;
        }
        /// Floats add; ints wrap, as the line loop's sums do.
        inline fn add(a: anytype, b: @TypeOf(a)) @TypeOf(a) {
            return if (float) a + b else a +% b;
        }
    };
}

pub const Scan = enum(i32) {
    cumsum = 0,
    cumprod = 1,
    /// log(cumsum(exp(x))) without overflow: float only.
    logcumsumexp = 2,
};

/// log(exp(a) + exp(b)), as PyTorch's _log_add_exp_helper: a pair of equal
/// infinities gives that infinity (not NaN), and NaN propagates. Shared with
/// the CUDA scan kernel, which passes its own exp and log1p.
pub inline fn logAddExp(a: f64, b: f64, comptime exp: anytype, comptime log1p: anytype) f64 {
    if (a != a or b != b) return a + b;
    const lo = @min(a, b);
    const hi = @max(a, b);
    if (lo == hi and !std.math.isFinite(lo)) return lo;
    return hi + log1p(exp(lo - hi));
}

fn hostExp(x: f64) f64 {
    return @exp(x);
}
fn hostLog1p(x: f64) f64 {
    return m.log1p(f64, x);
}

/// out[o, i, j] = op over x[o, 0..i+1, j]; float accumulates in f64, ints wrap.
/// Lines run in parallel: contiguous ones (inner 1) one at a time, strided
/// ones (cumsum and cumprod) a vector of adjacent columns at a time, each
/// lane its own line with the scalar loop's f64 operations in its order.
pub fn scan(op: Scan, dtype: DType, x_base: [*]u8, xoff: i64, out_base: [*]u8, ooff: i64, sh: Shape) Error!void {
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8 => |D| {
            const T = dt.Storage(D);
            const C = dt.Compute(T);
            if (comptime !dt.isFloat(C)) {
                if (op == .logcumsumexp) return error.InvalidArgument;
            }
            const w = scan_columns;
            const Ctx = struct { x: [*]const T, out: [*]T, sh: Shape, op: Scan, blocks: usize, units: usize, chunks: u32 };
            // Units: lines, or (outer, block of w columns) for a strided float cumsum/cumprod.
            const vec = comptime dt.isFloat(C);
            const blocks = if (vec and sh.inner > 1 and op != .logcumsumexp) (sh.inner + w - 1) / w else sh.inner;
            const units = sh.outer * blocks;
            const chunks = @min(pool.chunkCount(sh.outer * sh.inner * @max(sh.r, 1), 1 << 14), @as(u32, @intCast(@max(units, 1))));
            const ctx = Ctx{ .x = ptr(T, x_base, xoff), .out = ptr(T, out_base, ooff), .sh = sh, .op = op, .blocks = blocks, .units = units, .chunks = chunks };
            pool.run(chunks, &ctx, struct {
                fn f(c: *const Ctx, chunk: u32) void {
                    const r = pool.chunkRange(c.units, c.chunks, chunk);
                    for (r[0]..r[1]) |u| {
                        const o = u / c.blocks;
                        const jb = u % c.blocks;
                        if (c.blocks == c.sh.inner) {
                            const base = o * c.sh.r * c.sh.inner + jb;
                            scanLine(T, c.op, c.x + base, c.out + base, c.sh.r, c.sh.inner);
                            continue;
                        }
                        if (comptime !vec) unreachable;
                        const j0 = jb * w;
                        const base = o * c.sh.r * c.sh.inner + j0;
                        if (j0 + w <= c.sh.inner) {
                            scanColumns(T, c.op, c.x + base, c.out + base, c.sh.r, c.sh.inner);
                        } else for (0..c.sh.inner - j0) |j| {
                            scanLine(T, c.op, c.x + base + j, c.out + base + j, c.sh.r, c.sh.inner);
                        }
                    }
                }
            }.f);
        },
        else => return error.InvalidArgument,
    }
}

/// Columns a strided float scan takes at once (two f64 vectors of AVX-512).
const scan_columns = 16;

/// One line of r elements `stride` apart: the plain loop. A contiguous half
/// line widens and rounds a block at a time (vector conversions: a scalar
/// float16 conversion may be a library call).
fn scanLine(comptime E: type, op: Scan, x: [*]const E, out: [*]E, n: usize, stride: usize) void {
    const C = dt.Compute(E);
    if (comptime !dt.isFloat(C)) {
        var acc: E = if (op == .cumsum) 0 else 1;
        for (0..n) |i| {
            acc = if (op == .cumsum) acc +% x[i * stride] else acc *% x[i * stride];
            out[i * stride] = acc;
        }
        return;
    }
    var acc: f64 = switch (op) {
        .cumsum => 0,
        .cumprod => 1,
        .logcumsumexp => -std.math.inf(f64),
    };
    if (comptime dt.isHalf(E)) {
        if (stride == 1) {
            const blk = 256;
            var buf: [blk]f32 = undefined;
            var i: usize = 0;
            while (i < n) : (i += blk) {
                const len = @min(blk, n - i);
                dt.widen(E, x + i, &buf, len);
                for (buf[0..len]) |*v| {
                    acc = scanStep(op, acc, v.*);
                    v.* = @floatCast(acc);
                }
                dt.narrow(E, &buf, out + i, len);
            }
            return;
        }
    }
    for (0..n) |i| {
        acc = scanStep(op, acc, dt.loadOne(C, E, x[i * stride]));
        putFloat(E, &out[i * stride], acc);
    }
}

inline fn scanStep(op: Scan, acc: f64, v: f64) f64 {
    return switch (op) {
        .cumsum => acc + v,
        .cumprod => acc * v,
        .logcumsumexp => logAddExp(acc, v, hostExp, hostLog1p),
    };
}

/// cumsum or cumprod of scan_columns adjacent columns (r rows, `stride`
/// apart), each lane accumulating in f64 as scanLine does.
fn scanColumns(comptime E: type, op: Scan, x: [*]const E, out: [*]E, r: usize, stride: usize) void {
    const C = dt.Compute(E);
    const w = scan_columns;
    const W = @Vector(w, f64);
    var acc: W = @splat(if (op == .cumsum) 0 else 1);
    for (0..r) |i| {
        const v: W = @floatCast(dt.loadVec(C, E, w, x + i * stride));
        acc = if (op == .cumsum) acc + v else acc * v;
        dt.storeVec(C, E, w, out + i * stride, @as(@Vector(w, C), @floatCast(acc)));
    }
}

/// Vectors of exps that expShiftSum adds in the compute type before it adds
/// their sum to the float64 total: each term is at most 1, so a float32 block
/// sum of 8 is off by at most 8 * 2^-24 of the block (far below one rounding
/// of the result), and the conversions to float64 drop to one per block.
const exp_block = 8;

/// sum(exp(x[i] - mx)) over n contiguous elements of E, vectorised
/// (vmath.zig) in the compute type and accumulated in float64 (by blocks of
/// exp_block vectors); writes the exps (in the compute type) to `out` when
/// given.
pub fn expShiftSum(comptime E: type, x: [*]const E, out: ?[*]dt.Compute(E), mx: dt.Compute(E), n: usize) f64 {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    const W = @Vector(w, f64);
    const mv: V = @splat(mx);
    var acc: W = @splat(0);
    var i: usize = 0;
    while (i + exp_block * w <= n) {
        var block: V = @splat(0);
        inline for (0..exp_block) |_| {
            const e = vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + i) - mv);
            if (out) |o| o[i..][0..w].* = e;
            block += e;
            i += w;
        }
        acc += @as(W, @floatCast(block));
    }
    while (i + w <= n) : (i += w) {
        const e = vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + i) - mv);
        if (out) |o| o[i..][0..w].* = e;
        acc += @as(W, @floatCast(e));
    }
    if (i < n) {
        // Padded tail: -inf lanes give exp = 0.
        var buf: [w]T = @splat(-std.math.inf(T));
        for (buf[0 .. n - i], x[i..n]) |*d, v| d.* = dt.loadOne(T, E, v);
        const e: [w]T = vm.exp(T, w, @as(V, buf) - mv);
        if (out) |o| @memcpy(o[i..n], e[0 .. n - i]);
        for (e[0 .. n - i]) |v| acc[0] += v;
    }
    return @reduce(.Add, acc);
}

/// The largest of n contiguous elements, NaN if any is NaN (as PyTorch's max).
pub fn lineMax(comptime E: type, x: [*]const E, n: usize) dt.Compute(E) {
    return lineExtreme(E, true, x, n);
}

/// The largest (`want_max`) or smallest of n contiguous elements of E, the
/// first NaN if any is NaN: the values of reduceLine's scan (the reference),
/// a vector at a time.
fn lineExtreme(comptime E: type, comptime want_max: bool, x: [*]const E, n: usize) dt.Compute(E) {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    const start: T = if (want_max) -std.math.inf(T) else std.math.inf(T);
    // Four independent chains each of extremes and probes: the probe's adds
    // would otherwise bound the loop at one vector per add latency.
    const A = 4;
    var mvs: [A]V = @splat(@splat(start));
    // v - v is NaN exactly where v is NaN or infinite: one probe per line says
    // whether the plain loop below must decide.
    var probes: [A]V = @splat(@splat(0));
    var i: usize = 0;
    while (i + A * w <= n) : (i += A * w) {
        inline for (0..A) |k| {
            const v = dt.loadVec(T, E, w, x + i + k * w);
            mvs[k] = if (want_max) @max(mvs[k], v) else @min(mvs[k], v);
            probes[k] += v - v;
        }
    }
    while (i + w <= n) : (i += w) {
        const v = dt.loadVec(T, E, w, x + i);
        mvs[0] = if (want_max) @max(mvs[0], v) else @min(mvs[0], v);
        probes[0] += v - v;
    }
    var mv = mvs[0];
    inline for (1..A) |k| mv = if (want_max) @max(mv, mvs[k]) else @min(mv, mvs[k]);
    var mx: T = if (want_max) @reduce(.Max, mv) else @reduce(.Min, mv);
    const p = @reduce(.Add, (probes[0] + probes[1]) + (probes[2] + probes[3]));
    if (p != p) {
        // NaN or infinity somewhere: the scalar scan (NaN wins, infinities kept).
        mx = start;
        for (0..n) |j| {
            const v = dt.loadOne(T, E, x[j]);
            if (v != v) return v;
            mx = if (want_max) @max(mx, v) else @min(mx, v);
        }
        return mx;
    }
    while (i < n) : (i += 1) {
        const v = dt.loadOne(T, E, x[i]);
        if (v != v) return v;
        mx = if (want_max) @max(mx, v) else @min(mx, v);
    }
    return mx;
}

/// Longest half line whose exps softmaxLine keeps in a float32 buffer on the
/// stack (16 KiB) between its passes; longer lines compute them again.
const half_line_buffer = 4096;

/// softmax or logSoftmax of one contiguous line of n elements: a vector max,
/// one pass of vectorised exp (summed in float64), one scaling pass. A half
/// line keeps its exps in float32 (a stack buffer, or computed again for
/// lines past half_line_buffer) rather than round them to E in between, so
/// each output rounds once.
fn softmaxLine(comptime E: type, log: bool, x: [*]const E, out: [*]E, n: usize) void {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    // All -inf: PyTorch gives NaN, which x - max produces here too.
    const mx = lineMax(E, x, n);
    const mv: V = @splat(mx);
    var i: usize = 0;
    if (log) {
        const s = expShiftSum(E, x, null, mx, n);
        // (x - max) - log(sum), in PyTorch's order.
        const ls: T = @floatCast(@log(s));
        const lv: V = @splat(ls);
        while (i + w <= n) : (i += w) dt.storeVec(T, E, w, out + i, (dt.loadVec(T, E, w, x + i) - mv) - lv);
        while (i < n) : (i += 1) dt.storeOne(T, E, &out[i], dt.loadOne(T, E, x[i]) - mx - ls);
    } else if (E == T) {
        const s = expShiftSum(E, x, out, mx, n);
        const inv: T = @floatCast(1 / s);
        const iv: V = @splat(inv);
        while (i + w <= n) : (i += w) out[i..][0..w].* = @as(V, out[i..][0..w].*) * iv;
        while (i < n) : (i += 1) out[i] *= inv;
    } else if (n <= half_line_buffer) {
        var buf: [half_line_buffer]T = undefined;
        const s = expShiftSum(E, x, &buf, mx, n);
        const iv: V = @splat(@floatCast(1 / s));
        while (i + w <= n) : (i += w) dt.storeVec(T, E, w, out + i, @as(V, buf[i..][0..w].*) * iv);
        while (i < n) : (i += 1) dt.storeOne(T, E, &out[i], buf[i] * iv[0]);
    } else {
        const s = expShiftSum(E, x, null, mx, n);
        const inv: T = @floatCast(1 / s);
        const iv: V = @splat(inv);
        while (i + w <= n) : (i += w) {
            dt.storeVec(T, E, w, out + i, vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + i) - mv) * iv);
        }
        while (i < n) : (i += 1) dt.storeOne(T, E, &out[i], @exp(dt.loadOne(T, E, x[i]) - mx) * inv);
    }
}

/// softmax (log = false) or logSoftmax (log = true) along r; numerically stable.
pub fn softmax(log: bool, dtype: DType, x_base: [*]u8, xoff: i64, out_base: [*]u8, ooff: i64, sh: Shape) Error!void {
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const Ctx = struct { x: [*]const E, out: [*]E, sh: Shape, log: bool, units: usize, chunks: u32 };
            const units = softmaxUnits(E, sh);
            const chunks = @min(pool.chunkCount(sh.outer * sh.inner * @max(sh.r, 1), 1 << 14), @as(u32, @intCast(@max(units, 1))));
            const ctx = Ctx{ .x = ptr(E, x_base, xoff), .out = ptr(E, out_base, ooff), .sh = sh, .log = log, .units = units, .chunks = chunks };
            pool.run(chunks, &ctx, struct {
                fn f(c: *const Ctx, chunk: u32) void {
                    const r = pool.chunkRange(c.units, c.chunks, chunk);
                    // A half column block keeps its exps in float32 between
                    // the last two passes, as a float32 one keeps them in its
                    // output (without the buffer: computed again).
                    const cb = softmax_column_vectors * vm.lanes(f32);
                    const keep = dt.isHalf(E) and !c.log and c.sh.inner > 1 and c.sh.r * cb <= softmax_keep_limit;
                    const buf: ?[]f32 = if (keep) std.heap.c_allocator.alloc(f32, c.sh.r * cb) catch null else null;
                    defer if (buf) |b| std.heap.c_allocator.free(b);
                    for (r[0]..r[1]) |u| {
                        const cols = softmaxUnit(E, c.sh, u);
                        if (c.sh.inner == 1) {
                            softmaxLine(E, c.log, c.x + cols.base, c.out + cols.base, c.sh.r);
                        } else {
                            softmaxColumns(E, c.log, c.x + cols.base, c.out + cols.base, c.sh.r, c.sh.inner, cols.width, if (buf) |b| b.ptr else null);
                        }
                    }
                }
            }.f);
        },
        else => return error.InvalidArgument,
    }
}

/// Vectors of columns that softmax along a strided axis (inner > 1) takes at
/// once: each row of the block is a few whole cache lines, and the block's
/// rows (r of them) stay in L2 between the passes. One column at a time
/// would read a cache line per element per pass, for four bytes of it.
const softmax_column_vectors = 4;

/// Most float32 elements (4 MiB) a half column block keeps its exps in.
const softmax_keep_limit = 1 << 20;

/// Units of softmax work: lines when r is contiguous, else (outer, block of
/// columns) pairs.
fn softmaxUnits(comptime E: type, sh: Shape) usize {
    if (sh.inner == 1) return sh.outer;
    const cb = softmax_column_vectors * vm.lanes(dt.Compute(E));
    return sh.outer * ((sh.inner + cb - 1) / cb);
}

/// Where unit u starts (its first element) and how many columns it has.
fn softmaxUnit(comptime E: type, sh: Shape, u: usize) struct { base: usize, width: usize } {
    if (sh.inner == 1) return .{ .base = u * sh.r, .width = 1 };
    const cb = softmax_column_vectors * vm.lanes(dt.Compute(E));
    const blocks = (sh.inner + cb - 1) / cb;
    const o = u / blocks;
    const j0 = (u % blocks) * cb;
    return .{ .base = o * sh.r * sh.inner + j0, .width = @min(cb, sh.inner - j0) };
}

/// softmax or logSoftmax of `width` adjacent columns, each of r elements
/// `stride` apart: blocks of nv vectors across the columns, then one
/// vector, then the strided line loop for the last few columns.
fn softmaxColumns(comptime E: type, log: bool, x: [*]const E, out: [*]E, r: usize, stride: usize, width: usize, buf: ?[*]f32) void {
    const w = comptime vm.lanes(dt.Compute(E));
    const nv = softmax_column_vectors;
    var j: usize = 0;
    while (j + nv * w <= width) : (j += nv * w) softmaxVectors(E, nv, log, x + j, out + j, r, stride, buf);
    while (j + w <= width) : (j += w) softmaxVectors(E, 1, log, x + j, out + j, r, stride, buf);
    while (j < width) : (j += 1) softmaxStridedLine(E, log, x + j, out + j, r, stride);
}

/// softmax or logSoftmax of nv * lanes adjacent columns (r rows, `stride`
/// apart), each lane its own line: the max, then exp(x - max) summed per
/// lane (float32 blocks of exp_block rows into float64, as expShiftSum),
/// then the scaling pass. float32 keeps the exps in `out` between the last
/// two passes; a half keeps them in `buf` (r * nv * lanes float32), or
/// without one computes them again (each output rounds once).
fn softmaxVectors(comptime E: type, comptime nv: usize, log: bool, x: [*]const E, out: [*]E, r: usize, stride: usize, buf: ?[*]f32) void {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    const W = @Vector(w, f64);
    const inf: V = @splat(std.math.inf(T));
    var mx: [nv]V = @splat(-inf);
    // A NaN anywhere in a line makes its max NaN, as lineMax.
    var nan: [nv]@Vector(w, bool) = @splat(@splat(false));
    for (0..r) |i| {
        inline for (0..nv) |v| {
            const e = dt.loadVec(T, E, w, x + i * stride + v * w);
            mx[v] = @max(mx[v], e);
            nan[v] = nan[v] | (e != e);
        }
    }
    inline for (0..nv) |v| mx[v] = @select(T, nan[v], @as(V, @splat(std.math.nan(T))), mx[v]);
    var sum: [nv]W = @splat(@splat(0));
    var i: usize = 0;
    while (i < r) {
        const rows = @min(exp_block, r - i);
        var block: [nv]V = @splat(@splat(0));
        for (i..i + rows) |k| {
            inline for (0..nv) |v| {
                const e = vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + k * stride + v * w) - mx[v]);
                if (E == T and !log) out[k * stride + v * w ..][0..w].* = e;
                if (E != T and !log) {
                    if (buf) |b| b[(k * nv + v) * w ..][0..w].* = e;
                }
                block[v] += e;
            }
        }
        inline for (0..nv) |v| sum[v] += @as(W, @floatCast(block[v]));
        i += rows;
    }
    if (log) {
        var ls: [nv]V = undefined;
        inline for (0..nv) |v| ls[v] = @floatCast(@log(sum[v]));
        for (0..r) |k| {
            inline for (0..nv) |v| {
                const o = k * stride + v * w;
                // (x - max) - log(sum), in PyTorch's order.
                dt.storeVec(T, E, w, out + o, (dt.loadVec(T, E, w, x + o) - mx[v]) - ls[v]);
            }
        }
        return;
    }
    var inv: [nv]V = undefined;
    inline for (0..nv) |v| inv[v] = @floatCast(@as(W, @splat(1)) / sum[v]);
    for (0..r) |k| {
        inline for (0..nv) |v| {
            const o = k * stride + v * w;
            if (E == T) {
                out[o..][0..w].* = @as(V, out[o..][0..w].*) * inv[v];
            } else if (buf) |b| {
                dt.storeVec(T, E, w, out + o, @as(V, b[(k * nv + v) * w ..][0..w].*) * inv[v]);
            } else {
                dt.storeVec(T, E, w, out + o, vm.expMostlyNormal(T, w, dt.loadVec(T, E, w, x + o) - mx[v]) * inv[v]);
            }
        }
    }
}

/// softmax or logSoftmax of one line of n elements `stride` apart: the
/// plain loop (sum in float64), also the reference softmaxVectors is tested
/// against.
fn softmaxStridedLine(comptime E: type, log: bool, x: [*]const E, y: [*]E, n: usize, stride: usize) void {
    const T = dt.Compute(E);
    const l = Line(E){ .x = x, .stride = stride, .n = n };
    var mx: T = -std.math.inf(T);
    for (0..n) |i| {
        const v = l.at(i);
        if (v != v) {
            mx = v;
            break;
        }
        mx = @max(mx, v);
    }
    // All -inf: PyTorch gives NaN, which x - max produces here too.
    var s: f64 = 0;
    if (log) {
        for (0..n) |i| s += @exp(@as(f64, l.at(i) - mx));
        const ls: T = @floatCast(@log(s));
        for (0..n) |i| dt.storeOne(T, E, &y[i * stride], l.at(i) - mx - ls);
    } else if (E == T) {
        for (0..n) |i| {
            const e = @exp(l.at(i) - mx);
            y[i * stride] = e;
            s += e;
        }
        const inv: T = @floatCast(1 / s);
        for (0..n) |i| y[i * stride] *= inv;
    } else {
        // Half: the exps again rather than rounded twice.
        for (0..n) |i| s += @exp(l.at(i) - mx);
        const inv: T = @floatCast(1 / s);
        for (0..n) |i| dt.storeOne(T, E, &y[i * stride], @exp(l.at(i) - mx) * inv);
    }
}

/// The gradient of softmax (log = false) or logSoftmax (log = true) along r
/// from the output y and its gradient g (all [outer, r, inner], contiguous):
///   softmax:    dx = y * (g - sum(g * y))
///   logSoftmax: dx = g - exp(y) * sum(g)
/// in the compute type with the sum in float64, each dx rounded once: a half
/// line gets PyTorch's float32 backward rather than four rounded half ops.
pub fn softmaxBackward(log: bool, dtype: DType, g_base: [*]u8, goff: i64, y_base: [*]u8, yoff: i64, dx_base: [*]u8, dxoff: i64, sh: Shape) Error!void {
    switch (dtype) {
        inline .float32, .float64, .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const Ctx = struct { g: [*]const E, y: [*]const E, dx: [*]E, sh: Shape, log: bool, units: usize, chunks: u32 };
            const units = softmaxUnits(E, sh);
            const chunks = @min(pool.chunkCount(sh.outer * sh.inner * @max(sh.r, 1), 1 << 14), @as(u32, @intCast(@max(units, 1))));
            const ctx = Ctx{ .g = ptr(E, g_base, goff), .y = ptr(E, y_base, yoff), .dx = ptr(E, dx_base, dxoff), .sh = sh, .log = log, .units = units, .chunks = chunks };
            pool.run(chunks, &ctx, struct {
                fn f(c: *const Ctx, chunk: u32) void {
                    const r = pool.chunkRange(c.units, c.chunks, chunk);
                    for (r[0]..r[1]) |u| {
                        const cols = softmaxUnit(E, c.sh, u);
                        const b = cols.base;
                        if (c.sh.inner == 1) {
                            softmaxBackwardLine(E, c.log, c.g + b, c.y + b, c.dx + b, c.sh.r);
                        } else {
                            softmaxBackwardColumns(E, c.log, c.g + b, c.y + b, c.dx + b, c.sh.r, c.sh.inner, cols.width);
                        }
                    }
                }
            }.f);
        },
        else => return error.InvalidArgument,
    }
}

/// softmaxBackward of `width` adjacent columns (r rows, `stride` apart), as
/// softmaxColumns splits them.
fn softmaxBackwardColumns(comptime E: type, log: bool, g: [*]const E, y: [*]const E, dx: [*]E, r: usize, stride: usize, width: usize) void {
    const w = comptime vm.lanes(dt.Compute(E));
    const nv = softmax_column_vectors;
    var j: usize = 0;
    while (j + nv * w <= width) : (j += nv * w) softmaxBackwardVectors(E, nv, log, g + j, y + j, dx + j, r, stride);
    while (j + w <= width) : (j += w) softmaxBackwardVectors(E, 1, log, g + j, y + j, dx + j, r, stride);
    while (j < width) : (j += 1) softmaxBackwardStrided(E, log, g + j, y + j, dx + j, r, stride);
}

/// softmaxBackward of nv * lanes adjacent columns, each lane its own line:
/// the float64 sum per lane, then dx.
fn softmaxBackwardVectors(comptime E: type, comptime nv: usize, log: bool, g: [*]const E, y: [*]const E, dx: [*]E, r: usize, stride: usize) void {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    const W = @Vector(w, f64);
    var acc: [nv]W = @splat(@splat(0));
    for (0..r) |k| {
        inline for (0..nv) |v| {
            const o = k * stride + v * w;
            const gv = dt.loadVec(T, E, w, g + o);
            const p = if (log) gv else gv * dt.loadVec(T, E, w, y + o);
            acc[v] += @as(W, @floatCast(p));
        }
    }
    var sv: [nv]V = undefined;
    inline for (0..nv) |v| sv[v] = @floatCast(acc[v]);
    for (0..r) |k| {
        inline for (0..nv) |v| {
            const o = k * stride + v * w;
            const gv = dt.loadVec(T, E, w, g + o);
            const yv = dt.loadVec(T, E, w, y + o);
            dt.storeVec(T, E, w, dx + o, if (log) gv - vm.expMostlyNormal(T, w, yv) * sv[v] else yv * (gv - sv[v]));
        }
    }
}

/// One contiguous line of softmaxBackward, a vector at a time.
fn softmaxBackwardLine(comptime E: type, log: bool, g: [*]const E, y: [*]const E, dx: [*]E, n: usize) void {
    const T = dt.Compute(E);
    const w = comptime vm.lanes(T);
    const V = @Vector(w, T);
    const W = @Vector(w, f64);
    var acc: W = @splat(0);
    var i: usize = 0;
    while (i + w <= n) : (i += w) {
        const gv = dt.loadVec(T, E, w, g + i);
        const p = if (log) gv else gv * dt.loadVec(T, E, w, y + i);
        acc += @as(W, @floatCast(p));
    }
    var s = @reduce(.Add, acc);
    while (i < n) : (i += 1) {
        const gv = dt.loadOne(T, E, g[i]);
        s += if (log) gv else gv * dt.loadOne(T, E, y[i]);
    }
    const st: T = @floatCast(s);
    const sv: V = @splat(st);
    i = 0;
    while (i + w <= n) : (i += w) {
        const gv = dt.loadVec(T, E, w, g + i);
        const yv = dt.loadVec(T, E, w, y + i);
        dt.storeVec(T, E, w, dx + i, if (log) gv - vm.expMostlyNormal(T, w, yv) * sv else yv * (gv - sv));
    }
    while (i < n) : (i += 1) {
        const gv = dt.loadOne(T, E, g[i]);
        const yv = dt.loadOne(T, E, y[i]);
        dt.storeOne(T, E, &dx[i], if (log) gv - @exp(yv) * st else yv * (gv - st));
    }
}

/// One line of softmaxBackward with elements `stride` apart: the plain loop,
/// also the reference the vector line is tested against.
fn softmaxBackwardStrided(comptime E: type, log: bool, g: [*]const E, y: [*]const E, dx: [*]E, n: usize, stride: usize) void {
    const T = dt.Compute(E);
    const gl = Line(E){ .x = g, .stride = stride, .n = n };
    const yl = Line(E){ .x = y, .stride = stride, .n = n };
    var s: f64 = 0;
    for (0..n) |i| s += if (log) gl.at(i) else gl.at(i) * yl.at(i);
    const st: T = @floatCast(s);
    for (0..n) |i| {
        const gv = gl.at(i);
        const yv = yl.at(i);
        dt.storeOne(T, E, &dx[i * stride], if (log) gv - @exp(yv) * st else yv * (gv - st));
    }
}

pub fn shape(outer: i32, r: i32, inner: i32) Shape {
    return .{ .outer = @intCast(outer), .r = @intCast(r), .inner = @intCast(inner) };
}

// ------------------------------------------------------------------ tests

const testing = std.testing;

fn columnCase(comptime D: DType, comptime op: Reduce, sh: Shape) !void {
    const T = dt.Storage(D);
    const a = testing.allocator;
    const x = try a.alloc(T, sh.outer * sh.r * sh.inner);
    defer a.free(x);
    var rng = std.Random.DefaultPrng.init(sh.outer * 131 + sh.r * 17 + sh.inner);
    const lo: i64 = if (comptime dt.isFloat(T) or @typeInfo(T).int.signedness == .signed) -100 else 0;
    for (x) |*v| v.* = if (comptime dt.isFloat(T)) @floatCast(rng.random().floatNorm(f64)) else @intCast(rng.random().intRangeAtMost(i64, lo, 100));
    const got = try a.alloc(T, sh.outer * sh.inner);
    defer a.free(got);
    try reduce(op, D, @ptrCast(x.ptr), 0, @ptrCast(got.ptr), 0, null, 0, sh, 0);
    // The reference: the line loop over each strided column.
    for (0..sh.outer) |o| for (0..sh.inner) |j| {
        var want: T = undefined;
        const l = Line(T){ .x = x.ptr + o * sh.r * sh.inner + j, .stride = sh.inner, .n = sh.r };
        reduceLine(T, op, l, 0, &want, null);
        // float64: both accumulate in f64, in another order. float32: the
        // column kernel adds groups of col_rows rows in f32 first, so it is
        // off by at most 3 * 2^-24 of the magnitudes' sum, plus the final
        // rounding. Ints: exact.
        if (comptime T == f32) {
            var mag: f64 = 0;
            for (0..sh.r) |i| mag += @abs(@as(f64, l.x[i * sh.inner]));
            if (op == .mean) mag /= @floatFromInt(sh.r);
            const err = @abs(@as(f64, want) - got[o * sh.inner + j]);
            if (err > 4 * 0x1p-24 * mag) {
                std.debug.print("column {d}: {e} against the line loop's {e}, off by {e} > 4 * 2^-24 * {e}\n", .{ j, got[o * sh.inner + j], want, err, mag });
                return error.TestUnexpectedResult;
            }
        } else if (comptime dt.isFloat(T)) {
            // Either order's sum is within (r - 1) 2^-53 of the magnitudes' sum.
            var mag: f64 = 0;
            for (0..sh.r) |i| mag += @abs(l.x[i * sh.inner]);
            if (op == .mean) mag /= @floatFromInt(sh.r);
            const err = @abs(want - got[o * sh.inner + j]);
            if (err > @as(f64, @floatFromInt(sh.r)) * 0x1p-52 * mag) {
                std.debug.print("column {d}: {e} against the line loop's {e}, off by {e}\n", .{ j, got[o * sh.inner + j], want, err });
                return error.TestUnexpectedResult;
            }
        } else try testing.expectEqual(want, got[o * sh.inner + j]);
    };
}

test "float32 sums stay within 3 * 2^-24 of the magnitudes' sum under cancellation" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(11);
    const rnd = prng.random();
    const n: usize = 100_003;
    const x = try alloc.alloc(f32, n);
    defer alloc.free(x);
    for (0..4) |case| {
        for (x, 0..) |*v, i| v.* = switch (case) {
            // Large terms that cancel pairwise around small ones.
            0 => if (i % 2 == 0) @as(f32, 1e8) * (if (i % 4 == 0) @as(f32, 1) else -1) else 1,
            // Mixed magnitudes, random signs.
            1 => (rnd.float(f32) - 0.5) * std.math.pow(f32, 10, @floatFromInt(rnd.intRangeAtMost(i32, -6, 6))),
            // A running total near zero: each term undoes the last.
            2 => if (i % 2 == 0) rnd.float(f32) * 1000 else -x[i - 1] + rnd.float(f32) * 1e-3,
            // All positive, the long case.
            else => rnd.float(f32),
        };
        for ([_]usize{ n, 1000, 196, 143, 129, 17, 16, 7 }) |len| {
            var e: f64 = 0;
            var mag: f64 = 0;
            for (x[0..len]) |v| {
                e += v;
                mag += @abs(@as(f64, v));
            }
            const got = sumContig(f32, x.ptr, len);
            const err = @abs(got - e);
            if (err > 3.0 * 0x1p-24 * mag) {
                std.debug.print("case {d}, length {d}: sum {e}, exact {e}, error {e} over 3*2^-24*sum|x| = {e}\n", .{ case, len, got, e, err, 3.0 * 0x1p-24 * mag });
                return error.TestUnexpectedResult;
            }
        }
    }
}

test "column blocks narrow so that every thread gets two tasks" {
    const before = pool.numThreads();
    defer pool.setNumThreads(before);
    pool.setNumThreads(2);
    try testing.expectEqual(@as(usize, 192), colWidth(1, 768)); // 4 tasks, not 3
    try testing.expectEqual(@as(usize, 80), colWidth(1, 300)); // 80, 80, 80, 60
    try testing.expectEqual(@as(usize, 64), colWidth(1, 100)); // never below 64
    try testing.expectEqual(@as(usize, 256), colWidth(2, 512)); // whole blocks suffice
    pool.setNumThreads(1);
    try testing.expectEqual(@as(usize, 256), colWidth(1, 768));
    // The narrowed blocks against the line loop, uneven last block included.
    pool.setNumThreads(2);
    try columnCase(.float32, .sum, .{ .outer = 1, .r = 37, .inner = 300 });
    try columnCase(.float64, .mean, .{ .outer = 1, .r = 9, .inner = 768 });
    try columnCase(.int32, .sum, .{ .outer = 1, .r = 5, .inner = 100 });
}

test "column sums and means match the line loop over each strided column" {
    // Inner sizes below, at and past one column block, uneven last blocks.
    const shapes = [_]Shape{
        .{ .outer = 1, .r = 7, .inner = 2 },     .{ .outer = 3, .r = 5, .inner = 256 },
        .{ .outer = 2, .r = 33, .inner = 300 },  .{ .outer = 1, .r = 1, .inner = 257 },
        .{ .outer = 4, .r = 64, .inner = 1000 }, .{ .outer = 1, .r = 203, .inner = 773 },
    };
    for (shapes) |sh| {
        try columnCase(.float32, .sum, sh);
        try columnCase(.float64, .sum, sh);
        try columnCase(.float32, .mean, sh);
        try columnCase(.float64, .mean, sh);
        try columnCase(.int64, .sum, sh);
        try columnCase(.int32, .sum, sh);
        try columnCase(.int8, .sum, sh);
        try columnCase(.uint8, .sum, sh);
    }
}

test "column sums over many rows split the rows: the line loop's result, the same bits with 1 and 2 threads" {
    const before = pool.numThreads();
    defer pool.setNumThreads(before);
    // Two row blocks and a short last one; 64 blocks of more than row_block
    // rows; whole rows past wide_block columns in three blocks; two columns.
    const shapes = [_]Shape{
        .{ .outer = 2, .r = 1100, .inner = 37 },   .{ .outer = 1, .r = 40_000, .inner = 3 },
        .{ .outer = 1, .r = 1500, .inner = 2100 }, .{ .outer = 1, .r = 1024, .inner = 2 },
        .{ .outer = 1, .r = 4096, .inner = 768 },
    };
    for (shapes) |sh| {
        for ([_]u32{ 1, 2 }) |threads| {
            pool.setNumThreads(threads);
            try columnCase(.float32, .sum, sh);
            try columnCase(.float64, .mean, sh);
            try columnCase(.int32, .sum, sh);
            try columnCase(.uint8, .sum, sh);
        }
        const a = testing.allocator;
        const x = try a.alloc(f32, sh.outer * sh.r * sh.inner);
        defer a.free(x);
        var rng = std.Random.DefaultPrng.init(sh.r);
        for (x) |*v| v.* = rng.random().floatNorm(f32);
        var got: [2][]f32 = undefined;
        for (&got, [_]u32{ 1, 2 }) |*g, threads| {
            pool.setNumThreads(threads);
            g.* = try a.alloc(f32, sh.outer * sh.inner);
            try reduce(.sum, .float32, @ptrCast(x.ptr), 0, @ptrCast(g.*.ptr), 0, null, 0, sh, 0);
        }
        defer for (got) |g| a.free(g);
        try testing.expectEqualSlices(u32, @ptrCast(got[0]), @ptrCast(got[1]));
    }
}

test "plane sums match the line loop over every element, and halves round once" {
    // [lead, outer, r]: one plane, lines shorter than a vector, more
    // channels than chunks, and an empty line.
    const shapes = [_][3]usize{ .{ 1, 1, 5 }, .{ 64, 32, 196 }, .{ 3, 70, 17 }, .{ 2, 5, 0 }, .{ 7, 1, 1000 } };
    const gpa = std.testing.allocator;
    for ([_]u32{ 1, 4 }) |threads| {
        pool.setNumThreads(threads);
        for (shapes, 0..) |shp, si| {
            const lead, const outer, const r = shp;
            const n = lead * outer * r;
            const x = try gpa.alloc(f32, n);
            defer gpa.free(x);
            const xh = try gpa.alloc(dt.BF16, n);
            defer gpa.free(xh);
            var rng = std.Random.DefaultPrng.init(si + 11);
            for (x, xh) |*v, *h| {
                h.* = dt.f32ToBf16(rng.random().float(f32) * 4 - 2);
                v.* = dt.bf16ToF32(h.*);
            }
            for ([_]Reduce{ .sum, .mean }) |op| {
                var out: [70]f32 = undefined;
                var outh: [70]dt.BF16 = undefined;
                try planes(op, .float32, @ptrCast(x.ptr), 0, @ptrCast(&out), 0, lead, outer, r);
                try planes(op, .bfloat16, @ptrCast(xh.ptr), 0, @ptrCast(&outh), 0, lead, outer, r);
                for (0..outer) |o| {
                    var want: f64 = 0;
                    for (0..lead) |l| for (0..r) |i| {
                        want += x[(l * outer + o) * r + i];
                    };
                    if (op == .mean and lead * r > 0) want /= @floatFromInt(lead * r);
                    if (op == .mean and lead * r == 0) want = std.math.nan(f64);
                    const w32: f32 = @floatCast(want);
                    if (std.math.isNan(w32)) {
                        try std.testing.expect(std.math.isNan(out[o]));
                        continue;
                    }
                    // f32 sums of blocks first: within a few ulps of the
                    // magnitudes' sum; the half rounds that result once.
                    try std.testing.expectApproxEqAbs(w32, out[o], 1e-5 * @as(f32, @floatFromInt(@max(lead * r, 1))));
                    try std.testing.expectEqual(dt.f32ToBf16(out[o]).bits, outh[o].bits);
                }
            }
        }
    }
}

test "vector max and min of a line match the scan: NaN, infinities, signed zeros, tails" {
    inline for (.{ f32, f64 }) |T| {
        var x: [70]T = undefined;
        var strided2: [140]T = undefined;
        for (0..6) |pattern| for (1..x.len + 1) |n| {
            for (0..n) |i| {
                const f: T = @floatFromInt(i);
                x[i] = @sin(f * 1.7) * 10;
                if (pattern == 1 and i == n / 2) x[i] = std.math.nan(T);
                if (pattern == 2 and i % 9 == 4) x[i] = std.math.inf(T);
                if (pattern == 3 and i % 7 == 2) x[i] = -std.math.inf(T);
                if (pattern == 4) x[i] = if (i % 2 == 0) -0.0 else 0.0;
                if (pattern == 5 and i == n - 1) x[i] = std.math.nan(T);
                strided2[2 * i] = x[i];
                strided2[2 * i + 1] = 999;
            }
            inline for (.{ Reduce.max, Reduce.min }) |op| {
                var want: T = undefined;
                reduceLine(T, op, Line(T){ .x = &strided2, .stride = 2, .n = n }, 0, &want, null);
                const got = lineExtreme(T, op == .max, &x, n);
                if (want != want) {
                    try std.testing.expect(got != got);
                } else {
                    try std.testing.expectEqual(want, got);
                }
            }
        };
    }
}

/// Runs `kernel` on half data and on the same values widened to f32, and
/// checks that the half results are the f32 results rounded to the half
/// type: the half kernels compute in f32 in the same order (contiguous sums
/// in f32 blocks first, off by far less than the rounding to the half type).
fn halfMatchesFloat32(comptime D: DType, comptime Case: type, sh: Shape, seed: u64) !void {
    const E = dt.Storage(D);
    const a = testing.allocator;
    const n = sh.outer * sh.r * sh.inner;
    const xh = try a.alloc(E, n);
    defer a.free(xh);
    const xf = try a.alloc(f32, n);
    defer a.free(xf);
    var rng = std.Random.DefaultPrng.init(seed);
    for (xh, xf, 0..) |*h, *f, i| {
        var v: f32 = @floatCast(rng.random().floatNorm(f64) * 3);
        // Ties for the arg ops and an exact zero now and then.
        if (i % 13 == 5) v = 1.5;
        if (i % 29 == 3) v = 0;
        dt.storeOne(f32, E, h, v);
        f.* = dt.loadOne(f32, E, h.*);
    }
    const len = Case.outLen(sh);
    const oh = try a.alloc(E, len);
    defer a.free(oh);
    const of = try a.alloc(f32, len);
    defer a.free(of);
    // Zeros where a case writes only indices.
    @memset(@as([*]u8, @ptrCast(oh.ptr))[0 .. len * @sizeOf(E)], 0);
    @memset(of, 0);
    const ih = try a.alloc(i64, len);
    defer a.free(ih);
    const @"if" = try a.alloc(i64, len);
    defer a.free(@"if");
    try Case.run(D, @ptrCast(xh.ptr), @ptrCast(oh.ptr), ih.ptr, sh);
    try Case.run(.float32, @ptrCast(xf.ptr), @ptrCast(of.ptr), @"if".ptr, sh);
    for (oh, of, 0..) |h, f, i| {
        var want: E = undefined;
        dt.storeOne(f32, E, &want, f);
        const got = dt.loadOne(f32, E, h);
        const w = dt.loadOne(f32, E, want);
        if (!(got == w or (got != got and w != w))) {
            std.debug.print("{s} {any} at {d}: half {d} float32 {d}\n", .{ @tagName(D), sh, i, got, f });
            return error.TestUnexpectedResult;
        }
    }
    if (Case.indices) try testing.expectEqualSlices(i64, @"if", ih);
}

fn ReduceCase(comptime op: Reduce, comptime p: f64) type {
    return struct {
        const indices = op == .max or op == .argmax;
        fn outLen(sh: Shape) usize {
            return sh.outer * sh.inner;
        }
        fn run(d: DType, x: [*]u8, out: [*]u8, idx: [*]i64, sh: Shape) !void {
            const want_idx = op == .max or op == .argmax;
            try reduce(op, d, x, 0, if (op == .argmax) null else out, 0, if (want_idx) @ptrCast(idx) else null, 0, sh, p);
        }
    };
}

/// A case whose output has x's shape (a scan, a softmax): `f` runs the kernel.
fn WholeCase(comptime f: fn (DType, [*]u8, [*]u8, Shape) Error!void) type {
    return struct {
        const indices = false;
        fn outLen(sh: Shape) usize {
            return sh.outer * sh.r * sh.inner;
        }
        fn run(d: DType, x: [*]u8, out: [*]u8, _: [*]i64, sh: Shape) !void {
            try f(d, x, out, sh);
        }
    };
}

fn ScanCase(comptime op: Scan) type {
    return WholeCase(struct {
        fn f(d: DType, x: [*]u8, out: [*]u8, sh: Shape) Error!void {
            return scan(op, d, x, 0, out, 0, sh);
        }
    }.f);
}

fn SoftmaxCase(comptime log: bool) type {
    return WholeCase(struct {
        fn f(d: DType, x: [*]u8, out: [*]u8, sh: Shape) Error!void {
            return softmax(log, d, x, 0, out, 0, sh);
        }
    }.f);
}

test "half reductions, scans and softmax give the float32 kernels' results rounded once" {
    const shapes = [_]Shape{
        .{ .outer = 3, .r = 37, .inner = 1 },  .{ .outer = 2, .r = 100, .inner = 5 },
        .{ .outer = 1, .r = 7, .inner = 300 }, .{ .outer = 1, .r = 1 << 16, .inner = 1 },
        .{ .outer = 4, .r = 1, .inner = 3 },   .{ .outer = 2, .r = 129, .inner = 1 },
    };
    inline for (.{ DType.bfloat16, DType.float16 }) |D| {
        for (shapes, 0..) |sh, si| {
            const seed = si * 7 + 1;
            try halfMatchesFloat32(D, ReduceCase(.sum, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.mean, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.max, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.min, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.argmax, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.variance, 1), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.logsumexp, 0), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.norm, 2), sh, seed);
            try halfMatchesFloat32(D, ReduceCase(.norm, 3), sh, seed);
            if (sh.r < 1000) {
                try halfMatchesFloat32(D, ReduceCase(.prod, 0), .{ .outer = sh.outer, .r = @min(sh.r, 8), .inner = sh.inner }, seed);
                try halfMatchesFloat32(D, ScanCase(.cumsum), sh, seed);
                try halfMatchesFloat32(D, ScanCase(.logcumsumexp), sh, seed);
            }
            try halfMatchesFloat32(D, SoftmaxCase(false), sh, seed);
            try halfMatchesFloat32(D, SoftmaxCase(true), sh, seed);
        }
    }
}

test "softmax backward: the vector line matches the strided loop, halves round the float32 result once" {
    const a = testing.allocator;
    var rng = std.Random.DefaultPrng.init(5);
    inline for (.{ DType.float32, DType.float64, DType.bfloat16, DType.float16 }) |D| {
        const E = dt.Storage(D);
        const T = dt.Compute(E);
        for ([_]usize{ 1, 7, 16, 37, 300 }) |n| for ([_]bool{ false, true }) |log| {
            const buf = try a.alloc(E, 4 * n);
            defer a.free(buf);
            const g = buf[0..n];
            const y = buf[n .. 2 * n];
            for (g, y) |*p, *q| {
                dt.storeOne(T, E, p, @floatCast(rng.random().floatNorm(f64)));
                dt.storeOne(T, E, q, @floatCast(if (log) -rng.random().float(f64) * 4 else rng.random().float(f64) / @as(f64, @floatFromInt(n))));
            }
            const got = buf[2 * n .. 3 * n];
            const want = buf[3 * n .. 4 * n];
            try softmaxBackward(log, D, @ptrCast(g.ptr), 0, @ptrCast(y.ptr), 0, @ptrCast(got.ptr), 0, .{ .outer = 1, .r = n, .inner = 1 });
            softmaxBackwardStrided(E, log, g.ptr, y.ptr, want.ptr, n, 1);
            for (got, want, g) |p, q, gi| {
                const pv: f64 = dt.loadOne(T, E, p);
                const qv: f64 = dt.loadOne(T, E, q);
                const gv: f64 = dt.loadOne(T, E, gi);
                // The vector exp (vmath) against libm's: 1 ulp of T apart, which
                // g - exp(y) * s may cancel down to; a half may round the other
                // way.
                const ulp: f64 = if (T == f32) 1.2e-7 else 2.3e-16;
                const half_ulp: f64 = if (E == BF16) 7.9e-3 else if (E == f16) 9.8e-4 else 0;
                // The f64 sums differ by their order: n ulps of f64.
                const sum_ulps = @as(f64, @floatFromInt(n)) * 2.3e-16;
                if (!(@abs(pv - qv) <= (4 * ulp + sum_ulps) * (@abs(gv) + @abs(qv - gv) + @abs(qv)) + half_ulp * @abs(qv))) {
                    std.debug.print("{s} n {d} log {any}: {d} vs {d}\n", .{ @tagName(D), n, log, pv, qv });
                    return error.TestUnexpectedResult;
                }
            }
            if (comptime dt.isHalf(E)) {
                // Against the float32 kernel on the same values: rounded once.
                const gf = try a.alloc(f32, 3 * n);
                defer a.free(gf);
                for (gf[0..n], g) |*p, v| p.* = dt.loadOne(f32, E, v);
                for (gf[n .. 2 * n], y) |*p, v| p.* = dt.loadOne(f32, E, v);
                try softmaxBackward(log, .float32, @ptrCast(gf.ptr), 0, @ptrCast(gf[n..].ptr), 0, @ptrCast(gf[2 * n ..].ptr), 0, .{ .outer = 1, .r = n, .inner = 1 });
                for (got, gf[2 * n ..]) |h, f| {
                    var r: E = undefined;
                    dt.storeOne(f32, E, &r, f);
                    if (dt.loadOne(f32, E, r) != dt.loadOne(f32, E, h)) {
                        std.debug.print("{s} n {d} log {any}: half {d} float32 {d}\n", .{ @tagName(D), n, log, dt.loadOne(f32, E, h), f });
                        return error.TestUnexpectedResult;
                    }
                }
            }
        };
    }
}

test "softmax along a strided axis: the column blocks match the strided line loop, forward and backward" {
    const a = testing.allocator;
    var rng = std.Random.DefaultPrng.init(11);
    inline for (.{ DType.float32, DType.float64, DType.bfloat16, DType.float16 }) |D| {
        const E = dt.Storage(D);
        const T = dt.Compute(E);
        const w = comptime vm.lanes(T);
        // Two units per outer row: a block of every vector, then one vector and 3 columns.
        const inner = softmax_column_vectors * w + w + 3;
        for ([_]usize{ 1, 5, 37 }) |r| for ([_]bool{ false, true }) |log| {
            const n = 2 * r * inner;
            const buf = try a.alloc(E, 6 * n);
            defer a.free(buf);
            const x = buf[0..n];
            for (x) |*p| dt.storeOne(T, E, p, @floatCast(rng.random().floatNorm(f64) * 4));
            // A NaN in column 2 and a column of -inf (both NaN lines, as PyTorch).
            dt.storeOne(T, E, &x[(r - 1) * inner + 2], std.math.nan(T));
            for (0..r) |i| dt.storeOne(T, E, &x[i * inner + 5], -std.math.inf(T));
            const got = buf[n .. 2 * n];
            const want = buf[2 * n .. 3 * n];
            const sh = Shape{ .outer = 2, .r = r, .inner = inner };
            try softmax(log, D, @ptrCast(x.ptr), 0, @ptrCast(got.ptr), 0, sh);
            // Without the float32 buffer (a half computes the exps again): the same bits.
            for (0..2) |o| softmaxColumns(E, log, x.ptr + o * r * inner, want.ptr + o * r * inner, r, inner, inner, null);
            try testing.expect(std.mem.eql(u8, std.mem.sliceAsBytes(got), std.mem.sliceAsBytes(want)));
            for (0..2) |o| for (0..inner) |j| {
                const b = o * r * inner + j;
                softmaxStridedLine(E, log, x.ptr + b, want.ptr + b, r, inner);
            };
            // The vector exp against libm's and float32 block sums against
            // float64 ones: a few ulps of T; a half may round the other way.
            const ulp: f64 = if (T == f32) 1.2e-7 else 2.3e-16;
            const half_ulp: f64 = if (E == BF16) 7.9e-3 else if (E == f16) 9.8e-4 else 0;
            for (got, want, x) |p, q, xi| {
                const pv: f64 = dt.loadOne(T, E, p);
                const qv: f64 = dt.loadOne(T, E, q);
                const scale = @abs(qv) + (if (log) @abs(@as(f64, dt.loadOne(T, E, xi))) + 1 else 0);
                const same_nan = pv != pv and qv != qv;
                if (!same_nan and !(@abs(pv - qv) <= 8 * ulp * scale + half_ulp * @abs(qv))) {
                    std.debug.print("{s} r {d} log {any}: {d} vs {d}\n", .{ @tagName(D), r, log, pv, qv });
                    return error.TestUnexpectedResult;
                }
            }
            // Backward from the output (finite lines only: drop the NaN ones).
            const g = buf[3 * n .. 4 * n];
            for (g) |*p| dt.storeOne(T, E, p, @floatCast(rng.random().floatNorm(f64)));
            for (got) |*p| {
                if (dt.loadOne(T, E, p.*) != dt.loadOne(T, E, p.*)) dt.storeOne(T, E, p, 0);
            }
            const dx = buf[4 * n .. 5 * n];
            const dref = buf[5 * n .. 6 * n];
            try softmaxBackward(log, D, @ptrCast(g.ptr), 0, @ptrCast(got.ptr), 0, @ptrCast(dx.ptr), 0, sh);
            for (0..2) |o| for (0..inner) |j| {
                const b = o * r * inner + j;
                softmaxBackwardStrided(E, log, g.ptr + b, got.ptr + b, dref.ptr + b, r, inner);
            };
            for (dx, dref, g) |p, q, gi| {
                const pv: f64 = dt.loadOne(T, E, p);
                const qv: f64 = dt.loadOne(T, E, q);
                const gv: f64 = @abs(@as(f64, dt.loadOne(T, E, gi)));
                const sum_ulps = @as(f64, @floatFromInt(r)) * 2.3e-16;
                if (!(@abs(pv - qv) <= (8 * ulp + sum_ulps) * (gv + @abs(qv) + 4) + half_ulp * @abs(qv))) {
                    std.debug.print("backward {s} r {d} log {any}: {d} vs {d}\n", .{ @tagName(D), r, log, pv, qv });
                    return error.TestUnexpectedResult;
                }
            }
        };
    }
}

test "scans: column vectors, half blocks and parallel lines match the plain loop" {
    const a = testing.allocator;
    var rng = std.Random.DefaultPrng.init(21);
    inline for (.{ DType.float32, DType.float64, DType.bfloat16, DType.float16, DType.int32 }) |D| {
        const E = dt.Storage(D);
        const C = dt.Compute(E);
        // inner 1 (lines, past one half block), 37 (two column vectors and 5 lines), 16.
        for ([_]Shape{ .{ .outer = 3, .r = 600, .inner = 1 }, .{ .outer = 2, .r = 9, .inner = 37 }, .{ .outer = 1, .r = 40, .inner = 16 } }) |sh| {
            inline for (.{ Scan.cumsum, Scan.cumprod, Scan.logcumsumexp }) |op| {
                if (comptime !dt.isFloat(C) and op == .logcumsumexp) continue;
                const n = sh.outer * sh.r * sh.inner;
                const buf = try a.alloc(E, 3 * n);
                defer a.free(buf);
                const x = buf[0..n];
                for (x) |*p| {
                    if (comptime dt.isFloat(C)) {
                        // Near 1 for cumprod, so that products stay finite.
                        const v = if (op == .cumprod) 1 + (rng.random().float(f64) - 0.5) * 0.05 else rng.random().floatNorm(f64);
                        dt.storeOne(C, E, p, @floatCast(v));
                    } else p.* = rng.random().intRangeAtMost(E, -3, 3);
                }
                const got = buf[n .. 2 * n];
                try scan(op, D, @ptrCast(x.ptr), 0, @ptrCast(got.ptr), 0, sh);
                const want = buf[2 * n .. 3 * n];
                for (0..sh.outer) |o| for (0..sh.inner) |j| {
                    const base = o * sh.r * sh.inner + j;
                    if (comptime dt.isFloat(C)) {
                        var acc: f64 = switch (op) {
                            .cumsum => 0,
                            .cumprod => 1,
                            .logcumsumexp => -std.math.inf(f64),
                        };
                        for (0..sh.r) |i| {
                            acc = scanStep(op, acc, dt.loadOne(C, E, x[base + i * sh.inner]));
                            putFloat(E, &want[base + i * sh.inner], acc);
                        }
                    } else {
                        var acc: E = if (op == .cumsum) 0 else 1;
                        for (0..sh.r) |i| {
                            acc = if (op == .cumsum) acc +% x[base + i * sh.inner] else acc *% x[base + i * sh.inner];
                            want[base + i * sh.inner] = acc;
                        }
                    }
                };
                for (got, want, 0..) |g, wv, i| {
                    const gb: @Int(.unsigned, @bitSizeOf(E)) = @bitCast(g);
                    const wb: @Int(.unsigned, @bitSizeOf(E)) = @bitCast(wv);
                    if (gb != wb) {
                        std.debug.print("{s} {s} inner {d} element {d}: {any} vs {any}\n", .{ @tagName(D), @tagName(op), sh.inner, i, g, wv });
                        return error.TestUnexpectedResult;
                    }
                }
            }
        }
    }
}
