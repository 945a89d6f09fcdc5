// The real-world set's image arithmetic: one-channel float planes (0…1) and the few operations
// the generator needs (sampling, resizing, blur, dilation/erosion, homographies). Plain JS so the
// set is the same for a seed on every machine (only the final PNG/JPEG encoding is sharp's).

export type Plane = { w: number; h: number; data: Float32Array };

export const plane = (w: number, h: number, fill = 0): Plane => ({ w, h, data: new Float32Array(w * h).fill(fill) });

export const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

export function smoothstep(lo: number, hi: number, v: number): number {
  const t = clamp01((v - lo) / (hi - lo));
  return t * t * (3 - 2 * t);
}

/** Bilinear sample at continuous pixel coordinates (pixel centres at integers); `outside` beyond the edge, else the edge's value. */
export function sample(p: Plane, x: number, y: number, outside?: number): number {
  if (outside !== undefined && (x < -0.5 || y < -0.5 || x > p.w - 0.5 || y > p.h - 0.5)) return outside;
  const cx = Math.min(p.w - 1, Math.max(0, x)), cy = Math.min(p.h - 1, Math.max(0, y));
  const ix = Math.floor(cx), iy = Math.floor(cy);
  const fx = cx - ix, fy = cy - iy;
  const jx = Math.min(ix + 1, p.w - 1), jy = Math.min(iy + 1, p.h - 1);
  const d = p.data;
  return (d[iy * p.w + ix]! * (1 - fx) + d[iy * p.w + jx]! * fx) * (1 - fy) + (d[jy * p.w + ix]! * (1 - fx) + d[jy * p.w + jx]! * fx) * fy;
}

/** out(x, y) = src(map(x, y)) for every pixel of a w×h output. */
export function warp(src: Plane, w: number, h: number, map: (x: number, y: number) => [number, number], outside?: number): Plane {
  const out = plane(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = map(x, y);
      out.data[y * w + x] = sample(src, sx, sy, outside);
    }
  }
  return out;
}

/** Area-average shrink (a scanner's sensor) or bilinear enlargement (a viewer's upscale). */
export function resize(src: Plane, w: number, h: number): Plane {
  const sx = src.w / w, sy = src.h / h;
  if (sx <= 1 && sy <= 1) return warp(src, w, h, (x, y) => [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5]);
  const out = plane(w, h);
  for (let oy = 0; oy < h; oy++) {
    const y0 = oy * sy, y1 = y0 + sy;
    for (let ox = 0; ox < w; ox++) {
      const x0 = ox * sx, x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), src.h); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), src.w); x++) {
          sum += src.data[y * src.w + x]! * wy * (Math.min(x + 1, x1) - Math.max(x, x0));
        }
      }
      out.data[oy * w + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/** Separable Gaussian blur, edges clamped. */
export function blur(src: Plane, sigma: number): Plane {
  if (sigma <= 0.05) return src;
  const r = Math.ceil(sigma * 3);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  const { w, h } = src;
  const tmp = plane(w, h), out = plane(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += src.data[y * w + Math.min(w - 1, Math.max(0, x + i))]! * k[i + r]!;
      tmp.data[y * w + x] = s / ks;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += tmp.data[Math.min(h - 1, Math.max(0, y + i)) * w + x]! * k[i + r]!;
      out.data[y * w + x] = s / ks;
    }
  }
  return out;
}

/** Grey-level dilation (max) or erosion (min) over a disc of radius r (pixels, may be fractional). */
export function morph(src: Plane, r: number, kind: 'dilate' | 'erode'): Plane {
  if (r <= 0) return src;
  const R = Math.floor(r);
  const offsets: [number, number][] = [];
  for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) if (dx * dx + dy * dy <= r * r) offsets.push([dx, dy]);
  const { w, h } = src;
  const out = plane(w, h);
  const dilate = kind === 'dilate';
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = dilate ? 0 : 1;
      for (const [dx, dy] of offsets) {
        const nx = x + dx, ny = y + dy;
        const s = nx < 0 || ny < 0 || nx >= w || ny >= h ? (dilate ? 0 : 1) : src.data[ny * w + nx]!;
        if (dilate ? s > v : s < v) v = s;
      }
      out.data[y * w + x] = v;
    }
  }
  return out;
}

export const mapPlane = (p: Plane, f: (v: number, i: number) => number): Plane => ({ w: p.w, h: p.h, data: p.data.map(f) });

export const sum = (p: Plane) => p.data.reduce((a, b) => a + b, 0);

/**
 * The 3×3 homography taking each `from` point to its `to` point (four of each), as a function.
 * Used backwards: pass the output's corners as `from` and the source's as `to`.
 */
export function homography(from: [number, number][], to: [number, number][]): (x: number, y: number) => [number, number] {
  // h = [a b c d e f g k], x' = (a x + b y + c) / (g x + k y + 1), y' = (d x + e y + f) / (g x + k y + 1)
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!, [u, v] = to[i]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 9; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const h = A.map((row, i) => row[8]! / row[i]!);
  return (x, y) => {
    const d = h[6]! * x + h[7]! * y + 1;
    return [(h[0]! * x + h[1]! * y + h[2]!) / d, (h[3]! * x + h[4]! * y + h[5]!) / d];
  };
}
