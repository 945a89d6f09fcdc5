// npm run reproduce on a vote ensemble (ch6-ensemble, tiny slices, real engine, real MNIST): members are
// trained one by one and each is committed beside the report as it finishes, so losing the whole state
// directory (a session's end) loses no finished member; the report's figure is conv.py's plurality vote
// of the committed members' test predictions; member k's own run is the network the engine's ensemble
// trains as member k; and a finished ch6-dropout run stands for member 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset, loadMnist, resolveExperiment, splitDataAsync, train } from '../../src/engine/index.ts';
import { memberInput, pluralityVote, type MemberRecord } from '../../scripts/reproduce/ensemble-members.ts';

const SLICE = ['--preset', 'ch6-ensemble', '--epochs', '1', '--train-size', '200', '--validation-size', '100', '--threads', '1'];

function reproduce(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reproduce.ts', ...args], { encoding: 'utf8', env: process.env });
}

test('plurality vote: the most votes win, a tie goes to the smallest tied digit (Counter.most_common on Python 2)', () => {
  assert.deepEqual([...pluralityVote(['12', '12', '32', '34', '35'], 2)], [3, 2]); // 3 has two votes of five
  assert.deepEqual([...pluralityVote(['7', '2', '2', '7', '9'], 1)], [2]); // 2 and 7 tie: 2
  assert.deepEqual([...pluralityVote(['9', '8', '7', '6', '5'], 1)], [5]); // five ways: the smallest
});

