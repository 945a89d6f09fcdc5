// Our own small record of each training job in Redis: a hash for the scalar fields, a hash
// of metrics keyed by member:epoch (a redone epoch replaces its entry instead of doubling
// it), and sorted sets by creation sequence for "newest first" listing per status.
// Status changes go through one Lua script so a cancel from the API and a worker's
// start/finish can never both win.
import type { Redis } from 'ioredis';
import type { EpochMetrics, Experiment } from '../engine/index.ts';
import { queueKeys, type QueueKeys } from './catalogue.ts';
import { JOB_STATUSES, TERMINAL_STATUSES, isTerminal, toSummary, type JobProgress, type JobRecord, type JobStatus, type JobSummary } from './job-record.ts';

// KEYS: record, all, expiry, metrics, cancelFlag
// ARGV: statusKeyPrefix, allowedFrom ('*' or space separated), newStatus ('' keeps),
//       ttlSeconds (applied when newStatus is terminal), nowMs, attempt ('' any: else applied only
//       while the record's `attempt` is this one), field, value, ... ('' value deletes)
// Returns false when the record is missing, else { applied (0|1), previous status }.
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return false end
if ARGV[2] ~= '*' then
  local ok = false
  for s in string.gmatch(ARGV[2], '%S+') do if s == cur then ok = true end end
  if not ok then return {0, cur} end
end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[6] then return {0, cur} end
for i = 7, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
local new = ARGV[3]
if new ~= '' and new ~= cur then
  local id = redis.call('HGET', KEYS[1], 'id')
  local seq = redis.call('HGET', KEYS[1], 'seq')
  redis.call('HSET', KEYS[1], 'status', new)
  redis.call('ZREM', ARGV[1] .. cur, id)
  redis.call('ZADD', ARGV[1] .. new, seq, id)
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', KEYS[4], ttl)
    redis.call('DEL', KEYS[5])
    redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + ttl * 1000, id)
  end
end
return {1, cur}
`;

// Retention: drop records whose age expired, and the oldest finished ones beyond the count.
// KEYS: all, expiry; ARGV: prefix, nowMs, keepCount, terminal statuses...
const PRUNE = `
local function drop(id)
  redis.call('DEL', ARGV[1] .. ':job:' .. id, ARGV[1] .. ':job:' .. id .. ':metrics', ARGV[1] .. ':job:' .. id .. ':cancel')
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  for i = 4, #ARGV do redis.call('ZREM', ARGV[1] .. ':jobs:status:' .. ARGV[i], id) end
end
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])) do drop(id); n = n + 1 end
local keep = tonumber(ARGV[3])
for i = 4, #ARGV do
  local key = ARGV[1] .. ':jobs:status:' .. ARGV[i]
  local extra = redis.call('ZCARD', key) - keep
  if extra > 0 then
    for _, id in ipairs(redis.call('ZRANGE', key, 0, extra - 1)) do drop(id); n = n + 1 end
  end
end
return n
`;

// A new record, and for an owned job its place in the owner's index and active set, refused
// when the owner already has `limit` queued or running jobs (the check and the write are one
// atomic step). The active set forgets jobs that ended or whose record expired on the way.
// KEYS: record, all, queued, seq, byOwner, ownerActive
// ARGV: id, limit (0: none), job key prefix, owned ('1' | '0'), field, value, ...
const CREATE = `
local owned = ARGV[4] == '1'
local limit = tonumber(ARGV[2])
if owned then
  for _, jid in ipairs(redis.call('SMEMBERS', KEYS[6])) do
    local st = redis.call('HGET', ARGV[3] .. jid, 'status')
    if st ~= 'queued' and st ~= 'running' then redis.call('SREM', KEYS[6], jid) end
  end
  local active = redis.call('SCARD', KEYS[6])
  if limit > 0 and active >= limit then return {0, active} end
end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'seq', seq, unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
if owned then
  redis.call('ZADD', KEYS[5], seq, ARGV[1])
  redis.call('SADD', KEYS[6], ARGV[1])
  -- keeps the owner's index about as long as the records it points to
  for _, jid in ipairs(redis.call('ZRANGE', KEYS[5], 0, 7)) do
    if redis.call('EXISTS', ARGV[3] .. jid) == 0 then redis.call('ZREM', KEYS[5], jid) end
  end
