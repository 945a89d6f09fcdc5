// Turns a greyscale photo or scan of one digit into what MNIST's networks were trained
// on, the way MNIST itself was made: ink bright on black, cropped to the ink, scaled to
// fit 20×20 (aspect kept), placed in 28×28 so the centre of mass sits in the middle.
// Photos need more on the way, one stage per file under stages/, each kept only where it
// measured better on the real-world set (src/api/README.md, "Preprocessing for photos").
import { unprocessable } from '../../errors.ts';
import { flattenBackground } from './stages/background.ts';
import { inkIsDarker } from './stages/polarity.ts';
import { keepDigit } from './stages/digit-component.ts';
import { eraseBoxLines } from './stages/box-lines.ts';
import { fillOutline } from './stages/outline-fill.ts';
import { DEFAULT_STAGES, type PreprocessStage } from './stages/stage-names.ts';
import { changeStrokeWidth, STROKE_LEVEL, strokeWidth } from './stages/stroke-width.ts';

export const SIDE = 28;
const BOX = 20;

export type GreyImage = { data: Uint8Array; width: number; height: number };

export { DEFAULT_STAGES, PREPROCESS_STAGES, type PreprocessStage } from './stages/stage-names.ts';
const active = new Set<PreprocessStage>(DEFAULT_STAGES);

/** Which optional stages run (process-wide): PREPROCESS_STAGES at boot, `eval:realworld -- --stages` to measure each one. */
export function setPreprocessStages(stages: Iterable<PreprocessStage>): void {
  active.clear();
  for (const s of stages) active.add(s);
}

/** One stage's picture, for ?debug=1: grey pixels (ink bright from the ink stage on). */
export type StageTrace = { stage: string; width: number; height: number; pixels: Uint8Array; note?: string };

/**
 * Returns 784 floats in [0, 1]; throws a 422 ApiError when no ink can be found. Runs on
 * the event loop: the decoder has already shrunk the image to at most 256×256, which bounds
 * the work: ~50 µs for an MNIST PNG, ~3 ms for a photo (`npm run bench:preprocess`), ~20 ms
 * for a crafted 256×256 grid of lines; predict-input.ts yields to the loop every few images.
 */
export function normalizeDigit(img: GreyImage, trace?: StageTrace[]): Float32Array {
  const { width, height } = img;
  trace?.push({ stage: 'decoded', width, height, pixels: img.data });
  let ink = inkImage(img);
  trace?.push({ stage: 'ink', width, height, pixels: ink });
  if (active.has('components')) {
    const unboxed = eraseBoxLines(ink, width, height);
    if (unboxed) ink = unboxed;
    ink = keepDigit(ink, width, height);
    trace?.push({ stage: 'digit component', width, height, pixels: ink, ...(unboxed ? { note: "a box's lines erased" } : {}) });
  }
  const box = inkBoundingBox(ink, width, height);
  if (!box) throw unprocessable('no digit found in the image (it looks blank)');
  let out = fitAndCentre(ink, width, box);
  // of `out`, kept in step with it (the two stages below read it)
  let measured = active.has('outline-fill') || active.has('stroke-width') ? strokeWidth(out, SIDE, SIDE, STROKE_LEVEL / 255) : 0;
  if (active.has('outline-fill')) {
    let note = `stroke width ${measured.toFixed(2)} px at 28×28: `;
    if (measured < OUTLINE.maxWidth) {
      const filled = fillOutline(ink, width, height, { maxThickness: OUTLINE.maxThickness, minElongation: OUTLINE.minElongation, gap: OUTLINE.gap });
      const n = filled.regions.filter((r) => r.filled).length;
      note += `a hairline; ${filled.regions.length} enclosed region(s) of the outline's body, ${n} filled`;
      if (n > 0) {
        const filledBox = inkBoundingBox(filled.ink, width, height);
        if (filledBox) {
          [ink, out] = [filled.ink, fitAndCentre(filled.ink, width, filledBox)];
          measured = strokeWidth(out, SIDE, SIDE, STROKE_LEVEL / 255);
        }
      }
    } else note += 'not a hairline outline, kept';
    trace?.push({ stage: 'outline fill', width, height, pixels: ink, note });
  }
  if (active.has('stroke-width')) {
    const before = measured;
    const scale = BOX / Math.max(box.width, box.height); // 28×28 pixels per image pixel
    const r = before > STROKE_WIDTH.max || (before > STROKE_WIDTH.hairline && before < STROKE_WIDTH.min)
      ? Math.round((STROKE_WIDTH.target - before) / scale / 2) : 0;
    if (r !== 0) {
      const changed = changeStrokeWidth(ink, width, height, r);
      const changedBox = inkBoundingBox(changed, width, height);
      if (changedBox) {
        [ink, out] = [changed, fitAndCentre(changed, width, changedBox)];
        measured = strokeWidth(out, SIDE, SIDE, STROKE_LEVEL / 255);
      }
    }
    if (trace) {
      const note = `stroke width ${before.toFixed(2)} px at 28×28 (MNIST's median: 1.84)` +
        (r === 0 ? ', kept' : `: ${r > 0 ? 'dilated' : 'eroded'} by ${Math.abs(r)} px → ${measured.toFixed(2)} px`);
      trace.push({ stage: 'stroke width', width, height, pixels: ink, note });
    }
  }
  trace?.push({ stage: 'mnist 28×28', width: SIDE, height: SIDE, pixels: Uint8Array.from(out, (v) => Math.round(v * 255)) });
  return out;
}

