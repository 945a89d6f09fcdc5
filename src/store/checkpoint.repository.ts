// Training checkpoints, one file per job under DATA_DIR/checkpoints. Framed with a SHA-256
// (checkpoint-frame.ts), written to a temp file, fsynced, renamed, and the directory fsynced,
// so a worker killed mid-write leaves the previous checkpoint and a damaged file is refused.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointCorruptError, frameCheckpoint, unframeCheckpoint } from './checkpoint-frame.ts';
import { fsyncPath, isNoSpace, StoreFullError } from './durable-fs.ts';

export { CheckpointCorruptError } from './checkpoint-frame.ts';

const JOB_ID_PATTERN = /^[A-Za-z0-9_:.-]{1,128}$/;

export class CheckpointRepository {
  readonly dir: string;

  constructor(opts: { dataDir: string }) {
    this.dir = join(opts.dataDir, 'checkpoints');
  }

  private path(jobId: string): string {
    if (!JOB_ID_PATTERN.test(jobId) || jobId.startsWith('.')) {
      throw new RangeError(`invalid job id for a checkpoint: ${JSON.stringify(jobId)}`);
    }
    return join(this.dir, `${jobId}.ckpt`);
  }

  /** Disk full: StoreFullError, the previous checkpoint kept and no temp file left. */
  async save(jobId: string, payload: Uint8Array): Promise<void> {
    const final = this.path(jobId);
    // unique per call: two attempts of one job in one process (a redelivery) may save in the same millisecond
    const tmp = `${final}.${process.pid}.${randomUUID()}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(frameCheckpoint(payload));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      await fsyncPath(this.dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      if (isNoSpace(err)) throw new StoreFullError(`the checkpoint of job ${jobId}`, err);
      throw err;
    }
  }

  /**
   * The job's checkpoint payload, checksum verified; null when there is none.
   * CheckpointCorruptError when the file is damaged or cannot be read: do not resume it.
   */
  async load(jobId: string): Promise<Buffer | null> {
    let file: Buffer;
    try {
      file = await readFile(this.path(jobId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof RangeError) throw err;
      throw new CheckpointCorruptError(`checkpoint unreadable: ${(err as Error).message}`);
    }
    return unframeCheckpoint(file).payload;
  }

  /**
   * Gives `jobId` a copy of `fromJobId`'s checkpoint unless it has a usable one of its own (a
   * promoted halving trial resumes where its previous rung stopped: src/queue/sweep-flow.ts). A
   * checkpoint that fails its checksum counts as none: the trial then trains from the start.
   */
  async inherit(jobId: string, fromJobId: string): Promise<void> {
    const usable = (id: string) => this.load(id).catch((err: unknown) => {
      if (err instanceof CheckpointCorruptError) return null;
      throw err;
    });
    if (await usable(jobId)) return;
    const saved = await usable(fromJobId);
    if (saved) await this.save(jobId, saved);
  }

  async delete(jobId: string): Promise<void> {
    await rm(this.path(jobId), { force: true });
  }
}

/**
 * The job-end hook of the API and the workers (src/queue/job-lifecycle.ts): a job that failed or
 * was cancelled leaves no checkpoint, as nobody will resume it. A completed job's checkpoint is the
 * worker's to keep or delete (a halving trial keeps it for its next rung).
 */
export function dropCheckpointOnEnd(checkpoints: CheckpointRepository) {
  return {
    onEnded: async (jobId: string, status: 'completed' | 'failed' | 'cancelled'): Promise<void> => {
      if (status !== 'completed') await checkpoints.delete(jobId);
    },
  };
}
