//! Scaled dot-product attention, fused: blocked, with an online softmax, so
//! that memory stays linear in the sequence length (no L x S matrix), forward
//! and backward (FlashAttention's scheme, on the CPU's GEMM micro-kernels).
//!
//! Shapes (row-major, contiguous; n = batch x heads):
//!   q: [n, L, E], k: [n, S, E], v: [n, S, Ev] -> o: [n, L, Ev], lse: [n, L]
//!   o_i = sum_j softmax_j(scale q_i . k_j) v_j over the keys j that row i
//!   sees: all of them, or with `causal` those with j <= i (PyTorch's
//!   is_causal: the top-left aligned lower triangle). lse_i = log sum_j
//!   exp(scale q_i . k_j): the softmax's normaliser, saved for backward. A row
//!   that sees no key gives zeros (as PyTorch does) and lse = -inf.
//!
//! Forward, per (head, block of Br query rows), over blocks of Bc keys:
//!   s = scale q_blk @ k_blk^T; m' = max(m, rowmax s); p = exp(s - m')
//!   l = l exp(m - m') + rowsum p; o = o exp(m - m') + p @ v_blk
//!   and at the end o /= l, lse = m + log l.
//! Backward, with D_i = do_i . o_i and p recomputed as exp(s - lse):
//!   dv_j = sum_i p_ij do_i, dp = do @ v^T, ds = p (dp - D) scale
//!   dk_j = sum_i ds_ij q_i, dq_i = sum_j ds_ij k_j
//! in two passes, each free of write races: per (head, key block) for dk and
//! dv, then per (head, query block) for dq.
//!
//! `forwardReference` and `backwardReference` are the plain loops (the full
//! score matrix, in f64) that the tests compare with.
//!
//! float16 and bfloat16 run on the f32 kernels a group of heads at a time:
//! the group's q, k, v (and do backward) are widened into f32 staging of at
//! most `half_stage_bytes`, and each gradient is rounded once into E as the
//! group finishes, so a half call never holds a float32 copy of its inputs,
//! and its results are the f32 kernel's on the same values. o and lse are f32
//! for the halves: the caller rounds o once and keeps the f32 o for backward.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const mm = @import("matmul.zig");
const vm = @import("vmath.zig");
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, OutOfMemory };

/// Sizes of one call.
pub const Dims = struct {
    /// Batch x heads.
    n: usize,
    /// Query rows L, key rows S, and the widths E (q, k) and Ev (v).
    l: usize,
    s: usize,
    e: usize,
    ev: usize,
    scale: f64,
    causal: bool,

    /// Keys [0, end) that query row i sees.
    fn keyEnd(d: Dims, i: usize) usize {
        return if (d.causal) @min(d.s, i + 1) else d.s;
    }

    /// How many of the keys [col0, col0 + cols) query row i sees (a prefix:
    /// fewer than cols only in a causal block on the diagonal).
    fn keysSeen(d: Dims, i: usize, col0: usize, cols: usize) usize {
        return @min(cols, d.keyEnd(i) -| col0);
    }
};

const Br = 64;
const Bc = 64;

/// How backward splits its work. `per_head`: one task per group of whole
/// heads does every block pair once. `two_pass`: per (head, key block) for
/// dk and dv, then per (head, query block) for dq, recomputing the
/// probabilities, for calls with fewer heads than the threads can share.
const Scheme = enum { per_head, two_pass };

/// Tests force one scheme to check both on the same shapes.
var force_scheme: ?Scheme = null;

