// Open event streams of one API instance, capped per caller and in all: a stream holds a
// socket, a subscriber listener and a timer for as long as the job runs (hours), so a caller
// cannot open thousands of them.

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
