/**
 * `zn.metrics`: classification metrics with scikit-learn's definitions.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { accuracy, classificationReport, f1 } = zn.metrics;
 * const logits = zn.tensor([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.1, 0.2, 0.4]]);
 * const target = zn.tensor([0n, 1n, 1n]);
 * accuracy(logits, target); // 2/3
 * f1(logits, target, { average: "weighted" });
 * console.log(classificationReport(logits, target, { numClasses: 3 }).toString());
 * ```
 *
 * @module
 */
export * from "./classification.ts";
