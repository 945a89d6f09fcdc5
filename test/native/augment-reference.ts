// A naive TypeScript reference of the addon's augmentation (native/src/augment.cc), written from
// the description in augment.h: the same counter hash (BigInt splitmix64), everything else in
// double precision with direct loops, so the fast kernel can be checked against it.
import type { NativeAugment } from '../../src/engine/native.ts';

const M64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z &= M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
const SALT = 0xa0761d6478bd642fn;

export function exampleKey(seed: number, position: number): bigint {
  return mix64((mix64((BigInt(seed >>> 0) << 32n) ^ SALT) + BigInt(position)) & M64);
}
export function uniform(key: bigint, k: number): number {
  return Number(mix64((key + BigInt(k) * 0xd1b54a32d192ed03n) & M64) >> 11n) * 2 ** -53;
}
export const FIELD_DRAW = 16;

function morph(x: Float64Array, H: number, W: number, dilate: boolean, amount: number): Float64Array {
  const at = (y: number, c: number) => (y < 0 || y >= H || c < 0 || c >= W ? 0 : x[y * W + c]!);
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      const all = [at(y, c), at(y - 1, c), at(y + 1, c), at(y, c - 1), at(y, c + 1)];
      const m = dilate ? Math.max(...all) : Math.min(...all);
      out[y * W + c] = at(y, c) + amount * (m - at(y, c));
    }
  }
  return out;
}

/** α · (G_σ ∗ f), zero outside, the kernel truncated at r = ⌈3σ⌉ and normalised: a direct 2-D sum. */
function smooth(f: Float64Array, H: number, W: number, sigma: number, alpha: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const g: number[] = [];
  for (let k = -r; k <= r; k++) g.push(Math.exp((-0.5 * k * k) / (sigma * sigma)));
  const sum = g.reduce((a, b) => a + b, 0);
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < W; c++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const yy = y + dy, xx = c + dx;
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          s += (g[dy + r]! / sum) * (g[dx + r]! / sum) * f[yy * W + xx]!;
        }
      }
      out[y * W + c] = alpha * s;
    }
  }
  return out;
}

/** One image (H×W floats) distorted as the example at `position` of an epoch with spec.seed. */
export function augmentReference(spec: NativeAugment, image: Float32Array, H: number, W: number, position: number): Float64Array {
  const n = H * W;
  let x: Float64Array = Float64Array.from(image);
  const key = exampleKey(spec.seed, position);
  const p = spec.probability ?? 1;
  if (!(uniform(key, 0) < p)) return x;
  const thickness = spec.thickness ?? 0;
  if (thickness > 0 && uniform(key, 1) < thickness) x = morph(x, H, W, uniform(key, 2) < 0.5, uniform(key, 3));
  const rot = spec.rotation ?? 0, scale = spec.scale ?? 0, shear = spec.shear ?? 0, tr = spec.translate ?? 0;
  const alpha = spec.elasticAlpha ?? 0;
  if (rot > 0 || scale > 0 || shear > 0 || tr > 0 || alpha > 0) {
    const th = ((2 * uniform(key, 4) - 1) * rot * Math.PI) / 180;
    const s = 1 + (2 * uniform(key, 5) - 1) * scale;
    const ph = ((2 * uniform(key, 6) - 1) * shear * Math.PI) / 180;
    const tx = (2 * uniform(key, 7) - 1) * tr, ty = (2 * uniform(key, 8) - 1) * tr;
    // the forward map s·R(θ)·Shear(φ) inverted as a 2×2 matrix
    const m00 = s * Math.cos(th), m01 = s * (Math.cos(th) * Math.tan(ph) - Math.sin(th));
    const m10 = s * Math.sin(th), m11 = s * (Math.sin(th) * Math.tan(ph) + Math.cos(th));
    const det = m00 * m11 - m01 * m10;
    const a00 = m11 / det, a01 = -m01 / det, a10 = -m10 / det, a11 = m00 / det;
    let ex: Float64Array = new Float64Array(n), ey: Float64Array = new Float64Array(n);
    if (alpha > 0) {
      for (let i = 0; i < n; i++) {
        ex[i] = 2 * uniform(key, FIELD_DRAW + i) - 1;
        ey[i] = 2 * uniform(key, FIELD_DRAW + n + i) - 1;
      }
      ex = smooth(ex, H, W, spec.elasticSigma!, alpha);
      ey = smooth(ey, H, W, spec.elasticSigma!, alpha);
    }
    const cx = (W - 1) / 2, cy = (H - 1) / 2;
    const at = (y: number, c: number) => (y < 0 || y >= H || c < 0 || c >= W ? 0 : x[y * W + c]!);
    const out = new Float64Array(n);
    for (let y = 0; y < H; y++) {
      for (let c = 0; c < W; c++) {
        const u = c - cx - tx, v = y - cy - ty;
        const sx = a00 * u + a01 * v + cx + ex[y * W + c]!, sy = a10 * u + a11 * v + cy + ey[y * W + c]!;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), wx = sx - x0, wy = sy - y0;
        out[y * W + c] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)) + wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1));
      }
    }
    x = out;
  }
  if (spec.bookShifts) {
    const shifts = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]] as const;
    const [dy, dx] = shifts[Math.min(4, Math.floor(uniform(key, 9) * 5))]!;
    const out = new Float64Array(n);
    for (let y = 0; y < H; y++) {
      for (let c = 0; c < W; c++) {
        const sy = y - dy, sc = c - dx;
        out[y * W + c] = sy < 0 || sy >= H || sc < 0 || sc >= W ? 0 : x[sy * W + sc]!;
      }
    }
    x = out;
  }
  return x;
}
