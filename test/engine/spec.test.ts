import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment, listPresets, SpecError, planNetwork } from '../../src/engine/index.ts';

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    resolveExperiment(input);
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.issues;
  }
  assert.fail('expected the spec to be rejected');
}

function rejects(input: unknown, path: string, pattern: RegExp) {
  const issues = issuesOf(input);
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  assert.match(hit.message, pattern);
}

const mlp = (layers: unknown[], extra: Record<string, unknown> = {}) => ({ network: { layers, ...extra } });
const out10 = { type: 'dense', units: 10, activation: 'sigmoid' };

test('bad layers are rejected with a message naming the field', () => {
  rejects(mlp([{ type: 'dense', units: -3, activation: 'sigmoid' }, out10]), 'network.layers.0.units', /at least 1/);
  rejects(mlp([{ type: 'dense', units: 0, activation: 'sigmoid' }, out10]), 'network.layers.0.units', /at least 1/);
  rejects(mlp([{ type: 'dense', units: 1e9, activation: 'sigmoid' }, out10]), 'network.layers.0.units', /at most/);
  rejects(mlp([{ type: 'dense', units: 2.5, activation: 'sigmoid' }, out10]), 'network.layers.0.units', /integer/);
  rejects(mlp([{ type: 'dense', units: 30, activation: 'swish' }, out10]), 'network.layers.0.activation', /sigmoid/);
  rejects(mlp([{ type: 'conv', filters: 4, kernel: 29, activation: 'relu' }, out10]), 'network.layers.0.kernel', /at most|larger/);
  rejects(mlp([{ type: 'conv', filters: 4, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
    { type: 'conv', filters: 4, kernel: 13, activation: 'relu' }, out10]), 'network.layers.2.kernel', /larger than its 12×12 input/);
  rejects(mlp([{ type: 'conv', filters: 4, kernel: 4, activation: 'relu' }, { type: 'pool', kind: 'max' }, out10]),
    'network.layers.1.kind', /even input size/);
  rejects(mlp([{ type: 'dense', units: 30, activation: 'softmax' }, out10]), 'network.layers.0.activation', /last layer/);
  rejects(mlp([{ type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'dense', units: 9, activation: 'sigmoid' }]),
    'network.layers.1.units', /10 units/);
  rejects(mlp([{ type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'pool', kind: 'max' }]), 'network.layers.1.type', /dense/);
  rejects(mlp([{ type: 'fancy' }]), 'network.layers.0.type', /dense/);
  rejects(mlp([{ type: 'dense', units: 10, activation: 'sigmoid', extra: 1 }]), 'network.layers.0', /extra|Unrecognized/i);
  rejects(mlp([{ type: 'dense', units: 10, activation: 'sigmoid', dropout: 1 }]), 'network.layers.0.dropout', /\[0, 1\)/);
});

test('cost and output layer must agree', () => {
  rejects(mlp([out10], { cost: 'log-likelihood' }), 'network.cost', /softmax/);
  rejects(mlp([{ type: 'dense', units: 10, activation: 'relu' }], { cost: 'cross-entropy' }), 'network.cost', /sigmoid or softmax/);
  assert.equal(resolveExperiment(mlp([{ type: 'dense', units: 10, activation: 'softmax' }])).network.cost, 'log-likelihood');
  assert.equal(resolveExperiment(mlp([{ type: 'dense', units: 10, activation: 'relu' }], { cost: 'quadratic' })).network.cost, 'quadratic');
});

test('training and data ranges', () => {
  const p = (training: unknown, data?: unknown) => ({ preset: 'ch1-mlp30', training, ...(data ? { data } : {}) });
  rejects(p({ eta: 0 }), 'training.eta', /greater than 0/);
  rejects(p({ eta: -1 }), 'training.eta', /greater than 0/);
  rejects(p({ epochs: 0 }), 'training.epochs', /at least 1/);
  rejects(p({ epochs: 5000 }), 'training.epochs', /at most 1000/);
  rejects(p({ miniBatchSize: 0 }), 'training.miniBatchSize', /at least 1/);
  rejects(p({ lambda: -1 }), 'training.lambda', /at least 0/);
  rejects(p({ momentum: 1 }), 'training.momentum', /\[0, 1\)/);
  rejects(p({}, { trainSize: 0 }), 'data.trainSize', /at least 1/);
  rejects(p({}, { trainSize: 60001 }), 'data.trainSize', /at most 60000/);
  // past the book's 50,000, validation takes what is left after the training images
  rejects(p({}, { trainSize: 55000 }), 'data.validationSize', /at most 5000 are left/);
  rejects(p({}, { trainSize: 60000, validationSize: 1 }), 'data.validationSize', /at most 0 are left/);
  assert.equal(resolveExperiment(p({}, { trainSize: 55000, validationSize: 5000 })).data.trainSize, 55000);
  const all = resolveExperiment(p({ schedule: { type: 'cosine' } }, { trainSize: 60000, validationSize: 0 }));
  assert.deepEqual(all.training.schedule, { type: 'cosine', minEtaFactor: 100 }, 'cosine needs no validation');
  rejects(p({ schedule: { type: 'cosine', minEtaFactor: 0.5 } }), 'training.schedule.minEtaFactor', /1/);
  rejects(p({}, { validationSize: 10001 }), 'data.validationSize', /at most 10000/);
  rejects(p({ schedule: { type: 'halve-on-plateau', patience: 3 } }, { validationSize: 0 }), 'training.schedule', /validationSize/);
  rejects(p({ bogus: 1 }), 'training', /bogus|Unrecognized/i);
  rejects({ preset: 'ch1-mlp30', colour: 'red' }, '', /colour|Unrecognized/i);
  rejects({ preset: 'ch9-nope' }, 'preset', /unknown preset/);
  rejects({}, 'network.layers', /preset or network.layers/);
});

test('every preset resolves, validates and matches the book table', () => {
  const presets = listPresets();
  const names = presets.map((p) => p.name);
  assert.deepEqual(names, ['ch1-mlp30', 'ch1-mlp100', 'ch3-mlp30-ce', 'ch3-mlp100-l2', 'ch3-mlp100-l2-60',
    'ch5-deep2', 'ch5-deep2-relu', 'ch5-deep3', 'ch5-deep3-relu', 'ch5-deep4', 'ch5-deep4-relu', 'ch6-shallow', 'ch6-conv1',
    'ch6-conv2', 'ch6-relu', 'ch6-expanded', 'ch6-dropout', 'ch6-ensemble', 'beyond-book']);
  for (const p of presets) {
    const e = resolveExperiment({ preset: p.name });
    assert.deepEqual(e, p.experiment, p.name);
    assert.ok(p.bookAccuracy > 0.9 && p.bookAccuracy < 1);
    planNetwork(e.network);
  }
  const by = Object.fromEntries(presets.map((p) => [p.name, p.experiment]));
  assert.equal(by['ch1-mlp30']!.training.eta, 3.0);
  assert.equal(by['ch1-mlp30']!.network.init, 'large');
  // chapter 3's two regularised runs, each compared with the validation figure the book quotes
  const ch3 = (name: string) => presets.find((p) => p.name === name)!;
  for (const [name, eta, epochs, book] of [['ch3-mlp100-l2', 0.5, 30, 0.9792], ['ch3-mlp100-l2-60', 0.1, 60, 0.9804]] as const) {
    const p = ch3(name);
    assert.deepEqual([p.experiment.training.eta, p.experiment.training.epochs, p.experiment.training.lambda], [eta, epochs, 5.0], name);
    assert.equal(p.experiment.network.init, 'large');
    assert.equal(p.experiment.network.cost, 'cross-entropy');
    assert.deepEqual(p.experiment.network.layers.map((l) => (l.type === 'dense' ? l.units : 0)), [100, 10]);
    assert.deepEqual([p.bookAccuracy, p.bookMetric], [book, 'validation']);
    assert.equal(p.experiment.training.keep, 'final', 'the book quotes the last epoch');
  }
  for (const p of presets) assert.equal(p.bookMetric, /^(ch3-mlp100-l2|ch5-)/.test(p.name) ? 'validation' : 'test', p.name);
  assert.equal(by['ch6-relu']!.training.eta, 0.03);
  assert.equal(by['ch6-dropout']!.data.expand, true);
  assert.equal(by['ch6-dropout']!.training.epochs, 40);
  assert.equal(by['ch6-ensemble']!.ensemble?.size, 5);
  const plan = planNetwork(by['ch6-relu']!.network);
  assert.deepEqual(plan.desc.layers.map((l) => (l.kind === 'dense' ? [l.inSize, l.outSize] : l.outShape)),
    [[24, 24, 20], [12, 12, 20], [8, 8, 40], [4, 4, 40], [640, 100], [100, 10]]);
  assert.equal(plan.paramCount, 20 * 25 + 20 + 40 * 25 * 20 + 40 + 640 * 100 + 100 + 100 * 10 + 10);
});

test('overrides merge field by field', () => {
  const e = resolveExperiment({
    preset: 'ch1-mlp30',
    training: { epochs: 2, seed: 7 },
    data: { trainSize: 5000, validationSize: 1000 },
  });
  assert.equal(e.training.epochs, 2);
  assert.equal(e.training.seed, 7);
  assert.equal(e.training.eta, 3.0, 'untouched fields keep the preset value');
  assert.equal(e.training.miniBatchSize, 10);
  assert.deepEqual(e.data, { trainSize: 5000, validationSize: 1000, expand: false });
  assert.equal(e.network.cost, 'quadratic');
  const ce = resolveExperiment({ preset: 'ch1-mlp30', network: { cost: 'cross-entropy' } });
  assert.equal(ce.network.cost, 'cross-entropy');
  assert.equal(ce.network.layers.length, 2, 'layers stay when only cost is overridden');
  const layers = resolveExperiment({ preset: 'ch1-mlp30', network: { layers: [{ type: 'dense', units: 10, activation: 'sigmoid' }] } });
  assert.equal(layers.network.layers.length, 1, 'layers replace the whole list');
  assert.equal(resolveExperiment({ preset: 'ch6-ensemble', ensemble: null }).ensemble, undefined);
  const sched = resolveExperiment({ preset: 'ch3-mlp100-l2', training: { schedule: { type: 'halve-on-plateau', patience: 10 } } });
  assert.deepEqual(sched.training.schedule, { type: 'halve-on-plateau', patience: 10, minEtaFactor: 128 });
});

test('batch normalisation: conv layers only, a boolean, native only, not with weight averaging', () => {
  const bnConv = { type: 'conv', filters: 4, kernel: 5, activation: 'relu', batchNorm: true };
  const net = (first: unknown) => mlp([first, { type: 'pool', kind: 'max' }, out10]);
  const ok = resolveExperiment(net(bnConv));
  const plan = planNetwork(ok.network);
  assert.equal(plan.desc.layers[0]!.kind === 'conv' && plan.desc.layers[0]!.batchNorm, true);
  // W 4·25, b 4, then γ, running mean, running variance: 3·4
  assert.deepEqual(plan.segments[0]!.norm, { offset: 104, length: 12 });
  assert.equal(planNetwork(resolveExperiment(net({ ...bnConv, batchNorm: false })).network).segments[0]!.norm, undefined);
  rejects(net({ ...bnConv, batchNorm: 'yes' }), 'network.layers.0.batchNorm', /true or false/);
  rejects(mlp([{ type: 'dense', units: 30, activation: 'relu', batchNorm: true }, out10]), 'network.layers.0', /batchNorm/);
  rejects({ ...net(bnConv), backend: 'tfjs' }, 'network.layers.0.batchNorm', /native engine/);
  rejects({ ...net(bnConv), training: { epochs: 3, keep: 'final', average: { fromEpoch: 2 } } }, 'training.average', /batch normalisation/);
});
