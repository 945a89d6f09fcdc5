// The native addon's dropout masks (native/src/rng.h) in JavaScript, so the tfjs backend drops the
// same units: a unit is kept when the top 32 bits of splitmix64-mixed (seed, position, layer, unit)
// are at or above p·2³². 64-bit arithmetic is done on 32-bit halves (BigInt is ~50× slower here).

type U64 = [hi: number, lo: number];

const TWO32 = 0x1_0000_0000;

function mul64(ah: number, al: number, bh: number, bl: number): U64 {
  // low 64 bits of (ah:al)·(bh:bl): al·bl in full from 16-bit limbs, cross terms mod 2³².
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (mid % 65536) * 65536;
  const lo = low % TWO32;
  const carry = Math.floor(low / TWO32);
  const hi = (a1 * b1 + Math.floor(mid / 65536) + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  return [hi, lo >>> 0];
}

function xorShr(h: number, l: number, s: number): U64 {
  // z ^ (z >> s) for 0 < s < 32
  return [(h ^ (h >>> s)) >>> 0, (l ^ ((l >>> s) | (h << (32 - s)))) >>> 0];
}

function add64(ah: number, al: number, bh: number, bl: number): U64 {
  const lo = al + bl;
  return [(ah + bh + (lo >= TWO32 ? 1 : 0)) >>> 0, lo >>> 0];
}

/** splitmix64's finaliser, as native mix64(). */
export function mix64(h: number, l: number): U64 {
  let [zh, zl] = xorShr(h, l, 30);
  [zh, zl] = mul64(zh, zl, 0xbf58476d, 0x1ce4e5b9);
  [zh, zl] = xorShr(zh, zl, 27);
  [zh, zl] = mul64(zh, zl, 0x94d049bb, 0x133111eb);
  return xorShr(zh, zl, 31);
}

/** native dropout_row_key(seed, position, layer). */
export function dropoutRowKey(seed: number, position: number, layer: number): U64 {
  const [h, l] = mix64((seed ^ 0x9e3779b9) >>> 0, (layer ^ 0x7f4a7c15) >>> 0);
  return mix64(...add64(h, l, Math.floor(position / TWO32) >>> 0, position % TWO32 >>> 0));
}

/**
 * The dropout multipliers of `rows` inputs of width `n` at positions posBase.. in the epoch's order,
 * for layer index `layer`: 1/(1−p) where kept (inverted; 1 for network3's style), 0 where dropped.
 */
export function dropoutScales(
  rows: number, n: number, p: number, seed: number, posBase: number, layer: number, network3 = false,
): Float32Array {
  const out = new Float32Array(rows * n);
  const threshold = Math.floor(p * TWO32); // static_cast<uint64_t>(ldexp(p, 32))
  const scale = network3 ? 1 : Math.fround(1 / Math.fround(1 - p));
  for (let r = 0; r < rows; r++) {
    const [kh, kl] = dropoutRowKey(seed >>> 0, posBase + r, layer);
    for (let u = 0; u < n; u++) {
      const [mh, ml] = mul64(0, u, 0xd1b54a32, 0xd192ed03);
      const [sh, sl] = add64(kh, kl, mh, ml);
      if (mix64(sh, sl)[0] >= threshold) out[r * n + u] = scale;
    }
  }
  return out;
}
