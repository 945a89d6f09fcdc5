// `npm run bench:serve`: serving throughput of a trained ch1-mlp30 model, measured with
// autocannon at 64 connections against the real server (src/server.ts, its own process):
// POST /v1/predict with JSON pixels and with a PNG body, and in the same run a bare Fastify
// route returning a constant (also its own process) as the ceiling of this machine.
// Prints one JSON line per target: req/s, p50, p99 (ms) and the ratio to the bare route.
// Also, for information (not a target): the bare server's POST /post route taking the same
// JSON pixels body (Fastify's JSON parser, constant answer), i.e. what the load generator and
// the kernel cost for a 2.6 KB POST on these shared cores, before any predict work.
//
//   npm run bench:serve [-- --duration 10 --connections 64 --epochs 3 --log-level warn --profile DIR]
//
// `--compare-stages none,default --rounds 5`: instead, the PNG route only, one API process per
// PREPROCESS_STAGES value (`default`: the default stages), measured in turn, round after round
// (interleaved, so a machine whose load drifts disturbs each alike); prints each measurement, then
// per configuration the median req/s, p50 and p99 and the ratio of each median to the first
// configuration's, with the load average before and after.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { loadMnist, resolveExperiment, splitData, train } from '../src/engine/index.ts';
import { AliasRepository } from '../src/store/alias.repository.ts';
import { ModelRepository } from '../src/store/model.repository.ts';

const { values: args } = parseArgs({
  options: {
    bare: { type: 'string' }, // internal: run the bare route on this port
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    epochs: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
    profile: { type: 'string' }, // a directory: the API process writes a V8 CPU profile there
    'compare-stages': { type: 'string' }, // comma list of PREPROCESS_STAGES values ('default', 'none', 'a+b')
    rounds: { type: 'string', default: '5' },
  },
});

if (args.bare) {
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ ok: true }));
  app.post('/post', async () => ({ ok: true }));
  await app.listen({ port: Number(args.bare), host: '127.0.0.1' });
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
} else {
  await main();
}