end
return {1, seq}
`;

// One owner's jobs newest first, optionally of one status: { total, ids of the page }.
// KEYS: byOwner; ARGV: job key prefix, status ('' = any), offset, limit
const LIST_OWNED = `
local offset, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local total, page = 0, {}
for _, jid in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local st = redis.call('HGET', ARGV[1] .. jid, 'status')
  if not st then
    redis.call('ZREM', KEYS[1], jid)
  elseif ARGV[2] == '' or st == ARGV[2] then
    if total >= offset and #page < limit then page[#page + 1] = jid end
    total = total + 1
  end
end
return {total, page}
`;

/** An owner has as many queued + running jobs as they may. */
export class JobLimitError extends Error {
  constructor(readonly owner: string, readonly active: number, readonly limit: number) {
    super(`"${owner}" already has ${active} queued or running jobs (the limit is ${limit})`);
    this.name = 'JobLimitError';
  }
}

export type RecordPatch = Partial<{
  progress: JobProgress;
  modelId: string;
  error: string | null;
  resumedFromEpoch: number;
  cancelRequested: boolean;
  backend: string;
  startedAt: string;
  finishedAt: string;
  /** Seconds this job has trained, summed over its attempts (JOB_TIMEOUT_S is checked against it). */
  runSeconds: number;
  /** The worker attempt that owns the running job (its BullMQ lock token): see `transition`'s `attempt`. */
  attempt: string;
}>;

export type RetentionOptions = {
  ageSeconds: number;
  count: number;
  /** Bound on stored epoch entries per job (MAX_EPOCH_METRICS); default 10,000. */
  maxEpochMetrics?: number;
};

export const DEFAULT_MAX_EPOCH_METRICS = 10_000;

// One epoch's metrics, bounded: the record's progress and lastEpoch always; the history entry
// (member:epoch) when its epoch is on the current stride k (epochs 1, 1+k, …) or replaces one.
// When the history outgrows the bound, k doubles and the entries off it are dropped (halving,
// so a long run keeps an even sample of its whole curve, first epochs included). It stops
// when nothing more can go (one entry per member left).
// KEYS: metrics, record; ARGV: field, metricsJson, progressJson, max, epoch, attempt ('' any)
const PUT_EPOCH = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[2], 'attempt') ~= ARGV[6] then return 0 end
local k = tonumber(redis.call('HGET', KEYS[2], 'metricsEvery') or '1')
redis.call('HSET', KEYS[2], 'progress', ARGV[3], 'lastEpoch', ARGV[2])
local epoch = tonumber(ARGV[5])
if (epoch - 1) % k == 0 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local max = tonumber(ARGV[4])
while redis.call('HLEN', KEYS[1]) > max do
  k = k * 2
  local dropped = 0
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    local e = tonumber(string.match(f, ':(%d+)$'))
    if e and (e - 1) % k ~= 0 then
      redis.call('HDEL', KEYS[1], f)
      dropped = dropped + 1
    end
  end
  redis.call('HSET', KEYS[2], 'metricsEvery', k)
  if dropped == 0 then break end
end
return 1
`;

