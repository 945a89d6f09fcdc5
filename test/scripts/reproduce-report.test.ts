// The report says when a preset does not train on the book's split, and when its kept weights are a
// mean over epochs (training.average) rather than one epoch's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPreset, resolveExperiment } from '../../src/engine/index.ts';
import type { ReproductionEntry } from '../../scripts/reproduce/entry.ts';
import { renderMarkdown } from '../../scripts/reproduce/report.ts';

function entry(preset: string, experiment: ReproductionEntry['experiment'], keptEpochs: number[]): ReproductionEntry {
  return {
    preset, description: getPreset(preset)!.description, bookAccuracy: 0.9967, bookRole: 'beat', metric: 'test',
    accuracy: 0.997, difference: 0.03, epoch: keptEpochs[0]!, seconds: 100, completed: true, status: 'completed',
    epochs: experiment.training.epochs, members: 1, epochsDone: experiment.training.epochs, trainingSeconds: 90, sessions: 1,
    testAccuracy: 0.997, finalTestAccuracy: 0.9968, bestValidationAccuracy: null, bestValidationEpoch: null,
    finalValidationAccuracy: null, keptEpochs, command: `npm run reproduce -- --preset ${preset}`, curve: null, overrides: null,
    threads: 1, engine: 'native', finishedAt: '2026-12-07T00:00:00.000Z', imageSteps: 1, note: null, biasGradientNorms: null,
    experiment,
  };
}
const report = (e: ReproductionEntry) => renderMarkdown({ generatedBy: 'test', generatedAt: 'now', machine: 'test', targetPoints: 0.2, presets: [e] });

test('all 60,000 training images and a weight average: both said in the entry', () => {
  const exp = resolveExperiment({
    preset: 'ch6-relu', // weight averaging: not with batch norm (the beyond-book network's)
    training: { keep: 'final', epochs: 40, schedule: { type: 'cosine' }, average: { fromEpoch: 31 } },
    data: { trainSize: 60000, validationSize: 0 },
  });
  const md = report(entry('ch6-relu', exp, [40]));
  assert.match(md, /the mean of the weights after epochs 31–40/);
  assert.match(md, /data: the first 60,000 training images, no validation set \(not the book's split\)/);
  assert.doesNotMatch(md, /^- validation accuracy/m);
});

test('the book\'s split and one kept epoch: no data line, the epoch named', () => {
  const exp = resolveExperiment({ preset: 'ch6-relu' });
  const md = report(entry('ch6-relu', exp, [27]));
  assert.match(md, /with the kept weights \(epoch 27\)/);
  assert.doesNotMatch(md, /- data:/);
});