fn Flash(comptime T: type) type {
    const VL = vm.lanes(T);
    const V = @Vector(VL, T);
    return struct {
        /// Scratch of one task: scores, probabilities and one GEMM's packing space.
        const Scratch = struct {
            s: []T,
            p: []T,
            t: []T,
            mem: []align(64) u8,
        };

        fn scratchBytes(d: Dims) usize {
            const w = @max(d.e, d.ev);
            const g = @max(mm.serialBufBytes(T, Br, Bc, w), @max(mm.serialBufBytes(T, Br, w, Bc), mm.serialBufBytes(T, Bc, w, Br)));
            return std.mem.alignForward(usize, (3 * Br * @max(Bc, w)) * @sizeOf(T), 64) + g;
        }

        fn scratchOf(mem: []align(64) u8, d: Dims) Scratch {
            const w = @max(Bc, @max(d.e, d.ev));
            const elems: [*]T = @ptrCast(mem.ptr);
            const head = std.mem.alignForward(usize, 3 * Br * w * @sizeOf(T), 64);
            return .{ .s = elems[0 .. Br * w], .p = elems[Br * w .. 2 * Br * w], .t = elems[2 * Br * w .. 3 * Br * w], .mem = @alignCast(mem[head..]) };
        }

        /// s[r, c] = scale * q[row0 + r] . k[col0 + c] for r < rows, c < cols, masked to -inf past each row's end.
        fn scores(d: Dims, q: [*]const T, k: [*]const T, row0: usize, rows: usize, col0: usize, cols: usize, sc: Scratch) void {
            mm.serial(T, q + row0 * d.e, k + col0 * d.e, sc.s.ptr, rows, cols, d.e, d.e, 1, 1, d.e, sc.mem);
            const scale: T = @floatCast(d.scale);
            const sv: V = @splat(scale);
            for (0..rows) |r| {
                const row = sc.s[r * cols ..][0..cols];
                // Keys past the row's end: only in blocks that cross the diagonal.
                const end = d.keysSeen(row0 + r, col0, cols);
                var c: usize = 0;
                while (c + VL <= end) : (c += VL) row[c..][0..VL].* = @as(V, row[c..][0..VL].*) * sv;
                while (c < end) : (c += 1) row[c] *= scale;
                @memset(row[end..], -std.math.inf(T));
            }
        }

        /// The largest of `init` and the row's values.
        fn rowMax(row: []const T, init: T) T {
            var acc: V = @splat(init);
            var c: usize = 0;
            while (c + VL <= row.len) : (c += VL) acc = @max(acc, @as(V, row[c..][0..VL].*));
            var mx = @reduce(.Max, acc);
            while (c < row.len) : (c += 1) mx = @max(mx, row[c]);
            return mx;
        }

        const Fwd = struct {
            q: [*]const T,
            k: [*]const T,
            v: [*]const T,
            o: [*]T,
            lse: [*]T,
            d: Dims,
            blocks: usize,
            mem: []align(64) u8,
            per_task: usize,
            tasks: usize,
        };

        fn fwdTask(c: *const Fwd, chunk: u32) void {
            const d = c.d;
            const mem: []align(64) u8 = @alignCast(c.mem[@as(usize, chunk) * c.per_task ..][0..c.per_task]);
            const sc = scratchOf(mem, d);
            const total = d.n * c.blocks;
            var item = total * chunk / c.tasks;
            const last = total * (chunk + 1) / c.tasks;
            var m: [Br]T = undefined;
            var l: [Br]T = undefined;
            while (item < last) : (item += 1) {
                const h = item / c.blocks;
                const row0 = (item % c.blocks) * Br;
                const rows = @min(Br, d.l - row0);
                const q = c.q + h * d.l * d.e;
                const k = c.k + h * d.s * d.e;
                const v = c.v + h * d.s * d.ev;
                const o = c.o + (h * d.l + row0) * d.ev;
                @memset(o[0 .. rows * d.ev], 0);
                @memset(m[0..rows], -std.math.inf(T));
                @memset(l[0..rows], 0);
                const kend = d.keyEnd(row0 + rows - 1);
                var col0: usize = 0;
                while (col0 < kend) : (col0 += Bc) {
                    const cols = @min(Bc, kend - col0);
                    scores(d, q, k, row0, rows, col0, cols, sc);
                    for (0..rows) |r| {
                        // Masked keys (past the row's end) get p = 0 without an
                        // exp: exp(-inf) would take the slow underflow path.
                        const end = d.keysSeen(row0 + r, col0, cols);
                        const row = sc.s[r * cols ..][0..end];
                        const mx = rowMax(row, m[r]);
                        const p = sc.p[r * cols ..][0..cols];
                        @memset(p[end..], 0);
                        if (mx == -std.math.inf(T)) {
                            @memset(p, 0);
                            continue;
                        }
                        var sum: T = 0;
                        expRow(row, p[0..end], mx, &sum);
                        const alpha = if (m[r] == -std.math.inf(T)) 0 else @exp(m[r] - mx);
                        l[r] = l[r] * alpha + sum;
                        m[r] = mx;
                        if (alpha != 1) scaleRow(o[r * d.ev ..][0..d.ev], alpha);
                    }
                    // o += p @ v_blk
                    accumulate(sc.p.ptr, rows, cols, v + col0 * d.ev, d.ev, o, sc.mem);
                }
                for (0..rows) |r| {
                    const orow = o[r * d.ev ..][0..d.ev];
                    if (l[r] == 0) {
                        @memset(orow, 0);
                        c.lse[h * d.l + row0 + r] = -std.math.inf(T);
                    } else {
                        scaleRow(orow, 1 / l[r]);
                        c.lse[h * d.l + row0 + r] = m[r] + @log(l[r]);
                    }
                }
            }
        }

        /// p = exp(row - mx), sum += sum(p).
        fn expRow(row: []const T, p: []T, mx: T, sum: *T) void {
            var acc: V = @splat(0);
            const mv: V = @splat(mx);
            var c: usize = 0;
            while (c + VL <= row.len) : (c += VL) {
                const e = vm.expMostlyNormal(T, VL, @as(V, row[c..][0..VL].*) - mv);
                p[c..][0..VL].* = e;
                acc += e;
            }
            var s = @reduce(.Add, acc);
            while (c < row.len) : (c += 1) {
                p[c] = @exp(row[c] - mx);
                s += p[c];
            }
            sum.* = s;
        }

        fn scaleRow(row: []T, a: T) void {
            const av: V = @splat(a);
            var c: usize = 0;
            while (c + VL <= row.len) : (c += VL) row[c..][0..VL].* = @as(V, row[c..][0..VL].*) * av;
            while (c < row.len) : (c += 1) row[c] *= a;
        }

        /// The dot product of two rows.
        fn dotRow(a: []const T, b: []const T) T {
            var acc: V = @splat(0);
            var c: usize = 0;
            while (c + VL <= a.len) : (c += VL) acc += @as(V, a[c..][0..VL].*) * @as(V, b[c..][0..VL].*);
            var s = @reduce(.Add, acc);
            while (c < a.len) : (c += 1) s += a[c] * b[c];
            return s;
        }

        /// c[rows, n] += a[rows, k] @ b[k, n] (a contiguous, b row stride n, c row stride n).
        fn accumulate(a: [*]const T, rows: usize, k: usize, b: [*]const T, n: usize, c: [*]T, mem: []align(64) u8) void {
            if (rows > 1 and n > 1 and k > 0) {
                mm.serialAccumulate(T, a, b, c, rows, n, k, k, 1, n, 1, mem);
                return;
            }
            for (0..rows) |r| for (0..k) |kk| {
                const s = a[r * k + kk];
                for (0..n) |j| c[r * n + j] += s * b[kk * n + j];
            };
        }

        fn forward(q: [*]const T, k: [*]const T, v: [*]const T, o: [*]T, lse: [*]T, d: Dims) Error!void {
            const blocks = (d.l + Br - 1) / Br;
            const total = d.n * blocks;
            const tasks = @max(1, @min(total, 4 * @as(usize, pool.numThreads())));
            const per_task = std.mem.alignForward(usize, scratchBytes(d), 64);
            const alloc = std.heap.c_allocator;
            const mem = try alloc.alignedAlloc(u8, .@"64", per_task * tasks);
            defer alloc.free(mem);
            var ctx = Fwd{ .q = q, .k = k, .v = v, .o = o, .lse = lse, .d = d, .blocks = blocks, .mem = mem, .per_task = per_task, .tasks = tasks };
            const cp: *const Fwd = &ctx;
            pool.run(@intCast(tasks), cp, fwdTask);
        }

        // ---------------------------------------------------------- backward

        const Bwd = struct {
            q: [*]const T,
            k: [*]const T,
            v: [*]const T,
            do: [*]const T,
            lse: [*]const T,
            o: [*]const T,
            /// D_i = do_i . o_i: [n, L] (headTask fills its heads' rows).
            dd: [*]T,
            dq: [*]T,
            dk: [*]T,
            dv: [*]T,
            d: Dims,
            blocks: usize,
            mem: []align(64) u8,
            per_task: usize,
            tasks: usize,
        };

        /// p = exp(s - lse) and ds = p (dp - D) scale for query rows [row0, row0 + rows)
        /// and keys [col0, col0 + cols): p in sc.p, ds in sc.s.
        fn probsAndGrads(c: *const Bwd, h: usize, row0: usize, rows: usize, col0: usize, cols: usize, sc: Scratch) void {
            const d = c.d;
            const q = c.q + h * d.l * d.e;
            const k = c.k + h * d.s * d.e;
            const v = c.v + h * d.s * d.ev;
            const do_ = c.do + (h * d.l + row0) * d.ev;
            scores(d, q, k, row0, rows, col0, cols, sc);
            for (0..rows) |r| {
                const lse = c.lse[h * d.l + row0 + r];
                const end = d.keysSeen(row0 + r, col0, cols);
                const row = sc.s[r * cols ..][0..end];
                const p = sc.p[r * cols ..][0..cols];
                @memset(p[end..], 0);
                if (lse == -std.math.inf(T)) {
                    @memset(p, 0);
                } else {
                    var ignored: T = 0;
                    expRow(row, p[0..end], lse, &ignored);
                }
            }
            // dp = do_blk @ v_blk^T, into t.
            mm.serial(T, do_, v + col0 * d.ev, sc.t.ptr, rows, cols, d.ev, d.ev, 1, 1, d.ev, sc.mem);
            const scale: T = @floatCast(d.scale);
            for (0..rows) |r| {
                const dd = c.dd[h * d.l + row0 + r];
                const p = sc.p[r * cols ..][0..cols];
                const dp = sc.t[r * cols ..][0..cols];
                const ds = sc.s[r * cols ..][0..cols];
                const ddv: V = @splat(dd);
                const sv: V = @splat(scale);
                var x: usize = 0;
                while (x + VL <= cols) : (x += VL) {
                    ds[x..][0..VL].* = @as(V, p[x..][0..VL].*) * (@as(V, dp[x..][0..VL].*) - ddv) * sv;
                }
                while (x < cols) : (x += 1) ds[x] = p[x] * (dp[x] - dd) * scale;
            }
        }

        fn kvTask(c: *const Bwd, chunk: u32) void {
            const d = c.d;
            const mem: []align(64) u8 = @alignCast(c.mem[@as(usize, chunk) * c.per_task ..][0..c.per_task]);
            const sc = scratchOf(mem, d);
            const kblocks = (d.s + Bc - 1) / Bc;
            const total = d.n * kblocks;
            var item = total * chunk / c.tasks;
            const last = total * (chunk + 1) / c.tasks;
            while (item < last) : (item += 1) {
                const h = item / kblocks;
                const col0 = (item % kblocks) * Bc;
                const cols = @min(Bc, d.s - col0);
                const dk = c.dk + (h * d.s + col0) * d.e;
                const dv = c.dv + (h * d.s + col0) * d.ev;
                @memset(dk[0 .. cols * d.e], 0);
                @memset(dv[0 .. cols * d.ev], 0);
                keyBlock(c, h, col0, cols, sc, false);
            }
        }

        /// Every query block that sees keys [col0, col0 + cols) of head h:
        /// dv += p^T @ do_blk and dk += ds^T @ q_blk into the key block's
        /// rows, and with `with_dq` also dq_blk += ds @ k_blk.
        fn keyBlock(c: *const Bwd, h: usize, col0: usize, cols: usize, sc: Scratch, comptime with_dq: bool) void {
            const d = c.d;
            const dk = c.dk + (h * d.s + col0) * d.e;
            const dv = c.dv + (h * d.s + col0) * d.ev;
            // Causal: rows before col0 see none of these keys.
            var row0: usize = if (d.causal) col0 / Br * Br else 0;
            while (row0 < d.l) : (row0 += Br) {
                const rows = @min(Br, d.l - row0);
                probsAndGrads(c, h, row0, rows, col0, cols, sc);
                accumulateT(sc.p.ptr, rows, cols, c.do + (h * d.l + row0) * d.ev, d.ev, dv, sc.mem);
                accumulateT(sc.s.ptr, rows, cols, c.q + (h * d.l + row0) * d.e, d.e, dk, sc.mem);
                if (with_dq) accumulate(sc.s.ptr, rows, cols, c.k + (h * d.s + col0) * d.e, d.e, c.dq + (h * d.l + row0) * d.e, sc.mem);
            }
        }

        /// c[cols, n] += a[rows, cols]^T @ b[rows, n].
        fn accumulateT(a: [*]const T, rows: usize, cols: usize, b: [*]const T, n: usize, c: [*]T, mem: []align(64) u8) void {
            if (cols > 1 and n > 1 and rows > 0) {
                mm.serialAccumulate(T, a, b, c, cols, n, rows, 1, cols, n, 1, mem);
                return;
            }
            for (0..cols) |j| for (0..rows) |r| {
                const s = a[r * cols + j];
                for (0..n) |x| c[j * n + x] += s * b[r * n + x];
            };
        }

        /// Both passes for whole heads: every (query block, key block) pair of
        /// a head once, adding into its dq, dk and dv, which no other task
        /// touches. Half the score and probability work of the two passes;
        /// parallel over heads only.
        fn headTask(c: *const Bwd, chunk: u32) void {
            const d = c.d;
            const mem: []align(64) u8 = @alignCast(c.mem[@as(usize, chunk) * c.per_task ..][0..c.per_task]);
            const sc = scratchOf(mem, d);
            var h = d.n * chunk / c.tasks;
            const last = d.n * (chunk + 1) / c.tasks;
            while (h < last) : (h += 1) {
                const dd = c.dd + h * d.l;
                for (0..d.l) |r| {
                    const at = (h * d.l + r) * d.ev;
                    dd[r] = dotRow(c.do[at..][0..d.ev], c.o[at..][0..d.ev]);
                }
                @memset(c.dq[h * d.l * d.e ..][0 .. d.l * d.e], 0);
                @memset(c.dk[h * d.s * d.e ..][0 .. d.s * d.e], 0);
                @memset(c.dv[h * d.s * d.ev ..][0 .. d.s * d.ev], 0);
                var col0: usize = 0;
                while (col0 < d.s) : (col0 += Bc) keyBlock(c, h, col0, @min(Bc, d.s - col0), sc, true);
            }
        }

        fn qTask(c: *const Bwd, chunk: u32) void {
            const d = c.d;
            const mem: []align(64) u8 = @alignCast(c.mem[@as(usize, chunk) * c.per_task ..][0..c.per_task]);
            const sc = scratchOf(mem, d);
            const total = d.n * c.blocks;
            var item = total * chunk / c.tasks;
            const last = total * (chunk + 1) / c.tasks;
            while (item < last) : (item += 1) {
                const h = item / c.blocks;
                const row0 = (item % c.blocks) * Br;
                const rows = @min(Br, d.l - row0);
                const dq = c.dq + (h * d.l + row0) * d.e;
                @memset(dq[0 .. rows * d.e], 0);
                const kend = d.keyEnd(row0 + rows - 1);
                var col0: usize = 0;
                while (col0 < kend) : (col0 += Bc) {
                    const cols = @min(Bc, kend - col0);
                    probsAndGrads(c, h, row0, rows, col0, cols, sc);
                    // dq += ds @ k_blk
                    accumulate(sc.s.ptr, rows, cols, c.k + (h * d.s + col0) * d.e, d.e, dq, sc.mem);
                }
            }
        }

        fn backward(q: [*]const T, k: [*]const T, v: [*]const T, o: [*]const T, do_: [*]const T, lse: [*]const T, dq: [*]T, dk: [*]T, dv: [*]T, d: Dims) Error!void {
            const alloc = std.heap.c_allocator;
            const dd = try alloc.alloc(T, d.n * d.l);
            defer alloc.free(dd);
            const threads: usize = pool.numThreads();
            const blocks = (d.l + Br - 1) / Br;
            const kblocks = (d.s + Bc - 1) / Bc;
            const per_task = std.mem.alignForward(usize, scratchBytes(d), 64);
            var ctx = Bwd{ .q = q, .k = k, .v = v, .o = o, .do = do_, .lse = lse, .dd = dd.ptr, .dq = dq, .dk = dk, .dv = dv, .d = d, .blocks = blocks, .mem = &.{}, .per_task = per_task, .tasks = 0 };
            if (d.l == 0 or d.s == 0) {
                // No pairs: zero gradients (dq, as rows that see no key, too).
                @memset(dq[0 .. d.n * d.l * d.e], 0);
                @memset(dk[0 .. d.n * d.s * d.e], 0);
                @memset(dv[0 .. d.n * d.s * d.ev], 0);
                return;
            }
            const scheme = force_scheme orelse
                if (d.n >= 4 * threads or (blocks == 1 and kblocks == 1)) Scheme.per_head else Scheme.two_pass;
            if (scheme == .per_head) {
                ctx.tasks = @max(1, @min(d.n, 4 * threads));
                const mem = try alloc.alignedAlloc(u8, .@"64", per_task * ctx.tasks);
                defer alloc.free(mem);
                ctx.mem = mem;
                const cp: *const Bwd = &ctx;
                pool.run(@intCast(ctx.tasks), cp, headTask);
                return;
            }
            for (0..d.n * d.l) |r| dd[r] = dotRow(do_[r * d.ev ..][0..d.ev], o[r * d.ev ..][0..d.ev]);
            const tasks = @max(1, @min(d.n * @max(blocks, kblocks), 4 * threads));
            const mem = try alloc.alignedAlloc(u8, .@"64", per_task * tasks);
            defer alloc.free(mem);
            ctx.mem = mem;
            ctx.tasks = @min(tasks, d.n * kblocks);
            {
                const cp: *const Bwd = &ctx;
                pool.run(@intCast(ctx.tasks), cp, kvTask);
            }
            ctx.tasks = @min(tasks, d.n * blocks);
            const cp: *const Bwd = &ctx;
            pool.run(@intCast(ctx.tasks), cp, qTask);
        }

        // ---------------------------------------------------------- reference

        fn forwardReference(q: [*]const T, k: [*]const T, v: [*]const T, o: [*]T, lse: [*]T, d: Dims, scratch: []f64) void {
            for (0..d.n) |h| for (0..d.l) |i| {
                const end = d.keyEnd(i);
                var mx: f64 = -std.math.inf(f64);
                for (0..end) |j| {
                    var s: f64 = 0;
                    for (0..d.e) |x| s += @as(f64, q[(h * d.l + i) * d.e + x]) * k[(h * d.s + j) * d.e + x];
                    scratch[j] = s * d.scale;
                    mx = @max(mx, scratch[j]);
                }
                var sum: f64 = 0;
                for (0..end) |j| {
                    scratch[j] = @exp(scratch[j] - mx);
                    sum += scratch[j];
                }
                for (0..d.ev) |x| {
                    var acc: f64 = 0;
                    for (0..end) |j| acc += scratch[j] * v[(h * d.s + j) * d.ev + x];
                    o[(h * d.l + i) * d.ev + x] = if (end == 0) 0 else @floatCast(acc / sum);
                }
                lse[h * d.l + i] = if (end == 0) -std.math.inf(T) else @floatCast(mx + @log(sum));
            };
        }

        fn backwardReference(q: [*]const T, k: [*]const T, v: [*]const T, o: [*]const T, do_: [*]const T, dq: [*]T, dk: [*]T, dv: [*]T, d: Dims, p: []f64, dp: []f64) void {
            @memset(dk[0 .. d.n * d.s * d.e], 0);
            @memset(dv[0 .. d.n * d.s * d.ev], 0);
            for (0..d.n) |h| for (0..d.l) |i| {
                const end = d.keyEnd(i);
                var mx: f64 = -std.math.inf(f64);
                for (0..end) |j| {
                    var s: f64 = 0;
                    for (0..d.e) |x| s += @as(f64, q[(h * d.l + i) * d.e + x]) * k[(h * d.s + j) * d.e + x];
                    p[j] = s * d.scale;
                    mx = @max(mx, p[j]);
                }
                var sum: f64 = 0;
                for (0..end) |j| {
                    p[j] = @exp(p[j] - mx);
                    sum += p[j];
                }
                var dd: f64 = 0;
                for (0..d.ev) |x| dd += @as(f64, do_[(h * d.l + i) * d.ev + x]) * o[(h * d.l + i) * d.ev + x];
                for (0..end) |j| {
                    p[j] /= sum;
                    var s: f64 = 0;
                    for (0..d.ev) |x| s += @as(f64, do_[(h * d.l + i) * d.ev + x]) * v[(h * d.s + j) * d.ev + x];
                    dp[j] = p[j] * (s - dd) * d.scale;
                    for (0..d.ev) |x| dv[(h * d.s + j) * d.ev + x] += @floatCast(p[j] * do_[(h * d.l + i) * d.ev + x]);
                    for (0..d.e) |x| dk[(h * d.s + j) * d.e + x] += @floatCast(dp[j] * q[(h * d.l + i) * d.e + x]);
                }
                for (0..d.e) |x| {
                    var acc: f64 = 0;
                    for (0..end) |j| acc += dp[j] * k[(h * d.s + j) * d.e + x];
                    dq[(h * d.l + i) * d.e + x] = @floatCast(acc);
                }
            };
        }
    };
}

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

