// A form's box round the digit (a scanned form field, "write one digit in the box"): straight ink
// lines along the four sides of the picture, often touching the digit, so that the biggest ink
// component is box and digit together. The lines are erased before the components are labelled.
// Only a whole box, its lines meeting at its corners: a tightly cropped 2, 3, 5 or 7 has long
// strokes along three sides of its picture (of 2,000 tight MNIST crops, ten passed as a three-sided
// box, none as a four-sided one), and a square 0 drawn alone is four lines with nothing inside, so
// the lines go only when ink of some size is left once they are gone.
import { INK_LEVEL } from './digit-component.ts';

/** A line runs along at least this share of the picture's width (rows) or height (columns). */
const LINE_SPAN = 0.6;
/** Pictures smaller than this (an MNIST-like 28×28, a tiny crop) are not looked at: a box there would leave the digit a
 *  few pixels, and the search costs them ~20 µs, 40% of their whole preprocessing. */
const MIN_SIDE = 40;
/** A picture with ink on more than this share of it holds no box with a digit in it. */
const MAX_INK_SHARE = 0.5;
/** Where a side's line lies: within this share of the picture from that side. */
const SIDE_BAND = 0.3;
/** Ink left once the lines are gone, as a share of the ink they took: a digit, not a square 0's corners or an 8's middle bar. */
const CONTENT_SHARE = 0.35;
/** Where two lines of a box meet: within this share of the picture's shorter side (at least 3 px). */
const CORNER_TOLERANCE = 0.05;
/** Gaps of up to this many pixels do not break a line (JPEG, a pen skipping). */
const MAX_GAP = 2;
/** A side's line is the outermost of the lines at least this share of its band's longest. */
const NEARLY_LONGEST = 0.9;
/** At most this share of a line's length may have ink beyond it, towards the picture's edge. */
const MAX_INK_BEYOND = 0.5;
/** A box's line is at most this share of the picture's shorter side wide (at least 3 px). */
const MAX_LINE_WIDTH = 0.08;
/** A photo's perspective tilts the lines: a row (column) counts ink this share of the picture above and below it (at least 1 px). */
const TILT = 0.03;

/**
 * 1 where some pixel within `k` across the lines has ink, else 0: `acrossRows` widens each row by
 * the rows above and below it (for row lines), otherwise each column by its neighbours. A running
 * count per column (row) keeps it O(w·h) whatever k.
 */
function widenedInk(ink: Uint8Array, w: number, h: number, k: number, acrossRows: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  // lines are rows (acrossRows) or columns: `n` of them, `len` pixels each, `lineStep` apart, pixels `pixelStep` apart
  const n = acrossRows ? h : w, len = acrossRows ? w : h, lineStep = acrossRows ? w : 1, pixelStep = acrossRows ? 1 : w;
  const count = new Int32Array(len);
  // count[p]: ink among lines line − k … line + k at position p
  for (let line = -k; line < n; line++) {
    const enter = line + k, leave = line - k - 1;
    if (enter < n) for (let p = 0, i = enter * lineStep; p < len; p++, i += pixelStep) if (ink[i]! >= INK_LEVEL) count[p]!++;
    if (leave >= 0) for (let p = 0, i = leave * lineStep; p < len; p++, i += pixelStep) if (ink[i]! >= INK_LEVEL) count[p]!--;
    if (line >= 0) for (let p = 0, i = line * lineStep; p < len; p++, i += pixelStep) out[i] = count[p]! > 0 ? 1 : 0;
  }
  return out;
}

type Run = { start: number; end: number }; // the longest run of ink along a row or column, end exclusive

/** The longest run of 1s in a 0/1 mask among `n` pixels from `at`, `step` apart, bridging gaps of up to MAX_GAP. */
function longestRun(mask: Uint8Array, at: number, step: number, n: number): Run {
  let best: Run = { start: 0, end: 0 };
  let start = -1, lastInk = -MAX_GAP - 2;
  for (let k = 0; k < n; k++) {
    if (mask[at + k * step] === 0) continue;
    if (k - lastInk - 1 > MAX_GAP) start = k;
    lastInk = k;
    if (k + 1 - start > best.end - best.start) best = { start, end: k + 1 };
  }
  return best;
}

