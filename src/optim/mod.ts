/**
 * `zn.optim`: optimizers with fused update kernels, and learning-rate schedulers.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(3, 1);
 * const opt = new zn.optim.Adam(net.parameters(), { lr: 0.01 });
 * const sched = new zn.optim.lrScheduler.StepLR(opt, { stepSize: 10, gamma: 0.5 });
 * const x = zn.randn([16, 3]), y = x.sum(1, true);
 * for (let epoch = 0; epoch < 20; epoch++) {
 *   opt.zeroGrad();
 *   zn.nn.functional.mseLoss(net.call(x), y).backward();
 *   opt.step();
 *   sched.step();
 * }
 * sched.getLastLr(); // [0.0025]
 * ```
 *
 * @module
 */
export * from "./optimizer.ts";
export * from "./sgd.ts";
export * from "./adam.ts";
export * from "./rmsprop.ts";
export * from "./adagrad.ts";
export * from "./adam_variants.ts";
export * from "./adadelta.ts";
export * from "./lbfgs.ts";
export * as lrScheduler from "./lr_scheduler.ts";
export * as swaUtils from "./swa_utils.ts";
