// PNG/JPEG bytes -> greyscale pixels, safely: the header is checked before any decoding
// (format, dimensions against MAX_IMAGE_PIXELS), corrupt or truncated data is a 422,
// and big photos are shrunk by sharp (off the event loop) before our own pixel work.
import sharp, { type Metadata } from 'sharp';
import { unprocessable } from '../../errors.ts';
import { normalizeDigit, type GreyImage } from './normalize-image.ts';

const FORMATS = new Set(['png', 'jpeg']);
// Working size for normalisation: plenty for a 20×20 digit, bounded JS work per image.
const WORK_SIDE = 256;

export type DecodeLimits = { maxPixels: number };

export async function decodeGrey(bytes: Buffer, limits: DecodeLimits): Promise<GreyImage> {
  if (bytes.length === 0) throw unprocessable('the image is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw unprocessable('not a PNG or JPEG image (cannot read its header)');
  }
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw unprocessable(`unsupported image format ${meta.format ?? 'unknown'}: send PNG or JPEG`);
  }
  const { width = 0, height = 0 } = meta;
  if (width <= 0 || height <= 0) throw unprocessable('the image has no pixels');
  if (width * height > limits.maxPixels) {
    throw unprocessable(`image too large: ${width}×${height} pixels, at most ${limits.maxPixels} allowed`, {
      width,
      height,
      maxPixels: limits.maxPixels,
    });
  }
  try {
    let pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true }).rotate();
    if (meta.hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' });
    if (Math.max(width, height) > WORK_SIDE) {
      pipeline = pipeline.resize(WORK_SIDE, WORK_SIDE, { fit: 'inside', withoutEnlargement: true });
    }
    const { data, info } = await pipeline.greyscale().raw().toBuffer({ resolveWithObject: true });
    return { data: firstChannel(data, info.channels), width: info.width, height: info.height };
  } catch (err) {
    throw unprocessable(`cannot decode the image: ${conciseSharpMessage(err)}`);
  }
}

export async function decodeDigit(bytes: Buffer, limits: DecodeLimits): Promise<Float32Array> {
  return normalizeDigit(await decodeGrey(bytes, limits));
}

function firstChannel(data: Buffer, channels: number): Uint8Array {
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (channels === 1) return u8;
  const out = new Uint8Array(u8.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = u8[i * channels]!;
  return out;
}

function conciseSharpMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // libvips messages are multi-line and name internal files; keep the first line
  return msg.split('\n')[0]!.slice(0, 200) || 'corrupt image data';
}

/** Base64 from JSON `{ b64 }`, with or without a data: URL prefix. */
export function bytesFromBase64(b64: string): Buffer {
  const body = b64.replace(/^data:[^;,]*;base64,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body)) throw unprocessable('b64 is not valid base64');
  return Buffer.from(body, 'base64');
}
