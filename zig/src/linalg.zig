//! Dense linear algebra on batches of small and medium matrices: LU with
//! partial pivoting (and solving with it), Cholesky, Householder QR, the
//! symmetric eigendecomposition (cyclic Jacobi) and the SVD (one-sided
//! Jacobi). Every matrix is copied into float64 scratch, factored there and
//! written back in the caller's dtype: float32 inputs get float64 accuracy,
//! and the Jacobi methods give small eigen- and singular values to high
//! relative accuracy. Matrices of a batch are independent, so threads split
//! the batch.
//!
//! Layouts (row-major, contiguous, `b` matrices):
//!   lu:        a: [b, n, n] -> lu: [b, n, n] (L below the diagonal, unit
//!              diagonal implied; U on and above), piv: i32 [b, n] (row
//!              swapped with row i at step i), info: i32 [b] (1 + the first
//!              zero pivot, 0 if none)
//!   lu_solve:  lu, piv as above, x: [b, n, k] holding B, overwritten by A⁻¹B
//!   cholesky:  a: [b, n, n] (lower triangle read) -> l: [b, n, n] (zeros
//!              above), info: i32 [b] (1 + the order of the first minor that
//!              is not positive-definite, 0 if none)
//!   qr:        a: [b, m, n] -> q: [b, m, qc], r: [b, qc, n] with qc = m
//!              ("complete") or min(m, n); LAPACK's sign convention (R's
//!              diagonal is -sign(pivot column's head) times its norm)
//!   eigh:      a: [b, n, n] (lower or upper triangle read) -> w: [b, n]
//!              ascending, v: [b, n, n] (eigenvectors as columns; optional)
//!   svd:       a: [b, m, n] -> u: [b, m, uc], s: [b, k], vh: [b, vr, n]
//!              with k = min(m, n), uc = m or k, vr = n or k (full or
//!              reduced); u and vh optional; s descending
//!
//! Plain, unblocked algorithms: they are exact to rounding and fast enough
//! for the matrix sizes deep learning code factors (up to a few hundred).
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, OutOfMemory };

pub const Op = enum(i32) { lu = 0, lu_solve = 1, cholesky = 2, qr = 3, eigh = 4, svd = 5 };

/// One buffer with an element offset, as the export passes them.
pub const Buf = struct { base: ?[*]u8, off: usize };

/// Sizes of one call; see the file comment for each op's meaning of m, n, k.
pub const Dims = struct {
    batch: usize,
    m: usize,
    n: usize,
    /// lu_solve: right-hand sides; qr, svd: 1 for complete/full; eigh: 1 to
    /// read the upper triangle.
    k: usize,
    /// svd, eigh: 1 to compute the vectors.
    vectors: bool,
};

fn ptrOf(comptime T: type, b: Buf) [*]T {
    const p: [*]T = @ptrCast(@alignCast(b.base.?));
    return p + b.off;
}

// ------------------------------------------------------------------ LU

/// In place on the n x n matrix `a` (f64): returns 1 + the first zero pivot, or 0.
fn luFactor(a: []f64, piv: []i32, n: usize) i32 {
    var info: i32 = 0;
    for (0..n) |j| {
        var p = j;
        var best = @abs(a[j * n + j]);
        for (j + 1..n) |i| {
            const v = @abs(a[i * n + j]);
            if (v > best) {
                best = v;
                p = i;
            }
        }
        piv[j] = @intCast(p);
        if (p != j) for (0..n) |c| std.mem.swap(f64, &a[j * n + c], &a[p * n + c]);
        const d = a[j * n + j];
        if (d == 0) {
            if (info == 0) info = @intCast(j + 1);
            continue;
        }
        for (j + 1..n) |i| {
            const l = a[i * n + j] / d;
            a[i * n + j] = l;
            if (l == 0) continue;
            for (j + 1..n) |c| a[i * n + c] -= l * a[j * n + c];
        }
    }
    return info;
}

