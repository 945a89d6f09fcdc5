// Outline digits (hollow letters: a fat digit drawn as its thin outline) read as nothing MNIST
// knows. Their ink is a closed hairline around a body of paper; filled, the body is a fat digit,
// which the stroke-width stage then thins to MNIST's width. Which paper is body and which is a
// real hole is decided by nesting: the paper reached from the image's edge without crossing ink is
// outside (depth 0); each ink line crossed on the way in adds one. Body is at odd depth (inside
// the outline's outer line), a hole of the body (the middle of an outlined 0, 6, 8, 9) at even
// depth again, so it stays open. Only bodies that are stroke-like are filled — thin next to the
// digit's size and long for their width: the hole of a 0 written with a fine pen is wide, the
// loops of a hairline 8, 6 or 9 are round, and they are left alone.
import { squareFilter } from './morphology.ts';

export const OUTLINE_LEVEL = 64;

export type OutlineFill = {
  /** The ink with the outline's body filled (the input itself when nothing was filled). */
  ink: Uint8Array;
  /** Regions of paper at odd depth (enclosed), each with its pixels and thickness relative to the digit's size. */
  regions: { pixels: number; thickness: number; elongation: number; filled: boolean }[];
};

/**
 * Fills enclosed, stroke-like regions of paper at odd nesting depth. `maxThickness`: the most a
 * region may measure across (twice its largest inscribed radius) relative to the longer side of
 * the ink's box, to be filled; `minElongation`: the least its area over its thickness squared
 * (a ribbon of length L and width t: L/t; a disc: π/4). `gap`: the lines are widened by this many pixels before the
 * nesting is worked out, so that a break of up to 2·gap pixels in an outline still encloses it.
 */
export function fillOutline(ink: Uint8Array, w: number, h: number, opts: { maxThickness: number; minElongation?: number; gap?: number }): OutlineFill {
  const n = w * h;
  const isInk = new Uint8Array(n);
  const gap = opts.gap ?? 0;
  const lines = gap > 0 ? squareFilter(ink, w, h, gap, 'max') : ink;
  let left = w, right = -1, top = h, bottom = -1;
  for (let i = 0; i < n; i++) {
    if (lines[i]! < OUTLINE_LEVEL) continue;
    isInk[i] = 1;
    const x = i % w, y = (i - x) / w;
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  }
  if (right < 0) return { ink, regions: [] };
  const size = Math.max(right - left + 1, bottom - top + 1);

  // depth: ink lines crossed from the image's edge. Level by level: a flood over 4-neighbours
  // that never leaves ink for paper gives one depth; the paper it stopped at starts the next.
  const depth = new Int32Array(n).fill(-1);
  let frontier: number[] = [];
  for (let x = 0; x < w; x++) frontier.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) frontier.push(y * w, y * w + w - 1);
  for (let d = 0; frontier.length; d++) {
    const next: number[] = [];
    const stack = frontier.filter((i) => depth[i] === -1);
    for (const i of stack) depth[i] = d;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, i - w, i + w]) {
        if (j < 0 || j >= n || depth[j] !== -1) continue;
        if (isInk[i] && !isInk[j]) next.push(j); // crossing out of an ink line
        else {
          depth[j] = d;
          stack.push(j);
        }
      }
    }
    frontier = next;
  }

  // regions of paper at odd depth, 4-connected; each one's thickness from a chamfer distance transform
  const odd = (i: number) => !isInk[i] && (depth[i]! & 1) === 1;
  const dist = chamferInside(odd, w, h);
  const label = new Int32Array(n).fill(-1);
  const regions: OutlineFill['regions'] = [];
  const members: number[][] = [];
  const stack: number[] = [];
  for (let s = 0; s < n; s++) {
    if (label[s] !== -1 || !odd(s)) continue;
    const id = regions.length, list: number[] = [];
    let maxDist = 0;
    label[s] = id;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop()!;
      list.push(i);
      if (dist[i]! > maxDist) maxDist = dist[i]!;
      const x = i % w;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, i - w, i + w]) {
        if (j >= 0 && j < n && label[j] === -1 && odd(j)) {
          label[j] = id;
          stack.push(j);
        }
      }
    }
    // chamfer 3-4 distances are ×3; the inscribed diameter is about twice the largest distance
    const across = Math.max(1, (2 * maxDist) / 3);
    const thickness = across / size;
    const elongation = list.length / (across * across);
    regions.push({ pixels: list.length, thickness, elongation, filled: thickness <= opts.maxThickness && elongation >= (opts.minElongation ?? 0) });
    members.push(list);
  }
  if (!regions.some((r) => r.filled)) return { ink, regions };
  let level = 0;
  for (let i = 0; i < n; i++) if (ink[i]! > level) level = ink[i]!;
  let fill: Uint8Array = new Uint8Array(n);
  regions.forEach((r, k) => {
    if (r.filled) for (const i of members[k]!) fill[i] = level;
  });
  // the lines were widened by `gap` to close small breaks: widen the fill back out to the ink
  if (gap > 0) fill = squareFilter(fill, w, h, gap, 'max');
  const out = ink.slice();
  for (let i = 0; i < n; i++) if (fill[i]! > out[i]!) out[i] = fill[i]!;
  return { ink: out, regions };
}

/** Chamfer (3-4) distance of each pixel inside the region to the nearest pixel outside it (or the image's edge). */
function chamferInside(inside: (i: number) => boolean, w: number, h: number): Int32Array {
  const d = new Int32Array(w * h);
  const BIG = 1 << 28;
  for (let i = 0; i < w * h; i++) d[i] = inside(i) ? BIG : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : d[y * w + x]!);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!d[i]) continue;
      d[i] = Math.min(d[i]!, at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4);
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (!d[i]) continue;
      d[i] = Math.min(d[i]!, at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4);
    }
  }
  return d;
}
