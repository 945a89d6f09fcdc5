import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { AliasRepository } from '../../src/store/alias.repository.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import { storeKeys } from '../../src/store/store-keys.ts';
import { connectRedis, tempDir, uniquePrefix, wipePrefix } from '../fixtures/redis.ts';

let redis: Redis;
const prefix = uniquePrefix('aliases');
before(() => {
  redis = connectRedis();
});
after(async () => {
  await wipePrefix(redis, prefix);
  redis.disconnect();
});

test('aliases: set, resolve, list, setIfAbsent, delete, deleteByModel; only to registered models', async () => {
  const aliases = new AliasRepository({ redis, prefix });
  await redis.hset(storeKeys(prefix).records, 'm1', '{}', 'm2', '{}'); // two registered models
  assert.equal(await aliases.resolve('default'), null);
  assert.equal(await aliases.setIfAbsent('default', 'gone'), false, 'never to an unregistered model');
  assert.equal(await aliases.setIfAbsent('default', 'm1'), true);
  assert.equal(await aliases.setIfAbsent('default', 'm2'), false);
  assert.equal(await aliases.resolve('default'), 'm1');
  assert.equal(await aliases.set('best', 'm1'), true);
  assert.equal(await aliases.set('other', 'm2'), true);
  assert.equal(await aliases.set('other', 'gone'), false);
  assert.deepEqual(await aliases.list(), { default: 'm1', best: 'm1', other: 'm2' });
  assert.deepEqual((await aliases.deleteByModel('m1')).sort(), ['best', 'default']);
  assert.deepEqual(await aliases.list(), { other: 'm2' });
  assert.equal(await aliases.delete('other'), true);
  assert.equal(await aliases.delete('other'), false);
  await assert.rejects(aliases.set('../bad', 'm1'), RangeError);
  assert.equal(await aliases.resolve('../bad'), null);
});

test('checkpoints: save is atomic and overwrites, load of a missing one is null, delete', async () => {
  const dir = await tempDir('ckpt');
  const ckpts = new CheckpointRepository({ dataDir: dir.path });
  assert.equal(await ckpts.load('job-1'), null);
  await ckpts.save('job-1', Buffer.from('first'));
  await ckpts.save('job-1', Buffer.from('second'));
  assert.equal((await ckpts.load('job-1'))?.toString(), 'second');
  assert.deepEqual(await readdir(ckpts.dir), ['job-1.ckpt']); // no temp files left
  await ckpts.delete('job-1');
  await ckpts.delete('job-1');
  assert.equal(await ckpts.load('job-1'), null);
  await assert.rejects(ckpts.save('../escape', Buffer.from('x')), RangeError);
  await dir.remove();
});
