// Models on disk (DATA_DIR/models/<id>/), indexed in Redis. The directory is the truth,
// the index is what gets listed: a model is written whole into a temp dir, renamed into
// place, and only then indexed, so no reader ever sees half a model.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { TrainedModel } from '../engine/index.ts';
import { MODEL_ID_PATTERN, newModelId, recordFor, type ModelRecord } from './model-record.ts';

export type { ModelRecord } from './model-record.ts';

/** How model files are written and read; the engine's saveModel/loadModel unless a test injects others. */
export type ModelFiles = {
  save(dir: string, model: TrainedModel): Promise<void>;
  load(dir: string): Promise<TrainedModel>;
};

async function engineFiles(): Promise<ModelFiles> {
  // Loaded lazily so the registry (list/get/delete) works without the native addon.
  const engine = await import('../engine/index.ts');
  return { save: engine.saveModel, load: engine.loadModel };
}

const RECORD_FILE = 'record.json';
const TMP_DIR = '.tmp';

export class ModelRepository {
  readonly modelsDir: string;
  private readonly redis: Redis;
  private readonly indexKey: string;
  private readonly recordsKey: string;
  private files?: ModelFiles;

  constructor(opts: { dataDir: string; redis: Redis; prefix: string; files?: ModelFiles }) {
    this.modelsDir = join(opts.dataDir, 'models');
    this.redis = opts.redis;
    this.indexKey = `${opts.prefix}:models:index`; // zset id -> createdAt ms
    this.recordsKey = `${opts.prefix}:models:records`; // hash id -> ModelRecord JSON
    this.files = opts.files;
  }

  private async io(): Promise<ModelFiles> {
    return (this.files ??= await engineFiles());
  }

  private dir(id: string): string {
    if (!MODEL_ID_PATTERN.test(id)) throw new RangeError(`invalid model id: ${JSON.stringify(id)}`);
    return join(this.modelsDir, id);
  }

  async save(model: TrainedModel, meta: { jobId?: string; name?: string; owner?: string } = {}): Promise<ModelRecord> {
    const id = newModelId();
    const record = recordFor(id, model, meta);
    const tmp = join(this.modelsDir, TMP_DIR, `${id}-${process.pid}`);
    await mkdir(tmp, { recursive: true });
    try {
      await (await this.io()).save(tmp, model);
      await writeFile(join(tmp, RECORD_FILE), JSON.stringify(record));
      await rename(tmp, this.dir(id));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await this.index(record);
    return record;
  }

  private async index(record: ModelRecord): Promise<void> {
    await this.redis
      .multi()
      .hset(this.recordsKey, record.id, JSON.stringify(record))
      .zadd(this.indexKey, Date.parse(record.createdAt), record.id)
      .exec();
  }

  async get(id: string): Promise<ModelRecord | null> {
    if (!MODEL_ID_PATTERN.test(id)) return null;
    const json = await this.redis.hget(this.recordsKey, id);
    return json ? (JSON.parse(json) as ModelRecord) : null;
  }

  async exists(id: string): Promise<boolean> {
    return MODEL_ID_PATTERN.test(id) && (await this.redis.hexists(this.recordsKey, id)) === 1;
  }

  /** Newest first. */
  async list(opts: { limit?: number; offset?: number } = {}): Promise<ModelRecord[]> {
    const offset = opts.offset ?? 0;
    const stop = opts.limit === undefined ? -1 : offset + opts.limit - 1;
    const ids = await this.redis.zrevrange(this.indexKey, offset, stop);
    if (ids.length === 0) return [];
    const jsons = await this.redis.hmget(this.recordsKey, ...ids);
    return jsons.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as ModelRecord);
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.indexKey);
  }

  /** Unlists first (so nobody new picks it up), then removes the files. */
  async delete(id: string): Promise<boolean> {
    if (!MODEL_ID_PATTERN.test(id)) return false;
    const res = await this.redis.multi().hdel(this.recordsKey, id).zrem(this.indexKey, id).exec();
    const removed = res?.[0]?.[1] === 1;
    await rm(this.dir(id), { recursive: true, force: true });
    return removed;
  }

  async load(id: string): Promise<TrainedModel> {
    if (!(await this.exists(id))) throw new ModelNotFoundError(id);
    const dir = this.dir(id);
    // deleted meanwhile (the index is dropped first, the files right after)
    if (!(await stat(dir).catch(() => null))) throw new ModelNotFoundError(id);
    return (await this.io()).load(dir);
  }

  /**
   * Boot-time repair: drops temp dirs left by a crash mid-save and indexes complete
   * model dirs whose indexing a crash interrupted (between rename and index).
   */
  async reconcile(opts: { staleMs?: number } = {}): Promise<{ removedTemp: number; indexed: number }> {
    // A temp dir may belong to a save in progress on another host sharing the store,
    // so only old ones are removed.
    const staleMs = opts.staleMs ?? 3_600_000;
    const tmpRoot = join(this.modelsDir, TMP_DIR);
    let removedTemp = 0;
    let indexed = 0;
    for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
      const path = join(tmpRoot, name);
      const info = await stat(path).catch(() => null);
      if (!info || Date.now() - info.mtimeMs < staleMs) continue;
      await rm(path, { recursive: true, force: true });
      removedTemp++;
    }
    for (const name of await readdir(this.modelsDir).catch(() => [] as string[])) {
      if (!MODEL_ID_PATTERN.test(name) || (await this.exists(name))) continue;
      const json = await readFile(join(this.modelsDir, name, RECORD_FILE), 'utf8').catch(() => null);
      if (json === null) continue;
      await this.index(JSON.parse(json) as ModelRecord);
      indexed++;
    }
    return { removedTemp, indexed };
  }

  /** The store is usable: its directory exists and takes a write. */
  async checkWritable(): Promise<void> {
    await mkdir(this.modelsDir, { recursive: true });
    // unique per call: concurrent readiness probes must not remove each other's file
    const probe = join(this.modelsDir, `.probe-${process.pid}-${randomUUID()}`);
    await writeFile(probe, 'ok');
    await stat(probe);
    await rm(probe, { force: true });
  }
}

export class ModelNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`model ${id} not found`);
    this.name = 'ModelNotFoundError';
  }
}
