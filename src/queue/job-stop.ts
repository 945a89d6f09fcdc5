// Why a running job should stop, as the queue sees it: `cancel` (a client asked) or `interrupt`
// (shutdown or JOB_TIMEOUT_S: stop at a mini-batch boundary, checkpoint, hand back or fail).
// The first request wins. The worker turns it into the engine's own signal
// (workers/train.processor.ts), so the queue needs none of the engine's runtime values.
export type StopReason = 'cancel' | 'interrupt';

/** What a processor sees of its job's stop request. */
export interface JobStopView {
  /** null while the job may run on. */
  readonly reason: StopReason | null;
  /** Calls `f` once the stop is requested (at once if it already was); returns an unsubscribe. */
  onStop(f: (reason: StopReason) => void): () => void;
}

export class JobStop implements JobStopView {
  private current: StopReason | null = null;
  private readonly listeners = new Set<(reason: StopReason) => void>();

  get reason(): StopReason | null {
    return this.current;
  }

  /** Asks the job to stop; false when a stop was already asked (the first reason stands). */
  request(reason: StopReason): boolean {
    if (this.current) return false;
    this.current = reason;
    for (const f of this.listeners) f(reason);
    return true;
  }

  onStop(f: (reason: StopReason) => void): () => void {
    if (this.current) f(this.current);
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }
}
