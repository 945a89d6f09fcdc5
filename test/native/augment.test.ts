// The augmentation kernels (native/src/augment.cc) against the naive TypeScript reference on real
// MNIST digits, stage by stage; determinism (the same seed gives the same images however the rows
// are split across threads); the book's shifts as one case; and trainEpoch with augmentation.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, NativeNetwork, type NativeAugment } from '../../src/engine/native.ts';
import type { NetworkDesc } from '../../src/engine/network-plan.ts';
import { loadMnist } from '../../src/engine/mnist.ts';
import { shiftImage } from '../../src/engine/split.ts';
import { augmentReference } from './augment-reference.ts';
import { initParams } from './helpers.ts';

const augment = kernels.augment!;
const ROWS = 12;
let digits: Float32Array; // ROWS real MNIST training digits as floats
let bytes: Uint8Array;
let labels: Uint8Array;

before(async () => {
  const mnist = await loadMnist();
  bytes = mnist.train.images.slice(0, 64 * 784);
  labels = mnist.train.labels.slice(0, 64);
  digits = Float32Array.from(bytes.subarray(0, ROWS * 784), (v) => Math.fround(v * Math.fround(1 / 255)));
});

function maxDiffToReference(spec: NativeAugment, posBase = 0): number {
  const fast = augment(spec, digits, ROWS, 28, 28, posBase);
  let worst = 0;
  for (let r = 0; r < ROWS; r++) {
    const ref = augmentReference(spec, digits.subarray(r * 784, (r + 1) * 784), 28, 28, posBase + r);
    for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(fast[r * 784 + i]! - ref[i]!));
  }
  return worst;
}

const changed = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);

describe('augmentation kernels against the naive reference (real MNIST digits, 12 per case)', () => {
  const cases: [string, NativeAugment][] = [
    ['thickness (erode/dilate, blended)', { seed: 3, thickness: 1 }],
    ['rotation', { seed: 4, rotation: 15 }],
    ['scale', { seed: 5, scale: 0.15 }],
    ['shear', { seed: 6, shear: 20 }],
    ['translation', { seed: 7, translate: 3 }],
    ['elastic (α 34, σ 4)', { seed: 8, elasticAlpha: 34, elasticSigma: 4 }],
    ['elastic (α 8, σ 1.5)', { seed: 9, elasticAlpha: 8, elasticSigma: 1.5 }],
    ['book shifts', { seed: 10, bookShifts: true }],
    ['everything at once, half the images', {
      seed: 11, probability: 0.5, rotation: 10, scale: 0.1, shear: 10, translate: 2, elasticAlpha: 34, elasticSigma: 4,
      thickness: 0.5, bookShifts: true,
    }],
  ];
  for (const [name, spec] of cases) {
    test(name, () => {
      const out = augment(spec, digits, ROWS, 28, 28, 100);
      assert.ok(changed(out, digits), 'the kernel changed nothing');
      // float32 kernel vs double reference: measured ≤ 6e-7 (the elastic field smoothed in float32)
      const worst = maxDiffToReference(spec, 100);
      assert.ok(worst <= 1e-5, `max |fast − reference| = ${worst}`);
    });
  }

  test('the identity: nothing asked, or probability 0, leaves the images bit for bit', () => {
    assert.deepEqual(augment({ seed: 1 }, digits, ROWS, 28, 28, 0), digits);
    assert.deepEqual(augment({ seed: 1, probability: 0, rotation: 30, elasticAlpha: 34, elasticSigma: 4 }, digits, ROWS, 28, 28, 0), digits);
  });

  test("book shifts give exactly the book's expansion images (original, down, up, right, left)", () => {
    const out = augment({ seed: 12, bookShifts: true }, digits, ROWS, 28, 28, 0);
    const seen = new Set<number>();
    for (let r = 0; r < ROWS; r++) {
      const src = bytes.subarray(r * 784, (r + 1) * 784);
      const shifted = new Uint8Array(784);
      const options = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]].map(([dy, dx], k) => {
        shiftImage(src, shifted, dy!, dx!);
        return { k, img: Float32Array.from(shifted, (v) => Math.fround(v * Math.fround(1 / 255))) };
      });
      const match = options.find((o) => !changed(o.img, out.subarray(r * 784, (r + 1) * 784)));
      assert.ok(match, `row ${r} is none of the five expansion images`);
      seen.add(match.k);
    }
    assert.ok(seen.size >= 3, `12 draws used only ${seen.size} of the 5 shifts`);
  });

  test('rotation turns a horizontal bar by the drawn angle (its second moments)', () => {
    const bar = new Float32Array(784);
    for (let c = 4; c < 24; c++) bar[13 * 28 + c] = bar[14 * 28 + c] = 1;
    const out = augment({ seed: 2, rotation: 40 }, bar, 1, 28, 28, 0);
    let sxx = 0, syy = 0, sxy = 0;
    for (let y = 0; y < 28; y++) for (let c = 0; c < 28; c++) {
      const w = out[y * 28 + c]!, u = c - 13.5, v = y - 13.5;
      sxx += w * u * u; syy += w * v * v; sxy += w * u * v;
    }
    const measured = Math.abs(0.5 * Math.atan2(2 * sxy, sxx - syy)) * 180 / Math.PI;
    assert.ok(measured > 1 && measured < 41, `bar angle ${measured}°`);
  });
});

