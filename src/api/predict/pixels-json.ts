// The hot path of JSON predict: a body of exactly { "pixels": [784 numbers in [0, 1]] }
// read straight into a Float32Array, without building a 784-element JS array first.
// Anything else (other keys, exponents, negative or > 1 values, too many digits, another
// count, odd spacing inside numbers) returns null and the request goes through the normal
// JSON parser and the usual checks, so every error keeps its normal message and status.
import { PIXELS } from '../schemas/predict.schemas.ts';

/** A parsed { pixels } body; predict-input takes it as the one instance it is. */
export class PixelsBodyFast {
  constructor(readonly pixels: Float32Array) {}
}

const KEY = Buffer.from('"pixels"');
// exact powers of ten (≤ 10^22 are exact doubles): mantissa / 10^k is then correctly
// rounded, the same double JSON.parse gives for up to 15 significant digits
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** `s`: the body's bytes (UTF-8); reading bytes, not a string built from chunks, is what makes this fast. */
export function parsePixelsJson(s: Uint8Array): PixelsBodyFast | null {
  const len = s.length;
  let i = 0;
  while (i < len && isWs(s[i]!)) i++;
  if (s[i]! !== 0x7b /* { */) return null;
  i++;
  while (i < len && isWs(s[i]!)) i++;
  for (let k = 0; k < KEY.length; k++) if (s[i + k] !== KEY[k]) return null;
  i += KEY.length;
  while (i < len && isWs(s[i]!)) i++;
  if (s[i]! !== 0x3a /* : */) return null;
  i++;
  while (i < len && isWs(s[i]!)) i++;
  if (s[i]! !== 0x5b /* [ */) return null;
  i++;
  const out = new Float32Array(PIXELS);
  for (let n = 0; n < PIXELS; n++) {
    while (i < len && isWs(s[i]!)) i++;
    const lead = (s[i] ?? 0) - 0x30;
    if (lead !== 0 && lead !== 1) return null; // also rejects '-' and anything not a number
    i++;
    let mant = lead;
    let digits = 0;
    if (s[i]! === 0x2e /* . */) {
      i++;
      for (;;) {
        const d = (s[i] ?? 0) - 0x30;
        if (!(d >= 0 && d <= 9)) break;
        if (++digits > 15) return null;
        mant = mant * 10 + d;
        i++;
      }
      if (digits === 0) return null; // "1." is not JSON
    }
    const c = s[i]!;
    if ((c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x45) return null; // "01", exponents: normal path
    const v = digits === 0 ? mant : mant / POW10[digits]!;
    if (v > 1) return null; // validation explains it
    out[n] = v;
    while (i < len && isWs(s[i]!)) i++;
    const sep = s[i]!;
    if (n < PIXELS - 1 ? sep !== 0x2c /* , */ : sep !== 0x5d /* ] */) return null;
    i++;
  }
  while (i < len && isWs(s[i]!)) i++;
  if (s[i]! !== 0x7d /* } */) return null;
  i++;
  while (i < len && isWs(s[i]!)) i++;
  return i === len ? new PixelsBodyFast(out) : null;
}
