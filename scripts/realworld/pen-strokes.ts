// Digits written by a pen of our own, not taken from MNIST: each digit has a few stroke
// templates (control points in a unit box, y down) in the shapes people write (open and closed
// 4s, 1s with and without a flag, 7s with a bar...). A sample jitters the control points, slants,
// squeezes and turns the whole, and draws each stroke as a Catmull-Rom curve (or a polyline
// where the template has corners) with a round pen of the given width.
import type { Rng } from '../../src/engine/rng.ts';
import { plane, type Plane } from './planes.ts';

type Pt = [number, number];
type Stroke = { points: Pt[]; corners?: boolean };

const arc = (cx: number, cy: number, rx: number, ry: number, from: number, to: number, n = 10): Pt[] =>
  Array.from({ length: n + 1 }, (_, i) => {
    const a = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
  });

const TEMPLATES: Stroke[][][] = [
  // 0
  [[{ points: arc(0.5, 0.5, 0.4, 0.49, -100, 265, 14) }], [{ points: arc(0.5, 0.5, 0.33, 0.49, -80, 290, 14) }]],
  // 1
  [
    [{ points: [[0.5, 0.0], [0.5, 1.0]], corners: true }],
    [{ points: [[0.2, 0.25], [0.55, 0.0], [0.55, 1.0]], corners: true }],
    [{ points: [[0.25, 0.22], [0.55, 0.0], [0.55, 1.0]], corners: true }, { points: [[0.25, 1.0], [0.85, 1.0]], corners: true }],
  ],
  // 2
  [
    [{ points: [[0.12, 0.25], [0.35, 0.03], [0.65, 0.02], [0.85, 0.22], [0.75, 0.48], [0.4, 0.76], [0.1, 0.98], [0.5, 0.97], [0.92, 0.98]] }],
    [{ points: [[0.15, 0.2], [0.5, 0.0], [0.85, 0.2], [0.6, 0.6], [0.1, 1.0], [0.9, 1.0]], corners: true }],
  ],
  // 3
  [
    [{ points: [[0.12, 0.12], [0.45, 0.0], [0.8, 0.12], [0.75, 0.38], [0.4, 0.48], [0.8, 0.6], [0.85, 0.85], [0.5, 1.0], [0.12, 0.88]] }],
    [{ points: [[0.15, 0.05], [0.85, 0.05], [0.4, 0.45]], corners: true }, { points: [[0.4, 0.45], [0.8, 0.55], [0.85, 0.85], [0.5, 1.0], [0.12, 0.9]] }],
  ],
  // 4
  [
    [{ points: [[0.6, 0.0], [0.08, 0.66], [0.95, 0.66]], corners: true }, { points: [[0.68, 0.3], [0.68, 1.0]], corners: true }],
    [{ points: [[0.18, 0.0], [0.12, 0.56], [0.9, 0.56]], corners: true }, { points: [[0.72, 0.0], [0.72, 1.0]], corners: true }],
  ],
  // 5
  [
    [{ points: [[0.25, 0.02], [0.2, 0.45]], corners: true }, { points: [[0.2, 0.45], [0.5, 0.36], [0.82, 0.55], [0.8, 0.85], [0.5, 1.0], [0.12, 0.9]] }, { points: [[0.25, 0.02], [0.85, 0.02]], corners: true }],
    [{ points: [[0.85, 0.02], [0.25, 0.02], [0.2, 0.45]], corners: true }, { points: [[0.2, 0.45], [0.55, 0.4], [0.85, 0.65], [0.7, 0.95], [0.15, 0.92]] }],
  ],
  // 6
  [
    [{ points: [[0.75, 0.02], [0.4, 0.2], [0.18, 0.6], [0.3, 0.95], [0.65, 0.95], [0.8, 0.7], [0.55, 0.5], [0.22, 0.65]] }],
    [{ points: [[0.65, 0.0], [0.3, 0.35], [0.2, 0.75], [0.45, 1.0], [0.78, 0.82], [0.65, 0.55], [0.25, 0.62]] }],
  ],
  // 7
  [
    [{ points: [[0.1, 0.04], [0.9, 0.04], [0.38, 1.0]], corners: true }],
    [{ points: [[0.1, 0.12], [0.2, 0.04], [0.9, 0.04], [0.42, 1.0]], corners: true }, { points: [[0.35, 0.52], [0.82, 0.52]], corners: true }],
  ],
  // 8
  [
    [{ points: [[0.75, 0.15], [0.5, 0.0], [0.22, 0.15], [0.3, 0.38], [0.7, 0.6], [0.8, 0.85], [0.5, 1.0], [0.2, 0.85], [0.3, 0.6], [0.7, 0.38], [0.78, 0.15], [0.6, 0.03]] }],
    [{ points: arc(0.5, 0.25, 0.3, 0.24, 0, 360, 10) }, { points: arc(0.5, 0.74, 0.38, 0.26, -90, 270, 12) }],
  ],
  // 9
  [
    [{ points: [[0.8, 0.22], [0.5, 0.02], [0.2, 0.2], [0.25, 0.45], [0.55, 0.5], [0.8, 0.25]] }, { points: [[0.8, 0.22], [0.74, 1.0]], corners: true }],
    [{ points: [[0.78, 0.3], [0.55, 0.04], [0.22, 0.15], [0.25, 0.45], [0.6, 0.45], [0.8, 0.25], [0.75, 0.7], [0.45, 1.0]] }],
  ],
];