/// One buffer with an element offset.
pub const Buf = struct { base: [*]u8, off: i64 };

/// The most f32 staging a half call holds: a group of heads at a time.
/// (A variable so that the tests can force several groups.)
var half_stage_bytes: usize = 8 << 20;

/// dst[0..n] = src[0..n] widened (E to f32) or rounded (f32 to E), split over the pool.
fn convert(comptime From: type, comptime To: type, src: [*]const From, dst: [*]To, n: usize) void {
    const Ctx = struct { src: [*]const From, dst: [*]To, n: usize, chunks: u32 };
    const ctx = Ctx{ .src = src, .dst = dst, .n = n, .chunks = pool.chunkCount(n, 1 << 16) };
    pool.run(ctx.chunks, &ctx, struct {
        fn f(c: *const Ctx, chunk: u32) void {
            const r = pool.chunkRange(c.n, c.chunks, chunk);
            if (To == f32) dt.widen(From, c.src + r[0], c.dst + r[0], r[1] - r[0]) else dt.narrow(To, c.src + r[0], c.dst + r[0], r[1] - r[0]);
        }
    }.f);
}

/// Heads per group of a half call whose staging takes `per_head` f32 elements a head.
fn headsPerGroup(d: Dims, per_head: usize) usize {
    return @max(1, @min(d.n, half_stage_bytes / (per_head * @sizeOf(f32))));
}

