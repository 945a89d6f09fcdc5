// Rate limits per caller with @fastify/rate-limit, counted in Redis (shared by every API
// instance): a global budget for every route, and separate ones for predict and for job
// submits. The caller is the API key's name once auth has set request.principal, else (no
// keys, or the API runs open) the client's IP. Over the budget: 429 rate_limited + Retry-After.
import rateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import { tooManyRequests } from '../errors.ts';

const MINUTE_MS = 60_000;

type PrincipalLike = { name: string; open?: boolean };

/**
 * Who is calling, for budgets: `key:<name>` for an API key, else `ip:<address>` (the API runs
 * open, or before auth): IPv4-mapped addresses as IPv4, IPv6 by /64, so one host cannot
 * rotate addresses within its own subnet to get fresh budgets.
 */
export function callerKey(req: Pick<FastifyRequest, 'ip'> & { principal?: PrincipalLike }): string {
  const principal = req.principal;
  return principal && !principal.open ? `key:${principal.name}` : `ip:${normalizeIP(req.ip)}`;
}

// INCR the window's counter, start its expiry on the first hit; returns { count, ms left }.
const INCR = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { n, ttl }
`;

type IncrCallback = (err: Error | null, res?: { current: number; ttl: number }) => void;

/**
 * A fixed-window counter per bucket and caller: `<prefix>:ratelimit:<bucket>:<caller>`. The
 * plugin's own Redis store names its buckets by route; here routes that share a `groupId`
 * (the two predict routes) share one budget.
 */
function bucketStore(redis: Redis, prefix: string) {
  return class BucketStore {
    constructor(private readonly params: { groupId?: string } = {}, private readonly bucket = 'global') {}

    incr(key: string, cb: IncrCallback, timeWindow: number): void {
      redis.eval(INCR, 1, `${prefix}:ratelimit:${this.bucket}:${key}`, String(timeWindow)).then(
        (res) => {
          const [current, ttl] = res as [number, number];
          cb(null, { current, ttl });
        },
        (err: Error) => cb(err),
      );
    }

    child(params: { groupId?: string; routeInfo?: { method?: string; url?: string } }): BucketStore {
      const bucket = params.groupId ?? `${params.routeInfo?.method ?? ''}${params.routeInfo?.url ?? ''}`;
      return new BucketStore(params, bucket);
    }
  };
}

/** A route's own budget (`groupId` names it), or false to exempt the route (0 = off). */
export function routeRateLimit(perMinute: number, groupId: string): RateLimitOptions | false {
  return perMinute > 0 ? { max: perMinute, timeWindow: MINUTE_MS, groupId, keyGenerator: callerKey } : false;
}

/** Registers the limiter; must come before the routes (it hooks each route as it is added). */
export async function registerRateLimits(app: FastifyInstance, opts: { redis: Redis; config: Config }): Promise<void> {
  const { config, redis } = opts;
  await app.register(rateLimit, {
    global: config.RATE_LIMIT_PER_MIN > 0,
    max: config.RATE_LIMIT_PER_MIN,
    timeWindow: MINUTE_MS,
    // route-level onRequest hooks run after the app's own (auth sets request.principal there)
    hook: 'onRequest',
    keyGenerator: callerKey,
    store: bucketStore(redis, config.QUEUE_PREFIX) as never,
    // Redis gone: let the request through; the route itself answers 503 if it needs Redis
    skipOnError: true,
    errorResponseBuilder: (req, ctx) => {
      const budget = req.routeOptions.config?.rateLimit ? (req.routeOptions.config.rateLimit.groupId ?? 'global') : 'global';
      const seconds = Math.max(1, Math.ceil(ctx.ttl / 1000));
      return tooManyRequests('rate_limited', `rate limit reached: ${ctx.max} ${budget} requests per minute; retry in ${ctx.after}`, seconds, {
        budget,
        limit: ctx.max,
        retryAfterSeconds: seconds,
      });
    },
  });
}
