// Uneven light: the paper's own level, estimated around each pixel, instead of one level for the
// whole picture. The background is a morphological closing (dark ink on light paper) or opening
// (light ink on a dark ground) over a square larger than any stroke: it removes the strokes and
// keeps what is wider than them (a shadow, light falling off, the table beyond a page edge).
// Dark ink is then measured relative to its paper (1 − I/bg: a shadow darkens paper and ink by the
// same factor, which cancels); light ink as its excess over the ground (I − bg).
import { squareFilter } from './morphology.ts';

/**
 * Half the window's side, pixels: a sixth of the image's longer side, so strokes up to a third of
 * it wide are removed (a marker). Measured on the real-world set: a tenth lost thick pens (64% →
 * 92% with a sixth, ch6-relu), a quarter lost shadows (88% → 52%: a shadow narrower than the
 * window is taken for ink).
 */
export const backgroundRadius = (w: number, h: number) => Math.max(2, Math.round(Math.max(w, h) / 6));

/** Ink made bright (0 = paper, 255 = ink as dark as black on white) with the paper's local level removed. */
export function flattenBackground(data: Uint8Array, w: number, h: number, invert: boolean): Uint8Array {
  const r = backgroundRadius(w, h);
  const out = new Uint8Array(w * h);
  if (invert) {
    // dark ink on light paper: closing = max then min
    const bg = squareFilter(squareFilter(data, w, h, r, 'max'), w, h, r, 'min');
    for (let i = 0; i < out.length; i++) {
      const b = bg[i]!;
      out[i] = b === 0 ? 0 : Math.round((255 * (b - data[i]!)) / b);
    }
  } else {
    // light ink on a dark ground: opening = min then max
    const bg = squareFilter(squareFilter(data, w, h, r, 'min'), w, h, r, 'max');
    for (let i = 0; i < out.length; i++) out[i] = data[i]! - bg[i]!;
  }
  return out;
}