/// Forward on half q, k, v (o and lse f32: the caller rounds o, and keeps the
/// f32 o for backward), a group of heads at a time on Flash(f32).
fn halfForward(comptime E: type, q: [*]const E, k: [*]const E, v: [*]const E, o: [*]f32, lse: [*]f32, d: Dims) Error!void {
    const sq = d.l * d.e;
    const sk = d.s * d.e;
    const sv = d.s * d.ev;
    const group = headsPerGroup(d, sq + sk + sv);
    const alloc = std.heap.c_allocator;
    const stage = try alloc.alloc(f32, group * (sq + sk + sv));
    defer alloc.free(stage);
    const qf = stage.ptr;
    const kf = qf + group * sq;
    const vf = kf + group * sk;
    var h0: usize = 0;
    while (h0 < d.n) : (h0 += group) {
        const g = @min(group, d.n - h0);
        convert(E, f32, q + h0 * sq, qf, g * sq);
        convert(E, f32, k + h0 * sk, kf, g * sk);
        convert(E, f32, v + h0 * sv, vf, g * sv);
        var dg = d;
        dg.n = g;
        try Flash(f32).forward(qf, kf, vf, o + h0 * d.l * d.ev, lse + h0 * d.l, dg);
    }
}

/// Backward on half q, k, v, do, dq, dk, dv with the forward's f32 o and lse,
/// a group of heads at a time. The f32 o, not the rounded one: D = do . o
/// cancels against do . v in every score's gradient, so o's rounding to the
/// half type would pass into dq and dk amplified (float16 dq several units in
/// the last place off, against under one from the f32 output).
fn halfBackward(comptime E: type, q: [*]const E, k: [*]const E, v: [*]const E, o: [*]const f32, do_: [*]const E, lse: [*]const f32, dq: [*]E, dk: [*]E, dv: [*]E, d: Dims) Error!void {
    const sq = d.l * d.e;
    const sk = d.s * d.e;
    const sv = d.s * d.ev;
    const so = d.l * d.ev;
    // q, k, v, do in, dq, dk, dv out.
    const per_head = 2 * (sq + sk + sv) + so;
    const group = headsPerGroup(d, per_head);
    const alloc = std.heap.c_allocator;
    const stage = try alloc.alloc(f32, group * per_head);
    defer alloc.free(stage);
    const qf = stage.ptr;
    const kf = qf + group * sq;
    const vf = kf + group * sk;
    const dof = vf + group * sv;
    const dqf = dof + group * so;
    const dkf = dqf + group * sq;
    const dvf = dkf + group * sk;
    var h0: usize = 0;
    while (h0 < d.n) : (h0 += group) {
        const g = @min(group, d.n - h0);
        convert(E, f32, q + h0 * sq, qf, g * sq);
        convert(E, f32, k + h0 * sk, kf, g * sk);
        convert(E, f32, v + h0 * sv, vf, g * sv);
        convert(E, f32, do_ + h0 * so, dof, g * so);
        var dg = d;
        dg.n = g;
        try Flash(f32).backward(qf, kf, vf, o + h0 * so, dof, lse + h0 * d.l, dqf, dkf, dvf, dg);
        convert(f32, E, dqf, dq + h0 * sq, g * sq);
        convert(f32, E, dkf, dk + h0 * sk, g * sk);
        convert(f32, E, dvf, dv + h0 * sv, g * sv);
    }
}