export class JobRecordRepository {
  readonly keys: QueueKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retention: RetentionOptions,
  ) {
    this.keys = queueKeys(prefix);
  }

  /**
   * Writes a new queued record. With an owner it also joins the owner's index, and with
   * `maxActive` it is refused (JobLimitError) when the owner already has that many queued or
   * running jobs — checked and recorded in one Lua script, so concurrent submits cannot both
   * slip under the limit.
   */
  async create(input: { id: string; name?: string; owner?: string; maxActive?: number; experiment: Experiment }): Promise<JobRecord> {
    const epochs = input.experiment.training.epochs;
    const members = input.experiment.ensemble?.size;
    const record: JobRecord = {
      id: input.id,
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.owner !== undefined ? { owner: input.owner } : {}),
      status: 'queued',
      progress: members ? { epoch: 0, epochs, member: 0, members } : { epoch: 0, epochs },
      metrics: [],
      experiment: input.experiment,
      attempts: 0,
      createdAt: new Date().toISOString(),
    };
    const fields: Record<string, string> = {
      id: record.id,
      status: record.status,
      progress: JSON.stringify(record.progress),
      experiment: JSON.stringify(record.experiment),
      attempts: '0',
      createdAt: record.createdAt,
    };
    if (record.name !== undefined) fields.name = record.name;
    if (record.owner !== undefined) fields.owner = record.owner;
    const owner = input.owner ?? '';
    const keys = [
      this.keys.record(record.id), this.keys.all, this.keys.byStatus('queued'), this.keys.seq,
      // unused placeholders when there is no owner (never written)
      this.keys.byOwner(owner || '-'), this.keys.ownerActive(owner || '-'),
    ];
    const args = [record.id, String(input.maxActive ?? 0), `${this.prefix}:job:`, owner ? '1' : '0', ...Object.entries(fields).flat()];
    const [ok, n] = (await this.redis.eval(CREATE, keys.length, ...keys, ...args)) as [number, number];
    if (ok !== 1) throw new JobLimitError(owner, n, input.maxActive ?? 0);
    return record;
  }

  /** Removes a record entirely (used when enqueueing failed after the record was written). */
  async remove(id: string, owner?: string): Promise<void> {
    const multi = this.redis.multi().del(this.keys.record(id), this.keys.metrics(id), this.keys.cancelFlag(id));
    multi.zrem(this.keys.all, id).zrem(this.keys.expiry, id);
    if (owner) multi.zrem(this.keys.byOwner(owner), id).srem(this.keys.ownerActive(owner), id);
    for (const s of JOB_STATUSES) multi.zrem(this.keys.byStatus(s), id);
    await multi.exec();
  }

  async get(id: string): Promise<JobRecord | null> {
    const [rec, metrics] = await Promise.all([
      this.redis.hgetall(this.keys.record(id)),
      this.redis.hgetall(this.keys.metrics(id)),
    ]);
    return rec.id ? decode(rec, metrics) : null;
  }

  /**
   * Applies a patch and, optionally, a status change, atomically — only when the current
   * status is one of `from`. Returns the previous status, or null when not applied/missing.
   */
  async transition(
    id: string, from: readonly JobStatus[] | '*', to: JobStatus | null, patch: RecordPatch = {},
    /** Applied only while the record's `attempt` is this one: a worker cut off from Redis whose job another worker took over writes nothing. */
    fence: { attempt?: string } = {},
  ): Promise<JobStatus | null> {
    const ttl = to && isTerminal(to) ? this.retention.ageSeconds : 0;
    const args: string[] = [this.keys.byStatus(''), from === '*' ? '*' : from.join(' '), to ?? '', String(ttl), String(Date.now()), fence.attempt ?? ''];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      args.push(k, v === null || v === false ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    }
    const keys = [this.keys.record(id), this.keys.all, this.keys.expiry, this.keys.metrics(id), this.keys.cancelFlag(id)];
    const res = (await this.redis.eval(TRANSITION, keys.length, ...keys, ...args)) as [number, string] | null;
    if (to && isTerminal(to) && res && res[0] === 1) await this.prune();
    return res && res[0] === 1 ? (res[1] as JobStatus) : null;
  }

  /** Counts one more start of the job by a worker. */
  async incrementAttempts(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.record(id), 'attempts', 1);
  }

  /** Counts one more worker that died (or lost its lock) while running the job; returns the total. */
  async incrementWorkerDeaths(id: string): Promise<number> {
    return this.redis.hincrby(this.keys.record(id), 'workerDeaths', 1);
  }

  /** Seconds the job has trained so far, over all its attempts (0 for a new job). */
  async runSeconds(id: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.record(id), 'runSeconds')) ?? 0) || 0;
  }

  /**
   * Stores one epoch's metrics (replacing a redone epoch), the progress and the last epoch,
   * keeping the history within maxEpochMetrics (see PUT_EPOCH). A missing record stays missing.
   */
  async putEpoch(id: string, m: EpochMetrics, progress: JobProgress, fence: { attempt?: string } = {}): Promise<boolean> {
    const max = this.retention.maxEpochMetrics ?? DEFAULT_MAX_EPOCH_METRICS;
    const json = JSON.stringify(m);
    const res = await this.redis.eval(PUT_EPOCH, 2, this.keys.metrics(id), this.keys.record(id),
      `${m.member ?? 0}:${m.epoch}`, json, JSON.stringify(progress), String(max), String(m.epoch), fence.attempt ?? '');
    return res === 1;
  }

  async setProgress(id: string, progress: JobProgress): Promise<void> {
    await this.redis.hset(this.keys.record(id), 'progress', JSON.stringify(progress));
  }

  async list(opts: { status?: JobStatus; owner?: string; limit: number; offset: number }): Promise<{ items: JobSummary[]; total: number }> {
    await this.prune();
    if (opts.owner !== undefined) return this.listOwned(opts.owner, opts);
    const set = opts.status ? this.keys.byStatus(opts.status) : this.keys.all;
    const [ids, total] = await Promise.all([
      this.redis.zrevrange(set, opts.offset, opts.offset + opts.limit - 1),
      this.redis.zcard(set),
    ]);
    const items = (await Promise.all(ids.map((id) => this.getSummary(id)))).filter((r): r is JobSummary => r !== null);
    return { items, total };
  }

  /** The record without reading its metric history (lists). */
  async getSummary(id: string): Promise<JobSummary | null> {
    const rec = await this.redis.hgetall(this.keys.record(id));
    return rec.id ? toSummary(decode(rec, {})) : null;
  }

  /** Status and last epoch only: what a follower checks to know whether it missed anything. */
  async peek(id: string): Promise<{ status: JobStatus; lastEpoch?: EpochMetrics } | null> {
    const [status, last] = await this.redis.hmget(this.keys.record(id), 'status', 'lastEpoch');
    if (!status) return null;
    return { status: status as JobStatus, ...(last ? { lastEpoch: JSON.parse(last) as EpochMetrics } : {}) };
  }

  /** One owner's jobs, newest first (the owner's index; entries of expired records are dropped on the way). */
  private async listOwned(owner: string, opts: { status?: JobStatus; limit: number; offset: number }): Promise<{ items: JobSummary[]; total: number }> {
    const [total, ids] = (await this.redis.eval(
      LIST_OWNED, 1, this.keys.byOwner(owner), `${this.prefix}:job:`, opts.status ?? '', String(opts.offset), String(opts.limit),
    )) as [number, string[]];
    const items = (await Promise.all(ids.map((id) => this.getSummary(id)))).filter((r): r is JobSummary => r !== null);
    return { items, total };
  }

  async counts(): Promise<Record<JobStatus, number>> {
    await this.prune();
    const n = await Promise.all(JOB_STATUSES.map((s) => this.redis.zcard(this.keys.byStatus(s))));
    return Object.fromEntries(JOB_STATUSES.map((s, i) => [s, n[i]])) as Record<JobStatus, number>;
  }

  async prune(): Promise<number> {
    const args = [this.prefix, String(Date.now()), String(this.retention.count), ...TERMINAL_STATUSES];
    return (await this.redis.eval(PRUNE, 2, this.keys.all, this.keys.expiry, ...args)) as number;
  }
}

