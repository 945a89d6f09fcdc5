// The bundled model (models/bundled/): a conv net trained by nndl's own engine, committed with its
// SHA-256s, installed into the store as `default` at the API's first start on a store that has no
// `default` alias, so that a fresh `npm start` answers /v1/predict at once. Never over a user's
// `default`; once per store (a Redis marker: a user who deletes it does not get it back at the next
// start); every file's checksum verified before anything is written (a corrupted copy is refused).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { TrainedModel } from '../engine/index.ts';
import { AliasRepository, DEFAULT_ALIAS } from './alias.repository.ts';
import type { ModelCard } from './model-record.ts';
import { ModelRepository } from './model.repository.ts';

export const CHECKSUM_FILE = 'SHA256SUMS';
export const CARD_FILE = 'card.json';
/** Files a bundle must hold, each listed in SHA256SUMS. */
const REQUIRED = ['model.json', 'weights.bin', CARD_FILE];

export class BundledModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundledModelError';
  }
}

export type BundledInstall =
  | { status: 'installed'; modelId: string; sha256: string }
  | { status: 'default-exists'; modelId: string }
  | { status: 'already-installed'; sha256: string };

/** The marker that says this store has had the bundled model once (value: its weights' SHA-256). */
export const bundledMarkerKey = (prefix: string) => `${prefix}:bundled-model:installed`;

/** Checks every file of the bundle against SHA256SUMS (`sha256sum` format); returns the weights' hash. */
export async function verifyBundle(dir: string): Promise<{ sha256: string; card: ModelCard }> {
  const sums = new Map<string, string>();
  const text = await readFile(join(dir, CHECKSUM_FILE), 'utf8').catch((err: Error) => {
    throw new BundledModelError(`no ${CHECKSUM_FILE} in ${dir}: ${err.message}`);
  });
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *]?(\S+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  for (const file of REQUIRED) {
    const expected = sums.get(file);
    if (!expected) throw new BundledModelError(`${CHECKSUM_FILE} in ${dir} lists no checksum for ${file}`);
    const bytes = await readFile(join(dir, file)).catch((err: Error) => {
      throw new BundledModelError(`cannot read ${file} of the bundled model: ${err.message}`);
    });
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected) {
      throw new BundledModelError(`${file} of the bundled model is corrupted: SHA-256 ${actual}, expected ${expected}; not installed`);
    }
  }
  const card = JSON.parse(await readFile(join(dir, CARD_FILE), 'utf8')) as ModelCard;
  return { sha256: sums.get('weights.bin')!, card };
}

/**
 * Installs the bundle in `dir` as the store's `default` unless the store has a `default` already or
 * has had the bundled model before. Throws BundledModelError (nothing written) on a bad checksum.
 */
export async function installBundledModel(opts: {
  dir: string; models: ModelRepository; aliases: AliasRepository; redis: Redis; prefix: string;
  load: (dir: string) => Promise<TrainedModel>;
}): Promise<BundledInstall> {
  const { dir, models, aliases, redis, prefix } = opts;
  const current = await aliases.resolve(DEFAULT_ALIAS);
  if (current) return { status: 'default-exists', modelId: current };
  const marker = bundledMarkerKey(prefix);
  const had = await redis.get(marker);
  if (had) return { status: 'already-installed', sha256: had };
  const { sha256, card } = await verifyBundle(dir); // before anything is written
  // The claim: of several API processes starting together, one installs.
  if ((await redis.set(marker, sha256, 'NX')) !== 'OK') return { status: 'already-installed', sha256: (await redis.get(marker)) ?? sha256 };
  try {
    const model = await opts.load(dir); // loadModel checks the weights against model.json's own hash too
    const record = await models.save(model, { name: card.name, owner: 'nndl', card: { ...card, sha256 } });
    if (!(await aliases.setIfAbsent(DEFAULT_ALIAS, record.id))) {
      // a user set `default` meanwhile: theirs stands; the bundled model stays listed under its id
      return { status: 'default-exists', modelId: (await aliases.resolve(DEFAULT_ALIAS)) ?? record.id };
    }
    return { status: 'installed', modelId: record.id, sha256 };
  } catch (err) {
    await redis.del(marker); // not installed after all: a later start may try again
    throw err;
  }
}

/**
 * The API's start-up step: installs the bundle named by BUNDLED_MODEL_DIR ("off": nothing), logging
 * what happened. Never throws: a refused or missing bundle is logged and the service starts anyway.
 */
export async function installBundledAtStart(
  config: { BUNDLED_MODEL_DIR: string; REDIS_URL: string; DATA_DIR: string; QUEUE_PREFIX: string },
  log: { info: (o: object, msg: string) => void; error: (o: object, msg: string) => void },
): Promise<BundledInstall | null> {
  if (config.BUNDLED_MODEL_DIR === 'off') return null;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dir = resolve(root, config.BUNDLED_MODEL_DIR);
  const { loadModel } = await import('../engine/index.ts'); // the addon, only when there is something to load
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const models = new ModelRepository({ dataDir: config.DATA_DIR, redis, prefix: config.QUEUE_PREFIX });
    const aliases = new AliasRepository({ redis, prefix: config.QUEUE_PREFIX });
    const r = await installBundledModel({ dir, models, aliases, redis, prefix: config.QUEUE_PREFIX, load: loadModel });
    log.info({ bundledModel: { dir, ...r } }, r.status === 'installed' ? 'bundled model installed as default' : `bundled model not installed: ${r.status}`);
    return r;
  } catch (err) {
    log.error({ err, dir }, 'bundled model not installed');
    return null;
  } finally {
    redis.disconnect();
  }
}
