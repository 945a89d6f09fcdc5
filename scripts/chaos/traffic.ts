// Traffic for a chaos run: a predict load of a few concurrent clients (every answer counted by
// status), training jobs submitted through the API, and the wait for all of them to end.
import type { Cluster } from './cluster.ts';
import { sleep, waitFor } from './cluster.ts';

export type StatusCounts = Record<string, number>;

/** Counts answers by status class; 503 is kept apart (the service's "try again" while Redis is down). */
export class Tally {
  readonly byStatus: StatusCounts = {};
  errors = 0; // no HTTP answer at all (connection refused/reset)

  add(status: number): void {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  get total(): number {
    return Object.values(this.byStatus).reduce((a, b) => a + b, 0) + this.errors;
  }

  /** 5xx other than 503: the failures the service must never give. */
  get fiveHundreds(): number {
    return Object.entries(this.byStatus).filter(([s]) => Number(s) >= 500 && s !== '503').reduce((a, [, n]) => a + n, 0);
  }

  get unavailable(): number {
    return this.byStatus['503'] ?? 0;
  }
}

/** `clients` loops posting one MNIST-scale digit to /v1/predict until stop() is called. */
export function predictLoad(cluster: Cluster, pixels: number[], clients = 4): { tally: Tally; stop(): Promise<void> } {
  const tally = new Tally();
  let running = true;
  const body = JSON.stringify({ pixels });
  const loop = async () => {
    while (running) {
      try {
        const res = await fetch(`${cluster.apiUrl}/v1/predict`, {
          method: 'POST',
          headers: cluster.headers({ 'content-type': 'application/json' }),
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        tally.add(res.status);
        if (res.status === 503 || res.status === 429) await sleep(50); // as a polite client would
      } catch {
        tally.errors++;
        await sleep(50);
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    tally,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A small job: an MLP on a slice of MNIST, a few seconds of training with visible epochs. */
export function smallJob(name: string, epochs = 8, trainSize = 20_000) {
  return {
    name,
    preset: 'ch1-mlp100',
    training: { epochs, seed: 7 },
    data: { trainSize, validationSize: 1000, expand: false },
  };
}

/** Submits a job, retrying while the API answers 503 (Redis down); returns its id. */
export async function submit(cluster: Cluster, job: unknown, tally: Tally): Promise<string> {
  for (;;) {
    try {
      const r = await cluster.request('POST', '/v1/jobs', job);
      tally.add(r.status);
      if (r.status === 202) return r.json.id as string;
      if (r.status !== 503 && r.status !== 429) throw new Error(`submit answered ${r.status}: ${JSON.stringify(r.json)}`);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('submit answered')) throw err;
      tally.errors++;
    }
    await sleep(250);
  }
}

export type JobView = { id: string; status: string; modelId?: string; resumedFromEpoch?: number; attempts: number; workerDeaths?: number; error?: string; metrics?: unknown[] };

export async function getJob(cluster: Cluster, id: string): Promise<JobView | null> {
  const r = await cluster.request('GET', `/v1/jobs/${id}`);
  return r.status === 200 ? (r.json as JobView) : null;
}

/** Waits until every job has ended; returns their final records (null: the job was lost). */
export async function waitAllEnded(cluster: Cluster, ids: string[], timeoutMs: number): Promise<(JobView | null)[]> {
  const deadline = Date.now() + timeoutMs;
  const final = new Map<string, JobView | null>();
  while (final.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (final.has(id)) continue;
      const j = await getJob(cluster, id).catch(() => undefined);
      if (j === null) final.set(id, null); // the record is gone: lost
      else if (j && ['completed', 'failed', 'cancelled'].includes(j.status)) final.set(id, j);
    }
    if (final.size < ids.length) await sleep(500);
  }
  return ids.map((id) => final.get(id) ?? null);
}

/** Trains one model through the API and makes it `default`, so predict traffic has something to hit. */
export async function trainDefaultModel(cluster: Cluster): Promise<string> {
  const id = await submit(cluster, smallJob('chaos-default', 2, 10_000), new Tally());
  const [job] = await waitAllEnded(cluster, [id], 180_000);
  if (!job?.modelId) throw new Error(`the default model's job did not complete: ${JSON.stringify(job)}`);
  await cluster.request('PUT', '/v1/aliases/default', { modelId: job.modelId });
  await waitFor(async () => (await cluster.request('GET', '/v1/aliases')).json?.default === job.modelId, 10_000, 'the default alias');
  return job.modelId;
}
