import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/engine/index.ts';

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...args], { encoding: 'utf8', env: process.env });
const jsonLines = (s: string) => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

test('npm run train --json: epoch lines, test accuracy, a saved model', async () => {
  const out = await mkdtemp(join(tmpdir(), 'nndl-cli-'));
  try {
    const r = cli(['--preset', 'ch3-mlp30-ce', '--epochs', '2', '--train-size', '1000', '--validation-size', '200', '--json', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.deepEqual(lines.map((l) => l.event), ['start', 'epoch', 'epoch', 'completed']);
    assert.equal(lines[1].epoch, 1);
    assert.ok(lines[2].validationAccuracy > 0.5);
    assert.ok(lines[3].testAccuracy > 0.5);
    const model = await loadModel(out);
    assert.equal(model.testAccuracy, lines[3].testAccuracy);
    assert.equal(model.experiment.training.epochs, 2);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a bad option is reported naming the field, with exit code 2', () => {
  const r = cli(['--preset', 'ch1-mlp30', '--eta=-1', '--no-save']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /training\.eta: eta must be greater than 0/);
  const u = cli(['--preset', 'nope', '--no-save']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown preset "nope"/);
});

test('a job over a budget is refused before training, naming the budget; --threads is capped by ENGINE_THREADS', () => {
  const r = cli(['--preset', 'ch6-ensemble', '--epochs', '800', '--no-save']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /over budget.*\n {2}image-steps \(members × epochs × training images\): 1,000,000,000, above MAX_JOB_IMAGE_STEPS = 100,000,000/);
  const t = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', '--preset', 'ch1-mlp30', '--epochs', '1', '--train-size', '500',
    '--validation-size', '0', '--threads', '16', '--no-save'], { encoding: 'utf8', env: { ...process.env, ENGINE_THREADS: '1' } });
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stderr, /16 threads asked for; using ENGINE_THREADS = 1/);
  assert.match(t.stdout, /, 1 threads\)/);
});

test('Ctrl-C writes a checkpoint that --resume continues from', async () => {
  const out = await mkdtemp(join(tmpdir(), 'nndl-cli-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/train.ts', '--preset', 'ch3-mlp30-ce', '--epochs', '200',
      '--train-size', '2000', '--validation-size', '100', '--json', '--out', out], { env: process.env });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!child.killed && stdout.includes('"event":"epoch"')) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 130);
    const stop = jsonLines(stdout).at(-1);
    assert.equal(stop.event, 'interrupted');
    assert.ok(existsSync(join(out, 'checkpoint.bin')));
    // Resume with fewer epochs is not possible (the checkpoint carries the experiment), so check
    // that the resumed run starts where it stopped and is interrupted again cleanly.
    const again = spawn(process.execPath, ['--import', 'tsx', 'scripts/train.ts', '--resume', join(out, 'checkpoint.bin'), '--json',
      '--out', out], { env: process.env });
    let s2 = '';
    again.stdout.on('data', (d) => {
      s2 += d;
      if (!again.killed && s2.includes('"event":"epoch"')) again.kill('SIGINT');
    });
    assert.equal(await new Promise<number | null>((r) => again.on('exit', r)), 130);
    const firstEpoch = jsonLines(s2).find((l) => l.event === 'epoch');
    assert.ok(firstEpoch.epoch >= stop.epoch + 1, `resumed at epoch ${firstEpoch.epoch}, stopped after ${stop.epoch}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
