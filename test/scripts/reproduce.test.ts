// npm run reproduce on tiny slices of a preset (real engine, real MNIST), as a child process:
// a run stopped after one epoch is in progress in the report and resumes when the command is run
// again, ending with the same weights and figures as an uninterrupted run; a run killed outright
// (SIGKILL) resumes from its last epoch's checkpoint; a finished preset is not trained again; the
// report has every preset (not-run ones with completed false), the curve, and the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPresets, loadModel } from '../../src/engine/index.ts';

const SLICE = ['--preset', 'ch3-mlp30-ce', '--epochs', '3', '--train-size', '1000', '--validation-size', '200', '--threads', '1'];

function reproduce(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', ...args], { encoding: 'utf8', env: process.env });
}

type Entry = Record<string, unknown> & { preset: string; completed: boolean; status: string };
async function report(out: string): Promise<{ presets: Entry[]; md: string }> {
  const json = JSON.parse(await readFile(join(out, 'reproduction.json'), 'utf8'));
  return { presets: json.presets, md: await readFile(join(out, 'reproduction.md'), 'utf8') };
}
const entry = (r: { presets: Entry[] }, name: string) => r.presets.find((e) => e.preset === name)!;

test('stopped after one epoch, then resumed by the same command: the same result as an uninterrupted run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-reproduce-'));
  try {
    const out = join(dir, 'docs');
    const state = join(dir, 'state');
    const first = reproduce([...SLICE, '--out', out, '--state', state, '--stop-after', '1']);
    assert.equal(first.status, 130, first.stderr);
    assert.match(first.stdout, /stopped after epoch 1 of member 0; run the same command again/);
    let r = await report(out);
    const cut = entry(r, 'ch3-mlp30-ce');
    assert.equal(cut.completed, false);
    assert.equal(cut.status, 'in-progress');
    assert.equal(cut.epochsDone, 1);
    assert.equal(cut.accuracy, null);
    assert.ok(existsSync(join(state, 'ch3-mlp30-ce', 'checkpoint.bin')));

    const second = reproduce([...SLICE, '--out', out, '--state', state]);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /resuming member 0 after epoch 1 \(batch 0\)/);
    assert.doesNotMatch(second.stdout, /epoch 1\/3/); // epoch 1 was not trained again
    r = await report(out);
    const done = entry(r, 'ch3-mlp30-ce');
    assert.equal(done.completed, true);
    assert.equal(done.metric, 'test');
    assert.equal(done.sessions, 2);
    assert.equal(done.epochsDone, 3);
    assert.equal(done.accuracy, done.testAccuracy);
    assert.ok((done.accuracy as number) > 0.5, `accuracy ${done.accuracy}`);
    assert.equal(done.difference, Math.round(((done.accuracy as number) - (done.bookAccuracy as number)) * 1e6) / 1e4);
    assert.ok((done.seconds as number) > 0);
    assert.deepEqual(done.overrides, { training: { epochs: 3 }, data: { trainSize: 1000, validationSize: 200 } });
    assert.equal(done.command, 'npm run reproduce -- --preset ch3-mlp30-ce --epochs 3 --train-size 1000 --validation-size 200');
    assert.ok(!existsSync(join(state, 'ch3-mlp30-ce', 'checkpoint.bin')), 'a finished run keeps no checkpoint');
    // the curve and the report
    const svg = await readFile(join(out, done.curve as string), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2); // validation and training accuracy
    assert.match(r.md, /\| \[ch3-mlp30-ce\]\(#ch3-mlp30-ce\) \| 95\.50% \| test \| \d+\.\d\d% \| −\d+\.\d\d \| \d \| [\d.]+ s \| a slice \(not the book's run\) \|/);
    assert.match(r.md, /!\[ch3-mlp30-ce: accuracy per epoch\]\(reproduction\/ch3-mlp30-ce\.svg\)/);
    // every other preset is there, not run, and described as the book's run
    assert.deepEqual(r.presets.map((e) => e.preset), listPresets().map((p) => p.name));
    for (const e of r.presets.filter((x) => x.preset !== 'ch3-mlp30-ce')) {
      assert.equal(e.completed, false, e.preset);
      assert.equal(e.status, 'not-run');
      assert.equal(e.overrides, null);
      assert.equal(e.command, `npm run reproduce -- --preset ${e.preset}`);
    }

    // the same slice uninterrupted: the same weights, the same figures
    const straight = reproduce([...SLICE, '--out', join(dir, 'docs2'), '--state', join(dir, 'state2')]);
    assert.equal(straight.status, 0, straight.stderr);
    const other = entry(await report(join(dir, 'docs2')), 'ch3-mlp30-ce');
    for (const k of ['accuracy', 'testAccuracy', 'bestValidationAccuracy', 'bestValidationEpoch', 'finalValidationAccuracy']) {
      assert.equal(other[k], done[k], k);
    }
    const [a, b] = await Promise.all([loadModel(join(state, 'ch3-mlp30-ce', 'model')), loadModel(join(dir, 'state2', 'ch3-mlp30-ce', 'model'))]);
    assert.deepEqual(a.members[0]!.params, b.members[0]!.params);

    // finished: the command again trains nothing and reports the same
    const again = reproduce([...SLICE, '--out', out, '--state', state]);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /epoch \d\/3/);
    assert.deepEqual(entry(await report(out), 'ch3-mlp30-ce'), done);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('killed outright mid-run (SIGKILL): the command resumes from the last epoch\'s checkpoint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-reproduce-'));
  try {
    const args = ['--preset', 'ch1-mlp30', '--epochs', '200', '--train-size', '2000', '--validation-size', '100', '--threads', '1',
      '--out', join(dir, 'docs'), '--state', join(dir, 'state')];
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', ...args], { env: process.env });
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (!child.killed && /epoch 2\/200/.test(stdout)) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    assert.equal(child.signalCode, 'SIGKILL');
    const last = Math.max(...[...stdout.matchAll(/epoch (\d+)\/200/g)].map((m) => Number(m[1])));
    // epochs done before the kill are checkpointed (at least epoch 2: its line comes after its checkpoint)
    const resumed = reproduce([...args, '--stop-after', '1']);
    assert.equal(resumed.status, 130, resumed.stderr);
    const from = Number(/resuming member 0 after epoch (\d+) \(batch 0\)/.exec(resumed.stdout)?.[1]);
    assert.ok(from >= 2 && from <= last + 1, `resumed after epoch ${from}; the killed run printed up to ${last}`);
    assert.match(resumed.stdout, new RegExp(`epoch ${from + 1}/200`));
    const e = entry(await report(join(dir, 'docs')), 'ch1-mlp30');
    assert.equal(e.status, 'in-progress');
    assert.equal(e.epochsDone, from + 1);
    assert.equal(e.sessions, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a saved run of what the preset was before (it changed since) is moved aside, and the preset starts over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-reproduce-'));
  try {
    const args = [...SLICE, '--out', join(dir, 'docs'), '--state', join(dir, 'state'), '--stop-after', '1'];
    assert.equal(reproduce(args).status, 130);
    // as if the engine's preset had been another experiment when this run started
    const runFile = join(dir, 'state', 'ch3-mlp30-ce', 'run.json');
    const run = JSON.parse(await readFile(runFile, 'utf8'));
    run.experiment.training.eta = 0.25;
    await writeFile(runFile, JSON.stringify(run));
    const again = reproduce(args);
    assert.equal(again.status, 130, again.stderr);
    assert.match(again.stdout, /the saved run was of another experiment \(the preset changed since\): moved to .*replaced-.*; starting over/);
    assert.match(again.stdout, /epoch 1\/3/);
    const e = entry(await report(join(dir, 'docs')), 'ch3-mlp30-ce');
    assert.equal(e.sessions, 1);
    assert.equal(e.epochsDone, 1);
    assert.equal((e.experiment as { training: { eta: number } }).training.eta, 0.5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad option or an unknown preset: exit code 2 with the reason', () => {
  const r = reproduce(['--preset', 'nope', '--out', join(tmpdir(), 'nndl-never')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown preset "nope"/);
  const s = reproduce(['--preset', 'ch1-mlp30', '--stop-after', '0', '--out', join(tmpdir(), 'nndl-never')]);
  assert.equal(s.status, 2);
  assert.match(s.stderr, /--stop-after must be a positive integer/);
});
