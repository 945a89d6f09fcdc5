// Finite-difference gradient checks (helpers.ts: central differences, eps 1e-2 — 1e-3 near the
// kinks of relu/max — tolerance |num − ana| <= 2e-2·max(|num|, |ana|) + 2e-2·scale + 1e-5, scale
// being the largest |num| of the parameter's block, i.e. relative per layer) for every layer type,
// activation, cost, pooling kind, regulariser, and for dropout with a fixed mask. Every check also
// asserts that a zeroed block would fail it, and the last tests show a wrong gradient does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Activation, CostName, PoolMode } from '../../src/engine/native.ts';
import type { NetworkDesc } from '../../src/engine/network-plan.ts';
import { checkGradient, gradientCheck } from './helpers.ts';

const mlp = (hidden: Activation, out: Activation, cost: CostName, dropout = 0): NetworkDesc => ({
  inputShape: [4, 4, 1],
  layers: [
    { kind: 'dense', outSize: 7, activation: hidden, dropout },
    { kind: 'dense', outSize: 5, activation: hidden },
    { kind: 'dense', outSize: 4, activation: out, dropout },
  ],
  cost,
});

describe('dense layers: every hidden activation', () => {
  for (const act of ['sigmoid', 'tanh', 'relu', 'linear'] as const) {
    test(act, () => {
      const r = checkGradient(mlp(act, 'sigmoid', 'quadratic'), 5, { eps: act === 'relu' ? 1e-3 : 1e-2 });
      assert.ok(r.checked > 30);
    });
  }
});

describe('costs with their usual and unusual output layers', () => {
  const pairs: [Activation, CostName][] = [
    ['sigmoid', 'quadratic'], ['linear', 'quadratic'], ['tanh', 'quadratic'], ['softmax', 'quadratic'],
    ['sigmoid', 'cross-entropy'], ['softmax', 'cross-entropy'],
    ['softmax', 'log-likelihood'], ['sigmoid', 'log-likelihood'],
  ];
  for (const [out, cost] of pairs) {
    test(`${out} + ${cost}`, () => {
      checkGradient(mlp('tanh', out, cost), 6);
    });
  }
});

describe('regularisation (weights only, biases excluded)', () => {
  test('L2', () => { checkGradient(mlp('sigmoid', 'softmax', 'log-likelihood'), 4, { l2: 0.3 }); });
  test('L1', () => { checkGradient(mlp('sigmoid', 'softmax', 'log-likelihood'), 4, { l1: 0.05, eps: 1e-3 }); });
  test('L1 and L2 together', () => { checkGradient(mlp('tanh', 'sigmoid', 'cross-entropy'), 4, { l1: 0.02, l2: 0.1, eps: 1e-3 }); });
});

test('dropout: gradient of the dropped-out network for a fixed mask (seed)', () => {
  checkGradient(mlp('tanh', 'softmax', 'log-likelihood', 0.4), 6, { dropoutSeed: 99 });
});

const convNet = (act: Activation, pool: PoolMode): NetworkDesc => ({
  inputShape: [9, 9, 2],
  layers: [
    { kind: 'conv', filters: 3, kernel: 3, activation: act },                  // 7×7×3
    { kind: 'conv', filters: 4, kernel: 2, activation: act },                  // 6×6×4
    { kind: 'pool', mode: pool },                                              // 3×3×4
    { kind: 'dense', outSize: 5, activation: 'tanh' },
    { kind: 'dense', outSize: 3, activation: 'softmax' },
  ],
  cost: 'log-likelihood',
});

describe('conv layers (im2col + GEMM) with every activation', () => {
  for (const act of ['sigmoid', 'tanh', 'relu', 'linear'] as const) {
    test(act, () => { checkGradient(convNet(act, 'avg'), 3, { eps: act === 'relu' ? 1e-3 : 1e-2 }); });
  }
});

describe('pooling kinds', () => {
  for (const mode of ['max', 'l2', 'avg'] as const) {
    test(mode, () => { checkGradient(convNet('tanh', mode), 3, { eps: mode === 'max' ? 1e-3 : 1e-2 }); });
  }
  test('odd input sizes (trailing row/column ignored)', () => {
    const desc: NetworkDesc = {
      inputShape: [8, 7, 1],
      layers: [
        { kind: 'conv', filters: 2, kernel: 2, activation: 'tanh' },  // 7×6×2
        { kind: 'pool', mode: 'l2' },                                 // 3×3×2
        { kind: 'dense', outSize: 3, activation: 'sigmoid' },
      ],
      cost: 'cross-entropy',
    };
    checkGradient(desc, 3);
  });
});

test('the book conv net shape (conv-pool-conv-pool-dense-softmax, relu, max) with L2', () => {
  const desc: NetworkDesc = {
    inputShape: [14, 14, 1],
    layers: [
      { kind: 'conv', filters: 4, kernel: 3, activation: 'relu' },   // 12×12×4
      { kind: 'pool', mode: 'max' },                                 // 6×6×4
      { kind: 'conv', filters: 5, kernel: 3, activation: 'relu' },   // 4×4×5
      { kind: 'pool', mode: 'max' },                                 // 2×2×5
      { kind: 'dense', outSize: 8, activation: 'relu', dropout: 0.3 },
      { kind: 'dense', outSize: 10, activation: 'softmax' },
    ],
    cost: 'log-likelihood',
  };
  checkGradient(desc, 3, { eps: 1e-3, l2: 0.01, dropoutSeed: 5 });
});

describe('the check catches a wrong gradient in any layer', () => {
  // sigmoid layers: the first layer's gradients (≤ 1.9e-3) are below the old absolute tolerance (2e-3)
  const desc = mlp('sigmoid', 'sigmoid', 'quadratic');
  const zeroed = (layer: number, block: 'weights' | 'biases') => gradientCheck(desc, 5, {
    tamper: (grad, layout) => {
      const s = layout.segments[layer]!;
      const [offset, length] = block === 'weights' ? [s.weightOffset, s.weightLength] : [s.biasOffset, s.biasLength];
      grad.fill(0, offset, offset + length);
    },
  });

  for (const layer of [0, 1, 2]) {
    for (const block of ['weights', 'biases'] as const) {
      test(`layer ${layer} ${block} zeroed: fails, in that block only`, () => {
        const r = zeroed(layer, block);
        assert.ok(r.failures.length > 0, `a zeroed layer ${layer} ${block} gradient passed`);
        for (const f of r.failures) assert.deepEqual([f.layer, f.block], [layer, block === 'weights' ? 'W' : 'b']);
      });
    }
  }

  test('the first layer\'s weights 10 % off: fails', () => {
    const r = gradientCheck(desc, 5, {
      tamper: (grad, layout) => { const s = layout.segments[0]!; for (let i = s.weightOffset; i < s.weightOffset + s.weightLength; i++) grad[i]! *= 0.9; },
    });
    assert.ok(r.failures.some((f) => f.layer === 0 && f.block === 'W'));
  });

  test('the old absolute tolerance (2e-3) let a zeroed first layer pass', () => {
    const r = gradientCheck(desc, 5, {
      scaleTol: 0, atol: 2e-3,
      tamper: (grad, layout) => { const s = layout.segments[0]!; grad.fill(0, s.weightOffset, s.weightOffset + s.weightLength); },
    });
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.insensitive.map((x) => [x.layer, x.block]), [[0, 'W'], [0, 'b']]);
  });
});
