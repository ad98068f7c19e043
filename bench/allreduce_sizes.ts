/**
 * The sizes and the timing loop that bench/allreduce_rank.ts and
 * bench/allreduce_rank.py share.
 *
 * @module
 */

/** Message sizes in bytes: 4 KB to 256 MB, by factors of 4. */
export const SIZES: number[] = Array.from({ length: 9 }, (_, i) => 4096 * 4 ** i);

/**
 * Median seconds per call of `f`: every rank runs the same number of calls
 * (more for small messages) after fifty samples' worth of warm-up, each
 * sample after a barrier.
 */
export function timeCalls(f: () => void, barrier: () => void, bytes: number): number {
  const calls = Math.max(1, Math.min(200, Math.floor(2 ** 24 / bytes)));
  // Long enough a warm-up for the JIT to compile the call path.
  for (let i = 0; i < Math.max(3, 50 * calls); i++) f();
  const samples: number[] = [];
  for (let s = 0; s < 7; s++) {
    barrier();
    const t = performance.now();
    for (let i = 0; i < calls; i++) f();
    samples.push((performance.now() - t) / 1e3 / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}
