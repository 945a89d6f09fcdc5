// Keys as units: the API_KEYS format, hashing, constant-time verification, bearer headers,
// the keys file (format, atomic writes, mode 0600), its reload, and the open/keys/refuse decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyError, bearerToken, generateSecret, hashSecret, KeyRing, parseApiKeysEnv } from '../../src/auth/api-keys.ts';
import { AuthConfigError, decideAuth, isLoopbackHost } from '../../src/auth/auth-mode.ts';
import { keyFilePath, readKeyFile, writeKeyFile } from '../../src/auth/key-file.ts';
import { KeyStore } from '../../src/auth/key-store.ts';
import { hasScope, parseScopes } from '../../src/auth/scopes.ts';

const S1 = 'a'.repeat(32);
const S2 = 'B'.repeat(31) + '!';

test('API_KEYS: name:scope+scope:secret entries; the secret is everything after the second colon', () => {
  const keys = parseApiKeysEnv(` alice:predict+train:${S1} , bob:admin:${S2}:with:colons `);
  assert.deepEqual(keys.map((k) => [k.name, k.scopes]), [['alice', ['predict', 'train']], ['bob', ['admin']]]);
  assert.deepEqual(keys[0]!.hash, hashSecret(S1));
  assert.deepEqual(keys[1]!.hash, hashSecret(`${S2}:with:colons`));
  assert.deepEqual(parseApiKeysEnv(undefined), []);
  assert.deepEqual(parseApiKeysEnv('  '), []);
});

test('API_KEYS: every bad entry is reported, by number and name, never with its secret', () => {
  const tooShort = 'only-twenty-chars-xx';
  let err: unknown;
  try {
    parseApiKeysEnv(`ok:predict:${S1},,nocolon,bad name:train:${S1},x:root:${S1},y:train:${tooShort},anonymous:train:${S1},z:train:${'c'.repeat(31)} c`);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApiKeyError);
  const text = err.message;
  assert.match(text, /entry 2 is empty/);
  assert.match(text, /entry 3: expected name:scope\+scope:secret/);
  assert.match(text, /entry 4: name "bad name"/);
  assert.match(text, /entry 5 \(x\): unknown scope "root"/);
  assert.match(text, /entry 6 \(y\): the secret has 20 characters; at least 32/);
  assert.match(text, /entry 7: name "anonymous" is reserved/);
  assert.match(text, /entry 8 \(z\): the secret may hold only visible ASCII/);
  assert.ok(!text.includes(tooShort) && !text.includes(S1), 'secrets stay out of messages');
});

test('KeyRing: verifies by hash, refuses wrong, empty and oversized secrets; names and secrets must be distinct', () => {
  const ring = new KeyRing(parseApiKeysEnv(`alice:predict:${S1},bob:train+admin:${S2}`));
  assert.equal(ring.verify(S1)?.name, 'alice');
  assert.deepEqual([...ring.verify(S2)!.scopes], ['train', 'admin']);
  assert.equal(ring.verify(S1.slice(0, -1) + 'b'), null);
  assert.equal(ring.verify(''), null);
  assert.equal(ring.verify('x'.repeat(10_000)), null);
  assert.throws(() => new KeyRing(parseApiKeysEnv(`alice:predict:${S1},alice:train:${S2}`)), /"alice" is defined twice/);
  assert.throws(() => new KeyRing(parseApiKeysEnv(`alice:predict:${S1},bob:train:${S1}`)), /"alice" and "bob" have the same secret/);
});

