//! Recurrent layers' time loops (LSTM and GRU), one layer and direction per
//! call, forward and backward.
//!
//! The caller computes the input projection of every time step at once
//! (gx = x @ W_ih^T + bias: one large GEMM) and the weight gradients after
//! the backward loop (dW_hh = dG^T @ h_prev, again one GEMM). What is left,
//! here, is the sequential part: at each step the previous hidden state times
//! the hidden weights, then the gate math. The hidden weights are packed once
//! per call (matmul.PackedB): packing them again at every step would move as
//! many bytes as the step's multiply. Threads split the batch rows where
//! there are enough of them, else the hidden units (Team): a thread
//! multiplies the gate columns of its own part and updates it at once, and
//! keeps that part for the whole loop, so the cell state and saved gates it
//! wrote at one step are in its own cache at the next. Rows need no
//! synchronisation between steps; units meet at a barrier (pool.runSteps).
//!
//! Shapes (row-major, H hidden units, B batch rows, T steps; a reverse
//! direction walks t = T-1 down to 0, as PyTorch's `_reverse` weights do):
//!
//! LSTM (gates i, f, g, o, in PyTorch's order)
//!   gx: [T, B, 4H], w_hh: [4H, H], bias: [4H], h0, c0: [B, H]
//!   (bias, h0 and c0 may be null: zero; a zero h0 skips the first multiply)
//!   y: [T, B, H] (h at each t), ws: [T, B, 5H] saved for backward (i f g o c)
//!   G = gx[t] + bias + h @ W_hh^T; i, f, o = sigmoid, g = tanh
//!   c' = f c + i g; h' = o tanh(c')
//!   backward, given dy: [T, B, H] and dc_T: [B, H]:
//!   dh = dy[t] + dG[t+1] @ W_hh, dc = dc' f' + dh o (1 - tanh(c)^2)
//!   dG[t] = [dc g i(1-i), dc c_prev f(1-f), dc i (1-g^2), dh tanh(c) o(1-o)]
//!   outputs dG: [T, B, 4H] (= d gx), dh0 = dG[first] @ W_hh (skipped when
//!   null), dc0.
//!
//! GRU (gates r, z, n)
//!   gx: [T, B, 3H], w_hh: [3H, H], b_hh: [3H], h0: [B, H]
//!   gh = h @ W_hh^T + b_hh; r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z)
//!   n = tanh(gx_n + r gh_n); h' = (1 - z) n + z h
//!   y: [T, B, H], ws: [T, B, 4H] (r z n gh_n)
//!   backward: dh = dy[t] + dgh[t+1] @ W_hh + dh[t+1] z[t+1]
//!   dn = dh (1-z) (1-n^2), dgx[t] = [dn gh_n r(1-r), dh (h_prev-n) z(1-z), dn]
//!   dgh[t] = [dgx_r, dgx_z, dn r]; outputs dgx, dgh: [T, B, 3H], dh0.
//!
//! Plain reference loops (`...Reference`) stay beside the fused ones; the
//! tests compare the two.
const std = @import("std");
const dt = @import("dtype.zig");
const pool = @import("pool.zig");
const mm = @import("matmul.zig");
const vm = @import("vmath.zig");
const assert = std.debug.assert;

pub const Error = error{ InvalidArgument, OutOfMemory };

/// Sizes of one call.
pub const Dims = struct {
    steps: usize,
    batch: usize,
    hidden: usize,
    reverse: bool,

    /// The time index of the s-th step processed.
    fn time(d: Dims, s: usize) usize {
        return if (d.reverse) d.steps - 1 - s else s;
    }
};

fn sigmoid(comptime T: type, x: T) T {
    return 1 / (1 + @exp(-x));
}

fn tanhS(comptime T: type, x: T) T {
    return std.math.tanh(x);
}

/// How a time loop's work splits over threads, the same at every step.
///
/// By units: each member multiplies the gate columns of its own hidden units
/// for every batch row and keeps that slice of W_hh in its core's cache;
/// every member reads the whole previous h, so the steps meet at a barrier.
/// By batch rows, where each member still has a short tile's worth of rows:
/// a member's rows depend on its own rows only, so the members run the
/// whole loop without meeting, each streaming all of W_hh at every step.
/// Measured with 2 threads, forward and backward of an LSTM (batch, hidden,
/// steps): rows took 12.0 ms against 13.1 by units at (32, 256, 64), 27.1
/// against 40.5 at (64, 256, 64), 25.9 against 34.0 at (32, 512, 32), 21.0
/// against 21.8 at (16, 1024, 8), 0.52 against 0.71 at (16, 64, 64); the
/// same at hidden 2048 (64 MiB of weights), where packing them dominates.
/// Rows win where they give at least as many members as units do.
const Team = struct {
    members: u32,
    by_rows: bool,
    q_panels: usize,
    batch: usize,

    /// Rows a member needs before splitting by rows pays: the short tile's height.
    const min_rows: usize = 8;

    fn plan(q_panels: usize, batch: usize) Team {
        const n: usize = pool.numThreads();
        const unit_members = @max(1, @min(q_panels, n));
        const row_members = @min(n, batch / min_rows);
        if (row_members > 1 and row_members >= unit_members) {
            return .{ .members = @intCast(row_members), .by_rows = true, .q_panels = q_panels, .batch = batch };
        }
        return .{ .members = @intCast(unit_members), .by_rows = false, .q_panels = q_panels, .batch = batch };
    }

    /// Member m's panels [q0, q1) and batch rows [b0, b1).
    const Part = struct { q0: usize, q1: usize, b0: usize, b1: usize };

    fn part(team: Team, m: u32) Part {
        assert(m < team.members);
        if (team.by_rows) {
            return .{ .q0 = 0, .q1 = team.q_panels, .b0 = team.batch * m / team.members, .b1 = team.batch * (m + 1) / team.members };
        }
        return .{ .q0 = team.q_panels * m / team.members, .q1 = team.q_panels * (m + 1) / team.members, .b0 = 0, .b1 = team.batch };
    }

    fn run(team: Team, steps: usize, ctx: anytype, comptime f: fn (@TypeOf(ctx), u32, usize) void) void {
        if (team.by_rows) pool.runStepsApart(team.members, steps, ctx, f) else pool.runSteps(team.members, steps, ctx, f);
    }
};

/// The units [first, end) that panels [q0, q1) of width nr cover.
fn unitSpan(h: usize, nr: usize, q_panels: usize, q0: usize, q1: usize) [2]usize {
    return .{ q0 * nr, if (q1 == q_panels) h else q1 * nr };
}

