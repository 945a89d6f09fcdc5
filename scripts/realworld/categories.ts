// The real-world set's categories: what each one photographs or scans, and how. Each makes one
// file from a label, its own seeded Rng and (for MNIST-based ones) an MNIST *test* digit.
import type { Rng } from '../../src/engine/rng.ts';
import { mnistGlyph, type GlyphOptions } from './mnist-glyph.ts';
import { penDigit } from './pen-strokes.ts';
import type { Plane } from './planes.ts';
import { photograph, type SceneOptions } from './scene.ts';

type RGB = [number, number, number];
export type Made = { bytes: Buffer; ext: 'jpg' | 'png' };
export type Category = {
  name: string;
  description: string;
  source: 'mnist-test' | 'pen';
  make(label: number, rng: Rng, mnistDigit: Uint8Array | null): Promise<Made>;
};

const between = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat();
const sign = (rng: Rng) => (rng.nextFloat() < 0.5 ? -1 : 1);
const chance = (rng: Rng, p: number) => rng.nextFloat() < p;

/** Off-white paper: a little warm, cool or grey. */
function paper(rng: Rng): RGB {
  const base = between(rng, 0.78, 0.97);
  return [base * between(rng, 0.97, 1.03), base * between(rng, 0.97, 1.02), base * between(rng, 0.9, 1.02)];
}

/** Black, blue or graphite ink. */
function ink(rng: Rng): RGB {
  const kind = rng.nextBelow(3);
  if (kind === 0) return [0.08, 0.08, 0.1];
  if (kind === 1) return [between(rng, 0.1, 0.2), between(rng, 0.15, 0.25), between(rng, 0.45, 0.6)];
  const g = between(rng, 0.25, 0.4);
  return [g, g, g];
}

/** A digit's ink at a photo's resolution, from MNIST or from our own pen. */
function glyph(label: number, rng: Rng, digit: Uint8Array | null, side: number, g: Partial<GlyphOptions> = {}): Plane {
  const offset: [number, number] = [between(rng, -0.06, 0.06), between(rng, -0.06, 0.06)];
  if (!digit) return penDigit(label, rng, { side, height: g.height ?? between(rng, 0.5, 0.7), width: between(rng, 0.07, 0.15), offset });
  return mnistGlyph(digit, rng, { side, height: between(rng, 0.5, 0.68), turn: between(rng, -6, 6), offset, ...g });
}

/** An ordinary phone photo of paper: some light fall-off, a little perspective and blur, JPEG. */
function everydayPhoto(rng: Rng): SceneOptions {
  return {
    paper: paper(rng), ink: ink(rng), inkAlpha: between(rng, 0.8, 0.95), texture: between(rng, 0.03, 0.08),
    gradient: between(rng, 0.05, 0.3), perspective: between(rng, 0.02, 0.06), blur: between(rng, 0.3, 0.9),
    noise: between(rng, 0.008, 0.02), format: { type: 'jpeg', quality: Math.round(between(rng, 65, 90)) },
  };
}

const photoSide = (rng: Rng) => Math.round(between(rng, 80, 128));

async function photo(label: number, rng: Rng, digit: Uint8Array | null, g: Partial<GlyphOptions>, scene: Partial<SceneOptions>): Promise<Made> {
  const side = photoSide(rng);
  const base = everydayPhoto(rng);
  return photograph(glyph(label, rng, digit, side, g), rng, { ...base, ...scene });
}

/** A flatbed scan: white paper, black ink, no perspective or shading. */
function scan(rng: Rng, size: number): SceneOptions {
  const g = between(rng, 0.9, 1);
  return { paper: [g, g, g], ink: [0.05, 0.05, 0.05], inkAlpha: 1, texture: 0.01, noise: 0.005, size, format: { type: 'png' } };
}

