// What decoding one image costs us, known from its header before any decoding. No imports:
// config checks its budget against it at boot.

/** Working size of the preprocessing (decode-image.ts shrinks bigger pictures to it): plenty for a 20×20 digit, bounded JS work. */
export const WORK_SIDE = 256;

// CPU cost of decodeDigit per image (decode + shrink to WORK_SIDE by sharp, then our JS stages on
// the working picture), fitted to measurements on noisy-paper PNGs and JPEGs from 28² to 5000²
// pixels on one core (2026-12-07): ~7 ms at 256², ~20 ms at 1000², ~180 ms at 5000² (a PNG; a
// big JPEG shrinks on load and costs less). Rounded up, so the estimate errs towards the service.
export const DECODE_US_PER_PIXEL = 0.01;
export const NORMALIZE_US_PER_WORK_PIXEL = 0.1;

/** Estimated CPU microseconds that decodeDigit spends on an image of `pixels` (from its header). */
export function estimatedImageMicros(pixels: number): number {
  return Math.ceil(pixels * DECODE_US_PER_PIXEL + Math.min(pixels, WORK_SIDE * WORK_SIDE) * NORMALIZE_US_PER_WORK_PIXEL);
}