/// x (n x k, f64) := A⁻¹ x, with A's factors from luFactor.
fn luSolve(lu: []const f64, piv: []const i32, x: []f64, n: usize, k: usize) void {
    for (0..n) |i| {
        const p: usize = @intCast(piv[i]);
        if (p != i) for (0..k) |c| std.mem.swap(f64, &x[i * k + c], &x[p * k + c]);
    }
    // L y = P b (unit diagonal), then U x = y.
    for (0..n) |i| for (0..i) |j| {
        const l = lu[i * n + j];
        if (l != 0) for (0..k) |c| {
            x[i * k + c] -= l * x[j * k + c];
        };
    };
    var i = n;
    while (i > 0) {
        i -= 1;
        for (i + 1..n) |j| {
            const u = lu[i * n + j];
            if (u != 0) for (0..k) |c| {
                x[i * k + c] -= u * x[j * k + c];
            };
        }
        const d = lu[i * n + i];
        for (0..k) |c| x[i * k + c] /= d;
    }
}

// ------------------------------------------------------------------ Cholesky

/// a (n x n, f64) := L in place, zeros above; 1 + the failing order, or 0.
fn cholesky(a: []f64, n: usize) i32 {
    for (0..n) |j| {
        var d = a[j * n + j];
        for (0..j) |c| d -= a[j * n + c] * a[j * n + c];
        if (!(d > 0)) return @intCast(j + 1);
        const ljj = @sqrt(d);
        a[j * n + j] = ljj;
        for (j + 1..n) |i| {
            var s = a[i * n + j];
            for (0..j) |c| s -= a[i * n + c] * a[j * n + c];
            a[i * n + j] = s / ljj;
        }
    }
    for (0..n) |i| for (i + 1..n) |j| {
        a[i * n + j] = 0;
    };
    return 0;
}

// ------------------------------------------------------------------ QR

/// Householder QR of a (m x n, f64, overwritten): r (qc x n) and q (m x qc);
/// tau: min(m, n) reflector scales.
fn qr(a: []f64, q: []f64, r: []f64, tau: []f64, m: usize, n: usize, qc: usize) void {
    const k = @min(m, n);
    // Reflector j: H = I - tau v vᵀ with v[j] = 1 and v[j+1..] kept in a's column j.
    for (0..k) |j| {
        var norm2: f64 = 0;
        for (j + 1..m) |i| norm2 += a[i * n + j] * a[i * n + j];
        const alpha = a[j * n + j];
        if (norm2 == 0) {
            tau[j] = 0;
            continue;
        }
        const norm = @sqrt(alpha * alpha + norm2);
        const beta = if (alpha >= 0) -norm else norm;
        tau[j] = (beta - alpha) / beta;
        const scale = 1 / (alpha - beta);
        for (j + 1..m) |i| a[i * n + j] *= scale;
        a[j * n + j] = beta;
        // Apply H to the columns to the right.
        for (j + 1..n) |c| {
            var s = a[j * n + c];
            for (j + 1..m) |i| s += a[i * n + j] * a[i * n + c];
            s *= tau[j];
            a[j * n + c] -= s;
            for (j + 1..m) |i| a[i * n + c] -= s * a[i * n + j];
        }
    }
    // R: the upper triangle of the first qc rows.
    for (0..qc) |i| for (0..n) |c| {
        r[i * n + c] = if (i < m and c >= i) a[i * n + c] else 0;
    };
    // Q = H_0 H_1 ... H_{k-1} applied to the first qc columns of I.
    @memset(q[0 .. m * qc], 0);
    for (0..@min(m, qc)) |i| q[i * qc + i] = 1;
    var j = k;
    while (j > 0) {
        j -= 1;
        if (tau[j] == 0) continue;
        for (0..qc) |c| {
            var s = q[j * qc + c];
            for (j + 1..m) |i| s += a[i * n + j] * q[i * qc + c];
            s *= tau[j];
            q[j * qc + c] -= s;
            for (j + 1..m) |i| q[i * qc + c] -= s * a[i * n + j];
        }
    }
}

