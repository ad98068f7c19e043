//! A persistent thread pool for data-parallel kernels.
//!
//! The calling thread posts one job (a function, a context and a chunk count),
//! works on chunks itself, and returns when every chunk is done. Workers spin
//! briefly after a job (back-to-back kernels are common in a training step),
//! then sleep on a futex.
//!
//! Several threads may call in at once (each Deno Worker is a thread of its
//! own, and every Worker that imports Zeno shares this one library). The pool
//! serves one caller at a time: a caller that finds it serving another runs
//! its own chunks on its own thread instead of waiting, so no caller ever
//! blocks on another and the cores stay busy. The chunk count a kernel splits
//! into depends only on the caller's thread count, never on who runs the
//! chunks, so a result is the same bits whichever way it ran.
//!
//! The library is compiled as several units that build in parallel (see
//! build.zig), and they must share one pool: two would each start workers
//! that spin for the same cores. The unit whose root declares
//! `pub const pool_role: pool.Role = .owner` holds the pool's state and
//! exports its three entry points (hidden: linked inside the library, not
//! exported from it); a root declaring `.client` calls those. A compilation
//! whose root declares neither (the Zig tests) owns a pool of its own. The
//! generic fronts (`run`, `runSteps`) are compiled into every unit; only a
//! type-erased job crosses between units.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

pub const max_threads: u32 = 256;

/// A job's chunk function; the C convention, since it may cross units.
const Fn = *const fn (ctx: *const anyopaque, chunk: u32) callconv(.c) void;

/// Which side of the shared pool a compilation unit is (see the top).
pub const Role = enum { owner, client };
const root = @import("root");
const role: Role = if (@hasDecl(root, "pool_role")) root.pool_role else .owner;

/// The entry points: this unit's own functions, or the owner unit's.
const entries = switch (role) {
    .owner => struct {
        const num_threads = ownNumThreads;
        const run = ownRun;
        const team = ownTeam;
    },
    .client => struct {
        extern fn zeno_pool_num_threads() callconv(.c) u32;
        extern fn zeno_pool_run(chunks: u32, ctx: *const anyopaque, f: Fn) callconv(.c) void;
        extern fn zeno_pool_team(members: u32, ctx: *const anyopaque, f: Fn) callconv(.c) bool;
        const num_threads = zeno_pool_num_threads;
        const run = zeno_pool_run;
        const team = zeno_pool_team;
    },
};

comptime {
    if (role == .owner and @hasDecl(root, "pool_role")) {
        @export(&ownNumThreads, .{ .name = "zeno_pool_num_threads", .visibility = .hidden });
        @export(&ownRun, .{ .name = "zeno_pool_run", .visibility = .hidden });
        @export(&ownTeam, .{ .name = "zeno_pool_team", .visibility = .hidden });
    }
}

/// High 32 bits: job generation; low 32 bits: next chunk to claim. One word,
/// so a worker can never claim a chunk of a newer job with an older job's view.
var claim = std.atomic.Value(u64).init(0);
/// Futex word the workers sleep on: the low 32 bits of the generation.
var wake_seq = std.atomic.Value(u32).init(0);
/// Chunks of the current job not yet finished.
var remaining = std.atomic.Value(u32).init(0);
/// High 32 bits: the generation the job belongs to; low 32 bits: its chunk
/// count. Published before `claim`, so a worker never compares a chunk index
/// of one job with the chunk count of another.
var job_meta = std.atomic.Value(u64).init(0);
var job_fn: Fn = undefined;
var job_ctx: *const anyopaque = undefined;
/// The thread count of the caller that posted the current job: a worker
/// running its chunks splits nested work as that caller would.
var job_threads = std.atomic.Value(u32).init(1);
/// Set while this thread runs chunks: a kernel that calls `run` from inside a
/// chunk gets its chunks run in place instead of replacing the running job.
threadlocal var in_task: bool = false;

/// Held by the caller whose job the workers serve, from posting the job until
/// its last chunk is done. Everything above and `workers_started` change only
/// under it.
var serving = std.atomic.Value(bool).init(false);

