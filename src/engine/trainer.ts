// The training loop's control: epochs over the native trainEpoch (one call per epoch, off the event
// loop), the seeded shuffle, per-epoch metrics, the learning-rate schedule, early stopping,
// cancel/interrupt with a checkpoint at the mini-batch boundary, resume, ensembles, and the final
// test evaluation. The arithmetic is all in the addon.
import { defaultThreads, openNetwork, type NetworkHandle } from './backend.ts';
import { nativeAugment } from './augment.ts';
import { biasGradientNorms } from './bias-gradient.ts';
import { initParamsAsync } from './init.ts';
import { hasBatchNorm, planNetwork, regularizationCostAsync, regularizationN, type NetworkPlan } from './network-plan.ts';
import { validateExperiment } from './presets.ts';
import { Rng } from './rng.ts';
import { SpecError, trainingOptionsOf, type EngineBackend, type Experiment } from './spec.ts';
import type { LabelledImages } from './mnist.ts';
import { evaluateTest } from './test-evaluation.ts';
import { initialSchedule, updateSchedule } from './schedule.ts';
import {
  PROGRESS_INTERVAL_MS, SIGNAL_INTERRUPT, type BestEpoch, type WeightAverage, type Checkpoint, type CompletedMember, type EpochMetrics, type PartialEpoch, type TrainOptions, type TrainResult,
} from './training-types.ts';

type MemberDone = { status: 'completed' } & CompletedMember;

export async function train(experiment: Experiment, options: TrainOptions): Promise<TrainResult> {
  const exp = validateExperiment(experiment);
  const plan = planNetwork(exp.network);
  const ck = options.checkpoint;
  if (ck) {
    if (JSON.stringify(ck.experiment.network) !== JSON.stringify(exp.network) || ck.params.length !== plan.paramCount) {
      throw new TypeError('the checkpoint was made for a different network than this experiment');
    }
  }
  // Bit-identical resume needs the same thread count as the interrupted run, unless that is above
  // this process's ceiling (a checkpoint from a bigger worker): then it continues on fewer threads.
  const wanted = ck?.threads ?? options.threads ?? exp.training.threads ?? defaultThreads();
  const threads = Math.max(1, Math.min(wanted, options.maxThreads ?? wanted));
  const signal = options.signal ?? new Int32Array(new SharedArrayBuffer(4));
  if (!(signal.buffer instanceof SharedArrayBuffer)) throw new TypeError('options.signal must be an Int32Array on a SharedArrayBuffer');
  if (options.data.training.count < 1) throw new RangeError('no training data');

  const backend = exp.backend ?? options.backend ?? 'native';
  if (backend === 'tfjs' && nativeAugment(exp.data.augment, 0)) {
    throw new SpecError([{ path: 'data.augment', message: 'augmentation runs in the native engine: not available on the tfjs backend' }]);
  }
  if (backend === 'tfjs' && hasBatchNorm(plan.desc)) {
    throw new SpecError([{ path: 'network.layers', message: 'batch normalisation runs in the native engine: not available on the tfjs backend' }]);
  }
  const size = exp.ensemble?.size ?? 1;
  const completed: CompletedMember[] = ck ? ck.completed.map((m) => ({ ...m })) : [];
  const clock = { seconds: ck?.trainingSeconds ?? 0 };
  for (let member = completed.length; member < size; member++) {
    const resume = ck && ck.member === member ? ck : undefined;
    // The member's network goes (scratch freed, threads joined) as soon as it is done, not at some
    // later GC: the job's cost estimate counts one training network at a time.
    const opened: NetworkHandle[] = [];
    let r;
    try {
      r = await trainMember({ exp, plan, member, threads, signal, options, resume, completed, clock, backend, opened });
    } finally {
      for (const net of opened) net.dispose();
    }
    if (r.status !== 'completed') return r;
    const { status: _, ...done } = r;
    completed.push(done);
  }
  const test = await evaluateTest(exp, plan, completed.map((m) => m.params), options.data, threads, backend);
  // The last epoch's figure too, when some member keeps other weights (one more test pass).
  const final = completed.some((m) => m.finalParams)
    ? await evaluateTest(exp, plan, completed.map((m) => m.finalParams ?? m.params), options.data, threads, backend)
    : test;
  return {
    status: 'completed',
    model: {
      format: 'nndl-model', version: 1, experiment: exp,
      members: completed.map((m) => ({ params: m.params, history: m.history })),
      ...test,
      keptEpochs: completed.map((m) => m.keptEpoch ?? m.history.length),
      finalTestAccuracy: final.testAccuracy, finalTestCost: final.testCost,
      backend, trainingSeconds: clock.seconds,
    },
  };
}

