// The real-world evaluation set (eval/realworld/, made by scripts/realworld/generate.ts): photos,
// scans and pen drawings of digits that are not MNIST's images. Each file goes through the same
// decoding and normalisation as POST /v1/predict (decodeDigit), then through the model; the
// result is the accuracy per category and overall. Used by `npm run eval:realworld` and by
// whatever wants a model's real-world figures (a model card).
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { decodeDigit } from '../api/predict/decode-image.ts';
import type { Predictor } from '../engine/predictor.ts';

export const REALWORLD_DIR = resolve(fileURLToPath(new URL('../../eval/realworld', import.meta.url)));

const ManifestSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  seed: z.number(),
  count: z.number().int(),
  categories: z.array(z.object({ name: z.string(), description: z.string(), source: z.string(), count: z.number().int() })),
  items: z.array(z.object({
    file: z.string().regex(/^[a-z0-9-]+\/[0-9]+-[0-9]\.(png|jpg)$/),
    label: z.number().int().min(0).max(9),
    category: z.string(),
    source: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })),
});
export type RealWorldManifest = z.infer<typeof ManifestSchema>;

export async function readManifest(dir = REALWORLD_DIR): Promise<RealWorldManifest> {
  return ManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
}

export type CategoryResult = { category: string; count: number; correct: number; accuracy: number; noDigit: number };
export type RealWorldResult = {
  set: string;
  count: number;
  correct: number;
  accuracy: number;
  /** Mean of the categories' accuracies (each category counts the same). */
  meanCategoryAccuracy: number;
  categories: CategoryResult[];
  /** Every miss: file, label, what the model said (null: preprocessing found no digit). */
  misses: { file: string; label: number; predicted: number | null }[];
};

/** Inputs as /v1/predict would see them: 784 floats per file, or null where it would answer 422. */
export async function preprocessSet(
  manifest: RealWorldManifest,
  dir = REALWORLD_DIR,
  decode: (bytes: Buffer) => Promise<Float32Array> = (b) => decodeDigit(b, { maxPixels: 25_000_000 }),
): Promise<(Float32Array | null)[]> {
  const inputs: (Float32Array | null)[] = [];
  for (const item of manifest.items) {
    const bytes = await readFile(join(dir, item.file));
    inputs.push(await decode(bytes).catch((err: { status?: number }) => {
      if (err?.status === 422) return null;
      throw err;
    }));
  }
  return inputs;
}

export async function evaluateRealWorld(
  predictor: Pick<Predictor, 'predict'>,
  opts: { dir?: string; manifest?: RealWorldManifest; inputs?: (Float32Array | null)[] } = {},
): Promise<RealWorldResult> {
  const dir = opts.dir ?? REALWORLD_DIR;
  const manifest = opts.manifest ?? (await readManifest(dir));
  const inputs = opts.inputs ?? (await preprocessSet(manifest, dir));
  const present = inputs.flatMap((x, i) => (x ? [i] : []));
  const batch = new Float32Array(present.length * 784);
  present.forEach((i, k) => batch.set(inputs[i]!, k * 784));
  const out = present.length ? await predictor.predict(batch) : new Float32Array(0);
  const predicted: (number | null)[] = inputs.map(() => null);
  present.forEach((i, k) => {
    const p = out.subarray(k * 10, k * 10 + 10);
    let best = 0;
    for (let d = 1; d < 10; d++) if (p[d]! > p[best]!) best = d;
    predicted[i] = best;
  });
  const byCategory = new Map<string, CategoryResult>();
  for (const c of manifest.categories) byCategory.set(c.name, { category: c.name, count: 0, correct: 0, accuracy: 0, noDigit: 0 });
  const misses: RealWorldResult['misses'] = [];
  manifest.items.forEach((item, i) => {
    const r = byCategory.get(item.category)!;
    r.count++;
    if (predicted[i] === null) r.noDigit++;
    if (predicted[i] === item.label) r.correct++;
    else misses.push({ file: item.file, label: item.label, predicted: predicted[i]! });
  });
  const categories = [...byCategory.values()].map((r) => ({ ...r, accuracy: r.count ? r.correct / r.count : 0 }));
  const correct = categories.reduce((s, r) => s + r.correct, 0);
  return {
    set: manifest.name,
    count: manifest.items.length,
    correct,
    accuracy: correct / manifest.items.length,
    meanCategoryAccuracy: categories.reduce((s, r) => s + r.accuracy, 0) / categories.length,
    categories,
    misses,
  };
}
