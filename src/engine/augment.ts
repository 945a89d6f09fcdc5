// data.augment (spec.ts) -> the addon's augmentation settings for one epoch. The seed is the epoch's
// dropout seed (drawn from the run's rng, so resume replays it); the addon salts it, so the draws are
// independent of the dropout masks, and draws no rng of its own: runs without augmentation are unchanged.
import type { NativeAugment } from './native.ts';
import type { AugmentSpec } from './spec.ts';

export function nativeAugment(spec: AugmentSpec | null | undefined, epochSeed: number): NativeAugment | undefined {
  if (!spec || !isActive(spec)) return undefined;
  return {
    seed: epochSeed >>> 0,
    probability: spec.probability,
    rotation: spec.rotation,
    scale: spec.scale,
    shear: spec.shear,
    translate: spec.translate,
    elasticAlpha: spec.elastic?.alpha ?? 0,
    elasticSigma: spec.elastic?.sigma ?? 0,
    thickness: spec.thickness,
    bookShifts: spec.bookShifts,
  };
}

/** Whether the settings distort anything (all zeros/off is the same as no augmentation). */
export function isActive(spec: AugmentSpec): boolean {
  return spec.probability > 0 && (spec.rotation > 0 || spec.scale > 0 || spec.shear > 0 || spec.translate > 0 ||
    (spec.elastic !== null && spec.elastic.alpha > 0) || spec.thickness > 0 || spec.bookShifts);
}

/**
 * Arithmetic the augmentation adds per training image (multiply-adds, a rough count for the cost
 * estimate): the elastic field's two separable Gaussian smoothings dominate.
 */
export function augmentMacsPerImage(spec: AugmentSpec | null | undefined, pixels = 784): number {
  if (!spec || !isActive(spec)) return 0;
  let macs = 0;
  if (spec.thickness > 0) macs += 6 * pixels;
  if (spec.rotation > 0 || spec.scale > 0 || spec.shear > 0 || spec.translate > 0 || spec.elastic) macs += 12 * pixels;
  if (spec.elastic && spec.elastic.alpha > 0) macs += 4 * pixels * (2 * Math.max(1, Math.ceil(3 * spec.elastic.sigma)) + 1);
  if (spec.bookShifts) macs += pixels;
  return macs;
}
