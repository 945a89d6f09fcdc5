// network-plan.ts is the one TypeScript computation of shapes and parameter offsets; the addon has
// its own (native/src/network_desc.cc; C++ cannot import TypeScript). These tests hold the two to
// the same answer — every layer's shapes, every parametric layer's weight/bias offsets and lengths,
// the parameter count — for every preset, for odd spec shapes, and for hand-written descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNative, type NativeDescription } from '../../src/engine/native.ts';
import {
  describeNetwork, outputSizeOf, paramLayout, planNetwork, type NetworkDesc,
} from '../../src/engine/network-plan.ts';
import { listPresets } from '../../src/engine/presets.ts';
import type { LayerSpec, NetworkSpec } from '../../src/engine/spec.ts';

type View = { paramCount: number; layers: Record<string, unknown>[] };

/** What network-plan.ts says about a description, in the addon's terms. */
function planView(desc: NetworkDesc): View {
  const { segments, paramCount } = paramLayout(desc);
  const layers = describeNetwork(desc).layers.map((L, i) => {
    const s = segments.find((seg) => seg.layer === i);
    const offsets = s ? {
      weightOffset: s.weightOffset, weightLength: s.weightLength, biasOffset: s.biasOffset, biasLength: s.biasLength,
      ...(s.norm ? { normOffset: s.norm.offset, normLength: s.norm.length } : {}),
    } : {};
    const shapes = L.kind === 'dense'
      ? { inSize: L.inSize }
      : { inShape: L.inShape, outShape: L.outShape, inSize: L.inShape[0] * L.inShape[1] * L.inShape[2] };
    return { kind: L.kind, ...shapes, outSize: outputSizeOf(L), ...offsets };
  });
  return { paramCount, layers };
}

/** What the addon says (a dense layer's [h, w, c] are its own bookkeeping: compared through inSize/outSize). */
function nativeView(d: NativeDescription): View {
  return {
    paramCount: d.paramCount,
    layers: d.layers.map(({ inShape, outShape, ...rest }) => (rest.kind === 'dense' ? rest : { ...rest, inShape, outShape })),
  };
}

const agree = (desc: NetworkDesc, what: string) => assert.deepEqual(planView(desc), nativeView(describeNative(desc)), what);

test('every preset: the plan and the addon agree on shapes, offsets and the parameter count', () => {
  const presets = listPresets();
  assert.ok(presets.length >= 11, `${presets.length} presets`);
  for (const p of presets) {
    // an ensemble's members share one network (and so one layout), concatenated in weights.bin
    const plan = planNetwork(p.experiment.network);
    agree(plan.desc, p.name);
    // planNetwork's own segments and count are paramLayout's
    assert.deepEqual({ segments: plan.segments, paramCount: plan.paramCount }, paramLayout(plan.desc), p.name);
    assert.equal(describeNative(plan.desc).paramCount, plan.paramCount, p.name);
  }
});

