// A photograph or scan of an ink plane: paper (tint, texture, ruled lines, a page edge, specks),
// the ink on it, the camera (perspective, light falling off, a shadow, vignetting, blur, sensor
// noise) and the file (size, PNG or JPEG quality). Returns the encoded bytes.
import sharp from 'sharp';
import type { Rng } from '../../src/engine/rng.ts';
import { blur, clamp01, homography, plane, type Plane, resize, warp } from './planes.ts';

type RGB = [number, number, number];

export type SceneOptions = {
  paper: RGB;
  ink: RGB;
  /** How much of the paper the ink hides (1: opaque). */
  inkAlpha?: number;
  /** Paper texture amplitude (fibres, grain), 0…0.2. */
  texture?: number;
  ruled?: { spacing: number; width: number; colour: RGB; margin?: boolean };
  /** The paper ends this far (fraction of the side) from one edge; beyond it, the table. */
  pageEdge?: { depth: number; colour: RGB };
  specks?: number;
  /** Light falling off across the picture: 0 (even) … 0.8. */
  gradient?: number;
  /** A shadow (hand, phone) across part of the picture: its darkness 0…0.8 and edge softness (pixels). */
  shadow?: { strength: number; softness: number };
  vignette?: number;
  /** Corner displacement of the perspective, fraction of the side. */
  perspective?: number;
  blur?: number;
  noise?: number;
  /** Final size of the file's image (the camera's/scanner's resolution). */
  size?: number;
  /** Enlarged again (bilinear) to this size after the capture: a viewer's zoom of a low-resolution scan. */
  upscale?: number;
  format: { type: 'jpeg'; quality: number } | { type: 'png' };
};

export async function photograph(ink: Plane, rng: Rng, o: SceneOptions): Promise<{ bytes: Buffer; ext: 'jpg' | 'png' }> {
  const { w, h } = ink;
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
  const texture = valueNoise(w, h, Math.max(4, w / 10), rng);
  const grain = plane(w, h).data.map(() => rng.nextNormal());
  const lines = o.ruled ? ruledLines(w, h, o.ruled, rng) : null;
  const inkAlpha = o.inkAlpha ?? 0.92;
  let channels = [0, 1, 2].map((c) => {
    const out = plane(w, h);
    for (let i = 0; i < w * h; i++) {
      let paper = o.paper[c]! * (1 + (o.texture ?? 0.04) * (texture.data[i]! - 0.5) + (o.texture ?? 0.04) * 0.3 * grain[i]!);
      if (lines) paper = paper * (1 - lines.alpha.data[i]!) + lines.colour(i)[c]! * lines.alpha.data[i]!;
      const a = ink.data[i]! * inkAlpha;
      out.data[i] = paper * (1 - a) + o.ink[c]! * a;
    }
    return out;
  });

  if (o.perspective) {
    const d = o.perspective * w;
    const j = (): number => u(-d, d);
    const corners: [number, number][] = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]];
    const moved = corners.map(([x, y]): [number, number] => [x + j(), y + j()]);
    const map = homography(corners, moved);
    channels = channels.map((p) => warp(p, w, h, map));
  }
  if (o.pageEdge) channels = pageEdge(channels, o.pageEdge, rng);
  if (o.specks) {
    for (let s = 0; s < o.specks; s++) {
      const x = u(0, w), y = u(0, h), r = u(0.6, 2.2), dark = u(0.4, 0.9);
      for (const p of channels) spot(p, x, y, r, dark);
    }
  }
  const light = lighting(w, h, o, rng);
  channels = channels.map((p) => ({ ...p, data: p.data.map((v, i) => v * light.data[i]!) }));
  if (o.blur) channels = channels.map((p) => blur(p, o.blur!));
  const size = o.size ?? w;
  if (size !== w) channels = channels.map((p) => resize(p, size, Math.round((size * h) / w)));
  const n = channels[0]!.data.length;
  for (let i = 0; i < n; i++) {
    const shared = o.noise ? rng.nextNormal() * o.noise : 0; // luminance noise, plus a little per channel
    for (let c = 0; c < 3; c++) {
      const v = channels[c]!.data[i]! + shared + (o.noise ? rng.nextNormal() * o.noise * 0.3 : 0);
      channels[c]!.data[i] = Math.round(clamp01(v) * 255) / 255;
    }
  }
  if (o.upscale) channels = channels.map((p) => resize(p, o.upscale!, Math.round((o.upscale! * p.h) / p.w)));
  const out = channels[0]!;
  const rgb = Buffer.alloc(out.data.length * 3);
  for (let i = 0; i < out.data.length; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(channels[c]!.data[i]! * 255);
  const img = sharp(rgb, { raw: { width: out.w, height: out.h, channels: 3 } });
  if (o.format.type === 'jpeg') return { bytes: await img.jpeg({ quality: o.format.quality, chromaSubsampling: '4:2:0' }).toBuffer(), ext: 'jpg' };
  return { bytes: await img.png({ compressionLevel: 9 }).toBuffer(), ext: 'png' };
}