function decode(h: Record<string, string>, metricsHash: Record<string, string>): JobRecord {
  const metrics = Object.values(metricsHash)
    .map((s) => JSON.parse(s) as EpochMetrics)
    .sort((a, b) => (a.member ?? 0) - (b.member ?? 0) || a.epoch - b.epoch);
  // fields every record is created with: one missing is a corrupt record, said as such
  const need = (field: string): string => {
    const v = h[field];
    if (v === undefined) throw new Error(`corrupt job record ${h.id ?? '?'}: no ${field}`);
    return v;
  };
  const r: JobRecord = {
    id: need('id'),
    status: need('status') as JobStatus,
    progress: JSON.parse(need('progress')) as JobProgress,
    metrics,
    experiment: JSON.parse(need('experiment')) as Experiment,
    attempts: Number(h.attempts ?? 0),
    createdAt: need('createdAt'),
  };
  if (h.name !== undefined) r.name = h.name;
  if (h.owner) r.owner = h.owner;
  if (h.modelId) r.modelId = h.modelId;
  if (h.error) r.error = h.error;
  if (h.resumedFromEpoch) r.resumedFromEpoch = Number(h.resumedFromEpoch);
  if (h.workerDeaths && Number(h.workerDeaths) > 0) r.workerDeaths = Number(h.workerDeaths);
  if (h.cancelRequested) r.cancelRequested = true;
  if (h.backend === 'native' || h.backend === 'tfjs') r.backend = h.backend;
  if (h.startedAt) r.startedAt = h.startedAt;
  if (h.finishedAt) r.finishedAt = h.finishedAt;
  if (h.metricsEvery && Number(h.metricsEvery) > 1) r.metricsEvery = Number(h.metricsEvery);
  if (h.lastEpoch) r.lastEpoch = JSON.parse(h.lastEpoch) as EpochMetrics;
  return r;
}