/// Forward: bufs q, k, v, o, lse.
pub fn forward(dtype: dt.DType, b: [5]Buf, d: Dims) Error!void {
    if (d.n == 0 or d.l == 0 or d.ev == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            try Flash(T).forward(ptr(T, b[0].base, b[0].off), ptr(T, b[1].base, b[1].off), ptr(T, b[2].base, b[2].off), ptr(T, b[3].base, b[3].off), ptr(T, b[4].base, b[4].off), d);
        },
        inline .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            try halfForward(E, ptr(E, b[0].base, b[0].off), ptr(E, b[1].base, b[1].off), ptr(E, b[2].base, b[2].off), ptr(f32, b[3].base, b[3].off), ptr(f32, b[4].base, b[4].off), d);
        },
        else => return error.InvalidArgument,
    }
}

/// Backward: bufs q, k, v, o, do, lse, dq, dk, dv.
pub fn backward(dtype: dt.DType, b: [9]Buf, d: Dims) Error!void {
    if (d.n == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            const p = struct {
                fn at(x: Buf) [*]T {
                    return ptr(T, x.base, x.off);
                }
            }.at;
            if (d.l == 0 or d.ev == 0) {
                // No output rows or columns: every gradient is zero.
                @memset(p(b[6])[0 .. d.n * d.l * d.e], 0);
                @memset(p(b[7])[0 .. d.n * d.s * d.e], 0);
                @memset(p(b[8])[0 .. d.n * d.s * d.ev], 0);
                return;
            }
            try Flash(T).backward(p(b[0]), p(b[1]), p(b[2]), p(b[3]), p(b[4]), p(b[5]), p(b[6]), p(b[7]), p(b[8]), d);
        },
        inline .float16, .bfloat16 => |D| {
            const E = dt.Storage(D);
            const p = struct {
                fn at(x: Buf) [*]E {
                    return ptr(E, x.base, x.off);
                }
            }.at;
            if (d.l == 0 or d.ev == 0) {
                @memset(p(b[6])[0 .. d.n * d.l * d.e], std.mem.zeroes(E));
                @memset(p(b[7])[0 .. d.n * d.s * d.e], std.mem.zeroes(E));
                @memset(p(b[8])[0 .. d.n * d.s * d.ev], std.mem.zeroes(E));
                return;
            }
            try halfBackward(E, p(b[0]), p(b[1]), p(b[2]), ptr(f32, b[3].base, b[3].off), p(b[4]), ptr(f32, b[5].base, b[5].off), p(b[6]), p(b[7]), p(b[8]), d);
        },
        else => return error.InvalidArgument,
    }
}