test('odd specs: conv without pool, conv after conv, several dense layers, pool after pool', () => {
  const net = (layers: LayerSpec[]): NetworkSpec => ({ layers, cost: 'cross-entropy', init: 'default' });
  const out: LayerSpec = { type: 'dense', units: 10, activation: 'sigmoid' };
  const specs: [string, NetworkSpec][] = [
    ['conv without pool', net([{ type: 'conv', filters: 3, kernel: 5, activation: 'relu' }, out])],
    ['conv, conv, pool', net([
      { type: 'conv', filters: 4, kernel: 3, activation: 'tanh' }, { type: 'conv', filters: 6, kernel: 5, activation: 'relu' },
      { type: 'pool', kind: 'l2' }, out])],
    ['pool, pool', net([
      { type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' }, { type: 'pool', kind: 'avg' },
      { type: 'conv', filters: 5, kernel: 2, activation: 'sigmoid' }, out])],
    ['four dense layers', net([
      { type: 'dense', units: 50, activation: 'relu', dropout: 0.2 }, { type: 'dense', units: 7, activation: 'tanh' },
      { type: 'dense', units: 33, activation: 'linear' }, out])],
    ['batch-norm conv layers between plain ones', net([
      { type: 'conv', filters: 3, kernel: 3, activation: 'relu', batchNorm: true }, { type: 'conv', filters: 4, kernel: 3, activation: 'tanh' },
      { type: 'pool', kind: 'max' }, { type: 'conv', filters: 5, kernel: 3, activation: 'relu', batchNorm: true },
      { type: 'conv', filters: 2, kernel: 3, activation: 'linear', batchNorm: false }, out])],
    ['kernel 1, the whole image', net([
      { type: 'conv', filters: 1, kernel: 1, activation: 'linear' }, { type: 'conv', filters: 2, kernel: 28, activation: 'relu' }, out])],
  ];
  for (const [name, spec] of specs) {
    const plan = planNetwork(spec);
    assert.ok(plan.segments.length >= 2, name);
    agree(plan.desc, name);
  }
});

test('hand-written descriptions: other input shapes, channels, odd sizes under pooling (floored), inferred fields left out', () => {
  const descs: [string, NetworkDesc][] = [
    ['6×6×1 mlp', { inputShape: [6, 6, 1], cost: 'quadratic', layers: [
      { kind: 'dense', outSize: 9, activation: 'sigmoid' }, { kind: 'dense', outSize: 4, activation: 'sigmoid' }] }],
    ['8×6×3 conv, odd pool', { inputShape: [8, 6, 3], cost: 'log-likelihood', layers: [
      { kind: 'conv', filters: 4, kernel: 2, activation: 'relu' }, { kind: 'pool', mode: 'max' },
      { kind: 'dense', outSize: 3, activation: 'softmax' }] }],
    ['10×10×2 conv, odd pool, conv, pool', { inputShape: [10, 10, 2], cost: 'cross-entropy', layers: [
      { kind: 'conv', filters: 3, kernel: 2, activation: 'tanh' }, { kind: 'pool', mode: 'l2' },
      { kind: 'conv', filters: 5, kernel: 3, activation: 'relu' }, { kind: 'pool', mode: 'avg' },
      { kind: 'dense', outSize: 6, activation: 'relu', dropout: 0.5 }, { kind: 'dense', outSize: 2, activation: 'sigmoid' }] }],
  ];
  for (const [name, desc] of descs) {
    agree(desc, name);
    // and the completed description (every shape declared) passes the addon's checks unchanged
    const full = describeNetwork(desc);
    agree(full, `${name} (completed)`);
    assert.deepEqual(describeNetwork(full), full, `${name}: completing is idempotent`);
  }
});

test('a disagreement is caught: a layout one float off, a shape one row off', () => {
  const desc = planNetwork(listPresets().find((p) => p.name === 'ch6-conv2')!.experiment.network).desc;
  const native = nativeView(describeNative(desc));
  const plan = planView(desc);
  const shifted = structuredClone(plan);
  (shifted.layers[2] as { biasOffset: number }).biasOffset += 1;
  assert.throws(() => assert.deepEqual(shifted, native));
  const taller = structuredClone(plan);
  (taller.layers[1] as { outShape: number[] }).outShape[0]! += 1;
  assert.throws(() => assert.deepEqual(taller, native));
  const more = { ...plan, paramCount: plan.paramCount + 1 };
  assert.throws(() => assert.deepEqual(more, native));
  assert.deepEqual(plan, native);
});

test('describe validates as the constructor does', () => {
  const bad: NetworkDesc = { inputShape: [4, 4, 1], cost: 'quadratic', layers: [
    { kind: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { kind: 'dense', outSize: 2, activation: 'sigmoid' }] };
  assert.throws(() => describeNative(bad), (e: Error) => e instanceof RangeError && /layers\[0\]\.kernel/.test(e.message));
  const declared: NetworkDesc = { inputShape: [4, 4, 1], cost: 'quadratic', layers: [{ kind: 'dense', inSize: 15, outSize: 2, activation: 'sigmoid' }] };
  assert.throws(() => describeNative(declared), /inSize is 15 but the previous layer gives 16/);
});