/// Asks for the cache lines of units `span` in `parts` blocks of h (block k
/// at + k * h) of each of `rows` rows (row r at base + r * stride), so that
/// they arrive in L2 while the step's multiply runs.
inline fn prefetchUnits(comptime T: type, comptime rw: std.builtin.PrefetchOptions.Rw, base: [*]const T, stride: usize, rows: usize, comptime parts: usize, h: usize, span: [2]usize) void {
    const line = 64 / @sizeOf(T);
    for (0..rows) |r| {
        var u = span[0];
        while (u < span[1]) : (u += line) {
            inline for (0..parts) |k| @prefetch(base + r * stride + k * h + u, .{ .rw = rw, .locality = 2 });
        }
    }
}

// ------------------------------------------------------------------ LSTM

fn Lstm(comptime T: type) type {
    const P = mm.PackedB(T);
    const NR = P.panel_width;
    const VL = P.vector_len;
    const V = @Vector(VL, T);
    return struct {
        const Fwd = struct {
            gx: [*]const T,
            /// [4H]: zeros when the caller has no bias.
            bias: [*]const T,
            /// Null: a zero initial state, whose multiply is skipped.
            h0: ?[*]const T,
            /// The first step's c_prev rows, c0_stride apart (0: one zero row).
            c0: [*]const T,
            c0_stride: usize,
            y: [*]T,
            ws: [*]T,
            /// W_hh^T packed: panel q * 4 + gate holds gate `gate` of units q * NR...
            wt: P,
            /// [B, panels * NR]: the step's h @ W_hh^T, panel by panel.
            gs: [*]T,
            d: Dims,
            q_panels: usize,
            team: Team,
        };

        fn colOf(h: usize, p: usize) [2]usize {
            const q = p / 4;
            const gate = p % 4;
            return .{ gate * h + q * NR, @min(NR, h - q * NR) };
        }

        fn unitPanelOf(h: usize, q: usize) [2]usize {
            return .{ q * NR, @min(NR, h - q * NR) };
        }

        /// Gate math for units [u0, u0 + w) of row b: reads the multiply's panel
        /// columns at `g` (4 gates, NR apart) and gx, writes h', c', the gates.
        inline fn gates(g: [*]const T, gx: [*]const T, bias: [*]const T, c_prev: [*]const T, h_out: [*]T, ws: [*]T, h: usize, first: usize, w: usize) void {
            var l: usize = 0;
            while (l + VL <= w) : (l += VL) {
                const u = first + l;
                const gi: V = @as(V, g[0 * NR + l ..][0..VL].*) + @as(V, bias[0 * h + u ..][0..VL].*);
                const gf: V = @as(V, g[1 * NR + l ..][0..VL].*) + @as(V, bias[1 * h + u ..][0..VL].*);
                const gg: V = @as(V, g[2 * NR + l ..][0..VL].*) + @as(V, bias[2 * h + u ..][0..VL].*);
                const go: V = @as(V, g[3 * NR + l ..][0..VL].*) + @as(V, bias[3 * h + u ..][0..VL].*);
                const i = vm.sigmoidGate(T, VL, gi + @as(V, gx[0 * h + u ..][0..VL].*));
                const f = vm.sigmoidGate(T, VL, gf + @as(V, gx[1 * h + u ..][0..VL].*));
                const gc = vm.tanhGate(T, VL, gg + @as(V, gx[2 * h + u ..][0..VL].*));
                const o = vm.sigmoidGate(T, VL, go + @as(V, gx[3 * h + u ..][0..VL].*));
                const c: V = f * @as(V, c_prev[u..][0..VL].*) + i * gc;
                h_out[u..][0..VL].* = o * vm.tanhGate(T, VL, c);
                ws[0 * h + u ..][0..VL].* = i;
                ws[1 * h + u ..][0..VL].* = f;
                ws[2 * h + u ..][0..VL].* = gc;
                ws[3 * h + u ..][0..VL].* = o;
                ws[4 * h + u ..][0..VL].* = c;
            }
            while (l < w) : (l += 1) {
                const u = first + l;
                const i = sigmoid(T, g[0 * NR + l] + bias[0 * h + u] + gx[0 * h + u]);
                const f = sigmoid(T, g[1 * NR + l] + bias[1 * h + u] + gx[1 * h + u]);
                const gc = tanhS(T, g[2 * NR + l] + bias[2 * h + u] + gx[2 * h + u]);
                const o = sigmoid(T, g[3 * NR + l] + bias[3 * h + u] + gx[3 * h + u]);
                const c = f * c_prev[u] + i * gc;
                h_out[u] = o * tanhS(T, c);
                ws[0 * h + u] = i;
                ws[1 * h + u] = f;
                ws[2 * h + u] = gc;
                ws[3 * h + u] = o;
                ws[4 * h + u] = c;
            }
        }

        fn fwdTask(c: *const Fwd, member: u32, s: usize) void {
            const d = c.d;
            const h = d.hidden;
            const p = c.team.part(member);
            const q0 = p.q0;
            const q1 = p.q1;
            const rows = p.b1 - p.b0;
            const t = d.time(s);
            const tp = if (s == 0) t else d.time(s - 1);
            const ld = c.q_panels * 4 * NR;
            // The gate math reads and writes rows of its step that nothing
            // has touched yet: more streams, and shorter, than the hardware
            // prefetchers follow. Each row's lines for the next step are asked
            // for as the row is done (spread out, so few requests wait at
            // once, and a whole step ahead); the first step's before its
            // multiply.
            const span = unitSpan(h, NR, c.q_panels, q0, q1);
            if (s == 0) fwdPrefetch(c, t, p.b0, rows, span);
            const h_prev: ?[*]const T = if (s == 0) c.h0 else c.y + tp * d.batch * h;
            if (h_prev) |hp| {
                c.wt.mul(hp + p.b0 * h, h, rows, c.gs + p.b0 * ld + q0 * 4 * NR, ld, q0 * 4, q1 * 4);
            } else {
                // A zero initial state: its product is zero.
                for (p.b0..p.b1) |b| @memset(c.gs[b * ld + q0 * 4 * NR ..][0 .. (q1 - q0) * 4 * NR], 0);
            }
            const next: ?usize = if (s + 1 < d.steps) d.time(s + 1) else null;
            for (p.b0..p.b1) |b| {
                const ws = c.ws + (t * d.batch + b) * 5 * h;
                const c_prev = if (s == 0) c.c0 + b * c.c0_stride else c.ws + (tp * d.batch + b) * 5 * h + 4 * h;
                for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    gates(c.gs + b * ld + q * 4 * NR, c.gx + (t * d.batch + b) * 4 * h, c.bias, c_prev, c.y + (t * d.batch + b) * h, ws, h, u[0], u[1]);
                }
                if (next) |tn| fwdPrefetch(c, tn, b, 1, span);
            }
        }

        /// Rows [b0, b0 + rows) of time t: gx to read, ws and y to write.
        inline fn fwdPrefetch(c: *const Fwd, t: usize, b0: usize, rows: usize, span: [2]usize) void {
            const d = c.d;
            const h = d.hidden;
            const r0 = t * d.batch + b0;
            prefetchUnits(T, .read, c.gx + r0 * 4 * h, 4 * h, rows, 4, h, span);
            prefetchUnits(T, .write, c.ws + r0 * 5 * h, 5 * h, rows, 5, h, span);
            prefetchUnits(T, .write, c.y + r0 * h, h, rows, 1, h, span);
        }

        fn forward(gx: [*]const T, w_hh: [*]const T, bias: ?[*]const T, h0: ?[*]const T, c0: ?[*]const T, y: [*]T, ws: [*]T, d: Dims) Error!void {
            const h = d.hidden;
            const q_panels = (h + NR - 1) / NR;
            const alloc = std.heap.c_allocator;
            const pack = try alloc.alloc(T, P.elems(q_panels * 4, h));
            defer alloc.free(pack);
            const gs = try alloc.alloc(T, d.batch * q_panels * 4 * NR);
            defer alloc.free(gs);
            // Stand-ins for a missing bias ([4H]) and c0 (one row, stride 0).
            const zeros = try alloc.alloc(T, 4 * h);
            defer alloc.free(zeros);
            @memset(zeros, 0);
            // W_hh^T as B: B[k, j] = W_hh[j, k].
            const wt = P.pack(pack, w_hh, 1, h, h, q_panels * 4, h, colOf);
            const team = Team.plan(q_panels, d.batch);
            const ctx = Fwd{
                .gx = gx,
                .bias = bias orelse zeros.ptr,
                .h0 = h0,
                .c0 = c0 orelse zeros.ptr,
                .c0_stride = if (c0 == null) 0 else h,
                .y = y,
                .ws = ws,
                .wt = wt,
                .gs = gs.ptr,
                .d = d,
                .q_panels = q_panels,
                .team = team,
            };
            team.run(d.steps, &ctx, fwdTask);
        }

        const Bwd = struct {
            /// The first step's c_prev rows, c0_stride apart (0: one zero row).
            c0: [*]const T,
            c0_stride: usize,
            ws: [*]const T,
            dy: [*]const T,
            dg: [*]T,
            /// Carried dc, then dc0: [B, H].
            dc: [*]T,
            /// Null: no dh0 wanted (its multiply is skipped).
            dh0: ?[*]T,
            /// W_hh as B: panel q holds units q * NR...
            w: P,
            /// [B, panels * NR]: dG[next] @ W_hh.
            dhs: [*]T,
            d: Dims,
            q_panels: usize,
            team: Team,
        };

        inline fn gateGrads(dh_in: [*]const T, carry: ?[*]const T, ws: [*]const T, c_prev: [*]const T, dc: [*]T, dg: [*]T, h: usize, first: usize, w: usize) void {
            var l: usize = 0;
            while (l + VL <= w) : (l += VL) {
                const u = first + l;
                var dh: V = dh_in[u..][0..VL].*;
                if (carry) |cr| dh += @as(V, cr[l..][0..VL].*);
                const i: V = ws[0 * h + u ..][0..VL].*;
                const f: V = ws[1 * h + u ..][0..VL].*;
                const g: V = ws[2 * h + u ..][0..VL].*;
                const o: V = ws[3 * h + u ..][0..VL].*;
                const tc = vm.tanhGate(T, VL, @as(V, ws[4 * h + u ..][0..VL].*));
                const one: V = @splat(1);
                const dcv = @as(V, dc[u..][0..VL].*) + dh * o * (one - tc * tc);
                dg[0 * h + u ..][0..VL].* = dcv * g * i * (one - i);
                dg[1 * h + u ..][0..VL].* = dcv * @as(V, c_prev[u..][0..VL].*) * f * (one - f);
                dg[2 * h + u ..][0..VL].* = dcv * i * (one - g * g);
                dg[3 * h + u ..][0..VL].* = dh * tc * o * (one - o);
                dc[u..][0..VL].* = dcv * f;
            }
            while (l < w) : (l += 1) {
                const u = first + l;
                var dh = dh_in[u];
                if (carry) |cr| dh += cr[l];
                const i = ws[0 * h + u];
                const f = ws[1 * h + u];
                const g = ws[2 * h + u];
                const o = ws[3 * h + u];
                const tc = tanhS(T, ws[4 * h + u]);
                const dcv = dc[u] + dh * o * (1 - tc * tc);
                dg[0 * h + u] = dcv * g * i * (1 - i);
                dg[1 * h + u] = dcv * c_prev[u] * f * (1 - f);
                dg[2 * h + u] = dcv * i * (1 - g * g);
                dg[3 * h + u] = dh * tc * o * (1 - o);
                dc[u] = dcv * f;
            }
        }

        /// Team step `step` runs walk step `steps - 1 - step`; step `steps` is the
        /// final dh0 multiply.
        fn bwdTask(c: *const Bwd, member: u32, step: usize) void {
            const d = c.d;
            const h = d.hidden;
            const p = c.team.part(member);
            const q0 = p.q0;
            const q1 = p.q1;
            const rows = p.b1 - p.b0;
            const ld = c.q_panels * NR;
            const cs = if (step == d.steps) d.steps else d.steps - 1 - step;
            const span = unitSpan(h, NR, c.q_panels, q0, q1);
            // As in forward: the first step's rows before its multiply, each
            // later step's a row at a time during the step before.
            if (step == 0) bwdPrefetch(c, d.time(cs), p.b0, rows, span);
            // dG of the step processed before (the later one in the walk) @ W_hh.
            const later = cs + 1 < d.steps or cs == d.steps;
            if (later) {
                const tn = d.time(if (cs == d.steps) 0 else cs + 1);
                c.w.mul(c.dg + (tn * d.batch + p.b0) * 4 * h, 4 * h, rows, c.dhs + p.b0 * ld + q0 * NR, ld, q0, q1);
            }
            if (cs == d.steps) {
                const dh0 = c.dh0.?;
                for (p.b0..p.b1) |b| for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    @memcpy(dh0[b * h + u[0] ..][0..u[1]], c.dhs[b * ld + q * NR ..][0..u[1]]);
                };
                return;
            }
            const t = d.time(cs);
            const tp = if (cs == 0) t else d.time(cs - 1);
            for (p.b0..p.b1) |b| {
                const row = t * d.batch + b;
                const c_prev = if (cs == 0) c.c0 + b * c.c0_stride else c.ws + (tp * d.batch + b) * 5 * h + 4 * h;
                for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    const carry: ?[*]const T = if (later) c.dhs + b * ld + q * NR else null;
                    gateGrads(c.dy + row * h, carry, c.ws + row * 5 * h, c_prev, c.dc + b * h, c.dg + row * 4 * h, h, u[0], u[1]);
                }
                if (cs > 0) bwdPrefetch(c, tp, b, 1, span);
            }
        }

        /// Rows [b0, b0 + rows) of time t: dy and ws to read, dG to write.
        inline fn bwdPrefetch(c: *const Bwd, t: usize, b0: usize, rows: usize, span: [2]usize) void {
            const d = c.d;
            const h = d.hidden;
            const r0 = t * d.batch + b0;
            prefetchUnits(T, .read, c.dy + r0 * h, h, rows, 1, h, span);
            prefetchUnits(T, .read, c.ws + r0 * 5 * h, 5 * h, rows, 5, h, span);
            prefetchUnits(T, .write, c.dg + r0 * 4 * h, 4 * h, rows, 4, h, span);
        }

        fn backward(w_hh: [*]const T, c0: ?[*]const T, ws: [*]const T, dy: [*]const T, dc_last: [*]const T, dg: [*]T, dh0: ?[*]T, dc0: [*]T, d: Dims) Error!void {
            const h = d.hidden;
            const q_panels = (h + NR - 1) / NR;
            const alloc = std.heap.c_allocator;
            const pack = try alloc.alloc(T, P.elems(q_panels, 4 * h));
            defer alloc.free(pack);
            const dhs = try alloc.alloc(T, d.batch * q_panels * NR);
            defer alloc.free(dhs);
            const zeros = try alloc.alloc(T, h);
            defer alloc.free(zeros);
            @memset(zeros, 0);
            // W_hh itself as B: B[k, u] = W_hh[k, u].
            const w = P.pack(pack, w_hh, h, 1, 4 * h, q_panels, h, unitPanelOf);
            @memcpy(dc0[0 .. d.batch * h], dc_last[0 .. d.batch * h]);
            const team = Team.plan(q_panels, d.batch);
            const ctx = Bwd{
                .c0 = c0 orelse zeros.ptr,
                .c0_stride = if (c0 == null) 0 else h,
                .ws = ws,
                .dy = dy,
                .dg = dg,
                .dc = dc0,
                .dh0 = dh0,
                .w = w,
                .dhs = dhs.ptr,
                .d = d,
                .q_panels = q_panels,
                .team = team,
            };
            // Steps from the last processed to the first, then dh0 if wanted.
            team.run(d.steps + @intFromBool(dh0 != null), &ctx, bwdTask);
        }

        // -------------------------------------------------------------- reference

        fn forwardReference(gx: [*]const T, w_hh: [*]const T, bias: ?[*]const T, h0: ?[*]const T, c0: ?[*]const T, y: [*]T, ws: [*]T, d: Dims) void {
            const h = d.hidden;
            for (0..d.steps) |s| {
                const t = d.time(s);
                const tp = if (s == 0) t else d.time(s - 1);
                for (0..d.batch) |b| {
                    const h_prev: ?[*]const T = if (s == 0) (if (h0) |p| p + b * h else null) else y + (tp * d.batch + b) * h;
                    const row = t * d.batch + b;
                    for (0..h) |u| {
                        var pre: [4]f64 = undefined;
                        for (0..4) |gate| {
                            var acc: f64 = gx[row * 4 * h + gate * h + u];
                            if (bias) |bs| acc += bs[gate * h + u];
                            if (h_prev) |hp| {
                                for (0..h) |k| acc += @as(f64, w_hh[(gate * h + u) * h + k]) * hp[k];
                            }
                            pre[gate] = acc;
                        }
                        const c_prev: T = if (s > 0) ws[(tp * d.batch + b) * 5 * h + 4 * h + u] else if (c0) |p| p[b * h + u] else 0;
                        const i: T = @floatCast(1 / (1 + @exp(-pre[0])));
                        const f: T = @floatCast(1 / (1 + @exp(-pre[1])));
                        const g: T = @floatCast(std.math.tanh(pre[2]));
                        const o: T = @floatCast(1 / (1 + @exp(-pre[3])));
                        const c = f * c_prev + i * g;
                        const w = ws + row * 5 * h;
                        w[u] = i;
                        w[h + u] = f;
                        w[2 * h + u] = g;
                        w[3 * h + u] = o;
                        w[4 * h + u] = c;
                        y[row * h + u] = o * tanhS(T, c);
                    }
                }
            }
        }

        fn backwardReference(w_hh: [*]const T, c0: ?[*]const T, ws: [*]const T, dy: [*]const T, dc_last: [*]const T, dg: [*]T, dh0: ?[*]T, dc0: [*]T, d: Dims) void {
            const h = d.hidden;
            const dc = dc0;
            @memcpy(dc[0 .. d.batch * h], dc_last[0 .. d.batch * h]);
            var s: usize = d.steps;
            while (s > 0) {
                s -= 1;
                const t = d.time(s);
                const tp = if (s == 0) t else d.time(s - 1);
                for (0..d.batch) |b| {
                    const row = t * d.batch + b;
                    for (0..h) |u| {
                        const c_prev: T = if (s > 0) ws[(tp * d.batch + b) * 5 * h + 4 * h + u] else if (c0) |p| p[b * h + u] else 0;
                        var dh: f64 = dy[row * h + u];
                        if (s + 1 < d.steps) {
                            const rn = d.time(s + 1) * d.batch + b;
                            for (0..4 * h) |k| dh += @as(f64, dg[rn * 4 * h + k]) * w_hh[k * h + u];
                        }
                        const w = ws + row * 5 * h;
                        const i = w[u];
                        const f = w[h + u];
                        const g = w[2 * h + u];
                        const o = w[3 * h + u];
                        const tc = tanhS(T, w[4 * h + u]);
                        const dhT: T = @floatCast(dh);
                        const dcv = dc[b * h + u] + dhT * o * (1 - tc * tc);
                        dg[row * 4 * h + u] = dcv * g * i * (1 - i);
                        dg[row * 4 * h + h + u] = dcv * c_prev * f * (1 - f);
                        dg[row * 4 * h + 2 * h + u] = dcv * i * (1 - g * g);
                        dg[row * 4 * h + 3 * h + u] = dhT * tc * o * (1 - o);
                        dc[b * h + u] = dcv * f;
                    }
                }
            }
            const out = dh0 orelse return;
            const r0 = d.time(0);
            for (0..d.batch) |b| for (0..h) |u| {
                var acc: f64 = 0;
                for (0..4 * h) |k| acc += @as(f64, dg[(r0 * d.batch + b) * 4 * h + k]) * w_hh[k * h + u];
                out[b * h + u] = @floatCast(acc);
            };
        }
    };
}

