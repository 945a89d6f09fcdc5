// Healthcheck of a training worker container: exit 0 when a worker on this host has beaten its
// heartbeat in Redis within its TTL (src/queue/worker-heartbeat.ts: the process runs, its event
// loop turns and it reaches Redis), else 1 with the reason. Bounded: gives up after 5 s.
//   node --import tsx scripts/worker-health.ts
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.ts';
import { redactUrl } from '../src/queue/redis-connection.ts';
import { heartbeatPattern } from '../src/queue/worker-heartbeat.ts';

const TIMEOUT_MS = 5000;

async function main(): Promise<string | null> {
  const config = loadConfig(process.env);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: TIMEOUT_MS });
  let lastError = '';
  redis.on('error', (err: Error) => (lastError = err.message));
  try {
    await redis.connect().catch((err: Error) => {
      throw new Error(`cannot reach Redis at ${redactUrl(config.REDIS_URL)} (${lastError || err.message})`);
    });
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', heartbeatPattern(config.QUEUE_PREFIX), 'COUNT', 100);
      if (keys.length > 0) return null;
      cursor = next;
    } while (cursor !== '0');
    return `no worker heartbeat from ${hostname()} in Redis (prefix ${config.QUEUE_PREFIX})`;
  } finally {
    redis.disconnect();
  }
}

const timeout = setTimeout(() => {
  console.error(`unhealthy: no answer from Redis within ${TIMEOUT_MS} ms`);
  process.exit(1);
}, TIMEOUT_MS);
main().then(
  (problem) => {
    clearTimeout(timeout);
    if (problem) console.error(`unhealthy: ${problem}`);
    else console.log('healthy');
    process.exit(problem ? 1 : 0);
  },
  (err: Error) => {
    console.error(`unhealthy: ${err.message}`);
    process.exit(1);
  },
);
