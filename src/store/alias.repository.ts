// Alias names (e.g. `default`) pointing at model ids: one Redis hash per prefix.
import type { Redis } from 'ioredis';

export const ALIAS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const DEFAULT_ALIAS = 'default';

export class AliasRepository {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(opts: { redis: Redis; prefix: string }) {
    this.redis = opts.redis;
    this.key = `${opts.prefix}:aliases`;
  }

  async set(name: string, modelId: string): Promise<void> {
    assertName(name);
    await this.redis.hset(this.key, name, modelId);
  }

  async resolve(name: string): Promise<string | null> {
    if (!ALIAS_NAME_PATTERN.test(name)) return null;
    return this.redis.hget(this.key, name);
  }

  async list(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key);
  }

  /** True when it was set by this call (used for "the first trained model becomes default"). */
  async setIfAbsent(name: string, modelId: string): Promise<boolean> {
    assertName(name);
    return (await this.redis.hsetnx(this.key, name, modelId)) === 1;
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