// ------------------------------------------------------------------ eigh

/// Cyclic Jacobi on the symmetric a (n x n, f64, destroyed): w ascending and,
/// if v, the eigenvectors as v's columns.
fn eigh(a: []f64, w: []f64, v: ?[]f64, order: []usize, tmp: []f64, n: usize) void {
    const vv = v orelse tmp[0 .. n * n];
    @memset(vv[0 .. n * n], 0);
    for (0..n) |i| vv[i * n + i] = 1;
    var sweep: usize = 0;
    while (sweep < 100) : (sweep += 1) {
        var off: f64 = 0;
        var diag: f64 = 0;
        for (0..n) |i| {
            diag += a[i * n + i] * a[i * n + i];
            for (i + 1..n) |j| off += a[i * n + j] * a[i * n + j];
        }
        if (off == 0 or off <= 1e-36 * diag) break;
        for (0..n) |p| for (p + 1..n) |q| {
            const apq = a[p * n + q];
            if (apq == 0) continue;
            const app = a[p * n + p];
            const aqq = a[q * n + q];
            // Skip a rotation that would not change the diagonal in f64.
            if (@abs(apq) <= 1e-300 or (@abs(apq) * 1e18 < @abs(app) and @abs(apq) * 1e18 < @abs(aqq))) {
                a[p * n + q] = 0;
                a[q * n + p] = 0;
                continue;
            }
            const theta = (aqq - app) / (2 * apq);
            const t = std.math.sign(theta + @as(f64, if (theta == 0) 1 else 0)) / (@abs(theta) + @sqrt(theta * theta + 1));
            const c = 1 / @sqrt(t * t + 1);
            const s = t * c;
            for (0..n) |k| {
                const akp = a[k * n + p];
                const akq = a[k * n + q];
                a[k * n + p] = c * akp - s * akq;
                a[k * n + q] = s * akp + c * akq;
            }
            for (0..n) |k| {
                const apk = a[p * n + k];
                const aqk = a[q * n + k];
                a[p * n + k] = c * apk - s * aqk;
                a[q * n + k] = s * apk + c * aqk;
            }
            a[p * n + q] = 0;
            a[q * n + p] = 0;
            for (0..n) |k| {
                const vkp = vv[k * n + p];
                const vkq = vv[k * n + q];
                vv[k * n + p] = c * vkp - s * vkq;
                vv[k * n + q] = s * vkp + c * vkq;
            }
        };
    }
    // The eigenvalues, unordered, wait in w while the order is found.
    for (0..n) |i| {
        w[i] = a[i * n + i];
        order[i] = i;
    }
    std.mem.sort(usize, order[0..n], w[0..n], struct {
        fn lt(vals: []f64, x: usize, y: usize) bool {
            return vals[x] < vals[y];
        }
    }.lt);
    for (0..n) |i| a[i] = w[order[i]];
    @memcpy(w[0..n], a[0..n]);
    if (v) |out| {
        // Columns in eigenvalue order; tmp holds the unordered ones.
        @memcpy(tmp[0 .. n * n], out[0 .. n * n]);
        for (0..n) |r| for (0..n) |c| {
            out[r * n + c] = tmp[r * n + order[c]];
        };
    }
}

// ------------------------------------------------------------------ SVD