/**
 * A quick test that rules most pictures out before the lines are looked for (a photo's digit takes
 * ~1 ms to look for lines in): a line of LINE_SPAN found on rows thickened by k has ink in at least
 * half that many columns (gaps bridged) within 2k + 1 rows, so each side's band needs such a window.
 */
function mayHoldBox(ink: Uint8Array, w: number, h: number, k: number): boolean {
  const perRow = new Uint32Array(h), perCol = new Uint32Array(w);
  let inked = 0;
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      if (ink[i]! >= INK_LEVEL) {
        perRow[y]!++;
        perCol[x]!++;
        inked++;
      }
    }
  }
  // a box and a digit leave most of the picture paper: ink over half of it is something else (and the costliest case)
  if (inked > w * h * MAX_INK_SHARE) return false;
  const rowBand = Math.ceil(h * SIDE_BAND), colBand = Math.ceil(w * SIDE_BAND);
  const rowNeed = w * LINE_SPAN * 0.5, colNeed = h * LINE_SPAN * 0.5;
  return windowMax(perRow, 0, rowBand, k) >= rowNeed && windowMax(perRow, h - rowBand, h, k) >= rowNeed &&
    windowMax(perCol, 0, colBand, k) >= colNeed && windowMax(perCol, w - colBand, w, k) >= colNeed;
}

/** The most ink in 2k + 1 neighbouring rows (columns) whose middle lies in [from, to). */
function windowMax(counts: Uint32Array, from: number, to: number, k: number): number {
  let best = 0;
  for (let c = from; c < to; c++) {
    let sum = 0;
    for (let d = Math.max(0, c - k); d <= Math.min(counts.length - 1, c + k); d++) sum += counts[d]!;
    best = Math.max(best, sum);
  }
  return best;
}

type Line = { at: number; run: Run }; // a row (column) whose widened ink runs long: where it is, its run
type Side = { outer: number; run: Run }; // a side's line: where it lies across, and its run along

/** A side's line among the lines at [from, to): the outermost (`outer` end of the band) of those nearly as long as the
 *  longest (a tilted line is longest on its middle row; where the digit touches it, an inner row can be a little longer). */
function sideLine(lines: Line[], from: number, to: number, outerIsLow: boolean): Side | null {
  let longest = 0;
  for (const l of lines) if (l.at >= from && l.at < to) longest = Math.max(longest, l.run.end - l.run.start);
  let side: Side | null = null;
  for (const l of lines) {
    if (l.at < from || l.at >= to || l.run.end - l.run.start < longest * NEARLY_LONGEST) continue;
    if (!side || (outerIsLow ? l.at < side.outer : l.at > side.outer)) side = { outer: l.at, run: l.run };
  }
  return side;
}

/** Whether there is ink within `r` pixels (a square) of (cx, cy). */
function inkWithin(ink: Uint8Array, w: number, h: number, cx: number, cy: number, r: number): boolean {
  for (let y = Math.max(0, cy - r); y <= Math.min(h - 1, cy + r); y++) {
    for (let x = Math.max(0, cx - r); x <= Math.min(w - 1, cx + r); x++) if (ink[y * w + x]! >= INK_LEVEL) return true;
  }
  return false;
}

