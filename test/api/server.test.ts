// src/server.ts as a process: listens, answers, shuts down cleanly on SIGTERM/SIGINT,
// and refuses to start (exit 1, clear message) without Redis or with a bad environment.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { REDIS_URL, tempDir, uniquePrefix } from '../fixtures/redis.ts';

const dirs: { remove(): Promise<void> }[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

async function startServer(env: Record<string, string>) {
  const dir = await tempDir('server');
  dirs.push(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, LOG_LEVEL: 'info', REDIS_URL, QUEUE_PREFIX: uniquePrefix('server'), DATA_DIR: dir.path, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitForHealth(port: number, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`serves, then drains and exits 0 on ${signal}; logs are JSON lines with request ids`, async () => {
    const port = await freePort();
    const s = await startServer({ PORT: String(port) });
    await waitForHealth(port);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const res = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { 'x-request-id': 'req-from-test' } });
    assert.equal(res.status, 200);
    s.child.kill(signal);
    assert.equal(await s.exited, 0, s.output());
    const lines = s.output().trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.reqId === 'req-from-test' && l.res?.statusCode === 200), 'request logged with its id');
    assert.ok(lines.some((l) => /shutting down/.test(l.msg)));
  });
}

test('exits 1 with a clear message when Redis is unreachable', async () => {
  const s = await startServer({ PORT: String(await freePort()), REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(await s.exited, 1);
  assert.match(s.output(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
});

test('exits 1 naming the variable when the environment is invalid', async () => {
  const s = await startServer({ PORT: 'not-a-port', PREDICT_MAX_BATCH: '0' });
  assert.equal(await s.exited, 1);
  assert.match(s.output(), /invalid configuration/);
  assert.match(s.output(), /PORT/);
  assert.match(s.output(), /PREDICT_MAX_BATCH/);
});
