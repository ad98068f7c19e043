/**
 * `zn.metrics`: classification metrics with scikit-learn's definitions.
 *
 * ```ts
 * import * as zn from "../../mod.ts";
 * import { accuracy, classificationReport, f1 } from "./mod.ts";
 * const logits = zn.tensor([[2.0, 0.1, 0.3], [0.2, 1.5, 0.1], [0.1, 0.2, 0.4]]);
 * const target = zn.tensor([0n, 1n, 1n]);
 * accuracy(logits, target); // 2/3
 * f1(logits, target, { average: "weighted" });
 * console.log(classificationReport(logits, target, { numClasses: 3 }).toString());
 * ```
 *
 * @module
 */
export {
  accuracy,
  classificationReport,
  confusionMatrix,
  f1,
  precision,
  recall,
} from "./classification.ts";
export type {
  Average,
  AverageOptions,
  ClassificationReport,
  ClassScores,
  Labels,
  ReportOptions,
} from "./classification.ts";
