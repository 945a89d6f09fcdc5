// Bad arguments throw TypeError/RangeError with a clear message and a JS stack; the process survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork, kernels, setGemm, type NetworkDesc } from '../../src/engine/native.ts';
import { initParams } from './helpers.ts';

const desc: NetworkDesc = {
  inputShape: [28, 28, 1],
  layers: [
    { kind: 'dense', inSize: 784, outSize: 8, activation: 'sigmoid' },
    { kind: 'dense', inSize: 8, outSize: 10, activation: 'softmax' },
  ],
  cost: 'log-likelihood',
};
const P = 784 * 8 + 8 + 8 * 10 + 10;

function throwsWith(fn: () => unknown, type: ErrorConstructor, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match((e as Error).message, pattern);
    assert.match((e as Error).stack ?? '', /errors\.test\.ts/); // a JS stack that points at the caller
    return true;
  });
}

async function rejectsWith(p: () => Promise<unknown>, type: ErrorConstructor, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

test('bad network descriptions', () => {
  const p = new Float32Array(P);
  const bad = (d: unknown) => () => new NativeNetwork(d as NetworkDesc, p, null, 1);
  throwsWith(bad({ ...desc, inputShape: [28, 28] }), TypeError, /inputShape/);
  throwsWith(bad({ ...desc, layers: [] }), RangeError, /layers must not be empty/);
  throwsWith(bad({ ...desc, cost: 'hinge' }), RangeError, /cost must be one of/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'dense', outSize: 10, activation: 'swish' }] }), RangeError, /activation/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'dense', outSize: -3, activation: 'sigmoid' }] }), RangeError, /outSize/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'dense', inSize: 100, outSize: 10, activation: 'sigmoid' }] }), RangeError, /inSize is 100/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'conv', filters: 2, kernel: 29, activation: 'relu' }, desc.layers[1]] }), RangeError, /kernel/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'dense', outSize: 8, activation: 'softmax' }, desc.layers[1]] }), RangeError, /softmax/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'dense', outSize: 10, activation: 'sigmoid', dropout: 1 }] }), RangeError, /dropout/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'conv', filters: 2, kernel: 5, activation: 'relu', outShape: [23, 24, 2] }] }), RangeError, /outShape/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'pool', mode: 'median' }] }), RangeError, /mode/);
  throwsWith(bad({ ...desc, layers: [{ kind: 'lstm' }] }), RangeError, /kind/);
  throwsWith(() => new NativeNetwork(desc, new Float32Array(P - 1), null, 1), RangeError, /params has/);
  throwsWith(() => new NativeNetwork(desc, p, new Float32Array(3), 1), RangeError, /velocity has/);
  throwsWith(() => new NativeNetwork(desc, new Float64Array(P) as unknown as Float32Array, null, 1), TypeError, /Float32Array/);
  throwsWith(() => new NativeNetwork(desc, p, null, 0), RangeError, /threads/);
  throwsWith(() => new NativeNetwork(desc, p, null, 1.5), RangeError, /threads/);
});

test('bad trainEpoch / evaluate / predict / gradient arguments', async () => {
  const net = new NativeNetwork(desc, initParams(desc, 1), null, 2);
  const images = new Uint8Array(784 * 4), labels = new Uint8Array(4), order = new Uint32Array([0, 1, 2, 3]);
  const ok = { images, labels, order, batchSize: 2, eta: 0.1 };
  await rejectsWith(() => net.trainEpoch({ ...ok, images: new Uint8Array(783) }), RangeError, /multiple of the input size/);
  await rejectsWith(() => net.trainEpoch({ ...ok, labels: new Uint8Array(3) }), RangeError, /labels has 3/);
  await rejectsWith(() => net.trainEpoch({ ...ok, labels: new Uint8Array([0, 1, 10, 2]) }), RangeError, /labels\[2\] = 10/);
  await rejectsWith(() => net.trainEpoch({ ...ok, order: new Uint32Array([0, 4]) }), RangeError, /order\[1\] = 4/);
  await rejectsWith(() => net.trainEpoch({ ...ok, order: [0, 1] as unknown as Uint32Array }), TypeError, /order must be a Uint32Array/);
  await rejectsWith(() => net.trainEpoch({ ...ok, batchSize: 0 }), RangeError, /batchSize/);
  await rejectsWith(() => net.trainEpoch({ ...ok, batchSize: 2.5 }), RangeError, /batchSize must be an integer/);
  await rejectsWith(() => net.trainEpoch({ ...ok, eta: Number.NaN }), RangeError, /eta must be finite/);
  await rejectsWith(() => net.trainEpoch({ ...ok, eta: undefined as unknown as number }), TypeError, /eta is required/);
  await rejectsWith(() => net.trainEpoch({ ...ok, momentum: 0.9 }), TypeError, /velocity/);
  await rejectsWith(() => net.trainEpoch({ ...ok, l2: -1 }), RangeError, /l2/);
  await rejectsWith(() => net.trainEpoch({ ...ok, startBatch: -1 }), RangeError, /startBatch/);
  await rejectsWith(() => net.trainEpoch({ ...ok, cancel: new Int32Array(0) }), RangeError, /cancel/);
  await rejectsWith(() => net.trainEpoch(null as unknown as never), TypeError, /options must be an object/);
  await rejectsWith(() => net.evaluate(images, new Uint8Array(5)), RangeError, /labels has 5/);
  await rejectsWith(() => net.predict(new Float32Array(785)), RangeError, /input has 785/);
  await rejectsWith(() => net.predict(new Uint8Array(784) as unknown as Float32Array), TypeError, /Float32Array/);
  throwsWith(() => net.gradient(new Float32Array(0), new Uint8Array(0)), RangeError, /at least one example/);
  throwsWith(() => net.gradient(new Float32Array(784), new Uint8Array([12])), RangeError, /out of range/);
  throwsWith(() => net.forward(new Float32Array(10)), RangeError, /input has 10/);
  // still usable afterwards
  const r = await net.trainEpoch(ok);
  assert.equal(r.batchesDone, 2);
  assert.equal((await net.predict(new Float32Array(784 * 3))).length, 30);
  assert.equal((await net.predict(new Float32Array(0))).length, 0);
});

test('bad kernel arguments and gemm selection', () => {
  throwsWith(() => kernels.gemm(false, false, 2, 2, 2, 1, new Float32Array(3), 2, new Float32Array(4), 2, 0, new Float32Array(4), 2), RangeError, /A has 3/);
  throwsWith(() => kernels.gemm(false, false, 2, 2, 2, 1, new Float32Array(4), 1, new Float32Array(4), 2, 0, new Float32Array(4), 2), RangeError, /leading dimension/);
  throwsWith(() => kernels.convForward({ H: 3, W: 3, C: 1, F: 1, K: 4 }, new Float32Array(9), new Float32Array(16), new Float32Array(1), 1), RangeError, /K must not exceed/);
  throwsWith(() => kernels.poolForward('max', { H: 1, W: 4, C: 1 }, new Float32Array(4), 1), RangeError, /H, W >= 2/);
  throwsWith(() => setGemm('mkl' as 'portable'), RangeError, /setGemm/);
});
