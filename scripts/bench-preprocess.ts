// `npm run bench:preprocess [-- --rounds 3]`: the image preprocessing's own cost, CPU time per
// image of decodeDigit (decode + normalisation, as POST /v1/predict runs it) with each choice of
// optional stages: on the 28×28 MNIST PNG that `bench:serve` posts, and on the real-world set's
// photos. CPU time (process.cpuUsage), best of --rounds, so a loaded machine disturbs it less
// than a wall-clock figure; bench:serve gives the end-to-end req/s.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeDigit } from '../src/api/predict/decode-image.ts';
import { setPreprocessStages } from '../src/api/predict/normalize-image.ts';
import { parseStages } from '../src/api/predict/stages/stage-names.ts';
import { loadMnist } from '../src/engine/index.ts';
import { readManifest, REALWORLD_DIR } from '../src/eval/realworld.ts';

const { values: a } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, stages: { type: 'string', multiple: true } } });
const configs = a.stages ?? ['none', 'background', 'background,components', ''];
const mnist = await loadMnist(process.env.MNIST_DIR ? { dir: process.env.MNIST_DIR } : {});
const mnistPng = await sharp(Buffer.from(mnist.test.images.subarray(0, 784)), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
const manifest = await readManifest();
const photos = await Promise.all(manifest.items.map((i) => readFile(join(REALWORLD_DIR, i.file))));
const limits = { maxPixels: 25_000_000 };

async function cpuMicros(images: Buffer[], repeat: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < Number(a.rounds); r++) {
    const start = process.cpuUsage();
    for (let k = 0; k < repeat; k++) for (const img of images) await decodeDigit(img, limits).catch(() => null);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / (images.length * repeat));
  }
  return best;
}

for (const c of configs) {
  const stages = parseStages(c);
  setPreprocessStages(stages);
  const png = await cpuMicros([mnistPng], 2000);
  const real = await cpuMicros(photos, 1);
  console.log(JSON.stringify({ stages: stages.join(',') || 'none', mnistPngMicros: Math.round(png), realWorldMicros: Math.round(real) }));
}
