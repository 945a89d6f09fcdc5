// Downloading one MNIST file from a mirror: bounded in bytes and time, verified (gunzip + SHA-256
// of the uncompressed bytes) *before* it is moved into place, fsynced, and retried — so a corrupt
// or cut-short download is never kept, and the next load does not trip over it forever.
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export type MnistDownloadOptions = {
  /** Tries per file (default 3); a 4xx other than 408/429 is not retried. */
  attempts?: number;
  /** Per try, headers and body (default 120 s). */
  timeoutMs?: number;
  /** Largest accepted response body, and largest uncompressed file (default 64 MiB; MNIST's largest is 47 MB). */
  maxBytes?: number;
  /** Wait before try n+1: n × this (default 1 s). */
  retryDelayMs?: number;
  fetch?: typeof fetch;
  /** Told of each failed try that will be retried. */
  onRetry?: (info: { url: string; attempt: number; error: string }) => void;
};

export const MNIST_DOWNLOAD_DEFAULTS = { attempts: 3, timeoutMs: 120_000, maxBytes: 64 * 1024 * 1024, retryDelayMs: 1000 };

/** A try that failed for a reason another try will not change (e.g. HTTP 404). */
class Permanent extends Error {}

/**
 * Downloads `<mirror>/<name>.gz` into `dir/<name>.gz`. `sha256`: of the uncompressed bytes
 * (null: only checked to be valid gzip). Throws an Error naming the URL and the last reason.
 */
export async function downloadMnistFile(
  mirror: string, name: string, dir: string, sha256: string | null, options: MnistDownloadOptions = {},
): Promise<void> {
  const d = MNIST_DOWNLOAD_DEFAULTS;
  const o = {
    attempts: Math.max(1, options.attempts ?? d.attempts),
    timeoutMs: options.timeoutMs ?? d.timeoutMs,
    maxBytes: options.maxBytes ?? d.maxBytes,
    retryDelayMs: options.retryDelayMs ?? d.retryDelayMs,
  };
  const url = `${mirror.replace(/\/+$/, '')}/${name}.gz`;
  const fetchFn = options.fetch ?? fetch;
  let last = 'no attempt made';
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    const part = join(dir, `${name}.gz.part-${process.pid}-${attempt}`);
    try {
      const body = await fetchBounded(fetchFn, url, o.timeoutMs, o.maxBytes);
      verify(body, sha256, o.maxBytes);
      const fh = await open(part, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(part, join(dir, `${name}.gz`)); // atomic: never a truncated or unverified file in place
      const d = await open(dir, 'r');
      await d.sync().finally(() => d.close());
      return;
    } catch (err) {
      await rm(part, { force: true }).catch(() => {});
      last = (err as Error).message;
      if (err instanceof Permanent || attempt === o.attempts) break;
      options.onRetry?.({ url, attempt, error: last });
      await new Promise((r) => setTimeout(r, o.retryDelayMs * attempt));
    }
  }
  throw new Error(`cannot download ${url}: ${last}`);
}

async function fetchBounded(fetchFn: typeof fetch, url: string, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  const signal = AbortSignal.timeout(timeoutMs); // covers the body too: the stream aborts with it
  let res: Response;
  try {
    res = await fetchFn(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new Error(signal.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    const message = `HTTP ${res.status}`;
    throw res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 ? new Permanent(message) : new Error(message);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`${declared} bytes declared, more than the ${maxBytes} allowed`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > maxBytes) throw new Error(`more than the ${maxBytes} bytes allowed`);
      chunks.push(chunk);
    }
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    if (signal.aborted) throw new Error(`not complete within ${timeoutMs} ms (${total} bytes received)`, { cause: err });
    throw err;
  }
  return Buffer.concat(chunks);
}

function verify(gz: Buffer, sha256: string | null, maxBytes: number): void {
  let plain: Buffer;
  try {
    plain = gunzipSync(gz, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new Error(`the download is not valid gzip (or inflates past ${maxBytes} bytes): ${(err as Error).message}`, { cause: err });
  }
  if (sha256 === null) return;
  const got = createHash('sha256').update(plain).digest('hex');
  if (got !== sha256) throw new Error(`the download is corrupt: SHA-256 ${got}, expected ${sha256}`);
}
