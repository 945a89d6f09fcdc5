// Engine benchmark on the real MNIST (MNIST_DIR): one JSON object per line,
// {name, imagesPerSecond, epochSeconds, threads, gemm, ...}.
//   npm run bench:engine [-- --only <name substring>] [--threads N] [--backend native,tfjs]
// --backend: the engine workloads once per backend (default native), each line with its `backend`
// (tfjs: also `tfjs`, the TensorFlow.js backend that loaded: tfjs-node-gpu, tfjs-node, wasm or cpu).
// `augment`: ch6-relu training without and with on-the-fly augmentation, and the augmentation kernel alone.
// `batch-norm`: the beyond-book network's training and inference without and with batch normalisation,
// and the precise statistics pass (training.preciseBatchNorm) per image against a training image.
// Workloads: ch1-mlp30 and ch3-mlp100-l2 epochs (batch 10), ch6-relu training (batch 10) and batched
// inference, ch6-dropout on the expanded data (and its projected 40 epochs), `dropout-epoch`: one whole
// ch6-dropout epoch of 250,000 images through the trainer (training loop, validation, checkpoint
// write, test evaluation, each timed: `--only dropout-epoch`, a minute or more), the naive TypeScript
// network.py of ch1 (a slice, projected to an epoch, with the ratio), and PyTorch beside it when
// Debian's python3-torch is installed (../shared/bench/torch_ref.py), with ratios.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  encodeCheckpoint, engineInfo, loadMnist, planNetwork, resolveExperiment, splitData, tfjsInfo, train, type EngineBackend,
  type EpochMetrics, type Experiment,
} from '../src/engine/index.ts';
import { openNetwork } from '../src/engine/backend.ts';
import { initParams } from '../src/engine/init.ts';
import { Rng } from '../src/engine/rng.ts';
import { ReferenceNetwork } from '../src/engine/reference-network.ts';
import { toFloatImages } from '../src/engine/evaluation.ts';
import { kernels, NativeNetwork, type NativeAugment } from '../src/engine/native.ts';
import type { LabelledImages } from '../src/engine/mnist.ts';

const { values: args } = parseArgs({
  options: { only: { type: 'string', multiple: true }, threads: { type: 'string' }, backend: { type: 'string', default: 'native' } },
});
const backends = args.backend.split(',').map((b) => b.trim()) as EngineBackend[];
for (const b of backends) if (b !== 'native' && b !== 'tfjs') throw new RangeError(`--backend: native or tfjs, got ${b}`);
let backend: EngineBackend = 'native';
const info = engineInfo();
const threads = args.threads ? Number(args.threads) : info.threads;
const wanted = (name: string) => !args.only || args.only.some((o) => name.includes(o));
const results = new Map<string, Record<string, unknown>>();
const emit = (o: Record<string, unknown>) => {
  results.set(o.backend && o.backend !== 'native' ? `${o.name}@${o.backend}` : (o.name as string), o);
  console.log(JSON.stringify(o));
};
const nativeBase = { backend: 'native', threads, gemm: info.gemm, simd: info.simd };
let base: Record<string, unknown> = nativeBase;

const mnist = await loadMnist();
const full = splitData(mnist, { trainSize: 50000, validationSize: 10000, expand: false });

/** Trains `count` images (one pass, batch size from the preset) and returns seconds. */
async function timeTraining(e: Experiment, data: LabelledImages, count: number, seed = 1, augment?: NativeAugment): Promise<number> {
  const plan = planNetwork(e.network);
  const rng = Rng.fromSeed(seed);
  const params = initParams(plan, e.network.init, rng);
  const net = openNetwork(plan.desc, params, e.training.momentum > 0 ? new Float32Array(plan.paramCount) : null, threads, backend);
  const order = rng.permutation(data.count).subarray(0, count);
  const n = data.count;
  const t = e.training;
  const started = performance.now();
  await net.trainEpoch({
    images: data.images, labels: data.labels, order, batchSize: t.miniBatchSize, startBatch: 0, eta: t.eta,
    momentum: t.momentum, l2: t.regularization === 'l2' ? t.lambda / n : 0, l1: t.regularization === 'l1' ? t.lambda / n : 0,
    dropoutSeed: rng.nextU32(), ...(augment ? { augment } : {}),
  });
  return (performance.now() - started) / 1000;
}

