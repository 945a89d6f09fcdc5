// Turns a greyscale photo or scan of one digit into what MNIST's networks were trained
// on, the way MNIST itself was made: ink bright on black, cropped to the ink, scaled to
// fit 20×20 (aspect kept), placed in 28×28 so the centre of mass sits in the middle.
import sharp from 'sharp';
import { unprocessable } from '../../errors.ts';

export const SIDE = 28;
const BOX = 20;

export type GreyImage = { data: Uint8Array; width: number; height: number };

/** Returns 784 floats in [0, 1]; throws a 422 ApiError when no ink can be found. */
export async function normalizeDigit(img: GreyImage): Promise<Float32Array> {
  const ink = inkImage(img);
  const box = inkBoundingBox(ink, img.width, img.height);
  if (!box) throw unprocessable('no digit found in the image (it looks blank)');
  const scale = BOX / Math.max(box.width, box.height);
  const w = Math.max(1, Math.round(box.width * scale));
  const h = Math.max(1, Math.round(box.height * scale));
  const scaled = await sharp(ink, { raw: { width: img.width, height: img.height, channels: 1 } })
    .extract(box)
    .resize(w, h, { fit: 'fill', kernel: 'cubic' })
    .extractChannel(0) // sharp widens 1-channel raw input to sRGB otherwise
    .raw()
    .toBuffer();
  return centreByMass(scaled, w, h);
}

/**
 * Ink made bright on a black background and stretched to 0…255. Polarity comes from
 * the border (the paper): a light border means dark ink on light paper. The paper's
 * level plus three (robust) standard deviations of its noise becomes black.
 */
export function inkImage({ data, width, height }: GreyImage): Uint8Array {
  const border = borderPixels(data, width, height);
  const paper = median(border);
  const invert = paper > 127;
  const px = invert ? data.map((v) => 255 - v) : data;
  const bg = invert ? 255 - paper : paper;
  const mad = median(Array.from(border, (v) => Math.abs((invert ? 255 - v : v) - bg)));
  const floor = Math.min(254, bg + 3 * 1.4826 * mad);
  const top = quantile(px, 0.999);
  if (top - floor < 32) return new Uint8Array(px.length); // no contrast: blank
  const k = 255 / (top - floor);
  const out = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) {
    const v = (px[i]! - floor) * k;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/** Bounding box of clear ink, ignoring isolated specks (noise, dust). */
export function inkBoundingBox(ink: Uint8Array, width: number, height: number) {
  const T = 64;
  let left = width, top = height, right = -1, bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! < T || !hasInkNeighbour(ink, width, height, x, y, T)) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  if (right < 0) return null;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

function hasInkNeighbour(ink: Uint8Array, w: number, h: number, x: number, y: number, T: number): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      if (dx === 0 && dy === 0) continue;
      const nx = x + dx, ny = y + dy;
      if (nx >= 0 && ny >= 0 && nx < w && ny < h && ink[ny * w + nx]! >= T) return true;
    }
  }
  return false;
}

/** Places a w×h patch (w, h ≤ 20) in 28×28 with its centre of mass at the middle. */
export function centreByMass(patch: Uint8Array, w: number, h: number): Float32Array {
  let sum = 0, sx = 0, sy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = patch[y * w + x]!;
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  }
  const cx = sum > 0 ? sx / sum : (w - 1) / 2;
  const cy = sum > 0 ? sy / sum : (h - 1) / 2;
  // the middle of 28×28 in pixel-index coordinates is 14 (as measured on MNIST); keep the patch inside
  const ox = clamp(Math.round(14 - cx), 0, SIDE - w);
  const oy = clamp(Math.round(14 - cy), 0, SIDE - h);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[(y + oy) * SIDE + x + ox] = patch[y * w + x]! / 255;
  }
  return out;
}

function borderPixels(data: Uint8Array, w: number, h: number): Uint8Array {
  // a frame 1/16 of the size deep (at least 1 pixel): the paper around the digit
  const d = Math.max(1, Math.floor(Math.min(w, h) / 16));
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    const edgeRow = y < d || y >= h - d;
    for (let x = 0; x < w; x += edgeRow ? 1 : 1) {
      if (edgeRow || x < d || x >= w - d) out.push(data[y * w + x]!);
      else x = w - d - 1;
    }
  }
  return Uint8Array.from(out);
}

function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** Quantile of byte values through a histogram (no sort of big arrays). */
function quantile(values: ArrayLike<number>, q: number): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < values.length; i++) hist[Math.min(255, Math.max(0, Math.round(values[i]!)))]!++;
  const target = q * (values.length - 1);
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v]!;
    if (seen > target) return v;
  }
  return 255;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
