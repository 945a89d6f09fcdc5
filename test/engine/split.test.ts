import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist, splitData } from '../../src/engine/index.ts';
import { expandImages, expandImagesAsync, shiftImage } from '../../src/engine/split.ts';

test('the book split: first 50,000 train, last 10,000 validate, slices are views', async () => {
  const m = await loadMnist();
  const s = splitData(m, { trainSize: 50000, validationSize: 10000, expand: false });
  assert.equal(s.training.count, 50000);
  assert.equal(s.validation.count, 10000);
  assert.equal(s.test.count, 10000);
  assert.equal(s.training.images.buffer, m.train.images.buffer, 'no copy');
  assert.deepEqual(s.validation.images.subarray(0, 784), m.train.images.subarray(50000 * 784, 50001 * 784));
  assert.equal(s.validation.labels[0], m.train.labels[50000]);
  const small = splitData(m, { trainSize: 1000, validationSize: 200, expand: false });
  assert.equal(small.training.count, 1000);
  assert.equal(small.training.images.length, 1000 * 784);
  assert.equal(small.validation.count, 200);
  assert.equal(small.validation.labels[0], m.train.labels[50000], 'validation is still the last 10,000');
  // past 50,000: validation starts after the training images, never overlapping them
  const more = splitData(m, { trainSize: 55000, validationSize: 5000, expand: false });
  assert.equal(more.training.count, 55000);
  assert.deepEqual(more.training.images.subarray(54999 * 784), m.train.images.subarray(54999 * 784, 55000 * 784));
  assert.deepEqual(more.validation.images.subarray(0, 784), m.train.images.subarray(55000 * 784, 55001 * 784));
  assert.equal(more.validation.count, 5000);
  const every = splitData(m, { trainSize: 60000, validationSize: 0, expand: false });
  assert.equal(every.training.count, 60000);
  assert.equal(every.validation.count, 0);
  assert.throws(() => splitData(m, { trainSize: 55000, validationSize: 5001, expand: false }), /55000 \+ 5001/);
});

test('expansion: each image then its shifts down, up, right, left, zero-filled', async () => {
  // A 28×28 image with distinct values at the borders to see what moves and what is dropped.
  const img = new Uint8Array(784).map((_, i) => 1 + (i % 251));
  const set = { images: Uint8Array.from([...img, ...img.map((v) => 255 - v)]), labels: Uint8Array.from([3, 8]), count: 2 };
  const e = expandImages(set);
  assert.equal(e.count, 10);
  assert.deepEqual(Array.from(e.labels), [3, 3, 3, 3, 3, 8, 8, 8, 8, 8]);
  const at = (k: number, y: number, x: number) => e.images[k * 784 + y * 28 + x]!;
  const src = (y: number, x: number) => img[y * 28 + x]!;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      assert.equal(at(0, y, x), src(y, x));
      assert.equal(at(1, y, x), y === 0 ? 0 : src(y - 1, x), 'down');
      assert.equal(at(2, y, x), y === 27 ? 0 : src(y + 1, x), 'up');
      assert.equal(at(3, y, x), x === 0 ? 0 : src(y, x - 1), 'right');
      assert.equal(at(4, y, x), x === 27 ? 0 : src(y, x + 1), 'left');
    }
  }
  assert.equal(at(5, 10, 10), 255 - src(10, 10));
  const out = new Uint8Array(784);
  shiftImage(img, out, 1, 1);
  assert.equal(out[0], 0);
  assert.equal(out[29], src(0, 0));
});

test('expanded split on real MNIST has 5× the images as bytes', async () => {
  const m = await loadMnist();
  const s = splitData(m, { trainSize: 2000, validationSize: 100, expand: true });
  assert.equal(s.training.count, 10000);
  assert.ok(s.training.images instanceof Uint8Array);
  assert.equal(s.training.labels[7], m.train.labels[1]);
  assert.deepEqual(s.training.images.subarray(5 * 784, 6 * 784), m.train.images.subarray(784, 2 * 784));
  const again = splitData(m, { trainSize: 2000, validationSize: 500, expand: true });
  assert.ok(again.training.images === s.training.images, 'the latest expansion is reused, not rebuilt');
  const full = splitData(m, { trainSize: 50000, validationSize: 0, expand: true });
  assert.equal(full.training.count, 250000);
  assert.equal(full.training.images.length, 250000 * 784);
});

test('the async expansion equals the blocking one and yields to the event loop between slices', async () => {
  const mnist = await loadMnist();
  const base = { images: mnist.train.images.subarray(0, 1000 * 784), labels: mnist.train.labels.subarray(0, 1000), count: 1000 };
  const blocking = expandImages(base);
  const copy = { images: blocking.images.slice(), labels: blocking.labels.slice(), count: blocking.count };
  // a different view forces a rebuild rather than the cached result
  const other = { images: new Uint8Array(base.images), labels: new Uint8Array(base.labels), count: 1000 };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const asyncResult = await expandImagesAsync(other, 100);
  clearInterval(timer);
  assert.deepEqual(asyncResult.images, copy.images);
  assert.deepEqual(asyncResult.labels, copy.labels);
  assert.ok(ticks > 0, 'timers ran while the expansion was built');
});
