// Models on disk (DATA_DIR/models/<id>/), indexed in Redis. The directory is the truth,
// the index is what gets listed: a model is written whole into a temp dir, fsynced, renamed
// into place (the directory fsynced too), and only then indexed, so no reader ever sees half a
// model and the index never names files a power cut could lose. A job's model has an id derived
// from the job id (one model per job, whatever the redeliveries); a delete leaves a tombstone in
// Redis before it removes any file, so boot repair never brings a deleted model back.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { StoredModel } from '../engine/index.ts';
import { fsyncPath, fsyncTree, isNoSpace, StoreFullError, writeFileSynced } from './durable-fs.ts';
import { type ModelCard, MODEL_ID_PATTERN, modelIdForJob, newModelId, parseModelRecord, recordFor, type ModelRecord } from './model-record.ts';
import { storeKeys } from './store-keys.ts';

export type { ModelRecord } from './model-record.ts';
export { StoreFullError } from './durable-fs.ts';

/** How model files are written and read; the engine's saveModel/loadModel unless a test injects others. */
export type ModelFiles = {
  save(dir: string, model: StoredModel): Promise<void>;
  load(dir: string): Promise<StoredModel>;
};

async function engineFiles(): Promise<ModelFiles> {
  // Loaded lazily so the registry (list/get/delete) works without the native addon.
  const engine = await import('../engine/index.ts');
  return { save: engine.saveStoredModel, load: engine.loadStoredModel };
}

const RECORD_FILE = 'record.json';
const TMP_DIR = '.tmp';
/** Deleted model dirs are renamed here (one atomic step) before their files are removed. */
const TRASH_DIR = '.trash';

// Index a record unless the model was deleted meanwhile (a tombstone wins over a late save).
const INDEX_SCRIPT = `
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`;

// Unlist, tombstone and drop every alias pointing at the model, in one step: no alias can be
// set to it afterwards (alias writes check the record exists, atomically too).
const DELETE_SCRIPT = `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
local removed = {}
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[4], all[i])
    table.insert(removed, all[i])
  end
end
return {n, removed}`;

// Aliases whose model is not in the registry (e.g. left by a crash of an older version).
const DANGLING_ALIASES_SCRIPT = `
local removed = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if redis.call('HEXISTS', KEYS[2], all[i + 1]) == 0 then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(removed, all[i])
  end
end
return removed`;

/** What boot repair did (see reconcile). */
export type ReconcileReport = {
  removedTemp: number;
  indexed: number;
  /** Deletes a crash interrupted (tombstoned, files still there), finished now. */
  finishedDeletes: number;
  /** Model dirs left alone because their record.json is missing or corrupt (each logged). */
  skipped: { id: string; reason: string }[];
  /** Aliases that pointed at no registered model, removed. */
  aliasesRemoved: string[];
  /**
   * Indexed models whose directory is missing under DATA_DIR (files lost, or DATA_DIR is not the
   * store's directory): left indexed, since a tombstone would stop their re-indexing should the
   * files come back; logged, and predictions with them answer 404 meanwhile.
   */
  missingFiles: string[];
};

export type JobModel = { state: 'saved'; record: ModelRecord } | { state: 'deleted'; id: string };

export class ModelRepository {
  readonly modelsDir: string;
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof storeKeys>;
  private files?: ModelFiles;

  constructor(opts: { dataDir: string; redis: Redis; prefix: string; files?: ModelFiles }) {
    this.modelsDir = join(opts.dataDir, 'models');
    this.redis = opts.redis;
    this.keys = storeKeys(opts.prefix);
    this.files = opts.files;
  }

  private async io(): Promise<ModelFiles> {
    return (this.files ??= await engineFiles());
  }

  private dir(id: string): string {
    if (!MODEL_ID_PATTERN.test(id)) throw new RangeError(`invalid model id: ${JSON.stringify(id)}`);
    return join(this.modelsDir, id);
  }

