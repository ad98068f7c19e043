/**
 * Training curves as an SVG picture: side-by-side panels of line series
 * (train and validation loss, accuracy, perplexity), shared by the example
 * jobs.
 *
 * ```ts ignore
 * const svg = curvesSvg([{
 *   title: "loss",
 *   xLabel: "epoch",
 *   series: [{ name: "train", color: "#1f77b4", values: [0.9, 0.5, 0.4] }],
 *   lo: 0,
 *   hi: 1,
 * }]);
 * ```
 *
 * @module
 */

/** One line of a panel: a value per point. */
export interface Series {
  /** The legend's text. */
  name: string;
  /** The line's colour (any SVG colour). */
  color: string;
  /** The values, one per point. */
  values: number[];
}

/** One panel: a framed plot of one or more series over the same points. */
export interface Panel {
  /** The title above the frame. */
  title: string;
  /** The label below the frame (e.g. "epoch" or "step"). */
  xLabel: string;
  /**
   * Where each point lies on the horizontal axis (e.g. step numbers); when
   * given, the first and last are written under the frame. Default: evenly
   * spaced points.
   */
  x?: number[];
  /** The lines. */
  series: Series[];
  /** The value at the bottom of the frame. */
  lo: number;
  /** The value at the top of the frame. */
  hi: number;
}

/** The train (blue) and validation (orange) colours the jobs use. */
export const TRAIN_COLOR = "#1f77b4";
/** The validation colour. */
export const VAL_COLOR = "#ff7f0e";

/** The panels side by side in one SVG picture of `width` × `height` (default 720 × 300). */
export function curvesSvg(panels: Panel[], width = 360 * panels.length, height = 300): string {
  const W = width, H = height, pad = 44, gap = 40;
  const k = panels.length;
  const pw = (W - 2 * pad - gap * (k - 1)) / k, ph = H - 2 * pad;
  const body = panels.map((p, j) => panelSvg(p, pad + j * (pw + gap), pw, ph, pad, H)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

function panelSvg(p: Panel, x0: number, pw: number, ph: number, pad: number, H: number): string {
  const { lo, hi } = p;
  const n = Math.max(0, ...p.series.map((s) => s.values.length));
  const xs = p.x ?? Array.from({ length: n }, (_, i) => i);
  const span = xs.length > 1 ? xs[xs.length - 1] - xs[0] : 0;
  const xAt = (i: number) => x0 + (n <= 1 || span === 0 ? pw / 2 : ((xs[i] - xs[0]) * pw) / span);
  const yAt = (v: number) => pad + ph - ((v - lo) / (hi - lo || 1)) * ph;
  const parts = [
    `<rect x="${x0}" y="${pad}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${x0 + pw / 2}" y="${
      pad - 14
    }" text-anchor="middle" font-size="14">${p.title}</text>`,
    `<text x="${x0 - 6}" y="${pad + 4}" text-anchor="end" font-size="10">${hi.toFixed(3)}</text>`,
    `<text x="${x0 - 6}" y="${pad + ph}" text-anchor="end" font-size="10">${lo.toFixed(3)}</text>`,
    `<text x="${x0 + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="11">${p.xLabel}</text>`,
  ];
  if (p.x && xs.length > 0) {
    const y = pad + ph + 14;
    parts.push(
      `<text x="${x0}" y="${y}" text-anchor="start" font-size="10">${xs[0]}</text>`,
      `<text x="${x0 + pw}" y="${y}" text-anchor="end" font-size="10">${xs[xs.length - 1]}</text>`,
    );
  }
  p.series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.values.forEach((v, i) =>
      parts.push(
        `<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="3" fill="${s.color}"/>`,
      )
    );
    parts.push(
      `<text x="${x0 + 8}" y="${
        pad + 16 + 14 * k
      }" font-size="11" fill="${s.color}">${s.name}</text>`,
    );
  });
  return parts.join("\n");
}
