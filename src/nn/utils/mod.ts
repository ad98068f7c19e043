/**
 * `zn.nn.utils`: gradient clipping.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(4, 2);
 * net.call(zn.randn([8, 4])).pow(2).sum().backward();
 * zn.nn.utils.clipGradNorm_(net.parameters(), 1.0); // returns the norm before clipping
 * zn.nn.utils.clipGradValue_(net.parameters(), 0.1); // then each entry into [-0.1, 0.1]
 * ```
 *
 * @module
 */
export * from "./clip_grad.ts";
