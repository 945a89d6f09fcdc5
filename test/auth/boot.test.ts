// Safe defaults, as processes: src/server.ts and `npm start` (src/main.ts) refuse a non-loopback
// HOST without keys, saying how to make one; on loopback without keys the API runs open and says
// so in one start-up line; with keys it says how many and wants them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { KEYS, keysEnv } from '../fixtures/api-keys.ts';
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

async function run(script: string, env: Record<string, string>) {
  const dir = await tempDir('boot');
  dirs.push(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env, LOG_LEVEL: 'info', REDIS_URL, QUEUE_PREFIX: uniquePrefix('boot'), DATA_DIR: dir.path, ENGINE_THREADS: '1',
      API_KEYS: '', API_KEYS_FILE: '', AUTH: '', HOST: '', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, output: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen:\n${output()}`);
}

for (const script of ['src/server.ts', 'src/main.ts']) {
  test(`${script}: a non-loopback HOST without keys is refused, with how to make a key`, async () => {
    const p = await run(script, { HOST: '0.0.0.0', PORT: String(await freePort()) });
    assert.equal(await p.exited, 1, p.output());
    assert.match(p.output(), /refusing to listen on 0\.0\.0\.0:\d+ without API keys/);
    assert.match(p.output(), /npm run keys -- create admin --scopes admin/);
    assert.match(p.output(), /AUTH=none/);
    assert.ok(!/\n\s+at /.test(p.output()), 'no stack trace');
    assert.ok(!/worker started/.test(p.output()), 'no worker was started');
  });
}

test('src/server.ts: a bad API_KEYS entry is refused by name; a named keys file that does not exist too', async () => {
  const bad = await run('src/server.ts', { API_KEYS: 'ci:train:tooshort', PORT: String(await freePort()) });
  assert.equal(await bad.exited, 1);
  assert.match(bad.output(), /API_KEYS: entry 1 \(ci\): the secret has 8 characters; at least 32/);
  assert.ok(!bad.output().includes('tooshort'));
  const missing = await run('src/server.ts', { API_KEYS_FILE: '/nonexistent/keys.json', PORT: String(await freePort()) });
  assert.equal(await missing.exited, 1);
  assert.match(missing.output(), /API_KEYS_FILE=\/nonexistent\/keys\.json:\s+it does not exist; `npm run keys -- create/);
});

test('src/server.ts: HOST defaults to loopback; without keys it runs open and says so in one line', async () => {
  const port = await freePort();
  const p = await run('src/server.ts', { PORT: String(port) });
  try {
    await until('healthz', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), p.output);
    await until('the auth line', () => /"auth":"open"/.test(p.output()), p.output);
    const lines = p.output().split('\n').filter((l) => l.includes('"auth":'));
    assert.equal(lines.length, 1, p.output());
    const line = JSON.parse(lines[0]!);
    assert.equal(line.level, 30);
    assert.match(line.msg, /no API keys: the API is open, reachable only from this machine \(127\.0\.0\.1:\d+\)/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/models`)).status, 200);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
});

test('src/server.ts: with keys it says how many and answers 401 without one', async () => {
  const port = await freePort();
  const p = await run('src/server.ts', { PORT: String(port), ...keysEnv() });
  try {
    await until('healthz', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), p.output);
    assert.match(p.output(), /API keys required: 4 key\(s\) \(predictor, trainer, trainer-b, root\)/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/models`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${KEYS.predict}` } })).status, 200);
    assert.ok(!p.output().includes(KEYS.predict), 'keys never reach the log');
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
});
