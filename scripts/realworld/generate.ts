// `npm run realworld:generate [-- --seed 10 --per-digit 5 --out eval/realworld]`: writes the
// real-world evaluation set: for each category, per-digit files of each digit 0–9 under
// <out>/<category>/, and <out>/manifest.json (labels, categories, sources, SHA-256 of each file).
// Deterministic for a seed (every file has its own Rng, seeded from the seed, its category and
// its number); MNIST-based categories use MNIST's *test* digits only (never trained on),
// each digit used once in the whole set.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { CATEGORIES } from './categories.ts';

export type ManifestItem = { file: string; label: number; category: string; source: string; sha256: string };
export type Manifest = {
  version: 1;
  name: string;
  seed: number;
  generator: string;
  count: number;
  categories: { name: string; description: string; source: string; count: number }[];
  items: ManifestItem[];
};

const { values: a } = parseArgs({
  options: { seed: { type: 'string', default: '10' }, 'per-digit': { type: 'string', default: '5' }, out: { type: 'string', default: 'eval/realworld' } },
});
const seed = Number(a.seed), perDigit = Number(a['per-digit']);
const out = resolve(a.out!);

const mnist = await loadMnist(process.env.MNIST_DIR ? { dir: process.env.MNIST_DIR } : {});
const { images, labels, count } = mnist.test;
// MNIST test digits by label, in one seeded order: each is used at most once
const order = Rng.fromSeed(seed).permutation(count);
const byLabel: number[][] = Array.from({ length: 10 }, () => []);
for (const i of order) byLabel[labels[i]!]!.push(i);
// Category c's k-th digit of a label is always the same test image, whatever --per-digit says
// (so a smaller set is the first files of the bigger one)
const MAX_PER_DIGIT = 50;
if (!(perDigit >= 1 && perDigit <= MAX_PER_DIGIT)) throw new Error(`--per-digit must be 1…${MAX_PER_DIGIT}`);

await rm(out, { recursive: true, force: true });
const items: ManifestItem[] = [];
if (CATEGORIES.length * MAX_PER_DIGIT > Math.min(...byLabel.map((l) => l.length))) throw new Error('not enough MNIST test digits');
for (const [ci, cat] of CATEGORIES.entries()) {
  await mkdir(join(out, cat.name), { recursive: true });
  for (let k = 0; k < perDigit * 10; k++) {
    const label = k % 10;
    const rng = Rng.fromSeed((seed ^ Math.imul(ci + 1, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
    let digit: Uint8Array | null = null;
    let source = 'pen';
    if (cat.source === 'mnist-test') {
      const index = byLabel[label]![ci * MAX_PER_DIGIT + Math.floor(k / 10)]!;
      digit = images.subarray(index * 784, (index + 1) * 784);
      source = `mnist-test:${index}`;
    }
    const made = await cat.make(label, rng, digit);
    const file = `${cat.name}/${String(k).padStart(3, '0')}-${label}.${made.ext}`;
    await writeFile(join(out, file), made.bytes);
    items.push({ file, label, category: cat.name, source, sha256: createHash('sha256').update(made.bytes).digest('hex') });
  }
  process.stderr.write(`${cat.name}: ${perDigit * 10} files\n`);
}
const manifest: Manifest = {
  version: 1,
  name: 'nndl-realworld',
  seed,
  generator: 'scripts/realworld/generate.ts',
  count: items.length,
  categories: CATEGORIES.map((c) => ({ name: c.name, description: c.description, source: c.source, count: perDigit * 10 })),
  items,
};
await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
console.log(JSON.stringify({ out, seed, count: items.length, categories: CATEGORIES.length }));
