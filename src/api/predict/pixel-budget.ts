// What one predict request may make us decode: the pixels of its images, summed as each image's
// header is read (before it is decoded). MAX_IMAGE_PIXELS bounds one image; without a bound on the
// sum, MAX_INSTANCES images of a few kB each (a blank 5000×5000 PNG is 138 kB and takes ~0.3 s to
// decode) would make one request cost tens of seconds of CPU. MAX_REQUEST_PIXELS bounds the sum.
import { ApiError } from '../../errors.ts';

export class PixelBudget {
  private spent = 0;

  constructor(readonly max: number) {}

  /** Counts an image of `pixels` (width × height from its header); throws 422 over_budget past the budget. */
  spend(pixels: number): void {
    if (this.spent + pixels > this.max) {
      const value = this.spent + pixels;
      const message = `the request's images hold ${value.toLocaleString('en')} pixels so far, above MAX_REQUEST_PIXELS = ${this.max.toLocaleString('en')}: send fewer or smaller images per request`;
      throw new ApiError(422, 'over_budget', message, [{ budget: 'MAX_REQUEST_PIXELS', figure: 'requestPixels', value, limit: this.max, message }]);
    }
    this.spent += pixels;
  }
}

/** Width × height from a PNG's IHDR or a JPEG's SOF marker, without decoding; null when not found there. */
export function headerPixels(bytes: Buffer, format: 'png' | 'jpeg'): number | null {
  // PNG: the IHDR chunk comes first, its width and height at bytes 16 and 20
  if (format === 'png') {
    return bytes.length >= 24 && bytes.toString('latin1', 12, 16) === 'IHDR' ? bytes.readUInt32BE(16) * bytes.readUInt32BE(20) : null;
  }
  // JPEG: markers from offset 2, each 0xFF xx [length] …, up to start of scan (SOS, 0xDA)
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { i += 2; continue; } // no length
    if (marker === 0xda || marker === 0xd9) return null; // scan or end before any frame header
    const length = bytes.readUInt16BE(i + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return i + 9 <= bytes.length ? bytes.readUInt16BE(i + 5) * bytes.readUInt16BE(i + 7) : null;
    i += 2 + length;
  }
  return null;
}
