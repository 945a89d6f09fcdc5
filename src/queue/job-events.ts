// The progress/event channel: workers (and the API, for cancels of queued jobs) publish
// JobEvents on one Redis pub/sub channel; each process keeps one subscriber connection and
// fans messages out to local listeners by job id.
import type { Redis } from 'ioredis';
import type { JobEvent } from './job-record.ts';

export async function publishJobEvent(redis: Redis, channel: string, event: JobEvent): Promise<void> {
  await redis.publish(channel, JSON.stringify(event));
}

type Listener = (e: JobEvent) => void;

export class JobEventBus {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly resubscribed = new Set<() => void>();
  private subscribed: Promise<unknown> | null = null;

  /** `subscriber` is a dedicated connection (subscriber mode blocks other commands). */
  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== this.channel) return;
      let event: JobEvent;
      try {
        event = JSON.parse(message) as JobEvent;
      } catch {
        return; // not ours; never let a stray message crash the process
      }
      for (const l of this.listeners.get(event.jobId) ?? []) l(event);
    });
    // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is lost,
    // so followers are told to check their records
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) for (const f of this.resubscribed) f();
      connectedBefore = true;
    });
  }

  /** Called after the subscriber connection came back (messages may have been missed). */
  onResubscribed(f: () => void): () => void {
    this.resubscribed.add(f);
    return () => this.resubscribed.delete(f);
  }

  /** Resolves once the subscription is active, so nothing published afterwards is missed. */
  ready(): Promise<unknown> {
    this.subscribed ??= this.subscriber.subscribe(this.channel);
    return this.subscribed;
  }

  on(jobId: string, listener: Listener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }
}
