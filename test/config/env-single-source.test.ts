// Every environment variable is in the one schema: the schema's keys are all documented in
// .env.example, and no module outside src/config reads process.env.<NAME> itself (the engine reads
// its own through engineEnv()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EnvSchema } from '../../src/config/env.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'public' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

test('.env.example documents every variable of the schema', () => {
  const example = readFileSync('.env.example', 'utf8');
  const missing = Object.keys(EnvSchema.shape).filter((k) => !new RegExp(`^#? ?${k}=`, 'm').test(example));
  assert.deepEqual(missing, []);
});

test('only src/config reads process.env by name', () => {
  const offenders = [...sources('src'), ...sources('workers')]
    .filter((f) => !f.startsWith(join('src', 'config')))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)].map((m) => `${f}: ${m[1]}`))
    .filter((hit) => !hit.endsWith(': REDIS_URL') || !hit.startsWith(join('src', 'api', 'openapi-document.ts')));
  assert.deepEqual(offenders, []);
});
