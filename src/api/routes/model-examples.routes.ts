// GET /v1/models/:id/misclassified — the MNIST test digits a model gets wrong, with its
// answer: the web job page's gallery. Computed on demand with the model's predictor over
// the 10,000 test images (MNIST_DIR, via the engine's loadMnist) and cached per model.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createModelPredictor, type Mnist, type Predictor } from '../../engine/index.ts';
import type { AppContext } from '../context.ts';
import { lazyMnist, oneAtATime } from '../mnist-test-set.ts';
import { errors, ModelIdParams } from '../schemas/common.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

const PIXELS = 784;
/** Kept per model: the gallery never shows more. */
export const MAX_EXAMPLES = 100;
/** Models whose examples are kept (a few KB each for pixels, plus the indices). */
const CACHED_MODELS = 16;
/** Test images converted to float and predicted per step, so the event loop keeps turning. */
const CHUNK = 1000;

const round4 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : 0);

export const MisclassifiedQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_EXAMPLES).default(24),
});

const Example = z.object({
  index: z.number().int().describe('position in the 10,000 MNIST test images'),
  label: z.number().int().min(0).max(9).describe('the right digit'),
  predicted: z.number().int().min(0).max(9).describe("the model's answer"),
  confidence: z.number().describe('probability of the predicted digit'),
  probabilities: z.array(z.number()).length(10),
  pixels: z.array(z.number()).length(PIXELS).describe('28×28, row-major, 0 background … 1 ink'),
});

export const MisclassifiedResponse = z.object({
  modelId: z.string(),
  testSize: z.number().int().describe('test images evaluated'),
  misclassified: z.number().int().describe('how many of them the model gets wrong'),
  items: z.array(Example).describe('the first `limit` of them, in test-set order'),
});

type Result = z.infer<typeof MisclassifiedResponse>;

export default async function modelExamplesRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // insertion order = age; concurrent first requests for a model share one computation
  const cache = new Map<string, Promise<Result>>();
  const testSet = lazyMnist(ctx.config);
  // One sweep at a time: each holds a predictor (up to PREDICT_SCRATCH_BYTES of scratch), so requests
  // for many models at once wait their turn instead of multiplying that.
  const serial = oneAtATime();

  const compute = async (modelId: string): Promise<Result> => {
    const { test } = await testSet();
    const model = await ctx.models.load(modelId);
    return serial(async () => {
      // its own predictor, not the cached one: live predictions never queue behind this sweep. Same
      // bounds as the cache's: BudgetError (→ 422 over_budget) when one image needs more scratch.
      const predictor = createModelPredictor(model, { threads: ctx.config.ENGINE_THREADS, scratchBytes: ctx.config.PREDICT_SCRATCH_BYTES });
      try {
        return await sweep(modelId, test, predictor);
      } finally {
        predictor.dispose();
      }
    });
  };

  const sweep = async (modelId: string, test: Mnist['test'], predictor: Predictor): Promise<Result> => {
    const items: Result['items'] = [];
    let wrong = 0;
    for (let start = 0; start < test.count; start += CHUNK) {
      const n = Math.min(CHUNK, test.count - start);
      const input = new Float32Array(n * PIXELS);
      const bytes = test.images.subarray(start * PIXELS, (start + n) * PIXELS);
      for (let i = 0; i < input.length; i++) input[i] = bytes[i]! / 255;
      const out = await predictor.predict(input);
      for (let k = 0; k < n; k++) {
        const p = out.subarray(k * 10, k * 10 + 10);
        let digit = 0;
        for (let d = 1; d < 10; d++) if (p[d]! > p[digit]!) digit = d;
        const label = test.labels[start + k]!;
        if (digit === label) continue;
        wrong++;
        if (items.length >= MAX_EXAMPLES) continue;
        items.push({
          index: start + k,
          label,
          predicted: digit,
          confidence: round4(p[digit]!),
          probabilities: Array.from(p, round4),
          pixels: Array.from(bytes.subarray(k * PIXELS, (k + 1) * PIXELS), (v) => round4(v / 255)),
        });
      }
    }
    return { modelId, testSize: test.count, misclassified: wrong, items };
  };

  const examples = (modelId: string): Promise<Result> => {
    let hit = cache.get(modelId);
    if (!hit) {
      hit = compute(modelId);
      hit.catch(() => cache.delete(modelId)); // a failure is not remembered
      cache.set(modelId, hit);
      if (cache.size > CACHED_MODELS) cache.delete(cache.keys().next().value!);
    }
    return hit;
  };

  app.get('/v1/models/:id/misclassified', {
    schema: {
      tags: ['models'],
      summary: 'MNIST test digits the model gets wrong, with its answers',
      security: requireScope('predict'),
      description:
        'Runs the model over the 10,000 MNIST test images (once per model; cached) and returns the first ' +
        '`limit` it misclassifies, each with its pixels, the right label, the predicted digit and the ten ' +
        'probabilities. `id` may also be an alias name. 503 when the server has no MNIST test set; 422 `over_budget` when ' +
        'one image of the model needs more prediction scratch than PREDICT_SCRATCH_BYTES (it cannot be served here).',
      params: ModelIdParams,
      querystring: MisclassifiedQuery,
      response: { 200: MisclassifiedResponse, ...errors(400, 404, 422, 503) },
    },
  }, async (req) => {
    const modelId = await ctx.predict.resolve(req.params.id, { fresh: true });
    const all = await examples(modelId);
    return { ...all, items: all.items.slice(0, req.query.limit) };
  });
}