export type PenOptions = {
  /** Canvas side, pixels. */
  side: number;
  /** Digit height as a fraction of the side. */
  height: number;
  /** Pen width as a fraction of the digit height. */
  width: number;
  /** Shift of the digit's centre from the canvas centre, fractions of the side. */
  offset?: Pt;
};

/** The ink of one pen-written digit: a side×side plane, 1 = ink. */
export function penDigit(label: number, rng: Rng, opts: PenOptions): Plane {
  const variants = TEMPLATES[label]!;
  const template = variants[rng.nextBelow(variants.length)]!;
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
  const slant = u(-0.3, 0.25); // x += slant * (0.5 - y): positive leans right
  const aspect = label === 1 ? u(0.35, 0.6) : u(0.55, 0.85);
  const turn = (u(-7, 7) * Math.PI) / 180;
  const jitter = 0.035;
  const H = opts.height * opts.side;
  const [ox, oy] = opts.offset ?? [0, 0];
  const cx = opts.side * (0.5 + ox), cy = opts.side * (0.5 + oy);
  const place = ([x, y]: Pt): Pt => {
    const px = (x - 0.5) * aspect + slant * (0.5 - y), py = y - 0.5;
    const rx = px * Math.cos(turn) - py * Math.sin(turn), ry = px * Math.sin(turn) + py * Math.cos(turn);
    return [cx + rx * H, cy + ry * H];
  };
  const ink = plane(opts.side, opts.side);
  const penR = Math.max(0.6, (opts.width * H) / 2);
  for (const stroke of template) {
    const pts = stroke.points.map(([x, y]): Pt => [x + rng.nextNormal() * jitter, y + rng.nextNormal() * jitter]).map(place);
    const path = stroke.corners ? pts : catmullRom(pts, 10);
    for (let i = 1; i < path.length; i++) capsule(ink, path[i - 1]!, path[i]!, penR * u(0.92, 1.08));
  }
  return ink;
}

function catmullRom(pts: Pt[], perSegment: number): Pt[] {
  if (pts.length < 3) return pts;
  const out: Pt[] = [];
  const at = (i: number) => pts[Math.max(0, Math.min(pts.length - 1, i))]!;
  for (let i = 0; i < pts.length - 1; i++) {
    const [p0, p1, p2, p3] = [at(i - 1), at(i), at(i + 1), at(i + 2)];
    for (let s = 0; s < perSegment; s++) {
      const t = s / perSegment, t2 = t * t, t3 = t2 * t;
      const f = (a: number, b: number, c: number, d: number) =>
        0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
      out.push([f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1])]);
    }
  }
  out.push(pts[pts.length - 1]!);
  return out;
}

/** A round pen of radius r moved from a to b, anti-aliased (coverage ~ distance to the segment). */
function capsule(ink: Plane, a: Pt, b: Pt, r: number): void {
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r - 1)), x1 = Math.min(ink.w - 1, Math.ceil(Math.max(a[0], b[0]) + r + 1));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r - 1)), y1 = Math.min(ink.h - 1, Math.ceil(Math.max(a[1], b[1]) + r + 1));
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy || 1e-9;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / len2));
      const d = Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
      const cover = Math.max(0, Math.min(1, r - d + 0.5));
      const i = y * ink.w + x;
      if (cover > ink.data[i]!) ink.data[i] = cover;
    }
  }
}
