// Command-line trainer: npm run train -- --preset ch1-mlp30 [--epochs N] [--json] [--train-size N] ...
// Shows per-epoch progress (a progress bar on a terminal, JSON lines with --json), then the test
// accuracy, and saves the model under DATA_DIR/models/<name> (or --out). Ctrl-C interrupts at the
// next mini-batch boundary and writes a checkpoint that --resume continues bit-identically.
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { loadConfig } from '../src/config/env.ts';
import {
  assertWithinBudgets, BudgetError, decodeCheckpoint, encodeCheckpoint, engineInfo, jobBudgets, loadMnist, resolveExperiment,
  saveModel, splitData, train, SIGNAL_INTERRUPT, SpecError, type EpochMetrics,
} from '../src/engine/index.ts';

const HELP = `usage: npm run train -- [options]
  --preset NAME          a preset (ch1-mlp30, ch3-mlp100-l2, ch6-relu, ...); --list shows them
  --spec FILE            a JSON experiment (preset and/or network/training/data), options below override it
  --epochs N  --batch N  --eta X  --lambda X  --momentum X  --seed N  --threads N
  --train-size N  --validation-size N  --expand
  --json                 JSON lines (one per epoch, then a summary) instead of a progress bar
  --out DIR              where to save the model (default DATA_DIR/models/<name>-<time>)
  --no-save              do not save the model
  --resume FILE          continue from a checkpoint written by an interrupted run (or by --checkpoint)
  --checkpoint FILE      write a checkpoint to FILE after every epoch (a long run survives being killed)
  --list                 list the presets and exit`;

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    options: {
      preset: { type: 'string' }, spec: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
      eta: { type: 'string' }, lambda: { type: 'string' }, momentum: { type: 'string' }, seed: { type: 'string' },
      threads: { type: 'string' }, 'train-size': { type: 'string' }, 'validation-size': { type: 'string' },
      expand: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, 'no-save': { type: 'boolean' },
      resume: { type: 'string' }, checkpoint: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (a.help) return console.log(HELP), 0;
  if (a.list) {
    const { listPresets } = await import('../src/engine/index.ts');
    for (const p of listPresets()) console.log(`${p.name.padEnd(15)} book ${(p.bookAccuracy * 100).toFixed(2)}%  ${p.description}`);
    return 0;
  }
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new SpecError([{ path: name, message: `--${name} must be a number, got "${v}"` }]);
    return n;
  };
  // the spec file is validated by resolveExperiment; here it is only merged with the flags
  const input = (a.spec ? JSON.parse(await readFile(a.spec, 'utf8')) : {}) as Record<string, Record<string, unknown> | string | undefined> & { training?: object; data?: object };
  if (a.preset) input.preset = a.preset;
  const training = Object.fromEntries(Object.entries({
    epochs: num(a.epochs, 'epochs'), miniBatchSize: num(a.batch, 'batch'), eta: num(a.eta, 'eta'), lambda: num(a.lambda, 'lambda'),
    momentum: num(a.momentum, 'momentum'), seed: num(a.seed, 'seed'), threads: num(a.threads, 'threads'),
  }).filter(([, v]) => v !== undefined));
  const data = Object.fromEntries(Object.entries({
    trainSize: num(a['train-size'], 'train-size'), validationSize: num(a['validation-size'], 'validation-size'), expand: a.expand,
  }).filter(([, v]) => v !== undefined));
  input.training = { ...input.training, ...training };
  input.data = { ...input.data, ...data };
  if (!input.preset && !input.network) input.preset = 'ch1-mlp30';

  // The same budgets as the service (MAX_JOB_*, PREDICT_SCRATCH_BYTES) and the same thread ceiling (ENGINE_THREADS).
  const config = loadConfig();
  const checkpoint = a.resume ? decodeCheckpoint(await readFile(a.resume)) : undefined;
  let experiment = checkpoint ? checkpoint.experiment : resolveExperiment(input);
  assertWithinBudgets(experiment, jobBudgets(config));
  const asked = a.threads ? Number(a.threads) : experiment.training.threads;
  const threads = Math.min(asked ?? config.ENGINE_THREADS, config.ENGINE_THREADS);
  if (asked !== undefined && asked > threads) {
    console.error(`note: ${asked} threads asked for; using ENGINE_THREADS = ${threads} (raise it to allow more)`);
    experiment = { ...experiment, training: { ...experiment.training, threads } };
  }
  const name = experiment.name ?? experiment.preset ?? 'custom';
  const outDir = resolve(a.out ?? join(process.env.DATA_DIR ?? 'data', 'models', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const json = a.json ?? false;
  const say = (o: unknown) => console.log(JSON.stringify(o));

  const mnist = await loadMnist();
  const split = splitData(mnist, experiment.data);
  const info = engineInfo();
  if (json) say({ event: 'start', name, experiment, engine: info, trainingImages: split.training.count });
  else console.log(`training ${name} on ${split.training.count} images (${info.gemm}, ${info.simd}, ${checkpoint ? Math.min(checkpoint.threads, config.ENGINE_THREADS) : threads} threads)`);

  const signal = new Int32Array(new SharedArrayBuffer(4));
  const onSigint = () => {
    if (signal[0] !== 0) process.exit(130); // a second Ctrl-C: give up at once
    Atomics.store(signal, 0, SIGNAL_INTERRUPT);
  };
  process.on('SIGINT', onSigint);
  const bar = !json && process.stdout.isTTY
    ? new cliProgress.SingleBar({ format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} batches | {eta_formatted}', hideCursor: true },
      cliProgress.Presets.shades_classic)
    : null;
  let barEpoch = -1;
  const line = (m: EpochMetrics) => {
    const pct = (x: number | null) => (x === null ? '  n/a ' : `${(x * 100).toFixed(2)}%`);
    return `${experiment.ensemble ? `member ${m.member} ` : ''}epoch ${m.epoch}/${m.epochs}: training ${pct(m.trainingAccuracy)} ` +
      `cost ${m.trainingCost.toFixed(4)} | validation ${pct(m.validationAccuracy)} | η ${m.eta} | ${m.seconds.toFixed(2)} s ` +
      `(${Math.round(m.imagesPerSecond)} img/s)`;
  };
  const result = await train(experiment, {
    data: split, signal, checkpoint, threads, maxThreads: config.ENGINE_THREADS,
    onProgress: bar ? (p) => {
      if (p.epoch !== barEpoch) {
        bar.start(p.batches, p.batch, { epoch: p.epoch, epochs: experiment.training.epochs });
        barEpoch = p.epoch;
      } else bar.update(p.batch);
    } : undefined,
    onEpoch: async (m, ck) => {
      if (a.checkpoint) {
        // written beside, then renamed: a kill mid-write leaves the previous checkpoint whole
        await writeFile(`${a.checkpoint}.tmp`, encodeCheckpoint(ck));
        await rename(`${a.checkpoint}.tmp`, a.checkpoint);
      }
      if (bar) {
        bar.stop();
        barEpoch = -1;
      }
      if (json) say({ event: 'epoch', ...m });
      else console.log(line(m));
    },
  });
  bar?.stop(); // the SIGINT handler stays: a late Ctrl-C must not kill the process mid-write

  if (result.status !== 'completed') {
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, 'checkpoint.bin');
    await writeFile(file, encodeCheckpoint(result.checkpoint));
    if (json) say({ event: result.status, checkpoint: file, epoch: result.checkpoint.epoch, batch: result.checkpoint.batch });
    else console.log(`${result.status} at epoch ${result.checkpoint.epoch + 1}, batch ${result.checkpoint.batch}; resume with --resume ${file}`);
    return 130;
  }
  const model = result.model;
  if (!a['no-save']) await saveModel(outDir, model);
  if (json) {
    say({ event: 'completed', testAccuracy: model.testAccuracy, testCost: model.testCost, keep: model.experiment.training.keep,
      keptEpochs: model.keptEpochs, finalTestAccuracy: model.finalTestAccuracy, finalTestCost: model.finalTestCost,
      trainingSeconds: model.trainingSeconds, confusion: model.confusion, savedTo: a['no-save'] ? null : outDir });
  } else {
    const kept = model.keptEpochs?.join(', ') ?? '?';
    console.log(`test accuracy ${(model.testAccuracy * 100).toFixed(2)}% (cost ${model.testCost.toFixed(4)}) with the weights of epoch ${kept} ` +
      `(keep ${model.experiment.training.keep ?? 'final'}); final epoch ${((model.finalTestAccuracy ?? model.testAccuracy) * 100).toFixed(2)}%; ` +
      `after ${model.trainingSeconds.toFixed(1)} s`);
    if (!a['no-save']) console.log(`model saved to ${outDir}`);
  }
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  if (err instanceof SpecError) {
    console.error(`invalid experiment:\n${err.issues.map((i) => `  ${i.path || '(top level)'}: ${i.message}`).join('\n')}`);
  } else if (err instanceof BudgetError) {
    console.error(`over budget (raise the setting to allow it):\n${err.violations.map((v) => `  ${v.message}`).join('\n')}`);
  } else console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