// ------------------------------------------------------------------ GRU

fn Gru(comptime T: type) type {
    const P = mm.PackedB(T);
    const NR = P.panel_width;
    const VL = P.vector_len;
    const V = @Vector(VL, T);
    return struct {
        const Fwd = struct {
            gx: [*]const T,
            b_hh: [*]const T,
            h0: [*]const T,
            y: [*]T,
            ws: [*]T,
            wt: P,
            gs: [*]T,
            d: Dims,
            q_panels: usize,
            team: Team,
        };

        fn colOf(h: usize, p: usize) [2]usize {
            const q = p / 3;
            const gate = p % 3;
            return .{ gate * h + q * NR, @min(NR, h - q * NR) };
        }

        fn unitPanelOf(h: usize, q: usize) [2]usize {
            return .{ q * NR, @min(NR, h - q * NR) };
        }

        inline fn gates(g: [*]const T, gx: [*]const T, bh: [*]const T, h_prev: [*]const T, h_out: [*]T, ws: [*]T, h: usize, first: usize, w: usize) void {
            var l: usize = 0;
            while (l + VL <= w) : (l += VL) {
                const u = first + l;
                const ghr = @as(V, g[0 * NR + l ..][0..VL].*) + @as(V, bh[0 * h + u ..][0..VL].*);
                const ghz = @as(V, g[1 * NR + l ..][0..VL].*) + @as(V, bh[1 * h + u ..][0..VL].*);
                const ghn = @as(V, g[2 * NR + l ..][0..VL].*) + @as(V, bh[2 * h + u ..][0..VL].*);
                const r = vm.sigmoidGate(T, VL, @as(V, gx[0 * h + u ..][0..VL].*) + ghr);
                const z = vm.sigmoidGate(T, VL, @as(V, gx[1 * h + u ..][0..VL].*) + ghz);
                const n = vm.tanhGate(T, VL, @as(V, gx[2 * h + u ..][0..VL].*) + r * ghn);
                const one: V = @splat(1);
                h_out[u..][0..VL].* = (one - z) * n + z * @as(V, h_prev[u..][0..VL].*);
                ws[0 * h + u ..][0..VL].* = r;
                ws[1 * h + u ..][0..VL].* = z;
                ws[2 * h + u ..][0..VL].* = n;
                ws[3 * h + u ..][0..VL].* = ghn;
            }
            while (l < w) : (l += 1) {
                const u = first + l;
                const ghn = g[2 * NR + l] + bh[2 * h + u];
                const r = sigmoid(T, gx[0 * h + u] + g[0 * NR + l] + bh[0 * h + u]);
                const z = sigmoid(T, gx[1 * h + u] + g[1 * NR + l] + bh[1 * h + u]);
                const n = tanhS(T, gx[2 * h + u] + r * ghn);
                h_out[u] = (1 - z) * n + z * h_prev[u];
                ws[0 * h + u] = r;
                ws[1 * h + u] = z;
                ws[2 * h + u] = n;
                ws[3 * h + u] = ghn;
            }
        }

        fn fwdTask(c: *const Fwd, member: u32, s: usize) void {
            const d = c.d;
            const h = d.hidden;
            const p = c.team.part(member);
            const q0 = p.q0;
            const q1 = p.q1;
            const rows = p.b1 - p.b0;
            const t = d.time(s);
            const h_prev = if (s == 0) c.h0 else c.y + d.time(s - 1) * d.batch * h;
            const ld = c.q_panels * 3 * NR;
            const span = unitSpan(h, NR, c.q_panels, q0, q1);
            const r0 = t * d.batch + p.b0;
            prefetchUnits(T, .read, c.gx + r0 * 3 * h, 3 * h, rows, 3, h, span);
            prefetchUnits(T, .write, c.ws + r0 * 4 * h, 4 * h, rows, 4, h, span);
            prefetchUnits(T, .write, c.y + r0 * h, h, rows, 1, h, span);
            c.wt.mul(h_prev + p.b0 * h, h, rows, c.gs + p.b0 * ld + q0 * 3 * NR, ld, q0 * 3, q1 * 3);
            for (p.b0..p.b1) |b| {
                const row = t * d.batch + b;
                for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    gates(c.gs + b * ld + q * 3 * NR, c.gx + row * 3 * h, c.b_hh, h_prev + b * h, c.y + row * h, c.ws + row * 4 * h, h, u[0], u[1]);
                }
            }
        }

        fn forward(gx: [*]const T, w_hh: [*]const T, b_hh: [*]const T, h0: [*]const T, y: [*]T, ws: [*]T, d: Dims) Error!void {
            const h = d.hidden;
            const q_panels = (h + NR - 1) / NR;
            const alloc = std.heap.c_allocator;
            const pack = try alloc.alloc(T, P.elems(q_panels * 3, h));
            defer alloc.free(pack);
            const gs = try alloc.alloc(T, d.batch * q_panels * 3 * NR);
            defer alloc.free(gs);
            const wt = P.pack(pack, w_hh, 1, h, h, q_panels * 3, h, colOf);
            const team = Team.plan(q_panels, d.batch);
            const ctx = Fwd{ .gx = gx, .b_hh = b_hh, .h0 = h0, .y = y, .ws = ws, .wt = wt, .gs = gs.ptr, .d = d, .q_panels = q_panels, .team = team };
            team.run(d.steps, &ctx, fwdTask);
        }

        const Bwd = struct {
            h0: [*]const T,
            y: [*]const T,
            ws: [*]const T,
            dy: [*]const T,
            dgx: [*]T,
            dgh: [*]T,
            /// dh of the step processed last (carried as dh z), then dh0.
            dh: [*]T,
            w: P,
            dhs: [*]T,
            d: Dims,
            q_panels: usize,
            team: Team,
        };

        inline fn gateGrads(dy: [*]const T, carry: ?[*]const T, z_next: ?[*]const T, ws: [*]const T, h_prev: [*]const T, dh_io: [*]T, dgx: [*]T, dgh: [*]T, h: usize, first: usize, w: usize) void {
            var l: usize = 0;
            while (l + VL <= w) : (l += VL) {
                const u = first + l;
                var dh: V = dy[u..][0..VL].*;
                if (carry) |cr| dh += @as(V, cr[l..][0..VL].*) + @as(V, dh_io[u..][0..VL].*) * @as(V, z_next.?[u..][0..VL].*);
                const r: V = ws[0 * h + u ..][0..VL].*;
                const z: V = ws[1 * h + u ..][0..VL].*;
                const n: V = ws[2 * h + u ..][0..VL].*;
                const ghn: V = ws[3 * h + u ..][0..VL].*;
                const one: V = @splat(1);
                const dn = dh * (one - z) * (one - n * n);
                const dr = dn * ghn * r * (one - r);
                const dz = dh * (@as(V, h_prev[u..][0..VL].*) - n) * z * (one - z);
                dgx[0 * h + u ..][0..VL].* = dr;
                dgx[1 * h + u ..][0..VL].* = dz;
                dgx[2 * h + u ..][0..VL].* = dn;
                dgh[0 * h + u ..][0..VL].* = dr;
                dgh[1 * h + u ..][0..VL].* = dz;
                dgh[2 * h + u ..][0..VL].* = dn * r;
                dh_io[u..][0..VL].* = dh;
            }
            while (l < w) : (l += 1) {
                const u = first + l;
                var dh = dy[u];
                if (carry) |cr| dh += cr[l] + dh_io[u] * z_next.?[u];
                const r = ws[0 * h + u];
                const z = ws[1 * h + u];
                const n = ws[2 * h + u];
                const ghn = ws[3 * h + u];
                const dn = dh * (1 - z) * (1 - n * n);
                const dr = dn * ghn * r * (1 - r);
                const dz = dh * (h_prev[u] - n) * z * (1 - z);
                dgx[0 * h + u] = dr;
                dgx[1 * h + u] = dz;
                dgx[2 * h + u] = dn;
                dgh[0 * h + u] = dr;
                dgh[1 * h + u] = dz;
                dgh[2 * h + u] = dn * r;
                dh_io[u] = dh;
            }
        }

        /// Team step `step` runs walk step `steps - 1 - step`; step `steps` is the
        /// final dh0 multiply.
        fn bwdTask(c: *const Bwd, member: u32, step: usize) void {
            const d = c.d;
            const h = d.hidden;
            const p = c.team.part(member);
            const q0 = p.q0;
            const q1 = p.q1;
            const rows = p.b1 - p.b0;
            const ld = c.q_panels * NR;
            const cs = if (step == d.steps) d.steps else d.steps - 1 - step;
            if (cs < d.steps) {
                const r0 = d.time(cs) * d.batch + p.b0;
                const span = unitSpan(h, NR, c.q_panels, q0, q1);
                prefetchUnits(T, .read, c.dy + r0 * h, h, rows, 1, h, span);
                prefetchUnits(T, .read, c.ws + r0 * 4 * h, 4 * h, rows, 4, h, span);
                prefetchUnits(T, .write, c.dgx + r0 * 3 * h, 3 * h, rows, 3, h, span);
                prefetchUnits(T, .write, c.dgh + r0 * 3 * h, 3 * h, rows, 3, h, span);
            }
            const later = cs + 1 < d.steps or cs == d.steps;
            const tn = d.time(if (cs == d.steps) 0 else @min(cs + 1, d.steps - 1));
            if (later) c.w.mul(c.dgh + (tn * d.batch + p.b0) * 3 * h, 3 * h, rows, c.dhs + p.b0 * ld + q0 * NR, ld, q0, q1);
            if (cs == d.steps) {
                // dh0 = dgh[first] @ W_hh + dh[first] z[first], over dh in place.
                for (p.b0..p.b1) |b| for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    const z = c.ws + (tn * d.batch + b) * 4 * h + h;
                    for (u[0]..u[0] + u[1]) |k| c.dh[b * h + k] = c.dhs[b * ld + q * NR + (k - u[0])] + c.dh[b * h + k] * z[k];
                };
                return;
            }
            const t = d.time(cs);
            for (p.b0..p.b1) |b| {
                const row = t * d.batch + b;
                const h_prev = if (cs == 0) c.h0 + b * h else c.y + (d.time(cs - 1) * d.batch + b) * h;
                const z_next: ?[*]const T = if (later) c.ws + (tn * d.batch + b) * 4 * h + h else null;
                for (q0..q1) |q| {
                    const u = unitPanelOf(h, q);
                    const carry: ?[*]const T = if (later) c.dhs + b * ld + q * NR else null;
                    gateGrads(c.dy + row * h, carry, z_next, c.ws + row * 4 * h, h_prev, c.dh + b * h, c.dgx + row * 3 * h, c.dgh + row * 3 * h, h, u[0], u[1]);
                }
            }
        }

        fn backward(w_hh: [*]const T, h0: [*]const T, y: [*]const T, ws: [*]const T, dy: [*]const T, dgx: [*]T, dgh: [*]T, dh0: [*]T, d: Dims) Error!void {
            const h = d.hidden;
            const q_panels = (h + NR - 1) / NR;
            const alloc = std.heap.c_allocator;
            const pack = try alloc.alloc(T, P.elems(q_panels, 3 * h));
            defer alloc.free(pack);
            const dhs = try alloc.alloc(T, d.batch * q_panels * NR);
            defer alloc.free(dhs);
            const w = P.pack(pack, w_hh, h, 1, 3 * h, q_panels, h, unitPanelOf);
            const team = Team.plan(q_panels, d.batch);
            const ctx = Bwd{ .h0 = h0, .y = y, .ws = ws, .dy = dy, .dgx = dgx, .dgh = dgh, .dh = dh0, .w = w, .dhs = dhs.ptr, .d = d, .q_panels = q_panels, .team = team };
            // Steps from the last processed to the first, then dh0.
            team.run(d.steps + 1, &ctx, bwdTask);
        }

        fn forwardReference(gx: [*]const T, w_hh: [*]const T, b_hh: [*]const T, h0: [*]const T, y: [*]T, ws: [*]T, d: Dims) void {
            const h = d.hidden;
            for (0..d.steps) |s| {
                const t = d.time(s);
                for (0..d.batch) |b| {
                    const h_prev = if (s == 0) h0 + b * h else y + (d.time(s - 1) * d.batch + b) * h;
                    const row = t * d.batch + b;
                    for (0..h) |u| {
                        var gh: [3]f64 = undefined;
                        for (0..3) |gate| {
                            var acc: f64 = b_hh[gate * h + u];
                            for (0..h) |k| acc += @as(f64, w_hh[(gate * h + u) * h + k]) * h_prev[k];
                            gh[gate] = acc;
                        }
                        const x = gx + row * 3 * h;
                        const r = 1 / (1 + @exp(-(x[u] + gh[0])));
                        const z = 1 / (1 + @exp(-(x[h + u] + gh[1])));
                        const n = std.math.tanh(x[2 * h + u] + r * gh[2]);
                        const w = ws + row * 4 * h;
                        w[u] = @floatCast(r);
                        w[h + u] = @floatCast(z);
                        w[2 * h + u] = @floatCast(n);
                        w[3 * h + u] = @floatCast(gh[2]);
                        y[row * h + u] = @floatCast((1 - z) * n + z * h_prev[u]);
                    }
                }
            }
        }

        fn backwardReference(w_hh: [*]const T, h0: [*]const T, y: [*]const T, ws: [*]const T, dy: [*]const T, dgx: [*]T, dgh: [*]T, dh0: [*]T, d: Dims) void {
            const h = d.hidden;
            var s: usize = d.steps;
            while (s > 0) {
                s -= 1;
                const t = d.time(s);
                for (0..d.batch) |b| {
                    const row = t * d.batch + b;
                    const h_prev = if (s == 0) h0 + b * h else y + (d.time(s - 1) * d.batch + b) * h;
                    for (0..h) |u| {
                        var dh: f64 = dy[row * h + u];
                        if (s + 1 < d.steps) {
                            const rn = d.time(s + 1) * d.batch + b;
                            for (0..3 * h) |k| dh += @as(f64, dgh[rn * 3 * h + k]) * w_hh[k * h + u];
                            dh += @as(f64, dh0[b * h + u]) * ws[rn * 4 * h + h + u];
                        }
                        const w = ws + row * 4 * h;
                        const r: f64 = w[u];
                        const z: f64 = w[h + u];
                        const n: f64 = w[2 * h + u];
                        const dn = dh * (1 - z) * (1 - n * n);
                        const dr = dn * w[3 * h + u] * r * (1 - r);
                        const dz = dh * (h_prev[u] - n) * z * (1 - z);
                        dgx[row * 3 * h + u] = @floatCast(dr);
                        dgx[row * 3 * h + h + u] = @floatCast(dz);
                        dgx[row * 3 * h + 2 * h + u] = @floatCast(dn);
                        dgh[row * 3 * h + u] = @floatCast(dr);
                        dgh[row * 3 * h + h + u] = @floatCast(dz);
                        dgh[row * 3 * h + 2 * h + u] = @floatCast(dn * r);
                        // dh of this step, read by the step before (dh0 is scratch until the end).
                        dh0[b * h + u] = @floatCast(dh);
                    }
                }
            }
            const r0 = d.time(0);
            for (0..d.batch) |b| {
                var tmp: [4096]f64 = undefined;
                assert(h <= tmp.len);
                for (0..h) |u| {
                    var acc: f64 = @as(f64, dh0[b * h + u]) * ws[(r0 * d.batch + b) * 4 * h + h + u];
                    for (0..3 * h) |k| acc += @as(f64, dgh[(r0 * d.batch + b) * 3 * h + k]) * w_hh[k * h + u];
                    tmp[u] = acc;
                }
                for (0..h) |u| dh0[b * h + u] = @floatCast(tmp[u]);
            }
        }
    };
}

