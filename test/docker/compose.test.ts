// The compose stack and the images, checked without a Docker engine: docker-compose.yml parsed
// and interpolated as compose does it, then held to the safety rules (API published on loopback
// by default, Redis unpublished with a password, maxmemory + noeviction + AOF, memory limits on
// every service, a real worker healthcheck, keys from .env); every setting documented in
// .env.example; the images on a Node LTS that package.json's engines admit (with Node 20 for CI).
// When a `docker-compose`/`docker compose` binary is installed, its own `config` must accept the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/env.ts';

type Service = {
  ports?: string[];
  command?: string | string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { resources?: { limits?: { memory?: string } } };
  profiles?: string[];
};

const text = readFileSync('docker-compose.yml', 'utf8');
const envExample = readFileSync('.env.example', 'utf8');

/** Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, over every string of the file. */
function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      const v = env[name!];
      if (op === ':-') return v ? v : arg!;
      if (op === ':?') {
        if (!v) throw new Error(`missing ${name}: ${arg}`);
        return v;
      }
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

const load = (env: Record<string, string>) =>
  interpolate(parse(text, { merge: true }), env) as { services: Record<string, Service> };

test('compose: Redis needs a password from .env; the API is published on 127.0.0.1 by default; Redis not at all', () => {
  assert.throws(() => load({}), /missing REDIS_PASSWORD: set REDIS_PASSWORD in \.env/);
  const { services } = load({ REDIS_PASSWORD: 's3cret' });
  assert.deepEqual(Object.keys(services).sort(), ['api', 'redis', 'worker', 'worker-gpu']);
  assert.deepEqual(services.api!.ports, ['127.0.0.1:3000:3000']);
  assert.deepEqual(load({ REDIS_PASSWORD: 'x', API_BIND: '0.0.0.0', PORT: '8080' }).services.api!.ports, ['0.0.0.0:8080:3000']);
  for (const [name, s] of Object.entries(services)) if (name !== 'api') assert.equal(s.ports, undefined, `${name} publishes nothing`);
});

test('compose: Redis with requirepass, maxmemory + noeviction, AOF, and an authenticated healthcheck', () => {
  const { redis } = load({ REDIS_PASSWORD: 's3cret' }).services;
  const command = ([] as string[]).concat(redis!.command ?? []).join(' ');
  assert.match(command, /--requirepass "\$REDIS_PASSWORD"/);
  assert.match(command, /--maxmemory "\$REDIS_MAXMEMORY"/);
  assert.match(command, /--maxmemory-policy noeviction/);
  assert.match(command, /--appendonly yes/);
  assert.equal(redis!.environment!.REDIS_PASSWORD, 's3cret');
  assert.equal(redis!.environment!.REDIS_MAXMEMORY, '512mb');
  assert.match(redis!.healthcheck!.test!.join(' '), /REDISCLI_AUTH="\$REDIS_PASSWORD" redis-cli ping/);
});

test('compose: API and workers reach Redis with the password; the API takes keys and auth settings from .env', () => {
  const { services } = load({ REDIS_PASSWORD: 's3cret', API_KEYS: 'ops:admin:' + 'k'.repeat(32), CORS_ORIGINS: 'https://a.example' });
  for (const name of ['api', 'worker', 'worker-gpu']) {
    assert.equal(services[name]!.environment!.REDIS_URL, 'redis://:s3cret@redis:6379', name);
  }
  const env = services.api!.environment!;
  assert.equal(env.API_KEYS, 'ops:admin:' + 'k'.repeat(32));
  assert.equal(env.AUTH, 'keys');
  assert.equal(env.CORS_ORIGINS, 'https://a.example');
  assert.equal(env.MAX_JOBS_PER_KEY, '20');
  assert.equal(env.HOST, '0.0.0.0', 'all interfaces inside the container: keys are required there');
  // every value the API gets passes its env schema
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
});

test('compose: a memory limit on every service; Redis maxmemory below its limit', () => {
  const { services } = load({ REDIS_PASSWORD: 'x' });
  const bytes = (s: string) => Number.parseFloat(s) * ({ k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[s.replace(/[\d.]/g, '').toLowerCase()[0] as 'k' | 'm' | 'g'] ?? 1);
  for (const [name, s] of Object.entries(services)) {
    assert.match(s.deploy?.resources?.limits?.memory ?? '', /^\d+(\.\d+)?[kmg]$/i, `${name} has a memory limit`);
  }
  assert.ok(bytes(services.redis!.environment!.REDIS_MAXMEMORY!) < bytes(services.redis!.deploy!.resources!.limits!.memory!));
});

test('compose: the workers have a real healthcheck (their heartbeat in Redis)', () => {
  const { services } = load({ REDIS_PASSWORD: 'x' });
  for (const name of ['worker', 'worker-gpu']) {
    const hc = services[name]!.healthcheck!;
    assert.ok(!hc.disable, name);
    assert.deepEqual(hc.test, ['CMD', 'node', '--import', 'tsx', 'scripts/worker-health.ts'], name);
  }
  assert.ok(existsSync('scripts/worker-health.ts'));
});

test('.env.example documents every setting: the env schema and every variable docker-compose.yml reads', () => {
  const documented = new Set([...envExample.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  const missing = Object.keys(EnvSchema.shape).filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], 'env schema variables missing from .env.example');
  const composeVars = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
  assert.deepEqual([...composeVars].filter((k) => !documented.has(k)), [], 'compose variables missing from .env.example');
});

test('images on a Node LTS (22 or 24) that package.json admits, as it admits Node 20 for CI', () => {
  const engines = JSON.parse(readFileSync('package.json', 'utf8')).engines.node as string;
  const admitted = new Set([...engines.matchAll(/\^(\d+)/g)].map((m) => Number(m[1])));
  assert.ok(admitted.has(20), `engines "${engines}" admits Node 20`);
  for (const file of ['docker/Dockerfile', 'docker/worker-gpu.Dockerfile']) {
    const m = /^ARG NODE_VERSION=(\d+)/m.exec(readFileSync(file, 'utf8'));
    assert.ok(m, `${file} pins NODE_VERSION`);
    const major = Number(m[1]);
    assert.ok([22, 24].includes(major), `${file}: Node ${major} is a current LTS`);
    assert.ok(admitted.has(major), `engines "${engines}" admits the image's Node ${major}`);
  }
  assert.ok(admitted.has(Number(process.versions.node.split('.')[0])), 'and the Node running these tests');
});

const composeBinary = ['docker-compose', 'docker'].find((bin) => {
  const args = bin === 'docker' ? ['compose', 'version'] : ['version'];
  return spawnSync(bin, args, { stdio: 'ignore' }).status === 0;
});

test('the compose tool itself accepts the file (gpu profile included)', { skip: composeBinary ? false : 'no docker-compose or docker compose installed' }, () => {
  const args = composeBinary === 'docker' ? ['compose'] : [];
  const env = { ...process.env, REDIS_PASSWORD: 'x' };
  for (const extra of [[], ['--profile', 'gpu']]) {
    const r = spawnSync(composeBinary!, [...args, ...extra, 'config', '-q'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const refused = spawnSync(composeBinary!, [...args, 'config', '-q'], { env: { ...process.env, REDIS_PASSWORD: '' }, encoding: 'utf8' });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /REDIS_PASSWORD/);
});
