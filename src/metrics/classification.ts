/**
 * Classification metrics with scikit-learn's definitions: accuracy,
 * precision, recall, F1, the confusion matrix and a classification report.
 * A ratio whose denominator is zero counts as 0 (scikit-learn's
 * `zero_division=0`), without a warning.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { tensor } from "../ops/creation.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkIntArg, typeError } from "../args.ts";
import { MAX_NUMEL } from "../shape.ts";

/**
 * The most classes the metrics count (per-class arrays of this length are
 * allocated); a larger label or `numClasses` is a RangeError.
 */
const MAX_CLASSES = 2 ** 20;

/**
 * Predictions or targets: a tensor or an array of class indices.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const pred: zn.metrics.Labels = [0, 1, 1];
 * const target: zn.metrics.Labels = zn.tensor([0n, 1n, 0n]);
 * zn.metrics.accuracy(pred, target); // 0.6667
 * ```
 */
export type Labels = Tensor | ArrayLike<number | bigint>;

/**
 * How per-class scores are combined into one.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const average: zn.metrics.Average = "none";
 * zn.metrics.recall([0, 1, 1], [0, 1, 0], { average }); // [0.5, 1]
 * ```
 */
export type Average = "micro" | "macro" | "weighted" | "none";

/**
 * Options of {@link precision}, {@link recall} and {@link f1}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.metrics.AverageOptions = { average: "macro", numClasses: 3 };
 * zn.metrics.precision([0, 1, 1], [0, 1, 0], opts); // 0.5: class 2 counts as 0
 * ```
 */
export interface AverageOptions {
  /**
   * `"macro"` (default): the unweighted mean over classes; `"weighted"`: the
   * mean weighted by support; `"micro"`: from the summed counts (equal to
   * accuracy for single-label data); `"none"`: the per-class scores.
   */
  average?: Average;
  /**
   * Number of classes. With it every class 0..numClasses-1 enters the
   * averages (scikit-learn's `labels=range(numClasses)`); without it the
   * classes are 0..max label, and macro averages only count the classes
   * that occur in `target` or `pred` (scikit-learn's default). At most
   * 2^20 classes (labels and `numClasses`); more is a RangeError.
   */
  numClasses?: number;
}

const AVERAGE_KEYS = optionKeys<AverageOptions>({ average: 0, numClasses: 0 });

/** Class indices from predictions (indices `[N]`, or scores `[N, C]` reduced by argmax). */
function labelsOf(x: Labels, op: string, name: string, allowScores: boolean): Int32Array {
  const what = `${op}: ${name}`;
  if (!(x instanceof Tensor) && !Array.isArray(x) && !(ArrayBuffer.isView(x) && "length" in x)) {
    typeError(op, name, "a Tensor or an array of class indices", x);
  }
  if (x instanceof Tensor) {
    let t = x;
    if (t.ndim === 2 && allowScores) t = t.argmax(1);
    else if (t.ndim > 1) {
      throw new RangeError(
        `${what}: expected ${allowScores ? "[N] or [N, C]" : "[N]"}, got [${t.shape}]`,
      );
    }
    x = t.toTypedArray() as ArrayLike<number | bigint>;
  }
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Number(x[i]);
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`${what}: labels must be non-negative integers, got ${v}`);
    }
    if (v >= MAX_CLASSES) {
      throw new RangeError(
        `${what}: label ${v} is out of range: at most ${MAX_CLASSES} classes are supported`,
      );
    }
    out[i] = v;
  }
  return out;
}

interface Counts {
  /** Number of classes C. */
  c: number;
  /** Predicted class of each sample. */
  p: Int32Array;
  /** True class of each sample. */
  t: Int32Array;
  /** Correct predictions per class (the confusion matrix's diagonal). */
  tp: Float64Array;
  /** Predictions per class (its column sums). */
  predicted: Float64Array;
  /** Samples per true class (its row sums). */
  support: Float64Array;
  /** Classes entering the averages. */
  labels: number[];
}

