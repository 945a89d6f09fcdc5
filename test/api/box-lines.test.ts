// A form's box round the digit: its lines are erased (box-lines.ts) or, when it stands apart from the
// digit, it is not taken for part of it (digit-component.ts). A tight crop's long strokes, a square 0
// and a 0 with a speck in its hole are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eraseBoxLines } from '../../src/api/predict/stages/box-lines.ts';
import { keepDigit } from '../../src/api/predict/stages/digit-component.ts';
import { normalizeDigit } from '../../src/api/predict/normalize-image.ts';

const N = 96;
/** An ink image (ink bright) with the given rectangles [x0, y0, x1, y1) set to 255. */
function inkOf(...rects: [number, number, number, number][]): Uint8Array {
  const ink = new Uint8Array(N * N);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * N + x] = 255;
  return ink;
}
/** The four lines of a square box from `o` to N − o, `t` px thick. */
const box = (o: number, t: number): [number, number, number, number][] => [
  [o, o, N - o, o + t], [o, N - o - t, N - o, N - o], [o, o, o + t, N - o], [N - o - t, o, N - o, N - o],
];
const stroke: [number, number, number, number] = [44, 10, 52, 86]; // an upright 8-px stroke, 76 px long
const at = (ink: Uint8Array, x: number, y: number) => ink[y * N + x]!;

test('a box whose lines touch the digit: the lines are erased, the digit stays (but where it crossed them)', () => {
  const ink = inkOf(...box(6, 3), stroke); // the stroke runs into the top and bottom lines
  const out = eraseBoxLines(ink, N, N);
  assert.ok(out, 'a box is found');
  for (const [x, y] of [[7, 7], [50, 7], [88, 50], [7, 88], [88, 88]]) assert.equal(at(out, x!, y!), 0, `box line at ${x},${y} erased`);
  for (let y = 12; y < 84; y++) assert.equal(at(out, 48, y), 255, `stroke at 48,${y} kept`);
  // what keepDigit then takes is the stroke alone
  const kept = keepDigit(out, N, N);
  let outside = 0;
  for (let i = 0; i < N * N; i++) if (kept[i]! > 0 && (i % N < 44 || i % N >= 52)) outside++;
  assert.equal(outside, 0);
});

test('a box tilted by a photo\'s perspective (3°) is found and erased too', () => {
  const ink = inkOf(stroke);
  const t = Math.tan((3 * Math.PI) / 180);
  // a 2-px line along each side of a square from 8 to 88, turned about the centre
  for (let s = 8; s <= 88; s += 0.25) {
    for (const [x, y] of [[s, 8], [s, 88], [8, s], [88, s]] as const) {
      const dx = x - 48, dy = y - 48;
      for (let d = 0; d < 2; d++) {
        const px = Math.round(48 + dx - dy * t + (y === 8 || y === 88 ? 0 : d)), py = Math.round(48 + dy + dx * t + (y === 8 || y === 88 ? d : 0));
        if (px >= 0 && px < N && py >= 0 && py < N) ink[py * N + px] = 255;
      }
    }
  }
  const out = eraseBoxLines(ink, N, N);
  assert.ok(out, 'a box is found');
  let left = 0;
  for (let i = 0; i < N * N; i++) if (out[i]! > 0 && (i % N < 40 || i % N >= 56)) left++;
  assert.ok(left < 20, `${left} pixels of the box are left`);
});

