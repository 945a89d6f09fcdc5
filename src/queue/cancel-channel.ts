// Cancelling a running job from any API instance: a Redis key (durable — a worker that picks
// the job up later still sees it) plus a pub/sub message (prompt — the worker running it
// flips the engine's signal at once). Workers also poll the key, in case a message is lost.
import type { Redis } from 'ioredis';
import { queueKeys } from './catalogue.ts';

export class CancelChannel {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.keys = queueKeys(prefix);
  }

  async request(jobId: string): Promise<void> {
    await this.redis.set(this.keys.cancelFlag(jobId), '1', 'EX', this.ttlSeconds);
    await this.redis.publish(this.keys.cancelChannel, jobId);
  }

  async isRequested(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelFlag(jobId))) === 1;
  }

  async clear(jobId: string): Promise<void> {
    await this.redis.del(this.keys.cancelFlag(jobId));
  }

  /** Calls `onCancel(jobId)` for every cancel message; `subscriber` is a dedicated connection. */
  async listen(subscriber: Redis, onCancel: (jobId: string) => void): Promise<void> {
    subscriber.on('message', (ch: string, jobId: string) => {
      if (ch === this.keys.cancelChannel) onCancel(jobId);
    });
    await subscriber.subscribe(this.keys.cancelChannel);
  }
}
