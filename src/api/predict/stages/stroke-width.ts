// Stroke width towards MNIST's: a marker's fat strokes or a fine pen's hairlines, once scaled
// into 20×20, look nothing like MNIST's (about 2–3 px at 28×28). The width is estimated as
// 2·area / perimeter of the clear ink (a long stroke of width w: 2wL / (2L + 2w) ≈ w), measured on
// the 28×28 result, and the ink is dilated or eroded at its own resolution by the difference.
import { squareFilter } from './morphology.ts';

export const STROKE_LEVEL = 128;

/** Mean stroke width of the clear ink (≥ level) of a w×h image, pixels; 0 when none. */
export function strokeWidth(ink: ArrayLike<number>, w: number, h: number, level = STROKE_LEVEL): number {
  let area = 0, perimeter = 0;
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      if (ink[i]! < level) continue;
      area++;
      // each side that borders paper (or the image's edge) is perimeter
      if (x === 0 || ink[i - 1]! < level) perimeter++;
      if (x === w - 1 || ink[i + 1]! < level) perimeter++;
      if (y === 0 || ink[i - w]! < level) perimeter++;
      if (y === h - 1 || ink[i + w]! < level) perimeter++;
    }
  }
  return perimeter ? (2 * area) / perimeter : 0;
}

/**
 * The ink dilated (r > 0) or eroded (r < 0) by |r| pixels (square window); an erosion that
 * would leave less than 40% of the ink is made smaller (thin parts of a digit must survive).
 */
export function changeStrokeWidth(ink: Uint8Array, w: number, h: number, r: number): Uint8Array {
  if (r > 0) return squareFilter(ink, w, h, r, 'max');
  const mass = ink.reduce((s, v) => s + v, 0);
  for (let k = -r; k >= 1; k--) {
    const eroded = squareFilter(ink, w, h, k, 'min');
    if (eroded.reduce((s, v) => s + v, 0) >= 0.4 * mass) return eroded;
  }
  return ink;
}
