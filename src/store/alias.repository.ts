// Alias names (e.g. `default`) pointing at model ids: one Redis hash per prefix. An alias is
// only ever set to a registered model, checked in the same atomic script as the write, and a
// model's delete removes its aliases in one script too (model.repository.ts): no alias points
// at a deleted model, whatever the interleaving.
import type { Redis } from 'ioredis';
import { storeKeys } from './store-keys.ts';

export const ALIAS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const DEFAULT_ALIAS = 'default';

// ARGV[3] '1': only when the alias is absent. Returns -1 when the model is not registered.
const SET_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then return -1 end
if ARGV[3] == '1' then return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

export class AliasRepository {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly recordsKey: string;

  constructor(opts: { redis: Redis; prefix: string }) {
    this.redis = opts.redis;
    const keys = storeKeys(opts.prefix);
    this.key = keys.aliases;
    this.recordsKey = keys.records;
  }

  /** Points the alias at a registered model; false (nothing changed) when there is no such model. */
  async set(name: string, modelId: string): Promise<boolean> {
    assertName(name);
    return (await this.setScript(name, modelId, false)) === 1;
  }

  private async setScript(name: string, modelId: string, onlyIfAbsent: boolean): Promise<number> {
    return (await this.redis.eval(SET_SCRIPT, 2, this.key, this.recordsKey, name, modelId, onlyIfAbsent ? '1' : '0')) as number;
  }

  async resolve(name: string): Promise<string | null> {
    if (!ALIAS_NAME_PATTERN.test(name)) return null;
    return this.redis.hget(this.key, name);
  }

  async list(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key);
  }

  /**
   * True when it was set by this call (used for "the first trained model becomes default"); never
   * set to a model that is not registered (e.g. deleted a moment ago).
   */
  async setIfAbsent(name: string, modelId: string): Promise<boolean> {
    assertName(name);
    return (await this.setScript(name, modelId, true)) === 1;
  }

  async delete(name: string): Promise<boolean> {
    if (!ALIAS_NAME_PATTERN.test(name)) return false;
    return (await this.redis.hdel(this.key, name)) === 1;
  }

  /**
   * Removes every alias that points at modelId (a deleted model); returns their names.
   * Each removal is conditional in a Lua script, so an alias re-pointed meanwhile survives.
   */
  async deleteByModel(modelId: string): Promise<string[]> {
    const all = await this.list();
    const removed: string[] = [];
    for (const [name, target] of Object.entries(all)) {
      if (target !== modelId) continue;
      const n = (await this.redis.eval(
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0",
        1,
        this.key,
        name,
        modelId,
      )) as number;
      if (n === 1) removed.push(name);
    }
    return removed;
  }
}

function assertName(name: string): void {
  if (!ALIAS_NAME_PATTERN.test(name)) throw new RangeError(`invalid alias name: ${JSON.stringify(name)}`);
}