// ------------------------------------------------------------------ tests

fn expectClose(comptime T: type, what: []const u8, got: []const T, want: []const T) !void {
    return @import("rnn.zig").expectClose(T, what, got, want, if (T == f32) 3e-5 else 1e-11);
}

fn case(comptime T: type, rnd: std.Random, d: Dims) !void {
    const a = std.testing.allocator;
    const F = Flash(T);
    const bufs = [_]usize{ d.n * d.l * d.e, d.n * d.s * d.e, d.n * d.s * d.ev, d.n * d.l * d.ev };
    var in: [4][]T = undefined;
    for (&in, bufs) |*x, len| {
        x.* = try a.alloc(T, len);
        for (x.*) |*v| v.* = rnd.float(T) * 2 - 1;
    }
    defer for (in) |x| a.free(x);
    var out: [2][5][]T = undefined; // o, lse, dq, dk, dv
    for (&out) |*o| {
        o[0] = try a.alloc(T, d.n * d.l * d.ev);
        o[1] = try a.alloc(T, d.n * d.l);
        o[2] = try a.alloc(T, d.n * d.l * d.e);
        o[3] = try a.alloc(T, d.n * d.s * d.e);
        o[4] = try a.alloc(T, d.n * d.s * d.ev);
    }
    defer for (out) |o| for (o) |x| a.free(x);
    const scratch = try a.alloc(f64, 2 * @max(d.s, 1));
    defer a.free(scratch);
    try F.forward(in[0].ptr, in[1].ptr, in[2].ptr, out[0][0].ptr, out[0][1].ptr, d);
    F.forwardReference(in[0].ptr, in[1].ptr, in[2].ptr, out[1][0].ptr, out[1][1].ptr, d, scratch);
    try expectClose(T, "attention o", out[0][0], out[1][0]);
    try expectClose(T, "attention lse", out[0][1], out[1][1]);
    try F.backward(in[0].ptr, in[1].ptr, in[2].ptr, out[0][0].ptr, in[3].ptr, out[0][1].ptr, out[0][2].ptr, out[0][3].ptr, out[0][4].ptr, d);
    F.backwardReference(in[0].ptr, in[1].ptr, in[2].ptr, out[1][0].ptr, in[3].ptr, out[1][2].ptr, out[1][3].ptr, out[1][4].ptr, d, scratch[0..@max(d.s, 1)], scratch[@max(d.s, 1)..]);
    try expectClose(T, "attention dq", out[0][2], out[1][2]);
    try expectClose(T, "attention dk", out[0][3], out[1][3]);
    try expectClose(T, "attention dv", out[0][4], out[1][4]);
}

