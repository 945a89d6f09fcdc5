// Runs every test/**/*.test.ts with Node's own test runner (Node 20 has no --test globs).
// Usage: npm test [-- <path filter>...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

// Per test (each test() or hook): a stream that never ends, a wait that never comes, fails the
// test instead of hanging CI. The slowest honest test takes ~TODO s on this 2-core machine.
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 180_000);

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
process.env.MNIST_DIR ??= join(process.cwd(), '..', 'shared', 'mnist');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