  /**
   * Saves a model and indexes it. With a jobId the model's id is the job's (modelIdForJob): when
   * that model is already saved (a redelivered job, or two workers finishing the same job) the
   * saved one is returned and nothing is written; when it was deleted, ModelDeletedError.
   * Disk full: StoreFullError, with no temp files left and nothing indexed.
   */
  async save(model: StoredModel, meta: { jobId?: string; name?: string; owner?: string; card?: ModelCard } = {}): Promise<ModelRecord> {
    const forJob = meta.jobId !== undefined;
    const id = forJob ? modelIdForJob(meta.jobId!) : newModelId();
    if (forJob) {
      const existing = await this.findForJob(meta.jobId!);
      if (existing?.state === 'deleted') throw new ModelDeletedError(id);
      if (existing) return existing.record;
    }
    const record = recordFor(id, model, meta);
    const tmp = join(this.modelsDir, TMP_DIR, `${id}-${process.pid}-${randomUUID().slice(0, 8)}`);
    let duplicate = false;
    try {
      await mkdir(tmp, { recursive: true });
      await (await this.io()).save(tmp, model);
      await writeFileSynced(join(tmp, RECORD_FILE), JSON.stringify(record));
      await fsyncTree(tmp);
      try {
        await rename(tmp, this.dir(id));
      } catch (err) {
        // Another attempt of the same job got there first: its model stands, ours goes.
        const code = (err as NodeJS.ErrnoException).code;
        if (!forJob || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw err;
        duplicate = true;
      }
      await fsyncPath(this.modelsDir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      if (isNoSpace(err)) throw new StoreFullError(`model ${id} in ${this.modelsDir}`, err);
      throw err;
    }
    if (duplicate) {
      await rm(tmp, { recursive: true, force: true });
      const saved = await this.readRecordFile(id);
      if (!(await this.index(saved))) throw new ModelDeletedError(id);
      return saved;
    }
    if (!(await this.index(record))) {
      // deleted between our rename and our index: finish that delete
      await this.removeFiles(id);
      throw new ModelDeletedError(id);
    }
    return record;
  }

  /**
   * The model a job saved, if any: indexed, or on disk but not yet indexed (a crash between the
   * rename and the index; indexed now), or deleted since.
   */
  async findForJob(jobId: string): Promise<JobModel | null> {
    const id = modelIdForJob(jobId);
    if (await this.isDeleted(id)) return { state: 'deleted', id };
    const indexed = await this.get(id);
    if (indexed) return { state: 'saved', record: indexed };
    const onDisk = await this.readRecordFile(id).catch(() => null);
    if (!onDisk) return null;
    if (!(await this.index(onDisk))) return { state: 'deleted', id };
    return { state: 'saved', record: onDisk };
  }

  private async readRecordFile(id: string): Promise<ModelRecord> {
    return parseModelRecord(await readFile(join(this.dir(id), RECORD_FILE), 'utf8'), id);
  }

  /** False when the model has a tombstone (it was deleted): then nothing is indexed. */
  private async index(record: ModelRecord): Promise<boolean> {
    const k = this.keys;
    const n = await this.redis.eval(INDEX_SCRIPT, 3, k.records, k.index, k.deleted, record.id, JSON.stringify(record), Date.parse(record.createdAt));
    return n === 1;
  }

  async isDeleted(id: string): Promise<boolean> {
    return MODEL_ID_PATTERN.test(id) && (await this.redis.sismember(this.keys.deleted, id)) === 1;
  }

  async get(id: string): Promise<ModelRecord | null> {
    if (!MODEL_ID_PATTERN.test(id)) return null;
    const json = await this.redis.hget(this.keys.records, id);
    return json ? (JSON.parse(json) as ModelRecord) : null;
  }

  async exists(id: string): Promise<boolean> {
    return MODEL_ID_PATTERN.test(id) && (await this.redis.hexists(this.keys.records, id)) === 1;
  }

  /** Newest first. */
  async list(opts: { limit?: number; offset?: number } = {}): Promise<ModelRecord[]> {
    const offset = opts.offset ?? 0;
    const stop = opts.limit === undefined ? -1 : offset + opts.limit - 1;
    const ids = await this.redis.zrevrange(this.keys.index, offset, stop);
    if (ids.length === 0) return [];
    const jsons = await this.redis.hmget(this.keys.records, ...ids);
    return jsons.filter((j): j is string => j !== null).map((j) => JSON.parse(j) as ModelRecord);
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.index);
  }

  /**
   * Deletes a model: unlist() then removeFiles(). True when it was listed. A crash between the two
   * leaves a tombstone, and boot repair (reconcile) finishes the delete.
   */
  async delete(id: string): Promise<boolean> {
    if (!MODEL_ID_PATTERN.test(id)) return false;
    const { deleted } = await this.unlist(id);
    await this.removeFiles(id);
    return deleted;
  }

  /**
   * Step one of a delete, one atomic Redis script: the model leaves the index, gets a tombstone,
   * and every alias pointing at it is removed (their names are returned).
   */
  async unlist(id: string): Promise<{ deleted: boolean; aliasesRemoved: string[] }> {
    if (!MODEL_ID_PATTERN.test(id)) return { deleted: false, aliasesRemoved: [] };
    const k = this.keys;
    const [n, aliasesRemoved] = (await this.redis.eval(DELETE_SCRIPT, 4, k.records, k.index, k.deleted, k.aliases, id)) as [number, string[]];
    return { deleted: n === 1, aliasesRemoved };
  }

  /** Step two: the directory is renamed into .trash (one atomic, fsynced step), then removed. */
  async removeFiles(id: string): Promise<void> {
    const trashRoot = join(this.modelsDir, TRASH_DIR);
    const trash = join(trashRoot, `${id}-${process.pid}-${randomUUID().slice(0, 8)}`);
    await mkdir(trashRoot, { recursive: true });
    try {
      await rename(this.dir(id), trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fsyncPath(this.modelsDir);
    await rm(trash, { recursive: true, force: true });
  }

  async load(id: string): Promise<StoredModel> {
    if (!(await this.exists(id))) throw new ModelNotFoundError(id);
    const dir = this.dir(id);
    // deleted meanwhile (the index is dropped first, the files right after)
    if (!(await stat(dir).catch(() => null))) throw new ModelNotFoundError(id);
    return (await this.io()).load(dir);
  }

  /**
   * Boot-time repair, one model directory at a time (a bad one is logged and skipped, never
   * stops the rest): drops temp dirs left by a crash mid-save and trash left by a crash
   * mid-delete, finishes deletes a crash interrupted (tombstoned dirs), indexes complete model
   * dirs whose indexing a crash interrupted (between rename and index), removes aliases that
   * point at no registered model, and names (logs, never unlists) indexed models with no files.
   */
  async reconcile(opts: { staleMs?: number; log?: (msg: string, extra: Record<string, unknown>) => void } = {}): Promise<ReconcileReport> {
    // A temp dir may belong to a save in progress on another host sharing the store,
    // so only old ones are removed.
    const staleMs = opts.staleMs ?? 3_600_000;
    const log = opts.log ?? (() => {});
    const report: ReconcileReport = { removedTemp: 0, indexed: 0, finishedDeletes: 0, skipped: [], aliasesRemoved: [], missingFiles: [] };
    const tmpRoot = join(this.modelsDir, TMP_DIR);
    for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
      const path = join(tmpRoot, name);
      const info = await stat(path).catch(() => null);
      if (!info || Date.now() - info.mtimeMs < staleMs) continue;
      await rm(path, { recursive: true, force: true });
      report.removedTemp++;
    }
    // trash is garbage whoever left it (a delete in progress elsewhere removes its own with force)
    await rm(join(this.modelsDir, TRASH_DIR), { recursive: true, force: true });
    for (const name of await readdir(this.modelsDir).catch(() => [] as string[])) {
      if (!MODEL_ID_PATTERN.test(name)) continue;
      try {
        if (await this.isDeleted(name)) {
          await this.removeFiles(name);
          report.finishedDeletes++;
          log('store: finished an interrupted delete', { modelId: name });
          continue;
        }
        if (await this.exists(name)) continue;
        let record: ModelRecord;
        try {
          record = await this.readRecordFile(name);
        } catch (err) {
          const reason = (err as Error).message;
          report.skipped.push({ id: name, reason });
          log('store: model directory skipped by boot repair (not indexed)', { modelId: name, reason });
          continue;
        }
        if (await this.index(record)) report.indexed++;
      } catch (err) {
        const reason = (err as Error).message;
        report.skipped.push({ id: name, reason });
        log('store: model directory skipped by boot repair', { modelId: name, reason });
      }
    }
    for (const id of await this.redis.zrange(this.keys.index, '0', '-1')) {
      if (!(await stat(this.dir(id)).catch(() => null))) report.missingFiles.push(id);
    }
    if (report.missingFiles.length > 0) {
      log('store: indexed models have no files under DATA_DIR (lost, or DATA_DIR is not the store\'s directory); they answer 404 until the files come back', {
        count: report.missingFiles.length, models: report.missingFiles.slice(0, 20), modelsDir: this.modelsDir,
      });
    }
    report.aliasesRemoved = (await this.redis.eval(DANGLING_ALIASES_SCRIPT, 2, this.keys.aliases, this.keys.records)) as string[];
    if (report.aliasesRemoved.length > 0) log('store: removed aliases to unregistered models', { aliases: report.aliasesRemoved });
    return report;
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

/** The model (of a job) was deleted: it is not saved again. */
export class ModelDeletedError extends Error {
  constructor(readonly id: string) {
    super(`model ${id} was deleted`);
    this.name = 'ModelDeletedError';
  }
}

export class ModelNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`model ${id} not found`);
    this.name = 'ModelNotFoundError';
  }
}