type Box = { left: number; top: number; width: number; height: number };

/** Scaled to fit 20×20 (aspect kept) and centred by mass in 28×28. */
function fitAndCentre(ink: Uint8Array, stride: number, box: Box): Float32Array {
  const scale = BOX / Math.max(box.width, box.height);
  const w = Math.max(1, Math.round(box.width * scale));
  const h = Math.max(1, Math.round(box.height * scale));
  return centreByMass(resample(ink, stride, box, w, h, SCRATCH.patch), w, h);
}

/**
 * Stroke widths (2·area/perimeter at 28×28, stroke-width.ts) left alone: MNIST's test digits
 * measure 1.36 / 1.84 / 2.59 (10th, 50th, 90th percentile); outside [min, max] the ink is
 * made thinner or thicker towards the target.
 */
const STROKE_WIDTH = { hairline: 0.8, min: 1.3, max: 2.8, target: 1.9 };

/**
 * Outline fill (stages/outline-fill.ts) runs only on hairline ink: below `maxWidth` px at 28×28
 * (the real-world set's outline digits measure 0–0.67, every other category's digits 0.78 and up
 * but two of 650); a region is filled when it measures at most `maxThickness` of the digit's size
 * across (outline bodies: 0.17–0.52; the hole of a round 0 is wider, and stays open even when the
 * 0 is a hairline). Measured, bundled model / ch1-mlp30, outline digits: 0.6 and 0.5 96% / 86%,
 * 0.45 92% / 82%, 0.4 84% / 80%. `minElongation` (area / thickness²: a ribbon is long for its
 * width, a loop's hole is not): the outline bodies measure 1.2–9, the holes of the set's 0, 6, 8
 * and 9 mostly 0.9–1.3 (a few 1.5–3), so a hairline 8's or 6's round loops stay open; 1.4 costs
 * the set one outline digit (94% / 84%; 1.6: 88% / 82%). `gap`: breaks in the line up to 2 px (at the image's own
 * resolution) are closed first (measured, bundled model: outline digits 92% without, 96% with 1 or
 * 2 px; ch1-mlp30 86% either way). The filled body is then thinned by the stroke-width stage
 * (without it: 92% and 78%).
 */
const OUTLINE = { maxWidth: 0.7, maxThickness: 0.5, minElongation: 1.4, gap: 1 };

/**
 * The box of `src` scaled to w×h: each output pixel is the mean of the source area it
 * covers (exact at scale 1, anti-aliased when shrinking); when enlarging, bilinear. `into`: where
 * to write (at least w·h long).
 */