describe('determinism', () => {
  const spec: NativeAugment = { seed: 77, rotation: 12, scale: 0.1, shear: 12, translate: 2, elasticAlpha: 34, elasticSigma: 4, thickness: 0.4 };

  test('the same seed and positions give bit-identical images, however the rows are split (threads)', () => {
    const whole = augment(spec, digits, ROWS, 28, 28, 500);
    assert.deepEqual(augment(spec, digits, ROWS, 28, 28, 500), whole);
    for (const cut of [1, 5, 7]) {
      const a = augment(spec, digits.subarray(0, cut * 784), cut, 28, 28, 500);
      const b = augment(spec, digits.subarray(cut * 784), ROWS - cut, 28, 28, 500 + cut);
      assert.deepEqual(Float32Array.from([...a, ...b]), whole, `split at ${cut}`);
    }
  });

  test('another seed or another position gives other images', () => {
    const whole = augment(spec, digits, ROWS, 28, 28, 500);
    assert.ok(changed(augment({ ...spec, seed: 78 }, digits, ROWS, 28, 28, 500), whole));
    assert.ok(changed(augment(spec, digits, ROWS, 28, 28, 501), whole));
  });

  test('out-of-range settings are RangeErrors naming the field', () => {
    assert.throws(() => augment({ seed: 1, rotation: -1 }, digits, 1, 28, 28, 0), { name: 'RangeError', message: /augment\.rotation/ });
    assert.throws(() => augment({ seed: 1, elasticAlpha: 34, elasticSigma: 0 }, digits, 1, 28, 28, 0), { name: 'RangeError', message: /elasticSigma/ });
    assert.throws(() => augment({ seed: 1, probability: 2 }, digits, 1, 28, 28, 0), { name: 'RangeError', message: /probability/ });
  });
});

describe('trainEpoch with augmentation', () => {
  const conv: NetworkDesc = {
    inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [
      { kind: 'conv', filters: 8, kernel: 5, activation: 'relu' }, { kind: 'pool', mode: 'max' },
      { kind: 'dense', outSize: 10, activation: 'softmax' }],
  };
  const spec: NativeAugment = { seed: 5, rotation: 10, scale: 0.1, shear: 10, translate: 2, elasticAlpha: 34, elasticSigma: 4, thickness: 0.3 };

  async function run(threads: number, augmentSpec?: NativeAugment): Promise<Float32Array> {
    const params = initParams(conv, 9, 1, 0.1);
    const net = new NativeNetwork(conv, params, null, threads);
    assert.equal(net.trainThreads(32), threads); // the batch is big enough to be split
    const order = new Uint32Array(64).map((_, i) => (i * 37) % 64);
    await net.trainEpoch({ images: bytes, labels, order, batchSize: 32, eta: 0.05, dropoutSeed: 1, augment: augmentSpec });
    net.dispose();
    return params;
  }

  test('bit-identical weights for a seed and thread count; thread counts agree to rounding; augmentation changes the run', async () => {
    const one = await run(1, spec);
    assert.deepEqual(await run(1, spec), one);
    const two = await run(2, spec);
    assert.deepEqual(await run(2, spec), two);
    for (let i = 0; i < one.length; i++) assert.ok(Math.abs(one[i]! - two[i]!) <= 1e-5, `param ${i}: ${one[i]} vs ${two[i]}`);
    assert.ok(changed(await run(1), one), 'augmentation did not change the training');
  });

  test('bad augment options are refused before any work', async () => {
    const net = new NativeNetwork(conv, initParams(conv, 9), null, 1);
    await assert.rejects(async () => net.trainEpoch({ images: bytes, labels, order: new Uint32Array([0]), batchSize: 1, eta: 0.1,
      augment: { seed: 1, shear: 99 } }), { name: 'RangeError', message: /augment\.shear/ });
    net.dispose();
  });
});
