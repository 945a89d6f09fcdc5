// An MNIST test digit redrawn as crisp ink at a photo's resolution: enlarged, smoothed and
// thresholded (a pen's edge, not MNIST's blur), then optionally made thicker or thinner, or
// turned into an outline, and slanted, placed and turned on the canvas.
import type { Rng } from '../../src/engine/rng.ts';
import { blur, morph, type Plane, smoothstep, sum, warp } from './planes.ts';

export type GlyphOptions = {
  side: number;
  /** Height of MNIST's 20-pixel box on the canvas, fraction of the side. */
  height: number;
  /** Horizontal shear (x += shear * (centre - y)): positive leans right. */
  shear?: number;
  /** Rotation, degrees. */
  turn?: number;
  offset?: [number, number];
  /** Pen: 'normal' as MNIST, 'thick' (dilated), 'thin' (eroded), 'outline' (the thick shape's edge only). */
  pen?: 'normal' | 'thick' | 'thin' | 'outline';
  /** For thick/outline: dilation radius as a fraction of the digit height. */
  grow?: number;
};

/** The 28×28 digit `pixels` (0…255) as a side×side ink plane (1 = ink). */
export function mnistGlyph(pixels: Uint8Array, rng: Rng, opts: GlyphOptions): Plane {
  const src: Plane = { w: 28, h: 28, data: Float32Array.from(pixels, (v) => v / 255) };
  const k = (opts.height * opts.side) / 20; // canvas pixels per MNIST pixel
  const shear = opts.shear ?? 0;
  const t = ((opts.turn ?? 0) * Math.PI) / 180;
  const [ox, oy] = opts.offset ?? [0, 0];
  const cx = opts.side * (0.5 + ox), cy = opts.side * (0.5 + oy);
  // canvas -> MNIST coordinates (MNIST's centre of mass is near (14, 14), 13.5 in pixel centres)
  const big = warp(src, opts.side, opts.side, (x, y) => {
    const dx = (x - cx) / k, dy = (y - cy) / k;
    const rx = dx * Math.cos(t) + dy * Math.sin(t), ry = -dx * Math.sin(t) + dy * Math.cos(t);
    return [13.5 + rx + shear * ry, 13.5 + ry];
  }, 0);
  const smooth = blur(big, 0.45 * k);
  const level = 0.3 + 0.1 * rng.nextFloat();
  let ink: Plane = { ...smooth, data: smooth.data.map((v) => smoothstep(level - 0.08, level + 0.08, v)) };
  const H = opts.height * opts.side;
  const pen = opts.pen ?? 'normal';
  if (pen === 'thick') ink = morph(ink, (opts.grow ?? 0.06) * H, 'dilate');
  if (pen === 'thin') ink = thin(ink);
  if (pen === 'outline') {
    const fat = morph(ink, (opts.grow ?? 0.05) * H, 'dilate');
    const line = Math.max(1, 0.025 * H);
    const inner = morph(fat, line, 'erode');
    ink = { ...fat, data: fat.data.map((v, i) => Math.max(0, v - inner.data[i]!)) };
  }
  return ink;
}

/** Erodes while at least 40% of the ink is left: strokes about half as wide, still connected. */
function thin(ink: Plane): Plane {
  const total = sum(ink);
  let best = ink;
  for (let r = 1; r <= 8; r++) {
    const e = morph(ink, r, 'erode');
    if (sum(e) < 0.4 * total) break;
    best = e;
  }
  return best;
}
