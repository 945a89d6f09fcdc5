// Rate limits per caller, counted in Redis: separate budgets for predict and for job submits,
// a global one for the rest; over a budget 429 rate_limited + Retry-After, in the one error
// shape. Health, readiness and metrics are never limited. Real app, real Redis, real HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { callerKey } from '../../src/api/rate-limit.ts';
import { testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

let t: TestApp;
let modelId: string;
const pixels = toUnitPixels(testDigits(1)[0]!);

before(async () => {
  t = await startTestApp('rate-limit', { RATE_LIMIT_PREDICT_PER_MIN: '5', RATE_LIMIT_SUBMIT_PER_MIN: '3', RATE_LIMIT_PER_MIN: '12' });
  modelId = (await t.saveModel(await smallModel())).id;
  await t.aliases.set('default', modelId);
});
after(() => t.close());

function assertLimited(res: request.Response, budget: string, limit: number) {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.error.code, 'rate_limited');
  assert.match(res.body.error.message, new RegExp(`${limit} ${budget} requests per minute`));
  assert.equal(res.body.error.details.budget, budget);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`);
  assert.equal(res.body.error.details.retryAfterSeconds, retryAfter);
}

test('predict: 429 + Retry-After after the rate, one budget for both predict routes', async () => {
  const agent = request(t.server);
  for (let i = 0; i < 3; i++) {
    const res = await agent.post('/v1/predict').send({ pixels });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-ratelimit-remaining'], String(4 - i));
  }
  for (let i = 0; i < 2; i++) assert.equal((await agent.post(`/v1/models/${modelId}/predict`).send({ pixels })).status, 200);
  assertLimited(await agent.post('/v1/predict').send({ pixels }), 'predict', 5);
  assertLimited(await agent.post(`/v1/models/${modelId}/predict`).send({ pixels }), 'predict', 5);
  // refused before the body is read or anything is predicted
  const metrics = (await agent.get('/metrics')).text;
  assert.match(metrics, /^nndl_predictions_total\{model="[^"]+"\} 5$/m);
});

test('job submits have their own budget; the global one covers the rest; probes are exempt', async () => {
  const agent = request(t.server);
  // invalid submits count too: the budget is on requests, not on jobs
  for (let i = 0; i < 3; i++) assert.equal((await agent.post('/v1/jobs').send({ preset: 'no-such-preset' })).status, 422);
  assertLimited(await agent.post('/v1/jobs').send({ preset: 'ch1-mlp30' }), 'submit', 3);

  // the global budget (12/min) is untouched by predict and submit: 12 reads pass, the 13th is refused
  for (let i = 0; i < 12; i++) assert.equal((await agent.get('/v1/presets')).status, 200);
  assertLimited(await agent.get('/v1/models'), 'global', 12);

  for (let i = 0; i < 20; i++) {
    assert.equal((await agent.get('/healthz')).status, 200);
    assert.equal((await agent.get('/readyz')).status, 200);
  }
});

test('the caller is the key name once auth has set a principal, else the IP (IPv6 by /64)', () => {
  assert.equal(callerKey({ ip: '10.0.0.7' }), 'ip:10.0.0.7');
  assert.equal(callerKey({ ip: '::ffff:10.0.0.7' }), 'ip:10.0.0.7');
  assert.equal(callerKey({ ip: '2001:db8:1:2:aaaa::1' }), callerKey({ ip: '2001:db8:1:2:bbbb::9' }));
  assert.notEqual(callerKey({ ip: '2001:db8:1:2::1' }), callerKey({ ip: '2001:db8:1:3::1' }));
  assert.equal(callerKey({ ip: '10.0.0.7', principal: { name: 'alice', open: false } }), 'key:alice');
  assert.equal(callerKey({ ip: '10.0.0.7', principal: { name: 'anonymous', open: true } }), 'ip:10.0.0.7');
});
