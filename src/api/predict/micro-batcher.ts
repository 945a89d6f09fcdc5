// Merges concurrent predictions for one model into few engine calls: instances queue up
// until maxBatch are waiting or maxWaitMs has passed since the first, then go to the
// engine as one n×784 batch. Calls beyond maxInFlight wait, so batches grow under load.

const PIXELS = 784;
const CLASSES = 10;

export type BatchRunner = (input: Float32Array, n: number) => Promise<Float32Array>;

type Pending = { input: Float32Array; resolve: (out: Float32Array) => void; reject: (err: unknown) => void };

export type MicroBatcherOptions = {
  maxBatch: number;
  maxWaitMs: number;
  /** Engine calls running at once for this model. */
  maxInFlight?: number;
  onBatch?: (size: number, seconds: number) => void;
};

export class MicroBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly run: BatchRunner,
    private readonly opts: MicroBatcherOptions,
  ) {
    this.maxInFlight = opts.maxInFlight ?? 1;
  }

  /** Each input is 784 floats; resolves to one 10-float output per input, in order. */
  predict(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('model was unloaded'));
    const done = inputs.map(
      (input) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ input, resolve, reject })),
    );
    this.schedule();
    return Promise.all(done);
  }

  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    while (this.queue.length >= this.opts.maxBatch && this.inFlight < this.maxInFlight) this.flush();
    if (this.queue.length === 0 || this.timer || this.inFlight >= this.maxInFlight) return;
    if (this.opts.maxWaitMs <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.inFlight < this.maxInFlight) this.flush();
      this.schedule();
    }, this.opts.maxWaitMs);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.splice(0, this.opts.maxBatch);
    if (batch.length === 0) return;
    const n = batch.length;
    const input = new Float32Array(n * PIXELS);
    batch.forEach((p, i) => input.set(p.input, i * PIXELS));
    this.inFlight++;
    const started = performance.now();
    this.run(input, n)
      .then((out) => {
        this.opts.onBatch?.(n, (performance.now() - started) / 1000);
        batch.forEach((p, i) => p.resolve(out.slice(i * CLASSES, (i + 1) * CLASSES)));
      })
      .catch((err) => batch.forEach((p) => p.reject(err)))
      .finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
        else if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((w) => w());
      });
  }

  /** Stops taking new work; resolves once everything queued and running has finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
