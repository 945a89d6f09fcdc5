// Each preprocessing stage on synthetic inputs whose answer is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenBackground } from '../../src/api/predict/stages/background.ts';
import { keepDigit } from '../../src/api/predict/stages/digit-component.ts';
import { inkIsDarker } from '../../src/api/predict/stages/polarity.ts';
import { squareFilter } from '../../src/api/predict/stages/morphology.ts';
import { DEFAULT_STAGES, inkImage, normalizeDigit, setPreprocessStages, type PreprocessStage } from '../../src/api/predict/normalize-image.ts';
import { changeStrokeWidth, strokeWidth } from '../../src/api/predict/stages/stroke-width.ts';
import { fillOutline } from '../../src/api/predict/stages/outline-fill.ts';

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

/** Where a normalised 28×28 digit's ink is: its mass-weighted column spread and its height in rows. */
function uprightBar(out: Float32Array): { spreadX: number; rows: number } {
  let mass = 0, mx = 0, rows = 0;
  for (let y = 0; y < 28; y++) {
    let row = 0;
    for (let x = 0; x < 28; x++) [mass, mx, row] = [mass + out[y * 28 + x]!, mx + x * out[y * 28 + x]!, row + out[y * 28 + x]!];
    if (row > 0.5) rows++;
  }
  mx /= mass;
  let sx = 0;
  for (let i = 0; i < 784; i++) sx += out[i]! * ((i % 28) - mx) ** 2;
  return { spreadX: Math.sqrt(sx / mass), rows };
}

test('polarity: dark ink on paper mostly in shadow (a dark border) is still dark ink; chalk on a board is light ink', () => {
  // 85% of the page in a shadow at 40% of the light, so even the border's lit part (90th percentile) is dark;
  // and the lit ink (60) is darker than... the shadowed paper (88): no global level separates them
  const shadow = (x: number, y: number) => (x + y > 24 ? 0.4 : 1);
  const pen = picture(bar, shadow, 220, 20);
  assert.equal(inkIsDarker(pen, W, H), true);
  const chalk = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) chalk[y * W + x] = Math.round((bar(x, y) ? 210 : 45) * (x < 30 ? 1.4 : 1));
  assert.equal(inkIsDarker(chalk, W, H), false);
  // a board whose lit patch is as wide as the window is not taken for ink
  // the whole path: the pen's bar is read as an upright bar, the chalk's too
  for (const img of [pen, chalk]) {
    const out = normalizeDigit({ data: img, width: W, height: H });
    const { spreadX, rows } = uprightBar(out);
    assert.ok(rows >= 18 && spreadX < 2.5, `an upright bar: ${rows} rows, column spread ${spreadX.toFixed(2)}`);
  }
});

test('a shadow wedge in the border narrower than the background window does not blank the digit', () => {
  // a dark triangle in two corners: after flattening it passes for ink on the border and raised the
  // noise floor over the whole digit (the set's "no digit found" on shadowed photos)
  const wedge = (x: number, y: number) => (x + y < 26 || (W - x) + (H - y) < 26 ? 0.45 : 1);
  const img = picture(bar, wedge, 200, 110); // a grey pencil
  const out = normalizeDigit({ data: img, width: W, height: H });
  const { spreadX, rows } = uprightBar(out);
  assert.ok(rows >= 18 && spreadX < 2.5, `an upright bar: ${rows} rows, column spread ${spreadX.toFixed(2)}`);
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

// Outline fill: bright ink (255) on 0, 96×96, drawn as hairlines (1–2 px).
const N = 96;
function drawn(onLine: (x: number, y: number) => boolean): Uint8Array {
  const ink = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if (onLine(x, y)) ink[y * N + x] = 255;
  return ink;
}
const circle = (cx: number, cy: number, r: number, line = 1.5) => (x: number, y: number) => Math.abs(Math.hypot(x - cx, y - cy) - r) <= line / 2;
/** The outline (2 px) of an axis-aligned box: an outlined 1 when tall and narrow. */
const boxOutline = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) =>
  x >= x0 && x <= x1 && y >= y0 && y <= y1 && (x <= x0 + 1 || x >= x1 - 1 || y <= y0 + 1 || y >= y1 - 1);
const at = (img: Uint8Array, x: number, y: number) => img[y * N + x]!;

test('outline fill: an outlined 1 (the outline of a bar) becomes a filled bar', () => {
  const ink = drawn(boxOutline(40, 10, 54, 86));
  const { ink: out, regions } = fillOutline(ink, N, N, { maxThickness: 0.5, minElongation: 1.4, gap: 1 });
  assert.equal(regions.length, 1);
  assert.ok(regions[0]!.filled, `thickness ${regions[0]!.thickness}`);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) assert.equal(at(out, x, y), x >= 40 && x <= 54 && y >= 10 && y <= 86 ? 255 : 0, `at ${x},${y}`);
  }
});

test('outline fill: an outlined 0 (two rings) fills the ring between them and leaves the middle open', () => {
  const ink = drawn((x, y) => circle(48, 48, 38)(x, y) || circle(48, 48, 22)(x, y));
  const { ink: out } = fillOutline(ink, N, N, { maxThickness: 0.5, minElongation: 1.4, gap: 1 });
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const d = Math.hypot(x - 48, y - 48);
      if (d > 24 && d < 36) assert.equal(at(out, x, y), 255, `the 0's body at ${x},${y}`);
      if (d < 20 || d > 40) assert.equal(at(out, x, y), 0, `the middle or outside at ${x},${y}`);
    }
  }
});

