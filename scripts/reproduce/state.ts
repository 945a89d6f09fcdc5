// Where a reproduction keeps what lets it resume: per preset, the latest checkpoint (written after every
// epoch, so a run killed outright loses at most the epoch in progress), the run's bookkeeping (wall
// seconds spent so far, the command) and, once done, the trained model and its result. Files are
// written to a temporary name and renamed, so a cut never leaves half a file.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/engine/index.ts';

export type RunBook = {
  /** The experiment input this run was started with (preset + overrides). */
  input: object;
  /** The resolved experiment: a preset changed since (the engine's presets evolve) makes this run stale. */
  experiment: object;
  /** Wall seconds spent on this preset over all invocations (loading, training, evaluation). */
  wallSeconds: number;
  /** Invocations that worked on it (1 = never resumed). */
  sessions: number;
  startedAt: string;
};

export class PresetState {
  readonly dir: string;
  constructor(root: string, readonly preset: string) {
    this.dir = join(root, preset);
  }

  get checkpointFile() { return join(this.dir, 'checkpoint.bin'); }
  /** A finished run's last checkpoint: its final weights, which a model kept at its best epoch does not hold. */
  get finalCheckpointFile() { return join(this.dir, 'final-checkpoint.bin'); }
  get modelDir() { return join(this.dir, 'model'); }
  private get bookFile() { return join(this.dir, 'run.json'); }
  private get resultFile() { return join(this.dir, 'result.json'); }

  async readCheckpoint(): Promise<Checkpoint | null> {
    const bytes = await readFile(this.checkpointFile).catch(() => null);
    return bytes ? decodeCheckpoint(bytes) : null;
  }

  async writeCheckpoint(ck: Checkpoint): Promise<void> {
    await atomicWrite(this.checkpointFile, encodeCheckpoint(ck));
  }

  async readRunBook(): Promise<RunBook | null> {
    return readJson<RunBook>(this.bookFile);
  }

  async writeRunBook(book: RunBook): Promise<void> {
    await atomicWrite(this.bookFile, JSON.stringify(book, null, 2));
  }

  async readResult<T>(): Promise<T | null> {
    return readJson<T>(this.resultFile);
  }

  /**
   * The result, then the checkpoint is set aside as the final one: a finished preset is not resumed, but its
   * final weights can stand for a voting ensemble's member trained the same way (ensemble-members.ts).
   */
  async finish(result: object): Promise<void> {
    await atomicWrite(this.resultFile, JSON.stringify(result, null, 2));
    await rename(this.checkpointFile, this.finalCheckpointFile).catch(() => {});
  }

  async readFinalCheckpoint(): Promise<Checkpoint | null> {
    const bytes = await readFile(this.finalCheckpointFile).catch(() => null);
    return bytes ? decodeCheckpoint(bytes) : null;
  }

  /** A run of another experiment (the preset changed): moved aside, not deleted, and a fresh one starts. */
  async retire(): Promise<string> {
    const to = `${this.dir}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.dir, to);
    return to;
  }

  /** Forget everything (a fresh run). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function readJson<T>(file: string): Promise<T | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as T);
}

export async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}