// ------------------------------------------------------------------ entry points

fn ptr(comptime T: type, base: [*]u8, off: i64) [*]T {
    const p: [*]T = @ptrCast(@alignCast(base));
    return p + @as(usize, @intCast(off));
}

/// One buffer with an element offset, as the exports pass them.
pub const Buf = struct { base: [*]u8, off: i64 };

fn at(comptime T: type, b: Buf) [*]T {
    return ptr(T, b.base, b.off);
}

fn optAt(comptime T: type, b: ?Buf) ?[*]T {
    return if (b) |x| at(T, x) else null;
}

/// LSTM forward: bufs gx, w_hh, bias, h0, c0, y, ws (see the file comment);
/// bias, h0 and c0 may be null.
pub fn lstmForward(dtype: dt.DType, b: [7]?Buf, d: Dims) Error!void {
    for ([_]usize{ 0, 1, 5, 6 }) |i| if (b[i] == null) return error.InvalidArgument;
    if (d.steps == 0 or d.batch == 0 or d.hidden == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            try Lstm(T).forward(at(T, b[0].?), at(T, b[1].?), optAt(T, b[2]), optAt(T, b[3]), optAt(T, b[4]), at(T, b[5].?), at(T, b[6].?), d);
        },
        else => return error.InvalidArgument,
    }
}

