// Each preprocessing stage on synthetic inputs whose answer is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenBackground } from '../../src/api/predict/stages/background.ts';
import { keepDigit } from '../../src/api/predict/stages/digit-component.ts';
import { squareFilter } from '../../src/api/predict/stages/morphology.ts';
import { DEFAULT_STAGES, inkImage, normalizeDigit, setPreprocessStages, type PreprocessStage } from '../../src/api/predict/normalize-image.ts';
import { changeStrokeWidth, strokeWidth } from '../../src/api/predict/stages/stroke-width.ts';

const W = 96, H = 96;
/** Paper of `level`, times `light(x, y)`, with dark ink where `ink(x, y)`. */
function picture(ink: (x: number, y: number) => boolean, light: (x: number, y: number) => number = () => 1, paper = 220, inkLevel = 30) {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = Math.round((ink(x, y) ? inkLevel : paper) * light(x, y));
  return data;
}
const bar = (x: number, y: number) => x >= 44 && x < 52 && y >= 20 && y < 76; // an upright 8×56 stroke
const inside = (f: (x: number, y: number) => boolean) => (i: number) => f(i % W, Math.floor(i / W));

test('square max/min filters agree with a naive reference, any radius', () => {
  const w = 23, h = 17;
  const src = Uint8Array.from({ length: w * h }, (_, i) => (i * 7919) % 251);
  for (const r of [1, 2, 3, 5, 11]) {
    for (const kind of ['max', 'min'] as const) {
      const fast = squareFilter(src, w, h, r, kind);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let v = kind === 'max' ? 0 : 255;
          for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
            for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) v = kind === 'max' ? Math.max(v, src[yy * w + xx]!) : Math.min(v, src[yy * w + xx]!);
          }
          assert.equal(fast[y * w + x], v, `r ${r} ${kind} at ${x},${y}`);
        }
      }
    }
  }
});

test('background: a stroke half in a deep shadow comes out whole, the shadowed paper comes out blank', () => {
  // the lower half is in a shadow at 30% of the light: its paper (66) is far below any global level
  const shadow = (_x: number, y: number) => (y >= 48 ? 0.3 : 1);
  const img = picture(bar, shadow);
  const flat = flattenBackground(img, W, H, true);
  const isBar = inside(bar);
  for (let i = 0; i < flat.length; i++) {
    if (isBar(i)) assert.ok(flat[i]! >= 200, `ink at ${i % W},${Math.floor(i / W)}: ${flat[i]}`);
    else assert.ok(flat[i]! <= 10, `paper at ${i % W},${Math.floor(i / W)}: ${flat[i]}`);
  }
  // with one global level (the stage off), the shadowed paper reads as ink
  const global = inkImage({ data: img, width: W, height: H }, { flatten: false });
  const wrong = global.reduce((n, v, i) => n + (isBar(i) !== v >= 128 ? 1 : 0), 0);
  assert.ok(wrong > 500, `the old path misreads ${wrong} pixels (shadow for ink or ink for paper)`);
  const local = inkImage({ data: img, width: W, height: H }, { flatten: true });
  assert.equal(local[80 * W + 80], 0);
  assert.ok(local[40 * W + 50]! >= 250 && local[60 * W + 50]! >= 250);
});

test('background: light ink on a dark ground with light falling off left to right', () => {
  const img = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img[y * W + x] = Math.round((bar(x, y) ? 230 : 40) * (1 - x / 200));
  const flat = flattenBackground(img, W, H, false);
  const isBar = inside(bar);
  for (let i = 0; i < flat.length; i++) assert.ok(isBar(i) ? flat[i]! >= 140 : flat[i]! <= 8, `at ${i % W},${Math.floor(i / W)}: ${flat[i]}`);
});