/** A form's printed box drawn into the ink plane round the digit: `margin` of the side from each edge, `line` px wide. */
function withBox(g: Plane, margin: number, line: number): Plane {
  const { w, h } = g;
  const data = Float32Array.from(g.data);
  const x0 = margin * w, x1 = w - margin * w, y0 = margin * h, y1 = h - margin * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x < x0 || x >= x1 || y < y0 || y >= y1) continue;
      const onLine = x < x0 + line || x >= x1 - line || y < y0 + line || y >= y1 - line;
      if (onLine) data[y * w + x] = 1;
    }
  }
  return { w, h, data };
}

export const CATEGORIES: Category[] = [
  {
    name: 'photo-clean', source: 'mnist-test',
    description: 'phone photo of paper: mild light fall-off, perspective and blur, JPEG 65–90',
    make: (l, rng, d) => photo(l, rng, d, {}, {}),
  },
  {
    name: 'photo-shadow', source: 'mnist-test',
    description: 'uneven light: strong fall-off, a shadow edge across the digit, vignetting',
    make: (l, rng, d) => photo(l, rng, d, {}, {
      gradient: between(rng, 0.35, 0.7), shadow: { strength: between(rng, 0.35, 0.7), softness: between(rng, 1, 8) },
      vignette: between(rng, 0.1, 0.35), perspective: between(rng, 0.03, 0.08),
    }),
  },
  {
    name: 'photo-blur-jpeg', source: 'mnist-test',
    description: 'out of focus, small and heavily compressed: blur σ 1.5–3 px, 48–72 px, JPEG 15–35, noise',
    make: (l, rng, d) => photo(l, rng, d, {}, {
      blur: between(rng, 1.5, 3), size: Math.round(between(rng, 48, 72)), noise: between(rng, 0.02, 0.04),
      format: { type: 'jpeg', quality: Math.round(between(rng, 15, 35)) },
    }),
  },
  {
    name: 'ruled-paper', source: 'mnist-test',
    description: 'written on ruled paper: blue lines through the digit, sometimes a red margin',
    make: (l, rng, d) => {
      const side = photoSide(rng);
      return photograph(glyph(l, rng, d, side), rng, {
        ...everydayPhoto(rng),
        ruled: { spacing: between(rng, 0.14, 0.24) * side, width: between(rng, 1, 2.5), colour: [0.55, 0.68, 0.9], margin: chance(rng, 0.4) },
      });
    },
  },
  {
    name: 'page-edge-specks', source: 'mnist-test',
    description: 'a loose crop: the page edge and the table beyond it, specks and dust',
    make: (l, rng, d) => {
      const t = between(rng, 0.1, 0.35);
      return photo(l, rng, d, { height: between(rng, 0.45, 0.58) }, {
        pageEdge: { depth: between(rng, 0.06, 0.16), colour: [t, t * 0.8, t * 0.6] }, specks: Math.round(between(rng, 4, 16)),
      });
    },
  },
  {
    name: 'inverted', source: 'mnist-test',
    description: 'light ink on a dark ground: chalk on a blackboard, a white pen on black card',
    make: (l, rng, d) => {
      const b = between(rng, 0.08, 0.25);
      return photo(l, rng, d, {}, {
        paper: [b, b * between(rng, 1, 1.3), b], ink: [0.92, 0.92, 0.9], inkAlpha: between(rng, 0.7, 0.95), texture: between(rng, 0.1, 0.25),
      });
    },
  },
  {
    name: 'thick-pen', source: 'mnist-test',
    description: 'a marker: strokes dilated to 2–3× MNIST’s relative width',
    make: (l, rng, d) => photo(l, rng, d, { pen: 'thick', grow: between(rng, 0.05, 0.09) }, { ink: [0.05, 0.05, 0.07] }),
  },
  {
    name: 'thin-pen', source: 'mnist-test',
    description: 'a fine ball-point: strokes eroded to about half of MNIST’s relative width',
    make: async (l, rng, d) => {
      const side = Math.round(between(rng, 120, 180));
      return photograph(glyph(l, rng, d, side, { pen: 'thin' }), rng, { ...everydayPhoto(rng), blur: between(rng, 0.2, 0.6) });
    },
  },
  {
    name: 'slanted', source: 'mnist-test',
    description: 'strongly slanted writing: shear 0.35–0.6 either way, turned up to ±10°',
    make: (l, rng, d) => photo(l, rng, d, { shear: sign(rng) * between(rng, 0.35, 0.6), turn: between(rng, -10, 10) }, {}),
  },
  {
    name: 'outline', source: 'mnist-test',
    description: 'digits drawn as thin outlines of a fat shape (hollow letters)',
    make: (l, rng, d) => photo(l, rng, d, { pen: 'outline', grow: between(rng, 0.05, 0.08) }, {}),
  },
  {
    name: 'scan-lowres', source: 'mnist-test',
    description: 'low-resolution scan (10–16 px) enlarged to 64–112 px by a viewer: blurry, blocky strokes',
    make: async (l, rng, d) => {
      const side = 112;
      const small = Math.round(between(rng, 10, 16));
      const big = Math.round(between(rng, 64, 112));
      return photograph(glyph(l, rng, d, side, { height: between(rng, 0.6, 0.75) }), rng, { ...scan(rng, small), upscale: big });
    },
  },
  {
    name: 'tiny', source: 'mnist-test',
    description: 'a tiny image sent as it is: 12–20 px, the digit filling most of it',
    make: async (l, rng, d) => {
      const side = 112;
      return photograph(glyph(l, rng, d, side, { height: between(rng, 0.6, 0.75) }), rng, scan(rng, Math.round(between(rng, 12, 20))));
    },
  },
  {
    name: 'pen-canvas', source: 'pen',
    description: 'our pen-stroke generator on a 280×280 canvas, as the drawing page sends it (PNG)',
    make: async (l, rng) => {
      const ink = penDigit(l, rng, {
        side: 280, height: between(rng, 0.35, 0.8), width: between(rng, 0.05, 0.2),
        offset: [between(rng, -0.12, 0.12), between(rng, -0.1, 0.1)],
      });
      return photograph(ink, rng, { paper: [1, 1, 1], ink: [0, 0, 0], inkAlpha: 1, texture: 0, format: { type: 'png' } });
    },
  },
  {
    name: 'pen-photo', source: 'pen',
    description: 'our pen-stroke generator photographed: any of the effects above, milder',
    make: async (l, rng) => {
      const side = photoSide(rng);
      const ink = glyph(l, rng, null, side);
      const extra: Partial<SceneOptions> = {};
      if (chance(rng, 0.3)) extra.ruled = { spacing: between(rng, 0.15, 0.25) * side, width: between(rng, 1, 2), colour: [0.55, 0.68, 0.9] };
      if (chance(rng, 0.3)) extra.shadow = { strength: between(rng, 0.2, 0.5), softness: between(rng, 2, 10) };
      if (chance(rng, 0.3)) extra.blur = between(rng, 1, 2);
      return photograph(ink, rng, { ...everydayPhoto(rng), ...extra });
    },
  },
  // added after the rest (its seeds and MNIST digits come after theirs, so their files are unchanged)
  {
    name: 'form-box', source: 'mnist-test',
    description: 'written in a printed form\'s box, often touching it: photographed or scanned',
    make: async (l, rng, d) => {
      const side = photoSide(rng);
      const g = glyph(l, rng, d, side, { height: between(rng, 0.55, 0.8) });
      const boxed = withBox(g, between(rng, 0.02, 0.12), between(rng, 1, 3.5));
      return photograph(boxed, rng, chance(rng, 0.5) ? everydayPhoto(rng) : { ...scan(rng, side), format: { type: 'jpeg', quality: 80 } });
    },
  },
];
