// The engine backend as the API reports it: /readyz and /metrics say which backend jobs naming
// none run on (ENGINE_BACKEND) and, when that is tfjs, which TensorFlow.js backend loaded (wasm
// here); POST /v1/jobs accepts `backend` and rejects an unknown one by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startTestApp } from '../fixtures/test-app.ts';

test('ENGINE_BACKEND=tfjs: /readyz and /metrics report tfjs on its loaded backend', async () => {
  const t = await startTestApp('engine-tfjs', { ENGINE_BACKEND: 'tfjs' });
  try {
    const res = await request(t.server).get('/readyz');
    assert.equal(res.status, 200);
    assert.equal(res.body.engine.setting, 'tfjs');
    assert.equal(res.body.engine.default, 'tfjs');
    assert.ok(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'].includes(res.body.engine.tfjs.backend), JSON.stringify(res.body));
    const metrics = await request(t.server).get('/metrics');
    assert.match(metrics.text, new RegExp(`nndl_engine_backend_info\\{setting="tfjs",backend="tfjs",tfjs="${res.body.engine.tfjs.backend}"\\} 1`));
  } finally {
    await t.close();
  }
});

test('ENGINE_BACKEND=native: reported as such; jobs take a backend field and reject unknown ones', async () => {
  const t = await startTestApp('engine-native', { ENGINE_BACKEND: 'native' });
  try {
    const res = await request(t.server).get('/readyz');
    assert.deepEqual(res.body.engine, { setting: 'native', default: 'native', tfjs: null });
    const metrics = await request(t.server).get('/metrics');
    assert.match(metrics.text, /nndl_engine_backend_info\{setting="native",backend="native",tfjs="none"\} 1/);
    const ok = await request(t.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', backend: 'tfjs', training: { epochs: 1 } });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal(ok.body.experiment.backend, 'tfjs');
    const bad = await request(t.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', backend: 'cuda' });
    assert.ok(bad.status === 400 || bad.status === 422, String(bad.status));
    assert.match(JSON.stringify(bad.body), /backend/);
  } finally {
    await t.close();
  }
});