/// The thread count kernels split work for, per calling thread (each Worker
/// sets its own; a worker thread takes the count of the job it runs).
/// 0: not chosen yet, use the core count.
threadlocal var threads_wanted: u32 = 0;
var workers_started: u32 = 0;
var shutdown = std.atomic.Value(bool).init(false);

fn io() std.Io {
    return std.Io.Threaded.global_single_threaded.io();
}

/// The number of threads (the caller included) that kernels called from this
/// thread use.
pub fn numThreads() u32 {
    return entries.num_threads();
}

fn ownNumThreads() callconv(.c) u32 {
    if (threads_wanted == 0) {
        const n = std.Thread.getCpuCount() catch 1;
        threads_wanted = @intCast(@min(@max(n, 1), max_threads));
    }
    return threads_wanted;
}

/// Sets the number of threads for kernels called from this thread; extra
/// workers start lazily and surplus ones idle.
pub fn setNumThreads(n: u32) void {
    if (role != .owner) @compileError("pool.setNumThreads: only the unit that owns the pool sets its thread count");
    assert(n >= 1 and n <= max_threads);
    threads_wanted = n;
}

/// dladdr's record (the same layout on glibc and macOS).
pub const DlInfo = extern struct {
    fname: ?[*:0]const u8,
    fbase: ?*anyopaque,
    sname: ?[*:0]const u8,
    saddr: ?*anyopaque,
};
pub extern "c" fn dladdr(addr: *const anyopaque, info: *DlInfo) c_int;

/// Marks this library never to be unloaded. The workers run its code for the
/// life of the process; if the host unloads the library (Deno closes a
/// dynamic library when the isolate that opened it ends), a worker woken by
/// a signal would return into unmapped memory. Best effort: without dladdr
/// (Windows) the library stays as loaded.
pub fn pinLibrary() void {
    const os = builtin.os.tag;
    if (builtin.link_libc and (os == .linux or os.isDarwin())) {
        var info: DlInfo = undefined;
        if (dladdr(@ptrCast(&pinLibrary), &info) == 0) return;
        const name = info.fname orelse return;
        // NOLOAD: only promotes the loaded copy; the handle is kept for good.
        _ = std.c.dlopen(name, .{ .NOW = true, .NOLOAD = true, .NODELETE = true });
    }
}

fn ensureWorkers(n: u32) bool {
    if (workers_started == 0 and workers_started + 1 < n) pinLibrary();
    while (workers_started + 1 < n) {
        // The worker starts from the generation before any job the caller is
        // about to post: reading it itself, a late-starting thread would take
        // that job for an old one and never join it (runSteps needs it to).
        const t = std.Thread.spawn(.{ .stack_size = 1 << 20 }, workerMain, .{wake_seq.load(.acquire)}) catch return false;
        t.detach();
        workers_started += 1;
    }
    return true;
}

fn runChunks(gen: u32, threads: u32) void {
    in_task = true;
    defer in_task = false;
    const own = threads_wanted;
    threads_wanted = threads;
    defer threads_wanted = own;
    while (true) {
        const v = claim.load(.acquire);
        if (@as(u32, @truncate(v >> 32)) != gen) return;
        const meta = job_meta.load(.acquire);
        if (@as(u32, @truncate(meta >> 32)) != gen) return;
        const idx: u32 = @truncate(v);
        if (idx >= @as(u32, @truncate(meta))) return;
        if (claim.cmpxchgWeak(v, v + 1, .acq_rel, .acquire) != null) continue;
        // The claim succeeded, so this job is unfinished and its fields are stable.
        job_fn(job_ctx, idx);
        if (remaining.fetchSub(1, .acq_rel) == 1) io().futexWake(u32, &remaining.raw, 1);
    }
}

fn workerMain(first_seen: u32) void {
    var seen: u32 = first_seen;
    while (!shutdown.load(.acquire)) {
        var spins: u32 = 0;
        while (wake_seq.load(.acquire) == seen and spins < 20_000) : (spins += 1) std.atomic.spinLoopHint();
        while (wake_seq.load(.acquire) == seen) io().futexWaitUncancelable(u32, &wake_seq.raw, seen);
        seen = wake_seq.load(.acquire);
        runChunks(seen, job_threads.load(.monotonic));
    }
}