/// One-sided Jacobi SVD of a (m x n, m >= n, f64, overwritten by U·S):
/// s (n), u (m x uc), vt (n x n). uc >= n; columns past n, and columns of
/// zero singular values, are completed to an orthonormal basis.
fn svdTall(a: []f64, s: []f64, u: ?[]f64, vt: []f64, order: []usize, tmp: []f64, m: usize, n: usize, uc: usize) void {
    // v: n x n in tmp, columns rotated along with a's.
    const v = tmp[0 .. n * n];
    @memset(v, 0);
    for (0..n) |i| v[i * n + i] = 1;
    var sweep: usize = 0;
    while (sweep < 100) : (sweep += 1) {
        var rotated = false;
        for (0..n) |p| for (p + 1..n) |q| {
            var alpha: f64 = 0;
            var beta: f64 = 0;
            var gamma: f64 = 0;
            for (0..m) |i| {
                const x = a[i * n + p];
                const y = a[i * n + q];
                alpha += x * x;
                beta += y * y;
                gamma += x * y;
            }
            if (gamma == 0 or @abs(gamma) <= 1e-15 * @sqrt(alpha * beta)) continue;
            rotated = true;
            const zeta = (beta - alpha) / (2 * gamma);
            const t = std.math.sign(zeta + @as(f64, if (zeta == 0) 1 else 0)) / (@abs(zeta) + @sqrt(1 + zeta * zeta));
            const c = 1 / @sqrt(1 + t * t);
            const sn = c * t;
            for (0..m) |i| {
                const x = a[i * n + p];
                const y = a[i * n + q];
                a[i * n + p] = c * x - sn * y;
                a[i * n + q] = sn * x + c * y;
            }
            for (0..n) |i| {
                const x = v[i * n + p];
                const y = v[i * n + q];
                v[i * n + p] = c * x - sn * y;
                v[i * n + q] = sn * x + c * y;
            }
        };
        if (!rotated) break;
    }
    var norms = tmp[n * n .. n * n + n];
    for (0..n) |j| {
        var ss: f64 = 0;
        for (0..m) |i| ss += a[i * n + j] * a[i * n + j];
        norms[j] = @sqrt(ss);
    }
    for (0..n) |i| order[i] = i;
    std.mem.sort(usize, order[0..n], norms, struct {
        fn gt(nr: []f64, x: usize, y: usize) bool {
            return nr[x] > nr[y];
        }
    }.gt);
    for (0..n) |j| s[j] = norms[order[j]];
    for (0..n) |j| for (0..n) |i| {
        vt[j * n + i] = v[i * n + order[j]];
    };
    const uu = u orelse return;
    @memset(uu[0 .. m * uc], 0);
    // A column is kept when its singular value is not negligible.
    const tol = (if (n > 0) s[0] else 0) * @as(f64, @floatFromInt(@max(m, n))) * std.math.floatEps(f64);
    var filled: usize = 0;
    for (0..n) |j| {
        if (s[j] > tol and s[j] > 0) {
            for (0..m) |i| uu[i * uc + j] = a[i * n + order[j]] / s[j];
            filled = j + 1;
        } else break;
    }
    completeBasis(uu, m, uc, filled);
}

/// Fills columns [filled, uc) of u (m x uc, first `filled` orthonormal) with
/// unit vectors orthogonal to all before (Gram-Schmidt on e_0, e_1, ...).
fn completeBasis(u: []f64, m: usize, uc: usize, filled: usize) void {
    var col = filled;
    var e: usize = 0;
    while (col < uc and e < m) : (e += 1) {
        for (0..m) |i| u[i * uc + col] = if (i == e) 1 else 0;
        // Twice, for orthogonality to rounding.
        for (0..2) |_| for (0..col) |c| {
            var d: f64 = 0;
            for (0..m) |i| d += u[i * uc + c] * u[i * uc + col];
            for (0..m) |i| u[i * uc + col] -= d * u[i * uc + c];
        };
        var nn: f64 = 0;
        for (0..m) |i| nn += u[i * uc + col] * u[i * uc + col];
        if (nn < 1e-12) continue;
        const inv = 1 / @sqrt(nn);
        for (0..m) |i| u[i * uc + col] *= inv;
        col += 1;
    }
}

// ------------------------------------------------------------------ batches

fn scratchFor(op: Op, d: Dims) usize {
    const m = d.m;
    const n = d.n;
    return switch (op) {
        .lu, .cholesky => n * n,
        .lu_solve => n * n + n * d.k,
        .qr => m * n + m * m + m * n + n,
        .eigh => 3 * n * n + n,
        .svd => blk: {
            const big = @max(m, n);
            const small = @min(m, n);
            break :blk big * small + big * big + small * small + small * small + small + small + big;
        },
    };
}

