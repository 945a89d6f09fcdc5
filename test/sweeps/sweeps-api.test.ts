// POST /v1/sweeps validation and budgets (no worker needed: nothing here runs a trial), the
// sweep preset, dry runs, ownership.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { bearer, keysEnv, KEYS } from '../fixtures/api-keys.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

const base = { preset: 'ch3-mlp30-ce', training: { epochs: 1 }, data: { trainSize: 1000, validationSize: 200 } };

describe('sweeps API: validation, budgets, presets', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sweeps-api', keysEnv({ MAX_SWEEP_IMAGE_STEPS: '10000000' }));
  });
  after(async () => t.close());
  const post = (body: unknown, key: string = KEYS.train, query = '') =>
    request(t.server).post(`/v1/sweeps${query}`).set(bearer(key)).send(body as object);
  const pathsOf = (res: { body: { error: { details?: { path: string }[] } } }) => (res.body.error.details ?? []).map((d) => d.path);

  test('an unknown path, a bad range or value, a grid over a continuous range: 422 naming the field', async () => {
    let res = await post({ base, space: { 'training.etaa': { values: [1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.etaa']);
    res = await post({ base, space: { 'network.layers': { values: [1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.network.layers']);
    res = await post({ base, space: { 'training.eta': { logUniform: [0, 1] } }, strategy: { type: 'random', trials: 3 } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.eta.logUniform']);
    res = await post({ base, space: { 'training.eta': { logUniform: [0.1, 1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.eta.logUniform'], 'grid');
    res = await post({ base, space: { 'training.miniBatchSize': { intRange: [10, 5] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.miniBatchSize.intRange']);
    res = await post({ base, space: { 'training.seed': { intRange: [-1e15, 1e15] } }, strategy: { type: 'random', trials: 2 } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.seed.intRange'], 'a range too wide to draw from');
    res = await post({ base, space: { 'training.seed': { intRange: [0, 1e300] } }, strategy: { type: 'random', trials: 2 } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.seed.intRange.1'], 'not a safe integer');
    res = await post({ base, space: { 'training.eta': { values: [0.1, -1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.eta']);
    res = await post({ base, space: { 'training.eta': { values: ['fast'] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.eta.values']);
    res = await post({ base, space: { 'network.cost': { values: ['quadratic', 'cubic'] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.network.cost']);
    res = await post({ base: { ...base, training: { eta: -3 } }, space: { 'training.lambda': { values: [0, 1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['base.training.eta']);
    res = await post({ base, space: { 'training.eta': { values: [1] } }, strategy: { type: 'annealing' } }).expect(422);
    assert.ok(pathsOf(res).some((p) => p.startsWith('strategy')));
    res = await post({
      base, space: { 'training.eta': { logUniform: [0.1, 1] } },
      strategy: { type: 'halving', trials: 4, rungs: [{ epochs: 2, trainSize: 500 }, { epochs: 2, trainSize: 1000 }] },
    }).expect(422);
    assert.deepEqual(pathsOf(res), ['strategy.rungs.1']);
    res = await post({ base, space: { 'training.eta': { values: [1] } }, concurrency: 500 }).expect(422);
    assert.deepEqual(pathsOf(res), ['concurrency']);
    res = await post({ base, space: { 'training.eta': { values: [1] } }, alias: '../x' }).expect(422);
    assert.deepEqual(pathsOf(res), ['alias']);
    res = await post({ base: { ...base, data: { trainSize: 1000, validationSize: 0 } }, space: { 'training.eta': { values: [1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['base.data.validationSize']);
    res = await post({ base, space: { 'training.__proto__': { values: [1] } } }).expect(422);
    assert.deepEqual(pathsOf(res), ['space.training.__proto__']);
    assert.equal((await request(t.server).get('/v1/sweeps').set(bearer(KEYS.admin)).expect(200)).body.total, 0, 'nothing recorded');
  });

  test('budgets: the sweep\'s own budget, MAX_SWEEP_IMAGE_STEPS, a trial over a job budget: 422 over_budget with the figures', async () => {
    let res = await post({ base, space: { 'training.eta': { values: [0.1, 1, 10] } }, budget: 2500 }).expect(422);
    assert.equal(res.body.error.code, 'over_budget');
    assert.deepEqual(res.body.error.details, [{
      budget: 'budget', figure: 'imageSteps', value: 3000, limit: 2500, message: res.body.error.details[0].message,
    }]);
    res = await post({ base: { ...base, training: { epochs: 100 }, data: { trainSize: 50_000 } }, space: { 'training.eta': { values: [0.1, 1, 10] } } }).expect(422);
    assert.equal(res.body.error.code, 'over_budget');
    assert.deepEqual(res.body.error.details.map((d: { budget: string; value: number; limit: number }) => [d.budget, d.value, d.limit]), [['MAX_SWEEP_IMAGE_STEPS', 15_000_000, 10_000_000]]);
    res = await post({ base: { ...base, training: { epochs: 1000 }, data: { trainSize: 50_000, expand: true } }, space: { 'training.eta': { values: [0.1, 1, 10] } } }).expect(422);
    assert.equal(res.body.error.code, 'over_budget');
    assert.ok(res.body.error.details.some((d: { budget: string }) => d.budget === 'MAX_JOB_IMAGE_STEPS'), JSON.stringify(res.body.error.details));
  });

  test('dry run: the plan and its cost, nothing queued; halving costs each rung', async () => {
    const res = await post({
      base, space: { 'training.eta': { logUniform: [0.01, 10] }, 'training.lambda': { values: [0, 1] } },
      strategy: { type: 'halving', trials: 8, seed: 5, keep: 0.25, rungs: [{ epochs: 1, trainSize: 500 }, { epochs: 3, trainSize: 2000 }] },
    }, KEYS.train, '?dryRun=true').expect(200);
    assert.equal(res.body.plannedTrials, 8);
    assert.equal(res.body.imageSteps, 8 * 500 + 2 * 3 * 2000);
    for (const p of res.body.trials) {
      assert.ok(p['training.eta'] >= 0.01 && p['training.eta'] <= 10);
      assert.ok([0, 1].includes(p['training.lambda']));
    }
    const again = await post({
      base, space: { 'training.eta': { logUniform: [0.01, 10] }, 'training.lambda': { values: [0, 1] } },
      strategy: { type: 'halving', trials: 8, seed: 5, keep: 0.25, rungs: [{ epochs: 1, trainSize: 500 }, { epochs: 3, trainSize: 2000 }] },
    }, KEYS.train, '?dryRun=1').expect(200);
    assert.deepEqual(again.body.trials, res.body.trials, 'the seed fixes the draws');
  });

  test("the book's η preset: one request, three trials, overrides merged", async () => {
    const res = await post({ preset: 'ch3-eta', base: { training: { epochs: 2 }, data: { trainSize: 1000 } } }, KEYS.train, '?dryRun=true').expect(200);
    assert.deepEqual(res.body.trials, [{ 'training.eta': 0.025 }, { 'training.eta': 0.25 }, { 'training.eta': 2.5 }]);
    assert.equal(res.body.imageSteps, 3 * 2 * 1000);
    const full = await post({ preset: 'ch3-eta' }, KEYS.train, '?dryRun=true').expect(200);
    assert.equal(full.body.imageSteps, 3 * 30 * 50_000);
    await post({ preset: 'ch9-nothing' }).expect(422);
  });

  test('scopes and owners: predict keys are refused; a train key sees only its own sweeps', async () => {
    await post({ base, space: { 'training.eta': { values: [1] } } }, KEYS.predict).expect(403);
    await request(t.server).post('/v1/sweeps').send({ base, space: { 'training.eta': { values: [1] } } }).expect(401);
    const mine = await post({ base, space: { 'training.eta': { values: [1] } } }).expect(202);
    assert.equal(mine.body.owner, 'trainer');
    assert.equal(mine.body.trials.length, 1);
    await request(t.server).get(`/v1/sweeps/${mine.body.id}`).set(bearer(KEYS.trainB)).expect(404);
    await request(t.server).post(`/v1/sweeps/${mine.body.id}/cancel`).set(bearer(KEYS.trainB)).expect(404);
    assert.equal((await request(t.server).get('/v1/sweeps').set(bearer(KEYS.trainB)).expect(200)).body.total, 0);
    assert.equal((await request(t.server).get('/v1/sweeps').set(bearer(KEYS.admin)).expect(200)).body.total, 1);
    const job = await request(t.server).get(`/v1/jobs/${mine.body.trials[0].jobId}`).set(bearer(KEYS.train)).expect(200);
    assert.equal(job.body.owner, 'trainer');
    // no worker here: cancelling cancels the queued trial at once
    const c = await request(t.server).post(`/v1/sweeps/${mine.body.id}/cancel`).set(bearer(KEYS.admin)).expect(200);
    assert.equal(c.body.status, 'cancelled');
    assert.equal(c.body.trials[0].status, 'cancelled');
    await request(t.server).get('/v1/sweeps/nope').set(bearer(KEYS.train)).expect(404);
  });
});