function counts(pred: Labels, target: Labels, numClasses: number | undefined, op: string): Counts {
  if (numClasses !== undefined) checkIntArg(numClasses, op, "numClasses", 0, MAX_CLASSES);
  const p = labelsOf(pred, op, "pred", true);
  const t = labelsOf(target, op, "target", false);
  if (p.length !== t.length) {
    throw new RangeError(`${op}: pred has ${p.length} samples and target ${t.length}`);
  }
  let max = -1;
  for (let i = 0; i < p.length; i++) max = Math.max(max, p[i], t[i]);
  const c = numClasses ?? max + 1;
  if (max >= c) throw new RangeError(`${op}: label ${max} is out of range for ${c} classes`);
  const tp = new Float64Array(c), predicted = new Float64Array(c), support = new Float64Array(c);
  for (let i = 0; i < p.length; i++) {
    predicted[p[i]]++;
    support[t[i]]++;
    if (p[i] === t[i]) tp[p[i]]++;
  }
  let labels: number[];
  if (numClasses !== undefined) labels = Array.from({ length: c }, (_, k) => k);
  else {
    const seen = new Uint8Array(c);
    for (let i = 0; i < p.length; i++) seen[p[i]] = seen[t[i]] = 1;
    labels = [];
    for (let k = 0; k < c; k++) if (seen[k]) labels.push(k);
  }
  return { c, p, t, tp, predicted, support, labels };
}

interface PerClass {
  tp: number[];
  fp: number[];
  fn: number[];
  support: number[];
}

function perClass({ c, tp, predicted, support }: Counts): PerClass {
  const r: PerClass = { tp: [], fp: [], fn: [], support: [] };
  for (let k = 0; k < c; k++) {
    r.tp.push(tp[k]);
    r.fp.push(predicted[k] - tp[k]);
    r.fn.push(support[k] - tp[k]);
    r.support.push(support[k]);
  }
  return r;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

type Score = (tp: number, fp: number, fn: number) => number;
const SCORES: Record<"precision" | "recall" | "f1", Score> = {
  precision: (tp, fp) => ratio(tp, tp + fp),
  recall: (tp, _fp, fn) => ratio(tp, tp + fn),
  f1: (tp, fp, fn) => ratio(2 * tp, 2 * tp + fp + fn),
};

function averaged(
  kind: "precision" | "recall" | "f1",
  pred: Labels,
  target: Labels,
  opts: AverageOptions,
): number | number[] {
  checkOptions(kind, opts, AVERAGE_KEYS);
  const average = opts.average ?? "macro";
  const k = counts(pred, target, opts.numClasses, kind);
  const pc = perClass(k);
  const score = SCORES[kind];
  const each = pc.tp.map((tp, i) => score(tp, pc.fp[i], pc.fn[i]));
  if (average === "none") return each;
  const L = k.labels;
  if (average === "micro") {
    let tp = 0, fp = 0, fn = 0;
    for (const i of L) {
      tp += pc.tp[i];
      fp += pc.fp[i];
      fn += pc.fn[i];
    }
    return score(tp, fp, fn);
  }
  if (average === "macro") return ratio(L.reduce((a, i) => a + each[i], 0), L.length);
  if (average === "weighted") {
    const total = L.reduce((a, i) => a + pc.support[i], 0);
    return ratio(L.reduce((a, i) => a + each[i] * pc.support[i], 0), total);
  }
  throw new TypeError(`${kind}: unknown average "${average}"`);
}

/**
 * The fraction of correct predictions. `pred` holds class indices `[N]` or
 * scores (logits or probabilities) `[N, C]`, reduced by argmax.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { accuracy } = zn.metrics;
 * accuracy(zn.tensor([0, 1, 1, 2]), zn.tensor([0, 1, 2, 2])); // 0.75
 * accuracy(zn.tensor([[2.0, 0.1], [0.3, 0.9]]), [0, 0]); // 0.5
 * ```
 */
export function accuracy(pred: Labels, target: Labels): number {
  const p = labelsOf(pred, "accuracy", "pred", true);
  const t = labelsOf(target, "accuracy", "target", false);
  if (p.length !== t.length) {
    throw new RangeError(`accuracy: pred has ${p.length} samples and target ${t.length}`);
  }
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === t[i]) ok++;
  return ratio(ok, p.length);
}

/**
 * Precision `tp / (tp + fp)`, per class or averaged (see {@link AverageOptions}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { precision } = zn.metrics;
 * precision([0, 1, 1, 2], [0, 1, 2, 2], { average: "none" }); // [1, 0.5, 1]
 * precision([0, 1, 1, 2], [0, 1, 2, 2]); // (1 + 0.5 + 1) / 3
 * ```
 */
