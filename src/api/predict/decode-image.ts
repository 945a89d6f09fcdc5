// Image bytes -> greyscale pixels, safely: the format (image-formats.ts) is checked by its
// signature and the dimensions (MAX_IMAGE_PIXELS) from the header before any decoding; corrupt or
// truncated data is a 422; big photos are shrunk by sharp (off the event loop) before
// our own pixel work.
import type SharpLib from 'sharp';
import { unprocessable } from '../../errors.ts';
import { IMAGE_FORMAT_NAMES, sniffFormat } from './image-formats.ts';
import { normalizeDigit, type GreyImage, type StageTrace } from './normalize-image.ts';
import { decodeSmallPng, toGrey } from './png-fast.ts';
import { headerPixels, type PixelBudget } from './pixel-budget.ts';
import { WORK_SIDE } from './image-cost.ts';


let sharpLib: typeof SharpLib | undefined;

/**
 * sharp (libvips) is loaded on first use, off the start-up path (/healthz answers sooner);
 * server.ts preloads it right after listening.
 */
export async function loadSharp(): Promise<typeof SharpLib> {
  if (!sharpLib) {
    sharpLib = (await import('sharp')).default;
    // libvips' operation cache only helps when the same image is processed twice; without
    // it the API's memory stays flat under a stream of different uploads.
    sharpLib.cache(false);
  }
  return sharpLib;
}

/**
 * `budget`: the request's pixels so far (MAX_REQUEST_PIXELS), spent from the header before decoding;
 * `charge`: the caller's per-minute image budget (image-cpu-budget.ts), charged from the header too.
 */
export type DecodeLimits = { maxPixels: number; budget?: PixelBudget; charge?: (pixels: number) => Promise<void> };

export async function decodeGrey(bytes: Buffer, limits: DecodeLimits): Promise<GreyImage> {
  if (bytes.length === 0) throw unprocessable('the image is empty (0 bytes)');
  const format = sniffFormat(bytes); // anything but IMAGE_FORMATS is refused before any decoding
  if (format && (limits.budget || limits.charge)) {
    // an image too big on its own is refused below with its own message; the budgets count the rest
    const pixels = headerPixels(bytes, format) ?? (await loadSharp().then((s) => s(bytes).metadata()).then((m) => (m.width ?? 0) * (m.height ?? 0), () => 0));
    if (pixels <= limits.maxPixels) {
      limits.budget?.spend(pixels);
      await limits.charge?.(pixels);
    }
  }
  if (format === 'png') {
    const small = decodeSmallPng(bytes, limits.maxPixels);
    if (small) return small;
  }
  if (!format) {
    const sharp = await loadSharp();
    const other = await sharp(bytes).metadata().then((m) => m.format, () => undefined);
    throw unprocessable(
      other
        ? `unsupported image format ${other}: send ${IMAGE_FORMAT_NAMES}`
        : `not a ${IMAGE_FORMAT_NAMES} image (cannot read its header)`,
    );
  }
  return decodeGreyWithSharp(bytes, limits);
}

/** The general path: any image of a sniffed format that sharp can read, shrunk to WORK_SIDE, EXIF-rotated. */
export async function decodeGreyWithSharp(bytes: Buffer, limits: DecodeLimits): Promise<GreyImage> {
  const sharp = await loadSharp();
  try {
    // sharp checks the header's dimensions against limitInputPixels before decoding
    const image = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', sequentialRead: true })
      .rotate() // EXIF orientation of photos
      .resize(WORK_SIDE, WORK_SIDE, { fit: 'inside', withoutEnlargement: true });
    if ((await image.metadata()).hasAlpha) {
      // transparency: its paper depends on the strokes' colour (alpha-paper.ts), flattened as the PNG fast path does
      const { data, info } = await image.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      return { data: toGrey(data, info.width * info.height, info.channels), width: info.width, height: info.height };
    }
    const { data, info } = await image.greyscale().raw().toBuffer({ resolveWithObject: true });
    return { data: firstChannel(data, info.channels), width: info.width, height: info.height };
  } catch (err) {
    if (/pixel limit/i.test(String((err as Error)?.message))) {
      const meta = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => null);
      const { width = 0, height = 0 } = meta ?? {};
      throw unprocessable(`image too large: ${width}×${height} pixels, at most ${limits.maxPixels} allowed`, {
        width,
        height,
        maxPixels: limits.maxPixels,
      });
    }
    throw unprocessable(`cannot decode the image: ${conciseSharpMessage(err)}`);
  }
}

/** `trace`: filled with a picture of each preprocessing stage (?debug=1). */
export async function decodeDigit(bytes: Buffer, limits: DecodeLimits, trace?: StageTrace[]): Promise<Float32Array> {
  return normalizeDigit(await decodeGrey(bytes, limits), trace);
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