/// Runs `f(ctx, chunk)` for chunk in [0, chunks), spread over the pool.
pub fn run(chunks: u32, ctx: anytype, comptime f: fn (@TypeOf(ctx), u32) void) void {
    const Ctx = @TypeOf(ctx);
    comptime assert(@typeInfo(Ctx) == .pointer);
    if (chunks == 0) return;
    // One chunk posts no job (and stays a direct call the compiler can inline).
    if (chunks == 1) return f(ctx, 0);
    entries.run(chunks, @ptrCast(ctx), Erased(Ctx, u32, f).call);
}

/// `f` behind the type-erased signature a job carries.
fn Erased(comptime Ctx: type, comptime Arg: type, comptime f: fn (Ctx, Arg) void) type {
    return struct {
        fn call(p: *const anyopaque, arg: Arg) callconv(.c) void {
            f(@ptrCast(@alignCast(p)), arg);
        }
    };
}

fn ownRun(chunks: u32, ctx: *const anyopaque, f: Fn) callconv(.c) void {
    const n = ownNumThreads();
    if (builtin.single_threaded or chunks == 1 or n == 1 or in_task) return runInPlace(chunks, ctx, f);
    // Another caller's job holds the workers: run this one here.
    if (serving.cmpxchgStrong(false, true, .acquire, .monotonic) != null) return runInPlace(chunks, ctx, f);
    defer serving.store(false, .release);
    if (!ensureWorkers(n)) return runInPlace(chunks, ctx, f);
    post(chunks, ctx, f);
}

/// Runs a team job of `members` chunks (see runSteps) when every member can
/// hold a thread of its own; false, having run nothing, when not.
fn ownTeam(members: u32, ctx: *const anyopaque, f: Fn) callconv(.c) bool {
    const n = ownNumThreads();
    if (builtin.single_threaded or members > n or in_task) return false;
    if (serving.cmpxchgStrong(false, true, .acquire, .monotonic) != null) return false;
    defer serving.store(false, .release);
    // Every member must hold a thread of its own (a member waits at the
    // barrier for the others): with n - 1 workers and the caller, and a
    // member never leaving its thread before the last barrier, the job's
    // `members` chunks are all claimed by distinct threads.
    if (!ensureWorkers(n)) return false;
    post(members, ctx, f);
    return true;
}

/// Publishes a job of `chunks` chunks, works on it, and returns when every
/// chunk is done. The caller holds `serving` and has the workers started.
fn post(chunks: u32, ctx: *const anyopaque, f: Fn) void {
    const n = ownNumThreads();
    const gen: u32 = wake_seq.load(.monotonic) +% 1;
    job_fn = f;
    job_ctx = ctx;
    job_threads.store(n, .monotonic);
    job_meta.store((@as(u64, gen) << 32) | chunks, .release);
    remaining.store(chunks, .release);
    claim.store(@as(u64, gen) << 32, .release);
    wake_seq.store(gen, .release);
    io().futexWake(u32, &wake_seq.raw, std.math.maxInt(u32));
    runChunks(gen, n);
    var spins: u32 = 0;
    while (true) {
        const r = remaining.load(.acquire);
        if (r == 0) break;
        if (spins < 100_000) {
            spins += 1;
            std.atomic.spinLoopHint();
        } else io().futexWaitUncancelable(u32, &remaining.raw, r);
    }
}

/// A chunk here may still post nested work to the pool (one chunk of a
/// batched GEMM runs its rows in parallel).
fn runInPlace(chunks: u32, ctx: *const anyopaque, f: Fn) void {
    var c: u32 = 0;
    while (c < chunks) : (c += 1) f(ctx, c);
}

