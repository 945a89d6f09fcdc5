// `npm start` (src/main.ts): the API and a worker come up together and stop together on one
// signal; an unreachable Redis gives a clear message and a non-zero exit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cleanup, tempDataDir, uniquePrefix, waitFor, REDIS_URL } from '../queue/queue-helpers.ts';

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'warn', ENGINE_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('npm start (src/main.ts)', () => {
  const prefix = uniquePrefix('main');
  let dataDir: string;
  before(async () => {
    dataDir = await tempDataDir();
  });
  after(async () => {
    await cleanup(prefix, dataDir);
  });

  test('runs the API and a worker; one SIGINT stops both cleanly', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30_000, `healthz\n${p.output()}`);
      await waitFor(async () => p.output().includes('worker started'), 30_000, `worker\n${p.output()}`);
      p.child.kill('SIGINT');
      assert.equal(await p.exited, 0, p.output());
      assert.match(p.output(), /worker stopped/);
      assert.ok(!/second signal/.test(p.output()), 'children got the signal once');
      assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'up', () => 'down'), 'down');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('an unreachable Redis is a clear message and exit code 1', async () => {
    const port = await freePort(); // nothing listens there
    const p = run({ REDIS_URL: `redis://127.0.0.1:${port}`, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    assert.ok(!/\n\s+at /.test(p.output()), 'no stack trace');
  });

  test('an invalid setting is named, exit code 1', async () => {
    const p = run({ PORT: 'eighty', QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /PORT/);
  });
});
