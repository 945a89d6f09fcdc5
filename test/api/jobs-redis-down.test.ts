// With Redis unreachable the jobs routes answer 503 JSON (the service's state, not a bug) and
// stay up; nothing hangs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/env.ts';
import { cleanup, smallJob, tempDataDir, uniquePrefix } from '../queue/queue-helpers.ts';

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('jobs API with Redis down', () => {
  const prefix = uniquePrefix('jobs-down');
  let dataDir: string;
  let app: FastifyInstance;

  before(async () => {
    dataDir = await tempDataDir();
    const port = await closedPort();
    app = await buildApp({ config: loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'silent' }) });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await cleanup(prefix, dataDir);
  });

  test('submit, list, get and cancel answer 503 JSON', { timeout: 30_000 }, async () => {
    const calls: [string, () => request.Test][] = [
      ['submit', () => request(app.server).post('/v1/jobs').send(smallJob())],
      ['list', () => request(app.server).get('/v1/jobs')],
      ['get', () => request(app.server).get('/v1/jobs/some-id')],
      ['cancel', () => request(app.server).post('/v1/jobs/some-id/cancel')],
      ['events', () => request(app.server).get('/v1/jobs/some-id/events')],
    ];
    for (const [what, call] of calls) {
      const res = await call();
      assert.equal(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'unavailable');
    }
    // A bad body is still the client's mistake, whatever the state of Redis.
    await request(app.server).post('/v1/jobs').send({ preset: 'nope' }).expect(422);
  });
});
