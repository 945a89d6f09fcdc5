import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/rng.ts';
import { initParams } from '../../src/engine/init.ts';
import { planNetwork, regularizationCost } from '../../src/engine/network-plan.ts';
import { resolveExperiment } from '../../src/engine/index.ts';
import { initialSchedule, updateSchedule } from '../../src/engine/schedule.ts';

test('the rng is seeded, serialisable and resumes exactly', () => {
  const a = Rng.fromSeed(42), b = Rng.fromSeed(42), c = Rng.fromSeed(43);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.nextU32()));
  const state = a.state();
  const more = Array.from({ length: 50 }, () => a.nextU32());
  const r = Rng.fromState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(Array.from({ length: 50 }, () => r.nextU32()), more);
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /not all zero/);
});

test('permutations are permutations, uniform-looking, and seed-determined', () => {
  const p = Rng.fromSeed(1).permutation(1000);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(p, Rng.fromSeed(1).permutation(1000));
  // Position of element 0 over many shuffles of 4: each of 4 places ~25% (±3% at 8,000 draws).
  const rng = Rng.fromSeed(9);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 8000; i++) counts[rng.permutation(4).indexOf(0)]!++;
  for (const c of counts) assert.ok(Math.abs(c / 8000 - 0.25) < 0.03, `${counts}`);
  const u = Array.from({ length: 20000 }, () => rng.nextFloat());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5) < 0.01);
});

test('init: default N(0,1/√n_in) weights, N(0,1) biases, softmax zeroed; large N(0,1)', () => {
  const e = resolveExperiment({ preset: 'ch6-relu' });
  const plan = planNetwork(e.network);
  const p = initParams(plan, 'default', Rng.fromSeed(5));
  assert.deepEqual(p, initParams(plan, 'default', Rng.fromSeed(5)), 'seeded');
  const std = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
  const fc = plan.segments[2]!; // dense 640 -> 100
  assert.equal(fc.fanIn, 640);
  const w = p.subarray(fc.weightOffset, fc.weightOffset + fc.weightLength);
  assert.ok(Math.abs(std(w) - 1 / Math.sqrt(640)) < 0.002, `std ${std(w)}`);
  const conv2 = plan.segments[1]!;
  assert.equal(conv2.fanIn, 5 * 5 * 20);
  assert.ok(Math.abs(std(p.subarray(conv2.weightOffset, conv2.weightOffset + conv2.weightLength)) - 1 / Math.sqrt(500)) < 0.003);
  const b = p.subarray(fc.biasOffset, fc.biasOffset + fc.biasLength);
  assert.ok(Math.abs(std(b) - 1) < 0.2);
  const out = plan.segments[3]!;
  assert.ok(p.subarray(out.weightOffset, out.biasOffset + out.biasLength).every((x) => x === 0), 'softmax layer zero (network3.py)');
  const large = initParams(planNetwork(resolveExperiment({ preset: 'ch1-mlp30' }).network), 'large', Rng.fromSeed(5));
  assert.ok(Math.abs(std(large) - 1) < 0.02);
  // regularization term: λ/2n Σw² over weights only
  const tiny = planNetwork({ layers: [{ type: 'dense', units: 10, activation: 'sigmoid' }], cost: 'quadratic', init: 'large' });
  const q = new Float32Array(tiny.paramCount).fill(2);
  assert.equal(regularizationCost(tiny, q, 'l2', 5, 100), (5 / 200) * 7840 * 4);
  assert.equal(regularizationCost(tiny, q, 'l1', 5, 100), (5 / 100) * 7840 * 2);
});

test('schedule: halve η after patience epochs without improvement, stop at η₀/128; early stopping', () => {
  const t = resolveExperiment({ preset: 'ch1-mlp30', training: { eta: 1, schedule: { type: 'halve-on-plateau', patience: 2 } } }).training;
  let k = 1;
  let s = initialSchedule(1);
  s = updateSchedule(s, t, 0.5, k++);
  assert.equal(s.eta, 1);
  s = updateSchedule(s, t, 0.5, k++);
  assert.equal(s.eta, 1);
  s = updateSchedule(s, t, 0.4, k++);
  assert.equal(s.eta, 0.5, 'halved after 2 epochs without improvement');
  s = updateSchedule(s, t, 0.6, k++);
  assert.equal(s.bestValidationAccuracy, 0.6);
  let halvings = 1;
  while (!s.stopped) {
    s = updateSchedule(s, t, 0.1, k++);
    if (s.eta < 1 / 2 ** halvings) halvings++;
  }
  assert.equal(s.eta, 1 / 128);
  const es = resolveExperiment({ preset: 'ch1-mlp30', training: { earlyStopping: { patience: 3 } } }).training;
  let e = initialSchedule(3);
  for (const acc of [0.5, 0.6, 0.6, 0.55, 0.59]) e = updateSchedule(e, es, acc, k++);
  assert.equal(e.stopped, true);
  assert.equal(e.eta, 3, 'constant schedule keeps η');
});

test('cosine schedule: η₀ at epoch 1, η_min + (η₀ − η_min)/2 half way, η₀/minEtaFactor approached at the end; no validation needed', () => {
  const t = resolveExperiment({
    preset: 'ch1-mlp30', training: { eta: 1, epochs: 10, schedule: { type: 'cosine', minEtaFactor: 100 } }, data: { validationSize: 0 },
  }).training;
  let s = initialSchedule(1);
  const etas = [s.eta];
  for (let k = 1; k < 10; k++) {
    s = updateSchedule(s, t, null, k);
    etas.push(s.eta);
  }
  assert.equal(etas[0], 1);
  assert.ok(Math.abs(etas[5]! - (0.01 + 0.99 / 2)) < 1e-12, `half way: ${etas[5]}`);
  for (let k = 1; k < 10; k++) {
    assert.ok(etas[k]! < etas[k - 1]!, 'falls every epoch');
    const naive = 0.01 + 0.99 * (1 + Math.cos((Math.PI * k) / 10)) / 2;
    assert.ok(Math.abs(etas[k]! - naive) < 1e-12);
  }
  assert.ok(etas[9]! > 0.01 && etas[9]! < 0.04, 'the last epoch trains just above η_min');
  assert.equal(s.stopped, false, 'the schedule itself never stops a run: it ends with its epochs');
});

test('the async shuffle and init (which yield to the event loop) draw exactly the sync values', async () => {
  const a = Rng.fromSeed(3).permutation(20001);
  const b = await Rng.fromSeed(3).permutationAsync(20001, 1000);
  assert.deepEqual(a, b);
  const { initParamsAsync } = await import('../../src/engine/init.ts');
  const plan = planNetwork(resolveExperiment({ preset: 'ch6-relu' }).network);
  const r1 = Rng.fromSeed(5), r2 = Rng.fromSeed(5);
  assert.deepEqual(initParams(plan, 'default', r1), await initParamsAsync(plan, 'default', r2, 777));
  assert.deepEqual(r1.state(), r2.state());
});

test('the async regularization term equals the sync one exactly', async () => {
  const { regularizationCostAsync } = await import('../../src/engine/network-plan.ts');
  const plan = planNetwork(resolveExperiment({ preset: 'ch6-relu' }).network);
  const p = initParams(plan, 'default', Rng.fromSeed(8));
  for (const kind of ['l2', 'l1'] as const) {
    assert.equal(await regularizationCostAsync(plan, p, kind, 0.1, 5000, 1000), regularizationCost(plan, p, kind, 0.1, 5000));
  }
});
