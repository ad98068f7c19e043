/**
 * Console output for the training script: a progress bar on a terminal
 * (plain lines otherwise), the test report, and the SVG of the curves.
 *
 * @module
 */
import { curvesSvg as panelsSvg, TRAIN_COLOR, VAL_COLOR } from "../curves_svg.ts";
import * as zn from "../../mod.ts";

const enc = new TextEncoder();

/**
 * Per-step progress within an epoch: a bar on a terminal, nothing otherwise
 * (nor under mpirun, which hands its ranks a terminal but prefixes every
 * line it forwards, so a bar redrawn with carriage returns would pile up).
 */
export class Progress {
  #total: number;
  #label: string;
  #start = performance.now();
  #tty: boolean;
  #lastDraw = 0;

  /** A bar for `total` steps. */
  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
    this.#tty = Deno.stdout.isTerminal() && !zn.distributed.launchedByMpi();
  }

  /** Redraws after `done` steps with the running loss. */
  update(done: number, loss: number): void {
    if (!this.#tty) return;
    const now = performance.now();
    if (done < this.#total && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const secs = (now - this.#start) / 1000;
    const rate = done / Math.max(secs, 1e-9);
    const eta = (this.#total - done) / Math.max(rate, 1e-9);
    const width = 30;
    const filled = Math.round(width * done / this.#total);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const line = `${this.#label} ${bar} ${done}/${this.#total} ` +
      `${rate.toFixed(1)} steps/s loss ${loss.toFixed(4)} ETA ${eta.toFixed(0)}s`;
    Deno.stdout.writeSync(enc.encode(`\r${line}\x1b[K`));
  }

  /** Clears the bar. */
  finish(): void {
    if (this.#tty) Deno.stdout.writeSync(enc.encode("\r\x1b[K"));
  }
}

/** Per-class and averaged metrics, as the metrics module reports them. */
export interface Report {
  accuracy: number;
  perClass: { precision: number; recall: number; f1: number; support: number }[];
  macro: { precision: number; recall: number; f1: number };
  confusion: number[][];
}

/** The test report as text: accuracy, per-class table, macro averages, confusion matrix. */
export function formatReport(r: Report): string {
  const lines: string[] = [];
  lines.push(`test accuracy: ${(r.accuracy * 100).toFixed(2)}%`);
  lines.push("");
  lines.push("class  precision  recall     f1  support");
  r.perClass.forEach((c, i) => {
    lines.push(
      `${String(i).padStart(5)}  ${c.precision.toFixed(4).padStart(9)}  ${
        c.recall.toFixed(4).padStart(6)
      }  ${c.f1.toFixed(4).padStart(5)}  ${String(c.support).padStart(7)}`,
    );
  });
  lines.push(
    `macro  ${r.macro.precision.toFixed(4).padStart(9)}  ${
      r.macro.recall.toFixed(4).padStart(6)
    }  ${r.macro.f1.toFixed(4).padStart(5)}`,
  );
  lines.push("");
  lines.push("confusion matrix (rows: true class, columns: predicted)");
  lines.push("     " + r.confusion.map((_, j) => String(j).padStart(5)).join(""));
  r.confusion.forEach((row, i) => {
    lines.push(String(i).padStart(5) + row.map((v) => String(v).padStart(5)).join(""));
  });
  return lines.join("\n");
}

/** One epoch's figures. */
export interface EpochStats {
  trainLoss: number;
  trainAcc: number;
  valLoss: number;
  valAcc: number;
}

/** Loss and accuracy curves per epoch as an SVG picture. */
export function curvesSvg(history: EpochStats[]): string {
  const losses = history.flatMap((h) => [h.trainLoss, h.valLoss]);
  const accs = history.flatMap((h) => [h.trainAcc, h.valAcc]);
  return panelsSvg([
    {
      title: "loss",
      xLabel: "epoch",
      series: [
        { name: "train", color: TRAIN_COLOR, values: history.map((h) => h.trainLoss) },
        { name: "validation", color: VAL_COLOR, values: history.map((h) => h.valLoss) },
      ],
      lo: 0,
      hi: Math.max(...losses) * 1.05,
    },
    {
      title: "accuracy",
      xLabel: "epoch",
      series: [
        { name: "train", color: TRAIN_COLOR, values: history.map((h) => h.trainAcc) },
        { name: "validation", color: VAL_COLOR, values: history.map((h) => h.valAcc) },
      ],
      lo: Math.min(...accs) * 0.98,
      hi: 1,
    },
  ]);
}