const Ctx = struct {
    op: Op,
    d: Dims,
    bufs: [5]Buf,
    chunks: u32,
    /// Set by a task whose scratch could not be allocated.
    failed: *std.atomic.Value(bool),
};

fn Run(comptime T: type) type {
    return struct {
        fn load(dst: []f64, src: [*]const T) void {
            for (dst, 0..) |*x, i| x.* = @floatCast(src[i]);
        }
        fn store(dst: [*]T, src: []const f64) void {
            for (src, 0..) |x, i| dst[i] = @floatCast(x);
        }

        fn task(c: *const Ctx, chunk: u32) void {
            const d = c.d;
            const r = pool.chunkRange(d.batch, c.chunks, chunk);
            const alloc = std.heap.c_allocator;
            const scratch = alloc.alloc(f64, scratchFor(c.op, d)) catch {
                c.failed.store(true, .monotonic);
                return;
            };
            defer alloc.free(scratch);
            const order = alloc.alloc(usize, @max(d.m, d.n)) catch {
                c.failed.store(true, .monotonic);
                return;
            };
            defer alloc.free(order);
            for (r[0]..r[1]) |b| one(c, b, scratch, order);
        }

        fn one(c: *const Ctx, b: usize, w: []f64, order: []usize) void {
            const d = c.d;
            const m = d.m;
            const n = d.n;
            switch (c.op) {
                .lu => {
                    const a = w[0 .. n * n];
                    load(a, ptrOf(T, c.bufs[0]) + b * n * n);
                    const piv = ptrOf(i32, c.bufs[2])[b * n ..][0..n];
                    ptrOf(i32, c.bufs[3])[b] = luFactor(a, piv, n);
                    store(ptrOf(T, c.bufs[1]) + b * n * n, a);
                },
                .lu_solve => {
                    const k = d.k;
                    const lu = w[0 .. n * n];
                    const x = w[n * n ..][0 .. n * k];
                    load(lu, ptrOf(T, c.bufs[0]) + b * n * n);
                    const piv = ptrOf(i32, c.bufs[1])[b * n ..][0..n];
                    load(x, ptrOf(T, c.bufs[2]) + b * n * k);
                    luSolve(lu, piv, x, n, k);
                    store(ptrOf(T, c.bufs[2]) + b * n * k, x);
                },
                .cholesky => {
                    const a = w[0 .. n * n];
                    load(a, ptrOf(T, c.bufs[0]) + b * n * n);
                    // Only the lower triangle counts: mirror it up first.
                    for (0..n) |i| for (i + 1..n) |j| {
                        a[i * n + j] = a[j * n + i];
                    };
                    const info = cholesky(a, n);
                    ptrOf(i32, c.bufs[2])[b] = info;
                    store(ptrOf(T, c.bufs[1]) + b * n * n, a);
                },
                .qr => {
                    const qc = if (d.k == 1) m else @min(m, n);
                    const a = w[0 .. m * n];
                    const q = w[m * n ..][0 .. m * qc];
                    const rr = w[m * n + m * m ..][0 .. qc * n];
                    const tau = w[m * n + m * m + m * n ..][0..n];
                    load(a, ptrOf(T, c.bufs[0]) + b * m * n);
                    qr(a, q, rr, tau, m, n, qc);
                    store(ptrOf(T, c.bufs[1]) + b * m * qc, q);
                    store(ptrOf(T, c.bufs[2]) + b * qc * n, rr);
                },
                .eigh => {
                    const a = w[0 .. n * n];
                    const v = w[n * n ..][0 .. n * n];
                    const tmp = w[2 * n * n ..][0 .. n * n];
                    const ev = w[3 * n * n ..][0..n];
                    load(a, ptrOf(T, c.bufs[0]) + b * n * n);
                    // The triangle PyTorch's UPLO names is the one read.
                    for (0..n) |i| for (i + 1..n) |j| {
                        if (d.k == 1) a[j * n + i] = a[i * n + j] else a[i * n + j] = a[j * n + i];
                    };
                    eigh(a, ev, if (d.vectors) v else null, order, tmp, n);
                    store(ptrOf(T, c.bufs[1]) + b * n, ev);
                    if (d.vectors) store(ptrOf(T, c.bufs[2]) + b * n * n, v);
                },
                .svd => svdOne(c, b, w, order),
            }
        }

        fn svdOne(c: *const Ctx, b: usize, w: []f64, order: []usize) void {
            const d = c.d;
            const m = d.m;
            const n = d.n;
            const k = @min(m, n);
            const big = @max(m, n);
            const full = d.k == 1;
            // Work on the tall one of A and Aᵀ: A = U S Vᵀ, Aᵀ = V S Uᵀ.
            const a = w[0 .. big * k];
            const ub = w[big * k ..][0 .. big * big];
            const vt = w[big * k + big * big ..][0 .. k * k];
            const tmp = w[big * k + big * big + k * k ..][0 .. k * k + k];
            const s = w[big * k + big * big + 2 * k * k + k ..][0..k];
            const src = ptrOf(T, c.bufs[0]) + b * m * n;
            if (m >= n) {
                load(a, src);
            } else {
                for (0..m) |i| for (0..n) |j| {
                    a[j * m + i] = @floatCast(src[i * n + j]);
                };
            }
            // The tall side's vectors: big x (big if full, else k).
            const bc = if (full) big else k;
            const tall_u: ?[]f64 = if (d.vectors) ub[0 .. big * bc] else null;
            svdTall(a, s, tall_u, vt, order, tmp, big, k, bc);
            store(ptrOf(T, c.bufs[2]) + b * k, s);
            if (!d.vectors) return;
            const uc = if (full) m else k;
            const vr = if (full) n else k;
            const u_out = ptrOf(T, c.bufs[1]) + b * m * uc;
            const vh_out = ptrOf(T, c.bufs[3]) + b * vr * n;
            if (m >= n) {
                // U = tall_u (m x uc); Vh = vt (k x n, k = n).
                store(u_out, ub[0 .. m * uc]);
                store(vh_out, vt[0 .. n * n]);
            } else {
                // Aᵀ = U' S V'ᵀ (U': n x bc, V'ᵀ: m x m): U = V' (m x m), Vh = U'ᵀ (vr x n).
                for (0..m) |i| for (0..m) |j| {
                    u_out[i * uc + j] = @floatCast(vt[j * m + i]);
                };
                for (0..vr) |i| for (0..n) |j| {
                    vh_out[i * n + j] = @floatCast(ub[j * bc + i]);
                };
            }
        }
    };
}

