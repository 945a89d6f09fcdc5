// The digit is the biggest ink component: specks, dust, a neighbour's stray stroke and what is
// left of a page edge or the table beyond it are not. Components (8-connected, of pixels with
// clear ink) are measured by their ink; the biggest is kept, with any other of at least a tenth of
// its ink that lies within its reach (a 5's detached bar, a broken stroke). A component that runs
// along more than half of an image edge is background (a page edge), unless nothing else is left.
// So is a form's box drawn round the digit: a component whose ink runs along its own bounding box
// and whose box holds another component of some size (a speck in a 0's hole is not of some size).
export const INK_LEVEL = 64;

type Component = { id: number; mass: number; left: number; top: number; right: number; bottom: number; edgeRun: number };

/** Of a frame's ink, at least this share lies near its bounding box's sides (a rectangle: all of it; a drawn 0 well under). */
const FRAME_BORDER_SHARE = 0.9;
/** "Near": within this share of the box's shorter side (at least 2 px). */
const FRAME_BAND = 0.08;
/** What a frame holds is of some size: its box at least this share of the frame's box. */
const FRAME_CONTENT_AREA = 0.05;

const boxArea = (c: Component) => (c.right - c.left + 1) * (c.bottom - c.top + 1);
const strictlyInside = (d: Component, c: Component) => d.left > c.left && d.right < c.right && d.top > c.top && d.bottom < c.bottom;

/** Whether component c is a box drawn round others: its ink hugs its bounding box, which holds a component of some size. */
function isFrame(c: Component, comps: Component[], ink: Uint8Array, labels: Int32Array, w: number): boolean {
  if (!comps.some((d) => d !== c && strictlyInside(d, c) && boxArea(d) >= boxArea(c) * FRAME_CONTENT_AREA)) return false;
  const band = Math.max(2, Math.round(Math.min(c.right - c.left + 1, c.bottom - c.top + 1) * FRAME_BAND));
  let near = 0;
  for (let y = c.top; y <= c.bottom; y++) {
    const rowNear = y < c.top + band || y > c.bottom - band;
    for (let x = c.left, i = y * w + c.left; x <= c.right; x++, i++) {
      if (labels[i] !== c.id) continue;
      if (rowNear || x < c.left + band || x > c.right - band) near += ink[i]!;
    }
  }
  return near >= c.mass * FRAME_BORDER_SHARE;
}

/**
 * Labels and the fill's stack, reused (grown to the largest image seen, at most WORK_SIDE²): this
 * runs synchronously, one image at a time, and a fresh typed array costs about a microsecond.
 */
let scratch = { labels: new Int32Array(0), stack: new Int32Array(0) };

/** Ink outside the digit's components set to 0 (a new array); the input when there is no clear ink. */
export function keepDigit(ink: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  if (scratch.labels.length < n) scratch = { labels: new Int32Array(n), stack: new Int32Array(n) };
  const labels = scratch.labels.fill(-1, 0, n);
  const stack = scratch.stack; // each pixel is pushed at most once (labelled as it is pushed)
  const comps: Component[] = [];
  for (let start = 0; start < n; start++) {
    if (ink[start]! < INK_LEVEL || labels[start] !== -1) continue;
    const id = comps.length;
    const c: Component = { id, mass: 0, left: w, top: h, right: -1, bottom: -1, edgeRun: 0 };
    let onLeft = 0, onRight = 0, onTop = 0, onBottom = 0; // pixels on each image edge
    let sp = 0;
    labels[start] = id;
    stack[sp++] = start;
    while (sp > 0) {
      const i = stack[--sp]!;
      const y = (i / w) | 0, x = i - y * w;
      c.mass += ink[i]!;
      if (x < c.left) c.left = x;
      if (x > c.right) c.right = x;
      if (y < c.top) c.top = y;
      if (y > c.bottom) c.bottom = y;
      if (x === 0) onLeft++;
      if (x === w - 1) onRight++;
      if (y === 0) onTop++;
      if (y === h - 1) onBottom++;
      // the 8 neighbours, clipped to the image
      const x0 = x > 0 ? x - 1 : 0, x1 = x < w - 1 ? x + 1 : x;
      for (let ny = y > 0 ? y - 1 : 0, ye = y < h - 1 ? y + 1 : y; ny <= ye; ny++) {
        for (let j = ny * w + x0, je = ny * w + x1; j <= je; j++) {
          if (labels[j] === -1 && ink[j]! >= INK_LEVEL) {
            labels[j] = id;
            stack[sp++] = j;
          }
        }
      }
    }
    c.edgeRun = Math.max(onLeft / h, onRight / h, onTop / w, onBottom / w);
    comps.push(c);
  }
  if (comps.length === 0) return ink;
  const candidates = comps.filter((c) => c.edgeRun <= 0.5 && !isFrame(c, comps, ink, labels, w));
  const pool = candidates.length ? candidates : comps;
  const main = pool.reduce((a, b) => (b.mass > a.mass ? b : a));
  // within reach: a quarter of the main component's longer side around its box (a 1 is narrow)
  const reachX = Math.max(main.right - main.left + 1, main.bottom - main.top + 1) * 0.25, reachY = reachX;
  const keep = Uint8Array.from(comps, (c) =>
    c === main ||
    (pool.includes(c) && c.mass >= main.mass * 0.1 &&
      c.left <= main.right + reachX && c.right >= main.left - reachX && c.top <= main.bottom + reachY && c.bottom >= main.top - reachY)
      ? 1 : 0);
  // faint pixels (below INK_LEVEL) are kept only next to kept ink: anti-aliasing, not haze
  const out = new Uint8Array(n);
  for (let y = 0, i = 0; y < h; y++) {
    const y0 = y > 0 ? y - 1 : 0, y1 = y < h - 1 ? y + 1 : y;
    for (let x = 0; x < w; x++, i++) {
      const l = labels[i]!;
      if (l >= 0) {
        if (keep[l]) out[i] = ink[i]!;
        continue;
      }
      if (ink[i] === 0) continue;
      const x0 = x > 0 ? x - 1 : 0, x1 = x < w - 1 ? x + 1 : x;
      search: for (let ny = y0; ny <= y1; ny++) {
        for (let j = ny * w + x0, je = ny * w + x1; j <= je; j++) {
          const m = labels[j]!;
          if (m >= 0 && keep[m]) {
            out[i] = ink[i]!;
            break search;
          }
        }
      }
    }
  }
  return out;
}
