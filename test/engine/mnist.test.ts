import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { loadMnist, MnistError } from '../../src/engine/index.ts';
import { encodeIdxImages, encodeIdxLabels, MNIST_FILES, type MnistFileName } from '../../src/engine/mnist.ts';

// Small generated IDX files: 12 training and 5 test images with a recognisable pattern.
function fixture(): Record<MnistFileName, Buffer> {
  const make = (n: number, salt: number) => {
    const images = new Uint8Array(n * 784).map((_, i) => (i * 7 + salt) % 256);
    const labels = new Uint8Array(n).map((_, i) => (i + salt) % 10);
    return { images: encodeIdxImages(images, n), labels: encodeIdxLabels(labels) };
  };
  const tr = make(12, 1), te = make(5, 3);
  return {
    [MNIST_FILES.trainImages]: tr.images, [MNIST_FILES.trainLabels]: tr.labels,
    [MNIST_FILES.testImages]: te.images, [MNIST_FILES.testLabels]: te.labels,
  } as Record<MnistFileName, Buffer>;
}
const sums = (f: Record<MnistFileName, Buffer>) =>
  Object.fromEntries(Object.entries(f).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')])) as Record<MnistFileName, string>;

async function writeFixture(dir: string, f: Record<MnistFileName, Buffer>, gz: boolean) {
  for (const [name, bytes] of Object.entries(f)) {
    await writeFile(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  }
}

test('the real MNIST loads from MNIST_DIR with verified checksums', async () => {
  const m = await loadMnist();
  assert.equal(m.train.count, 60000);
  assert.equal(m.test.count, 10000);
  assert.equal(m.train.images.length, 60000 * 784);
  assert.ok(m.train.images instanceof Uint8Array);
  assert.equal(m.train.labels[0], 5, 'the first MNIST training digit is a 5');
  assert.equal(m.test.labels[0], 7, 'the first test digit is a 7');
  assert.equal(await loadMnist(), m, 'cached per process');
});

test('fixture files load plain and gzipped, checked against given checksums', async () => {
  const f = fixture();
  for (const gz of [false, true]) {
    const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
    try {
      await writeFixture(dir, f, gz);
      const m = await loadMnist({ dir, checksums: sums(f) });
      assert.equal(m.train.count, 12);
      assert.equal(m.test.count, 5);
      assert.equal(m.train.images[784 * 3 + 10], (784 * 3 * 7 + 10 * 7 + 1) % 256);
      assert.equal(m.test.labels[4], 7);
      await assert.rejects(loadMnist({ dir }), (e: unknown) => e instanceof MnistError && /corrupt: SHA-256/.test(e.message),
        'the default checksums are MNIST\'s own');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('missing and corrupt files give clear errors', async () => {
  const saved = process.env.MNIST_MIRROR;
  delete process.env.MNIST_MIRROR;
  const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
  try {
    await assert.rejects(loadMnist({ dir }), /MNIST not found in .*missing train-images-idx3-ubyte.*MNIST_DIR/);
    const f = fixture();
    await writeFixture(dir, f, false);
    await writeFile(join(dir, MNIST_FILES.trainLabels), Buffer.from('garbage'));
    await assert.rejects(loadMnist({ dir, checksums: false }), /train-labels-idx1-ubyte: not an IDX label file/);
    await writeFile(join(dir, MNIST_FILES.trainLabels), f[MNIST_FILES.trainLabels].subarray(0, 15));
    await assert.rejects(loadMnist({ dir, checksums: false }), /expected 20 for 12 labels/);
    await rm(join(dir, MNIST_FILES.trainLabels));
    await writeFile(join(dir, `${MNIST_FILES.trainLabels}.gz`), Buffer.from('not gzip at all'));
    await assert.rejects(loadMnist({ dir, checksums: false }), /not valid gzip/);
  } finally {
    if (saved !== undefined) process.env.MNIST_MIRROR = saved;
    await rm(dir, { recursive: true, force: true });
  }
});

test('absent files are downloaded from the mirror, once', async () => {
  const f = fixture();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url!);
    const name = req.url!.replace(/^\/mnist\//, '').replace(/\.gz$/, '') as MnistFileName;
    if (!f[name]) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(gzipSync(f[name]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`;
  const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
  try {
    const m = await loadMnist({ dir, mirror, checksums: sums(f) });
    assert.equal(m.train.count, 12);
    assert.equal(requests.length, 4);
    assert.deepEqual((await readdir(dir)).sort(), Object.values(MNIST_FILES).map((x) => `${x}.gz`).sort());
    await loadMnist({ dir, mirror, checksums: sums(f) });
    assert.equal(requests.length, 4, 'present files are not downloaded again');
    const empty = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
    await assert.rejects(loadMnist({ dir: empty, mirror: `${mirror}nope/`, checksums: sums(f) }), /cannot download .*HTTP 404/);
    await rm(empty, { recursive: true, force: true });
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A mirror whose answer to each request `serve` picks; records the requests. */
async function mirrorServer(serve: (name: MnistFileName, nth: number, res: import('node:http').ServerResponse) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url!);
    const name = req.url!.split('/').pop()!.replace(/\.gz$/, '') as MnistFileName;
    serve(name, requests.filter((u) => u === req.url).length, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    mirror: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

test('a corrupt download is never kept: it is verified before it is moved into place, and tried again', async () => {
  const f = fixture();
  const good = (name: MnistFileName) => gzipSync(f[name]);
  const m = await mirrorServer((name, nth, res) => {
    if (name === MNIST_FILES.trainLabels && nth === 1) {
      const bad = Buffer.from(f[name]);
      bad[bad.length - 1]! ^= 1; // valid gzip, wrong bytes: only the checksum sees it
      res.writeHead(200).end(gzipSync(bad));
    } else if (name === MNIST_FILES.testImages && nth === 1) {
      res.writeHead(200).end(good(name).subarray(0, 40)); // cut short
    } else if (name === MNIST_FILES.testLabels && nth === 1) {
      res.writeHead(503).end();
    } else {
      res.writeHead(200).end(good(name));
    }
  });
  const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
  const retries: string[] = [];
  try {
    const loaded = await loadMnist({ dir, mirror: m.mirror, checksums: sums(f), download: { retryDelayMs: 1, onRetry: (r) => retries.push(r.error) } });
    assert.equal(loaded.train.count, 12);
    assert.equal(m.requests.length, 7, 'three files needed a second try');
    assert.match(retries.join('\n'), /corrupt: SHA-256/);
    assert.match(retries.join('\n'), /not valid gzip/);
    assert.match(retries.join('\n'), /HTTP 503/);
    assert.deepEqual((await readdir(dir)).sort(), Object.values(MNIST_FILES).map((x) => `${x}.gz`).sort(), 'no part files left');
  } finally {
    await m.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a mirror that keeps serving a corrupt file: the load fails after MNIST_DOWNLOAD_ATTEMPTS tries and keeps nothing; the next load downloads again', async () => {
  const f = fixture();
  let corrupt = true;
  const m = await mirrorServer((name, _nth, res) => {
    const bytes = Buffer.from(f[name]);
    if (corrupt && name === MNIST_FILES.trainImages) bytes[100]! ^= 0xff;
    res.writeHead(200).end(gzipSync(bytes));
  });
  const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
  try {
    await assert.rejects(
      loadMnist({ dir, mirror: m.mirror, checksums: sums(f), download: { attempts: 3, retryDelayMs: 1 } }),
      (e: unknown) => e instanceof MnistError && /cannot download .*train-images-idx3-ubyte\.gz: the download is corrupt: SHA-256/.test(e.message),
    );
    assert.equal(m.requests.filter((u) => u.includes(MNIST_FILES.trainImages)).length, 3);
    assert.ok(!(await readdir(dir)).some((n) => n.startsWith(MNIST_FILES.trainImages)), 'the corrupt file was not kept');
    corrupt = false; // the mirror is fixed: the next load downloads it, nothing in the way
    const loaded = await loadMnist({ dir, mirror: m.mirror, checksums: sums(f), download: { retryDelayMs: 1 } });
    assert.equal(loaded.train.count, 12);
  } finally {
    await m.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('downloads are bounded: too many bytes (declared, streamed, or once inflated), no answer, a stalled body; 404 is not retried', async () => {
  const f = fixture();
  const m = await mirrorServer((name, _nth, res) => {
    const path = (res.req.url ?? '');
    if (path.startsWith('/mnist/declared/')) res.writeHead(200, { 'content-length': String(10_000_000) }).end();
    else if (path.startsWith('/mnist/streamed/')) {
      res.writeHead(200); // chunked, no length: counted as it comes
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => { while (res.write(chunk)) { /* until the buffer fills */ } };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      pump();
    } else if (path.startsWith('/mnist/silent/')) { /* never answers */ }
    else if (path.startsWith('/mnist/stalled/')) { res.writeHead(200, { 'content-length': '1000' }); res.write(Buffer.alloc(10)); }
    else if (path.startsWith('/mnist/missing/')) res.writeHead(404).end();
    else res.writeHead(200).end(gzipSync(f[name] ?? Buffer.alloc(0)));
  });
  const attempt = async (sub: string, download: Record<string, number>, pattern: RegExp, tries: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'nndl-mnist-'));
    const before = m.requests.length;
    try {
      await assert.rejects(loadMnist({ dir, mirror: `${m.mirror}${sub}/`, checksums: sums(f), download: { retryDelayMs: 1, attempts: 2, ...download } }), pattern);
      assert.equal(m.requests.length - before, tries, `${sub}: tries`);
      assert.deepEqual(await readdir(dir), [], `${sub}: nothing kept`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await attempt('declared', { maxBytes: 1_000_000 }, /10000000 bytes declared, more than the 1000000 allowed/, 2);
    await attempt('streamed', { maxBytes: 1_000_000 }, /more than the 1000000 bytes allowed/, 2);
    await attempt('inflated', { maxBytes: 4096 }, /not valid gzip \(or inflates past 4096 bytes\)/, 2);
    await attempt('silent', { timeoutMs: 300 }, /no answer within 300 ms/, 2);
    await attempt('stalled', { timeoutMs: 300 }, /not complete within 300 ms \(10 bytes received\)/, 2);
    await attempt('missing', {}, /cannot download .*HTTP 404/, 1);
  } finally {
    await m.close();
  }
});
