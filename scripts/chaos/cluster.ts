// The processes a chaos run breaks on purpose: its own Redis (AOF on, fsync always, on a free
// port, so killing it touches nobody else), the API (src/server.ts) and training workers
// (workers/train.worker.ts), each a real child process with its own output kept for the report.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Proc = {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
  alive(): boolean;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// Start-up on a machine loaded by others (and under `nice`) takes minutes, not seconds.
const START_TIMEOUT_MS = 180_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawnProc(name: string, cmd: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // keep the tail only: a long soak would otherwise hold every log line
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    name,
    child,
    exited,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Sends `signal`; a process still there after `graceMs` is SIGKILLed. */
export async function kill(p: Proc, signal: NodeJS.Signals = 'SIGKILL', graceMs = 20_000): Promise<void> {
  if (p.alive()) p.child.kill(signal);
  const t = setTimeout(() => p.alive() && p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`chaos: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export type ClusterOptions = {
  workers: number;
  /** Extra environment for the API and the workers. */
  env?: Record<string, string>;
};

/** An API, N workers and a private Redis, all under one temp directory. */
export class Cluster {
  readonly adminKey = randomBytes(24).toString('hex');
  readonly workers: Proc[] = [];
  redis!: Proc;
  api!: Proc;
  apiUrl = '';
  redisUrl = '';
  private root = '';
  private redisPort = 0;
  private env: Record<string, string> = {};

  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster();
    try {
      await c.init(opts);
    } catch (err) {
      await c.stop().catch(() => {}); // a half-started cluster leaves no Redis or API behind
      throw err;
    }
    return c;
  }

  private async init(opts: ClusterOptions): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'nndl-chaos-'));
    await mkdir(join(this.root, 'redis'), { recursive: true });
    this.redisPort = await freePort();
    this.redisUrl = `redis://127.0.0.1:${this.redisPort}`;
    await this.startRedis();
    const apiPort = await freePort();
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.env = {
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: 'chaos',
      DATA_DIR: join(this.root, 'data'),
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      API_KEYS: `chaos:admin:${this.adminKey}`,
      ENGINE_THREADS: '1',
      // a dead worker's job is noticed within seconds, not the default 30 s
      JOB_LOCK_MS: '5000',
      JOB_STALLED_INTERVAL_MS: '2000',
      ...(process.env.MNIST_DIR ? { MNIST_DIR: process.env.MNIST_DIR } : {}),
      ...opts.env,
    };
    this.api = spawnProc('api', process.execPath, ['--import', 'tsx', 'src/server.ts'], this.env);
    await waitFor(async () => (await fetch(`${this.apiUrl}/healthz`)).ok, START_TIMEOUT_MS, `the API to answer\n${this.api.output()}`);
    for (let i = 0; i < opts.workers; i++) await this.addWorker();
  }

  async startRedis(): Promise<void> {
    this.redis = spawnProc('redis', 'redis-server', [
      '--port', String(this.redisPort), '--bind', '127.0.0.1', '--dir', join(this.root, 'redis'),
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction',
    ], {});
    await waitFor(async () => this.redis.output().includes('Ready to accept connections'), 30_000, `redis to start\n${this.redis.output()}`, 50);
  }

  /** A new worker process; resolves once it consumes the queue. */
  async addWorker(): Promise<Proc> {
    // info: the worker's lifecycle lines ("worker started", pickups) are what the scenarios wait on
    const w = spawnProc(`worker-${this.workers.length}`, process.execPath, ['--import', 'tsx', 'workers/train.worker.ts'], { ...this.env, LOG_LEVEL: 'info' });
    this.workers.push(w);
    await waitFor(async () => w.output().includes('worker started'), START_TIMEOUT_MS, `a worker to start\n${w.output()}`);
    return w;
  }

  liveWorkers(): Proc[] {
    return this.workers.filter((w) => w.alive());
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.adminKey}`, ...extra };
  }

  // The API's JSON, read loosely by the scenarios (they check what they use).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  /** A figure from the API's Prometheus text (first sample of that name), or null. */
  async metric(name: string): Promise<number | null> {
    const res = await fetch(`${this.apiUrl}/metrics`, { headers: this.headers() });
    if (!res.ok) return null;
    const line = (await res.text()).split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers, this.api].filter((p) => p !== undefined).map((p) => kill(p, 'SIGTERM')));
    if (this.redis) await kill(this.redis, 'SIGKILL');
    await rm(this.root, { recursive: true, force: true });
  }
}