test "fused attention matches the full-matrix reference, forward and backward" {
    var prng = std.Random.DefaultPrng.init(5);
    const rnd = prng.random();
    // Blocks partly filled, several blocks each way, L != S (causal rows that
    // see no key when... never with top-left alignment), widths 1 and odd.
    const shapes = [_][5]usize{ .{ 1, 1, 1, 1, 1 }, .{ 2, 5, 7, 3, 4 }, .{ 3, 70, 65, 16, 9 }, .{ 1, 130, 200, 33, 40 }, .{ 2, 64, 64, 64, 64 }, .{ 1, 200, 90, 8, 8 }, .{ 9, 70, 130, 32, 32 }, .{ 4, 0, 3, 2, 2 }, .{ 2, 3, 0, 2, 2 } };
    defer force_scheme = null;
    for ([_]?Scheme{ null, .per_head, .two_pass }) |scheme| {
        force_scheme = scheme;
        for ([_]u32{ 1, 2 }) |threads| {
            pool.setNumThreads(threads);
            for (shapes) |sh| for ([_]bool{ false, true }) |causal| {
                const d = Dims{ .n = sh[0], .l = sh[1], .s = sh[2], .e = sh[3], .ev = sh[4], .scale = 1 / @sqrt(@as(f64, @floatFromInt(sh[3]))), .causal = causal };
                try case(f32, rnd, d);
                try case(f64, rnd, d);
            };
        }
    }
}