async function epochBench(name: string, preset: string, runs = 2) {
  if (!wanted(name)) return;
  const e = resolveExperiment({ preset });
  const times = [];
  for (let r = 0; r < runs; r++) times.push(await timeTraining(e, full.training, 50000, r + 1));
  const s = Math.min(...times);
  emit({ name, ...base, batch: e.training.miniBatchSize, images: 50000, epochSeconds: s, imagesPerSecond: 50000 / s, runs: times });
}

for (const b of backends) {
  backend = b;
  base = b === 'native' ? nativeBase : { backend: 'tfjs', threads, tfjs: (await tfjsInfo()).backend };
  await epochBench('ch1-mlp30', 'ch1-mlp30');
  await epochBench('ch3-mlp100-l2', 'ch3-mlp100-l2');

  if (wanted('ch6-relu-train')) {
    const e = resolveExperiment({ preset: 'ch6-relu' });
    await timeTraining(e, full.training, 500); // warm-up
    const n = 10000;
    const s = Math.min(await timeTraining(e, full.training, n, 1), await timeTraining(e, full.training, n, 2));
    emit({ name: 'ch6-relu-train', ...base, batch: 10, images: n, imagesPerSecond: n / s, epochSeconds: (50000 * s) / n });
  }

  // Augmentation's cost: ch6-relu training without and with on-the-fly distortions (alternating runs,
  // best of each), and the kernel alone. Native only (tfjs jobs refuse data.augment).
  if (wanted('augment') && b === 'native') {
    const e = resolveExperiment({ preset: 'ch6-relu' });
    const settings: Record<string, NativeAugment> = {
      'affine': { seed: 1, rotation: 12, scale: 0.12, shear: 15, translate: 2 },
      'affine+elastic+thickness': { seed: 1, rotation: 12, scale: 0.12, shear: 15, translate: 2, elasticAlpha: 34, elasticSigma: 4, thickness: 0.5 },
      'book-shifts': { seed: 1, bookShifts: true },
    };
    await timeTraining(e, full.training, 500);
    const n = 5000;
    // wall and process CPU time of each run (CPU time is the steadier figure on a shared machine)
    const timed = async (r: number, a?: NativeAugment) => {
      const cpu0 = process.cpuUsage();
      const wall = await timeTraining(e, full.training, n, r + 1, a);
      const cpu = process.cpuUsage(cpu0);
      return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
    };
    const runs: Record<string, { wall: number; cpu: number }[]> = { plain: [] };
    for (let r = 0; r < 2; r++) {
      runs.plain!.push(await timed(r));
      for (const [k, a] of Object.entries(settings)) (runs[k] ??= []).push(await timed(r, a));
    }
    const best = (k: string) => ({ ips: n / Math.min(...runs[k]!.map((x) => x.wall)), cpuUs: (Math.min(...runs[k]!.map((x) => x.cpu)) / n) * 1e6 });
    const p0 = best('plain');
    emit({ name: 'ch6-relu-train-no-augment', ...base, batch: 10, images: n, imagesPerSecond: p0.ips, cpuMicrosecondsPerImage: p0.cpuUs });
    for (const k of Object.keys(settings)) {
      const b = best(k);
      emit({ name: `ch6-relu-train-augment-${k}`, ...base, batch: 10, images: n, imagesPerSecond: b.ips, cpuMicrosecondsPerImage: b.cpuUs,
        wallRelativeToPlain: b.ips / p0.ips, cpuRelativeToPlain: b.cpuUs / p0.cpuUs });
    }
    const x = toFloatImages(full.training.images.subarray(0, 10000 * 784));
    for (const [k, a] of Object.entries(settings)) {
      // synchronous on this thread: its CPU time is the kernel's, whatever else the machine runs
      const cpu0 = process.cpuUsage(), started = performance.now();
      kernels.augment!(a, x, 10000, 28, 28, 0);
      const sec = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpu0), cpuSec = (cpu.user + cpu.system) / 1e6;
      emit({ name: `augment-kernel-${k}`, threads: 1, images: 10000, imagesPerSecond: 10000 / sec,
        cpuMicrosecondsPerImage: (cpuSec / 10000) * 1e6 });
    }
  }

  // Batch normalisation's cost: the beyond-book network's training and inference without and with
  // batchNorm on its four conv layers (alternating runs, best of each, process CPU time as well).
  if (wanted('batch-norm') && b === 'native') {
    const normed = resolveExperiment({ preset: 'beyond-book' });
    const plain = resolveExperiment({
      preset: 'beyond-book', network: { layers: normed.network.layers.map((l) => (l.type === 'conv' ? { ...l, batchNorm: false } : l)) },
    });
    const n = 3000;
    await timeTraining(plain, full.training, 300);
    const timed = async (e: Experiment, r: number) => {
      const cpu0 = process.cpuUsage();
      const wall = await timeTraining(e, full.training, n, r + 1);
      const cpu = process.cpuUsage(cpu0);
      return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
    };
    const runs = { plain: [] as { wall: number; cpu: number }[], normed: [] as { wall: number; cpu: number }[] };
    for (let r = 0; r < 2; r++) {
      runs.plain.push(await timed(plain, r));
      runs.normed.push(await timed(normed, r));
    }
    const best = (k: 'plain' | 'normed') => ({ ips: n / Math.min(...runs[k].map((x) => x.wall)), cpuUs: (Math.min(...runs[k].map((x) => x.cpu)) / n) * 1e6 });
    const p0 = best('plain'), p1 = best('normed');
    emit({ name: 'beyond-book-train', ...base, batch: 10, images: n, imagesPerSecond: p0.ips, cpuMicrosecondsPerImage: p0.cpuUs });
    emit({ name: 'beyond-book-train-batch-norm', ...base, batch: 10, images: n, imagesPerSecond: p1.ips, cpuMicrosecondsPerImage: p1.cpuUs,
      wallRelativeToPlain: p1.ips / p0.ips, cpuRelativeToPlain: p1.cpuUs / p0.cpuUs });
    const x = toFloatImages(full.training.images.subarray(0, 5000 * 784));
    for (const [name, e] of [['beyond-book-infer', plain], ['beyond-book-infer-batch-norm', normed]] as const) {
      const plan = planNetwork(e.network);
      const net = openNetwork(plan.desc, initParams(plan, e.network.init, Rng.fromSeed(1)), null, threads, backend);
      await net.predict(x.subarray(0, 500 * 784));
      let s = Infinity;
      for (let r = 0; r < 2; r++) {
        const started = performance.now();
        await net.predict(x);
        s = Math.min(s, (performance.now() - started) / 1000);
      }
      net.dispose();
      emit({ name, ...base, images: 5000, imagesPerSecond: 5000 / s });
    }
    // training.preciseBatchNorm: the statistics pass over 5,000 images (one inference pass up to each
    // batch-norm layer), against the training image-rate above: its share of an epoch is N/trainSize × this
    {
      const plan = planNetwork(normed.network);
      const net = new NativeNetwork(plan.desc, initParams(plan, normed.network.init, Rng.fromSeed(1)), null, threads);
      const images = full.training.images.subarray(0, 5000 * 784);
      let s = Infinity;
      for (let r = 0; r < 2; r++) {
        const started = performance.now();
        await net.batchNormStatistics(images);
        s = Math.min(s, (performance.now() - started) / 1000);
      }
      net.dispose();
      emit({ name: 'beyond-book-batch-norm-statistics', ...base, images: 5000, imagesPerSecond: 5000 / s,
        relativeToTrainingImage: p1.ips / (5000 / s) });
    }
  }

  if (wanted('ch6-relu-infer')) {
    const e = resolveExperiment({ preset: 'ch6-relu' });
    const plan = planNetwork(e.network);
    const net = openNetwork(plan.desc, initParams(plan, 'default', Rng.fromSeed(1)), null, threads, backend);
    const x = toFloatImages(mnist.test.images);
    await net.predict(x.subarray(0, 1000 * 784));
    const started = performance.now();
    for (let i = 0; i < 10; i++) await net.predict(x.subarray(i * 1000 * 784, (i + 1) * 1000 * 784));
    const s = (performance.now() - started) / 1000;
    emit({ name: 'ch6-relu-infer', ...base, batch: 1000, images: 10000, imagesPerSecond: 10000 / s, epochSeconds: null });
  }

  if (wanted('ch6-dropout')) {
    const e = resolveExperiment({ preset: 'ch6-dropout' });
    const t0 = performance.now();
    const expanded = splitData(mnist, e.data).training; // 250,000 images as bytes
    const expandSeconds = (performance.now() - t0) / 1000;
    await timeTraining(e, expanded, 500);
    const n = 10000;
    const s = await timeTraining(e, expanded, n);
    const ips = n / s;
    emit({
      name: 'ch6-dropout-expanded', ...base, batch: 10, images: n, trainingImages: expanded.count, imagesPerSecond: ips,
      epochSeconds: expanded.count / ips, projected40EpochsHours: (40 * expanded.count) / ips / 3600,
      expandSeconds, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  }
}
backend = 'native';
base = nativeBase;

// One whole ch6-dropout epoch on the expanded data through the trainer, as `npm run reproduce` runs it:
// where an epoch's wall time goes (setup: init, network, the shuffle; the training loop; validation;
// the trainer's own per-epoch work: regularisation cost, best-weights copy, checkpoint snapshot; the
// checkpoint's encoding and write to a file; the final test evaluation), and the process's CPU time.
// The load average is printed beside: on a shared machine the wall figures stretch, the CPU figure less.
if (wanted('dropout-epoch')) {
  const e = resolveExperiment({ preset: 'ch6-dropout', training: { epochs: 1 } });
  const t0 = performance.now();
  const data = splitData(mnist, e.data);
  const expandSeconds = (performance.now() - t0) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'nndl-bench-'));
  const load0 = loadavg()[0]!;
  let loopEnd = 0, onEpochStart = 0, onEpochEnd = 0, checkpointSeconds = 0, checkpointMiB = 0;
  let metrics: EpochMetrics | null = null;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  try {
    const r = await train(e, {
      data, threads,
      onProgress: (p) => { if (p.batch === p.batches && loopEnd === 0) loopEnd = performance.now(); },
      progressIntervalMs: 1000,
      onEpoch: (m, ck) => {
        onEpochStart = performance.now();
        metrics = m;
        const buf = encodeCheckpoint(ck);
        writeFileSync(join(dir, 'checkpoint.bin'), buf);
        checkpointMiB = buf.length / 2 ** 20;
        onEpochEnd = performance.now();
        checkpointSeconds = (onEpochEnd - onEpochStart) / 1000;
      },
    });
    if (r.status !== 'completed') throw new Error(`dropout-epoch: training ${r.status}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ended = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const m = metrics as EpochMetrics | null;
  if (!m) throw new Error('dropout-epoch: no epoch metrics');
  const n = data.training.count;
  const loopSeconds = n / m.imagesPerSecond;
  const validationSeconds = m.seconds - loopSeconds;
  const wall = (ended - started) / 1000;
  const epochWall = (onEpochEnd - started) / 1000; // what one epoch of a long run costs, setup included
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  emit({
    name: 'ch6-dropout-epoch', ...base, batch: 10, images: n, validationImages: data.validation.count, testImages: data.test.count,
    imagesPerSecond: n / epochWall, trainingLoopImagesPerSecond: m.imagesPerSecond,
    seconds: {
      epoch: epochWall,
      setup: (loopEnd - started) / 1000 - loopSeconds,
      trainingLoop: loopSeconds,
      validation: validationSeconds,
      trainerPerEpoch: (onEpochStart - loopEnd) / 1000 - validationSeconds,
      checkpointWrite: checkpointSeconds,
      testEvaluation: (ended - onEpochEnd) / 1000,
      total: wall,
    },
    cpuSeconds, imagesPerCpuSecond: n / cpuSeconds, checkpointMiB, expandSeconds,
    projected40EpochsMinutes: (40 * epochWall) / 60, loadAverage: [load0, loadavg()[0]],
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
}

if (wanted('reference')) {
  // network.py in plain TypeScript, per example: a slice, projected to a 50,000-image epoch.
  const sizes = [784, 30, 10];
  const rng = Rng.fromSeed(1);
  const ref = new ReferenceNetwork(sizes, new Float32Array(ReferenceNetwork.paramCount(sizes)).map(() => rng.nextNormal()));
  const n = 3000;
  const order = rng.permutation(50000).subarray(0, n);
  const started = performance.now();
  ref.trainEpoch(full.training.images, full.training.labels, order, 10, 3.0);
  const s = ((performance.now() - started) / 1000) * (50000 / n);
  const native = results.get('ch1-mlp30')?.epochSeconds as number | undefined;
  emit({
    name: 'reference-ts-ch1-mlp30', threads: 1, gemm: 'none', batch: 10, images: n, epochSeconds: s, imagesPerSecond: 50000 / s,
    ...(native ? { nativeSpeedup: s / native } : {}),
  });
}

// PyTorch beside us, when Debian's python3-torch is installed (see ../shared/bench/README.md).
if (wanted('torch')) {
  const script = join(process.cwd(), '..', 'shared', 'bench', 'torch_ref.py');
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  if (!existsSync(script) || probe.status !== 0) {
    emit({ name: 'torch', skipped: true, note: `PyTorch not available (${existsSync(script) ? '/usr/bin/python3 -c "import torch" failed' : `${script} missing`}); install python3-torch to compare` });
  } else {
    const r = spawnSync('/usr/bin/python3', [script], {
      env: { ...process.env, MNIST_DIR: mnist.dir, THREADS: String(threads) }, encoding: 'utf8', timeout: 900_000,
    });
    const ours: Record<string, [string, 'epochSeconds' | 'imagesPerSecond']> = {
      'torch-ch1-mlp30': ['ch1-mlp30', 'epochSeconds'], 'torch-ch3-mlp100-l2': ['ch3-mlp100-l2', 'epochSeconds'],
      'torch-ch6-relu-train': ['ch6-relu-train', 'imagesPerSecond'], 'torch-ch6-relu-infer': ['ch6-relu-infer', 'imagesPerSecond'],
    };
    for (const line of (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{'))) {
      const t = JSON.parse(line) as Record<string, number | string>;
      const [mine, key] = ours[t.name as string] ?? [];
      const m = mine ? results.get(mine) : undefined;
      // speedup > 1: we are faster (shorter epoch, or more images per second)
      const speedup = m && key ? (key === 'epochSeconds' ? (t[key] as number) / (m[key] as number) : (m[key] as number) / (t[key] as number)) : undefined;
      emit({ ...t, threads, peer: 'pytorch', ...(speedup ? { ours: mine, speedupVsTorch: speedup } : {}) });
    }
    if (r.status !== 0) emit({ name: 'torch', error: `torch_ref.py exited ${r.status}: ${(r.stderr ?? '').slice(-300)}` });
  }
}
