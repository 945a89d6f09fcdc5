// The book's split of MNIST: the first 50,000 training images train, the last 10,000 validate,
// the 10,000 test images test. trainSize / validationSize take leading slices (views, no copy).
// Expansion (network3's expand_mnist.py): each training image followed by its four 1-pixel
// shifts (down, up, right, left; the pixels that enter are 0): ×5, 250,000 images from 50,000,
// kept as bytes (196 MB), never as floats.
import { MnistError, type LabelledImages, type Mnist } from './mnist.ts';
import type { DataSpec } from './spec.ts';

export const BOOK_TRAIN = 50_000;
export const BOOK_VALIDATION = 10_000;
const PIXELS = 784;

export type DataSplit = { training: LabelledImages; validation: LabelledImages; test: LabelledImages };

function slice(set: LabelledImages, start: number, count: number): LabelledImages {
  return {
    images: set.images.subarray(start * PIXELS, (start + count) * PIXELS),
    labels: set.labels.subarray(start, start + count),
    count,
  };
}

export function splitData(mnist: Mnist, data: DataSpec): DataSplit {
  if (mnist.train.count < BOOK_TRAIN + data.validationSize) {
    throw new MnistError(
      `the MNIST training file has ${mnist.train.count} images; the book's split needs ${BOOK_TRAIN} + ${data.validationSize}`,
    );
  }
  if (data.trainSize > BOOK_TRAIN) throw new MnistError(`trainSize ${data.trainSize} exceeds the ${BOOK_TRAIN} training images`);
  const base = slice(mnist.train, 0, data.trainSize);
  return {
    training: data.expand ? expandImages(base) : base,
    validation: slice(mnist.train, BOOK_TRAIN, data.validationSize),
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
const SHIFTS: [number, number][] = [[1, 0], [-1, 0], [0, 1], [0, -1]];

export function expandImages(set: LabelledImages): LabelledImages {
  const count = set.count * 5;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < set.count; i++) {
    const src = set.images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const o = i * 5;
    images.set(src, o * PIXELS);
    SHIFTS.forEach(([dy, dx], k) => shiftImage(src, images.subarray((o + 1 + k) * PIXELS, (o + 2 + k) * PIXELS), dy, dx));
    labels.fill(set.labels[i]!, o, o + 5);
  }
  return { images, labels, count };
}