test "half attention gives the float32 kernels' results, over several head groups" {
    const alloc = std.testing.allocator;
    var prng = std.Random.DefaultPrng.init(8);
    const rnd = prng.random();
    pool.setNumThreads(2);
    const before = half_stage_bytes;
    defer half_stage_bytes = before;
    inline for (.{ dt.DType.bfloat16, dt.DType.float16 }) |D| {
        const E = dt.Storage(D);
        for ([_]bool{ false, true }) |causal| {
            const d = Dims{ .n = 5, .l = 70, .s = 65, .e = 16, .ev = 9, .scale = 0.25, .causal = causal };
            // Two heads a group backward (groups of 2, 2 and 1), three forward.
            half_stage_bytes = 2 * 4 * (2 * (d.l * d.e + d.s * d.e + d.s * d.ev) + d.l * d.ev);
            // q, k, v, do: half and widened.
            const sizes = [_]usize{ d.n * d.l * d.e, d.n * d.s * d.e, d.n * d.s * d.ev, d.n * d.l * d.ev };
            var hs: [4][]E = undefined;
            var fs: [4][]f32 = undefined;
            for (sizes, 0..) |n, i| {
                hs[i] = try alloc.alloc(E, n);
                fs[i] = try alloc.alloc(f32, n);
                for (hs[i], fs[i]) |*h, *f| {
                    dt.storeOne(f32, E, h, @floatCast(rnd.floatNorm(f64)));
                    f.* = dt.loadOne(f32, E, h.*);
                }
            }
            defer for (hs, fs) |h, f| {
                alloc.free(h);
                alloc.free(f);
            };
            const outs = try alloc.alloc(f32, 2 * (d.n * d.l * d.ev + d.n * d.l));
            defer alloc.free(outs);
            const oh = outs[0 .. d.n * d.l * d.ev];
            const of = outs[d.n * d.l * d.ev .. 2 * d.n * d.l * d.ev];
            const lh = outs[2 * d.n * d.l * d.ev ..][0 .. d.n * d.l];
            const lf = outs[2 * d.n * d.l * d.ev + d.n * d.l ..];
            try halfForward(E, hs[0].ptr, hs[1].ptr, hs[2].ptr, oh.ptr, lh.ptr, d);
            try Flash(f32).forward(fs[0].ptr, fs[1].ptr, fs[2].ptr, of.ptr, lf.ptr, d);
            try std.testing.expectEqualSlices(f32, of, oh);
            try std.testing.expectEqualSlices(f32, lf, lh);
            const gh = try alloc.alloc(E, sizes[0] + sizes[1] + sizes[2]);
            defer alloc.free(gh);
            const gf = try alloc.alloc(f32, sizes[0] + sizes[1] + sizes[2]);
            defer alloc.free(gf);
            try halfBackward(E, hs[0].ptr, hs[1].ptr, hs[2].ptr, oh.ptr, hs[3].ptr, lh.ptr, gh.ptr, gh[sizes[0]..].ptr, gh[sizes[0] + sizes[1] ..].ptr, d);
            try Flash(f32).backward(fs[0].ptr, fs[1].ptr, fs[2].ptr, of.ptr, fs[3].ptr, lf.ptr, gf.ptr, gf[sizes[0]..].ptr, gf[sizes[0] + sizes[1] ..].ptr, d);
            try expectRoundedOnce(E, gh, gf);
        }
    }
}

fn expectRoundedOnce(comptime E: type, got: []const E, f: []const f32) !void {
    for (got, f, 0..) |h, v, i| {
        var want: E = undefined;
        dt.storeOne(f32, E, &want, v);
        if (dt.loadOne(f32, E, want) != dt.loadOne(f32, E, h)) {
            std.debug.print("at {d}: half {d}, float32 {d}\n", .{ i, dt.loadOne(f32, E, h), v });
            return error.TestUnexpectedResult;
        }
    }
}