export function precision(
  pred: Labels,
  target: Labels,
  opts: AverageOptions & { average: "none" },
): number[];
/** Precision averaged over classes (macro by default). */
export function precision(pred: Labels, target: Labels, opts?: AverageOptions): number;
export function precision(
  pred: Labels,
  target: Labels,
  opts: AverageOptions = {},
): number | number[] {
  return averaged("precision", pred, target, opts);
}

/**
 * Recall `tp / (tp + fn)`, per class or averaged (see {@link AverageOptions}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { recall } = zn.metrics;
 * recall([0, 1, 1, 2], [0, 1, 2, 2], { average: "none" }); // [1, 1, 0.5]
 * ```
 */
export function recall(
  pred: Labels,
  target: Labels,
  opts: AverageOptions & { average: "none" },
): number[];
/** Recall averaged over classes (macro by default). */
export function recall(pred: Labels, target: Labels, opts?: AverageOptions): number;
export function recall(pred: Labels, target: Labels, opts: AverageOptions = {}): number | number[] {
  return averaged("recall", pred, target, opts);
}

/**
 * F1 `2 tp / (2 tp + fp + fn)` (the harmonic mean of precision and recall),
 * per class or averaged (see {@link AverageOptions}).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { f1 } = zn.metrics;
 * f1([0, 1, 1, 2], [0, 1, 2, 2], { average: "none" }); // [1, 2/3, 2/3]
 * ```
 */
export function f1(
  pred: Labels,
  target: Labels,
  opts: AverageOptions & { average: "none" },
): number[];
/** F1 averaged over classes (macro by default). */
export function f1(pred: Labels, target: Labels, opts?: AverageOptions): number;
export function f1(pred: Labels, target: Labels, opts: AverageOptions = {}): number | number[] {
  return averaged("f1", pred, target, opts);
}

/**
 * The confusion matrix `[C, C]` (int64): entry `[i, j]` counts the samples
 * of true class `i` predicted as class `j`. `numClasses` defaults to the
 * largest label + 1; the matrix is a tensor, so it holds at most 2^31 - 1
 * entries (46,340 classes), and a larger one is a RangeError.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { confusionMatrix } = zn.metrics;
 * confusionMatrix(zn.tensor([0n, 1n, 1n, 2n]), zn.tensor([0n, 1n, 2n, 2n]), 3).toArray();
 * // [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
 * ```
 */
export function confusionMatrix(pred: Labels, target: Labels, numClasses?: number): Tensor {
  const { c, p, t } = counts(pred, target, numClasses, "confusionMatrix");
  if (c * c > MAX_NUMEL) {
    throw new RangeError(
      `confusionMatrix: ${c} classes make a [${c}, ${c}] matrix, more than the ${MAX_NUMEL} elements a tensor holds`,
    );
  }
  const cm = new BigInt64Array(c * c);
  for (let i = 0; i < p.length; i++) cm[t[i] * c + p[i]]++;
  return tensor(cm, { shape: [c, c] });
}

/**
 * Scores of one class, or an average, in a {@link ClassificationReport}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const r = zn.metrics.classificationReport([0, 1, 1], [0, 1, 0]);
 * const s: zn.metrics.ClassScores = r.macroAvg;
 * [s.precision, s.recall, s.support]; // [0.75, 0.75, 3]
 * ```
 */
export interface ClassScores {
  /** Precision. */
  precision: number;
  /** Recall. */
  recall: number;
  /** F1. */
  f1: number;
  /** Number of samples of the class (of all classes, for averages). */
  support: number;
}

/**
 * Per-class scores plus accuracy and averages; `toString()` prints sklearn's table.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const r: zn.metrics.ClassificationReport = zn.metrics.classificationReport([0, 1, 1], [0, 1, 0]);
 * r.accuracy; // 0.6667
 * r.classes.map((c) => c.support); // [2, 1]
 * ```
 */
export interface ClassificationReport {
  /** One row per class (the report's classes, see {@link classificationReport}). */
  classes: (ClassScores & { label: number; name: string })[];
  /** The fraction of correct predictions. */
  accuracy: number;
  /** The unweighted mean of the per-class scores. */
  macroAvg: ClassScores;
  /** The mean of the per-class scores weighted by support. */
  weightedAvg: ClassScores;
  /** The report as a text table, like sklearn's `classification_report`. */
  toString(): string;
}

