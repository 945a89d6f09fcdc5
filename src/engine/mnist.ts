// MNIST's four IDX files: found in MNIST_DIR (or DATA_DIR/mnist), plain or .gz, SHA-256 checked
// on the uncompressed bytes, and downloaded from a mirror (MNIST_MIRROR) only when absent
// (mnist-download.ts: verified before it is kept, retried, bounded in size and time).
// Images stay bytes (Uint8Array, n × 784): the addon converts per mini-batch.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { engineEnv } from '../config/engine-env.ts';
import { downloadMnistFile, type MnistDownloadOptions } from './mnist-download.ts';

export { MNIST_DOWNLOAD_DEFAULTS, type MnistDownloadOptions } from './mnist-download.ts';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
export type MnistFileName = (typeof MNIST_FILES)[keyof typeof MNIST_FILES];

/** SHA-256 of the uncompressed files (DESIGN.md). */
export const MNIST_SHA256: Record<MnistFileName, string> = {
  'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};

export type LabelledImages = { images: Uint8Array; labels: Uint8Array; count: number };
export type Mnist = { train: LabelledImages; test: LabelledImages; rows: number; cols: number; dir: string };

export type LoadMnistOptions = {
  dir?: string;            // default: MNIST_DIR, else DATA_DIR/mnist, else ./data/mnist
  mirror?: string;         // default: MNIST_MIRROR; base URL serving <name>.gz
  checksums?: Partial<Record<MnistFileName, string>> | false; // override (fixtures) or skip
  fetch?: typeof fetch;
  /** Tries, time and size limits of a download (MNIST_DOWNLOAD_*). */
  download?: MnistDownloadOptions;
};

export class MnistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MnistError';
  }
}

export function defaultMnistDir(): string {
  const env = engineEnv();
  return env.MNIST_DIR ? resolve(env.MNIST_DIR) : resolve(env.DATA_DIR, 'mnist');
}

const cache = new Map<string, Promise<Mnist>>();

/** Loads (once per process and directory) the four MNIST files. */
export function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const dir = resolve(options.dir ?? defaultMnistDir());
  const cacheable = options.checksums === undefined && options.fetch === undefined && options.download === undefined;
  if (cacheable && cache.has(dir)) return cache.get(dir)!;
  const p = load(dir, options);
  if (cacheable) {
    cache.set(dir, p);
    p.catch(() => cache.delete(dir));
  }
  return p;
}

async function load(dir: string, options: LoadMnistOptions): Promise<Mnist> {
  const checks = options.checksums === false ? null : { ...MNIST_SHA256, ...options.checksums };
  const files = Object.values(MNIST_FILES);
  const missing = files.filter((f) => !existsSync(join(dir, f)) && !existsSync(join(dir, `${f}.gz`)));
  if (missing.length > 0) {
    const env = engineEnv();
    const mirror = options.mirror ?? env.MNIST_MIRROR;
    // MNIST_DOWNLOAD_* unless the caller says otherwise
    const download: MnistDownloadOptions = {
      attempts: env.MNIST_DOWNLOAD_ATTEMPTS,
      timeoutMs: env.MNIST_DOWNLOAD_TIMEOUT_S * 1000,
      maxBytes: env.MNIST_DOWNLOAD_MAX_BYTES,
      ...options.download,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    if (!mirror) {
      throw new MnistError(
        `MNIST not found in ${dir}: missing ${missing.join(', ')} (plain or .gz). ` +
          'Set MNIST_DIR to a directory holding the four IDX files, or MNIST_MIRROR to download them.',
      );
    }
    await mkdir(dir, { recursive: true });
    for (const f of missing) {
      try {
        await downloadMnistFile(mirror, f, dir, checks ? checks[f] : null, download);
      } catch (err) {
        throw new MnistError((err as Error).message);
      }
    }
  }
  const read = async (name: MnistFileName) => {
    const bytes = await readIdxFile(dir, name);
    if (checks) {
      const got = createHash('sha256').update(bytes).digest('hex');
      if (got !== checks[name]) {
        throw new MnistError(`MNIST file ${join(dir, name)} is corrupt: SHA-256 ${got}, expected ${checks[name]} (delete it; with MNIST_MIRROR set it is downloaded again)`);
      }
    }
    return bytes;
  };
  const [ti, tl, si, sl] = await Promise.all(files.map(read));
  const train = pair(parseImages(ti!, MNIST_FILES.trainImages), parseLabels(tl!, MNIST_FILES.trainLabels), 'train');
  const test = pair(parseImages(si!, MNIST_FILES.testImages), parseLabels(sl!, MNIST_FILES.testLabels), 't10k');
  return { train, test, rows: 28, cols: 28, dir };
}

async function readIdxFile(dir: string, name: string): Promise<Buffer> {
  const plain = join(dir, name);
  if (existsSync(plain)) return readFile(plain);
  const gz = await readFile(`${plain}.gz`);
  try {
    return gunzipSync(gz);
  } catch (err) {
    throw new MnistError(`MNIST file ${plain}.gz is not valid gzip: ${(err as Error).message}`);
  }
}

function u32be(b: Buffer, at: number): number {
  return b.readUInt32BE(at);
}

export function parseImages(b: Buffer, name: string): { images: Uint8Array; count: number } {
  if (b.length < 16 || u32be(b, 0) !== 0x00000803) throw new MnistError(`${name}: not an IDX image file (bad magic number)`);
  const count = u32be(b, 4);
  const rows = u32be(b, 8);
  const cols = u32be(b, 12);
  if (rows !== 28 || cols !== 28) throw new MnistError(`${name}: images are ${rows}×${cols}, expected 28×28`);
  if (b.length !== 16 + count * 784) throw new MnistError(`${name}: ${b.length} bytes, expected ${16 + count * 784} for ${count} images`);
  return { images: new Uint8Array(b.buffer, b.byteOffset + 16, count * 784), count };
}

export function parseLabels(b: Buffer, name: string): { labels: Uint8Array; count: number } {
  if (b.length < 8 || u32be(b, 0) !== 0x00000801) throw new MnistError(`${name}: not an IDX label file (bad magic number)`);
  const count = u32be(b, 4);
  if (b.length !== 8 + count) throw new MnistError(`${name}: ${b.length} bytes, expected ${8 + count} for ${count} labels`);
  const labels = new Uint8Array(b.buffer, b.byteOffset + 8, count);
  if (labels.some((l) => l > 9)) throw new MnistError(`${name}: a label is outside 0..9`);
  return { labels, count };
}

function pair(i: { images: Uint8Array; count: number }, l: { labels: Uint8Array; count: number }, set: string): LabelledImages {
  if (i.count !== l.count) throw new MnistError(`MNIST ${set} set: ${i.count} images but ${l.count} labels`);
  return { images: i.images, labels: l.labels, count: i.count };
}

/** Builds IDX file bytes (for fixtures and tests). */
export function encodeIdxImages(images: Uint8Array, count: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x00000803, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(28, 8);
  head.writeUInt32BE(28, 12);
  return Buffer.concat([head, Buffer.from(images.buffer, images.byteOffset, count * 784)]);
}

export function encodeIdxLabels(labels: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(0x00000801, 0);
  head.writeUInt32BE(labels.length, 4);
  return Buffer.concat([head, Buffer.from(labels.buffer, labels.byteOffset, labels.length)]);
}
