// The addon must build for the portable target the Docker images name (NNDL_MARCH=x86-64-v3: AVX2,
// no AVX-512), whatever CPU runs the tests: `-march=native` on an AVX-512 machine hides what
// GCC says for the same sources on an AVX2 one (it once failed the build there, -Werror=psabi).
// Built the way `npm ci` builds it (npm run build:native), in a copy, so the tested addon stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

test('the addon builds with NNDL_MARCH=x86-64-v3 (the images\' target) and loads with the same exports', () => {
  const root = resolve(import.meta.dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'nndl-portable-build-'));
  try {
    for (const f of ['binding.gyp', 'package.json', 'native']) cpSync(join(root, f), join(dir, f), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const build = spawnSync('npm', ['run', 'build:native', '--', '--jobs', 'max'], {
      cwd: dir, env: { ...process.env, NNDL_MARCH: 'x86-64-v3' }, encoding: 'utf8', maxBuffer: 64 << 20,
    });
    assert.equal(build.status, 0, `the build failed:\n${(build.stdout + build.stderr).split('\n').filter((l) => /error|warning/i.test(l)).slice(0, 20).join('\n')}`);
    const require = createRequire(import.meta.url);
    const built = require(join(dir, 'build/Release/nndl.node')) as Record<string, unknown>;
    const tested = require(join(root, 'build/Release/nndl.node')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(built).sort(), Object.keys(tested).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
