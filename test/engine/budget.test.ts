// Job budgets (src/engine/budget.ts): what the defaults refuse (the issue's example, giant dense
// layers, 10⁹ image-steps, giant convolutions), what they admit (every preset: cost-estimate.test.ts),
// and the figures each refusal names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/env.ts';
import {
  assertWithinBudgets, BudgetError, DEFAULT_BUDGETS, jobBudgets, resolveExperiment, type BudgetViolation,
} from '../../src/engine/index.ts';
import { estimateCost } from '../../src/engine/cost-estimate.ts';
import { ISSUE_EXAMPLE, OVER_SCRATCH_BYTES, OVER_SCRATCH_EXAMPLE } from '../fixtures/issue-example.ts';

function refused(input: object): BudgetViolation[] {
  try {
    assertWithinBudgets(resolveExperiment(input), DEFAULT_BUDGETS);
  } catch (err) {
    assert.ok(err instanceof BudgetError, String(err));
    assert.match(err.message, /^over budget: /);
    return err.violations;
  }
  return assert.fail('admitted');
}

test('the defaults are the environment\'s defaults', () => {
  assert.deepEqual(jobBudgets(loadConfig({})), DEFAULT_BUDGETS);
});

test('the issue\'s example now needs 47 MB a thread (its chunks of 64 images were the 2.9 GB) and is admitted', () => {
  assert.doesNotThrow(() => assertWithinBudgets(resolveExperiment(ISSUE_EXAMPLE), DEFAULT_BUDGETS));
  assert.equal(estimateCost(resolveExperiment(ISSUE_EXAMPLE)).trainingScratchBytesPerThread, 46_983_981);
});

test('its network on mini-batches of 12 is refused for its scratch, with figure and limit', () => {
  const v = refused(OVER_SCRATCH_EXAMPLE);
  assert.deepEqual(v.map((x) => x.budget), ['MAX_JOB_SCRATCH_BYTES']);
  assert.equal(v[0]!.figure, 'trainingScratchBytesPerThread');
  assert.equal(v[0]!.limit, 512 * 1024 * 1024);
  // 12 rows × (784 + 28·28·256 + 15·15 + 10 + 28·28·1 + 15·15·14·14·256 floats) + 12 rows of backward buffers + the gradient
  assert.equal(v[0]!.value, OVER_SCRATCH_BYTES);
  assert.match(v[0]!.message, /training scratch per thread: 561,478,016 bytes \(535\.5 MiB\), above MAX_JOB_SCRATCH_BYTES = 536,870,912 bytes/);
});

test('giant dense layers are refused for their parameters and multiply-adds', () => {
  const v = refused({ network: { layers: [
    { type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 4096, activation: 'relu' },
    { type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' },
  ] } });
  assert.deepEqual(v.map((x) => x.budget), ['MAX_JOB_PARAMS', 'MAX_JOB_MACS_PER_IMAGE']);
  assert.equal(v[0]!.value, 784 * 4096 + 4096 + 2 * (4096 * 4096 + 4096) + 4096 * 10 + 10);
});

test('10⁹ image-steps are refused', () => {
  // ch6-ensemble for 800 epochs: 5 × 800 × 250,000
  const v = refused({ preset: 'ch6-ensemble', training: { epochs: 800 } });
  assert.deepEqual(v.map((x) => ({ budget: x.budget, value: x.value })), [{ budget: 'MAX_JOB_IMAGE_STEPS', value: 1e9 }]);
});

test('a giant convolution is refused for its multiply-adds; a huge mini-batch for its scratch', () => {
  const conv = refused({ network: { layers: [
    { type: 'conv', filters: 256, kernel: 5, activation: 'relu' }, { type: 'conv', filters: 256, kernel: 5, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ] }, data: { trainSize: 100 } });
  assert.ok(conv.some((x) => x.budget === 'MAX_JOB_MACS_PER_IMAGE' && x.value > 600e6));
  const batch = refused({ preset: 'ch6-dropout', training: { miniBatchSize: 10_000 } });
  assert.deepEqual(batch.map((x) => x.budget), ['MAX_JOB_SCRATCH_BYTES']);
});

test('a model whose one image needs more than PREDICT_SCRATCH_BYTES is refused: it could never be served', () => {
  const e = resolveExperiment({ preset: 'ch6-relu' });
  assert.throws(() => assertWithinBudgets(e, { ...DEFAULT_BUDGETS, PREDICT_SCRATCH_BYTES: 100_000 }),
    (err: unknown) => err instanceof BudgetError && err.violations[0]!.budget === 'PREDICT_SCRATCH_BYTES'
      && err.violations[0]!.figure === 'inferenceScratchBytesPerImage' && err.violations[0]!.value === 259_576);
  assert.equal(assertWithinBudgets(e, DEFAULT_BUDGETS).params, 85_670);
});
