// ioredis connections for the queue side. Workers need maxRetriesPerRequest: null (BullMQ's
// blocking commands must wait out a Redis restart); the API side fails fast instead so a
// request gets a 503 rather than hanging while Redis is down.
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker' | 'subscriber';

export function createRedis(url: string, role: RedisRole, name = 'nndl'): Redis {
  const opts: RedisOptions = {
    connectionName: `${name}-${role}`,
    maxRetriesPerRequest: role === 'producer' ? 1 : null,
    // Reconnect with a capped backoff forever; callers decide when to give up. The API side
    // retries often so that a request during an outage gets its 503 within about a second.
    retryStrategy: (times) => Math.min(times * (role === 'producer' ? 100 : 200), role === 'producer' ? 500 : 2000),
  };
  return new Redis(url, opts);
}

/** Pings Redis once with a deadline; throws a readable error when it is unreachable. */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  let lastError: Error | null = null;
  redis.on('error', (e: Error) => (lastError = e)); // reported below, not as an unhandled event
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
    ]);
  } catch (err) {
    const cause = lastError ?? err;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`cannot reach Redis at ${redactUrl(url)} (${why}). Start Redis (e.g. \`redis-server\` or \`docker compose up redis\`) or set REDIS_URL.`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

/** Hides a password in a redis:// URL for log messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, cred: string) => `//${cred.includes(':') ? cred.split(':')[0] + ':***' : '***'}@`);
}

/** True for the errors ioredis raises while Redis is down (as opposed to bugs in a command). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code)) return true;
  return /Connection is closed|Stream isn't writeable|max retries per request|connect E[A-Z]+/i.test(err.message);
}