/// Runs `f(ctx, member, step)` for every step in [0, steps) and member in
/// [0, members), each member's step s only after every member's step s - 1.
///
/// For sequential loops whose steps are split the same way every time (a
/// recurrent layer's time loop): one job for all the steps, each thread keeping
/// its own member from the first step to the last, so the data a member writes
/// at one step and reads at the next stays in its core's cache, and the steps
/// meet at a barrier instead of posting a job each. Members must not depend on
/// who runs them: when the pool is busy, or from inside a chunk, the calling
/// thread runs every member of a step in turn, which gives the same bits.
pub fn runSteps(members: u32, steps: usize, ctx: anytype, comptime f: fn (@TypeOf(ctx), u32, usize) void) void {
    const Ctx = @TypeOf(ctx);
    comptime assert(@typeInfo(Ctx) == .pointer);
    if (members == 0 or steps == 0) return;
    if (!builtin.single_threaded and members > 1) {
        var barrier = Barrier{ .members = members };
        const Team = struct {
            ctx: Ctx,
            steps: usize,
            barrier: *Barrier,
            fn member(t: *const @This(), m: u32) void {
                for (0..t.steps) |s| {
                    if (s > 0) t.barrier.wait();
                    f(t.ctx, m, s);
                }
            }
        };
        const team = Team{ .ctx = ctx, .steps = steps, .barrier = &barrier };
        if (entries.team(members, @ptrCast(&team), Erased(*const Team, u32, Team.member).call)) return;
    }
    for (0..steps) |s| {
        var m: u32 = 0;
        while (m < members) : (m += 1) f(ctx, m, s);
    }
}

/// As runSteps for members that never read what another member wrote (a
/// recurrent layer split by batch rows): each member runs all its steps in
/// order with no barrier between them, so a member that a busy machine
/// delays holds up nobody until the end.
pub fn runStepsApart(members: u32, steps: usize, ctx: anytype, comptime f: fn (@TypeOf(ctx), u32, usize) void) void {
    const Ctx = @TypeOf(ctx);
    comptime assert(@typeInfo(Ctx) == .pointer);
    if (members == 0 or steps == 0) return;
    const Apart = struct {
        ctx: Ctx,
        steps: usize,
        fn member(t: *const @This(), m: u32) void {
            for (0..t.steps) |s| f(t.ctx, m, s);
        }
    };
    const apart = Apart{ .ctx = ctx, .steps = steps };
    run(members, &apart, Apart.member);
}

/// A spinning barrier for a team of threads that each hold a core; after a
/// while a waiter sleeps (a shared machine may have taken a member's core).
const Barrier = struct {
    members: u32,
    arrived: std.atomic.Value(u32) = std.atomic.Value(u32).init(0),
    /// Futex word: advanced by the last member to arrive.
    phase: std.atomic.Value(u32) = std.atomic.Value(u32).init(0),
    sleepers: std.atomic.Value(u32) = std.atomic.Value(u32).init(0),

    fn wait(b: *Barrier) void {
        const ph = b.phase.load(.acquire);
        if (b.arrived.fetchAdd(1, .acq_rel) + 1 == b.members) {
            b.arrived.store(0, .monotonic);
            b.phase.store(ph +% 1, .seq_cst);
            if (b.sleepers.load(.seq_cst) > 0) io().futexWake(u32, &b.phase.raw, std.math.maxInt(u32));
            return;
        }
        var spins: u32 = 0;
        while (b.phase.load(.acquire) == ph) {
            if (spins < 100_000) {
                spins += 1;
                std.atomic.spinLoopHint();
            } else {
                _ = b.sleepers.fetchAdd(1, .seq_cst);
                io().futexWaitUncancelable(u32, &b.phase.raw, ph);
                _ = b.sleepers.fetchSub(1, .seq_cst);
            }
        }
    }
};

/// Splits `n` items into chunks of at least `grain` items, at most a few per thread.
pub fn chunkCount(n: usize, grain: usize) u32 {
    assert(grain > 0);
    if (n <= grain) return 1;
    const by_size = (n + grain - 1) / grain;
    const limit: usize = @as(usize, numThreads()) * 4;
    return @intCast(@min(by_size, limit));
}

