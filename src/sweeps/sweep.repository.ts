// A sweep in Redis: one hash (the plan, the trials launched so far, the status, the best trial)
// and a sorted set of every sweep by creation time. Only the wave job running for a sweep writes
// its trials (BullMQ runs one wave job at a time per sweep); status changes go through one Lua
// script, so a cancel and the coordinator's finish cannot both win.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { queueKeys } from '../queue/catalogue.ts';
import type { Params } from './search-space.ts';
import type { SweepPlan } from './sweep-spec.ts';

export const SWEEP_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type SweepStatus = (typeof SWEEP_STATUSES)[number];
export const isSweepFinished = (s: SweepStatus) => s !== 'running';

/** A trial launched: the training job that runs it, its settings, its halving rung. */
export type TrialRef = {
  jobId: string;
  /** Its place in the plan's trial list (a promoted trial keeps its index). */
  index: number;
  params: Params;
  rung: number;
  /** The wave (flow) it was queued in. */
  wave: number;
  /** The trial of the rung before whose checkpoint this one continues from. */
  resumedFrom?: string;
};

export type SweepBest = { jobId: string; modelId?: string; params: Params; rung: number; validationAccuracy: number | null; validationCost: number | null };

export type SweepRecord = {
  id: string;
  owner?: string;
  status: SweepStatus;
  plan: SweepPlan;
  trials: TrialRef[];
  /** Waves launched so far (the next wave's number). */
  waves: number;
  best?: SweepBest;
  error?: string;
  createdAt: string;
  finishedAt?: string;
};

// KEYS: record; ARGV: allowed statuses (space separated), new status, ttlSeconds, field, value, ...
const FINISH = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return false end
local ok = false
for s in string.gmatch(ARGV[1], '%S+') do if s == cur then ok = true end end
if not ok then return cur end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
return 'ok'
`;

export class SweepRepository {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    /** Seconds a finished sweep is kept (JOB_RETENTION_AGE_S, as its trials). */
    private readonly retentionSeconds: number,
  ) {
    this.keys = queueKeys(prefix);
  }

  async create(plan: SweepPlan, owner?: string): Promise<SweepRecord> {
    const rec: SweepRecord = {
      id: randomUUID(), ...(owner !== undefined ? { owner } : {}), status: 'running', plan, trials: [], waves: 0, createdAt: new Date().toISOString(),
    };
    await this.redis.multi()
      .hset(this.keys.sweep(rec.id), {
        id: rec.id, status: rec.status, plan: JSON.stringify(plan), trials: '[]', waves: '0', createdAt: rec.createdAt,
        ...(owner !== undefined ? { owner } : {}),
      })
      .zadd(this.keys.sweepsAll, Date.now(), rec.id)
      .exec();
    return rec;
  }

  async get(id: string): Promise<SweepRecord | null> {
    const h = await this.redis.hgetall(this.keys.sweep(id));
    if (!h.id) return null;
    return {
      id: h.id,
      ...(h.owner !== undefined ? { owner: h.owner } : {}),
      status: h.status as SweepStatus,
      plan: JSON.parse(h.plan!) as SweepPlan,
      trials: JSON.parse(h.trials ?? '[]') as TrialRef[],
      waves: Number(h.waves ?? 0),
      ...(h.best ? { best: JSON.parse(h.best) as SweepBest } : {}),
      ...(h.error ? { error: h.error } : {}),
      createdAt: h.createdAt!,
      ...(h.finishedAt ? { finishedAt: h.finishedAt } : {}),
    };
  }

  /** Records the trials of a new wave (written before the wave is queued, so none is ever unlisted). */
  async setTrials(id: string, trials: TrialRef[], waves: number): Promise<void> {
    await this.redis.hset(this.keys.sweep(id), 'trials', JSON.stringify(trials), 'waves', String(waves));
  }

  /** Moves a running sweep to its end status; false when it had already ended (or is gone). */
  async finish(id: string, status: Exclude<SweepStatus, 'running'>, fields: { best?: SweepBest; error?: string } = {}): Promise<boolean> {
    const args: string[] = ['finishedAt', new Date().toISOString()];
    if (fields.best) args.push('best', JSON.stringify(fields.best));
    if (fields.error) args.push('error', fields.error);
    const res = await this.redis.eval(FINISH, 1, this.keys.sweep(id), 'running', status, String(this.retentionSeconds), ...args);
    return res === 'ok';
  }

  /** Newest first; the index forgets sweeps whose record expired. */
  async list(opts: { owner?: string; limit: number; offset: number }): Promise<{ items: SweepRecord[]; total: number }> {
    const ids = await this.redis.zrevrange(this.keys.sweepsAll, 0, -1);
    const items: SweepRecord[] = [];
    let total = 0;
    const gone: string[] = [];
    for (const id of ids) {
      const owner = await this.redis.hget(this.keys.sweep(id), 'owner');
      if (owner === null && !(await this.redis.exists(this.keys.sweep(id)))) {
        gone.push(id);
        continue;
      }
      if (opts.owner !== undefined && owner !== opts.owner) continue;
      if (total >= opts.offset && items.length < opts.limit) {
        const rec = await this.get(id);
        if (rec) items.push(rec);
      }
      total++;
    }
    if (gone.length > 0) await this.redis.zrem(this.keys.sweepsAll, ...gone);
    return { items, total };
  }
}