test('generated keys: prefixed, 256 random bits, accepted by the API_KEYS rules', () => {
  const a = generateSecret();
  const b = generateSecret();
  assert.match(a, /^nndl_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  assert.equal(parseApiKeysEnv(`gen:train:${a}`).length, 1);
});

test('scopes: parsed from + or , lists; admin implies every scope', () => {
  assert.deepEqual(parseScopes('train,predict'), ['predict', 'train']);
  assert.deepEqual(parseScopes('admin+admin'), ['admin']);
  assert.throws(() => parseScopes(''), /no scopes/);
  assert.throws(() => parseScopes('train,root'), /unknown scope "root"/);
  assert.ok(hasScope({ scopes: new Set(['admin'] as const) }, 'train'));
  assert.ok(!hasScope({ scopes: new Set(['predict'] as const) }, 'train'));
});

test('bearer header: only "Bearer <token>"', () => {
  assert.equal(bearerToken(`Bearer ${S1}`), S1);
  assert.equal(bearerToken(`bearer   ${S1}`), S1);
  assert.equal(bearerToken(`Basic ${S1}`), null);
  assert.equal(bearerToken('Bearer'), null);
  assert.equal(bearerToken(`Bearer a b`), null);
  assert.equal(bearerToken(undefined), null);
  assert.equal(bearerToken(`Bearer ${'x'.repeat(5000)}`), null);
});

test('keys file: written atomically with mode 0600, read back, validated; hashes only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-keyfile-'));
  try {
    const path = keyFilePath({ DATA_DIR: dir });
    assert.equal(path, join(dir, 'api-keys.json'));
    assert.equal(await readKeyFile(path), null, 'absent: no keys');
    const sha256 = hashSecret(S1).toString('hex');
    await writeKeyFile(path, { version: 1, keys: [{ name: 'ci', scopes: ['train'], sha256, createdAt: '2026-01-01T00:00:00.000Z' }] });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(path, 'utf8')).includes(S1));
    assert.equal((await readKeyFile(path))!.keys[0]!.name, 'ci');

    await writeFile(path, JSON.stringify({ version: 1, keys: [{ name: 'x y', scopes: ['boss'], sha256: 'nothex' }] }));
    await assert.rejects(readKeyFile(path), (err: Error) => {
      assert.ok(err instanceof ApiKeyError);
      assert.match(err.message, /keys\.0\.scopes\.0/);
      assert.match(err.message, /keys\.0\.sha256/);
      return true;
    });
    await writeFile(path, '{not json');
    await assert.rejects(readKeyFile(path), /not JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('KeyStore: API_KEYS plus the file; a changed file is reloaded, an invalid one keeps the old keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-keystore-'));
  try {
    const path = join(dir, 'api-keys.json');
    const entry = (name: string, secret: string) => ({ name, scopes: ['predict' as const], sha256: hashSecret(secret).toString('hex') });
    await writeKeyFile(path, { version: 1, keys: [entry('file-a', S2)] });
    const store = await KeyStore.load({ API_KEYS: `env-a:admin:${S1}`, DATA_DIR: dir });
    assert.deepEqual(store.names(), ['env-a', 'file-a']);
    assert.equal(store.verify(S2)?.name, 'file-a');
    assert.equal(await store.reload(), false, 'unchanged file: nothing to do');

    const S3 = 'c'.repeat(40);
    await writeKeyFile(path, { version: 1, keys: [entry('file-b', S3)] }); // file-a revoked, file-b added
    assert.equal(await store.reload(), true);
    assert.equal(store.verify(S2), null, 'revoked without a restart');
    assert.equal(store.verify(S3)?.name, 'file-b');

    await writeFile(path, '{"version": 1, "keys": "broken"}');
    await assert.rejects(store.reload(), ApiKeyError);
    assert.equal(store.verify(S3)?.name, 'file-b', 'the last good keys stay');

    await assert.rejects(KeyStore.load({ API_KEYS_FILE: join(dir, 'missing.json'), DATA_DIR: dir }), /missing\.json[\s\S]*npm run keys -- create/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'api.localhost']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.com', '::ffff:10.0.0.1', 'localhost.example.com']) assert.ok(!isLoopbackHost(h), h);
});

test('auth decision: keys when configured; open on loopback without; refused elsewhere unless AUTH=none', () => {
  const none = { size: 0, names: () => [] };
  const two = { size: 2, names: () => ['a', 'b'] };
  assert.equal(decideAuth({ HOST: '0.0.0.0', PORT: 3000, AUTH: 'keys' }, two).mode, 'keys');
  const open = decideAuth({ HOST: '127.0.0.1', PORT: 3000, AUTH: 'keys' }, none);
  assert.equal(open.mode, 'open');
  assert.match(open.message, /open, reachable only from this machine/);
  assert.throws(() => decideAuth({ HOST: '0.0.0.0', PORT: 3000, AUTH: 'keys' }, none), (err: Error) => {
    assert.ok(err instanceof AuthConfigError);
    assert.match(err.message, /refusing to listen on 0\.0\.0\.0:3000 without API keys/);
    assert.match(err.message, /npm run keys -- create/);
    return true;
  });
  const optedOut = decideAuth({ HOST: '0.0.0.0', PORT: 3000, AUTH: 'none' }, two);
  assert.deepEqual([optedOut.mode, optedOut.warn], ['open', true]);
  assert.match(optedOut.message, /OPEN to anyone.*2 configured key\(s\) ignored/);
});