/// LSTM backward: bufs w_hh, c0, ws, dy, dc_last, dg, dh0, dc0; c0 and dh0
/// may be null.
pub fn lstmBackward(dtype: dt.DType, b: [8]?Buf, d: Dims) Error!void {
    for ([_]usize{ 0, 2, 3, 4, 5, 7 }) |i| if (b[i] == null) return error.InvalidArgument;
    if (d.steps == 0 or d.batch == 0 or d.hidden == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            try Lstm(T).backward(at(T, b[0].?), optAt(T, b[1]), at(T, b[2].?), at(T, b[3].?), at(T, b[4].?), at(T, b[5].?), optAt(T, b[6]), at(T, b[7].?), d);
        },
        else => return error.InvalidArgument,
    }
}

/// GRU forward: bufs gx, w_hh, b_hh, h0, y, ws.
pub fn gruForward(dtype: dt.DType, b: [6]Buf, d: Dims) Error!void {
    if (d.steps == 0 or d.batch == 0 or d.hidden == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            try Gru(T).forward(at(T, b[0]), at(T, b[1]), at(T, b[2]), at(T, b[3]), at(T, b[4]), at(T, b[5]), d);
        },
        else => return error.InvalidArgument,
    }
}

/// GRU backward: bufs w_hh, h0, y, ws, dy, dgx, dgh, dh0.
pub fn gruBackward(dtype: dt.DType, b: [8]Buf, d: Dims) Error!void {
    if (d.steps == 0 or d.batch == 0 or d.hidden == 0) return;
    switch (dtype) {
        inline .float32, .float64 => |D| {
            const T = dt.Storage(D);
            try Gru(T).backward(at(T, b[0]), at(T, b[1]), at(T, b[2]), at(T, b[3]), at(T, b[4]), at(T, b[5]), at(T, b[6]), at(T, b[7]), d);
        },
        else => return error.InvalidArgument,
    }
}