/** Smooth noise in 0…1: random values on a coarse grid, enlarged bilinearly. */
function valueNoise(w: number, h: number, cell: number, rng: Rng): Plane {
  const gw = Math.ceil(w / cell) + 2, gh = Math.ceil(h / cell) + 2;
  const grid = plane(gw, gh).data.map(() => rng.nextFloat());
  const g: Plane = { w: gw, h: gh, data: grid };
  return warp(g, w, h, (x, y) => [x / cell + 0.5, y / cell + 0.5]);
}

function ruledLines(w: number, h: number, r: NonNullable<SceneOptions['ruled']>, rng: Rng) {
  const alpha = plane(w, h);
  const phase = rng.nextFloat() * r.spacing;
  const tilt = (rng.nextFloat() - 0.5) * 0.04;
  const marginX = r.margin ? w * (0.08 + 0.2 * rng.nextFloat()) : -100;
  const isMargin = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const yy = y + tilt * x - phase;
      const d = Math.abs(yy - Math.round(yy / r.spacing) * r.spacing); // distance to the nearest line
      let a = Math.max(0, Math.min(1, r.width / 2 - d + 0.5)) * 0.8;
      const dm = Math.abs(x - marginX);
      const m = Math.max(0, Math.min(1, r.width / 2 - dm + 0.5)) * 0.85;
      if (m > a) {
        a = m;
        isMargin[y * w + x] = 1;
      }
      alpha.data[y * w + x] = a;
    }
  }
  const red: RGB = [0.85, 0.3, 0.3];
  return { alpha, colour: (i: number): RGB => (isMargin[i] ? red : r.colour) };
}

/** The paper stops along a slightly tilted line near one edge; the table beyond it. */
function pageEdge(channels: Plane[], e: NonNullable<SceneOptions['pageEdge']>, rng: Rng): Plane[] {
  const { w, h } = channels[0]!;
  const side = rng.nextBelow(4);
  const tilt = (rng.nextFloat() - 0.5) * 0.3;
  const depth = e.depth * w;
  return channels.map((p, c) => ({
    ...p,
    data: p.data.map((v, i) => {
      const x = i % w, y = Math.floor(i / w);
      const [along, across] = side === 0 ? [y, x] : side === 1 ? [y, w - 1 - x] : side === 2 ? [x, y] : [x, h - 1 - y];
      const beyond = clamp01(depth + tilt * (along - w / 2) - across + 0.5);
      return v * (1 - beyond) + e.colour[c]! * beyond;
    }),
  }));
}

function spot(p: Plane, cx: number, cy: number, r: number, dark: number): void {
  for (let y = Math.max(0, Math.floor(cy - r - 1)); y <= Math.min(p.h - 1, Math.ceil(cy + r + 1)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r - 1)); x <= Math.min(p.w - 1, Math.ceil(cx + r + 1)); x++) {
      const cover = clamp01(r - Math.hypot(x - cx, y - cy) + 0.5);
      p.data[y * p.w + x]! *= 1 - dark * cover;
    }
  }
}

/** Multiplicative light: a linear fall-off in a random direction, a soft-edged shadow, vignetting. */
function lighting(w: number, h: number, o: SceneOptions, rng: Rng): Plane {
  const a = rng.nextFloat() * 2 * Math.PI;
  const [gx, gy] = [Math.cos(a), Math.sin(a)];
  const sa = rng.nextFloat() * 2 * Math.PI;
  const [sx, sy] = [Math.cos(sa), Math.sin(sa)];
  const sOff = (rng.nextFloat() - 0.5) * 0.5 * w; // where the shadow's edge crosses
  const out = plane(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = (x - w / 2) / w, ny = (y - h / 2) / h;
      let l = 1 - (o.gradient ?? 0) * (0.5 + (nx * gx + ny * gy) * 0.7071);
      if (o.shadow) {
        const d = (x - w / 2) * sx + (y - h / 2) * sy - sOff;
        l *= 1 - o.shadow.strength / (1 + Math.exp(-d / Math.max(0.5, o.shadow.softness)));
      }
      if (o.vignette) l *= 1 - o.vignette * (nx * nx + ny * ny) * 2;
      out.data[y * w + x] = Math.max(0.02, l);
    }
  }
  return out;
}
