// Bad arguments throw TypeError/RangeError with a clear message and a JS stack; the process survives.
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork, kernels, setGemm } from '../../src/engine/native.ts';
import type { NetworkDesc } from '../../src/engine/network-plan.ts';
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

// Shapes whose sizes overflow 32-bit arithmetic used to wrap (inputShape [65536, 65536, 1] gave an
// input size of 0 and a SIGFPE in forward()). Run in a child process: a crash there fails this test
// instead of killing the runner.
test('absurd shapes are a RangeError naming the field, not a crash', () => {
  const script = `
    import { NativeNetwork } from './src/engine/native.ts';
    const out = [];
    const attempt = (name, fn) => {
      try { fn(); out.push({ name, ok: true }); }
      catch (e) { out.push({ name, error: e.constructor.name, message: e.message }); }
    };
    const softmax = { kind: 'dense', outSize: 10, activation: 'softmax' };
    attempt('input', () => {
      const net = new NativeNetwork({ inputShape: [65536, 65536, 1], layers: [softmax], cost: 'log-likelihood' }, new Float32Array(10), null, 1);
      net.forward(new Float32Array(10));
    });
    attempt('conv output', () => new NativeNetwork({ inputShape: [28, 28, 1],
      layers: [{ kind: 'conv', filters: 1 << 20, kernel: 1, activation: 'relu' }, softmax], cost: 'log-likelihood' }, new Float32Array(10), null, 1));
    attempt('im2col', () => new NativeNetwork({ inputShape: [1000, 1000, 1],
      layers: [{ kind: 'conv', filters: 1, kernel: 500, activation: 'relu' }, softmax], cost: 'log-likelihood' }, new Float32Array(10), null, 1));
    attempt('dense weights', () => new NativeNetwork({ inputShape: [4096, 4096, 16],
      layers: [{ kind: 'dense', outSize: 1 << 24, activation: 'relu' }, softmax], cost: 'log-likelihood' }, new Float32Array(10), null, 1));
    // 2^28 values per example is allowed, but then a buffer holds at most 7 examples (int indices)
    const pools = Array.from({ length: 9 }, () => ({ kind: 'pool', mode: 'max' }));
    const big = { inputShape: [16384, 16384, 1], layers: [{ kind: 'conv', filters: 1, kernel: 1, activation: 'relu' }, ...pools,
      { kind: 'dense', outSize: 2, activation: 'softmax' }], cost: 'log-likelihood' };
    const net = new NativeNetwork(big, new Float32Array(2 + 32 * 32 * 2 + 2), null, 1);
    await net.trainEpoch({ images: new Uint8Array(0), labels: new Uint8Array(0), order: new Uint32Array(0), batchSize: 7, eta: 0.1 });
    out.push({ name: 'batch 7', ok: true });
    try {
      await net.trainEpoch({ images: new Uint8Array(0), labels: new Uint8Array(0), order: new Uint32Array(0), batchSize: 8, eta: 0.1 });
      out.push({ name: 'batch 8', ok: true });
    } catch (e) { out.push({ name: 'batch 8', error: e.constructor.name, message: e.message }); }
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const results = Object.fromEntries((JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { name: string }[]).map((x) => [x.name, x]));
  const refused = (name: string, pattern: RegExp) => {
    const x = results[name] as { error?: string; message?: string };
    assert.equal(x.error, 'RangeError', `${name}: ${JSON.stringify(x)}`);
    assert.match(x.message!, pattern);
  };
  refused('input', /^desc\.inputShape \[65536,65536,1\] holds 4294967296 values per example, more than the limit/);
  refused('conv output', /^layers\[0\]\.outShape \[28,28,1048576\] holds 822083584 values/);
  refused('im2col', /^layers\[0\]: the im2col buffer \(251001 positions × 250000\)/);
  refused('dense weights', /^layers\[0\]: the network has \d+ parameters, more than the limit/);
  assert.deepEqual(results['batch 7'], { name: 'batch 7', ok: true });
  refused('batch 8', /batchSize 8 is too large for this network.*at most 7 per thread/);
});
