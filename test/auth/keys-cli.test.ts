// `npm run keys` (scripts/keys.ts) as a process: create prints a key once and stores only its
// hash (file created 0600), refuses duplicates and bad scopes; list and revoke; and the real app
// reading that file accepts the key with its scopes, then stops accepting it after a revoke
// without a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { bearer } from '../fixtures/api-keys.ts';
import { tempDir } from '../fixtures/redis.ts';
import { startTestApp } from '../fixtures/test-app.ts';

function keys(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
    env: { ...process.env, API_KEYS: '', API_KEYS_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run keys', () => {
  let dir: { path: string; remove(): Promise<void> };
  let env: Record<string, string>;
  before(async () => {
    dir = await tempDir('keys-cli');
    env = { DATA_DIR: dir.path };
  });
  after(() => dir?.remove());

  test('create (--json and plain), list, duplicates and bad input refused, revoke; the app follows the file', async () => {
    const created = await keys(['create', 'ci-bot', '--scopes', 'train,predict', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const out = JSON.parse(created.stdout);
    assert.equal(out.name, 'ci-bot');
    assert.deepEqual(out.scopes, ['predict', 'train']);
    assert.match(out.key, /^nndl_[A-Za-z0-9_-]{43}$/);
    const path = join(dir.path, 'api-keys.json');
    assert.equal(out.file, path);
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'created readable by its owner only');
    const stored = await readFile(path, 'utf8');
    assert.ok(!stored.includes(out.key), 'the key itself is never stored');
    assert.match(stored, /"sha256": "[0-9a-f]{64}"/);

    // plain: the key alone on stdout, the explanation on stderr
    const plain = await keys(['create', 'ops', '--scopes', 'admin'], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^nndl_[A-Za-z0-9_-]{43}\n$/);
    assert.match(plain.stderr, /shown only now/);
    const opsKey = plain.stdout.trim();

    for (const [args, message] of [
      [['create', 'ci-bot', '--scopes', 'train'], /a key named "ci-bot" already exists/],
      [['create', 'x', '--scopes', 'train,root'], /unknown scope "root"/],
      [['create', 'bad name', '--scopes', 'train'], /name "bad name"/],
      [['create', 'anonymous', '--scopes', 'train'], /reserved/],
      [['create', 'noscopes'], /needs --scopes/],
      [['revoke', 'nobody'], /no key named "nobody"/],
      [['fly'], /unknown command "fly"/],
    ] as const) {
      const r = await keys([...args], env);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    }
    const dup = await keys(['create', 'envkey', '--scopes', 'train'], { ...env, API_KEYS: `envkey:predict:${'e'.repeat(32)}` });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already defined in API_KEYS/);

    const list = await keys(['list', '--json'], env);
    assert.deepEqual(JSON.parse(list.stdout).keys.map((k: { name: string; scopes: string[] }) => [k.name, k.scopes]), [
      ['ci-bot', ['predict', 'train']], ['ops', ['admin']],
    ]);

    // the real app reads the same file (DATA_DIR/api-keys.json by default)
    const t = await startTestApp('keys-cli-app', { DATA_DIR: dir.path });
    try {
      await request(t.server).get('/v1/jobs').expect(401);
      await request(t.server).get('/v1/jobs').set(bearer(out.key)).expect(200);
      await request(t.server).delete('/v1/models/nothing').set(bearer(out.key)).expect(403);
      await request(t.server).delete('/v1/models/nothing').set(bearer(opsKey)).expect(404);

      const revoked = await keys(['revoke', 'ci-bot'], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      // the app re-reads the file within seconds, no restart
      const deadline = Date.now() + 15_000;
      let status = 200;
      while (Date.now() < deadline && status !== 401) {
        status = (await request(t.server).get('/v1/jobs').set(bearer(out.key))).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 401, 'a revoked key is refused');
      await request(t.server).get('/v1/jobs').set(bearer(opsKey)).expect(200);
    } finally {
      await t.close();
    }
  });
});
