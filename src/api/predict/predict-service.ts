// From "which model" (an id or an alias) and decoded inputs to predictions: resolves the
// model, gets it from the cache, micro-batches the inputs, shapes the answer.
import { notFound } from '../../errors.ts';
import type { AliasRepository } from '../../store/alias.repository.ts';
import { DEFAULT_ALIAS } from '../../store/alias.repository.ts';
import { ModelNotFoundError, type ModelRepository } from '../../store/model.repository.ts';
import type { ModelCache } from './model-cache.ts';
import type { StageTrace } from './normalize-image.ts';
import { encodeGreyPng } from './png-encode.ts';
import { checkGone } from './predict-input.ts';

export type StagePicture = { stage: string; width: number; height: number; png: string; note?: string };
export type Prediction = { digit: number; confidence: number; probabilities: number[]; input?: number[]; stages?: StagePicture[] };

// a diverged model can output NaN; JSON cannot carry it and 0 is the honest probability
const round6 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : 0);

/**
 * How long a resolved reference (id or alias -> model id) is trusted without asking Redis
 * again. Changes made through this instance apply at once (invalidate()); changes made
 * elsewhere (another API instance, a worker setting `default`) within this time.
 */
export const RESOLVE_TTL_MS = 1000;

export class PredictService {
  private readonly resolved = new Map<string, { id: string; until: number }>();
  private readonly ttlMs: number;

  constructor(
    private readonly deps: {
      models: ModelRepository;
      aliases: AliasRepository;
      cache: ModelCache;
      onPredicted?: (modelId: string, n: number) => void;
      resolveTtlMs?: number;
    },
  ) {
    this.ttlMs = deps.resolveTtlMs ?? RESOLVE_TTL_MS;
  }

  /** Forget every resolved reference (after an alias or model changed here). */
  invalidate(): void {
    this.resolved.clear();
  }

  /**
   * A model id, else an alias name; 404 when neither names an existing model. `fresh`
   * skips the short-lived cache (reads of the registry want the truth, predict wants speed).
   */
  async resolve(ref: string, opts: { fresh?: boolean } = {}): Promise<string> {
    const hit = this.resolved.get(ref);
    if (!opts.fresh && hit && hit.until > Date.now()) return hit.id;
    const { models, aliases, cache } = this.deps;
    const [isModel, target] = await Promise.all([models.exists(ref), aliases.resolve(ref)]);
    const id = isModel ? ref : target && (await models.exists(target)) ? target : null;
    if (hit && hit.id !== id && !(await models.exists(hit.id))) cache.evict(hit.id); // deleted elsewhere
    if (id) {
      this.resolved.set(ref, { id, until: Date.now() + this.ttlMs });
      return id;
    }
    this.resolved.delete(ref);
    if (ref === DEFAULT_ALIAS) {
      throw notFound(
        target
          ? `the default alias points at model ${target}, which no longer exists: PUT /v1/aliases/default { "modelId": ... }`
          : 'no default model yet: train one (POST /v1/jobs) or set one (PUT /v1/aliases/default { "modelId": ... })',
      );
    }
    throw notFound(target ? `alias ${ref} points at model ${target}, which no longer exists` : `no model or alias named ${ref}`);
  }

  /** `gone`: the client has closed the connection; checked before the inputs join a batch. */
  /** `traces` (?debug=1): each image instance's preprocessing stages, shown as PNG data URLs. */
  async predict(
    idOrAlias: string,
    inputs: Float32Array[],
    opts: { debug?: boolean; gone?: () => boolean; traces?: (StageTrace[] | undefined)[] } = {},
  ) {
    const modelId = await this.resolve(idOrAlias);
    const loaded = await this.deps.cache.get(modelId).catch((err: unknown) => {
      // deleted between resolve and load (e.g. by another instance): the model is gone
      if (err instanceof ModelNotFoundError || (err as NodeJS.ErrnoException)?.code === 'ENOENT') {
        this.invalidate();
        throw notFound(`model ${modelId} no longer exists`);
      }
      throw err;
    });
    if (opts.gone) checkGone({ gone: opts.gone }, 'enqueue');
    const outputs = await loaded.batcher.predict(inputs);
    this.deps.onPredicted?.(modelId, inputs.length);
    const predictions = outputs.map((out, i) => {
      const p = toPrediction(out);
      if (opts.debug) p.input = Array.from(inputs[i]!, round6);
      const trace = opts.debug ? opts.traces?.[i] : undefined;
      if (trace) p.stages = trace.map(stagePicture);
      return p;
    });
    return { modelId, predictions };
  }
}

function stagePicture(t: StageTrace): StagePicture {
  const png = `data:image/png;base64,${encodeGreyPng(t.pixels, t.width, t.height).toString('base64')}`;
  return { stage: t.stage, width: t.width, height: t.height, png, ...(t.note ? { note: t.note } : {}) };
}

export function toPrediction(out: Float32Array): Prediction {
  let digit = 0;
  for (let d = 1; d < 10; d++) if (out[d]! > out[digit]!) digit = d;
  const probabilities = Array.from(out, round6);
  return { digit, confidence: probabilities[digit]!, probabilities };
}