test('outline fill: a 0 written as one hairline ring keeps its hole (wider than any stroke); so does an 8\'s pair of loops', () => {
  const zero = drawn(circle(48, 48, 38));
  const opts = { maxThickness: 0.5, minElongation: 1.4, gap: 1 };
  const z = fillOutline(zero, N, N, opts);
  assert.equal(z.regions.length, 1);
  assert.ok(!z.regions[0]!.filled && z.regions[0]!.thickness > 0.8, `the hole measures ${z.regions[0]!.thickness} of the digit across`);
  assert.deepEqual(z.ink, zero);
  const eight = drawn((x, y) => circle(48, 28, 20)(x, y) || circle(48, 68, 20)(x, y));
  const e = fillOutline(eight, N, N, opts);
  assert.equal(e.regions.length, 2);
  for (const r of e.regions) assert.ok(r.thickness <= 0.5 && r.elongation < 1.4 && !r.filled, `a loop: ${JSON.stringify(r)}`);
  assert.deepEqual(e.ink, eight);
});

test('outline fill: a break of 2 px in the outline is bridged with gap 1, not without', () => {
  const broken = drawn((x, y) => boxOutline(40, 10, 54, 86)(x, y) && !(x >= 40 && x <= 41 && y >= 40 && y <= 41));
  assert.equal(fillOutline(broken, N, N, { maxThickness: 0.5 }).regions.length, 0, 'open without gap closing');
  const { ink: out, regions } = fillOutline(broken, N, N, { maxThickness: 0.5, gap: 1 });
  assert.equal(regions.filter((r) => r.filled).length, 1);
  assert.equal(at(out, 47, 48), 255);
  assert.equal(at(out, 30, 48), 0);
});

test('outline fill stage: an outlined 1 photographed reads as a bar of MNIST\'s width; an ordinary stroke is left alone', () => {
  const run = (img: Uint8Array, stages: PreprocessStage[]) => {
    setPreprocessStages(stages);
    try {
      return normalizeDigit({ data: img, width: W, height: H });
    } finally {
      setPreprocessStages(DEFAULT_STAGES);
    }
  };
  // a 1-px outline (a 2-px one of so narrow a bar is a 1-px stroke at 28×28: not a hairline)
  const outlined = picture((x, y) => boxOutline(40, 10, 54, 86)(x, y) && (x === 40 || x === 54 || y === 10 || y === 86));
  const width = (v: Float32Array) => strokeWidth(Array.from(v, (p) => p * 255), 28, 28);
  assert.ok(width(run(outlined, ['background', 'components', 'stroke-width'])) < 0.7, 'a hairline without the stage');
  const filled = run(outlined, ['background', 'components', 'outline-fill', 'stroke-width']);
  assert.ok(width(filled) >= 1.3 && width(filled) <= 3, `filled and thinned: ${width(filled)}`);
  // the middle column of the 28×28 result is ink from top to bottom of the bar, as a 1's
  const column = Array.from({ length: 18 }, (_, k) => filled[(5 + k) * 28 + 14]!);
  assert.ok(column.every((v) => v > 0.5), `the bar's middle: ${column.map((v) => v.toFixed(1)).join(' ')}`);
  const ordinary = picture(bar); // an 8-px stroke: 2.9 px at 28×28, not a hairline
  assert.deepEqual(run(ordinary, ['background', 'components', 'outline-fill', 'stroke-width']), run(ordinary, ['background', 'components', 'stroke-width']));
});

/** A test digit cropped tight (no margin: its strokes touch all four edges) and stretched to side×side, white on black (eval:tight's picture), as grey pixels. */
async function tightWhiteOnBlack(index: number, side: number): Promise<{ data: Uint8Array }> {
  const { loadMnist } = await import('../../src/engine/mnist.ts');
  const { tightCropPng } = await import('../../src/eval/tight-crops.ts');
  const sharp = (await import('sharp')).default;
  const png = await tightCropPng((await loadMnist()).test, index, { name: 'test', side, whiteOnBlack: true });
  return { data: new Uint8Array(await sharp(png).extractChannel(0).raw().toBuffer()) };
}

/** Mean absolute difference of two normalised digits. */
const meanDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

test('a digit cropped tight, white on black, reads as its black-on-white twin: 16×16 (a USPS digit) and 48×48', async () => {
  // the strokes touch the border, so its lit part (90th percentile) is ink: this was read as dark ink on paper (blank)
  for (const side of [16, 48]) {
    for (const index of [0, 1, 2, 3, 4]) {
      const { data } = await tightWhiteOnBlack(index, side);
      const twin = data.map((v) => 255 - v);
      const a = normalizeDigit({ data, width: side, height: side });
      const b = normalizeDigit({ data: twin, width: side, height: side });
      assert.ok(meanDiff(a, b) < 0.06, `${side}×${side}, digit ${index}: mean difference ${meanDiff(a, b).toFixed(4)}`);
    }
  }
});