type MemberArgs = {
  exp: Experiment; plan: NetworkPlan; member: number; threads: number; signal: Int32Array; options: TrainOptions;
  resume: Checkpoint | undefined; completed: CompletedMember[]; clock: { seconds: number };
  backend: EngineBackend;
  /** trainMember puts the network it opens here; the caller disposes of it. */
  opened: NetworkHandle[];
};

async function trainMember(a: MemberArgs): Promise<MemberDone | Exclude<TrainResult, { status: 'completed' }>> {
  const { exp, plan, member, threads, signal, options, resume, completed, clock, backend } = a;
  const t = exp.training;
  const data = options.data.training;
  const n = data.count;
  let rng: Rng;
  let params: Float32Array;
  let velocity: Float32Array | null;
  let schedule = resume ? { ...resume.schedule } : initialSchedule(t.eta);
  const history = resume ? [...resume.history] : [];
  let epoch = resume?.epoch ?? 0;
  let startBatch = resume?.batch ?? 0;
  let partial: PartialEpoch | null = resume?.partial ?? null;
  // keep 'best-validation' (network3.py): the weights of the best validation epoch so far. Without
  // validation data there is nothing to choose by, and the last epoch's weights are kept.
  const opts = trainingOptionsOf(t);
  const keepBest = opts.keep === 'best-validation' && options.data.validation.count > 0;
  let best: BestEpoch | null = resume?.best ? { ...resume.best, params: resume.best.params.slice() } : null;
  // training.average (SWA): the running mean of the weights after each epoch from fromEpoch on
  const averageFrom = t.average?.fromEpoch ?? null;
  let average: WeightAverage | null = resume?.average ? { ...resume.average, params: resume.average.params.slice() } : null;
  if (resume) {
    rng = Rng.fromState(resume.rng);
    params = resume.params.slice();
    velocity = resume.velocity ? resume.velocity.slice() : t.momentum > 0 ? new Float32Array(plan.paramCount) : null;
  } else {
    rng = Rng.fromSeed((t.seed + member) >>> 0);
    params = await initParamsAsync(plan, exp.network.init, rng); // yields: big nets take 100s of ms
    velocity = t.momentum > 0 ? new Float32Array(plan.paramCount) : null;
  }
  const net = openNetwork(plan.desc, params, velocity, threads, backend);
  a.opened.push(net);
  const batches = Math.ceil(n / t.miniBatchSize);
  // g = ∇C + λ/n'·w per step: n' = n (network2) or the mini-batches per epoch (network3, regularizationScale)
  const regN = regularizationN(t, n);
  const l2 = t.regularization === 'l2' ? t.lambda / regN : 0;
  const l1 = t.regularization === 'l1' ? t.lambda / regN : 0;
  // order 'shuffle-once' (network3.py trains every epoch in one order): one permutation per member,
  // from its own seed, so a resume redraws the same one; the per-epoch Rng then draws only the dropout seed.
  const fixedOrder = opts.order === 'shuffle-once' ? await Rng.fromSeed(shuffleOnceSeed(t.seed, member)).permutationAsync(n) : null;
  const layers = plan.segments.length;
  const preciseImages = hasBatchNorm(plan.desc) ? Math.min(t.preciseBatchNorm ?? 0, n) : 0;
  const augment = nativeAugment(exp.data.augment, 0) !== undefined;
  // chapter 5's speed of learning (bias-gradient.ts): at initialisation, then after every epoch
  const biasImages = t.biasGradientImages ?? 0;
  const measureBias = () => biasGradientNorms(net, plan, data, biasImages, t.miniBatchSize);
  let initialBias: number[] | null = resume ? resume.initialBiasGradientNorms ?? null : biasImages > 0 ? await measureBias() : null;

  const snapshot = (batch: number, rngState: Checkpoint['rng'], part: PartialEpoch | null): Checkpoint => ({
    format: 'nndl-checkpoint', version: 1, experiment: exp, member, epoch, batch, rng: rngState,
    schedule: { ...schedule }, partial: part, params: params.slice(), velocity: velocity ? velocity.slice() : null,
    history: [...history], best: best && { ...best, params: best.params.slice() },
    average: average && { ...average, params: average.params.slice() }, completed: [...completed], threads,
    trainingSeconds: clock.seconds, initialBiasGradientNorms: initialBias,
  });
  const stopKind = () => (signal[0] === SIGNAL_INTERRUPT ? 'interrupted' : 'cancelled') as 'interrupted' | 'cancelled';

  while (epoch < t.epochs && !schedule.stopped) {
    if (signal[0] !== 0) return { status: stopKind(), checkpoint: snapshot(startBatch, rng.state(), partial) };
    const epochRng = rng.state(); // the shuffle and dropout seed are redrawn from here on resume
    const order = fixedOrder ?? await rng.permutationAsync(n); // in chunks, so the event loop keeps turning
    const dropoutSeed = rng.nextU32();
    const started = performance.now();
    const progress = new Int32Array(new SharedArrayBuffer(4));
    progress[0] = startBatch;
    const report = () => options.onProgress?.({ member, epoch: epoch + 1, batch: Atomics.load(progress, 0), batches });
    const timer = options.onProgress ? setInterval(report, options.progressIntervalMs ?? PROGRESS_INTERVAL_MS) : null;
    let r;
    try {
      r = await net.trainEpoch({
        images: data.images, labels: data.labels, order, batchSize: t.miniBatchSize, startBatch,
        eta: schedule.eta, momentum: t.momentum, l2, l1, dropoutSeed, cancel: signal, progress,
        ...(augment ? { augment: nativeAugment(exp.data.augment, dropoutSeed) } : {}),
      });
    } finally {
      if (timer) clearInterval(timer);
    }
    const trainSeconds = (performance.now() - started) / 1000;
    const sums: PartialEpoch = {
      costSum: (partial?.costSum ?? 0) + r.costSum,
      correct: (partial?.correct ?? 0) + r.correct,
      examples: (partial?.examples ?? 0) + r.examples,
      gradNormSum: Array.from({ length: layers }, (_, i) => (partial?.gradNormSum[i] ?? 0) + (r.gradNormSum[i] ?? 0)),
      batches: r.batchesDone,
      seconds: (partial?.seconds ?? 0) + trainSeconds,
    };
    clock.seconds += trainSeconds;
    if (r.batchesDone < batches) return { status: stopKind(), checkpoint: snapshot(r.batchesDone, epochRng, sums) };
    report();
    if (preciseImages > 0) {
      // (training never reads the running statistics: the weights are those of a run without this)
      const t0 = performance.now();
      await net.batchNormStatistics!(data.images.subarray(0, preciseImages * plan.desc.inputShape.reduce((a, b) => a * b)));
      const s = (performance.now() - t0) / 1000;
      sums.seconds += s;
      clock.seconds += s;
    }

    const reg = await regularizationCostAsync(plan, params, t.regularization, t.lambda, regN);
    // evaluationCostN 'evaluated' (network2's total_cost): the validation cost's term uses the validation set's n
    const vCount = options.data.validation.count;
    const vReg = opts.evaluationCostN === 'evaluated' && vCount > 0
      ? await regularizationCostAsync(plan, params, t.regularization, t.lambda, regularizationN(t, vCount))
      : reg;
    const validation = await validate(net, options.data.validation, vReg);
    // trainingMetrics 'after-epoch' (network2's monitor_training_*): a pass over the training set with
    // the epoch's final weights and dropout off, instead of the epoch's own forward passes
    const after = opts.trainingMetrics === 'after-epoch' ? await validate(net, data, reg) : null;
    const seconds = sums.seconds + validation.seconds + (after?.seconds ?? 0);
    clock.seconds += validation.seconds + (after?.seconds ?? 0);
    const metrics: EpochMetrics = {
      member, epoch: epoch + 1, epochs: t.epochs,
      trainingCost: after ? after.cost! : sums.costSum / sums.examples + reg,
      trainingAccuracy: after ? after.accuracy! : sums.correct / sums.examples,
      validationCost: validation.cost, validationAccuracy: validation.accuracy,
      eta: schedule.eta, seconds, imagesPerSecond: sums.examples / Math.max(sums.seconds, 1e-9),
      gradientNorms: sums.gradNormSum.map((g) => g / batches),
      ...(biasImages > 0 ? { biasGradientNorms: await measureBias() } : {}),
      ...(initialBias && epoch === 0 ? { initialBiasGradientNorms: initialBias } : {}),
    };
    if (epoch === 0) initialBias = null; // carried by epoch 1's metrics from now on
    history.push(metrics);
    // >= as network3.py: of equally good epochs the later one is kept
    if (keepBest && validation.accuracy !== null && validation.accuracy >= (best?.validationAccuracy ?? -1)) {
      best = { epoch: epoch + 1, validationAccuracy: validation.accuracy, params: params.slice() };
    }
    if (averageFrom !== null && epoch + 1 >= averageFrom) average = await addToAverage(average, params);
    schedule = updateSchedule(schedule, t, validation.accuracy, epoch + 1);
    epoch++;
    startBatch = 0;
    partial = null;
    const checkpoint = snapshot(0, rng.state(), null);
    await options.onEpoch?.(metrics, checkpoint);
    if (signal[0] !== 0 && (epoch < t.epochs && !schedule.stopped)) return { status: stopKind(), checkpoint };
  }
  // A run the schedule stopped before fromEpoch has no average: it keeps its last weights.
  if (average) return { status: 'completed', params: average.params, history, keptEpoch: history.length, finalParams: params };
  if (best && best.epoch !== history.length) {
    return { status: 'completed', params: best.params, history, keptEpoch: best.epoch, finalParams: params };
  }
  return { status: 'completed', params, history, keptEpoch: history.length };
}

