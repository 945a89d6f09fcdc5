// From "which model" (an id or an alias) and decoded inputs to predictions: resolves the
// model, gets it from the cache, micro-batches the inputs, shapes the answer.
import { notFound } from '../../errors.ts';
import type { AliasRepository } from '../../store/alias.repository.ts';
import { DEFAULT_ALIAS } from '../../store/alias.repository.ts';
import type { ModelRepository } from '../../store/model.repository.ts';
import type { ModelCache } from './model-cache.ts';

export type Prediction = { digit: number; confidence: number; probabilities: number[]; input?: number[] };

// a diverged model can output NaN; JSON cannot carry it and 0 is the honest probability
const round6 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : 0);

export class PredictService {
  constructor(
    private readonly deps: {
      models: ModelRepository;
      aliases: AliasRepository;
      cache: ModelCache;
      onPredicted?: (modelId: string, n: number) => void;
    },
  ) {}

  /** A model id, else an alias name; 404 when neither names an existing model. */
  async resolve(idOrAlias: string): Promise<string> {
    const { models, aliases, cache } = this.deps;
    if (cache.has(idOrAlias) || (await models.exists(idOrAlias))) return idOrAlias;
    const target = await aliases.resolve(idOrAlias);
    if (target && (cache.has(target) || (await models.exists(target)))) return target;
    if (idOrAlias === DEFAULT_ALIAS) {
      throw notFound(
        target
          ? `the default alias points at model ${target}, which no longer exists: PUT /v1/aliases/default { "modelId": ... }`
          : 'no default model yet: train one (POST /v1/jobs) or set one (PUT /v1/aliases/default { "modelId": ... })',
      );
    }
    throw notFound(target ? `alias ${idOrAlias} points at model ${target}, which no longer exists` : `no model or alias named ${idOrAlias}`);
  }

  async predict(idOrAlias: string, inputs: Float32Array[], opts: { debug?: boolean } = {}) {
    const modelId = await this.resolve(idOrAlias);
    const loaded = await this.deps.cache.get(modelId);
    const outputs = await loaded.batcher.predict(inputs);
    this.deps.onPredicted?.(modelId, inputs.length);
    const predictions = outputs.map((out, i) => {
      const p = toPrediction(out);
      if (opts.debug) p.input = Array.from(inputs[i]!, round6);
      return p;
    });
    return { modelId, predictions };
  }
}

export function toPrediction(out: Float32Array): Prediction {
  let digit = 0;
  for (let d = 1; d < 10; d++) if (out[d]! > out[digit]!) digit = d;
  const probabilities = Array.from(out, round6);
  return { digit, confidence: probabilities[digit]!, probabilities };
}
