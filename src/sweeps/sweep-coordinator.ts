// Runs a sweep forward, one wave at a time, in whichever worker takes the wave's parent job (every
// trial of the wave has ended by then): plans the next wave (sweep-planner.ts) and queues it as a
// flow, or finishes the sweep — best trial, its alias, kept checkpoints removed. A wave job that runs
// twice (its worker died after queuing the next wave) queues that same wave again, which is a no-op.
import type { Redis } from 'ioredis';
import { publishJobEvent } from '../queue/job-events.ts';
import { queueKeys, type SweepStepPayload } from '../queue/catalogue.ts';
import type { JobRecordRepository } from '../queue/job-record.repository.ts';
import { trialJobId, type SweepFlow, type WaveTrial } from '../queue/sweep-flow.ts';
import type { JobRecord } from '../queue/index.ts';
import type { AliasRepository } from '../store/alias.repository.ts';
import type { CheckpointRepository } from '../store/checkpoint.repository.ts';
import { nextStep, type NewTrial } from './sweep-planner.ts';
import { trialExperiment } from './sweep-spec.ts';
import { outcomeOf } from './sweep-view.ts';
import type { SweepRecord, SweepRepository, TrialRef } from './sweep.repository.ts';

export type SweepCoordinatorDeps = {
  redis: Redis;
  prefix: string;
  sweeps: SweepRepository;
  records: JobRecordRepository;
  flow: SweepFlow;
  aliases: AliasRepository;
  checkpoints: CheckpointRepository;
  log: (message: string, extra?: Record<string, unknown>) => void;
};

/** The wave's trials as job descriptions (shared by the API, which launches wave 0). */
export function waveTrials(sweep: SweepRecord, trials: NewTrial[], waveNo: number): { refs: TrialRef[]; wave: WaveTrial[] } {
  const { plan } = sweep;
  const lastRung = plan.rungs.length - 1;
  const refs = trials.map((t): TrialRef => ({
    jobId: trialJobId(sweep.id, t.index, t.rung), index: t.index, params: t.params, rung: t.rung, wave: waveNo, ...(t.resumeFrom ? { resumedFrom: t.resumeFrom } : {}),
  }));
  const label = plan.name ?? `sweep ${sweep.id.slice(0, 8)}`;
  const wave = refs.map((r): WaveTrial => ({
    jobId: r.jobId,
    name: `${label} · trial ${r.index}${plan.strategy.type === 'halving' ? ` · rung ${r.rung}` : ''}`,
    experiment: trialExperiment(plan, r.params, r.rung),
    keepCheckpoint: plan.strategy.type === 'halving' && r.rung < lastRung,
    ...(r.resumedFrom ? { resumeFrom: r.resumedFrom } : {}),
  }));
  return { refs, wave };
}

export class SweepCoordinator {
  private readonly channel: string;

  constructor(private readonly d: SweepCoordinatorDeps) {
    this.channel = queueKeys(d.prefix).eventsChannel;
  }

  async advance({ sweepId, step }: SweepStepPayload): Promise<void> {
    const { sweeps, flow, log } = this.d;
    const sweep = await sweeps.get(sweepId);
    if (!sweep) return;
    if (sweep.status !== 'running') {
      await this.dropCheckpoints(sweep);
      return;
    }
    // this wave job ran before and got as far as recording the next wave: queue that one again
    if (sweep.waves > step + 1) {
      const next = sweep.trials.filter((t) => t.wave === step + 1);
      const { wave } = waveTrials(sweep, next.map((t) => ({ index: t.index, params: t.params, rung: t.rung, ...(t.resumedFrom ? { resumeFrom: t.resumedFrom } : {}) })), step + 1);
      await flow.launch({ sweepId, step: step + 1, ...(sweep.owner !== undefined ? { owner: sweep.owner } : {}), trials: wave });
      return;
    }
    const jobs = new Map<string, JobRecord | null>();
    for (const t of sweep.trials) jobs.set(t.jobId, await this.d.records.get(t.jobId));
    const outcome = (id: string) => outcomeOf(jobs.get(id) ?? null);
    const next = nextStep(sweep.plan, sweep.trials, outcome);
    if (next.kind === 'wave') {
      const { refs, wave } = waveTrials(sweep, next.trials, sweep.waves);
      const waves = sweep.waves + 1;
      await sweeps.setTrials(sweepId, [...sweep.trials, ...refs], waves);
      await flow.launch({ sweepId, step: waves - 1, ...(sweep.owner !== undefined ? { owner: sweep.owner } : {}), trials: wave });
      log('sweep wave queued', { sweepId, wave: waves - 1, trials: refs.map((r) => r.jobId) });
    } else if (next.best) {
      if (sweep.plan.alias && next.best.modelId) await this.d.aliases.set(sweep.plan.alias, next.best.modelId);
      await sweeps.finish(sweepId, 'completed', { best: next.best });
      await this.dropCheckpoints(sweep);
      log('sweep completed', { sweepId, best: next.best });
    } else {
      await sweeps.finish(sweepId, 'failed', { error: 'no trial completed with a validation figure' });
      await this.dropCheckpoints(sweep);
      log('sweep failed', { sweepId });
    }
    await publishJobEvent(this.d.redis, this.channel, { type: 'status', jobId: sweepId, status: 'running' }).catch(() => {});
  }

  /** Checkpoints kept for promotion are of no use once the sweep has ended. */
  private async dropCheckpoints(sweep: SweepRecord): Promise<void> {
    for (const t of sweep.trials) await this.d.checkpoints.delete(t.jobId).catch(() => {});
  }
}
