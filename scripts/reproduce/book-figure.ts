// The figure the book quotes for a preset, and the data set it is quoted on. Chapter 3's runs of
// [784,100,10] (97.92% at η 0.5 / 30 epochs, 98.04% at η 0.1 / 60 epochs) and chapter 5's deep nets
// (network2.py with evaluation_data=validation_data) are validation accuracies; the other chapters quote
// test accuracy. A preset that declares its own `book` figure wins over this.
import type { PresetInfo } from '../../src/engine/index.ts';

export type Metric = 'test' | 'validation';
export type BookFigure = { accuracy: number; metric: Metric };

/** Presets whose figure the book quotes on the validation data (network2.py's monitor_evaluation_accuracy). */
const QUOTED_ON_VALIDATION = /^(ch3-mlp100-l2|ch5-)/;

export function bookFigure(p: PresetInfo): BookFigure {
  const declared = (p as { book?: { accuracy?: unknown; metric?: unknown } }).book;
  if (declared && typeof declared.accuracy === 'number' && (declared.metric === 'test' || declared.metric === 'validation')) {
    return { accuracy: declared.accuracy, metric: declared.metric };
  }
  return { accuracy: p.bookAccuracy, metric: QUOTED_ON_VALIDATION.test(p.name) ? 'validation' : 'test' };
}