// ------------------------------------------------------------------ tests

fn fill(comptime T: type, rnd: std.Random, a: []T, scale: T) void {
    for (a) |*v| v.* = (rnd.float(T) * 2 - 1) * scale;
}

/// Test helper: every element within `tol` relative (to 1 + |want|) of the
/// reference, else the largest difference is printed. Shared with attention.zig.
pub fn expectClose(comptime T: type, what: []const u8, got: []const T, want: []const T, tol: T) !void {
    var worst: T = 0;
    var at_i: usize = 0;
    for (got, want, 0..) |g, w, i| {
        // Equal infinities (a softmax normaliser over no keys) match.
        const e = if (g == w) 0 else @abs(g - w) / (1 + @abs(w));
        if (!(e <= worst)) {
            worst = if (e != e) std.math.inf(T) else e;
            at_i = i;
        }
    }
    if (!(worst <= tol)) {
        std.debug.print("{s} ({s}): largest difference {e} at {d} (got {d}, want {d})\n", .{ what, @typeName(T), worst, at_i, got[at_i], want[at_i] });
        return error.TestUnexpectedResult;
    }
}

fn tolFor(comptime T: type) T {
    return if (T == f32) 2e-5 else 1e-11;
}

/// `full`: bias, h0, c0 and dh0 given; otherwise all four null (zero
/// states, no bias, no dh0).
fn lstmCase(comptime T: type, rnd: std.Random, d: Dims, full: bool) !void {
    const a = std.testing.allocator;
    const n = d.steps * d.batch;
    const h = d.hidden;
    const L = Lstm(T);
    const gx = try a.alloc(T, n * 4 * h);
    defer a.free(gx);
    const w = try a.alloc(T, 4 * h * h);
    defer a.free(w);
    const h0 = try a.alloc(T, d.batch * h);
    defer a.free(h0);
    const c0 = try a.alloc(T, d.batch * h);
    defer a.free(c0);
    const dy = try a.alloc(T, n * h);
    defer a.free(dy);
    const dcl = try a.alloc(T, d.batch * h);
    defer a.free(dcl);
    const bias = try a.alloc(T, 4 * h);
    defer a.free(bias);
    fill(T, rnd, bias, 1);
    fill(T, rnd, gx, 1);
    fill(T, rnd, w, 1 / @sqrt(@as(T, @floatFromInt(h))));
    fill(T, rnd, h0, 1);
    fill(T, rnd, c0, 1);
    fill(T, rnd, dy, 1);
    fill(T, rnd, dcl, 1);
    var outs: [2][7][]T = undefined;
    for (&outs) |*o| {
        o[0] = try a.alloc(T, n * h); // y
        o[1] = try a.alloc(T, n * 5 * h); // ws
        o[2] = try a.alloc(T, n * 4 * h); // dg
        o[3] = try a.alloc(T, d.batch * h); // dh0
        o[4] = try a.alloc(T, d.batch * h); // dc0
        o[5] = &.{};
        o[6] = &.{};
    }
    defer for (outs) |o| for (o[0..5]) |x| a.free(x);
    const bp: ?[*]const T = if (full) bias.ptr else null;
    const hp: ?[*]const T = if (full) h0.ptr else null;
    const cp: ?[*]const T = if (full) c0.ptr else null;
    try L.forward(gx.ptr, w.ptr, bp, hp, cp, outs[0][0].ptr, outs[0][1].ptr, d);
    L.forwardReference(gx.ptr, w.ptr, bp, hp, cp, outs[1][0].ptr, outs[1][1].ptr, d);
    try expectClose(T, "lstm y", outs[0][0], outs[1][0], tolFor(T));
    try expectClose(T, "lstm saved gates", outs[0][1], outs[1][1], tolFor(T));
    try L.backward(w.ptr, cp, outs[0][1].ptr, dy.ptr, dcl.ptr, outs[0][2].ptr, if (full) outs[0][3].ptr else null, outs[0][4].ptr, d);
    L.backwardReference(w.ptr, cp, outs[1][1].ptr, dy.ptr, dcl.ptr, outs[1][2].ptr, if (full) outs[1][3].ptr else null, outs[1][4].ptr, d);
    try expectClose(T, "lstm dG", outs[0][2], outs[1][2], tolFor(T));
    if (full) try expectClose(T, "lstm dh0", outs[0][3], outs[1][3], tolFor(T));
    try expectClose(T, "lstm dc0", outs[0][4], outs[1][4], tolFor(T));
}

