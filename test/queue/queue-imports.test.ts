// src/queue moves jobs and keeps their records; the store and the engine's runtime belong to the
// worker (workers/) and the API, which hand the queue what it needs (job-lifecycle.ts hooks, the
// consumer's resolveBackend, SweepFlow's TrialCheckpoints). Checked over the whole static import
// graph from every src/queue file — re-exports and indirect imports included; `import type` and
// `export type` lines are erased at run time, so they may name engine types.
// (eslint.config.js has the same rule for direct imports, so an editor shows it at once.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const FORBIDDEN = ['src/store/', 'src/engine/'];

/** The relative modules a file loads at run time (static and dynamic imports, re-exports). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?\bfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) {
    if (m[2]) continue; // `import type …` / `export type …`
    if (m[1] === 'export' && !m[3]) continue;
    specs.push(m[4]!);
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

/** Every file reached from `start`, each with the chain that reached it. */
function reach(start: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const todo = [start];
  while (todo.length) {
    const file = todo.pop()!;
    for (const next of runtimeImports(file)) {
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(file)!, next]);
      if (next.endsWith('.ts')) todo.push(next);
    }
  }
  return seen;
}

const show = (chain: string[]) => chain.map((f) => relative(root, f)).join(' → ');
const forbiddenIn = (reached: Map<string, string[]>) =>
  [...reached].filter(([f]) => FORBIDDEN.some((dir) => relative(root, f).startsWith(dir))).map(([, chain]) => show(chain));

test('src/queue loads nothing from src/store or the engine runtime, directly or through another module', () => {
  const files = readdirSync(join(root, 'src/queue')).filter((f) => f.endsWith('.ts')).map((f) => join(root, 'src/queue', f));
  assert.ok(files.length >= 10, `src/queue files found: ${files.length}`);
  const bad = files.flatMap((f) => forbiddenIn(reach(f)));
  assert.deepEqual([...new Set(bad)], []);
});

test('the check sees runtime imports, indirect ones included, and lets type-only ones through', () => {
  // the worker process does load both (through its processor and the store): the walker must see it
  const worker = forbiddenIn(reach(join(root, 'workers/train.worker.ts')));
  assert.ok(worker.some((c) => c.includes('src/store/')), 'the worker reaches the store');
  assert.ok(worker.some((c) => c.includes('workers/train.processor.ts → src/engine/')), `the worker reaches the engine through its processor: ${worker.join('\n')}`);
  // src/queue/catalogue.ts names engine types only
  assert.match(readFileSync(join(root, 'src/queue/catalogue.ts'), 'utf8'), /^import type .*engine/m);
  assert.deepEqual(forbiddenIn(reach(join(root, 'src/queue/catalogue.ts'))), []);
});
