// Operations: liveness (no I/O), readiness (Redis + a writable store), Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import { engineBackendReport, type EngineBackendReport } from '../../engine/index.ts';
import type { AppContext } from '../context.ts';
import { PUBLIC, requireScope } from '../../auth/route-security.ts';

const tags = ['ops'];
const READY_TIMEOUT_MS = 1000;

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });
const ReadyResponse = z.object({
  status: z.enum(['ready', 'unready']),
  checks: z.object({ redis: Check, store: Check }),
  engine: z.object({
    setting: z.enum(['native', 'tfjs', 'auto']).describe('ENGINE_BACKEND'),
    default: z.enum(['native', 'tfjs']).describe('backend for jobs that name none (auto resolved)'),
    tfjs: z.object({ backend: z.string(), gpu: z.boolean(), version: z.string() }).nullable()
      .describe('the TensorFlow.js backend loaded (tfjs-node-gpu, tfjs-node, wasm, cpu), when tfjs is the default'),
  }).optional(),
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

/** Redis answers and the model store takes a write (each within READY_TIMEOUT_MS). */
export async function readiness(ctx: AppContext): Promise<{ ok: boolean; redis: z.infer<typeof Check>; store: z.infer<typeof Check> }> {
  const [redis, store] = await Promise.all([check(() => ctx.redis.ping()), check(() => ctx.models.checkWritable())]);
  return { ok: redis.ok && store.ok, redis, store };
}

export default async function opsRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  // probes and scrapes are never rate limited
  app.get('/healthz', {
    config: { rateLimit: false },
    schema: { tags, summary: 'Liveness: the process answers (no I/O)', security: PUBLIC, response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  // Resolved once per app: with auto and tfjs-node-gpu installed this loads tfjs to look for a GPU.
  let engine: Promise<EngineBackendReport> | null = null;
  const engineReport = () => (engine ??= engineBackendReport(ctx.config.ENGINE_BACKEND));
  const backendInfo: Gauge<'setting' | 'backend' | 'tfjs'> = new Gauge({
    name: 'nndl_engine_backend_info',
    help: 'Engine backend for jobs that name none (1 for the one in use; tfjs = the TensorFlow.js backend loaded, or none)',
    labelNames: ['setting', 'backend', 'tfjs'],
    registers: [ctx.metrics.registry],
    async collect() {
      const r = await engineReport();
      backendInfo.set({ setting: r.setting, backend: r.default, tfjs: r.tfjs?.backend ?? 'none' }, 1);
    },
  });

  app.get('/readyz', {
    config: { rateLimit: false },
    schema: {
      tags,
      summary: 'Readiness: Redis answers and the model store is writable (503 otherwise)',
      security: PUBLIC,
      response: { 200: ReadyResponse, 503: ReadyResponse },
    },
  }, async (_req, reply) => {
    const [{ ok, redis, store }, eng] = await Promise.all([readiness(ctx), engineReport().catch(() => undefined)]);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unready', checks: { redis, store }, ...(eng ? { engine: eng } : {}) });
  });

  app.get('/metrics', {
    config: { rateLimit: false },
    schema: { tags, summary: 'Prometheus metrics (text exposition format)', security: requireScope('admin'), produces: ['text/plain'] },
  }, async (_req, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.type(contentType).send(body);
  });
}
