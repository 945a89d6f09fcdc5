// The worker's save path, in process (real Redis, real engine on a slice of MNIST, real files):
// a job delivered twice at once, or again after its model was saved, ends with one model; a
// corrupted checkpoint is never resumed (the job restarts from the start and says so); a full
// disk fails the job at once with a clear reason and leaves the store as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { resolveExperiment, type EpochMetrics } from '../../src/engine/index.ts';
import { JobStop, NonRetryableError, type JobRecord, type TrainContext } from '../../src/queue/index.ts';
import { AliasRepository } from '../../src/store/alias.repository.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import { ModelRepository, type ModelFiles } from '../../src/store/model.repository.ts';
import { createTrainProcessor } from '../../workers/train.processor.ts';
import { REDIS_URL, cleanup, smallJob, tempDataDir, testConfig, uniquePrefix } from '../queue/queue-helpers.ts';

const prefix = uniquePrefix('processor');
let dataDir: string;
let redis: Redis;
before(async () => {
  dataDir = await tempDataDir();
  redis = new Redis(REDIS_URL);
});
after(async () => {
  redis.disconnect();
  await cleanup(prefix, dataDir);
});

function setup(files?: ModelFiles) {
  const config = testConfig(prefix, dataDir);
  const models = new ModelRepository({ dataDir, redis, prefix, ...(files ? { files } : {}) });
  const aliases = new AliasRepository({ redis, prefix });
  const checkpoints = new CheckpointRepository({ dataDir });
  return { models, aliases, checkpoints, process: createTrainProcessor({ config, models, aliases, checkpoints }) };
}

/** What the consumer hands the processor, recording what the processor reports. */
function context(jobId: string, spec = smallJob({ epochs: 1, trainSize: 500, validationSize: 100 })) {
  const experiment = resolveExperiment(spec);
  const seen = { epochs: [] as EpochMetrics[], logs: [] as string[], resumedFrom: null as number | null };
  const stop = new JobStop();
  const record = { id: jobId, status: 'running', progress: { epoch: 0, epochs: experiment.training.epochs }, metrics: [], experiment, attempts: 1, createdAt: new Date().toISOString() } as JobRecord;
  const ctx: TrainContext = {
    jobId, payload: { jobId, experiment }, record, stop, backend: 'native',
    reportEpoch: async (m) => void seen.epochs.push(m),
    reportProgress: () => {},
    markResumed: async (from) => void (seen.resumedFrom = from),
    log: (msg, extra) => void seen.logs.push(`${msg} ${JSON.stringify(extra ?? {})}`),
  };
  return { ctx, seen, stop };
}

const modelDirs = async (models: ModelRepository) => (await readdir(models.modelsDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));

test('duplicate delivery → one model: two attempts at once, then a redelivery after the save, all end on the same model', async () => {
  const { models, aliases, process } = setup();
  const a = context('job-dup');
  const b = context('job-dup');
  const [ra, rb] = await Promise.all([process(a.ctx), process(b.ctx)]);
  assert.equal(ra.status, 'completed');
  assert.deepEqual(rb, ra, 'both attempts completed with the same model');
  const modelId = (ra as { modelId: string }).modelId;
  assert.deepEqual((await models.list()).map((r) => r.id), [modelId]);
  assert.deepEqual(await modelDirs(models), [modelId]);
  assert.deepEqual(await readdir(join(models.modelsDir, '.tmp')), []);
  assert.equal(await aliases.resolve('default'), modelId);

  // redelivered after the save (the worker died before the job was marked completed)
  const c = context('job-dup');
  assert.deepEqual(await process(c.ctx), ra);
  assert.equal(c.seen.epochs.length, 0, 'nothing trained again');
  assert.match(c.seen.logs.join('\n'), /model already saved by an earlier attempt/);
  assert.deepEqual((await models.list()).map((r) => r.id), [modelId]);
  await models.delete(modelId);
});

test('a corrupted checkpoint is not resumed: the job restarts from the start, with a log line', async () => {
  const { checkpoints, process, models } = setup();
  const spec = smallJob({ epochs: 2, trainSize: 500, validationSize: 100 });
  // first attempt: interrupted (as by SIGTERM) after epoch 1, leaving a checkpoint
  const first = context('job-ckpt', spec);
  first.ctx.reportEpoch = async (m) => {
    first.seen.epochs.push(m);
    first.stop.request('interrupt');
  };
  assert.equal((await process(first.ctx)).status, 'interrupted');
  const file = join(checkpoints.dir, 'job-ckpt.ckpt');
  const bytes = await readFile(file);
  // one bit of one weight, near the end: the engine's own format checks cannot see it
  bytes[bytes.length - 5]! ^= 0x10;
  await writeFile(file, bytes);
  await assert.rejects(checkpoints.load('job-ckpt'), /checksum mismatch/);

  const second = context('job-ckpt', spec);
  const out = await process(second.ctx);
  assert.equal(out.status, 'completed');
  assert.match(second.seen.logs.join('\n'), /checkpoint corrupt or unreadable; restarting the job from the start.*checksum mismatch/);
  assert.equal(second.seen.resumedFrom, null, 'not resumed');
  assert.deepEqual(second.seen.epochs.map((m) => m.epoch), [1, 2], 'every epoch trained again');
  await models.delete((out as { modelId: string }).modelId);
});

test('disk full when saving the model (ENOSPC) → the job fails at once with a clear reason; no model, no temp files', async () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const { models, aliases, process } = setup({
    async save() { throw enospc; },
    async load() { throw new Error('unused'); },
  });
  const before = await aliases.list();
  const job = context('job-full');
  const err = await process(job.ctx).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NonRetryableError, `not retried: ${String(err)}`);
  assert.match(err.message, /no space left on the device while saving model mj[0-9a-f]{20}/);
  assert.deepEqual(await models.list(), []);
  assert.deepEqual(await modelDirs(models), []);
  assert.deepEqual(await readdir(join(models.modelsDir, '.tmp')), []);
  assert.deepEqual(await aliases.list(), before);
});
