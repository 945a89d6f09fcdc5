// The figure the book quotes for a preset, and the data set it is quoted on: the preset says both
// (bookAccuracy, bookMetric — src/engine/presets.ts).
import type { PresetInfo } from '../../src/engine/index.ts';

export type Metric = 'test' | 'validation';
export type BookFigure = { accuracy: number; metric: Metric };

export function bookFigure(p: PresetInfo): BookFigure {
  return { accuracy: p.bookAccuracy, metric: p.bookMetric };
}