test('no box: a square 0 alone, a tight crop\'s three long strokes, a box with nothing inside', () => {
  // a square 0 filling the picture: four lines meeting at corners, nothing inside once they are gone
  assert.equal(eraseBoxLines(inkOf(...box(4, 8)), N, N), null);
  // a tightly cropped 3: top and bottom bars and the right side, no left side
  assert.equal(eraseBoxLines(inkOf([0, 0, N, 8], [0, N - 8, N, N], [N - 8, 0, N, N], [30, 44, N, 52]), N, N), null);
  // lines that do not meet at corners (a # sign's strokes, each a quarter of the picture short of one end)
  assert.equal(eraseBoxLines(inkOf([30, 10, 90, 14], [6, 82, 66, 86], [10, 30, 14, 90], [82, 6, 86, 66], stroke), N, N), null);
  // a round 0 hugging its crop: it touches all four sides, but its corners are empty and its longest rows are chords
  const round = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const r = Math.hypot(x - 47.5, y - 47.5);
    if (r > 39 && r <= 48) round[y * N + x] = 255;
  }
  assert.equal(eraseBoxLines(round, N, N), null);
  // a picture mostly ink (noise, a dark photo taken for ink) is not searched: no box, and cheaply
  assert.equal(eraseBoxLines(new Uint8Array(N * N).fill(255), N, N), null);
  // only a stroke
  assert.equal(eraseBoxLines(inkOf(stroke), N, N), null);
});

test('a box standing apart from the digit is not taken for part of it; a speck in a 0\'s hole does not make the 0 a box', () => {
  const small = (o: number, t: number): [number, number, number, number][] => [ // a box in the middle of a bigger picture
    [o, o, N - o, o + t], [o, N - o - t, N - o, N - o], [o, o, o + t, N - o], [N - o - t, o, N - o, N - o],
  ];
  // the box spans 56 of 96 px: too short for the line test, so it is the components stage that drops it
  const ink = inkOf(...small(20, 2), [44, 28, 52, 68]);
  assert.equal(eraseBoxLines(ink, N, N), null);
  const kept = keepDigit(ink, N, N);
  assert.equal(at(kept, 21, 21), 0, 'the box is gone');
  assert.equal(at(kept, 48, 40), 255, 'the stroke stays');
  // a ring (a drawn 0) with a 2×2 speck inside: the ring is the digit
  const ring = inkOf([30, 20, 66, 26], [30, 70, 66, 76], [30, 20, 36, 76], [60, 20, 66, 76], [47, 47, 49, 49]);
  const ringKept = keepDigit(ring, N, N);
  assert.equal(at(ringKept, 33, 50), 255, 'the 0 stays');
});

test('end to end: a digit in a box reads as the same 28×28 picture as without the box', () => {
  const paper = (ink: Uint8Array) => ({ data: Uint8Array.from(ink, (v) => 235 - Math.round(v * 0.8)), width: N, height: N });
  const plain = normalizeDigit(paper(inkOf(stroke, [30, 10, 52, 16])));
  for (const [what, frame] of [['a box apart from it', box(3, 2)], ['a box touching it', box(8, 3)]] as const) {
    const boxed = normalizeDigit(paper(inkOf(...frame, stroke, [30, 10, 52, 16])));
    let diff = 0;
    for (let i = 0; i < 784; i++) diff += Math.abs(boxed[i]! - plain[i]!);
    assert.ok(diff / 784 < 0.03, `${what}: mean difference ${(diff / 784).toFixed(4)}`);
  }
});

test('tightly cropped MNIST digits (no margin at all) are never taken for a box: 2,000 test digits', async () => {
  const { loadMnist } = await import('../../src/engine/mnist.ts');
  const mnist = await loadMnist();
  const found: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const img = mnist.test.images.subarray(i * 784, (i + 1) * 784);
    let l = 28, r = -1, t = 28, b = -1;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      if (img[y * 28 + x]! >= 64) { l = Math.min(l, x); r = Math.max(r, x); t = Math.min(t, y); b = Math.max(b, y); }
    }
    // the crop enlarged 4× (nearest): a digit photographed or drawn to fill its picture
    const cw = (r - l + 1) * 4, ch = (b - t + 1) * 4;
    const ink = new Uint8Array(cw * ch);
    for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) ink[y * cw + x] = img[(t + (y >> 2)) * 28 + l + (x >> 2)]!;
    if (eraseBoxLines(ink, cw, ch)) found.push(i);
  }
  assert.deepEqual(found, []);
});