/// The half-open range of chunk `c` of `chunks` over `n` items.
pub fn chunkRange(n: usize, chunks: u32, c: u32) struct { usize, usize } {
    assert(c < chunks);
    const begin = n * c / chunks;
    const end = n * (c + 1) / chunks;
    return .{ begin, end };
}

test "pool runs every chunk exactly once" {
    var hits: [64]std.atomic.Value(u32) = @splat(std.atomic.Value(u32).init(0));
    setNumThreads(4);
    const Ctx = struct { hits: *[64]std.atomic.Value(u32) };
    const ctx = Ctx{ .hits = &hits };
    var round: u32 = 0;
    while (round < 200) : (round += 1) {
        run(64, &ctx, struct {
            fn f(c: *const Ctx, chunk: u32) void {
                _ = c.hits[chunk].fetchAdd(1, .monotonic);
            }
        }.f);
    }
    for (hits) |h| try std.testing.expectEqual(@as(u32, 200), h.load(.monotonic));
}

test "back-to-back jobs with different chunk counts each run exactly their chunks" {
    // A worker still leaving job g must not claim chunks against job g+1's count.
    setNumThreads(4);
    const Ctx = struct { hits: *std.atomic.Value(u32), chunks: u32 };
    var hits = std.atomic.Value(u32).init(0);
    var round: u32 = 0;
    var expect: u32 = 0;
    while (round < 20_000) : (round += 1) {
        const chunks = 1 + (round * 7919) % 37;
        const ctx = Ctx{ .hits = &hits, .chunks = chunks };
        run(chunks, &ctx, struct {
            fn f(c: *const Ctx, chunk: u32) void {
                std.debug.assert(chunk < c.chunks);
                _ = c.hits.fetchAdd(1, .monotonic);
            }
        }.f);
        expect += chunks;
        try std.testing.expectEqual(expect, hits.load(.monotonic));
    }
}

test "runSteps runs every member of a step after every member of the step before" {
    const steps = 300;
    const Ctx = struct {
        done: *[steps]std.atomic.Value(u32),
        members: u32,
        bad: *std.atomic.Value(u32),
    };
    var done: [steps]std.atomic.Value(u32) = @splat(std.atomic.Value(u32).init(0));
    var bad = std.atomic.Value(u32).init(0);
    for ([_]u32{ 1, 2, 4 }) |threads| {
        setNumThreads(threads);
        for ([_]u32{ 1, 2, 3, 4, 7 }) |members| {
            for (&done) |*d| d.store(0, .monotonic);
            const ctx = Ctx{ .done = &done, .members = members, .bad = &bad };
            runSteps(members, steps, &ctx, struct {
                fn f(c: *const Ctx, m: u32, s: usize) void {
                    std.debug.assert(m < c.members);
                    if (s > 0 and c.done[s - 1].load(.acquire) != c.members) _ = c.bad.fetchAdd(1, .monotonic);
                    if (c.done[s].load(.acquire) >= c.members) _ = c.bad.fetchAdd(1, .monotonic);
                    _ = c.done[s].fetchAdd(1, .acq_rel);
                }
            }.f);
            for (&done) |*d| try std.testing.expectEqual(members, d.load(.monotonic));
            try std.testing.expectEqual(@as(u32, 0), bad.load(.monotonic));
        }
    }
}

test "runStepsApart runs each member's steps once and in order" {
    const steps = 300;
    const Ctx = struct {
        next: *[8]std.atomic.Value(usize),
        bad: *std.atomic.Value(u32),
    };
    var next: [8]std.atomic.Value(usize) = @splat(std.atomic.Value(usize).init(0));
    var bad = std.atomic.Value(u32).init(0);
    for ([_]u32{ 1, 2, 4 }) |threads| {
        setNumThreads(threads);
        for ([_]u32{ 1, 2, 3, 8 }) |members| {
            for (&next) |*n| n.store(0, .monotonic);
            const ctx = Ctx{ .next = &next, .bad = &bad };
            runStepsApart(members, steps, &ctx, struct {
                fn f(c: *const Ctx, m: u32, s: usize) void {
                    // A member's steps come one after another, from 0.
                    if (c.next[m].swap(s + 1, .monotonic) != s) _ = c.bad.fetchAdd(1, .monotonic);
                }
            }.f);
            for (next[0..members]) |*n| try std.testing.expectEqual(@as(usize, steps), n.load(.monotonic));
            for (next[members..]) |*n| try std.testing.expectEqual(@as(usize, 0), n.load(.monotonic));
            try std.testing.expectEqual(@as(u32, 0), bad.load(.monotonic));
        }
    }
}

