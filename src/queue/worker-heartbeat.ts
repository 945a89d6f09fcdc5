// A training worker's heartbeat in Redis: `<prefix>:workers:<host>:<pid>` = what it is, with a
// TTL of three beats, renewed every beat while its event loop turns and Redis answers, deleted
// when it stops. scripts/worker-health.ts (the containers' healthcheck) looks for its host's key.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

export const HEARTBEAT_MS = 10_000;
const TTL_S = Math.ceil((3 * HEARTBEAT_MS) / 1000);

export const heartbeatPattern = (prefix: string, host = hostname()) => `${prefix}:workers:${host}:*`;

export class WorkerHeartbeat {
  readonly key: string;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly info: Record<string, unknown> = {},
    private readonly everyMs = HEARTBEAT_MS,
  ) {
    this.key = `${prefix}:workers:${hostname()}:${process.pid}`;
  }

  /** Beats now (throws if Redis does not take it), then every `everyMs`; later failures only skip a beat. */
  async start(): Promise<void> {
    await this.beat();
    this.timer ??= setInterval(() => void this.beat().catch(() => {}), this.everyMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const value = JSON.stringify({ ...this.info, pid: process.pid, host: hostname(), at: new Date().toISOString() });
    await this.redis.set(this.key, value, 'EX', Math.max(TTL_S, Math.ceil((3 * this.everyMs) / 1000)));
  }

  /** Stops beating and removes the key: best effort, at most a second (Redis may be gone). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.redis.del(this.key).catch(() => {}),
      new Promise((resolve) => (timeout = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timeout);
  }
}