/** The ink with a box's lines erased (a new array), or null when there is no box or nothing of some size inside it. */
export function eraseBoxLines(ink: Uint8Array, w: number, h: number): Uint8Array | null {
  if (Math.min(w, h) < MIN_SIDE) return null;
  const k = Math.max(1, Math.round(Math.min(w, h) * TILT));
  if (!mayHoldBox(ink, w, h, k)) return null;
  const rows: Line[] = [];
  const cols: Line[] = [];
  const rowInk = widenedInk(ink, w, h, k, true), colInk = widenedInk(ink, w, h, k, false);
  for (let y = 0; y < h; y++) {
    const run = longestRun(rowInk, y * w, 1, w);
    if (run.end - run.start >= w * LINE_SPAN) rows.push({ at: y, run });
  }
  for (let x = 0; x < w; x++) {
    const run = longestRun(colInk, x, w, h);
    if (run.end - run.start >= h * LINE_SPAN) cols.push({ at: x, run });
  }
  const rowBand = Math.ceil(h * SIDE_BAND), colBand = Math.ceil(w * SIDE_BAND);
  const top = sideLine(rows, 0, rowBand, true), bottom = sideLine(rows, h - rowBand, h, false);
  const left = sideLine(cols, 0, colBand, true), right = sideLine(cols, w - colBand, w, false);
  if (!top || !bottom || !left || !right) return null; // the four sides of a box
  // A box's lines meet at its corners: each line starts and ends at the lines across it. A digit's
  // long strokes (a tight crop's 2, 5 or 7 touches three sides of its picture) do not.
  // (a tilted line's chosen row holds all but up to 1 − NEARLY_LONGEST of it: its ends can be that far short)
  const tol = Math.max(3, Math.round(Math.min(w, h) * CORNER_TOLERANCE)) + k + Math.round(Math.max(w, h) * (1 - NEARLY_LONGEST));
  // and there is ink at each corner: a tightly cropped 0 touches its four sides but leaves its corners empty
  for (const [across, along, acrossEnd, alongEnd] of [
    [top, left, 'start', 'start'], [top, right, 'end', 'start'], [bottom, left, 'start', 'end'], [bottom, right, 'end', 'end'],
  ] as const) {
    const acrossAt = acrossEnd === 'start' ? across.run.start : across.run.end - 1;
    const alongAt = alongEnd === 'start' ? along.run.start : along.run.end - 1;
    if (Math.abs(acrossAt - along.outer) > tol || Math.abs(alongAt - across.outer) > tol) return null;
    if (!inkWithin(ink, w, h, along.outer, across.outer, tol)) return null;
  }
  // A box's line is the outermost ink on its side (but for a label printed beside it): the longest
  // row of a ring that hugs its crop is a chord, with the ring's arc beyond it.
  // each side with the direction into the picture, and whether its line is a row
  const sides = [[top, 1, true], [bottom, -1, true], [left, 1, false], [right, -1, false]] as const;
  for (const [side, dir, horizontal] of sides) {
    const limit = horizontal ? h : w;
    let beyond = 0;
    for (let a = side.run.start; a < side.run.end; a++) {
      for (let c = side.outer - dir * (k + 1); c >= 0 && c < limit; c -= dir) {
        if (ink[horizontal ? c * w + a : a * w + c]! >= INK_LEVEL) {
          beyond++;
          break;
        }
      }
    }
    if (beyond > (side.run.end - side.run.start) * MAX_INK_BEYOND) return null;
  }
  const out = ink.slice();
  let erased = 0;
  const across = Math.max(3, Math.round(Math.min(w, h) * MAX_LINE_WIDTH));
  for (const [side, dir, horizontal] of sides) {
    const limit = horizontal ? h : w;
    const index = (along: number, c: number) => (horizontal ? c * w + along : along * w + c);
    // along the line, its ink nearest the picture's edge (the digit is inside it) and how deep the ink goes from there
    const first: number[] = [], depth: number[] = [];
    for (let a = side.run.start; a < side.run.end; a++) {
      let c = side.outer - dir * k;
      const stop = side.outer + dir * (k + across);
      while (c !== stop && (c < 0 || c >= limit || ink[index(a, c)]! < INK_LEVEL)) c += dir;
      if (c === stop) { first.push(-1); depth.push(0); continue; }
      let d = 0;
      while (c + dir * d >= 0 && c + dir * d < limit && ink[index(a, c + dir * d)]! >= INK_LEVEL) d++;
      first.push(c);
      depth.push(d);
    }
    // the line's width: the median depth (where the digit touches the line, the ink goes deeper)
    const inked = depth.filter((d) => d > 0).sort((x, y) => x - y);
    const width = inked[Math.floor(inked.length / 2)] ?? 0;
    // a box's lines are thin: a digit's long strokes in a tight crop are not
    if (width > across) return null;
    first.forEach((c, i) => {
      if (c < 0) return;
      for (let d = 0; d <= width; d++) { // one pixel more: the line's anti-aliased inner edge
        const cc = c + dir * d;
        if (cc < 0 || cc >= limit) break;
        const j = index(side.run.start + i, cc);
        if (out[j]! >= INK_LEVEL) erased += out[j]!;
        out[j] = 0;
      }
    });
  }
  let remaining = 0;
  for (let i = 0; i < out.length; i++) if (out[i]! >= INK_LEVEL) remaining += out[i]!;
  return remaining >= erased * CONTENT_SHARE ? out : null;
}
