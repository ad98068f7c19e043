/**
 * `zn.nn.utils`: gradient clipping, and `zn.nn.utils.rnn` for padded and
 * packed batches of sequences.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(4, 2);
 * net.call(zn.randn([8, 4])).pow(2).sum().backward();
 * zn.nn.utils.clipGradNorm_(net.parameters(), 1.0); // returns the norm before clipping
 * zn.nn.utils.clipGradValue_(net.parameters(), 0.1); // then each entry into [-0.1, 0.1]
 * const padded = zn.nn.utils.rnn.padSequence([zn.ones([3, 4]), zn.ones([2, 4])]); // [3, 2, 4]
 * ```
 *
 * @module
 */
export * from "./clip_grad.ts";
export * as rnn from "./rnn.ts";