export function resample(src: Uint8Array, stride: number, box: Box, w: number, h: number, into = new Uint8Array(w * h)): Uint8Array {
  const out = into;
  const sx = box.width / w, sy = box.height / h;
  const at = (x: number, y: number) => src[(box.top + y) * stride + box.left + x]!;
  for (let oy = 0; oy < h; oy++) {
    const y0 = oy * sy, y1 = y0 + sy;
    for (let ox = 0; ox < w; ox++) {
      const x0 = ox * sx, x1 = x0 + sx;
      let v: number;
      if (sx >= 1 && sy >= 1) {
        let sum = 0;
        for (let y = Math.floor(y0), ye = Math.min(Math.ceil(y1), box.height); y < ye; y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          for (let x = Math.floor(x0), xe = Math.min(Math.ceil(x1), box.width); x < xe; x++) {
            sum += at(x, y) * wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          }
        }
        v = sum / (sx * sy);
      } else {
        // sample at the output pixel's centre, between the four nearest source pixels
        const cx = Math.min(box.width - 1, Math.max(0, (x0 + x1) / 2 - 0.5));
        const cy = Math.min(box.height - 1, Math.max(0, (y0 + y1) / 2 - 0.5));
        const ix = Math.floor(cx), iy = Math.floor(cy);
        const fx = cx - ix, fy = cy - iy;
        const jx = Math.min(ix + 1, box.width - 1), jy = Math.min(iy + 1, box.height - 1);
        v = (at(ix, iy) * (1 - fx) + at(jx, iy) * fx) * (1 - fy) + (at(ix, jy) * (1 - fx) + at(jx, jy) * fx) * fy;
      }
      out[oy * w + ox] = Math.round(v);
    }
  }
  return out;
}

/**
 * Ink made bright on a black background and stretched to 0…255. Polarity comes from
 * the border (the paper): a light border means dark ink on light paper. The paper's
 * level plus three (robust) standard deviations of its noise becomes black. Everything
 * works on 256-bin histograms and ends in one lookup table, so it costs a pass or two.
 */
export function inkImage(img: GreyImage, opts: { flatten?: boolean } = {}): Uint8Array {
  const border = borderHistogram(img.data, img.width, img.height);
  const count = histTotal(border);
  const median = histQuantile(border, count, 0.5);
  // A border of one exact level is a digital image (a canvas, an MNIST PNG), and a picture of a few
  // dozen pixels a side a thumbnail or a dataset's digit (USPS: 16×16), no photograph: no light to even out.
  const digital = border[median] === count;
  const small = Math.max(img.width, img.height) <= SMALL_SIDE;
  if (!(opts.flatten ?? active.has('background')) || digital || small) return stretchInk(img.data, median > 127, border);
  // Polarity: a dark border that is the darkest thing in the picture, round light strokes, is a
  // black ground (a white-on-black digit cropped tight, touching the edges); otherwise a border
  // whose lit part (its 90th percentile: a shadow may cover the rest) is light paper means dark
  // ink, and a dark border is a board or paper in shadow: the ink's side decides.
  const darkInk = median <= 127 && isBlackGround(img.data, median)
    ? false
    : histQuantile(border, count, 0.9) > 127 || inkIsDarker(img.data, img.width, img.height);
  // the local paper level removed: what is left is ink, bright, on a paper at ~0 (never inverted again)
  const flat = flattenBackground(img.data, img.width, img.height, darkInk);
  return stretchInk(flat, false, borderHistogram(flat, img.width, img.height));
}

/**
 * At most this many pixels on the longer side: a thumbnail or a dataset's digit, not a photo
 * (inkImage). `npm run eval:tight` (the first 2,000 MNIST test digits cropped tight and stretched to
 * 16×16 like USPS's), bundled model: white on black 18.4% read right before (the background window,
 * 5 px, is a stroke's width), 97.8% without the flattening; black on white 97.0 → 97.3%
 * (ch1-mlp30: 11.4 → 86.2%, 86.3 → 85.8%); the real-world set's `tiny` scans (12–20 px) unchanged.
 */
const SMALL_SIDE = 32;

/**
 * A black ground: the border's level within BLACK_GROUND.margin of the picture's darkest (its
 * 0.5th percentile; paper in a shadow is lighter than the ink on it), and what is lighter than
 * half-way covering under `maxLight` of the picture (strokes, not a sheet of paper on a black desk,
 * which stays with the rule before). `npm run eval:tight`, 48×48 / 100×100 white on black, bundled
 * model: 21.8% / 20.9% read right before, 88.3% / 89.1% with it (about a point more without the
 * `maxLight` guard; ch1-mlp30 13.9% / 13.3% → 79.1% / 79.5%); black on white unchanged; the
 * real-world set unchanged, every category, both models (`inverted`, chalk on boards: 100%).
 */
