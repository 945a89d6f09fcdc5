import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPredictor, loadMnist, resolveExperiment, saveModel, splitData, train } from '../../src/engine/index.ts';
import { evaluateRealWorld, readManifest, REALWORLD_DIR } from '../../src/eval/realworld.ts';

test('the real-world set: at least 500 labelled files in categories, balanced, checksums right, MNIST test digits only, each once', async () => {
  const m = await readManifest();
  assert.ok(m.items.length >= 500, `${m.items.length} items`);
  assert.equal(m.count, m.items.length);
  assert.ok(m.categories.length >= 10);
  const mnist = await loadMnist();
  const used = new Set<number>();
  for (const c of m.categories) {
    const items = m.items.filter((i) => i.category === c.name);
    assert.equal(items.length, c.count, c.name);
    for (let d = 0; d < 10; d++) assert.equal(items.filter((i) => i.label === d).length, c.count / 10, `${c.name} digit ${d}`);
  }
  for (const item of m.items) {
    const bytes = await readFile(join(REALWORLD_DIR, item.file));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), item.sha256, item.file);
    const mnistIndex = /^mnist-test:(\d+)$/.exec(item.source);
    if (mnistIndex) {
      const i = Number(mnistIndex[1]);
      assert.equal(mnist.test.labels[i], item.label, `${item.file} is MNIST test ${i}`);
      assert.ok(!used.has(i), `MNIST test ${i} used twice`);
      used.add(i);
    } else assert.equal(item.source, 'pen');
  }
  assert.ok(m.items.some((i) => i.source === 'pen') && used.size > 0);
});

test('the generator is deterministic: --per-digit 1 makes exactly the first ten files of each committed category', async () => {
  const out = await mkdtemp(join(tmpdir(), 'nndl-realworld-'));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/realworld/generate.ts', '--per-digit', '1', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const small = await readManifest(out);
    const committed = await readManifest();
    assert.equal(small.items.length, committed.categories.length * 10);
    for (const item of small.items) {
      const same = committed.items.find((i) => i.file === item.file);
      assert.ok(same, item.file);
      assert.deepEqual({ ...item }, { ...same }, item.file);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('eval:realworld scores a model per category through the predict preprocessing (library and CLI agree)', async () => {
  const mnist = await loadMnist();
  const experiment = resolveExperiment({ preset: 'ch1-mlp30', training: { epochs: 1 }, data: { trainSize: 5000, validationSize: 0 } });
  const trained = await train(experiment, { data: splitData(mnist, experiment.data) });
  assert.equal(trained.status, 'completed');
  if (trained.status !== 'completed') return;
  const dir = await mkdtemp(join(tmpdir(), 'nndl-realworld-model-'));
  try {
    await saveModel(dir, trained.model);
    const predictor = createPredictor(trained.model);
    const result = await evaluateRealWorld(predictor);
    predictor.dispose();
    const m = await readManifest();
    assert.deepEqual(result.categories.map((c) => c.category), m.categories.map((c) => c.name));
    assert.equal(result.count, m.items.length);
    assert.equal(result.correct, result.categories.reduce((s, c) => s + c.correct, 0));
    assert.equal(result.misses.length, result.count - result.correct);
    assert.ok(result.accuracy > 0.3 && result.accuracy < 1, `accuracy ${result.accuracy}`); // far better than chance

    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/eval-realworld.ts', '--model', dir, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(r.stdout);
    assert.equal(cli.correct, result.correct);
    assert.deepEqual(cli.categories, result.categories);
    const text = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/eval-realworld.ts', '--model', dir], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    for (const c of m.categories) assert.match(text.stdout, new RegExp(`^${c.name} +${c.count} +[0-9.]+%`, 'm'));
    assert.match(text.stdout, /^overall +\d+ +[0-9.]+%/m);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/eval-realworld.ts', '--model', join(dir, 'nope')], {
      encoding: 'utf8', env: { ...process.env, QUEUE_PREFIX: 'realworld-test-none' },
    });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no model directory, model id or alias named/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