/// Runs `op` over the batch. bufs: the op's buffers in the order of the file
/// comment (absent ones have a null base).
pub fn run(op: Op, dtype: dt.DType, bufs: [5]Buf, d: Dims) Error!void {
    if (d.batch == 0) return;
    switch (op) {
        .lu, .lu_solve, .cholesky, .eigh => if (d.m != d.n) return error.InvalidArgument,
        .qr, .svd => {},
    }
    const needs: []const usize = switch (op) {
        .lu => &.{ 0, 1, 2, 3 },
        .lu_solve => &.{ 0, 1, 2 },
        .cholesky => &.{ 0, 1, 2 },
        .qr => &.{ 0, 1, 2 },
        .eigh => if (d.vectors) &.{ 0, 1, 2 } else &.{ 0, 1 },
        .svd => if (d.vectors) &.{ 0, 1, 2, 3 } else &.{ 0, 2 },
    };
    for (needs) |i| if (bufs[i].base == null) return error.InvalidArgument;
    const per = @max(1, d.m * d.n * @max(d.m, d.n));
    var failed = std.atomic.Value(bool).init(false);
    const ctx = Ctx{ .op = op, .d = d, .bufs = bufs, .chunks = pool.chunkCount(d.batch, @max(1, (1 << 18) / per)), .failed = &failed };
    switch (dtype) {
        .float32 => pool.run(ctx.chunks, &ctx, Run(f32).task),
        .float64 => pool.run(ctx.chunks, &ctx, Run(f64).task),
        else => return error.InvalidArgument,
    }
    if (failed.load(.monotonic)) return error.OutOfMemory;
}