const BLACK_GROUND = { margin: 24, maxLight: 0.5 };

function isBlackGround(data: Uint8Array, median: number): boolean {
  const all = SCRATCH.all.fill(0);
  for (let i = 0; i < data.length; i++) all[data[i]!]!++;
  if (median - histQuantile(all, data.length, 0.005) > BLACK_GROUND.margin) return false;
  let light = 0;
  for (let v = Math.ceil((median + 255) / 2); v < 256; v++) light += all[v]!;
  return light < data.length * BLACK_GROUND.maxLight;
}

/**
 * Paper to black, the brightest ink to 255 (invert: dark ink on light paper). `border`: the
 * image's borderHistogram (the caller has it already).
 */
function stretchInk(data: Uint8Array, invert: boolean, border: Uint32Array): Uint8Array {
  const borderCount = histTotal(border);
  const paper = histQuantile(border, borderCount, 0.5);
  const bg = invert ? 255 - paper : paper;
  // the paper's noise: median absolute deviation from its level (the same either polarity); none
  // when the border is one exact level (a digital image)
  let mad = 0;
  if (border[paper] !== borderCount) {
    const deviation = SCRATCH.deviation.fill(0);
    for (let v = 0; v < 256; v++) deviation[Math.abs(v - paper)]! += border[v]!;
    mad = histQuantile(deviation, borderCount, 0.5);
  }
  const noise = Math.min(254, bg + 3 * 1.4826 * mad);
  const n = data.length;
  const all = SCRATCH.all.fill(0);
  for (let i = 0; i < n; i++) all[data[i]!]!++;
  // the brightest ink, ignoring the odd speck: the 99.9th percentile (in ink polarity)
  const top = invert ? 255 - histQuantile(all, n, 0.001) : histQuantile(all, n, 0.999);
  const out = new Uint8Array(n);
  // ...but never above half-way to the ink: a flattened photo's border can hold shadow wedges
  // narrower than the background window, which pass for ink and would put the floor over the digit
  const floor = Math.min(noise, bg + (top - bg) / 2);
  if (top - floor < 32) return out; // no contrast: blank
  const k = 255 / (top - floor);
  const lut = SCRATCH.lut;
  for (let v = 0; v < 256; v++) {
    const x = ((invert ? 255 - v : v) - floor) * k;
    lut[v] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
  }
  for (let i = 0; i < n; i++) out[i] = lut[data[i]!]!;
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

/**
 * The histograms and table of inkImage, reused: preprocessing runs synchronously on the event loop,
 * one image at a time, and each fresh typed array costs about a microsecond (its memory lives
 * outside V8's heap), a good part of a small PNG's whole preprocessing. Nothing here escapes a call.
 */
const SCRATCH = {
  border: new Uint32Array(256), deviation: new Uint32Array(256), all: new Uint32Array(256), lut: new Uint8Array(256),
  patch: new Uint8Array(BOX * BOX), // fitAndCentre's scaled digit, at most 20×20
};

/** How many values a histogram counts (a plain loop: reduce's callback costs more on the hot path). */
function histTotal(hist: Uint32Array): number {
  let n = 0;
  for (let v = 0; v < hist.length; v++) n += hist[v]!;
  return n;
}

/** Histogram of a frame 1/16 of the size deep (at least 1 pixel): the paper around the digit (in SCRATCH.border). */
function borderHistogram(data: Uint8Array, w: number, h: number): Uint32Array {
  const d = Math.max(1, Math.floor(Math.min(w, h) / 16));
  const hist = SCRATCH.border.fill(0);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    if (y < d || y >= h - d) {
      for (let x = 0; x < w; x++) hist[data[row + x]!]!++;
    } else {
      for (let x = 0; x < d; x++) hist[data[row + x]!]!++;
      for (let x = w - d; x < w; x++) hist[data[row + x]!]!++;
    }
  }
  return hist;
}

/** The q-quantile of the values a 256-bin histogram counts. */
function histQuantile(hist: Uint32Array, count: number, q: number): number {
  const target = q * (count - 1);
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v]!;
    if (seen > target) return v;
  }
  return 255;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