fn gruCase(comptime T: type, rnd: std.Random, d: Dims) !void {
    const a = std.testing.allocator;
    const n = d.steps * d.batch;
    const h = d.hidden;
    const G = Gru(T);
    const gx = try a.alloc(T, n * 3 * h);
    defer a.free(gx);
    const w = try a.alloc(T, 3 * h * h);
    defer a.free(w);
    const bh = try a.alloc(T, 3 * h);
    defer a.free(bh);
    const h0 = try a.alloc(T, d.batch * h);
    defer a.free(h0);
    const dy = try a.alloc(T, n * h);
    defer a.free(dy);
    fill(T, rnd, gx, 1);
    fill(T, rnd, w, 1 / @sqrt(@as(T, @floatFromInt(h))));
    fill(T, rnd, bh, 0.5);
    fill(T, rnd, h0, 1);
    fill(T, rnd, dy, 1);
    var outs: [2][5][]T = undefined;
    for (&outs) |*o| {
        o[0] = try a.alloc(T, n * h);
        o[1] = try a.alloc(T, n * 4 * h);
        o[2] = try a.alloc(T, n * 3 * h);
        o[3] = try a.alloc(T, n * 3 * h);
        o[4] = try a.alloc(T, d.batch * h);
    }
    defer for (outs) |o| for (o) |x| a.free(x);
    try G.forward(gx.ptr, w.ptr, bh.ptr, h0.ptr, outs[0][0].ptr, outs[0][1].ptr, d);
    G.forwardReference(gx.ptr, w.ptr, bh.ptr, h0.ptr, outs[1][0].ptr, outs[1][1].ptr, d);
    try expectClose(T, "gru y", outs[0][0], outs[1][0], tolFor(T));
    try expectClose(T, "gru saved gates", outs[0][1], outs[1][1], tolFor(T));
    try G.backward(w.ptr, h0.ptr, outs[0][0].ptr, outs[0][1].ptr, dy.ptr, outs[0][2].ptr, outs[0][3].ptr, outs[0][4].ptr, d);
    G.backwardReference(w.ptr, h0.ptr, outs[1][0].ptr, outs[1][1].ptr, dy.ptr, outs[1][2].ptr, outs[1][3].ptr, outs[1][4].ptr, d);
    try expectClose(T, "gru dgx", outs[0][2], outs[1][2], tolFor(T));
    try expectClose(T, "gru dgh", outs[0][3], outs[1][3], tolFor(T));
    try expectClose(T, "gru dh0", outs[0][4], outs[1][4], tolFor(T));
}