/** The mean with one more epoch's weights (incremental, in float64 per element, stored as float32);
 *  in slices that yield, as a 50M-parameter network takes a while. */
export async function addToAverage(average: WeightAverage | null, params: Float32Array): Promise<WeightAverage> {
  if (!average) return { epochs: 1, params: params.slice() };
  const n = average.epochs + 1;
  const mean = average.params;
  const SLICE = 1 << 20;
  for (let s = 0; s < mean.length; s += SLICE) {
    const e = Math.min(mean.length, s + SLICE);
    for (let j = s; j < e; j++) mean[j] = mean[j]! + (params[j]! - mean[j]!) / n;
    if (e < mean.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { epochs: n, params: mean };
}

/** The seed of a member's one training order (order 'shuffle-once'): apart from its init/epoch stream. */
export function shuffleOnceSeed(seed: number, member: number): number {
  return ((seed + member) ^ 0x5bd1e995) >>> 0;
}

async function validate(net: NetworkHandle, v: LabelledImages, reg: number) {
  if (v.count === 0) return { cost: null, accuracy: null, seconds: 0 };
  const started = performance.now();
  const e = await net.evaluate(v.images, v.labels);
  return { cost: e.costSum / v.count + reg, accuracy: e.correct / v.count, seconds: (performance.now() - started) / 1000 };
}
