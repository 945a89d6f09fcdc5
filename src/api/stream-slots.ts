// Open event streams of one API instance, capped per caller and in all: a stream holds a
// socket, a subscriber listener and a timer for as long as the job runs (hours), so a caller
// cannot open thousands of them.
import { ApiError, tooManyRequests } from '../errors.ts';

/** Seconds a refused caller is told to wait before opening a stream again. */
export const STREAM_RETRY_AFTER_S = 5;

export class StreamSlots {
  private readonly byCaller = new Map<string, number>();
  private open = 0;

  constructor(
    readonly total: number,
    readonly perCaller: number,
  ) {}

  /** Takes a slot for `caller`; returns why not ('caller' | 'total'), or null when taken. */
  take(caller: string): 'caller' | 'total' | null {
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.perCaller) return 'caller';
    if (this.open >= this.total) return 'total';
    this.byCaller.set(caller, mine + 1);
    this.open++;
    return null;
  }

  /** Takes a slot for `caller`, or throws the route's answer: 429 (this caller's cap) or 503 (the instance's). */
  takeOrRefuse(caller: string): void {
    const refused = this.take(caller);
    if (refused === 'caller') {
      throw tooManyRequests('too_many_streams', `at most ${this.perCaller} event streams open at once per caller; close one first`, STREAM_RETRY_AFTER_S, { limit: this.perCaller });
    }
    if (refused === 'total') {
      throw new ApiError(503, 'overloaded', 'too many event streams open on this instance; retry shortly', { limit: this.total }, { 'retry-after': String(STREAM_RETRY_AFTER_S) });
    }
  }

  give(caller: string): void {
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine <= 1) this.byCaller.delete(caller);
    else this.byCaller.set(caller, mine - 1);
    this.open = Math.max(0, this.open - 1);
  }

  get size(): number {
    return this.open;
  }
}