/**
 * Options of {@link classificationReport}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.metrics.ReportOptions = { classNames: ["cat", "dog"], digits: 3 };
 * const r = zn.metrics.classificationReport([0, 1, 1], [0, 1, 0], opts);
 * r.classes.map((c) => c.name); // ["cat", "dog"]
 * ```
 */
export interface ReportOptions {
  /** Number of classes: every class 0..numClasses-1 gets a row (default: those present). */
  numClasses?: number;
  /** Display names of the classes, by label (default: the label). */
  classNames?: readonly string[];
  /** Digits printed by `toString()` (default 2). */
  digits?: number;
}

/**
 * Per-class precision, recall, F1 and support, with accuracy and the macro
 * and weighted averages, like sklearn's `classification_report`. The classes
 * are 0..numClasses-1 when `numClasses` is given, else those present in
 * `target` or `pred`.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { classificationReport } = zn.metrics;
 * const report = classificationReport([0, 1, 1, 2], [0, 1, 2, 2], {
 *   classNames: ["cat", "dog", "bird"],
 * });
 * report.classes[2].recall; // 0.5
 * report.macroAvg.f1; // (1 + 2/3 + 2/3) / 3
 * console.log(report.toString());
 * ```
 */
export function classificationReport(
  pred: Labels,
  target: Labels,
  opts: ReportOptions = {},
): ClassificationReport {
  checkOptions(
    "classificationReport",
    opts,
    optionKeys<ReportOptions>({ numClasses: 0, classNames: 0, digits: 0 }),
  );
  const k = counts(pred, target, opts.numClasses, "classificationReport");
  const pc = perClass(k);
  const names = opts.classNames;
  const classes = k.labels.map((i) => ({
    label: i,
    name: names?.[i] ?? String(i),
    precision: SCORES.precision(pc.tp[i], pc.fp[i], pc.fn[i]),
    recall: SCORES.recall(pc.tp[i], pc.fp[i], pc.fn[i]),
    f1: SCORES.f1(pc.tp[i], pc.fp[i], pc.fn[i]),
    support: pc.support[i],
  }));
  const total = classes.reduce((a, r) => a + r.support, 0);
  const avg = (weighted: boolean): ClassScores => {
    const w = (r: ClassScores) => (weighted ? r.support : 1);
    const den = classes.reduce((a, r) => a + w(r), 0);
    const mean = (key: "precision" | "recall" | "f1") =>
      ratio(classes.reduce((a, r) => a + r[key] * w(r), 0), den);
    return { precision: mean("precision"), recall: mean("recall"), f1: mean("f1"), support: total };
  };
  let correct = 0;
  for (let i = 0; i < k.c; i++) correct += k.tp[i];
  const report: ClassificationReport = {
    classes,
    accuracy: ratio(correct, total),
    macroAvg: avg(false),
    weightedAvg: avg(true),
    toString: () => formatReport(report, opts.digits ?? 2),
  };
  return report;
}

/** `v` with `digits` decimals, ties to even as Python's format (toFixed rounds ties up). */
function fixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  const long = v.toFixed(Math.min(100, digits + 40));
  if (!/^50*$/.test(long.slice(long.length - 40))) return s;
  const last = s.charCodeAt(s.length - 1) - 48;
  if (last % 2 === 0) return s;
  // toFixed rounded the tie away from zero onto an odd digit: step back toward zero.
  const step = 10 ** -digits;
  return (v < 0 ? v + step / 2 : v - step / 2).toFixed(digits);
}

function formatReport(r: ClassificationReport, digits: number): string {
  const width = Math.max("weighted avg".length, ...r.classes.map((c) => c.name.length));
  const col = (s: string) => s.padStart(9);
  const num = (v: number) => col(fixed(v, digits));
  const row = (name: string, s: ClassScores) =>
    `${name.padStart(width)}  ${num(s.precision)} ${num(s.recall)} ${num(s.f1)} ${
      col(String(s.support))
    }\n`;
  let out = `${"".padStart(width)}  ${col("precision")} ${col("recall")} ${col("f1-score")} ${
    col("support")
  }\n\n`;
  for (const c of r.classes) out += row(c.name, c);
  out += "\n";
  out += `${"accuracy".padStart(width)}  ${col("")} ${col("")} ${num(r.accuracy)} ${
    col(String(r.macroAvg.support))
  }\n`;
  out += row("macro avg", r.macroAvg);
  out += row("weighted avg", r.weightedAvg);
  return out;
}