// ------------------------------------------------------------------ tests

fn matmulT(a: []const f64, b: []const f64, out: []f64, m: usize, k: usize, n: usize) void {
    for (0..m) |i| for (0..n) |j| {
        var s: f64 = 0;
        for (0..k) |p| s += a[i * k + p] * b[p * n + j];
        out[i * n + j] = s;
    };
}

test "LU solves, Cholesky, QR, eigh and SVD reconstruct their inputs" {
    const t = std.testing;
    var prng = std.Random.DefaultPrng.init(7);
    const rnd = prng.random();
    const n = 6;
    const m = 9;
    var a: [m * n]f64 = undefined;
    for (&a) |*x| x.* = rnd.float(f64) * 2 - 1;
    // SVD of the tall matrix: U S Vh == A, U orthonormal.
    {
        var u: [m * n]f64 = undefined;
        var s: [n]f64 = undefined;
        var vh: [n * n]f64 = undefined;
        const bufs = [5]Buf{ .{ .base = @ptrCast(&a), .off = 0 }, .{ .base = @ptrCast(&u), .off = 0 }, .{ .base = @ptrCast(&s), .off = 0 }, .{ .base = @ptrCast(&vh), .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.svd, .float64, bufs, .{ .batch = 1, .m = m, .n = n, .k = 0, .vectors = true });
        var us: [m * n]f64 = undefined;
        for (0..m) |i| for (0..n) |j| {
            us[i * n + j] = u[i * n + j] * s[j];
        };
        var back: [m * n]f64 = undefined;
        matmulT(&us, &vh, &back, m, n, n);
        for (a, back) |x, y| try t.expectApproxEqAbs(x, y, 1e-12);
        for (1..n) |j| try t.expect(s[j - 1] >= s[j]);
    }
    // QR: Q R == A.
    {
        var q: [m * n]f64 = undefined;
        var r: [n * n]f64 = undefined;
        const bufs = [5]Buf{ .{ .base = @ptrCast(&a), .off = 0 }, .{ .base = @ptrCast(&q), .off = 0 }, .{ .base = @ptrCast(&r), .off = 0 }, .{ .base = null, .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.qr, .float64, bufs, .{ .batch = 1, .m = m, .n = n, .k = 0, .vectors = true });
        var back: [m * n]f64 = undefined;
        matmulT(&q, &r, &back, m, n, n);
        for (a, back) |x, y| try t.expectApproxEqAbs(x, y, 1e-12);
    }
    // A symmetric positive-definite S = AᵀA + I: eigh, Cholesky, LU.
    var sym: [n * n]f64 = undefined;
    {
        var at: [n * m]f64 = undefined;
        for (0..m) |i| for (0..n) |j| {
            at[j * m + i] = a[i * n + j];
        };
        matmulT(&at, &a, &sym, n, m, n);
        for (0..n) |i| sym[i * n + i] += 1;
    }
    {
        var w: [n]f64 = undefined;
        var v: [n * n]f64 = undefined;
        const bufs = [5]Buf{ .{ .base = @ptrCast(&sym), .off = 0 }, .{ .base = @ptrCast(&w), .off = 0 }, .{ .base = @ptrCast(&v), .off = 0 }, .{ .base = null, .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.eigh, .float64, bufs, .{ .batch = 1, .m = n, .n = n, .k = 0, .vectors = true });
        // S v_j == w_j v_j
        for (0..n) |j| for (0..n) |i| {
            var sv: f64 = 0;
            for (0..n) |p| sv += sym[i * n + p] * v[p * n + j];
            try t.expectApproxEqAbs(w[j] * v[i * n + j], sv, 1e-10);
        };
        for (1..n) |j| try t.expect(w[j - 1] <= w[j]);
    }
    {
        var l: [n * n]f64 = undefined;
        var info: [1]i32 = undefined;
        const bufs = [5]Buf{ .{ .base = @ptrCast(&sym), .off = 0 }, .{ .base = @ptrCast(&l), .off = 0 }, .{ .base = @ptrCast(&info), .off = 0 }, .{ .base = null, .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.cholesky, .float64, bufs, .{ .batch = 1, .m = n, .n = n, .k = 0, .vectors = false });
        try t.expectEqual(@as(i32, 0), info[0]);
        var lt: [n * n]f64 = undefined;
        for (0..n) |i| for (0..n) |j| {
            lt[j * n + i] = l[i * n + j];
        };
        var back: [n * n]f64 = undefined;
        matmulT(&l, &lt, &back, n, n, n);
        for (sym, back) |x, y| try t.expectApproxEqAbs(x, y, 1e-10);
    }
    {
        var lu: [n * n]f64 = undefined;
        var piv: [n]i32 = undefined;
        var info: [1]i32 = undefined;
        const fb = [5]Buf{ .{ .base = @ptrCast(&sym), .off = 0 }, .{ .base = @ptrCast(&lu), .off = 0 }, .{ .base = @ptrCast(&piv), .off = 0 }, .{ .base = @ptrCast(&info), .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.lu, .float64, fb, .{ .batch = 1, .m = n, .n = n, .k = 0, .vectors = false });
        try t.expectEqual(@as(i32, 0), info[0]);
        var x: [n * 2]f64 = undefined;
        var rhs: [n * 2]f64 = undefined;
        for (&rhs) |*e| e.* = rnd.float(f64);
        x = rhs;
        const sb = [5]Buf{ .{ .base = @ptrCast(&lu), .off = 0 }, .{ .base = @ptrCast(&piv), .off = 0 }, .{ .base = @ptrCast(&x), .off = 0 }, .{ .base = null, .off = 0 }, .{ .base = null, .off = 0 } };
        try run(.lu_solve, .float64, sb, .{ .batch = 1, .m = n, .n = n, .k = 2, .vectors = false });
        var back: [n * 2]f64 = undefined;
        matmulT(&sym, &x, &back, n, n, 2);
        for (rhs, back) |p, q| try t.expectApproxEqAbs(p, q, 1e-10);
    }
}

test "a singular matrix reports its zero pivot; an indefinite one its failing minor" {
    var a = [_]f64{ 1, 2, 2, 4 };
    var lu: [4]f64 = undefined;
    var piv: [2]i32 = undefined;
    var info: [1]i32 = undefined;
    const fb = [5]Buf{ .{ .base = @ptrCast(&a), .off = 0 }, .{ .base = @ptrCast(&lu), .off = 0 }, .{ .base = @ptrCast(&piv), .off = 0 }, .{ .base = @ptrCast(&info), .off = 0 }, .{ .base = null, .off = 0 } };
    try run(.lu, .float64, fb, .{ .batch = 1, .m = 2, .n = 2, .k = 0, .vectors = false });
    try std.testing.expectEqual(@as(i32, 2), info[0]);
    var s = [_]f64{ 1, 2, 2, 1 };
    var l: [4]f64 = undefined;
    const cb = [5]Buf{ .{ .base = @ptrCast(&s), .off = 0 }, .{ .base = @ptrCast(&l), .off = 0 }, .{ .base = @ptrCast(&info), .off = 0 }, .{ .base = null, .off = 0 }, .{ .base = null, .off = 0 } };
    try run(.cholesky, .float64, cb, .{ .batch = 1, .m = 2, .n = 2, .k = 0, .vectors = false });
    try std.testing.expectEqual(@as(i32, 2), info[0]);
}
