// The book's split of MNIST: the first 50,000 training images train, the last 10,000 validate,
// the 10,000 test images test. trainSize / validationSize take leading slices (views, no copy).
// trainSize may go past the book's 50,000 (up to all 60,000): validation then starts right after
// the training images, so the two never overlap (60,000 trains with validationSize 0).
// Expansion (network3's expand_mnist.py): each training image followed by its four 1-pixel
// shifts (down, up, right, left; the pixels that enter are 0): ×5, 250,000 images from 50,000,
// kept as bytes (196 MB), never as floats.
import { MnistError, type LabelledImages, type Mnist } from './mnist.ts';
import type { DataSpec } from './spec.ts';

export const BOOK_TRAIN = 50_000;
export const BOOK_VALIDATION = 10_000;
/** Images in MNIST's training file: the most trainSize + validationSize can take. */
export const MNIST_TRAIN = BOOK_TRAIN + BOOK_VALIDATION;
const PIXELS = 784;

export type DataSplit = { training: LabelledImages; validation: LabelledImages; test: LabelledImages };

function slice(set: LabelledImages, start: number, count: number): LabelledImages {
  return {
    images: set.images.subarray(start * PIXELS, (start + count) * PIXELS),
    labels: set.labels.subarray(start, start + count),
    count,
  };
}

/** The first validation image: the book's 50,000th, or the one after the training images past it. */
export function validationStart(trainSize: number): number {
  return Math.max(BOOK_TRAIN, trainSize);
}

export function splitData(mnist: Mnist, data: DataSpec): DataSplit {
  const start = validationStart(data.trainSize);
  if (mnist.train.count < start + data.validationSize) {
    throw new MnistError(
      `the MNIST training file has ${mnist.train.count} images; the split needs ${start} + ${data.validationSize}`,
    );
  }
  const base = slice(mnist.train, 0, data.trainSize);
  return {
    training: data.expand ? expandImages(base) : base,
    validation: slice(mnist.train, start, data.validationSize),
    test: mnist.test,
  };
}

/** Shifts a 28×28 image by (dy, dx) ∈ {-1,0,1}², filling with 0, into out. */
export function shiftImage(src: Uint8Array, out: Uint8Array, dy: number, dx: number): void {
  out.fill(0);
  for (let y = 0; y < 28; y++) {
    const sy = y - dy;
    if (sy < 0 || sy > 27) continue;
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      if (sx < 0 || sx > 27) continue;
      out[y * 28 + x] = src[sy * 28 + sx]!;
    }
  }
}

// expand_mnist.py's order: original, then np.roll by +1/-1 on rows, then +1/-1 on columns.

// The latest expansion, reused while the same images are asked for again (a worker runs many jobs
// on one MNIST): 250,000 images take ~1 s to build and 196 MB to hold, so one copy is kept at most.
let cached: { buffer: ArrayBufferLike; offset: number; count: number; result: LabelledImages } | null = null;

export function expandImages(set: LabelledImages): LabelledImages {
  const hit = cachedExpansion(set);
  if (hit) return hit;
  const out = allocateExpansion(set);
  expandRange(set, out, 0, set.count);
  return remember(set, out);
}

/** expandImages in slices that yield to the event loop, so a worker's lock renewals and
 *  messages keep flowing while 250,000 images are built (~1 s in one block otherwise). */
export async function expandImagesAsync(set: LabelledImages, sliceImages = 4000): Promise<LabelledImages> {
  const hit = cachedExpansion(set);
  if (hit) return hit;
  const out = allocateExpansion(set);
  for (let i = 0; i < set.count; i += sliceImages) {
    expandRange(set, out, i, Math.min(set.count, i + sliceImages));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return remember(set, out);
}

/** splitData, with the expansion (when asked for) built without blocking the event loop. */
export async function splitDataAsync(mnist: Mnist, data: DataSpec): Promise<DataSplit> {
  const plain = splitData(mnist, { ...data, expand: false });
  return data.expand ? { ...plain, training: await expandImagesAsync(plain.training) } : plain;
}

function cachedExpansion(set: LabelledImages): LabelledImages | null {
  const c = cached;
  return c && c.buffer === set.images.buffer && c.offset === set.images.byteOffset && c.count === set.count ? c.result : null;
}

function allocateExpansion(set: LabelledImages): LabelledImages {
  cached = null; // let the previous expansion go before allocating the next
  const count = set.count * 5;
  return { images: new Uint8Array(count * PIXELS), labels: new Uint8Array(count), count };
}

function remember(set: LabelledImages, result: LabelledImages): LabelledImages {
  cached = { buffer: set.images.buffer, offset: set.images.byteOffset, count: set.count, result };
  return result;
}

function expandRange(set: LabelledImages, out: LabelledImages, from: number, to: number): void {
  const { images, labels } = out;
  for (let i = from; i < to; i++) {
    const src = set.images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const o = (i * 5) * PIXELS;
    images.set(src, o);
    // Shifts as row copies (memcpy) rather than per pixel; the rows/columns that enter stay 0.
    images.set(src.subarray(0, 27 * 28), o + PIXELS + 28);                 // down
    images.set(src.subarray(28), o + 2 * PIXELS);                           // up
    for (let y = 0; y < 28; y++) {
      images.set(src.subarray(y * 28, y * 28 + 27), o + 3 * PIXELS + y * 28 + 1); // right
      images.set(src.subarray(y * 28 + 1, y * 28 + 28), o + 4 * PIXELS + y * 28); // left
    }
    labels.fill(set.labels[i]!, i * 5, i * 5 + 5);
  }
}
