// Tuning benchmark of the native addon on the real MNIST (MNIST_DIR): prints one JSON line per
// measurement. Usage:
//   node --import tsx scripts/bench-native.ts [--only ch1,ch3,conv,dropout] [--threads 1,2]
//     [--gemm openblas,portable] [--images N] [--repeat R]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NativeNetwork, nativeInfo, setGemm } from '../src/engine/native.ts';
import { paramLayout, type NetworkDesc } from '../src/engine/network-plan.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

function loadIdx(file: string): Uint8Array {
  const dir = process.env.MNIST_DIR ?? join(process.cwd(), '..', 'shared', 'mnist');
  const buf = gunzipSync(readFileSync(join(dir, file)));
  const dims = buf[3];
  return new Uint8Array(buf.buffer, buf.byteOffset + 4 + 4 * dims!, buf.length - 4 - 4 * dims!);
}

// Deterministic N(0, σ) weights (xorshift + Box-Muller), biases N(0, 1): the book's default init.
function initParams(desc: NetworkDesc, seed = 1): Float32Array {
  const layout = paramLayout(desc);
  const p = new Float32Array(layout.paramCount);
  let s = seed >>> 0 || 1;
  const uni = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
  for (const l of layout.segments) {
    const sd = 1 / Math.sqrt(l.fanIn);
    for (let i = 0; i < l.weightLength; i++) p[l.weightOffset + i] = gauss() * sd;
    for (let i = 0; i < l.biasLength; i++) p[l.biasOffset + i] = gauss();
  }
  return p;
}

const mlp = (hidden: number, act: 'sigmoid', cost: NetworkDesc['cost']): NetworkDesc => ({
  inputShape: [28, 28, 1],
  layers: [
    { kind: 'dense', outSize: hidden, activation: act },
    { kind: 'dense', outSize: 10, activation: 'sigmoid' },
  ],
  cost,
});

const convBase = (): NetworkDesc['layers'] => [
  { kind: 'conv', filters: 20, kernel: 5, activation: 'relu' },
  { kind: 'pool', mode: 'max' },
  { kind: 'conv', filters: 40, kernel: 5, activation: 'relu' },
  { kind: 'pool', mode: 'max' },
];

interface Case {
  name: string;
  desc: NetworkDesc;
  batch: number;
  eta: number;
  l2: number;
  trainImages: number;
  infer: boolean;
}

const N = 50000;
const cases: Case[] = [
  { name: 'ch1-mlp30', desc: mlp(30, 'sigmoid', 'quadratic'), batch: 10, eta: 3, l2: 0, trainImages: N, infer: false },
  { name: 'ch3-mlp100-l2', desc: mlp(100, 'sigmoid', 'cross-entropy'), batch: 10, eta: 0.5, l2: 5 / N, trainImages: N, infer: false },
  {
    name: 'ch6-relu', batch: 10, eta: 0.03, l2: 0.1 / N, trainImages: 10000, infer: true,
    desc: { inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [...convBase(),
      { kind: 'dense', outSize: 100, activation: 'relu' }, { kind: 'dense', outSize: 10, activation: 'softmax' }] },
  },
  {
    name: 'ch6-dropout', batch: 10, eta: 0.03, l2: 0, trainImages: 5000, infer: false,
    desc: { inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [...convBase(),
      { kind: 'dense', outSize: 1000, activation: 'relu', dropout: 0.5 },
      { kind: 'dense', outSize: 1000, activation: 'relu', dropout: 0.5 },
      { kind: 'dense', outSize: 10, activation: 'softmax', dropout: 0.5 }] },
  },
];
const alias: Record<string, string> = { ch1: 'ch1-mlp30', ch3: 'ch3-mlp100-l2', conv: 'ch6-relu', dropout: 'ch6-dropout' };

async function main(): Promise<void> {
  const images = loadIdx('train-images-idx3-ubyte.gz').subarray(0, N * 784);
  const labels = loadIdx('train-labels-idx1-ubyte.gz').subarray(0, N);
  const only = arg('only', 'ch1,ch3,conv,dropout').split(',').map((s) => alias[s] ?? s);
  const threadList = arg('threads', '1,2').split(',').map(Number);
  const info = nativeInfo();
  const gemms = arg('gemm', info.openblas ? 'portable,openblas' : 'portable').split(',') as ('openblas' | 'portable')[];
  const imagesOverride = Number(arg('images', '0'));
  const repeat = Number(arg('repeat', '1'));
  let s = 12345;
  const order = new Uint32Array(N).map((_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const c of cases.filter((x) => only.includes(x.name))) {
    for (const gemm of gemms) {
      setGemm(gemm);
      for (const threads of threadList) {
        const params = initParams(c.desc);
        const net = new NativeNetwork(c.desc, params, null, threads);
        const count = imagesOverride > 0 ? Math.min(imagesOverride, N) : c.trainImages;
        const ord = order.subarray(0, count);
        // warm-up: a few batches (allocates the scratch, faults the pages in)
        await net.trainEpoch({ images, labels, order: ord.subarray(0, c.batch * 20), batchSize: c.batch, eta: c.eta, l2: c.l2, dropoutSeed: 1 });
        let best = Infinity;
        let bestCpu = Infinity;
        let acc = 0;
        for (let r = 0; r < repeat; r++) {
          const t0 = process.hrtime.bigint();
          const c0 = process.cpuUsage();
          const res = await net.trainEpoch({ images, labels, order: ord, batchSize: c.batch, eta: c.eta, l2: c.l2, dropoutSeed: r + 7 });
          const sec = Number(process.hrtime.bigint() - t0) / 1e9;
          const cu = process.cpuUsage(c0);
          bestCpu = Math.min(bestCpu, (cu.user + cu.system) / 1e6);
          best = Math.min(best, sec);
          acc = res.correct / res.examples;
        }
        const line: Record<string, unknown> = {
          name: c.name, mode: 'train', gemm, threads, trainThreads: net.trainThreads(c.batch), batch: c.batch, images: count,
          seconds: +best.toFixed(4), cpuSeconds: +bestCpu.toFixed(4), imagesPerSecond: Math.round(count / best),
          epochSeconds: +((best * N) / count).toFixed(3), trainAccuracy: +acc.toFixed(4),
        };
        console.log(JSON.stringify(line));
        if (c.infer) {
          const n = 10000;
          const input = new Float32Array(n * 784);
          for (let i = 0; i < n * 784; i++) input[i] = images[i]! / 255;
          await net.predict(input.subarray(0, 1000 * 784));
          let bestI = Infinity;
          let bestCpuI = Infinity;
          for (let r = 0; r < Math.max(repeat, 2); r++) {
            const t0 = process.hrtime.bigint();
            const c0 = process.cpuUsage();
            for (let b = 0; b < n; b += 1000) await net.predict(input.subarray(b * 784, (b + 1000) * 784));
            bestI = Math.min(bestI, Number(process.hrtime.bigint() - t0) / 1e9);
            const cu = process.cpuUsage(c0);
            bestCpuI = Math.min(bestCpuI, (cu.user + cu.system) / 1e6);
          }
          console.log(JSON.stringify({ name: c.name, mode: 'inference', gemm, threads, batch: 1000, images: n,
            seconds: +bestI.toFixed(4), cpuSeconds: +bestCpuI.toFixed(4), imagesPerSecond: Math.round(n / bestI) }));
        }
      }
    }
  }
}

await main();