test "fused LSTM and GRU time loops match the reference loops, forward and backward" {
    var prng = std.Random.DefaultPrng.init(11);
    const rnd = prng.random();
    // Hidden sizes below, at and past a panel, batch rows past a micro-tile
    // (24 rows take full-height tiles, 32 and most others the shorter ones:
    // see matmul.PackedB), one step, both directions, 1 to 3 threads (teams
    // split by units below 8 rows a member, by rows from there: Team.plan).
    const shapes = [_][3]usize{ .{ 1, 1, 1 }, .{ 3, 2, 5 }, .{ 5, 13, 33 }, .{ 4, 7, 64 }, .{ 2, 25, 70 }, .{ 2, 24, 40 }, .{ 3, 32, 33 } };
    for ([_]u32{ 1, 2, 3 }) |threads| {
        pool.setNumThreads(threads);
        for (shapes) |sh| for ([_]bool{ false, true }) |rev| {
            const d = Dims{ .steps = sh[0], .batch = sh[1], .hidden = sh[2], .reverse = rev };
            for ([_]bool{ true, false }) |full| {
                try lstmCase(f32, rnd, d, full);
                try lstmCase(f64, rnd, d, full);
            }
            try gruCase(f32, rnd, d);
            try gruCase(f64, rnd, d);
        };
    }
}