async function main(): Promise<void> {
  const duration = Number(args.duration);
  const connections = Number(args.connections);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'nndl-bench-'));
  const redis = new Redis(redisUrl);
  const children: ChildProcess[] = [];
  try {
    // 1. A ch1-mlp30 model on the full training set, stored as the default alias.
    const mnist = await loadMnist(process.env.MNIST_DIR ? { dir: process.env.MNIST_DIR } : {});
    const experiment = resolveExperiment({ preset: 'ch1-mlp30', training: { epochs: Number(args.epochs) } });
    const trained = await train(experiment, { data: splitData(mnist, experiment.data) });
    if (trained.status !== 'completed') throw new Error(`training ${trained.status}`);
    const record = await new ModelRepository({ dataDir, redis, prefix }).save(trained.model, { name: 'bench' });
    await new AliasRepository({ redis, prefix }).set('default', record.id);
    log({ event: 'model', modelId: record.id, testAccuracy: record.testAccuracy });

    // 2. Request bodies from a real test image (digit label known).
    const pixels = Array.from(mnist.test.images.subarray(0, 784), (v) => Math.round((v / 255) * 1000) / 1000);
    const png = await sharp(Buffer.from(mnist.test.images.subarray(0, 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    const label = mnist.test.labels[0];

    if (args['compare-stages']) {
      await compareStages(args['compare-stages'].split(',').map((c) => c.trim()), png, { redisUrl, prefix, dataDir, duration, connections, children });
      return;
    }

    // 3. The two servers, each its own process.
    const [appPort, barePort] = [await freePort(), await freePort()];
    children.push(
      spawnNode([...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []), 'src/server.ts'], {
        PORT: String(appPort), HOST: '127.0.0.1', REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: args['log-level']!,
        // one client at ~15k req/s is far over any per-caller budget: measure serving, not the limiter
        RATE_LIMIT_PREDICT_PER_MIN: '0',
      }),
      spawnNode(['scripts/bench-serve.ts', '--bare', String(barePort)], {}),
    );
    await waitHttp(`http://127.0.0.1:${appPort}/healthz`);
    await waitHttp(`http://127.0.0.1:${barePort}/`);
    const check = await fetch(`http://127.0.0.1:${appPort}/v1/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels }),
    });
    const answer = (await check.json()) as { predictions?: { digit: number }[] };
    if (!check.ok || answer.predictions?.[0]?.digit !== label) throw new Error(`predict check failed: ${check.status} ${JSON.stringify(answer)}`);

    // 4. Measure: bare first (the ceiling), then pixels, then PNG.
    const bare = await measure('bare', { url: `http://127.0.0.1:${barePort}/`, method: 'GET' }, duration, connections);
    const barePost = await measure('bare-post-pixels', {
      url: `http://127.0.0.1:${barePort}/post`, method: 'POST',
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels }),
    }, duration, connections);
    const targets = [
      await measure('predict-pixels', {
        url: `http://127.0.0.1:${appPort}/v1/predict`, method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels }),
      }, duration, connections),
      await measure('predict-png', {
        url: `http://127.0.0.1:${appPort}/v1/predict`, method: 'POST', headers: { 'content-type': 'image/png' }, body: png,
      }, duration, connections),
    ];
    // the Open Inference Protocol's infer with the same image: the same predict path, a JSON tensor
    const v2 = await measure('v2-infer-pixels', {
      url: `http://127.0.0.1:${appPort}/v2/models/default/infer`, method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', data: pixels }] }),
    }, duration, connections);
    log({ ...bare, ratioToBare: 1 });
    log({ ...v2, ratioToBare: round(v2.reqPerSec / bare.reqPerSec, 3), info: 'not a target: /v2 infer (Open Inference Protocol), one image' });
    log({ ...barePost, ratioToBare: round(barePost.reqPerSec / bare.reqPerSec, 3), info: 'not a target: the same JSON body to a bare POST route' });
    const goals: Record<string, { ratio: number; p99?: number }> = { 'predict-pixels': { ratio: 0.5, p99: 10 }, 'predict-png': { ratio: 0.25 } };
    for (const t of targets) {
      const ratio = round(t.reqPerSec / bare.reqPerSec, 3);
      const goal = goals[t.name];
      if (!goal) throw new Error(`no goal for ${t.name}`);
      const met = ratio >= goal.ratio && (goal.p99 === undefined || t.p99Ms <= goal.p99);
      log({ ...t, ratioToBare: ratio, target: goal, met });
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The PNG route under each PREPROCESS_STAGES configuration, interleaved round by round. */
async function compareStages(
  configs: string[], png: Buffer,
  o: { redisUrl: string; prefix: string; dataDir: string; duration: number; connections: number; children: ChildProcess[] },
): Promise<void> {
  const servers: { config: string; port: number; pid: number }[] = [];
  for (const config of configs) {
    const port = await freePort();
    const child = spawnNode(['src/server.ts'], {
      PORT: String(port), HOST: '127.0.0.1', REDIS_URL: o.redisUrl, QUEUE_PREFIX: o.prefix, DATA_DIR: o.dataDir, LOG_LEVEL: args['log-level']!,
      RATE_LIMIT_PREDICT_PER_MIN: '0', PREPROCESS_STAGES: config === 'default' ? '' : config.replaceAll('+', ','),
    });
    o.children.push(child);
    servers.push({ config, port, pid: child.pid! });
  }
  for (const s of servers) await waitHttp(`http://127.0.0.1:${s.port}/healthz`);
  const loadBefore = loadavg().map((x) => round(x, 2));
  const results = new Map<string, Measured[]>(configs.map((c) => [c, []]));
  for (let r = 0; r < Number(args.rounds); r++) {
    // alternate which configuration goes first, so neither always follows the other
    for (const s of r % 2 ? [...servers].reverse() : servers) {
      let cpuBefore = 0;
      const m = await measure(`predict-png ${s.config}`, {
        url: `http://127.0.0.1:${s.port}/v1/predict`, method: 'POST', headers: { 'content-type': 'image/png' }, body: png,
      }, o.duration, o.connections, async () => { cpuBefore = await processCpuMs(s.pid); });
      // the API process's own CPU time per request: what the load of other jobs disturbs least
      m.serverCpuMsPerRequest = round((await processCpuMs(s.pid) - cpuBefore) / m.requests, 4);
      if (m.errors || m.non2xx) throw new Error(`${s.config}: ${m.errors} errors, ${m.non2xx} non-2xx`);
      results.get(s.config)!.push(m);
      log({ round: r + 1, stages: s.config, reqPerSec: m.reqPerSec, p50Ms: m.p50Ms, p99Ms: m.p99Ms, serverCpuMsPerRequest: m.serverCpuMsPerRequest, load1: round(loadavg()[0]!, 2) });
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const summary = configs.map((c) => {
    const ms = results.get(c)!;
    return { stages: c, rounds: ms.length, medianReqPerSec: median(ms.map((m) => m.reqPerSec)), medianP50Ms: median(ms.map((m) => m.p50Ms)), medianP99Ms: median(ms.map((m) => m.p99Ms)), medianServerCpuMsPerRequest: median(ms.map((m) => m.serverCpuMsPerRequest!)) };
  });
  const base = summary[0]!;
  for (const s of summary) {
    log({ ...s, reqPerSecRatio: round(s.medianReqPerSec / base.medianReqPerSec, 3), p50Ratio: round(s.medianP50Ms / base.medianP50Ms, 3), serverCpuRatio: round(s.medianServerCpuMsPerRequest / base.medianServerCpuMsPerRequest, 3), vs: base.stages, loadBefore, loadAfter: loadavg().map((x) => round(x, 2)), cpus: cpus().length });
  }
}

type Measured = {
  name: string; reqPerSec: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number; connections: number; seconds: number;
  requests: number; serverCpuMsPerRequest?: number;
};

async function measure(name: string, opts: Partial<autocannon.Options>, duration: number, connections: number, beforeRun?: () => Promise<void>): Promise<Measured> {
  await autocannon({ ...opts, url: opts.url!, connections, duration: 2 }); // warm-up (JIT, caches)
  await beforeRun?.();
  const r = await autocannon({ ...opts, url: opts.url!, connections, duration });
  return {
    name,
    requests: r.requests.total,
    reqPerSec: round(r.requests.average, 1),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    connections,
    seconds: duration,
  };
}

/** A process's user + system CPU time so far, ms (Linux /proc; NaN elsewhere). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function spawnNode(argv: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...argv.filter((a) => a.startsWith('--cpu-prof')), '--import', 'tsx', ...argv.filter((a) => !a.startsWith('--cpu-prof'))], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

async function waitHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

function log(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}
