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

// A time limit, so a stream that never ends (an SSE read, a wait for an event that never comes)
// fails instead of hanging CI. node --test-timeout: on Node 20 it bounds each test file as a whole
// (the runner runs each file as one test). Measured: the slowest files take ~60 s on a quiet run
// (web: jobs, web: draw a digit) and 3-5 min with this 2-core machine at load 15 (the fuzz test, the
// browser tests); 10 minutes fits them comfortably. TEST_TIMEOUT_MS overrides it.
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 600_000);

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
process.env.MNIST_DIR ??= join(process.cwd(), '..', 'shared', 'mnist');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
