// The digit is the biggest ink component: specks, dust, a neighbour's stray stroke and what is
// left of a page edge or the table beyond it are not. Components (8-connected, of pixels with
// clear ink) are measured by their ink; the biggest is kept, with any other of at least a tenth of
// its ink that lies within its reach (a 5's detached bar, a broken stroke). A component that runs
// along more than half of an image edge is background (a page edge), unless nothing else is left.
export const INK_LEVEL = 64;

type Component = { mass: number; left: number; top: number; right: number; bottom: number; edgeRun: number };

/** Ink outside the digit's components set to 0 (a new array); the input when there is no clear ink. */
export function keepDigit(ink: Uint8Array, w: number, h: number): Uint8Array {
  const labels = new Int32Array(w * h).fill(-1);
  const comps: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < ink.length; start++) {
    if (ink[start]! < INK_LEVEL || labels[start] !== -1) continue;
    const id = comps.length;
    const c: Component = { mass: 0, left: w, top: h, right: -1, bottom: -1, edgeRun: 0 };
    const edges = [0, 0, 0, 0]; // pixels on the left, right, top, bottom image edge
    labels[start] = id;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w, y = (i - x) / w;
      c.mass += ink[i]!;
      if (x < c.left) c.left = x;
      if (x > c.right) c.right = x;
      if (y < c.top) c.top = y;
      if (y > c.bottom) c.bottom = y;
      if (x === 0) edges[0]!++;
      if (x === w - 1) edges[1]!++;
      if (y === 0) edges[2]!++;
      if (y === h - 1) edges[3]!++;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const j = ny * w + nx;
          if (labels[j] === -1 && ink[j]! >= INK_LEVEL) {
            labels[j] = id;
            stack.push(j);
          }
        }
      }
    }
    c.edgeRun = Math.max(edges[0]! / h, edges[1]! / h, edges[2]! / w, edges[3]! / w);
    comps.push(c);
  }
  if (comps.length === 0) return ink;
  const candidates = comps.filter((c) => c.edgeRun <= 0.5);
  const pool = candidates.length ? candidates : comps;
  const main = pool.reduce((a, b) => (b.mass > a.mass ? b : a));
  // within reach: a quarter of the main component's longer side around its box (a 1 is narrow)
  const reachX = Math.max(main.right - main.left + 1, main.bottom - main.top + 1) * 0.25, reachY = reachX;
  const keep = comps.map((c) =>
    c === main ||
    (pool.includes(c) && c.mass >= main.mass * 0.1 &&
      c.left <= main.right + reachX && c.right >= main.left - reachX && c.top <= main.bottom + reachY && c.bottom >= main.top - reachY));
  // faint pixels (below INK_LEVEL) are kept only next to kept ink: anti-aliasing, not haze
  const out = new Uint8Array(ink.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const l = labels[i]!;
      if (l >= 0) {
        if (keep[l]) out[i] = ink[i]!;
        continue;
      }
      if (ink[i] === 0) continue;
      search: for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const m = labels[ny * w + nx]!;
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
