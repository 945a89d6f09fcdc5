// Training checkpoints, one file per job under DATA_DIR/checkpoints. Written to a temp
// file, fsynced and renamed, so a worker killed mid-write leaves the previous checkpoint.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

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

  async save(jobId: string, data: Buffer): Promise<void> {
    const final = this.path(jobId);
    const tmp = `${final}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(this.dir, { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async load(jobId: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(jobId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(jobId: string): Promise<void> {
    await rm(this.path(jobId), { force: true });
  }
}
