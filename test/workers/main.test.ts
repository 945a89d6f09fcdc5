// `npm start` (src/main.ts): the API and a worker come up together and stop together on one
// signal; a worker that dies is started again while the API keeps answering; when `npm start`
// is SIGKILLed its children go too; an unreachable Redis gives a clear message and a non-zero exit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cleanup, smallJob, tempDataDir, uniquePrefix, waitFor, REDIS_URL } from '../queue/queue-helpers.ts';

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'info', ENGINE_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Pids of the live processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

/** True while `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function isAlive(pid: number): boolean {
  try {
    return (() => { const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); return stat[stat.lastIndexOf(')') + 2] !== 'Z'; })();
  } catch {
    return false;
  }
}

/** Pids of the workers that logged "worker started", in order. */
const workerPids = (out: string) =>
  out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { pid: number; service?: string; msg?: string })
    .filter((l) => l.service === 'worker' && l.msg === 'worker started').map((l) => l.pid);

describe('npm start (src/main.ts)', () => {
  const prefix = uniquePrefix('main');
  let dataDir: string;
  before(async () => {
    dataDir = await tempDataDir();
  });
  after(async () => {
    await cleanup(prefix, dataDir);
  });

  test('runs the API and a worker; one SIGINT stops both cleanly', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30_000, `healthz\n${p.output()}`);
      await waitFor(async () => p.output().includes('worker started'), 30_000, `worker\n${p.output()}`);
      p.child.kill('SIGINT');
      assert.equal(await p.exited, 0, p.output());
      assert.match(p.output(), /worker stopped/);
      assert.ok(!/second signal/.test(p.output()), 'children got the signal once');
      assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'up', () => 'down'), 'down');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('a worker that dies is started again while the API keeps answering; the new one trains', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const p = run({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, MNIST_DIR: process.env.MNIST_DIR ?? '' });
    try {
      await waitFor(() => fetch(`${base}/healthz`).then((r) => r.ok, () => false), 60_000, `healthz\n${p.output()}`);
      const [first] = await waitFor(async () => (workerPids(p.output()).length === 1 ? workerPids(p.output()) : null), 60_000, `worker\n${p.output()}`);
      process.kill(first!, 'SIGKILL');
      // the API answers while no worker runs, and a job submitted now waits for the next worker
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      const submit = await fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(smallJob({ epochs: 1, trainSize: 1000, validationSize: 200 })),
      });
      assert.equal(submit.status, 202, await submit.clone().text());
      const { id } = (await submit.json()) as { id: string };
      await waitFor(async () => workerPids(p.output()).length === 2, 60_000, `a second worker\n${p.output()}`);
      assert.notEqual(workerPids(p.output())[1], first);
      assert.match(p.output(), /"service":"supervisor".*"msg":"worker exited \(SIGKILL\); starting another in 1 s/);
      const done = await waitFor(async () => {
        const job = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as { status: string; error?: string };
        return ['completed', 'failed', 'cancelled'].includes(job.status) ? job : null;
      }, 120_000, `the job to end\n${p.output()}`);
      assert.equal(done.status, 'completed', done.error);
      assert.equal(p.child.exitCode, null, 'npm start is still running');
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0, p.output());
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('SIGKILL of npm start takes its API and worker with it (no orphans)', async () => {
    const port = await freePort();
    const p = run({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    const parent = p.child.pid!;
    let kids: number[] = [];
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 60_000, `healthz\n${p.output()}`);
      await waitFor(async () => workerPids(p.output()).length === 1, 60_000, `worker\n${p.output()}`);
      kids = childrenOf(parent);
      assert.equal(kids.length, 2, `the API and the worker: ${kids.join(', ')}`);
      assert.ok(kids.includes(workerPids(p.output())[0]!));
      p.child.kill('SIGKILL');
      await p.exited;
      await waitFor(async () => kids.every((pid) => !isAlive(pid)), 60_000, `children ${kids.join(', ')} to exit\n${p.output()}`);
      assert.ok(p.output().split("\n").some((l) => l.includes(`"msg":"shutting down"`) && l.includes(`"signal":"parent exited"`)), p.output());
      assert.equal(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'up', () => 'down'), 'down');
    } finally {
      for (const pid of kids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('an unreachable Redis is a clear message and exit code 1', async () => {
    const port = await freePort(); // nothing listens there
    const p = run({ REDIS_URL: `redis://127.0.0.1:${port}`, QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    assert.ok(!/\n\s+at /.test(p.output()), 'no stack trace');
  });

  test('an invalid setting is named, exit code 1', async () => {
    const p = run({ PORT: 'eighty', QUEUE_PREFIX: prefix, DATA_DIR: dataDir });
    assert.equal(await p.exited, 1);
    assert.match(p.output(), /PORT/);
  });
});
