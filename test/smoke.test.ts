import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

test('the native addon loads', () => {
  const addon = createRequire(import.meta.url)('../build/Release/nndl.node');
  assert.ok(['openblas', 'portable'].includes(addon.gemm));
});
