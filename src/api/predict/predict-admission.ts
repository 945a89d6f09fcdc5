// The predict queue's bound: instances admitted (decoding, waiting in a micro-batcher or in an
// engine call) across every model, at most PREDICT_QUEUE_MAX. A request that would go beyond
// is refused at once with 503 + Retry-After (shed load) instead of growing the queue; it is
// admitted as soon as its instance count is known, before any decoding.
import { overloaded } from '../../errors.ts';

/** What the client is told to wait before retrying a shed request. */
export const SHED_RETRY_AFTER_S = 1;

export class PredictAdmission {
  private admitted = 0;
  private shedCount = 0;

  constructor(readonly max: number) {}

  /** Instances admitted now (the queue's length, decoding included). */
  get pending(): number {
    return this.admitted;
  }

  /** Requests refused since start. */
  get shed(): number {
    return this.shedCount;
  }

  /** Admits `n` instances or throws 503 overloaded; the caller releases them when done. */
  admit(n: number): void {
    if (this.admitted + n > this.max) {
      this.shedCount++;
      throw overloaded(
        `the predict queue is full (${this.admitted} of ${this.max} instances pending); retry shortly`,
        SHED_RETRY_AFTER_S,
        { pending: this.admitted, max: this.max, requested: n },
      );
    }
    this.admitted += n;
  }

  release(n: number): void {
    this.admitted = Math.max(0, this.admitted - n);
  }
}

/** One request's admission: admits once its count is known, releases exactly what it admitted. */
export class AdmissionTicket {
  private held = 0;

  constructor(private readonly admission: PredictAdmission) {}

  admit(n: number): void {
    this.admission.admit(n);
    this.held += n;
  }

  release(): void {
    this.admission.release(this.held);
    this.held = 0;
  }
}
