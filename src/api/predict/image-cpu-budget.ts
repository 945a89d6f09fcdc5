// What one caller's images may cost us per minute. The request-rate budget (RATE_LIMIT_PREDICT_PER_MIN)
// counts requests, not work: 6,000 small blank PNGs of 5000×5000 pixels a minute (138 kB each) are
// ~0.2 s of decoding each, and even 256×256 pictures are ~7 ms of our own pixel work each, so one
// caller could keep every core busy within its request budget. Each image's cost is estimated from
// its header before it is decoded, charged to its caller in Redis (shared by every API instance,
// one-minute windows), and an image that would take the caller past
// RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN is refused with 429 before any decoding.
import type { Redis } from 'ioredis';
import { tooManyRequests } from '../../errors.ts';
import { estimatedImageMicros } from './image-cost.ts';

const MINUTE_MS = 60_000;

/**
 * Images of at most this many pixels (64×64) are not charged: they cost 0.3–2 ms, so the request-rate
 * budget already bounds them, and MNIST-sized images (the hot path) make no Redis call.
 */
export const FREE_IMAGE_PIXELS = 64 * 64;

// Adds the charge to the window's counter unless that takes it past the limit (then nothing is
// charged: the image is not decoded); the window's expiry starts with its first charge.
// Returns { 1 if charged else 0, total after, ms left in the window }.
const CHARGE = `
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local add, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if total + add > limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  return { 0, total, ttl }
end
total = redis.call('INCRBY', KEYS[1], add)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]); ttl = tonumber(ARGV[3]) end
return { 1, total, ttl }
`;

export class ImageCpuBudget {
  private readonly limitMicros: number;

  /** `perMinuteMs`: estimated CPU milliseconds of image decoding per caller and minute (0: off). */
  constructor(private readonly redis: Redis, private readonly prefix: string, readonly perMinuteMs: number) {
    this.limitMicros = perMinuteMs * 1000;
  }

  get enabled(): boolean {
    return this.perMinuteMs > 0;
  }

  /**
   * Charges `caller` for an image of `pixels` before it is decoded; throws 429 rate_limited (with
   * Retry-After) when the caller's minute is spent. Redis not answering lets the image through,
   * as the request-rate limiter does: the service stays up, bounded per request by MAX_REQUEST_PIXELS.
   */
  async charge(caller: string, pixels: number): Promise<void> {
    if (!this.enabled || pixels <= FREE_IMAGE_PIXELS) return;
    const micros = estimatedImageMicros(pixels);
    let res: [number, number, number];
    try {
      res = (await this.redis.eval(CHARGE, 1, `${this.prefix}:imagecpu:${caller}`, String(micros), String(this.limitMicros), String(MINUTE_MS))) as [number, number, number];
    } catch {
      return;
    }
    const [charged, total, ttl] = res;
    if (charged === 1) return;
    const seconds = Math.max(1, Math.ceil(ttl / 1000));
    const limitMs = this.perMinuteMs;
    throw tooManyRequests(
      'rate_limited',
      `image budget reached: this image (${pixels.toLocaleString('en')} pixels) needs ~${Math.ceil(micros / 1000)} ms of decoding, ` +
        `and ${Math.ceil(total / 1000).toLocaleString('en')} of ${limitMs.toLocaleString('en')} ms a minute are spent; retry in ${seconds} s, or send smaller images`,
      seconds,
      { budget: 'predict-image-ms', limit: limitMs, spentMs: Math.ceil(total / 1000), imageMs: Math.ceil(micros / 1000), retryAfterSeconds: seconds },
    );
  }
}
