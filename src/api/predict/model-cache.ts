// Loaded models, ready to predict: an LRU bounded in bytes (MODEL_CACHE_BYTES), each model
// counted as its weights plus its native prediction scratch cap (PREDICT_SCRATCH_BYTES at most).
// Loads of the same model share one promise; evicted models are disposed (native memory freed and
// threads joined at once) when their in-flight predictions have finished. Each entry owns its
// model's micro-batcher.
import { createModelPredictor, type Predictor, type StoredModel } from '../../engine/index.ts';
import { MicroBatcher, type MicroBatcherOptions } from './micro-batcher.ts';

export type LoadedModel = { id: string; predictor: Predictor; batcher: MicroBatcher; bytes: number };

export type ModelCacheOptions = {
  maxBytes: number;
  load: (id: string) => Promise<StoredModel>;
  threads: number;
  /** Native prediction scratch each loaded model may hold (PREDICT_SCRATCH_BYTES); counted in its bytes. */
  scratchBytes: number;
  batching: MicroBatcherOptions;
};

export class ModelCache {
  // Map iteration order is insertion order: first = least recently used
  private readonly entries = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private bytes = 0;
  private generation = new Map<string, number>(); // bumped by evict, so a stale load is dropped

  constructor(private readonly opts: ModelCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  async get(id: string): Promise<LoadedModel> {
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async load(id: string): Promise<LoadedModel> {
    const gen = this.generation.get(id) ?? 0;
    const model = await this.opts.load(id);
    // bytes = weights + the scratch cap; BudgetError (→ 422) when one image needs more than scratchBytes
    const predictor = createModelPredictor(model, { threads: this.opts.threads, scratchBytes: this.opts.scratchBytes });
    const batcher = new MicroBatcher((input) => predictor.predict(input), this.opts.batching);
    const entry: LoadedModel = { id, predictor, batcher, bytes: predictor.bytes };
    if ((this.generation.get(id) ?? 0) !== gen) {
      // evicted (e.g. deleted) while loading: serve this request, keep nothing
      void retire(entry);
      return entry;
    }
    this.entries.set(id, entry);
    this.bytes += entry.bytes;
    this.shrink(id);
    return entry;
  }

  /** Evicts least recently used entries until within budget; never the one just added. */
  private shrink(keep: string): void {
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.opts.maxBytes) break;
      if (id === keep) continue;
      this.remove(id, entry);
    }
  }

  private remove(id: string, entry: LoadedModel): void {
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    void retire(entry);
  }

  /** Drops a model (deleted, or replaced); in-flight predictions on it still finish. */
  evict(id: string): void {
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
    const entry = this.entries.get(id);
    if (entry) this.remove(id, entry);
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.bytes = 0;
    await Promise.all(all.map(retire));
  }
}

async function retire(entry: LoadedModel): Promise<void> {
  await entry.batcher.close();
  entry.predictor.dispose();
}