test('digit component: specks, a smudge far away and a page edge are removed; the digit and its detached bar stay', () => {
  const ink = new Uint8Array(W * H);
  const set = (x0: number, y0: number, x1: number, y1: number, v = 255) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * W + x] = v;
  };
  set(44, 20, 52, 76); // the digit's main stroke
  set(54, 20, 70, 26); // a detached bar next to it (a 5's top): a third of the stroke's ink
  set(10, 10, 12, 12); // specks
  set(80, 60, 82, 61);
  set(0, 0, 6, H); // the table beyond a page edge along the left side
  set(84, 88, 90, 94); // a smudge in a corner, far from the digit
  set(46, 76, 48, 77, 40); // faint anti-aliasing next to the stroke
  const out = keepDigit(ink, W, H);
  const expected = new Uint8Array(W * H);
  for (let y = 20; y < 76; y++) for (let x = 44; x < 52; x++) expected[y * W + x] = 255;
  for (let y = 20; y < 26; y++) for (let x = 54; x < 70; x++) expected[y * W + x] = 255;
  expected[76 * W + 46] = 40;
  expected[76 * W + 47] = 40;
  const diff = [...out.keys()].filter((i) => out[i] !== expected[i]).map((i) => `${i % W},${Math.floor(i / W)}: ${out[i]} not ${expected[i]}`);
  assert.deepEqual(diff.slice(0, 10), []);
});

/** A square ring: outer side `side`, line `line` px, centred in an n×n image of paper (dark ink on white). */
function ring(n: number, side: number, line: number): Uint8Array {
  const img = new Uint8Array(n * n).fill(235);
  const o = (n - side) / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const inOuter = x >= o && x < o + side && y >= o && y < o + side;
      const inInner = x >= o + line && x < o + side - line && y >= o + line && y < o + side - line;
      if (inOuter && !inInner) img[y * n + x] = 20;
    }
  }
  return img;
}

test('stroke width: 2·area/perimeter of a known shape', () => {
  const n = 40, img = ring(n, 20, 3).map((v) => 255 - v); // ink bright
  // a ring of outer side 20, line 3: area 400 − 196 = 204, perimeter 80 + 56 = 136 → 3.0
  assert.equal(strokeWidth(img, n, n), 3);
});

test('stroke width stage: a 3-px stroke (at 28×28) becomes ~2 px, a 1-px one ~2 px; hairlines and MNIST-like widths are kept', () => {
  const measure = (img: Uint8Array, stages: PreprocessStage[]) => {
    setPreprocessStages(stages);
    try {
      const out = normalizeDigit({ data: img, width: 96, height: 96 });
      return strokeWidth(Array.from(out, (v) => v * 255), 28, 28);
    } finally {
      setPreprocessStages(DEFAULT_STAGES);
    }
  };
  // outer side 80 px is scaled to 20: a 12-px line is 3 px at 28×28, a 4-px line 1 px
  const thick = ring(96, 80, 12), thin = ring(96, 80, 4);
  const before = measure(thick, ['background', 'components']);
  const after = measure(thick, ['background', 'components', 'stroke-width']);
  assert.ok(before >= 2.8, `before: ${before}`);
  assert.ok(after >= 1.6 && after <= 2.3, `3 px → ${after}`);
  const thinAfter = measure(thin, ['background', 'components', 'stroke-width']);
  assert.ok(measure(thin, ['background', 'components']) <= 1.2 && thinAfter >= 1.6 && thinAfter <= 2.4, `1 px → ${thinAfter}`);
  const mnistLike = ring(96, 80, 8); // 2 px: left alone
  assert.equal(measure(mnistLike, ['background', 'components', 'stroke-width']), measure(mnistLike, ['background', 'components']));
});

test('erosion never takes away more than 60% of the ink (thin parts survive)', () => {
  const n = 30, img = new Uint8Array(n * n);
  for (let y = 5; y < 25; y++) for (let x = 14; x < 16; x++) img[y * n + x] = 255; // a 2-px line
  assert.deepEqual(changeStrokeWidth(img, n, n, -2), img, 'a 2-px line is not eroded away');
});
