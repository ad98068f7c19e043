/**
 * Classification metrics against scikit-learn's numbers (worked by hand from
 * sklearn's definitions, zero_division=0) and a brute-force reference.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import * as zn from "../mod.ts";
import {
  accuracy,
  classificationReport,
  confusionMatrix,
  f1,
  precision,
  recall,
} from "../src/metrics/mod.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  ok(Math.abs(a - b) <= tol, `expected ${b}, got ${a}`);
const closeAll = (a: number[], b: number[]) => {
  strictEqual(a.length, b.length);
  a.forEach((v, i) => close(v, b[i]));
};

// (true, pred): class 3 is predicted but never true, class 4 never occurs.
const target = [0, 1, 2, 2, 1, 2, 0, 0];
const pred = [0, 1, 1, 2, 2, 2, 0, 3];
const predT = () => zn.tensor(pred, { dtype: "int64" });
const targetT = () => zn.tensor(target, { dtype: "int64" });

Deno.test("metrics: accuracy from indices and from logits", () => {
  strictEqual(accuracy(predT(), targetT()), 5 / 8);
  strictEqual(accuracy(pred, target), 5 / 8);
  // Labels in a float32 tensor (zn.tensor of plain numbers) count by value.
  strictEqual(accuracy(zn.tensor(pred), zn.tensor(target)), 5 / 8);
  const logits = zn.oneHot(predT(), 5).to("float32").mul(3).sub(1);
  strictEqual(accuracy(logits, targetT()), 5 / 8);
  strictEqual(accuracy([], []), 0);
  throws(() => accuracy([0, 1], [0]), RangeError);
});

Deno.test("metrics: confusion matrix rows are true classes", () => {
  const cm = confusionMatrix(predT(), targetT(), 5);
  strictEqual(cm.dtype, "int64");
  deepStrictEqual(cm.toArray(), [
    [2, 0, 0, 1, 0],
    [0, 1, 1, 0, 0],
    [0, 1, 2, 0, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
  ]);
  deepStrictEqual(confusionMatrix(pred, target).shape, [4, 4]);
  throws(() => confusionMatrix([0, 5], [0, 1], 3), RangeError);
});

Deno.test("metrics: per-class precision, recall and f1 (sklearn, zero_division=0)", () => {
  closeAll(precision(pred, target, { average: "none", numClasses: 5 }), [1, 0.5, 2 / 3, 0, 0]);
  closeAll(recall(pred, target, { average: "none", numClasses: 5 }), [2 / 3, 0.5, 2 / 3, 0, 0]);
  closeAll(f1(pred, target, { average: "none", numClasses: 5 }), [0.8, 0.5, 2 / 3, 0, 0]);
});

Deno.test("metrics: macro, weighted and micro averages", () => {
  // sklearn default labels: those in y_true or y_pred (0..3).
  close(precision(pred, target), (1 + 0.5 + 2 / 3 + 0) / 4); // 0.541666...
  close(recall(pred, target, { average: "macro" }), (2 / 3 + 0.5 + 2 / 3) / 4); // 0.458333...
  close(f1(pred, target), (0.8 + 0.5 + 2 / 3) / 4); // 0.491666...
  // labels=range(5): the absent class counts as 0.
  close(precision(pred, target, { numClasses: 5 }), (1 + 0.5 + 2 / 3) / 5);
  close(precision(pred, target, { average: "weighted" }), (3 * 1 + 2 * 0.5 + 3 * (2 / 3)) / 8);
  close(recall(pred, target, { average: "weighted" }), 5 / 8);
  close(f1(pred, target, { average: "weighted", numClasses: 5 }), (3 * 0.8 + 2 * 0.5 + 2) / 8);
  for (const fn of [precision, recall, f1]) close(fn(pred, target, { average: "micro" }), 5 / 8);
});

Deno.test("metrics: zero denominators give 0", () => {
  deepStrictEqual(precision([0, 0], [1, 1], { average: "none" }), [0, 0]);
  deepStrictEqual(recall([0, 0], [1, 1], { average: "none" }), [0, 0]);
  strictEqual(f1([0, 0], [1, 1], { average: "macro" }), 0);
  strictEqual(f1([], [], { average: "weighted" }), 0);
});

function reference(p: number[], t: number[], c: number) {
  const out = { precision: [] as number[], recall: [] as number[], f1: [] as number[] };
  for (let k = 0; k < c; k++) {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < p.length; i++) {
      if (p[i] === k && t[i] === k) tp++;
      else if (p[i] === k) fp++;
      else if (t[i] === k) fn++;
    }
    const P = tp + fp ? tp / (tp + fp) : 0, R = tp + fn ? tp / (tp + fn) : 0;
    out.precision.push(P);
    out.recall.push(R);
    out.f1.push(P + R ? (2 * P * R) / (P + R) : 0);
  }
  return out;
}

Deno.test("metrics: random labels agree with the textbook definitions", () => {
  const g = new zn.Generator(7);
  for (let trial = 0; trial < 5; trial++) {
    const c = 2 + trial;
    const n = 50 + 13 * trial;
    const t = Array.from({ length: n }, () => g.nextInt(0, c));
    const p = t.map((v) => (g.nextFloat() < 0.6 ? v : g.nextInt(0, c)));
    const ref = reference(p, t, c);
    closeAll(precision(p, t, { average: "none", numClasses: c }), ref.precision);
    closeAll(recall(p, t, { average: "none", numClasses: c }), ref.recall);
    closeAll(f1(p, t, { average: "none", numClasses: c }), ref.f1);
    const support = Array.from({ length: c }, (_, k) => t.filter((v) => v === k).length);
    close(
      f1(p, t, { average: "weighted", numClasses: c }),
      ref.f1.reduce((a, v, k) => a + v * support[k], 0) / n,
    );
    close(recall(p, t, { average: "micro", numClasses: c }), accuracy(p, t));
  }
});

Deno.test("metrics: classification report values and text", () => {
  const r = classificationReport(predT(), targetT(), {
    classNames: ["a", "b", "c", "d"],
  });
  deepStrictEqual(r.classes.map((c) => c.name), ["a", "b", "c", "d"]);
  deepStrictEqual(r.classes.map((c) => c.support), [3, 2, 3, 0]);
  closeAll(r.classes.map((c) => c.f1), [0.8, 0.5, 2 / 3, 0]);
  strictEqual(r.accuracy, 5 / 8);
  close(r.macroAvg.precision, (1 + 0.5 + 2 / 3) / 4);
  close(r.weightedAvg.f1, (3 * 0.8 + 2 * 0.5 + 2) / 8);
  strictEqual(r.macroAvg.support, 8);
  const text = r.toString();
  const lines = text.split("\n");
  strictEqual(lines[0], "              precision    recall  f1-score   support");
  strictEqual(lines[2], "           a       1.00      0.67      0.80         3");
  ok(lines.includes("    accuracy                           0.62         8"), text);
  ok(lines.includes("   macro avg       0.54      0.46      0.49         8"), text);
  ok(lines.includes("weighted avg       0.75      0.62      0.68         8"), text);
  strictEqual(classificationReport(pred, target, { numClasses: 5 }).classes.length, 5);
});
