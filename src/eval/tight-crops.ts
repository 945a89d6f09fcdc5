// Digits as datasets hand them out rather than as photographed: MNIST's test digits cropped tight
// (no margin, the strokes on all four edges) and stretched to fill a square, as USPS's 16×16
// digits are, black on white or white on black. The real-world set's pictures all have paper
// round the digit; these have none, which is what the polarity and background rules get wrong
// first. Each picture goes through the same decoding and normalisation as POST /v1/predict.
import sharp from 'sharp';
import { decodeDigit } from '../api/predict/decode-image.ts';
import type { Predictor } from '../engine/predictor.ts';
import type { LabelledImages } from '../engine/mnist.ts';

export type TightCropVariant = { name: string; side: number; whiteOnBlack: boolean };

export const TIGHT_CROP_VARIANTS: TightCropVariant[] = [16, 48, 100].flatMap((side) => [
  { name: `tight-${side}-black-on-white`, side, whiteOnBlack: false },
  { name: `tight-${side}-white-on-black`, side, whiteOnBlack: true },
]);

/** Test digit `index` cropped to its ink (level ≥ 32) and stretched to the variant's square, as a PNG. */
export async function tightCropPng(test: LabelledImages, index: number, v: TightCropVariant): Promise<Buffer> {
  const img = test.images.subarray(index * 784, (index + 1) * 784);
  let l = 28, r = -1, t = 28, b = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) if (img[y * 28 + x]! >= 32) [l, r, t, b] = [Math.min(l, x), Math.max(r, x), Math.min(t, y), Math.max(b, y)];
  }
  if (r < 0) [l, r, t, b] = [0, 27, 0, 27];
  const w = r - l + 1, h = b - t + 1;
  const crop = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = img[(t + y) * 28 + l + x]!; // MNIST: white on black
  const s = sharp(crop, { raw: { width: w, height: h, channels: 1 } }).resize(v.side, v.side, { fit: 'fill' });
  return (v.whiteOnBlack ? s : s.negate()).png().toBuffer();
}

export type TightCropResult = { variant: string; count: number; correct: number; noDigit: number };

/** Accuracy of a predictor on the first `count` test digits, per variant. */
export async function evaluateTightCrops(predictor: Pick<Predictor, 'predict'>, test: LabelledImages, count: number, variants = TIGHT_CROP_VARIANTS): Promise<TightCropResult[]> {
  const n = Math.min(count, test.labels.length);
  const results: TightCropResult[] = [];
  for (const v of variants) {
    const batch = new Float32Array(n * 784);
    const found: boolean[] = [];
    for (let i = 0; i < n; i++) {
      try {
        batch.set(await decodeDigit(await tightCropPng(test, i, v), { maxPixels: 1_000_000 }), i * 784);
        found.push(true);
      } catch {
        found.push(false); // "no digit found": counted as wrong
      }
    }
    const out = await predictor.predict(batch);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let d = 1; d < 10; d++) if (out[i * 10 + d]! > out[i * 10 + best]!) best = d;
      if (found[i] && best === test.labels[i]) correct++;
    }
    results.push({ variant: v.name, count: n, correct, noDigit: found.filter((f) => !f).length });
  }
  return results;
}
