// Operations: liveness (no I/O), readiness (Redis + a writable store), Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';

const tags = ['ops'];
const READY_TIMEOUT_MS = 1000;

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
const ReadyResponse = z.object({
  status: z.enum(['ready', 'unready']),
  checks: z.object({ redis: Check, store: Check }),
});

async function check(fn: () => Promise<unknown>): Promise<z.infer<typeof Check>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export default async function opsRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get('/healthz', {
    schema: { tags, summary: 'Liveness: the process answers (no I/O)', response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      tags,
      summary: 'Readiness: Redis answers and the model store is writable (503 otherwise)',
      response: { 200: ReadyResponse, 503: ReadyResponse },
    },
  }, async (_req, reply) => {
    const [redis, store] = await Promise.all([check(() => ctx.redis.ping()), check(() => ctx.models.checkWritable())]);
    const ok = redis.ok && store.ok;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unready', checks: { redis, store } });
  });

  app.get('/metrics', {
    schema: { tags, summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] },
  }, async (_req, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });
}
