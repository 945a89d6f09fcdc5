// A fast path for the common small PNG (a digit drawn or cropped by a client): plain
// 8-bit grey/RGB(A), not interlaced, at most 256×256, decoded right here with zlib in
// microseconds instead of a round trip through sharp's thread pool. Anything else, and
// anything malformed, returns null and goes to sharp, which decides and explains.
import { crc32, inflateSync } from 'node:zlib';
import type { GreyImage } from './normalize-image.ts';
import { paperUnderAlpha } from './alpha-paper.ts';

const MAX_SIDE = 256;
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 }; // colour type -> samples

export function decodeSmallPng(bytes: Buffer, maxPixels: number): GreyImage | null {
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x89504e47 || bytes.readUInt32BE(4) !== 0x0d0a1a0a) return null;
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos + 12 <= bytes.length) {
    const len = bytes.readUInt32BE(pos);
    const type = bytes.toString('latin1', pos + 4, pos + 8);
    const end = pos + 12 + len;
    if (end > bytes.length) return null; // truncated
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== bytes.readUInt32BE(pos + 8 + len)) return null;
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      if (len !== 13) return null;
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, compression, filter, interlace] = [data[8], data[9], data[10], data[11], data[12]];
      channels = CHANNELS[colour!] ?? 0;
      if (depth !== 8 || channels === 0 || compression !== 0 || filter !== 0 || interlace !== 0) return null;
      if (width === 0 || height === 0 || width > MAX_SIDE || height > MAX_SIDE || width * height > maxPixels) return null;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos = end;
  }
  if (!ended || channels === 0 || idat.length === 0) return null;
  const stride = width * channels;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height });
  } catch {
    return null;
  }
  if (raw.length !== (stride + 1) * height) return null;
  const pixels = unfilter(raw, stride, height, channels);
  return pixels && { data: toGrey(pixels, width * height, channels), width, height };
}

/** Undoes PNG's per-row filters (none, sub, up, average, Paeth); one tight loop per row type. */
function unfilter(raw: Buffer, stride: number, height: number, bpp: number): Uint8Array | null {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride; // previous row (only read when y > 0)
    switch (type) {
      case 0:
        out.set(raw.subarray(src, src + stride), row);
        break;
      case 1:
        for (let x = 0; x < stride; x++) out[row + x] = raw[src + x]! + (x >= bpp ? out[row + x - bpp]! : 0);
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(src, src + stride), row);
        else for (let x = 0; x < stride; x++) out[row + x] = raw[src + x]! + out[up + x]!;
        break;
      case 3:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? out[row + x - bpp]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          out[row + x] = raw[src + x]! + ((a + b) >> 1);
        }
        break;
      case 4:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? out[row + x - bpp]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          const c = x >= bpp && y > 0 ? out[up + x - bpp]! : 0;
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          out[row + x] = raw[src + x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        return null;
    }
  }
  return out;
}

// sRGB <-> linear light: sharp (libvips) takes luminance in linear light.
const TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
const toSrgb = (y: number) => 255 * (y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055);

/**
 * Grey as sharp makes it: alpha flattened onto the paper (in sRGB; white unless alpha-paper.ts
 * says black), then luminance. Also the sharp path's for pictures with alpha (decode-image.ts).
 */
export function toGrey(px: Uint8Array, n: number, channels: number): Uint8Array {
  if (channels === 1) return px;
  const out = new Uint8Array(n);
  const paper = paperUnderAlpha(px, n, channels);
  const flat = (v: number, alpha: number) => Math.round((v * alpha + paper * (255 - alpha)) / 255);
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    if (channels === 2) {
      out[i] = flat(px[o]!, px[o + 1]!);
      continue;
    }
    const alpha = channels === 4 ? px[o + 3]! : 255;
    const r = flat(px[o]!, alpha), g = flat(px[o + 1]!, alpha), b = flat(px[o + 2]!, alpha);
    if (r === g && g === b) {
      out[i] = r;
      continue;
    }
    const y = 0.2126 * TO_LINEAR[r]! + 0.7152 * TO_LINEAR[g]! + 0.0722 * TO_LINEAR[b]!;
    out[i] = Math.max(0, Math.min(255, Math.round(toSrgb(y))));
  }
  return out;
}
