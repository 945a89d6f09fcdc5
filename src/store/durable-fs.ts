// Writes that survive a power cut: a file's bytes and a directory's entries reach the disk
// (fsync) before anything — a rename into place, the Redis index — says they exist.
import { open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** fsync one file or directory (a directory's fsync makes its new entries and renames durable). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync every file in a directory tree, then each directory, deepest first. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(path);
    else if (entry.isFile()) await fsyncPath(path);
  }
  await fsyncPath(dir);
}

/** Writes a file and fsyncs it (not its directory: callers rename it into place and sync that). */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data);
  await fsyncPath(path);
}

/** Disk full (or over quota): worth a clear message rather than a retry that will fail again. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A save that failed because the disk is full; the store was left as it was. */
export class StoreFullError extends Error {
  constructor(what: string, cause: unknown) {
    super(`no space left on the device while saving ${what}: ${(cause as Error).message}`, { cause });
    this.name = 'StoreFullError';
  }
}
