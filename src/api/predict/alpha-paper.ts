// What a picture's transparent parts become before it is made grey. A canvas exported without a
// background is strokes on transparency: black strokes on white paper is the usual reading, but
// white strokes (drawn on a dark page) would vanish on white, so they get black paper instead.

/** Share of transparent pixels (alpha < 128) below which the picture is taken as opaque: white paper as before. */
const MIN_TRANSPARENT = 0.01;

/**
 * 255 (white) or 0 (black): the paper under the transparent parts of `n` pixels of `channels`
 * interleaved samples (2: grey + alpha, 4: RGBA; others have no alpha: white). Black when there is
 * transparency and the opaque pixels are light on average (their mean of R, G and B above 127).
 */
export function paperUnderAlpha(px: Uint8Array, n: number, channels: number): 0 | 255 {
  if (channels !== 2 && channels !== 4) return 255;
  let transparent = 0, opaque = 0, sum = 0;
  for (let i = 0, o = 0; i < n; i++, o += channels) {
    if (px[o + channels - 1]! < 128) {
      transparent++;
      continue;
    }
    opaque++;
    sum += channels === 2 ? px[o]! : (px[o]! + px[o + 1]! + px[o + 2]!) / 3;
  }
  return transparent >= n * MIN_TRANSPARENT && opaque > 0 && sum / opaque > 127 ? 0 : 255;
}