test "runSteps from inside a chunk runs its members in place" {
    setNumThreads(4);
    const Inner = struct { n: *std.atomic.Value(u32) };
    var n = std.atomic.Value(u32).init(0);
    const outer = Inner{ .n = &n };
    run(4, &outer, struct {
        fn f(c: *const Inner, _: u32) void {
            runSteps(3, 5, c, struct {
                fn g(cc: *const Inner, _: u32, _: usize) void {
                    _ = cc.n.fetchAdd(1, .monotonic);
                }
            }.g);
        }
    }.f);
    try std.testing.expectEqual(@as(u32, 60), n.load(.monotonic));
}

test "run called from inside a chunk runs in place" {
    setNumThreads(4);
    const Inner = struct { n: *std.atomic.Value(u32) };
    var n = std.atomic.Value(u32).init(0);
    const outer = Inner{ .n = &n };
    run(8, &outer, struct {
        fn f(c: *const Inner, _: u32) void {
            run(4, c, struct {
                fn g(cc: *const Inner, _: u32) void {
                    _ = cc.n.fetchAdd(1, .monotonic);
                }
            }.g);
        }
    }.f);
    try std.testing.expectEqual(@as(u32, 32), n.load(.monotonic));
}

test "callers on several threads at once each get every chunk of their own jobs" {
    // Deno Workers call in from threads of their own: a job must never see
    // another caller's chunks or lose its own.
    const Caller = struct {
        fn main(id: u32, failures: *std.atomic.Value(u32)) void {
            setNumThreads(4);
            const Ctx = struct { hits: *[64]u32, id: u32 };
            var round: u32 = 0;
            while (round < 3000) : (round += 1) {
                var hits: [64]u32 = @splat(0);
                const chunks = 2 + (round * 31 + id * 7) % 62;
                const ctx = Ctx{ .hits = &hits, .id = id };
                run(chunks, &ctx, struct {
                    fn f(c: *const Ctx, chunk: u32) void {
                        // Chunks of one job touch distinct slots.
                        c.hits[chunk] += 1;
                    }
                }.f);
                for (hits, 0..) |h, i| {
                    const want: u32 = if (i < chunks) 1 else 0;
                    if (h != want) _ = failures.fetchAdd(1, .monotonic);
                }
            }
        }
    };
    var failures = std.atomic.Value(u32).init(0);
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*t, i| t.* = try std.Thread.spawn(.{}, Caller.main, .{ @as(u32, @intCast(i)), &failures });
    for (threads) |t| t.join();
    try std.testing.expectEqual(@as(u32, 0), failures.load(.monotonic));
}

test "the thread count is per calling thread, and workers split nested work by the job's" {
    setNumThreads(3);
    try std.testing.expectEqual(@as(u32, 3), numThreads());
    const Other = struct {
        fn main(seen: *u32) void {
            setNumThreads(2);
            seen.* = numThreads();
        }
    };
    var seen: u32 = 0;
    const t = try std.Thread.spawn(.{}, Other.main, .{&seen});
    t.join();
    try std.testing.expectEqual(@as(u32, 2), seen);
    try std.testing.expectEqual(@as(u32, 3), numThreads());
    const Ctx = struct { counts: *[16]std.atomic.Value(u32) };
    var counts: [16]std.atomic.Value(u32) = @splat(std.atomic.Value(u32).init(0));
    const ctx = Ctx{ .counts = &counts };
    run(16, &ctx, struct {
        fn f(c: *const Ctx, chunk: u32) void {
            c.counts[chunk].store(numThreads(), .monotonic);
        }
    }.f);
    for (counts) |c| try std.testing.expectEqual(@as(u32, 3), c.load(.monotonic));
}
