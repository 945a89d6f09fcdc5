// An accuracy curve per run as a small standalone SVG (no script, no external font): validation accuracy
// per epoch (one line per ensemble member), training accuracy dashed, the book's figure as a red line,
// and the epoch whose figure is reported marked. Plain markup, so it renders on GitHub and diffs well.
import type { EpochMetrics } from '../../src/engine/index.ts';

const W = 640;
const H = 320;
const PAD = { left: 56, right: 16, top: 28, bottom: 40 };
const COLOURS = ['#1f5fbf', '#2a9d5c', '#8a4fbf', '#c7781a', '#3a8fa3'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => Number(v.toFixed(1)).toString();

export function accuracyCurveSvg(o: {
  title: string;
  members: EpochMetrics[][];
  epochs: number;
  book: { accuracy: number; metric: 'test' | 'validation' };
  mark?: { epoch: number; accuracy: number; label: string } | null;
}): string {
  const points = o.members.flat();
  const values = [o.book.accuracy, ...points.map((m) => m.validationAccuracy ?? NaN), ...points.map((m) => m.trainingAccuracy)]
    .filter((v) => Number.isFinite(v));
  // the interesting band: a point below the lowest validation figure up to just above the best
  const lowest = Math.min(...points.map((m) => m.validationAccuracy ?? 1).concat(o.book.accuracy));
  let lo = Math.max(0, Math.floor(lowest * 100 - 1) / 100);
  let hi = Math.min(1, Math.ceil(Math.max(...values) * 100 + 0.2) / 100);
  if (hi - lo < 0.01) lo = Math.max(0, hi - 0.01);
  if (hi <= lo) hi = lo + 0.01;
  const x = (epoch: number) => PAD.left + ((epoch - 1) / Math.max(1, o.epochs - 1)) * (W - PAD.left - PAD.right);
  const y = (acc: number) => PAD.top + (1 - (Math.min(hi, Math.max(lo, acc)) - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(o.title)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  // grid and axes: 5 accuracy ticks, up to 10 epoch ticks
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e3e7ee"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${(v * 100).toFixed(2)}%</text>`);
  }
  const step = Math.max(1, Math.ceil(o.epochs / 10));
  for (let e = 1; e <= o.epochs; e += step) {
    out.push(`<text x="${fmt(x(e))}" y="${H - PAD.bottom + 16}" text-anchor="middle">${e}</text>`);
  }
  out.push(`<text x="${W - PAD.right}" y="${H - 8}" text-anchor="end">epoch</text>`);
  out.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#556"/>`);
  out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#556"/>`);
  // the book's figure
  out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${fmt(y(o.book.accuracy))}" y2="${fmt(y(o.book.accuracy))}" stroke="#c0392b" stroke-dasharray="6 4"/>`);
  // at the left, where the curves are usually still low
  out.push(`<text x="${PAD.left + 6}" y="${fmt(y(o.book.accuracy) - 4)}" fill="#c0392b">book ${(o.book.accuracy * 100).toFixed(2)}% (${o.book.metric})</text>`);
  o.members.forEach((history, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const line = (pick: (m: EpochMetrics) => number | null, dash: string) => {
      const pts = history.filter((m) => pick(m) !== null && Number.isFinite(pick(m)!)).map((m) => `${fmt(x(m.epoch))},${fmt(y(pick(m)!))}`);
      if (pts.length > 0) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.6"${dash} points="${pts.join(' ')}"/>`);
    };
    line((m) => m.validationAccuracy, '');
    line((m) => m.trainingAccuracy, ' stroke-dasharray="3 3" stroke-opacity="0.6"');
  });
  if (o.mark) {
    out.push(`<circle cx="${fmt(x(o.mark.epoch))}" cy="${fmt(y(o.mark.accuracy))}" r="4" fill="none" stroke="#111" stroke-width="1.5"/>`);
    const at = x(o.mark.epoch);
    const anchor = at > W - PAD.right - 40 ? 'end' : at < PAD.left + 40 ? 'start' : 'middle';
    out.push(`<text x="${fmt(at)}" y="${fmt(y(o.mark.accuracy) + 16)}" text-anchor="${anchor}">${esc(o.mark.label)}</text>`);
  }
  const legend = o.members.length > 1 ? `validation (solid) and training (dashed) accuracy, one colour per member` : 'validation (solid) and training (dashed) accuracy';
  out.push(`<text x="${PAD.left}" y="${H - 8}" fill="#556">${esc(legend)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