test('members are committed one by one; a lost state directory loses none of them; the figure is the vote of the committed members', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-reproduce-ensemble-'));
  try {
    const out = join(dir, 'docs');
    const state = join(dir, 'state');
    const first = reproduce([...SLICE, '--out', out, '--state', state, '--stop-after', '1']);
    assert.equal(first.status, 130, first.stderr);
    const members = join(out, 'reproduction', 'members', 'ch6-ensemble');
    assert.ok(existsSync(join(members, 'member-0.json')));
    assert.ok(!existsSync(join(members, 'member-1.json')));
    let r = JSON.parse(await readFile(join(out, 'reproduction.json'), 'utf8'));
    let e = r.presets.find((p: { preset: string }) => p.preset === 'ch6-ensemble');
    assert.equal(e.status, 'in-progress');
    assert.equal(e.accuracy, null);
    assert.match(e.note, /^1 of 5 members committed \(member 1: \d+\.\d\d%\)/);

    await rm(state, { recursive: true }); // the session ends: checkpoints and models are gone, the report stays
    const second = reproduce([...SLICE, '--out', out, '--state', state]);
    assert.equal(second.status, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /member 1 of 5 \(seed/); // member 0 was not trained again
    assert.match(second.stdout, /member 5 of 5 \(seed 6\)/);
    r = JSON.parse(await readFile(join(out, 'reproduction.json'), 'utf8'));
    e = r.presets.find((p: { preset: string }) => p.preset === 'ch6-ensemble');
    assert.equal(e.status, 'completed');
    assert.equal(e.members, 5);
    assert.deepEqual(e.keptEpochs, [1, 1, 1, 1, 1]);

    // the figure, recomputed here from the five committed files and MNIST's labels
    const records: MemberRecord[] = [];
    for (let k = 0; k < 5; k++) records.push(JSON.parse(await readFile(join(members, `member-${k}.json`), 'utf8')));
    const data = await splitDataAsync(await loadMnist(), { trainSize: 200, validationSize: 100, expand: false });
    assert.ok(records.every((m, k) => m.member === k && m.testDigits.length === data.test.count && /^[0-9]+$/.test(m.testDigits)));
    let right = 0;
    for (let i = 0; i < data.test.count; i++) {
      const votes = new Array<number>(10).fill(0);
      for (const m of records) votes[Number(m.testDigits[i])]! += 1;
      if (votes.indexOf(Math.max(...votes)) === data.test.labels[i]) right++;
    }
    assert.equal(e.accuracy, right / data.test.count);
    assert.equal(e.testAccuracy, e.accuracy);
    // each member's own figure is what its predictions say
    for (const m of records) {
      let ok = 0;
      for (let i = 0; i < data.test.count; i++) if (Number(m.testDigits[i]) === data.test.labels[i]) ok++;
      assert.equal(ok / data.test.count, m.testAccuracy);
    }

    // a finished ch6-dropout run of the same slice is member 0 (the same training; it kept its best epoch as its
    // model, but its final checkpoint stays): adopted, not trained again, and it predicts exactly what member 0 does
    const state2 = join(dir, 'state2');
    const out2 = join(dir, 'docs2');
    const dropout = reproduce(['--preset', 'ch6-dropout', ...SLICE.slice(2), '--out', out2, '--state', state2]);
    assert.equal(dropout.status, 0, dropout.stderr);
    assert.ok(existsSync(join(state2, 'ch6-dropout', 'final-checkpoint.bin')));
    assert.ok(!existsSync(join(state2, 'ch6-dropout', 'checkpoint.bin')));
    const adopting = reproduce([...SLICE, '--out', out2, '--state', state2, '--stop-after', '1']);
    assert.ok(adopting.status === 0 || adopting.status === 130, adopting.stderr);
    assert.match(adopting.stdout, /member 1 of 5 is ch6-dropout's final weights/);
    assert.doesNotMatch(adopting.stdout, /member 1 of 5 \(seed/);
    const adopted = JSON.parse(await readFile(join(out2, 'reproduction', 'members', 'ch6-ensemble', 'member-0.json'), 'utf8')) as MemberRecord;
    assert.equal(adopted.adoptedFrom, 'ch6-dropout');
    assert.equal(adopted.testDigits, records[0]!.testDigits);
    assert.equal(adopted.validationDigits, records[0]!.validationDigits);
    assert.equal(adopted.testAccuracy, records[0]!.testAccuracy);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('member k run on its own is the engine ensemble\'s member k (same seed, same weights)', async () => {
  const p = getPreset('ch6-ensemble')!;
  const slice = { training: { epochs: 1 }, data: { trainSize: 100, validationSize: 50 } };
  const ensemble = resolveExperiment({ preset: 'ch6-ensemble', ...slice, ensemble: { size: 2, combine: 'vote' } });
  const single = resolveExperiment(memberInput(p, 1, slice));
  assert.equal(single.ensemble, undefined);
  assert.equal(single.training.seed, ensemble.training.seed + 1);
  const data = await splitDataAsync(await loadMnist(), ensemble.data);
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const both = await train(ensemble, { data, threads: 1, signal });
  const one = await train(single, { data, threads: 1, signal });
  assert.equal(both.status, 'completed');
  assert.equal(one.status, 'completed');
  if (both.status !== 'completed' || one.status !== 'completed') return;
  assert.deepEqual(one.model.members[0]!.params, both.model.members[1]!.params);
});

test('--member K trains only those members (so processes or machines can share the work); an index past the ensemble is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-reproduce-member-'));
  try {
    const out = join(dir, 'docs');
    const state = join(dir, 'state');
    const members = join(out, 'reproduction', 'members', 'ch6-ensemble');
    const some = reproduce([...SLICE, '--out', out, '--state', state, '--member', '3', '--member', '1']);
    assert.equal(some.status, 0, some.stderr);
    assert.match(some.stdout, /member 2 of 5 \(seed 3\)[\s\S]*member 4 of 5 \(seed 5\)/);
    assert.deepEqual([0, 1, 2, 3, 4].map((k) => existsSync(join(members, `member-${k}.json`))), [false, true, false, true, false]);
    const r = JSON.parse(await readFile(join(out, 'reproduction.json'), 'utf8'));
    const e = r.presets.find((p: { preset: string }) => p.preset === 'ch6-ensemble');
    assert.equal(e.status, 'in-progress');
    assert.equal(e.accuracy, null);

    const beyond = reproduce([...SLICE, '--out', out, '--state', state, '--member', '5']);
    assert.notEqual(beyond.status, 0);
    assert.match(beyond.stderr, /ch6-ensemble has 5 members \(0 to 4\); there is no member 5/);
    const notIndex = reproduce([...SLICE, '--out', out, '--state', state, '--member', 'two']);
    assert.notEqual(notIndex.status, 0);
    assert.match(notIndex.stderr, /--member must be a member index/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
